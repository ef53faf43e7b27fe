//! The provider webhook routes: record a delivery the edge forwarded, list what arrived.
//!
//! The edge has verified the provider's signature (the origin never holds provider secrets), its
//! window and its replay ledger; the origin checks the edge's attestation (in [`crate::app`]),
//! requires the `Idempotency-Key` the edge derives from signed material, and records each
//! delivery once under it. The delivery id, event type and signed time come in the query, which
//! the attestation covers.

use syncgate::providers::{HookApplied, Provider};
use syncgate::{Primitives, Rejection, RustCrypto, hex};

use crate::attest::Attestation;
use crate::error::OriginError;
use crate::http::{Request, Response};
use crate::store::Store;
use crate::store::hooks::{HookOutcome, HookWrite};
use crate::sync::{REPLAYED_HEADER, check_idempotency_key};

/// The delivery facts the edge passes in the query.
#[derive(Debug, Default)]
struct Facts {
    delivery_id: Option<String>,
    event_type: Option<String>,
    signed_at: Option<i64>,
}

fn facts(query: Option<&str>) -> Facts {
    let mut facts = Facts::default();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "deliveryId" => facts.delivery_id = Some(value.into_owned()),
            "eventType" => facts.event_type = Some(value.into_owned()),
            "signedAt" => facts.signed_at = value.parse().ok(),
            _ => {}
        }
    }
    facts
}

/// `POST /origin/v1/{tenant}/hooks/{provider}`.
///
/// # Errors
/// `invalid_field` without a well-formed `Idempotency-Key`, or a storage error.
pub fn record(
    store: &Store,
    attestation: &Attestation,
    provider: Provider,
    request: &Request,
    now: i64,
) -> Result<Response, OriginError> {
    let idempotency_key =
        attestation
            .idempotency_key
            .as_deref()
            .ok_or_else(|| Rejection::InvalidField {
                field: "Idempotency-Key".into(),
                reason: "is required".into(),
            })?;
    check_idempotency_key(idempotency_key)?;
    let facts = facts(request.query());
    let answer = serde_json::to_vec(&HookApplied::new(
        &attestation.request_id,
        provider,
        facts.delivery_id.as_deref(),
    ))?;
    let outcome = store.record_hook(&HookWrite {
        tenant: &attestation.tenant,
        provider: provider.as_str(),
        idempotency_key,
        request_id: &attestation.request_id,
        delivery_id: facts.delivery_id.as_deref(),
        event_type: facts.event_type.as_deref(),
        signed_at: facts.signed_at,
        content_type: request.header("content-type"),
        body: &request.body,
        body_sha256: &hex(&RustCrypto.sha256(&request.body)),
        answer: &answer,
        now,
    })?;
    Ok(match outcome {
        HookOutcome::Recorded => Response::json(200, "application/json", answer),
        HookOutcome::Replayed { body } => {
            Response::json(200, "application/json", body).with_header(REPLAYED_HEADER, "true")
        }
    })
}

/// `GET /origin/v1/{tenant}/hooks`: `{"items":[…]}`, newest first.
///
/// # Errors
/// A storage error.
pub fn list(store: &Store, tenant: &str) -> Result<Response, OriginError> {
    let items = store.hooks(tenant)?;
    Ok(Response::json(
        200,
        "application/json",
        serde_json::to_vec(&serde_json::json!({ "items": items }))?,
    ))
}
