//! `GET /admin/v1/instances/{instance}/dashboard`: the operator's page for one instance.
//!
//! One self-contained HTML page ([`PAGE`], `dashboard.html`): no external asset, its one
//! `<style>` and one `<script>` admitted by a per-answer CSP nonce. The page holds no data and
//! needs no token to be served; the operator types the admin token into it, and the page keeps
//! it in memory only and sends it only as `Authorization: Bearer` to this origin's JSON routes:
//! `GET /v1/{instance}/sync/health`, `GET /admin/v1/instances/{instance}` (keys with their last
//! use), and `GET /admin/v1/instances/{instance}/sync/{status,logs,hourly}` (the last sync, the
//! log, accepted and refused syncs per hour — see [`crate::admin`] and the tenant's Durable
//! Object).
//!
//! The answer's headers keep it inert anywhere else: `default-src 'none'`, `connect-src 'self'`,
//! no forms, no framing (`frame-ancestors 'none'` and `X-Frame-Options: DENY`), no referrer,
//! no caching.

use syncgate::Rejection;
use worker::{Headers, Response, Result};

use crate::http;

/// The page; `{{nonce}}` marks where each answer's CSP nonce goes.
pub const PAGE: &str = include_str!("dashboard.html");

const NONCE_MARK: &str = "{{nonce}}";

/// The Content-Security-Policy of the page for `nonce`.
#[must_use]
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

/// Answers the page with a fresh nonce.
///
/// # Errors
/// When a header cannot be set.
pub fn page(request_id: &str) -> Result<Response> {
    let Some(nonce) = http::random_hex(16) else {
        return http::problem(&Rejection::InternalError, request_id);
    };
    let headers = Headers::new();
    headers.set("content-type", "text/html; charset=utf-8")?;
    headers.set("content-security-policy", &content_security_policy(&nonce))?;
    headers.set("x-frame-options", "DENY")?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("referrer-policy", "no-referrer")?;
    headers.set("cache-control", "no-store")?;
    headers.set("cross-origin-opener-policy", "same-origin")?;
    Ok(Response::ok(PAGE.replace(NONCE_MARK, &nonce))?.with_headers(headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained() {
        // Exactly one style and one script, both nonced; nothing loaded from elsewhere.
        assert_eq!(PAGE.matches("<script").count(), 1);
        assert_eq!(PAGE.matches("<style").count(), 1);
        assert_eq!(PAGE.matches(NONCE_MARK).count(), 2);
        for banned in [
            " src=",
            " href=",
            "url(",
            "@import",
            " style=",
            "javascript:",
        ] {
            assert!(!PAGE.contains(banned), "the page has {banned}");
        }
        // No inline event handler attribute (` onclick="…"`): CSP would refuse it anyway.
        for (i, _) in PAGE.match_indices(" on") {
            let rest = PAGE.get(i + 3..).unwrap_or("");
            let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            assert!(
                !(name_len > 0 && rest.get(name_len..).is_some_and(|r| r.starts_with("=\""))),
                "an inline handler at byte {i}"
            );
        }
        assert!(!PAGE.contains("localStorage") && !PAGE.contains("sessionStorage"));
        assert!(!PAGE.contains("document.cookie"));
    }

    #[test]
    fn the_policy_denies_by_default() {
        let csp = content_security_policy("abc");
        assert!(csp.starts_with("default-src 'none';"));
        assert!(csp.contains("script-src 'nonce-abc'"));
        assert!(csp.contains("connect-src 'self'"));
        assert!(!csp.contains("unsafe"));
    }
}
