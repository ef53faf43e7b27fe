//! The edge→origin attestation: the one contract between the edge that signs a forwarded request
//! and the origin that verifies it.
//!
//! The edge verifies the sender, then forwards the request to the tenant's origin with headers
//! saying what it established: the request id, the tenant, the instance, the verified key id and,
//! depending on the route, the `Idempotency-Key`, the API key's owned fields, the `If-Match`
//! precondition and the tenant's blocked module groups. The origin acts on every one of those, so
//! it must know they come from the edge unchanged. [`sign`] signs them with RFC 9421
//! (`hmac-sha256`, label and `keyid` [`EDGE_KEY_ID`], the shared `ORIGIN_SIGNING_SECRET`) and
//! [`verify`] checks them and returns the [`Attestation`] the origin may rely on.
//!
//! # Why more than the core's three components
//!
//! [`rfc9421::verify`] insists on `@method`, `@path` and `content-digest` — enough to bind a
//! sender's body to its route. Here that is not enough: whoever sits between edge and origin (a
//! proxy, a load balancer, someone on the link) could keep a valid signature and change what the
//! request *means* through a header the signature does not cover — point a write at another
//! tenant (`x-syncgate-tenant`), widen an API key's writable fields (`x-syncgate-fields`), drop
//! the `if-match` precondition to force a lost update, swap the idempotency key so a retry
//! applies twice, change list filters (`@query`), or re-attribute the write to another key
//! (`x-syncgate-key-id`). So [`verify`] requires the signature to cover [`COVERED_ALWAYS`], and
//! each of [`COVERED_WHEN_PRESENT`] whenever the request carries that header: an uncovered one is
//! refused rather than ignored, because the origin would otherwise act on it. `@authority` is
//! deliberately *not* covered: proxies between edge and origin rewrite `Host`.
//!
//! # Replay
//!
//! A signature is valid for [`SKEW_SECONDS`] either side of the origin's clock. Inside that window
//! an exact copy of a forwarded request still verifies, so the origin must remember each nonce it
//! accepted until [`Attestation::remember_until`] and refuse it the second time
//! (`replayed_nonce`). [`verify`] requires the `nonce` parameter to equal the signed
//! `x-request-id`: the edge mints a fresh request id for every request it forwards (a sender's
//! retry is a new edge request, with a new id and the same `Idempotency-Key`), so the nonce the
//! origin remembers is the id it logs, and a nonce cannot be varied apart from the request it
//! names. The core keeps no state: remembering is the origin's job.
//!
//! # Secret rotation
//!
//! [`verify`] takes a list of secrets, all under key id [`EDGE_KEY_ID`]: the origin passes its
//! current secret and, during a rotation, the previous one, and learns from
//! [`Attestation::secret_index`] which one the edge still signs with.
//!
//! The module is sans-IO: the caller passes the time in Unix seconds.

use crate::error::Rejection;
use crate::request::{Headers, HttpRequest};
use crate::signature::crypto::{Primitives, RustCrypto};
use crate::signature::keys::{KeyRing, KeyStatus, Secret, SigningKey};
use crate::signature::rfc9421::{self, SignatureInput, SignatureParams};
use crate::signature::skew::SkewWindow;

/// The key id, and the signature label, the edge signs origin requests with.
pub const EDGE_KEY_ID: &str = "edge";
/// Accepted clock difference between edge and origin, in seconds, both directions.
pub const SKEW_SECONDS: u64 = 300;

/// The header fields of the contract (lowercase, as covered).
pub mod header {
    /// The edge's request id; also the signature's `nonce`.
    pub const REQUEST_ID: &str = "x-request-id";
    /// The tenant the edge routed to.
    pub const TENANT: &str = "x-syncgate-tenant";
    /// The instance code the request came in on.
    pub const INSTANCE: &str = "x-syncgate-instance";
    /// The verified signing key id (sync) or API key id (customer API).
    pub const KEY_ID: &str = "x-syncgate-key-id";
    /// The de-duplication key (sync: the body's SHA-256; customer create: the sender's).
    pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
    /// The API key's owned fields, comma-separated (customer API).
    pub const FIELDS: &str = "x-syncgate-fields";
    /// The sender's precondition (customer update).
    pub const IF_MATCH: &str = "if-match";
    /// The tenant's blocked module groups, comma-separated (sync).
    pub const BLOCKED_GROUPS: &str = "x-syncgate-blocked-groups";
    /// The body's media type.
    pub const CONTENT_TYPE: &str = "content-type";
}

/// Components every edge signature covers, beyond the core's
/// [`rfc9421::REQUIRED_COMPONENTS`].
pub const COVERED_ALWAYS: [&str; 4] =
    ["@query", header::REQUEST_ID, header::TENANT, header::KEY_ID];

/// Header fields an edge signature must cover whenever the request carries them.
pub const COVERED_WHEN_PRESENT: [&str; 6] = [
    header::INSTANCE,
    header::IDEMPOTENCY_KEY,
    header::FIELDS,
    header::IF_MATCH,
    header::BLOCKED_GROUPS,
    header::CONTENT_TYPE,
];

/// What the edge vouches for in one forwarded request: the input of [`sign`].
///
/// List values (`fields`, `blocked_groups`) are given as they go on the wire, comma-separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims<'a> {
    /// The edge request id; it is also the nonce.
    pub request_id: &'a str,
    /// The routed tenant.
    pub tenant: &'a str,
    /// The instance code.
    pub instance: Option<&'a str>,
    /// The verified signing key id or API key id.
    pub key_id: &'a str,
    /// `Idempotency-Key`.
    pub idempotency_key: Option<&'a str>,
    /// The API key's owned fields, comma-separated.
    pub fields: Option<&'a str>,
    /// `If-Match`, as the sender sent it.
    pub if_match: Option<&'a str>,
    /// The tenant's blocked module groups, comma-separated.
    pub blocked_groups: Option<&'a str>,
}

/// The request the edge is about to send: the input of [`sign`] besides the claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Absolute URL on the origin (`http://127.0.0.1:8788/origin/v1/acme/sync`).
    pub url: &'a str,
    /// Content type of the body, if any.
    pub content_type: Option<&'a str>,
    /// The final body bytes.
    pub body: &'a [u8],
}

/// What a verified edge request establishes: the output of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The edge's request id (`X-Request-Id`), which is also the signature's nonce.
    pub request_id: String,
    /// The tenant the edge routed to (`X-Syncgate-Tenant`).
    pub tenant: String,
    /// The instance code (`X-Syncgate-Instance`), when sent.
    pub instance: Option<String>,
    /// The verified signing key id, or the API key id (`X-Syncgate-Key-Id`).
    pub key_id: String,
    /// `Idempotency-Key`, when sent.
    pub idempotency_key: Option<String>,
    /// The API key's owned fields (`X-Syncgate-Fields`), when sent.
    pub fields: Option<Vec<String>>,
    /// `If-Match` as signed (repeated fields combined with `", "`), when sent.
    pub if_match: Option<String>,
    /// The tenant's blocked module groups (`X-Syncgate-Blocked-Groups`), when sent with a sync:
    /// module state is recomputed with the tenant's list, so edge, origin and a browser preview
    /// agree.
    pub blocked_groups: Option<Vec<String>>,
    /// When the edge signed, Unix seconds (the `created` parameter).
    pub created: i64,
    /// Which of the secrets given to [`verify`] verified (0: the first).
    pub secret_index: usize,
}

impl Attestation {
    /// The replay key: the signature's nonce, equal to [`Attestation::request_id`].
    #[must_use]
    pub fn nonce(&self) -> &str {
        &self.request_id
    }

    /// Until when (Unix seconds) the nonce must be remembered: after it, a copy of this request
    /// is refused as stale anyway. The window plus [`crate::signature::skew::LEDGER_MARGIN_SECONDS`].
    #[must_use]
    pub fn remember_until(&self) -> i64 {
        window().ledger_expiry(self.created)
    }
}

fn window() -> SkewWindow {
    SkewWindow::new(SKEW_SECONDS)
}

/// Signs a request to the origin at `now` (Unix seconds).
///
/// Returns the headers to add, lowercase names, in this order: the claim headers present
/// (`x-request-id`, `x-syncgate-tenant`, `x-syncgate-instance`, `x-syncgate-key-id`,
/// `idempotency-key`, `x-syncgate-fields`, `if-match`, `x-syncgate-blocked-groups`), then
/// `content-type` when given, then `content-digest`, `signature-input` and `signature` (label
/// and keyid [`EDGE_KEY_ID`], nonce = the request id), covering everything [`verify`] requires.
///
/// # Errors
/// `malformed_signature` when the URL or method is invalid or a value cannot be signed (a line
/// break, a request id that is not a printable ASCII nonce).
pub fn sign(
    request: &Outgoing<'_>,
    claims: &Claims<'_>,
    secret: &Secret,
    now: i64,
) -> Result<Vec<(String, String)>, Rejection> {
    let mut added: Vec<(String, String)> = Vec::with_capacity(12);
    let mut put = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            added.push((name.to_string(), value.to_string()));
        }
    };
    put(header::REQUEST_ID, Some(claims.request_id));
    put(header::TENANT, Some(claims.tenant));
    put(header::INSTANCE, claims.instance);
    put(header::KEY_ID, Some(claims.key_id));
    put(header::IDEMPOTENCY_KEY, claims.idempotency_key);
    put(header::FIELDS, claims.fields);
    put(header::IF_MATCH, claims.if_match);
    put(header::BLOCKED_GROUPS, claims.blocked_groups);
    put(header::CONTENT_TYPE, request.content_type);

    let headers: Headers = added.iter().map(|(n, v)| (n, v)).collect();
    let components = required_components(&headers).map(str::to_string).collect();
    let core_request = HttpRequest::new(request.method, request.url, headers, request.body)?;
    let signature = rfc9421::sign(
        &core_request,
        EDGE_KEY_ID,
        secret.expose_bytes(),
        &rfc9421::SignOptions {
            label: EDGE_KEY_ID.to_string(),
            created: now,
            expires: None,
            nonce: claims.request_id.to_string(),
            extra_components: components,
            tag: None,
        },
        &RustCrypto,
    )?;
    added.extend(signature);
    Ok(added)
}

/// Verifies `request` as signed by the edge at about `now` (Unix seconds) with one of
/// `secrets` (the current one first, then a previous one during a rotation).
///
/// Checks, in order: the core's RFC 9421 verification with each secret in turn (syntax, the
/// core's required components, the [`SKEW_SECONDS`] window, key id [`EDGE_KEY_ID`], body digest,
/// MAC); the coverage of [`COVERED_ALWAYS`] and of each present [`COVERED_WHEN_PRESENT`] header;
/// the nonce equal to the request id. It does not check the nonce for replay — that needs the
/// caller's memory (see the module docs).
///
/// # Errors
/// The core's rejection (`missing_signature`, `malformed_signature`, `stale_timestamp`,
/// `future_timestamp`, `unknown_key`, `digest_mismatch`, `invalid_signature`; the first secret's
/// reason when none verifies, `unknown_key` when `secrets` is empty), or `malformed_signature`
/// when the signature leaves a contract component uncovered or its nonce is not the request id.
pub fn verify(
    request: &HttpRequest,
    secrets: &[Secret],
    now: i64,
) -> Result<Attestation, Rejection> {
    let body_sha256 = RustCrypto.sha256(&request.body);
    let mut first_error = None;
    for (secret_index, secret) in secrets.iter().enumerate() {
        let ring = KeyRing(vec![SigningKey {
            kid: EDGE_KEY_ID.to_string(),
            version: 1,
            status: KeyStatus::Active,
            secret: secret.clone(),
        }]);
        match rfc9421::verify(request, &body_sha256, &ring, window(), now, &RustCrypto) {
            Ok(verified) => {
                return attestation(request, &verified.label, verified.params, secret_index);
            }
            Err(rejection) => {
                first_error.get_or_insert(rejection);
            }
        }
    }
    Err(first_error.unwrap_or(Rejection::UnknownKey))
}

/// The components an edge signature over `headers` must cover beyond the core's three.
fn required_components(headers: &Headers) -> impl Iterator<Item = &'static str> + '_ {
    COVERED_ALWAYS.into_iter().chain(
        COVERED_WHEN_PRESENT
            .into_iter()
            .filter(|name| headers.contains(name)),
    )
}

fn attestation(
    request: &HttpRequest,
    label: &str,
    params: SignatureParams,
    secret_index: usize,
) -> Result<Attestation, Rejection> {
    let headers = &request.headers;
    let covered = covered_components(headers, label)?;
    for component in required_components(headers) {
        if !covered.iter().any(|c| c == component) {
            return Err(Rejection::malformed(format!(
                "the edge signature must cover \"{component}\""
            )));
        }
    }
    // Covered headers are present, or the signature base could not have been built.
    let header = |name: &str| headers.get(name).unwrap_or_default().to_string();
    let optional = |name: &str| headers.get(name).map(str::to_string);
    let request_id = header(header::REQUEST_ID);
    if params.nonce != request_id {
        return Err(Rejection::malformed(
            "the edge signature nonce must be the request id",
        ));
    }
    Ok(Attestation {
        request_id,
        tenant: header(header::TENANT),
        instance: optional(header::INSTANCE),
        key_id: header(header::KEY_ID),
        idempotency_key: optional(header::IDEMPOTENCY_KEY),
        fields: headers.get(header::FIELDS).map(split_list),
        if_match: optional(header::IF_MATCH),
        blocked_groups: headers.get(header::BLOCKED_GROUPS).map(split_list),
        created: params.created,
        secret_index,
    })
}

fn covered_components(headers: &Headers, label: &str) -> Result<Vec<String>, Rejection> {
    let input = headers
        .get("signature-input")
        .ok_or(Rejection::MissingSignature)?;
    SignatureInput::parse_all(input)?
        .into_iter()
        .find(|i| i.label() == label)
        .map(|i| i.components().to_vec())
        .ok_or_else(|| Rejection::malformed("the verified signature has no input"))
}

/// A comma-separated header value as a list (empty items dropped).
fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}
