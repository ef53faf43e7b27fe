//! Customer records: create (idempotently), read, list by insertion order, and patch under an
//! optimistic version check.
//!
//! Every write runs in one `BEGIN IMMEDIATE` transaction:
//! - [`Store::create_customer`] looks up the `Idempotency-Key` (scope `customers.create`, per
//!   tenant) first: a hit with the same body hash returns the first answer and creates nothing, a
//!   hit with another body is `idempotency_conflict`; otherwise the record and the key (with the
//!   body hash and the answer) are inserted together, so a record never exists without its key
//!   nor a key without its record. Concurrent creates with one key serialise on the transaction,
//!   and the key table's primary key would refuse a second claim regardless.
//! - [`Store::patch_customer`] reads the record, checks the precondition (`If-Match`) against
//!   the version it read, applies the merge patch, and writes with
//!   `UPDATE … WHERE tenant = ? AND id = ? AND version = ?`; a write that changes no row means the
//!   record moved underneath, which is answered as `version_conflict` too.
//!
//! Every query names the tenant: an id of another tenant is simply not found.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use syncgate::Rejection;
use syncgate::customer::{Customer, CustomerPatch};

use super::Store;
use super::sync::IDEMPOTENCY_RETENTION_SECONDS;
use crate::error::OriginError;

/// The idempotency scope of customer creates.
pub const CREATE_SCOPE: &str = "customers.create";

/// An `Idempotency-Key` claimed by a create.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyClaim<'a> {
    /// The client's key, as the edge forwarded it.
    pub key: &'a str,
    /// Lowercase hex SHA-256 of the request body, to detect a key reused with another body.
    pub body_sha256: &'a str,
}

/// One create to apply.
#[derive(Debug, Clone, Copy)]
pub struct CreateWrite<'a> {
    /// The routed tenant.
    pub tenant: &'a str,
    /// The new record (id, timestamps and version 1 already set).
    pub customer: &'a Customer,
    /// The record's JSON, stored as the record and as the idempotent answer.
    pub record_json: &'a str,
    /// The `Idempotency-Key`, when the client sent one.
    pub idempotency: Option<IdempotencyClaim<'a>>,
    /// The edge's request id.
    pub request_id: &'a str,
    /// Server time, Unix seconds.
    pub now: i64,
}

/// What [`Store::create_customer`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Created now; answer with the new record.
    Created,
    /// The key was seen before with the same body: nothing created; answer with the first
    /// answer.
    Replayed {
        /// The first answer's status.
        status: u16,
        /// The first answer's JSON body.
        body: Vec<u8>,
    },
}

/// An `If-Match` precondition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match`, or `If-Match: *`: any current version.
    Any,
    /// One of these strong entity tags (their opaque text, without quotes). Weak tags never
    /// match (RFC 9110 §13.1.1 asks for the strong comparison), so they are not listed.
    OneOf(Vec<String>),
}

impl Precondition {
    /// Whether a record at `version` (`ETag: "<version>"`) satisfies it.
    #[must_use]
    pub fn holds(&self, version: u64) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(tags) => {
                let current = version.to_string();
                tags.contains(&current)
            }
        }
    }
}

/// What [`Store::patch_customer`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOutcome {
    /// The record changed: one version later.
    Updated(Customer),
    /// The patch changes nothing: the record as it is, version and `updatedAt` unchanged.
    Unchanged(Customer),
}

/// A page of a customer list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPage {
    /// The records, in insertion order.
    pub items: Vec<Customer>,
    /// The sequence number of the last item when more records follow it, else `None`.
    pub next_after: Option<i64>,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn read_record(json: &str) -> Result<Customer, OriginError> {
    // A stored record that no longer validates is the database's fault (500), not the client's.
    Ok(serde_json::from_str(json)?)
}

impl Store {
    /// Creates a customer record, honouring the idempotency key (see the module docs).
    ///
    /// # Errors
    /// `idempotency_conflict` when the key was used with another body, or a storage error.
    pub fn create_customer(&self, write: &CreateWrite<'_>) -> Result<CreateOutcome, OriginError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(claim) = write.idempotency {
                tx.execute(
                    "DELETE FROM idempotency_keys WHERE created_unix < ?1",
                    params![write.now.saturating_sub(IDEMPOTENCY_RETENTION_SECONDS)],
                )?;
                if let Some(outcome) = earlier_answer(&tx, write.tenant, claim)? {
                    return Ok(outcome);
                }
            }
            let customer = write.customer;
            tx.execute(
                "INSERT INTO customers (tenant, id, version, record, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    write.tenant,
                    customer.id,
                    to_i64(customer.version),
                    write.record_json,
                    customer.created_at,
                    customer.updated_at
                ],
            )?;
            if let Some(claim) = write.idempotency {
                tx.execute(
                    "INSERT INTO idempotency_keys
                       (tenant, scope, key, body_sha256, status, response, request_id,
                        created_unix)
                     VALUES (?1, ?2, ?3, ?4, 201, ?5, ?6, ?7)",
                    params![
                        write.tenant,
                        CREATE_SCOPE,
                        claim.key,
                        claim.body_sha256,
                        write.record_json,
                        write.request_id,
                        write.now
                    ],
                )?;
            }
            tx.commit()?;
            Ok(CreateOutcome::Created)
        })
    }

    /// The record `id` of `tenant`, if there is one.
    ///
    /// # Errors
    /// A storage error.
    pub fn customer(&self, tenant: &str, id: &str) -> Result<Option<Customer>, OriginError> {
        self.with(|conn| {
            let record: Option<String> = conn
                .query_row(
                    "SELECT record FROM customers WHERE tenant = ?1 AND id = ?2",
                    params![tenant, id],
                    |row| row.get(0),
                )
                .optional()?;
            record.as_deref().map(read_record).transpose()
        })
    }

    /// Up to `limit` records of `tenant` inserted after sequence number `after` (0: from the
    /// start), oldest first.
    ///
    /// # Errors
    /// A storage error.
    pub fn list_customers(
        &self,
        tenant: &str,
        after: i64,
        limit: usize,
    ) -> Result<CustomerPage, OriginError> {
        self.with(|conn| {
            // One more than asked tells whether another page follows.
            let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
            let mut statement = conn.prepare(
                "SELECT seq, record FROM customers WHERE tenant = ?1 AND seq > ?2
                 ORDER BY seq LIMIT ?3",
            )?;
            let rows = statement
                .query_map(params![tenant, after, fetch], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let more = rows.len() > limit;
            let mut items = Vec::with_capacity(rows.len().min(limit));
            let mut last = None;
            for (seq, record) in rows.into_iter().take(limit) {
                items.push(read_record(&record)?);
                last = Some(seq);
            }
            Ok(CustomerPage {
                items,
                next_after: if more { last } else { None },
            })
        })
    }

    /// Applies a merge patch to record `id` of `tenant` if `precondition` holds for its current
    /// version. A patch that changes nothing writes nothing.
    ///
    /// # Errors
    /// `not_found`, `version_conflict` (with the current version), `invalid_field` when the
    /// patched record would break a bound (`custom` too large), or a storage error. Nothing is
    /// written on any error.
    pub fn patch_customer(
        &self,
        tenant: &str,
        id: &str,
        patch: &CustomerPatch,
        precondition: &Precondition,
        now: &str,
    ) -> Result<PatchOutcome, OriginError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let record: Option<String> = tx
                .query_row(
                    "SELECT record FROM customers WHERE tenant = ?1 AND id = ?2",
                    params![tenant, id],
                    |row| row.get(0),
                )
                .optional()?;
            let current = match record {
                Some(json) => read_record(&json)?,
                None => return Err(Rejection::NotFound.into()),
            };
            if !precondition.holds(current.version) {
                return Err(Rejection::VersionConflict {
                    current_version: Some(current.version),
                }
                .into());
            }
            if patch.apply_to(&current.fields)? == current.fields {
                return Ok(PatchOutcome::Unchanged(current));
            }
            let next = current.patched(patch, now.to_string())?;
            let changed = tx.execute(
                "UPDATE customers SET version = ?1, record = ?2, updated_at = ?3
                 WHERE tenant = ?4 AND id = ?5 AND version = ?6",
                params![
                    to_i64(next.version),
                    serde_json::to_string(&next)?,
                    next.updated_at,
                    tenant,
                    id,
                    to_i64(current.version)
                ],
            )?;
            if changed != 1 {
                // Cannot happen while this transaction holds the write lock; if it ever does,
                // the record moved on and the caller must re-read it.
                let version: Option<i64> = tx
                    .query_row(
                        "SELECT version FROM customers WHERE tenant = ?1 AND id = ?2",
                        params![tenant, id],
                        |row| row.get(0),
                    )
                    .optional()?;
                return Err(Rejection::VersionConflict {
                    current_version: version.and_then(|v| u64::try_from(v).ok()),
                }
                .into());
            }
            tx.commit()?;
            Ok(PatchOutcome::Updated(next))
        })
    }
}

/// The stored answer for `claim`, if the key was used before in this tenant.
fn earlier_answer(
    tx: &Transaction<'_>,
    tenant: &str,
    claim: IdempotencyClaim<'_>,
) -> Result<Option<CreateOutcome>, OriginError> {
    let earlier: Option<(String, i64, String)> = tx
        .query_row(
            "SELECT body_sha256, status, response FROM idempotency_keys
             WHERE tenant = ?1 AND scope = ?2 AND key = ?3",
            params![tenant, CREATE_SCOPE, claim.key],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    match earlier {
        None => Ok(None),
        Some((body_sha256, _, _)) if body_sha256 != claim.body_sha256 => {
            Err(Rejection::IdempotencyConflict.into())
        }
        Some((_, status, response)) => Ok(Some(CreateOutcome::Replayed {
            status: u16::try_from(status).unwrap_or(201),
            body: response.into_bytes(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use syncgate::customer::{validate_create, validate_patch};

    fn record(id: &str, body: &str) -> Customer {
        Customer::new(
            id.into(),
            validate_create(body.as_bytes()).unwrap(),
            "2026-11-22T10:00:00Z".into(),
        )
    }

    fn create(store: &Store, tenant: &str, customer: &Customer, key: Option<(&str, &str)>) {
        let json = serde_json::to_string(customer).unwrap();
        store
            .create_customer(&CreateWrite {
                tenant,
                customer,
                record_json: &json,
                idempotency: key.map(|(key, body_sha256)| IdempotencyClaim { key, body_sha256 }),
                request_id: "req-1",
                now: 1_790_000_000,
            })
            .unwrap();
    }

    #[test]
    fn create_read_list_and_patch() {
        let store = Store::open(Path::new(":memory:")).unwrap();
        let ada = record("cus_a", r#"{"firstName":"Ada","email":"ada@example.com"}"#);
        let bob = record("cus_b", r#"{"firstName":"Bob","email":"bob@example.com"}"#);
        create(&store, "acme", &ada, Some(("k1", "h1")));
        create(&store, "acme", &bob, None);
        assert_eq!(store.customer("acme", "cus_a").unwrap(), Some(ada.clone()));
        assert_eq!(store.customer("globex", "cus_a").unwrap(), None);

        let first = store.list_customers("acme", 0, 1).unwrap();
        assert_eq!(first.items, vec![ada]);
        let second = store
            .list_customers("acme", first.next_after.unwrap(), 1)
            .unwrap();
        assert_eq!(second.items, vec![bob]);
        assert_eq!(second.next_after, None);

        let patch = validate_patch(br#"{"lastName":"Lovelace"}"#).unwrap();
        let stale = Precondition::OneOf(vec!["2".into()]);
        let conflict = store
            .patch_customer("acme", "cus_a", &patch, &stale, "2026-11-22T11:00:00Z")
            .unwrap_err();
        assert_eq!(conflict.code(), "version_conflict");
        let ok = Precondition::OneOf(vec!["1".into()]);
        let PatchOutcome::Updated(next) = store
            .patch_customer("acme", "cus_a", &patch, &ok, "2026-11-22T11:00:00Z")
            .unwrap()
        else {
            panic!("not updated");
        };
        assert_eq!(next.version, 2);
        assert!(matches!(
            store
                .patch_customer("acme", "cus_a", &patch, &Precondition::Any, "2026-11-22T12:00:00Z")
                .unwrap(),
            PatchOutcome::Unchanged(same) if same == next
        ));
        let missing = store
            .patch_customer("globex", "cus_a", &patch, &Precondition::Any, "x")
            .unwrap_err();
        assert_eq!(missing.code(), "not_found");
    }
}
