//! `verify_request` beyond the table cases: signing over a stale digest, the replay ledger's
//! semantics, replay keys under rotation, the code catalogue. One case per rejection the
//! storage-free checks produce, for both schemes, is data in tests/cases/signatures.json (run by
//! tests/cases.rs). Runs natively and on wasm32.

// Test helpers unwrap freely: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use syncgate::{
    Headers, HttpRequest, MemoryLedger, Rejection, Scheme, SigningOptions, TenantPolicy,
    sign_request, verify_request,
};

const NOW: i64 = 1_790_000_000;
const URL: &str = "https://edge.example/v1/acme-eu1/sync?trace=1";
const ACTIVE: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const RETIRING: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const REVOKED: &str = "whsec_dGhpcy1rZXktd2FzLXJldm9rZWQtMjAyNg==";

fn policy_json(extra: &str) -> String {
    format!(
        r#"{{"instance":"acme-eu1","tenant":"acme",
            "keys":[{{"kid":"acme-2026-11","version":2,"status":"active","secret":"{ACTIVE}"}},
                    {{"kid":"acme-2026-05","version":1,"status":"retiring","secret":"{RETIRING}"}},
                    {{"kid":"acme-2025-11","version":0,"status":"revoked","secret":"{REVOKED}"}}]
            {extra}}}"#
    )
}

fn policy() -> TenantPolicy {
    TenantPolicy::from_json(&policy_json("")).unwrap()
}

fn branding(version: u64) -> Vec<u8> {
    format!(
        r##"{{"type":"branding","tenant":"acme","version":{version},"branding":{{"title":"Acme Travel","primaryColor":"#1f6feb"}}}}"##
    )
    .into_bytes()
}

fn unsigned(body: &[u8]) -> HttpRequest {
    let headers: Headers = [("Content-Type", "application/json"), ("X-Trace", "abc")]
        .into_iter()
        .collect();
    HttpRequest::new("POST", URL, headers, body.to_vec()).unwrap()
}

fn signed_with(body: &[u8], kid: &str, secret: &str, options: &SigningOptions) -> HttpRequest {
    let mut request = unsigned(body);
    let secret = syncgate::Secret::from_whsec(secret).unwrap();
    for (name, value) in sign_request(&request, kid, secret.expose_bytes(), options).unwrap() {
        request.headers.append(&name, &value);
    }
    request
}

fn rfc9421(body: &[u8]) -> HttpRequest {
    signed_with(
        body,
        "acme-2026-11",
        ACTIVE,
        &SigningOptions::new(Scheme::Rfc9421, NOW, "n-1"),
    )
}

macro_rules! both {
    ($($name:ident $body:block)*) => {$(
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        fn $name() $body
    )*};
}

both! {
    signing_replaces_a_stale_content_digest {
        // A request that already carries a Content-Digest (of another body, in any case):
        // the signer covers and returns its own digest, so its output verifies once set.
        for stale_name in ["Content-Digest", "content-digest", "CONTENT-DIGEST"] {
            let mut request = unsigned(&branding(1));
            request.headers.append(stale_name, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
            let secret = syncgate::Secret::from_whsec(ACTIVE).unwrap();
            let opts = SigningOptions::new(Scheme::Rfc9421, NOW, "n-stale");
            let signed = sign_request(&request, "acme-2026-11", secret.expose_bytes(), &opts).unwrap();
            let digest = &signed.iter().find(|(n, _)| n == "content-digest").unwrap().1;
            assert!(!digest.contains(','), "{digest}");
            for (name, value) in &signed {
                request.headers.set(name, value);
            }
            assert_eq!(request.headers.get("content-digest"), Some(digest.as_str()));
            let v = verify_request(&request, &policy(), NOW).unwrap();
            assert_eq!(v.nonce, "n-stale");
        }
    }

    replay_ledger_semantics {
        let p = policy();
        let first = verify_request(&rfc9421(&branding(5)), &p, NOW).unwrap();
        let mut ledger = MemoryLedger::new();
        ledger.reserve(&first.replay, "req-1", &first.sections, 5, NOW).unwrap();
        // The same request again while in flight, then after it was applied.
        let err = ledger.reserve(&first.replay, "req-2", &first.sections, 5, NOW).unwrap_err();
        assert_eq!(err, Rejection::ReplayedNonce { original_request_id: Some("req-1".into()), applied: false });
        ledger.commit(&first.replay, &first.sections, 5);
        let err = ledger.reserve(&first.replay, "req-3", &first.sections, 5, NOW).unwrap_err();
        assert_eq!(err, Rejection::ReplayedNonce { original_request_id: Some("req-1".into()), applied: true });
        assert!(err.to_string().contains("req-1"));
        // The same body under a new nonce.
        let again = signed_with(&branding(5), "acme-2026-11", ACTIVE, &SigningOptions::new(Scheme::Rfc9421, NOW, "n-new"));
        let again = verify_request(&again, &p, NOW).unwrap();
        assert_ne!(again.replay.nonce_key, first.replay.nonce_key);
        assert_eq!(again.replay.payload_key, first.replay.payload_key);
        let err = ledger.reserve(&again.replay, "req-4", &again.sections, 5, NOW).unwrap_err();
        assert_eq!(err.code(), "duplicate_payload");
        // An older version of the section.
        let older = verify_request(&signed_with(&branding(4), "acme-2026-11", ACTIVE, &SigningOptions::new(Scheme::Rfc9421, NOW, "n-old")), &p, NOW).unwrap();
        let err = ledger.reserve(&older.replay, "req-5", &older.sections, 4, NOW).unwrap_err();
        assert_eq!(err, Rejection::StaleVersion { section: "branding".into(), applied_version: 5, received_version: 4 });
        // A combined payload newer than branding but not than features is stale.
        ledger.commit(&older.replay, &["features"], 9);
        let err = syncgate::check_section_versions(&["features", "branding"], 7, |s| ledger.applied_version(s)).unwrap_err();
        assert_eq!(err.code(), "stale_version");
        // Entries are pruned once their window has passed; state stays bounded.
        assert_eq!(ledger.len(), 1);
        ledger.prune(first.replay.expires_at + 1);
        assert!(ledger.is_empty());
    }

    released_reservation_lets_the_retry_through {
        let v = verify_request(&rfc9421(&branding(6)), &policy(), NOW).unwrap();
        let mut ledger = MemoryLedger::new();
        ledger.reserve(&v.replay, "req-1", &v.sections, 6, NOW).unwrap();
        ledger.release(&v.replay);
        ledger.reserve(&v.replay, "req-2", &v.sections, 6, NOW).unwrap();
        ledger.commit(&v.replay, &v.sections, 6);
        ledger.release(&v.replay);
        assert_eq!(ledger.reserve(&v.replay, "req-3", &v.sections, 6, NOW).unwrap_err().code(), "replayed_nonce");
    }

    replay_keys_are_bound_to_the_tenant_not_the_key {
        // Rotation: the same request signed by both keys; a replay keeping only the old key's
        // signature must land on the same ledger entries.
        let a = verify_request(&rfc9421(&branding(1)), &policy(), NOW).unwrap();
        let opts = SigningOptions::new(Scheme::Rfc9421, NOW, "n-1");
        let b = verify_request(&signed_with(&branding(1), "acme-2026-05", RETIRING, &opts), &policy(), NOW).unwrap();
        assert_ne!(a.key_id, b.key_id);
        assert_eq!(a.replay.nonce_key, b.replay.nonce_key);
        assert_eq!(a.replay.payload_key, b.replay.payload_key);
        let mut ledger = MemoryLedger::new();
        ledger.reserve(&a.replay, "req-1", &a.sections, 1, NOW).unwrap();
        assert_eq!(ledger.reserve(&b.replay, "req-2", &b.sections, 1, NOW).unwrap_err().code(), "replayed_nonce");
        // Another tenant with the same nonce and body is another entry.
        let globex = TenantPolicy::from_json(&policy_json("").replace("\"acme\"", "\"globex\"")).unwrap();
        let body = br#"{"type":"branding","tenant":"globex","version":1,"branding":{"title":"Globex"}}"#;
        let c = verify_request(&rfc9421(body), &globex, NOW).unwrap();
        assert_ne!(c.replay.nonce_key, a.replay.nonce_key);
    }

    every_code_has_its_status {
        assert_eq!(syncgate::error::ALL_CODES.len(), syncgate::error::CATALOG.len());
        assert!(syncgate::error::ALL_CODES.len() >= 33);
        let r = Rejection::OriginUnavailable;
        assert_eq!((r.code(), r.status(), r.is_retryable()), ("origin_unavailable", 503, true));
    }
}
