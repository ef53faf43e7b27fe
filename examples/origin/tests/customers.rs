//! End-to-end tests of the customer records API of the reference origin: the real binary on an
//! ephemeral loopback port, requests signed the way the edge signs them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};
use syncgate::Secret;

use support::{Launch, OTHER_SECRET, Origin, Req, now, unique};

const MERGE_PATCH: &str = "application/merge-patch+json";

fn customers(tenant: &str) -> String {
    format!("/origin/v1/{tenant}/customers")
}

fn customer(tenant: &str, id: &str) -> String {
    format!("/origin/v1/{tenant}/customers/{id}")
}

/// An unsigned edge request with `headers` added (a `content-type` among them replaces the
/// default one).
fn edge_req(method: &str, path: &str, tenant: &str, body: &[u8], headers: &[(&str, &str)]) -> Req {
    let mut req = Req::edge(method, path, tenant, &unique("req"), body);
    if method == "PATCH" {
        req.header("content-type", MERGE_PATCH);
    }
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-type") {
            req.set_header(name, value);
        } else {
            req.header(name, value);
        }
    }
    req
}

/// Signs and sends a request to `path` as the edge would.
fn call(
    origin: &Origin,
    method: &str,
    path: &str,
    tenant: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> support::Reply {
    origin.send(&origin.sign(edge_req(method, path, tenant, body, headers)))
}

fn post(origin: &Origin, tenant: &str, body: &Value, headers: &[(&str, &str)]) -> support::Reply {
    call(
        origin,
        "POST",
        &customers(tenant),
        tenant,
        &serde_json::to_vec(body).unwrap(),
        headers,
    )
}

/// Creates a record and returns it.
fn create(origin: &Origin, tenant: &str, body: &Value) -> Value {
    let reply = post(origin, tenant, body, &[]);
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()
}

fn get(origin: &Origin, tenant: &str, id: &str) -> support::Reply {
    call(origin, "GET", &customer(tenant, id), tenant, b"", &[])
}

fn patch(
    origin: &Origin,
    tenant: &str,
    id: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> support::Reply {
    call(
        origin,
        "PATCH",
        &customer(tenant, id),
        tenant,
        &serde_json::to_vec(body).unwrap(),
        headers,
    )
}

fn list(origin: &Origin, tenant: &str, query: &str) -> support::Reply {
    let path = if query.is_empty() {
        customers(tenant)
    } else {
        format!("{}?{query}", customers(tenant))
    };
    call(origin, "GET", &path, tenant, b"", &[])
}

fn ada() -> Value {
    json!({
        "externalId": "hub-17",
        "firstName": "Ada",
        "lastName": "Byron",
        "email": "ada@example.com",
        "phone": "+441234567890",
        "company": "Analytical Engines",
        "lifecycleStage": "lead",
        "tags": ["vip", "math"],
        "custom": { "tier": "gold", "seats": 12, "beta": true }
    })
}

fn person(n: usize) -> Value {
    json!({ "firstName": format!("Person {n}"), "email": format!("p{n}@example.com") })
}

fn is_rfc3339_utc(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
}

#[test]
fn create_read_patch_and_list() {
    let origin = Origin::start();

    // Create: 201, the record, ETag, Location at the edge.
    let reply = post(&origin, "acme", &ada(), &[]);
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(reply.header("idempotent-replayed"), None);
    let created = reply.json();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(
        id.len() == 28
            && id.starts_with("cus_")
            && id[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id}"
    );
    assert_eq!(
        reply.header("location"),
        Some(format!("/v1/acme-eu1/customers/{id}").as_str())
    );
    assert_eq!(created["version"], 1);
    let created_at = created["createdAt"].as_str().unwrap();
    assert!(is_rfc3339_utc(created_at), "{created_at}");
    assert_eq!(created["updatedAt"], created["createdAt"]);
    let mut expected = ada();
    for member in ["id", "createdAt", "updatedAt", "version"] {
        expected[member] = created[member].clone();
    }
    assert_eq!(created, expected);

    // Read: 200, the same record, ETag.
    let reply = get(&origin, "acme", &id);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(reply.json(), created);

    // Merge patch with If-Match: null removes, custom merges one level, tags are replaced.
    let reply = patch(
        &origin,
        "acme",
        &id,
        &json!({ "lastName": "Lovelace", "phone": null, "tags": ["vip"],
                 "custom": { "seats": null, "region": "eu" } }),
        &[("if-match", "\"1\"")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("etag"), Some("\"2\""));
    let patched = reply.json();
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["lastName"], "Lovelace");
    assert!(patched.get("phone").is_none());
    assert_eq!(patched["tags"], json!(["vip"]));
    assert_eq!(
        patched["custom"],
        json!({ "beta": true, "region": "eu", "tier": "gold" })
    );
    assert_eq!(patched["createdAt"], created["createdAt"]);
    assert!(is_rfc3339_utc(patched["updatedAt"].as_str().unwrap()));
    assert_eq!(get(&origin, "acme", &id).json(), patched);

    // Plain JSON is accepted too; no If-Match means any version; `*` too.
    let reply = patch(
        &origin,
        "acme",
        &id,
        &json!({ "jobTitle": "Countess" }),
        &[("content-type", "application/json; charset=utf-8")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["version"], 3);
    let reply = patch(
        &origin,
        "acme",
        &id,
        &json!({ "lifecycleStage": "customer" }),
        &[("if-match", "*")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("etag"), Some("\"4\""));

    // A patch that changes nothing writes nothing: same version, same updatedAt.
    let current = reply.json();
    let reply = patch(
        &origin,
        "acme",
        &id,
        &json!({ "lifecycleStage": "customer" }),
        &[("if-match", "\"4\"")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("etag"), Some("\"4\""));
    assert_eq!(reply.json(), current);

    // List: every record once, insertion order.
    let other = create(&origin, "acme", &person(1));
    let reply = list(&origin, "acme", "");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({ "items": [current, other], "nextCursor": null })
    );

    let stats = origin.stats();
    assert_eq!(stats["received"]["customers_create"], 2);
    assert_eq!(stats["received"]["customers_get"], 2);
    assert_eq!(stats["received"]["customers_patch"], 4);
    assert_eq!(stats["received"]["customers_list"], 1);
    assert_eq!(stats["rejected"], 0);
}

#[test]
fn invalid_input_names_the_field() {
    let origin = Origin::start();
    let id = create(&origin, "acme", &person(1))["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Bodies: 422 invalid_field with the field.
    for (body, field) in [
        (
            json!({ "firstName": "A", "email": "not-an-email" }),
            "email",
        ),
        (json!({ "email": "a@example.com" }), "firstName"),
        (
            json!({ "firstName": "A", "email": "a@example.com", "phone": "0123" }),
            "phone",
        ),
        (
            json!({ "firstName": "A", "email": "a@example.com", "nickname": "x" }),
            "nickname",
        ),
        (
            json!({ "id": "cus_mine", "firstName": "A", "email": "a@example.com" }),
            "id",
        ),
        (
            json!({ "firstName": "A", "email": "a@example.com", "custom": { "deep": { "x": 1 } } }),
            "custom.deep",
        ),
        (
            json!({ "firstName": "A", "email": "a@example.com", "tags": ["x", "x"] }),
            "tags[1]",
        ),
    ] {
        let problem = post(&origin, "acme", &body, &[]).assert_problem(422, "invalid_field");
        assert_eq!(problem["field"], field, "{body}");
    }
    let problem = call(&origin, "POST", &customers("acme"), "acme", b"{", &[])
        .assert_problem(422, "invalid_field");
    assert!(problem["field"].is_string());
    let problem = patch(&origin, "acme", &id, &json!({ "email": null }), &[])
        .assert_problem(422, "invalid_field");
    assert_eq!(problem["field"], "email");
    let problem = patch(&origin, "acme", &id, &json!({ "version": 9 }), &[])
        .assert_problem(422, "invalid_field");
    assert_eq!(problem["field"], "version");

    // Media types: 415.
    post(
        &origin,
        "acme",
        &person(2),
        &[("content-type", "text/plain")],
    )
    .assert_problem(415, "unsupported_media_type");
    let mut untyped = edge_req(
        "POST",
        &customers("acme"),
        "acme",
        &serde_json::to_vec(&person(2)).unwrap(),
        &[],
    );
    untyped.headers.retain(|(n, _)| n != "content-type");
    origin
        .send(&origin.sign(untyped))
        .assert_problem(415, "unsupported_media_type");
    patch(
        &origin,
        "acme",
        &id,
        &json!({ "lastName": "X" }),
        &[("content-type", "application/json-patch+json")],
    )
    .assert_problem(415, "unsupported_media_type");

    // Query parameters: 422 limit / cursor.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("limit=", "limit"),
        ("cursor=", "cursor"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=42", "cursor"),
    ] {
        let problem = list(&origin, "acme", query).assert_problem(422, "invalid_field");
        assert_eq!(problem["field"], field, "{query}");
    }
    assert_eq!(list(&origin, "acme", "limit=200").status, 200);
    assert_eq!(list(&origin, "acme", "limit=1").status, 200);

    // Headers: a malformed If-Match or Idempotency-Key.
    let problem = patch(
        &origin,
        "acme",
        &id,
        &json!({ "lastName": "X" }),
        &[("if-match", "1")],
    )
    .assert_problem(422, "invalid_field");
    assert_eq!(problem["field"], "If-Match");
    let long_key = "k".repeat(256);
    let problem = post(
        &origin,
        "acme",
        &person(3),
        &[("idempotency-key", &long_key)],
    )
    .assert_problem(422, "invalid_field");
    assert_eq!(problem["field"], "Idempotency-Key");

    // Nothing of that was written.
    let record = get(&origin, "acme", &id);
    assert_eq!(record.header("etag"), Some("\"1\""));
    let page = list(&origin, "acme", "").json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[test]
fn unknown_ids_and_other_tenants_ids_are_not_found() {
    let origin = Origin::start();
    let record = create(&origin, "acme", &ada());
    let id = record["id"].as_str().unwrap();

    get(&origin, "acme", "cus_000000000000000000000000").assert_problem(404, "not_found");
    patch(
        &origin,
        "acme",
        "cus_000000000000000000000000",
        &json!({ "lastName": "X" }),
        &[],
    )
    .assert_problem(404, "not_found");

    // A's id under B: not found, for reads and writes, and B's list does not show it.
    get(&origin, "globex", id).assert_problem(404, "not_found");
    patch(
        &origin,
        "globex",
        id,
        &json!({ "lastName": "Hijacked" }),
        &[("if-match", "\"1\"")],
    )
    .assert_problem(404, "not_found");
    assert_eq!(
        list(&origin, "globex", "").json(),
        json!({ "items": [], "nextCursor": null })
    );
    assert_eq!(get(&origin, "acme", id).json(), record);

    // The signed tenant must be the path's tenant.
    let mut req = edge_req("GET", &customer("globex", id), "acme", b"", &[]);
    req = origin.sign(req);
    origin.send(&req).assert_problem(403, "tenant_mismatch");

    // Methods a path does not serve, and ids that cannot be ids, are unknown routes.
    call(&origin, "DELETE", &customer("acme", id), "acme", b"", &[])
        .assert_problem(404, "not_found");
    call(&origin, "PUT", &customers("acme"), "acme", b"{}", &[]).assert_problem(404, "not_found");
    origin
        .send(&Req::new("GET", "/origin/v1/acme/customers/a%20b", b""))
        .assert_problem(404, "not_found");
}

#[test]
fn forbidden_fields_are_refused_and_change_nothing() {
    let origin = Origin::start();

    // A key owning only lastName and phone cannot create (firstName and email are required).
    let problem = post(
        &origin,
        "acme",
        &person(1),
        &[("x-syncgate-fields", "lastName,phone")],
    )
    .assert_problem(403, "forbidden_field");
    assert_eq!(problem["field"], "firstName");
    assert_eq!(
        list(&origin, "acme", "").json()["items"],
        json!([]),
        "nothing created"
    );

    let record = create(&origin, "acme", &ada());
    let id = record["id"].as_str().unwrap();
    let owner = [("x-syncgate-fields", "lastName, phone, custom.tier")];

    // Touching an unowned field: 403 naming it, record unchanged (even the owned part).
    for (body, field) in [
        (
            json!({ "lastName": "Lovelace", "email": "evil@example.com" }),
            "email",
        ),
        (json!({ "company": null }), "company"),
        (
            json!({ "custom": { "tier": "free", "seats": 1 } }),
            "custom.seats",
        ),
        (json!({ "custom": null }), "custom"),
    ] {
        let problem =
            patch(&origin, "acme", id, &body, &owner).assert_problem(403, "forbidden_field");
        assert_eq!(problem["field"], field, "{body}");
        let reply = get(&origin, "acme", id);
        assert_eq!(reply.header("etag"), Some("\"1\""));
        assert_eq!(reply.json(), record);
    }
    // An empty field list owns nothing.
    patch(
        &origin,
        "acme",
        id,
        &json!({ "lastName": "X" }),
        &[("x-syncgate-fields", "")],
    )
    .assert_problem(403, "forbidden_field");

    // Owned fields go through.
    let reply = patch(
        &origin,
        "acme",
        id,
        &json!({ "lastName": "Lovelace", "phone": null, "custom": { "tier": "free" } }),
        &owner,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let patched = reply.json();
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["custom"]["tier"], "free");
    assert_eq!(patched["custom"]["seats"], 12);
    // Owning `custom` owns every custom key.
    let reply = patch(
        &origin,
        "acme",
        id,
        &json!({ "custom": { "seats": 3 } }),
        &[("x-syncgate-fields", "custom")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());

    // The fields header is covered by the edge signature: widening it afterwards fails.
    let mut req = origin.sign(edge_req(
        "PATCH",
        &customer("acme", id),
        "acme",
        br#"{"email":"evil@example.com"}"#,
        &[("x-syncgate-fields", "lastName")],
    ));
    req.set_header("x-syncgate-fields", "lastName,email");
    origin.send(&req).assert_problem(401, "invalid_signature");
    assert_eq!(get(&origin, "acme", id).json()["email"], "ada@example.com");
}

#[test]
fn a_stale_if_match_is_a_version_conflict() {
    let origin = Origin::start();
    let record = create(&origin, "acme", &ada());
    let id = record["id"].as_str().unwrap();

    let reply = patch(
        &origin,
        "acme",
        id,
        &json!({ "lastName": "A" }),
        &[("if-match", "\"1\"")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());

    for if_match in ["\"1\"", "\"3\"", "W/\"2\"", "\"02\"", "\"1\", \"3\""] {
        let problem = patch(
            &origin,
            "acme",
            id,
            &json!({ "lastName": "B" }),
            &[("if-match", if_match)],
        )
        .assert_problem(409, "version_conflict");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("current version is 2"),
            "{problem}"
        );
    }
    // A list naming the current version matches.
    let reply = patch(
        &origin,
        "acme",
        id,
        &json!({ "lastName": "C" }),
        &[("if-match", "\"1\", \"2\"")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["version"], 3);

    // If-Match is covered by the edge signature: changing it afterwards fails; adding it to a
    // signature that does not cover it is refused.
    let mut req = origin.sign(edge_req(
        "PATCH",
        &customer("acme", id),
        "acme",
        br#"{"lastName":"D"}"#,
        &[("if-match", "\"1\"")],
    ));
    req.set_header("if-match", "*");
    origin.send(&req).assert_problem(401, "invalid_signature");
    let mut req = origin.sign(edge_req(
        "PATCH",
        &customer("acme", id),
        "acme",
        br#"{"lastName":"D"}"#,
        &[],
    ));
    req.header("if-match", "*");
    origin.send(&req).assert_problem(400, "malformed_signature");
    assert_eq!(get(&origin, "acme", id).json()["lastName"], "C");
}

#[test]
fn two_concurrent_patches_with_the_same_if_match_one_wins() {
    let origin = Arc::new(Origin::start());
    for round in 0..5 {
        let record = create(&origin, "acme", &person(round));
        let id = record["id"].as_str().unwrap().to_string();
        let start = Arc::new(Barrier::new(2));
        let handles: Vec<_> = ["Left", "Right"]
            .into_iter()
            .map(|name| {
                let body = serde_json::to_vec(&json!({ "lastName": name })).unwrap();
                let req = origin.sign(edge_req(
                    "PATCH",
                    &customer("acme", &id),
                    "acme",
                    &body,
                    &[("if-match", "\"1\"")],
                ));
                let origin = Arc::clone(&origin);
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    start.wait();
                    origin.send(&req)
                })
            })
            .collect();
        let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one wins");
        let loser = replies.iter().find(|r| r.status != 200).unwrap();
        let problem = loser.assert_problem(409, "version_conflict");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("current version is 2")
        );
        let stored = get(&origin, "acme", &id).json();
        assert_eq!(stored["version"], 2);
        assert_eq!(stored, winners[0].json());
    }
}

#[test]
fn idempotent_creates_return_the_first_answer() {
    let origin = Origin::start();
    let key = [("idempotency-key", "create-ada-1")];

    let first = post(&origin, "acme", &ada(), &key);
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.header("idempotent-replayed"), None);

    let again = post(&origin, "acme", &ada(), &key);
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the first answer, byte for byte");
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("location"), first.header("location"));

    // The same key with another body is a conflict and creates nothing.
    let mut other = ada();
    other["firstName"] = json!("Augusta");
    post(&origin, "acme", &other, &key).assert_problem(409, "idempotency_conflict");

    // Keys are per tenant: the same key in another tenant is a fresh create.
    let elsewhere = post(&origin, "globex", &ada(), &key);
    assert_eq!(elsewhere.status, 201);
    assert_eq!(elsewhere.header("idempotent-replayed"), None);
    assert_ne!(elsewhere.json()["id"], first.json()["id"]);

    // Without a key, each create is a new record.
    create(&origin, "acme", &ada());
    let items = list(&origin, "acme", "").json()["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 2);
    assert_eq!(items[0], first.json());

    // A patched record still replays the first answer (version 1), not the current state.
    let id = first.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        patch(&origin, "acme", &id, &json!({ "lastName": "L" }), &[]).status,
        200
    );
    let replay = post(&origin, "acme", &ada(), &key);
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body, first.body);
}

#[test]
fn ten_concurrent_identical_creates_make_one_record() {
    let origin = Arc::new(Origin::start());
    let body = serde_json::to_vec(&ada()).unwrap();
    let start = Arc::new(Barrier::new(10));
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let req = origin.sign(edge_req(
                "POST",
                &customers("acme"),
                "acme",
                &body,
                &[("idempotency-key", "concurrent-create")],
            ));
            let origin = Arc::clone(&origin);
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                origin.send(&req)
            })
        })
        .collect();
    let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.text());
        assert_eq!(reply.body, replies[0].body);
    }
    let fresh = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1, "exactly one create");
    let items = list(&origin, "acme", "").json()["items"].clone();
    assert_eq!(items, json!([replies[0].json()]));
}

#[test]
fn pages_show_every_record_once_while_records_are_added() {
    let origin = Origin::start();
    let mut created = Vec::new();
    for n in 0..250 {
        created.push(
            create(&origin, "acme", &person(n))["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Another tenant's records never show up.
    for n in 0..5 {
        create(&origin, "globex", &person(n));
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=40&cursor={c}"),
            None => "limit=40".to_string(),
        };
        let reply = list(&origin, "acme", &query);
        assert_eq!(reply.status, 200, "{}", reply.text());
        let page = reply.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 40);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        pages += 1;
        // Records created between pages.
        if pages <= 4 {
            for n in 0..3 {
                let id = create(&origin, "acme", &person(1000 + pages * 10 + n))["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                created.push(id);
            }
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 100, "pagination does not end");
    }
    let unique_seen: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique_seen.len(), seen.len(), "no record twice");
    assert_eq!(seen, created, "every record once, in insertion order");
    assert_eq!(seen.len(), 262);

    // The default page is 50, the largest 200.
    let page = list(&origin, "acme", "").json();
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    assert!(page["nextCursor"].is_string());
    let page = list(&origin, "acme", "limit=200").json();
    assert_eq!(page["items"].as_array().unwrap().len(), 200);
    // A full last page says there is no next one.
    let cursor = page["nextCursor"].as_str().unwrap();
    let page = list(&origin, "acme", &format!("cursor={cursor}&limit=62")).json();
    assert_eq!(page["items"].as_array().unwrap().len(), 62);
    assert_eq!(page["nextCursor"], Value::Null);
}

#[test]
fn unsigned_or_badly_signed_customer_requests_are_rejected() {
    let origin = Origin::start();
    let record = create(&origin, "acme", &ada());
    let id = record["id"].as_str().unwrap();
    let body = serde_json::to_vec(&person(1)).unwrap();

    for (method, path, body) in [
        ("GET", customers("acme"), &b""[..]),
        ("GET", customer("acme", id), &b""[..]),
        ("POST", customers("acme"), &body[..]),
        ("PATCH", customer("acme", id), &br#"{"lastName":"X"}"#[..]),
    ] {
        let unsigned = edge_req(method, &path, "acme", body, &[]);
        origin
            .send(&unsigned)
            .assert_problem(401, "missing_signature");
        let other = Secret::from_whsec(OTHER_SECRET).unwrap();
        let wrong = origin.sign_with(edge_req(method, &path, "acme", body, &[]), &other, now());
        origin.send(&wrong).assert_problem(401, "invalid_signature");
    }
    // A signed create replayed with another body.
    let mut swapped = origin.sign(edge_req("POST", &customers("acme"), "acme", &body, &[]));
    swapped.body = serde_json::to_vec(&person(2)).unwrap();
    origin.send(&swapped).assert_problem(400, "digest_mismatch");
    // An Idempotency-Key added after signing is refused.
    let mut keyed = origin.sign(edge_req("POST", &customers("acme"), "acme", &body, &[]));
    keyed.header("idempotency-key", "late");
    origin
        .send(&keyed)
        .assert_problem(400, "malformed_signature");

    let page = list(&origin, "acme", "").json();
    assert_eq!(page["items"], json!([record]), "nothing created or changed");
    let stats = origin.stats();
    assert_eq!(stats["rejected"], 10);
}

#[test]
fn faults_apply_to_customer_routes() {
    let origin = Origin::start();
    let record = create(&origin, "acme", &ada());
    let id = record["id"].as_str().unwrap();

    origin.control(r#"{"mode":"fail","times":3}"#);
    post(&origin, "acme", &person(1), &[("idempotency-key", "k1")])
        .assert_problem(500, "injected_fault");
    patch(&origin, "acme", id, &json!({ "lastName": "X" }), &[])
        .assert_problem(500, "injected_fault");
    get(&origin, "acme", id).assert_problem(500, "injected_fault");

    origin.control(r#"{"mode":"drop","times":1}"#);
    let req = origin.sign(edge_req("GET", &customers("acme"), "acme", b"", &[]));
    let err = origin
        .try_send(&req, Duration::from_secs(10))
        .expect_err("a dropped request gets no answer");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");

    // Nothing was applied: the key is unused, the record unchanged.
    let reply = post(&origin, "acme", &person(1), &[("idempotency-key", "k1")]);
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.header("idempotent-replayed"), None);
    assert_eq!(get(&origin, "acme", id).json(), record);
    assert_eq!(origin.stats()["faulted"], 4);
}

#[test]
fn records_survive_a_restart() {
    let origin = Origin::launch(Launch::default());
    let record = create(&origin, "acme", &ada());
    let id = record["id"].as_str().unwrap().to_string();
    let dir = origin.stop_keep_dir();

    let origin = Origin::launch(Launch {
        dir: Some(dir.clone()),
        ..Launch::default()
    });
    let reply = get(&origin, "acme", &id);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json(), record);
    let second = create(&origin, "acme", &person(1));
    let page = list(&origin, "acme", "").json();
    assert_eq!(page["items"], json!([record, second]));
    drop(origin);
    let _ = std::fs::remove_dir_all(dir);
}
