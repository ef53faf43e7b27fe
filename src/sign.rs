//! Signing, for senders and tests: the inverse of [`crate::verify`].
//!
//! The core has no randomness and no clock, so the caller supplies the nonce and the time.

use crate::error::Rejection;
use crate::request::HttpRequest;
use crate::signature::Scheme;
use crate::signature::crypto::{Primitives, RustCrypto};
use crate::signature::{rfc9421, webhooks};

/// How to sign a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningOptions {
    /// Which scheme to sign with.
    pub scheme: Scheme,
    /// The signature time, Unix seconds.
    pub now: i64,
    /// A value unique per request: the RFC 9421 `nonce` or the `webhook-id`.
    pub nonce: String,
    /// RFC 9421 signature label. Default `sig1`.
    pub label: Option<String>,
    /// RFC 9421 `expires`, as seconds after `now`.
    pub expires_in: Option<u32>,
    /// RFC 9421 components covered beyond the required ones.
    pub extra_components: Vec<String>,
    /// RFC 9421 `tag`.
    pub tag: Option<String>,
}

impl SigningOptions {
    /// Options for `scheme` with everything else at its default.
    #[must_use]
    pub fn new(scheme: Scheme, now: i64, nonce: impl Into<String>) -> Self {
        Self {
            scheme,
            now,
            nonce: nonce.into(),
            label: None,
            expires_in: None,
            extra_components: Vec::new(),
            tag: None,
        }
    }
}

/// Signs `request` with key `kid` and returns the headers to set (replacing any of the same
/// names the request carries), lowercase names.
///
/// # Errors
/// `malformed_signature` when an option cannot be expressed on the wire.
pub fn sign_request(
    request: &HttpRequest,
    kid: &str,
    secret: &[u8],
    options: &SigningOptions,
) -> Result<Vec<(String, String)>, Rejection> {
    sign_request_with(request, kid, secret, options, &RustCrypto)
}

/// [`sign_request`] with caller-supplied primitives.
///
/// # Errors
/// `malformed_signature` when an option cannot be expressed on the wire.
pub fn sign_request_with(
    request: &HttpRequest,
    kid: &str,
    secret: &[u8],
    options: &SigningOptions,
    primitives: &dyn Primitives,
) -> Result<Vec<(String, String)>, Rejection> {
    match options.scheme {
        Scheme::Rfc9421 => rfc9421::sign(
            request,
            kid,
            secret,
            &rfc9421::SignOptions {
                label: options
                    .label
                    .clone()
                    .unwrap_or_else(|| rfc9421::DEFAULT_LABEL.to_string()),
                created: options.now,
                expires: options
                    .expires_in
                    .map(|s| options.now.saturating_add(i64::from(s))),
                nonce: options.nonce.clone(),
                extra_components: options.extra_components.clone(),
                tag: options.tag.clone(),
            },
            primitives,
        ),
        Scheme::StandardWebhooks => webhooks::sign(
            &options.nonce,
            options.now,
            &request.body,
            secret,
            primitives,
        ),
    }
}
