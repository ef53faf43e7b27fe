//! The tenant policy document (src/policy.rs `TenantPolicy::from_json`).
//!
//! A policy that parses validates again, and its serialised (redacted) form carries no secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncgate::policy::TenantPolicy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let policy = match TenantPolicy::from_json(text) {
        Ok(policy) => policy,
        Err(e) => {
            assert_eq!(e.code(), "invalid_field");
            return;
        }
    };
    assert!(policy.validate().is_ok());
    let out = serde_json::to_string(&policy).unwrap();
    for key in &policy.keys.0 {
        let whsec = key.secret.expose_whsec();
        assert!(
            !out.contains(&whsec[6..]),
            "a serialised policy carries a secret"
        );
    }
});
