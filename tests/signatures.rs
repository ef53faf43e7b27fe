//! `verify_request` end to end, one test per rejection the storage-free checks produce, for both
//! schemes; plus the replay ledger's semantics. Runs natively and on wasm32.

// Test helpers unwrap freely: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use syncgate::Rejection;
use syncgate::policy::{Scheme, TenantPolicy};
use syncgate::replay::MemoryLedger;
use syncgate::request::{Headers, HttpRequest};
use syncgate::sign::{SigningOptions, sign_request};
use syncgate::verify::{Verdict, verify_request};

const NOW: i64 = 1_790_000_000;
const URL: &str = "https://edge.example/v1/acme-eu1/sync?trace=1";
const ACTIVE: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const RETIRING: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const REVOKED: &str = "whsec_dGhpcy1rZXktd2FzLXJldm9rZWQtMjAyNg==";
const OTHER_TENANT: &str = "whsec_b3RoZXItdGVuYW50LXNlY3JldC1rZXkh";
const SMTP_PASSWORD: &str = "correct-horse-battery-staple";

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

fn webhook(body: &[u8]) -> HttpRequest {
    signed_with(
        body,
        "ignored",
        ACTIVE,
        &SigningOptions::new(Scheme::StandardWebhooks, NOW, "msg_1"),
    )
}

fn code(result: Result<Verdict, Rejection>) -> &'static str {
    let err = result.unwrap_err();
    let message = err.to_string();
    for secret in [ACTIVE, RETIRING, REVOKED, OTHER_TENANT, SMTP_PASSWORD] {
        assert!(
            !message.contains(secret.trim_start_matches("whsec_")),
            "{message}"
        );
    }
    err.code()
}

fn replace_header(request: &mut HttpRequest, name: &str, value: &str) {
    let mut headers = Headers::new();
    for (n, v) in request.headers.iter() {
        if n != name {
            headers.append(n, v);
        }
    }
    headers.append(name, value);
    request.headers = headers;
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

    accepts_rfc9421_and_reports_the_key {
        let v = verify_request(&rfc9421(&branding(1)), &policy(), NOW).unwrap();
        assert_eq!(v.scheme, Scheme::Rfc9421);
        assert_eq!((v.key_id.as_str(), v.key_version), ("acme-2026-11", 2));
        assert_eq!(v.key_status.as_str(), "active");
        assert_eq!((v.nonce.as_str(), v.timestamp), ("n-1", NOW));
        assert_eq!(v.tenant, "acme");
        assert_eq!(v.payload_version, 1);
        assert_eq!(v.sections, vec!["branding"]);
        assert_eq!(v.payload_hash.len(), 64);
        assert_eq!(v.replay.expires_at, NOW + 300 + 60);
    }

    accepts_standard_webhooks_and_reports_the_matching_key {
        let v = verify_request(&webhook(&branding(1)), &policy(), NOW).unwrap();
        assert_eq!(v.scheme, Scheme::StandardWebhooks);
        assert_eq!(v.key_id, "acme-2026-11");
        assert_eq!(v.nonce, "msg_1");
    }

    retiring_key_is_accepted_and_reported {
        let opts = SigningOptions::new(Scheme::Rfc9421, NOW, "n-2");
        let v = verify_request(&signed_with(&branding(1), "acme-2026-05", RETIRING, &opts), &policy(), NOW).unwrap();
        assert_eq!((v.key_id.as_str(), v.key_status.as_str(), v.key_version), ("acme-2026-05", "retiring", 1));
        let opts = SigningOptions::new(Scheme::StandardWebhooks, NOW, "msg_2");
        let v = verify_request(&signed_with(&branding(1), "x", RETIRING, &opts), &policy(), NOW).unwrap();
        assert_eq!((v.key_id.as_str(), v.key_status.as_str()), ("acme-2026-05", "retiring"));
    }

    revoked_key_is_refused_under_both_schemes {
        let opts = SigningOptions::new(Scheme::Rfc9421, NOW, "n-3");
        assert_eq!(code(verify_request(&signed_with(&branding(1), "acme-2025-11", REVOKED, &opts), &policy(), NOW)), "revoked_key");
        let opts = SigningOptions::new(Scheme::StandardWebhooks, NOW, "msg_3");
        assert_eq!(code(verify_request(&signed_with(&branding(1), "x", REVOKED, &opts), &policy(), NOW)), "revoked_key");
    }

    another_tenants_key_is_refused {
        let opts = SigningOptions::new(Scheme::Rfc9421, NOW, "n-4");
        assert_eq!(code(verify_request(&signed_with(&branding(1), "globex-2026-11", OTHER_TENANT, &opts), &policy(), NOW)), "unknown_key");
        // Our key id with another tenant's secret: the MAC fails.
        assert_eq!(code(verify_request(&signed_with(&branding(1), "acme-2026-11", OTHER_TENANT, &opts), &policy(), NOW)), "invalid_signature");
        let opts = SigningOptions::new(Scheme::StandardWebhooks, NOW, "msg_4");
        assert_eq!(code(verify_request(&signed_with(&branding(1), "x", OTHER_TENANT, &opts), &policy(), NOW)), "invalid_signature");
    }

    no_usable_key_is_unknown_key {
        let p = TenantPolicy::from_json(r#"{"instance":"acme-eu1","tenant":"acme"}"#).unwrap();
        assert_eq!(code(verify_request(&webhook(&branding(1)), &p, NOW)), "unknown_key");
        assert_eq!(code(verify_request(&rfc9421(&branding(1)), &p, NOW)), "unknown_key");
    }

    empty_truncated_and_wrong_length_webhook_signatures_never_verify {
        let good = webhook(&branding(1));
        let sig = good.headers.get("webhook-signature").unwrap().to_string();
        let b64 = sig.trim_start_matches("v1,");
        let truncated = format!("v1,{}", &b64[..b64.len() - 4]);
        let one_byte = "v1,AA==".to_string();
        for bad in ["v1,", "v1,=", truncated.as_str(), one_byte.as_str(), "v1a,AAAA", "v2,AAAA"] {
            let mut r = good.clone();
            replace_header(&mut r, "webhook-signature", bad);
            assert_eq!(code(verify_request(&r, &policy(), NOW)), "invalid_signature", "{bad}");
        }
        let mut r = good.clone();
        replace_header(&mut r, "webhook-signature", &format!("{sig}{sig}"));
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "invalid_signature");
        for bad in ["", "garbage"] {
            let mut r = good.clone();
            replace_header(&mut r, "webhook-signature", bad);
            assert_eq!(code(verify_request(&r, &policy(), NOW)), "malformed_signature", "{bad:?}");
        }
        // Rotation: an old and a new entry side by side.
        let mut r = good.clone();
        replace_header(&mut r, "webhook-signature", &format!("v1,AAAA {sig}"));
        assert!(verify_request(&r, &policy(), NOW).is_ok());
    }

    empty_and_truncated_rfc9421_signatures_never_verify {
        let good = rfc9421(&branding(1));
        let sig = good.headers.get("signature").unwrap().to_string();
        let truncated = format!("{}:", &sig[..sig.len() - 6]);
        for bad in ["sig1=::", "sig1=:AA==:", truncated.as_str()] {
            let mut r = good.clone();
            replace_header(&mut r, "signature", bad);
            assert_eq!(code(verify_request(&r, &policy(), NOW)), "invalid_signature", "{bad}");
        }
        for bad in ["sig1=abc", "sig2=:AA==:", "((("] {
            let mut r = good.clone();
            replace_header(&mut r, "signature", bad);
            assert_eq!(code(verify_request(&r, &policy(), NOW)), "malformed_signature", "{bad}");
        }
    }

    a_one_byte_body_change_is_refused {
        let mut r = rfc9421(&branding(1));
        r.body = branding(2);
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "digest_mismatch");
        // Digest recomputed by an attacker: the covered content-digest no longer matches the MAC.
        let digest = syncgate::rfc9421::content_digest_value(&syncgate::crypto::Primitives::sha256(&syncgate::crypto::RustCrypto, &r.body));
        replace_header(&mut r, "content-digest", &digest);
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "invalid_signature");
        let mut r = webhook(&branding(1));
        r.body = branding(2);
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "invalid_signature");
    }

    uncovered_header_change_is_valid_covered_change_is_not {
        let mut opts = SigningOptions::new(Scheme::Rfc9421, NOW, "n-5");
        opts.extra_components = vec!["content-type".into(), "@authority".into(), "@query".into()];
        let good = signed_with(&branding(1), "acme-2026-11", ACTIVE, &opts);
        assert!(verify_request(&good, &policy(), NOW).is_ok());
        let mut r = good.clone();
        replace_header(&mut r, "x-trace", "changed");
        assert!(verify_request(&r, &policy(), NOW).is_ok());
        let mut r = good.clone();
        replace_header(&mut r, "content-type", "application/json; charset=utf-8");
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "invalid_signature");
        let mut r = good.clone();
        r.uri = syncgate::request::TargetUri::parse("https://edge.example/v1/acme-eu1/sync?trace=2").unwrap();
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "invalid_signature");
        let mut r = good;
        r.method = "PUT".into();
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "invalid_signature");
    }

    timestamps_at_the_window_edges {
        let p = policy();
        for (offset, expected) in [(-300, None), (300, None), (-301, Some("stale_timestamp")), (301, Some("future_timestamp"))] {
            let r = signed_with(&branding(1), "acme-2026-11", ACTIVE, &SigningOptions::new(Scheme::Rfc9421, NOW + offset, "n"));
            assert_eq!(verify_request(&r, &p, NOW).err().map(|e| e.code()), expected, "rfc9421 {offset}");
            let r = signed_with(&branding(1), "x", ACTIVE, &SigningOptions::new(Scheme::StandardWebhooks, NOW + offset, "msg"));
            assert_eq!(verify_request(&r, &p, NOW).err().map(|e| e.code()), expected, "webhooks {offset}");
        }
        let p = TenantPolicy::from_json(&policy_json(r#","skewSeconds":30"#)).unwrap();
        let r = rfc9421(&branding(1));
        assert!(verify_request(&r, &p, NOW + 30).is_ok());
        assert_eq!(code(verify_request(&r, &p, NOW + 31)), "stale_timestamp");
    }

    expires_is_honoured {
        let mut opts = SigningOptions::new(Scheme::Rfc9421, NOW, "n-6");
        opts.expires_in = Some(10);
        let r = signed_with(&branding(1), "acme-2026-11", ACTIVE, &opts);
        assert!(verify_request(&r, &policy(), NOW + 10).is_ok());
        assert_eq!(code(verify_request(&r, &policy(), NOW + 11)), "stale_timestamp");
    }

    missing_and_malformed_signatures {
        assert_eq!(code(verify_request(&unsigned(&branding(1)), &policy(), NOW)), "missing_signature");
        let good = rfc9421(&branding(1));
        let input = good.headers.get("signature-input").unwrap().to_string();
        for (bad, why) in [
            (input.replace("\"content-digest\"", ""), "digest not covered"),
            (input.replace("\"@path\" ", ""), "path not covered"),
            (input.replace(";nonce=\"n-1\"", ""), "no nonce"),
            (input.replace(";keyid=\"acme-2026-11\"", ""), "no keyid"),
            (input.replace(";created=1790000000", ""), "no created"),
            (input.replace("hmac-sha256", "rsa-pss-sha512"), "wrong alg"),
            (input.replace("created=1790000000", "created=\"now\""), "created not an integer"),
            ("sig1=\"@method\"".to_string(), "not an inner list"),
        ] {
            let mut r = good.clone();
            replace_header(&mut r, "signature-input", &bad);
            assert_eq!(code(verify_request(&r, &policy(), NOW)), "malformed_signature", "{why}");
        }
        let mut r = good.clone();
        r.headers = r.headers.iter().filter(|(n, _)| *n != "content-digest").collect();
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "malformed_signature");
        let mut r = good;
        replace_header(&mut r, "content-digest", "md5=:AAAA:");
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "digest_mismatch");
        let mut r = webhook(&branding(1));
        replace_header(&mut r, "webhook-timestamp", "yesterday");
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "malformed_signature");
    }

    scheme_not_accepted_by_the_tenant_is_missing_signature {
        let p = TenantPolicy::from_json(&policy_json(r#","schemes":["rfc9421"]"#)).unwrap();
        assert_eq!(code(verify_request(&webhook(&branding(1)), &p, NOW)), "missing_signature");
        let p = TenantPolicy::from_json(&policy_json(r#","schemes":["standard-webhooks"]"#)).unwrap();
        assert_eq!(code(verify_request(&rfc9421(&branding(1)), &p, NOW)), "missing_signature");
    }

    cheap_checks_come_first {
        let p = TenantPolicy::from_json(&policy_json(r#","enabled":false"#)).unwrap();
        assert_eq!(code(verify_request(&rfc9421(&branding(1)), &p, NOW)), "instance_disabled");
        let p = TenantPolicy::from_json(&policy_json(r#","maxBodyBytes":16"#)).unwrap();
        let err = verify_request(&rfc9421(&branding(1)), &p, NOW).unwrap_err();
        assert_eq!((err.code(), err.status()), ("payload_too_large", 413));
        let mut r = rfc9421(&branding(1));
        replace_header(&mut r, "content-type", "text/plain");
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "unsupported_media_type");
        let mut r = rfc9421(&branding(1));
        r.headers = r.headers.iter().filter(|(n, _)| *n != "content-type").collect();
        assert_eq!(code(verify_request(&r, &policy(), NOW)), "unsupported_media_type");
    }

    payload_checks_follow_the_mac {
        // An unsigned bad payload is refused for its signature, not parsed.
        assert_eq!(code(verify_request(&unsigned(b"{not json"), &policy(), NOW)), "missing_signature");
        assert_eq!(code(verify_request(&rfc9421(b"{not json"), &policy(), NOW)), "invalid_payload");
        let other = br#"{"type":"branding","tenant":"globex","version":1,"branding":{"title":"Globex"}}"#;
        assert_eq!(code(verify_request(&rfc9421(other), &policy(), NOW)), "tenant_mismatch");
        let smtp = format!(
            r#"{{"type":"smtp","tenant":"acme","version":1,"smtp":{{"host":"smtp.acme.test","port":70000,"encryption":"starttls","username":"mailer","password":"{SMTP_PASSWORD}","fromEmail":"no-reply@acme.test","fromName":"Acme"}}}}"#
        );
        let err = verify_request(&rfc9421(smtp.as_bytes()), &policy(), NOW).unwrap_err();
        assert_eq!(err.code(), "invalid_payload");
        assert!(!err.to_string().contains(SMTP_PASSWORD));
    }

    scope_policy {
        let features = |group: &str| format!(
            r#"{{"type":"features","tenant":"acme","version":3,"features":{{"plan":"pro","modules":[{{"key":"x.core","group":"{group}","permissions":["x.read"]}}],"planDefaults":{{"pro":["x.core"]}}}}}}"#
        ).into_bytes();
        assert!(verify_request(&rfc9421(&features("crm")), &policy(), NOW).is_ok());
        assert_eq!(code(verify_request(&rfc9421(&features("website")), &policy(), NOW)), "blocked_module_group");
        assert_eq!(code(verify_request(&rfc9421(&features("landing_page")), &policy(), NOW)), "blocked_module_group");
        assert_eq!(code(verify_request(&rfc9421(&features("warehouse")), &policy(), NOW)), "unsupported_module_group");
        // Blocked wins over unsupported even when the tenant does not list the group as supported.
        let p = TenantPolicy::from_json(&policy_json(r#","supportedModuleGroups":["crm"],"blockedModuleGroups":["sales"]"#)).unwrap();
        assert_eq!(code(verify_request(&rfc9421(&features("sales")), &p, NOW)), "blocked_module_group");
        assert!(verify_request(&rfc9421(&features("website")), &p, NOW).is_err());
        let p = TenantPolicy::from_json(&policy_json(r#","payloadTypes":["features"]"#)).unwrap();
        assert_eq!(code(verify_request(&rfc9421(&branding(1)), &p, NOW)), "unsupported_payload_type");
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
        let err = syncgate::replay::check_section_versions(&["features", "branding"], 7, |s| ledger.applied_version(s)).unwrap_err();
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
