//! Slack requests: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 of `v0:{timestamp}:{body}` under
//! the app's signing secret, with `X-Slack-Request-Timestamp` in Unix seconds and a five-minute
//! window ([Slack: verifying requests]).
//!
//! The delivery key is the signed timestamp with the body's hash. Slack retries a request with a
//! fresh timestamp (and `X-Slack-Retry-Num`), so a retry is caught by the ledger's body-hash key
//! rather than by the delivery key.
//!
//! [Slack: verifying requests]: https://api.slack.com/authentication/verifying-requests-from-slack

use crate::document::reader::{Document, JsonPath, parse_document};
use crate::error::Rejection;
use crate::request::HttpRequest;
use crate::signature::crypto::{Primitives, hex};

use super::{
    MAX_EVENT_TYPE_CHARS, Signed, decode_hex, mac_matches, signature_header, timestamp_header,
    window,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The timestamp header (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// Verifies a Slack request at `now`.
///
/// # Errors
/// `missing_signature`, `malformed_signature` (no timestamp, not `v0=<hex>`),
/// `stale_timestamp`, `future_timestamp`, `invalid_signature`.
pub(crate) fn verify(
    request: &HttpRequest,
    key: &[u8],
    now: i64,
    primitives: &dyn Primitives,
) -> Result<Signed, Rejection> {
    let header = signature_header(request, SIGNATURE_HEADER)?;
    let (timestamp_text, timestamp) = timestamp_header(request, TIMESTAMP_HEADER, 12)?;
    let tag = header
        .trim()
        .strip_prefix("v0=")
        .and_then(decode_hex)
        .ok_or_else(|| Rejection::malformed("x-slack-signature must be v0=<hex>"))?;
    window().check(timestamp, now)?;
    let parts: [&[u8]; 4] = [b"v0:", timestamp_text.as_bytes(), b":", &request.body];
    if !mac_matches(primitives, key, &parts, &[tag]) {
        return Err(Rejection::InvalidSignature);
    }
    let body_sha256 = hex(&primitives.sha256(&request.body));
    Ok(Signed {
        timestamp: Some(timestamp),
        delivery_id: None,
        delivery_id_signed: false,
        delivery_key: format!("{timestamp}:{body_sha256}"),
        delivery_key_signed: true,
        event_type: event_type(&request.body),
    })
}

/// The `type` of a JSON body (Events API: `event_callback`, `url_verification`), if any.
///
/// Read with the core's document reader, as the Stripe and HubSpot bodies are (a body it
/// refuses, e.g. one that repeats a key, has no type), rather than into a `serde_json::Value`,
/// whose deserializer would be ~6 KB of wasm used only here.
fn event_type(body: &[u8]) -> Option<String> {
    if body.first() != Some(&b'{') {
        return None;
    }
    let value = parse_document(body, &JsonPath::root(Document::SyncPayload)).ok()?;
    super::visible(value.get("type")?.as_str(), MAX_EVENT_TYPE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Headers;
    use crate::signature::crypto::RustCrypto;

    // Slack's worked example (also in tests/vectors/public.json).
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: i64 = 1_531_420_618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn request(signature: Option<&str>, timestamp: Option<&str>, body: &[u8]) -> HttpRequest {
        let mut headers = Headers::new();
        if let Some(signature) = signature {
            headers.append("X-Slack-Signature", signature);
        }
        if let Some(timestamp) = timestamp {
            headers.append("X-Slack-Request-Timestamp", timestamp);
        }
        HttpRequest::new(
            "POST",
            "https://edge.example/v1/a1/hooks/slack",
            headers,
            body,
        )
        .unwrap()
    }

    #[test]
    fn worked_example_verifies_inside_the_window_only() {
        let ts = TIMESTAMP.to_string();
        let good = request(Some(SIGNATURE), Some(&ts), BODY.as_bytes());
        let signed = verify(&good, SECRET, TIMESTAMP + 300, &RustCrypto).unwrap();
        assert_eq!(signed.timestamp, Some(TIMESTAMP));
        assert!(signed.delivery_key.starts_with("1531420618:"));
        assert_eq!(
            verify(&good, SECRET, TIMESTAMP + 301, &RustCrypto).unwrap_err(),
            Rejection::StaleTimestamp
        );
        assert_eq!(
            verify(&good, SECRET, TIMESTAMP - 301, &RustCrypto).unwrap_err(),
            Rejection::FutureTimestamp
        );
        let mut body = BODY.as_bytes().to_vec();
        body[0] ^= 1;
        let tampered = request(Some(SIGNATURE), Some(&ts), &body);
        assert_eq!(
            verify(&tampered, SECRET, TIMESTAMP, &RustCrypto).unwrap_err(),
            Rejection::InvalidSignature
        );
        // The timestamp is signed: another one does not verify.
        let moved = request(Some(SIGNATURE), Some("1531420619"), BODY.as_bytes());
        assert_eq!(
            verify(&moved, SECRET, TIMESTAMP, &RustCrypto).unwrap_err(),
            Rejection::InvalidSignature
        );
    }

    #[test]
    fn event_type_of_json_bodies_only() {
        assert_eq!(
            event_type(br#"{"token":"t","type":"event_callback","event":{"type":"message"}}"#),
            Some("event_callback".into())
        );
        assert_eq!(event_type(BODY.as_bytes()), None);
        assert_eq!(event_type(br#"{"type":7}"#), None);
        assert_eq!(event_type(br#"{"type":"a""#), None);
        // A body the document reader refuses (a repeated key) has no type.
        assert_eq!(event_type(br#"{"type":"a","type":"b"}"#), None);
    }

    #[test]
    fn missing_and_malformed_headers() {
        let ts = TIMESTAMP.to_string();
        let body = BODY.as_bytes();
        assert_eq!(
            verify(
                &request(None, Some(&ts), body),
                SECRET,
                TIMESTAMP,
                &RustCrypto
            )
            .unwrap_err(),
            Rejection::MissingSignature
        );
        for (signature, timestamp) in [
            (SIGNATURE, None),
            (SIGNATURE, Some("soon")),
            (SIGNATURE, Some("-1")),
            ("v1=a2114d57", Some(ts.as_str())),
            ("v0=xyz", Some(ts.as_str())),
        ] {
            let err = verify(
                &request(Some(signature), timestamp, body),
                SECRET,
                TIMESTAMP,
                &RustCrypto,
            )
            .unwrap_err();
            assert_eq!(
                err.code(),
                "malformed_signature",
                "{signature} {timestamp:?}"
            );
        }
        assert_eq!(
            verify(
                &request(Some("v0="), Some(&ts), body),
                SECRET,
                TIMESTAMP,
                &RustCrypto
            )
            .unwrap_err(),
            Rejection::InvalidSignature
        );
    }
}
