//! Hash and MAC primitives behind one seam.
//!
//! Verification never calls `sha2` or `hmac` directly: it goes through [`Primitives`], so a host
//! with native crypto (Node's `crypto`, the Workers runtime's `crypto.subtle`) can take over the
//! passes over the body — the part whose cost grows with the request — without touching the
//! verification logic. [`RustCrypto`] is the default, pure Rust, and runs everywhere including
//! `wasm32-unknown-unknown`.
//!
//! Tags are only ever compared by the MAC implementation's constant-time verification
//! (`Mac::verify_slice` in [`RustCrypto`]); an implementation of [`Primitives`] must do the same.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Length of a SHA-256 digest and of an HMAC-SHA256 tag.
pub const SHA256_LEN: usize = 32;

/// The hash and MAC operations verification needs.
pub trait Primitives {
    /// SHA-256 of `data`.
    fn sha256(&self, data: &[u8]) -> [u8; SHA256_LEN];

    /// HMAC-SHA256 over the concatenation of `parts`.
    fn hmac_sha256(&self, key: &[u8], parts: &[&[u8]]) -> [u8; SHA256_LEN];

    /// Index of the first of `tags` that is a valid HMAC-SHA256 of the concatenation of `parts`,
    /// compared in constant time. The message is hashed once whatever the number of tags.
    /// Empty, truncated or over-long tags never match.
    fn find_hmac_sha256(&self, key: &[u8], parts: &[&[u8]], tags: &[&[u8]]) -> Option<usize>;

    /// Whether `tag` is a valid HMAC-SHA256 of the concatenation of `parts` (constant time).
    fn verify_hmac_sha256(&self, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
        self.find_hmac_sha256(key, parts, &[tag]).is_some()
    }
}

/// The pure-Rust implementation (RustCrypto `sha2` and `hmac`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

type HmacSha256 = Hmac<Sha256>;

fn keyed_mac(key: &[u8], parts: &[&[u8]]) -> Option<HmacSha256> {
    // HMAC accepts keys of any length, so this only fails if that ever changes.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).ok()?;
    for part in parts {
        mac.update(part);
    }
    Some(mac)
}

impl Primitives for RustCrypto {
    fn sha256(&self, data: &[u8]) -> [u8; SHA256_LEN] {
        Sha256::digest(data).into()
    }

    fn hmac_sha256(&self, key: &[u8], parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        keyed_mac(key, parts).map_or([0; SHA256_LEN], |mac| mac.finalize().into_bytes().into())
    }

    fn find_hmac_sha256(&self, key: &[u8], parts: &[&[u8]], tags: &[&[u8]]) -> Option<usize> {
        let mac = keyed_mac(key, parts)?;
        tags.iter()
            .position(|tag| mac.clone().verify_slice(tag).is_ok())
    }
}

/// Lowercase hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digit = |nibble: u8| DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
    let out: Vec<u8> = bytes
        .iter()
        .flat_map(|&b| [digit(b >> 4), digit(b & 0x0f)])
        .collect();
    // Hex digits are ASCII, so this never falls back.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_known_answer_github() {
        // GitHub's published example (also in tests/vectors/public.json).
        let tag = RustCrypto.hmac_sha256(b"It's a Secret to Everybody", &[b"Hello, World!"]);
        assert_eq!(
            hex(&tag),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn empty_truncated_and_long_tags_never_verify() {
        let key = b"0123456789abcdef";
        let tag = RustCrypto.hmac_sha256(key, &[b"a", b"b"]);
        assert!(RustCrypto.verify_hmac_sha256(key, &[b"ab"], &tag));
        assert!(!RustCrypto.verify_hmac_sha256(key, &[b"ab"], &[]));
        assert!(!RustCrypto.verify_hmac_sha256(key, &[b"ab"], &tag[..31]));
        assert!(!RustCrypto.verify_hmac_sha256(key, &[b"ab"], &tag[..1]));
        let mut long = tag.to_vec();
        long.push(0);
        assert!(!RustCrypto.verify_hmac_sha256(key, &[b"ab"], &long));
        assert_eq!(
            RustCrypto.find_hmac_sha256(key, &[b"ab"], &[&[], &tag[..16], &tag]),
            Some(2)
        );
    }
}
