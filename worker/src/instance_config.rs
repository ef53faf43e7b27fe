//! `InstanceConfig`: the Durable Object that is the one writer of an instance's policy.
//!
//! One object per instance code (named by it), SQLite-backed. It holds the authoritative, sealed
//! policy and its revision. Every admin write runs inside `blockConcurrencyWhile`: the object
//! reads the current policy, applies the change ([`crate::admin::apply`]), stores the new revision
//! and then updates the KV copy the edge routes from, and only then takes the next write. So two
//! operators racing (a revocation and a key addition, say) are applied one after the other, each
//! to the other's result, and KV receives the copies in revision order: no write answered `2xx`
//! is lost and a revocation cannot be undone by a concurrent write.
//!
//! If the KV update fails after the new revision is stored, the write is answered `503` and an
//! alarm keeps retrying the copy (as does the next request to the object), so KV converges on the
//! authoritative policy. KV's own propagation to other locations (up to about a minute) is the
//! remaining delay before every location routes with a change; `docs/security.md` gives the
//! figures for key revocation.
//!
//! An instance created before this object existed has only its KV copy; the object adopts it on
//! first use.

use serde::Deserialize;
use serde_json::Value;
use syncgate::Rejection;
use worker::{
    DurableObject, Env, Method, Request, Response, Result, SqlStorage, SqlStorageValue, State,
    Storage,
};

use crate::admin::{self, PolicyWrite};
use crate::http;
use crate::instances::Instances;

/// The Durable Object binding.
pub const BINDING: &str = "INSTANCE_CONFIG";
/// Delay before retrying a failed KV copy, in milliseconds.
const FLUSH_RETRY_MS: u64 = 5_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS policy (
  id INTEGER PRIMARY KEY CHECK (id = 1), instance TEXT NOT NULL, stored TEXT,
  revision INTEGER NOT NULL, flushed INTEGER NOT NULL);
";

/// An admin request for the object.
#[derive(Debug)]
pub struct Call<'a> {
    /// The admin method.
    pub method: Method,
    /// The path after the instance (`/`, `/keys`, `/keys/{kid}`), or `/policy` to read it.
    pub path: &'a str,
    /// The request body.
    pub body: Vec<u8>,
    /// The request's `If-Match`, when sent.
    pub if_match: Option<&'a str>,
    /// The edge request id.
    pub request_id: &'a str,
}

/// Sends `call` to `instance`'s object and returns its answer.
///
/// # Errors
/// When the binding is missing or the object cannot be reached.
pub async fn call(env: &Env, instance: &str, call: &Call<'_>) -> Result<Response> {
    let mut headers = vec![
        ("x-request-id", call.request_id),
        ("x-syncgate-instance", instance),
    ];
    if let Some(if_match) = call.if_match {
        headers.push(("if-match", if_match));
    }
    let body =
        (!call.body.is_empty()).then(|| js_sys::Uint8Array::from(call.body.as_slice()).into());
    let req = http::internal_request(call.method.clone(), call.path, &headers, body)?;
    env.durable_object(BINDING)?
        .get_by_name(instance)?
        .fetch_with_request(req)
        .await
}

/// The admin view of `instance`'s policy (secrets left out) and its revision; `None` when the
/// instance does not exist.
///
/// # Errors
/// When the object cannot be reached or answers something unexpected.
pub async fn view(env: &Env, instance: &str, request_id: &str) -> Result<Option<(Value, u64)>> {
    let mut answer = call(
        env,
        instance,
        &Call {
            method: Method::Get,
            path: "/policy",
            body: Vec::new(),
            if_match: None,
            request_id,
        },
    )
    .await?;
    match answer.status_code() {
        200 => {
            let revision = answer
                .headers()
                .get("etag")?
                .and_then(|tag| tag.trim_matches('"').parse().ok())
                .unwrap_or(0);
            Ok(Some((answer.json().await?, revision)))
        }
        404 => Ok(None),
        status => Err(worker::Error::RustError(format!(
            "instance config answered {status}"
        ))),
    }
}

#[allow(missing_docs)] // the macro adds undocumented JS glue
mod object {
    use worker::{Env, State, durable_object};

    /// The per-instance policy writer.
    #[durable_object]
    pub struct InstanceConfig {
        pub(super) state: State,
        pub(super) env: Env,
    }
}
pub use object::InstanceConfig;

#[derive(Deserialize)]
struct PolicyRow {
    instance: String,
    stored: Option<String>,
    revision: i64,
    flushed: i64,
}

impl PolicyRow {
    fn revision(&self) -> u64 {
        u64::try_from(self.revision).unwrap_or(0)
    }
}

fn read_row(sql: &SqlStorage) -> Result<Option<PolicyRow>> {
    let rows: Vec<PolicyRow> = sql
        .exec(
            "SELECT instance, stored, revision, flushed FROM policy WHERE id = 1",
            None,
        )?
        .to_array()?;
    Ok(rows.into_iter().next())
}

fn stored_value(stored: Option<&str>) -> SqlStorageValue {
    stored.map_or(SqlStorageValue::Null, |s| {
        SqlStorageValue::String(s.to_string())
    })
}

fn revision_value(revision: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(revision).unwrap_or(i64::MAX))
}

/// Copies the stored policy to KV, then marks that revision as copied.
async fn flush(sql: &SqlStorage, instances: &Instances, row: &PolicyRow) -> Result<()> {
    instances
        .put_stored(&row.instance, row.stored.as_deref())
        .await?;
    sql.exec(
        "UPDATE policy SET flushed = 1 WHERE revision = ?",
        vec![revision_value(row.revision())],
    )?;
    Ok(())
}

/// One admin request, run while the object admits nothing else.
struct Job {
    storage: Storage,
    env: Env,
    instance: String,
    method: Method,
    path: String,
    body: Vec<u8>,
    if_match: Option<String>,
    request_id: String,
}

impl Job {
    async fn run(self) -> Result<Response> {
        let sql = self.storage.sql();
        let instances = Instances::from_env(&self.env)?;
        let row = match read_row(&sql)? {
            Some(row) => row,
            None => {
                // First use: adopt the copy an earlier version of the edge kept in KV alone.
                let stored = instances.load_stored(&self.instance).await?;
                let revision = match stored.as_deref() {
                    Some(text) => instances.open(&self.instance, text)?.1,
                    None => 0,
                };
                sql.exec(
                    "INSERT INTO policy (id, instance, stored, revision, flushed) VALUES (1, ?, ?, ?, 1)",
                    vec![
                        SqlStorageValue::String(self.instance.clone()),
                        stored_value(stored.as_deref()),
                        revision_value(revision),
                    ],
                )?;
                PolicyRow {
                    instance: self.instance.clone(),
                    stored,
                    revision: i64::try_from(revision).unwrap_or(i64::MAX),
                    flushed: 1,
                }
            }
        };
        if row.flushed == 0 {
            // A write whose copy did not reach KV (a failure, or the object was reset between
            // storing and copying): copy it before anything else.
            flush(&sql, &instances, &row).await?;
        }
        let current = match row.stored.as_deref() {
            Some(text) => Some(instances.open(&self.instance, text)?.0),
            None => None,
        };
        let revision = row.revision();
        let segments: Vec<&str> = self
            .path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        if self.method == Method::Get && segments == ["policy"] {
            return match &current {
                Some(policy) => self.answer(200, Some(&admin::redacted(policy)?), revision),
                None => http::problem(&Rejection::UnknownInstance, &self.request_id),
            };
        }
        let Some(write) = PolicyWrite::parse(&self.method, &segments) else {
            return http::problem(&Rejection::NotFound, &self.request_id);
        };
        if let Some(if_match) = &self.if_match
            && !admin::if_match_admits(if_match, revision, current.is_some())
        {
            let rejection = Rejection::PreconditionFailed {
                current_revision: current.is_some().then_some(revision),
            };
            return http::problem(&rejection, &self.request_id);
        }
        let applied = match admin::apply(&write, &self.instance, current, &self.body) {
            Ok(applied) => applied,
            Err(rejection) => return http::problem(&rejection, &self.request_id),
        };
        let next = PolicyRow {
            instance: row.instance,
            stored: applied
                .policy
                .as_ref()
                .map(|policy| instances.seal(policy, revision.saturating_add(1)))
                .transpose()?,
            revision: i64::try_from(revision.saturating_add(1)).unwrap_or(i64::MAX),
            flushed: 0,
        };
        sql.exec(
            "UPDATE policy SET stored = ?, revision = ?, flushed = 0 WHERE id = 1",
            vec![
                stored_value(next.stored.as_deref()),
                revision_value(next.revision()),
            ],
        )?;
        if let Err(err) = flush(&sql, &instances, &next).await {
            worker::console_error!(
                "policy copy of {} to KV failed, retrying: {err}",
                self.instance
            );
            self.storage
                .set_alarm(std::time::Duration::from_millis(FLUSH_RETRY_MS))
                .await?;
            return http::problem(&Rejection::OriginUnavailable, &self.request_id);
        }
        self.answer(applied.status, applied.answer.as_ref(), next.revision())
    }

    fn answer(&self, status: u16, body: Option<&Value>, revision: u64) -> Result<Response> {
        let mut response = match body {
            Some(body) => http::json(body, status)?,
            None => Response::empty()?.with_status(status),
        };
        response.headers_mut().set("etag", &admin::etag(revision))?;
        Ok(response)
    }
}

impl DurableObject for InstanceConfig {
    fn new(state: State, env: Env) -> Self {
        if let Err(err) = state.storage().sql().exec(SCHEMA, None) {
            worker::console_error!("instance config schema: {err}");
        }
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let headers = req.headers();
        let request_id = headers
            .get("x-request-id")?
            .unwrap_or_else(http::new_request_id);
        let Some(instance) = headers.get("x-syncgate-instance")? else {
            return http::problem(&Rejection::NotFound, &request_id);
        };
        let if_match = headers.get("if-match")?;
        let job = Job {
            storage: self.state.storage(),
            env: self.env.clone(),
            instance,
            method: req.method(),
            path: req.path(),
            body: req.bytes().await?,
            if_match,
            request_id: request_id.clone(),
        };
        // Errors are turned into answers inside: an `Err` out of `blockConcurrencyWhile` would
        // reset the object.
        self.state
            .block_concurrency_while(async move {
                Ok(match job.run().await {
                    Ok(response) => response,
                    Err(err) => {
                        worker::console_error!("admin write {request_id} failed: {err}");
                        http::problem(&Rejection::OriginUnavailable, &request_id)?
                    }
                })
            })
            .await
    }

    async fn alarm(&self) -> Result<Response> {
        let sql = self.state.storage().sql();
        if let Some(row) = read_row(&sql)?
            && row.flushed == 0
        {
            let instances = Instances::from_env(&self.env)?;
            if let Err(err) = flush(&sql, &instances, &row).await {
                worker::console_error!("policy copy of {} still failing: {err}", row.instance);
                self.state
                    .storage()
                    .set_alarm(std::time::Duration::from_millis(FLUSH_RETRY_MS))
                    .await?;
            }
        }
        Response::ok("flushed")
    }
}
