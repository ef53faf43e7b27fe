//! The JavaScript boundary (cargo feature `wasm`): six functions for the `syncgate` npm package.
//!
//! A thin adapter, nothing more: it turns JS values into core types, calls the core, and answers
//! the result as one JSON string (`serde_json`), which the package's glue (js/glue.mjs) hands to
//! `JSON.parse`: no JS object is built from wasm, which keeps the module small and lets an answer
//! cross once. Nothing throws across the boundary — bad input of any shape comes back as
//! `{ ok: false, code, status, message }` — and names are camelCase only here.
//! The body crosses once as bytes; objects (policies, payloads) cross as JSON text and are
//! parsed once by the core's own readers, so JS callers get exactly the errors the edge gives.

use js_sys::{Array, Function, JSON, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::document::modules::recompute_modules;
use crate::document::payload::SyncPayload;
use crate::error::Rejection;
use crate::policy::{DEFAULT_BLOCKED_GROUPS, TenantPolicy};
use crate::request::{Headers, HttpRequest};
use crate::sign::{SigningOptions, sign_request};
use crate::signature::Scheme;
use crate::signature::crypto::{Primitives, RustCrypto};
use crate::signature::preview::preview;
use crate::signature::rfc9421::content_digest_value;

mod hooks;
mod verifier;

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
    code: std::borrow::Cow<'a, str>,
    status: u16,
    message: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<std::borrow::Cow<'a, str>>,
}

/// JSON text of a value, or of the failure saying it cannot be represented.
fn json_success<T: Serialize>(value: T) -> String {
    serde_json::to_string(&Success { ok: true, value }).unwrap_or_else(|_| {
        json_failure(&Rejection::invalid_payload(
            "",
            "holds a value JavaScript cannot represent",
        ))
    })
}

/// JSON text of a failure (the problem document's bounded message and field).
fn json_failure(rejection: &Rejection) -> String {
    let problem = rejection.problem("");
    serde_json::to_string(&Failure {
        ok: false,
        code: problem.code,
        status: problem.status,
        message: problem.detail,
        field: problem.field,
    })
    .unwrap_or_else(|_| {
        // Codes are plain identifiers and statuses numbers: this text is valid JSON.
        format!(
            r#"{{"ok":false,"code":"{}","status":{},"message":"could not be represented"}}"#,
            rejection.code(),
            rejection.info().status
        )
    })
}

/// The JSON text of an answer: `{ ok: true, ... }` or the failure.
fn json_answer<T: Serialize>(result: Result<T, Rejection>) -> String {
    match result {
        Ok(value) => json_success(value),
        Err(rejection) => json_failure(&rejection),
    }
}

// The JS built-ins the readers use that can run caller code (Proxy traps, getters) and so throw,
// declared with `catch` so a throw comes back as an `Err` instead of unwinding through the wasm
// frames into the caller.
#[wasm_bindgen]
extern "C" {
    /// `Array.isArray`: throws on a revoked Proxy.
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn array_is_array(value: &JsValue) -> Result<bool, JsValue>;

    /// `Object.entries`: runs `ownKeys` and `getOwnPropertyDescriptor` traps and getters.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = entries)]
    fn object_entries(value: &JsValue) -> Result<Array, JsValue>;

    /// A `Uint8Array` this module made itself (see [`CopiedBytes::new`]).
    #[wasm_bindgen(js_name = Uint8Array)]
    type CopiedBytes;

    /// `new Uint8Array(value)`: a copy of a typed array's or an `ArrayBuffer`'s bytes into a
    /// fresh array the caller never saw (a Proxy or a detached buffer throws here).
    #[wasm_bindgen(catch, constructor, js_class = "Uint8Array")]
    fn new(value: &JsValue) -> Result<CopiedBytes, JsValue>;
}

/// A copy of the bytes of a genuine `Uint8Array` or `ArrayBuffer`.
fn copy_bytes(value: &JsValue) -> Result<Vec<u8>, JsValue> {
    let copy: JsValue = CopiedBytes::new(value)?.into();
    Ok(copy.unchecked_into::<Uint8Array>().to_vec())
}

/// At most this many header fields are read from one request.
const MAX_HEADER_FIELDS: usize = 10_000;
/// At most this many values are read from one header's array, or from `components`.
const MAX_LIST_ITEMS: usize = 1_000;

/// The rejection for an input the boundary could not read: a getter or a Proxy trap threw, a
/// Proxy was revoked, an iterator misbehaved.
fn unreadable(field: &str) -> Rejection {
    Rejection::invalid_field(field, "could not be read")
}

/// Property `name` of an object, or `undefined` for a non-object. A throwing getter or trap is
/// `invalid_field` naming `field`.
fn get(target: &JsValue, name: &str, field: &str) -> Result<JsValue, Rejection> {
    if target.is_object() {
        Reflect::get(target, &JsValue::from_str(name)).map_err(|_| unreadable(field))
    } else {
        Ok(JsValue::UNDEFINED)
    }
}

/// Property `name` when it is a string (nothing is coerced: no `toString` runs).
fn get_string(target: &JsValue, name: &str) -> Result<Option<String>, Rejection> {
    Ok(get(target, name, name)?.as_string())
}

/// Whether `value` is an array (a revoked Proxy is `invalid_field` naming `field`).
fn is_array(value: &JsValue, field: &str) -> Result<bool, Rejection> {
    array_is_array(value).map_err(|_| unreadable(field))
}

/// The items of an array (or a Proxy of one) by index, at most `max` of them.
fn array_items(value: &JsValue, field: &str, max: usize) -> Result<Vec<JsValue>, Rejection> {
    let length = Reflect::get(value, &JsValue::from_str("length"))
        .map_err(|_| unreadable(field))?
        .as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| unreadable(field))?;
    if length > max as f64 {
        return Err(Rejection::invalid_field(field, "has too many items"));
    }
    // `length` is a whole number within `max` here; the cast only drops a fraction.
    (0..length as u32)
        .map(|i| Reflect::get_u32(value, i).map_err(|_| unreadable(field)))
        .collect()
}

/// The values an iterable object yields, read by hand: `Symbol.iterator`, `next`, `done` and
/// `value` are each one `Reflect` call, so any of them throwing is a rejection, and at most
/// `max` values are read (an endless iterator ends). `None` when `value` is not iterable.
fn iterate(value: &JsValue, field: &str, max: usize) -> Result<Option<Vec<JsValue>>, Rejection> {
    let bad = || unreadable(field);
    let make_iterator = Reflect::get(value, &js_sys::Symbol::iterator()).map_err(|_| bad())?;
    if make_iterator.is_undefined() || make_iterator.is_null() {
        return Ok(None);
    }
    if !make_iterator.is_function() {
        return Err(bad());
    }
    let iterator = make_iterator
        .unchecked_ref::<Function>()
        .call0(value)
        .map_err(|_| bad())?;
    let next = Reflect::get(&iterator, &JsValue::from_str("next")).map_err(|_| bad())?;
    if !iterator.is_object() || !next.is_function() {
        return Err(bad());
    }
    let next = next.unchecked_ref::<Function>();
    let mut items = Vec::new();
    loop {
        let step = next.call0(&iterator).map_err(|_| bad())?;
        if !step.is_object() {
            return Err(bad());
        }
        if Reflect::get(&step, &JsValue::from_str("done"))
            .map_err(|_| bad())?
            .is_truthy()
        {
            return Ok(Some(items));
        }
        if items.len() >= max {
            return Err(Rejection::invalid_field(field, "has too many entries"));
        }
        items.push(Reflect::get(&step, &JsValue::from_str("value")).map_err(|_| bad())?);
    }
}

/// Bytes from a `Uint8Array`, an `ArrayBuffer`, a string (UTF-8) or, for objects, their JSON.
fn bytes_of(value: &JsValue, field: &str) -> Result<Vec<u8>, Rejection> {
    if let Some(text) = value.as_string() {
        Ok(text.into_bytes())
    } else if value.is_undefined() || value.is_null() {
        Ok(Vec::new())
    } else if value.is_instance_of::<Uint8Array>() || value.is_instance_of::<js_sys::ArrayBuffer>()
    {
        // `instanceof` follows a Proxy's prototype, so copy through the constructor, which reads
        // only a genuine typed array's or buffer's internal slots (and throws on anything else).
        copy_bytes(value).map_err(|_| unreadable(field))
    } else {
        Err(Rejection::invalid_field(
            field,
            "must be a Uint8Array, an ArrayBuffer or a string",
        ))
    }
}

/// JSON text of a plain value (object, array, string, number…), or of a string as given.
fn json_of(value: &JsValue, field: &str) -> Result<Vec<u8>, Rejection> {
    if value.is_string() || value.is_instance_of::<Uint8Array>() {
        return bytes_of(value, field);
    }
    if value.is_undefined() {
        return Err(Rejection::invalid_field(field, "is required"));
    }
    // `JSON.stringify` is declared with `catch`: a throwing getter, `toJSON`, Proxy trap, a
    // BigInt or a cycle is an `Err` here.
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

fn header_value(value: &JsValue) -> Result<Option<String>, Rejection> {
    if let Some(text) = value.as_string() {
        return Ok(Some(text));
    }
    if value.is_object() && is_array(value, "headers")? {
        let parts: Option<Vec<String>> = array_items(value, "headers", MAX_LIST_ITEMS)?
            .iter()
            .map(JsValue::as_string)
            .collect();
        return Ok(parts.map(|p| p.join(", ")));
    }
    // A number is written as JavaScript writes it (`String(n)`, what a Fetch `Headers` does),
    // which also keeps Rust's float formatter out of the package.
    Ok(value.as_f64().and_then(|n| {
        js_sys::Number::from(n)
            .to_string_with_radix(10)
            .ok()
            .and_then(|text| text.as_string())
    }))
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
    let entries: Vec<JsValue> = match iterate(value, "headers", MAX_HEADER_FIELDS)? {
        Some(entries) => entries,
        None => {
            let entries = object_entries(value).map_err(|_| unreadable("headers"))?;
            if entries.length() as usize > MAX_HEADER_FIELDS {
                return Err(Rejection::invalid_field("headers", "has too many entries"));
            }
            entries.iter().collect()
        }
    };
    for entry in entries {
        if !entry.is_object() {
            return Err(bad());
        }
        let name = Reflect::get_u32(&entry, 0)
            .map_err(|_| unreadable("headers"))?
            .as_string()
            .ok_or_else(bad)?;
        let value = Reflect::get_u32(&entry, 1).map_err(|_| unreadable("headers"))?;
        let value = header_value(&value)?.ok_or_else(bad)?;
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
    let method = get_string(value, "method")?
        .ok_or_else(|| Rejection::invalid_field("method", "must be a string"))?;
    let url = get_string(value, "url")?
        .ok_or_else(|| Rejection::invalid_field("url", "must be an absolute url"))?;
    let headers = read_headers(&get(value, "headers", "headers")?)?;
    let body = bytes_of(&get(value, "body", "body")?, "body")?;
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
///
/// The one-shot form of the compiled verifier (the package's glue builds its own `verifyRequest`
/// the same way, with the host's hashing; this export serves the raw `wasm-pack` build): the
/// same readers in the same order (`nowSeconds`, the policy, the request) and the same verdict.
#[wasm_bindgen(js_name = "verifyRequest")]
pub fn verify_request(request: JsValue, policy: JsValue, now_seconds_arg: JsValue) -> String {
    verifier::CompiledVerifier::new(policy).verify_value(request, now_seconds_arg, true)
}

fn random_nonce() -> Option<String> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?;
    let fill: Function = Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .ok()?
        .dyn_into()
        .ok()?;
    let bytes = Uint8Array::new_with_length(16);
    fill.call1(&crypto, &bytes).ok()?;
    Some(crate::signature::crypto::hex(&bytes.to_vec()))
}

fn read_signing_options(options: &JsValue) -> Result<SigningOptions, Rejection> {
    let scheme = match get_string(options, "scheme")?.as_deref() {
        None | Some("rfc9421") => Scheme::Rfc9421,
        Some("standard-webhooks") => Scheme::StandardWebhooks,
        Some(_) => {
            return Err(Rejection::invalid_field(
                "scheme",
                "must be rfc9421 or standard-webhooks",
            ));
        }
    };
    let nonce = match get(options, "nonce", "nonce")? {
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
    let now = read_now(&get(options, "nowSeconds", "nowSeconds")?)?;
    let mut signing = SigningOptions::new(scheme, now, nonce);
    signing.label = get_string(options, "label")?;
    signing.tag = get_string(options, "tag")?;
    signing.expires_in = get(options, "expiresInSeconds", "expiresInSeconds")?
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s.min(f64::from(u32::MAX)) as u32);
    let components = get(options, "components", "components")?;
    if components.is_object() && is_array(&components, "components")? {
        for c in array_items(&components, "components", crate::rfc9421::MAX_COMPONENTS)? {
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
    /// In signing order (an object, not a sorted map).
    #[serde(serialize_with = "headers_object")]
    headers: Vec<(String, String)>,
}

fn headers_object<S: serde::Serializer>(
    headers: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(headers.iter().map(|(name, value)| (name, value)))
}

/// Signs a request and returns the headers to add (`{ ok: true, headers }`).
#[wasm_bindgen(js_name = "signRequest")]
pub fn sign_request_js(request: JsValue, signing: JsValue, options: JsValue) -> String {
    json_answer((|| {
        let request = read_request(&request)?;
        let kid = get_string(&signing, "kid")?
            .ok_or_else(|| Rejection::invalid_field("kid", "must be a string"))?;
        let secret = get_string(&signing, "secret")?
            .ok_or_else(|| Rejection::invalid_field("secret", "must be a whsec_ string"))?;
        let secret = crate::signature::keys::Secret::from_whsec(&secret)
            .map_err(|reason| Rejection::invalid_field("secret", reason))?;
        let options = read_signing_options(&options)?;
        let headers = sign_request(&request, &kid, secret.expose_bytes(), &options)?;
        Ok(SignedHeaders { headers })
    })())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ValidatedPayload {
    payload_type: crate::document::payload::PayloadType,
    payload_version: u64,
    sections: Vec<&'static str>,
    payload: SyncPayload,
}

/// Validates a sync payload against the schema and, when a policy is given, its tenant and scope.
#[wasm_bindgen(js_name = "validatePayload")]
pub fn validate_payload(payload: JsValue, policy: JsValue) -> String {
    json_answer((|| {
        let bytes = json_of(&payload, "payload")?;
        let parsed = if policy.is_undefined() || policy.is_null() {
            SyncPayload::parse(&bytes)?
        } else {
            crate::verify::admit_payload(&bytes, &read_policy(&policy)?)?
        };
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
pub fn recompute_modules_js(features: JsValue, policy: JsValue) -> String {
    json_answer((|| {
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

/// The signature base(s) a verifier rebuilds for `request`: `{ ok: true, scheme: "rfc9421",
/// signatures: [{ label, components, keyId, created, nonce, base }], contentDigest,
/// digestMatches }`, `{ ok: true, scheme: "standard-webhooks", id, timestamp, base }`, or a
/// failure (`missing_signature`, `malformed_signature`, `invalid_field`).
#[wasm_bindgen(js_name = "signatureBase")]
pub fn signature_base(request: JsValue) -> String {
    json_answer(read_request(&request).and_then(|request| preview(&request)))
}

/// The `Content-Digest` header value (`sha-256=:<base64>:`) of a body, as a JSON string.
#[wasm_bindgen(js_name = "contentDigest")]
pub fn content_digest(body: JsValue) -> String {
    match bytes_of(&body, "body") {
        // A JSON string: base64 and `sha-256=:…:` need no escaping.
        Ok(bytes) => format!("\"{}\"", content_digest_value(&RustCrypto.sha256(&bytes))),
        Err(rejection) => json_failure(&rejection),
    }
}
