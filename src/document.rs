//! The JSON documents syncgate reads: the signed sync payload and the customer record.
//!
//! Parts, from the bottom up:
//! - `reader`: parses a body once (no repeated keys, one value) and reads it with path-aware
//!   readers, so every rejection names the place (`smtp.port`, `tags[3]`) and the rule, never the
//!   value found there;
//! - `grammar`: the value grammars those readers check strings against (host names, e-mail
//!   addresses, https URLs, colours, phone numbers, timestamps);
//! - [`payload`]: the sync payload schema ([`SyncPayload`](payload::SyncPayload), its sections,
//!   [`PayloadType`](payload::PayloadType)) and its cross-field validation;
//! - [`modules`]: module-state recomputation from a features section, next to the schema it
//!   reads, because edge, origin and browser must compute the same state from the same payload;
//! - [`customer`]: the customer-record schema of the customer API, its merge patches and field
//!   ownership.
//!
//! `payload` and `customer` are public namespaces (`syncgate::payload`, `syncgate::customer`):
//! each is a schema with its own types and limits. The reader and the grammars stay inside the
//! crate.

pub mod customer;
mod grammar;
pub(crate) mod modules;
pub mod payload;
pub(crate) mod reader;
