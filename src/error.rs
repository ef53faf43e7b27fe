//! Rejections: the one error type of syncgate.
//!
//! Every way a request can fail — at the edge, in the origin, in the npm package — is one variant
//! of [`Rejection`], with a stable machine-readable [`code`](Rejection::code), an HTTP
//! [`status`](Rejection::status) and a short human message (its `Display`). Codes are a contract:
//! senders, dashboards and the sync log key on them, so they never change once published.
//!
//! Messages name fields, paths, groups and key ids, never values: a rejected SMTP block must not
//! echo its password, and a rejected signature must not echo a secret or a MAC. Names the sender
//! chose appear only as a short [`fragment`], and a whole message is at most
//! [`MAX_MESSAGE_CHARS`] characters, so an answer or a log row never grows with the request.
//!
//! Where things are: every code, its status and title are one table (the `rejections!` call
//! below); `error/text.rs` bounds sender text ([`fragment`]); `error/json.rs` describes serde's
//! failures without the values it quotes ([`describe_error`]).

use core::fmt;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

mod json;
mod text;

pub use json::describe_error;
pub use text::{MAX_FIELD_CHARS, MAX_FRAGMENT_CHARS, MAX_MESSAGE_CHARS, fragment};

/// The media type of a [`Problem`] document.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Defines [`Rejection`] from one table: each variant with its code, HTTP status, problem title,
/// retryability, how far signature checking had got ([`SignatureStage`], the sync log's
/// `signatureResult`), and whether an origin answering that code is refusing the edge's
/// attestation rather than the request. Every accessor, [`ALL_CODES`] and [`CATALOG`] come from
/// it, so each fact about a code is written once.
macro_rules! rejections {
    ($(
        $(#[$doc:meta])*
        $variant:ident $({ $($(#[$field_doc:meta])* $field:ident: $ty:ty),* $(,)? })?
            => $code:literal, $status:literal, $title:literal,
               retryable: $retryable:literal, stage: $stage:ident, blames_edge: $edge:literal;
    )*) => {
        /// Why a request was refused. One variant per reason; see [`Rejection::code`] for the
        /// wire code.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Rejection {
            $(
                $(#[$doc])*
                $variant $({ $($(#[$field_doc])* $field: $ty),* })?,
            )*
        }

        impl Rejection {
            /// The stable wire code, e.g. `invalid_signature`.
            #[must_use]
            pub const fn code(&self) -> &'static str {
                match self { $(Self::$variant { .. } => $code,)* }
            }

            /// The facts about this rejection's code.
            #[must_use]
            pub const fn info(&self) -> &'static CodeInfo {
                match self {
                    $(Self::$variant { .. } => &CodeInfo {
                        code: $code,
                        status: $status,
                        title: $title,
                        retryable: $retryable,
                        stage: SignatureStage::$stage,
                        blames_edge: $edge,
                    },)*
                }
            }
        }

        /// Every code and its facts, in the order of the brief (then the codes added since).
        pub const CATALOG: &[CodeInfo] = &[
            $(CodeInfo {
                code: $code,
                status: $status,
                title: $title,
                retryable: $retryable,
                stage: SignatureStage::$stage,
                blames_edge: $edge,
            },)*
        ];

        /// Every wire code, in [`CATALOG`] order. Tests and docs iterate over it.
        pub const ALL_CODES: [&str; CATALOG.len()] = [$($code),*];
    };
}

/// How far signature checking had got when a sync request was refused (the sync log's
/// `signatureResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStage {
    /// Refused before signatures were looked at (instance, size, media type).
    NotChecked,
    /// No signature headers.
    Missing,
    /// Signature headers were present but did not verify or could not be read.
    Invalid,
    /// The signature verified; the refusal came later.
    Valid,
}

impl SignatureStage {
    /// The wire name (`not_checked`, `missing`, `invalid`, `valid`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotChecked => "not_checked",
            Self::Missing => "missing",
            Self::Invalid => "invalid",
            Self::Valid => "valid",
        }
    }
}

/// The facts about one rejection code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The stable wire code.
    pub code: &'static str,
    /// Its HTTP status.
    pub status: u16,
    /// Its problem title (RFC 9457 `title`).
    pub title: &'static str,
    /// Whether the same request may succeed when retried unchanged.
    pub retryable: bool,
    /// How far signature checking had got.
    pub stage: SignatureStage,
    /// Whether an origin answering this code is refusing the edge's attestation (the link),
    /// not the sender's request.
    pub blames_edge: bool,
}

impl CodeInfo {
    /// The facts about `code`, if it is one of syncgate's.
    #[must_use]
    pub fn of(code: &str) -> Option<&'static Self> {
        CATALOG.iter().find(|info| info.code == code)
    }
}

rejections! {
    /// The instance code in the path names no known instance (or is not a valid instance code).
    UnknownInstance
        => "unknown_instance", 404, "Unknown instance", retryable: false, stage: NotChecked, blames_edge: false;
    /// The instance exists but is disabled.
    InstanceDisabled
        => "instance_disabled", 403, "Instance disabled", retryable: false, stage: NotChecked, blames_edge: false;
    /// The body exceeds the tenant's `maxBodyBytes`.
    PayloadTooLarge {
        /// The tenant's limit in bytes.
        limit: usize,
    }
        => "payload_too_large", 413, "Payload too large", retryable: false, stage: NotChecked, blames_edge: false;
    /// A sync body must be `application/json`.
    UnsupportedMediaType
        => "unsupported_media_type", 415, "Unsupported media type", retryable: false, stage: NotChecked, blames_edge: false;
    /// None of the tenant's schemes found its signature headers.
    MissingSignature
        => "missing_signature", 401, "Missing signature", retryable: false, stage: Missing, blames_edge: true;
    /// Signature headers are present but cannot be understood.
    MalformedSignature {
        /// What is wrong, without echoing header values.
        detail: String,
    }
        => "malformed_signature", 400, "Malformed signature", retryable: false, stage: Invalid, blames_edge: true;
    /// The key id is not in this tenant's key ring (or no usable key exists).
    UnknownKey
        => "unknown_key", 401, "Unknown key", retryable: false, stage: Invalid, blames_edge: true;
    /// The key id names a revoked key.
    RevokedKey
        => "revoked_key", 401, "Revoked key", retryable: false, stage: Invalid, blames_edge: true;
    /// The signature's timestamp is older than the skew window allows (or it has expired).
    StaleTimestamp
        => "stale_timestamp", 401, "Stale timestamp", retryable: false, stage: Invalid, blames_edge: true;
    /// The signature's timestamp is further in the future than the skew window allows.
    FutureTimestamp
        => "future_timestamp", 401, "Future timestamp", retryable: false, stage: Invalid, blames_edge: true;
    /// `Content-Digest` is missing, malformed, or does not match the body.
    DigestMismatch
        => "digest_mismatch", 400, "Digest mismatch", retryable: false, stage: Invalid, blames_edge: true;
    /// The MAC does not verify.
    InvalidSignature
        => "invalid_signature", 401, "Invalid signature", retryable: false, stage: Invalid, blames_edge: true;
    /// The payload is not valid JSON or breaks the sync payload schema.
    InvalidPayload {
        /// Where in the payload (`smtp.port`, `features.modules[2].key`, or empty for the root).
        path: String,
        /// What rule it breaks.
        reason: String,
    }
        => "invalid_payload", 422, "Invalid payload", retryable: false, stage: Valid, blames_edge: false;
    /// The payload's `tenant` differs from the routed tenant.
    TenantMismatch
        => "tenant_mismatch", 403, "Tenant mismatch", retryable: false, stage: Valid, blames_edge: true;
    /// The tenant does not accept this payload type.
    UnsupportedPayloadType {
        /// The payload type that was refused.
        payload_type: String,
    }
        => "unsupported_payload_type", 422, "Unsupported payload type", retryable: false, stage: Valid, blames_edge: false;
    /// A module belongs to a group that is blocked on the sync path.
    BlockedModuleGroup {
        /// The blocked group.
        group: String,
    }
        => "blocked_module_group", 403, "Blocked module group", retryable: false, stage: Valid, blames_edge: false;
    /// A module belongs to a group the tenant does not support.
    UnsupportedModuleGroup {
        /// The unsupported group.
        group: String,
    }
        => "unsupported_module_group", 422, "Unsupported module group", retryable: false, stage: Valid, blames_edge: false;
    /// The nonce was already used inside the replay window.
    ReplayedNonce {
        /// The request id of the first request that used it, when known.
        original_request_id: Option<String>,
        /// Whether that first request was applied.
        applied: bool,
    }
        => "replayed_nonce", 409, "Replayed nonce", retryable: false, stage: Valid, blames_edge: true;
    /// The same payload (by hash) was already received inside the replay window.
    DuplicatePayload {
        /// The request id of the first request that carried it, when known.
        original_request_id: Option<String>,
        /// Whether that first request was applied.
        applied: bool,
    }
        => "duplicate_payload", 409, "Duplicate payload", retryable: false, stage: Valid, blames_edge: false;
    /// A config section's version is not newer than the last applied version.
    StaleVersion {
        /// The section (`features`, `branding` or `smtp`).
        section: String,
        /// The last applied version of that section.
        applied_version: u64,
        /// The version this payload carries.
        received_version: u64,
    }
        => "stale_version", 409, "Stale version", retryable: false, stage: Valid, blames_edge: false;
    /// A rate limit is exhausted.
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after_seconds: u64,
    }
        => "rate_limited", 429, "Rate limited", retryable: true, stage: Valid, blames_edge: false;
    /// The origin failed or timed out; the request was not applied and may be retried.
    OriginUnavailable
        => "origin_unavailable", 503, "Origin unavailable", retryable: true, stage: Valid, blames_edge: false;
    /// Missing, unknown or revoked API key.
    Unauthorized
        => "unauthorized", 401, "Unauthorized", retryable: false, stage: Valid, blames_edge: false;
    /// The API key lacks the scope this route needs.
    Forbidden {
        /// The scope that was needed.
        scope: String,
    }
        => "forbidden", 403, "Forbidden", retryable: false, stage: Valid, blames_edge: false;
    /// The API key may not write this field.
    ForbiddenField {
        /// The field the key does not own.
        field: String,
    }
        => "forbidden_field", 403, "Forbidden field", retryable: false, stage: Valid, blames_edge: false;
    /// A customer field is invalid.
    InvalidField {
        /// The offending field (`email`, `custom.tier`, …).
        field: String,
        /// What rule it breaks.
        reason: String,
    }
        => "invalid_field", 422, "Invalid field", retryable: false, stage: Valid, blames_edge: false;
    /// No such record for this tenant.
    NotFound
        => "not_found", 404, "Not found", retryable: false, stage: Valid, blames_edge: false;
    /// `If-Match` names a version that is no longer current.
    VersionConflict {
        /// The record's current version, when known.
        current_version: Option<u64>,
    }
        => "version_conflict", 409, "Version conflict", retryable: false, stage: Valid, blames_edge: false;
    /// An `Idempotency-Key` was reused with another body.
    IdempotencyConflict
        => "idempotency_conflict", 409, "Idempotency conflict", retryable: false, stage: Valid, blames_edge: false;
    /// An admin write's `If-Match` names a policy revision that is no longer current.
    PreconditionFailed {
        /// The policy's current revision, when known.
        current_revision: Option<u64>,
    }
        => "precondition_failed", 412, "Precondition failed", retryable: false, stage: Valid, blames_edge: false;
    /// The origin could not complete the request (its storage failed); nothing was applied.
    InternalError
        => "internal_error", 500, "Internal error", retryable: true, stage: Valid, blames_edge: false;
    /// A test control asked the reference origin to fail this request.
    InjectedFault
        => "injected_fault", 500, "Injected fault", retryable: true, stage: Valid, blames_edge: false;
    /// A test-control request to the reference origin is malformed.
    InvalidControl {
        /// What is wrong with it.
        reason: String,
    }
        => "invalid_control", 400, "Invalid control", retryable: false, stage: Valid, blames_edge: false;
}

impl Rejection {
    /// The HTTP status that goes with the code.
    #[must_use]
    pub const fn status(&self) -> u16 {
        self.info().status
    }

    /// A short title for `application/problem+json` (RFC 9457).
    #[must_use]
    pub const fn title(&self) -> &'static str {
        self.info().title
    }

    /// Whether the same request may succeed when retried unchanged.
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        self.info().retryable
    }

    /// How far signature checking had got when this refusal was made.
    #[must_use]
    pub const fn stage(&self) -> SignatureStage {
        self.info().stage
    }

    /// The field or payload path this rejection is about, when it has one.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidPayload { path, .. } => Some(path),
            Self::ForbiddenField { field } | Self::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        Self::MalformedSignature {
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid_payload(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidPayload {
            path: text::field(&path.into()).into_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: text::field(&field.into()).into_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Rejection {
    /// The message: at most [`MAX_MESSAGE_CHARS`] printable ASCII characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut message = text::Bounded::new(MAX_MESSAGE_CHARS, false);
        self.write_message(&mut message)?;
        f.write_str(&message.finish())
    }
}

impl Rejection {
    /// Writes the unbounded message; names from the rejection's fields are shown as fragments.
    fn write_message(&self, f: &mut impl fmt::Write) -> fmt::Result {
        let path = |text: &'_ String| text::field(text).into_owned();
        match self {
            Self::UnknownInstance => f.write_str("no such instance"),
            Self::InstanceDisabled => f.write_str("this instance is disabled"),
            Self::PayloadTooLarge { limit } => {
                write!(f, "the body exceeds this instance's limit of {limit} bytes")
            }
            Self::UnsupportedMediaType => f.write_str("a sync body must be application/json"),
            Self::MissingSignature => f.write_str("the request carries no signature"),
            Self::MalformedSignature { detail } => write!(f, "malformed signature: {detail}"),
            Self::UnknownKey => f.write_str("the signing key is not known for this instance"),
            Self::RevokedKey => f.write_str("the signing key has been revoked"),
            Self::StaleTimestamp => {
                f.write_str("the signature timestamp is outside the allowed window (too old)")
            }
            Self::FutureTimestamp => {
                f.write_str("the signature timestamp is outside the allowed window (in the future)")
            }
            Self::DigestMismatch => f.write_str("content-digest does not match the body"),
            Self::InvalidSignature => f.write_str("the signature does not verify"),
            Self::InvalidPayload { path, reason } if path.is_empty() => {
                write!(f, "invalid payload: {reason}")
            }
            Self::InvalidPayload { path: at, reason } => {
                write!(f, "invalid payload at {}: {reason}", path(at))
            }
            Self::TenantMismatch => {
                f.write_str("the payload's tenant does not match the routed instance")
            }
            Self::UnsupportedPayloadType { payload_type } => {
                write!(
                    f,
                    "payload type {} is not accepted by this instance",
                    fragment(payload_type)
                )
            }
            Self::BlockedModuleGroup { group } => {
                write!(
                    f,
                    "module group {} is blocked on the sync path",
                    fragment(group)
                )
            }
            Self::UnsupportedModuleGroup { group } => {
                write!(
                    f,
                    "module group {} is not supported by this instance",
                    fragment(group)
                )
            }
            Self::ReplayedNonce {
                original_request_id,
                applied,
            } => replay_message(f, "nonce", original_request_id.as_deref(), *applied),
            Self::DuplicatePayload {
                original_request_id,
                applied,
            } => replay_message(f, "payload", original_request_id.as_deref(), *applied),
            Self::StaleVersion {
                section,
                applied_version,
                received_version,
            } => write!(
                f,
                "{} version {received_version} is not newer than the applied version {applied_version}",
                fragment(section)
            ),
            Self::RateLimited {
                retry_after_seconds,
            } => write!(f, "rate limit reached; retry after {retry_after_seconds} s"),
            Self::OriginUnavailable => {
                f.write_str("the origin did not confirm the request; it was not applied, retry it")
            }
            Self::Unauthorized => f.write_str("a valid API key is required"),
            Self::Forbidden { scope } => {
                write!(f, "this API key lacks the {} scope", fragment(scope))
            }
            Self::ForbiddenField { field } => {
                write!(f, "this API key may not write {}", path(field))
            }
            Self::InvalidField { field, reason } => write!(f, "{}: {reason}", path(field)),
            Self::NotFound => f.write_str("no such record"),
            Self::VersionConflict {
                current_version: Some(v),
            } => write!(f, "the record changed; its current version is {v}"),
            Self::VersionConflict {
                current_version: None,
            } => f.write_str("the record changed"),
            Self::IdempotencyConflict => {
                f.write_str("this Idempotency-Key was already used with another body")
            }
            Self::PreconditionFailed {
                current_revision: Some(revision),
            } => write!(
                f,
                "if-match does not name the current revision; it is {revision}"
            ),
            Self::PreconditionFailed {
                current_revision: None,
            } => f.write_str("if-match does not name the current revision"),
            Self::InternalError => {
                f.write_str("the origin could not complete the request; nothing was applied")
            }
            Self::InjectedFault => {
                f.write_str("a test control asked the origin to fail this request")
            }
            Self::InvalidControl { reason } => {
                write!(f, "invalid test control: {}", fragment(reason))
            }
        }
    }
}

fn replay_message(
    f: &mut impl fmt::Write,
    what: &str,
    original: Option<&str>,
    applied: bool,
) -> fmt::Result {
    let outcome = if applied { "applied" } else { "not applied" };
    match original {
        Some(id) => write!(
            f,
            "this {what} was already received in request {} ({outcome})",
            fragment(id)
        ),
        None => write!(f, "this {what} was already received ({outcome})"),
    }
}

impl core::error::Error for Rejection {}

/// An RFC 9457 problem document: what every syncgate component answers a rejection with, and
/// what one component reads from another's answer (the edge reads the origin's with it).
///
/// `type`, `title`, `status`, `code` and `requestId` are always present; `detail` is the
/// rejection's message; the other members appear when the rejection has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem<'a> {
    /// A URI naming the problem type: `urn:syncgate:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: Cow<'a, str>,
    /// Short title of the problem type.
    pub title: Cow<'a, str>,
    /// HTTP status.
    pub status: u16,
    /// Stable code.
    pub code: Cow<'a, str>,
    /// Human-readable message; never contains a secret.
    #[serde(default)]
    pub detail: Cow<'a, str>,
    /// The id of the request this answers.
    #[serde(default)]
    pub request_id: Cow<'a, str>,
    /// Whether retrying the same request can succeed.
    #[serde(default)]
    pub retryable: bool,
    /// The offending field or payload path (at most [`MAX_FIELD_CHARS`] characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Cow<'a, str>>,
    /// For `replayed_nonce` / `duplicate_payload`: the first request's id (as a [`fragment`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_request_id: Option<Cow<'a, str>>,
    /// For `replayed_nonce` / `duplicate_payload`: whether the first request was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<bool>,
    /// For `rate_limited`: seconds to wait (also sent as `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem<'_> {
    /// Reads a problem document from an answer's body; `None` when it is not one.
    #[must_use]
    pub fn parse(body: &[u8]) -> Option<Problem<'static>> {
        serde_json::from_slice(body).ok()
    }

    /// The facts about its code, when the code is one of syncgate's.
    #[must_use]
    pub fn info(&self) -> Option<&'static CodeInfo> {
        CodeInfo::of(&self.code)
    }
}

impl Rejection {
    /// The problem document for this rejection, answering request `request_id`.
    #[must_use]
    pub fn problem<'a>(&'a self, request_id: &'a str) -> Problem<'a> {
        let (original_request_id, applied) = match self {
            Self::ReplayedNonce {
                original_request_id,
                applied,
            }
            | Self::DuplicatePayload {
                original_request_id,
                applied,
            } => (
                original_request_id
                    .as_deref()
                    .map(|id| text::bounded(id, MAX_FRAGMENT_CHARS, true)),
                Some(*applied),
            ),
            _ => (None, None),
        };
        Problem {
            type_uri: Cow::Owned(format!("urn:syncgate:problem:{}", self.code())),
            title: Cow::Borrowed(self.title()),
            status: self.status(),
            code: Cow::Borrowed(self.code()),
            detail: Cow::Owned(self.to_string()),
            request_id: Cow::Borrowed(request_id),
            retryable: self.is_retryable(),
            field: self.field().map(text::field),
            original_request_id,
            applied,
            retry_after: match self {
                Self::RateLimited {
                    retry_after_seconds,
                } => Some(*retry_after_seconds),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_document_shape() {
        let r = Rejection::ReplayedNonce {
            original_request_id: Some("req-1".into()),
            applied: true,
        };
        let json = serde_json::to_value(r.problem("req-2")).unwrap();
        assert_eq!(json["type"], "urn:syncgate:problem:replayed_nonce");
        assert_eq!(json["status"], 409);
        assert_eq!(json["code"], "replayed_nonce");
        assert_eq!(json["requestId"], "req-2");
        assert_eq!(json["originalRequestId"], "req-1");
        assert_eq!(json["applied"], true);
        assert!(json.get("field").is_none());
    }

    #[test]
    fn codes_are_unique_and_listed() {
        let mut codes = ALL_CODES.to_vec();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ALL_CODES.len());
    }
}
