// A flood of unauthenticated traffic at an instance that has applied syncs, end to end (the
// worker in workerd via Miniflare, local KV and SQLite Durable Objects, the reference origin):
// unsigned, wrongly signed, malformed and oversized signatures, garbage header bytes, customer
// calls without a valid bearer. Afterwards every applied row is still in the sync log, the
// unauthenticated rows stay within their cap, a signed sync still applies, nothing reached the
// origin and the customer calls without a bearer left no access-log row (only counters).
import assert from "node:assert/strict";
import { Agent, request as httpRequest } from "node:http";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { branding, expectProblem, request, startGateway, syncgate, whsec } from "./support/harness.mjs";
import { edgeContract } from "./support/contract.mjs";
import { head, rawRequest } from "./support/raw.mjs";

const FLOOD = Number(process.env.FLOOD_REQUESTS ?? 20000);
const FLOOD_CONCURRENCY = Number(process.env.FLOOD_CONCURRENCY ?? 48);
const FLOOD_BUDGET_MS = Number(process.env.FLOOD_BUDGET_MS ?? 420000);
const UNAUTHENTICATED_CAP = 500;
const AUTHENTICATED_CAP = 10000;
const FRAGMENT = 64;

let gw;
before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Math.floor(Date.now() / 1000);


/** A keep-alive HTTP client for the flood (fetch's one-connection-per-request is too slow). */
function makeClient(base) {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: FLOOD_CONCURRENCY });
  const send = ({ method, path, headers, body }) => new Promise((resolve) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
      const parts = [];
      res.on("data", (c) => parts.push(c));
      res.on("end", () => {
        const text = Buffer.concat(parts).toString("utf8");
        // Every answer of the flood is checked against openapi.yaml too (support/contract.mjs);
        // a mismatch is remembered there and fails this file at exit.
        if (edgeContract.covers(base)) {
          try {
            edgeContract.observe({ method, target: path, status: res.statusCode, contentType: res.headers["content-type"], body: text, header: (name) => res.headers[name.toLowerCase()] });
          } catch {
            // counted in edgeContract.violations; the exit report fails the run
          }
        }
        resolve({ status: res.statusCode, headers: res.headers, text });
      });
      res.on("error", () => resolve({ status: 0 }));
    });
    req.setTimeout(15000, () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0 }));
    req.end(body);
  });
  return { send, close: () => agent.destroy() };
}

describe("a flood of unauthenticated requests", () => {
  test(`${FLOOD} unauthenticated requests leave every applied row, a bounded refusal log, no access-log rows and a working instance`, { timeout: FLOOD_BUDGET_MS + 120000 }, async () => {
    const t = await gw.createInstance("flood-a", "flood");
    const reader = await gw.apiKey(t.instance, ["sync:read"]);
    const writer = await gw.apiKey(t.instance, ["customers:read", "customers:write"]);

    // Before: applied syncs under both schemes, and signed refusals (stale versions).
    const applied = [];
    for (let v = 1; v <= 40; v++) {
      const res = await gw.sync(t.instance, branding(t.tenant, v, `Flood v${v}`), t.key, { scheme: v % 2 ? "rfc9421" : "standard-webhooks" });
      assert.equal(res.status, 200);
      applied.push((await res.json()).requestId);
    }
    const signedRefused = [];
    for (let v = 1; v <= 5; v++) {
      const res = await gw.sync(t.instance, branding(t.tenant, v, "Older"), t.key);
      signedRefused.push((await expectProblem(assert, res, 409, "stale_version")).requestId);
    }
    const created = await request(`${gw.edge}/v1/${t.instance}/customers`, {
      method: "POST", headers: { authorization: `Bearer ${writer}`, "content-type": "application/json" },
      body: JSON.stringify({ firstName: "Flo", email: "flo@example.com" }),
    });
    assert.equal(created.status, 201);
    await sleep(300);
    const accessBefore = await gw.allRows(`${t.instance}/access-log`, { admin: true });
    const originBefore = await gw.originStats();

    // The flood: request shapes in rotation; each answer's code is counted.
    const body = JSON.stringify(branding(t.tenant, 1000));
    const url = `${gw.edge}/v1/${t.instance}/sync`;
    const path = `/v1/${t.instance}/sync`;
    const json = { "content-type": "application/json" };
    const signed = (key, options = {}) => {
      const s = syncgate.signRequest({ method: "POST", url, headers: json, body }, key, options);
      assert.equal(s.ok, true);
      return { ...json, ...s.headers };
    };
    const forged = { kid: t.key.kid, secret: whsec() };
    const huge = `"x-${"a".repeat(20000)}"`;
    const host = new URL(gw.edge).host;
    const shapes = [
      () => ({ kind: "unsigned", method: "POST", path, headers: json, body }),
      () => ({ kind: "forged", method: "POST", path, headers: signed(forged, { nonce: randomBytes(8).toString("hex") }), body }),
      () => ({ kind: "forged-webhooks", method: "POST", path, headers: signed(forged, { scheme: "standard-webhooks", nonce: `msg_${randomBytes(8).toString("hex")}` }), body }),
      () => ({ kind: "garbage", method: "POST", path, headers: { ...json, "signature-input": `sig1=(${randomBytes(6).toString("hex")}`, signature: "sig1=:AAAA:" }, body }),
      () => ({ kind: "huge-input", method: "POST", path, headers: { ...json, "signature-input": `sig1=(${huge});created=${now()};keyid="${t.key.kid}";nonce="n"`, signature: "sig1=:AAAA:" }, body }),
      () => ({ kind: "unknown-key", method: "POST", path, headers: signed({ kid: `nobody-${randomBytes(3).toString("hex")}`, secret: whsec() }), body }),
      () => ({ kind: "stale", method: "POST", path, headers: signed(forged, { nowSeconds: now() - 4000 }), body }),
      () => ({ kind: "media-type", method: "POST", path, headers: { "content-type": "text/plain" }, body }),
      () => ({ kind: "customers-no-bearer", method: "GET", path: `/v1/${t.instance}/customers`, headers: {} }),
      () => ({ kind: "customers-bad-bearer", method: "POST", path: `/v1/${t.instance}/customers`, headers: { ...json, authorization: `Bearer sgk_${randomBytes(8).toString("hex")}_${"0".repeat(64)}` }, body: "{}" }),
      () => ({ kind: "customers-garbage-bearer", method: "GET", path: `/v1/${t.instance}/customers/cus_1`, headers: { authorization: `Bearer ${"%".repeat(300)}` } }),
      () => ({ kind: "logs-bad-bearer", method: "GET", path: `/v1/${t.instance}/sync/logs`, headers: { authorization: "Bearer nope" } }),
      () => ({ kind: "raw-bad-bytes", raw: head("POST", path, host, [["Content-Type", "application/json"], ["Signature-Input", "sig1=(\x01\x7f"], ["Content-Length", String(body.length)]]) }),
    ];
    const client = makeClient(gw.edge);
    const seen = new Map(); // kind → Map(code → count)
    const floodIds = new Set();
    const reachedOrigin = [];
    let sent = 0;
    let transportRetries = 0;
    const started = Date.now();
    const note = (kind, status, text) => {
      let code = String(status);
      try {
        const problem = JSON.parse(text);
        code = problem.code ?? code;
        if (problem.requestId) floodIds.add(problem.requestId);
      } catch { /* not JSON */ }
      if (status === 200 || status === 201) reachedOrigin.push(kind);
      const counts = seen.get(kind) ?? new Map();
      counts.set(code, (counts.get(code) ?? 0) + 1);
      seen.set(kind, counts);
    };
    async function flooder() {
      while (sent < FLOOD && Date.now() - started < FLOOD_BUDGET_MS) {
        const spec = shapes[sent % shapes.length]();
        sent += 1;
        // A connection lost on the way (a kept-alive socket closed under the client) is tried
        // again, as any client would; only an answer counts.
        let res = { status: 0 };
        for (let attempt = 0; attempt < 3 && res.status === 0; attempt++) {
          if (attempt > 0) transportRetries += 1;
          if (spec.raw) {
            const raw = await rawRequest(gw.edge, spec.raw, body);
            res = { status: raw.status, text: raw.body };
          } else {
            res = await client.send(spec);
          }
        }
        note(spec.kind, res.status, res.text ?? "");
      }
    }
    await Promise.all(Array.from({ length: FLOOD_CONCURRENCY }, flooder));
    client.close();
    const floodMs = Date.now() - started;
    const table = Object.fromEntries([...seen].map(([k, m]) => [k, Object.fromEntries(m)]));
    console.log(JSON.stringify({ sent, transportRetries, floodMs, perSecond: Math.round(sent / (floodMs / 1000)), answers: table }));
    assert.ok(sent >= FLOOD, `${sent} of ${FLOOD} sent within ${FLOOD_BUDGET_MS} ms`);
    assert.deepEqual(reachedOrigin, [], "no flood request was accepted");
    for (const [kind, counts] of seen) {
      for (const code of counts.keys()) {
        assert.ok(code !== "0" && !/^[23]/.test(code), `${kind}: answered ${code}`);
      }
    }

    // After: a signed sync still applies.
    const fresh = await gw.sync(t.instance, branding(t.tenant, 2000, "After the flood"), t.key);
    assert.equal(fresh.status, 200, await fresh.clone().text());
    const freshId = (await fresh.json()).requestId;
    await sleep(1500); // deferred log writes land
    const originAfter = await gw.originStats();
    assert.equal((originAfter.received.sync ?? 0) - (originBefore.received.sync ?? 0), 1, "only the signed sync reached the origin");

    const rows = await gw.allRows(`/v1/${t.instance}/sync/logs`, { bearer: reader });
    const ids = new Set(rows.map((r) => r.requestId));
    for (const id of [...applied, freshId]) assert.ok(ids.has(id), `applied row ${id} kept`);
    for (const id of signedRefused) assert.ok(ids.has(id), `signed refusal ${id} kept`);
    const unauthenticated = rows.filter((r) => r.signatureResult !== "valid");
    const authenticated = rows.filter((r) => r.signatureResult === "valid");
    assert.ok(unauthenticated.length <= UNAUTHENTICATED_CAP, `${unauthenticated.length} unauthenticated rows (cap ${UNAUTHENTICATED_CAP})`);
    assert.ok(unauthenticated.length >= 100, `the most recent refusals are still listed (${unauthenticated.length})`);
    assert.ok(authenticated.length <= AUTHENTICATED_CAP);
    for (const r of unauthenticated) {
      assert.ok(["missing", "invalid", "not_checked"].includes(r.signatureResult), r.signatureResult);
      assert.ok(floodIds.has(r.requestId), `unauthenticated row ${r.requestId} is one of the flood's`);
      assert.ok((r.message ?? "").length <= 200, `log message bounded: ${r.message?.length}`);
      assert.ok(!(r.message ?? "").includes("a".repeat(FRAGMENT + 1)), "no long sender text in a log message");
    }

    // No access-log row for a call without a valid bearer; the refusals are counted instead.
    const accessAfter = await gw.allRows(`${t.instance}/access-log`, { admin: true });
    assert.equal(accessAfter.length, accessBefore.length, "no access-log rows from unauthenticated customer calls");
    const status = await (await gw.get(`/v1/${t.instance}/sync/status`, reader)).json();
    assert.equal(typeof status.refusedLastHour, "object", `sync/status has refusedLastHour: ${JSON.stringify(status)}`);
    const observed = new Map();
    for (const [kind, counts] of seen) {
      if (kind === "raw-bad-bytes") continue;
      for (const [code, n] of counts) observed.set(code, (observed.get(code) ?? 0) + n);
    }
    for (const [code, n] of observed) {
      const counted = status.refusedLastHour[code] ?? 0;
      assert.ok(counted >= n, `refusedLastHour.${code} = ${counted}, at least the ${n} answered`);
    }
  });

  test("signed-but-refused rows are authenticated rows: 2,100 of them are all kept next to the applied ones", { timeout: 300000 }, async () => {
    const SIGNED_REFUSALS = Number(process.env.FLOOD_SIGNED_REFUSALS ?? 2100);
    const t = await gw.createInstance("flood-c", "floodc");
    const reader = await gw.apiKey(t.instance, ["sync:read"]);
    const applied = [];
    for (const v of [100000, 100001]) {
      const res = await gw.sync(t.instance, branding(t.tenant, v), t.key);
      assert.equal(res.status, 200);
      applied.push((await res.json()).requestId);
    }
    // Older versions, each signed properly with a fresh nonce: refused as stale by the ledger.
    const client = makeClient(gw.edge);
    const url = `${gw.edge}/v1/${t.instance}/sync`;
    let next = 0;
    const refused = new Set();
    async function sender() {
      while (next < SIGNED_REFUSALS) {
        const v = ++next;
        const body = JSON.stringify(branding(t.tenant, v, `Old ${v}`));
        const signed = syncgate.signRequest({ method: "POST", url, headers: { "content-type": "application/json" }, body }, t.key, {});
        let res = { status: 0 };
        for (let attempt = 0; attempt < 3 && res.status === 0; attempt++) {
          res = await client.send({ method: "POST", path: `/v1/${t.instance}/sync`, headers: { "content-type": "application/json", ...signed.headers }, body });
        }
        assert.equal(res.status, 409, res.text);
        const problem = JSON.parse(res.text);
        assert.equal(problem.code, "stale_version");
        refused.add(problem.requestId);
      }
    }
    await Promise.all(Array.from({ length: 16 }, sender));
    client.close();
    await sleep(500);
    const rows = await gw.allRows(`/v1/${t.instance}/sync/logs`, { bearer: reader });
    const ids = new Set(rows.map((r) => r.requestId));
    for (const id of applied) assert.ok(ids.has(id), `applied row ${id} kept`);
    const kept = [...refused].filter((id) => ids.has(id)).length;
    assert.equal(kept, refused.size, `${kept} of ${refused.size} signed-but-refused rows listed (authenticated rows are kept up to ${AUTHENTICATED_CAP})`);
    for (const r of rows.filter((row) => refused.has(row.requestId))) assert.equal(r.signatureResult, "valid");
  });

  test("a Signature-Input naming a 20,000-character component gets a small answer and a short log message", async () => {
    const t = await gw.createInstance("flood-b", "floodb");
    const reader = await gw.apiKey(t.instance, ["sync:read"]);
    const filler = "a".repeat(20000);
    const body = JSON.stringify(branding(t.tenant, 1));
    const url = `${gw.edge}/v1/${t.instance}/sync`;
    const cases = [
      { "signature-input": `sig1=("@method" "@path" "content-digest" "x-${filler}");created=${now()};keyid="${t.key.kid}";nonce="n1";alg="hmac-sha256"`, signature: "sig1=:AAAA:" },
      { "signature-input": `sig1=("@method" "@path" "content-digest");created=${now()};keyid="${filler}";nonce="n2"`, signature: "sig1=:AAAA:" },
      { "signature-input": `sig1=("@method" "@path" "content-digest");created=${now()};keyid="${t.key.kid}";nonce="${filler}"`, signature: "sig1=:AAAA:" },
      { "signature-input": `${filler}=("@method")`, signature: `${filler}=:AAAA:` },
      { "webhook-id": filler, "webhook-timestamp": String(now()), "webhook-signature": "v1,AAAA" },
      { "webhook-id": "msg_1", "webhook-timestamp": filler, "webhook-signature": `v1,${filler}` },
    ];
    for (const [i, headers] of cases.entries()) {
      const res = await request(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
      const text = await res.text();
      assert.ok(res.status >= 400 && res.status < 500, `case ${i}: ${res.status}`);
      assert.ok(Buffer.byteLength(text) < 1024, `case ${i}: answer ${Buffer.byteLength(text)} bytes`);
      assert.ok(!text.includes("a".repeat(FRAGMENT + 1)), `case ${i}: at most a ${FRAGMENT}-character fragment of sender text`);
      for (const [name, value] of res.headers) assert.ok(value.length < 256, `case ${i}: header ${name} bounded`);
      const problem = JSON.parse(text);
      const items = await gw.logs(t.instance, reader, { until: (rows) => rows.some((r) => r.requestId === problem.requestId) });
      const row = items.find((r) => r.requestId === problem.requestId);
      assert.equal(row.code, problem.code);
      assert.ok((row.message ?? "").length <= 200, `case ${i}: log message ${row.message?.length} chars`);
      assert.ok(!(row.message ?? "").includes("a".repeat(FRAGMENT + 1)), `case ${i}: log message carries at most a fragment`);
    }
  });
});
