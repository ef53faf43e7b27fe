// The signed-sync path end to end: the real worker in workerd (Miniflare, local KV, SQLite
// Durable Objects) in front of the real reference origin (SQLite), all on loopback.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  SMTP_PASSWORD, branding, combined, expectProblem, features, request, smtp, startGateway,
  startOrigin, syncgate, whsec,
} from "./support/harness.mjs";

let gw;
before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

const now = () => Math.floor(Date.now() / 1000);
let counter = 0;
/** A fresh instance/tenant pair per test, so tests never share ledger or versions. */
async function tenant(extra) {
  counter += 1;
  const t = await gw.createInstance(`acme-t${counter}`, `acme${counter}`, extra);
  t.reader = await gw.apiKey(t.instance, ["sync:read"]);
  return t;
}

/** Asserts a rejection: problem shape, the origin saw nothing, the sync log recorded it. */
async function expectRejected(t, res, status, code, { logged = true } = {}) {
  const before = await gw.originStats();
  const body = await expectProblem(assert, res, status, code);
  const afterStats = await gw.originStats();
  assert.deepEqual(afterStats, before, `origin saw nothing for ${code}`);
  if (logged) {
    const items = await gw.logs(t.instance, t.reader, { until: (items) => items.some((i) => i.requestId === body.requestId) });
    const item = items.find((i) => i.requestId === body.requestId);
    assert.equal(item.status, "rejected");
    assert.equal(item.code, code);
    assert.equal(typeof item.message, "string");
    assert.ok(!item.message.includes(SMTP_PASSWORD));
  }
  return body;
}

describe("happy paths", () => {
  for (const scheme of ["rfc9421", "standard-webhooks"]) {
    test(`every payload type applies under ${scheme}; bootstrap, status and logs follow`, async () => {
      const t = await tenant();
      const payloads = [features(t.tenant, 1), branding(t.tenant, 2), smtp(t.tenant, 3), combined(t.tenant, 4)];
      for (const payload of payloads) {
        const res = await gw.sync(t.instance, payload, t.key, { scheme });
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.deepEqual(Object.keys(body).sort(), ["keyId", "payloadType", "payloadVersion", "requestId", "status"]);
        assert.equal(body.status, "applied");
        assert.equal(body.payloadType, payload.type);
        assert.equal(body.payloadVersion, payload.version);
        assert.equal(body.keyId, t.key.kid);
        assert.equal(res.headers.get("x-request-id"), body.requestId);
      }
      const boot = await (await gw.get(`/v1/${t.instance}/bootstrap`, t.reader)).json();
      assert.equal(boot.tenant, t.tenant);
      assert.equal(boot.branding.title, "Acme Combined");
      const byKey = Object.fromEntries(boot.modules.map((m) => [m.key, m]));
      assert.equal(byKey["crm.core"].enabled, true);
      assert.equal(byKey["crm.reports"].enabled, false);
      assert.equal(byKey["crm.reports"].reason, "override_off");
      assert.deepEqual(boot.permissions, ["crm.read", "customers.read", "customers.write"]);
      assert.deepEqual(
        { payloadType: boot.lastSync.payloadType, payloadVersion: boot.lastSync.payloadVersion },
        { payloadType: "combined", payloadVersion: 4 },
      );
      assert.ok(!JSON.stringify(boot).includes(SMTP_PASSWORD), "no SMTP password in bootstrap");

      const status = await (await gw.get(`/v1/${t.instance}/sync/status`, t.reader)).json();
      assert.equal(status.lastPayloadType, "combined");
      assert.equal(status.lastPayloadVersion, 4);
      assert.equal(status.lastKeyId, t.key.kid);
      assert.ok(!Number.isNaN(Date.parse(status.lastSyncAt)));

      const items = await gw.logs(t.instance, t.reader);
      assert.equal(items.length, 4);
      assert.deepEqual(items.map((i) => i.payloadVersion), [4, 3, 2, 1], "newest first");
      for (const item of items) {
        assert.deepEqual(Object.keys(item).sort(), [
          "code", "keyId", "message", "payloadType", "payloadVersion", "receivedAt", "requestId",
          "signatureResult", "sourceIp", "status",
        ]);
        assert.equal(item.status, "applied");
        assert.equal(item.keyId, t.key.kid);
        assert.equal(item.signatureResult, "valid");
        assert.equal(item.code, null);
        assert.equal(item.message, null);
      }
      const logText = JSON.stringify(items);
      assert.ok(!logText.includes(SMTP_PASSWORD) && !logText.includes(t.key.secret.slice(6)));
    });
  }

  test("health names the expected keys and never a secret", async () => {
    const t = await tenant();
    const res = await gw.get(`/v1/${t.instance}/sync/health`);
    const body = await res.json();
    assert.deepEqual(body, {
      enabled: true, tenant: t.tenant, schemes: ["rfc9421", "standard-webhooks"], keyIds: [t.key.kid], skewSeconds: 300,
    });
  });

  test("logs paginate newest first with a cursor, every item once", async () => {
    const t = await tenant();
    for (let v = 1; v <= 5; v++) assert.equal((await gw.sync(t.instance, branding(t.tenant, v), t.key)).status, 200);
    const seen = [];
    let cursor = "";
    for (let page = 0; page < 10; page++) {
      const res = await gw.get(`/v1/${t.instance}/sync/logs?limit=2${cursor ? `&cursor=${cursor}` : ""}`, t.reader);
      const body = await res.json();
      seen.push(...body.items.map((i) => i.payloadVersion));
      if (!body.nextCursor) break;
      cursor = body.nextCursor;
    }
    assert.deepEqual(seen, [5, 4, 3, 2, 1]);
  });
});

describe("one rejection per code", () => {
  test("unknown_instance: malformed code and unknown code, without a log", async () => {
    const t = await tenant();
    for (const instance of ["No_Such", "nosuch-instance"]) {
      const { url, init } = gw.signSync(t.instance, branding(t.tenant, 1), t.key);
      const res = await request(url.replace(t.instance, instance), init);
      await expectRejected(t, res, 404, "unknown_instance", { logged: false });
    }
  });

  test("payload_too_large for a chunked body without Content-Length, read no further than the limit", async () => {
    const t = await tenant({ maxBodyBytes: 1024 });
    const { url, init } = gw.signSync(t.instance, branding(t.tenant, 1), t.key);
    const chunk = new TextEncoder().encode(" ".repeat(512));
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        sent += 1;
        if (sent > 8) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await request(url, { ...init, body, duplex: "half" });
    await expectRejected(t, res, 413, "payload_too_large");
  });

  test("unknown_key, revoked_key and invalid_signature", async () => {
    const t = await tenant();
    const stranger = { kid: "nobody", secret: whsec() };
    await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 1), stranger), 401, "unknown_key");
    const forged = { kid: t.key.kid, secret: whsec() };
    await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 1), forged), 401, "invalid_signature");
    await gw.admin("PATCH", `${t.instance}/keys/${t.key.kid}`, { status: "revoked" });
    await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 1), t.key), 401, "revoked_key");
  });

  test("stale_timestamp and future_timestamp at the window edge", async () => {
    const t = await tenant();
    await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 1), t.key, { nowSeconds: now() - 310 }), 401, "stale_timestamp");
    await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 1), t.key, { nowSeconds: now() + 310 }), 401, "future_timestamp");
    const res = await gw.sync(t.instance, branding(t.tenant, 1), t.key, { nowSeconds: now() - 290 });
    assert.equal(res.status, 200);
  });

  test("invalid_payload, tenant_mismatch and scope rejections are logged with the key", async () => {
    const t = await tenant({ payloadTypes: ["features", "smtp"] });
    const bad = { ...smtp(t.tenant, 1) };
    bad.smtp = { ...bad.smtp, port: 70000 };
    const body = await expectRejected(t, await gw.sync(t.instance, bad, t.key), 422, "invalid_payload");
    assert.equal(body.field, "smtp.port");
    assert.ok(!JSON.stringify(body).includes(SMTP_PASSWORD));
    await expectRejected(t, await gw.sync(t.instance, features("globex", 1), t.key), 403, "tenant_mismatch");
    await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 1), t.key), 422, "unsupported_payload_type");
    await expectRejected(t, await gw.sync(t.instance, features(t.tenant, 1, "website"), t.key), 403, "blocked_module_group");
    const last = await expectRejected(t, await gw.sync(t.instance, features(t.tenant, 1, "warehouse"), t.key), 422, "unsupported_module_group");
    const items = await gw.logs(t.instance, t.reader);
    const item = items.find((i) => i.requestId === last.requestId);
    assert.equal(item.keyId, t.key.kid);
    assert.equal(item.signatureResult, "valid");
    assert.equal(item.payloadType, "features");
  });
});

describe("replay, duplicates and versions", () => {
  test("the same request twice is replayed_nonce naming the first", async () => {
    const t = await tenant();
    const { url, init } = gw.signSync(t.instance, branding(t.tenant, 1), t.key);
    const first = await (await request(url, init)).json();
    const body = await expectRejected(t, await request(url, init), 409, "replayed_nonce");
    assert.equal(body.originalRequestId, first.requestId);
    assert.equal(body.applied, true);
  });

  test("20 concurrent copies: exactly one applied", async () => {
    const t = await tenant();
    const { url, init } = gw.signSync(t.instance, branding(t.tenant, 1), t.key);
    const before = (await gw.originStats()).applied;
    const answers = await Promise.all(Array.from({ length: 20 }, () => request(url, init)));
    const statuses = answers.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(","));
    assert.equal(statuses.filter((s) => s === 409).length, 19);
    assert.equal((await gw.originStats()).applied, before + 1);
  });

  test("the same body under a new nonce is duplicate_payload", async () => {
    const t = await tenant();
    assert.equal((await gw.sync(t.instance, branding(t.tenant, 1), t.key)).status, 200);
    const body = await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 1), t.key), 409, "duplicate_payload");
    assert.equal(body.applied, true);
  });

  test("an older section version is stale_version, also inside a combined payload", async () => {
    const t = await tenant();
    assert.equal((await gw.sync(t.instance, branding(t.tenant, 5), t.key)).status, 200);
    await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 4, "Older"), t.key), 409, "stale_version");
    assert.equal((await gw.sync(t.instance, features(t.tenant, 9), t.key)).status, 200);
    // Newer than branding (5) but not than features (9): refused whole.
    const res = await gw.sync(t.instance, combined(t.tenant, 7), t.key);
    const body = await expectRejected(t, res, 409, "stale_version");
    assert.match(body.detail, /features/);
    const boot = await (await gw.get(`/v1/${t.instance}/bootstrap`, t.reader)).json();
    assert.equal(boot.branding.title, "Acme Travel", "nothing rolled back");
  });
});

describe("reliability", () => {
  for (const mode of ["fail", "drop", "stall"]) {
    test(`origin ${mode}, then up: the retried request is applied exactly once`, async () => {
      const t = await tenant();
      const { url, init } = gw.signSync(t.instance, branding(t.tenant, 1), t.key);
      const before = (await gw.originStats()).applied;
      await gw.originControl({ mode, times: 1, ...(mode === "stall" ? { stallMs: 4000 } : {}) });
      const down = await request(url, init);
      const problem = await expectProblem(assert, down, 503, "origin_unavailable");
      assert.equal(problem.retryable, true);
      assert.equal((await gw.originStats()).applied, before, "nothing applied while down");
      const up = await request(url, init);
      assert.equal(up.status, 200, await up.clone().text());
      assert.equal((await gw.originStats()).applied, before + 1);
      const again = await request(url, init);
      assert.equal(again.status, 409);
      const items = await gw.logs(t.instance, t.reader);
      assert.deepEqual(items.slice(0, 3).map((i) => i.code), ["replayed_nonce", null, "origin_unavailable"]);
    });
  }
});

describe("module state", () => {
  test("the origin's bootstrap equals recomputeModules in the package, with the tenant's blocked groups", async () => {
    const policyExtra = {
      supportedModuleGroups: ["crm", "website"],
      blockedModuleGroups: ["sales"],
    };
    const t = await tenant(policyExtra);
    const payload = features(t.tenant, 1);
    payload.features.modules.push({ key: "web.pages", group: "website", requires: ["crm.core"], permissions: ["pages.edit"] });
    payload.features.planDefaults.pro.push("web.pages");
    const res = await gw.sync(t.instance, payload, t.key);
    assert.equal(res.status, 200, await res.clone().text());
    const boot = await (await gw.get(`/v1/${t.instance}/bootstrap`, t.reader)).json();
    const preview = syncgate.recomputeModules(payload.features, { instance: t.instance, tenant: t.tenant, ...policyExtra });
    assert.equal(preview.ok, true);
    assert.equal(JSON.stringify(boot.modules), JSON.stringify(preview.modules), "byte-equal module state");
    assert.deepEqual(boot.permissions, preview.permissions);
    assert.equal(boot.modules.find((m) => m.key === "web.pages").enabled, true, "website is not blocked for this tenant");
  });
});

describe("the origin's own answers", () => {
  test("an origin that refuses the edge's signature is origin_unavailable, never the origin's 401", async () => {
    const wrong = await startOrigin(gw.dir, whsec());
    try {
      const t = await tenant({ origin: wrong.url });
      const { url, init } = gw.signSync(t.instance, branding(t.tenant, 1), t.key);
      const down = await request(url, init);
      assert.equal((await expectProblem(assert, down, 503, "origin_unavailable")).retryable, true);
      // Fixed configuration: the same request (same nonce) now goes through.
      const policy = await (await gw.admin("GET", t.instance)).json();
      assert.equal(policy.origin, wrong.url);
      const fixed = await gw.admin("PUT", t.instance, {
        instance: t.instance, tenant: t.tenant, origin: gw.origin.url, keys: [t.key],
      });
      assert.equal(fixed.status, 200);
      assert.equal((await request(url, init)).status, 200);
    } finally {
      wrong.stop();
    }
  });

  test("an origin refusal of the request itself is passed on with its code", async () => {
    const t = await tenant();
    // The origin already has v6 of branding (say, applied while the edge lost the answer).
    const v6 = JSON.stringify(branding(t.tenant, 6));
    const direct = await gw.originDirect("POST", `/origin/v1/${t.tenant}/sync`, {
      tenant: t.tenant, instance: t.instance, keyId: t.key.kid, body: v6,
    });
    assert.equal(direct.status, 200);
    const res = await gw.sync(t.instance, branding(t.tenant, 5), t.key);
    const body = await expectProblem(assert, res, 409, "stale_version");
    assert.equal(body.retryable, false);
    const items = await gw.logs(t.instance, t.reader, { until: (items) => items.some((i) => i.code === "stale_version") });
    assert.equal(items[0].status, "rejected");
  });

  test("a version older than one still in flight is stale at once", async () => {
    const t = await tenant();
    await gw.originControl({ mode: "stall", times: 1, stallMs: 1200 });
    const seen = (await gw.originStats()).received.sync ?? 0;
    const newer = gw.sync(t.instance, branding(t.tenant, 6), t.key);
    // Wait until v6 is at the origin (reserved at the edge, stalled there).
    for (let i = 0; i < 100 && ((await gw.originStats()).received.sync ?? 0) === seen; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const older = await gw.sync(t.instance, branding(t.tenant, 5, "Older"), t.key);
    await expectProblem(assert, older, 409, "stale_version");
    // The stalled newer one was not applied (the origin answered 500 after its stall).
    await expectProblem(assert, await newer, 503, "origin_unavailable");
    assert.equal((await gw.sync(t.instance, branding(t.tenant, 6), t.key)).status, 200);
  });
});

describe("tenant isolation and key rotation", () => {
  test("tenant A's signing key and API key do nothing on tenant B", async () => {
    const a = await tenant();
    const b = await tenant();
    const res = await gw.sync(b.instance, branding(b.tenant, 1), a.key);
    await expectRejected(b, res, 401, "unknown_key");
    for (const path of ["sync/status", "sync/logs"]) {
      await expectProblem(assert, await gw.get(`/v1/${b.instance}/${path}`, a.reader), 401, "unauthorized");
    }
    await expectProblem(assert, await gw.get(`/v1/${b.instance}/bootstrap`, a.reader), 401, "unauthorized");
    // The same nonce on two tenants is two different ledger entries.
    const nonce = "shared-nonce-1";
    assert.equal((await gw.sync(a.instance, branding(a.tenant, 1), a.key, { nonce })).status, 200);
    assert.equal((await gw.sync(b.instance, branding(b.tenant, 1), b.key, { nonce })).status, 200);
  });

  test("API keys: missing, wrong scope, revoked", async () => {
    const t = await tenant();
    await expectProblem(assert, await gw.get(`/v1/${t.instance}/sync/status`), 401, "unauthorized");
    const writer = await gw.apiKey(t.instance, ["customers:write"]);
    await expectProblem(assert, await gw.get(`/v1/${t.instance}/sync/status`, writer), 403, "forbidden");
    const res = await gw.admin("POST", `${t.instance}/api-keys`, { scopes: ["sync:read"] });
    const { id, key } = await res.json();
    assert.equal((await gw.get(`/v1/${t.instance}/sync/status`, key)).status, 200);
    assert.equal((await gw.admin("DELETE", `${t.instance}/api-keys/${id}`)).status, 204);
    await expectProblem(assert, await gw.get(`/v1/${t.instance}/sync/status`, key), 401, "unauthorized");
  });

  test("rotation: new key active, old retiring still accepted and reported, then revoked", async () => {
    const t = await tenant();
    const created = await gw.admin("POST", `${t.instance}/keys`, { kid: "rot-new", version: 3, status: "active" });
    assert.equal(created.status, 201);
    const { secret } = await created.json();
    assert.match(secret, /^whsec_/);
    const fresh = { kid: "rot-new", secret };
    assert.equal((await gw.admin("PATCH", `${t.instance}/keys/${t.key.kid}`, { status: "retiring" })).status, 200);
    const viaNew = await (await gw.sync(t.instance, branding(t.tenant, 1), fresh)).json();
    assert.equal(viaNew.keyId, "rot-new");
    const viaOld = await (await gw.sync(t.instance, branding(t.tenant, 2), t.key, { scheme: "standard-webhooks" })).json();
    assert.equal(viaOld.status, "applied");
    assert.equal(viaOld.keyId, t.key.kid, "the retiring key is accepted and named");
    const view = await (await gw.admin("GET", t.instance)).json();
    const old = view.keys.find((k) => k.kid === t.key.kid);
    assert.equal(old.status, "retiring");
    assert.equal(old.uses, 1);
    assert.ok(old.lastUsedAt, "the operator sees when the retiring key was last used");
    assert.ok(!JSON.stringify(view).includes("whsec_"), "no secret in the admin view");
    await gw.admin("PATCH", `${t.instance}/keys/${t.key.kid}`, { status: "revoked" });
    await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 3), t.key), 401, "revoked_key");
    await expectRejected(t, await gw.sync(t.instance, branding(t.tenant, 3), t.key, { scheme: "standard-webhooks" }), 401, "revoked_key");
  });

  test("admin API needs the admin token and validates input", async () => {
    const res = await request(`${gw.edge}/admin/v1/instances/acme-x`, { headers: { authorization: "Bearer wrong" } });
    await expectProblem(assert, res, 401, "unauthorized");
    const bad = await gw.admin("PUT", "acme-x", { instance: "acme-x", tenant: "acme", skewSeconds: 0 });
    const body = await expectProblem(assert, bad, 422, "invalid_field");
    assert.equal(body.field, "skewSeconds");
    const mismatch = await gw.admin("PUT", "acme-x", { instance: "acme-y", tenant: "acme" });
    assert.equal((await expectProblem(assert, mismatch, 422, "invalid_field")).field, "instance");
  });
});
