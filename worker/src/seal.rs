//! Sealing signing secrets before they reach KV.
//!
//! KV is readable by anyone with account access and replicated worldwide, so a tenant's `whsec_`
//! secrets are stored only as AES-256-GCM ciphertext under `SEALING_KEY`, a Worker secret (32
//! bytes, base64). The associated data binds each ciphertext to its instance and key id, so a
//! sealed secret copied into another slot does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use worker::{Env, Error, Result};

const NONCE_LEN: usize = 12;

/// A cipher keyed by the Worker's `SEALING_KEY`.
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    /// Reads `SEALING_KEY` from the environment.
    ///
    /// # Errors
    /// When the secret is missing or not 32 bytes of base64.
    pub fn from_env(env: &Env) -> Result<Self> {
        let key = env.secret("SEALING_KEY")?.to_string();
        Self::new(&key)
    }

    /// A sealer for a base64 32-byte key.
    ///
    /// # Errors
    /// When the key is not 32 bytes of base64.
    pub fn new(key_base64: &str) -> Result<Self> {
        let key = STANDARD
            .decode(key_base64.trim())
            .map_err(|_| Error::RustError("SEALING_KEY must be base64".into()))?;
        let cipher = Aes256Gcm::new_from_slice(&key)
            .map_err(|_| Error::RustError("SEALING_KEY must decode to 32 bytes".into()))?;
        Ok(Self { cipher })
    }

    /// Seals `plaintext` for the slot named by `context` (instance and key id).
    ///
    /// A fresh random nonce is drawn for every sealing; when the platform cannot supply
    /// randomness, sealing is refused (a fixed or zero nonce would repeat under one key, which
    /// breaks AES-GCM's confidentiality and integrity).
    ///
    /// # Errors
    /// When randomness or encryption fails.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String> {
        self.seal_with_nonce(crate::http::random_bytes(NONCE_LEN), plaintext, context)
    }

    /// [`Sealer::seal`] with the nonce drawn by the caller (`None`: randomness failed).
    fn seal_with_nonce(
        &self,
        nonce_bytes: Option<Vec<u8>>,
        plaintext: &[u8],
        context: &str,
    ) -> Result<String> {
        let nonce_bytes = nonce_bytes
            .ok_or_else(|| Error::RustError("no randomness for a sealing nonce".into()))?;
        let nonce = Nonce::try_from(nonce_bytes.as_slice())
            .map_err(|_| Error::RustError("nonce length".into()))?;
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| Error::RustError("sealing failed".into()))?;
        let mut out = nonce_bytes;
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// Opens a value sealed for `context`.
    ///
    /// # Errors
    /// When the value is malformed, was sealed under another key, or for another slot.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>> {
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| Error::RustError("sealed secret is not base64".into()))?;
        let (nonce, ciphertext) = bytes
            .split_at_checked(NONCE_LEN)
            .ok_or_else(|| Error::RustError("sealed secret is too short".into()))?;
        let nonce = Nonce::try_from(nonce).map_err(|_| Error::RustError("nonce length".into()))?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| Error::RustError("sealed secret does not open".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn sealing_without_randomness_is_refused() {
        let sealer = Sealer::new(KEY).unwrap();
        assert!(sealer.seal_with_nonce(None, b"secret", "ctx").is_err());
    }

    #[test]
    fn sealed_values_open_only_in_their_slot() {
        let sealer = Sealer::new(KEY).unwrap();
        let sealed = sealer
            .seal_with_nonce(Some(vec![7; NONCE_LEN]), b"secret", "syncgate/a/k1")
            .unwrap();
        assert_eq!(sealer.open(&sealed, "syncgate/a/k1").unwrap(), b"secret");
        assert!(sealer.open(&sealed, "syncgate/b/k1").is_err());
    }
}
