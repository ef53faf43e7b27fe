#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

// The tree, by concern (each module's doc says why it exists):
//
//   request      the request as the core sees it
//   signature    who signed it and when: Scheme, rfc9421, webhooks, keys, crypto, skew
//   document     what it carries: the JSON reader and grammars, payload, modules, customer
//   policy       what the tenant allows: TenantPolicy, scope, the identifier grammars
//   replay       what must be unique, and for how long
//   origin       the edge↔origin contract: attest, idempotency
//   providers    provider webhooks: HubSpot v3, Stripe, GitHub, Slack, Shopify (a namespace)
//   error        the one error type, its code table, the text rules for messages
//   verify, sign the protocol steps, in order; verifier the compiled policy and the two-phase
//                seam that lets a host compute the digests; wasm the JS boundary (feature `wasm`)
//
// Modules are private; what the worker, the origin, the CLI, the fuzz targets and the tests use
// is re-exported below, plus a few public namespaces where a qualified name reads better.

mod document;
pub mod error;
mod origin;
mod policy;
pub mod providers;
mod replay;
mod request;
mod sign;
mod signature;
#[cfg(all(test, feature = "ts"))]
mod ts_types;
mod verifier;
mod verify;
#[cfg(feature = "wasm")]
mod wasm;

// Verifying and signing a request.
pub use request::{Headers, HttpRequest, TargetUri, media_type};
pub use sign::{SigningOptions, sign_request, sign_request_with};
pub use verify::{
    Authenticated, Verdict, admit, admit_payload, admit_without_payload, authenticate,
    detect_scheme, is_json_media_type, precheck, verify_request, verify_request_with,
};

// A compiled policy, and the two-phase seam (prepare → host digests → finish); `prepare` and
// `finish_signature` run it on a policy the caller already holds (the worker's cached one).
pub use verifier::{
    Depth, HostDigests, MacInput, Pending, SignatureVerdict, Verifier, finish_signature, prepare,
};

// Errors: the type at the root, the code catalogue and the text rules in `syncgate::error`.
#[doc(inline)]
pub use error::{Problem, Rejection};

// The tenant policy and what it allows.
pub use policy::identifier::{IDENTIFIER_RULE, is_valid_identifier, is_valid_instance_code};
pub use policy::scope::{check_module_group, check_scope};
pub use policy::{
    DEFAULT_BLOCKED_GROUPS, DEFAULT_MAX_BODY_BYTES, DEFAULT_SKEW_SECONDS, DEFAULT_SUPPORTED_GROUPS,
    MAX_BODY_LIMIT, MAX_SKEW_SECONDS, RateLimits, TenantPolicy,
};

// Signatures: the schemes as namespaces, what they share at the root.
pub use signature::crypto::{Primitives, RustCrypto, SHA256_LEN, hex};
pub use signature::keys::{
    KeyRing, KeyStatus, MAX_SECRET_BYTES, MIN_SECRET_BYTES, SECRET_PREFIX, Secret, SigningKey,
};
pub use signature::skew::{LEDGER_MARGIN_SECONDS, SkewWindow};
pub use signature::{Scheme, rfc9421, webhooks};

// Documents: the two schemas as namespaces; the payload type and module state at the root.
pub use document::modules::{ModuleReason, ModuleState, ModuleStatus, recompute_modules};
pub use document::payload::{PayloadType, SyncPayload};
pub use document::{customer, payload};

// Replay keys and the reference ledger.
pub use replay::{MemoryLedger, ReplayKeys, check_section_versions};

// The edge↔origin contract.
pub use origin::{attest, idempotency};
