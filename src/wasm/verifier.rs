//! The compiled verifier across the JS boundary: the class behind `createVerifier`.
//!
//! Only conversion happens here. The request arrives flat — method, URL, the header fields as
//! one string (`name\0value\0…`, built by the JS glue) and the body as a string or bytes — and
//! every answer leaves once: as one JSON string that the glue hands to `JSON.parse`, or, on the
//! paths below that hash in the host, laid out in the wasm memory for the glue to read, without
//! the payload. Requests the glue cannot flatten (Fetch `Headers`,
//! `Map`s, Proxies, getters that throw) go through [`super::read_request`] unchanged.
//!
//! The two-phase seam of [`crate::Verifier`] is exposed twice:
//!
//! - For a synchronous host (Node's `crypto`, workerd's `nodejs_compat`) — the hot path — as
//!   `begin` / `endSignature` / `endFull`, which answer 0 (failed: the failure is one JSON
//!   string, `failure`) or the address in the wasm memory (`memory`) of their answer, laid out
//!   in the verifier's exchange buffer as little-endian numbers and UTF-8 text (see each).
//!   The glue reads it with a `DataView`, hands each MAC prefix to the host as a view on the
//!   memory, and writes the host's digests back in place, so a verification is three calls
//!   with no string or array crossing but the head and (for `verify`) the body. One
//!   verification is in flight at a time (the glue finishes it before anything else can run),
//!   so nothing is queued, and the parsed payload is not serialised at all: the glue
//!   materialises it from the body it verified, in the shape
//!   [`crate::document::payload::SyncPayload`] serialises to, when (if) it is read. Tenant, key
//!   and scheme names are read once per verifier (`describe`).
//! - For an asynchronous host (WebCrypto) as `prepare` / `finishSignature` / `finishFull`:
//!   `prepare` answers the hashing plan as JSON, the host computes it, and the finish decides.
//!   Pending verifications are kept here under a numeric id until finished or cancelled, so
//!   asynchronous hosts may interleave them. `finishFull` answers as `endFull` does, in the
//!   exchange and without the payload (the glue reads the answer before it calls in again and
//!   builds the payload from the body when it is read); `finishSignature`'s small verdict is
//!   JSON.

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
use crate::signature::keys::{KeyStatus, SigningKey};
use crate::verifier::{Depth, HostDigests, Pending, SignatureVerdict, Verifier};
use crate::verify::Verdict;

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

/// What the glue reads once per verifier: the tenant, the key ring's names and the schemes' wire
/// names, so a verdict need only carry indices into them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Description<'a> {
    tenant: &'a str,
    keys: Vec<KeyDescription<'a>>,
    /// Indexed by the scheme bit of `endSignature` / `endFull` / `finishFull` (0 RFC 9421, 1
    /// Standard Webhooks).
    schemes: [&'static str; 2],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyDescription<'a> {
    key_id: &'a str,
    key_version: u32,
    key_status: KeyStatus,
}

/// The scheme bit of a synchronous answer.
const fn scheme_bit(scheme: Scheme) -> u32 {
    match scheme {
        Scheme::Rfc9421 => 0,
        Scheme::StandardWebhooks => 1,
    }
}

/// The verification in flight on the synchronous path, and what the last step that answers in
/// memory (`begin`, `end*`, `finishFull`) left to read.
#[derive(Default)]
struct Slot {
    pending: Option<Pending>,
    failure: Option<Rejection>,
    /// The last answer of `begin` / `end*` / `finishFull` (its capacity is kept from one call to
    /// the next).
    exchange: Vec<u8>,
}

/// Appends `value` little-endian.
fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends `value` little-endian.
fn put_f64(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends `text`'s length in bytes, then its UTF-8.
fn put_text(out: &mut Vec<u8>, text: &str) {
    put_u32(out, u32::try_from(text.len()).unwrap_or(0));
    out.extend_from_slice(text.as_bytes());
}

/// The address of `bytes` in the wasm memory; 0 (the glue's "failed") when it does not fit in
/// 32 bits, which never happens in wasm32.
fn address(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.as_ptr().addr()).unwrap_or(FAILED)
}

/// Where the host's digests sit in `begin`'s answer: after the plan word.
const DIGESTS_AT: usize = 4;

/// A synchronous answer meaning "failed": the glue reads `failure()`.
const FAILED: u32 = 0;

/// The position of `key` in `keys` (by identity: the verdict borrows it from the ring).
fn key_index(keys: &[SigningKey], key: &SigningKey) -> u32 {
    keys.iter()
        .position(|k| core::ptr::eq(k, key))
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(u32::MAX >> 3)
}

/// The host's digests from one buffer: the body's SHA-256 first when the plan asked for it,
/// then the tags in plan order.
fn split_digests(pending: &Pending, digests: &[u8]) -> HostDigests {
    let (sha, macs) = if pending.body_sha256() {
        digests
            .split_at_checked(SHA256_LEN)
            .unwrap_or((&[], digests))
    } else {
        (&[][..], digests)
    };
    host_digests(sha, macs)
}

/// The host's digests from the body's SHA-256 (any other length: none) and the tags,
/// concatenated in plan order.
fn host_digests(sha256: &[u8], macs: &[u8]) -> HostDigests {
    HostDigests {
        body_sha256: <[u8; SHA256_LEN]>::try_from(sha256).ok(),
        macs: tags(macs),
    }
}

/// Method, URL and the flat header fields from one `method\0url\0name\0value\0…` string.
fn split_head(head: &str) -> (&str, &str, &str) {
    let mut parts = head.splitn(3, '\0');
    let method = parts.next().unwrap_or_default();
    let url = parts.next().unwrap_or_default();
    (method, url, parts.next().unwrap_or_default())
}

/// Seconds as the glue reads them (JSON would give the same number for any `i64`).
#[allow(clippy::cast_precision_loss)]
const fn as_number(value: i64) -> f64 {
    value as f64
}

/// A tenant policy compiled once; see the module docs.
#[wasm_bindgen(js_name = "CompiledVerifier")]
pub struct CompiledVerifier {
    verifier: Result<Verifier, Rejection>,
    pending: RefCell<VecDeque<(u32, Pending)>>,
    next_id: Cell<u32>,
    slot: RefCell<Slot>,
    /// The head `begin` reads, written there by the glue (`headBuffer`).
    head: RefCell<Vec<u8>>,
}

/// A head buffer larger than this is let go once read, so one large head does not stay
/// allocated for the verifier's life.
const KEEP_HEAD_BYTES: usize = 64 * 1024;

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
            slot: RefCell::new(Slot::default()),
            head: RefCell::new(Vec::new()),
        }
    }

    /// `{ tenant, keys: [{ keyId, keyVersion, keyStatus }], schemes }` as JSON, or `undefined`
    /// when the policy did not compile.
    #[must_use]
    pub fn describe(&self) -> Option<String> {
        let verifier = self.verifier.as_ref().ok()?;
        serde_json::to_string(&Description {
            tenant: &verifier.policy().tenant,
            keys: verifier
                .keys()
                .iter()
                .map(|k| KeyDescription {
                    key_id: &k.kid,
                    key_version: k.version,
                    key_status: k.status,
                })
                .collect(),
            schemes: [Scheme::Rfc9421.as_str(), Scheme::StandardWebhooks.as_str()],
        })
        .ok()
    }

    fn fail(&self, rejection: Rejection) -> u32 {
        if let Ok(mut slot) = self.slot.try_borrow_mut() {
            slot.pending = None;
            slot.failure = Some(rejection);
        }
        FAILED
    }

    /// A buffer of `len` bytes in the wasm memory for the head `begin` reads next; answers its
    /// address (0 when it is in use, which the glue never does). The glue encodes the head
    /// into it with `TextEncoder.encodeInto`, as wasm-bindgen would pass a string, without a
    /// per-call allocation or its per-character copy loop.
    #[wasm_bindgen(js_name = "headBuffer")]
    #[must_use]
    pub fn head_buffer(&self, len: u32) -> u32 {
        let Ok(mut head) = self.head.try_borrow_mut() else {
            return FAILED;
        };
        head.clear();
        head.resize(len as usize, 0);
        address(&head)
    }

    /// Phase one on the synchronous path, on the head's first `head_len` bytes in the head
    /// buffer (`headBuffer`): UTF-8 `method\0url\0` and the flat header fields. Answers 0
    /// when it failed (read `failure()`), else the address of:
    ///
    /// - the plan, `u32` `1 | sha256 << 1 | macs << 2`;
    /// - room for the host's digests, 32 bytes each: the body's SHA-256 when the plan asks for
    ///   it, then one tag per MAC, in plan order (the glue writes them there; zero until then);
    /// - per MAC, in plan order: `u32` its key's index in the ring `<< 1`, `| 1` when the body
    ///   follows the prefix; `u32` the prefix's length in bytes; the prefix.
    #[must_use]
    pub fn begin(&self, head_len: u32, body_len: f64, now: f64, full: bool) -> u32 {
        let verifier = match &self.verifier {
            Ok(v) => v,
            Err(e) => return self.fail(e.clone()),
        };
        let body_len = if body_len.is_finite() && body_len >= 0.0 {
            body_len as usize
        } else {
            usize::MAX
        };
        let prepared = {
            let Ok(mut buffer) = self.head.try_borrow_mut() else {
                return self.fail(Rejection::InternalError);
            };
            // encodeInto writes UTF-8, so this never fails; a host bug if it does.
            let prepared = buffer
                .get(..head_len as usize)
                .and_then(|bytes| core::str::from_utf8(bytes).ok())
                .ok_or(Rejection::InternalError)
                .and_then(|text| {
                    let (method, url, headers) = split_head(text);
                    head(method, url, headers)
                })
                .and_then(|h| verifier.prepare(&h, body_len, seconds(now), depth(full)));
            if buffer.capacity() > KEEP_HEAD_BYTES {
                *buffer = Vec::new();
            }
            prepared
        };
        let pending = match prepared {
            Ok(p) => p,
            Err(e) => return self.fail(e),
        };
        let Ok(mut slot) = self.slot.try_borrow_mut() else {
            return FAILED;
        };
        let macs = u32::try_from(pending.macs().len()).unwrap_or(u32::MAX >> 2);
        let word = 1 | u32::from(pending.body_sha256()) << 1 | macs.min(u32::MAX >> 2) << 2;
        let digests = SHA256_LEN * (usize::from(pending.body_sha256()) + pending.macs().len());
        let out = &mut slot.exchange;
        out.clear();
        put_u32(out, word);
        out.resize(DIGESTS_AT + digests, 0);
        for mac in pending.macs() {
            let key = u32::try_from(mac.key).unwrap_or(u32::MAX >> 1);
            put_u32(out, key << 1 | u32::from(mac.body));
            put_text(out, &mac.prefix);
        }
        let at = address(out);
        slot.pending = Some(pending);
        slot.failure = None;
        at
    }

    /// The verification `begin` left and the host's digests it holds, the slot left borrowed
    /// for the answer.
    fn take_slot(&self) -> Result<(&Verifier, Pending, HostDigests), Rejection> {
        let verifier = self.verifier.as_ref().map_err(Clone::clone)?;
        let mut slot = self
            .slot
            .try_borrow_mut()
            .map_err(|_| Rejection::InternalError)?;
        let pending = slot
            .pending
            .take()
            .ok_or_else(|| Rejection::invalid_field("request", "was not prepared"))?;
        let digests = split_digests(&pending, slot.exchange.get(DIGESTS_AT..).unwrap_or(&[]));
        Ok((verifier, pending, digests))
    }

    /// Phase two of `verifySignature` on the synchronous path, on the digests the host wrote
    /// into `begin`'s answer. Answers 0 when it failed, else the address of: `u32`
    /// `1 | payloadHash << 1 | scheme << 2 | key << 3`; `f64` the signature's timestamp; the
    /// text (`u32` length, UTF-8): the nonce, after `payloadHash` and `\n` when there is one.
    #[wasm_bindgen(js_name = "endSignature")]
    #[must_use]
    pub fn end_signature(&self) -> u32 {
        let decided = self.take_slot().and_then(|(verifier, pending, digests)| {
            let v = verifier.finish_signature(pending, &digests)?;
            Ok((key_index(verifier.keys(), v.key), v))
        });
        let (key, v) = match decided {
            Ok(decided) => decided,
            Err(e) => return self.fail(e),
        };
        let Ok(mut slot) = self.slot.try_borrow_mut() else {
            return FAILED;
        };
        let word =
            1 | u32::from(v.body_sha256.is_some()) << 1 | scheme_bit(v.scheme) << 2 | key << 3;
        let out = &mut slot.exchange;
        out.clear();
        put_u32(out, word);
        put_f64(out, as_number(v.timestamp));
        match v.body_sha256 {
            Some(sha) => put_text(out, &format!("{}\n{}", hex(&sha), v.nonce)),
            None => put_text(out, &v.nonce),
        }
        address(out)
    }

    /// Phase two of `verify` on the synchronous path (digests as for `endSignature`). Answers
    /// 0 when it failed, else the address of the verdict laid out as [`Self::answer_full`] says.
    /// The payload itself is not answered.
    #[wasm_bindgen(js_name = "endFull")]
    #[must_use]
    pub fn end_full(&self, body: &[u8]) -> u32 {
        let decided = self.take_slot().and_then(|(verifier, pending, digests)| {
            verifier.finish_keyed_without_payload(pending, &digests, body)
        });
        self.answer_full(decided)
    }

    /// Writes a `verify` verdict into the exchange and answers its address (0 with the failure
    /// kept for `failure()` when it was refused): `u32` `1 | scheme << 1 | key << 2`; `f64` the
    /// signature's timestamp, the payload's version and `replay.expiresAt`; the text (`u32`
    /// length, UTF-8): `payloadHash`, `replay.nonceKey`, `replay.payloadKey`, `payloadType`,
    /// the sections joined by `,` and the nonce, each ended by `\n` but the nonce (the last).
    fn answer_full(&self, decided: Result<(Verdict<()>, usize), Rejection>) -> u32 {
        let (v, key) = match decided {
            Ok((v, key)) => (v, u32::try_from(key).unwrap_or(u32::MAX >> 2)),
            Err(e) => return self.fail(e),
        };
        let Ok(mut slot) = self.slot.try_borrow_mut() else {
            return FAILED;
        };
        let out = &mut slot.exchange;
        out.clear();
        put_u32(out, 1 | scheme_bit(v.scheme) << 1 | key << 2);
        put_f64(out, as_number(v.timestamp));
        put_f64(out, v.payload_version as f64);
        put_f64(out, as_number(v.replay.expires_at));
        let text_at = out.len();
        put_u32(out, 0);
        for part in [
            v.payload_hash.as_str(),
            &v.replay.nonce_key,
            &v.replay.payload_key,
            v.payload_type.as_str(),
        ] {
            out.extend_from_slice(part.as_bytes());
            out.push(b'\n');
        }
        for (i, section) in v.sections.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(section.as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(v.nonce.as_bytes());
        let len = u32::try_from(out.len() - text_at - 4).unwrap_or(0);
        if let Some(field) = out.get_mut(text_at..text_at + 4) {
            field.copy_from_slice(&len.to_le_bytes());
        }
        address(out)
    }

    /// The wasm instance's memory, where `begin` / `end*` / `finishFull` leave their answers.
    #[must_use]
    pub fn memory(&self) -> JsValue {
        wasm_bindgen::memory()
    }

    /// The failure of the last step that answered 0 (`begin`, `end*`, `finishFull`), as JSON.
    #[must_use]
    pub fn failure(&self) -> String {
        let failure = self
            .slot
            .try_borrow_mut()
            .ok()
            .and_then(|mut slot| slot.failure.take());
        json_failure(&failure.unwrap_or(Rejection::InternalError))
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
            let digests = host_digests(sha256, macs);
            verifier
                .finish_signature(pending, &digests)
                .map(|v| signature_answer(&verifier.policy().tenant, v))
        }))
    }

    /// Phase two of `verify` on the asynchronous path: the body's SHA-256 (the plan of a full
    /// check always asks for it; without it the answer is `internal_error`), the tags,
    /// concatenated, in plan order, and the body's bytes. Answers like
    /// `endFull` (0 when it failed, else the address of the verdict in the exchange, which the
    /// glue reads before it calls into the module again); the payload is not answered.
    #[wasm_bindgen(js_name = "finishFull")]
    #[must_use]
    pub fn finish_full(&self, id: u32, sha256: &[u8], macs: &[u8], body: &[u8]) -> u32 {
        let decided = self.take(id).and_then(|(verifier, pending)| {
            let digests = host_digests(sha256, macs);
            verifier.finish_keyed_without_payload(pending, &digests, body)
        });
        self.answer_full(decided)
    }

    /// Drops a prepared verification the host will not finish.
    pub fn cancel(&self, id: u32) {
        if let Ok(mut waiting) = self.pending.try_borrow_mut() {
            take_pending(&mut waiting, id);
        }
    }
}
