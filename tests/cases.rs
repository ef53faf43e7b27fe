//! The shared case files (`tests/cases/*.json`) run through the core's public functions,
//! natively and on wasm32 under `wasm-bindgen-test` (the files are embedded, so no filesystem is
//! needed). The Node, browser and edge runners read the same files and must agree.

// Test helpers unwrap freely: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Map, Value};
use syncgate::rfc9421::content_digest_value;
use syncgate::{
    Headers, HttpRequest, Primitives as _, Rejection, RustCrypto, Scheme, SigningOptions,
    TargetUri, TenantPolicy, Verdict, sign_request, verify_request,
};

const SIGNATURES: &str = include_str!("cases/signatures.json");

fn cases(file: &Value) -> &Vec<Value> {
    let cases = file["cases"]
        .as_array()
        .expect("a case file has a `cases` list");
    assert!(!cases.is_empty(), "the case file is empty");
    cases
}

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} must be a string"))
}

/// The base policy with `overrides` merged over it (null removes a member).
fn merged_policy(base: &Value, overrides: &Value) -> Value {
    let mut policy = base.as_object().unwrap().clone();
    if let Some(over) = overrides.as_object() {
        for (k, v) in over {
            if v.is_null() {
                policy.remove(k);
            } else {
                policy.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(policy)
}

fn body_bytes(file: &Value, body: &Value) -> Vec<u8> {
    match body {
        Value::String(name) => file["bodies"][name.as_str()].to_string().into_bytes(),
        Value::Object(o) if o.contains_key("json") => o["json"].to_string().into_bytes(),
        Value::Object(o) if o.contains_key("text") => {
            str_of(&o["text"], "text").as_bytes().to_vec()
        }
        other => panic!("not a body: {other}"),
    }
}

fn set_header(request: &mut HttpRequest, name: &str, value: &str) {
    let mut headers = Headers::new();
    for (n, v) in request.headers.iter() {
        if !n.eq_ignore_ascii_case(name) {
            headers.append(n, v);
        }
    }
    headers.append(name, value);
    request.headers = headers;
}

fn remove_header(request: &mut HttpRequest, name: &str) {
    request.headers = request
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .collect();
}

/// Builds, signs and mutates one signature case; returns the request, policy JSON and `now`.
fn build_signature_case(file: &Value, case: &Value) -> (HttpRequest, Value, i64) {
    let now = file["now"].as_i64().unwrap();
    let headers: Headers = file["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), str_of(v, "header").to_string()))
        .collect::<Vec<_>>()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = body_bytes(file, &case["body"]);
    let url = str_of(&file["url"], "url");
    let mut request = HttpRequest::new("POST", url, headers, body).unwrap();
    let mut created = now;
    if let Some(sign) = case.get("sign") {
        let key = &file["keys"][str_of(&sign["key"], "sign.key")];
        let kid = sign.get("kid").unwrap_or(&key["kid"]);
        let scheme = match str_of(&sign["scheme"], "sign.scheme") {
            "rfc9421" => Scheme::Rfc9421,
            "standard-webhooks" => Scheme::StandardWebhooks,
            other => panic!("unknown scheme {other}"),
        };
        created = now + sign.get("at").and_then(Value::as_i64).unwrap_or(0);
        let mut options = SigningOptions::new(scheme, created, str_of(&sign["nonce"], "nonce"));
        options.expires_in = sign
            .get("expiresIn")
            .and_then(Value::as_u64)
            .map(|s| u32::try_from(s).unwrap());
        if let Some(components) = sign.get("components").and_then(Value::as_array) {
            options.extra_components = components
                .iter()
                .map(|c| str_of(c, "component").to_string())
                .collect();
        }
        let secret = syncgate::Secret::from_whsec(str_of(&key["secret"], "secret")).unwrap();
        for (name, value) in sign_request(
            &request,
            str_of(kid, "kid"),
            secret.expose_bytes(),
            &options,
        )
        .unwrap()
        {
            set_header(&mut request, &name, &value);
        }
    }
    let empty = Vec::new();
    for op in case
        .get("mutate")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let op = op.as_array().unwrap();
        let arg = |i: usize| str_of(&op[i], "mutation argument");
        let old = |r: &HttpRequest, name: &str| r.headers.get(name).unwrap_or("").to_string();
        match arg(0) {
            "setHeader" => {
                let value = arg(2).replace("{old}", &old(&request, arg(1)));
                set_header(&mut request, arg(1), &value);
            }
            "removeHeader" => remove_header(&mut request, arg(1)),
            "replaceInHeader" => {
                let from = arg(2).replace("{created}", &created.to_string());
                let to = arg(3).replace("{created}", &created.to_string());
                let before = old(&request, arg(1));
                assert!(before.contains(&from), "{}: {from} not in {before}", arg(1));
                set_header(&mut request, arg(1), &before.replace(&from, &to));
            }
            "truncateHeader" => {
                let before = old(&request, arg(1));
                let drop = usize::try_from(op[2].as_u64().unwrap()).unwrap();
                let kept = &before[..before.len() - drop];
                set_header(&mut request, arg(1), &format!("{kept}{}", arg(3)));
            }
            "setBody" => request.body = body_bytes(file, &op[1]),
            "recomputeDigest" => {
                let digest = content_digest_value(&RustCrypto.sha256(&request.body));
                set_header(&mut request, "content-digest", &digest);
            }
            "setQuery" => {
                let base = url.split_once('?').map_or(url, |(b, _)| b);
                request.uri = TargetUri::parse(&format!("{base}?{}", arg(1))).unwrap();
            }
            "setMethod" => request.method = arg(1).to_string(),
            other => panic!("unknown mutation {other}"),
        }
    }
    let policy = merged_policy(&file["policy"], case.get("policy").unwrap_or(&Value::Null));
    let at = now + case.get("verifyAt").and_then(Value::as_i64).unwrap_or(0);
    (request, policy, at)
}

/// Checks a rejection against `expect` (code, status, field, message) and the secret list.
fn check_rejection(name: &str, file: &Value, expect: &Value, err: &Rejection) {
    let problem = err.problem("");
    assert_eq!(Some(err.code()), expect["code"].as_str(), "{name}: {err}");
    if let Some(status) = expect.get("status") {
        assert_eq!(u64::from(err.status()), status.as_u64().unwrap(), "{name}");
    }
    let field = expect.get("field").or_else(|| expect.get("path"));
    if let Some(field) = field {
        assert_eq!(problem.field.as_deref(), field.as_str(), "{name}: {err}");
    }
    if let Some(text) = expect.get("messageIncludes") {
        let text = str_of(text, "messageIncludes");
        assert!(problem.detail.contains(text), "{name}: {}", problem.detail);
    }
    if let Some(secrets) = file.get("neverInMessages").and_then(Value::as_array) {
        for secret in secrets {
            let secret = str_of(secret, "secret");
            assert!(
                !problem.detail.contains(secret),
                "{name}: {}",
                problem.detail
            );
            assert!(!err.to_string().contains(secret), "{name}: {err}");
        }
    }
}

fn check_verdict(name: &str, file: &Value, now: i64, expect: &Value, verdict: &Verdict) {
    let obj: &Map<String, Value> = expect.as_object().unwrap();
    for (k, want) in obj {
        let got: Value = match k.as_str() {
            "ok" => Value::Bool(true),
            "scheme" => Value::from(verdict.scheme.as_str()),
            "keyId" => Value::from(verdict.key_id.as_str()),
            "keyVersion" => Value::from(verdict.key_version),
            "keyStatus" => Value::from(verdict.key_status.as_str()),
            "nonce" => Value::from(verdict.nonce.as_str()),
            "timestamp" => Value::from(verdict.timestamp - now),
            "tenant" => Value::from(verdict.tenant.as_str()),
            "payloadType" => Value::from(verdict.payload.payload_type().as_str()),
            "payloadVersion" => Value::from(verdict.payload_version),
            "sections" => Value::from(verdict.sections.clone()),
            "expiresAt" => Value::from(verdict.replay.expires_at - now),
            other => panic!("{name}: unknown expectation {other}"),
        };
        assert_eq!(&got, want, "{name}: {k}");
    }
    assert_eq!(verdict.payload_hash.len(), 64, "{name}");
    let _ = file;
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn signature_cases() {
    let file: Value = serde_json::from_str(SIGNATURES).unwrap();
    let now = file["now"].as_i64().unwrap();
    let mut ran = 0;
    for case in cases(&file) {
        let name = str_of(&case["name"], "name");
        let (request, policy, at) = build_signature_case(&file, case);
        let policy = TenantPolicy::from_json(&policy.to_string()).unwrap();
        let expect = &case["expect"];
        check_seam(name, &request, &policy, at);
        match verify_request(&request, &policy, at) {
            Ok(verdict) => {
                assert_eq!(expect["ok"], Value::Bool(true), "{name}: accepted");
                check_verdict(name, &file, now, expect, &verdict);
            }
            Err(err) => {
                assert!(expect.get("ok").is_none(), "{name}: refused with {err}");
                check_rejection(name, &file, expect, &err);
            }
        }
        ran += 1;
    }
    println!("signatures.json: {ran} cases");
}

/// Steps 1–5 in one pass with the scheme modules' own `verify` (no two-phase seam): the
/// reference the two-phase seam of `syncgate::Verifier` must agree with.
fn one_pass_authenticate<'p>(
    request: &HttpRequest,
    policy: &'p TenantPolicy,
    now: i64,
) -> Result<(Scheme, &'p syncgate::SigningKey, String, i64), Rejection> {
    use syncgate::{SkewWindow, rfc9421, webhooks};
    syncgate::precheck(
        policy,
        request.headers.get("content-type"),
        request.body.len(),
    )?;
    let scheme = syncgate::detect_scheme(request, policy)?;
    let window = SkewWindow::new(policy.skew_seconds);
    match scheme {
        Scheme::Rfc9421 => {
            let sha = RustCrypto.sha256(&request.body);
            let v = rfc9421::verify(request, &sha, &policy.keys, window, now, &RustCrypto)?;
            Ok((scheme, v.key, v.params.nonce, v.params.created))
        }
        Scheme::StandardWebhooks => {
            let headers = webhooks::WebhookHeaders::find(&request.headers)
                .ok_or(Rejection::MissingSignature)??;
            let v = webhooks::verify(
                headers,
                &request.body,
                &policy.keys,
                window,
                now,
                &RustCrypto,
            )?;
            Ok((scheme, v.key, v.id, v.timestamp))
        }
    }
}

/// The compiled verifier's two phases (full and signature-only) give the one-pass verdicts.
fn check_seam(name: &str, request: &HttpRequest, policy: &TenantPolicy, now: i64) {
    use syncgate::Verifier;
    let verifier = Verifier::new(policy);
    let reference = one_pass_authenticate(request, policy, now);
    let signature = verifier.verify_signature(request, now);
    match (&reference, &signature) {
        (Ok((scheme, key, nonce, ts)), Ok(v)) => {
            assert_eq!(
                (v.scheme, v.key, &v.nonce, v.timestamp),
                (*scheme, *key, nonce, *ts),
                "{name}"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "{name}: signature-only verdict"),
        (a, b) => panic!("{name}: one pass {a:?}, seam {b:?}"),
    }
    let full = verifier.verify(request, now);
    assert_eq!(
        full,
        verify_request(request, policy, now),
        "{name}: full verdict"
    );
    if let Err(e) = &reference {
        assert_eq!(
            full.as_ref().err(),
            Some(e),
            "{name}: full verdict vs one pass"
        );
    }
}

const PAYLOADS: &str = include_str!("cases/payloads.json");

/// Expands the `$repeat` and `$array` value macros.
fn expand(value: &Value) -> Value {
    match value {
        Value::Object(o) if o.len() == 1 && o.contains_key("$repeat") => {
            let parts = o["$repeat"].as_array().unwrap();
            let text: String = parts
                .chunks(2)
                .map(|p| {
                    str_of(&p[0], "$repeat text")
                        .repeat(usize::try_from(p[1].as_u64().unwrap()).unwrap())
                })
                .collect();
            Value::String(text)
        }
        Value::Object(o) if o.len() == 1 && o.contains_key("$array") => {
            let spec = o["$array"].as_array().unwrap();
            let n = spec[0].as_u64().unwrap();
            let item = spec[1].to_string();
            (0..n)
                .map(|i| {
                    serde_json::from_str::<Value>(&item.replace("{i}", &i.to_string())).unwrap()
                })
                .collect()
        }
        Value::Object(o) if o.len() == 1 && o.contains_key("$object") => {
            let spec = o["$object"].as_array().unwrap();
            let n = spec[0].as_u64().unwrap();
            let key = str_of(&spec[1], "$object key");
            Value::Object(
                (0..n)
                    .map(|i| (key.replace("{i}", &i.to_string()), spec[2].clone()))
                    .collect(),
            )
        }
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), expand(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(expand).collect()),
        other => other.clone(),
    }
}

fn set_pointer(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    match doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"))
    {
        Value::Object(object) => {
            object.insert(name.to_owned(), value);
        }
        Value::Array(items) => items[name.parse::<usize>().unwrap()] = value,
        _ => panic!("{pointer} is not inside an object or array"),
    }
}

/// The body bytes of a payload case.
fn payload_bytes(file: &Value, case: &Value) -> Vec<u8> {
    if let Some(text) = case.get("text") {
        return str_of(text, "text").as_bytes().to_vec();
    }
    if let Some(hex) = case.get("hex") {
        let hex = str_of(hex, "hex");
        return (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
    }
    let doc = match case.get("payload") {
        Some(p) if p.get("$wrap").is_some() => Value::Array(vec![file["base"].clone()]),
        Some(p) => p.clone(),
        None => {
            let mut doc = file["base"].clone();
            if let Some(set) = case.get("set").and_then(Value::as_object) {
                for (pointer, value) in set {
                    set_pointer(&mut doc, pointer, expand(value));
                }
            }
            for pointer in case
                .get("remove")
                .and_then(Value::as_array)
                .unwrap_or(&Vec::new())
            {
                let (parent, name) = str_of(pointer, "remove").rsplit_once('/').unwrap();
                let removed = doc
                    .pointer_mut(parent)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove(name);
                assert!(removed.is_some(), "nothing at {pointer}");
            }
            doc
        }
    };
    doc.to_string().into_bytes()
}

/// What the JS `validatePayload` does: parse, then tenant and scope when a policy is given.
fn validate_payload(
    bytes: &[u8],
    policy: Option<&TenantPolicy>,
) -> Result<syncgate::payload::SyncPayload, Rejection> {
    let parsed = syncgate::payload::SyncPayload::parse(bytes)?;
    if let Some(policy) = policy {
        if parsed.tenant() != policy.tenant {
            return Err(Rejection::TenantMismatch);
        }
        syncgate::check_scope(&parsed, policy)?;
    }
    Ok(parsed)
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn payload_cases() {
    let file: Value = serde_json::from_str(PAYLOADS).unwrap();
    let mut ran = 0;
    for case in cases(&file) {
        let name = str_of(&case["name"], "name");
        let bytes = payload_bytes(&file, case);
        let policy = case.get("policy").map(|p| {
            TenantPolicy::from_json(&merged_policy(&file["policy"], p).to_string()).unwrap()
        });
        let expect = &case["expect"];
        match validate_payload(&bytes, policy.as_ref()) {
            Ok(payload) => {
                assert_eq!(expect["ok"], Value::Bool(true), "{name}: accepted");
                let out = serde_json::to_value(&payload).unwrap();
                for (k, want) in expect.as_object().unwrap() {
                    match k.as_str() {
                        "ok" => {}
                        "payloadType" => {
                            assert_eq!(payload.payload_type().as_str(), want, "{name}")
                        }
                        "payloadVersion" => {
                            assert_eq!(Value::from(payload.version()), *want, "{name}")
                        }
                        "sections" => {
                            let sections: Vec<&str> =
                                payload.sections().iter().map(|s| s.as_str()).collect();
                            assert_eq!(Value::from(sections), *want, "{name}");
                        }
                        "at" => {
                            for (pointer, value) in want.as_object().unwrap() {
                                let got = out.pointer(pointer).unwrap_or(&Value::Null);
                                assert_eq!(got, value, "{name}: {pointer}");
                            }
                        }
                        other => panic!("{name}: unknown expectation {other}"),
                    }
                }
            }
            Err(err) => {
                assert!(expect.get("ok").is_none(), "{name}: refused with {err}");
                check_rejection(name, &file, expect, &err);
                if let Some(text) = expect.get("messageExcludes") {
                    let text = str_of(text, "messageExcludes");
                    assert!(!err.problem("").detail.contains(text), "{name}: {err}");
                }
            }
        }
        ran += 1;
    }
    println!("payloads.json: {ran} cases");
}

/// Every payload case through `admit` and `admit_without_payload` (the verdict the
/// edge and the npm package's node:crypto path build, which checks permissions without keeping
/// them): the same answer, field for field, or the same rejection.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn payload_cases_agree_without_the_payload() {
    let file: Value = serde_json::from_str(PAYLOADS).unwrap();
    let key = serde_json::json!([{
        "kid": "k1", "version": 1, "status": "active",
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }]);
    let (mut accepted, mut refused) = (0, 0);
    for case in cases(&file) {
        let name = str_of(&case["name"], "name");
        let bytes = payload_bytes(&file, case);
        let mut policy = merged_policy(&file["policy"], case.get("policy").unwrap_or(&Value::Null));
        policy["keys"] = key.clone();
        let policy = TenantPolicy::from_json(&policy.to_string()).unwrap();
        let authenticated = syncgate::Authenticated {
            scheme: Scheme::StandardWebhooks,
            key: &policy.keys.0[0],
            nonce: "msg_case".into(),
            timestamp: 1_800_000_000,
            body_sha256: RustCrypto.sha256(&bytes),
        };
        let request = HttpRequest::new(
            "POST",
            "https://edge.example/v1/acme-eu1/sync",
            Headers::new(),
            bytes,
        )
        .unwrap();
        let kept = syncgate::admit(&request, &policy, &authenticated, &RustCrypto);
        let checked =
            syncgate::admit_without_payload(&request, &policy, &authenticated, &RustCrypto);
        match (kept, checked) {
            (Ok(kept), Ok(checked)) => {
                // Field for field: the two verdicts' JSON, the payload left out of both.
                let fields = |verdict: Value| {
                    let mut verdict = verdict;
                    verdict.as_object_mut().unwrap().remove("payload");
                    verdict
                };
                let kept = fields(serde_json::to_value(&kept).unwrap());
                let checked = fields(serde_json::to_value(&checked).unwrap());
                assert_eq!(kept, checked, "{name}");
                accepted += 1;
            }
            (Err(kept), Err(checked)) => {
                assert_eq!(kept, checked, "{name}");
                refused += 1;
            }
            (kept, checked) => panic!("{name}: {kept:?} against {checked:?}"),
        }
    }
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

const MODULES: &str = include_str!("cases/modules.json");

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn module_cases() {
    let file: Value = serde_json::from_str(MODULES).unwrap();
    let mut ran = 0;
    for case in cases(&file) {
        let name = str_of(&case["name"], "name");
        let features = syncgate::payload::Features::from_value(&case["features"]).unwrap();
        let blocked: Vec<String> = case["blocked"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| str_of(g, "group").to_owned())
            .collect();
        let state = syncgate::recompute_modules(&features, &blocked);
        let out = serde_json::to_value(&state).unwrap();
        let modules = out["modules"].as_array().unwrap();
        let module = |key: &str| {
            modules
                .iter()
                .find(|m| m["key"] == key)
                .unwrap_or_else(|| panic!("{name}: no module {key}"))
        };
        for (k, want) in case["expect"].as_object().unwrap() {
            match k.as_str() {
                "reasons" => {
                    for (key, reason) in want.as_object().unwrap() {
                        let m = module(key);
                        assert_eq!(&m["reason"], reason, "{name}: {key}");
                        let enables =
                            ["plan_default", "override_on"].contains(&str_of(reason, "reason"));
                        assert_eq!(m["enabled"], Value::Bool(enables), "{name}: {key}");
                    }
                }
                "modulePermissions" => {
                    for (key, permissions) in want.as_object().unwrap() {
                        assert_eq!(&module(key)["permissions"], permissions, "{name}: {key}");
                    }
                }
                "permissions" => assert_eq!(&out["permissions"], want, "{name}"),
                "order" => {
                    let keys: Vec<Value> = modules.iter().map(|m| m["key"].clone()).collect();
                    assert_eq!(&Value::Array(keys), want, "{name}");
                }
                "state" => assert_eq!(&out, want, "{name}"),
                other => panic!("{name}: unknown expectation {other}"),
            }
        }
        ran += 1;
    }
    println!("modules.json: {ran} cases");
}

const CUSTOMERS: &str = include_str!("cases/customers.json");

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn customer_cases() {
    let file: Value = serde_json::from_str(CUSTOMERS).unwrap();
    let mut ran = 0;
    for case in cases(&file) {
        let name = str_of(&case["name"], "name");
        let body: Vec<u8> = if let Some(text) = case.get("text") {
            str_of(text, "text").as_bytes().to_vec()
        } else if let Some(body) = case.get("body") {
            expand(body).to_string().into_bytes()
        } else {
            let mut doc = file["base"].clone();
            if let Some(set) = case.get("set").and_then(Value::as_object) {
                for (member, value) in set {
                    doc[member.as_str()] = expand(value);
                }
            }
            for member in case
                .get("remove")
                .and_then(Value::as_array)
                .unwrap_or(&Vec::new())
            {
                let removed = doc
                    .as_object_mut()
                    .unwrap()
                    .remove(str_of(member, "remove"));
                assert!(removed.is_some(), "{name}: nothing to remove");
            }
            doc.to_string().into_bytes()
        };
        let result = match str_of(&case["op"], "op") {
            "create" => syncgate::customer::validate_create(&body).map(drop),
            "patch" => syncgate::customer::validate_patch(&body).map(drop),
            other => panic!("{name}: unknown op {other}"),
        };
        let expect = &case["expect"];
        match result {
            Ok(()) => assert_eq!(expect["ok"], Value::Bool(true), "{name}: accepted"),
            Err(err) => {
                assert!(expect.get("ok").is_none(), "{name}: refused with {err}");
                check_rejection(name, &file, expect, &err);
            }
        }
        ran += 1;
    }
    println!("customers.json: {ran} cases");
}

/// The case files spell the core's limits out (121 title characters, 257 modules, …); they must
/// be the limits the core has, so a changed constant sends the author back to the cases.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn case_files_use_the_core_s_limits() {
    use syncgate::{customer as c, payload as p};
    let payloads: Value = serde_json::from_str(PAYLOADS).unwrap();
    let customers: Value = serde_json::from_str(CUSTOMERS).unwrap();
    let limit = |file: &Value, name: &str| file["limits"][name].as_u64().unwrap();
    assert_eq!(
        limit(&payloads, "MAX_TITLE_CHARS"),
        p::MAX_TITLE_CHARS as u64
    );
    assert_eq!(limit(&payloads, "MAX_URL_CHARS"), p::MAX_URL_CHARS as u64);
    assert_eq!(
        limit(&payloads, "MAX_FOOTER_LINKS"),
        p::MAX_FOOTER_LINKS as u64
    );
    assert_eq!(limit(&payloads, "MAX_MODULES"), p::MAX_MODULES as u64);
    assert_eq!(limit(&payloads, "MAX_VERSION"), p::MAX_VERSION);
    assert_eq!(
        limit(&customers, "MAX_PERSON_NAME_CHARS"),
        c::MAX_PERSON_NAME_CHARS as u64
    );
    assert_eq!(limit(&customers, "MAX_TAGS"), c::MAX_TAGS as u64);
    assert_eq!(
        limit(&customers, "MAX_CUSTOM_KEYS"),
        c::MAX_CUSTOM_KEYS as u64
    );
    assert_eq!(
        limit(&customers, "MAX_CUSTOM_TEXT_CHARS"),
        c::MAX_CUSTOM_TEXT_CHARS as u64
    );
}

const PROVIDERS: &str = include_str!("cases/providers.json");

/// Provider webhook cases (`tests/cases/providers.json`, written by
/// `scripts/provider-cases.mjs` with the providers' own libraries and published examples).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn provider_cases() {
    use syncgate::providers::{Provider, ProviderSecret, verify_hook};
    let file: Value = serde_json::from_str(PROVIDERS).unwrap();
    let mut keys: Map<String, Value> = Map::new();
    let mut ran = 0;
    for case in cases(&file) {
        let name = str_of(&case["name"], "name");
        let provider = Provider::parse(str_of(&case["provider"], "provider")).unwrap();
        let secret = ProviderSecret::new(str_of(&case["secret"], "secret")).unwrap();
        let headers: Headers = case["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), str_of(v, "header")))
            .collect();
        let request = HttpRequest::new(
            "POST",
            str_of(&case["url"], "url"),
            headers,
            str_of(&case["body"], "body").as_bytes(),
        )
        .unwrap();
        let now = case["now"].as_i64().unwrap();
        let expect = &case["expect"];
        let answer = verify_hook(provider, &request, &secret, now, &RustCrypto);
        assert_eq!(
            answer.is_ok(),
            expect["ok"].as_bool().unwrap(),
            "{name}: {answer:?}"
        );
        match answer {
            Err(rejection) => {
                assert_eq!(rejection.code(), str_of(&expect["code"], "code"), "{name}");
                assert!(
                    !rejection
                        .to_string()
                        .contains(str_of(&case["secret"], "secret")),
                    "{name}"
                );
            }
            Ok(verdict) => {
                let json = serde_json::to_value(&verdict).unwrap();
                for member in ["timestamp", "deliveryId", "deliveryIdSigned", "eventType"] {
                    if let Some(expected) = expect.get(member) {
                        assert_eq!(&json[member], expected, "{name}: {member}");
                    }
                }
                assert_eq!(verdict.provider, provider, "{name}");
                if let Some(twin) = expect.get("sameDeliveryKeyAs") {
                    assert_eq!(
                        keys.get(str_of(twin, "sameDeliveryKeyAs")),
                        Some(&json["deliveryKey"]),
                        "{name}"
                    );
                }
                keys.insert(name.to_string(), json["deliveryKey"].clone());
            }
        }
        ran += 1;
    }
    println!("providers.json: {ran} cases");
}
