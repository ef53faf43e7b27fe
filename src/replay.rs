//! Replay material and the reference replay ledger.
//!
//! The core decides *what* must be unique and for *how long*; storing it is the edge's job (a
//! Durable Object per tenant, strongly consistent — never KV, whose writes take up to a minute to
//! be seen elsewhere). [`ReplayKeys`] are derived only from signed material (the nonce is covered
//! by the MAC, the payload hash by the digest or the MAC) and bound to the tenant, so editing an
//! unsigned header cannot dodge the ledger and one tenant's traffic never collides with
//! another's. They are deliberately *not* bound to the signing key: during a rotation a request
//! may carry signatures by two keys, and a replay that keeps only the other key's signature must
//! still find the first request's entries. An entry expires when its request would be refused as
//! stale anyway.
//!
//! [`MemoryLedger`] is the ledger's reference semantics in memory: reserve before forwarding,
//! commit when the origin confirms, release when it fails, so nothing accepted is lost and nothing
//! is applied twice. The edge's Durable Object implements the same rules in SQL; tests use this one.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Rejection;
use crate::signature::crypto::{Primitives, hex};
use crate::signature::skew::SkewWindow;

/// The ledger keys of one accepted request.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayKeys {
    /// Hex SHA-256 of (tenant, nonce).
    pub nonce_key: String,
    /// Hex SHA-256 of (tenant, payload hash).
    pub payload_key: String,
    /// Unix seconds after which both entries may be pruned.
    pub expires_at: i64,
}

/// Hex SHA-256 of `domain` and length-prefixed `fields` (ledger keys of syncs and of provider
/// deliveries).
pub(crate) fn bound_hash(primitives: &dyn Primitives, domain: &str, fields: &[&str]) -> String {
    // Length-prefixed fields: no choice of tenant or nonce can collide with another.
    let mut material = Vec::with_capacity(64);
    material.extend_from_slice(domain.as_bytes());
    for field in fields {
        material.extend_from_slice(&(field.len() as u64).to_be_bytes());
        material.extend_from_slice(field.as_bytes());
    }
    hex(&primitives.sha256(&material))
}

impl ReplayKeys {
    /// Derives the ledger keys for a verified request.
    #[must_use]
    pub fn derive(
        tenant: &str,
        nonce: &str,
        payload_hash: &str,
        timestamp: i64,
        window: SkewWindow,
        primitives: &dyn Primitives,
    ) -> Self {
        Self {
            nonce_key: bound_hash(primitives, "syncgate/nonce/v2", &[tenant, nonce]),
            payload_key: bound_hash(primitives, "syncgate/payload/v2", &[tenant, payload_hash]),
            expires_at: window.ledger_expiry(timestamp),
        }
    }
}

/// Refuses a payload unless its version is newer than the last applied version of every section
/// it carries, so an out-of-order delivery never rolls configuration back.
///
/// # Errors
/// `stale_version` naming the first section (in `sections` order) that is not older.
pub fn check_section_versions(
    sections: &[&str],
    version: u64,
    last_applied: impl Fn(&str) -> Option<u64>,
) -> Result<(), Rejection> {
    for section in sections {
        if let Some(applied) = last_applied(section)
            && version <= applied
        {
            return Err(Rejection::StaleVersion {
                section: (*section).to_string(),
                applied_version: applied,
                received_version: version,
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct Entry {
    request_id: String,
    applied: bool,
    expires_at: i64,
}

/// An in-memory replay ledger with the edge's semantics.
#[derive(Debug, Default, Clone)]
pub struct MemoryLedger {
    nonces: BTreeMap<String, Entry>,
    payloads: BTreeMap<String, Entry>,
    versions: BTreeMap<String, u64>,
}

impl MemoryLedger {
    /// An empty ledger.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops entries whose expiry has passed.
    pub fn prune(&mut self, now: i64) {
        self.nonces.retain(|_, e| e.expires_at >= now);
        self.payloads.retain(|_, e| e.expires_at >= now);
    }

    /// Number of live nonce entries (state is bounded by traffic inside the window).
    #[must_use]
    pub fn len(&self) -> usize {
        self.nonces.len()
    }

    /// Whether the ledger holds no nonce.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nonces.is_empty()
    }

    /// Atomically checks that the nonce, the payload and the versions are new and reserves the
    /// nonce and payload for `request_id`.
    ///
    /// # Errors
    /// `replayed_nonce` or `duplicate_payload` naming the first request, or `stale_version`.
    pub fn reserve(
        &mut self,
        keys: &ReplayKeys,
        request_id: &str,
        sections: &[&str],
        version: u64,
        now: i64,
    ) -> Result<(), Rejection> {
        self.prune(now);
        if let Some(e) = self.nonces.get(&keys.nonce_key) {
            return Err(Rejection::ReplayedNonce {
                original_request_id: Some(e.request_id.clone()),
                applied: e.applied,
            });
        }
        if let Some(e) = self.payloads.get(&keys.payload_key) {
            return Err(Rejection::DuplicatePayload {
                original_request_id: Some(e.request_id.clone()),
                applied: e.applied,
            });
        }
        check_section_versions(sections, version, |s| self.versions.get(s).copied())?;
        let entry = Entry {
            request_id: request_id.to_string(),
            applied: false,
            expires_at: keys.expires_at,
        };
        self.nonces.insert(keys.nonce_key.clone(), entry.clone());
        self.payloads.insert(keys.payload_key.clone(), entry);
        Ok(())
    }

    /// Marks a reservation applied (the origin confirmed) and records the section versions.
    pub fn commit(&mut self, keys: &ReplayKeys, sections: &[&str], version: u64) {
        for map in [&mut self.nonces, &mut self.payloads] {
            for key in [&keys.nonce_key, &keys.payload_key] {
                if let Some(e) = map.get_mut(key) {
                    e.applied = true;
                }
            }
        }
        for section in sections {
            let v = self.versions.entry((*section).to_string()).or_insert(0);
            *v = (*v).max(version);
        }
    }

    /// Drops an unapplied reservation (the origin failed) so the sender's retry goes through.
    pub fn release(&mut self, keys: &ReplayKeys) {
        if self.nonces.get(&keys.nonce_key).is_some_and(|e| !e.applied) {
            self.nonces.remove(&keys.nonce_key);
        }
        if self
            .payloads
            .get(&keys.payload_key)
            .is_some_and(|e| !e.applied)
        {
            self.payloads.remove(&keys.payload_key);
        }
    }

    /// The last applied version of a section.
    #[must_use]
    pub fn applied_version(&self, section: &str) -> Option<u64> {
        self.versions.get(section).copied()
    }
}
