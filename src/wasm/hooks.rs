//! `verifyProviderWebhook(provider, request, secret, nowSeconds?)`: a provider delivery checked
//! with the provider's own scheme (see [`crate::providers`]), for the npm package.
//!
//! The same thin adapter as the rest of the boundary: the request is read by the boundary's
//! reader, the core verifies, and the answer is the JSON text (parsed by the glue) of `{ ok: true, provider, timestamp, deliveryId,
//! deliveryIdSigned, deliveryKey, eventType, bodySha256, idempotencyKey }` or `{ ok: false,
//! code, status, message }`. Nothing throws.

use wasm_bindgen::prelude::*;

use crate::error::Rejection;
use crate::providers::{Provider, ProviderSecret, verify_hook};
use crate::signature::crypto::RustCrypto;

/// Verifies a provider webhook delivery (`hubspot`, `stripe`, `github`, `slack`, `shopify`)
/// against the provider's secret.
#[wasm_bindgen(js_name = "verifyProviderWebhook")]
pub fn verify_provider_webhook(
    provider: JsValue,
    request: JsValue,
    secret: JsValue,
    now_seconds_arg: JsValue,
) -> String {
    super::json_answer((|| {
        let provider = provider
            .as_string()
            .and_then(|name| Provider::parse(&name))
            .ok_or_else(|| {
                Rejection::invalid_field(
                    "provider",
                    "must be hubspot, stripe, github, slack or shopify",
                )
            })?;
        let now = super::read_now(&now_seconds_arg)?;
        let secret = secret
            .as_string()
            .ok_or_else(|| Rejection::invalid_field("secret", "must be a string"))?;
        let secret = ProviderSecret::new(&secret)
            .map_err(|reason| Rejection::invalid_field("secret", reason))?;
        let request = super::read_request(&request)?;
        verify_hook(provider, &request, &secret, now, &RustCrypto)
    })())
}
