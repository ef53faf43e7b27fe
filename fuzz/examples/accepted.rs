//! Replays a `verify_request` corpus without libFuzzer and counts how many inputs the verifier
//! accepts, re-checking each accepted one with the independent oracle: shows that the fuzzer
//! reaches the accepting paths the oracle guards (`make fuzz-accepted`).

use std::fs;
use std::path::Path;

use syncgate::verify_request;
use syncgate_fuzz::{NOW, TextRequest, check_accepted, policy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/verify_request");
    let policy = policy();
    let (mut total, mut built, mut accepted) = (0usize, 0usize, 0usize);
    let mut by_scheme = std::collections::BTreeMap::<&str, usize>::new();
    for entry in fs::read_dir(&dir)? {
        let data = fs::read(entry?.path())?;
        total += 1;
        let Some(request) = TextRequest::parse(&data).and_then(|t| t.build()) else {
            continue;
        };
        built += 1;
        if let Ok(verdict) = verify_request(&request, &policy, NOW) {
            check_accepted(&request, &policy, &verdict)?;
            accepted += 1;
            *by_scheme.entry(verdict.scheme.as_str()).or_default() += 1;
        }
    }
    println!(
        "{total} inputs, {built} well-formed requests, {accepted} accepted (all re-checked by the oracle): {by_scheme:?}"
    );
    Ok(())
}
