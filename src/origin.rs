//! The contract between the edge and the origin CRM it forwards to.
//!
//! Both sides link this crate and use these definitions, so they cannot drift apart:
//! - [`attest`]: the edge signs every forwarded request (RFC 9421, the shared
//!   `ORIGIN_SIGNING_SECRET`) and the origin verifies it, including every header it acts on;
//! - [`idempotency`]: the `Idempotency-Key` rule and the answer an applied sync gets, so a retry
//!   is applied at most once.
//!
//! They are public namespaces (`syncgate::attest`, `syncgate::idempotency`): header names,
//! `sign` and `verify` read best qualified.

pub mod attest;
pub mod idempotency;
