//! The sync payload schema, one test per rule (each asserting the exact code and path), the
//! scope policy, and module-state recomputation (one test per reason, order independence, the
//! brief's example). Runs natively and on wasm32.

// Test code: clippy.toml's in-test allowances do not reach helper functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value, json};
use syncgate::Rejection;
use syncgate::modules::{ModuleReason, ModuleState, recompute_modules};
use syncgate::payload::{
    Features, MAX_FOOTER_LINKS, MAX_MODULES, MAX_TITLE_CHARS, MAX_URL_CHARS, MAX_VERSION, Section,
    SyncPayload,
};
use syncgate::policy::{PayloadType, TenantPolicy};
use syncgate::scope::check_scope;

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

/// The rejection for `body`, checked to be `invalid_payload` at `path` and free of the password.
fn rejected_at(body: &Value, path: &str) -> String {
    rejected_bytes_at(body.to_string().as_bytes(), path)
}

fn rejected_bytes_at(body: &[u8], path: &str) -> String {
    let err = SyncPayload::parse(body).unwrap_err();
    assert_eq!(err.code(), "invalid_payload", "{err}");
    assert_eq!(err.status(), 422);
    assert_eq!(err.field(), Some(path), "{err}");
    let message = err.to_string();
    assert!(!message.contains(SMTP_PASSWORD), "{message}");
    message
}

/// `combined()` with `value` set at the JSON pointer `pointer` (added when absent).
fn with(pointer: &str, value: Value) -> Value {
    let mut body = combined();
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    match body.pointer_mut(parent).unwrap() {
        Value::Object(object) => {
            object.insert(name.to_owned(), value);
        }
        Value::Array(items) => items[name.parse::<usize>().unwrap()] = value,
        _ => panic!("{pointer} is not inside an object or array"),
    }
    body
}

/// `combined()` without the member at `pointer`.
fn without(pointer: &str) -> Value {
    let mut body = combined();
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    body.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(name);
    body
}

fn policy() -> TenantPolicy {
    TenantPolicy::from_json(r#"{"instance":"acme-eu1","tenant":"acme"}"#).unwrap()
}

fn state_of(features: &Value, blocked: &[&str]) -> ModuleState {
    let features = Features::from_value(features).unwrap();
    let blocked: Vec<String> = blocked.iter().map(|g| (*g).to_owned()).collect();
    recompute_modules(&features, &blocked)
}

fn reason_of(state: &ModuleState, key: &str) -> String {
    let module = state.modules.iter().find(|m| m.key == key).unwrap();
    assert_eq!(module.enabled, module.reason.enables());
    module.reason.to_string()
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

// ---- valid examples ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn valid_features_payload() {
    let p = parse(&payload("features", &[("features", features())])).unwrap();
    assert_eq!(p.payload_type(), PayloadType::Features);
    assert_eq!(p.sections(), vec![Section::Features]);
    assert_eq!(p.features().unwrap().modules.len(), 3);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn valid_branding_payload_full_and_minimal() {
    let p = parse(&payload("branding", &[("branding", branding())])).unwrap();
    assert_eq!(p.sections(), vec![Section::Branding]);
    let minimal = payload("branding", &[("branding", json!({"title": "Acme"}))]);
    let p = parse(&minimal).unwrap();
    assert_eq!(p.branding().unwrap().logo_url, None);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn valid_smtp_payload_with_and_without_auth() {
    let p = parse(&payload("smtp", &[("smtp", smtp())])).unwrap();
    assert_eq!(p.sections(), vec![Section::Smtp]);
    assert_eq!(p.smtp().unwrap().port, 587);
    let relay = json!({"host": "10.0.0.25", "port": 25, "encryption": "none",
                       "fromEmail": "crm@acme.test"});
    assert!(parse(&payload("smtp", &[("smtp", relay)])).is_ok());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn valid_combined_payloads_carry_two_or_three_sections() {
    let p = parse(&combined()).unwrap();
    assert_eq!(
        p.sections(),
        vec![Section::Features, Section::Branding, Section::Smtp]
    );
    assert_eq!(Section::Smtp.as_str(), "smtp");
    let two = payload("combined", &[("branding", branding()), ("smtp", smtp())]);
    assert_eq!(
        parse(&two).unwrap().sections(),
        vec![Section::Branding, Section::Smtp]
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn optional_members_may_be_null_or_absent() {
    let p = parse(&with("/features/overrides", Value::Null)).unwrap();
    assert!(p.features().unwrap().overrides.is_empty());
    let p = parse(&with("/smtp", Value::Null)).unwrap();
    assert_eq!(p.sections(), vec![Section::Features, Section::Branding]);
    assert!(parse(&without("/features/modules/0/permissions")).is_ok());
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

// ---- document ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn not_json_is_rejected_at_the_root() {
    let message = rejected_bytes_at(b"{\"type\": ", "");
    assert!(message.contains("not valid JSON"), "{message}");
    rejected_bytes_at(b"{} {}", "");
    rejected_bytes_at(&[0xff, 0xfe], "");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn repeated_keys_are_rejected() {
    let body = br#"{"type":"smtp","tenant":"acme","tenant":"evil","version":1}"#;
    let message = rejected_bytes_at(body, "");
    assert!(message.contains("duplicate field `tenant`"), "{message}");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn root_must_be_an_object() {
    rejected_at(&json!([combined()]), "");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn unknown_fields_are_rejected_at_every_level() {
    let mut body = combined();
    body["signature"] = json!("x");
    rejected_at(&body, "signature");
    rejected_at(&with("/smtp/tlsVersion", json!("1.3")), "smtp.tlsVersion");
    rejected_at(
        &with("/branding/footer/links/0/target", json!("_blank")),
        "branding.footer.links[0].target",
    );
    rejected_at(
        &with("/features/modules/1/owner", json!("x")),
        "features.modules[1].owner",
    );
    rejected_at(&with("/features/extra", json!(1)), "features.extra");
}

// ---- type, tenant, version ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn type_is_required_and_must_be_known() {
    rejected_at(&without("/type"), "type");
    let message = rejected_at(&with("/type", json!("website")), "type");
    assert!(!message.contains("website"), "{message}");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn tenant_must_be_an_identifier() {
    rejected_at(&without("/tenant"), "tenant");
    rejected_at(&with("/tenant", json!("acme corp")), "tenant");
    rejected_at(&with("/tenant", json!("")), "tenant");
    rejected_at(&with("/tenant", json!("a".repeat(65))), "tenant");
    // The policy's identifier grammar: nothing a URL path treats specially.
    for bad in [".", "..", "%2e", "a/b", "Acme", "a.b", "a_b", "acmé"] {
        rejected_at(&with("/tenant", json!(bad)), "tenant");
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn version_is_a_whole_number_from_one_to_max_safe_integer() {
    for bad in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!("17"),
        json!(MAX_VERSION + 1),
    ] {
        rejected_at(&with("/version", bad), "version");
    }
    assert_eq!(
        parse(&with("/version", json!(MAX_VERSION)))
            .unwrap()
            .version(),
        MAX_VERSION
    );
}

// ---- sections ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn the_type_s_section_is_required() {
    rejected_at(&payload("features", &[]), "features");
    rejected_at(&payload("smtp", &[("branding", branding())]), "smtp");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn sections_the_type_does_not_ask_for_are_rejected() {
    let body = payload("branding", &[("branding", branding()), ("smtp", smtp())]);
    let message = rejected_at(&body, "smtp");
    assert!(
        message.contains("not allowed in a branding payload"),
        "{message}"
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn combined_needs_two_sections() {
    rejected_at(&payload("combined", &[("smtp", smtp())]), "");
    rejected_at(&payload("combined", &[]), "");
}

// ---- branding ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn title_is_bounded_text() {
    rejected_at(&without("/branding/title"), "branding.title");
    rejected_at(&with("/branding/title", json!("")), "branding.title");
    rejected_at(
        &with("/branding/title", json!("a".repeat(MAX_TITLE_CHARS + 1))),
        "branding.title",
    );
    rejected_at(
        &with("/branding/title", json!("Acme\nTravel")),
        "branding.title",
    );
    assert!(parse(&with("/branding/title", json!("é".repeat(MAX_TITLE_CHARS)))).is_ok());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn urls_must_be_https() {
    let message = rejected_at(
        &with("/branding/logoUrl", json!("http://cdn.acme.test/logo.svg")),
        "branding.logoUrl",
    );
    assert!(message.contains("https"), "{message}");
    rejected_at(
        &with("/branding/faviconUrl", json!("javascript:alert(1)")),
        "branding.faviconUrl",
    );
    rejected_at(
        &with("/branding/footer/links/0/url", json!("ftp://acme.test")),
        "branding.footer.links[0].url",
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn urls_reject_userinfo_whitespace_control_and_overlong() {
    rejected_at(
        &with(
            "/branding/logoUrl",
            json!("https://user:pw@cdn.acme.test/x"),
        ),
        "branding.logoUrl",
    );
    rejected_at(
        &with("/branding/logoUrl", json!("https://cdn.acme.test/a b.svg")),
        "branding.logoUrl",
    );
    rejected_at(
        &with("/branding/logoUrl", json!("https://cdn.acme.test/\u{0}")),
        "branding.logoUrl",
    );
    rejected_at(
        &with(
            "/branding/logoUrl",
            json!("https://cdn.acme.test/\"><script>"),
        ),
        "branding.logoUrl",
    );
    rejected_at(
        &with("/branding/sidebarLogoUrl", json!("https://bad_host/x")),
        "branding.sidebarLogoUrl",
    );
    let long = format!("https://cdn.acme.test/{}", "a".repeat(MAX_URL_CHARS));
    rejected_at(&with("/branding/logoUrl", json!(long)), "branding.logoUrl");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn colours_are_hex() {
    for bad in ["1f6feb", "#1f6fe", "#12345g", "blue", "#1f6feb80"] {
        rejected_at(
            &with("/branding/primaryColor", json!(bad)),
            "branding.primaryColor",
        );
    }
    assert!(parse(&with("/branding/primaryColor", json!("#FFF"))).is_ok());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn footer_is_bounded() {
    let links: Vec<Value> = (0..=MAX_FOOTER_LINKS)
        .map(|i| json!({"label": format!("L{i}"), "url": "https://acme.test/"}))
        .collect();
    rejected_at(
        &with("/branding/footer/links", json!(links)),
        "branding.footer.links",
    );
    rejected_at(
        &with("/branding/footer/links/0/label", json!("")),
        "branding.footer.links[0].label",
    );
    rejected_at(&with("/branding/footer", json!("Acme")), "branding.footer");
}

// ---- smtp ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn ports_are_1_to_65535() {
    for bad in [
        json!(0),
        json!(65_536),
        json!(-25),
        json!("587"),
        json!(587.5),
    ] {
        rejected_at(&with("/smtp/port", bad), "smtp.port");
    }
    assert!(parse(&with("/smtp/port", json!(65_535))).is_ok());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn hosts_are_names_or_ipv4() {
    for bad in [
        "smtp example.com",
        "-smtp.example.com",
        "smtp..example.com",
        "999.1.1.1",
        "[::1]",
        "",
    ] {
        rejected_at(&with("/smtp/host", json!(bad)), "smtp.host");
    }
    assert!(parse(&with("/smtp/host", json!("192.168.1.10"))).is_ok());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn sender_is_an_email_address() {
    for bad in [
        "no-reply",
        "no-reply@",
        "no reply@acme.test",
        "no-reply@localhost",
        "a@b@acme.test",
    ] {
        rejected_at(&with("/smtp/fromEmail", json!(bad)), "smtp.fromEmail");
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn encryption_is_none_starttls_or_tls() {
    rejected_at(&with("/smtp/encryption", json!("ssl")), "smtp.encryption");
    assert!(parse(&with("/smtp/encryption", json!("tls"))).is_ok());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn credentials_come_in_pairs() {
    rejected_at(&without("/smtp/password"), "smtp.password");
    rejected_at(&without("/smtp/username"), "smtp.username");
    rejected_at(&with("/smtp/password", json!("")), "smtp.password");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn errors_never_echo_the_password() {
    let message = rejected_at(&with("/smtp/password", json!(42)), "smtp.password");
    assert!(!message.contains("42"), "{message}");
    let leaked = format!("{SMTP_PASSWORD}\u{7}");
    rejected_at(&with("/smtp/password", json!(leaked)), "smtp.password");
    rejected_at(&with("/smtp/port", json!(SMTP_PASSWORD)), "smtp.port");
    rejected_at(&with("/smtp/host", json!(SMTP_PASSWORD)), "smtp.host");
}

// ---- features ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn module_count_is_bounded() {
    let modules: Vec<Value> = (0..=MAX_MODULES)
        .map(|i| json!({"key": format!("m{i}"), "group": "crm"}))
        .collect();
    rejected_at(
        &with("/features/modules", json!(modules)),
        "features.modules",
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn module_keys_and_groups_are_identifiers() {
    rejected_at(
        &with("/features/modules/0/key", json!("crm core")),
        "features.modules[0].key",
    );
    rejected_at(
        &with("/features/modules/0/key", json!("crm:core")),
        "features.modules[0].key",
    );
    rejected_at(
        &with("/features/modules/2/group", json!("")),
        "features.modules[2].group",
    );
    rejected_at(
        &without("/features/modules/2/group"),
        "features.modules[2].group",
    );
    rejected_at(
        &with("/features/modules/0/permissions/0", json!("read all")),
        "features.modules[0].permissions[0]",
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn module_keys_are_unique() {
    let message = rejected_at(
        &with("/features/modules/2/key", json!("crm.core")),
        "features.modules[2].key",
    );
    assert!(message.contains("crm.core"), "{message}");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn requires_name_known_modules() {
    let message = rejected_at(
        &with(
            "/features/modules/2/requires",
            json!(["crm.customers", "crm.missing"]),
        ),
        "features.modules[2].requires[1]",
    );
    assert!(message.contains("unknown module crm.missing"), "{message}");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn dependency_cycles_are_rejected() {
    let body = with("/features/modules/0/requires", json!(["sales.deals"]));
    // Reported at the module whose requirement closes the cycle (crm.customers -> crm.core).
    let message = rejected_at(&body, "features.modules[1].requires");
    assert!(
        message.contains("dependency cycle crm.core -> sales.deals -> crm.customers -> crm.core"),
        "{message}"
    );
    let body = with("/features/modules/1/requires", json!(["crm.customers"]));
    let message = rejected_at(&body, "features.modules[1].requires");
    assert!(
        message.contains("crm.customers -> crm.customers"),
        "{message}"
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn plan_must_be_a_plan_of_plan_defaults() {
    rejected_at(
        &with("/features/plan", json!("enterprise")),
        "features.plan",
    );
    rejected_at(&without("/features/planDefaults"), "features.planDefaults");
    rejected_at(
        &with("/features/planDefaults", json!({"bad plan": []})),
        "features.planDefaults",
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn plan_defaults_name_known_modules() {
    rejected_at(
        &with("/features/planDefaults/pro/1", json!("crm.ghost")),
        "features.planDefaults.pro[1]",
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn overrides_name_known_modules_with_booleans() {
    rejected_at(
        &with("/features/overrides", json!({"crm.ghost": true})),
        r#"features.overrides["crm.ghost"]"#,
    );
    rejected_at(
        &with("/features/overrides/sales.deals", json!("on")),
        r#"features.overrides["sales.deals"]"#,
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn the_brief_s_example_payload_is_rejected_for_its_unknown_requirement() {
    let body = json!({
        "type": "features", "tenant": "acme", "version": 17,
        "features": {
            "plan": "pro",
            "modules": [{"key": "crm.customers", "group": "crm", "requires": ["crm.core"],
                         "permissions": ["customers.read", "customers.write"]}],
            "planDefaults": {"pro": ["crm.core", "crm.customers"]},
            "overrides": {"crm.reports": false}
        }
    });
    rejected_at(&body, "features.modules[0].requires[0]");
}

// ---- scope ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn scope_accepts_supported_groups() {
    assert_eq!(check_scope(&parse(&combined()).unwrap(), &policy()), Ok(()));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn scope_rejects_payload_types_the_tenant_does_not_accept() {
    let policy = TenantPolicy::from_json(
        r#"{"instance":"acme-eu1","tenant":"acme","payloadTypes":["branding"]}"#,
    )
    .unwrap();
    let err = check_scope(&parse(&combined()).unwrap(), &policy).unwrap_err();
    assert_eq!(
        (err.code(), err.status()),
        ("unsupported_payload_type", 422)
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn scope_rejects_blocked_groups_even_when_unsupported() {
    let body = with("/features/modules/2/group", json!("website"));
    let err = check_scope(&parse(&body).unwrap(), &policy()).unwrap_err();
    assert_eq!(
        err,
        Rejection::BlockedModuleGroup {
            group: "website".into()
        }
    );
    assert_eq!(err.status(), 403);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn scope_rejects_unsupported_groups_in_module_order() {
    let mut body = with("/features/modules/1/group", json!("games"));
    body["features"]["modules"][2]["group"] = json!("landing_page");
    let err = check_scope(&parse(&body).unwrap(), &policy()).unwrap_err();
    assert_eq!(
        err,
        Rejection::UnsupportedModuleGroup {
            group: "games".into()
        }
    );
    assert_eq!(err.status(), 422);
}

// ---- recomputation ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_plan_default_and_not_in_plan() {
    let state = state_of(
        &json!({"plan": "free", "modules": [
        {"key": "a", "group": "crm"}, {"key": "b", "group": "crm"}],
        "planDefaults": {"free": ["a"]}}),
        &[],
    );
    assert_eq!(reason_of(&state, "a"), "plan_default");
    assert_eq!(reason_of(&state, "b"), "not_in_plan");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_overrides_win_over_the_plan() {
    let state = state_of(
        &json!({"plan": "free", "modules": [
        {"key": "a", "group": "crm"}, {"key": "b", "group": "crm"}],
        "planDefaults": {"free": ["a"]}, "overrides": {"a": false, "b": true}}),
        &[],
    );
    assert_eq!(reason_of(&state, "a"), "override_off");
    assert_eq!(reason_of(&state, "b"), "override_on");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_blocked_group_takes_precedence() {
    let state = state_of(
        &json!({"plan": "free", "modules": [
        {"key": "site", "group": "website", "permissions": ["site.edit"]}],
        "planDefaults": {"free": ["site"]}, "overrides": {"site": true}}),
        &["website"],
    );
    assert_eq!(reason_of(&state, "site"), "blocked_group");
    assert!(state.permissions.is_empty());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_missing_dependency_is_transitive() {
    let state = state_of(
        &json!({"plan": "p", "modules": [
        {"key": "a", "group": "crm"},
        {"key": "b", "group": "crm", "requires": ["a"]},
        {"key": "c", "group": "crm", "requires": ["b"]}],
        "planDefaults": {"p": ["a", "b", "c"]}, "overrides": {"a": false}}),
        &[],
    );
    assert_eq!(reason_of(&state, "a"), "override_off");
    assert_eq!(reason_of(&state, "b"), "missing_dependency:a");
    assert_eq!(reason_of(&state, "c"), "missing_dependency:b");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_names_the_smallest_missing_direct_requirement() {
    let state = state_of(
        &json!({"plan": "p", "modules": [
        {"key": "x", "group": "crm", "requires": ["zeta", "beta", "ok"]},
        {"key": "ok", "group": "crm"}, {"key": "beta", "group": "billing"}],
        "planDefaults": {"p": ["x", "ok", "beta"]}}),
        &["billing"],
    );
    assert_eq!(reason_of(&state, "x"), "missing_dependency:beta");
    assert_eq!(reason_of(&state, "beta"), "blocked_group");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_copes_with_unvalidated_cycles_and_unknown_requirements() {
    let state = state_of(
        &json!({"plan": "p", "modules": [
        {"key": "a", "group": "crm", "requires": ["b"]},
        {"key": "b", "group": "crm", "requires": ["a"]},
        {"key": "c", "group": "crm", "requires": ["ghost"]}],
        "planDefaults": {"p": ["a", "b", "c"]}}),
        &[],
    );
    assert_eq!(reason_of(&state, "a"), "missing_dependency:b");
    assert_eq!(reason_of(&state, "b"), "missing_dependency:a");
    assert_eq!(reason_of(&state, "c"), "missing_dependency:ghost");
    let state = state_of(
        &json!({"plan": "unknown", "modules": [{"key": "a", "group": "crm"}],
        "planDefaults": {}}),
        &[],
    );
    assert_eq!(reason_of(&state, "a"), "not_in_plan");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_permissions_are_sorted_unions_of_enabled_modules() {
    let state = state_of(&features(), &[]);
    assert_eq!(
        state.permissions,
        vec!["customers.read", "customers.write", "deals:write"]
    );
    let keys: Vec<&str> = state.modules.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, vec!["crm.core", "crm.customers", "sales.deals"]);
    let state = state_of(
        &json!({"plan": "p", "modules": [
        {"key": "a", "group": "crm", "permissions": ["z", "a", "z"]}],
        "planDefaults": {"p": []}}),
        &[],
    );
    assert_eq!(state.modules[0].permissions, vec!["a", "z"]);
    assert!(state.permissions.is_empty());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_serialises_to_the_brief_s_shape() {
    let state = state_of(&features(), &[]);
    assert_eq!(
        serde_json::to_value(&state).unwrap(),
        json!({
            "modules": [
                {"key": "crm.core", "group": "crm", "enabled": true, "reason": "plan_default",
                 "permissions": ["customers.read"]},
                {"key": "crm.customers", "group": "crm", "enabled": true, "reason": "plan_default",
                 "permissions": ["customers.read", "customers.write"]},
                {"key": "sales.deals", "group": "sales", "enabled": true, "reason": "override_on",
                 "permissions": ["deals:write"]}
            ],
            "permissions": ["customers.read", "customers.write", "deals:write"]
        })
    );
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

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn recompute_the_brief_s_example() {
    let state = state_of(
        &json!({
            "plan": "pro",
            "modules": [{"key": "crm.customers", "group": "crm", "requires": ["crm.core"],
                         "permissions": ["customers.read", "customers.write"]}],
            "planDefaults": {"pro": ["crm.core", "crm.customers"]},
            "overrides": {"crm.reports": false}
        }),
        &["website", "landing_page"],
    );
    assert_eq!(state.modules.len(), 1);
    assert_eq!(
        state.modules[0].reason,
        ModuleReason::MissingDependency("crm.core".into())
    );
    assert!(state.permissions.is_empty());

    let completed = json!({
        "plan": "pro",
        "modules": [
            {"key": "crm.core", "group": "crm"},
            {"key": "crm.customers", "group": "crm", "requires": ["crm.core"],
             "permissions": ["customers.read", "customers.write"]},
            {"key": "crm.reports", "group": "reports", "permissions": ["reports.read"]}
        ],
        "planDefaults": {"pro": ["crm.core", "crm.customers", "crm.reports"]},
        "overrides": {"crm.reports": false}
    });
    let state = state_of(&completed, &["website", "landing_page"]);
    assert_eq!(reason_of(&state, "crm.customers"), "plan_default");
    assert_eq!(reason_of(&state, "crm.reports"), "override_off");
    assert_eq!(state.permissions, vec!["customers.read", "customers.write"]);
}
