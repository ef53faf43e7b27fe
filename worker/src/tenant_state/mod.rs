//! `TenantState`: the Durable Object that holds one tenant's strongly consistent state.
//!
//! One object per tenant (named by tenant id), SQLite-backed. It keeps:
//! - the **replay ledger** (nonce and payload-hash keys from [`syncgate::ReplayKeys`]),
//! - the **last applied version of each config section** (`stale_version`),
//! - the **sync log** (every attempt, newest first, bounded retention),
//! - **last-successful-sync** metadata and per-signing-key **last used** times,
//! - the tenant's **API keys** (hashes only), the customer API's **token buckets** (per key and
//!   per tenant) and its **access log**.
//!
//! A Durable Object runs one event at a time and its SQL calls are synchronous, so a check of the
//! ledger and a reservation in the object's memory with no `await` between them are atomic: that
//! is how check-and-reserve works when twenty copies of one request arrive together — exactly one
//! reserves. The reservation is committed (written) only after the origin confirms, and released
//! when it fails, so nothing accepted is lost and nothing is applied twice; after a crash the
//! origin's `Idempotency-Key` answers the retry ([`ledger`] says how). An alarm prunes expired
//! ledger entries and old log rows: state grows with traffic inside the window, not with time.
//!
//! The worker talks to the object over an internal HTTP interface (the paths in `fetch`);
//! nothing outside the Worker can reach it. [`ledger`] is the signed-sync path (reserve, forward,
//! commit or release), [`logs`] the sync log, [`access`] API keys, token buckets and the
//! customer-API access log.

mod access;
mod hourly;
mod ledger;
mod logs;

pub use access::{
    AccessEntry, Admission, BucketLevel, Grant, Meter, RATE_LIMITS_HEADER, rate_limits_header,
};
pub use ledger::{Reservation, SignedRefusal};
pub use logs::{LogClass, LogEntry, LogStatus, SignatureResult};

use serde::{Deserialize, Serialize};
use syncgate::Rejection;
use worker::{
    DurableObject, Env, Method, Request, Response, Result, SqlStorage, SqlStorageValue, State,
};

use crate::http;

/// The Durable Object binding.
pub const BINDING: &str = "TENANT_STATE";

/// The tenant's object (one per tenant, named by tenant id).
///
/// # Errors
/// When the binding is missing.
pub fn stub(env: &Env, tenant: &str) -> Result<worker::Stub> {
    env.durable_object(BINDING)?.get_by_name(tenant)
}

/// A request to a tenant's object on its internal interface: `path` (with any query) and the
/// given headers (`x-request-id`, `x-syncgate-bearer`, …).
///
/// # Errors
/// When a header or the request cannot be built.
pub fn request(
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<wasm_bindgen::JsValue>,
) -> Result<Request> {
    http::internal_request(method, path, headers, body)
}

/// Sends a [`request`] to `tenant`'s object.
///
/// # Errors
/// When the binding is missing or the object cannot be reached.
pub async fn call(env: &Env, tenant: &str, request: Request) -> Result<Response> {
    stub(env, tenant)?.fetch_with_request(request).await
}

/// Hands `reservation` and `body` (one framed body, see [`Reservation::frame_head`]) to
/// `tenant`'s object, which reserves, forwards to the origin and commits or releases: the one
/// step of a signed sync or a provider delivery after the edge's checks. The body is joined to
/// the reservation in JavaScript (its bytes do not pass through wasm again), and the object's
/// answer comes back as the runtime gave it, to be passed on untouched.
///
/// # Errors
/// When the body cannot be framed or the object cannot be reached.
pub async fn reserve_and_forward(
    env: &Env,
    tenant: &str,
    request_id: &str,
    reservation: &Reservation,
    body: &js_sys::Uint8Array,
) -> Result<web_sys::Response> {
    let head = reservation.frame_head()?;
    let framed = crate::host::concat(&head, body);
    crate::host::object_post(
        stub(env, tenant)?,
        "https://internal/sync",
        request_id,
        &framed,
    )
    .await
}
/// Most applied rows kept in a tenant's sync log (see [`LogClass`] for the other classes).
pub const LOG_RETENTION_ROWS: i64 = 10_000;
/// How long per-minute refusal counts are kept, in minutes.
pub const REFUSAL_COUNT_MINUTES: i64 = 24 * 60;
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
CREATE TABLE IF NOT EXISTS schema_version (
  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
";

/// Changes to [`SCHEMA`] since its first version, in order: migration `i` takes the schema from
/// version `i + 1` to `i + 2`. An object created today runs them all once, right after
/// [`SCHEMA`]; an object created earlier runs the ones it has not seen.
const MIGRATIONS: [&str; 3] = [
    // 2: takeover of abandoned reservations (`reserved_at`), instance binding (`instance`),
    // refusal logging bounded apart from authenticated work (`class`, `refusal_counts`).
    "
ALTER TABLE ledger ADD COLUMN reserved_at INTEGER;
ALTER TABLE ledger ADD COLUMN instance TEXT;
ALTER TABLE sync_log ADD COLUMN class TEXT NOT NULL DEFAULT 'applied';
UPDATE sync_log SET class = CASE
  WHEN signature_result <> 'valid' THEN 'unsigned'
  WHEN status = 'applied' THEN 'applied' ELSE 'refused' END;
CREATE INDEX IF NOT EXISTS sync_log_class ON sync_log (class, seq);
CREATE TABLE IF NOT EXISTS refusal_counts (
  minute INTEGER NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (minute, code));
",
    // 3: a reservation's section versions travel on its nonce row (`sections`, a JSON array,
    // and `version`), so reserving is one write; the in-flight versions are the unapplied
    // reserved rows (index `ledger_in_flight`). `pending_versions` only drains rows written
    // before this version.
    "
ALTER TABLE ledger ADD COLUMN sections TEXT;
ALTER TABLE ledger ADD COLUMN version INTEGER;
CREATE INDEX IF NOT EXISTS ledger_in_flight ON ledger (expires_at)
  WHERE applied = 0 AND sections IS NOT NULL;
",
    // 4: reservations are held in the object's memory (`ledger`): nothing in flight is stored,
    // so the in-flight index and `pending_versions` (from version 1, drained by now or
    // abandoned with the edge that wrote them) go. Both drops can run again should a start
    // stop half-way. The `sections` and `version` columns stay, unread (no `DROP COLUMN` to
    // fail half-way). Rows an edge before this version left reserved are still read, as
    // abandoned reservations.
    "
DROP INDEX IF EXISTS ledger_in_flight;
DROP TABLE IF EXISTS pending_versions;
",
];

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

#[derive(Deserialize)]
struct VersionRow {
    version: i64,
}

/// Brings the object's schema to the current version.
fn migrate(sql: &SqlStorage) -> Result<()> {
    sql.exec(SCHEMA, None)?;
    let rows: Vec<VersionRow> = sql
        .exec("SELECT version FROM schema_version WHERE id = 1", None)?
        .to_array()?;
    let mut version = rows.first().map_or(1, |row| row.version);
    for (i, migration) in MIGRATIONS.iter().enumerate() {
        let target = i64::try_from(i).unwrap_or(i64::MAX).saturating_add(2);
        if version < target {
            sql.exec(migration, None)?;
            sql.exec(
                "INSERT OR REPLACE INTO schema_version (id, version) VALUES (1, ?)",
                vec![int(target)],
            )?;
            version = target;
        }
    }
    Ok(())
}

#[allow(missing_docs)] // the macro adds undocumented JS glue
mod object {
    use worker::{Env, State, durable_object};

    /// The per-tenant Durable Object.
    #[durable_object]
    pub struct TenantState {
        pub(super) state: State,
        pub(super) env: Env,
        /// Whether this instance of the object knows the prune alarm to be set (see
        /// `TenantState::ensure_alarm`).
        pub(super) alarm_set: std::cell::Cell<bool>,
        /// The reservations whose forward is running (`ledger`).
        pub(super) in_flight: super::ledger::InFlight,
    }
}
pub use object::TenantState;

pub(super) fn str_value(s: &str) -> SqlStorageValue {
    SqlStorageValue::String(s.to_string())
}

pub(super) fn opt_str(s: Option<&str>) -> SqlStorageValue {
    s.map_or(SqlStorageValue::Null, str_value)
}

pub(super) fn int(v: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(v)
}

pub(super) fn u64_value(v: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

impl DurableObject for TenantState {
    fn new(state: State, env: Env) -> Self {
        if let Err(err) = migrate(&state.storage().sql()) {
            worker::console_error!("tenant state schema: {err}");
        }
        Self {
            state,
            env,
            alarm_set: std::cell::Cell::new(false),
            in_flight: ledger::InFlight::default(),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let request_id = req
            .headers()
            .get("x-request-id")?
            .unwrap_or_else(http::new_request_id);
        // The answer carries the request id already, so the worker passes it on untouched.
        let response = self.route(req, &request_id).await?;
        http::with_request_id(response, &request_id)
    }

    async fn alarm(&self) -> Result<Response> {
        // The alarm that is running is spent: until it is set again below, it is not set.
        self.alarm_set.set(false);
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
            self.alarm_set.set(true);
        }
        Response::ok("pruned")
    }
}

impl TenantState {
    /// Dispatches a request on the object's internal interface.
    async fn route(&self, mut req: Request, request_id: &str) -> Result<Response> {
        let path = req.path();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (req.method(), segments.as_slice()) {
            (Method::Post, ["sync"]) => self.sync(&mut req, request_id).await,
            (Method::Post, ["log"]) => {
                let entry: LogEntry = http::json_body(&mut req).await?;
                self.append_log(&entry)?;
                self.ensure_alarm().await?;
                Ok(Response::empty()?.with_status(204))
            }
            (Method::Post, ["refused"]) => {
                let refusal: SignedRefusal = http::json_body(&mut req).await?;
                self.record_refusal(&refusal)?;
                self.ensure_alarm().await?;
                Ok(Response::empty()?.with_status(204))
            }
            (Method::Get, ["status"]) => {
                self.metered(&req, "sync:read", request_id, |s| s.status())
            }
            (Method::Get, ["logs"]) => {
                let url = req.url()?;
                self.metered(&req, "sync:read", request_id, |s| s.logs(&url))
            }
            (Method::Post, ["authorize"]) => {
                let scope = req.headers().get("x-syncgate-scope")?.unwrap_or_default();
                self.authorize_call(&req, &scope, request_id)
            }
            (Method::Post, ["customers", "admit"]) => {
                let admission: Admission = http::json_body(&mut req).await?;
                self.admit(&req, &admission, request_id).await
            }
            (Method::Post, ["customers", "record"]) => {
                let entry: AccessEntry = http::json_body(&mut req).await?;
                self.append_access(&entry)?;
                self.ensure_alarm().await?;
                Ok(Response::empty()?.with_status(204))
            }
            (Method::Get, ["access-log"]) => {
                let url = req.url()?;
                self.access_log(&url)
            }
            (Method::Post, ["api-keys"]) => {
                let record: crate::api_keys::ApiKeyRecord = http::json_body(&mut req).await?;
                self.insert_api_key(&record)?;
                Ok(Response::empty()?.with_status(201))
            }
            (Method::Delete, ["api-keys", id]) => {
                let revoked = self.revoke_api_key(id)?;
                Ok(Response::empty()?.with_status(if revoked { 204 } else { 404 }))
            }
            // The operator's reads (the worker checked the admin token): no API key, no meter.
            (Method::Get, ["admin", "status"]) => self.status(),
            (Method::Get, ["admin", "logs"]) => {
                let url = req.url()?;
                self.logs(&url)
            }
            (Method::Get, ["admin", "hourly"]) => self.hourly(http::now_millis()),
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
            _ => http::problem(&Rejection::NotFound, request_id),
        }
    }
}

impl TenantState {
    pub(super) fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Makes sure the prune alarm is set. The object remembers having set (or seen) it, so the
    /// storage is asked once per instance of the object, not on every request: an alarm stays
    /// set until it runs, and [`DurableObject::alarm`] forgets it as it runs (and remembers it
    /// again when it sets the next one). A new instance of the object (after eviction or a
    /// restart) starts not knowing and asks again.
    pub(super) async fn ensure_alarm(&self) -> Result<()> {
        if self.alarm_set.get() {
            return Ok(());
        }
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage
                .set_alarm(std::time::Duration::from_millis(
                    PRUNE_EVERY_MS.unsigned_abs(),
                ))
                .await?;
        }
        self.alarm_set.set(true);
        Ok(())
    }

    pub(super) fn prune(&self, now_ms: i64) -> Result<()> {
        let sql = self.sql();
        sql.exec(
            "DELETE FROM ledger WHERE expires_at < ?",
            vec![int(now_ms / 1000)],
        )?;
        sql.exec(
            "DELETE FROM sync_log WHERE received_at < ?",
            vec![int(now_ms - LOG_RETENTION_MS)],
        )?;
        for class in LogClass::ALL {
            self.trim_log(class)?;
        }
        sql.exec(
            "DELETE FROM refusal_counts WHERE minute < ?",
            vec![int(now_ms / 60_000 - REFUSAL_COUNT_MINUTES)],
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
}

/// `limit` (default [`DEFAULT_PAGE`], at most [`MAX_PAGE`]) and `cursor` (a row number; the
/// first page when absent) of a listing.
pub(super) fn page_params(url: &worker::Url) -> (i64, i64) {
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
pub(super) fn paginate<T>(
    rows: &[T],
    limit: i64,
    seq: impl Fn(&T) -> i64,
) -> (Vec<&T>, Option<String>) {
    let take = usize::try_from(limit).unwrap_or(0);
    let page: Vec<&T> = rows.iter().take(take).collect();
    let next = if rows.len() > take {
        page.last().map(|row| seq(row).to_string())
    } else {
        None
    };
    (page, next)
}
