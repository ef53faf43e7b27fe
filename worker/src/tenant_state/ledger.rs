//! The signed-sync path inside the object: reserve the nonce and payload hash (atomically,
//! with the section versions), forward to the origin, then commit or release.
//!
//! **Takeover.** A reservation normally ends in a commit or a release. If the edge stops in the
//! middle of a forward (an isolate evicted, a deploy, a crash), neither happens and the
//! reservation would block the sender's retries until it expires. A reservation older than the
//! origin timeout plus [`TAKEOVER_MARGIN_MS`] cannot have a forward still running (every forward
//! is cut off at the timeout), so a retry of the *same* request (the same nonce and payload
//! hash, hence the same signed bytes) takes it over: it is forwarded again with the same
//! `Idempotency-Key` and committed or released on the answer. The origin de-duplicates by that
//! key, so a sync it had already applied is answered from its record and not applied twice. The
//! edge's own version check is skipped for a takeover: the reservation already passed it, and
//! the origin, which knows whether it applied the first attempt, answers `stale_version` itself
//! when it did not and a newer version has since been applied.
//!
//! **One write to reserve.** The check is one read (the live rows of the nonce and payload hash,
//! and the newest version of each section, applied or in flight); the reservation is one
//! `INSERT` of both rows, the nonce row carrying the sections and version in flight. The
//! versions in flight are therefore exactly the unapplied reserved rows: a commit (`applied =
//! 1`), a release (rows deleted) and a takeover (rows handed to the retry) move them with the
//! reservation, in the same statement. Read and write run in one step of the object with no
//! `await` between them, so of concurrent requests with one nonce exactly one reserves; the
//! step's writes are made durable before the forward leaves (the object's output gate), so an
//! edge that stops mid-forward leaves a reservation a retry can take over. That durable write
//! before the forward, and the one after the answer, are the floor of this design.
//!
//! **Instance binding.** Standard Webhooks signs neither the path nor the instance, so a payload
//! signed for one instance would verify on any instance of the same tenant. The ledger therefore
//! records where a nonce and payload hash were first seen (applied, reserved, or signed but
//! refused by that instance's policy) and refuses them on any other instance.

use serde::{Deserialize, Serialize};
use syncgate::idempotency::{SyncApplied, sync_key};
use syncgate::{Rejection, TenantPolicy, Verdict, check_section_versions};
use worker::{Method, Request, Response, Result, SqlStorageValue};

use super::{LogEntry, LogStatus, SignatureResult, TenantState, int, str_value, u64_value};
use crate::http;
use crate::origin::{OriginAnswer, OriginCall, forward_bytes};

/// What the worker asks the object to reserve, forward and settle for one verified sync: built
/// from the core's [`Verdict`] and the routed policy, sent ahead of the body in one request body
/// (see [`Reservation::frame`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
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
    /// The tenant's blocked module groups, passed to the origin for module recomputation.
    pub blocked_groups: Vec<String>,
    /// For a provider delivery (`POST /v1/{instance}/hooks/{provider}`): where and how it is
    /// forwarded. `None` for a sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<crate::hooks::HookRoute>,
}

/// How long after the origin timeout a reservation is presumed abandoned, in milliseconds.
pub const TAKEOVER_MARGIN_MS: i64 = 1_000;

/// How a sync got hold of its reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// A new reservation.
    Fresh,
    /// An abandoned reservation of the same request, taken over.
    TakenOver {
        /// The request id that made the reservation.
        previous_request_id: String,
    },
}

/// A signed request refused by its instance's policy: logged, and its nonce and payload hash
/// bound to that instance (`POST /refused`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedRefusal {
    /// The log row.
    pub entry: LogEntry,
    /// The instance that refused it.
    pub instance: String,
    /// Ledger key of the nonce.
    pub nonce_key: String,
    /// Ledger key of the payload hash.
    pub payload_key: String,
    /// Ledger expiry, Unix seconds.
    pub expires_at: i64,
}

impl Reservation {
    /// The reservation for a request the core accepted (`verdict`) under `policy`.
    #[must_use]
    pub fn from_verdict(
        verdict: &Verdict,
        policy: &TenantPolicy,
        request_id: &str,
        received_at: i64,
        source_ip: Option<String>,
    ) -> Self {
        Self {
            request_id: request_id.to_string(),
            received_at,
            source_ip,
            instance: policy.instance.clone(),
            tenant: policy.tenant.clone(),
            origin: policy.origin.clone(),
            key_id: verdict.key_id.clone(),
            nonce_key: verdict.replay.nonce_key.clone(),
            payload_key: verdict.replay.payload_key.clone(),
            expires_at: verdict.replay.expires_at,
            sections: verdict.sections.iter().map(|s| (*s).to_string()).collect(),
            payload_type: verdict.payload_type.as_str().to_string(),
            payload_version: verdict.payload_version,
            payload_hash: verdict.payload_hash.clone(),
            blocked_groups: policy.blocked_module_groups.clone(),
            hook: None,
        }
    }

    /// The head of the one body the object gets: the reservation's JSON length (4 bytes,
    /// big-endian), then its JSON; the sync body as received follows it.
    ///
    /// # Errors
    /// When the reservation cannot be serialised.
    pub fn frame_head(&self) -> serde_json::Result<Vec<u8>> {
        let meta = serde_json::to_vec(self)?;
        let len = u32::try_from(meta.len()).unwrap_or(u32::MAX);
        let mut head = Vec::with_capacity(4 + meta.len());
        head.extend_from_slice(&len.to_be_bytes());
        head.extend_from_slice(&meta);
        Ok(head)
    }

    /// The reservation of a framed head ([`Reservation::frame_head`]) and where its body starts;
    /// `None` when it is not one. `head` may run on into the body: only the head is read.
    #[must_use]
    pub fn unframe(head: &[u8]) -> Option<(Self, usize)> {
        let (len, rest) = head.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        let meta = rest.get(..len)?;
        Some((serde_json::from_slice(meta).ok()?, 4 + len))
    }

    /// Splits a framed body the object received as JavaScript bytes: the reservation (copied
    /// into wasm) and a view of the sync body (not copied).
    #[must_use]
    pub fn unframe_js(framed: &js_sys::Uint8Array) -> Option<(Self, js_sys::Uint8Array)> {
        let total = framed.length();
        if total < 4 {
            return None;
        }
        let len_bytes: [u8; 4] = framed.subarray(0, 4).to_vec().try_into().ok()?;
        let len = u32::from_be_bytes(len_bytes);
        let end = len.checked_add(4).filter(|end| *end <= total)?;
        let (meta, _) = Self::unframe(&framed.subarray(0, end).to_vec())?;
        Some((meta, framed.subarray(end, total)))
    }
}

#[derive(Deserialize)]
struct LedgerRow {
    kind: String,
    request_id: String,
    applied: i64,
    /// When it was reserved (Unix ms); `None` for a request that was only seen (refused).
    reserved_at: Option<i64>,
    /// The instance it was first seen on (`None` for rows older than instance binding).
    instance: Option<String>,
}

impl LedgerRow {
    fn rejection(&self, applied: bool) -> Rejection {
        let original_request_id = Some(self.request_id.clone());
        if self.kind == "nonce" {
            Rejection::ReplayedNonce {
                original_request_id,
                applied,
            }
        } else {
            Rejection::DuplicatePayload {
                original_request_id,
                applied,
            }
        }
    }
}

#[derive(Deserialize)]
struct VersionRow {
    section: String,
    version: i64,
}

/// A row of the reservation check: a ledger row (`kind` nonce or payload) or, with `kind`
/// `version`, a section and its newest version.
#[derive(Deserialize)]
struct ReserveRow {
    kind: String,
    request_id: Option<String>,
    applied: Option<i64>,
    reserved_at: Option<i64>,
    instance: Option<String>,
    section: Option<String>,
    version: Option<i64>,
}

enum Found {
    Ledger(LedgerRow),
    Version(VersionRow),
}

impl ReserveRow {
    fn split(self) -> Found {
        if self.kind == "version" {
            Found::Version(VersionRow {
                section: self.section.unwrap_or_default(),
                version: self.version.unwrap_or(0),
            })
        } else {
            Found::Ledger(LedgerRow {
                kind: self.kind,
                request_id: self.request_id.unwrap_or_default(),
                applied: self.applied.unwrap_or(0),
                reserved_at: self.reserved_at,
                instance: self.instance,
            })
        }
    }
}

/// `rows` groups of `columns` positional placeholders: `(?, ?), (?, ?)`.
fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

#[derive(Deserialize)]
struct LastSyncRow {
    at: i64,
    payload_type: String,
    payload_version: i64,
    request_id: String,
    key_id: String,
}

impl TenantState {
    /// Atomically checks nonce, payload and section versions, then reserves nonce and payload
    /// (or takes over an abandoned reservation of the same request, see the module docs).
    /// No `await` inside: the object runs it as one step.
    pub(super) fn reserve(
        &self,
        meta: &Reservation,
        now_ms: i64,
    ) -> std::result::Result<Claim, Rejection> {
        let sql = self.sql();
        let now = now_ms / 1000;
        // One read for the whole check: the live ledger rows of this nonce and payload hash, and
        // the newest version of each section, applied or in flight (a v5 arriving while v6 is
        // being forwarded is already stale, so two deliveries racing can never roll config back).
        let found: Vec<ReserveRow> = sql
            .exec(
                "SELECT kind, request_id, applied, reserved_at, instance, NULL AS section, NULL AS version
                   FROM ledger WHERE key IN (?, ?) AND expires_at >= ?
                 UNION ALL
                 SELECT 'version', NULL, NULL, NULL, NULL, section, MAX(version) FROM (
                   SELECT section, version FROM section_versions
                   UNION ALL
                   SELECT s.value AS section, l.version AS version
                     FROM ledger AS l, json_each(l.sections) AS s
                     WHERE l.applied = 0 AND l.sections IS NOT NULL AND l.expires_at >= ?
                   UNION ALL
                   SELECT section, version FROM pending_versions WHERE expires_at >= ?)
                 GROUP BY section",
                vec![
                    str_value(&meta.nonce_key),
                    str_value(&meta.payload_key),
                    int(now),
                    int(now),
                    int(now),
                ],
            )
            .and_then(|c| c.to_array())
            .map_err(|_| Rejection::OriginUnavailable)?;
        let (mut rows, mut versions) = (Vec::new(), Vec::new());
        for row in found {
            match row.split() {
                Found::Ledger(entry) => rows.push(entry),
                Found::Version(version) => versions.push(version),
            }
        }
        // The nonce's row first: a replay is reported as a replayed nonce before a duplicate.
        rows.sort_by_key(|row| row.kind == "payload");
        if let Some(row) = rows.iter().find(|row| row.applied != 0) {
            return Err(row.rejection(true));
        }
        if let Some(row) = rows
            .iter()
            .find(|row| row.instance.as_deref().is_some_and(|i| i != meta.instance))
        {
            return Err(row.rejection(false));
        }
        let reserved: Vec<&LedgerRow> = rows.iter().filter(|r| r.reserved_at.is_some()).collect();
        if let Some(first) = reserved.first() {
            let stale_before = now_ms
                .saturating_sub(
                    i64::try_from(crate::origin::timeout_ms(&self.env)).unwrap_or(i64::MAX),
                )
                .saturating_sub(TAKEOVER_MARGIN_MS);
            let same_request =
                reserved.len() == 2 && reserved.iter().all(|r| r.request_id == first.request_id);
            let abandoned = reserved
                .iter()
                .all(|r| r.reserved_at.is_some_and(|at| at <= stale_before));
            if !(same_request && abandoned) {
                return Err(first.rejection(false));
            }
            let previous_request_id = first.request_id.clone();
            let taken = sql
                .exec(
                    "UPDATE ledger SET request_id = ?, reserved_at = ?
                     WHERE key IN (?, ?) AND request_id = ? AND applied = 0",
                    vec![
                        str_value(&meta.request_id),
                        int(now_ms),
                        str_value(&meta.nonce_key),
                        str_value(&meta.payload_key),
                        str_value(&previous_request_id),
                    ],
                )
                .map_err(|_| Rejection::OriginUnavailable)?;
            if taken.rows_written() != 2 {
                return Err(first.rejection(false));
            }
            sql.exec(
                "UPDATE pending_versions SET request_id = ?, expires_at = ? WHERE request_id = ?",
                vec![
                    str_value(&meta.request_id),
                    int(meta.expires_at),
                    str_value(&previous_request_id),
                ],
            )
            .map_err(|_| Rejection::OriginUnavailable)?;
            return Ok(Claim::TakenOver {
                previous_request_id,
            });
        }
        let sections: Vec<&str> = meta.sections.iter().map(String::as_str).collect();
        check_section_versions(&sections, meta.payload_version, |section| {
            versions
                .iter()
                .find(|v| v.section == section)
                .and_then(|v| u64::try_from(v.version).ok())
        })?;
        // One write reserves both keys; the nonce row carries the sections and version in
        // flight (a JSON array: `json_each` reads it back in the check above).
        let sections = if meta.sections.is_empty() {
            SqlStorageValue::Null
        } else {
            serde_json::to_string(&meta.sections)
                .map(SqlStorageValue::String)
                .map_err(|_| Rejection::OriginUnavailable)?
        };
        sql.exec(
            "INSERT OR REPLACE INTO ledger (key, kind, request_id, applied, expires_at, reserved_at, instance, sections, version)
             VALUES (?1, 'nonce', ?3, 0, ?4, ?5, ?6, ?7, ?8), (?2, 'payload', ?3, 0, ?4, ?5, ?6, NULL, NULL)",
            vec![
                str_value(&meta.nonce_key),
                str_value(&meta.payload_key),
                str_value(&meta.request_id),
                int(meta.expires_at),
                int(now_ms),
                str_value(&meta.instance),
                sections,
                u64_value(meta.payload_version),
            ],
        )
        .map_err(|_| Rejection::OriginUnavailable)?;
        Ok(Claim::Fresh)
    }

    /// Records a signed request its instance refused: the log row, and its nonce and payload
    /// hash as seen on that instance (never overwriting a reservation or an applied entry).
    pub(super) fn record_refusal(&self, refusal: &SignedRefusal) -> Result<()> {
        self.append_log(&refusal.entry)?;
        for (key, kind) in [
            (&refusal.nonce_key, "nonce"),
            (&refusal.payload_key, "payload"),
        ] {
            self.sql().exec(
                "INSERT INTO ledger (key, kind, request_id, applied, expires_at, reserved_at, instance)
                 VALUES (?, ?, ?, 0, ?, NULL, ?) ON CONFLICT (key) DO NOTHING",
                vec![
                    str_value(key),
                    str_value(kind),
                    str_value(&refusal.entry.request_id),
                    int(refusal.expires_at),
                    str_value(&refusal.instance),
                ],
            )?;
        }
        Ok(())
    }

    /// Ends a reservation: `statement` acts on its two ledger rows (bound as key, key, request
    /// id). Answers whether the statement found the rows, i.e. whether this request still held
    /// the reservation (a retry may have taken it over). Its in-flight versions end with it:
    /// they are its unapplied nonce row.
    fn settle(&self, meta: &Reservation, statement: &str) -> Result<bool> {
        let cursor = self.sql().exec(
            statement,
            vec![
                str_value(&meta.nonce_key),
                str_value(&meta.payload_key),
                str_value(&meta.request_id),
            ],
        )?;
        Ok(cursor.rows_written() > 0)
    }

    /// The origin did not apply it: the sender's retry (same nonce) must go through.
    pub(super) fn release(&self, meta: &Reservation) -> Result<()> {
        self.settle(
            meta,
            "DELETE FROM ledger WHERE key IN (?, ?) AND request_id = ? AND applied = 0",
        )?;
        // Versions a reservation made before they moved onto its nonce row (schema version
        // 3) are dropped here, or a retry of the same version would read as stale. A rare path
        // (the origin did not apply it), and an empty table once those have drained.
        self.sql().exec(
            "DELETE FROM pending_versions WHERE request_id = ?",
            vec![str_value(&meta.request_id)],
        )?;
        Ok(())
    }

    /// The origin applied it: mark the entries applied and record versions, last sync and key
    /// use (a provider delivery carries no sections and is no config sync: only its log row).
    /// Answers `false`, recording nothing, when the reservation is no longer this request's: a
    /// retry took it over and records the same application itself.
    pub(super) fn commit(&self, meta: &Reservation) -> Result<bool> {
        if !self.settle(
            meta,
            "UPDATE ledger SET applied = 1 WHERE key IN (?, ?) AND request_id = ?",
        )? {
            return Ok(false);
        }
        if meta.hook.is_some() {
            self.append_log(&Self::log_for(meta, None))?;
            return Ok(true);
        }
        let sql = self.sql();
        let now_ms = http::now_millis();
        if !meta.sections.is_empty() {
            let mut bindings = Vec::with_capacity(3 * meta.sections.len());
            for section in &meta.sections {
                bindings.extend([
                    str_value(section),
                    u64_value(meta.payload_version),
                    str_value(&meta.request_id),
                ]);
            }
            sql.exec(
                &format!(
                    "INSERT INTO section_versions (section, version, request_id) VALUES {}
                     ON CONFLICT (section) DO UPDATE SET version = excluded.version, request_id = excluded.request_id
                     WHERE excluded.version > section_versions.version",
                    placeholders(meta.sections.len(), 3)
                ),
                bindings,
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
        self.append_log(&Self::log_for(meta, None))?;
        Ok(true)
    }

    pub(super) fn log_for(meta: &Reservation, rejection: Option<&Rejection>) -> LogEntry {
        LogEntry {
            request_id: meta.request_id.clone(),
            received_at: meta.received_at,
            source_ip: meta.source_ip.clone(),
            payload_type: Some(meta.payload_type.clone()),
            payload_version: meta.hook.is_none().then_some(meta.payload_version),
            key_id: Some(meta.key_id.clone()),
            signature_result: SignatureResult::Valid,
            status: if rejection.is_some() {
                LogStatus::Rejected
            } else {
                LogStatus::Applied
            },
            code: rejection.map(|r| r.code().to_string()),
            message: rejection.map(ToString::to_string),
        }
    }

    pub(super) async fn sync(&self, req: &mut Request, request_id: &str) -> Result<Response> {
        let framed = crate::host::body_bytes(req).await?;
        let Some((meta, body)) = Reservation::unframe_js(&framed) else {
            return http::problem(&Rejection::NotFound, request_id);
        };
        match self.reserve(&meta, http::now_millis()) {
            Ok(Claim::Fresh) => {}
            Ok(Claim::TakenOver {
                previous_request_id,
            }) => worker::console_log!(
                "sync {request_id} takes over the abandoned reservation of {previous_request_id}"
            ),
            Err(rejection) => {
                self.append_log(&Self::log_for(&meta, Some(&rejection)))?;
                self.ensure_alarm().await?;
                return http::problem(&rejection, request_id);
            }
        }
        // From here on the reservation is held: every way out either commits it or releases it.
        let outcome = self.forward_and_settle(&meta, body, request_id).await;
        match outcome {
            Ok(response) => Ok(response),
            Err(err) => {
                worker::console_error!("sync {request_id} failed after reserving: {err}");
                self.release(&meta)?;
                let rejection = Rejection::OriginUnavailable;
                self.append_log(&Self::log_for(&meta, Some(&rejection)))?;
                http::problem(&rejection, request_id)
            }
        }
    }

    /// Forwards a reserved sync and commits (origin applied it) or releases (it did not).
    async fn forward_and_settle(
        &self,
        meta: &Reservation,
        body: js_sys::Uint8Array,
        request_id: &str,
    ) -> Result<Response> {
        self.ensure_alarm().await?;
        let Some(origin) = meta.origin.as_deref() else {
            return Err(worker::Error::RustError(
                "the instance has no origin".into(),
            ));
        };
        let call = match &meta.hook {
            Some(hook) => hook.origin_call(meta, origin, Vec::new(), request_id),
            None => OriginCall {
                method: Method::Post,
                base: origin,
                path: format!("/origin/v1/{}/sync", meta.tenant),
                query: None,
                body: Vec::new(),
                content_type: Some("application/json".into()),
                request_id,
                tenant: &meta.tenant,
                instance: &meta.instance,
                key_id: &meta.key_id,
                idempotency_key: Some(sync_key(&meta.payload_hash).to_string()),
                fields: None,
                if_match: None,
                blocked_groups: Some(meta.blocked_groups.join(",")),
            },
        };
        // The body is passed on as the JavaScript bytes the object received, and the worker
        // hashed it when it verified it: the attestation's `Content-Digest` is that digest.
        let Some(sha256) = crate::digest::from_hex(&meta.payload_hash) else {
            return Err(worker::Error::RustError(
                "the reservation's payload hash is not a sha-256".into(),
            ));
        };
        let answer = forward_bytes(&self.env, &call, &body, sha256).await?;
        match answer {
            OriginAnswer::Answered { status, .. } if (200..300).contains(&status) => {
                // Applied at the origin: from here the answer is `applied` whatever else fails,
                // and a failed commit is only logged (the origin's idempotency covers a retry).
                match self.commit(meta) {
                    Ok(true) => {}
                    Ok(false) => worker::console_log!(
                        "sync {request_id} was applied; its reservation had been taken over"
                    ),
                    Err(err) => {
                        worker::console_error!("commit of applied sync {request_id} failed: {err}");
                    }
                }
                match &meta.hook {
                    Some(hook) => hook.applied(request_id),
                    None => http::json(
                        &SyncApplied::new(
                            request_id,
                            &meta.payload_type,
                            meta.payload_version,
                            Some(&meta.key_id),
                        ),
                        200,
                    ),
                }
            }
            OriginAnswer::Answered {
                status,
                content_type,
                body,
                ..
            } => {
                // The origin refused the request itself (its own validation, a version it
                // already has): nothing was applied, so the reservation goes and the origin's
                // answer is passed on as it is.
                self.release(meta)?;
                // An answer that is not one of our problem documents is logged under
                // `origin_unavailable`, the code of a link that did not keep the contract.
                let problem = syncgate::error::Problem::parse(&body)
                    .filter(|problem| problem.info().is_some());
                let mut entry = Self::log_for(meta, None);
                entry.status = LogStatus::Rejected;
                entry.code = Some(problem.as_ref().map_or_else(
                    || Rejection::OriginUnavailable.code().to_string(),
                    |p| p.code.to_string(),
                ));
                entry.message = Some(problem.map_or_else(
                    || format!("origin answered {status}"),
                    |p| p.detail.into_owned(),
                ));
                self.append_log(&entry)?;
                let headers = worker::Headers::new();
                headers.set(
                    "content-type",
                    content_type
                        .as_deref()
                        .unwrap_or(syncgate::error::PROBLEM_CONTENT_TYPE),
                )?;
                Ok(Response::from_bytes(body)?
                    .with_status(status)
                    .with_headers(headers))
            }
            OriginAnswer::Unavailable { reason } => {
                worker::console_log!("origin unavailable for {request_id}: {reason}");
                self.release(meta)?;
                let rejection = Rejection::OriginUnavailable;
                self.append_log(&Self::log_for(meta, Some(&rejection)))?;
                http::problem(&rejection, request_id)
            }
        }
    }

    pub(super) fn status(&self) -> Result<Response> {
        let refused = self.refused_last_hour(http::now_millis())?;
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
                "refusedLastHour": refused,
            }),
            None => serde_json::json!({
                "lastSyncAt": null, "lastPayloadType": null, "lastPayloadVersion": null,
                "lastRequestId": null, "lastKeyId": null, "refusedLastHour": refused,
            }),
        };
        http::json(&body, 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reservation() -> Reservation {
        Reservation {
            request_id: "req_1".into(),
            received_at: 1,
            source_ip: None,
            instance: "acme-eu1".into(),
            tenant: "acme".into(),
            origin: Some("http://127.0.0.1:8788".into()),
            key_id: "k1".into(),
            nonce_key: "n".into(),
            payload_key: "p".into(),
            expires_at: 2,
            sections: vec!["branding".into()],
            payload_type: "branding".into(),
            payload_version: 3,
            payload_hash: "ab".into(),
            blocked_groups: vec![],
            hook: None,
        }
    }

    #[test]
    fn a_framed_head_splits_back_into_reservation_and_body() {
        let mut framed = reservation().frame_head().unwrap();
        framed.extend_from_slice(b"{\"x\":1}");
        let (back, at) = Reservation::unframe(&framed).unwrap();
        assert_eq!(back.request_id, "req_1");
        assert_eq!(back.payload_version, 3);
        assert_eq!(&framed[at..], b"{\"x\":1}");
    }

    #[test]
    fn a_damaged_frame_is_refused() {
        let mut framed = reservation().frame_head().unwrap();
        framed.extend_from_slice(b"body");
        assert!(Reservation::unframe(&framed[..2]).is_none());
        assert!(Reservation::unframe(&framed[..10]).is_none());
        assert!(Reservation::unframe(b"\xff\xff\xff\xffabc").is_none());
    }
}
