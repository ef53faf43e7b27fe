//! Instruction counts of the core's fixed per-call work on the npm package's verify path,
//! natively: a Standard Webhooks request head as the JS glue hands it over (`name\0value\0…`),
//! turned into [`Headers`] and an [`HttpRequest`], then [`Verifier::prepare`] (`--mode head`,
//! what `begin` does); `--mode full` adds the digests (pure-Rust here, node:crypto in the
//! package) and [`Verifier::finish`] (payload parse, replay keys). A benchmark, not a test.
//!
//! `valgrind --tool=callgrind target/release/examples/verify_bench --runs 1000 --mode head`;
//! subtract a `--runs 0` run (building the request) and divide by the runs for one call.
//! Measured 2026-12-01 at 1 KiB: `head` about 11.8 k instructions, `full` 173 k (before header
//! fields and URLs were kept in one buffer each and the head's lookups stopped formatting and
//! lowercasing copies: 19.0 k and 189 k). `full` is mostly SHA-256 of the body, which the
//! package leaves to node:crypto.

// A bench binary: a failure to build its input is a bug in the bench, so it may stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use syncgate::{
    Depth, Headers, HttpRequest, Scheme, Secret, SigningOptions, Verifier, sign_request,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_800_000_000;
const URL: &str = "https://edge.example/v1/acme-eu1/sync";

/// A valid features payload padded with whitespace to `size` bytes (at least ~200).
fn features_body(size: usize) -> Vec<u8> {
    let mut body = br#"{"type":"features","tenant":"acme","version":1,"features":{"plan":"pro","modules":[{"key":"crm.m0","group":"crm","permissions":["p0.read","p0.write"]}],"planDefaults":{"pro":["crm.m0"]}}}"#.to_vec();
    body.resize(size.max(body.len()), b' ');
    body
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = option("--runs").map_or(1000, |r| r.parse().unwrap());
    let size: usize = option("--size").map_or(1024, |s| s.parse().unwrap());
    let full = option("--mode").as_deref() == Some("full");

    let verifier = Verifier::from_json(&format!(
        r#"{{"instance":"acme-eu1","tenant":"acme","keys":[{{"kid":"acme-2026-11","version":2,"status":"active","secret":"{SECRET}"}}]}}"#
    ))
    .unwrap();
    let body = features_body(size);
    let base: Headers = [("content-type", "application/json")].into_iter().collect();
    let unsigned = HttpRequest::new("POST", URL, base, body.clone()).unwrap();
    let options = SigningOptions::new(Scheme::StandardWebhooks, NOW, "msg_profile");
    let secret = Secret::from_whsec(SECRET).unwrap();
    let added = sign_request(&unsigned, "acme-2026-11", secret.expose_bytes(), &options).unwrap();
    let mut flat = String::from("content-type\0application/json");
    for (name, value) in &added {
        flat.push('\0');
        flat.push_str(name);
        flat.push('\0');
        flat.push_str(value);
    }

    for _ in 0..runs {
        let mut headers = Headers::new();
        let mut parts = black_box(flat.as_str()).split('\0');
        while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
            headers.append(name, value);
        }
        let head = HttpRequest::new("POST", black_box(URL), headers, Vec::new()).unwrap();
        let depth = if full { Depth::Full } else { Depth::Signature };
        let pending = verifier.prepare(&head, body.len(), NOW, depth).unwrap();
        if full {
            let digests = pending.compute(verifier.keys(), &body, &syncgate::RustCrypto);
            black_box(verifier.finish(pending, &digests, &body).unwrap());
        } else {
            black_box(pending);
        }
    }
}
