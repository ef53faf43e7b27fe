//! Who signed a request, and when: the two signature schemes and what they share.
//!
//! A sender proves itself with one of two schemes ([`Scheme`]): [`rfc9421`] (HTTP Message
//! Signatures with `hmac-sha256` and an RFC 9530 `Content-Digest`) or [`webhooks`] (Standard
//! Webhooks). Both check a MAC made with one of the tenant's versioned secrets ([`keys`]) through
//! the hash and MAC seam ([`crypto`]), and both accept a signature only inside the timestamp
//! window ([`skew`]). The verification steps that choose a scheme and run it live in
//! `src/verify.rs`; signing for senders in `src/sign.rs`.
//!
//! The schemes are public namespaces (`syncgate::rfc9421`, `syncgate::webhooks`): their parsers,
//! `sign` and `verify` share names, and the fuzz targets and property tests drive them directly.
//! The key ring, the crypto seam and the window are re-exported at the crate root.

pub(crate) mod crypto;
pub(crate) mod keys;
// Only the JS boundary shows a preview (and its tests); the worker builds without it.
#[cfg(any(test, feature = "wasm"))]
pub(crate) mod preview;
pub mod rfc9421;
pub(crate) mod skew;
pub mod webhooks;

use serde::{Deserialize, Serialize};

/// A signature scheme the edge can verify.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scheme {
    /// RFC 9421 HTTP Message Signatures with `hmac-sha256` and an RFC 9530 `Content-Digest`.
    #[serde(rename = "rfc9421")]
    Rfc9421,
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    #[serde(rename = "standard-webhooks")]
    StandardWebhooks,
}

impl Scheme {
    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rfc9421 => "rfc9421",
            Self::StandardWebhooks => "standard-webhooks",
        }
    }
}
