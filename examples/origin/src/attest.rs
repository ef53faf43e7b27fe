//! The edge attestation: the origin accepts only requests the edge signed.
//!
//! The edge has already verified the sender; what it passes on — tenant, request id, key id,
//! idempotency key — is only as trustworthy as the channel it travels on. So the edge signs each
//! forwarded request with RFC 9421 (`hmac-sha256`, label `edge`, keyid `edge`) over the method,
//! path, query, body digest and those headers, and the origin re-verifies with the same core the
//! edge uses, against a key ring of that one secret and a 300 s window.
//!
//! `rfc9421::verify` insists on `@method`, `@path` and `content-digest`. That alone would let
//! someone who captured one forwarded request change its unsigned tenant header, so this module
//! additionally requires the signature to cover `@query`, `x-request-id`, `x-syncgate-tenant`,
//! `x-syncgate-key-id`, and each of `idempotency-key`, `x-syncgate-fields` (an API key's owned
//! fields) and `if-match` whenever that header is present — exactly what the worker's
//! `origin::forward` signs — and the `nonce` to equal the request id.

use syncgate::Rejection;
use syncgate::crypto::{Primitives, RustCrypto};
use syncgate::keys::{KeyRing, KeyStatus, Secret, SigningKey};
use syncgate::request::{Headers, HttpRequest};
use syncgate::rfc9421::{self, SignatureInput};
use syncgate::skew::SkewWindow;

use crate::http::Request;

/// The key id (and signature label) the edge signs with.
pub const EDGE_KEY_ID: &str = "edge";
/// Accepted clock difference between edge and origin, both directions.
pub const EDGE_SKEW_SECONDS: u64 = 300;
/// Components every edge signature must cover, beyond the core's required three.
pub const EDGE_COMPONENTS: [&str; 4] = [
    "@query",
    "x-request-id",
    "x-syncgate-tenant",
    "x-syncgate-key-id",
];
/// Headers that must be covered whenever they are present.
pub const EDGE_COMPONENTS_WHEN_PRESENT: [&str; 4] = [
    "idempotency-key",
    "x-syncgate-fields",
    "if-match",
    "x-syncgate-blocked-groups",
];

/// What a verified edge request establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The edge's request id (`X-Request-Id`, also the signature nonce).
    pub request_id: String,
    /// The tenant the edge routed to (`X-Syncgate-Tenant`).
    pub tenant: String,
    /// The instance code (`X-Syncgate-Instance`), informational.
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
}

/// Verifies edge signatures with the shared edge→origin secret.
#[derive(Debug, Clone)]
pub struct EdgeVerifier {
    ring: KeyRing,
    window: SkewWindow,
}

impl EdgeVerifier {
    /// A verifier for the one edge key.
    #[must_use]
    pub fn new(secret: Secret) -> Self {
        Self {
            ring: KeyRing(vec![SigningKey {
                kid: EDGE_KEY_ID.to_string(),
                version: 1,
                status: KeyStatus::Active,
                secret,
            }]),
            window: SkewWindow::new(EDGE_SKEW_SECONDS),
        }
    }

    /// Verifies `request` as signed by the edge at about `now` (Unix seconds).
    ///
    /// # Errors
    /// The core's rejection (`missing_signature`, `malformed_signature`, `stale_timestamp`,
    /// `unknown_key`, `digest_mismatch`, `invalid_signature`, …), or `malformed_signature` when
    /// the signature leaves a contract component uncovered or its nonce is not the request id.
    pub fn verify(&self, request: &Request, now: i64) -> Result<Attestation, Rejection> {
        let headers: Headers = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let host = headers
            .get("host")
            .filter(|h| !h.is_empty())
            .unwrap_or("origin.invalid");
        let url = format!("http://{host}{}", request.target);
        let core_request = HttpRequest::new(&request.method, &url, headers, request.body.clone())?;
        let body_sha256 = RustCrypto.sha256(&core_request.body);
        let verified = rfc9421::verify(
            &core_request,
            &body_sha256,
            &self.ring,
            self.window,
            now,
            &RustCrypto,
        )?;
        let headers = &core_request.headers;
        let covered = covered_components(headers, &verified.label)?;
        let required = EDGE_COMPONENTS.iter().chain(
            EDGE_COMPONENTS_WHEN_PRESENT
                .iter()
                .filter(|name| headers.contains(name)),
        );
        for component in required {
            if !covered.iter().any(|c| c == component) {
                return Err(malformed(format!(
                    "the edge signature must cover \"{component}\""
                )));
            }
        }
        // Covered headers are present, or the signature base could not have been built.
        let header = |name: &str| headers.get(name).unwrap_or_default().to_string();
        let request_id = header("x-request-id");
        if verified.params.nonce != request_id {
            return Err(malformed("the edge signature nonce must be the request id"));
        }
        Ok(Attestation {
            request_id,
            tenant: header("x-syncgate-tenant"),
            instance: headers.get("x-syncgate-instance").map(str::to_string),
            key_id: header("x-syncgate-key-id"),
            idempotency_key: headers.get("idempotency-key").map(str::to_string),
            fields: headers.get("x-syncgate-fields").map(split_list),
            if_match: headers.get("if-match").map(str::to_string),
            blocked_groups: headers.get("x-syncgate-blocked-groups").map(split_list),
        })
    }
}

/// Signs a request the way the edge does (the reference for the worker, and what the tests use).
///
/// `headers` must already hold `X-Request-Id`, `X-Syncgate-Tenant`, `X-Syncgate-Key-Id` and,
/// when the request has them, `Idempotency-Key`, `X-Syncgate-Fields` and `If-Match`. Returns the headers to add: `content-digest`,
/// `signature-input` and `signature` (label and keyid `edge`, nonce = the request id).
///
/// # Errors
/// `malformed_signature` when the URL, method or a header cannot be signed (for example a
/// covered header is missing).
pub fn sign_as_edge(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    secret: &Secret,
    now: i64,
) -> Result<Vec<(String, String)>, Rejection> {
    let headers: Headers = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request_id = headers.get("x-request-id").unwrap_or_default().to_string();
    let mut components: Vec<String> = EDGE_COMPONENTS.map(String::from).to_vec();
    components.extend(
        EDGE_COMPONENTS_WHEN_PRESENT
            .iter()
            .filter(|name| headers.contains(name))
            .map(|name| (*name).to_string()),
    );
    let request = HttpRequest::new(method, url, headers, body.to_vec())?;
    rfc9421::sign(
        &request,
        EDGE_KEY_ID,
        secret.expose_bytes(),
        &rfc9421::SignOptions {
            label: EDGE_KEY_ID.to_string(),
            created: now,
            expires: None,
            nonce: request_id,
            extra_components: components,
            tag: None,
        },
        &RustCrypto,
    )
}

fn covered_components(headers: &Headers, label: &str) -> Result<Vec<String>, Rejection> {
    let input = headers
        .get("signature-input")
        .ok_or(Rejection::MissingSignature)?;
    SignatureInput::parse_all(input)?
        .into_iter()
        .find(|i| i.label() == label)
        .map(|i| i.components().to_vec())
        .ok_or_else(|| malformed("the verified signature has no input"))
}

fn malformed(detail: impl Into<String>) -> Rejection {
    Rejection::MalformedSignature {
        detail: detail.into(),
    }
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
