//! The compiled verifier across the JS boundary: the class behind `createVerifier`.
//!
//! Only conversion happens here. The request arrives flat — method, URL, the header fields as
//! one string (`name\0value\0…`, built by the JS glue) and the body as a string or bytes — and
//! every answer leaves as one JSON string that the glue hands to `JSON.parse`, so a verdict
//! crosses once however large its payload. Requests the glue cannot flatten (Fetch `Headers`,
//! `Map`s, Proxies, getters that throw) go through [`super::read_request`] unchanged.
//!
//! The two-phase seam of [`crate::Verifier`] is exposed as `prepare` / `finish*`: `prepare`
//! answers the hashing plan, the host (Node's `crypto`, WebCrypto) computes it, and `finish*`
//! decides. Pending verifications are kept here under a numeric id until finished or cancelled,
//! so asynchronous hosts may interleave them.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use js_sys::{Array, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{json_answer, json_failure, read_now, read_policy, read_request};
use crate::error::Rejection;
use crate::request::{Headers, HttpRequest};
use crate::signature::Scheme;
use crate::signature::crypto::{RustCrypto, SHA256_LEN, hex};
use crate::signature::keys::KeyStatus;
use crate::verifier::{Depth, HostDigests, Pending, SignatureVerdict, Verifier};

/// At most this many verifications wait between `prepare` and `finish` on one verifier; older
/// ones are dropped (a host that never finishes cannot grow memory without bound).
const MAX_PENDING: usize = 1024;

/// Removes the verification prepared under `id`. The queue is in preparation order, oldest first
/// (what `MAX_PENDING` drops), and a synchronous host finishes the newest: search from the back.
fn take_pending(waiting: &mut VecDeque<(u32, Pending)>, id: u32) -> Option<Pending> {
    let at = waiting.iter().rposition(|(pending, _)| *pending == id)?;
    waiting.remove(at).map(|(_, pending)| pending)
}

/// The answer of `verifySignature`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignatureAnswer<'a> {
    tenant: &'a str,
    scheme: Scheme,
    key_id: &'a str,
    key_version: u32,
    key_status: KeyStatus,
    nonce: String,
    timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_hash: Option<String>,
}

fn signature_answer<'a>(tenant: &'a str, v: SignatureVerdict<'a>) -> SignatureAnswer<'a> {
    SignatureAnswer {
        tenant,
        scheme: v.scheme,
        key_id: &v.key.kid,
        key_version: v.key.version,
        key_status: v.key.status,
        nonce: v.nonce,
        timestamp: v.timestamp,
        payload_hash: v.body_sha256.map(|h| hex(&h)),
    }
}

/// The header fields of a flat `name\0value\0…` string.
fn flat_headers(flat: &str) -> Headers {
    let mut headers = Headers::new();
    let mut parts = flat.split('\0');
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        headers.append(name, value);
    }
    headers
}

/// The request head (no body) from its flat parts.
fn head(method: &str, url: &str, headers: &str) -> Result<HttpRequest, Rejection> {
    HttpRequest::new(method, url, flat_headers(headers), Vec::new())
}

/// Saturating seconds from a finite number the glue checked (fractions dropped).
fn seconds(now: f64) -> i64 {
    if now.is_finite() {
        now.floor() as i64
    } else {
        0
    }
}

const fn depth(full: bool) -> Depth {
    if full { Depth::Full } else { Depth::Signature }
}

/// 32-byte chunks of `bytes` (a trailing partial chunk is dropped).
fn tags(bytes: &[u8]) -> Vec<[u8; SHA256_LEN]> {
    bytes
        .chunks_exact(SHA256_LEN)
        .filter_map(|c| <[u8; SHA256_LEN]>::try_from(c).ok())
        .collect()
}

/// A tenant policy compiled once; see the module docs.
#[wasm_bindgen(js_name = "CompiledVerifier")]
pub struct CompiledVerifier {
    verifier: Result<Verifier, Rejection>,
    pending: RefCell<VecDeque<(u32, Pending)>>,
    next_id: Cell<u32>,
}

#[wasm_bindgen(js_class = "CompiledVerifier")]
impl CompiledVerifier {
    /// Compiles a policy (an object, JSON text or UTF-8 bytes). A bad policy is kept as its
    /// failure, answered by every call.
    #[wasm_bindgen(constructor)]
    #[must_use]
    pub fn new(policy: JsValue) -> Self {
        Self {
            verifier: read_policy(&policy).map(|p| Verifier::new(&p)),
            pending: RefCell::new(VecDeque::new()),
            next_id: Cell::new(0),
        }
    }

    /// The policy's failure as JSON, or `undefined` when it compiled.
    #[wasm_bindgen(js_name = "policyFailure")]
    #[must_use]
    pub fn policy_failure(&self) -> Option<String> {
        self.verifier.as_ref().err().map(json_failure)
    }

    /// The decoded key bytes, in ring order, for a host that builds its own key objects.
    #[wasm_bindgen(js_name = "keySecrets")]
    #[must_use]
    pub fn key_secrets(&self) -> Array {
        let keys = self.verifier.as_ref().map(Verifier::keys).unwrap_or(&[]);
        keys.iter()
            .map(|k| Uint8Array::from(k.secret.expose_bytes()))
            .collect()
    }

    fn run(&self, request: &HttpRequest, now: i64, full: bool) -> String {
        let verifier = match &self.verifier {
            Ok(v) => v,
            Err(e) => return json_failure(e),
        };
        if full {
            json_answer(verifier.verify_with(request, now, &RustCrypto))
        } else {
            json_answer(
                verifier
                    .verify_signature(request, now)
                    .map(|v| signature_answer(&verifier.policy().tenant, v)),
            )
        }
    }

    /// Verifies a flat request with a string body, hashing in Rust.
    #[wasm_bindgen(js_name = "verifyText")]
    #[must_use]
    pub fn verify_text(
        &self,
        method: &str,
        url: &str,
        headers: &str,
        body: &str,
        now: f64,
        full: bool,
    ) -> String {
        self.verify_bytes(method, url, headers, body.as_bytes(), now, full)
    }

    /// Verifies a flat request with a byte body, hashing in Rust.
    #[wasm_bindgen(js_name = "verifyBytes")]
    #[must_use]
    pub fn verify_bytes(
        &self,
        method: &str,
        url: &str,
        headers: &str,
        body: &[u8],
        now: f64,
        full: bool,
    ) -> String {
        if let Err(e) = &self.verifier {
            return json_failure(e);
        }
        match HttpRequest::new(method, url, flat_headers(headers), body) {
            Ok(request) => self.run(&request, seconds(now), full),
            Err(e) => json_failure(&e),
        }
    }

    /// Verifies a request object of any shape (read by hand, as `verifyRequest` always did),
    /// with `nowSeconds` as given, hashing in Rust.
    #[wasm_bindgen(js_name = "verifyValue")]
    #[must_use]
    pub fn verify_value(&self, request: JsValue, now: JsValue, full: bool) -> String {
        let now = match read_now(&now) {
            Ok(now) => now,
            Err(e) => return json_failure(&e),
        };
        if let Err(e) = &self.verifier {
            return json_failure(e);
        }
        match read_request(&request) {
            Ok(request) => self.run(&request, now, full),
            Err(e) => json_failure(&e),
        }
    }

    /// Phase one on a flat head: the failure as JSON, or the hashing plan as a JSON array
    /// `[id, sha256, key, prefix, body, key, prefix, body, …]` (`sha256` and `body` are 0 or 1).
    #[must_use]
    pub fn prepare(
        &self,
        method: &str,
        url: &str,
        headers: &str,
        body_len: f64,
        now: f64,
        full: bool,
    ) -> String {
        let verifier = match &self.verifier {
            Ok(v) => v,
            Err(e) => return json_failure(e),
        };
        // A length the glue measured; never negative or fractional.
        let body_len = if body_len.is_finite() && body_len >= 0.0 {
            body_len as usize
        } else {
            usize::MAX
        };
        let pending = match head(method, url, headers)
            .and_then(|h| verifier.prepare(&h, body_len, seconds(now), depth(full)))
        {
            Ok(p) => p,
            Err(e) => return json_failure(&e),
        };
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        let mut plan = format!("[{id},{}", u8::from(pending.body_sha256()));
        for mac in pending.macs() {
            let prefix = serde_json::to_string(&mac.prefix).unwrap_or_default();
            plan.push_str(&format!(",{},{prefix},{}", mac.key, u8::from(mac.body)));
        }
        plan.push(']');
        if let Ok(mut waiting) = self.pending.try_borrow_mut() {
            while waiting.len() >= MAX_PENDING {
                waiting.pop_front();
            }
            waiting.push_back((id, pending));
        }
        plan
    }

    fn take(&self, id: u32) -> Result<(&Verifier, Pending), Rejection> {
        let verifier = self.verifier.as_ref().map_err(Clone::clone)?;
        let pending = self
            .pending
            .try_borrow_mut()
            .ok()
            .and_then(|mut waiting| take_pending(&mut waiting, id))
            .ok_or_else(|| Rejection::invalid_field("request", "was not prepared"))?;
        Ok((verifier, pending))
    }

    /// Phase two of `verifySignature`: the body's SHA-256 (empty when not asked for) and the
    /// tags, concatenated, in plan order.
    #[wasm_bindgen(js_name = "finishSignature")]
    #[must_use]
    pub fn finish_signature(&self, id: u32, sha256: &[u8], macs: &[u8]) -> String {
        json_answer(self.take(id).and_then(|(verifier, pending)| {
            let digests = HostDigests {
                body_sha256: <[u8; SHA256_LEN]>::try_from(sha256).ok(),
                macs: tags(macs),
            };
            verifier
                .finish_signature(pending, &digests)
                .map(|v| signature_answer(&verifier.policy().tenant, v))
        }))
    }

    /// Phase two of `verify` with a byte body.
    #[wasm_bindgen(js_name = "finishBytes")]
    #[must_use]
    pub fn finish_bytes(&self, id: u32, sha256: &[u8], macs: &[u8], body: &[u8]) -> String {
        json_answer(self.take(id).and_then(|(verifier, pending)| {
            let digests = HostDigests {
                body_sha256: <[u8; SHA256_LEN]>::try_from(sha256).ok(),
                macs: tags(macs),
            };
            verifier.finish(pending, &digests, body)
        }))
    }

    /// Phase two of `verify` with a string body (its UTF-8 bytes).
    #[wasm_bindgen(js_name = "finishText")]
    #[must_use]
    pub fn finish_text(&self, id: u32, sha256: &[u8], macs: &[u8], body: &str) -> String {
        self.finish_bytes(id, sha256, macs, body.as_bytes())
    }

    /// Drops a prepared verification the host will not finish.
    pub fn cancel(&self, id: u32) {
        if let Ok(mut waiting) = self.pending.try_borrow_mut() {
            take_pending(&mut waiting, id);
        }
    }
}
