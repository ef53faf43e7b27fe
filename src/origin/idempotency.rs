//! What makes a retry safe between edge and origin: the `Idempotency-Key` rule and the answer
//! an applied sync gets (and every retry of it gets again).
//!
//! A sync is keyed by the SHA-256 of its body ([`sync_key`]), so the same signed bytes — a
//! sender's retry, or the edge taking over an abandoned reservation — are applied at most once
//! by the origin, which stores its first answer under the key. A customer create may carry a
//! sender-chosen key, bounded by [`check_key`]. Edge and origin use these same definitions.

use serde::{Deserialize, Serialize};

use crate::error::Rejection;

/// Longest accepted `Idempotency-Key`, in characters.
pub const MAX_KEY_CHARS: usize = 255;

/// The header marking an answer given again from the origin's idempotency record.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The `Idempotency-Key` of a sync: the lowercase hex SHA-256 of its body (the verdict's
/// `payload_hash`).
#[must_use]
pub fn sync_key(payload_hash: &str) -> &str {
    payload_hash
}

/// Checks an `Idempotency-Key`: 1 to [`MAX_KEY_CHARS`] visible ASCII characters.
///
/// # Errors
/// `invalid_field` naming `Idempotency-Key`.
pub fn check_key(key: &str) -> Result<(), Rejection> {
    if (1..=MAX_KEY_CHARS).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Rejection::invalid_field(
            "Idempotency-Key",
            "must be 1 to 255 visible ascii characters",
        ))
    }
}

/// The status member of an applied sync's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliedStatus {
    /// The sync was applied.
    Applied,
}

/// The answer to an applied sync: `{"status":"applied","requestId","payloadType",
/// "payloadVersion"}`, plus the verifying `keyId` in the edge's answer to the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncApplied {
    /// Always `applied`.
    pub status: AppliedStatus,
    /// The request that applied it.
    pub request_id: String,
    /// The payload's type (`features`, `branding`, `smtp`, `combined`).
    pub payload_type: String,
    /// The payload's version.
    pub payload_version: u64,
    /// The key that verified it (the edge's answer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

impl SyncApplied {
    /// The answer for a sync applied by `request_id`.
    #[must_use]
    pub fn new(
        request_id: &str,
        payload_type: &str,
        payload_version: u64,
        key_id: Option<&str>,
    ) -> Self {
        Self {
            status: AppliedStatus::Applied,
            request_id: request_id.to_string(),
            payload_type: payload_type.to_string(),
            payload_version,
            key_id: key_id.map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert!(check_key("a").is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_CHARS)).is_ok());
        for bad in ["", " ", "a b", "é", &"k".repeat(MAX_KEY_CHARS + 1)] {
            assert_eq!(check_key(bad).unwrap_err().code(), "invalid_field");
        }
    }

    #[test]
    fn the_applied_answer_has_the_documented_shape() {
        let edge = SyncApplied::new("req_1", "branding", 3, Some("k1"));
        assert_eq!(
            serde_json::to_value(&edge).unwrap(),
            serde_json::json!({"status": "applied", "requestId": "req_1", "payloadType": "branding",
                               "payloadVersion": 3, "keyId": "k1"})
        );
        let origin = SyncApplied::new("req_1", "branding", 3, None);
        assert!(
            serde_json::to_value(&origin)
                .unwrap()
                .get("keyId")
                .is_none()
        );
    }
}
