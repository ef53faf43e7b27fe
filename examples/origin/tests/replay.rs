//! Replayed edge attestations and secret rotation, against the real origin binary (SQLite on
//! disk): a captured edge-signed request sent again is refused with `replayed_nonce` and changes
//! nothing, also after a restart and under concurrency; expired nonces are pruned; a retry
//! through the edge (new request id, same `Idempotency-Key`) still gets the idempotent answer;
//! the current and the previous secret are accepted, a third is not, and neither is the previous
//! one once dropped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;

use serde_json::{Value, json};
use syncgate::Secret;
use syncgate_origin::store::Store;

use support::{Launch, OTHER_SECRET, Origin, Req, SECRET, THIRD_SECRET, now, unique};

const MERGE_PATCH: &str = "application/merge-patch+json";

fn sync_body(tenant: &str, version: u64, title: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "branding", "tenant": tenant, "version": version,
        "branding": { "title": title },
    }))
    .unwrap()
}

fn create_customer(origin: &Origin, tenant: &str) -> Value {
    let body =
        serde_json::to_vec(&json!({ "firstName": "Ada", "email": "ada@example.com" })).unwrap();
    let req = Req::edge(
        "POST",
        &format!("/origin/v1/{tenant}/customers"),
        tenant,
        &unique("req"),
        &body,
    );
    let reply = origin.send(&origin.sign(req));
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()
}

/// An edge-signed PATCH of `id`, without `If-Match` (an unconditional update), as captured on
/// the link between edge and origin.
fn signed_patch(origin: &Origin, tenant: &str, id: &str, body: &Value) -> Req {
    let mut req = Req::edge(
        "PATCH",
        &format!("/origin/v1/{tenant}/customers/{id}"),
        tenant,
        &unique("req"),
        &serde_json::to_vec(body).unwrap(),
    );
    req.header("content-type", MERGE_PATCH)
        .header("x-syncgate-fields", "firstName,email,phone,jobTitle");
    origin.sign(req)
}

fn record(origin: &Origin, tenant: &str, id: &str) -> Value {
    origin.get_json(&format!("/origin/v1/{tenant}/customers/{id}"), tenant)
}

/// Asserts a `replayed_nonce` refusal naming the first request.
fn assert_replayed(reply: &support::Reply, request_id: &str) {
    let problem = reply.assert_problem(409, "replayed_nonce");
    assert_eq!(problem["requestId"], request_id, "{problem}");
    assert_eq!(problem["originalRequestId"], request_id, "{problem}");
    assert_eq!(problem["applied"], false, "{problem}");
}

fn request_id(req: &Req) -> String {
    req.headers
        .iter()
        .find(|(n, _)| n == "x-request-id")
        .map(|(_, v)| v.clone())
        .unwrap()
}

fn db_path(dir: &Path) -> std::path::PathBuf {
    dir.join("db").join("origin.sqlite")
}

#[test]
fn a_replayed_customer_patch_is_refused_and_the_record_does_not_roll_back() {
    let origin = Origin::start();
    let id = create_customer(&origin, "acme")["id"]
        .as_str()
        .unwrap()
        .to_string();

    let captured = signed_patch(&origin, "acme", &id, &json!({ "jobTitle": "Analyst" }));
    let reply = origin.send(&captured);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["version"], 2);
    let later = signed_patch(&origin, "acme", &id, &json!({ "jobTitle": "Director" }));
    let reply = origin.send(&later);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["version"], 3);

    // The captured first PATCH, sent again within its window: refused, nothing rolls back.
    assert_replayed(&origin.send(&captured), &request_id(&captured));
    let now = record(&origin, "acme", &id);
    assert_eq!(now["version"], 3);
    assert_eq!(now["jobTitle"], "Director");
    // And again: still refused (the nonce is not consumed by the refusal).
    assert_replayed(&origin.send(&captured), &request_id(&captured));
    assert_eq!(record(&origin, "acme", &id)["version"], 3);
}

#[test]
fn a_replayed_sync_is_refused_but_an_edge_retry_gets_the_idempotent_answer() {
    let origin = Origin::start();
    let body = sync_body("acme", 1, "First");
    let captured = origin.sign(Req::sync("acme", &unique("req"), &body));
    let first = origin.send(&captured);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("idempotent-replayed"), None);

    assert_replayed(&origin.send(&captured), &request_id(&captured));

    // A sender's retry through the edge: a new edge request id, the same Idempotency-Key.
    let retry = origin.send(&origin.sign(Req::sync("acme", &unique("req"), &body)));
    assert_eq!(retry.status, 200, "{}", retry.text());
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body, first.body);

    let stats = origin.stats();
    assert_eq!(stats["applied"], 1);
    assert_eq!(stats["replayed"], 1);
    // Reads are attested too, and a replayed read is refused like any other.
    let read = origin.sign(Req::edge(
        "GET",
        "/origin/v1/acme/sync/state",
        "acme",
        &unique("req"),
        b"",
    ));
    assert_eq!(origin.send(&read).status, 200);
    assert_replayed(&origin.send(&read), &request_id(&read));
}

#[test]
fn a_nonce_survives_an_origin_restart() {
    let origin = Origin::start();
    let body = sync_body("acme", 1, "Before restart");
    let captured = origin.sign(Req::sync("acme", &unique("req"), &body));
    assert_eq!(origin.send(&captured).status, 200);
    let dir = origin.stop_keep_dir();

    let origin = Origin::launch(Launch {
        dir: Some(dir),
        ..Launch::default()
    });
    assert_replayed(&origin.send(&captured), &request_id(&captured));
    assert_eq!(origin.stats()["applied"], 0);
    let retry = origin.send(&origin.sign(Req::sync("acme", &unique("req"), &body)));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
}

#[test]
fn concurrent_identical_attestations_are_accepted_exactly_once() {
    const COPIES: usize = 16;
    let origin = Arc::new(Origin::start());
    let id = create_customer(&origin, "acme")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let captured = signed_patch(&origin, "acme", &id, &json!({ "jobTitle": "Raced" }));
    let start = Arc::new(Barrier::new(COPIES));
    let handles: Vec<_> = (0..COPIES)
        .map(|_| {
            let origin = Arc::clone(&origin);
            let start = Arc::clone(&start);
            let req = captured.clone();
            thread::spawn(move || {
                start.wait();
                origin.send(&req)
            })
        })
        .collect();
    let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let accepted = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(accepted, 1, "exactly one copy is accepted");
    for reply in replies.iter().filter(|r| r.status != 200) {
        assert_replayed(reply, &request_id(&captured));
    }
    // Applied once: one version step.
    assert_eq!(record(&origin, "acme", &id)["version"], 2);
}

#[test]
fn expired_nonces_are_pruned_and_fresh_ones_kept() {
    let dir = support::temp_dir();
    let t = now();
    {
        // A database that has seen traffic an hour ago: 50 nonces expired by now, 3 still live.
        let store = Store::open(&db_path(&dir)).unwrap();
        let then = t - 3_600;
        for i in 0..50 {
            store
                .remember_nonce(&format!("req_old_{i}"), "acme", then + 360 + i, then)
                .unwrap();
        }
        for i in 0..3 {
            store
                .remember_nonce(&format!("req_live_{i}"), "acme", t + 300, then)
                .unwrap();
        }
        assert_eq!(store.remembered_nonces().unwrap(), 53);
    }
    let origin = Origin::launch(Launch {
        dir: Some(dir),
        ..Launch::default()
    });
    let reply = origin.send(&origin.sign(Req::sync(
        "acme",
        &unique("req"),
        &sync_body("acme", 1, "x"),
    )));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let dir = origin.stop_keep_dir();
    let store = Store::open(&db_path(&dir)).unwrap();
    assert_eq!(
        store.remembered_nonces().unwrap(),
        4,
        "the 3 live ones and the new one"
    );
    // A live nonce is still refused.
    assert!(
        store
            .remember_nonce("req_live_0", "acme", t + 300, t)
            .is_err()
    );
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_current_and_the_previous_secret_are_accepted_and_a_third_is_not() {
    let previous = Secret::from_whsec(OTHER_SECRET).unwrap();
    let third = Secret::from_whsec(THIRD_SECRET).unwrap();
    // From the dev-vars file, and from the environment.
    let file = format!(
        "ORIGIN_SIGNING_SECRET={SECRET}\nORIGIN_SIGNING_SECRET_PREVIOUS=\"{OTHER_SECRET}\"\n"
    );
    for launch in [
        Launch {
            env_secret: None,
            dev_vars: Some(file),
            ..Launch::default()
        },
        Launch {
            env_previous: Some(OTHER_SECRET),
            ..Launch::default()
        },
    ] {
        let origin = Origin::launch(launch);
        let body = sync_body("acme", 1, "Rotating");
        let current = origin.send(&origin.sign(Req::sync("acme", &unique("req"), &body)));
        assert_eq!(current.status, 200, "{}", current.text());
        assert_eq!(origin.stats()["previousSecret"], 0);

        let old = origin.sign_with(Req::sync("acme", &unique("req"), &body), &previous, now());
        let reply = origin.send(&old);
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("idempotent-replayed"), Some("true"));
        assert_eq!(origin.stats()["previousSecret"], 1);

        let other = origin.sign_with(Req::sync("acme", &unique("req"), &body), &third, now());
        origin.send(&other).assert_problem(401, "invalid_signature");
        // A replay is refused whichever secret signed it.
        assert_replayed(&origin.send(&old), &request_id(&old));
    }
}

#[test]
fn after_dropping_the_previous_secret_what_it_signs_is_refused() {
    let previous = Secret::from_whsec(OTHER_SECRET).unwrap();
    let origin = Origin::launch(Launch {
        env_previous: Some(OTHER_SECRET),
        ..Launch::default()
    });
    let body = sync_body("acme", 1, "Rotated");
    let reply =
        origin.send(&origin.sign_with(Req::sync("acme", &unique("req"), &body), &previous, now()));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let dir = origin.stop_keep_dir();

    // Rotation finished: only the new secret is configured.
    let origin = Origin::launch(Launch {
        dir: Some(dir),
        ..Launch::default()
    });
    let old = origin.sign_with(Req::sync("acme", &unique("req"), &body), &previous, now());
    origin.send(&old).assert_problem(401, "invalid_signature");
    let new = origin.send(&origin.sign(Req::sync("acme", &unique("req"), &body)));
    assert_eq!(new.header("idempotent-replayed"), Some("true"));
}

#[test]
fn the_previous_secret_comes_from_where_the_current_one_came_from() {
    // The file holds the current secret: a stale exported previous secret is not accepted.
    let previous = Secret::from_whsec(OTHER_SECRET).unwrap();
    let origin = Origin::launch(Launch {
        env_secret: None,
        env_previous: Some(OTHER_SECRET),
        dev_vars: Some(format!(
            "ORIGIN_SIGNING_SECRET={SECRET}\nORIGIN_SIGNING_SECRET_PREVIOUS=\n"
        )),
        ..Launch::default()
    });
    let old = origin.sign_with(
        Req::sync("acme", &unique("req"), &sync_body("acme", 1, "x")),
        &previous,
        now(),
    );
    origin.send(&old).assert_problem(401, "invalid_signature");

    // An invalid previous secret stops the start, naming the variable, not the value.
    let dir = support::temp_dir();
    let output = support::command(
        &dir,
        &Launch {
            env_previous: Some("whsec_not*base64"),
            ..Launch::default()
        },
    )
    .stderr(std::process::Stdio::piped())
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ORIGIN_SIGNING_SECRET_PREVIOUS"),
        "{stderr}"
    );
    assert!(!stderr.contains("not*base64"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
