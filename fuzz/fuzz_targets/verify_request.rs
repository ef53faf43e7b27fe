//! The full verify path (src/verify.rs `verify_request`) on structured-random requests against
//! a fixed policy (see `syncgate_fuzz::TextRequest` for the input form).
//!
//! The harness may sign the request (with an active, retiring, revoked or unknown key) and then
//! add headers. Whatever the input, an accepted request must carry a valid MAC by a usable key of
//! the policy over the verdict's nonce and timestamp, checked by an oracle that does not use the
//! verifier's code; a refused one answers with a known code.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use syncgate::error::ALL_CODES;
use syncgate::{TenantPolicy, verify_request};
use syncgate_fuzz::{NOW, TextRequest, check_accepted, policy};

fn fixed_policy() -> &'static TenantPolicy {
    static POLICY: OnceLock<TenantPolicy> = OnceLock::new();
    POLICY.get_or_init(policy)
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = TextRequest::parse(data) else {
        return;
    };
    let Some(request) = text.build() else {
        return;
    };
    let policy = fixed_policy();
    match verify_request(&request, policy, NOW) {
        Ok(verdict) => {
            if let Err(reason) = check_accepted(&request, policy, &verdict) {
                panic!("{reason}");
            }
            assert_eq!(verdict.tenant, "acme");
            assert_eq!(verdict.payload.tenant(), "acme");
        }
        Err(e) => assert!(ALL_CODES.contains(&e.code()), "unknown code {}", e.code()),
    }
});
