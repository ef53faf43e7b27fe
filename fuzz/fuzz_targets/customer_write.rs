//! Customer writes (src/document/customer.rs `validate_create`, `validate_patch`).
//!
//! A valid create serialises back to a body that validates to the same record; a valid patch
//! applied to a fixed record gives a record that validates again; touched fields are known.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncgate::customer::{CustomerField, validate_create, validate_patch};

const BASE: &[u8] = br#"{"firstName":"Ada","lastName":"Lovelace","email":"ada@example.com",
    "phone":"+442071234567","tags":["vip"],"custom":{"tier":"gold","n":1,"b":true}}"#;

fuzz_target!(|data: &[u8]| {
    match validate_create(data) {
        Ok(input) => {
            let json = serde_json::to_vec(&input).unwrap();
            assert_eq!(
                validate_create(&json).unwrap(),
                input,
                "create does not round-trip"
            );
            for field in input.touched_fields() {
                assert!(known(&field), "unknown touched field");
            }
        }
        Err(e) => assert_eq!(e.code(), "invalid_field"),
    }
    match validate_patch(data) {
        Ok(patch) => {
            for field in patch.touched_fields() {
                assert!(known(&field), "unknown touched field");
            }
            let base = validate_create(BASE).unwrap();
            if let Ok(patched) = patch.apply_to(&base) {
                let json = serde_json::to_vec(&patched).unwrap();
                assert_eq!(
                    validate_create(&json).unwrap(),
                    patched,
                    "patched record is invalid"
                );
            }
        }
        Err(e) => assert_eq!(e.code(), "invalid_field"),
    }
});

fn known(field: &str) -> bool {
    CustomerField::parse(field).is_some() || field.starts_with("custom.")
}
