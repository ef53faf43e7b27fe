//! Inputs the coverage-guided fuzzers (`fuzz/`) found, replayed on every `cargo test`. Each test
//! fails on the code before its fix; the original fuzzer inputs are kept in `fuzz/regressions/`.
//! Runs natively and on wasm32.

// Test code: clippy.toml's in-test allowances do not reach helper functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use syncgate::customer::validate_create;
use syncgate::payload::{Features, ModuleDef};
use syncgate::recompute_modules;

/// `customer_write`: a custom number with more digits than a double holds was read with
/// serde_json's fast, not correctly rounded float parser, so the stored record
/// (`2.2222222222222227e48`) read back as a different number (`…224e48`): a create did not
/// survive its own serialisation. Fixed by serde_json's `float_roundtrip` feature (Cargo.toml).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn long_custom_numbers_survive_a_round_trip() {
    let found = include_bytes!("../fuzz/regressions/customer_write-float-roundtrip.json");
    let minimal: &[u8] = br#"{"firstName":"Jane","email":"jane@example.com",
        "custom":{"churnRisk":2222222222222222222222222222222222222222222222220.25}}"#;
    for body in [&found[..], minimal] {
        let input = validate_create(body).unwrap();
        let stored = serde_json::to_vec(&input).unwrap();
        assert_eq!(validate_create(&stored).unwrap(), input);
        // And the number is the correctly rounded double of the decimal text.
        let value: serde_json::Value = serde_json::from_slice(&stored).unwrap();
        let exact: f64 = "2222222222222222222222222222222222222222222222220.25"
            .parse()
            .unwrap();
        assert_eq!(value["custom"]["churnRisk"].as_f64(), Some(exact));
    }
}

fn module(key: &str, permissions: &[&str], requires: &[&str]) -> ModuleDef {
    ModuleDef {
        key: key.into(),
        group: "crm".into(),
        requires: requires.iter().map(|s| (*s).into()).collect(),
        permissions: permissions.iter().map(|s| (*s).into()).collect(),
    }
}

fn features(modules: Vec<ModuleDef>) -> Features {
    Features {
        plan: "pro".into(),
        modules,
        plan_defaults: BTreeMap::from([("pro".into(), vec!["c".into(), "a".into()])]),
        overrides: BTreeMap::new(),
    }
}

/// `modules`: of two entries with the same key, the kept one was the smaller as written, so
/// reversing the permissions (or requires) inside the entries changed which entry won, and with
/// it the granted permissions — against the promise that the answer never depends on the order
/// of any list. Fixed in src/document/modules.rs (entries compare by group, then requires and permissions
/// as sets).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn repeated_keys_do_not_depend_on_list_order() {
    let cases = [
        // permissions: as written ["b","a"] > ["a","c"]; reversed ["a","b"] < ["c","a"].
        (
            vec![module("c", &["b", "a"], &[]), module("c", &["a", "c"], &[])],
            vec![module("c", &["a", "b"], &[]), module("c", &["c", "a"], &[])],
        ),
        // requires: as written ["x","a"] > ["a","y"]; reversed the other way round.
        (
            vec![module("c", &[], &["x", "a"]), module("c", &[], &["a", "y"])],
            vec![module("c", &[], &["a", "x"]), module("c", &[], &["y", "a"])],
        ),
    ];
    for (written, reordered) in cases {
        let one = recompute_modules(&features(written.clone()), &[]);
        let two = recompute_modules(&features(reordered), &[]);
        assert_eq!(one, two);
        let mut swapped = written;
        swapped.reverse();
        assert_eq!(recompute_modules(&features(swapped), &[]), one);
    }
    // The entry kept is the one with the smaller permission set: {a,b} < {a,c}.
    let state = recompute_modules(
        &features(vec![
            module("c", &["a", "c"], &[]),
            module("c", &["b", "a"], &[]),
        ]),
        &[],
    );
    assert_eq!(state.permissions, vec!["a", "b"]);
}
