//! `syncgate verify`: the core's [`syncgate::verify_request`] on a request file.
//!
//! The verdict is printed as the npm package's `verifyRequest` gives it: `{ "ok": true, … }`
//! with the verdict's camelCase fields, or `{ "ok": false, "code", "status", "message" }`
//! (and `field` when the rejection names one).

use serde::Serialize;
use syncgate::{TenantPolicy, Verdict, verify_request};

use crate::failure::{Failure, Outcome};
use crate::io::{self, Input};
use crate::request_file;

/// The parsed `verify` arguments.
#[derive(Debug)]
pub struct VerifyRequest {
    /// Path of the tenant policy (plaintext `whsec_` secrets).
    pub policy: String,
    /// The time to verify at; now when absent.
    pub now: Option<i64>,
    /// The scheme that completes a raw request's URL.
    pub raw_scheme: String,
    /// Where the request document comes from.
    pub request: Input,
}

#[derive(Serialize)]
struct Accepted<'a> {
    ok: bool,
    #[serde(flatten)]
    verdict: &'a Verdict,
}

#[derive(Serialize)]
struct Refused<'a> {
    ok: bool,
    code: &'static str,
    status: u16,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

/// Runs `verify`: returns the verdict JSON and whether the request was accepted.
///
/// # Errors
/// A usage failure when the policy or the request document cannot be read or parsed.
pub fn run(args: &VerifyRequest) -> Outcome<(String, bool)> {
    let policy_text = io::read_text_file(&args.policy)?;
    let policy = TenantPolicy::from_json(&policy_text)
        .map_err(|r| Failure::usage(format!("{}: {r}", args.policy)))?;
    let request = request_file::parse(&args.request.read()?, &args.raw_scheme)?;
    let now = match args.now {
        Some(now) => now,
        None => io::now()?,
    };
    let (json, ok) = match verify_request(&request, &policy, now) {
        Ok(verdict) => (
            serde_json::to_string_pretty(&Accepted {
                ok: true,
                verdict: &verdict,
            }),
            true,
        ),
        Err(rejection) => (
            serde_json::to_string_pretty(&Refused {
                ok: false,
                code: rejection.code(),
                status: rejection.status(),
                message: rejection.to_string(),
                field: rejection.field(),
            }),
            false,
        ),
    };
    let json = json.map_err(|_| Failure::io("the verdict cannot be represented as json"))?;
    Ok((json, ok))
}
