//! End-to-end tests of the reference origin: the real binary on an ephemeral loopback port,
//! requests signed the way the edge signs them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use syncgate::payload::SyncPayload;
use syncgate::{DEFAULT_BLOCKED_GROUPS, Secret, recompute_modules, rfc9421};

use support::{Launch, OTHER_SECRET, Origin, Req, SECRET, now, unique};

const PASSWORD: &str = "pa55-W0rd-never-shown";

fn features() -> Value {
    json!({
        "plan": "pro",
        "modules": [
            { "key": "crm.core", "group": "crm", "permissions": ["crm.read"] },
            { "key": "crm.customers", "group": "crm", "requires": ["crm.core"],
              "permissions": ["customers.read", "customers.write"] },
            { "key": "sales.deals", "group": "sales", "requires": ["crm.customers"],
              "permissions": ["deals.read"] },
            { "key": "billing.invoices", "group": "billing", "permissions": ["invoices.read"] },
            { "key": "support.tickets", "group": "support", "requires": ["billing.invoices"],
              "permissions": ["tickets.read"] },
            { "key": "reports.basic", "group": "reports", "permissions": ["reports.read"] }
        ],
        "planDefaults": { "pro": ["crm.core", "crm.customers", "sales.deals", "support.tickets"] },
        "overrides": { "reports.basic": true, "sales.deals": false }
    })
}

fn branding(title: &str) -> Value {
    json!({
        "title": title,
        "logoUrl": "https://cdn.acme.test/logo.svg",
        "primaryColor": "#1f6feb",
        "footer": { "text": "Acme Travel", "links": [{ "label": "Privacy", "url": "https://acme.test/privacy" }] }
    })
}

fn smtp() -> Value {
    json!({
        "host": "smtp.acme.test", "port": 587, "encryption": "starttls",
        "username": "mailer", "password": PASSWORD,
        "fromEmail": "no-reply@acme.test", "fromName": "Acme"
    })
}

fn payload(kind: &str, tenant: &str, version: u64, sections: &[(&str, Value)]) -> Vec<u8> {
    let mut doc = json!({ "type": kind, "tenant": tenant, "version": version });
    for (name, value) in sections {
        doc[*name] = value.clone();
    }
    serde_json::to_vec(&doc).unwrap()
}

fn sync(origin: &Origin, tenant: &str, body: &[u8]) -> support::Reply {
    origin.send(&origin.sign(Req::sync(tenant, &unique("req"), body)))
}

#[test]
fn healthz_is_unsigned_and_unknown_routes_are_404() {
    let origin = Origin::start();
    let reply = origin.send(&Req::new("GET", "/healthz", b""));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({ "ok": true }));
    origin
        .send(&Req::new("GET", "/nope", b""))
        .assert_problem(404, "not_found");
    origin
        .send(&Req::new("GET", "/origin/v1/acme/sync", b""))
        .assert_problem(404, "not_found");
}

#[test]
fn unsigned_or_badly_signed_requests_are_rejected_and_apply_nothing() {
    let origin = Origin::start();
    let body = payload("branding", "acme", 1, &[("branding", branding("Acme"))]);

    // No signature at all.
    let unsigned = Req::sync("acme", "req-unsigned", &body);
    let problem = origin
        .send(&unsigned)
        .assert_problem(401, "missing_signature");
    assert_eq!(problem["requestId"], "req-unsigned");

    // Signed with another secret.
    let other = Secret::from_whsec(OTHER_SECRET).unwrap();
    let wrong = origin.sign_with(Req::sync("acme", "req-wrong", &body), &other, now());
    origin.send(&wrong).assert_problem(401, "invalid_signature");

    // Signed, then the tenant header changed.
    let mut tampered = origin.sign(Req::sync("acme", "req-tampered", &body));
    tampered.set_header("x-syncgate-tenant", "globex");
    let tampered_path = Req {
        path: "/origin/v1/globex/sync".into(),
        ..tampered
    };
    origin
        .send(&tampered_path)
        .assert_problem(401, "invalid_signature");

    // Signed, then the body changed.
    let mut swapped = origin.sign(Req::sync("acme", "req-swapped", &body));
    swapped.body = payload("branding", "acme", 2, &[("branding", branding("Evil"))]);
    origin.send(&swapped).assert_problem(400, "digest_mismatch");

    // Signed too long ago.
    let stale = origin.sign_with(
        Req::sync("acme", "req-stale", &body),
        &origin.secret.clone(),
        now() - 1_000,
    );
    origin.send(&stale).assert_problem(401, "stale_timestamp");

    // A valid RFC 9421 signature that leaves the tenant header uncovered.
    let mut weak = Req::sync("acme", "req-weak", &body);
    let request = syncgate::HttpRequest::new(
        "POST",
        &origin.url(&weak.path),
        weak.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect(),
        body.clone(),
    )
    .unwrap();
    let headers = rfc9421::sign(
        &request,
        "edge",
        origin.secret.expose_bytes(),
        &rfc9421::SignOptions {
            label: "edge".into(),
            created: now(),
            expires: None,
            nonce: "req-weak".into(),
            extra_components: vec!["x-request-id".into()],
            tag: None,
        },
        &syncgate::RustCrypto,
    )
    .unwrap();
    weak.headers.extend(headers);
    origin
        .send(&weak)
        .assert_problem(400, "malformed_signature");

    let stats = origin.stats();
    assert_eq!(stats["applied"], 0);
    assert_eq!(stats["rejected"], 6);
    assert_eq!(stats["received"]["sync"], 6);
    let state = origin.get_json("/origin/v1/acme/sync/state", "acme");
    assert_eq!(state["lastSync"], Value::Null);
    assert_eq!(state["sections"]["branding"], Value::Null);
    // Reads are signed too.
    origin
        .send(&Req::edge(
            "GET",
            "/origin/v1/acme/bootstrap",
            "acme",
            "r",
            b"",
        ))
        .assert_problem(401, "missing_signature");
}

#[test]
fn signed_sync_applies_and_bootstrap_reflects_it() {
    let origin = Origin::start();

    let empty = origin.get_json("/origin/v1/acme/bootstrap", "acme");
    assert_eq!(
        empty,
        json!({ "tenant": "acme", "branding": null, "modules": [], "permissions": [],
                "plan": null, "smtp": null, "lastSync": null })
    );

    let body = payload(
        "combined",
        "acme",
        3,
        &[
            ("features", features()),
            ("branding", branding("Acme Travel")),
            ("smtp", smtp()),
        ],
    );
    let request_id = unique("req-apply");
    let reply = origin.send(&origin.sign(Req::sync("acme", &request_id, &body)));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("idempotent-replayed"), None);
    assert_eq!(
        reply.json(),
        json!({ "status": "applied", "requestId": request_id, "payloadType": "combined",
                "payloadVersion": 3 })
    );

    let bootstrap = origin.get_json("/origin/v1/acme/bootstrap", "acme");
    let parsed = SyncPayload::parse(&body).unwrap();
    let blocked: Vec<String> = DEFAULT_BLOCKED_GROUPS.map(String::from).to_vec();
    let expected = recompute_modules(parsed.features().unwrap(), &blocked);
    assert_eq!(bootstrap["tenant"], "acme");
    assert_eq!(
        bootstrap["modules"],
        serde_json::to_value(&expected.modules).unwrap()
    );
    assert_eq!(
        bootstrap["permissions"],
        serde_json::to_value(&expected.permissions).unwrap()
    );
    // Spot-check the recomputation's reasons as the CRM would show them.
    let reason = |key: &str| {
        bootstrap["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == key)
            .map(|m| (m["enabled"].clone(), m["reason"].clone()))
            .unwrap()
    };
    assert_eq!(
        reason("crm.customers"),
        (json!(true), json!("plan_default"))
    );
    assert_eq!(reason("sales.deals"), (json!(false), json!("override_off")));
    assert_eq!(reason("reports.basic"), (json!(true), json!("override_on")));
    assert_eq!(
        reason("support.tickets"),
        (json!(false), json!("missing_dependency:billing.invoices"))
    );
    assert_eq!(
        reason("billing.invoices"),
        (json!(false), json!("not_in_plan"))
    );
    assert_eq!(
        bootstrap["permissions"],
        json!([
            "crm.read",
            "customers.read",
            "customers.write",
            "reports.read"
        ])
    );
    assert_eq!(bootstrap["plan"], "pro");
    assert_eq!(bootstrap["branding"], branding("Acme Travel"));
    assert_eq!(
        bootstrap["smtp"],
        json!({ "host": "smtp.acme.test", "port": 587, "encryption": "starttls",
                "username": "mailer", "passwordSet": true, "fromEmail": "no-reply@acme.test",
                "fromName": "Acme" })
    );
    assert_eq!(bootstrap["lastSync"]["payloadType"], "combined");
    assert_eq!(bootstrap["lastSync"]["payloadVersion"], 3);
    let at = bootstrap["lastSync"]["at"].as_str().unwrap();
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "{at}"
    );

    let state = origin.get_json("/origin/v1/acme/sync/state", "acme");
    for section in ["features", "branding", "smtp"] {
        assert_eq!(state["sections"][section]["version"], 3, "{state}");
        assert_eq!(state["sections"][section]["requestId"], request_id.as_str());
    }
    assert_eq!(state["lastSync"]["requestId"], request_id.as_str());
    assert_eq!(state["lastSync"]["keyId"], "acme-2026-11");

    // Another tenant sees none of it.
    let other = origin.get_json("/origin/v1/globex/bootstrap", "globex");
    assert_eq!(other["branding"], Value::Null);
    assert_eq!(other["lastSync"], Value::Null);

    // The SMTP password never comes back, in any read or answer.
    for path in ["/origin/v1/acme/bootstrap", "/origin/v1/acme/sync/state"] {
        let reply = origin.send(&origin.sign(Req::edge("GET", path, "acme", &unique("r"), b"")));
        assert!(
            !reply.text().contains(PASSWORD),
            "{path} leaks the password"
        );
    }
    assert!(!reply.text().contains(PASSWORD));
    assert_eq!(origin.stats()["applied"], 1);
}

#[test]
fn a_repeated_idempotency_key_returns_the_first_answer_and_applies_once() {
    let origin = Origin::start();
    let body = payload("branding", "acme", 7, &[("branding", branding("Acme"))]);
    let first = sync(&origin, "acme", &body);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("idempotent-replayed"), None);

    let second = sync(&origin, "acme", &body);
    assert_eq!(second.status, 200);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        second.body, first.body,
        "the first answer, with the first request id"
    );

    // The same key for another tenant is another key.
    let globex = payload("branding", "globex", 7, &[("branding", branding("Acme"))]);
    let mut req = Req::sync("globex", &unique("req"), &globex);
    req.set_header("idempotency-key", &support::sha256_hex(&body));
    let other = origin.send(&origin.sign(req));
    assert_eq!(other.status, 200);
    assert_eq!(other.header("idempotent-replayed"), None);

    // The same key with another body is a conflict, and applies nothing.
    let changed = payload("branding", "acme", 8, &[("branding", branding("Changed"))]);
    let mut req = Req::sync("acme", &unique("req"), &changed);
    req.set_header("idempotency-key", &support::sha256_hex(&body));
    origin
        .send(&origin.sign(req))
        .assert_problem(409, "idempotency_conflict");

    let stats = origin.stats();
    assert_eq!(stats["applied"], 2);
    assert_eq!(stats["replayed"], 1);
    let state = origin.get_json("/origin/v1/acme/sync/state", "acme");
    assert_eq!(state["sections"]["branding"]["version"], 7);
}

#[test]
fn twenty_concurrent_identical_requests_apply_once() {
    let origin = Arc::new(Origin::start());
    let body = payload(
        "combined",
        "acme",
        1,
        &[("features", features()), ("branding", branding("Acme"))],
    );
    let start = Arc::new(std::sync::Barrier::new(20));
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let origin = Arc::clone(&origin);
            let start = Arc::clone(&start);
            let req = origin.sign(Req::sync("acme", &format!("req-concurrent-{i}"), &body));
            thread::spawn(move || {
                start.wait();
                origin.send(&req)
            })
        })
        .collect();
    let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(replies.iter().all(|r| r.status == 200));
    let fresh: Vec<_> = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .collect();
    assert_eq!(fresh.len(), 1, "exactly one request applies");
    let first_id = fresh[0].json()["requestId"].clone();
    for reply in &replies {
        assert_eq!(reply.json()["requestId"], first_id);
    }
    let stats = origin.stats();
    assert_eq!(stats["applied"], 1);
    assert_eq!(stats["replayed"], 19);
    let state = origin.get_json("/origin/v1/acme/sync/state", "acme");
    assert_eq!(state["lastSync"]["requestId"], first_id);
}

#[test]
fn an_older_section_version_is_stale_and_rolls_nothing_back() {
    let origin = Origin::start();
    let features_v2 = payload("features", "acme", 2, &[("features", features())]);
    assert_eq!(sync(&origin, "acme", &features_v2).status, 200);
    let branding_v5 = payload("branding", "acme", 5, &[("branding", branding("Five"))]);
    assert_eq!(sync(&origin, "acme", &branding_v5).status, 200);

    let branding_v4 = payload("branding", "acme", 4, &[("branding", branding("Four"))]);
    let problem = sync(&origin, "acme", &branding_v4).assert_problem(409, "stale_version");
    assert!(problem["detail"].as_str().unwrap().contains("branding"));

    let branding_v5_again = payload("branding", "acme", 5, &[("branding", branding("Other"))]);
    sync(&origin, "acme", &branding_v5_again).assert_problem(409, "stale_version");

    // Newer than features (2) but not than branding (5): refused as a whole.
    let combined_v4 = payload(
        "combined",
        "acme",
        4,
        &[("features", features()), ("branding", branding("Four"))],
    );
    sync(&origin, "acme", &combined_v4).assert_problem(409, "stale_version");

    let state = origin.get_json("/origin/v1/acme/sync/state", "acme");
    assert_eq!(state["sections"]["features"]["version"], 2);
    assert_eq!(state["sections"]["branding"]["version"], 5);
    assert_eq!(state["lastSync"]["payloadVersion"], 5);
    let bootstrap = origin.get_json("/origin/v1/acme/bootstrap", "acme");
    assert_eq!(bootstrap["branding"]["title"], "Five");

    let combined_v6 = payload(
        "combined",
        "acme",
        6,
        &[("features", features()), ("branding", branding("Six"))],
    );
    assert_eq!(sync(&origin, "acme", &combined_v6).status, 200);
    assert_eq!(origin.stats()["applied"], 3);
}

#[test]
fn tenant_mismatches_are_forbidden() {
    let origin = Origin::start();
    let body = payload("branding", "acme", 1, &[("branding", branding("Acme"))]);

    // Signed tenant header says acme, the path says globex.
    let mut req = Req::sync("acme", "req-mismatch", &body);
    req.path = "/origin/v1/globex/sync".into();
    origin
        .send(&origin.sign(req))
        .assert_problem(403, "tenant_mismatch");

    // Routed to globex, but the payload is for acme.
    origin
        .send(&origin.sign(Req::sync("globex", "req-payload", &body)))
        .assert_problem(403, "tenant_mismatch");

    // Reads too.
    let read = Req::edge(
        "GET",
        "/origin/v1/globex/bootstrap",
        "acme",
        "req-read",
        b"",
    );
    origin
        .send(&origin.sign(read))
        .assert_problem(403, "tenant_mismatch");

    // A payload the core refuses is refused here too.
    let bad = br#"{"type":"branding","tenant":"acme","version":1,"branding":{"title":"x","logoUrl":"http://insecure.test/x.png"}}"#;
    let problem = sync(&origin, "acme", bad).assert_problem(422, "invalid_payload");
    assert_eq!(problem["field"], "branding.logoUrl");
    assert_eq!(origin.stats()["applied"], 0);
}

#[test]
fn fault_modes_fail_drop_and_stall() {
    let origin = Origin::start();
    let v = |n: u64| payload("branding", "acme", n, &[("branding", branding("Acme"))]);

    // fail, twice: 500 without applying, then back to normal.
    let control = origin.control(r#"{"mode":"fail","times":2}"#);
    assert_eq!(control.status, 200);
    assert_eq!(control.json()["remaining"], 2);
    sync(&origin, "acme", &v(1)).assert_problem(500, "injected_fault");
    sync(&origin, "acme", &v(1)).assert_problem(500, "injected_fault");
    let reply = sync(&origin, "acme", &v(1));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("idempotent-replayed"),
        None,
        "the failed tries applied nothing"
    );

    // Unsigned requests never consume a fault.
    origin.control(r#"{"mode":"fail","times":1}"#);
    origin
        .send(&Req::sync("acme", "unsigned", &v(2)))
        .assert_problem(401, "missing_signature");
    sync(&origin, "acme", &v(2)).assert_problem(500, "injected_fault");

    // drop: the connection closes without any answer.
    origin.control(r#"{"mode":"drop"}"#);
    let req = origin.sign(Req::sync("acme", &unique("req"), &v(2)));
    let err = origin
        .try_send(&req, Duration::from_secs(10))
        .expect_err("a dropped request gets no answer");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");

    // stall: the client gives up first; nothing is applied.
    origin.control(r#"{"mode":"stall","stallMs":3000}"#);
    let req = origin.sign(Req::sync("acme", &unique("req"), &v(2)));
    let started = Instant::now();
    let err = origin
        .try_send(&req, Duration::from_millis(300))
        .expect_err("a stalled request times out");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // A stalled request still answers (500) once the stall is over, for a patient client.
    let reply = origin.try_send(&req, Duration::from_secs(10)).unwrap();
    reply.assert_problem(500, "injected_fault");

    let control = origin.control(r#"{"mode":"ok"}"#);
    assert_eq!(control.json()["mode"], "ok");
    let reply = sync(&origin, "acme", &v(2));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("idempotent-replayed"), None);

    let stats = origin.stats();
    assert_eq!(stats["applied"], 2);
    assert_eq!(stats["faulted"], 6);
    let state = origin.get_json("/origin/v1/acme/sync/state", "acme");
    assert_eq!(state["sections"]["branding"]["version"], 2);

    // Counters can be reset; bad control bodies are refused.
    let reset = origin.control(r#"{"resetStats":true}"#);
    assert_eq!(reset.status, 200);
    assert_eq!(origin.stats()["applied"], 0);
    origin
        .control(r#"{"mode":"explode"}"#)
        .assert_problem(400, "invalid_control");
}

#[test]
fn without_test_controls_the_control_routes_do_not_exist() {
    let origin = Origin::launch(Launch {
        test_controls: false,
        ..Launch::default()
    });
    origin
        .control(r#"{"mode":"fail"}"#)
        .assert_problem(404, "not_found");
    origin
        .send(&Req::new("GET", "/__control/stats", b""))
        .assert_problem(404, "not_found");
    let body = payload("branding", "acme", 1, &[("branding", branding("Acme"))]);
    assert_eq!(sync(&origin, "acme", &body).status, 200);
}

#[test]
fn the_secret_comes_from_dev_vars_and_state_survives_a_restart() {
    let dev_vars =
        format!("# wrangler dev vars\nADMIN_TOKEN=abc\nORIGIN_SIGNING_SECRET=\"{SECRET}\"\n");
    let launch = || Launch {
        env_secret: Some(OTHER_SECRET), // the file wins over the environment
        dev_vars: Some(dev_vars.clone()),
        ..Launch::default()
    };
    let origin = Origin::launch(launch());
    let body = payload(
        "branding",
        "acme",
        1,
        &[("branding", branding("Persisted"))],
    );
    assert_eq!(sync(&origin, "acme", &body).status, 200);
    let dir = origin.stop_keep_dir();

    let origin = Origin::launch(Launch {
        dir: Some(dir),
        ..launch()
    });
    let bootstrap = origin.get_json("/origin/v1/acme/bootstrap", "acme");
    assert_eq!(bootstrap["branding"]["title"], "Persisted");
    // The stored answer survives too.
    let replay = sync(&origin, "acme", &body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
}

#[test]
fn a_missing_or_invalid_secret_stops_the_start_without_echoing_it() {
    let dir = support::temp_dir();
    for (secret, needle) in [
        (None, "ORIGIN_SIGNING_SECRET is not set"),
        (Some("whsec_not*base64"), "ORIGIN_SIGNING_SECRET"),
    ] {
        let output = support::command(
            &dir,
            &Launch {
                env_secret: secret,
                ..Launch::default()
            },
        )
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{stderr}");
        assert!(!stderr.contains("not*base64"), "{stderr}");
        assert!(output.stdout.is_empty());
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn keep_alive_pipelining_and_chunked_bodies() {
    let origin = Origin::start();
    let body = payload("branding", "acme", 1, &[("branding", branding("Chunked"))]);
    let signed = origin.sign(Req::sync("acme", "req-chunked", &body));

    let mut stream = TcpStream::connect(&origin.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Two pipelined GETs on one connection, then a chunked signed POST that closes it.
    let mut out = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\nGET /healthz HTTP/1.1\r\nhost: x\r\n\r\n\
         POST {} HTTP/1.1\r\nhost: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n",
        signed.path, origin.addr
    );
    for (name, value) in &signed.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut wire = out.into_bytes();
    let (a, b) = body.split_at(body.len() / 2);
    for chunk in [a, b] {
        wire.extend_from_slice(format!("{:x};ext=1\r\n", chunk.len()).as_bytes());
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&wire).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();

    let (first, used) = support::parse_one(&raw).unwrap();
    let (second, used2) = support::parse_one(&raw[used..]).unwrap();
    let (third, _) = support::parse_one(&raw[used + used2..]).unwrap();
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(third.status, 200, "{}", third.text());
    assert_eq!(third.header("connection"), Some("close"));
    assert_eq!(third.json()["requestId"], "req-chunked");

    // Smuggling-shaped framing: with both lengths, Transfer-Encoding wins (the body is the empty
    // chunked one, so the unsigned request is refused 401, not left half-read) and the
    // connection is closed after the answer, so the pipelined request behind it is never read.
    let mut stream = TcpStream::connect(&origin.addr).unwrap();
    stream
        .write_all(
            b"POST /origin/v1/acme/sync HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\n\
              transfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nhost: x\r\n\r\n",
        )
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let (answer, used) = support::parse_one(&raw).unwrap();
    assert_eq!(answer.status, 401, "{}", answer.text());
    assert_eq!(used, raw.len(), "one answer, then the connection closed");
    // A transfer coding other than a lone `chunked` is refused and the connection closed.
    let mut stream = TcpStream::connect(&origin.addr).unwrap();
    stream
        .write_all(
            b"POST /origin/v1/acme/sync HTTP/1.1\r\nhost: x\r\n\
              transfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        )
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    assert_eq!(support::parse_one(&raw).unwrap().0.status, 400);
}

/// The worker signs with the core's `attest::sign` (worker/src/origin.rs builds exactly these
/// claims), so edge and origin cannot drift apart. A signature over the component list the worker
/// used before the contract moved into the core — no `x-syncgate-instance`, no `content-type` —
/// is refused: an uncovered instance or media type could be changed on the way.
#[test]
fn a_request_signed_like_the_worker_is_accepted() {
    use syncgate::attest::{self, Claims, Outgoing};
    use syncgate::{Headers, HttpRequest, Scheme, SigningOptions, sign_request};

    let origin = Origin::start();
    let body = payload("branding", "acme", 1, &[("branding", branding("Worker"))]);
    let path = "/origin/v1/acme/sync";
    let idempotency_key = support::sha256_hex(&body);
    let claims = Claims {
        request_id: "req-worker",
        tenant: "acme",
        instance: Some("acme-eu1"),
        key_id: "acme-2026-11",
        idempotency_key: Some(&idempotency_key),
        fields: None,
        if_match: None,
        blocked_groups: Some("billing"),
    };
    let url = origin.url(path);
    let outgoing = Outgoing {
        method: "POST",
        url: &url,
        content_type: Some("application/json"),
        body: &body,
    };
    let mut req = Req::new("POST", path, &body);
    for (name, value) in attest::sign(&outgoing, &claims, &origin.secret, now()).unwrap() {
        req.header(&name, &value);
    }
    let reply = origin.send(&req);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["requestId"], "req-worker");

    // The old hand-written list.
    let mut headers = Headers::new();
    headers.append("x-request-id", "req-worker-old");
    headers.append("x-syncgate-tenant", "acme");
    headers.append("x-syncgate-instance", "acme-eu1");
    headers.append("x-syncgate-key-id", "acme-2026-11");
    headers.append("idempotency-key", &idempotency_key);
    headers.append("content-type", "application/json");
    let request = HttpRequest::new("POST", &url, headers, body.clone()).unwrap();
    let mut options = SigningOptions::new(Scheme::Rfc9421, now(), "req-worker-old");
    options.label = Some("edge".into());
    options.extra_components = [
        "@query",
        "x-request-id",
        "x-syncgate-tenant",
        "x-syncgate-key-id",
        "idempotency-key",
    ]
    .map(String::from)
    .to_vec();
    let signature = sign_request(&request, "edge", origin.secret.expose_bytes(), &options).unwrap();
    let mut req = Req::new("POST", path, &body);
    for (name, value) in request
        .headers
        .iter()
        .chain(signature.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    {
        req.header(name, value);
    }
    let problem = origin.send(&req).assert_problem(400, "malformed_signature");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("x-syncgate-instance"),
        "{problem}"
    );

    // An owned-fields header the signature does not cover is refused.
    let mut req = origin.sign(Req::edge(
        "GET",
        "/origin/v1/acme/bootstrap",
        "acme",
        "req-fields",
        b"",
    ));
    req.header("x-syncgate-fields", "email,phone");
    origin.send(&req).assert_problem(400, "malformed_signature");
    // Covered, it is accepted.
    let mut req = Req::edge(
        "GET",
        "/origin/v1/acme/bootstrap",
        "acme",
        "req-fields2",
        b"",
    );
    req.header("x-syncgate-fields", "email,phone");
    assert_eq!(origin.send(&origin.sign(req)).status, 200);
}

/// With stderr a closed pipe, every log line fails: requests are still answered, and SIGTERM
/// still stops the process cleanly (exit status 0).
#[test]
fn a_closed_stderr_neither_stops_requests_nor_shutdown() {
    use std::io::BufRead;
    let dir = support::temp_dir();
    let mut cmd = support::command(&dir, &Launch::default());
    cmd.stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stderr.take());
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        assert_eq!(support::parse_one(&raw).unwrap().0.status, 200);
    }
    let killed = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the origin stops on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let _ = std::fs::remove_dir_all(dir);
}
