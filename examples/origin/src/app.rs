//! The request pipeline: route, verify the edge, check the tenant, inject test faults, dispatch,
//! and log one line.
//!
//! Order matters. Unknown routes are answered before any verification (nothing to protect).
//! On tenant routes the edge signature is checked first, so unsigned traffic never touches the
//! database or the fault switch; then the signed tenant header must equal the path's tenant;
//! only then may a test fault fire, so `fail`/`stall`/`drop` count signed requests only. Then the
//! attestation's nonce is remembered in the database, or the request is refused as a replay
//! (`replayed_nonce`, 409) when it was accepted before — after the fault, because a faulted
//! request did nothing at all. Only then does the route run.
//!
//! A request verified with the previous secret (a rotation in progress) is counted, and logged at
//! most once a minute, so the operator can tell when the edge has switched over.
//!
//! The log line names method, path, status, request id and duration — never a query, a body, a
//! header value other than the request id, or a secret.

use crate::log_line;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use serde::Serialize;
use syncgate::Rejection;

use crate::attest::EdgeVerifier;
use crate::clock::{now_unix, rfc3339};
use crate::control::{ControlRequest, Controls, Fault, Stats};
use crate::error::OriginError;
use crate::http::{Handler, Reply, Request, Response};
use crate::routes::Route;
use crate::store::Store;
use crate::{customers, hooks, sync};

/// Longest request id echoed from an unverified request.
const MAX_REQUEST_ID_CHARS: usize = 128;
/// At most one "the edge still signs with the previous secret" log line per this many seconds.
const PREVIOUS_SECRET_LOG_SECONDS: i64 = 60;

/// The origin application: shared by every connection thread.
#[derive(Debug)]
pub struct App {
    verifier: EdgeVerifier,
    store: Store,
    controls: Option<Controls>,
    stats: Stats,
    fallback_ids: AtomicU64,
    previous_secret_logged: AtomicI64,
}

/// The `GET /healthz` answer.
#[derive(Serialize)]
struct Health {
    ok: bool,
}

impl App {
    /// An origin verifying with `verifier` and storing in `store`; `test_controls` enables the
    /// `/__control` routes.
    #[must_use]
    pub fn new(verifier: EdgeVerifier, store: Store, test_controls: bool) -> Self {
        Self {
            verifier,
            store,
            controls: test_controls.then(Controls::default),
            stats: Stats::default(),
            fallback_ids: AtomicU64::new(1),
            previous_secret_logged: AtomicI64::new(i64::MIN),
        }
    }

    /// The request id for answers to `request`: its `X-Request-Id` when it looks like one,
    /// otherwise a generated `origin-…` id. (For verified requests the id is signed.)
    fn request_id(&self, request: &Request) -> String {
        match request.header("x-request-id") {
            Some(id)
                if !id.is_empty()
                    && id.len() <= MAX_REQUEST_ID_CHARS
                    && id.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                id.to_string()
            }
            _ => format!(
                "origin-{}-{}",
                now_unix(),
                self.fallback_ids.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    fn dispatch(&self, route: Route<'_>, request: &Request, request_id: &mut String) -> Reply {
        match route {
            Route::Healthz => Reply::Respond(json_response(&Health { ok: true })),
            Route::Control | Route::ControlStats if self.controls.is_none() => {
                self.refuse(&Rejection::NotFound.into(), request_id)
            }
            Route::Control => Reply::Respond(
                self.control(request)
                    .unwrap_or_else(|e| e.to_response(request_id)),
            ),
            Route::ControlStats => Reply::Respond(json_response(&self.stats.snapshot())),
            Route::NotFound => {
                self.stats.received(route.name());
                self.refuse(&Rejection::NotFound.into(), request_id)
            }
            Route::Sync { tenant }
            | Route::SyncState { tenant }
            | Route::Bootstrap { tenant }
            | Route::ListCustomers { tenant }
            | Route::CreateCustomer { tenant }
            | Route::GetCustomer { tenant, .. }
            | Route::PatchCustomer { tenant, .. }
            | Route::Hook { tenant, .. }
            | Route::ListHooks { tenant } => {
                self.stats.received(route.name());
                self.tenant_route(route, tenant, request, request_id)
            }
        }
    }

    fn tenant_route(
        &self,
        route: Route<'_>,
        tenant: &str,
        request: &Request,
        request_id: &mut String,
    ) -> Reply {
        let now = now_unix();
        let attestation = match self.verifier.verify(request, now) {
            Ok(attestation) => attestation,
            Err(rejection) => return self.refuse(&rejection.into(), request_id),
        };
        request_id.clone_from(&attestation.request_id);
        if attestation.secret_index > 0 {
            self.note_previous_secret(request_id, now);
        }
        if attestation.tenant != tenant {
            return self.refuse(&Rejection::TenantMismatch.into(), request_id);
        }
        if let Some(fault) = self.controls.as_ref().and_then(Controls::take) {
            self.stats.faulted();
            match fault {
                Fault::Drop => return Reply::Drop,
                Fault::Stall(duration) => thread::sleep(duration),
                Fault::Fail => {}
            }
            return Reply::Respond(OriginError::InjectedFault.to_response(request_id));
        }
        if let Err(error) = self.store.remember_nonce(
            attestation.nonce(),
            &attestation.tenant,
            attestation.remember_until(),
            now,
        ) {
            return self.refuse(&error, request_id);
        }
        let result = match route {
            Route::Sync { .. } => sync::apply(&self.store, &self.stats, &attestation, request, now),
            Route::SyncState { .. } => sync::state(&self.store, tenant),
            Route::Bootstrap { .. } => sync::bootstrap(&self.store, tenant),
            Route::ListCustomers { .. } => customers::list(&self.store, tenant, request),
            Route::CreateCustomer { .. } => {
                customers::create(&self.store, &attestation, request, now)
            }
            Route::GetCustomer { id, .. } => customers::get(&self.store, tenant, id),
            Route::PatchCustomer { id, .. } => {
                customers::patch(&self.store, &attestation, id, request, now)
            }
            Route::Hook { provider, .. } => {
                hooks::record(&self.store, &attestation, provider, request, now)
            }
            Route::ListHooks { .. } => hooks::list(&self.store, tenant),
            _ => Err(Rejection::NotFound.into()),
        };
        match result {
            Ok(response) => Reply::Respond(response),
            Err(error) => self.refuse(&error, request_id),
        }
    }

    fn note_previous_secret(&self, request_id: &str, now: i64) {
        self.stats.previous_secret();
        let last = self.previous_secret_logged.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= PREVIOUS_SECRET_LOG_SECONDS
            && self
                .previous_secret_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            log_line!(
                "origin: request {request_id} was signed with ORIGIN_SIGNING_SECRET_PREVIOUS: \
                 the edge has not switched to the new secret yet"
            );
        }
    }

    fn control(&self, request: &Request) -> Result<Response, OriginError> {
        let control: ControlRequest = serde_json::from_slice(&request.body)
            .map_err(|e| OriginError::InvalidControl(format!("bad control body: {e}")))?;
        let Some(controls) = &self.controls else {
            return Err(Rejection::NotFound.into());
        };
        let state = controls.set(&control)?;
        if control.reset_stats {
            self.stats.reset();
        }
        Ok(json_response(&state))
    }

    fn refuse(&self, error: &OriginError, request_id: &str) -> Reply {
        match error {
            OriginError::Storage(detail) => {
                log_line!("origin: storage failure for request {request_id}: {detail}");
            }
            OriginError::Rejected(_) | OriginError::InvalidControl(_) => self.stats.rejected(),
            OriginError::InjectedFault => {}
        }
        Reply::Respond(error.to_response(request_id))
    }
}

fn json_response<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => Response::json(200, "application/json", body),
        Err(e) => OriginError::Storage(format!("json: {e}")).to_response(""),
    }
}

impl Handler for App {
    fn handle(&self, request: Request) -> Reply {
        let started = Instant::now();
        let route = Route::parse(&request.method, request.path());
        let mut request_id = self.request_id(&request);
        let reply = self.dispatch(route, &request, &mut request_id);
        let status = match &reply {
            Reply::Respond(response) => response.status.to_string(),
            Reply::Drop => "dropped".to_string(),
        };
        log_line!(
            "{} {} {} {} {} {}ms",
            rfc3339(now_unix()),
            request.method,
            request.path(),
            status,
            request_id,
            started.elapsed().as_millis()
        );
        reply
    }
}
