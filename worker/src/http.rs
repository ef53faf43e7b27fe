//! Response helpers shared by every route: problem documents, JSON answers, request ids.

use serde::Serialize;
use syncgate::Rejection;
use syncgate::error::PROBLEM_CONTENT_TYPE;
use worker::{Headers, Response, Result};

/// A new request id: `req_` and 24 hex characters of randomness.
#[must_use]
pub fn new_request_id() -> String {
    format!("req_{}", random_hex(12))
}

/// `len` random bytes as lowercase hex (`crypto.getRandomValues` underneath).
#[must_use]
pub fn random_hex(len: usize) -> String {
    syncgate::crypto::hex(&random_bytes(len))
}

/// `len` random bytes. The platform's CSPRNG does not fail in Workers; if it ever did, the
/// all-zero answer would make ids collide loudly rather than silently weaken a key, and keys
/// generated from it are refused by [`random_secret`].
#[must_use]
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        bytes.fill(0);
    }
    bytes
}

/// 32 random bytes for a secret, or `None` if the platform could not supply randomness.
#[must_use]
pub fn random_secret() -> Option<Vec<u8>> {
    let bytes = random_bytes(32);
    bytes.iter().any(|b| *b != 0).then_some(bytes)
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

/// Adds `X-Request-Id` to an answer.
///
/// # Errors
/// When the headers are immutable and cannot be copied.
pub fn with_request_id(response: Response, request_id: &str) -> Result<Response> {
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

/// Reads a request body of at most `limit` bytes, chunk by chunk, and stops as soon as it is
/// larger: a body without `Content-Length` (chunked) is never buffered past the limit.
/// `Ok(None)` means too large.
///
/// # Errors
/// When the body stream fails.
pub async fn read_body_capped(
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
    use syncgate::crypto::{Primitives, RustCrypto};
    // Compare MACs of both under a fixed key: the MAC library's constant-time verify does the
    // comparison, and unequal lengths leak nothing about content.
    let key = b"syncgate token comparison key v1";
    let tag = RustCrypto.hmac_sha256(key, &[a]);
    RustCrypto.verify_hmac_sha256(key, &[b], &tag)
}
