//! `POST /v1/{instance}/sync`: the stateless half of the signed-sync path.
//!
//! Everything that needs no storage happens here, in whichever Worker isolate took the request,
//! cheapest first: the policy from KV, instance state and the declared body size (a `413` before
//! the body is read or hashed), media type, then the core's signature checks and payload checks.
//! Only an authenticated, admissible request reaches the tenant's Durable Object, so unsigned
//! traffic can never fill the replay ledger. Unauthenticated rejections are logged to the
//! tenant's sync log after the answer is sent (in a class of their own, bounded apart from the
//! record of applied work). A signed request the instance's policy refuses is recorded before
//! the answer, with its nonce and payload hash bound to this instance, so the same signed bytes
//! cannot be replayed to another instance of the tenant (Standard Webhooks signs no path).

use syncgate::{
    Authenticated, Depth, HttpRequest, Rejection, ReplayKeys, RustCrypto, SkewWindow, TenantPolicy,
    admit_without_payload, authenticate, hex,
};
use worker::{Context, Env, Method, Request, Response, Result, Stub};

use crate::digest::HOST_DIGEST_MIN_BYTES;
use crate::host::{self, RequestHead};
use crate::http::{self, Reply};
use crate::tenant_state::{self, LogEntry, Reservation, SignedRefusal};

/// Posts `body` as JSON to the tenant's object at `path` after the answer has gone out (log
/// writes: the sender does not wait for them, and a failure is logged, not answered).
pub fn post_later<T: serde::Serialize + 'static>(
    ctx: &Context,
    stub: Stub,
    path: &'static str,
    body: T,
) {
    ctx.wait_until(async move {
        let result = async {
            let body = serde_json::to_string(&body)?;
            let req = tenant_state::request(Method::Post, path, &[], Some(body.into()))?;
            stub.fetch_with_request(req).await
        }
        .await;
        if let Err(err) = result {
            worker::console_error!("write to tenant state {path} failed: {err}");
        }
    });
}

/// The payload's declared type and version, read leniently for the log of a rejected payload.
fn declared_type_and_version(body: &[u8]) -> (Option<String>, Option<u64>) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    let payload_type = value
        .get("type")
        .and_then(|t| t.as_str())
        .filter(|t| syncgate::PayloadType::parse(t).is_some())
        .map(str::to_string);
    (
        payload_type,
        // Only versions JavaScript holds exactly: the log is read back through JS numbers.
        value
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .filter(|v| *v < 1 << 53),
    )
}

/// Context of one sync request (or provider delivery), for answers and logs.
pub(crate) struct Attempt<'a> {
    pub(crate) ctx: &'a Context,
    pub(crate) env: &'a Env,
    pub(crate) request_id: &'a str,
    pub(crate) received_at: i64,
    pub(crate) source_ip: Option<String>,
}

impl<'a> Attempt<'a> {
    /// The attempt of the request whose head is `head`, received now.
    pub(crate) fn begin(
        head: &RequestHead,
        env: &'a Env,
        ctx: &'a Context,
        request_id: &'a str,
    ) -> Self {
        Self {
            ctx,
            env,
            request_id,
            received_at: http::now_millis(),
            source_ip: head.get("cf-connecting-ip").map(str::to_string),
        }
    }

    fn entry(&self, rejection: &Rejection) -> LogEntry {
        LogEntry::rejected(
            self.request_id,
            self.received_at,
            self.source_ip.clone(),
            rejection,
        )
    }

    /// Refuses a request that was not authenticated: logged after the answer.
    pub(crate) fn reject(&self, policy: &TenantPolicy, rejection: &Rejection) -> Result<Response> {
        match tenant_state::stub(self.env, &policy.tenant) {
            Ok(stub) => post_later(self.ctx, stub, "/log", self.entry(rejection)),
            Err(err) => worker::console_error!("no tenant state binding: {err}"),
        }
        http::problem(rejection, self.request_id)
    }

    /// Refuses a signed request its instance's policy does not admit: recorded (log row and
    /// instance binding of its nonce and payload hash) before the answer.
    async fn reject_signed(
        &self,
        policy: &TenantPolicy,
        rejection: &Rejection,
        authenticated: &Authenticated<'_>,
        body: &[u8],
    ) -> Result<Response> {
        let mut entry = self.entry(rejection);
        entry.key_id = Some(authenticated.key.kid.clone());
        (entry.payload_type, entry.payload_version) = declared_type_and_version(body);
        let keys = ReplayKeys::derive(
            &policy.tenant,
            &authenticated.nonce,
            &hex(&authenticated.body_sha256),
            authenticated.timestamp,
            SkewWindow::new(policy.skew_seconds),
            &RustCrypto,
        );
        let refusal = SignedRefusal {
            entry,
            instance: policy.instance.clone(),
            nonce_key: keys.nonce_key,
            payload_key: keys.payload_key,
            expires_at: keys.expires_at,
        };
        let recorded = tenant_state::request(
            Method::Post,
            "/refused",
            &[("x-request-id", self.request_id)],
            Some(serde_json::to_string(&refusal)?.into()),
        )?;
        let answer = tenant_state::call(self.env, &policy.tenant, recorded).await?;
        if answer.status_code() != 204 {
            worker::console_error!(
                "recording refusal {} failed: {}",
                self.request_id,
                answer.status_code()
            );
        }
        http::problem(rejection, self.request_id)
    }
}

/// Handles a signed sync request for `instance`.
///
/// # Errors
/// Only for platform failures (KV, bindings); every request problem is an answer.
pub async fn handle(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    request_id: &str,
    instance: &str,
) -> Result<Reply> {
    // The head in one call: method, URL and every header (see `crate::host`).
    let head = RequestHead::read(&req)?;
    let attempt = Attempt::begin(&head, env, ctx, request_id);
    let Some(policy) = crate::instances::route(env, instance).await? else {
        return http::problem(&Rejection::UnknownInstance, request_id).map(Reply::from);
    };
    let declared_len = head.content_length();
    let too_large = || Rejection::PayloadTooLarge {
        limit: policy.max_body_bytes,
    };
    if declared_len.unwrap_or(0) > policy.max_body_bytes {
        // Refused from the declared length alone: the body is neither read nor hashed.
        return attempt.reject(&policy, &too_large()).map(Reply::from);
    }
    // The body stays JavaScript bytes: the core gets one copy; the hashes, the hop to the
    // tenant's object and the forward read the JavaScript bytes.
    let Some(body) = host::read_body(&mut req, declared_len, policy.max_body_bytes).await? else {
        return attempt.reject(&policy, &too_large()).map(Reply::from);
    };
    let RequestHead {
        method,
        url,
        headers,
    } = head;
    // Instance state and media type are checked first, before any hashing.
    let core_request = match HttpRequest::new(&method, &url, headers, body.to_vec()) {
        Ok(request) => request,
        Err(rejection) => return attempt.reject(&policy, &rejection).map(Reply::from),
    };
    let now = http::now_seconds();
    let authenticated = if core_request.body.len() >= HOST_DIGEST_MIN_BYTES {
        authenticate_on_host(&core_request, &policy, &body, now).await
    } else {
        authenticate(&core_request, &policy, now, &RustCrypto)
    };
    let authenticated = match authenticated {
        Ok(authenticated) => authenticated,
        Err(rejection) => return attempt.reject(&policy, &rejection).map(Reply::from),
    };
    let verdict = match admit_without_payload(&core_request, &policy, &authenticated, &RustCrypto) {
        Ok(verdict) => verdict,
        Err(rejection) => {
            return attempt
                .reject_signed(&policy, &rejection, &authenticated, &core_request.body)
                .await
                .map(Reply::from);
        }
    };
    let reservation = Reservation::from_verdict(
        &verdict,
        &policy,
        request_id,
        attempt.received_at,
        attempt.source_ip.clone(),
    );
    tenant_state::reserve_and_forward(env, &policy.tenant, request_id, &reservation, &body)
        .await
        .map(Reply::Passed)
}

/// Steps 1–5 with the body's SHA-256 and the signature's HMAC tags computed by the runtime
/// (WebCrypto, native code) over the JavaScript bytes: the core's two-phase seam
/// ([`syncgate::prepare`], the host's digests, [`syncgate::finish_signature`]), run on the
/// cached policy, decides exactly as [`authenticate`] does. Should WebCrypto fail, the digests are computed in
/// wasm.
async fn authenticate_on_host<'p>(
    request: &HttpRequest,
    policy: &'p TenantPolicy,
    body: &js_sys::Uint8Array,
    now: i64,
) -> std::result::Result<Authenticated<'p>, Rejection> {
    let keys = policy.keys.0.as_slice();
    let pending = syncgate::prepare(policy, request, request.body.len(), now, Depth::Full)?;
    let digests = match host::digests(body, &pending, keys).await {
        Some(digests) => digests,
        None => pending.compute(keys, &request.body, &RustCrypto),
    };
    // Run on the cached policy itself: no copy of it, and the verdict's key is the ring's own.
    let signed = syncgate::finish_signature(policy, pending, &digests)?;
    Ok(Authenticated {
        scheme: signed.scheme,
        key: signed.key,
        nonce: signed.nonce,
        timestamp: signed.timestamp,
        body_sha256: signed.body_sha256.ok_or(Rejection::InternalError)?,
    })
}
