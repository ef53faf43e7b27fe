//! The sync payload (src/document/payload.rs `SyncPayload::parse`) and the scope check (src/policy/scope.rs).
//!
//! A payload that parses serialises back to JSON that parses to the same payload, its redacted
//! form never carries the SMTP password, and the scope check answers without panicking. The
//! verdict without its payload (`admit_without_payload`, which checks permissions without
//! keeping them) answers exactly what `admit` answers, field for field or rejection for
//! rejection.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use syncgate::payload::SyncPayload;
use syncgate::{
    Authenticated, Headers, HttpRequest, RustCrypto, Scheme, TenantPolicy, admit,
    admit_without_payload, check_scope,
};
use syncgate_fuzz::{NOW, policy};

fn fixed_policy() -> &'static TenantPolicy {
    static POLICY: OnceLock<TenantPolicy> = OnceLock::new();
    POLICY.get_or_init(policy)
}

/// `admit` and `admit_without_payload` on `data` as an authenticated body: the same verdict
/// (but for the payload) or the same rejection.
fn both_admits_agree(data: &[u8]) {
    let policy = fixed_policy();
    let url = "https://edge.example/v1/acme-eu1/sync";
    let request = HttpRequest::new("POST", url, Headers::new(), data.to_vec()).unwrap();
    let authenticated = Authenticated {
        scheme: Scheme::StandardWebhooks,
        key: &policy.keys.0[0],
        nonce: "msg_fuzz".into(),
        timestamp: NOW,
        body_sha256: [7; 32],
    };
    let kept = admit(&request, policy, &authenticated, &RustCrypto);
    let checked = admit_without_payload(&request, policy, &authenticated, &RustCrypto);
    match (kept, checked) {
        (Ok(kept), Ok(checked)) => {
            let mut kept = serde_json::to_value(&kept).unwrap();
            let mut checked = serde_json::to_value(&checked).unwrap();
            kept.as_object_mut().unwrap().remove("payload");
            checked.as_object_mut().unwrap().remove("payload");
            assert_eq!(kept, checked, "the verdicts differ");
        }
        (Err(kept), Err(checked)) => assert_eq!(kept, checked, "the rejections differ"),
        (kept, checked) => panic!("admit answered {kept:?}, admit_without_payload {checked:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    both_admits_agree(data);
    let payload = match SyncPayload::parse(data) {
        Ok(payload) => payload,
        Err(e) => {
            assert_eq!(e.code(), "invalid_payload");
            return;
        }
    };
    let _ = check_scope(&payload, fixed_policy());
    let json = serde_json::to_vec(&payload).unwrap();
    let again = SyncPayload::parse(&json).unwrap();
    assert_eq!(
        again, payload,
        "the serialised payload reads back differently"
    );
    let redacted = serde_json::to_value(payload.redacted()).unwrap();
    if let Some(smtp) = redacted.get("smtp") {
        assert!(
            smtp.get("password").is_none(),
            "the redacted form has the password"
        );
    }
    assert!(!payload.sections().is_empty());
});
