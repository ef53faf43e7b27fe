//! Forwarding to the origin CRM, signed by the edge.
//!
//! The origin must not trust anything the edge did not vouch for, so every forwarded request
//! carries the edge attestation: an RFC 9421 signature (label and key id `edge`, the shared
//! `ORIGIN_SIGNING_SECRET`) made by the core's [`syncgate::attest::sign`], which owns the whole
//! contract — header names, covered components, nonce = request id. The reference origin verifies
//! it with the core's `attest::verify`, so the two sides cannot drift apart. The edge signs with
//! its one secret; a rotation is the origin accepting the previous secret for a while (see
//! `examples/origin/README.md`).
//!
//! A forward either gets an answer or is *unavailable* (network error, timeout, 5xx): the caller
//! turns the latter into `503 origin_unavailable` and releases its replay reservation so the
//! sender's retry goes through.

use std::cell::RefCell;
use std::rc::Rc;

use syncgate::attest::{self, Claims, Outgoing};
use syncgate::error::Problem;
use syncgate::{Primitives, RustCrypto};
use worker::{Env, Method, Result};

/// Default origin timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// One request to forward.
#[derive(Debug, Clone)]
pub struct OriginCall<'a> {
    /// HTTP method.
    pub method: Method,
    /// The tenant's origin base URL (`http://127.0.0.1:8788`).
    pub base: &'a str,
    /// Path on the origin, starting with `/`.
    pub path: String,
    /// Query string without `?`.
    pub query: Option<String>,
    /// Raw body.
    pub body: Vec<u8>,
    /// Content type of the body, if any.
    pub content_type: Option<String>,
    /// The edge request id.
    pub request_id: &'a str,
    /// The routed tenant.
    pub tenant: &'a str,
    /// The routed instance.
    pub instance: &'a str,
    /// The verified signing key id or API key id.
    pub key_id: &'a str,
    /// `Idempotency-Key` to send.
    pub idempotency_key: Option<String>,
    /// Owned fields of the API key (customer API).
    pub fields: Option<String>,
    /// `If-Match` to pass on (customer API).
    pub if_match: Option<String>,
    /// The tenant's blocked module groups, comma-separated (sync), so the origin recomputes
    /// module state with the same list the edge checked.
    pub blocked_groups: Option<String>,
}

/// What came back.
#[derive(Debug, Clone)]
pub enum OriginAnswer {
    /// The origin answered with a non-5xx status.
    Answered {
        /// HTTP status.
        status: u16,
        /// Content type.
        content_type: Option<String>,
        /// Extra headers worth passing on (`ETag`, `Idempotent-Replayed`, `Location`).
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Network error, timeout or 5xx: nothing may be assumed applied by this answer.
    Unavailable {
        /// Why, for the log (never shown to the sender).
        reason: String,
    },
}

fn method_str(method: &Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
        _ => "OPTIONS",
    }
}

fn signed_headers(
    call: &OriginCall<'_>,
    url: &str,
    secret: &syncgate::Secret,
    primitives: &dyn Primitives,
) -> Result<Vec<(String, String)>> {
    let claims = Claims {
        request_id: call.request_id,
        tenant: call.tenant,
        instance: Some(call.instance),
        key_id: call.key_id,
        idempotency_key: call.idempotency_key.as_deref(),
        fields: call.fields.as_deref(),
        if_match: call.if_match.as_deref(),
        blocked_groups: call.blocked_groups.as_deref(),
    };
    let outgoing = Outgoing {
        method: method_str(&call.method),
        url,
        content_type: call.content_type.as_deref(),
        body: &call.body,
    };
    let added = attest::sign_with(
        &outgoing,
        &claims,
        secret,
        crate::http::now_seconds(),
        primitives,
    )
    .map_err(|e| worker::Error::RustError(e.to_string()))?;
    Ok(added)
}

/// Whether an origin refusal is about the edge's attestation rather than the request: any 401,
/// and the codes the core's vocabulary marks as blaming the edge: signature checks, the tenant
/// header, and `replayed_nonce` (the origin has seen this edge request id before, which the edge
/// never causes — every forward carries a fresh id — so it is the link, not the sender).
#[must_use]
pub fn refuses_the_edge(status: u16, problem: Option<&Problem<'_>>) -> bool {
    status == 401
        || problem
            .and_then(Problem::info)
            .is_some_and(|info| info.blames_edge)
}

/// The origin timeout every forward runs with: `ORIGIN_TIMEOUT_MS`, else
/// [`DEFAULT_TIMEOUT_MS`]. The ledger presumes a stored reservation older than it (plus a
/// margin) abandoned.
#[must_use]
pub fn timeout_ms(env: &Env) -> u64 {
    env.var("ORIGIN_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(DEFAULT_TIMEOUT_MS)
}

thread_local! {
    /// `ORIGIN_SIGNING_SECRET` as read last, and its decoded form: decoded once per isolate
    /// rather than on every forward (a changed secret is a new deployment, hence a new isolate,
    /// but the text is compared anyway).
    static ORIGIN_SECRET: RefCell<Option<(String, Rc<syncgate::Secret>)>> = const { RefCell::new(None) };
}

/// The edge→origin secret, decoded.
fn origin_secret(env: &Env) -> Result<Rc<syncgate::Secret>> {
    let text = env.secret("ORIGIN_SIGNING_SECRET")?.to_string();
    let cached = ORIGIN_SECRET.with(|cell| {
        cell.borrow()
            .as_ref()
            .filter(|(known, _)| *known == text)
            .map(|(_, secret)| Rc::clone(secret))
    });
    if let Some(secret) = cached {
        return Ok(secret);
    }
    let secret = Rc::new(
        syncgate::Secret::from_whsec(&text)
            .map_err(|e| worker::Error::RustError(format!("ORIGIN_SIGNING_SECRET: {e}")))?,
    );
    ORIGIN_SECRET.with(|cell| *cell.borrow_mut() = Some((text, Rc::clone(&secret))));
    Ok(secret)
}

/// A signal that aborts after `ms` (`AbortSignal.timeout`): the runtime's own timer, covering
/// the whole exchange — connection, answer head and body — with no timer or race in the wasm.
fn timeout_signal(ms: u64) -> web_sys::AbortSignal {
    web_sys::AbortSignal::timeout_with_u32(u32::try_from(ms).unwrap_or(u32::MAX))
}

/// The origin's answer headers read back: the content type, and those passed on (`ETag`,
/// `Idempotent-Replayed`, `Location`).
const PASSED_ON_HEADERS: &str = "content-type,etag,idempotent-replayed,location";

/// Forwards `call`, signed, with the configured timeout (`ORIGIN_TIMEOUT_MS`), which bounds the
/// whole exchange: the request, the answer's head and its body.
///
/// # Errors
/// Only for a misconfigured edge (missing `ORIGIN_SIGNING_SECRET`, an unbuildable request);
/// origin trouble is an [`OriginAnswer::Unavailable`].
pub async fn forward(env: &Env, call: &OriginCall<'_>) -> Result<OriginAnswer> {
    forward_with(env, call, &RustCrypto).await
}

/// [`forward`], hashing the body for the attestation's `Content-Digest` with `primitives` (one
/// that already knows the body's digest, see [`crate::digest::KnownDigest`]).
///
/// # Errors
/// As [`forward`].
pub async fn forward_with(
    env: &Env,
    call: &OriginCall<'_>,
    primitives: &dyn Primitives,
) -> Result<OriginAnswer> {
    send(env, call, primitives, None).await
}

/// [`forward`] with `body` as JavaScript bytes (`call.body` is left empty) whose SHA-256 is
/// `sha256`: the bytes go to the origin without passing through wasm, and the attestation's
/// `Content-Digest` is made from `sha256` (the core signs the empty `call.body` as a stand-in
/// whose digest is `sha256`; the origin checks the digest against the bytes it gets).
///
/// # Errors
/// As [`forward`].
pub async fn forward_bytes(
    env: &Env,
    call: &OriginCall<'_>,
    body: &js_sys::Uint8Array,
    sha256: [u8; syncgate::SHA256_LEN],
) -> Result<OriginAnswer> {
    let stand_in = crate::digest::KnownDigest::new(&call.body, sha256);
    send(env, call, &stand_in, Some(body)).await
}

async fn send(
    env: &Env,
    call: &OriginCall<'_>,
    primitives: &dyn Primitives,
    js_body: Option<&js_sys::Uint8Array>,
) -> Result<OriginAnswer> {
    let secret = origin_secret(env)?;
    let timeout_ms = timeout_ms(env);
    let base = call.base.trim_end_matches('/');
    let url = match &call.query {
        Some(q) if !q.is_empty() => format!("{base}{}?{q}", call.path),
        _ => format!("{base}{}", call.path),
    };
    let headers = signed_headers(call, &url, &secret, primitives)?;
    let body = match js_body.filter(|body| body.length() > 0) {
        Some(body) => Some(body.clone()),
        None if !call.body.is_empty() => Some(js_sys::Uint8Array::from(call.body.as_slice())),
        None => None,
    };
    let signal = timeout_signal(timeout_ms);
    let timed_out = |what: &str, err: worker::Error| {
        if signal.aborted() {
            format!("origin timed out after {timeout_ms} ms ({what})")
        } else {
            format!("{what} failed: {err}")
        }
    };
    let method = method_str(&call.method);
    let response = match crate::host::origin_fetch(&url, method, &headers, body, &signal).await {
        Ok(response) => response,
        Err(err) => {
            return Ok(OriginAnswer::Unavailable {
                reason: timed_out("origin fetch", err),
            });
        }
    };
    // The status and the headers worth keeping, in one call.
    let (status, mut headers) = crate::host::answer_head(&response, PASSED_ON_HEADERS)?;
    if status >= 500 {
        return Ok(OriginAnswer::Unavailable {
            reason: format!("origin answered {status}"),
        });
    }
    let body = match crate::host::answer_body(&response).await {
        Ok(body) => body,
        Err(err) => {
            return Ok(OriginAnswer::Unavailable {
                reason: timed_out("origin body", err),
            });
        }
    };
    // Only a refusal is read as a problem document: a success body is passed on untouched.
    let problem = if status >= 400 {
        Problem::parse(&body)
    } else {
        None
    };
    if status >= 400 && refuses_the_edge(status, problem.as_ref()) {
        // The origin did not accept the edge itself (secret mismatch, clock drift, a tenant
        // header it would not take, a request id it has seen — a copy got there first): the
        // sender's request was fine, the link is not. Say so
        // with a retryable 503, never with the origin's 401, which a sender would take as final.
        return Ok(OriginAnswer::Unavailable {
            reason: format!(
                "origin refused the edge's attestation: {status} {}",
                problem.as_ref().map_or("-", |p| &*p.code)
            ),
        });
    }
    let content_type = headers
        .iter()
        .position(|(name, _)| name == "content-type")
        .map(|at| headers.remove(at).1);
    Ok(OriginAnswer::Answered {
        status,
        content_type,
        headers,
        body,
    })
}
