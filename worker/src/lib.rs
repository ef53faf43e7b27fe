//! The syncgate edge worker: verification at the edge, state in a Durable Object per tenant.
//!
//! Request path (brief §3): the instance code in the path is checked for shape (no KV read for a
//! malformed one), the tenant policy is read from KV and its secrets unsealed, cheap checks run
//! (instance enabled, body size before hashing, media type), then the pure core verifies the
//! signature and the payload. Only an authenticated request reaches the tenant's Durable Object,
//! which reserves the nonce and payload hash, forwards to the origin, and commits or releases the
//! reservation depending on the origin's answer. Every answer carries `X-Request-Id`; every
//! rejection is `application/problem+json` with a stable code.
//!
//! Modules: [`routes`] dispatches, [`sync`] is the signed-sync path, [`hooks`] the provider
//! webhooks, [`admin`] the operator API (its writes serialized by the
//! [`instance_config`] Durable Object),
//! [`customers`] the customer records API, [`dashboard`] the operator's page, [`tenant_state`] the Durable Object, [`instances`] the KV store of sealed policies, [`seal`]
//! the secret sealing, [`origin`] the signed forwarding, [`api_keys`] the bearer keys,
//! [`http`] the small response helpers, [`digest`] body hashing done once (and natively for large bodies),
//! [`host`] the runtime calls of the hot path (one call per job).

pub mod admin;
pub mod api_keys;
pub mod customers;
pub mod dashboard;
pub mod digest;
pub mod hooks;
pub mod host;
pub mod http;
pub mod instance_config;
pub mod instances;
pub mod origin;
pub mod routes;
pub mod seal;
pub mod sync;
pub mod tenant_state;

use worker::{Context, Env, Request, Result, event};

/// The Worker's fetch handler.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    let request_id = http::new_request_id();
    let response = match routes::dispatch(req, &env, &ctx, &request_id).await {
        // The tenant object's answer carries the request id already: passed on untouched.
        Ok(http::Reply::Passed(raw)) => return Ok(raw),
        Ok(http::Reply::Built(response)) => response,
        Err(err) => {
            // Never a panic and never internals in the answer: log, then a generic 503 that a
            // sender may retry (nothing was applied unless the Durable Object said so).
            worker::console_error!("request {request_id} failed: {err}");
            http::problem(&syncgate::Rejection::OriginUnavailable, &request_id)?
        }
    };
    Ok(http::with_request_id(response, &request_id)?.into())
}
