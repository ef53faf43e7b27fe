//! `Signature-Input`, `Signature` and `Content-Digest` parsing (src/signature/rfc9421.rs).
//!
//! The first byte picks the field, the rest is its value:
//! - 0: `Signature-Input`: every entry's params, required components and signature base over a
//!   fixed request; the canonical `@signature-params` line parses back to the same entry.
//! - 1: `Signature` in a request whose other headers are validly signed: accepted only when the
//!   value still carries the true tag under the signed label.
//! - 2: `Content-Digest` against a fixed body: accepted only with the body's true SHA-256.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sfv::{BareItem, Dictionary, Item, ListEntry, Parser, Version};
use syncgate::rfc9421::{self, SignatureInput, check_content_digest};
use syncgate::{HttpRequest, Primitives, RustCrypto, SkewWindow, TenantPolicy};
use syncgate_fuzz::{NOW, policy, rfc9421_fixture};

struct Fixture {
    request: HttpRequest,
    policy: TenantPolicy,
    tag: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let request = rfc9421_fixture().unwrap();
        let signature: Dictionary = Parser::new(request.headers.get("signature").unwrap())
            .with_version(Version::Rfc8941)
            .parse()
            .unwrap();
        let Some(ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(tag),
            ..
        })) = signature.get("sig1")
        else {
            panic!("no sig1 in the fixture's signature");
        };
        Fixture {
            tag: tag.clone(),
            request,
            policy: policy(),
        }
    })
}

fn with_header(request: &HttpRequest, name: &str, value: &str) -> HttpRequest {
    let mut out = request.clone();
    out.headers = request
        .headers
        .iter()
        .map(|(n, v)| (n, if n == name { value } else { v }))
        .collect();
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let f = fixture();
    match selector % 3 {
        0 => {
            let Ok(entries) = SignatureInput::parse_all(text) else {
                return;
            };
            for entry in entries {
                let _ = entry.params();
                let _ = entry.require_components();
                let _ = entry.signature_base(&f.request);
                let again = format!("{}={}", entry.label(), entry.serialized_params());
                let reparsed = SignatureInput::parse_all(&again).unwrap();
                assert_eq!(reparsed.len(), 1);
                assert_eq!(reparsed[0].components(), entry.components());
                assert_eq!(reparsed[0].serialized_params(), entry.serialized_params());
                assert_eq!(reparsed[0].params(), entry.params());
            }
        }
        1 => {
            let request = with_header(&f.request, "signature", text);
            let body_sha256 = RustCrypto.sha256(&request.body);
            let verified = rfc9421::verify(
                &request,
                &body_sha256,
                &f.policy.keys,
                SkewWindow::new(300),
                NOW,
                &RustCrypto,
            );
            if verified.is_ok() {
                let dict: Dictionary = Parser::new(text)
                    .with_version(Version::Rfc8941)
                    .parse()
                    .unwrap();
                match dict.get("sig1") {
                    Some(ListEntry::Item(Item {
                        bare_item: BareItem::ByteSequence(tag),
                        ..
                    })) => assert_eq!(tag, &f.tag, "accepted a different tag"),
                    other => panic!("accepted without the signed label: {other:?}"),
                }
            }
        }
        _ => {
            let body_sha256 = RustCrypto.sha256(&f.request.body);
            if check_content_digest(text, &body_sha256).is_ok() {
                let dict: Dictionary = Parser::new(text)
                    .with_version(Version::Rfc8941)
                    .parse()
                    .unwrap();
                match dict.get("sha-256") {
                    Some(ListEntry::Item(Item {
                        bare_item: BareItem::ByteSequence(bytes),
                        ..
                    })) => assert_eq!(bytes.as_slice(), body_sha256.as_slice()),
                    other => panic!("digest accepted without sha-256: {other:?}"),
                }
            }
        }
    }
});
