//! The gate of every API-key route: API keys (hashes only), scopes, token buckets per key and
//! per tenant, and the customer API's access log.
//!
//! Every API-key route (`sync/status`, `sync/logs`, `bootstrap`, the customer routes) passes
//! [`TenantState::admit_key`]: the key must exist, be unrevoked and hold the route's scope, and
//! both its bucket and the tenant's must have a token; both are charged in the same synchronous
//! step. Answers carry the IETF `RateLimit-Policy` and `RateLimit` fields
//! (draft-ietf-httpapi-ratelimit-headers) so clients can pace themselves; a `429` also carries
//! `Retry-After`.
//!
//! Cheap refusals cost little here: a call without a valid key, or over its limit, is only
//! counted (per code and minute); it writes no access-log row, so anyone sending junk cannot
//! push real calls out of the log.

use serde::{Deserialize, Serialize};
use syncgate::Rejection;
use worker::{Request, Response, Result, SqlStorageValue};

use super::{TenantState, int, opt_str, page_params, paginate, str_value};
use crate::http;

/// A customer-API call asking to be let in (`POST /customers/admit`, bearer in `x-syncgate-bearer`,
/// limits in [`RATE_LIMITS_HEADER`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Admission {
    /// The scope the route needs.
    pub scope: String,
    /// The access-log line to write if the call is refused here.
    pub entry: AccessEntry,
}

/// The internal header carrying the tenant's limits to the object: `<perKey>,<perTenant>`.
pub const RATE_LIMITS_HEADER: &str = "x-syncgate-rate-limits";

/// The value of [`RATE_LIMITS_HEADER`] for `limits`.
#[must_use]
pub fn rate_limits_header(limits: syncgate::RateLimits) -> String {
    format!(
        "{},{}",
        limits.per_key_per_minute, limits.per_tenant_per_minute
    )
}

fn rate_limits_of(req: &Request) -> syncgate::RateLimits {
    let mut limits = syncgate::RateLimits::default();
    if let Some(value) = req.headers().get(RATE_LIMITS_HEADER).ok().flatten()
        && let Some((key, tenant)) = value.split_once(',')
        && let (Ok(key), Ok(tenant)) = (key.trim().parse(), tenant.trim().parse())
    {
        limits.per_key_per_minute = key;
        limits.per_tenant_per_minute = tenant;
    }
    limits
}

/// One bucket's state after a call, for the `RateLimit` fields.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLevel {
    /// Tokens per minute (the quota).
    pub limit: u32,
    /// Whole tokens left.
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
}

/// Both buckets' state after a call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meter {
    /// The API key's bucket.
    pub key: BucketLevel,
    /// The tenant's bucket.
    pub tenant: BucketLevel,
}

impl Meter {
    /// Adds `RateLimit-Policy` and `RateLimit` to `headers`: one quota policy per bucket
    /// (`per-key`, `per-tenant`), each `q` requests per `w` = 60 seconds.
    ///
    /// # Errors
    /// When the headers are immutable.
    pub fn apply(&self, headers: &worker::Headers) -> Result<()> {
        headers.set(
            "ratelimit-policy",
            &format!(
                "\"per-key\";q={};w=60, \"per-tenant\";q={};w=60",
                self.key.limit, self.tenant.limit
            ),
        )?;
        headers.set(
            "ratelimit",
            &format!(
                "\"per-key\";r={};t={}, \"per-tenant\";r={};t={}",
                self.key.remaining,
                self.key.reset_seconds,
                self.tenant.remaining,
                self.tenant.reset_seconds
            ),
        )?;
        Ok(())
    }
}

/// Why a key was not admitted, with the buckets' state when the key was known.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    rejection: Rejection,
    meter: Option<Meter>,
    key_id: Option<String>,
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Self {
            rejection,
            meter: None,
            key_id: None,
        }
    }
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
    /// The buckets after this call was charged.
    #[serde(default)]
    pub meter: Option<Meter>,
}

/// A bucket of `limit` tokens per minute holding `tokens`.
fn bucket_level(limit: u32, tokens: f64) -> BucketLevel {
    let tokens = tokens.clamp(0.0, f64::from(limit));
    let per_second = f64::from(limit) / 60.0;
    BucketLevel {
        limit,
        remaining: tokens.floor() as u32,
        reset_seconds: if per_second > 0.0 {
            ((f64::from(limit) - tokens) / per_second).ceil() as u64
        } else {
            0
        },
    }
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
struct ApiKeyRow {
    hash: String,
    scopes: String,
    fields: Option<String>,
    revoked_at: Option<i64>,
}

impl TenantState {
    /// Checks the bearer key passed in `x-syncgate-bearer` for `scope`.
    pub(super) fn authorize(
        &self,
        req: &Request,
        scope: &str,
    ) -> std::result::Result<Grant, Rejection> {
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
            meter: None,
            scopes,
            fields: row
                .fields
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok()),
        })
    }

    /// Authenticates the bearer key for `scope` and charges its bucket and the tenant's.
    fn admit_key(&self, req: &Request, scope: &str) -> std::result::Result<Grant, Refusal> {
        let mut grant = self.authorize(req, scope)?;
        match self.take_tokens(&grant.key_id, rate_limits_of(req)) {
            Ok(meter) => {
                grant.meter = Some(meter);
                Ok(grant)
            }
            Err((rejection, meter)) => Err(Refusal {
                rejection,
                meter: Some(meter),
                key_id: Some(grant.key_id),
            }),
        }
    }

    /// The answer to a refused key: counted (not logged) when nothing authenticated it or it is
    /// over its limit.
    fn refuse(&self, refusal: &Refusal, request_id: &str) -> Result<Response> {
        if matches!(
            refusal.rejection,
            Rejection::Unauthorized | Rejection::RateLimited { .. }
        ) {
            self.count_refusal(refusal.rejection.code(), http::now_millis())?;
        }
        let mut response = http::problem(&refusal.rejection, request_id)?;
        if let Some(meter) = &refusal.meter {
            meter.apply(response.headers_mut())?;
        }
        Ok(response)
    }

    /// A metered read (`sync/status`, `sync/logs`): the key is admitted, then `answer` runs.
    pub(super) fn metered(
        &self,
        req: &Request,
        scope: &str,
        request_id: &str,
        answer: impl FnOnce(&Self) -> Result<Response>,
    ) -> Result<Response> {
        match self.admit_key(req, scope) {
            Ok(grant) => {
                let mut response = answer(self)?;
                if let Some(meter) = &grant.meter {
                    meter.apply(response.headers_mut())?;
                }
                Ok(response)
            }
            Err(refusal) => self.refuse(&refusal, request_id),
        }
    }

    /// `POST /authorize`: admits the key for a route the worker answers itself (`bootstrap`)
    /// and hands back the grant with its meter.
    pub(super) fn authorize_call(
        &self,
        req: &Request,
        scope: &str,
        request_id: &str,
    ) -> Result<Response> {
        match self.admit_key(req, scope) {
            Ok(grant) => http::json(&grant, 200),
            Err(refusal) => self.refuse(&refusal, request_id),
        }
    }

    /// Admits a customer-API call. A refusal of a known key (scope) is written to the access
    /// log here (the call goes no further); one without a valid key, or over its limit, is only
    /// counted.
    pub(super) async fn admit(
        &self,
        req: &Request,
        admission: &Admission,
        request_id: &str,
    ) -> Result<Response> {
        match self.admit_key(req, &admission.scope) {
            Ok(grant) => http::json(&grant, 200),
            Err(refusal) => {
                if !matches!(
                    refusal.rejection,
                    Rejection::Unauthorized | Rejection::RateLimited { .. }
                ) {
                    let mut entry = admission.entry.clone();
                    entry.status = refusal.rejection.status();
                    entry.code = Some(refusal.rejection.code().to_string());
                    entry.api_key_id = refusal.key_id.clone().or_else(|| {
                        req.headers()
                            .get("x-syncgate-bearer")
                            .ok()
                            .flatten()
                            .as_deref()
                            .and_then(crate::api_keys::id_of)
                            .map(str::to_string)
                    });
                    self.append_access(&entry)?;
                }
                self.ensure_alarm().await?;
                self.refuse(&refusal, request_id)
            }
        }
    }

    /// Token buckets: each holds up to `limit` tokens and refills at `limit` per minute. Both the
    /// key's and the tenant's bucket must have a token; both are charged together, atomically
    /// (synchronous SQL, no `await`). Answers the buckets' state either way.
    fn take_tokens(
        &self,
        key_id: &str,
        limits: syncgate::RateLimits,
    ) -> std::result::Result<Meter, (Rejection, Meter)> {
        let sql = self.sql();
        let now = http::now_millis();
        let key_bucket = format!("key:{key_id}");
        let buckets = [
            (key_bucket.as_str(), limits.per_key_per_minute),
            ("tenant", limits.per_tenant_per_minute),
        ];
        let unavailable = |_| {
            let empty = BucketLevel {
                limit: 0,
                remaining: 0,
                reset_seconds: 0,
            };
            (
                Rejection::OriginUnavailable,
                Meter {
                    key: empty,
                    tenant: empty,
                },
            )
        };
        let rows: Vec<BucketRow> = sql
            .exec(
                "SELECT bucket, tokens, updated_at FROM rate_buckets WHERE bucket IN (?, ?)",
                vec![str_value(&key_bucket), str_value("tenant")],
            )
            .and_then(|c| c.to_array())
            .map_err(unavailable)?;
        let mut levels = [0.0_f64; 2];
        let mut wait_ms: f64 = 0.0;
        for ((name, limit), level) in buckets.iter().zip(levels.iter_mut()) {
            let limit = f64::from(*limit);
            let per_ms = limit / 60_000.0;
            let tokens = rows.iter().find(|r| r.bucket == *name).map_or(limit, |r| {
                let elapsed = (now - r.updated_at).max(0) as f64;
                (r.tokens + elapsed * per_ms).min(limit)
            });
            if tokens < 1.0 {
                wait_ms = wait_ms.max((1.0 - tokens) / per_ms);
            }
            *level = tokens;
        }
        let charged = wait_ms <= 0.0;
        let [key_tokens, tenant_tokens] = levels.map(|t| if charged { t - 1.0 } else { t });
        let meter = Meter {
            key: bucket_level(limits.per_key_per_minute, key_tokens),
            tenant: bucket_level(limits.per_tenant_per_minute, tenant_tokens),
        };
        if !charged {
            return Err((
                Rejection::RateLimited {
                    retry_after_seconds: (wait_ms / 1000.0).ceil().max(1.0) as u64,
                },
                meter,
            ));
        }
        for ((name, _), tokens) in buckets.iter().zip([key_tokens, tenant_tokens]) {
            sql.exec(
                "INSERT OR REPLACE INTO rate_buckets (bucket, tokens, updated_at) VALUES (?, ?, ?)",
                vec![str_value(name), SqlStorageValue::Float(tokens), int(now)],
            )
            .map_err(unavailable)?;
        }
        Ok(meter)
    }

    pub(super) fn append_access(&self, entry: &AccessEntry) -> Result<()> {
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

    pub(super) fn access_log(&self, url: &worker::Url) -> Result<Response> {
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

    pub(super) fn insert_api_key(&self, record: &crate::api_keys::ApiKeyRecord) -> Result<()> {
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

    pub(super) fn revoke_api_key(&self, id: &str) -> Result<bool> {
        let cursor = self.sql().exec(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            vec![int(http::now_millis()), str_value(id)],
        )?;
        Ok(cursor.rows_written() > 0)
    }
}
