//! The customer API's gate: API keys (hashes only), scopes, token buckets per key and per
//! tenant, and the access log.

use serde::{Deserialize, Serialize};
use syncgate::Rejection;
use worker::{Request, Response, Result, SqlStorageValue};

use super::{TenantState, int, opt_str, page_params, paginate, str_value};
use crate::http;

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
            scopes,
            fields: row
                .fields
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok()),
        })
    }

    pub(super) fn authorized(
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
    pub(super) async fn admit(
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
    pub(super) fn take_tokens(
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
