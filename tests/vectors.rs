//! Published test vectors (`tests/vectors/public.json`, shared with the Node, browser and worker
//! suites), run natively and on wasm32 under `wasm-bindgen-test`.
//!
//! Kinds that apply: Standard Webhooks v1 (sign and verify), RFC 9421 B.2.5 (signature base and
//! HMAC), RFC 9530 (`Content-Digest`), and the HMAC-SHA256 / SHA-256 known answers of GitHub,
//! Slack and HubSpot v1 through the crypto seam. `standard-webhooks-v1a` is Ed25519, which
//! syncgate does not verify; it is counted and skipped by name.

// Test helpers unwrap freely: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use syncgate::rfc9421::{SignatureInput, content_digest_value};
use syncgate::webhooks::{self, WebhookHeaders};
use syncgate::{
    Headers, HttpRequest, KeyRing, KeyStatus, Primitives, RustCrypto, Secret, SigningKey,
    SkewWindow, hex,
};

const VECTORS: &str = include_str!("vectors/public.json");

fn vectors(kind: &str) -> Vec<Value> {
    let all: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    let picked: Vec<Value> = all.into_iter().filter(|v| v["kind"] == kind).collect();
    assert!(!picked.is_empty(), "no vectors of kind {kind}");
    picked
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing"))
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn every_vector_kind_is_handled() {
    let all: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    let handled = [
        "standard-webhooks-v1",
        "rfc9421-b25",
        "rfc9530",
        "github",
        "slack",
        "hubspot-v1",
    ];
    let skipped = ["standard-webhooks-v1a"];
    for v in &all {
        let kind = s(v, "kind");
        assert!(
            handled.contains(&kind) || skipped.contains(&kind),
            "unhandled vector kind {kind}"
        );
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn standard_webhooks_v1_sign_and_verify() {
    for v in vectors("standard-webhooks-v1") {
        let secret = Secret::from_whsec(s(&v, "secret")).unwrap();
        let ts = v["timestamp"].as_i64().unwrap();
        let body = s(&v, "payload").as_bytes();
        let headers = webhooks::sign(
            s(&v, "msg_id"),
            ts,
            body,
            secret.expose_bytes(),
            &RustCrypto,
        )
        .unwrap();
        assert_eq!(headers[2].1, s(&v, "expected"));

        let ring = KeyRing(vec![SigningKey {
            kid: "vector".into(),
            version: 1,
            status: KeyStatus::Active,
            secret: secret.clone(),
        }]);
        let sig = format!("v1a,AAAA {} v1,AAAA", s(&v, "expected"));
        let wh = WebhookHeaders {
            id: s(&v, "msg_id"),
            timestamp: &ts.to_string(),
            signature: &sig,
        };
        let verified =
            webhooks::verify(wh, body, &ring, SkewWindow::new(300), ts, &RustCrypto).unwrap();
        assert_eq!(verified.key.kid, "vector");
        assert_eq!(verified.id, s(&v, "msg_id"));

        let mut tampered = body.to_vec();
        tampered.push(b' ');
        let err = webhooks::verify(wh, &tampered, &ring, SkewWindow::new(300), ts, &RustCrypto)
            .unwrap_err();
        assert_eq!(err.code(), "invalid_signature");
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn rfc9421_b25_signature_base_and_hmac() {
    for v in vectors("rfc9421-b25") {
        // The request of RFC 9421 Appendix B.2: the B.2.5 signature covers date, @authority and
        // content-type.
        let headers: Headers = [
            ("Host", "example.com"),
            ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("Content-Type", "application/json"),
            ("Content-Length", "18"),
        ]
        .into_iter()
        .collect();
        let request = HttpRequest::new(
            "POST",
            "https://example.com/foo?param=Value&Pet=dog",
            headers,
            br#"{"hello": "world"}"#.to_vec(),
        )
        .unwrap();
        let input = SignatureInput::parse_all(s(&v, "signature_input")).unwrap();
        assert_eq!(input[0].label(), "sig-b25");
        let base = input[0].signature_base(&request).unwrap();
        assert_eq!(base, s(&v, "signature_base"));
        let key = STANDARD.decode(s(&v, "secret")).unwrap();
        let tag = RustCrypto.hmac_sha256(&key, &[base.as_bytes()]);
        assert_eq!(STANDARD.encode(tag), s(&v, "expected"));
        let expected = STANDARD.decode(s(&v, "expected")).unwrap();
        assert!(RustCrypto.verify_hmac_sha256(&key, &[base.as_bytes()], &expected));
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn rfc9530_content_digest() {
    for v in vectors("rfc9530") {
        let digest = RustCrypto.sha256(s(&v, "payload").as_bytes());
        assert_eq!(content_digest_value(&digest), s(&v, "expected"));
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn hmac_and_sha256_known_answers() {
    for v in vectors("github") {
        let tag =
            RustCrypto.hmac_sha256(s(&v, "secret").as_bytes(), &[s(&v, "payload").as_bytes()]);
        assert_eq!(format!("sha256={}", hex(&tag)), s(&v, "expected"));
    }
    for v in vectors("slack") {
        let base = format!("v0:{}:{}", s(&v, "timestamp"), s(&v, "payload"));
        let tag = RustCrypto.hmac_sha256(s(&v, "secret").as_bytes(), &[base.as_bytes()]);
        assert_eq!(format!("v0={}", hex(&tag)), s(&v, "expected"));
    }
    for v in vectors("hubspot-v1") {
        let material = format!("{}{}", s(&v, "secret"), s(&v, "payload"));
        assert_eq!(
            hex(&RustCrypto.sha256(material.as_bytes())),
            s(&v, "expected")
        );
    }
}
