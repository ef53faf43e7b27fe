//! What a verifier MACs, shown: the signature base(s) of a request, for the npm package's
//! `signatureBase(request)` (src/wasm.rs) and the browser preview page (`examples/browser/`).
//!
//! For each RFC 9421 signature of a request it rebuilds the signature base (RFC 9421 §2.5) with
//! the same code the verifier runs ([`SignatureInput::signature_base`]); for a
//! Standard Webhooks request it shows the signed content `id.timestamp.body`. It checks no MAC and
//! needs no key: it answers *what* would be checked, and whether the `Content-Digest` header
//! matches the body, so a person can see which byte changed when a verdict says
//! `digest_mismatch` or `invalid_signature`.

use serde::Serialize;

use crate::signature::crypto::{Primitives, RustCrypto};
use crate::signature::rfc9421::{SignatureInput, content_digest_value};
use crate::signature::webhooks::WebhookHeaders;
use crate::{HttpRequest, Rejection};

/// The signature base of one RFC 9421 signature.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rfc9421Base {
    label: String,
    components: Vec<String>,
    key_id: Option<String>,
    created: Option<i64>,
    nonce: Option<String>,
    base: String,
}

/// What [`preview`] answers.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
pub(crate) enum Preview {
    /// RFC 9421: one base per labelled signature.
    #[serde(rename = "rfc9421", rename_all = "camelCase")]
    Rfc9421 {
        signatures: Vec<Rfc9421Base>,
        /// The `Content-Digest` the body has.
        content_digest: String,
        /// Whether the request's `Content-Digest` header equals it.
        digest_matches: bool,
    },
    /// Standard Webhooks: the signed content.
    #[serde(rename_all = "camelCase")]
    StandardWebhooks {
        id: String,
        timestamp: String,
        base: String,
    },
}

/// The signature bases of `request`, RFC 9421 first (as the verifier tries them).
pub(crate) fn preview(request: &HttpRequest) -> Result<Preview, Rejection> {
    if let Some(input) = request.headers.get("signature-input") {
        let mut signatures = Vec::new();
        for entry in SignatureInput::parse_all(input)? {
            let params = entry.params().ok();
            signatures.push(Rfc9421Base {
                label: entry.label().to_string(),
                components: entry.components().to_vec(),
                key_id: params.as_ref().map(|p| p.keyid.clone()),
                created: params.as_ref().map(|p| p.created),
                nonce: params.map(|p| p.nonce),
                base: entry.signature_base(request)?,
            });
        }
        let content_digest = content_digest_value(&RustCrypto.sha256(&request.body));
        let digest_matches = request.headers.get("content-digest") == Some(content_digest.as_str());
        return Ok(Preview::Rfc9421 {
            signatures,
            content_digest,
            digest_matches,
        });
    }
    match WebhookHeaders::find(&request.headers) {
        Some(found) => {
            let headers = found?;
            Ok(Preview::StandardWebhooks {
                id: headers.id.to_string(),
                timestamp: headers.timestamp.to_string(),
                base: format!(
                    "{}.{}.{}",
                    headers.id,
                    headers.timestamp,
                    String::from_utf8_lossy(&request.body)
                ),
            })
        }
        None => Err(Rejection::MissingSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Headers, Scheme, SigningOptions, sign_request};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn signed(scheme: Scheme) -> HttpRequest {
        let body = br#"{"type":"branding","tenant":"acme","version":1,"branding":{"title":"A"}}"#;
        let url = "https://edge.example/v1/acme-eu1/sync";
        let mut headers: Headers = [("content-type", "application/json")].into_iter().collect();
        let unsigned = HttpRequest::new("POST", url, headers.clone(), body.to_vec()).unwrap();
        let options = SigningOptions::new(scheme, 1_790_000_000, "n-1");
        for (name, value) in sign_request(&unsigned, "k1", SECRET, &options).unwrap() {
            headers.set(&name, &value);
        }
        HttpRequest::new("POST", url, headers, body.to_vec()).unwrap()
    }

    #[test]
    fn rfc9421_base_is_what_was_signed() {
        let request = signed(Scheme::Rfc9421);
        let Preview::Rfc9421 {
            signatures,
            digest_matches,
            ..
        } = preview(&request).unwrap()
        else {
            panic!("not rfc9421");
        };
        assert!(digest_matches);
        let sig = &signatures[0];
        assert_eq!(sig.label, "sig1");
        assert_eq!(sig.key_id.as_deref(), Some("k1"));
        assert_eq!(sig.nonce.as_deref(), Some("n-1"));
        // The MAC over this base is the signature the request carries.
        let tag = RustCrypto.hmac_sha256(SECRET, &[sig.base.as_bytes()]);
        let header = request.headers.get("signature").unwrap();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, tag);
        assert_eq!(header, format!("sig1=:{b64}:"));
        assert!(
            sig.base
                .starts_with("\"@method\": POST\n\"@path\": /v1/acme-eu1/sync\n")
        );
        assert!(sig.base.contains("\"@signature-params\": (\"@method\""));
    }

    #[test]
    fn a_changed_body_no_longer_matches_its_digest() {
        let mut request = signed(Scheme::Rfc9421);
        request.body[10] ^= 1;
        let Preview::Rfc9421 { digest_matches, .. } = preview(&request).unwrap() else {
            panic!("not rfc9421");
        };
        assert!(!digest_matches);
    }

    #[test]
    fn standard_webhooks_content() {
        let request = signed(Scheme::StandardWebhooks);
        let Preview::StandardWebhooks {
            id,
            timestamp,
            base,
        } = preview(&request).unwrap()
        else {
            panic!("not standard webhooks");
        };
        assert_eq!(id, "n-1");
        assert_eq!(timestamp, "1790000000");
        assert!(base.starts_with("n-1.1790000000.{\"type\""));
    }

    #[test]
    fn unsigned_is_missing_signature() {
        let request = HttpRequest::new("POST", "https://e.x/", Headers::new(), b"{}".to_vec());
        assert_eq!(
            preview(&request.unwrap()).unwrap_err().code(),
            "missing_signature"
        );
    }
}
