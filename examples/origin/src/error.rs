//! Why the origin refused or failed a request.
//!
//! A refusal is one of the core's [`Rejection`]s, so the origin answers with the same stable codes
//! as the edge and the npm package. The origin adds only what is its own: a storage failure
//! (`internal_error`, 500 — the edge turns any 5xx into a retryable `origin_unavailable`), an
//! injected test fault (`injected_fault`, 500) and a bad test-control body (`invalid_control`,
//! 400). Problem documents never carry SQL text or payload values; storage details go to the log.

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
impl OriginError {
    /// The core rejection this answers with: the origin's own failures are codes of the one
    /// vocabulary too (`internal_error`, `injected_fault`, `invalid_control`). A storage detail
    /// stays in the log; the answer says only that nothing was applied.
    #[must_use]
    pub fn rejection(&self) -> std::borrow::Cow<'_, Rejection> {
        use std::borrow::Cow;
        match self {
            Self::Rejected(rejection) => Cow::Borrowed(rejection),
            Self::Storage(_) => Cow::Owned(Rejection::InternalError),
            Self::InjectedFault => Cow::Owned(Rejection::InjectedFault),
            Self::InvalidControl(reason) => Cow::Owned(Rejection::InvalidControl {
                reason: reason.clone(),
            }),
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.rejection().status()
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.rejection().code()
    }

    /// The `application/problem+json` answer for request `request_id`.
    #[must_use]
    pub fn to_response(&self, request_id: &str) -> Response {
        let rejection = self.rejection();
        // Serialising a problem document cannot fail; an empty body is the fallback regardless.
        let body = serde_json::to_vec(&rejection.problem(request_id)).unwrap_or_default();
        let mut response = Response::json(rejection.status(), PROBLEM_CONTENT_TYPE, body);
        if let Rejection::RateLimited {
            retry_after_seconds,
        } = *rejection
        {
            response = response.with_header("retry-after", &retry_after_seconds.to_string());
        }
        response
    }
}
