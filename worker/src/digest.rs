//! Body hashing without hashing twice, and on the host where that is cheaper.
//!
//! SHA-256 in WebAssembly runs at about 165 MB/s here (no SHA instructions); the runtime's own
//! `crypto.subtle.digest` is native code. The core's checks ask a [`Primitives`] for hashes, so
//! the edge hands it one that already knows the body's digest:
//! - the worker hashes a large sync body once with `crypto.subtle.digest` ([`host_sha256`]) and
//!   verifies with [`KnownDigest`] (the core's `Content-Digest` check and payload hash reuse it);
//! - the tenant's object signs the forward to the origin with the digest the worker computed
//!   (the reservation's payload hash), so the attestation's `Content-Digest` costs nothing.
//!
//! [`KnownDigest`] answers with the known digest only for input byte-for-byte equal to the body
//! it was computed for (a length check, then a comparison — far cheaper than hashing); anything
//! else is hashed as usual. A wrong digest could only make the origin refuse the forward
//! (`digest_mismatch`, answered `503 origin_unavailable`): the origin checks it again.

use js_sys::{Function, Promise, Reflect, Uint8Array};
use syncgate::{Primitives, RustCrypto, SHA256_LEN};
use wasm_bindgen::{JsCast, JsValue};

/// Bodies below this many bytes are hashed in wasm: the host call costs more than it saves.
pub const HOST_DIGEST_MIN_BYTES: usize = 4096;

/// [`RustCrypto`], except that the SHA-256 of `body` is `sha256`.
#[derive(Debug, Clone, Copy)]
pub struct KnownDigest<'a> {
    body: &'a [u8],
    sha256: [u8; SHA256_LEN],
}

impl<'a> KnownDigest<'a> {
    /// `sha256` as the digest of `body` (the caller computed it from these bytes).
    #[must_use]
    pub const fn new(body: &'a [u8], sha256: [u8; SHA256_LEN]) -> Self {
        Self { body, sha256 }
    }

    /// From the lowercase hex digest of `body`; `None` when `hex` is not 64 hex digits.
    #[must_use]
    pub fn from_hex(body: &'a [u8], hex: &str) -> Option<Self> {
        let hex = hex.as_bytes();
        if hex.len() != 2 * SHA256_LEN {
            return None;
        }
        let mut sha256 = [0u8; SHA256_LEN];
        for (byte, pair) in sha256.iter_mut().zip(hex.chunks_exact(2)) {
            let digit = |c: u8| char::from(c).to_digit(16);
            let (high, low) = match pair {
                [high, low] => (digit(*high)?, digit(*low)?),
                _ => return None,
            };
            *byte = u8::try_from(high * 16 + low).ok()?;
        }
        Some(Self { body, sha256 })
    }
}

impl Primitives for KnownDigest<'_> {
    fn sha256(&self, data: &[u8]) -> [u8; SHA256_LEN] {
        if data.len() == self.body.len() && data == self.body {
            self.sha256
        } else {
            RustCrypto.sha256(data)
        }
    }

    fn hmac_sha256(&self, key: &[u8], parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        RustCrypto.hmac_sha256(key, parts)
    }

    fn find_hmac_sha256(&self, key: &[u8], parts: &[&[u8]], tags: &[&[u8]]) -> Option<usize> {
        RustCrypto.find_hmac_sha256(key, parts, tags)
    }
}

/// SHA-256 of `data` by the runtime (`crypto.subtle.digest`); `None` when the runtime has no
/// WebCrypto or the call fails (the caller then hashes in wasm).
pub async fn host_sha256(data: &[u8]) -> Option<[u8; SHA256_LEN]> {
    let subtle = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .and_then(|crypto| Reflect::get(&crypto, &JsValue::from_str("subtle")))
        .ok()?;
    let digest: Function = Reflect::get(&subtle, &JsValue::from_str("digest"))
        .ok()?
        .dyn_into()
        .ok()?;
    let promise: Promise = digest
        .call2(
            &subtle,
            &JsValue::from_str("SHA-256"),
            &Uint8Array::from(data),
        )
        .ok()?
        .dyn_into()
        .ok()?;
    let buffer = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let bytes = Uint8Array::new(&buffer).to_vec();
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_digest_answers_only_for_its_body() {
        let body = b"{\"type\":\"branding\"}";
        let real = RustCrypto.sha256(body);
        let known = KnownDigest::from_hex(body, &syncgate::hex(&real)).unwrap();
        assert_eq!(known.sha256(body), real);
        // Equal bytes elsewhere in memory are the same body.
        let copy = body.to_vec();
        assert_eq!(known.sha256(copy.as_slice()), real);
        // Another input is hashed, not given the body's digest.
        assert_eq!(known.sha256(b"other"), RustCrypto.sha256(b"other"));
        let lying = KnownDigest::new(body, [7; SHA256_LEN]);
        assert_eq!(lying.sha256(b"other"), RustCrypto.sha256(b"other"));
        assert_eq!(lying.sha256(body), [7; SHA256_LEN]);
    }

    #[test]
    fn a_malformed_hex_digest_is_refused() {
        assert!(KnownDigest::from_hex(b"x", "ab").is_none());
        assert!(KnownDigest::from_hex(b"x", &"zz".repeat(32)).is_none());
        assert!(KnownDigest::from_hex(b"x", &"ab".repeat(32)).is_some());
    }
}
