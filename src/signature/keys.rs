//! Signing secrets and the per-tenant key ring.
//!
//! A tenant signs with one of several key versions so secrets can rotate without downtime:
//! `active` keys sign and verify, `retiring` keys only verify (until an operator removes them
//! once the edge reports they are no longer used), `revoked` keys never verify. Secrets use the
//! Standard Webhooks format `whsec_<base64>`; the HMAC key is the decoded bytes.
//!
//! [`Secret`] never prints or serialises its bytes: `Debug` is redacted and there is no
//! `Serialize`, so a policy serialised for an answer or a log cannot leak one by accident.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize};

/// The prefix of a Standard Webhooks symmetric secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Shortest accepted secret, in decoded bytes (Standard Webhooks asks for 24 to 64).
pub const MIN_SECRET_BYTES: usize = 16;
/// Longest accepted secret, in decoded bytes.
pub const MAX_SECRET_BYTES: usize = 128;

/// HMAC key bytes. Redacted in `Debug`, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Parses a `whsec_<base64>` secret.
    ///
    /// # Errors
    /// A short reason (never echoing the input) when the prefix, the base64 or the length is wrong.
    pub fn from_whsec(text: &str) -> Result<Self, &'static str> {
        let encoded = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or("a secret must start with whsec_")?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| "a secret must be whsec_ followed by base64")?;
        Self::from_bytes(bytes)
    }

    /// Wraps raw key bytes.
    ///
    /// # Errors
    /// When the key is shorter than [`MIN_SECRET_BYTES`] or longer than [`MAX_SECRET_BYTES`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, &'static str> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err("a secret must decode to at least 16 bytes");
        }
        if bytes.len() > MAX_SECRET_BYTES {
            return Err("a secret must decode to at most 128 bytes");
        }
        Ok(Self(bytes))
    }

    /// The raw HMAC key. Named so every use is easy to find in review.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The `whsec_<base64>` text form. Named so every use is easy to find in review.
    #[must_use]
    pub fn expose_whsec(&self) -> String {
        let mut out = String::from(SECRET_PREFIX);
        STANDARD.encode_string(&self.0, &mut out);
        out
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_whsec(&text).map_err(serde::de::Error::custom)
    }
}

/// Where a key is in its life.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs and verifies.
    Active,
    /// Verifies only; kept while senders move to the new key.
    Retiring,
    /// Never verifies.
    Revoked,
}

impl KeyStatus {
    /// The wire name: `active`, `retiring` or `revoked`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retiring => "retiring",
            Self::Revoked => "revoked",
        }
    }

    /// Whether a signature made with a key in this state is accepted.
    #[must_use]
    pub const fn verifies(self) -> bool {
        matches!(self, Self::Active | Self::Retiring)
    }
}

/// One version of a tenant's signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningKey {
    /// Key id, sent as `keyid` in RFC 9421 signatures.
    pub kid: String,
    /// Monotonic key version, reported in verdicts.
    pub version: u32,
    /// Life-cycle state.
    pub status: KeyStatus,
    /// The HMAC secret. Never serialised.
    #[serde(skip_serializing)]
    pub secret: Secret,
}

/// A tenant's signing keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyRing(pub Vec<SigningKey>);

impl KeyRing {
    /// The key with this id, whatever its status.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.0.iter().find(|k| k.kid == kid)
    }

    /// Keys whose signatures are accepted, newest version first.
    pub fn usable(&self) -> impl Iterator<Item = &SigningKey> {
        // A ring holds a handful of keys: an insertion sort (stable: equal versions keep ring
        // order) is as fast here as `sort_by_key` and spares the wasm a driftsort instance.
        let mut keys: Vec<&SigningKey> = Vec::new();
        for key in self.0.iter().filter(|k| k.status.verifies()) {
            let at = keys.partition_point(|kept| kept.version >= key.version);
            keys.insert(at, key);
        }
        keys.into_iter()
    }

    /// The active key with the highest version: the one a sender should sign with.
    #[must_use]
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.0
            .iter()
            .filter(|k| k.status == KeyStatus::Active)
            .max_by_key(|k| k.version)
    }

    /// All key ids, in ring order (what the health route shows).
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|k| k.kid.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whsec_round_trips_and_debug_is_redacted() {
        let s = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(s.expose_whsec(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(format!("{s:?}"), "Secret(redacted)");
    }

    #[test]
    fn bad_secrets_are_refused_without_echo() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_!!!",
            "whsec_AAAA",
            "",
        ] {
            let err = Secret::from_whsec(bad).unwrap_err();
            assert!(!err.contains("MfKQ"));
        }
    }
}
