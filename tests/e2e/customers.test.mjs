// The customer records API end to end: the real worker in workerd (Miniflare, local KV, SQLite
// Durable Objects) in front of the real reference origin (SQLite), all on loopback.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { expectProblem, request, startGateway } from "./support/harness.mjs";

let gw;
before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

let counter = 0;
/** A fresh instance with a reader, a writer and a read/write key. */
async function tenant(extra) {
  counter += 1;
  const t = await gw.createInstance(`crm-t${counter}`, `crm${counter}`, extra);
  t.reader = await gw.apiKey(t.instance, ["customers:read"]);
  t.writer = await gw.apiKey(t.instance, ["customers:read", "customers:write"]);
  return t;
}

function call(t, method, path, { key = t.writer, body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (key) init.headers.authorization = `Bearer ${key}`;
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers["content-type"] ??= method === "PATCH" ? "application/merge-patch+json" : "application/json";
  }
  return request(`${gw.edge}/v1/${t.instance}/customers${path}`, init);
}

const ada = (extra = {}) => ({
  firstName: "Ada", lastName: "Lovelace", email: "ada@example.com", phone: "+442071234567",
  company: "Analytical Engines", tags: ["vip"], custom: { tier: "gold" }, ...extra,
});

async function create(t, body = ada(), headers = {}) {
  const res = await call(t, "POST", "", { body, headers });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

async function originSaw(fn) {
  const before = await gw.originStats();
  const result = await fn();
  const after = await gw.originStats();
  const total = (s) => Object.values(s.received).reduce((a, b) => a + b, 0);
  return { result, reached: total(after) - total(before) };
}

describe("routes", () => {
  test("create, read with ETag, update with If-Match, list", async () => {
    const t = await tenant();
    const res = await call(t, "POST", "", { body: ada() });
    assert.equal(res.status, 201);
    const created = await res.json();
    assert.match(created.id, /^cus_[0-9a-f]{24}$/);
    assert.equal(created.version, 1);
    assert.equal(res.headers.get("etag"), '"1"');
    assert.equal(res.headers.get("location"), `/v1/${t.instance}/customers/${created.id}`);
    for (const field of ["createdAt", "updatedAt"]) assert.ok(!Number.isNaN(Date.parse(created[field])));

    const got = await call(t, "GET", `/${created.id}`, { key: t.reader });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("etag"), '"1"');
    assert.deepEqual(await got.json(), created);

    const patched = await call(t, "PATCH", `/${created.id}`, {
      body: { jobTitle: "Analyst", phone: null, custom: { tier: null, region: "eu" } },
      headers: { "if-match": '"1"' },
    });
    assert.equal(patched.status, 200, await patched.clone().text());
    const record = await patched.json();
    assert.equal(patched.headers.get("etag"), '"2"');
    assert.equal(record.version, 2);
    assert.equal(record.jobTitle, "Analyst");
    assert.equal(record.phone, undefined);
    assert.deepEqual(record.custom, { region: "eu" });

    const list = await (await call(t, "GET", "?limit=10", { key: t.reader })).json();
    assert.deepEqual(list.items.map((c) => c.id), [created.id]);
    assert.equal(list.nextCursor, null);
  });

  test("PATCH accepts application/json and refuses other media types", async () => {
    const t = await tenant();
    const c = await create(t);
    const ok = await call(t, "PATCH", `/${c.id}`, { body: { company: "AE Ltd" }, headers: { "content-type": "application/json" } });
    assert.equal(ok.status, 200);
    await expectProblem(assert, await call(t, "PATCH", `/${c.id}`, { body: "company=x", headers: { "content-type": "text/plain" } }), 415, "unsupported_media_type");
    await expectProblem(assert, await call(t, "POST", "", { body: "x", headers: { "content-type": "text/plain" } }), 415, "unsupported_media_type");
  });
});

describe("authorisation and validation at the edge", () => {
  test("missing, wrong and revoked keys are unauthorized; wrong scope is forbidden", async () => {
    const t = await tenant();
    await expectProblem(assert, await call(t, "GET", "", { key: null }), 401, "unauthorized");
    await expectProblem(assert, await call(t, "GET", "", { key: "sgk_0000000000000000_" + "0".repeat(64) }), 401, "unauthorized");
    await expectProblem(assert, await call(t, "POST", "", { key: t.reader, body: ada() }), 403, "forbidden");
    const syncReader = await gw.apiKey(t.instance, ["sync:read"]);
    await expectProblem(assert, await call(t, "GET", "", { key: syncReader }), 403, "forbidden");
    const res = await gw.admin("POST", `${t.instance}/api-keys`, { scopes: ["customers:read"] });
    const { id, key } = await res.json();
    assert.equal((await call(t, "GET", "", { key })).status, 200);
    assert.equal((await gw.admin("DELETE", `${t.instance}/api-keys/${id}`)).status, 204);
    await expectProblem(assert, await call(t, "GET", "", { key }), 401, "unauthorized");
  });

  test("bodies are validated by the core before anything is forwarded", async () => {
    const t = await tenant();
    const cases = [
      [{ ...ada(), email: "not-an-email" }, "email"],
      [{ ...ada(), phone: "0207 123 4567" }, "phone"],
      [{ ...ada(), favouriteColour: "blue" }, "favouriteColour"],
      [{ ...ada(), custom: { nested: { no: true } } }, "custom.nested"],
      [{ ...ada(), firstName: "x".repeat(101) }, "firstName"],
      [{ ...ada(), id: "cus_000000000000000000000000" }, "id"],
    ];
    for (const [body, field] of cases) {
      const { result, reached } = await originSaw(() => call(t, "POST", "", { body }));
      const problem = await expectProblem(assert, result, 422, "invalid_field");
      assert.equal(problem.field, field, JSON.stringify(problem));
      assert.equal(reached, 0, `origin saw nothing for ${field}`);
    }
    const c = await create(t);
    const res = await call(t, "PATCH", `/${c.id}`, { body: { firstName: null } });
    assert.equal((await expectProblem(assert, res, 422, "invalid_field")).field, "firstName");
  });

  test("a field-limited key may write only its fields; the record is unchanged", async () => {
    const t = await tenant();
    const c = await create(t);
    const marketing = await gw.apiKey(t.instance, ["customers:read", "customers:write"], { fields: ["tags", "custom.tier"] });
    const ok = await call(t, "PATCH", `/${c.id}`, { key: marketing, body: { tags: ["vip", "newsletter"], custom: { tier: "platinum" } } });
    assert.equal(ok.status, 200, await ok.clone().text());
    const { result, reached } = await originSaw(() =>
      call(t, "PATCH", `/${c.id}`, { key: marketing, body: { email: "other@example.com" } }));
    const problem = await expectProblem(assert, result, 403, "forbidden_field");
    assert.equal(problem.field, "email");
    assert.equal(reached, 0);
    const creating = await call(t, "POST", "", { key: marketing, body: ada() });
    await expectProblem(assert, creating, 403, "forbidden_field");
    const record = await (await call(t, "GET", `/${c.id}`)).json();
    assert.equal(record.email, "ada@example.com");
    assert.deepEqual(record.tags, ["vip", "newsletter"]);
  });

  test("unknown and foreign ids are not_found", async () => {
    const t = await tenant();
    await expectProblem(assert, await call(t, "GET", "/cus_000000000000000000000000"), 404, "not_found");
    await expectProblem(assert, await call(t, "GET", "/bad%20id"), 404, "not_found");
  });
});

describe("nothing applied twice, nothing lost", () => {
  test("an idempotent create retried 10 times concurrently makes one record", async () => {
    const t = await tenant();
    const headers = { "idempotency-key": "create-ada-1" };
    const answers = await Promise.all(Array.from({ length: 10 }, () => call(t, "POST", "", { body: ada(), headers })));
    const bodies = await Promise.all(answers.map((r) => r.json()));
    assert.deepEqual(answers.map((r) => r.status), Array(10).fill(201));
    assert.equal(new Set(bodies.map((b) => b.id)).size, 1, "one record id in every answer");
    assert.equal(answers.filter((r) => r.headers.get("idempotent-replayed") === "true").length, 9);
    const list = await (await call(t, "GET", "")).json();
    assert.equal(list.items.length, 1);
    const other = await call(t, "POST", "", { body: ada({ firstName: "Augusta" }), headers });
    await expectProblem(assert, other, 409, "idempotency_conflict");
  });

  test("two concurrent PATCHes with the same If-Match: exactly one wins", async () => {
    const t = await tenant();
    const c = await create(t);
    const [a, b] = await Promise.all([
      call(t, "PATCH", `/${c.id}`, { body: { company: "A" }, headers: { "if-match": '"1"' } }),
      call(t, "PATCH", `/${c.id}`, { body: { company: "B" }, headers: { "if-match": '"1"' } }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
    const loser = a.status === 409 ? a : b;
    await expectProblem(assert, loser, 409, "version_conflict");
    const record = await (await call(t, "GET", `/${c.id}`)).json();
    assert.equal(record.version, 2);
    const stale = await call(t, "PATCH", `/${c.id}`, { body: { company: "C" }, headers: { "if-match": '"1"' } });
    await expectProblem(assert, stale, 409, "version_conflict");
  });

  test("pagination over 250 records with inserts between pages returns each record once", async () => {
    const t = await tenant();
    const ids = [];
    for (let i = 0; i < 250; i++) ids.push((await create(t, ada({ email: `p${i}@example.com`, tags: undefined }))).id);
    const seen = [];
    let cursor = null;
    for (let page = 0; page < 50; page++) {
      const q = `?limit=40${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const body = await (await call(t, "GET", q, { key: t.reader })).json();
      seen.push(...body.items.map((c) => c.id));
      if (page < 3) ids.push((await create(t, ada({ email: `late${page}@example.com` }))).id);
      if (!body.nextCursor) break;
      cursor = body.nextCursor;
    }
    assert.equal(new Set(seen).size, seen.length, "no record twice");
    assert.deepEqual(seen, ids, "every record once, in insertion order");
  });

  test("origin down: a create answers 503 and the retry with the same key makes one record", async () => {
    const t = await tenant();
    const headers = { "idempotency-key": "retry-1" };
    await gw.originControl({ mode: "fail", times: 1 });
    const down = await call(t, "POST", "", { body: ada(), headers });
    await expectProblem(assert, down, 503, "origin_unavailable");
    const up = await call(t, "POST", "", { body: ada(), headers });
    assert.equal(up.status, 201);
    assert.equal((await (await call(t, "GET", "")).json()).items.length, 1);
  });
});

describe("isolation, rate limits and the access log", () => {
  test("tenant A's key and ids do nothing on tenant B", async () => {
    const a = await tenant();
    const b = await tenant();
    const c = await create(a);
    await expectProblem(assert, await call(b, "GET", "", { key: a.writer }), 401, "unauthorized");
    await expectProblem(assert, await call(b, "GET", `/${c.id}`), 404, "not_found");
    await expectProblem(assert, await call(b, "PATCH", `/${c.id}`, { body: { company: "x" } }), 404, "not_found");
    assert.equal((await (await call(b, "GET", "")).json()).items.length, 0);
  });

  test("a key's token bucket runs out with 429 and Retry-After, then recovers", async () => {
    const t = await tenant({ rateLimits: { perKeyPerMinute: 30, perTenantPerMinute: 1000 } });
    // 30 tokens, refilled at 0.5 per second: about 30 calls pass, then 429. A slow machine may
    // refill a token or two while the loop runs, so the bound allows for the time taken.
    const started = Date.now();
    let passed = 0;
    let limited;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await call(t, "GET", "", { key: t.reader });
      if (res.status === 429) limited = res;
      else {
        assert.equal(res.status, 200);
        passed += 1;
        await res.arrayBuffer();
      }
    }
    const refilled = Math.ceil(((Date.now() - started) / 1000) * 0.5);
    assert.ok(limited, "the bucket ran out");
    assert.ok(passed >= 30 && passed <= 30 + refilled, `${passed} calls passed, ${refilled} refilled`);
    const problem = await expectProblem(assert, limited, 429, "rate_limited");
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
    assert.equal(problem.retryAfter, retryAfter);
    // Another key of the same tenant still has its own bucket.
    assert.equal((await call(t, "GET", "", { key: t.writer })).status, 200);
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
    assert.equal((await call(t, "GET", "", { key: t.reader })).status, 200, "recovered");
  });

  test("the tenant bucket limits all keys together", async () => {
    const t = await tenant({ rateLimits: { perKeyPerMinute: 600, perTenantPerMinute: 10 } });
    let limited = 0;
    for (let i = 0; i < 12; i++) {
      const res = await call(t, "GET", "", { key: i % 2 ? t.reader : t.writer });
      if (res.status === 429) limited += 1;
      await res.arrayBuffer();
    }
    assert.ok(limited >= 2, `${limited} limited`);
  });

  test("every keyed call is in the access log with the key id, never the key; keyless calls are only counted", async () => {
    const t = await tenant();
    const c = await create(t);
    await call(t, "GET", `/${c.id}`, { key: t.reader });
    await call(t, "GET", "", { key: null });
    await call(t, "GET", "", { key: "sgk_0000000000000000_" + "0".repeat(64) });
    await call(t, "PATCH", `/${c.id}`, { body: { email: "bad" } });
    let items = [];
    for (let i = 0; i < 100 && items.length < 3; i++) {
      items = (await (await gw.admin("GET", `${t.instance}/access-log?limit=10`)).json()).items;
      if (items.length < 3) await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 200));
    items = (await (await gw.admin("GET", `${t.instance}/access-log?limit=10`)).json()).items;
    assert.deepEqual(items.map((i) => [i.method, i.route, i.status, i.code]), [
      ["PATCH", "PATCH /v1/{instance}/customers/{id}", 422, "invalid_field"],
      ["GET", "GET /v1/{instance}/customers/{id}", 200, null],
      ["POST", "POST /v1/{instance}/customers", 201, null],
    ]);
    const writerId = t.writer.split("_")[1];
    assert.equal(items[0].apiKeyId, writerId);
    for (const item of items) {
      assert.match(item.requestId, /^req_/);
      assert.ok(!Number.isNaN(Date.parse(item.at)));
    }
    const syncReader = await gw.apiKey(t.instance, ["sync:read"]);
    const status = await (await gw.get(`/v1/${t.instance}/sync/status`, syncReader)).json();
    assert.equal(status.refusedLastHour.unauthorized, 2, JSON.stringify(status));
    const text = JSON.stringify(items);
    assert.ok(!text.includes(t.writer) && !text.includes(t.reader), "no key in the log");
    const page = await (await gw.admin("GET", `${t.instance}/access-log?limit=2`)).json();
    assert.equal(page.items.length, 2);
    const rest = await (await gw.admin("GET", `${t.instance}/access-log?limit=10&cursor=${page.nextCursor}`)).json();
    assert.equal(rest.items.length, 1);
  });
});
