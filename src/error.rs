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

use core::fmt;
use std::borrow::Cow;

use serde::Serialize;

mod text;

pub use text::{MAX_FIELD_CHARS, MAX_FRAGMENT_CHARS, MAX_MESSAGE_CHARS, fragment};

/// The media type of a [`Problem`] document.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Why a request was refused. One variant per reason; see [`Rejection::code`] for the wire code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The instance code in the path names no known instance (or is not a valid instance code).
    UnknownInstance,
    /// The instance exists but is disabled.
    InstanceDisabled,
    /// The body exceeds the tenant's `maxBodyBytes`.
    PayloadTooLarge {
        /// The tenant's limit in bytes.
        limit: usize,
    },
    /// A sync body must be `application/json`.
    UnsupportedMediaType,
    /// None of the tenant's schemes found its signature headers.
    MissingSignature,
    /// Signature headers are present but cannot be understood.
    MalformedSignature {
        /// What is wrong, without echoing header values.
        detail: String,
    },
    /// The key id is not in this tenant's key ring (or no usable key exists).
    UnknownKey,
    /// The key id names a revoked key.
    RevokedKey,
    /// The signature's timestamp is older than the skew window allows (or it has expired).
    StaleTimestamp,
    /// The signature's timestamp is further in the future than the skew window allows.
    FutureTimestamp,
    /// `Content-Digest` is missing, malformed, or does not match the body.
    DigestMismatch,
    /// The MAC does not verify.
    InvalidSignature,
    /// The payload is not valid JSON or breaks the sync payload schema.
    InvalidPayload {
        /// Where in the payload (`smtp.port`, `features.modules[2].key`, or empty for the root).
        path: String,
        /// What rule it breaks.
        reason: String,
    },
    /// The payload's `tenant` differs from the routed tenant.
    TenantMismatch,
    /// The tenant does not accept this payload type.
    UnsupportedPayloadType {
        /// The payload type that was refused.
        payload_type: String,
    },
    /// A module belongs to a group that is blocked on the sync path.
    BlockedModuleGroup {
        /// The blocked group.
        group: String,
    },
    /// A module belongs to a group the tenant does not support.
    UnsupportedModuleGroup {
        /// The unsupported group.
        group: String,
    },
    /// The nonce was already used inside the replay window.
    ReplayedNonce {
        /// The request id of the first request that used it, when known.
        original_request_id: Option<String>,
        /// Whether that first request was applied.
        applied: bool,
    },
    /// The same payload (by hash) was already received inside the replay window.
    DuplicatePayload {
        /// The request id of the first request that carried it, when known.
        original_request_id: Option<String>,
        /// Whether that first request was applied.
        applied: bool,
    },
    /// A config section's version is not newer than the last applied version.
    StaleVersion {
        /// The section (`features`, `branding` or `smtp`).
        section: String,
        /// The last applied version of that section.
        applied_version: u64,
        /// The version this payload carries.
        received_version: u64,
    },
    /// A rate limit is exhausted.
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after_seconds: u64,
    },
    /// The origin failed or timed out; the request was not applied and may be retried.
    OriginUnavailable,
    /// Missing, unknown or revoked API key.
    Unauthorized,
    /// The API key lacks the scope this route needs.
    Forbidden {
        /// The scope that was needed.
        scope: String,
    },
    /// The API key may not write this field.
    ForbiddenField {
        /// The field the key does not own.
        field: String,
    },
    /// A customer field is invalid.
    InvalidField {
        /// The offending field (`email`, `custom.tier`, …).
        field: String,
        /// What rule it breaks.
        reason: String,
    },
    /// No such record for this tenant.
    NotFound,
    /// `If-Match` names a version that is no longer current.
    VersionConflict {
        /// The record's current version, when known.
        current_version: Option<u64>,
    },
    /// An `Idempotency-Key` was reused with another body.
    IdempotencyConflict,
    /// An admin write's `If-Match` names a policy revision that is no longer current.
    PreconditionFailed {
        /// The policy's current revision, when known.
        current_revision: Option<u64>,
    },
}

impl Rejection {
    /// The stable wire code, e.g. `invalid_signature`.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnknownInstance => "unknown_instance",
            Self::InstanceDisabled => "instance_disabled",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::MissingSignature => "missing_signature",
            Self::MalformedSignature { .. } => "malformed_signature",
            Self::UnknownKey => "unknown_key",
            Self::RevokedKey => "revoked_key",
            Self::StaleTimestamp => "stale_timestamp",
            Self::FutureTimestamp => "future_timestamp",
            Self::DigestMismatch => "digest_mismatch",
            Self::InvalidSignature => "invalid_signature",
            Self::InvalidPayload { .. } => "invalid_payload",
            Self::TenantMismatch => "tenant_mismatch",
            Self::UnsupportedPayloadType { .. } => "unsupported_payload_type",
            Self::BlockedModuleGroup { .. } => "blocked_module_group",
            Self::UnsupportedModuleGroup { .. } => "unsupported_module_group",
            Self::ReplayedNonce { .. } => "replayed_nonce",
            Self::DuplicatePayload { .. } => "duplicate_payload",
            Self::StaleVersion { .. } => "stale_version",
            Self::RateLimited { .. } => "rate_limited",
            Self::OriginUnavailable => "origin_unavailable",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::ForbiddenField { .. } => "forbidden_field",
            Self::InvalidField { .. } => "invalid_field",
            Self::NotFound => "not_found",
            Self::VersionConflict { .. } => "version_conflict",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::PreconditionFailed { .. } => "precondition_failed",
        }
    }

    /// The HTTP status that goes with the code.
    #[must_use]
    pub const fn status(&self) -> u16 {
        match self {
            Self::UnknownInstance | Self::NotFound => 404,
            Self::InstanceDisabled
            | Self::TenantMismatch
            | Self::BlockedModuleGroup { .. }
            | Self::Forbidden { .. }
            | Self::ForbiddenField { .. } => 403,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::MissingSignature
            | Self::UnknownKey
            | Self::RevokedKey
            | Self::StaleTimestamp
            | Self::FutureTimestamp
            | Self::InvalidSignature
            | Self::Unauthorized => 401,
            Self::MalformedSignature { .. } | Self::DigestMismatch => 400,
            Self::InvalidPayload { .. }
            | Self::UnsupportedPayloadType { .. }
            | Self::UnsupportedModuleGroup { .. }
            | Self::InvalidField { .. } => 422,
            Self::ReplayedNonce { .. }
            | Self::DuplicatePayload { .. }
            | Self::StaleVersion { .. }
            | Self::VersionConflict { .. }
            | Self::IdempotencyConflict => 409,
            Self::RateLimited { .. } => 429,
            Self::OriginUnavailable => 503,
            Self::PreconditionFailed { .. } => 412,
        }
    }

    /// A short title for `application/problem+json` (RFC 9457).
    #[must_use]
    pub const fn title(&self) -> &'static str {
        match self {
            Self::UnknownInstance => "Unknown instance",
            Self::InstanceDisabled => "Instance disabled",
            Self::PayloadTooLarge { .. } => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::MissingSignature => "Missing signature",
            Self::MalformedSignature { .. } => "Malformed signature",
            Self::UnknownKey => "Unknown key",
            Self::RevokedKey => "Revoked key",
            Self::StaleTimestamp => "Stale timestamp",
            Self::FutureTimestamp => "Future timestamp",
            Self::DigestMismatch => "Digest mismatch",
            Self::InvalidSignature => "Invalid signature",
            Self::InvalidPayload { .. } => "Invalid payload",
            Self::TenantMismatch => "Tenant mismatch",
            Self::UnsupportedPayloadType { .. } => "Unsupported payload type",
            Self::BlockedModuleGroup { .. } => "Blocked module group",
            Self::UnsupportedModuleGroup { .. } => "Unsupported module group",
            Self::ReplayedNonce { .. } => "Replayed nonce",
            Self::DuplicatePayload { .. } => "Duplicate payload",
            Self::StaleVersion { .. } => "Stale version",
            Self::RateLimited { .. } => "Rate limited",
            Self::OriginUnavailable => "Origin unavailable",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden { .. } => "Forbidden",
            Self::ForbiddenField { .. } => "Forbidden field",
            Self::InvalidField { .. } => "Invalid field",
            Self::NotFound => "Not found",
            Self::VersionConflict { .. } => "Version conflict",
            Self::IdempotencyConflict => "Idempotency conflict",
            Self::PreconditionFailed { .. } => "Precondition failed",
        }
    }

    /// Whether the same request may succeed when retried unchanged.
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::OriginUnavailable | Self::RateLimited { .. })
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

/// An RFC 9457 problem document: what every syncgate component answers a rejection with.
///
/// `type`, `title`, `status`, `code` and `requestId` are always present; `detail` is the
/// rejection's message; the other members appear when the rejection has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem<'a> {
    /// A URI naming the problem type: `urn:syncgate:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short title of the problem type.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// Stable code.
    pub code: &'static str,
    /// Human-readable message; never contains a secret.
    pub detail: String,
    /// The id of the request this answers.
    pub request_id: &'a str,
    /// Whether retrying the same request can succeed.
    pub retryable: bool,
    /// The offending field or payload path (at most [`MAX_FIELD_CHARS`] characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Cow<'a, str>>,
    /// For `replayed_nonce` / `duplicate_payload`: the first request's id (as a [`fragment`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_request_id: Option<Cow<'a, str>>,
    /// For `replayed_nonce` / `duplicate_payload`: whether the first request was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<bool>,
    /// For `rate_limited`: seconds to wait (also sent as `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
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
            type_uri: format!("urn:syncgate:problem:{}", self.code()),
            title: self.title(),
            status: self.status(),
            code: self.code(),
            detail: self.to_string(),
            request_id,
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

/// Every wire code, in the order of the brief (then the codes added since). Tests and docs
/// iterate over it.
pub const ALL_CODES: [&str; 30] = [
    "unknown_instance",
    "instance_disabled",
    "payload_too_large",
    "unsupported_media_type",
    "missing_signature",
    "malformed_signature",
    "unknown_key",
    "revoked_key",
    "stale_timestamp",
    "future_timestamp",
    "digest_mismatch",
    "invalid_signature",
    "invalid_payload",
    "tenant_mismatch",
    "unsupported_payload_type",
    "blocked_module_group",
    "unsupported_module_group",
    "replayed_nonce",
    "duplicate_payload",
    "stale_version",
    "rate_limited",
    "origin_unavailable",
    "unauthorized",
    "forbidden",
    "forbidden_field",
    "invalid_field",
    "not_found",
    "version_conflict",
    "idempotency_conflict",
    "precondition_failed",
];

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
