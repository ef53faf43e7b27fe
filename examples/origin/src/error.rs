//! Why the origin refused or failed a request.
//!
//! A refusal is one of the core's [`Rejection`]s, so the origin answers with the same stable codes
//! as the edge and the npm package. The origin adds only what is its own: a storage failure
//! (`internal_error`, 500 — the edge turns any 5xx into a retryable `origin_unavailable`), an
//! injected test fault (`injected_fault`, 500) and a bad test-control body (`invalid_control`,
//! 400). Problem documents never carry SQL text or payload values; storage details go to the log.

use serde::Serialize;
use syncgate::Rejection;
use syncgate::error::PROBLEM_CONTENT_TYPE;

use crate::http::Response;

/// A failed request.
#[derive(Debug)]
pub enum OriginError {
    /// Refused for a reason the core names.
    Rejected(Rejection),
    /// The database failed; the request was not applied.
    Storage(String),
    /// A fault injected by the test controls.
    InjectedFault,
    /// A test-control body the origin does not understand.
    InvalidControl(String),
}

impl From<Rejection> for OriginError {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected(rejection)
    }
}

impl From<rusqlite::Error> for OriginError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Storage(error.to_string())
    }
}

impl From<serde_json::Error> for OriginError {
    fn from(error: serde_json::Error) -> Self {
        Self::Storage(format!("json: {error}"))
    }
}

/// A problem document for the origin's own (non-[`Rejection`]) failures, shaped like the core's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OwnProblem<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'static str,
    status: u16,
    code: &'static str,
    detail: String,
    request_id: &'a str,
    retryable: bool,
}

impl OriginError {
    /// The HTTP status of the answer.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Rejected(rejection) => rejection.status(),
            Self::Storage(_) | Self::InjectedFault => 500,
            Self::InvalidControl(_) => 400,
        }
    }

    /// The stable code of the answer.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected(rejection) => rejection.code(),
            Self::Storage(_) => "internal_error",
            Self::InjectedFault => "injected_fault",
            Self::InvalidControl(_) => "invalid_control",
        }
    }

    /// The `application/problem+json` answer for request `request_id`.
    #[must_use]
    pub fn to_response(&self, request_id: &str) -> Response {
        let body = match self {
            Self::Rejected(rejection) => serde_json::to_vec(&rejection.problem(request_id)),
            Self::Storage(_) => serde_json::to_vec(&self.own_problem(
                "Internal error",
                "the origin could not complete the request; nothing was applied".into(),
                request_id,
                true,
            )),
            Self::InjectedFault => serde_json::to_vec(&self.own_problem(
                "Injected fault",
                "a test control asked the origin to fail this request".into(),
                request_id,
                true,
            )),
            Self::InvalidControl(reason) => serde_json::to_vec(&self.own_problem(
                "Invalid control",
                reason.clone(),
                request_id,
                false,
            )),
        };
        // Serialising these plain structs cannot fail; an empty body is the fallback regardless.
        let mut response = Response::json(
            self.status(),
            PROBLEM_CONTENT_TYPE,
            body.unwrap_or_default(),
        );
        if let Self::Rejected(Rejection::RateLimited {
            retry_after_seconds,
        }) = self
        {
            response = response.with_header("retry-after", &retry_after_seconds.to_string());
        }
        response
    }

    fn own_problem<'a>(
        &self,
        title: &'static str,
        detail: String,
        request_id: &'a str,
        retryable: bool,
    ) -> OwnProblem<'a> {
        OwnProblem {
            type_uri: format!("urn:syncgate:problem:{}", self.code()),
            title,
            status: self.status(),
            code: self.code(),
            detail,
            request_id,
            retryable,
        }
    }
}
