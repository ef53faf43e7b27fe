//! The runtime's side of the hot path, in as few calls across the wasm boundary as possible.
//!
//! Every call between wasm and JavaScript costs (argument conversion, string transcoding, a
//! `JsValue` per result), and a request used to make dozens: one per header read, one per
//! header set, one copy of the body into wasm and one back out per hop. The functions here do
//! each job in one call of a small JavaScript helper ([`HELPERS`]):
//! - [`RequestHead::read`]: method, URL and every header as one string (names cannot hold `:`,
//!   and no part of a request head can hold a line break, so lines split it unambiguously);
//! - [`read_body`]: the body stays a JavaScript `Uint8Array`; the core gets one copy of it
//!   ([`Uint8Array::to_vec`]), and the hop to the tenant's object and the forward to the origin
//!   pass the JavaScript bytes on without copying them through wasm again;
//! - [`digests`]: the SHA-256 and the HMAC-SHA256 tags a [`Pending`] asks for, by WebCrypto
//!   (native code) over the JavaScript bytes, all in one promise; HMAC keys are imported once
//!   per isolate and secret;
//! - [`concat`]: the framed body for the tenant's object (reservation, then the body) joined in
//!   JavaScript;
//! - [`origin_fetch`]: a fetch with its method, `name:value` header lines, body and signal in
//!   one call (no `Request` or `RequestInit` built in wasm).
//!
//! Nothing here decides anything: the core's [`syncgate::Verifier`] says what to hash and
//! compares the tags (in constant time); a failed WebCrypto call answers `None`, and the caller
//! then hashes in wasm.

use js_sys::{Promise, Uint8Array};
use syncgate::{HostDigests, Pending, SHA256_LEN, SigningKey};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/src/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = requestHead, catch)]
    fn request_head(request: &web_sys::Request) -> Result<String, JsValue>;
    #[wasm_bindgen(js_name = digests, catch)]
    fn digests_js(
        body: &Uint8Array,
        sha256: bool,
        spec: &[u8],
        lens: &[u32],
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = concat)]
    fn concat_js(head: &[u8], body: &Uint8Array) -> Uint8Array;
    #[wasm_bindgen(js_name = objectPost, catch)]
    fn object_post_js(
        stub: &JsValue,
        url: &str,
        request_id: &str,
        body: &Uint8Array,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = originFetch, catch)]
    fn origin_fetch_js(
        url: &str,
        method: &str,
        lines: &str,
        body: Option<Uint8Array>,
        signal: &web_sys::AbortSignal,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = answerHead, catch)]
    fn answer_head_js(response: &web_sys::Response, names: &str) -> Result<String, JsValue>;
}

/// A request's method, URL and headers, read in one call.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The method, as received.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Every header (names lowercased by the runtime; repeated names combined).
    pub headers: syncgate::Headers,
}

impl RequestHead {
    /// Reads `req`'s head.
    ///
    /// # Errors
    /// When the runtime cannot read the request's headers.
    pub fn read(req: &worker::Request) -> worker::Result<Self> {
        let text = request_head(req.inner()).map_err(worker::Error::from)?;
        Ok(Self::parse(&text))
    }

    /// Splits the text [`RequestHead::read`] gets: the method, the URL, then `name:value` lines.
    fn parse(text: &str) -> Self {
        let mut lines = text.split('\n');
        let method = lines.next().unwrap_or_default().to_string();
        let url = lines.next().unwrap_or_default().to_string();
        let mut headers = syncgate::Headers::new();
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                headers.append(name, value);
            }
        }
        Self {
            method,
            url,
            headers,
        }
    }

    /// The declared `Content-Length`, when there is a valid one.
    #[must_use]
    pub fn content_length(&self) -> Option<usize> {
        self.headers.get("content-length")?.parse().ok()
    }

    /// A header's value.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// Reads a request body of at most `limit` bytes as JavaScript bytes; `Ok(None)` means too
/// large. `declared` is the request's `Content-Length`: a body declared within the limit is read
/// in one call (and its length checked again); one without (chunked) is read chunk by chunk and
/// reading stops as soon as it is larger, so it is never buffered past the limit.
///
/// # Errors
/// When the body stream fails.
pub async fn read_body(
    req: &mut worker::Request,
    declared: Option<usize>,
    limit: usize,
) -> worker::Result<Option<Uint8Array>> {
    match declared {
        Some(len) if len > limit => Ok(None),
        Some(0) => Ok(Some(Uint8Array::new_with_length(0))),
        Some(_) => {
            let body = body_bytes(req).await?;
            Ok((usize::try_from(body.length()).unwrap_or(usize::MAX) <= limit).then_some(body))
        }
        None => Ok(crate::http::read_chunks_capped(req, limit)
            .await?
            .map(|body| Uint8Array::from(body.as_slice()))),
    }
}

/// A request's whole body as JavaScript bytes (no copy into wasm).
///
/// # Errors
/// When the body cannot be read.
pub async fn body_bytes(req: &worker::Request) -> worker::Result<Uint8Array> {
    let buffer = JsFuture::from(req.inner().array_buffer()?).await?;
    Ok(Uint8Array::new(&buffer))
}

/// What `pending` asks the host to compute over `body`, by WebCrypto; `None` when the runtime
/// has no WebCrypto or a call fails (the caller then computes it in wasm).
pub async fn digests(
    body: &Uint8Array,
    pending: &Pending,
    keys: &[SigningKey],
) -> Option<HostDigests> {
    let macs = pending.macs();
    let mut spec = Vec::new();
    let mut lens = Vec::with_capacity(3 * macs.len());
    for mac in macs {
        let secret = keys.get(mac.key)?.secret.expose_bytes();
        spec.extend_from_slice(secret);
        spec.extend_from_slice(mac.prefix.as_bytes());
        lens.extend([
            u32::try_from(secret.len()).ok()?,
            u32::try_from(mac.prefix.len()).ok()?,
            u32::from(mac.body),
        ]);
    }
    let promise = digests_js(body, pending.body_sha256(), &spec, &lens).ok()?;
    let all = Uint8Array::new(&JsFuture::from(promise).await.ok()?).to_vec();
    let mut tags = all
        .chunks_exact(SHA256_LEN)
        .map(|tag| <[u8; SHA256_LEN]>::try_from(tag).ok());
    let body_sha256 = if pending.body_sha256() {
        Some(tags.next()??)
    } else {
        None
    };
    let macs: Option<Vec<_>> = tags.collect();
    let macs = macs?;
    (macs.len() == pending.macs().len()).then_some(HostDigests { body_sha256, macs })
}

/// `head` followed by `body`, as one JavaScript byte array.
#[must_use]
pub fn concat(head: &[u8], body: &Uint8Array) -> Uint8Array {
    concat_js(head, body)
}

/// `pairs` as `name:value` lines, the form `headersFrom` (in the helper) reads. A name or value
/// holding a line break (or a name holding `:`) is refused: no header can hold one.
fn header_lines(pairs: &[(String, String)]) -> worker::Result<String> {
    let mut lines = String::with_capacity(pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (name, value) in pairs {
        if name.contains([':', '\n', '\r']) || value.contains(['\n', '\r']) {
            return Err(worker::Error::RustError(
                "a header cannot hold a line break".into(),
            ));
        }
        if !lines.is_empty() {
            lines.push('\n');
        }
        lines.push_str(name);
        lines.push(':');
        lines.push_str(value);
    }
    Ok(lines)
}

/// Posts `body` to a Durable Object at `url` (its internal interface) with `X-Request-Id`, in
/// one call, and answers its response as the runtime gave it: passed on untouched, it is not
/// rebuilt around a new stream (which `worker::Response` would do).
///
/// # Errors
/// When the object cannot be reached.
pub async fn object_post(
    stub: worker::Stub,
    url: &str,
    request_id: &str,
    body: &Uint8Array,
) -> worker::Result<web_sys::Response> {
    let stub: JsValue = stub.into_rpc();
    let answer = JsFuture::from(object_post_js(&stub, url, request_id, body)?).await?;
    Ok(answer.unchecked_into())
}

/// Fetches `url` with `method`, the headers `pairs`, `body` and `signal`, in one call: no
/// `Request` or `RequestInit` is built in wasm. The response as the runtime gave it.
///
/// # Errors
/// When a header holds a line break, or the fetch fails (network error, abort, a URL the
/// runtime refuses).
pub async fn origin_fetch(
    url: &str,
    method: &str,
    pairs: &[(String, String)],
    body: Option<Uint8Array>,
    signal: &web_sys::AbortSignal,
) -> worker::Result<web_sys::Response> {
    let lines = header_lines(pairs)?;
    let answer = JsFuture::from(origin_fetch_js(url, method, &lines, body, signal)?).await?;
    Ok(answer.unchecked_into())
}

/// A response's status and those of the headers `names` (comma-separated, lowercase) it has,
/// read in one call.
///
/// # Errors
/// When the runtime cannot read the response's headers.
pub fn answer_head(
    response: &web_sys::Response,
    names: &str,
) -> worker::Result<(u16, Vec<(String, String)>)> {
    let text = answer_head_js(response, names)?;
    let mut lines = text.split('\n');
    let status = lines
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    Ok((status, headers))
}

/// A response's whole body, copied into wasm.
///
/// # Errors
/// When the body cannot be read.
pub async fn answer_body(response: &web_sys::Response) -> worker::Result<Vec<u8>> {
    let buffer = JsFuture::from(response.array_buffer()?).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_head_splits_into_method_url_and_headers() {
        let head = RequestHead::parse(
            "POST\nhttp://127.0.0.1/v1/acme-eu1/sync?x=1\ncontent-type:application/json\nwebhook-id:msg:1\ncontent-length:12",
        );
        assert_eq!(head.method, "POST");
        assert_eq!(head.url, "http://127.0.0.1/v1/acme-eu1/sync?x=1");
        assert_eq!(head.get("content-type"), Some("application/json"));
        // Only the first colon separates: a value may hold more.
        assert_eq!(head.get("webhook-id"), Some("msg:1"));
        assert_eq!(head.content_length(), Some(12));
        assert_eq!(head.get("signature"), None);
    }

    #[test]
    fn a_head_without_headers_or_with_a_bad_length_reads_as_none() {
        let head = RequestHead::parse("GET\nhttp://x/");
        assert_eq!(head.content_length(), None);
        let head = RequestHead::parse("GET\nhttp://x/\ncontent-length:abc");
        assert_eq!(head.content_length(), None);
    }
}
