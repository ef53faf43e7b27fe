//! The signed-sync path inside the object: reserve the nonce and payload hash (atomically,
//! with the section versions), forward to the origin, then commit or release.
//!
//! **Reserved in memory, committed in storage.** The object is the one instance of its tenant's
//! state. It runs one event at a time, and events interleave only where one awaits (the body
//! read, the forward), so the check (one read of the ledger and the object's [`InFlight`] map)
//! and the reservation (an entry in that map), with no `await` between them, decide which of
//! concurrent requests with one nonce or one payload goes on: exactly one. The versions in
//! flight are read from the same map, so a v5 arriving while v6 is being forwarded is stale at
//! once. Nothing is written before the forward, so the forward does not wait on the object's
//! output gate: a durable write there was the larger half of what the edge added over a bare
//! Worker (BENCHMARKS.md, platform floor). When the origin confirms, the commit (the applied
//! ledger rows, section versions, last sync, key use and the log row) is written before the
//! answer, which the output gate holds until it is durable: an answered sync is a recorded one,
//! and every later request, a replay or a status read, finds it.
//!
//! **After a crash.** An object that stops in the middle of a forward loses its reservation
//! with its memory. The sender's retry of the same signed request is then forwarded again at
//! once, with the same `Idempotency-Key` (from the payload hash); the origin, which
//! de-duplicates by that key, answers an application it already made from its record, so it is
//! applied at most once, and the commit of the retry's answer brings the edge's ledger,
//! versions, key use and log into line.
//!
//! **Stored reservations.** An edge before this design wrote its reservations; one an edge left
//! when it stopped is refused while its forward could still be running and, once older than the
//! origin timeout plus [`ABANDONED_MARGIN_MS`], passed by a retry of the same request (the same
//! nonce and payload hash, hence the same signed bytes) without the edge's version check, which
//! the reservation already passed (the origin answers `stale_version` itself if a newer version
//! has since been applied). Any other request is still refused.
//!
//! **Instance binding.** Standard Webhooks signs neither the path nor the instance, so a payload
//! signed for one instance would verify on any instance of the same tenant. The ledger therefore
//! records where a nonce and payload hash were first seen (applied, reserved, or signed but
//! refused by that instance's policy) and refuses them on any other instance.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use syncgate::idempotency::{SyncApplied, sync_key};
use syncgate::{Rejection, TenantPolicy, Verdict, check_section_versions};
use worker::{Method, Request, Response, Result};

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
pub const ABANDONED_MARGIN_MS: i64 = 1_000;

/// The object's in-memory half of the ledger (see the module docs): the reservations whose
/// forward is running, by ledger key (a nonce key or a payload key).
#[derive(Default)]
pub struct InFlight(RefCell<HashMap<String, Rc<Reservation>>>);

impl InFlight {
    /// The reservation holding `meta`'s nonce (else its payload hash), as a ledger row.
    fn holder(&self, meta: &Reservation) -> Option<LedgerRow> {
        let held = self.0.borrow();
        [(&meta.nonce_key, "nonce"), (&meta.payload_key, "payload")]
            .into_iter()
            .find_map(|(key, kind)| {
                held.get(key).map(|sync| LedgerRow {
                    kind: kind.to_string(),
                    request_id: sync.request_id.clone(),
                    applied: 0,
                    reserved_at: None,
                    instance: Some(sync.instance.clone()),
                })
            })
    }

    /// Whether a reservation in flight holds `key`.
    fn holds(&self, key: &str) -> bool {
        self.0.borrow().contains_key(key)
    }

    /// The newest version of `section` in flight.
    fn version_of(&self, section: &str) -> Option<u64> {
        self.0
            .borrow()
            .values()
            .filter(|sync| sync.sections.iter().any(|s| s == section))
            .map(|sync| sync.payload_version)
            .max()
    }

    /// Holds `meta`'s nonce and payload hash until the answered [`Hold`] is dropped.
    fn hold(&self, meta: &Rc<Reservation>) -> Hold<'_> {
        let mut held = self.0.borrow_mut();
        for key in [&meta.nonce_key, &meta.payload_key] {
            held.insert(key.clone(), Rc::clone(meta));
        }
        Hold {
            in_flight: self,
            meta: Rc::clone(meta),
        }
    }

    /// Ends `meta`'s reservation: its two keys, where `meta` holds them.
    fn release(&self, meta: &Reservation) {
        let mut held = self.0.borrow_mut();
        for key in [&meta.nonce_key, &meta.payload_key] {
            if held
                .get(key)
                .is_some_and(|sync| sync.request_id == meta.request_id)
            {
                held.remove(key);
            }
        }
    }
}

/// A reservation held in [`InFlight`]. Dropping it ends the reservation, so every way out of a
/// sync (an answer, an error, the future dropped) releases it, after whatever the object wrote
/// on the way out: nothing awaits between that and the drop.
pub(super) struct Hold<'a> {
    in_flight: &'a InFlight,
    meta: Rc<Reservation>,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.in_flight.release(&self.meta);
    }
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
    /// The reservation for a request the core accepted (`verdict`, with or without its
    /// payload: only the verdict's own fields are read) under `policy`.
    #[must_use]
    pub fn from_verdict<P>(
        verdict: &Verdict<P>,
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
    /// Reservations made before this time (Unix ms) have no forward behind them any more.
    fn abandoned_before(&self, now_ms: i64) -> i64 {
        now_ms
            .saturating_sub(i64::try_from(crate::origin::timeout_ms(&self.env)).unwrap_or(i64::MAX))
            .saturating_sub(ABANDONED_MARGIN_MS)
    }

    /// Atomically checks nonce, payload and section versions, then reserves nonce and payload
    /// in the object's memory (going on past a stored reservation an earlier edge abandoned,
    /// see the module docs). No `await` inside: the object runs it as one step.
    pub(super) fn reserve(
        &self,
        meta: &Rc<Reservation>,
        now_ms: i64,
    ) -> std::result::Result<Hold<'_>, Rejection> {
        let now = now_ms / 1000;
        // One read for the whole check: the live ledger rows of this nonce and payload hash, and
        // the newest applied version of each section. The versions in flight are in memory: a v5
        // arriving while v6 is being forwarded is already stale, so two deliveries racing can
        // never roll config back.
        let found: Vec<ReserveRow> = self
            .sql()
            .exec(
                "SELECT kind, request_id, applied, reserved_at, instance, NULL AS section, NULL AS version
                   FROM ledger WHERE key IN (?, ?) AND expires_at >= ?
                 UNION ALL
                 SELECT 'version', NULL, NULL, NULL, NULL, section, version FROM section_versions",
                vec![
                    str_value(&meta.nonce_key),
                    str_value(&meta.payload_key),
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
        // A reservation in memory has its forward running: every way out of `sync` ends it.
        if let Some(holder) = self.in_flight.holder(meta) {
            return Err(holder.rejection(false));
        }
        // Reserved rows in storage were left by an edge before this design.
        let reserved: Vec<&LedgerRow> = rows.iter().filter(|r| r.reserved_at.is_some()).collect();
        if let Some(first) = reserved.first() {
            let stale_before = self.abandoned_before(now_ms);
            let same_request = reserved.iter().all(|r| r.request_id == first.request_id)
                && reserved.iter().any(|r| r.kind == "nonce")
                && reserved.iter().any(|r| r.kind == "payload");
            let abandoned = reserved
                .iter()
                .all(|r| r.reserved_at.is_some_and(|at| at <= stale_before));
            if !(same_request && abandoned) {
                return Err(first.rejection(false));
            }
            worker::console_log!(
                "sync {} goes on past the abandoned reservation of {}",
                meta.request_id,
                first.request_id
            );
        } else {
            let sections: Vec<&str> = meta.sections.iter().map(String::as_str).collect();
            check_section_versions(&sections, meta.payload_version, |section| {
                let stored = versions
                    .iter()
                    .find(|v| v.section == section)
                    .and_then(|v| u64::try_from(v.version).ok());
                stored.max(self.in_flight.version_of(section))
            })?;
        }
        Ok(self.in_flight.hold(meta))
    }

    /// Records a signed request its instance refused: the log row, and its nonce and payload
    /// hash as seen on that instance (never overwriting a reservation, in flight or stored, or
    /// an applied entry: the reservation's own outcome decides, so a released one's retry still
    /// goes through on its instance).
    pub(super) fn record_refusal(&self, refusal: &SignedRefusal) -> Result<()> {
        self.append_log(&refusal.entry)?;
        for (key, kind) in [
            (&refusal.nonce_key, "nonce"),
            (&refusal.payload_key, "payload"),
        ] {
            if self.in_flight.holds(key) {
                continue;
            }
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

    /// The origin applied it: its ledger rows applied, and for a config sync (a provider
    /// delivery carries no sections) the section versions, last sync and key use; then its log
    /// row. Written before the answer, which the object's output gate holds until they are
    /// durable: an answered sync is a recorded one.
    fn commit(&self, meta: &Reservation) -> Result<()> {
        let sql = self.sql();
        let now_ms = http::now_millis();
        sql.exec(
            "INSERT OR REPLACE INTO ledger (key, kind, request_id, applied, expires_at, reserved_at, instance)
             VALUES (?1, 'nonce', ?3, 1, ?4, ?5, ?6), (?2, 'payload', ?3, 1, ?4, ?5, ?6)",
            vec![
                str_value(&meta.nonce_key),
                str_value(&meta.payload_key),
                str_value(&meta.request_id),
                int(meta.expires_at),
                int(now_ms),
                str_value(&meta.instance),
            ],
        )?;
        if meta.hook.is_none() {
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
        }
        self.append_log(&Self::log_for(meta, None))
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
        let meta = Rc::new(meta);
        // From here on the reservation is held until `_hold` is dropped, on every way out.
        let _hold = match self.reserve(&meta, http::now_millis()) {
            Ok(hold) => hold,
            Err(rejection) => {
                self.append_log(&Self::log_for(&meta, Some(&rejection)))?;
                self.ensure_alarm().await?;
                return http::problem(&rejection, request_id);
            }
        };
        let outcome = self.forward_and_settle(&meta, body, request_id).await;
        match outcome {
            Ok(response) => Ok(response),
            Err(err) => {
                worker::console_error!("sync {request_id} failed after reserving: {err}");
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
                if let Err(err) = self.commit(meta) {
                    worker::console_error!("commit of applied sync {request_id} failed: {err}");
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

    fn sync(request_id: &str, nonce: &str, payload: &str, version: u64) -> Rc<Reservation> {
        Rc::new(Reservation {
            request_id: request_id.into(),
            nonce_key: nonce.into(),
            payload_key: payload.into(),
            payload_version: version,
            ..reservation()
        })
    }

    #[test]
    fn a_reservation_in_flight_is_found_by_nonce_then_payload_and_ends_only_with_its_own_release() {
        let in_flight = InFlight::default();
        let first = sync("req_1", "n1", "p1", 3);
        let hold = in_flight.hold(&first);
        // The same nonce under another body: named as a replayed nonce of req_1, not applied.
        let holder = in_flight.holder(&sync("req_2", "n1", "p2", 4)).unwrap();
        assert_eq!(
            (holder.kind.as_str(), holder.request_id.as_str()),
            ("nonce", "req_1")
        );
        assert_eq!(holder.instance.as_deref(), Some("acme-eu1"));
        let rejection = holder.rejection(false);
        assert_eq!(rejection.code(), "replayed_nonce");
        // The same body under another nonce: a duplicate payload.
        let holder = in_flight.holder(&sync("req_3", "n3", "p1", 4)).unwrap();
        assert_eq!(holder.rejection(false).code(), "duplicate_payload");
        assert!(in_flight.holder(&sync("req_4", "n4", "p4", 4)).is_none());
        assert!(in_flight.holds("n1") && in_flight.holds("p1") && !in_flight.holds("n4"));
        // Its sections' version counts as in flight; other sections have none.
        assert_eq!(in_flight.version_of("branding"), Some(3));
        assert_eq!(in_flight.version_of("smtp"), None);
        // A release of another request leaves it; its own ends it.
        in_flight.release(&sync("req_2", "n1", "p2", 4));
        assert!(in_flight.holds("n1"));
        drop(hold);
        assert!(!in_flight.holds("n1") && !in_flight.holds("p1"));
        assert_eq!(in_flight.version_of("branding"), None);
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
