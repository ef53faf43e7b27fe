//! Customer records beyond the table cases: patch application, field ownership and the record's
//! wire shape. One case per validation rule of a create and a merge patch (exact code and field)
//! is data in tests/cases/customers.json (run by tests/cases.rs). Runs natively and on wasm32.

// Test code: clippy.toml's in-test allowances do not reach helper functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value, json};
use syncgate::Rejection;
use syncgate::customer::{
    CustomPatch, CustomValue, Customer, CustomerField, CustomerPatch, FieldPatch, LifecycleStage,
    MAX_CUSTOM_KEYS, check_field_ownership, is_customer_id, is_ownable_field, validate_create,
    validate_patch,
};

const SECRET_VALUE: &str = "do-not-echo-4711";

fn full() -> Value {
    json!({
        "externalId": "003XXXXXXXXXXXX",
        "firstName": "Jane",
        "lastName": "Doe",
        "email": "jane@example.com",
        "phone": "+14155550123",
        "company": "Acme Travel",
        "jobTitle": "Head of Sales",
        "lifecycleStage": "customer",
        "tags": ["vip", "newsletter"],
        "custom": {"tier": "gold", "seats": 12, "churnRisk": 0.25, "active": true}
    })
}

fn with(name: &str, value: Value) -> Value {
    let mut body = full();
    body[name] = value;
    body
}

fn create(body: &Value) -> Result<syncgate::customer::CustomerInput, Rejection> {
    validate_create(body.to_string().as_bytes())
}

fn patch(body: &Value) -> Result<CustomerPatch, Rejection> {
    validate_patch(body.to_string().as_bytes())
}

/// Checks `result` is `invalid_field` naming `field`, and never echoes a value.
fn invalid_at<T: core::fmt::Debug>(result: Result<T, Rejection>, field: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.code(), "invalid_field", "{err}");
    assert_eq!(err.status(), 422);
    assert_eq!(err.field(), Some(field), "{err}");
    assert!(!err.to_string().contains(SECRET_VALUE), "{err}");
}

fn owned(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

// ---- create: valid ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_full_create_is_accepted_and_serialises_back() {
    let body = full();
    let input = create(&body).unwrap();
    assert_eq!(input.lifecycle_stage, Some(LifecycleStage::Customer));
    assert_eq!(
        input.custom.as_ref().unwrap()["active"],
        CustomValue::Bool(true)
    );
    assert_eq!(serde_json::to_value(&input).unwrap(), body);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_minimal_create_is_accepted() {
    let input = create(&json!({"firstName": "Jane", "email": "jane@example.com"})).unwrap();
    assert_eq!(input.last_name, None);
    assert_eq!(input.touched_fields(), vec!["firstName", "email"]);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn null_on_create_means_not_given() {
    let input = create(&with("phone", Value::Null)).unwrap();
    assert_eq!(input.phone, None);
    let input = create(&with("custom", json!({"tier": null, "seats": 1}))).unwrap();
    assert_eq!(input.custom.unwrap().len(), 1);
}

// ---- patch ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn an_empty_patch_changes_nothing() {
    let p = patch(&json!({})).unwrap();
    assert_eq!(p, CustomerPatch::default());
    assert!(p.touched_fields().is_empty());
    let current = create(&full()).unwrap();
    assert_eq!(p.apply_to(&current).unwrap(), current);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn patch_null_removes_optional_fields() {
    let p = patch(&json!({"phone": null, "tags": null, "lastName": "Smith"})).unwrap();
    assert_eq!(p.phone, FieldPatch::Remove);
    assert_eq!(p.touched_fields(), vec!["lastName", "phone", "tags"]);
    let next = p.apply_to(&create(&full()).unwrap()).unwrap();
    assert_eq!((next.phone, next.tags), (None, None));
    assert_eq!(next.last_name.as_deref(), Some("Smith"));
    assert_eq!(next.company.as_deref(), Some("Acme Travel"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn patch_merges_custom_one_level_deep() {
    let p = patch(&json!({"custom": {"tier": null, "seats": 20, "region": "emea"}})).unwrap();
    assert_eq!(
        p.touched_fields(),
        vec!["custom.region", "custom.seats", "custom.tier"]
    );
    let next = p.apply_to(&create(&full()).unwrap()).unwrap();
    let custom = next.custom.unwrap();
    assert_eq!(
        custom.keys().collect::<Vec<_>>(),
        vec!["active", "churnRisk", "region", "seats"]
    );
    assert_eq!(custom["seats"], CustomValue::Number(20.into()));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn patch_custom_null_removes_all_custom_keys() {
    let p = patch(&json!({"custom": null})).unwrap();
    assert_eq!(p.custom, CustomPatch::Remove);
    assert_eq!(p.touched_fields(), vec!["custom"]);
    assert_eq!(p.apply_to(&create(&full()).unwrap()).unwrap().custom, None);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn patch_replaces_tags_whole() {
    let next = patch(&json!({"tags": ["churned"]}))
        .unwrap()
        .apply_to(&create(&full()).unwrap())
        .unwrap();
    assert_eq!(next.tags, Some(vec!["churned".to_owned()]));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn patched_custom_stays_bounded() {
    let many: serde_json::Map<String, Value> = (0..MAX_CUSTOM_KEYS)
        .map(|i| (format!("k{i}"), json!(i)))
        .collect();
    let current = create(&with("custom", Value::Object(many))).unwrap();
    invalid_at(
        patch(&json!({"custom": {"one_more": 1}}))
            .unwrap()
            .apply_to(&current),
        "custom",
    );
    assert!(
        patch(&json!({"custom": {"k0": null, "one_more": 1}}))
            .unwrap()
            .apply_to(&current)
            .is_ok()
    );
}

// ---- ownership ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn owned_fields_may_be_written() {
    let touched = create(&full()).unwrap().touched_fields();
    let all: Vec<&str> = CustomerField::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(check_field_ownership(&touched, &owned(&all)), Ok(()));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn the_first_unowned_field_is_forbidden() {
    let touched =
        patch(&json!({"email": "j@example.com", "lifecycleStage": "lead", "phone": null}))
            .unwrap()
            .touched_fields();
    let err = check_field_ownership(&touched, &owned(&["email"])).unwrap_err();
    assert_eq!(
        err,
        Rejection::ForbiddenField {
            field: "phone".into()
        }
    );
    assert_eq!((err.code(), err.status()), ("forbidden_field", 403));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn custom_keys_are_owned_one_by_one_or_through_custom() {
    let touched = patch(&json!({"custom": {"tier": "gold", "score": 3}}))
        .unwrap()
        .touched_fields();
    assert_eq!(check_field_ownership(&touched, &owned(&["custom"])), Ok(()));
    assert_eq!(
        check_field_ownership(&touched, &owned(&["custom.tier", "custom.score"])),
        Ok(())
    );
    assert_eq!(
        check_field_ownership(&touched, &owned(&["custom.tier"])),
        Err(Rejection::ForbiddenField {
            field: "custom.score".into()
        })
    );
    let removal = patch(&json!({"custom": null})).unwrap().touched_fields();
    assert_eq!(
        check_field_ownership(&removal, &owned(&["custom.tier"])),
        Err(Rejection::ForbiddenField {
            field: "custom".into()
        })
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn ownable_field_names() {
    for good in ["email", "lifecycleStage", "custom", "custom.tier"] {
        assert!(is_ownable_field(good), "{good}");
    }
    for bad in ["id", "version", "custom.", "custom.a.b", "Email", ""] {
        assert!(!is_ownable_field(bad), "{bad}");
    }
}

// ---- records ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_record_serialises_camel_case_and_reads_back() {
    let record = Customer::new(
        "cus_01".into(),
        create(&full()).unwrap(),
        "2026-11-22T10:00:00Z".into(),
    );
    let value = serde_json::to_value(&record).unwrap();
    assert_eq!(value["id"], json!("cus_01"));
    assert_eq!(value["jobTitle"], json!("Head of Sales"));
    assert_eq!(value["createdAt"], json!("2026-11-22T10:00:00Z"));
    assert_eq!(value["version"], json!(1));
    let back: Customer = serde_json::from_value(value).unwrap();
    assert_eq!(back, record);
    assert!(Customer::from_value(&json!({"id": "cus_01"})).is_err());
    assert!(is_customer_id("cus_01") && !is_customer_id("cus 01"));
    // Record ids go into origin paths (`/origin/v1/{tenant}/customers/{id}`): never a dot segment.
    for id in [".", "..", "...", "a/b", "%2e%2e", ""] {
        assert!(!is_customer_id(id), "{id}");
    }
    assert!(is_customer_id("a.b") && is_customer_id(".a"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_patched_record_moves_one_version_on() {
    let record = Customer::new(
        "cus_01".into(),
        create(&full()).unwrap(),
        "2026-11-22T10:00:00Z".into(),
    );
    let p = patch(&json!({"company": null})).unwrap();
    let next = record.patched(&p, "2026-11-22T10:05:00Z".into()).unwrap();
    assert_eq!(
        (next.version, next.created_at.as_str()),
        (2, "2026-11-22T10:00:00Z")
    );
    assert_eq!(next.updated_at, "2026-11-22T10:05:00Z");
    assert_eq!(next.fields.company, None);
}
