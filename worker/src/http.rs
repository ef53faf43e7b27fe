//! Response helpers shared by every route: problem documents, JSON answers, request ids.

use serde::Serialize;
use syncgate::Rejection;
use syncgate::error::PROBLEM_CONTENT_TYPE;
use worker::{Headers, Response, Result};

/// An answer to send: one built here, or the tenant object's, passed on exactly as the runtime
/// gave it (already carrying the request id; wrapping it in a `worker::Response` would rebuild
/// it around a new stream).
#[derive(Debug)]
pub enum Reply {
    /// Built by the worker.
    Built(Response),
    /// The tenant object's answer, untouched.
    Passed(web_sys::Response),
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Self::Built(response)
    }
}

/// A new request id: `req_` and 24 hex characters of randomness. Should the platform's CSPRNG
/// ever fail, the id falls back to the clock (unique enough to correlate logs; request ids are
/// not secrets).
#[must_use]
pub fn new_request_id() -> String {
    match random_bytes(12) {
        Some(bytes) => format!("req_{}", syncgate::hex(&bytes)),
        None => format!("req_t{:023x}", now_millis()),
    }
}

/// `len` random bytes from the platform's CSPRNG (`crypto.getRandomValues`), or `None` if it
/// failed. Callers that need secrecy (secrets, AES-GCM nonces, API keys) refuse to go on without
/// it; there is deliberately no fallback value.
#[must_use]
pub fn random_bytes(len: usize) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes)
}

/// `len` random bytes as lowercase hex, or `None` if the platform could not supply randomness.
#[must_use]
pub fn random_hex(len: usize) -> Option<String> {
    random_bytes(len).map(|bytes| syncgate::hex(&bytes))
}

/// 32 random bytes for a secret, or `None` if the platform could not supply randomness.
#[must_use]
pub fn random_secret() -> Option<Vec<u8>> {
    random_bytes(32)
}

/// A request to one of the Worker's own Durable Objects on its internal interface: `path` (with
/// any query) and the given headers (`x-request-id`, …). The host is a placeholder: a Durable
/// Object stub routes by object, not by URL.
///
/// # Errors
/// When a header or the request cannot be built.
pub fn internal_request(
    method: worker::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<wasm_bindgen::JsValue>,
) -> Result<worker::Request> {
    let header_map = Headers::new();
    for (name, value) in headers {
        header_map.set(name, value)?;
    }
    let mut init = worker::RequestInit::new();
    init.with_method(method).with_headers(header_map);
    if body.is_some() {
        init.with_body(body);
    }
    worker::Request::new_with_init(&format!("https://internal{path}"), &init)
}

/// A request's JSON body read with `serde_json` from its bytes. `Request::json` goes through a
/// JavaScript number, which turns an integer above 2^53 into a float a `u64` field refuses;
/// every integer the core accepts must survive the hop between worker and Durable Object.
///
/// # Errors
/// When the body cannot be read or is not the expected JSON.
pub async fn json_body<T: serde::de::DeserializeOwned>(req: &mut worker::Request) -> Result<T> {
    let bytes = req.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// A JSON answer with `status`.
///
/// # Errors
/// When the value cannot be serialised.
pub fn json<T: Serialize>(value: &T, status: u16) -> Result<Response> {
    Ok(Response::from_json(value)?.with_status(status))
}

/// The `application/problem+json` answer for a rejection.
///
/// # Errors
/// When the response cannot be built.
pub fn problem(rejection: &Rejection, request_id: &str) -> Result<Response> {
    let body = serde_json::to_string(&rejection.problem(request_id))
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let headers = Headers::new();
    headers.set("content-type", PROBLEM_CONTENT_TYPE)?;
    if let Rejection::RateLimited {
        retry_after_seconds,
    } = rejection
    {
        headers.set("retry-after", &retry_after_seconds.to_string())?;
    }
    Ok(Response::ok(body)?
        .with_status(rejection.status())
        .with_headers(headers))
}

/// Adds `X-Request-Id` to an answer: set in place on an answer built here; an answer that
/// already carries this id (the tenant object's) is passed on as it is; any other answer from a
/// fetch, whose headers are immutable, gets a copy of its headers.
///
/// # Errors
/// When the headers cannot be read or copied.
pub fn with_request_id(mut response: Response, request_id: &str) -> Result<Response> {
    if response.headers().get("x-request-id")?.as_deref() == Some(request_id) {
        return Ok(response);
    }
    if response
        .headers_mut()
        .set("x-request-id", request_id)
        .is_ok()
    {
        return Ok(response);
    }
    let headers = Headers::new();
    for (name, value) in response.headers().entries() {
        headers.append(&name, &value)?;
    }
    headers.set("x-request-id", request_id)?;
    Ok(response.with_headers(headers))
}

/// Current time in Unix seconds.
#[must_use]
pub fn now_seconds() -> i64 {
    i64::try_from(worker::Date::now().as_millis() / 1000).unwrap_or(i64::MAX)
}

/// Current time in Unix milliseconds.
#[must_use]
pub fn now_millis() -> i64 {
    i64::try_from(worker::Date::now().as_millis()).unwrap_or(i64::MAX)
}

/// RFC 3339 UTC text for Unix milliseconds.
#[must_use]
pub fn rfc3339(millis: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64));
    String::from(date.to_iso_string())
}

/// Reads a request body of at most `limit` bytes; `Ok(None)` means too large.
///
/// A body whose `Content-Length` is declared within the limit is read in one call (HTTP framing
/// holds it to that length, and the length is checked again). A body without one (chunked) is
/// read chunk by chunk and reading stops as soon as it is larger, so it is never buffered past
/// the limit.
///
/// # Errors
/// When the body stream fails.
pub async fn read_body_capped(
    req: &mut worker::Request,
    limit: usize,
) -> worker::Result<Option<Vec<u8>>> {
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(len) if len > limit => return Ok(None),
        Some(0) => return Ok(Some(Vec::new())),
        Some(_) => {
            let body = req.bytes().await?;
            return Ok((body.len() <= limit).then_some(body));
        }
        None => {}
    }
    read_chunks_capped(req, limit).await
}

/// Reads a body without a declared length chunk by chunk, stopping as soon as it is larger than
/// `limit` (`Ok(None)`), so it is never buffered past the limit.
///
/// # Errors
/// When the body stream fails.
pub async fn read_chunks_capped(
    req: &mut worker::Request,
    limit: usize,
) -> worker::Result<Option<Vec<u8>>> {
    use futures_util::StreamExt as _;
    let mut stream = req.stream()?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Reads and drops a small request body before an early answer, so a keep-alive client can reuse
/// its connection (some HTTP stacks, the local dev server among them, drop a connection whose
/// request body was left unread). Bodies over `limit` are left alone: their size is the reason
/// for the answer, and reading them is what the early answer avoids.
pub async fn drain_body(req: &mut worker::Request, limit: usize) {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > 0 && len <= limit) {
        let _ = req.bytes().await;
    }
}

/// The bearer token of an `Authorization` header, if any.
#[must_use]
pub fn bearer(headers: &Headers) -> Option<String> {
    let value = headers.get("authorization").ok().flatten()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Equality of two byte strings in time independent of where they differ (for tokens).
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use syncgate::{Primitives, RustCrypto};
    // Compare MACs of both under a fixed key: the MAC library's constant-time verify does the
    // comparison, and unequal lengths leak nothing about content.
    let key = b"syncgate token comparison key v1";
    let tag = RustCrypto.hmac_sha256(key, &[a]);
    RustCrypto.verify_hmac_sha256(key, &[b], &tag)
}
