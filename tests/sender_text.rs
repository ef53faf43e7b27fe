//! Sender text in rejections is bounded: whatever a sender puts into a component name, a label,
//! a header name, a JSON key or a policy field, the problem document stays small and repeats at
//! most a short fragment of it. Runs natively and on wasm32.

// Test helpers unwrap freely: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use syncgate::customer::{validate_create, validate_patch};
use syncgate::error::{MAX_FIELD_CHARS, MAX_FRAGMENT_CHARS, MAX_MESSAGE_CHARS};
use syncgate::payload::SyncPayload;
use syncgate::rfc9421::content_digest_value;
use syncgate::{
    Headers, HttpRequest, Primitives, Rejection, RustCrypto, Scheme, SigningOptions, TenantPolicy,
    sign_request, verify_request,
};

const NOW: i64 = 1_790_000_000;
const URL: &str = "https://edge.example/v1/acme-eu1/sync";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const KID: &str = "acme-2026-11";
/// How long the sender's text is: far beyond any limit.
const HUGE: usize = 20_000;
/// The problem document must stay under this many bytes.
const MAX_PROBLEM_BYTES: usize = 512;

/// `len` characters of sender text that never repeats a 65-character window (`x0-x1-x2-…`), so
/// finding any 65-character window of it in an answer means the answer repeats sender text. Only
/// lowercase letters, digits and `-`: a valid header name, structured-field key and JSON key.
fn sender_text(len: usize) -> String {
    let mut text = String::with_capacity(len + 16);
    let mut i = 0u32;
    while text.len() < len {
        text.push_str(&format!("x{i:x}-"));
        i += 1;
    }
    text.truncate(len);
    text
}

/// The longest run of consecutive characters of `sent` that `shown` contains is at most
/// `max_run`: no window one longer appears in it.
fn assert_no_run_over(shown: &str, sent: &str, max_run: usize, what: &str) {
    let sent: Vec<char> = sent.chars().collect();
    let window = max_run + 1;
    if sent.len() < window {
        return;
    }
    // Every window start would be thorough but slow on wasm; a stride well under the window
    // still finds any run of 2 × 65 characters, and every start is checked near the limit.
    for start in (0..=sent.len() - window).step_by(7) {
        let piece: String = sent[start..start + window].iter().collect();
        assert!(
            !shown.contains(&piece),
            "{what} repeats {window} characters of sender text: {shown}"
        );
    }
}

/// The rejection's message, problem document and field are bounded and repeat no run of `sent`
/// longer than a fragment.
fn assert_bounded(rejection: &Rejection, sent: &str) {
    assert_bounded_with(rejection, sent, MAX_FRAGMENT_CHARS);
}

fn assert_bounded_with(rejection: &Rejection, sent: &str, max_run: usize) {
    let problem = serde_json::to_string(&rejection.problem("req-0001")).unwrap();
    let message = rejection.to_string();
    assert!(
        problem.len() < MAX_PROBLEM_BYTES,
        "problem document of {} bytes: {problem}",
        problem.len()
    );
    assert!(
        message.chars().count() <= MAX_MESSAGE_CHARS,
        "message of {} characters",
        message.chars().count()
    );
    assert!(
        message.chars().all(|c| (' '..='~').contains(&c)),
        "message is not printable ascii: {message:?}"
    );
    assert_no_run_over(&problem, sent, max_run, "problem document");
    assert_no_run_over(&message, sent, max_run, "message");
    if let Some(field) = rejection.problem("r").field {
        assert!(field.chars().count() <= MAX_FIELD_CHARS, "{field}");
        assert_no_run_over(&field, sent, max_run, "field");
    }
}

fn policy() -> TenantPolicy {
    TenantPolicy::from_json(&format!(
        r#"{{"instance":"acme-eu1","tenant":"acme",
            "keys":[{{"kid":"{KID}","version":2,"status":"active","secret":"{SECRET}"}}]}}"#
    ))
    .unwrap()
}

fn body() -> Vec<u8> {
    br##"{"type":"branding","tenant":"acme","version":1,"branding":{"title":"Acme","primaryColor":"#1f6feb"}}"##.to_vec()
}

/// A request with a valid digest and the given signature headers: verification reaches the
/// signature base (key, window and digest all pass) unless the input itself is refused.
fn request_with(signature_input: &str, extra_headers: &[(&str, &str)]) -> HttpRequest {
    let body = body();
    let digest = content_digest_value(&RustCrypto.sha256(&body));
    let mut headers: Headers = [
        ("content-type", "application/json"),
        ("content-digest", digest.as_str()),
        ("signature-input", signature_input),
        ("signature", "sig1=:AAAA:"),
    ]
    .into_iter()
    .collect();
    for (name, value) in extra_headers {
        headers.append(name, value);
    }
    HttpRequest::new("POST", URL, headers, body).unwrap()
}

fn verify_err(request: &HttpRequest) -> Rejection {
    verify_request(request, &policy(), NOW).unwrap_err()
}

fn params() -> String {
    format!(r#";created={NOW};keyid="{KID}";nonce="n-1""#)
}

// ---- RFC 9421: component names, labels, parameter names, header names ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn huge_covered_header_name_is_not_echoed() {
    let name = sender_text(HUGE);
    let input = format!(
        r#"sig1=("@method" "@path" "content-digest" "{name}"){}"#,
        params()
    );
    let err = verify_err(&request_with(&input, &[]));
    assert_eq!(err.code(), "malformed_signature", "{err}");
    assert!(err.to_string().contains("covered header x0-x1-"), "{err}");
    assert_bounded(&err, &name);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn huge_derived_component_name_is_not_echoed() {
    let name = format!("@{}", sender_text(HUGE));
    let input = format!(
        r#"sig1=("@method" "@path" "content-digest" "{name}"){}"#,
        params()
    );
    let err = verify_err(&request_with(&input, &[]));
    assert_eq!(err.code(), "malformed_signature", "{err}");
    assert_bounded(&err, &name);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn component_names_with_quotes_and_controls_are_neutralised() {
    // A structured-field string can carry `\"` and `\\`; neither reaches the message.
    let input = format!(
        r#"sig1=("@method" "@path" "content-digest" "x\"y\\z"){}"#,
        params()
    );
    let err = verify_err(&request_with(&input, &[]));
    let message = err.to_string();
    assert!(
        message.contains("covered header x?y?z is missing"),
        "{message}"
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn huge_label_is_not_echoed() {
    let label = sender_text(HUGE);
    let input = format!(
        r#"{label}=("@method" "@path" "content-digest"){}"#,
        params()
    );
    let err = verify_err(&request_with(&input, &[]));
    assert_eq!(err.code(), "malformed_signature", "{err}");
    assert_bounded(&err, &label);
    // Signing with it: either a valid signature or a bounded refusal.
    let mut options = SigningOptions::new(Scheme::Rfc9421, NOW, "n-1");
    options.label = Some(format!("{label}A"));
    let secret = syncgate::Secret::from_whsec(SECRET).unwrap();
    let err =
        sign_request(&request_with("", &[]), KID, secret.expose_bytes(), &options).unwrap_err();
    assert_bounded(&err, &label);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn huge_parameter_names_are_not_echoed() {
    let name = sender_text(HUGE);
    let input = format!(r#"sig1=("@method" "@path" "content-digest");created={NOW};{name}=1"#);
    let err = verify_err(&request_with(&input, &[]));
    assert_eq!(err.code(), "malformed_signature", "{err}");
    assert_bounded(&err, &name);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn huge_header_names_are_not_echoed() {
    let name = sender_text(HUGE);
    // Present in the request, and covered in uppercase (refused as not lowercase).
    let input = format!(
        r#"sig1=("@method" "@path" "content-digest" "{}"){}"#,
        name.to_ascii_uppercase(),
        params()
    );
    let err = verify_err(&request_with(&input, &[(&name, "v")]));
    assert_eq!(err.code(), "malformed_signature", "{err}");
    assert_bounded(&err, &name);
    assert_bounded(&err, &name.to_ascii_uppercase());
    // Covering a huge header the request lacks, through the signer.
    let mut options = SigningOptions::new(Scheme::Rfc9421, NOW, "n-1");
    options.extra_components = vec![name.clone()];
    let secret = syncgate::Secret::from_whsec(SECRET).unwrap();
    let err =
        sign_request(&request_with("", &[]), KID, secret.expose_bytes(), &options).unwrap_err();
    assert_eq!(err.code(), "malformed_signature", "{err}");
    assert_bounded(&err, &name);
}

// ---- sync payloads ----

fn payload_with(extra: (&str, Value)) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&body()).unwrap();
    body[extra.0] = extra.1;
    serde_json::to_vec(&body).unwrap()
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn huge_json_keys_in_a_payload_are_not_echoed() {
    let key = sender_text(HUGE);
    for body in [
        payload_with((&key, json!(1))),
        payload_with((
            "branding",
            json!({"title": "Acme", "primaryColor": "#1f6feb", key.as_str(): 1}),
        )),
        // A repeated huge key, refused while parsing.
        format!(r#"{{"{key}":1,"{key}":2}}"#).into_bytes(),
    ] {
        let err = SyncPayload::parse(&body).unwrap_err();
        assert_eq!(err.code(), "invalid_payload", "{err}");
        assert_bounded(&err, &key);
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn long_module_keys_and_cycles_are_bounded() {
    // Sixty-four-character keys (the longest allowed) in a cycle of twenty: the cycle spelled
    // out is over 1,300 characters of sender text.
    let keys: Vec<String> = (0..20)
        .map(|i| format!("m{i:02}.{}", sender_text(60)))
        .collect();
    let modules: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            json!({"key": key, "group": "crm", "requires": [keys[(i + 1) % keys.len()]]})
        })
        .collect();
    let features = json!({
        "plan": "pro", "modules": modules, "planDefaults": {"pro": [keys[0]]},
    });
    let body = json!({"type": "features", "tenant": "acme", "version": 1, "features": features});
    let err = SyncPayload::parse(&serde_json::to_vec(&body).unwrap()).unwrap_err();
    assert!(err.to_string().contains("dependency cycle"), "{err}");
    assert_bounded(&err, &keys.join(" -> "));
    // An unknown module named by a 64-character key in overrides and plan defaults.
    let unknown = format!("zz.{}", sender_text(61));
    for (name, value) in [
        ("overrides", json!({unknown.as_str(): true})),
        ("planDefaults", json!({"pro": [keys[0], unknown]})),
    ] {
        let mut features = features.clone();
        features["modules"][19]["requires"] = json!([]);
        features[name] = value;
        let body =
            json!({"type": "features", "tenant": "acme", "version": 1, "features": features});
        let err = SyncPayload::parse(&serde_json::to_vec(&body).unwrap()).unwrap_err();
        assert!(err.to_string().contains("unknown module"), "{err}");
        let problem = serde_json::to_string(&err.problem("req-0001")).unwrap();
        assert!(problem.len() < MAX_PROBLEM_BYTES, "{problem}");
    }
}

// ---- customer bodies ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn huge_unknown_customer_fields_are_not_echoed() {
    let key = sender_text(HUGE);
    let bodies = [
        json!({"email": "a@b.co", "firstName": "A", key.as_str(): 1}),
        json!({"email": "a@b.co", "firstName": "A", "custom": {key.as_str(): 1}}),
        json!({"email": "a@b.co", "firstName": "A", "custom": {"k": key.as_str()}}),
        json!({"email": "a@b.co", "firstName": "A", "tags": [key.as_str()]}),
    ];
    for body in &bodies {
        let body = serde_json::to_vec(body).unwrap();
        let err = validate_create(&body).unwrap_err();
        assert_eq!(err.code(), "invalid_field", "{err}");
        assert_bounded(&err, &key);
        let err = validate_patch(&body).unwrap_err();
        assert_bounded(&err, &key);
    }
    let err = validate_create(format!(r#"{{"{key}":1,"{key}":1}}"#).as_bytes()).unwrap_err();
    assert_bounded(&err, &key);
}

// ---- tenant policies ----

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn huge_policy_fields_are_not_echoed() {
    let name = sender_text(HUGE);
    let key = |extra: &str| {
        format!(r#"{{"kid":"{KID}","version":1,"status":"active","secret":"{SECRET}"{extra}}}"#)
    };
    for json in [
        format!(r#"{{"instance":"acme-eu1","tenant":"acme","{name}":1}}"#),
        format!(r#"{{"{name}":1,"instance":"acme-eu1","tenant":"acme"}}"#),
        format!(r#"{{"instance":"acme-eu1","tenant":"acme","rateLimits":{{"{name}":1}}}}"#),
        format!(
            r#"{{"instance":"acme-eu1","tenant":"acme","keys":[{}]}}"#,
            key(&format!(r#","{name}":1"#))
        ),
        format!(r#"{{"instance":"acme-eu1","tenant":"acme","schemes":["{name}"]}}"#),
        format!(r#"{{"instance":"acme-eu1","tenant":"acme","payloadTypes":["{name}"]}}"#),
        format!(r#"{{"instance":"acme-eu1","tenant":"acme","instance":"{name}"}}"#),
        format!(r#"{{"instance":"{name}","tenant":"acme"}}"#),
        format!(r#"{{"instance":"acme-eu1","tenant":"{name}"}}"#),
        format!(
            r#"{{"instance":"acme-eu1","tenant":"acme","keys":[{}]}}"#,
            key("").replace(KID, &name)
        ),
        format!(
            r#"{{"instance":"acme-eu1","tenant":"acme","keys":[{}]}}"#,
            key("").replace("active", &name)
        ),
        format!(r#"{{"instance":"acme-eu1","tenant":"acme","blockedModuleGroups":["{name}"]}}"#),
    ] {
        let err = TenantPolicy::from_json(&json).unwrap_err();
        assert_eq!(err.code(), "invalid_field", "{err}");
        assert_bounded(&err, &name);
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_name_cannot_smuggle_text_past_the_expected_list() {
    // serde writes "unknown field `NAME`, expected one of …"; a name that itself contains
    // "`, expected " must still be cut as a name.
    let name = format!("a`, expected {}", sender_text(HUGE));
    let json =
        serde_json::to_string(&json!({"instance": "acme-eu1", "tenant": "acme", name.as_str(): 1}))
            .unwrap();
    let err = TenantPolicy::from_json(&json).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
    assert_bounded(&err, &name);
    // The same for a value serde quotes in an "invalid value" message.
    let json = format!(
        r#"{{"instance":"acme-eu1","tenant":"acme","skewSeconds":"x, expected {}"}}"#,
        sender_text(HUGE)
    );
    let err = TenantPolicy::from_json(&json).unwrap_err();
    assert_bounded(&err, &sender_text(HUGE));
}

// ---- rejections built anywhere ----

/// The core builds its rejections from fragments; a rejection built elsewhere (the worker, the
/// origin) from raw text is still bounded when shown: names (groups, scopes, sections, request
/// ids) as fragments, fields and paths to [`MAX_FIELD_CHARS`], free text (a detail, a reason) to
/// [`MAX_MESSAGE_CHARS`] of printable ASCII.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn every_rejection_with_text_is_bounded_however_it_was_built() {
    let text = sender_text(HUGE);
    let nasty = format!("\u{1b}[31m\r\nlog-line \"quoted\" \u{202e}é{text}");
    for sent in [&text, &nasty] {
        let s = || sent.to_string();
        let names = [
            Rejection::UnsupportedPayloadType { payload_type: s() },
            Rejection::BlockedModuleGroup { group: s() },
            Rejection::UnsupportedModuleGroup { group: s() },
            Rejection::ReplayedNonce {
                original_request_id: Some(s()),
                applied: true,
            },
            Rejection::DuplicatePayload {
                original_request_id: Some(s()),
                applied: false,
            },
            Rejection::StaleVersion {
                section: s(),
                applied_version: u64::MAX,
                received_version: u64::MAX,
            },
            Rejection::Forbidden { scope: s() },
        ];
        let fields = [
            Rejection::ForbiddenField { field: s() },
            Rejection::InvalidField {
                field: s(),
                reason: "is wrong".into(),
            },
            Rejection::InvalidPayload {
                path: s(),
                reason: "is wrong".into(),
            },
        ];
        let free_text = [
            Rejection::MalformedSignature { detail: s() },
            Rejection::InvalidPayload {
                path: String::new(),
                reason: s(),
            },
            Rejection::InvalidField {
                field: s(),
                reason: s(),
            },
        ];
        let all = names
            .iter()
            .map(|r| (r, MAX_FRAGMENT_CHARS))
            .chain(fields.iter().map(|r| (r, MAX_FIELD_CHARS)))
            .chain(free_text.iter().map(|r| (r, MAX_MESSAGE_CHARS)));
        for (rejection, max_run) in all {
            assert_bounded_with(rejection, &text, max_run);
            let problem = serde_json::to_value(rejection.problem("req-0001")).unwrap();
            for member in ["detail", "field", "originalRequestId"] {
                if let Some(value) = problem[member].as_str() {
                    assert!(
                        value.chars().all(|c| (' '..='~').contains(&c)),
                        "{member} of {}: {value:?}",
                        rejection.code()
                    );
                }
            }
        }
    }
}
