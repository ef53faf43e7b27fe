//! The JavaScript boundary (cargo feature `wasm`): five functions for the `syncgate` npm package.
//!
//! A thin adapter, nothing more: it turns JS values into core types, calls the core, and turns
//! the result into a plain object. Nothing throws across the boundary — bad input of any shape
//! comes back as `{ ok: false, code, status, message }` — and names are camelCase only here.
//! The body crosses once as bytes; objects (policies, payloads) cross as JSON text and are
//! parsed once by the core's own readers, so JS callers get exactly the errors the edge gives.

use js_sys::{Array, Function, JSON, Object, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::crypto::{Primitives, RustCrypto};
use crate::error::Rejection;
use crate::modules::recompute_modules;
use crate::payload::SyncPayload;
use crate::policy::{DEFAULT_BLOCKED_GROUPS, Scheme, TenantPolicy};
use crate::request::{Headers, HttpRequest};
use crate::rfc9421::content_digest_value;
use crate::scope::check_scope;
use crate::sign::{SigningOptions, sign_request};
use crate::verify;

#[derive(Serialize)]
struct Success<T: Serialize> {
    ok: bool,
    #[serde(flatten)]
    value: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure<'a> {
    ok: bool,
    code: &'static str,
    status: u16,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).unwrap_or(JsValue::NULL)
}

fn success<T: Serialize>(value: T) -> JsValue {
    to_js(&Success { ok: true, value })
}

fn failure(rejection: &Rejection) -> JsValue {
    to_js(&Failure {
        ok: false,
        code: rejection.code(),
        status: rejection.status(),
        message: rejection.to_string(),
        field: rejection.field(),
    })
}

fn answer<T: Serialize>(result: Result<T, Rejection>) -> JsValue {
    match result {
        Ok(value) => success(value),
        Err(rejection) => failure(&rejection),
    }
}

fn get(target: &JsValue, name: &str) -> JsValue {
    if target.is_object() {
        Reflect::get(target, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn get_string(target: &JsValue, name: &str) -> Option<String> {
    get(target, name).as_string()
}

/// Bytes from a `Uint8Array`, an `ArrayBuffer`, a string (UTF-8) or, for objects, their JSON.
fn bytes_of(value: &JsValue, field: &str) -> Result<Vec<u8>, Rejection> {
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        Ok(array.to_vec())
    } else if value.is_instance_of::<js_sys::ArrayBuffer>() {
        Ok(Uint8Array::new(value).to_vec())
    } else if let Some(text) = value.as_string() {
        Ok(text.into_bytes())
    } else if value.is_undefined() || value.is_null() {
        Ok(Vec::new())
    } else {
        Err(Rejection::invalid_field(
            field,
            "must be a Uint8Array, an ArrayBuffer or a string",
        ))
    }
}

/// JSON text of a plain value (object, array, string, number…), or of a string as given.
fn json_of(value: &JsValue, field: &str) -> Result<Vec<u8>, Rejection> {
    if value.is_string() || value.dyn_ref::<Uint8Array>().is_some() {
        return bytes_of(value, field);
    }
    if value.is_undefined() {
        return Err(Rejection::invalid_field(field, "is required"));
    }
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .map(String::into_bytes)
        .ok_or_else(|| Rejection::invalid_field(field, "must be serialisable as JSON"))
}

fn read_policy(value: &JsValue) -> Result<TenantPolicy, Rejection> {
    let json = json_of(value, "policy")?;
    let text = core::str::from_utf8(&json)
        .map_err(|_| Rejection::invalid_field("policy", "must be UTF-8 JSON"))?;
    TenantPolicy::from_json(text)
}

fn header_value(value: &JsValue) -> Option<String> {
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    if Array::is_array(value) {
        let parts: Option<Vec<String>> = Array::from(value).iter().map(|v| v.as_string()).collect();
        return parts.map(|p| p.join(", "));
    }
    value.as_f64().map(|n| n.to_string())
}

fn read_headers(value: &JsValue) -> Result<Headers, Rejection> {
    let bad = || Rejection::invalid_field("headers", "must map header names to string values");
    let mut headers = Headers::new();
    if value.is_undefined() || value.is_null() {
        return Ok(headers);
    }
    if !value.is_object() {
        return Err(bad());
    }
    // A Fetch API `Headers` or a `Map` is iterable; a plain object is read by its entries.
    let entries: Vec<JsValue> = match js_sys::try_iter(value) {
        Ok(Some(iter)) => iter.collect::<Result<_, _>>().map_err(|_| bad())?,
        _ => Object::entries(value.unchecked_ref()).iter().collect(),
    };
    for entry in entries {
        let pair = Array::from(&entry);
        let name = pair.get(0).as_string().ok_or_else(bad)?;
        let value = header_value(&pair.get(1)).ok_or_else(bad)?;
        headers.append(&name, &value);
    }
    Ok(headers)
}

fn read_request(value: &JsValue) -> Result<HttpRequest, Rejection> {
    if !value.is_object() {
        return Err(Rejection::invalid_field(
            "request",
            "must be an object { method, url, headers, body }",
        ));
    }
    let method = get_string(value, "method")
        .ok_or_else(|| Rejection::invalid_field("method", "must be a string"))?;
    let url = get_string(value, "url")
        .ok_or_else(|| Rejection::invalid_field("url", "must be an absolute url"))?;
    let headers = read_headers(&get(value, "headers"))?;
    let body = bytes_of(&get(value, "body"), "body")?;
    HttpRequest::new(&method, &url, headers, body)
}

fn now_seconds(now: Option<f64>) -> i64 {
    let seconds = now.unwrap_or_else(|| js_sys::Date::now() / 1000.0);
    if seconds.is_finite() {
        // Saturating float-to-int conversion; fractions are dropped.
        seconds.floor() as i64
    } else {
        0
    }
}

/// Reads an optional `nowSeconds` argument: a finite number, or absent for the current time.
fn read_now(value: &JsValue) -> Result<i64, Rejection> {
    if value.is_undefined() || value.is_null() {
        return Ok(now_seconds(None));
    }
    match value.as_f64() {
        Some(seconds) if seconds.is_finite() => Ok(now_seconds(Some(seconds))),
        _ => Err(Rejection::invalid_field(
            "nowSeconds",
            "must be a finite number of unix seconds",
        )),
    }
}

/// Verifies a signed sync request against a tenant policy: every check that needs no storage.
#[wasm_bindgen(js_name = "verifyRequest")]
pub fn verify_request(request: JsValue, policy: JsValue, now_seconds_arg: JsValue) -> JsValue {
    answer((|| {
        let now = read_now(&now_seconds_arg)?;
        let policy = read_policy(&policy)?;
        let request = read_request(&request)?;
        verify::verify_request(&request, &policy, now)
    })())
}

fn random_nonce() -> Option<String> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?;
    let fill: Function = Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .ok()?
        .dyn_into()
        .ok()?;
    let bytes = Uint8Array::new_with_length(16);
    fill.call1(&crypto, &bytes).ok()?;
    Some(crate::crypto::hex(&bytes.to_vec()))
}

fn read_signing_options(options: &JsValue) -> Result<SigningOptions, Rejection> {
    let scheme = match get_string(options, "scheme").as_deref() {
        None | Some("rfc9421") => Scheme::Rfc9421,
        Some("standard-webhooks") => Scheme::StandardWebhooks,
        Some(_) => {
            return Err(Rejection::invalid_field(
                "scheme",
                "must be rfc9421 or standard-webhooks",
            ));
        }
    };
    let nonce = match get(options, "nonce") {
        v if v.is_undefined() => random_nonce()
            .map(|n| match scheme {
                Scheme::StandardWebhooks => format!("msg_{n}"),
                Scheme::Rfc9421 => n,
            })
            .ok_or_else(|| {
                Rejection::invalid_field("nonce", "no crypto.getRandomValues here; pass one")
            })?,
        v => v
            .as_string()
            .ok_or_else(|| Rejection::invalid_field("nonce", "must be a string"))?,
    };
    let mut signing = SigningOptions::new(scheme, read_now(&get(options, "nowSeconds"))?, nonce);
    signing.label = get_string(options, "label");
    signing.tag = get_string(options, "tag");
    signing.expires_in = get(options, "expiresInSeconds")
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s.min(f64::from(u32::MAX)) as u32);
    let components = get(options, "components");
    if Array::is_array(&components) {
        for c in Array::from(&components).iter() {
            signing.extra_components.push(
                c.as_string()
                    .ok_or_else(|| Rejection::invalid_field("components", "must be strings"))?,
            );
        }
    }
    Ok(signing)
}

#[derive(Serialize)]
struct SignedHeaders {
    headers: serde_json::Map<String, serde_json::Value>,
}

/// Signs a request and returns the headers to add (`{ ok: true, headers }`).
#[wasm_bindgen(js_name = "signRequest")]
pub fn sign_request_js(request: JsValue, signing: JsValue, options: JsValue) -> JsValue {
    answer((|| {
        let request = read_request(&request)?;
        let kid = get_string(&signing, "kid")
            .ok_or_else(|| Rejection::invalid_field("kid", "must be a string"))?;
        let secret = get_string(&signing, "secret")
            .ok_or_else(|| Rejection::invalid_field("secret", "must be a whsec_ string"))?;
        let secret = crate::keys::Secret::from_whsec(&secret)
            .map_err(|reason| Rejection::invalid_field("secret", reason))?;
        let options = read_signing_options(&options)?;
        let headers = sign_request(&request, &kid, secret.expose_bytes(), &options)?;
        Ok(SignedHeaders {
            headers: headers
                .into_iter()
                .map(|(n, v)| (n, serde_json::Value::String(v)))
                .collect(),
        })
    })())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ValidatedPayload {
    payload_type: crate::policy::PayloadType,
    payload_version: u64,
    sections: Vec<&'static str>,
    payload: SyncPayload,
}

/// Validates a sync payload against the schema and, when a policy is given, its tenant and scope.
#[wasm_bindgen(js_name = "validatePayload")]
pub fn validate_payload(payload: JsValue, policy: JsValue) -> JsValue {
    answer((|| {
        let bytes = json_of(&payload, "payload")?;
        let parsed = SyncPayload::parse(&bytes)?;
        if !policy.is_undefined() && !policy.is_null() {
            let policy = read_policy(&policy)?;
            if parsed.tenant() != policy.tenant {
                return Err(Rejection::TenantMismatch);
            }
            check_scope(&parsed, &policy)?;
        }
        Ok(ValidatedPayload {
            payload_type: parsed.payload_type(),
            payload_version: parsed.version(),
            sections: parsed.sections().iter().map(|s| s.as_str()).collect(),
            payload: parsed,
        })
    })())
}

/// Recomputes module state from a features section, applying the policy's blocked groups (the
/// defaults when no policy is given).
#[wasm_bindgen(js_name = "recomputeModules")]
pub fn recompute_modules_js(features: JsValue, policy: JsValue) -> JsValue {
    answer((|| {
        let bytes = json_of(&features, "features")?;
        let features = crate::payload::Features::parse(&bytes)?;
        let blocked: Vec<String> = if policy.is_undefined() || policy.is_null() {
            DEFAULT_BLOCKED_GROUPS.map(String::from).to_vec()
        } else {
            read_policy(&policy)?.blocked_module_groups
        };
        Ok(recompute_modules(&features, &blocked))
    })())
}

/// The `Content-Digest` header value (`sha-256=:<base64>:`) of a body.
#[wasm_bindgen(js_name = "contentDigest")]
pub fn content_digest(body: JsValue) -> JsValue {
    match bytes_of(&body, "body") {
        Ok(bytes) => JsValue::from_str(&content_digest_value(&RustCrypto.sha256(&bytes))),
        Err(rejection) => failure(&rejection),
    }
}
