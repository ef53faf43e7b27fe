//! `POST /v1/{instance}/hooks/{provider}`: provider webhooks (HubSpot, Stripe, GitHub, Slack,
//! Shopify) verified at the edge, then through the same ledger, log and forward as signed syncs.
//!
//! The stateless half runs here, cheapest first: the provider name (an unknown one is
//! `not_found` before any KV read), the policy and its provider entry (`not_found` when the
//! instance does not accept that provider), instance state, the declared body size, then the
//! core's [`syncgate::providers::verify_hook`]. Refusals are logged like unauthenticated sync
//! refusals. An accepted delivery becomes a [`Reservation`] (its provider's part in
//! [`HookRoute`]) and goes to the tenant's Durable Object on the very path a sync takes: the
//! delivery key and body hash are reserved atomically, the delivery is forwarded to
//! `/origin/v1/{tenant}/hooks/{provider}` with the edge attestation, and the reservation is
//! committed or released on the origin's answer. A duplicate delivery is answered like a
//! replayed sync (`409 replayed_nonce` or `duplicate_payload`, naming the first request and
//! whether it was applied) and is not forwarded again.

use serde::{Deserialize, Serialize};
use syncgate::providers::{HookApplied, HookVerdict, Provider, verify_hook};
use syncgate::{HttpRequest, Rejection, RustCrypto, TenantPolicy};
use worker::{Context, Env, Method, Request, Response, Result};

use crate::host::{self, RequestHead};
use crate::http::{self, Reply};
use crate::origin::OriginCall;
use crate::sync::Attempt;
use crate::tenant_state::{self, Reservation};

/// Longest content type passed on to the origin.
const MAX_CONTENT_TYPE_CHARS: usize = 128;

/// The provider's part of a [`Reservation`]: what the forward and the answer need besides the
/// ledger keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRoute {
    /// The provider.
    pub provider: Provider,
    /// The delivery's content type, passed on (covered by the attestation).
    pub content_type: Option<String>,
    /// The provider's id for the delivery, when it sends one.
    pub delivery_id: Option<String>,
    /// The event type, when the provider says.
    pub event_type: Option<String>,
    /// The signed timestamp, Unix seconds, when the provider signs one.
    pub timestamp: Option<i64>,
    /// The origin's `Idempotency-Key`.
    pub idempotency_key: String,
}

impl HookRoute {
    /// The forward of a reserved delivery to `/origin/v1/{tenant}/hooks/{provider}`. The
    /// delivery id, event type and signed time travel in the query, which the attestation
    /// covers.
    #[must_use]
    pub fn origin_call<'a>(
        &self,
        meta: &'a Reservation,
        base: &'a str,
        body: Vec<u8>,
        request_id: &'a str,
    ) -> OriginCall<'a> {
        let mut query = worker::Url::parse("http://query.invalid/").ok();
        if let Some(url) = query.as_mut() {
            let mut pairs = url.query_pairs_mut();
            if let Some(id) = &self.delivery_id {
                pairs.append_pair("deliveryId", id);
            }
            if let Some(event) = &self.event_type {
                pairs.append_pair("eventType", event);
            }
            if let Some(at) = self.timestamp {
                pairs.append_pair("signedAt", &at.to_string());
            }
        }
        OriginCall {
            method: Method::Post,
            base,
            path: format!(
                "/origin/v1/{}/hooks/{}",
                meta.tenant,
                self.provider.as_str()
            ),
            query: query
                .as_ref()
                .and_then(worker::Url::query)
                .filter(|q| !q.is_empty())
                .map(str::to_string),
            body,
            content_type: self.content_type.clone(),
            request_id,
            tenant: &meta.tenant,
            instance: &meta.instance,
            key_id: &meta.key_id,
            idempotency_key: Some(self.idempotency_key.clone()),
            fields: None,
            if_match: None,
            blocked_groups: None,
        }
    }

    /// The answer to an applied delivery.
    ///
    /// # Errors
    /// When the answer cannot be built.
    pub fn applied(&self, request_id: &str) -> Result<Response> {
        http::json(
            &HookApplied::new(request_id, self.provider, self.delivery_id.as_deref()),
            200,
        )
    }
}

/// The key id a provider delivery is logged and forwarded under: the policy member its secret
/// lives in (`providers.stripe`).
#[must_use]
pub fn key_id(provider: Provider) -> String {
    format!("providers.{}", provider.as_str())
}

/// The reservation for a verified delivery.
fn reservation(
    verdict: HookVerdict,
    policy: &TenantPolicy,
    attempt: &Attempt<'_>,
    content_type: Option<String>,
    now: i64,
) -> Reservation {
    let replay = verdict.replay_keys(&policy.tenant, now, &RustCrypto);
    Reservation {
        request_id: attempt.request_id.to_string(),
        received_at: attempt.received_at,
        source_ip: attempt.source_ip.clone(),
        instance: policy.instance.clone(),
        tenant: policy.tenant.clone(),
        origin: policy.origin.clone(),
        key_id: key_id(verdict.provider),
        nonce_key: replay.nonce_key,
        payload_key: replay.payload_key,
        expires_at: replay.expires_at,
        sections: Vec::new(),
        payload_type: format!("hook:{}", verdict.provider.as_str()),
        payload_version: 0,
        payload_hash: verdict.body_sha256,
        blocked_groups: Vec::new(),
        hook: Some(HookRoute {
            provider: verdict.provider,
            content_type,
            delivery_id: verdict.delivery_id,
            event_type: verdict.event_type,
            timestamp: verdict.timestamp,
            idempotency_key: verdict.idempotency_key,
        }),
    }
}

/// Handles a provider delivery for `instance`.
///
/// # Errors
/// Only for platform failures (KV, bindings); every request problem is an answer.
pub async fn handle(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    request_id: &str,
    instance: &str,
    provider: &str,
) -> Result<Reply> {
    let Some(provider) = Provider::parse(provider) else {
        http::drain_body(&mut req, syncgate::DEFAULT_MAX_BODY_BYTES).await;
        return http::problem(&Rejection::NotFound, request_id).map(Reply::from);
    };
    let head = RequestHead::read(&req)?;
    let attempt = Attempt::begin(&head, env, ctx, request_id);
    let Some(policy) = crate::instances::route(env, instance).await? else {
        return http::problem(&Rejection::UnknownInstance, request_id).map(Reply::from);
    };
    let Some(entry) = policy.providers.get(provider) else {
        http::drain_body(&mut req, policy.max_body_bytes).await;
        return http::problem(&Rejection::NotFound, request_id).map(Reply::from);
    };
    if !policy.enabled {
        return attempt
            .reject(&policy, &Rejection::InstanceDisabled)
            .map(Reply::from);
    }
    let too_large = Rejection::PayloadTooLarge {
        limit: policy.max_body_bytes,
    };
    let declared_len = head.content_length();
    if declared_len.unwrap_or(0) > policy.max_body_bytes {
        return attempt.reject(&policy, &too_large).map(Reply::from);
    }
    let Some(body) = host::read_body(&mut req, declared_len, policy.max_body_bytes).await? else {
        return attempt.reject(&policy, &too_large).map(Reply::from);
    };
    let RequestHead {
        method,
        url,
        headers,
    } = head;
    let content_type = headers
        .get("content-type")
        .filter(|t| {
            t.len() <= MAX_CONTENT_TYPE_CHARS && t.bytes().all(|b| (b' '..=b'~').contains(&b))
        })
        .map(str::to_string);
    let core_request = match HttpRequest::new(&method, &url, headers, body.to_vec()) {
        Ok(request) => request,
        Err(rejection) => return attempt.reject(&policy, &rejection).map(Reply::from),
    };
    let now = http::now_seconds();
    let verdict = match verify_hook(provider, &core_request, &entry.secret, now, &RustCrypto) {
        Ok(verdict) => verdict,
        Err(rejection) => return attempt.reject(&policy, &rejection).map(Reply::from),
    };
    let reservation = reservation(verdict, &policy, &attempt, content_type, now);
    tenant_state::reserve_and_forward(env, &policy.tenant, request_id, &reservation, &body)
        .await
        .map(Reply::Passed)
}
