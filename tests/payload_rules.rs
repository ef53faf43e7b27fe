//! Payload and module-state properties that are not table cases: the serialised shape round trip
//! and redaction, and recomputation's independence of input order. The rules themselves (one
//! case per rule, exact code and path), the scope policy and one case per recomputation reason
//! are data in tests/cases/payloads.json and tests/cases/modules.json (run by tests/cases.rs).
//! Runs natively and on wasm32.

// Test code: clippy.toml's in-test allowances do not reach helper functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value, json};
use syncgate::payload::{Features, SyncPayload};
use syncgate::{ModuleState, Rejection, recompute_modules};

const SMTP_PASSWORD: &str = "correct horse battery staple";

fn features() -> Value {
    json!({
        "plan": "pro",
        "modules": [
            {"key": "crm.core", "group": "crm", "permissions": ["customers.read"]},
            {"key": "crm.customers", "group": "crm", "requires": ["crm.core"],
             "permissions": ["customers.read", "customers.write"]},
            {"key": "sales.deals", "group": "sales", "requires": ["crm.customers"],
             "permissions": ["deals:write"]}
        ],
        "planDefaults": {"pro": ["crm.core", "crm.customers"], "free": ["crm.core"]},
        "overrides": {"sales.deals": true}
    })
}

fn branding() -> Value {
    json!({
        "title": "Acme Travel",
        "logoUrl": "https://cdn.acme.test/logo.svg",
        "sidebarLogoUrl": "https://cdn.acme.test/sidebar.svg",
        "faviconUrl": "https://cdn.acme.test/favicon.ico",
        "primaryColor": "#1f6feb",
        "footer": {"text": "Acme Travel Ltd", "links": [
            {"label": "Privacy", "url": "https://acme.test/privacy"}
        ]}
    })
}

fn smtp() -> Value {
    json!({
        "host": "smtp.example.com", "port": 587, "encryption": "starttls",
        "username": "mailer", "password": SMTP_PASSWORD,
        "fromEmail": "no-reply@acme.test", "fromName": "Acme"
    })
}

fn payload(payload_type: &str, sections: &[(&str, Value)]) -> Value {
    let mut body = json!({"type": payload_type, "tenant": "acme", "version": 17});
    for (name, section) in sections {
        body[*name] = section.clone();
    }
    body
}

fn combined() -> Value {
    payload(
        "combined",
        &[
            ("features", features()),
            ("branding", branding()),
            ("smtp", smtp()),
        ],
    )
}

fn parse(body: &Value) -> Result<SyncPayload, Rejection> {
    SyncPayload::parse(body.to_string().as_bytes())
}

fn state_of(features: &Value, blocked: &[&str]) -> ModuleState {
    let features = Features::from_value(features).unwrap();
    let blocked: Vec<String> = blocked.iter().map(|g| (*g).to_owned()).collect();
    recompute_modules(&features, &blocked)
}

/// A deterministic permutation (a small LCG), so order independence is tested without a crate.
fn shuffled<T>(mut items: Vec<T>, seed: u64) -> Vec<T> {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from(state >> 33).unwrap() % (i + 1);
        items.swap(i, j);
    }
    items
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn serialises_to_the_same_camel_case_shape() {
    let body = combined();
    let p = parse(&body).unwrap();
    let mut out = serde_json::to_value(&p).unwrap();
    let mut expected = body;
    expected["features"]["modules"][0]["requires"] = json!([]);
    assert_eq!(out, expected, "lists are always written, even when empty");
    let redacted = serde_json::to_value(p.redacted()).unwrap();
    assert!(!redacted.to_string().contains(SMTP_PASSWORD));
    assert_eq!(redacted["smtp"]["passwordSet"], json!(true));
    out["smtp"]["password"] = json!("x");
    assert_eq!(
        parse(&out).unwrap().smtp().unwrap().password.as_deref(),
        Some("x")
    );
    assert!(!format!("{p:?}").contains(SMTP_PASSWORD));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_is_independent_of_input_order() {
    let modules: Vec<Value> = (0..40)
        .map(|i| {
            let requires: Vec<String> = (0..i % 4)
                .map(|d| format!("m{:02}", (i * 7 + d) % 40))
                .collect();
            let permissions: Vec<String> = (0..3).map(|p| format!("p{}", (i + p) % 9)).collect();
            json!({"key": format!("m{i:02}"), "group": if i % 11 == 0 { "website" } else { "crm" },
                   "requires": requires, "permissions": permissions})
        })
        .collect();
    let defaults: Vec<String> = (0..40)
        .filter(|i| i % 3 != 0)
        .map(|i| format!("m{i:02}"))
        .collect();
    let build = |modules: Vec<Value>, defaults: Vec<String>| {
        json!({
        "plan": "p", "modules": modules, "planDefaults": {"p": defaults},
        "overrides": {"m03": true, "m04": false}})
    };
    let expected = serde_json::to_string(&state_of(
        &build(modules.clone(), defaults.clone()),
        &["website"],
    ))
    .unwrap();
    for seed in 1..20 {
        let modules: Vec<Value> = shuffled(modules.clone(), seed)
            .into_iter()
            .map(|mut m| {
                let requires = m["requires"].as_array().unwrap().clone();
                let permissions = m["permissions"].as_array().unwrap().clone();
                m["requires"] = json!(shuffled(requires, seed + 100));
                m["permissions"] = json!(shuffled(permissions, seed + 200));
                m
            })
            .collect();
        let state = state_of(
            &build(modules, shuffled(defaults.clone(), seed + 300)),
            &["website"],
        );
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            expected,
            "seed {seed}"
        );
    }
    assert!(expected.contains("missing_dependency:"), "{expected}");
    assert!(expected.contains("blocked_group"), "{expected}");
}
