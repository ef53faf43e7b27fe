//! The rejection vocabulary is written once, in the table in `src/error.rs`; everything else is
//! derived from it or checked against it here: the TypeScript declarations of the npm package,
//! and the rest of the Rust tree, which names codes only through `Rejection`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use syncgate::error::{ALL_CODES, CATALOG, CodeInfo, Rejection};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `code: status;` members of `interface RejectionStatus` in js/index.d.ts, in order.
fn declared_statuses() -> Vec<(String, u16)> {
    let dts = std::fs::read_to_string(root().join("js/index.d.ts")).unwrap();
    let start = dts
        .find("export interface RejectionStatus {")
        .expect("RejectionStatus in index.d.ts");
    let block = &dts[start..];
    let block = &block[block.find('{').unwrap() + 1..block.find('}').unwrap()];
    block
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with("//")
                && !line.starts_with("/*")
                && !line.starts_with('*')
        })
        .map(|line| {
            let (code, status) = line.trim_end_matches(';').split_once(':').unwrap();
            (code.trim().to_string(), status.trim().parse().unwrap())
        })
        .collect()
}

#[test]
fn typescript_declares_exactly_the_catalog() {
    let expected: Vec<(String, u16)> = CATALOG
        .iter()
        .map(|info| (info.code.to_string(), info.status))
        .collect();
    assert_eq!(
        declared_statuses(),
        expected,
        "js/index.d.ts RejectionStatus must follow src/error.rs"
    );
}

#[test]
fn codes_are_unique_and_every_accessor_agrees_with_the_table() {
    let mut codes = ALL_CODES.to_vec();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), CATALOG.len());
    let samples = [
        Rejection::StaleTimestamp,
        Rejection::OriginUnavailable,
        Rejection::PreconditionFailed {
            current_revision: None,
        },
        Rejection::InvalidControl { reason: "x".into() },
    ];
    for rejection in samples {
        let info = CodeInfo::of(rejection.code()).unwrap();
        assert_eq!(info, rejection.info());
        assert_eq!(
            (info.status, info.title, info.retryable),
            (
                rejection.status(),
                rejection.title(),
                rejection.is_retryable()
            )
        );
        let problem = rejection.problem("req_1");
        let parsed =
            syncgate::error::Problem::parse(&serde_json::to_vec(&problem).unwrap()).unwrap();
        assert_eq!(parsed, problem, "a problem document reads back as written");
        assert_eq!(parsed.info(), Some(info));
    }
    assert!(CodeInfo::of("no_such_code").is_none());
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("tests") && !path.ends_with("target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The part of a file outside `#[cfg(test)]` modules (which sit at the end of a file).
fn non_test_part(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

#[test]
fn each_code_is_spelled_in_exactly_one_non_test_rust_file() {
    let mut files = Vec::new();
    for dir in ["src", "worker/src", "examples/origin/src", "cli/src"] {
        let dir = root().join(dir);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
    }
    for code in ALL_CODES {
        let literal = format!("\"{code}\"");
        let holders: Vec<String> = files
            .iter()
            .filter(|path| {
                non_test_part(&std::fs::read_to_string(path).unwrap()).contains(&literal)
            })
            .map(|path| path.strip_prefix(root()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            holders,
            ["src/error.rs"],
            "{code} is spelled out in {holders:?}"
        );
    }
}
