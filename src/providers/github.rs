//! GitHub webhooks: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body under the
//! webhook's secret ([GitHub: validating webhook deliveries]).
//!
//! GitHub signs no timestamp and no id: `X-GitHub-Delivery` (a GUID) travels beside the
//! signature, not under it. It is the delivery key the ledger records, but the ledger's second
//! key, the body hash, is what a replay cannot change, and the origin's `Idempotency-Key` is made
//! from the body hash alone. The legacy SHA-1 `X-Hub-Signature` is not accepted.
//!
//! [GitHub: validating webhook deliveries]: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries

use crate::error::Rejection;
use crate::request::HttpRequest;
use crate::signature::crypto::{Primitives, hex};

use super::{
    MAX_DELIVERY_ID_CHARS, MAX_EVENT_TYPE_CHARS, Signed, decode_hex, mac_matches, signature_header,
    visible,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The delivery id header (not signed).
pub const DELIVERY_HEADER: &str = "x-github-delivery";
/// The event type header (not signed).
pub const EVENT_HEADER: &str = "x-github-event";

/// Verifies a GitHub delivery.
///
/// # Errors
/// `missing_signature`, `malformed_signature` (not `sha256=<hex>`), `invalid_signature`.
pub(crate) fn verify(
    request: &HttpRequest,
    key: &[u8],
    primitives: &dyn Primitives,
) -> Result<Signed, Rejection> {
    let header = signature_header(request, SIGNATURE_HEADER)?;
    let tag = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(decode_hex)
        .ok_or_else(|| Rejection::malformed("x-hub-signature-256 must be sha256=<hex>"))?;
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
        event_type: visible(request.headers.get(EVENT_HEADER), MAX_EVENT_TYPE_CHARS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Headers;
    use crate::signature::crypto::RustCrypto;

    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn request(signature: Option<&str>, body: &[u8]) -> HttpRequest {
        let mut headers: Headers = [("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")]
            .into_iter()
            .collect();
        if let Some(signature) = signature {
            headers.append("X-Hub-Signature-256", signature);
        }
        HttpRequest::new(
            "POST",
            "https://edge.example/v1/a1/hooks/github",
            headers,
            body,
        )
        .unwrap()
    }

    #[test]
    fn published_vector_verifies_and_one_byte_does_not() {
        let signed = verify(
            &request(Some(SIGNATURE), b"Hello, World!"),
            SECRET,
            &RustCrypto,
        )
        .unwrap();
        assert_eq!(
            signed.delivery_id.as_deref(),
            Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        assert!(!signed.delivery_key_signed);
        let err = verify(
            &request(Some(SIGNATURE), b"Hello, World?"),
            SECRET,
            &RustCrypto,
        );
        assert_eq!(err.unwrap_err(), Rejection::InvalidSignature);
        let upper = SIGNATURE.to_uppercase().replace("SHA256=", "sha256=");
        assert!(
            verify(
                &request(Some(&upper), b"Hello, World!"),
                SECRET,
                &RustCrypto
            )
            .is_ok()
        );
    }

    #[test]
    fn missing_malformed_empty_and_truncated() {
        let body = b"Hello, World!";
        assert_eq!(
            verify(&request(None, body), SECRET, &RustCrypto).unwrap_err(),
            Rejection::MissingSignature
        );
        for bad in ["757107ea", "sha1=757107ea", "sha256=zz", "sha256=757"] {
            assert_eq!(
                verify(&request(Some(bad), body), SECRET, &RustCrypto)
                    .unwrap_err()
                    .code(),
                "malformed_signature",
                "{bad}"
            );
        }
        for bad in ["sha256=", "sha256=7571", &SIGNATURE[..SIGNATURE.len() - 2]] {
            assert_eq!(
                verify(&request(Some(bad), body), SECRET, &RustCrypto).unwrap_err(),
                Rejection::InvalidSignature,
                "{bad}"
            );
        }
    }
}
