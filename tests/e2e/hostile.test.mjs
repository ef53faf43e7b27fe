// Hostile requests against the running edge (the worker in workerd via Miniflare, local KV and
// SQLite Durable Objects, the reference origin): the cases are data (hostile-cases.mjs), each
// with the status and code the brief defines. For every case: the answer is that problem, nothing
// reached the origin, the refusal is logged where it belongs and within its bounds, and no answer
// carries a secret. Plus the Standard Webhooks cross-instance replay: a payload refused by
// instance A's policy, replayed to instance B of the same tenant, is refused there too.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { hostileCases, sign9421 } from "./hostile-cases.mjs";
import { SMTP_PASSWORD, branding, expectProblem, request, startGateway, syncgate, whsec } from "./support/harness.mjs";
import { head, rawRequest } from "./support/raw.mjs";

const MESSAGE_BOUND = 200;
const FRAGMENT = 64;

// Set up at the top level (not in `before`): the cases are built from these instances and keys
// when the tests are declared.
const gw = await startGateway();
const ctx = {};
const secrets = new Map();
{
  const revoked = { kid: "hostile-old", version: 1, status: "active", secret: whsec() };
  const a = await gw.createInstance("hostile-a", "hostile", { payloadTypes: ["features", "branding", "combined"] });
  const added = await gw.admin("POST", `${a.instance}/keys`, revoked);
  assert.equal(added.status, 201);
  assert.equal((await gw.admin("PATCH", `${a.instance}/keys/${revoked.kid}`, { status: "revoked" })).status, 200);
  a.revoked = revoked;
  a.reader = await gw.apiKey(a.instance, ["sync:read"]);
  a.writer = await gw.apiKey(a.instance, ["customers:read", "customers:write"]);
  a.customersReader = await gw.apiKey(a.instance, ["customers:read"]);
  a.fieldLimited = await gw.apiKey(a.instance, ["customers:read", "customers:write"], { fields: ["tags"] });
  const dropped = await (await gw.admin("POST", `${a.instance}/api-keys`, { scopes: ["customers:read"] })).json();
  assert.equal((await gw.admin("DELETE", `${a.instance}/api-keys/${dropped.id}`)).status, 204);
  a.revokedApiKey = dropped.key;
  const o = await gw.createInstance("other-b", "other");
  o.reader = await gw.apiKey(o.instance, ["sync:read"]);
  o.writer = await gw.apiKey(o.instance, ["customers:read", "customers:write"]);
  let version = 100;
  Object.assign(ctx, {
    a, o, adminToken: gw.adminToken,
    now: () => Math.floor(Date.now() / 1000),
    nonce: () => randomBytes(8).toString("hex"),
    version: () => ++version,
    sign: (body, key, options = {}) => {
      const signed = syncgate.signRequest({ method: "POST", url: `${gw.edge}/v1/${a.instance}/sync`, headers: { "content-type": "application/json" }, body }, key, options);
      assert.equal(signed.ok, true, signed.message);
      return signed.headers;
    },
    head: (method, path, headers) => head(method, path, new URL(gw.edge).host, headers),
  });
  for (const [label, value] of [["admin token", gw.adminToken], ["origin secret", gw.originSecret], ["smtp password", SMTP_PASSWORD],
    ["smtp password (cases)", "hostile-smtp-pass"], ["A's key", a.key.secret], ["A's revoked key", revoked.secret], ["B's key", o.key.secret],
    ["A's reader", a.reader], ["A's writer", a.writer], ["A's customers reader", a.customersReader], ["A's field-limited key", a.fieldLimited],
    ["A's dropped API key", a.revokedApiKey], ["B's reader", o.reader], ["B's writer", o.writer]]) {
    secrets.set(value, label);
    if (value.startsWith("whsec_")) secrets.set(value.slice(6), `${label} (base64)`);
  }
}
after(async () => {
  await gw.stop();
});

function scan(where, headers, text) {
  const all = [text, ...[...headers].map(([n, v]) => `${n}: ${Array.isArray(v) ? v.join(", ") : v}`)].join("\n");
  for (const [secret, label] of secrets) assert.ok(!all.includes(secret), `${where}: the answer carries ${label}`);
}

/** Sends a case's request; returns { status, contentType, headers (iterable), text }. */
async function send(spec) {
  if (spec.raw) {
    const res = await rawRequest(gw.edge, spec.raw, spec.body ?? "");
    return { status: res.status, contentType: res.headers?.get("content-type")?.[0] ?? "", headers: res.headers ?? new Map(), text: res.body ?? "", requestIdHeader: res.headers?.get("x-request-id")?.[0] };
  }
  const res = await request(`${gw.edge}${spec.path}`, { method: spec.method, headers: spec.headers, body: spec.body });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", headers: res.headers, text, requestIdHeader: res.headers.get("x-request-id") };
}


const seen = []; // { case, requestId }

describe("the tooling", () => {
  test("the hand-built RFC 9421 signer is accepted (so the malformed variants are malformed only where meant)", async () => {
    const { a } = ctx;
    const path = `/v1/${a.instance}/sync`;
    const body = JSON.stringify(branding(a.tenant, 1));
    const headers = sign9421({ path, body, secret: a.key.secret, params: `;created=${ctx.now()};keyid="${a.key.kid}";nonce="${ctx.nonce()}";alg="hmac-sha256"` });
    const res = await request(`${gw.edge}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    assert.equal(res.status, 200, await res.clone().text());
  });
});

describe("hostile requests", () => {
  const cases = hostileCases(ctx);
  test("there are at least 100 cases, each with a status and a code", () => {
    assert.ok(cases.length >= 100, `${cases.length} cases`);
    for (const c of cases) assert.ok(Number.isInteger(c.status) && typeof c.code === "string", c.name);
    assert.equal(new Set(cases.map((c) => `${c.group}: ${c.name}`)).size, cases.length, "case names are unique");
  });
  for (const c of cases) {
    test(`${c.group}: ${c.name} → ${c.status} ${c.code}`, async () => {
      const spec = c.build();
      const before = await gw.originStats();
      const res = await send(spec);
      const afterStats = await gw.originStats();
      assert.equal(res.status, c.status, `status (answer: ${res.text.slice(0, 300)})`);
      assert.match(res.contentType, /^application\/problem\+json/);
      const problem = JSON.parse(res.text);
      assert.equal(problem.code, c.code, `code (answer: ${res.text.slice(0, 300)})`);
      assert.equal(problem.status, c.status);
      assert.equal(problem.type, `urn:syncgate:problem:${c.code}`);
      assert.match(problem.requestId, /^req_[0-9a-f]{24}$/);
      assert.equal(res.requestIdHeader, problem.requestId);
      if (c.field) assert.equal(problem.field, c.field);
      if (c.status === 429) assert.ok(res.headers.get("retry-after"));
      assert.deepEqual(afterStats, before, "nothing reached the origin");
      scan(c.name, res.headers, res.text);
      assert.ok(Buffer.byteLength(res.text) < 2048, `answer bounded: ${Buffer.byteLength(res.text)} bytes`);
      for (const forbidden of c.forbidden ?? []) assert.ok(!res.text.includes(forbidden), `answer echoes ${forbidden}`);
      seen.push({ c, requestId: problem.requestId });
    });
  }

  test("each refusal is logged where it belongs, within its bounds", async () => {
    const { a } = ctx;
    assert.ok(seen.length > 0);
    let rows = [];
    let access = [];
    const wanted = seen.filter(({ c }) => typeof c.log === "string").map(({ requestId }) => requestId);
    for (let i = 0; i < 40; i++) {
      rows = await gw.allRows(`/v1/${a.instance}/sync/logs`, { bearer: a.reader });
      access = await gw.allRows(`${a.instance}/access-log`, { admin: true });
      const ids = new Set(rows.map((r) => r.requestId));
      if (wanted.every((id) => ids.has(id))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const byId = new Map(rows.map((r) => [r.requestId, r]));
    const accessIds = new Set(access.map((r) => r.requestId));
    const problems = [];
    for (const { c, requestId } of seen) {
      const row = byId.get(requestId);
      if (typeof c.log === "string") {
        if (!row) problems.push(`${c.name}: no sync-log row`);
        else {
          if (row.signatureResult !== c.log) problems.push(`${c.name}: signatureResult ${row.signatureResult}, expected ${c.log}`);
          if (row.code !== c.code) problems.push(`${c.name}: logged code ${row.code}`);
          if (row.status !== "rejected") problems.push(`${c.name}: logged status ${row.status}`);
          if ((row.message ?? "").length > MESSAGE_BOUND) problems.push(`${c.name}: log message of ${row.message.length} chars`);
          if (/(.)\1{64}/.test(row.message ?? "")) problems.push(`${c.name}: log message carries more than a ${FRAGMENT}-character fragment`);
          for (const forbidden of c.forbidden ?? []) if ((row.message ?? "").includes(forbidden)) problems.push(`${c.name}: log echoes ${forbidden}`);
        }
      } else if (c.log === null && row) problems.push(`${c.name}: unexpected sync-log row`);
      if (c.access === true && !accessIds.has(requestId)) problems.push(`${c.name}: no access-log row`);
      if (c.access === false && accessIds.has(requestId)) problems.push(`${c.name}: an access-log row for a call without a valid bearer`);
    }
    const text = JSON.stringify(rows) + JSON.stringify(access);
    for (const [secret, label] of secrets) if (text.includes(secret)) problems.push(`a log carries ${label}`);
    assert.deepEqual(problems, []);
  });
});

describe("Standard Webhooks are bound to the instance", () => {
  test("a payload refused by instance A's policy, replayed to instance B of the same tenant, is refused", async () => {
    const shared = { kid: "shared-2026", version: 1, status: "active", secret: whsec() };
    const a = await gw.createInstance("hooks-a", "hooks", { keys: [shared], payloadTypes: ["features"] });
    const b = await gw.createInstance("hooks-b", "hooks", { keys: [shared] });
    const reader = await gw.apiKey(b.instance, ["sync:read"]);
    const payload = branding("hooks", 5, "Refused by A");
    const { url, init } = gw.signSync(a.instance, payload, shared, { scheme: "standard-webhooks" });
    const before = await gw.originStats();
    await expectProblem(assert, await request(url, init), 422, "unsupported_payload_type");
    // The same bytes (Standard Webhooks signs id.timestamp.body, not the URL) to B.
    const replay = await request(url.replace(a.instance, b.instance), init);
    await expectProblem(assert, replay, 409, "replayed_nonce");
    // The same body under a fresh webhook-id, to B.
    const fresh = gw.signSync(b.instance, payload, shared, { scheme: "standard-webhooks" });
    await expectProblem(assert, await request(fresh.url, fresh.init), 409, "duplicate_payload");
    assert.deepEqual(await gw.originStats(), before, "nothing reached the origin");
    // B itself works: a new payload applies.
    const own = await gw.sync(b.instance, branding("hooks", 6, "B's own"), shared, { scheme: "standard-webhooks" });
    assert.equal(own.status, 200, await own.clone().text());
    const status = await (await gw.get(`/v1/${b.instance}/sync/status`, reader)).json();
    assert.equal(status.lastPayloadVersion, 6);
  });

  test("a payload applied on instance A, replayed to instance B of the same tenant, is refused as applied", async () => {
    const shared = { kid: "shared-2027", version: 1, status: "active", secret: whsec() };
    const a = await gw.createInstance("hooks-c", "hooks2", { keys: [shared] });
    const b = await gw.createInstance("hooks-d", "hooks2", { keys: [shared] });
    const { url, init } = gw.signSync(a.instance, branding("hooks2", 1), shared, { scheme: "standard-webhooks" });
    assert.equal((await request(url, init)).status, 200);
    const replay = await expectProblem(assert, await request(url.replace(a.instance, b.instance), init), 409, "replayed_nonce");
    assert.equal(replay.applied, true);
  });
});
