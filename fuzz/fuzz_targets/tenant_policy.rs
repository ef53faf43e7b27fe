//! The tenant policy document (src/policy.rs `TenantPolicy::from_json`).
//!
//! A policy that parses validates again; its serialised (redacted) form carries no secret member,
//! and without keys it reads back to the same policy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncgate::TenantPolicy;

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
    // The serialised (redacted) form has no secret member. (Searching it for the secret's text
    // is not enough: a key id may hold the same characters.)
    let out = serde_json::to_value(&policy).unwrap();
    let keys = out["keys"].as_array().unwrap();
    assert_eq!(keys.len(), policy.keys.0.len());
    for key in keys {
        let mut members: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        members.sort_unstable();
        assert_eq!(
            members,
            ["kid", "status", "version"],
            "a serialised key has other members"
        );
    }
    let again = TenantPolicy::from_json(&serde_json::to_string(&out).unwrap());
    if policy.keys.0.is_empty() {
        assert_eq!(
            again.unwrap(),
            policy,
            "a policy without keys does not round-trip"
        );
    }
});
