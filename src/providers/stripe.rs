//! Stripe webhooks: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of
//! `{t}.{body}` under the endpoint's signing secret, used as the text it is (`whsec_…` included),
//! with a tolerance of five minutes ([Stripe: verify signatures manually]).
//!
//! An endpoint whose secret is being rolled sends one `v1` entry per secret; any one verifying is
//! enough. Entries of other schemes (`v0`, the test-mode scheme) are ignored, and a header with
//! no `v1` entry is malformed. Unlike Stripe's libraries, which only refuse old timestamps, a
//! timestamp more than the tolerance in the future is refused too (`future_timestamp`).
//!
//! The delivery key is the event's `id` (`evt_…`), read from the signed body: Stripe retries an
//! event for up to three days with the same id and a fresh signature.
//!
//! [Stripe: verify signatures manually]: https://docs.stripe.com/webhooks#verify-manually

use crate::document::reader::{Document, JsonPath, parse_document};
use crate::error::Rejection;
use crate::request::HttpRequest;

use super::{
    MAX_DELIVERY_ID_CHARS, MAX_EVENT_TYPE_CHARS, Signed, decode_hex, mac_matches, parse_digits,
    signature_header, visible, window,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "stripe-signature";
/// At most this many `v1` entries are considered.
pub const MAX_SIGNATURES: usize = 16;

/// Verifies a Stripe delivery at `now`.
///
/// # Errors
/// `missing_signature`, `malformed_signature` (no `t`, no `v1`, too many entries),
/// `stale_timestamp`, `future_timestamp`, `invalid_signature`, and `invalid_payload` when the
/// signed body is not an event with an `id`.
pub(crate) fn verify(
    request: &HttpRequest,
    key: &[u8],
    now: i64,
    primitives: &dyn crate::signature::crypto::Primitives,
) -> Result<Signed, Rejection> {
    let header = signature_header(request, SIGNATURE_HEADER)?;
    let mut timestamp_text = None;
    let mut tags = Vec::new();
    for item in header.split(',') {
        let (name, value) = item
            .trim()
            .split_once('=')
            .ok_or_else(|| Rejection::malformed("stripe-signature items must be name=value"))?;
        match name {
            "t" if timestamp_text.is_none() => timestamp_text = Some(value),
            "t" => return Err(Rejection::malformed("stripe-signature has two timestamps")),
            // A `v1` entry that is not hex never verifies; another entry may.
            "v1" => tags.push(decode_hex(value).unwrap_or_default()),
            _ => {}
        }
    }
    let timestamp_text =
        timestamp_text.ok_or_else(|| Rejection::malformed("stripe-signature has no t="))?;
    let timestamp = parse_digits(timestamp_text, 12, "stripe-signature t")?;
    if tags.is_empty() {
        return Err(Rejection::malformed("stripe-signature has no v1= entry"));
    }
    if tags.len() > MAX_SIGNATURES {
        return Err(Rejection::malformed(
            "too many signatures in stripe-signature",
        ));
    }
    window().check(timestamp, now)?;
    let parts: [&[u8]; 3] = [timestamp_text.as_bytes(), b".", &request.body];
    if !mac_matches(primitives, key, &parts, &tags) {
        return Err(Rejection::InvalidSignature);
    }
    let event = parse_document(&request.body, &JsonPath::root(Document::SyncPayload))?;
    let root = JsonPath::root(Document::SyncPayload);
    let id = visible(
        event.get("id").and_then(|v| v.as_str()),
        MAX_DELIVERY_ID_CHARS,
    )
    .ok_or_else(|| root.field("id").reject("must be the event id"))?;
    Ok(Signed {
        timestamp: Some(timestamp),
        delivery_key: id.clone(),
        delivery_key_signed: true,
        delivery_id: Some(id),
        delivery_id_signed: true,
        event_type: visible(
            event.get("type").and_then(|v| v.as_str()),
            MAX_EVENT_TYPE_CHARS,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Headers;
    use crate::signature::crypto::{Primitives as _, RustCrypto, hex};

    const SECRET: &[u8] = b"whsec_test_secret_for_stripe_0123";
    const NOW: i64 = 1_790_000_000;
    const BODY: &[u8] =
        br#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"customer.created"}"#;

    fn sign(t: i64, body: &[u8], secret: &[u8]) -> String {
        hex(&RustCrypto.hmac_sha256(secret, &[t.to_string().as_bytes(), b".", body]))
    }

    fn request(signature: Option<&str>, body: &[u8]) -> HttpRequest {
        let mut headers = Headers::new();
        if let Some(signature) = signature {
            headers.append("Stripe-Signature", signature);
        }
        HttpRequest::new(
            "POST",
            "https://edge.example/v1/a1/hooks/stripe",
            headers,
            body,
        )
        .unwrap()
    }

    #[test]
    fn verifies_with_any_v1_entry_and_reads_the_event() {
        let good = sign(NOW, BODY, SECRET);
        let other = sign(NOW, BODY, b"whsec_another_secret_0123456789");
        for header in [
            format!("t={NOW},v1={good}"),
            format!("t={NOW},v1={other},v1={good},v0=abcd"),
            format!("v1=zz, t={NOW}, v1={good}"),
        ] {
            let signed = verify(&request(Some(&header), BODY), SECRET, NOW, &RustCrypto).unwrap();
            assert_eq!(signed.delivery_key, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
            assert_eq!(signed.event_type.as_deref(), Some("customer.created"));
            assert_eq!(signed.timestamp, Some(NOW));
        }
        let header = format!("t={NOW},v1={other}");
        assert_eq!(
            verify(&request(Some(&header), BODY), SECRET, NOW, &RustCrypto).unwrap_err(),
            Rejection::InvalidSignature
        );
    }

    #[test]
    fn tampering_staleness_and_syntax() {
        let good = sign(NOW, BODY, SECRET);
        let header = format!("t={NOW},v1={good}");
        let mut body = BODY.to_vec();
        body[10] ^= 1;
        assert_eq!(
            verify(&request(Some(&header), &body), SECRET, NOW, &RustCrypto).unwrap_err(),
            Rejection::InvalidSignature
        );
        // The timestamp is signed.
        let moved = format!("t={},v1={good}", NOW + 1);
        assert_eq!(
            verify(&request(Some(&moved), BODY), SECRET, NOW, &RustCrypto).unwrap_err(),
            Rejection::InvalidSignature
        );
        assert_eq!(
            verify(
                &request(Some(&header), BODY),
                SECRET,
                NOW + 301,
                &RustCrypto
            )
            .unwrap_err(),
            Rejection::StaleTimestamp
        );
        assert_eq!(
            verify(
                &request(Some(&header), BODY),
                SECRET,
                NOW - 301,
                &RustCrypto
            )
            .unwrap_err(),
            Rejection::FutureTimestamp
        );
        assert_eq!(
            verify(&request(None, BODY), SECRET, NOW, &RustCrypto).unwrap_err(),
            Rejection::MissingSignature
        );
        let many = format!("t={NOW}{}", ",v1=00".repeat(17));
        for bad in [
            format!("v1={good}"),
            format!("t=soon,v1={good}"),
            format!("t={NOW}"),
            format!("t={NOW},v0={good}"),
            format!("t={NOW},t={NOW},v1={good}"),
            "garbage".to_string(),
            many,
        ] {
            assert_eq!(
                verify(&request(Some(&bad), BODY), SECRET, NOW, &RustCrypto)
                    .unwrap_err()
                    .code(),
                "malformed_signature",
                "{bad}"
            );
        }
        for empty in [
            format!("t={NOW},v1="),
            format!("t={NOW},v1={}", &good[..62]),
        ] {
            assert_eq!(
                verify(&request(Some(&empty), BODY), SECRET, NOW, &RustCrypto).unwrap_err(),
                Rejection::InvalidSignature
            );
        }
    }

    #[test]
    fn a_signed_body_without_an_event_id_is_an_invalid_payload() {
        for body in [
            &b"[]"[..],
            br#"{"object":"event"}"#,
            br#"{"id":"a","id":"b"}"#,
            b"nope",
        ] {
            let header = format!("t={NOW},v1={}", sign(NOW, body, SECRET));
            assert_eq!(
                verify(&request(Some(&header), body), SECRET, NOW, &RustCrypto)
                    .unwrap_err()
                    .code(),
                "invalid_payload"
            );
        }
    }
}
