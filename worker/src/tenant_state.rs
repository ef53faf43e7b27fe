//! `TenantState`: the Durable Object that holds one tenant's strongly consistent state.
//!
//! One object per tenant (named by tenant id), SQLite-backed. It keeps:
//! - the **replay ledger** (nonce and payload-hash keys from [`syncgate::replay::ReplayKeys`]),
//! - the **last applied version of each config section** (`stale_version`),
//! - the **sync log** (every attempt, newest first, bounded retention),
//! - **last-successful-sync** metadata and per-signing-key **last used** times,
//! - the tenant's **API keys** (hashes only), the customer API's **token buckets** (per key and
//!   per tenant) and its **access log**.
//!
//! A Durable Object runs one event at a time and its SQL calls are synchronous, so a sequence of
//! SQL statements with no `await` between them is atomic: that is how check-and-reserve works
//! when twenty copies of one request arrive together — exactly one reserves. The reservation is
//! committed only after the origin confirms, and released when it fails, so nothing accepted is
//! lost and nothing is applied twice. An alarm prunes expired ledger entries and old log rows:
//! state grows with traffic inside the window, not with time.
//!
//! The worker talks to the object over an internal HTTP interface (paths below); nothing outside
//! the Worker can reach it.

use serde::{Deserialize, Serialize};
use syncgate::Rejection;
use syncgate::replay::check_section_versions;
use worker::{
    DurableObject, Env, Method, Request, Response, Result, SqlStorage, SqlStorageValue, State,
};

use crate::http;
use crate::origin::{OriginAnswer, OriginCall, forward};

/// The Durable Object binding.
pub const BINDING: &str = "TENANT_STATE";
/// Most sync log rows kept per tenant.
pub const LOG_RETENTION_ROWS: i64 = 10_000;
/// Oldest sync log row kept, in milliseconds (30 days).
pub const LOG_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;
/// Pruning cadence while the ledger holds entries, in milliseconds.
pub const PRUNE_EVERY_MS: i64 = 60_000;
/// Default and largest page size for log listings.
pub const DEFAULT_PAGE: i64 = 50;
/// Largest page size for log listings.
pub const MAX_PAGE: i64 = 200;
/// The cursor of the first page: above any row number (and exact in JavaScript).
const MAX_SAFE_CURSOR: i64 = (1 << 53) - 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger (
  key TEXT PRIMARY KEY, kind TEXT NOT NULL, request_id TEXT NOT NULL,
  applied INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_expiry ON ledger (expires_at);
CREATE TABLE IF NOT EXISTS section_versions (
  section TEXT PRIMARY KEY, version INTEGER NOT NULL, request_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sync_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, received_at INTEGER NOT NULL,
  source_ip TEXT, payload_type TEXT, payload_version INTEGER, key_id TEXT,
  signature_result TEXT NOT NULL, status TEXT NOT NULL, code TEXT, message TEXT);
CREATE TABLE IF NOT EXISTS last_sync (
  id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL, payload_type TEXT NOT NULL,
  payload_version INTEGER NOT NULL, request_id TEXT NOT NULL, key_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS key_usage (
  kid TEXT PRIMARY KEY, last_used_at INTEGER NOT NULL, uses INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rate_buckets (
  bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS access_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, at INTEGER NOT NULL,
  source_ip TEXT, api_key_id TEXT, method TEXT NOT NULL, route TEXT NOT NULL,
  status INTEGER NOT NULL, code TEXT);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, hash TEXT NOT NULL, scopes TEXT NOT NULL, fields TEXT, name TEXT,
  created_at INTEGER NOT NULL, revoked_at INTEGER);
";

/// What the worker tells the object about a verified sync request (header `x-syncgate-meta`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncMeta {
    /// Edge request id.
    pub request_id: String,
    /// Arrival time, Unix milliseconds.
    pub received_at: i64,
    /// `CF-Connecting-IP`.
    pub source_ip: Option<String>,
    /// Routed instance.
    pub instance: String,
    /// Routed tenant.
    pub tenant: String,
    /// Origin base URL.
    pub origin: Option<String>,
    /// Verified key id.
    pub key_id: String,
    /// Ledger key of the nonce.
    pub nonce_key: String,
    /// Ledger key of the payload hash.
    pub payload_key: String,
    /// Ledger expiry, Unix seconds.
    pub expires_at: i64,
    /// Sections carried.
    pub sections: Vec<String>,
    /// Payload type.
    pub payload_type: String,
    /// Payload version.
    pub payload_version: u64,
    /// Hex SHA-256 of the body (the origin's idempotency key).
    pub payload_hash: String,
}

/// One sync log row as stored and listed (brief §4 item shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Edge request id.
    pub request_id: String,
    /// Arrival time, Unix milliseconds.
    pub received_at: i64,
    /// Source IP.
    pub source_ip: Option<String>,
    /// Payload type, when known.
    pub payload_type: Option<String>,
    /// Payload version, when known.
    pub payload_version: Option<u64>,
    /// Key id, when known.
    pub key_id: Option<String>,
    /// `valid`, `invalid`, `missing` or `not_checked`.
    pub signature_result: String,
    /// `applied` or `rejected`.
    pub status: String,
    /// Rejection code, null when applied.
    pub code: Option<String>,
    /// Rejection message, null when applied.
    pub message: Option<String>,
}

impl LogEntry {
    /// A rejected attempt.
    #[must_use]
    pub fn rejected(
        request_id: &str,
        received_at: i64,
        source_ip: Option<String>,
        rejection: &Rejection,
        signature_result: &str,
    ) -> Self {
        Self {
            request_id: request_id.into(),
            received_at,
            source_ip,
            payload_type: None,
            payload_version: None,
            key_id: None,
            signature_result: signature_result.into(),
            status: "rejected".into(),
            code: Some(rejection.code().into()),
            message: Some(rejection.to_string()),
        }
    }
}

/// A customer-API call asking to be let in (`POST /admit`, bearer in `x-syncgate-bearer`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Admission {
    /// The scope the route needs.
    pub scope: String,
    /// The tenant's limits.
    pub rate_limits: syncgate::policy::RateLimits,
    /// The access-log line to write if the call is refused here.
    pub entry: AccessEntry,
}

/// One customer-API call in the access log (brief §4 `…/access-log`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessEntry {
    /// Edge request id.
    pub request_id: String,
    /// Arrival time, Unix milliseconds.
    pub at: i64,
    /// `CF-Connecting-IP`.
    pub source_ip: Option<String>,
    /// The API key's id (never the key).
    pub api_key_id: Option<String>,
    /// HTTP method.
    pub method: String,
    /// The route template, e.g. `PATCH /v1/{instance}/customers/{id}`.
    pub route: String,
    /// The status answered.
    pub status: u16,
    /// The rejection code, if any.
    pub code: Option<String>,
}

#[derive(Deserialize)]
struct BucketRow {
    bucket: String,
    tokens: f64,
    updated_at: i64,
}

#[derive(Deserialize)]
struct AccessRow {
    seq: i64,
    request_id: String,
    at: i64,
    source_ip: Option<String>,
    api_key_id: Option<String>,
    method: String,
    route: String,
    status: i64,
    code: Option<String>,
}

#[derive(Deserialize)]
struct LedgerRow {
    kind: String,
    request_id: String,
    applied: i64,
}

#[derive(Deserialize)]
struct VersionRow {
    section: String,
    version: i64,
}

#[derive(Deserialize)]
struct LogRow {
    seq: i64,
    request_id: String,
    received_at: i64,
    source_ip: Option<String>,
    payload_type: Option<String>,
    payload_version: Option<i64>,
    key_id: Option<String>,
    signature_result: String,
    status: String,
    code: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct LastSyncRow {
    at: i64,
    payload_type: String,
    payload_version: i64,
    request_id: String,
    key_id: String,
}

#[derive(Deserialize)]
struct ApiKeyRow {
    hash: String,
    scopes: String,
    fields: Option<String>,
    revoked_at: Option<i64>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyUsageRow {
    kid: String,
    last_used_at: i64,
    uses: i64,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct CountRow {
    n: i64,
}

#[allow(missing_docs)] // the macro adds undocumented JS glue
mod object {
    use worker::{Env, State, durable_object};

    /// The per-tenant Durable Object.
    #[durable_object]
    pub struct TenantState {
        pub(super) state: State,
        pub(super) env: Env,
    }
}
pub use object::TenantState;

fn str_value(s: &str) -> SqlStorageValue {
    SqlStorageValue::String(s.to_string())
}

fn opt_str(s: Option<&str>) -> SqlStorageValue {
    s.map_or(SqlStorageValue::Null, str_value)
}

fn int(v: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(v)
}

fn u64_value(v: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

impl DurableObject for TenantState {
    fn new(state: State, env: Env) -> Self {
        if let Err(err) = state.storage().sql().exec(SCHEMA, None) {
            worker::console_error!("tenant state schema: {err}");
        }
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let request_id = req
            .headers()
            .get("x-request-id")?
            .unwrap_or_else(http::new_request_id);
        let path = req.path();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (req.method(), segments.as_slice()) {
            (Method::Post, ["sync"]) => self.sync(&mut req, &request_id).await,
            (Method::Post, ["log"]) => {
                let entry: LogEntry = req.json().await?;
                self.append_log(&entry)?;
                self.ensure_alarm().await?;
                Ok(Response::empty()?.with_status(204))
            }
            (Method::Get, ["status"]) => {
                self.authorized(&req, "sync:read", &request_id, |s| s.status())
            }
            (Method::Get, ["logs"]) => {
                let url = req.url()?;
                self.authorized(&req, "sync:read", &request_id, |s| s.logs(&url))
            }
            (Method::Post, ["authorize"]) => {
                let scope = req.headers().get("x-syncgate-scope")?.unwrap_or_default();
                match self.authorize(&req, &scope) {
                    Ok(grant) => http::json(&grant, 200),
                    Err(rejection) => http::problem(&rejection, &request_id),
                }
            }
            (Method::Post, ["admit"]) => {
                let admission: Admission = req.json().await?;
                self.admit(&req, &admission, &request_id).await
            }
            (Method::Post, ["access-log"]) => {
                let entry: AccessEntry = req.json().await?;
                self.append_access(&entry)?;
                self.ensure_alarm().await?;
                Ok(Response::empty()?.with_status(204))
            }
            (Method::Get, ["access-log"]) => {
                let url = req.url()?;
                self.access_log(&url)
            }
            (Method::Post, ["api-keys"]) => {
                let record: crate::api_keys::ApiKeyRecord = req.json().await?;
                self.insert_api_key(&record)?;
                Ok(Response::empty()?.with_status(201))
            }
            (Method::Delete, ["api-keys", id]) => {
                let revoked = self.revoke_api_key(id)?;
                Ok(Response::empty()?.with_status(if revoked { 204 } else { 404 }))
            }
            (Method::Get, ["key-usage"]) => {
                let rows: Vec<KeyUsageRow> = self
                    .sql()
                    .exec(
                        "SELECT kid, last_used_at AS lastUsedAt, uses FROM key_usage ORDER BY kid",
                        None,
                    )?
                    .to_array()?;
                http::json(&rows, 200)
            }
            _ => http::problem(&Rejection::NotFound, &request_id),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let now_ms = http::now_millis();
        self.prune(now_ms)?;
        let pending: Vec<CountRow> = self
            .sql()
            .exec("SELECT COUNT(*) AS n FROM ledger", None)?
            .to_array()?;
        if pending.first().is_some_and(|row| row.n > 0) {
            self.state
                .storage()
                .set_alarm(std::time::Duration::from_millis(
                    PRUNE_EVERY_MS.unsigned_abs(),
                ))
                .await?;
        }
        Response::ok("pruned")
    }
}

/// An authenticated API key's grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// Key id.
    pub key_id: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Owned fields, when limited.
    pub fields: Option<Vec<String>>,
}

impl TenantState {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Checks the bearer key passed in `x-syncgate-bearer` for `scope`.
    fn authorize(&self, req: &Request, scope: &str) -> std::result::Result<Grant, Rejection> {
        let bearer = req
            .headers()
            .get("x-syncgate-bearer")
            .ok()
            .flatten()
            .ok_or(Rejection::Unauthorized)?;
        let id = crate::api_keys::id_of(&bearer).ok_or(Rejection::Unauthorized)?;
        let rows: Vec<ApiKeyRow> = self
            .sql()
            .exec(
                "SELECT hash, scopes, fields, revoked_at FROM api_keys WHERE id = ?",
                vec![str_value(id)],
            )
            .and_then(|c| c.to_array())
            .map_err(|_| Rejection::Unauthorized)?;
        let row = rows.first().ok_or(Rejection::Unauthorized)?;
        let presented = crate::api_keys::hash(&bearer);
        if row.revoked_at.is_some()
            || !http::constant_time_eq(presented.as_bytes(), row.hash.as_bytes())
        {
            return Err(Rejection::Unauthorized);
        }
        let scopes: Vec<String> = serde_json::from_str(&row.scopes).unwrap_or_default();
        if !scopes.iter().any(|s| s == scope) {
            return Err(Rejection::Forbidden {
                scope: scope.to_string(),
            });
        }
        Ok(Grant {
            key_id: id.to_string(),
            scopes,
            fields: row
                .fields
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok()),
        })
    }

    fn authorized(
        &self,
        req: &Request,
        scope: &str,
        request_id: &str,
        answer: impl FnOnce(&Self) -> Result<Response>,
    ) -> Result<Response> {
        match self.authorize(req, scope) {
            Ok(_) => answer(self),
            Err(rejection) => http::problem(&rejection, request_id),
        }
    }

    /// Authorises a customer-API call and takes one token from the key's and the tenant's bucket.
    /// A refusal is written to the access log here (the call goes no further).
    async fn admit(
        &self,
        req: &Request,
        admission: &Admission,
        request_id: &str,
    ) -> Result<Response> {
        let outcome = self.authorize(req, &admission.scope).and_then(|grant| {
            self.take_tokens(&grant.key_id, admission.rate_limits)
                .map(|()| grant)
        });
        match outcome {
            Ok(grant) => http::json(&grant, 200),
            Err(rejection) => {
                let mut entry = admission.entry.clone();
                entry.status = rejection.status();
                entry.code = Some(rejection.code().to_string());
                if !matches!(rejection, Rejection::Unauthorized) {
                    entry.api_key_id = req
                        .headers()
                        .get("x-syncgate-bearer")
                        .ok()
                        .flatten()
                        .as_deref()
                        .and_then(crate::api_keys::id_of)
                        .map(str::to_string);
                }
                self.append_access(&entry)?;
                self.ensure_alarm().await?;
                http::problem(&rejection, request_id)
            }
        }
    }

    /// Token buckets: each holds up to `limit` tokens and refills at `limit` per minute. Both the
    /// key's and the tenant's bucket must have a token; both are charged together, atomically
    /// (synchronous SQL, no `await`).
    fn take_tokens(
        &self,
        key_id: &str,
        limits: syncgate::policy::RateLimits,
    ) -> std::result::Result<(), Rejection> {
        let sql = self.sql();
        let now = http::now_millis();
        let key_bucket = format!("key:{key_id}");
        let buckets = [
            (key_bucket.as_str(), f64::from(limits.per_key_per_minute)),
            ("tenant", f64::from(limits.per_tenant_per_minute)),
        ];
        let rows: Vec<BucketRow> = sql
            .exec(
                "SELECT bucket, tokens, updated_at FROM rate_buckets WHERE bucket IN (?, ?)",
                vec![str_value(&key_bucket), str_value("tenant")],
            )
            .and_then(|c| c.to_array())
            .map_err(|_| Rejection::OriginUnavailable)?;
        let mut levels = Vec::with_capacity(2);
        let mut wait_ms: f64 = 0.0;
        for (name, limit) in &buckets {
            let per_ms = limit / 60_000.0;
            let tokens = rows.iter().find(|r| r.bucket == *name).map_or(*limit, |r| {
                let elapsed = (now - r.updated_at).max(0) as f64;
                (r.tokens + elapsed * per_ms).min(*limit)
            });
            if tokens < 1.0 {
                wait_ms = wait_ms.max((1.0 - tokens) / per_ms);
            }
            levels.push((name, tokens));
        }
        if wait_ms > 0.0 {
            return Err(Rejection::RateLimited {
                retry_after_seconds: (wait_ms / 1000.0).ceil().max(1.0) as u64,
            });
        }
        for (name, tokens) in levels {
            sql.exec(
                "INSERT OR REPLACE INTO rate_buckets (bucket, tokens, updated_at) VALUES (?, ?, ?)",
                vec![
                    str_value(name),
                    SqlStorageValue::Float(tokens - 1.0),
                    int(now),
                ],
            )
            .map_err(|_| Rejection::OriginUnavailable)?;
        }
        Ok(())
    }

    fn append_access(&self, entry: &AccessEntry) -> Result<()> {
        self.sql().exec(
            "INSERT INTO access_log (request_id, at, source_ip, api_key_id, method, route, status, code)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                str_value(&entry.request_id),
                int(entry.at),
                opt_str(entry.source_ip.as_deref()),
                opt_str(entry.api_key_id.as_deref()),
                str_value(&entry.method),
                str_value(&entry.route),
                int(i64::from(entry.status)),
                opt_str(entry.code.as_deref()),
            ],
        )?;
        Ok(())
    }

    fn access_log(&self, url: &worker::Url) -> Result<Response> {
        let (limit, cursor) = page_params(url);
        let rows: Vec<AccessRow> = self
            .sql()
            .exec(
                "SELECT seq, request_id, at, source_ip, api_key_id, method, route, status, code
                 FROM access_log WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                vec![int(cursor), int(limit + 1)],
            )?
            .to_array()?;
        let (page, next_cursor) = paginate(&rows, limit, |row| row.seq);
        let items: Vec<serde_json::Value> = page
            .iter()
            .map(|row| {
                serde_json::json!({
                    "requestId": row.request_id,
                    "at": http::rfc3339(row.at),
                    "sourceIp": row.source_ip,
                    "apiKeyId": row.api_key_id,
                    "method": row.method,
                    "route": row.route,
                    "status": row.status,
                    "code": row.code,
                })
            })
            .collect();
        http::json(
            &serde_json::json!({ "items": items, "nextCursor": next_cursor }),
            200,
        )
    }

    fn insert_api_key(&self, record: &crate::api_keys::ApiKeyRecord) -> Result<()> {
        let scopes = serde_json::to_string(&record.scopes)?;
        let fields = record
            .fields
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        self.sql().exec(
            "INSERT INTO api_keys (id, hash, scopes, fields, name, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                str_value(&record.id),
                str_value(&record.hash),
                str_value(&scopes),
                opt_str(fields.as_deref()),
                opt_str(record.name.as_deref()),
                int(record.created_at),
            ],
        )?;
        Ok(())
    }

    fn revoke_api_key(&self, id: &str) -> Result<bool> {
        let cursor = self.sql().exec(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            vec![int(http::now_millis()), str_value(id)],
        )?;
        Ok(cursor.rows_written() > 0)
    }

    /// Atomically checks nonce, payload and section versions, then reserves nonce and payload.
    /// No `await` inside: the object runs it as one step.
    fn reserve(&self, meta: &SyncMeta) -> std::result::Result<(), Rejection> {
        let sql = self.sql();
        let now = http::now_seconds();
        let rows: Vec<LedgerRow> = sql
            .exec(
                "SELECT kind, request_id, applied FROM ledger WHERE key IN (?, ?) AND expires_at >= ? ORDER BY kind = 'payload'",
                vec![str_value(&meta.nonce_key), str_value(&meta.payload_key), int(now)],
            )
            .and_then(|c| c.to_array())
            .map_err(|_| Rejection::OriginUnavailable)?;
        if let Some(row) = rows.first() {
            let original_request_id = Some(row.request_id.clone());
            let applied = row.applied != 0;
            return Err(if row.kind == "nonce" {
                Rejection::ReplayedNonce {
                    original_request_id,
                    applied,
                }
            } else {
                Rejection::DuplicatePayload {
                    original_request_id,
                    applied,
                }
            });
        }
        let versions: Vec<VersionRow> = sql
            .exec("SELECT section, version FROM section_versions", None)
            .and_then(|c| c.to_array())
            .map_err(|_| Rejection::OriginUnavailable)?;
        let sections: Vec<&str> = meta.sections.iter().map(String::as_str).collect();
        check_section_versions(&sections, meta.payload_version, |section| {
            versions
                .iter()
                .find(|v| v.section == section)
                .and_then(|v| u64::try_from(v.version).ok())
        })?;
        for (key, kind) in [(&meta.nonce_key, "nonce"), (&meta.payload_key, "payload")] {
            sql.exec(
                "INSERT OR REPLACE INTO ledger (key, kind, request_id, applied, expires_at) VALUES (?, ?, ?, 0, ?)",
                vec![str_value(key), str_value(kind), str_value(&meta.request_id), int(meta.expires_at)],
            )
            .map_err(|_| Rejection::OriginUnavailable)?;
        }
        Ok(())
    }

    fn release(&self, meta: &SyncMeta) -> Result<()> {
        self.sql().exec(
            "DELETE FROM ledger WHERE key IN (?, ?) AND request_id = ? AND applied = 0",
            vec![
                str_value(&meta.nonce_key),
                str_value(&meta.payload_key),
                str_value(&meta.request_id),
            ],
        )?;
        Ok(())
    }

    fn commit(&self, meta: &SyncMeta) -> Result<()> {
        let sql = self.sql();
        let now_ms = http::now_millis();
        sql.exec(
            "UPDATE ledger SET applied = 1 WHERE key IN (?, ?) AND request_id = ?",
            vec![
                str_value(&meta.nonce_key),
                str_value(&meta.payload_key),
                str_value(&meta.request_id),
            ],
        )?;
        for section in &meta.sections {
            sql.exec(
                "INSERT INTO section_versions (section, version, request_id) VALUES (?, ?, ?)
                 ON CONFLICT (section) DO UPDATE SET version = excluded.version, request_id = excluded.request_id
                 WHERE excluded.version > section_versions.version",
                vec![str_value(section), u64_value(meta.payload_version), str_value(&meta.request_id)],
            )?;
        }
        sql.exec(
            "INSERT OR REPLACE INTO last_sync (id, at, payload_type, payload_version, request_id, key_id) VALUES (1, ?, ?, ?, ?, ?)",
            vec![
                int(now_ms),
                str_value(&meta.payload_type),
                u64_value(meta.payload_version),
                str_value(&meta.request_id),
                str_value(&meta.key_id),
            ],
        )?;
        sql.exec(
            "INSERT INTO key_usage (kid, last_used_at, uses) VALUES (?, ?, 1)
             ON CONFLICT (kid) DO UPDATE SET last_used_at = excluded.last_used_at, uses = uses + 1",
            vec![str_value(&meta.key_id), int(now_ms)],
        )?;
        Ok(())
    }

    fn log_for(meta: &SyncMeta, rejection: Option<&Rejection>) -> LogEntry {
        LogEntry {
            request_id: meta.request_id.clone(),
            received_at: meta.received_at,
            source_ip: meta.source_ip.clone(),
            payload_type: Some(meta.payload_type.clone()),
            payload_version: Some(meta.payload_version),
            key_id: Some(meta.key_id.clone()),
            signature_result: "valid".into(),
            status: if rejection.is_some() {
                "rejected"
            } else {
                "applied"
            }
            .into(),
            code: rejection.map(|r| r.code().to_string()),
            message: rejection.map(ToString::to_string),
        }
    }

    fn append_log(&self, entry: &LogEntry) -> Result<()> {
        self.sql().exec(
            "INSERT INTO sync_log (request_id, received_at, source_ip, payload_type, payload_version, key_id, signature_result, status, code, message)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                str_value(&entry.request_id),
                int(entry.received_at),
                opt_str(entry.source_ip.as_deref()),
                opt_str(entry.payload_type.as_deref()),
                entry.payload_version.map_or(SqlStorageValue::Null, u64_value),
                opt_str(entry.key_id.as_deref()),
                str_value(&entry.signature_result),
                str_value(&entry.status),
                opt_str(entry.code.as_deref()),
                opt_str(entry.message.as_deref()),
            ],
        )?;
        Ok(())
    }

    async fn ensure_alarm(&self) -> Result<()> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage
                .set_alarm(std::time::Duration::from_millis(
                    PRUNE_EVERY_MS.unsigned_abs(),
                ))
                .await?;
        }
        Ok(())
    }

    fn prune(&self, now_ms: i64) -> Result<()> {
        let sql = self.sql();
        sql.exec(
            "DELETE FROM ledger WHERE expires_at < ?",
            vec![int(now_ms / 1000)],
        )?;
        sql.exec(
            "DELETE FROM sync_log WHERE received_at < ? OR seq <= (SELECT MAX(seq) FROM sync_log) - ?",
            vec![int(now_ms - LOG_RETENTION_MS), int(LOG_RETENTION_ROWS)],
        )?;
        sql.exec(
            "DELETE FROM access_log WHERE at < ? OR seq <= (SELECT MAX(seq) FROM access_log) - ?",
            vec![int(now_ms - LOG_RETENTION_MS), int(LOG_RETENTION_ROWS)],
        )?;
        // A bucket untouched for an hour is full again; forgetting it changes nothing.
        sql.exec(
            "DELETE FROM rate_buckets WHERE updated_at < ?",
            vec![int(now_ms - 3_600_000)],
        )?;
        Ok(())
    }

    async fn sync(&self, req: &mut Request, request_id: &str) -> Result<Response> {
        let meta: SyncMeta = match req.headers().get("x-syncgate-meta")? {
            Some(text) => serde_json::from_str(&text)?,
            None => return http::problem(&Rejection::NotFound, request_id),
        };
        let body = req.bytes().await?;
        if let Err(rejection) = self.reserve(&meta) {
            self.append_log(&Self::log_for(&meta, Some(&rejection)))?;
            self.ensure_alarm().await?;
            return http::problem(&rejection, request_id);
        }
        self.ensure_alarm().await?;
        let Some(origin) = meta.origin.as_deref() else {
            self.release(&meta)?;
            let rejection = Rejection::OriginUnavailable;
            self.append_log(&Self::log_for(&meta, Some(&rejection)))?;
            return http::problem(&rejection, request_id);
        };
        let call = OriginCall {
            method: Method::Post,
            base: origin,
            path: format!("/origin/v1/{}/sync", meta.tenant),
            query: None,
            body,
            content_type: Some("application/json".into()),
            request_id,
            tenant: &meta.tenant,
            instance: &meta.instance,
            key_id: &meta.key_id,
            idempotency_key: Some(meta.payload_hash.clone()),
            fields: None,
            if_match: None,
        };
        match forward(&self.env, &call).await? {
            OriginAnswer::Answered { status, .. } if (200..300).contains(&status) => {
                self.commit(&meta)?;
                self.append_log(&Self::log_for(&meta, None))?;
                http::json(
                    &serde_json::json!({
                        "status": "applied",
                        "requestId": request_id,
                        "payloadType": meta.payload_type,
                        "payloadVersion": meta.payload_version,
                        "keyId": meta.key_id,
                    }),
                    200,
                )
            }
            OriginAnswer::Answered { status, body, .. } => {
                // The origin refused (its own validation, or a version it already has): nothing
                // was applied, so the reservation goes and the origin's code is passed on.
                self.release(&meta)?;
                let code = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string));
                let rejection = code
                    .as_deref()
                    .and_then(Rejection::from_code)
                    .unwrap_or(Rejection::OriginUnavailable);
                worker::console_log!("origin refused {request_id} with {status}");
                self.append_log(&Self::log_for(&meta, Some(&rejection)))?;
                http::problem(&rejection, request_id)
            }
            OriginAnswer::Unavailable { reason } => {
                worker::console_log!("origin unavailable for {request_id}: {reason}");
                self.release(&meta)?;
                let rejection = Rejection::OriginUnavailable;
                self.append_log(&Self::log_for(&meta, Some(&rejection)))?;
                http::problem(&rejection, request_id)
            }
        }
    }

    fn status(&self) -> Result<Response> {
        let rows: Vec<LastSyncRow> = self
            .sql()
            .exec(
                "SELECT at, payload_type, payload_version, request_id, key_id FROM last_sync WHERE id = 1",
                None,
            )?
            .to_array()?;
        let body = match rows.first() {
            Some(row) => serde_json::json!({
                "lastSyncAt": http::rfc3339(row.at),
                "lastPayloadType": row.payload_type,
                "lastPayloadVersion": row.payload_version,
                "lastRequestId": row.request_id,
                "lastKeyId": row.key_id,
            }),
            None => serde_json::json!({
                "lastSyncAt": null, "lastPayloadType": null, "lastPayloadVersion": null,
                "lastRequestId": null, "lastKeyId": null,
            }),
        };
        http::json(&body, 200)
    }

    fn logs(&self, url: &worker::Url) -> Result<Response> {
        let (limit, cursor) = page_params(url);
        let rows: Vec<LogRow> = self
            .sql()
            .exec(
                "SELECT seq, request_id, received_at, source_ip, payload_type, payload_version, key_id,
                        signature_result, status, code, message
                 FROM sync_log WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                vec![int(cursor), int(limit + 1)],
            )?
            .to_array()?;
        let (page, next_cursor) = paginate(&rows, limit, |row| row.seq);
        let items: Vec<serde_json::Value> = page
            .iter()
            .map(|row| {
                serde_json::json!({
                    "requestId": row.request_id,
                    "receivedAt": http::rfc3339(row.received_at),
                    "sourceIp": row.source_ip,
                    "payloadType": row.payload_type,
                    "payloadVersion": row.payload_version,
                    "keyId": row.key_id,
                    "signatureResult": row.signature_result,
                    "status": row.status,
                    "code": row.code,
                    "message": row.message,
                })
            })
            .collect();
        http::json(
            &serde_json::json!({ "items": items, "nextCursor": next_cursor }),
            200,
        )
    }
}

/// `limit` (default [`DEFAULT_PAGE`], at most [`MAX_PAGE`]) and `cursor` (a row number; the
/// first page when absent) of a listing.
fn page_params(url: &worker::Url) -> (i64, i64) {
    let mut limit = DEFAULT_PAGE;
    let mut cursor = MAX_SAFE_CURSOR;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "limit" => limit = value.parse().unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE),
            "cursor" => cursor = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    (limit, cursor)
}

/// Splits `limit + 1` rows (newest first) into a page and the cursor of the next page.
fn paginate<T>(rows: &[T], limit: i64, seq: impl Fn(&T) -> i64) -> (Vec<&T>, Option<String>) {
    let take = usize::try_from(limit).unwrap_or(0);
    let page: Vec<&T> = rows.iter().take(take).collect();
    let next = if rows.len() > take {
        page.last().map(|row| seq(row).to_string())
    } else {
        None
    };
    (page, next)
}
