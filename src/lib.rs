#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod attest;
pub mod crypto;
pub mod customer;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod keys;
pub mod modules;
pub mod payload;
pub mod policy;
pub mod providers;
pub mod replay;
pub mod request;
pub mod rfc9421;
pub mod scope;
pub mod sign;
pub mod skew;
pub mod verify;
pub mod webhooks;

#[cfg(feature = "wasm")]
mod wasm;

pub use error::Rejection;
pub use keys::{KeyRing, KeyStatus, Secret, SigningKey};
pub use policy::{PayloadType, Scheme, TenantPolicy};
