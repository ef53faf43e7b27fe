// End-to-end harness: the real worker (worker/build, built by worker-build) in real workerd via
// Miniflare, with local KV and SQLite-backed Durable Objects, in front of the real reference
// origin (target/debug/syncgate-origin, SQLite). Everything listens on 127.0.0.1 only.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { Miniflare } from "miniflare";
import * as syncgate from "../../../pkg/syncgate.mjs";
import { checkedFetch, edgeContract } from "./contract.mjs";

// Every answer from an edge started here is checked against openapi.yaml (contract.mjs).
if (!globalThis.fetch.contractChecked) {
  globalThis.fetch = Object.assign(checkedFetch(globalThis.fetch), { contractChecked: true });
}

export { syncgate };
const root = resolve(import.meta.dirname, "../../..");
export const ORIGIN_BIN = process.env.SYNCGATE_ORIGIN_BIN ??
  join(resolve(root, process.env.CARGO_TARGET_DIR ?? "target"), "debug/syncgate-origin");

/**
 * `fetch` on a fresh connection. The local dev server may reset a kept-alive connection after
 * answering a request early (a 413 sent without reading the body, as the edge means to), and
 * Node's fetch does not retry the next request that picks that connection up. One connection
 * per request keeps every test independent of the one before.
 */
export function request(url, init = {}) {
  return fetch(url, { ...init, headers: { connection: "close", ...(init.headers ?? {}) } });
}

export const whsec = () => `whsec_${randomBytes(32).toString("base64")}`;

/** Starts the reference origin on an ephemeral loopback port. */
export async function startOrigin(dir, secret) {
  const vars = join(dir, "origin.vars");
  writeFileSync(vars, `ORIGIN_SIGNING_SECRET=${secret}\n`);
  const child = spawn(ORIGIN_BIN, [
    "--listen", "127.0.0.1:0", "--db", join(dir, "origin.sqlite"), "--dev-vars", vars, "--test-controls",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  const stderr = [];
  child.stderr.on("data", (chunk) => stderr.push(chunk));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`origin did not start: ${Buffer.concat(stderr)}`)), 15000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      const match = /listening on (http:\/\/\S+)/.exec(line);
      match ? ok(match[1]) : fail(new Error(`unexpected origin output: ${line}`));
    });
    child.once("exit", (code) => fail(new Error(`origin exited ${code}: ${Buffer.concat(stderr)}`)));
  });
  // The origin never outlives this process, however it ends (Miniflare's own signal handlers
  // exit the process without running ours).
  const stop = () => child.exitCode === null && child.kill("SIGTERM");
  process.once("exit", stop);
  return { url, child, stop };
}

/**
 * The gateway: origin + worker. `stop()` tears both down. With `persist`, KV and the Durable
 * Objects live on disk under the gateway's directory, so `restartEdge()` keeps their state.
 */
export async function startGateway({ persist = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "syncgate-e2e-"));
  const originSecret = whsec();
  const adminToken = randomBytes(24).toString("hex");
  const origin = await startOrigin(dir, originSecret);
  const options = {
    scriptPath: join(root, "worker/build/index.js"),
    modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-01",
    kvNamespaces: ["INSTANCES"],
    durableObjects: {
      TENANT_STATE: { className: "TenantState", useSQLite: true },
      INSTANCE_CONFIG: { className: "InstanceConfig", useSQLite: true },
    },
    bindings: {
      ADMIN_TOKEN: adminToken,
      SEALING_KEY: randomBytes(32).toString("base64"),
      ORIGIN_SIGNING_SECRET: originSecret,
      ORIGIN_TIMEOUT_MS: "1500",
    },
    host: "127.0.0.1",
    port: 0,
  };
  if (persist) Object.assign(options, { kvPersist: join(dir, "kv"), durableObjectsPersist: join(dir, "do") });
  const mf = new Miniflare(options);
  const edge = (await mf.ready).toString().replace(/\/$/, "");
  edgeContract.register(edge);
  return new Gateway({ edge, origin, mf, dir, adminToken, originSecret, options });
}

/** A gateway served by `serve.mjs` in a child process (for benchmarks). */
export async function startGatewayProcess() {
  const child = spawn(process.execPath, [join(import.meta.dirname, "serve.mjs")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise((ok, fail) => {
    createInterface({ input: child.stdout }).once("line", ok);
    child.once("exit", (code) => fail(new Error(`gateway process exited ${code}`)));
  });
  const info = JSON.parse(line);
  const stopped = new Promise((ok) => child.once("exit", ok));
  return new Gateway({
    edge: info.edge,
    origin: { url: info.origin },
    passthrough: info.passthrough,
    adminToken: info.adminToken,
    originSecret: info.originSecret,
    stop: async () => {
      child.kill("SIGTERM");
      await stopped;
    },
  });
}

export class Gateway {
  constructor({ edge, origin, mf, dir, adminToken, originSecret, options, stop, passthrough }) {
    Object.assign(this, { edge, origin, mf, dir, adminToken, originSecret, options, stopProcess: stop, passthrough });
  }

  /**
   * Stops the edge (workerd goes away with whatever it was doing) and starts it again with the
   * same options: the same secrets and, for a `persist` gateway, the same KV and Durable Object
   * state. The edge URL may change: clients read `gateway.edge` again.
   */
  async restartEdge() {
    if (!this.options) throw new Error("restartEdge needs an in-process gateway");
    await this.mf.dispose();
    this.mf = new Miniflare(this.options);
    this.edge = (await this.mf.ready).toString().replace(/\/$/, "");
    edgeContract.register(this.edge);
    return this.edge;
  }

  async stop() {
    if (this.stopProcess) return this.stopProcess();
    this.origin.stop();
    await this.mf.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }

  admin(method, path, body) {
    return request(`${this.edge}/admin/v1/instances/${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** Creates an instance with one active key; returns { instance, tenant, key }. */
  async createInstance(instance, tenant, extra = {}) {
    const key = { kid: `${tenant}-2026-11`, version: 2, status: "active", secret: whsec() };
    const res = await this.admin("PUT", instance, {
      instance, tenant, origin: this.origin.url, keys: [key], ...extra,
    });
    if (res.status !== 201 && res.status !== 200) throw new Error(`create ${instance}: ${res.status} ${await res.text()}`);
    return { instance, tenant, key };
  }

  async apiKey(instance, scopes, extra = {}) {
    const res = await this.admin("POST", `${instance}/api-keys`, { scopes, ...extra });
    if (res.status !== 201) throw new Error(`api key: ${res.status} ${await res.text()}`);
    return (await res.json()).key;
  }

  /** Signs a sync request; returns { url, init } to fetch (and re-fetch, for replays). */
  signSync(instance, payload, key, options = {}) {
    const body = typeof payload === "string" ? payload : JSON.stringify(payload);
    const url = `${this.edge}/v1/${instance}/sync`;
    const headers = { "content-type": "application/json", ...(options.headers ?? {}) };
    const signed = syncgate.signRequest({ method: "POST", url, headers, body }, key, options);
    if (!signed.ok) throw new Error(`sign: ${signed.code} ${signed.message}`);
    return { url, init: { method: "POST", headers: { ...headers, ...signed.headers }, body } };
  }

  async sync(instance, payload, key, options = {}) {
    const { url, init } = this.signSync(instance, payload, key, options);
    return request(url, init);
  }

  get(path, bearer) {
    return request(`${this.edge}${path}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
  }

  /**
   * A request straight to the origin, signed exactly as the edge signs it (`via`: another base
   * URL that forwards path and query to the origin unchanged, such as the pass-through Worker).
   */
  originDirect(method, path, { tenant, instance, keyId, body, via }) {
    const requestId = `req_${randomBytes(12).toString("hex")}`;
    const url = `${via ?? this.origin.url}${path}`;
    const headers = {
      "x-request-id": requestId,
      "x-syncgate-tenant": tenant,
      "x-syncgate-instance": instance,
      "x-syncgate-key-id": keyId,
    };
    // The contract of syncgate::attest: these always, and every contract header present.
    const components = ["@query", "x-request-id", "x-syncgate-tenant", "x-syncgate-instance", "x-syncgate-key-id"];
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      components.push("content-type");
    }
    if (path.endsWith("/sync")) {
      headers["idempotency-key"] = createHash("sha256").update(body).digest("hex");
      components.push("idempotency-key");
    }
    const signed = syncgate.signRequest(
      { method, url, headers, body: body ?? "" },
      { kid: "edge", secret: this.originSecret },
      { label: "edge", nonce: requestId, components },
    );
    if (!signed.ok) throw new Error(signed.message);
    return request(url, { method, headers: { ...headers, ...signed.headers }, body });
  }

  async originStats() {
    return (await request(`${this.origin.url}/__control/stats`)).json();
  }

  async originControl(body) {
    const res = await request(`${this.origin.url}/__control`, { method: "POST", body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`control: ${res.status} ${await res.text()}`);
  }

  /**
   * Every row of a paginated listing, newest first: a tenant route (`/v1/…`, with `bearer`) or
   * an admin one (`{instance}/access-log`, with `admin: true`). Throws on a non-200 page.
   */
  async allRows(path, { bearer, admin = false } = {}) {
    const rows = [];
    let cursor = null;
    for (let page = 0; page < 200; page++) {
      const q = `${path}?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = admin ? await this.admin("GET", q) : await this.get(q, bearer);
      if (res.status !== 200) throw new Error(`${q}: ${res.status}`);
      const body = await res.json();
      rows.push(...body.items);
      if (!body.nextCursor) return rows;
      cursor = body.nextCursor;
    }
    throw new Error("too many pages");
  }

  /** The sync log, newest first (polls briefly: rejections are logged after the answer). */
  async logs(instance, bearer, { until = () => true, limit = 50 } = {}) {
    for (let i = 0; i < 100; i++) {
      const res = await this.get(`/v1/${instance}/sync/logs?limit=${limit}`, bearer);
      const page = await res.json();
      if (until(page.items)) return page.items;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("log entry did not appear");
  }
}

export const branding = (tenant, version, title = "Acme Travel") => ({
  type: "branding", tenant, version, branding: { title, primaryColor: "#1f6feb" },
});

export const features = (tenant, version, group = "crm") => ({
  type: "features", tenant, version,
  features: {
    plan: "pro",
    modules: [
      { key: "crm.core", group: "crm", permissions: ["crm.read"] },
      { key: "crm.customers", group, requires: ["crm.core"], permissions: ["customers.read", "customers.write"] },
      { key: "crm.reports", group: "crm", requires: ["crm.core"], permissions: ["reports.read"] },
    ],
    planDefaults: { pro: ["crm.core", "crm.customers", "crm.reports"] },
    overrides: { "crm.reports": false },
  },
});

export const SMTP_PASSWORD = "p4ss-never-shown";
export const smtp = (tenant, version) => ({
  type: "smtp", tenant, version,
  smtp: { host: "smtp.example.com", port: 587, encryption: "starttls", username: "mailer",
          password: SMTP_PASSWORD, fromEmail: "no-reply@acme.test", fromName: "Acme" },
});

export const combined = (tenant, version) => ({
  type: "combined", tenant, version,
  features: features(tenant, version).features,
  branding: { title: "Acme Combined" },
  smtp: smtp(tenant, version).smtp,
});

/** Asserts an RFC 9457 problem answer. */
export async function expectProblem(assert, res, status, code) {
  assert.equal(res.status, status, `status for ${code}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = await res.json();
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, "string");
  assert.equal(body.type, `urn:syncgate:problem:${code}`);
  assert.match(body.requestId, /^req_[0-9a-f]{24}$/);
  assert.equal(res.headers.get("x-request-id"), body.requestId);
  return body;
}
