//! Verification of a signed sync request, steps 1–7 of the protocol, in order.
//!
//! [`verify_request`] needs no storage: it answers whether a request is authentic, fresh,
//! well-formed and in scope, and hands back a [`Verdict`] with everything the edge needs for the
//! remaining, stateful step (the replay ledger and section versions, see [`crate::replay`]).
//! Cheap checks come first so bad traffic costs little: instance state, body size (before any
//! hashing), media type, signature headers, timestamp, key, digest, MAC — and only an
//! authenticated body is parsed as JSON.

use core::convert::identity;

use serde::Serialize;

use crate::document::payload::PayloadType;
use crate::document::payload::SyncPayload;
use crate::error::Rejection;
use crate::policy::TenantPolicy;
use crate::policy::scope::check_scope;
use crate::replay::ReplayKeys;
use crate::request::HttpRequest;
use crate::signature::Scheme;
use crate::signature::crypto::{Primitives, RustCrypto, hex};
use crate::signature::keys::KeyStatus;
use crate::signature::skew::SkewWindow;
use crate::signature::webhooks;

/// What an accepted request established.
///
/// `P` is what the verdict holds of the payload: the parsed, validated [`SyncPayload`], or
/// `()` from the `*_without_payload` steps for callers that read only the verdict's own fields
/// (the edge, the npm package's node:crypto path), which then skip copying every permission.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict<P = SyncPayload> {
    /// The routed tenant.
    pub tenant: String,
    /// The scheme that verified.
    pub scheme: Scheme,
    /// The key id that verified.
    pub key_id: String,
    /// That key's version.
    pub key_version: u32,
    /// That key's status (`active` or `retiring`).
    pub key_status: KeyStatus,
    /// The nonce (`nonce` parameter or `webhook-id`).
    pub nonce: String,
    /// The signature's timestamp, Unix seconds.
    pub timestamp: i64,
    /// Lowercase hex SHA-256 of the body; the origin's `Idempotency-Key`.
    pub payload_hash: String,
    /// The payload's type.
    pub payload_type: PayloadType,
    /// The payload's version.
    pub payload_version: u64,
    /// The config sections the payload carries (`features`, `branding`, `smtp`).
    pub sections: Vec<&'static str>,
    /// Ledger keys for the replay check.
    pub replay: ReplayKeys,
    /// The parsed, validated payload (or `()`, see above).
    pub payload: P,
}

/// Which scheme the request is signed with, among those the tenant accepts.
///
/// # Errors
/// `missing_signature` when no accepted scheme's signature header is present.
pub fn detect_scheme(request: &HttpRequest, policy: &TenantPolicy) -> Result<Scheme, Rejection> {
    let headers = &request.headers;
    if policy.accepts(Scheme::Rfc9421)
        && (headers.contains("signature-input") || headers.contains("signature"))
    {
        Ok(Scheme::Rfc9421)
    } else if policy.accepts(Scheme::StandardWebhooks) && webhooks::WebhookHeaders::present(headers)
    {
        Ok(Scheme::StandardWebhooks)
    } else {
        Err(Rejection::MissingSignature)
    }
}

/// Whether a `Content-Type` value is `application/json` (parameters such as `charset` allowed).
#[must_use]
pub fn is_json_media_type(content_type: &str) -> bool {
    // As `media_type(content_type) == "application/json"`, without building the lowercase copy.
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("application/json")
}

/// The checks that need neither the body's hash nor a key: instance enabled, body size, media
/// type. The edge runs them before reading the rest of the request.
///
/// # Errors
/// `instance_disabled`, `payload_too_large` or `unsupported_media_type`.
pub fn precheck(
    policy: &TenantPolicy,
    content_type: Option<&str>,
    body_len: usize,
) -> Result<(), Rejection> {
    if !policy.enabled {
        return Err(Rejection::InstanceDisabled);
    }
    if body_len > policy.max_body_bytes {
        return Err(Rejection::PayloadTooLarge {
            limit: policy.max_body_bytes,
        });
    }
    if !content_type.is_some_and(is_json_media_type) {
        return Err(Rejection::UnsupportedMediaType);
    }
    Ok(())
}

/// What the signature checks (steps 1–5) established, before the payload is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated<'p> {
    /// The scheme that verified.
    pub scheme: Scheme,
    /// The key that verified.
    pub key: &'p crate::signature::keys::SigningKey,
    /// The nonce (`nonce` parameter or `webhook-id`).
    pub nonce: String,
    /// The signature's timestamp, Unix seconds.
    pub timestamp: i64,
    /// SHA-256 of the body.
    pub body_sha256: [u8; crate::signature::crypto::SHA256_LEN],
}

/// Verifies a sync request against its tenant's policy with the pure-Rust primitives.
///
/// # Errors
/// The first failing check's [`Rejection`].
pub fn verify_request(
    request: &HttpRequest,
    policy: &TenantPolicy,
    now: i64,
) -> Result<Verdict, Rejection> {
    verify_request_with(request, policy, now, &RustCrypto)
}

/// [`verify_request`] with caller-supplied hash and MAC primitives.
///
/// # Errors
/// The first failing check's [`Rejection`].
pub fn verify_request_with(
    request: &HttpRequest,
    policy: &TenantPolicy,
    now: i64,
    primitives: &dyn Primitives,
) -> Result<Verdict, Rejection> {
    let authenticated = authenticate(request, policy, now, primitives)?;
    admit(request, policy, &authenticated, primitives)
}

/// Steps 1–5: instance state, size, media type, signature headers, timestamp, key, digest, MAC.
/// Runs the two-phase seam of [`crate::Verifier`] with `primitives` as the host.
///
/// The edge calls this and [`admit_without_payload`] separately so a payload rejection can still be logged
/// with the key that signed it.
///
/// # Errors
/// The first failing check's [`Rejection`].
pub fn authenticate<'p>(
    request: &HttpRequest,
    policy: &'p TenantPolicy,
    now: i64,
    primitives: &dyn Primitives,
) -> Result<Authenticated<'p>, Rejection> {
    crate::verifier::authenticate_with(policy, request, now, primitives)
}

/// Steps 6–7 on a body alone: it parses and validates as a sync payload, names the routed
/// tenant, and is in the policy's scope. [`admit`] and the npm package's `validatePayload` both
/// run exactly this.
///
/// # Errors
/// `invalid_payload`, `tenant_mismatch`, `unsupported_payload_type`, `blocked_module_group` or
/// `unsupported_module_group`.
pub fn admit_payload(body: &[u8], policy: &TenantPolicy) -> Result<SyncPayload, Rejection> {
    in_scope(SyncPayload::parse(body)?, policy)
}

/// The tenant and scope checks of a parsed payload.
fn in_scope(payload: SyncPayload, policy: &TenantPolicy) -> Result<SyncPayload, Rejection> {
    if payload.tenant() != policy.tenant {
        return Err(Rejection::TenantMismatch);
    }
    check_scope(&payload, policy)?;
    Ok(payload)
}

/// Steps 6–7 for an authenticated request: payload schema, tenant, scope; derives replay keys.
///
/// # Errors
/// `invalid_payload`, `tenant_mismatch`, `unsupported_payload_type`, `blocked_module_group` or
/// `unsupported_module_group`.
pub fn admit(
    request: &HttpRequest,
    policy: &TenantPolicy,
    authenticated: &Authenticated<'_>,
    primitives: &dyn Primitives,
) -> Result<Verdict, Rejection> {
    admit_bytes(&request.body, policy, authenticated, primitives)
}

/// [`admit`] on the body bytes alone.
///
/// # Errors
/// As [`admit`].
pub fn admit_bytes(
    body: &[u8],
    policy: &TenantPolicy,
    authenticated: &Authenticated<'_>,
    primitives: &dyn Primitives,
) -> Result<Verdict, Rejection> {
    let payload = admit_payload(body, policy)?;
    Ok(verdict(
        payload,
        policy,
        authenticated,
        primitives,
        identity,
    ))
}

/// [`admit`] for a caller that reads the verdict's fields and never its payload: the same
/// checks with the same rejections, without keeping the payload (each module's permissions are
/// checked where they are read, not copied).
///
/// # Errors
/// As [`admit`].
pub fn admit_without_payload(
    request: &HttpRequest,
    policy: &TenantPolicy,
    authenticated: &Authenticated<'_>,
    primitives: &dyn Primitives,
) -> Result<Verdict<()>, Rejection> {
    admit_bytes_without_payload(&request.body, policy, authenticated, primitives)
}

/// [`admit_without_payload`] on the body bytes alone.
///
/// # Errors
/// As [`admit`].
pub(crate) fn admit_bytes_without_payload(
    body: &[u8],
    policy: &TenantPolicy,
    authenticated: &Authenticated<'_>,
    primitives: &dyn Primitives,
) -> Result<Verdict<()>, Rejection> {
    let checked = in_scope(SyncPayload::parse_without_permissions(body)?, policy)?;
    Ok(verdict(checked, policy, authenticated, primitives, drop))
}

/// The verdict of an admitted payload, holding `keep(payload)`.
fn verdict<P>(
    payload: SyncPayload,
    policy: &TenantPolicy,
    authenticated: &Authenticated<'_>,
    primitives: &dyn Primitives,
    keep: impl FnOnce(SyncPayload) -> P,
) -> Verdict<P> {
    let key = authenticated.key;
    let payload_hash = hex(&authenticated.body_sha256);
    let replay = ReplayKeys::derive(
        &policy.tenant,
        &authenticated.nonce,
        &payload_hash,
        authenticated.timestamp,
        SkewWindow::new(policy.skew_seconds),
        primitives,
    );
    Verdict {
        tenant: policy.tenant.clone(),
        scheme: authenticated.scheme,
        key_id: key.kid.clone(),
        key_version: key.version,
        key_status: key.status,
        nonce: authenticated.nonce.clone(),
        timestamp: authenticated.timestamp,
        payload_hash,
        payload_type: payload.payload_type(),
        payload_version: payload.version(),
        sections: payload.section_names(),
        replay,
        payload: keep(payload),
    }
}
