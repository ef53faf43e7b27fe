//! The accepted edge attestation nonces: an exact copy of a forwarded request still carries a
//! valid edge signature for the rest of its window, so the origin remembers every nonce it
//! accepted and refuses it the second time.
//!
//! [`Store::remember_nonce`] is one `BEGIN IMMEDIATE` transaction: delete the expired rows, then
//! `INSERT … ON CONFLICT DO NOTHING` on the nonce's primary key. Whether a row was inserted *is*
//! the answer, so two concurrent requests with the same nonce cannot both be accepted, even from
//! two processes on one file.
//!
//! This is not the de-duplication of retries: a sender's retry through the edge is a new edge
//! request with a new nonce and the same `Idempotency-Key`, and is answered from the idempotency
//! table as before.

use rusqlite::{TransactionBehavior, params};
use syncgate::Rejection;

use super::Store;
use crate::error::OriginError;

impl Store {
    /// Remembers `nonce` (for `tenant`) until `remember_until`, or refuses it when it was
    /// accepted before; also forgets every nonce whose time is up at `now` (Unix seconds).
    ///
    /// # Errors
    /// `replayed_nonce` (409) when the nonce is already remembered, with the nonce (the request
    /// id of the first request) as `originalRequestId` and `applied: false` (the origin does not
    /// know here what became of the first one); or a storage error.
    pub fn remember_nonce(
        &self,
        nonce: &str,
        tenant: &str,
        remember_until: i64,
        now: i64,
    ) -> Result<(), OriginError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM edge_nonces WHERE expires_unix < ?1",
                params![now],
            )?;
            let inserted = tx.execute(
                "INSERT INTO edge_nonces (nonce, tenant, seen_unix, expires_unix)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (nonce) DO NOTHING",
                params![nonce, tenant, now, remember_until],
            )?;
            tx.commit()?;
            if inserted == 0 {
                return Err(Rejection::ReplayedNonce {
                    original_request_id: Some(nonce.to_string()),
                    applied: false,
                }
                .into());
            }
            Ok(())
        })
    }

    /// How many nonces are remembered (for tests and debugging).
    ///
    /// # Errors
    /// A storage error.
    pub fn remembered_nonces(&self) -> Result<u64, OriginError> {
        self.with(|conn| {
            let count: i64 =
                conn.query_row("SELECT count(*) FROM edge_nonces", [], |row| row.get(0))?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn store() -> Store {
        Store::open(Path::new(":memory:")).unwrap()
    }

    #[test]
    fn a_nonce_is_accepted_once_until_it_expires() {
        let store = store();
        store.remember_nonce("req_a", "acme", 1_360, 1_000).unwrap();
        let again = store.remember_nonce("req_a", "globex", 1_360, 1_001);
        assert!(matches!(
            again,
            Err(OriginError::Rejected(Rejection::ReplayedNonce {
                original_request_id: Some(ref id),
                applied: false,
            })) if id == "req_a"
        ));
        // Still remembered at its expiry, forgotten after it.
        assert!(store.remember_nonce("req_a", "acme", 1_720, 1_360).is_err());
        store.remember_nonce("req_b", "acme", 1_721, 1_361).unwrap();
        assert_eq!(store.remembered_nonces().unwrap(), 1);
        store.remember_nonce("req_a", "acme", 1_721, 1_361).unwrap();
        assert_eq!(store.remembered_nonces().unwrap(), 2);
    }

    #[test]
    fn the_table_stays_bounded_by_the_window() {
        let store = store();
        // One request a second for an hour, each remembered for 360 s.
        for second in 0..3_600_i64 {
            let now = 1_000_000 + second;
            store
                .remember_nonce(&format!("req_{second}"), "acme", now + 360, now)
                .unwrap();
        }
        assert_eq!(store.remembered_nonces().unwrap(), 361);
    }
}
