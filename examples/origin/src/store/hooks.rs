//! Provider webhook deliveries: recorded once per `Idempotency-Key`, listed newest first.
//!
//! [`Store::record_hook`] is one `BEGIN IMMEDIATE` transaction: a row with the same tenant and
//! key is the answer to give again (nothing recorded twice), otherwise the delivery is inserted
//! with its answer. The key names the delivery (the edge derives it from signed material), so a
//! retry whose body differs in what the provider changes between attempts (HubSpot's
//! `attemptNumber`) is still the same delivery.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::Store;
use crate::clock::rfc3339;
use crate::error::OriginError;

/// One delivery to record.
#[derive(Debug, Clone, Copy)]
pub struct HookWrite<'a> {
    /// The routed tenant.
    pub tenant: &'a str,
    /// The provider's wire name.
    pub provider: &'a str,
    /// The de-duplication key.
    pub idempotency_key: &'a str,
    /// The edge request id.
    pub request_id: &'a str,
    /// The provider's delivery id, when known.
    pub delivery_id: Option<&'a str>,
    /// The event type, when known.
    pub event_type: Option<&'a str>,
    /// The provider's signed time, Unix seconds.
    pub signed_at: Option<i64>,
    /// The body's content type.
    pub content_type: Option<&'a str>,
    /// The body as the provider sent it.
    pub body: &'a [u8],
    /// Lowercase hex SHA-256 of the body.
    pub body_sha256: &'a str,
    /// The JSON answer to give now and to every retry.
    pub answer: &'a [u8],
    /// Server time, Unix seconds.
    pub now: i64,
}

/// What [`Store::record_hook`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// Recorded now.
    Recorded,
    /// Seen before: nothing recorded; answer with the first answer.
    Replayed {
        /// The first answer's JSON body.
        body: Vec<u8>,
    },
}

/// A recorded delivery, as `GET /origin/v1/{tenant}/hooks` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRecord {
    /// The provider.
    pub provider: String,
    /// The de-duplication key.
    pub idempotency_key: String,
    /// The edge request that delivered it.
    pub request_id: String,
    /// The provider's delivery id.
    pub delivery_id: Option<String>,
    /// The event type.
    pub event_type: Option<String>,
    /// The provider's signed time, Unix seconds.
    pub signed_at: Option<i64>,
    /// The body's content type.
    pub content_type: Option<String>,
    /// The body, when it is UTF-8 (`null` otherwise).
    pub body: Option<String>,
    /// Lowercase hex SHA-256 of the body.
    pub body_sha256: String,
    /// When it was recorded (RFC 3339 UTC).
    pub received_at: String,
}

/// Most deliveries one listing answers.
pub const MAX_LISTED: i64 = 500;

impl Store {
    /// Records a delivery unless its key was recorded before for the tenant.
    ///
    /// # Errors
    /// A storage error.
    pub fn record_hook(&self, write: &HookWrite<'_>) -> Result<HookOutcome, OriginError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let earlier: Option<String> = tx
                .query_row(
                    "SELECT response FROM provider_hooks WHERE tenant = ?1 AND idempotency_key = ?2",
                    params![write.tenant, write.idempotency_key],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(response) = earlier {
                return Ok(HookOutcome::Replayed {
                    body: response.into_bytes(),
                });
            }
            tx.execute(
                "INSERT INTO provider_hooks (tenant, provider, idempotency_key, request_id,
                   delivery_id, event_type, signed_at, content_type, body, body_sha256, response,
                   received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    write.tenant,
                    write.provider,
                    write.idempotency_key,
                    write.request_id,
                    write.delivery_id,
                    write.event_type,
                    write.signed_at,
                    write.content_type,
                    write.body,
                    write.body_sha256,
                    String::from_utf8_lossy(write.answer),
                    rfc3339(write.now),
                ],
            )?;
            tx.commit()?;
            Ok(HookOutcome::Recorded)
        })
    }

    /// The tenant's recorded deliveries, newest first (at most [`MAX_LISTED`]).
    ///
    /// # Errors
    /// A storage error.
    pub fn hooks(&self, tenant: &str) -> Result<Vec<HookRecord>, OriginError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT provider, idempotency_key, request_id, delivery_id, event_type, signed_at,
                        content_type, body, body_sha256, received_at
                 FROM provider_hooks WHERE tenant = ?1 ORDER BY seq DESC LIMIT ?2",
            )?;
            let rows = statement.query_map(params![tenant, MAX_LISTED], |row| {
                let body: Vec<u8> = row.get(7)?;
                Ok(HookRecord {
                    provider: row.get(0)?,
                    idempotency_key: row.get(1)?,
                    request_id: row.get(2)?,
                    delivery_id: row.get(3)?,
                    event_type: row.get(4)?,
                    signed_at: row.get(5)?,
                    content_type: row.get(6)?,
                    body: String::from_utf8(body).ok(),
                    body_sha256: row.get(8)?,
                    received_at: row.get(9)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn write<'a>(key: &'a str, request_id: &'a str, body: &'a [u8]) -> HookWrite<'a> {
        HookWrite {
            tenant: "acme",
            provider: "github",
            idempotency_key: key,
            request_id,
            delivery_id: Some("d-1"),
            event_type: Some("push"),
            signed_at: None,
            content_type: Some("application/json"),
            body,
            body_sha256: "ab",
            answer: br#"{"status":"applied"}"#,
            now: 1_790_000_000,
        }
    }

    #[test]
    fn a_key_is_recorded_once_per_tenant() {
        let store = Store::open(Path::new(":memory:")).unwrap();
        assert_eq!(
            store
                .record_hook(&write("hook-github-1", "req_1", b"{}"))
                .unwrap(),
            HookOutcome::Recorded
        );
        assert_eq!(
            store
                .record_hook(&write("hook-github-1", "req_2", b"{\"x\":1}"))
                .unwrap(),
            HookOutcome::Replayed {
                body: br#"{"status":"applied"}"#.to_vec()
            }
        );
        let other = HookWrite {
            tenant: "globex",
            ..write("hook-github-1", "req_3", b"{}")
        };
        assert_eq!(store.record_hook(&other).unwrap(), HookOutcome::Recorded);
        store
            .record_hook(&write("hook-github-2", "req_4", &[0xff]))
            .unwrap();
        let listed = store.hooks("acme").unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].request_id, "req_4");
        assert_eq!(listed[0].body, None);
        assert_eq!(listed[1].request_id, "req_1");
        assert_eq!(listed[1].body.as_deref(), Some("{}"));
        assert_eq!(store.hooks("globex").unwrap().len(), 1);
    }
}
