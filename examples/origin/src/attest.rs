//! The edge attestation: the origin accepts only requests the edge signed.
//!
//! The contract — header names, covered components, the 300 s window, the nonce = request id
//! rule — lives in the core, [`syncgate::attest`], which the worker signs with too; see its
//! docs for why each component must be covered. This module only adapts the origin's HTTP
//! request to the core's and holds the secrets: the current `ORIGIN_SIGNING_SECRET` and, during
//! a rotation, `ORIGIN_SIGNING_SECRET_PREVIOUS` (see `config` and the README).
//!
//! Verifying is stateless; refusing a replayed nonce is the caller's job, with the database
//! ([`crate::store::Store::remember_nonce`]).

use syncgate::{Headers, HttpRequest, Rejection, Secret, attest};

pub use syncgate::attest::{Attestation, EDGE_KEY_ID, SKEW_SECONDS};

use crate::http::Request;

/// Verifies edge signatures with the shared edge→origin secret(s).
#[derive(Debug, Clone)]
pub struct EdgeVerifier {
    secrets: Vec<Secret>,
}

impl EdgeVerifier {
    /// A verifier for the current secret only.
    #[must_use]
    pub fn new(current: Secret) -> Self {
        Self {
            secrets: vec![current],
        }
    }

    /// Also accepts `previous` (a rotation in progress). The same secret twice counts once.
    #[must_use]
    pub fn with_previous(mut self, previous: Secret) -> Self {
        if !self.secrets.contains(&previous) {
            self.secrets.push(previous);
        }
        self
    }

    /// How many secrets are accepted (1, or 2 during a rotation).
    #[must_use]
    pub fn secret_count(&self) -> usize {
        self.secrets.len()
    }

    /// Verifies `request` as signed by the edge at about `now` (Unix seconds). In the answer,
    /// `secret_index` is 0 for the current secret, 1 for the previous one.
    ///
    /// # Errors
    /// The core's rejection; see [`syncgate::attest::verify`].
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
        attest::verify(&core_request, &self.secrets, now)
    }
}
