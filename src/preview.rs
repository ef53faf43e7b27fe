//! What a verifier MACs, shown (cargo feature `wasm`): `signatureBase(request)` for the npm
//! package, used by the browser preview page (`examples/browser/`).
//!
//! For each RFC 9421 signature of a request it rebuilds the signature base (RFC 9421 §2.5) with
//! the same code the verifier runs ([`SignatureInput::signature_base`]); for a
//! Standard Webhooks request it shows the signed content `id.timestamp.body`. It checks no MAC and
//! needs no key: it answers *what* would be checked, and whether the `Content-Digest` header
//! matches the body, so a person can see which byte changed when a verdict says
//! `digest_mismatch` or `invalid_signature`.
//!
//! The request is read like the other functions read it, and nothing throws: a value that cannot
//! be read (a throwing getter, a revoked Proxy) is `invalid_field`.

use js_sys::{Array, Function, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::rfc9421::{SignatureInput, content_digest_value};
use crate::webhooks::WebhookHeaders;
use crate::{Headers, HttpRequest, Primitives, Rejection, RustCrypto};

/// At most this many header fields are read from one request.
const MAX_HEADER_FIELDS: usize = 10_000;

/// The signature base of one RFC 9421 signature.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct Rfc9421Base {
    label: String,
    components: Vec<String>,
    key_id: Option<String>,
    created: Option<i64>,
    nonce: Option<String>,
    base: String,
}

/// What [`preview`] answers.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
enum Preview {
    /// RFC 9421: one base per labelled signature.
    #[serde(rename = "rfc9421", rename_all = "camelCase")]
    Rfc9421 {
        signatures: Vec<Rfc9421Base>,
        /// The `Content-Digest` the body has.
        content_digest: String,
        /// Whether the request's `Content-Digest` header equals it.
        digest_matches: bool,
    },
    /// Standard Webhooks: the signed content.
    #[serde(rename_all = "camelCase")]
    StandardWebhooks {
        id: String,
        timestamp: String,
        base: String,
    },
}

/// The signature bases of `request`, RFC 9421 first (as the verifier tries them).
fn preview(request: &HttpRequest) -> Result<Preview, Rejection> {
    if let Some(input) = request.headers.get("signature-input") {
        let mut signatures = Vec::new();
        for entry in SignatureInput::parse_all(input)? {
            let params = entry.params().ok();
            signatures.push(Rfc9421Base {
                label: entry.label().to_string(),
                components: entry.components().to_vec(),
                key_id: params.as_ref().map(|p| p.keyid.clone()),
                created: params.as_ref().map(|p| p.created),
                nonce: params.map(|p| p.nonce),
                base: entry.signature_base(request)?,
            });
        }
        let content_digest = content_digest_value(&RustCrypto.sha256(&request.body));
        let digest_matches = request.headers.get("content-digest") == Some(content_digest.as_str());
        return Ok(Preview::Rfc9421 {
            signatures,
            content_digest,
            digest_matches,
        });
    }
    match WebhookHeaders::find(&request.headers) {
        Some(found) => {
            let headers = found?;
            Ok(Preview::StandardWebhooks {
                id: headers.id.to_string(),
                timestamp: headers.timestamp.to_string(),
                base: format!(
                    "{}.{}.{}",
                    headers.id,
                    headers.timestamp,
                    String::from_utf8_lossy(&request.body)
                ),
            })
        }
        None => Err(Rejection::MissingSignature),
    }
}

// The request is read as `verifyRequest` reads it (src/wasm.rs): every built-in that can run
// caller code (Proxy traps, getters, iterators) is declared with `catch`, so a throw is an `Err`
// here instead of unwinding into the caller, and every list read is bounded.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn is_array_js(value: &JsValue) -> Result<bool, JsValue>;

    #[wasm_bindgen(catch, js_namespace = Object, js_name = entries)]
    fn entries_of(value: &JsValue) -> Result<Array, JsValue>;

    #[wasm_bindgen(js_name = Uint8Array)]
    type BodyCopy;

    #[wasm_bindgen(catch, constructor, js_class = "Uint8Array")]
    fn new(value: &JsValue) -> Result<BodyCopy, JsValue>;
}

/// At most this many values are read from one header's array.
const MAX_LIST_ITEMS: usize = 1_000;

fn unreadable(field: &str) -> Rejection {
    Rejection::invalid_field(field, "could not be read")
}

fn property(target: &JsValue, name: &str) -> Result<JsValue, Rejection> {
    Reflect::get(target, &JsValue::from_str(name)).map_err(|_| unreadable(name))
}

fn get(target: &JsValue, key: &JsValue) -> Result<JsValue, Rejection> {
    Reflect::get(target, key).map_err(|_| unreadable("headers"))
}

fn is_array(value: &JsValue) -> Result<bool, Rejection> {
    is_array_js(value).map_err(|_| unreadable("headers"))
}

/// The items of an array (or a Proxy of one) by index, at most `max` of them.
fn array_items(value: &JsValue, max: usize) -> Result<Vec<JsValue>, Rejection> {
    let length = get(value, &JsValue::from_str("length"))?
        .as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| unreadable("headers"))?;
    if length > max as f64 {
        return Err(Rejection::invalid_field("headers", "has too many items"));
    }
    // `length` is a whole number within `max` here; the cast only drops a fraction.
    (0..length as u32)
        .map(|i| Reflect::get_u32(value, i).map_err(|_| unreadable("headers")))
        .collect()
}

/// The values an iterable yields, each step one `Reflect` call, at most `max` of them (an
/// endless iterator is refused). `None` when `value` is not iterable.
fn iterate(value: &JsValue, max: usize) -> Result<Option<Vec<JsValue>>, Rejection> {
    let bad = || unreadable("headers");
    let make_iterator = get(value, &js_sys::Symbol::iterator())?;
    if make_iterator.is_undefined() || make_iterator.is_null() {
        return Ok(None);
    }
    let make_iterator: &Function = make_iterator.dyn_ref().ok_or_else(bad)?;
    let iterator = make_iterator.call0(value).map_err(|_| bad())?;
    if !iterator.is_object() {
        return Err(bad());
    }
    let next = get(&iterator, &JsValue::from_str("next"))?;
    let next: &Function = next.dyn_ref().ok_or_else(bad)?;
    let mut items = Vec::new();
    loop {
        let step = next.call0(&iterator).map_err(|_| bad())?;
        if !step.is_object() {
            return Err(bad());
        }
        if get(&step, &JsValue::from_str("done"))?.is_truthy() {
            return Ok(Some(items));
        }
        if items.len() >= max {
            return Err(Rejection::invalid_field("headers", "has too many entries"));
        }
        items.push(get(&step, &JsValue::from_str("value"))?);
    }
}

fn header_value(value: &JsValue) -> Result<Option<String>, Rejection> {
    if let Some(text) = value.as_string() {
        return Ok(Some(text));
    }
    if value.is_object() && is_array(value)? {
        let parts: Option<Vec<String>> = array_items(value, MAX_LIST_ITEMS)?
            .iter()
            .map(JsValue::as_string)
            .collect();
        return Ok(parts.map(|p| p.join(", ")));
    }
    Ok(value.as_f64().map(|n| n.to_string()))
}

/// Headers from a plain object, or from anything iterable over `[name, value]` pairs.
fn read_headers(value: &JsValue) -> Result<Headers, Rejection> {
    let bad = || Rejection::invalid_field("headers", "must map header names to string values");
    let mut headers = Headers::new();
    if value.is_undefined() || value.is_null() {
        return Ok(headers);
    }
    if !value.is_object() {
        return Err(bad());
    }
    let pairs: Vec<JsValue> = match iterate(value, MAX_HEADER_FIELDS)? {
        Some(pairs) => pairs,
        None => {
            let entries = entries_of(value).map_err(|_| unreadable("headers"))?;
            if entries.length() as usize > MAX_HEADER_FIELDS {
                return Err(Rejection::invalid_field("headers", "has too many entries"));
            }
            entries.iter().collect()
        }
    };
    for pair in pairs {
        if !pair.is_object() {
            return Err(bad());
        }
        let name = Reflect::get_u32(&pair, 0)
            .map_err(|_| unreadable("headers"))?
            .as_string()
            .ok_or_else(bad)?;
        let value = Reflect::get_u32(&pair, 1).map_err(|_| unreadable("headers"))?;
        headers.append(&name, &header_value(&value)?.ok_or_else(bad)?);
    }
    Ok(headers)
}

fn read_body(value: &JsValue) -> Result<Vec<u8>, Rejection> {
    if let Some(text) = value.as_string() {
        return Ok(text.into_bytes());
    }
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if !(value.is_instance_of::<js_sys::Uint8Array>()
        || value.is_instance_of::<js_sys::ArrayBuffer>())
    {
        return Err(Rejection::invalid_field(
            "body",
            "must be a Uint8Array, an ArrayBuffer or a string",
        ));
    }
    // `instanceof` follows a Proxy's prototype: copy through the constructor, which reads only a
    // genuine typed array's or buffer's internal slots (and throws on anything else).
    let copy: JsValue = BodyCopy::new(value).map_err(|_| unreadable("body"))?.into();
    Ok(copy.unchecked_into::<js_sys::Uint8Array>().to_vec())
}

fn read_request(value: &JsValue) -> Result<HttpRequest, Rejection> {
    if !value.is_object() {
        return Err(Rejection::invalid_field(
            "request",
            "must be an object { method, url, headers, body }",
        ));
    }
    let method = property(value, "method")?
        .as_string()
        .ok_or_else(|| Rejection::invalid_field("method", "must be a string"))?;
    let url = property(value, "url")?
        .as_string()
        .ok_or_else(|| Rejection::invalid_field("url", "must be an absolute url"))?;
    let headers = read_headers(&property(value, "headers")?)?;
    let body = read_body(&property(value, "body")?)?;
    HttpRequest::new(&method, &url, headers, body)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure<'a> {
    ok: bool,
    code: &'a str,
    status: u16,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

#[derive(Serialize)]
struct Success<'a> {
    ok: bool,
    #[serde(flatten)]
    preview: &'a Preview,
}

/// The signature base(s) a verifier rebuilds for `request`: `{ ok: true, scheme: "rfc9421",
/// signatures: [{ label, components, keyId, created, nonce, base }], contentDigest,
/// digestMatches }`, `{ ok: true, scheme: "standard-webhooks", id, timestamp, base }`, or a
/// failure (`missing_signature`, `malformed_signature`, `invalid_field`).
#[wasm_bindgen(js_name = "signatureBase")]
pub fn signature_base(request: JsValue) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let answer = read_request(&request).and_then(|r| preview(&r));
    let value = match &answer {
        Ok(preview) => Success { ok: true, preview }.serialize(&serializer),
        Err(rejection) => {
            let problem = rejection.problem("");
            Failure {
                ok: false,
                code: &problem.code,
                status: problem.status,
                message: &problem.detail,
                field: problem.field.as_deref(),
            }
            .serialize(&serializer)
        }
    };
    value.unwrap_or(JsValue::NULL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheme, SigningOptions, sign_request};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn signed(scheme: Scheme) -> HttpRequest {
        let body = br#"{"type":"branding","tenant":"acme","version":1,"branding":{"title":"A"}}"#;
        let url = "https://edge.example/v1/acme-eu1/sync";
        let mut headers: Headers = [("content-type", "application/json")].into_iter().collect();
        let unsigned = HttpRequest::new("POST", url, headers.clone(), body.to_vec()).unwrap();
        let options = SigningOptions::new(scheme, 1_790_000_000, "n-1");
        for (name, value) in sign_request(&unsigned, "k1", SECRET, &options).unwrap() {
            headers.set(&name, &value);
        }
        HttpRequest::new("POST", url, headers, body.to_vec()).unwrap()
    }

    #[test]
    fn rfc9421_base_is_what_was_signed() {
        let request = signed(Scheme::Rfc9421);
        let Preview::Rfc9421 {
            signatures,
            digest_matches,
            ..
        } = preview(&request).unwrap()
        else {
            panic!("not rfc9421");
        };
        assert!(digest_matches);
        let sig = &signatures[0];
        assert_eq!(sig.label, "sig1");
        assert_eq!(sig.key_id.as_deref(), Some("k1"));
        assert_eq!(sig.nonce.as_deref(), Some("n-1"));
        // The MAC over this base is the signature the request carries.
        let tag = RustCrypto.hmac_sha256(SECRET, &[sig.base.as_bytes()]);
        let header = request.headers.get("signature").unwrap();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, tag);
        assert_eq!(header, format!("sig1=:{b64}:"));
        assert!(
            sig.base
                .starts_with("\"@method\": POST\n\"@path\": /v1/acme-eu1/sync\n")
        );
        assert!(sig.base.contains("\"@signature-params\": (\"@method\""));
    }

    #[test]
    fn a_changed_body_no_longer_matches_its_digest() {
        let mut request = signed(Scheme::Rfc9421);
        request.body[10] ^= 1;
        let Preview::Rfc9421 { digest_matches, .. } = preview(&request).unwrap() else {
            panic!("not rfc9421");
        };
        assert!(!digest_matches);
    }

    #[test]
    fn standard_webhooks_content() {
        let request = signed(Scheme::StandardWebhooks);
        let Preview::StandardWebhooks {
            id,
            timestamp,
            base,
        } = preview(&request).unwrap()
        else {
            panic!("not standard webhooks");
        };
        assert_eq!(id, "n-1");
        assert_eq!(timestamp, "1790000000");
        assert!(base.starts_with("n-1.1790000000.{\"type\""));
    }

    #[test]
    fn unsigned_is_missing_signature() {
        let request = HttpRequest::new("POST", "https://e.x/", Headers::new(), b"{}".to_vec());
        assert_eq!(
            preview(&request.unwrap()).unwrap_err().code(),
            "missing_signature"
        );
    }
}
