//! Body hashing without hashing twice, and on the host where that is cheaper.
//!
//! SHA-256 and HMAC-SHA256 in WebAssembly run at about 165 MB/s here (no SHA instructions); the
//! runtime's own WebCrypto is native code. So:
//! - the worker verifies a body of [`HOST_DIGEST_MIN_BYTES`] or more through the core's
//!   two-phase seam, with the body's SHA-256 and the signature's HMAC tags computed by
//!   WebCrypto over the JavaScript bytes ([`crate::host::digests`]); a smaller body is verified
//!   in wasm in one pass (the host calls cost more than they save);
//! - the tenant's object signs the forward to the origin with the digest the worker computed
//!   (the reservation's payload hash), so the attestation's `Content-Digest` costs nothing and
//!   the body need not be in wasm at all ([`crate::origin::forward_bytes`]).
//!
//! [`KnownDigest`] answers with the known digest only for input byte-for-byte equal to the body
//! it was computed for (a length check, then a comparison — far cheaper than hashing); anything
//! else is hashed as usual. A wrong digest could only make the origin refuse the forward
//! (`digest_mismatch`, answered `503 origin_unavailable`): the origin checks it again.

use syncgate::{Primitives, RustCrypto, SHA256_LEN};

/// Bodies below this many bytes are hashed in wasm: the host calls cost more than they save.
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
}

/// A SHA-256 from its hex digits; `None` when `hex` is not 64 hex digits.
#[must_use]
pub fn from_hex(hex: &str) -> Option<[u8; SHA256_LEN]> {
    let mut sha256 = [0u8; SHA256_LEN];
    hex::decode_to_slice(hex, &mut sha256).ok()?;
    Some(sha256)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_digest_answers_only_for_its_body() {
        let body = b"{\"type\":\"branding\"}";
        let real = RustCrypto.sha256(body);
        let known = KnownDigest::new(body, from_hex(&syncgate::hex(&real)).unwrap());
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
        assert!(from_hex("ab").is_none());
        assert!(from_hex(&"zz".repeat(32)).is_none());
        assert!(from_hex(&"ab".repeat(32)).is_some());
    }
}
