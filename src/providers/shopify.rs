//! Shopify webhooks: `X-Shopify-Hmac-Sha256`, the base64 HMAC-SHA256 of the raw body under the
//! app's client secret ([Shopify: verify webhooks]).
//!
//! Like GitHub, Shopify signs no timestamp and no id: `X-Shopify-Webhook-Id` (the same on every
//! retry of a delivery) is the delivery key the ledger records, but the body hash beside it is
//! what a replay cannot change, and the origin's `Idempotency-Key` is made from the body hash.
//!
//! [Shopify: verify webhooks]: https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify

use crate::error::Rejection;
use crate::request::HttpRequest;
use crate::signature::crypto::{Primitives, hex};

use super::{
    MAX_DELIVERY_ID_CHARS, MAX_EVENT_TYPE_CHARS, Signed, decode_base64, mac_matches,
    signature_header, visible,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-shopify-hmac-sha256";
/// The delivery id header (not signed).
pub const DELIVERY_HEADER: &str = "x-shopify-webhook-id";
/// The topic header (not signed).
pub const TOPIC_HEADER: &str = "x-shopify-topic";

/// Verifies a Shopify delivery.
///
/// # Errors
/// `missing_signature`, `malformed_signature` (not base64), `invalid_signature`.
pub(crate) fn verify(
    request: &HttpRequest,
    key: &[u8],
    primitives: &dyn Primitives,
) -> Result<Signed, Rejection> {
    let header = signature_header(request, SIGNATURE_HEADER)?;
    let tag = decode_base64(header)
        .ok_or_else(|| Rejection::malformed("x-shopify-hmac-sha256 must be base64"))?;
    if !mac_matches(primitives, key, &[&request.body], &[tag]) {
        return Err(Rejection::InvalidSignature);
    }
    let delivery_id = visible(request.headers.get(DELIVERY_HEADER), MAX_DELIVERY_ID_CHARS);
    let body_sha256 = hex(&primitives.sha256(&request.body));
    Ok(Signed {
        timestamp: None,
        delivery_key: delivery_id.clone().unwrap_or(body_sha256),
        delivery_key_signed: delivery_id.is_none(),
        delivery_id,
        delivery_id_signed: false,
        event_type: visible(request.headers.get(TOPIC_HEADER), MAX_EVENT_TYPE_CHARS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Headers;
    use crate::signature::crypto::RustCrypto;
    use base64::Engine as _;

    const SECRET: &[u8] = b"shpss_0123456789abcdef0123456789";

    fn request(signature: Option<&str>, body: &[u8]) -> HttpRequest {
        let mut headers: Headers = [
            (
                "X-Shopify-Webhook-Id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            ),
            ("X-Shopify-Topic", "orders/create"),
        ]
        .into_iter()
        .collect();
        if let Some(signature) = signature {
            headers.append("X-Shopify-Hmac-Sha256", signature);
        }
        HttpRequest::new(
            "POST",
            "https://edge.example/v1/a1/hooks/shopify",
            headers,
            body,
        )
        .unwrap()
    }

    fn sign(body: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(RustCrypto.hmac_sha256(SECRET, &[body]))
    }

    #[test]
    fn verifies_and_one_byte_does_not() {
        let body = br#"{"id":820982911946154508,"email":"jon@example.com"}"#;
        let signature = sign(body);
        let signed = verify(&request(Some(&signature), body), SECRET, &RustCrypto).unwrap();
        assert_eq!(signed.event_type.as_deref(), Some("orders/create"));
        assert_eq!(signed.delivery_key, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
        let mut tampered = body.to_vec();
        tampered[5] ^= 1;
        assert_eq!(
            verify(&request(Some(&signature), &tampered), SECRET, &RustCrypto).unwrap_err(),
            Rejection::InvalidSignature
        );
        assert_eq!(
            verify(&request(None, body), SECRET, &RustCrypto).unwrap_err(),
            Rejection::MissingSignature
        );
        assert_eq!(
            verify(&request(Some("!!"), body), SECRET, &RustCrypto)
                .unwrap_err()
                .code(),
            "malformed_signature"
        );
        assert_eq!(
            verify(&request(Some(""), body), SECRET, &RustCrypto).unwrap_err(),
            Rejection::InvalidSignature
        );
        assert_eq!(
            verify(&request(Some(&signature[..20]), body), SECRET, &RustCrypto)
                .unwrap_err()
                .code(),
            "invalid_signature"
        );
    }
}
