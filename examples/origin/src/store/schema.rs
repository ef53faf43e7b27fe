//! The schema, as an append-only list of migrations.
//!
//! `PRAGMA user_version` records how many have run; on start the missing ones run in order, each
//! in its own transaction. Statements also say `IF NOT EXISTS`, so a database created by hand
//! or by an interrupted start is brought up to date rather than refused. A later feature (customer
//! records) adds a migration at the end; existing ones never change.
//!
//! Tables:
//! - `branding`, `smtp_settings`, `features`: the current value of each configuration section per
//!   tenant, with the version and request that set it. `features` also keeps the recomputed module
//!   state and permissions, so a bootstrap read is one row. `smtp_settings.password` is written by
//!   a sync and read by nothing but the mailer a real CRM would run.
//! - `last_sync`: per tenant, the last applied sync (time, type, version, request id, key id).
//! - `idempotency_keys`: per tenant, scope and key, the first answer given, so a retry gets the
//!   same answer and applies nothing. Rows older than the retention are pruned on write. Scopes:
//!   `sync` and `customers.create`.
//! - `customers` (migration 2): one row per customer record. `seq` is the insertion sequence
//!   (`AUTOINCREMENT`, so never reused) that lists are ordered and paginated by; `record` is the
//!   record as the API shows it (the core's `Customer` JSON, validated again when read), with
//!   `tenant`, `id` and `version` as columns so lookups and the conditional update
//!   (`… WHERE tenant = ? AND id = ? AND version = ?`) need no JSON. A JSON document rather than
//!   one column per field: the record is always read and written whole, the core owns its shape,
//!   and a new optional field needs no migration.
//! - `edge_nonces` (migration 3): the nonces (edge request ids) of the edge attestations the
//!   origin accepted, each until its signature would be refused as stale anyway (`expires_unix`:
//!   signed time + the 300 s window + a margin). The primary key makes "seen before?" and
//!   "remember it" one atomic insert; expired rows are deleted on every insert, so the table holds
//!   at most the last few minutes of traffic. On disk, so a restarted origin still refuses a
//!   replay of a request it accepted before the restart.
//! - `provider_hooks` (migration 4): the provider webhook deliveries the edge forwarded (HubSpot,
//!   Stripe, GitHub, Slack, Shopify), one row per `Idempotency-Key` and tenant: the unique key
//!   makes a retried forward a lookup of the first answer, never a second row. Kept as the
//!   record of what arrived (a real CRM would act on them); `GET /origin/v1/{tenant}/hooks`
//!   lists them, newest first.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::OriginError;

/// The migrations, in order. Append only.
pub const MIGRATIONS: &[&str] = &[
    // 1: configuration sync.
    "
    CREATE TABLE IF NOT EXISTS branding (
        tenant            TEXT PRIMARY KEY NOT NULL,
        version           INTEGER NOT NULL,
        title             TEXT NOT NULL,
        logo_url          TEXT,
        sidebar_logo_url  TEXT,
        favicon_url       TEXT,
        primary_color     TEXT,
        footer            TEXT,            -- JSON {text?, links[]} or NULL
        updated_at        TEXT NOT NULL,   -- RFC 3339 UTC
        request_id        TEXT NOT NULL
    ) STRICT;

    CREATE TABLE IF NOT EXISTS smtp_settings (
        tenant      TEXT PRIMARY KEY NOT NULL,
        version     INTEGER NOT NULL,
        host        TEXT NOT NULL,
        port        INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
        encryption  TEXT NOT NULL CHECK (encryption IN ('none', 'starttls', 'tls')),
        username    TEXT,
        password    TEXT,                  -- never returned by any read route
        from_email  TEXT NOT NULL,
        from_name   TEXT,
        updated_at  TEXT NOT NULL,
        request_id  TEXT NOT NULL
    ) STRICT;

    CREATE TABLE IF NOT EXISTS features (
        tenant       TEXT PRIMARY KEY NOT NULL,
        version      INTEGER NOT NULL,
        plan         TEXT NOT NULL,
        definition   TEXT NOT NULL,        -- JSON: the features section as synced
        modules      TEXT NOT NULL,        -- JSON: recomputed module states
        permissions  TEXT NOT NULL,        -- JSON: union of enabled modules' permissions
        updated_at   TEXT NOT NULL,
        request_id   TEXT NOT NULL
    ) STRICT;

    CREATE TABLE IF NOT EXISTS last_sync (
        tenant           TEXT PRIMARY KEY NOT NULL,
        at               TEXT NOT NULL,
        payload_type     TEXT NOT NULL,
        payload_version  INTEGER NOT NULL,
        request_id       TEXT NOT NULL,
        key_id           TEXT NOT NULL
    ) STRICT;

    CREATE TABLE IF NOT EXISTS idempotency_keys (
        tenant        TEXT NOT NULL,
        scope         TEXT NOT NULL,       -- 'sync' (later: 'customers.create')
        key           TEXT NOT NULL,
        body_sha256   TEXT NOT NULL,       -- a reused key with another body is a conflict
        status        INTEGER NOT NULL,
        response      TEXT NOT NULL,       -- the first answer's JSON body
        request_id    TEXT NOT NULL,
        created_unix  INTEGER NOT NULL,
        PRIMARY KEY (tenant, scope, key)
    ) STRICT, WITHOUT ROWID;

    CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_unix);
    ",
    // 2: customer records.
    "
    CREATE TABLE IF NOT EXISTS customers (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order; list cursors
        tenant      TEXT NOT NULL,
        id          TEXT NOT NULL UNIQUE,                -- cus_ + 24 hex, from the OS CSPRNG
        version     INTEGER NOT NULL CHECK (version >= 1),
        record      TEXT NOT NULL,                       -- JSON: the Customer as answered
        created_at  TEXT NOT NULL,                       -- RFC 3339 UTC (also in record)
        updated_at  TEXT NOT NULL                        -- RFC 3339 UTC (also in record)
    ) STRICT;

    CREATE INDEX IF NOT EXISTS customers_tenant_seq ON customers (tenant, seq);
    ",
    // 3: accepted edge attestation nonces (replay refusal).
    "
    CREATE TABLE IF NOT EXISTS edge_nonces (
        nonce         TEXT PRIMARY KEY NOT NULL,   -- the edge request id
        tenant        TEXT NOT NULL,
        seen_unix     INTEGER NOT NULL,
        expires_unix  INTEGER NOT NULL             -- forgotten after this
    ) STRICT, WITHOUT ROWID;

    CREATE INDEX IF NOT EXISTS edge_nonces_expires ON edge_nonces (expires_unix);
    ",
    // 4: provider webhook deliveries.
    "
    CREATE TABLE IF NOT EXISTS provider_hooks (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order; listings
        tenant           TEXT NOT NULL,
        provider         TEXT NOT NULL,
        idempotency_key  TEXT NOT NULL,      -- hook-{provider}-{hex}, from signed material
        request_id       TEXT NOT NULL,      -- the edge request that delivered it
        delivery_id      TEXT,               -- the provider's id, when it sends one
        event_type       TEXT,
        signed_at        INTEGER,            -- the provider's signed time (Unix s), if any
        content_type     TEXT,
        body             BLOB NOT NULL,      -- as the provider sent it
        body_sha256      TEXT NOT NULL,
        response         TEXT NOT NULL,      -- the answer given, given again to a retry
        received_at      TEXT NOT NULL,      -- RFC 3339 UTC
        UNIQUE (tenant, idempotency_key)
    ) STRICT;

    CREATE INDEX IF NOT EXISTS provider_hooks_tenant_seq ON provider_hooks (tenant, seq);
    ",
];

/// Runs the migrations the database has not seen yet.
///
/// # Errors
/// When a migration fails; it is rolled back and the version stays where it was.
pub fn migrate(conn: &mut Connection) -> Result<(), OriginError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = i64::try_from(index).unwrap_or(i64::MAX).saturating_add(1);
        if version <= applied {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).unwrap());
    }
}
