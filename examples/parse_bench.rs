//! A small, bounded timing of the sync payload parse (`SyncPayload::parse`): valid `features`
//! payloads of 1 KiB, 16 KiB and 256 KiB (modules with long permissions, padded to size with
//! trailing whitespace), each parsed repeatedly for about a second. A benchmark, not a test:
//! nothing asserts a speed.
//!
//! `cargo run --release --example parse_bench [-- MILLISECONDS]`
//!
//! `parse_bench --runs N --size BYTES` parses one body exactly N times and prints nothing, for an
//! instruction count that does not depend on the machine's load:
//! `valgrind --tool=callgrind target/release/examples/parse_bench --runs 100 --size 16384`.
//! Subtract a `--runs 0` run (building the body) and divide by N for one parse. Measured
//! 2026-12-01: about 10.2 k instructions at 1 KiB, 260 k at 16 KiB and 4.15 M at 256 KiB (before
//! paths were written only on failure and the grammars read a byte table: 33 k, 724 k, 12.3 M).

// A bench binary: a failure to build its input is a bug in the bench, so it may stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use syncgate::SyncPayload;

/// A valid features payload of exactly `size` bytes.
fn features_body(size: usize) -> Vec<u8> {
    let mut modules: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let render = |modules: &[String], keys: &[String]| {
        format!(
            r#"{{"type":"features","tenant":"acme","version":1,"features":{{"plan":"pro","modules":[{}],"planDefaults":{{"pro":[{}]}}}}}}"#,
            modules.join(","),
            keys.join(",")
        )
    };
    for i in 0.. {
        let permissions: Vec<String> = (0..16)
            .map(|j| format!(r#""p{i}.{j}.{}""#, "x".repeat(100)))
            .collect();
        modules.push(format!(
            r#"{{"key":"crm.m{i}","group":"crm","permissions":[{}]}}"#,
            permissions.join(",")
        ));
        keys.push(format!(r#""crm.m{i}""#));
        if render(&modules, &keys).len() > size || modules.len() > 256 {
            modules.pop();
            keys.pop();
            break;
        }
    }
    let mut body = render(&modules, &keys).into_bytes();
    assert!(
        body.len() <= size,
        "the payload does not fit in {size} bytes"
    );
    body.resize(size, b' ');
    body
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|value| value.parse::<usize>().ok())
    };
    if let (Some(runs), Some(size)) = (option("--runs"), option("--size")) {
        let body = features_body(size);
        for _ in 0..runs {
            std::hint::black_box(SyncPayload::parse(std::hint::black_box(&body)).is_ok());
        }
        return;
    }
    let millis = args
        .first()
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(1000);
    let budget = Duration::from_millis(millis);
    for size in [1024, 16 * 1024, 256 * 1024] {
        let body = features_body(size);
        let parsed = SyncPayload::parse(&body).expect("the bench payload is valid");
        let modules = parsed.features().map_or(0, |f| f.modules.len());
        let start = Instant::now();
        let mut runs = 0u32;
        while start.elapsed() < budget {
            std::hint::black_box(SyncPayload::parse(std::hint::black_box(&body)).is_ok());
            runs += 1;
        }
        let per_run = start.elapsed() / runs;
        println!(
            "{size:>7} B ({modules:>3} modules): {:>9.1} µs/parse, {:>7.0} parses/s, {:>6.1} MB/s",
            per_run.as_secs_f64() * 1e6,
            1.0 / per_run.as_secs_f64(),
            size as f64 / per_run.as_secs_f64() / 1e6
        );
    }
}
