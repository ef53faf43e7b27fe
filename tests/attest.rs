//! The edge→origin attestation contract (`syncgate::attest`): a signed request round-trips, every
//! component the contract requires is enforced (one test each), a changed covered header or a
//! nonce that is not the request id is refused, and verification takes a current and a previous
//! secret. Runs natively and on wasm32.

// Test helpers unwrap freely: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use syncgate::attest::{
    self, Attestation, COVERED_ALWAYS, COVERED_WHEN_PRESENT, Claims, EDGE_KEY_ID, Outgoing,
    SKEW_SECONDS, header,
};
use syncgate::{Headers, HttpRequest, Rejection, RustCrypto, Secret, rfc9421};

const NOW: i64 = 1_790_000_000;
const URL: &str = "http://origin.test:8788/origin/v1/acme/customers/cus_1?limit=5";
const CURRENT: &str = "whsec_c3luY2dhdGUtb3JpZ2luLXRlc3Qtc2VjcmV0LTAwMDE=";
const PREVIOUS: &str = "whsec_YS1kaWZmZXJlbnQtZWRnZS1zZWNyZXQtMDAwMDAwMDI=";
const THIRD: &str = "whsec_dGhpcmQtc2VjcmV0LW5vYm9keS1zaGFyZXMtMDAz";
const BODY: &[u8] = br#"{"phone":null}"#;

fn secret(text: &str) -> Secret {
    Secret::from_whsec(text).unwrap()
}

/// Every claim set, so every header of the contract is on the request.
fn claims() -> Claims<'static> {
    Claims {
        request_id: "req_0123456789abcdef01234567",
        tenant: "acme",
        instance: Some("acme-eu1"),
        key_id: "ak_writer",
        idempotency_key: Some("idem-1"),
        fields: Some("email, phone"),
        if_match: Some("\"3\""),
        blocked_groups: Some("billing,internal"),
    }
}

fn outgoing() -> Outgoing<'static> {
    Outgoing {
        method: "PATCH",
        url: URL,
        content_type: Some("application/merge-patch+json"),
        body: BODY,
    }
}

/// The request as the origin receives it: the signed headers plus whatever `extra` adds.
fn received(added: &[(String, String)], extra: &[(&str, &str)]) -> HttpRequest {
    let mut headers: Headers = added.iter().map(|(n, v)| (n, v)).collect();
    headers.append("host", "origin.test:8788");
    for (name, value) in extra {
        headers.append(name, value);
    }
    HttpRequest::new("PATCH", URL, headers, BODY.to_vec()).unwrap()
}

fn signed() -> Vec<(String, String)> {
    attest::sign(&outgoing(), &claims(), &secret(CURRENT), NOW).unwrap()
}

fn verify(request: &HttpRequest) -> Result<Attestation, Rejection> {
    attest::verify(request, &[secret(CURRENT)], NOW)
}

/// The headers of a request carrying every contract header, signed with the core's RFC 9421
/// signer over the given components (the core's three are always added).
fn signed_covering(components: &[&str], nonce: &str) -> HttpRequest {
    let added = signed();
    let unsigned: Vec<(String, String)> = added
        .into_iter()
        .filter(|(n, _)| !["content-digest", "signature-input", "signature"].contains(&n.as_str()))
        .collect();
    let mut request = received(&unsigned, &[]);
    let signature = rfc9421::sign(
        &request,
        EDGE_KEY_ID,
        secret(CURRENT).expose_bytes(),
        &rfc9421::SignOptions {
            label: EDGE_KEY_ID.to_string(),
            created: NOW,
            expires: None,
            nonce: nonce.to_string(),
            extra_components: components.iter().map(|c| (*c).to_string()).collect(),
            tag: None,
        },
        &RustCrypto,
    )
    .unwrap();
    for (name, value) in &signature {
        request.headers.append(name, value);
    }
    request
}

fn all_components() -> Vec<&'static str> {
    COVERED_ALWAYS
        .into_iter()
        .chain(COVERED_WHEN_PRESENT)
        .collect()
}

fn assert_malformed(result: Result<Attestation, Rejection>, needle: &str) {
    match result {
        Err(Rejection::MalformedSignature { detail }) => {
            assert!(detail.contains(needle), "{detail:?} should name {needle}");
        }
        other => panic!("expected malformed_signature about {needle}, got {other:?}"),
    }
}

macro_rules! both {
    ($($name:ident $body:block)*) => {$(
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        fn $name() $body
    )*};
}

both! {
    a_signed_request_round_trips_to_its_attestation {
        let added = signed();
        let names: Vec<&str> = added.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                header::REQUEST_ID, header::TENANT, header::INSTANCE, header::KEY_ID,
                header::IDEMPOTENCY_KEY, header::FIELDS, header::IF_MATCH,
                header::BLOCKED_GROUPS, header::CONTENT_TYPE, "content-digest",
                "signature-input", "signature",
            ]
        );
        let attestation = verify(&received(&added, &[])).unwrap();
        assert_eq!(
            attestation,
            Attestation {
                request_id: "req_0123456789abcdef01234567".into(),
                tenant: "acme".into(),
                instance: Some("acme-eu1".into()),
                key_id: "ak_writer".into(),
                idempotency_key: Some("idem-1".into()),
                fields: Some(vec!["email".into(), "phone".into()]),
                if_match: Some("\"3\"".into()),
                blocked_groups: Some(vec!["billing".into(), "internal".into()]),
                created: NOW,
                secret_index: 0,
            }
        );
        assert_eq!(attestation.nonce(), "req_0123456789abcdef01234567");
        let window = i64::try_from(SKEW_SECONDS).unwrap();
        assert_eq!(attestation.remember_until(), NOW + window + 60);
    }

    a_minimal_request_round_trips_and_covers_only_what_it_carries {
        let claims = Claims {
            request_id: "req_minimal",
            tenant: "acme",
            instance: None,
            key_id: "acme-2026-11",
            idempotency_key: None,
            fields: None,
            if_match: None,
            blocked_groups: None,
        };
        let outgoing = Outgoing { method: "GET", url: URL, content_type: None, body: b"" };
        let added = attest::sign(&outgoing, &claims, &secret(CURRENT), NOW).unwrap();
        let headers: Headers = added.iter().map(|(n, v)| (n, v)).collect();
        let input = headers.get("signature-input").unwrap();
        assert!(input.starts_with(
            r#"edge=("@method" "@path" "content-digest" "@query" "x-request-id" "x-syncgate-tenant" "x-syncgate-key-id");"#
        ), "{input}");
        assert!(input.contains(r#"nonce="req_minimal""#) && input.contains(r#"keyid="edge""#));
        let request = HttpRequest::new("GET", URL, headers, Vec::new()).unwrap();
        let attestation = verify(&request).unwrap();
        assert_eq!(attestation.request_id, "req_minimal");
        assert_eq!(attestation.instance, None);
        assert_eq!(attestation.fields, None);
        assert_eq!(attestation.if_match, None);
        assert_eq!(attestation.blocked_groups, None);
    }

    the_core_signer_over_every_component_is_accepted {
        // The control for the tests below: the hand-made signature is otherwise valid.
        let request = signed_covering(&all_components(), claims().request_id);
        assert_eq!(verify(&request).unwrap().tenant, "acme");
    }

    each_always_covered_component_left_uncovered_is_refused {
        for missing in COVERED_ALWAYS {
            let components: Vec<&str> =
                all_components().into_iter().filter(|c| *c != missing).collect();
            let request = signed_covering(&components, claims().request_id);
            assert_malformed(verify(&request), missing);
        }
    }

    each_present_header_left_uncovered_is_refused {
        for missing in COVERED_WHEN_PRESENT {
            let components: Vec<&str> =
                all_components().into_iter().filter(|c| *c != missing).collect();
            let request = signed_covering(&components, claims().request_id);
            assert_malformed(verify(&request), missing);
        }
    }

    a_contract_header_added_after_signing_is_refused {
        // A request signed without owned fields, then given some on the way.
        let claims = Claims { fields: None, ..claims() };
        let added = attest::sign(&outgoing(), &claims, &secret(CURRENT), NOW).unwrap();
        assert!(verify(&received(&added, &[])).is_ok());
        let widened = received(&added, &[(header::FIELDS, "email,phone,company")]);
        assert_malformed(verify(&widened), header::FIELDS);
        // Same for a precondition or a tenant list that was not there.
        let claims = Claims { if_match: None, blocked_groups: None, ..claims };
        let added = attest::sign(&outgoing(), &claims, &secret(CURRENT), NOW).unwrap();
        assert_malformed(verify(&received(&added, &[(header::IF_MATCH, "*")])), header::IF_MATCH);
        assert_malformed(
            verify(&received(&added, &[(header::BLOCKED_GROUPS, "")])),
            header::BLOCKED_GROUPS,
        );
    }

    a_changed_covered_header_is_refused {
        for name in all_components().into_iter().filter(|c| !c.starts_with('@')) {
            let added: Vec<(String, String)> = signed()
                .into_iter()
                .map(|(n, v)| if n == name { (n, format!("{v}x")) } else { (n, v) })
                .collect();
            assert_eq!(
                verify(&received(&added, &[])),
                Err(Rejection::InvalidSignature),
                "{name} changed"
            );
        }
        // The query and the path too.
        let added = signed();
        let headers: Headers = added.iter().map(|(n, v)| (n, v)).collect();
        for url in [
            "http://origin.test:8788/origin/v1/acme/customers/cus_1?limit=500",
            "http://origin.test:8788/origin/v1/globex/customers/cus_1?limit=5",
        ] {
            let request = HttpRequest::new("PATCH", url, headers.clone(), BODY.to_vec()).unwrap();
            assert_eq!(verify(&request), Err(Rejection::InvalidSignature), "{url}");
        }
        // The host is not covered: a proxy may rewrite it.
        let request = HttpRequest::new(
            "PATCH",
            "http://127.0.0.1:9999/origin/v1/acme/customers/cus_1?limit=5",
            headers,
            BODY.to_vec(),
        )
        .unwrap();
        assert!(verify(&request).is_ok());
    }

    a_changed_body_is_refused {
        let added = signed();
        let headers: Headers = added.iter().map(|(n, v)| (n, v)).collect();
        let request = HttpRequest::new("PATCH", URL, headers, br#"{"phone":"1"}"#.to_vec()).unwrap();
        assert_eq!(verify(&request), Err(Rejection::DigestMismatch));
    }

    a_nonce_other_than_the_request_id_is_refused {
        let request = signed_covering(&all_components(), "req_someone_else");
        assert_malformed(verify(&request), "nonce");
    }

    the_window_is_enforced_both_ways {
        let window = i64::try_from(SKEW_SECONDS).unwrap();
        let request = received(&signed(), &[]);
        let at = |now: i64| attest::verify(&request, &[secret(CURRENT)], now);
        assert!(at(NOW + window).is_ok());
        assert!(at(NOW - window).is_ok());
        assert_eq!(at(NOW + window + 1), Err(Rejection::StaleTimestamp));
        assert_eq!(at(NOW - window - 1), Err(Rejection::FutureTimestamp));
    }

    either_of_two_secrets_verifies_and_a_third_does_not {
        let ring = [secret(CURRENT), secret(PREVIOUS)];
        for (text, index) in [(CURRENT, 0), (PREVIOUS, 1)] {
            let added = attest::sign(&outgoing(), &claims(), &secret(text), NOW).unwrap();
            let attestation = attest::verify(&received(&added, &[]), &ring, NOW).unwrap();
            assert_eq!(attestation.secret_index, index);
        }
        let added = attest::sign(&outgoing(), &claims(), &secret(THIRD), NOW).unwrap();
        let request = received(&added, &[]);
        assert_eq!(attest::verify(&request, &ring, NOW), Err(Rejection::InvalidSignature));
        // Once the previous secret is dropped, what it signed is refused.
        let added = attest::sign(&outgoing(), &claims(), &secret(PREVIOUS), NOW).unwrap();
        let request = received(&added, &[]);
        assert_eq!(
            attest::verify(&request, &[secret(CURRENT)], NOW),
            Err(Rejection::InvalidSignature)
        );
        assert_eq!(attest::verify(&request, &[], NOW), Err(Rejection::UnknownKey));
    }

    another_key_id_is_unknown_and_no_signature_is_missing {
        let added = signed();
        let unsigned: Vec<(String, String)> = added
            .iter()
            .filter(|(n, _)| !n.starts_with("signature"))
            .cloned()
            .collect();
        assert_eq!(verify(&received(&unsigned, &[])), Err(Rejection::MissingSignature));

        let mut request = received(&unsigned, &[]);
        let signature = rfc9421::sign(
            &request,
            "not-the-edge",
            secret(CURRENT).expose_bytes(),
            &rfc9421::SignOptions {
                label: EDGE_KEY_ID.to_string(),
                created: NOW,
                expires: None,
                nonce: claims().request_id.to_string(),
                extra_components: all_components().iter().map(|c| (*c).to_string()).collect(),
                tag: None,
            },
            &RustCrypto,
        )
        .unwrap();
        for (name, value) in signature.iter().filter(|(n, _)| n != "content-digest") {
            request.headers.append(name, value);
        }
        assert_eq!(verify(&request), Err(Rejection::UnknownKey));
    }

    values_that_cannot_be_signed_are_refused_not_panicked_on {
        let bad = [
            Claims { tenant: "acme\r\nx-evil: 1", ..claims() },
            Claims { request_id: "req with \u{7f}", ..claims() },
        ];
        for claims in bad {
            assert!(matches!(
                attest::sign(&outgoing(), &claims, &secret(CURRENT), NOW),
                Err(Rejection::MalformedSignature { .. })
            ));
        }
        let relative = Outgoing { url: "/origin/v1/acme/sync", ..outgoing() };
        assert!(attest::sign(&relative, &claims(), &secret(CURRENT), NOW).is_err());
    }
}
