//! `openapi.yaml` follows the rejection table in `src/error.rs`: the `ProblemCode` enum is
//! exactly [`ALL_CODES`] in order, and each `ProblemNNN` schema lists exactly the codes whose
//! status is NNN (the codes only the reference origin answers, `x-origin-only`, in none). The
//! YAML is read as text (one block per schema, flow or block sequences), so no YAML crate is
//! needed; the end-to-end contract check (`tests/e2e/support/contract.mjs`) reads it properly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::Path;

use syncgate::error::{ALL_CODES, CATALOG};

fn spec() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml")).unwrap()
}

/// The lines of the schema `name` under `components.schemas` (indented by four spaces), up to
/// the next schema.
fn schema_block<'a>(spec: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("    {name}:");
    let mut lines = spec
        .lines()
        .skip_while(|line| *line != "  schemas:")
        .skip_while(|line| *line != header);
    assert!(lines.next().is_some(), "openapi.yaml has no schema {name}");
    lines
        .take_while(|line| line.is_empty() || line.starts_with("      "))
        .collect()
}

/// The items of the sequence under the key `key` in `block`: `key: [a, b]` or a block sequence
/// of `- a` lines.
fn sequence(block: &[&str], key: &str) -> Vec<String> {
    let prefix = format!("{key}:");
    let at = block
        .iter()
        .position(|line| line.trim_start().starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {block:?}"));
    let rest = block[at].trim_start()[prefix.len()..].trim();
    if let Some(flow) = rest.strip_prefix('[') {
        let flow = flow.strip_suffix(']').expect("a one-line flow sequence");
        return flow.split(',').map(|s| s.trim().to_string()).collect();
    }
    assert!(rest.is_empty(), "{key}: expected a sequence, got {rest}");
    block[at + 1..]
        .iter()
        .map(|line| line.trim())
        .take_while(|line| line.starts_with("- "))
        .map(|line| line.trim_start_matches("- ").to_string())
        .collect()
}

fn scalar(block: &[&str], key: &str) -> String {
    let prefix = format!("{key}:");
    block
        .iter()
        .map(|line| line.trim_start())
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {block:?}"))
        .trim()
        .to_string()
}

#[test]
fn the_problem_code_enum_is_the_catalog() {
    let spec = spec();
    let block = schema_block(&spec, "ProblemCode");
    let listed = sequence(&block, "enum");
    assert_eq!(
        listed,
        ALL_CODES.to_vec(),
        "openapi.yaml ProblemCode.enum must be ALL_CODES of src/error.rs, in order"
    );
}

#[test]
fn each_status_schema_lists_exactly_the_codes_of_its_status() {
    let spec = spec();
    let origin_only = sequence(&schema_block(&spec, "ProblemCode"), "x-origin-only");
    for code in &origin_only {
        assert!(
            ALL_CODES.contains(&code.as_str()),
            "x-origin-only names {code}"
        );
    }
    let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for info in CATALOG {
        if !origin_only.iter().any(|c| c == info.code) {
            by_status.entry(info.status).or_default().push(info.code);
        }
    }
    for (status, codes) in &by_status {
        let name = format!("Problem{status}");
        let block = schema_block(&spec, &name);
        assert_eq!(scalar(&block, "const"), status.to_string(), "{name}.status");
        assert_eq!(
            sequence(&block, "enum"),
            codes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "openapi.yaml {name}: the codes of status {status} in CATALOG order"
        );
        assert!(
            spec.contains(&format!("$ref: '#/components/schemas/{name}'")),
            "{name} is used by a response"
        );
    }
    // No status schema for a status the edge never answers with.
    for line in spec.lines().skip_while(|line| *line != "  schemas:") {
        if let Some(rest) = line.strip_prefix("    Problem")
            && let Some(digits) = rest.strip_suffix(':')
            && let Ok(status) = digits.parse::<u16>()
        {
            assert!(
                by_status.contains_key(&status),
                "Problem{status} has no code in CATALOG"
            );
        }
    }
}
