//! The built `syncgate` binary, run as a user runs it: arguments, files, stdin, exit statuses.
// Helpers outside `#[test]` functions unwrap too: a failure there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_syncgate");
const URL: &str = "https://edge.example/v1/acme-eu1/sync";
const KID: &str = "acme-2026-11";
const CREATED: i64 = 1_796_000_000;

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("syncgate-cli-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("SYNCGATE_SECRET")
        .env_remove("SYNCGATE_ADMIN_TOKEN")
        .env_remove("SYNCGATE_EDGE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn keygen() -> String {
    let out = run(&["keygen"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim_end().to_string()
}

fn policy(dir: &TempDir, secret: &str) -> PathBuf {
    let policy = json!({
        "instance": "acme-eu1", "tenant": "acme",
        "keys": [{ "kid": KID, "version": 2, "status": "active", "secret": secret }],
    });
    dir.file("policy.json", policy.to_string())
}

fn branding(version: u64) -> Vec<u8> {
    json!({ "type": "branding", "tenant": "acme", "version": version,
            "branding": { "title": "Acme \"Travel\" & Co's", "primaryColor": "#1f6feb" } })
    .to_string()
    .into_bytes()
}

/// `Name: value` lines into a map.
fn header_lines(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|line| {
            let (name, value) = line.split_once(": ").expect("a header line");
            (name.to_string(), value.to_string())
        })
        .collect()
}

/// Signs `body` (from a file, or from stdin) and returns the printed headers.
fn sign(
    dir: &TempDir,
    secret: &str,
    scheme: &str,
    body: &[u8],
    stdin: bool,
) -> BTreeMap<String, String> {
    let created = CREATED.to_string();
    let file = dir.file("body.json", body);
    let file = file.to_str().unwrap();
    let mut args = vec![
        "sign",
        "--url",
        URL,
        "--kid",
        KID,
        "--secret",
        secret,
        "--scheme",
        scheme,
        "--nonce",
        "n-0001",
        "--created",
        &created,
    ];
    args.push(if stdin { "-" } else { file });
    let out = run(&args, stdin.then_some(body));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty());
    header_lines(&stdout(&out))
}

/// A request document as `verify` reads it.
fn request_json(headers: &BTreeMap<String, String>, body: &[u8]) -> Vec<u8> {
    let mut all: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(n, v)| (n.clone(), Value::String(v.clone())))
        .collect();
    all.insert("content-type".into(), "application/json".into());
    json!({ "method": "POST", "url": URL, "headers": all, "bodyBase64": STANDARD.encode(body) })
        .to_string()
        .into_bytes()
}

fn verify(dir: &TempDir, policy: &Path, request: &[u8], stdin: bool, now: i64) -> (Output, Value) {
    let file = dir.file("request.json", request);
    let now = now.to_string();
    let mut args = vec![
        "verify",
        "--policy",
        policy.to_str().unwrap(),
        "--now",
        &now,
    ];
    args.push(if stdin { "-" } else { file.to_str().unwrap() });
    let out = run(&args, stdin.then_some(request));
    let verdict = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, verdict)
}

#[test]
fn sign_then_verify_round_trip_for_both_schemes_through_files_and_stdin() {
    let dir = TempDir::new();
    let secret = keygen();
    let policy = policy(&dir, &secret);
    let body = branding(7);
    for (scheme, names) in [
        (
            "rfc9421",
            ["Content-Digest", "Signature", "Signature-Input"],
        ),
        (
            "standard-webhooks",
            ["webhook-id", "webhook-signature", "webhook-timestamp"],
        ),
    ] {
        for stdin in [false, true] {
            let headers = sign(&dir, &secret, scheme, &body, stdin);
            assert_eq!(
                headers.keys().map(String::as_str).collect::<Vec<_>>(),
                names
            );
            let (out, verdict) = verify(
                &dir,
                &policy,
                &request_json(&headers, &body),
                stdin,
                CREATED + 5,
            );
            assert_eq!(out.status.code(), Some(0), "{verdict} {}", stderr(&out));
            assert_eq!(verdict["ok"], true);
            assert_eq!(verdict["tenant"], "acme");
            assert_eq!(verdict["scheme"], scheme);
            assert_eq!(verdict["keyId"], KID);
            assert_eq!(verdict["keyVersion"], 2);
            assert_eq!(verdict["keyStatus"], "active");
            assert_eq!(verdict["nonce"], "n-0001");
            assert_eq!(verdict["timestamp"], CREATED);
            assert_eq!(verdict["payloadType"], "branding");
            assert_eq!(verdict["payloadVersion"], 7);
            assert_eq!(verdict["payloadHash"].as_str().unwrap().len(), 64);
        }
    }
}

#[test]
fn a_raw_http_request_verifies_too() {
    let dir = TempDir::new();
    let secret = keygen();
    let policy = policy(&dir, &secret);
    let body = branding(8);
    let headers = sign(&dir, &secret, "rfc9421", &body, false);
    let mut raw = format!(
        "POST /v1/acme-eu1/sync HTTP/1.1\r\nHost: edge.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in &headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(&body);
    let (out, verdict) = verify(&dir, &policy, &raw, true, CREATED);
    assert_eq!(out.status.code(), Some(0), "{verdict} {}", stderr(&out));
    assert_eq!(verdict["payloadVersion"], 8);
}

#[test]
fn a_one_byte_change_of_the_body_is_refused() {
    let dir = TempDir::new();
    let secret = keygen();
    let policy = policy(&dir, &secret);
    let body = branding(9);
    let mut tampered = body.clone();
    let at = tampered.iter().position(|&b| b == b'9').unwrap();
    tampered[at] = b'8';
    for (scheme, code, status) in [
        ("rfc9421", "digest_mismatch", 400),
        ("standard-webhooks", "invalid_signature", 401),
    ] {
        let headers = sign(&dir, &secret, scheme, &body, false);
        let (out, verdict) = verify(
            &dir,
            &policy,
            &request_json(&headers, &tampered),
            false,
            CREATED,
        );
        assert_eq!(out.status.code(), Some(1), "{verdict}");
        assert_eq!(verdict["ok"], false);
        assert_eq!(verdict["code"], code);
        assert_eq!(verdict["status"], status);
        assert!(verdict["message"].is_string());
        // The untampered body still verifies with the same headers.
        let (out, _) = verify(
            &dir,
            &policy,
            &request_json(&headers, &body),
            false,
            CREATED,
        );
        assert_eq!(out.status.code(), Some(0));
    }
}

#[test]
fn verify_refuses_other_keys_and_stale_timestamps() {
    let dir = TempDir::new();
    let secret = keygen();
    let policy = policy(&dir, &secret);
    let body = branding(10);
    let headers = sign(&dir, &secret, "rfc9421", &body, false);
    let (out, verdict) = verify(
        &dir,
        &policy,
        &request_json(&headers, &body),
        false,
        CREATED + 301,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verdict["code"], "stale_timestamp");

    let other = sign(&dir, &keygen(), "rfc9421", &body, false);
    let (out, verdict) = verify(&dir, &policy, &request_json(&other, &body), false, CREATED);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verdict["code"], "invalid_signature");
}

#[test]
fn digest_matches_the_rfc9530_vectors() {
    let vectors: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/public.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let dir = TempDir::new();
    let mut seen = 0;
    for vector in vectors.iter().filter(|v| v["kind"] == "rfc9530") {
        let payload = vector["payload"].as_str().unwrap().as_bytes();
        let expected = format!("{}\n", vector["expected"].as_str().unwrap());
        let file = dir.file("payload", payload);
        for out in [
            run(&["digest", file.to_str().unwrap()], None),
            run(&["digest", "-"], Some(payload)),
        ] {
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(stdout(&out), expected);
        }
        seen += 1;
    }
    assert_eq!(seen, 2, "both RFC 9530 vectors ran");
}

#[test]
fn keygen_gives_32_random_bytes_each_time() {
    let first = keygen();
    let second = keygen();
    assert_ne!(first, second);
    for secret in [&first, &second] {
        let bytes = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(bytes.len(), 32);
    }
}

/// Asserts a usage failure: status 2, nothing on stdout, exactly one `error: ` line on stderr
/// that does not quote the secret.
fn assert_usage_error(args: &[&str], stdin: Option<&[u8]>, secret: &str) -> String {
    let out = run(args, stdin);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.starts_with("error: ") && err.ends_with('\n'),
        "{args:?}: {err}"
    );
    let secret_body = secret.strip_prefix("whsec_").unwrap();
    assert!(!err.contains(secret_body), "{args:?} echoed the secret");
    err
}

#[test]
fn bad_arguments_are_one_line_and_exit_2() {
    let dir = TempDir::new();
    let secret = keygen();
    let policy = policy(&dir, &secret);
    let policy = policy.to_str().unwrap();
    let body = dir.file("body.json", branding(1));
    let body = body.to_str().unwrap();
    let missing = dir.0.join("missing.json");
    let missing = missing.to_str().unwrap();
    let bad_json = dir.file("bad.json", "{\"method\": ");
    let bad_json = bad_json.to_str().unwrap();
    let truncated_secret = &secret[..20];
    for args in [
        &["frobnicate"][..],
        &[],
        &["sign", "--kid", KID, body],
        &[
            "sign", "--url", URL, "--kid", KID, "--secret", &secret, "--scheme", "jwt", body,
        ],
        &[
            "sign",
            "--url",
            URL,
            "--kid",
            KID,
            "--secret",
            truncated_secret,
            body,
        ],
        &[
            "sign",
            "--url",
            URL,
            "--kid",
            KID,
            "--secret",
            "whsec_!!!",
            body,
        ],
        &[
            "sign",
            "--url",
            "/relative",
            "--kid",
            KID,
            "--secret",
            &secret,
            body,
        ],
        &[
            "sign", "--url", URL, "--kid", KID, "--secret", &secret, missing,
        ],
        &[
            "sign", "--url", URL, "--kid", KID, "--secret", &secret, "--header", "no colon", body,
        ],
        &[
            "sign",
            "--url",
            URL,
            "--kid",
            KID,
            "--secret",
            &secret,
            "--created",
            "soon",
            body,
        ],
        &[
            "sign", "--url", URL, "--kid", KID, "--secret", &secret, body, &secret,
        ],
        &["verify", "--policy", missing, body],
        &["verify", "--policy", policy, bad_json],
        &["verify", "--policy", policy, body],
        &["verify", "--policy", body, bad_json],
        &["digest", missing],
        &["digest"],
        &["admin", "get-instance", "--instance", "acme-eu1"],
        &[
            "admin",
            "get-instance",
            "--token",
            "t",
            "--instance",
            "Not_Valid",
        ],
        &[
            "admin",
            "add-key",
            "--token",
            "t",
            "--instance",
            "acme-eu1",
            "--kid",
            "k",
            "--version",
            "1",
            "--secret",
            truncated_secret,
        ],
        &[
            "admin",
            "revoke-key",
            "--token",
            "t",
            "--instance",
            "acme-eu1",
            "--kid",
            "a/b",
        ],
        &[
            "admin",
            "get-instance",
            "--token",
            "t",
            "--instance",
            "acme-eu1",
            "--edge",
            "not a url",
        ],
    ] {
        assert_usage_error(args, None, &secret);
    }
    // A policy file whose secret is malformed is refused without quoting it.
    let broken = dir.file(
        "broken.json",
        json!({ "instance": "acme-eu1", "tenant": "acme",
                "keys": [{ "kid": KID, "version": 1, "status": "active", "secret": truncated_secret }] })
        .to_string(),
    );
    let err = assert_usage_error(
        &["verify", "--policy", broken.to_str().unwrap(), body],
        None,
        &secret,
    );
    assert!(!err.contains(truncated_secret), "{err}");
}

#[test]
fn help_and_version_exit_0() {
    for args in [
        &["--help"][..],
        &["sign", "--help"],
        &["admin", "--help"],
        &["--version"],
    ] {
        let out = run(args, None);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
}

/// Runs a printed curl command in `sh` with `curl` replaced by a function that writes its
/// arguments (NUL-separated) and then its standard input: what the real curl would be given.
fn run_curl_in_sh(command: &str, cwd: &Path) -> (Vec<String>, Vec<u8>) {
    let check = Command::new("sh")
        .args(["-n", "-c", command])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "sh -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let script = format!(
        "curl() {{ for a in \"$@\"; do printf '%s\\0' \"$a\"; done; printf 'STDIN\\0'; cat; }}\n{command}"
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let marker = b"STDIN\0";
    let at = out
        .stdout
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap();
    let args = out.stdout[..at]
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect();
    (args, out.stdout[at + marker.len()..].to_vec())
}

/// The `-H` headers of curl arguments.
fn curl_headers(args: &[String]) -> BTreeMap<String, String> {
    args.windows(2)
        .filter(|w| w[0] == "-H")
        .map(|w| {
            let (n, v) = w[1].split_once(": ").unwrap();
            (n.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn curl_commands_are_quoted_for_the_shell_and_verify() {
    let dir = TempDir::new();
    let secret = keygen();
    let policy = policy(&dir, &secret);
    // Quotes of both kinds, $, backticks, a backslash, a raw newline (after the JSON value).
    let mut body = json!({ "type": "branding", "tenant": "acme", "version": 11,
        "branding": { "title": "it's \"$HOME\" `id` \\ ok!" } })
    .to_string()
    .into_bytes();
    body.extend_from_slice(b"\n\n");
    let weird_name = "it's a \"body\" $x.json";
    let file = dir.file(weird_name, &body);
    let created = CREATED.to_string();
    for stdin in [true, false] {
        for scheme in ["rfc9421", "standard-webhooks"] {
            let target = if stdin { "-" } else { file.to_str().unwrap() };
            let out = run(
                &[
                    "sign",
                    "--curl",
                    "--url",
                    URL,
                    "--kid",
                    KID,
                    "--secret",
                    &secret,
                    "--scheme",
                    scheme,
                    "--created",
                    &created,
                    "--header",
                    "X-Trace: a'b \"c\"",
                    "--cover",
                    "x-trace",
                    target,
                ],
                stdin.then_some(&body[..]),
            );
            assert!(out.status.success(), "{}", stderr(&out));
            let command = stdout(&out);
            let (args, piped) = run_curl_in_sh(&command, &dir.0);
            assert_eq!(&args[..6], ["-sS", "-w", "\\n", "-X", "POST", URL]);
            let n = args.len();
            assert_eq!(args[n - 2], "--data-binary");
            if stdin {
                assert_eq!(args[n - 1], "@-");
                assert_eq!(piped, body, "the body reaches curl byte for byte");
            } else {
                assert_eq!(args[n - 1], format!("@{}", file.to_str().unwrap()));
                assert!(piped.is_empty());
            }
            let headers = curl_headers(&args);
            assert_eq!(headers["Content-Type"], "application/json");
            assert_eq!(headers["X-Trace"], "a'b \"c\"");
            // What curl would send verifies against the policy.
            let request = json!({ "method": "POST", "url": URL, "headers": headers,
                                  "bodyBase64": STANDARD.encode(&body) });
            let (out, verdict) = verify(
                &dir,
                &policy,
                request.to_string().as_bytes(),
                false,
                CREATED,
            );
            assert_eq!(out.status.code(), Some(0), "{verdict}");
            assert_eq!(verdict["scheme"], scheme);
        }
    }
}

#[test]
fn admin_reports_an_unreachable_edge_in_one_line() {
    // Port 9 on loopback (discard) is closed on a test machine; the CLI must not hang or panic.
    let out = run(
        &[
            "admin",
            "get-instance",
            "--edge",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "--instance",
            "acme-eu1",
            "--timeout",
            "5",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(stderr(&out).starts_with("error: cannot reach the edge"));
}
