// The platform's floor under the edge's design, measured: JavaScript Workers in the same workerd
// build that do only the platform steps the edge does, nothing of its own, each in front of the
// same origin with the same edge-signed sync:
//   passthrough  Worker → origin                                   (the baseline of edge-latency)
//   do-hop       Worker → the tenant's Durable Object → origin
//   do-sql       as do-hop, with a SQLite write in the object before the forward and another after
//                (the edge's reserve and commit, each its own implicit transaction)
//   do-ledger    as do-sql with the edge's own tables and statements (reserve: one read, two
//                writes; commit: six writes including the applied log row): the design before
//                the reservation moved into the object's memory
//   do-mem       the edge's design now: one read and an in-memory reservation before the
//                forward, the commit's five writes after it (durable before the answer)
//   syncgate     the edge itself (worker/build), for comparison in the same run
// Then where the edge's CPU per request goes, by what a request reaches (`edge.cost_split`):
//   js-trivial        a JavaScript Worker that answers 404 at once (the runtime's own cost)
//   syncgate-404      the edge answering an unknown route (the worker's wasm entry, no KV)
//   syncgate-refused  a sync with a wrong signature: policy (cached), body, the core's checks,
//                     the 401, and the refusal's log row in the tenant's object after it
//   syncgate-replay   a replayed sync: as above, then the object's ledger read and a 409, and
//                     its log row
//   syncgate          an applied sync (the forward, the commit, the log row)
// Per path: sequential latency p50/p99 and the workerd process's CPU per sync (kernel
// schedstat). The differences say what the Durable Object hop and its durable writes cost
// before a line of syncgate runs, and what syncgate's own code adds on top.
//
//   node --no-opt bench/edge-floor.mjs [--requests 200] [--out target/bench/floor.json]
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { branding, request, startGateway } from "../tests/e2e/support/harness.mjs";
import { cpuMs, workerdChildren } from "../tests/e2e/support/proc.mjs";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "200" },
    out: { type: "string", default: "target/bench/floor.json" },
  },
});
const n = Number(values.requests);

const PASSTHROUGH = `export default {
  fetch(req, env) {
    const u = new URL(req.url);
    return fetch(env.ORIGIN + u.pathname + u.search, req);
  },
};`;
const durable = (sql) => `
import { DurableObject } from "cloudflare:workers";
export class Hop extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ${sql ? `ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, applied INTEGER)");` : ""}
  }
  async fetch(req) {
    const u = new URL(req.url);
    const id = req.headers.get("x-request-id");
    ${sql ? `this.ctx.storage.sql.exec("INSERT INTO t VALUES (?, 0)", id);` : ""}
    const res = await fetch(this.env.ORIGIN + u.pathname + u.search, req);
    const body = await res.arrayBuffer();
    ${sql ? `this.ctx.storage.sql.exec("UPDATE t SET applied = 1 WHERE k = ?", id);` : ""}
    return new Response(body, { status: res.status, headers: { "content-type": "application/json" } });
  }
}
export default {
  fetch(req, env) {
    const tenant = req.headers.get("x-syncgate-tenant");
    return env.HOP.get(env.HOP.idFromName(tenant)).fetch(req);
  },
};`;

// The edge's tables (worker/src/tenant_state/mod.rs), and a Durable Object that runs the edge's
// statements in JavaScript around the forward: `reserve` before it, `settle` after it (then the
// records every commit writes: section version, last sync, key use, the applied log row).
const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger (key TEXT PRIMARY KEY, kind TEXT NOT NULL, request_id TEXT NOT NULL,
  applied INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL, reserved_at INTEGER, instance TEXT);
CREATE INDEX IF NOT EXISTS ledger_expiry ON ledger (expires_at);
CREATE TABLE IF NOT EXISTS pending_versions (request_id TEXT NOT NULL, section TEXT NOT NULL, version INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, PRIMARY KEY (request_id, section));
CREATE TABLE IF NOT EXISTS section_versions (section TEXT PRIMARY KEY, version INTEGER NOT NULL, request_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sync_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, received_at INTEGER NOT NULL,
  source_ip TEXT, payload_type TEXT, payload_version INTEGER, key_id TEXT, signature_result TEXT NOT NULL, status TEXT NOT NULL,
  code TEXT, message TEXT, class TEXT NOT NULL DEFAULT 'applied');
CREATE INDEX IF NOT EXISTS sync_log_class ON sync_log (class, seq);
CREATE TABLE IF NOT EXISTS last_sync (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL, payload_type TEXT NOT NULL,
  payload_version INTEGER NOT NULL, request_id TEXT NOT NULL, key_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS key_usage (kid TEXT PRIMARY KEY, last_used_at INTEGER NOT NULL, uses INTEGER NOT NULL);`;
const ledgerObject = ({ reserve, settle }) => `
import { DurableObject } from "cloudflare:workers";
const SCHEMA = ${JSON.stringify(LEDGER_SCHEMA)};
export class Hop extends DurableObject {
  constructor(ctx, env) { super(ctx, env); ctx.storage.sql.exec(SCHEMA); this.held = new Set(); }
  async fetch(req) {
    const sql = this.ctx.storage.sql;
    const u = new URL(req.url);
    const id = req.headers.get("x-request-id");
    const now = Date.now(), exp = Math.floor(now / 1000) + 600, v = this.v = (this.v ?? 0) + 1;
    ${reserve}
    const res = await fetch(this.env.ORIGIN + u.pathname + u.search, req);
    const body = await res.arrayBuffer();
    ${settle}
    sql.exec(\`INSERT INTO section_versions (section, version, request_id) VALUES (?, ?, ?) ON CONFLICT (section) DO UPDATE
      SET version = excluded.version, request_id = excluded.request_id WHERE excluded.version > section_versions.version\`, "branding", v, id);
    sql.exec("INSERT OR REPLACE INTO last_sync (id, at, payload_type, payload_version, request_id, key_id) VALUES (1, ?, ?, ?, ?, ?)", now, "branding", v, id, "k");
    sql.exec("INSERT INTO key_usage (kid, last_used_at, uses) VALUES (?, ?, 1) ON CONFLICT (kid) DO UPDATE SET last_used_at = excluded.last_used_at, uses = uses + 1", "k", now);
    sql.exec(\`INSERT INTO sync_log (request_id, received_at, source_ip, payload_type, payload_version, key_id, signature_result, status, code, message, class)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)\`, id, now, null, "branding", v, "k", "valid", "applied", null, null, "applied");
    return new Response(body, { status: res.status, headers: { "content-type": "application/json" } });
  }
}
export default {
  fetch(req, env) {
    return env.HOP.get(env.HOP.idFromName(req.headers.get("x-syncgate-tenant"))).fetch(req);
  },
};`;

// The edge's design before its reservation moved into memory: reserve = one read and two writes
// (the reserved rows, the version in flight), commit = six writes.
const LEDGER = ledgerObject({
  reserve: `sql.exec(\`SELECT kind, request_id, applied, reserved_at, instance, NULL AS section, NULL AS version
      FROM ledger WHERE key IN (?, ?) AND expires_at >= ? UNION ALL
      SELECT 'version', NULL, NULL, NULL, NULL, section, MAX(version) FROM (SELECT section, version FROM section_versions
      UNION ALL SELECT section, version FROM pending_versions WHERE expires_at >= ?) GROUP BY section\`,
      "n" + id, "p" + id, exp - 600, exp - 600).toArray();
    sql.exec("INSERT OR REPLACE INTO ledger (key, kind, request_id, applied, expires_at, reserved_at, instance) VALUES (?, 'nonce', ?, 0, ?, ?, ?), (?, 'payload', ?, 0, ?, ?, ?)",
      "n" + id, id, exp, now, "i", "p" + id, id, exp, now, "i");
    sql.exec("INSERT OR REPLACE INTO pending_versions (request_id, section, version, expires_at) VALUES (?, ?, ?, ?)", id, "branding", v, exp);`,
  settle: `sql.exec("UPDATE ledger SET applied = 1 WHERE key IN (?, ?) AND request_id = ?", "n" + id, "p" + id, id);
    sql.exec("DELETE FROM pending_versions WHERE request_id = ?", id);`,
});

// The edge's design now (worker/src/tenant_state/ledger.rs): one read and a reservation in the
// object's memory before the forward; the commit's five writes after it, before the answer.
const MEMORY = ledgerObject({
  reserve: `sql.exec(\`SELECT kind, request_id, applied, reserved_at, instance, NULL AS section, NULL AS version
      FROM ledger WHERE key IN (?, ?) AND expires_at >= ? UNION ALL
      SELECT 'version', NULL, NULL, NULL, NULL, section, version FROM section_versions\`, "n" + id, "p" + id, exp - 600).toArray();
    this.held.add(id);`,
  settle: `sql.exec("INSERT OR REPLACE INTO ledger (key, kind, request_id, applied, expires_at, reserved_at, instance) VALUES (?1, 'nonce', ?3, 1, ?4, ?5, ?6), (?2, 'payload', ?3, 1, ?4, ?5, ?6)",
      "n" + id, "p" + id, id, exp, now, "i");
    this.held.delete(id);`,
});

const round = (x) => Number(x.toFixed(3));

const gw = await startGateway();
const edgePids = workerdChildren();
const floors = {};
const started = [];
try {
  for (const [name, script] of [["passthrough", PASSTHROUGH], ["do-hop", durable(false)], ["do-sql", durable(true)], ["do-ledger", LEDGER], ["do-mem", MEMORY]]) {
    const before = workerdChildren();
    const mf = new Miniflare({
      script, modules: true, compatibilityDate: "2026-04-01",
      bindings: { ORIGIN: gw.origin.url }, host: "127.0.0.1", port: 0,
      ...(script === PASSTHROUGH ? {} : { durableObjects: { HOP: { className: "Hop", useSQLite: true } } }),
    });
    started.push(mf);
    const url = (await mf.ready).toString().replace(/\/$/, "");
    floors[name] = { url, pids: workerdChildren().filter((pid) => !before.includes(pid)) };
  }
  const t = await gw.createInstance("floor-eu1", "floor");
  let version = 0;
  const send = async (path) => {
    version += 1;
    const body = JSON.stringify(branding(t.tenant, version));
    const res = path === "syncgate"
      ? await gw.sync(t.instance, body, t.key)
      : await gw.originDirect("POST", `/origin/v1/${t.tenant}/sync`, {
        tenant: t.tenant, instance: t.instance, keyId: t.key.kid, body, via: floors[path].url,
      });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${text}`);
  };
  const paths = ["passthrough", "do-hop", "do-sql", "do-ledger", "do-mem", "syncgate"];
  const pidsOf = (path) => (path === "syncgate" ? edgePids : floors[path].pids);
  const out = { edge: { floor: { method: "sequential syncs per path; CPU = workerd process (kernel schedstat) per sync", requests: n } } };
  for (const path of paths) for (let i = 0; i < 30; i++) await send(path);
  // Each path in its own block (its workerd's CPU is read around the block), two rounds.
  const acc = Object.fromEntries(paths.map((p) => [p, { times: [], cpu: 0 }]));
  for (let round_ = 0; round_ < 2; round_++) {
    for (const path of paths) {
      const before = cpuMs(pidsOf(path));
      for (let i = 0; i < n / 2; i++) {
        const start = performance.now();
        await send(path);
        acc[path].times.push(performance.now() - start);
      }
      acc[path].cpu += cpuMs(pidsOf(path)) - before;
    }
  }
  for (const path of paths) {
    const sorted = acc[path].times.sort((a, b) => a - b);
    const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    out.edge.floor[path] = { p50: round(pick(0.5)), p99: round(pick(0.99)), cpu_ms: round(acc[path].cpu / sorted.length) };
  }
  // Where the edge's CPU goes, by what a request reaches (see the top of this file).
  const beforeTrivial = workerdChildren();
  const trivial = new Miniflare({
    script: `export default { fetch() { return new Response("{}", { status: 404, headers: { "content-type": "application/json" } }); } };`,
    modules: true, compatibilityDate: "2026-04-01", host: "127.0.0.1", port: 0,
  });
  started.push(trivial);
  const trivialUrl = (await trivial.ready).toString().replace(/\/$/, "");
  const trivialPids = workerdChildren().filter((pid) => !beforeTrivial.includes(pid));
  const wrongKey = { ...t.key, secret: `whsec_${Buffer.alloc(32, 7).toString("base64")}` };
  version += 1;
  const replayed = gw.signSync(t.instance, branding(t.tenant, version), t.key);
  // Every kind on a fresh connection, as the harness's `request` (and so `gw.sync`) sends them.
  const expect = async (res, status, what, code) => {
    const text = await res.text();
    if (res.status !== status) throw new Error(`${what} answered ${res.status}: ${text}`);
    if (code !== undefined && JSON.parse(text).code !== code) throw new Error(`${what} answered ${text}`);
  };
  await expect(await request(replayed.url, replayed.init), 200, "the sync to replay");
  const kinds = {
    "js-trivial": [trivialPids, async () => expect(await request(`${trivialUrl}/nope`), 404, "js-trivial")],
    "syncgate-404": [edgePids, async () => expect(await request(`${gw.edge}/nope`), 404, "syncgate-404")],
    "syncgate-refused": [edgePids, async () => {
      version += 1;
      await expect(await gw.sync(t.instance, branding(t.tenant, version), wrongKey), 401, "syncgate-refused");
    }],
    "syncgate-replay": [edgePids, async () => expect(await request(replayed.url, replayed.init), 409, "syncgate-replay", "replayed_nonce")],
    syncgate: [edgePids, () => send("syncgate")],
  };
  for (const [, call] of Object.values(kinds)) for (let i = 0; i < 20; i++) await call();
  const split = Object.fromEntries(Object.keys(kinds).map((k) => [k, { times: [], cpu: 0 }]));
  for (let round_ = 0; round_ < 3; round_++) {
    for (const [kind, [pids, call]] of Object.entries(kinds)) {
      const before = cpuMs(pids);
      for (let i = 0; i < Math.ceil(n / 3); i++) {
        const start = performance.now();
        await call();
        split[kind].times.push(performance.now() - start);
      }
      split[kind].cpu += cpuMs(pids) - before;
    }
  }
  out.edge.cost_split = { method: "sequential requests per kind, three rounds; CPU = workerd process (kernel schedstat) per request" };
  for (const [kind, { times, cpu }] of Object.entries(split)) {
    const sorted = times.sort((a, b) => a - b);
    out.edge.cost_split[kind] = { p50: round(sorted[Math.floor(sorted.length / 2)]), cpu_ms: round(cpu / sorted.length) };
  }
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`platform floor, ${n} sequential syncs per path (ms):`);
  console.table(Object.fromEntries(paths.map((p) => [p, out.edge.floor[p]])));
  console.log("where the edge's CPU goes, by what a request reaches (ms):");
  console.table(Object.fromEntries(Object.keys(kinds).map((k) => [k, out.edge.cost_split[k]])));
  console.log(`wrote ${values.out}`);
} finally {
  await Promise.all(started.map((mf) => mf.dispose()));
  await gw.stop();
}
