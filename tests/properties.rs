//! Property tests (proptest): sign→verify round trips for both schemes over random payloads,
//! keys, nonces and timestamps; every one-bit change of a signed part refused with the right
//! code while changes to unsigned parts still pass; and the parsers total and linear on
//! adversarial input. Case counts are set per block below (`ProptestConfig::cases`).

// Native only: proptest is a native dev-dependency, and the timing check needs a real clock.
#![cfg(not(target_arch = "wasm32"))]
// Test helpers unwrap freely: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{Value, json};
use syncgate::customer::{validate_create, validate_patch};
use syncgate::payload::{Features, SyncPayload};
use syncgate::rfc9421::{self, SignatureInput, check_content_digest};
use syncgate::webhooks::{self, WebhookHeaders};
use syncgate::{
    Headers, HttpRequest, Primitives, Rejection, RustCrypto, Scheme, SigningOptions, SkewWindow,
    TenantPolicy, Verdict, sign_request, verify_request,
};

/// Round trips: cases per scheme.
const ROUND_TRIP_CASES: u32 = 256;
/// One-bit changes: cases per scheme.
const TAMPER_CASES: u32 = 512;
/// Random adversarial strings into every parser.
const TOTALITY_CASES: u32 = 256;

// ---------------------------------------------------------------------------------------------
// Generators

/// A valid sync payload for `tenant`: a combined payload of a features section with random
/// modules (acyclic requirements, a known plan, overrides) and a branding section with a random
/// title.
fn payload(tenant: String) -> impl Strategy<Value = Vec<u8>> {
    let modules = proptest::collection::btree_set("[a-z]{1,8}(\\.[a-z]{1,8})?", 1..8);
    (
        modules,
        any::<u64>(),
        1u64..=9_007_199_254_740_991,
        "\\PC{1,40}",
        any::<bool>(),
    )
        .prop_map(move |(keys, seed, version, title, with_smtp)| {
            let keys: Vec<String> = keys.into_iter().collect();
            let groups = ["crm", "sales", "marketing", "support", "billing", "reports"];
            let modules: Vec<Value> = keys
                .iter()
                .enumerate()
                .map(|(i, key)| {
                    // Requirements only on earlier modules: never a cycle.
                    let requires: Vec<&String> = keys[..i]
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| (seed >> ((i * 7 + j) % 64)) & 1 == 1)
                        .map(|(_, k)| k)
                        .collect();
                    json!({
                        "key": key,
                        "group": groups[(seed as usize + i) % groups.len()],
                        "requires": requires,
                        "permissions": [format!("{key}:read")],
                    })
                })
                .collect();
            let defaults: Vec<&String> = keys.iter().step_by(2).collect();
            let mut body = json!({
                "type": "combined",
                "tenant": tenant,
                "version": version,
                "features": {
                    "plan": "pro",
                    "modules": modules,
                    "planDefaults": {"pro": defaults, "free": []},
                    "overrides": {keys[keys.len() - 1].clone(): seed % 2 == 0},
                },
                "branding": {"title": title, "primaryColor": "#1f6feb"},
            });
            if with_smtp {
                body["smtp"] = json!({"host": "smtp.example.com", "port": 587,
                    "encryption": "starttls", "fromEmail": "no-reply@example.com"});
            }
            serde_json::to_vec(&body).unwrap()
        })
}

/// One signing case: a tenant policy with 1 to 3 keys, the key that signs, the request, the
/// signing options and the verifier's clock.
#[derive(Debug, Clone)]
struct Case {
    policy: TenantPolicy,
    kid: String,
    secret: Vec<u8>,
    request: HttpRequest,
    options: SigningOptions,
    now: i64,
}

/// Components an RFC 9421 signer may cover beyond the required three.
const EXTRA_COMPONENTS: [&str; 7] = [
    "content-type",
    "x-covered",
    "@authority",
    "@scheme",
    "@target-uri",
    "@query",
    "@request-target",
];

prop_compose! {
    fn case(scheme: Scheme, nonce_pattern: &'static str)(
        tenant in "[a-z0-9][a-z0-9-]{1,20}",
        secrets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 16..=64), 1..=3),
        signer_status in prop_oneof![Just("active"), Just("retiring")],
        other_status in prop_oneof![Just("active"), Just("retiring"), Just("revoked")],
        skew in 1u64..=86_400,
        now in 1_000_000_000i64..4_000_000_000,
        offset_permille in -1000i64..=1000,
        host in "[a-z][a-z0-9]{0,10}\\.example",
        query in proptest::option::of("[a-z]{1,5}=[a-z0-9]{1,5}"),
        covered in "[!-~]{1,40}",
        unsigned in "[!-~]{1,40}",
        nonce in nonce_pattern,
        extra in subsequence(EXTRA_COMPONENTS.to_vec(), 0..=EXTRA_COMPONENTS.len()),
    )(
        body in payload(tenant.clone()),
        tenant in Just(tenant), secrets in Just(secrets), signer_status in Just(signer_status),
        other_status in Just(other_status), skew in Just(skew), now in Just(now),
        offset_permille in Just(offset_permille), host in Just(host), query in Just(query),
        covered in Just(covered), unsigned in Just(unsigned), nonce in Just(nonce),
        extra in Just(extra),
    ) -> Case {
        let keys: Vec<String> = secrets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let status = if i == 0 { signer_status } else { other_status };
                format!(
                    r#"{{"kid":"key-{i}","version":{},"status":"{status}","secret":"whsec_{}"}}"#,
                    i + 1,
                    STANDARD.encode(s)
                )
            })
            .collect();
        let policy = TenantPolicy::from_json(&format!(
            r#"{{"instance":"acme-eu1","tenant":"{tenant}","skewSeconds":{skew},"keys":[{}]}}"#,
            keys.join(",")
        ))
        .unwrap();
        let url = match &query {
            Some(q) => format!("https://{host}/v1/acme-eu1/sync?{q}"),
            None => format!("https://{host}/v1/acme-eu1/sync"),
        };
        let headers: Headers = [
            ("content-type", "application/json"),
            ("x-covered", covered.as_str()),
            ("x-unsigned", unsigned.as_str()),
        ]
        .into_iter()
        .collect();
        let request = HttpRequest::new("POST", &url, headers, body).unwrap();
        let created = now + offset_permille * i64::try_from(skew).unwrap() / 1000;
        let mut options = SigningOptions::new(scheme, created, nonce);
        options.extra_components = extra.into_iter().map(String::from).collect();
        Case { policy, kid: "key-0".into(), secret: secrets[0].clone(), request, options, now }
    }
}

fn signed(case: &Case) -> HttpRequest {
    let mut request = case.request.clone();
    for (name, value) in
        sign_request(&case.request, &case.kid, &case.secret, &case.options).unwrap()
    {
        request.headers.append(&name, &value);
    }
    request
}

/// Replaces one header's value (or adds the header).
fn with_header(request: &HttpRequest, name: &str, value: &str) -> HttpRequest {
    let mut out = request.clone();
    let mut headers: Headers = request.headers.iter().filter(|(n, _)| *n != name).collect();
    headers.append(name, value);
    out.headers = headers;
    out
}

/// Flips one bit of `byte`, starting at `bit` and moving on until the result is `allowed`
/// (`None` when no single bit gives an allowed byte).
fn flip(byte: u8, bit: u8, allowed: impl Fn(u8) -> bool) -> Option<u8> {
    (0..8)
        .map(|i| byte ^ (1 << ((bit + i) % 8)))
        .find(|b| allowed(*b))
}

/// Flips one bit of the character at `index % len` of an ASCII string so it stays `allowed`.
fn flip_char(text: &str, index: usize, bit: u8, allowed: impl Fn(u8) -> bool) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    let at = index % bytes.len();
    bytes[at] = flip(bytes[at], bit, allowed)?;
    String::from_utf8(bytes).ok()
}

fn assert_same_verdict(a: &Verdict, b: &Verdict) {
    assert_eq!(
        (&a.key_id, &a.nonce, a.timestamp, &a.payload_hash),
        (&b.key_id, &b.nonce, b.timestamp, &b.payload_hash)
    );
}

// ---------------------------------------------------------------------------------------------
// Round trips

proptest! {
    #![proptest_config(ProptestConfig { cases: ROUND_TRIP_CASES, ..ProptestConfig::default() })]

    /// RFC 9421: random payload, keys (the signer active or retiring), nonce of any printable
    /// ASCII, timestamp anywhere in the window, any set of extra covered components.
    #[test]
    fn rfc9421_sign_then_verify(case in case(Scheme::Rfc9421, "[ -~]{1,128}")) {
        let request = signed(&case);
        let verdict = verify_request(&request, &case.policy, case.now).unwrap();
        prop_assert_eq!(verdict.scheme, Scheme::Rfc9421);
        prop_assert_eq!(&verdict.key_id, &case.kid);
        prop_assert_eq!(&verdict.nonce, &case.options.nonce);
        prop_assert_eq!(verdict.timestamp, case.options.now);
        prop_assert_eq!(verdict.payload.tenant(), case.policy.tenant.as_str());
    }

    /// Standard Webhooks: the same, with a webhook-id of visible ASCII.
    #[test]
    fn standard_webhooks_sign_then_verify(
        case in case(Scheme::StandardWebhooks, "[!-~]{1,128}"),
    ) {
        let request = signed(&case);
        let verdict = verify_request(&request, &case.policy, case.now).unwrap();
        prop_assert_eq!(verdict.scheme, Scheme::StandardWebhooks);
        prop_assert_eq!(&verdict.key_id, &case.kid);
        prop_assert_eq!(&verdict.nonce, &case.options.nonce);
        prop_assert_eq!(verdict.timestamp, case.options.now);
    }
}

// ---------------------------------------------------------------------------------------------
// One-bit changes

/// Which part of a signed request one bit is flipped in.
#[derive(Debug, Clone, Copy)]
enum Part {
    Body,
    CoveredHeader,
    UnsignedHeader,
    Method,
    Path,
    SignatureBytes,
    Timestamp,
    Nonce,
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        Just(Part::Body),
        Just(Part::CoveredHeader),
        Just(Part::UnsignedHeader),
        Just(Part::Method),
        Just(Part::Path),
        Just(Part::SignatureBytes),
        Just(Part::Timestamp),
        Just(Part::Nonce),
    ]
}

fn window_code(timestamp: i64, case: &Case) -> Option<&'static str> {
    SkewWindow::new(case.policy.skew_seconds)
        .check(timestamp, case.now)
        .err()
        .map(|e| e.code())
}

/// Flips one bit of `part` in the signed request; returns the changed request and the code it
/// must be refused with (`None`: the part is not signed and the request must still pass).
fn tamper(
    case: &Case,
    part: Part,
    index: usize,
    bit: u8,
) -> Option<(HttpRequest, Option<&'static str>)> {
    let original = signed(case);
    let rfc = case.options.scheme == Scheme::Rfc9421;
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let graphic = |b: u8| b.is_ascii_graphic();
    let mut request = original.clone();
    let expected = match part {
        Part::Body => {
            let at = index % request.body.len();
            request.body[at] ^= 1 << (bit % 8);
            Some(if rfc {
                "digest_mismatch"
            } else {
                "invalid_signature"
            })
        }
        Part::CoveredHeader | Part::UnsignedHeader => {
            let name = if matches!(part, Part::CoveredHeader) {
                "x-covered"
            } else {
                "x-unsigned"
            };
            let value = flip_char(original.headers.get(name)?, index, bit, graphic)?;
            request = with_header(&original, name, &value);
            let covered = rfc && case.options.extra_components.iter().any(|c| c == name);
            covered.then_some("invalid_signature")
        }
        Part::Method => {
            request.method = flip_char(&original.method, index, bit, |b| b.is_ascii_uppercase())?;
            rfc.then_some("invalid_signature")
        }
        Part::Path => {
            let path = original.uri.path();
            // Flip inside "/v1/acme-eu1/sync", letters and digits only.
            let positions: Vec<usize> = path
                .bytes()
                .enumerate()
                .filter(|(_, b)| alnum(*b))
                .map(|(i, _)| i)
                .collect();
            let at = positions[index % positions.len()];
            let mut bytes = path.as_bytes().to_vec();
            bytes[at] = flip(bytes[at], bit, alnum)?;
            let new_path = String::from_utf8(bytes).ok()?;
            let url = original.uri.target_uri().replacen(path, &new_path, 1);
            request = HttpRequest::new(
                &original.method,
                &url,
                original.headers.clone(),
                original.body.clone(),
            )
            .ok()?;
            // Covered by @path always, so refused under RFC 9421.
            rfc.then_some("invalid_signature")
        }
        Part::SignatureBytes => {
            let (name, prefix, suffix) = if rfc {
                ("signature", "sig1=:", ":")
            } else {
                ("webhook-signature", "v1,", "")
            };
            let value = original.headers.get(name)?;
            let b64 = value.strip_prefix(prefix)?.strip_suffix(suffix)?;
            let mut tag = STANDARD.decode(b64).ok()?;
            let at = index % tag.len();
            tag[at] ^= 1 << (bit % 8);
            request = with_header(
                &original,
                name,
                &format!("{prefix}{}{suffix}", STANDARD.encode(&tag)),
            );
            Some("invalid_signature")
        }
        Part::Timestamp => {
            let old = case.options.now;
            let new = old ^ (1 << (index % 24));
            if rfc {
                let input = original.headers.get("signature-input")?;
                let changed =
                    input.replacen(&format!(";created={old}"), &format!(";created={new}"), 1);
                request = with_header(&original, "signature-input", &changed);
            } else {
                request = with_header(&original, "webhook-timestamp", &new.to_string());
            }
            Some(window_code(new, case).unwrap_or("invalid_signature"))
        }
        Part::Nonce => {
            let old = &case.options.nonce;
            let new = flip_char(old, index, bit, alnum)?;
            if rfc {
                let input = original.headers.get("signature-input")?;
                let changed = input.replacen(
                    &format!(";nonce=\"{old}\""),
                    &format!(";nonce=\"{new}\""),
                    1,
                );
                request = with_header(&original, "signature-input", &changed);
            } else {
                request = with_header(&original, "webhook-id", &new);
            }
            Some("invalid_signature")
        }
    };
    (request != original).then_some((request, expected))
}

fn check_tamper(case: &Case, part: Part, index: usize, bit: u8) -> Result<(), TestCaseError> {
    let original = verify_request(&signed(case), &case.policy, case.now).unwrap();
    let Some((request, expected)) = tamper(case, part, index, bit) else {
        return Err(TestCaseError::reject(
            "no single-bit change keeps this part well-formed",
        ));
    };
    match (verify_request(&request, &case.policy, case.now), expected) {
        (Err(e), Some(code)) => prop_assert_eq!(e.code(), code, "{:?}: {}", part, e),
        (Ok(verdict), None) => assert_same_verdict(&verdict, &original),
        (Ok(_), Some(code)) => {
            prop_assert!(false, "{:?} changed and accepted (expected {})", part, code)
        }
        (Err(e), None) => prop_assert!(
            false,
            "{:?} is not signed but the request was refused: {}",
            part,
            e
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: TAMPER_CASES, ..ProptestConfig::default() })]

    /// RFC 9421: a body bit → `digest_mismatch`; a covered header, the method, the path, the
    /// tag, the nonce → `invalid_signature`; `created` → `invalid_signature` inside the window,
    /// `stale_timestamp`/`future_timestamp` outside; an uncovered header → still accepted.
    #[test]
    fn rfc9421_one_bit_changes(
        case in case(Scheme::Rfc9421, "[A-Za-z0-9]{1,64}"),
        part in part(),
        index in any::<usize>(),
        bit in 0u8..8,
    ) {
        check_tamper(&case, part, index, bit)?;
    }

    /// Standard Webhooks: a body bit, the tag, the webhook-id → `invalid_signature`; the
    /// timestamp → `invalid_signature` or a window code; headers, method and path (not covered
    /// by the scheme) → still accepted.
    #[test]
    fn standard_webhooks_one_bit_changes(
        case in case(Scheme::StandardWebhooks, "[A-Za-z0-9]{1,64}"),
        part in part(),
        index in any::<usize>(),
        bit in 0u8..8,
    ) {
        check_tamper(&case, part, index, bit)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Parsers: total and linear

const NOW: i64 = 1_790_000_000;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn fixed_policy() -> TenantPolicy {
    TenantPolicy::from_json(&format!(
        r#"{{"instance":"acme-eu1","tenant":"acme","keys":[{{"kid":"k1","version":1,"status":"active","secret":"{SECRET}"}}]}}"#
    ))
    .unwrap()
}

/// A validly signed RFC 9421 request whose `Signature` the parsers below replace.
fn rfc9421_request() -> HttpRequest {
    let headers: Headers = [("content-type", "application/json")].into_iter().collect();
    let request = HttpRequest::new(
        "POST",
        "https://edge.example/v1/acme-eu1/sync",
        headers,
        br#"{"hello": "world"}"#.to_vec(),
    )
    .unwrap();
    let secret = syncgate::Secret::from_whsec(SECRET).unwrap();
    let options = SigningOptions::new(Scheme::Rfc9421, NOW, "n-1");
    let mut out = request.clone();
    for (n, v) in sign_request(&request, "k1", secret.expose_bytes(), &options).unwrap() {
        out.headers.append(&n, &v);
    }
    out
}

type Parser = Box<dyn Fn(&[u8])>;

/// Every parser of untrusted input, each taking the adversarial bytes; results are ignored (any
/// `Rejection` will do), a panic fails the test.
fn parsers() -> Vec<(&'static str, Parser)> {
    let request = rfc9421_request();
    let policy = fixed_policy();
    let body_sha256 = RustCrypto.sha256(&request.body);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    vec![
        parser("signature-input", move |b| {
            if let Ok(entries) = SignatureInput::parse_all(&text(b)) {
                for e in entries {
                    let _ = black_box(e.params());
                }
            }
        }),
        parser("signature", move |b| {
            let r = with_header(&request, "signature", &text(b));
            let window = SkewWindow::new(300);
            let _ = black_box(rfc9421::verify(
                &r,
                &body_sha256,
                &policy.keys,
                window,
                NOW,
                &RustCrypto,
            ));
        }),
        parser("content-digest", move |b| {
            let _ = black_box(check_content_digest(&text(b), &body_sha256));
        }),
        parser("webhook headers", {
            let policy = fixed_policy();
            move |b| {
                let t = text(b);
                let now = NOW.to_string();
                for (id, timestamp, signature) in [
                    ("msg_1", now.as_str(), t.as_str()),
                    (t.as_str(), now.as_str(), "v1,AAAA"),
                    ("msg_1", t.as_str(), "v1,AAAA"),
                ] {
                    let headers = WebhookHeaders {
                        id,
                        timestamp,
                        signature,
                    };
                    let window = SkewWindow::new(300);
                    let _ = black_box(webhooks::verify(
                        headers,
                        b"{}",
                        &policy.keys,
                        window,
                        NOW,
                        &RustCrypto,
                    ));
                }
            }
        }),
        parser("sync payload", |b| {
            let _ = black_box(SyncPayload::parse(b));
        }),
        parser("features", |b| {
            let _ = black_box(Features::parse(b));
        }),
        parser("customer create", |b| {
            let _ = black_box(validate_create(b));
        }),
        parser("customer patch", |b| {
            let _ = black_box(validate_patch(b));
        }),
        parser("tenant policy", move |b| {
            let _ = black_box(TenantPolicy::from_json(&text(b)));
        }),
    ]
}

fn parser(name: &'static str, parse: impl Fn(&[u8]) + 'static) -> (&'static str, Parser) {
    (name, Box::new(parse))
}

const ADVERSARIAL: &str = "([{,\"\\";

proptest! {
    #![proptest_config(ProptestConfig { cases: TOTALITY_CASES, ..ProptestConfig::default() })]

    /// Random strings over the structural characters (and a few others) never make a parser
    /// panic.
    #[test]
    fn parsers_are_total(input in adversarial_text()) {
        for (_, parse) in parsers() {
            parse(input.as_bytes());
        }
    }
}

/// Strings of up to 2048 characters, mostly structural ones, some of any Unicode scalar value.
fn adversarial_text() -> impl Strategy<Value = String> {
    let structural: Vec<char> = "([{,\"\\)]}:;=a1 ".chars().collect();
    proptest::collection::vec(
        prop_oneof![8 => proptest::sample::select(structural), 1 => any::<char>()],
        0..2048,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Makes an input of (about) the given length.
type Pattern = Box<dyn Fn(usize) -> Vec<u8>>;

/// The adversarial input patterns, each as a function of the length.
fn patterns() -> Vec<(&'static str, Pattern)> {
    let repeat = |unit: &'static str| move |n: usize| unit.repeat(n / unit.len()).into_bytes();
    let framed = |head: &'static str, unit: &'static str, tail: &'static str| {
        move |n: usize| format!("{head}{}{tail}", unit.repeat(n / unit.len())).into_bytes()
    };
    let mut out: Vec<(&'static str, Pattern)> = Vec::new();
    for (name, unit) in [
        ("(", "("),
        ("[", "["),
        ("{", "{"),
        (",", ","),
        ("\"", "\""),
        ("\\", "\\"),
    ] {
        out.push((name, Box::new(repeat(unit))));
    }
    out.push(("mixture", Box::new(repeat(ADVERSARIAL))));
    out.push(("quote-backslash", Box::new(repeat("\"\\"))));
    out.push(("open-close", Box::new(repeat("[{(\")}]"))));
    // Inputs that parse a long way before they are refused.
    out.push((
        "json string of escapes",
        Box::new(framed("{\"title\":\"", "\\\\\\\"", "\"}")),
    ));
    out.push((
        "json array",
        Box::new(framed("{\"tags\":[", "\"a\",", "\"a\"]}")),
    ));
    out.push((
        "sf string",
        Box::new(framed("sig1=(\"", "a\\\"", "\");created=1")),
    ));
    out.push(("sf members", Box::new(repeat("a=:AAAA:, "))));
    out.push(("webhook entries", Box::new(repeat("v1,AAAA "))));
    out
}

/// The least of up to `runs` timings of `parse(input)`, stopping early once one is at most
/// `enough`: noise on a busy machine only ever adds time, so the least run is the best estimate,
/// and once a run is under the bound more runs cannot change the verdict.
fn best_of(runs: usize, parse: &dyn Fn(&[u8]), input: &[u8], enough: Duration) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        parse(input);
        best = best.min(start.elapsed());
        if best <= enough {
            break;
        }
    }
    best
}

/// The small input; the large one is 64 times larger.
const SMALL: usize = 16 * 1024;
const LARGE: usize = 1024 * 1024;
/// 64× the bytes may cost at most this many times the time: linear work costs 64×, quadratic
/// 4096×. The slack (16× over linear) absorbs the step in cost per byte when the input outgrows
/// the caches (measured here: about 5× between 64 KiB and 256 KiB in a debug build, for
/// serde_json alone as much as for the readers on top), while quadratic work still exceeds the
/// bound 4 times over.
const MAX_GROWTH: u32 = 1024;
/// The small input's time counts as at least this, so a parser that refuses at the first byte
/// (microseconds, all noise) passes unless the large input takes over half a second.
const FLOOR: Duration = Duration::from_micros(500);

/// Whether `parse` grows faster than linearly from `small` to `large`: the large input takes
/// more than [`MAX_GROWTH`] times the small one's time. The small time is the least of five runs,
/// the large one the least of up to `large_runs`, and a failing measurement is repeated once
/// before it counts. Returns the two times when it does.
fn superlinear(
    large_runs: usize,
    parse: &dyn Fn(&[u8]),
    small: &[u8],
    large: &[u8],
) -> Option<(Duration, Duration)> {
    let measure = || {
        let t_small = best_of(5, parse, small, Duration::ZERO).max(FLOOR);
        let bound = t_small * MAX_GROWTH;
        let t_large = best_of(large_runs, parse, large, bound);
        (t_large > bound).then_some((t_small, t_large))
    };
    measure().and_then(|_| measure())
}

/// 1 MiB of each pattern into every parser: no panic, and linear growth from 16 KiB.
#[test]
fn parsers_are_linear_on_adversarial_input() {
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, "", "");
    for (pattern, make) in patterns() {
        let (small, large) = (make(SMALL), make(LARGE));
        for (parser, parse) in parsers() {
            if let Some((t_small, t_large)) = superlinear(5, &parse, &small, &large) {
                failures.push(format!("{parser} on {pattern}: {t_small:?} -> {t_large:?}"));
            }
            let t_large = best_of(1, &parse, &large, Duration::ZERO);
            if t_large > slowest.0 {
                slowest = (t_large, parser, pattern);
            }
        }
    }
    println!(
        "slowest 1 MiB parse: {} on {}, {:?}",
        slowest.1, slowest.2, slowest.0
    );
    assert!(failures.is_empty(), "super-linear parsers: {failures:#?}");
}

/// Busy work for `time` (a spin, not a sleep: waking from a sleep on a busy machine can take
/// longer than the sleep itself).
fn spin(time: Duration) {
    let start = Instant::now();
    while start.elapsed() < time {
        std::hint::spin_loop();
    }
}

/// The linearity check can fail: work that grows with the square of the input (simulated,
/// 0.2 ms at 16 KiB, so 0.8 s at 1 MiB) is caught, and linear work of the same size is not.
#[test]
fn the_linearity_check_catches_quadratic_work() {
    let units = |b: &[u8]| (b.len() / SMALL) as u32;
    let quadratic = |b: &[u8]| spin(Duration::from_micros(200) * units(b).pow(2));
    let linear = |b: &[u8]| spin(Duration::from_micros(200) * units(b));
    let (small, large) = (vec![b'('; SMALL], vec![b'('; LARGE]);
    assert!(superlinear(1, &quadratic, &small, &large).is_some());
    assert!(superlinear(1, &linear, &small, &large).is_none());
}

/// Rejections from the adversarial inputs carry stable codes (no panic, no unknown code).
#[test]
fn adversarial_rejections_have_known_codes() {
    for (_, make) in patterns() {
        let input = make(4096);
        let text = String::from_utf8_lossy(&input);
        for result in [
            SyncPayload::parse(&input).map(|_| ()),
            validate_create(&input).map(|_| ()),
            validate_patch(&input).map(|_| ()),
            TenantPolicy::from_json(&text).map(|_| ()),
            SignatureInput::parse_all(&text).map(|_| ()),
        ] {
            if let Err(e) = result {
                let e: Rejection = e;
                assert!(
                    syncgate::error::ALL_CODES.contains(&e.code()),
                    "{}",
                    e.code()
                );
            }
        }
    }
}
