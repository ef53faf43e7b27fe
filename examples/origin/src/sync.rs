//! The sync routes: apply a payload, show the bootstrap, show the per-section state.
//!
//! The edge has verified the sender, the payload and the replay ledger; the origin still parses
//! and validates the payload again with the same core (a bug or a misconfiguration at the edge
//! must not write garbage into a tenant), checks that it is for the routed tenant, and lets the
//! database refuse a version that is not newer than the stored one.

use syncgate::idempotency::SyncApplied;
use syncgate::payload::SyncPayload;
use syncgate::{Primitives, Rejection, RustCrypto, hex, is_json_media_type};

use crate::attest::Attestation;
use crate::control::Stats;
use crate::error::OriginError;
use crate::http::{Request, Response};
use crate::store::Store;
use crate::store::sync::{SyncOutcome, SyncWrite};

pub use syncgate::idempotency::REPLAYED_HEADER;

/// `POST /origin/v1/{tenant}/sync`.
///
/// # Errors
/// `unsupported_media_type`, `invalid_payload`, `tenant_mismatch`, `invalid_field` (a malformed
/// `Idempotency-Key`), `idempotency_conflict`, `stale_version`, or a storage error.
pub fn apply(
    store: &Store,
    stats: &Stats,
    attestation: &Attestation,
    request: &Request,
    now: i64,
) -> Result<Response, OriginError> {
    if let Some(content_type) = request.header("content-type")
        && !is_json_media_type(content_type)
    {
        return Err(Rejection::UnsupportedMediaType.into());
    }
    let payload = SyncPayload::parse(&request.body)?;
    if payload.tenant() != attestation.tenant {
        return Err(Rejection::TenantMismatch.into());
    }
    let body_sha256 = hex(&RustCrypto.sha256(&request.body));
    // The edge sends the body hash as the key; without one, the body hash is the natural key.
    let idempotency_key = attestation
        .idempotency_key
        .as_deref()
        .unwrap_or(&body_sha256);
    check_idempotency_key(idempotency_key)?;
    let answer = serde_json::to_vec(&SyncApplied::new(
        &attestation.request_id,
        payload.payload_type().as_str(),
        payload.version(),
        None,
    ))?;
    let outcome = store.apply_sync(&SyncWrite {
        tenant: &attestation.tenant,
        idempotency_key,
        body_sha256: &body_sha256,
        request_id: &attestation.request_id,
        key_id: &attestation.key_id,
        payload: &payload,
        blocked_groups: attestation.blocked_groups.as_deref(),
        answer: &answer,
        now,
    })?;
    Ok(match outcome {
        SyncOutcome::Applied => {
            stats.applied();
            Response::json(200, "application/json", answer)
        }
        SyncOutcome::Replayed { status, body } => {
            stats.replayed();
            Response::json(status, "application/json", body).with_header(REPLAYED_HEADER, "true")
        }
    })
}

/// `GET /origin/v1/{tenant}/bootstrap`.
///
/// # Errors
/// A storage error.
pub fn bootstrap(store: &Store, tenant: &str) -> Result<Response, OriginError> {
    let view = store.bootstrap(tenant)?;
    Ok(Response::json(
        200,
        "application/json",
        serde_json::to_vec(&view)?,
    ))
}

/// `GET /origin/v1/{tenant}/sync/state`.
///
/// # Errors
/// A storage error.
pub fn state(store: &Store, tenant: &str) -> Result<Response, OriginError> {
    let view = store.sync_state(tenant)?;
    Ok(Response::json(
        200,
        "application/json",
        serde_json::to_vec(&view)?,
    ))
}

/// Checks an `Idempotency-Key` (the core's rule, [`syncgate::idempotency::check_key`]).
///
/// # Errors
/// `invalid_field` `Idempotency-Key`.
pub(crate) fn check_idempotency_key(key: &str) -> Result<(), Rejection> {
    syncgate::idempotency::check_key(key)
}
