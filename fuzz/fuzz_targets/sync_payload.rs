//! The sync payload (src/document/payload.rs `SyncPayload::parse`) and the scope check (src/policy/scope.rs).
//!
//! A payload that parses serialises back to JSON that parses to the same payload, its redacted
//! form never carries the SMTP password, and the scope check answers without panicking.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use syncgate::payload::SyncPayload;
use syncgate::{TenantPolicy, check_scope};
use syncgate_fuzz::policy;

fn fixed_policy() -> &'static TenantPolicy {
    static POLICY: OnceLock<TenantPolicy> = OnceLock::new();
    POLICY.get_or_init(policy)
}

fuzz_target!(|data: &[u8]| {
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
