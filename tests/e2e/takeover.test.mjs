// An edge crash in the middle of a forward: the origin applied the sync but the edge never heard,
// and what the edge held in memory (its reservation) went with it. After the restart the
// sender's retry of the same signed request must be forwarded at once (no deadline to wait out),
// be applied exactly once at the origin (answered from its idempotency record), and leave the
// edge's status, log and key usage in agreement with the origin. The worker runs in real workerd
// (Miniflare) with on-disk KV and Durable Objects, stopped and started again; a holding proxy of
// the test's own sits between edge and origin.
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { Miniflare } from "miniflare";
import { edgeContract } from "./support/contract.mjs";
import { branding, request, startOrigin, syncgate, whsec } from "./support/harness.mjs";

const root = resolve(import.meta.dirname, "../..");
// Long, so the edge is always stopped while its first forward is still waiting on the origin: the
// retry after the restart has no deadline to wait out, so nothing here waits on this timeout.
const ORIGIN_TIMEOUT_MS = 10000;
const cleanup = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** A proxy that forwards to the origin and, while `holding`, never answers the edge. */
async function holdingProxy(originUrl) {
  const state = { holding: true, held: [] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const answer = await fetch(originUrl + req.url, {
        method: req.method, headers: req.headers,
        body: req.method === "GET" ? undefined : Buffer.concat(chunks),
      });
      const body = Buffer.from(await answer.arrayBuffer());
      if (state.holding) return state.held.push(res);
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(body);
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  state.url = `http://127.0.0.1:${server.address().port}`;
  state.close = () => { for (const res of state.held) res.destroy(); server.close(); };
  return state;
}

test("a retry after an edge crash mid-forward is forwarded at once and applied once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "syncgate-takeover-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const originSecret = whsec();
  const origin = await startOrigin(dir, originSecret);
  cleanup.push(() => origin.stop());
  const proxy = await holdingProxy(origin.url);
  cleanup.push(() => proxy.close());
  const adminToken = randomBytes(16).toString("hex");
  const options = {
    scriptPath: join(root, "worker/build/index.js"), modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-01",
    kvNamespaces: ["INSTANCES"], kvPersist: join(dir, "kv"), durableObjectsPersist: join(dir, "do"),
    durableObjects: {
      TENANT_STATE: { className: "TenantState", useSQLite: true },
      INSTANCE_CONFIG: { className: "InstanceConfig", useSQLite: true },
    },
    bindings: {
      ADMIN_TOKEN: adminToken, SEALING_KEY: randomBytes(32).toString("base64"),
      ORIGIN_SIGNING_SECRET: originSecret, ORIGIN_TIMEOUT_MS: String(ORIGIN_TIMEOUT_MS),
    },
    host: "127.0.0.1", port: 0,
  };
  let mf = new Miniflare(options);
  let edge = (await mf.ready).toString().replace(/\/$/, "");
  edgeContract.register(edge);
  cleanup.push(() => mf.dispose());
  const admin = (method, path, body) => request(`${edge}/admin/v1/instances/${path}`, {
    method, headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const key = { kid: "tk-2026-11", version: 1, status: "active", secret: whsec() };
  assert.equal((await admin("PUT", "tk-eu1", { instance: "tk-eu1", tenant: "tk", origin: proxy.url, keys: [key] })).status, 201);
  const reader = (await (await admin("POST", "tk-eu1/api-keys", { scopes: ["sync:read"] })).json()).key;

  // The signed request; the path carries no authority, so the same bytes go to the new edge.
  const body = JSON.stringify(branding("tk", 7));
  const headers = { "content-type": "application/json" };
  const signed = syncgate.signRequest({ method: "POST", url: `${edge}/v1/tk-eu1/sync`, headers, body }, key,
    { scheme: "standard-webhooks" });
  assert.ok(signed.ok);
  const init = { method: "POST", headers: { ...headers, ...signed.headers }, body };

  const first = request(`${edge}/v1/tk-eu1/sync`, init).then((r) => r.status, () => "no answer");
  for (let i = 0; i < 100 && proxy.held.length === 0; i++) await new Promise((ok) => setTimeout(ok, 20));
  assert.equal(proxy.held.length, 1, "the origin applied the first attempt; its answer is held");
  await mf.dispose();                                     // the edge dies mid-forward
  assert.equal(await first, "no answer");
  proxy.holding = false;
  mf = new Miniflare(options);
  edge = (await mf.ready).toString().replace(/\/$/, "");
  edgeContract.register(edge);

  const res = await request(`${edge}/v1/tk-eu1/sync`, init);
  const applied = await res.json();
  assert.equal(res.status, 200, `the first retry after the restart is applied: ${JSON.stringify(applied)}`);
  assert.equal(applied.status, "applied");

  const stats = await (await request(`${origin.url}/__control/stats`)).json();
  assert.equal(stats.applied, 1, "applied once at the origin");
  assert.equal(stats.replayed, 1, "the retry was answered from the origin's idempotency record");

  // A further retry is told it is done.
  const again = await (await request(`${edge}/v1/tk-eu1/sync`, init)).json();
  assert.equal(again.code, "replayed_nonce");
  assert.equal(again.applied, true);

  // The edge agrees with the origin: status, one applied log row, key usage counted once.
  const get = (path) => request(`${edge}/v1/tk-eu1/${path}`, { headers: { authorization: `Bearer ${reader}` } }).then((r) => r.json());
  const status = await get("sync/status");
  assert.equal(status.lastPayloadVersion, 7);
  assert.equal(status.lastRequestId, applied.requestId);
  const logs = await get("sync/logs?limit=200");
  assert.equal(logs.items.filter((i) => i.status === "applied").length, 1);
  const bootstrap = await get("bootstrap");
  assert.equal(bootstrap.lastSync.payloadVersion, 7);
  const policy = await (await admin("GET", "tk-eu1")).json();
  assert.equal(policy.keys[0].uses, 1);
});
