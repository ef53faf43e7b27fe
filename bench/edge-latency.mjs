// What the edge costs over a bare Worker: signed syncs through the edge (workerd via Miniflare,
// local KV, SQLite Durable Object) next to the same edge-signed request sent through a
// pass-through Worker in the same workerd build (it only forwards to the origin) and straight to
// the origin, all on loopback, in one run. The servers run in a child process
// (tests/e2e/support/serve.mjs); this one only measures.
//
//   node --no-opt bench/edge-latency.mjs [--requests 1000] [--customer-requests 300]
//                                        [--only latency,rps,cpu,tenants,customers]
//                                        [--out target/bench/edge.json]
//
// `--only` runs the named sections alone (a shorter run while iterating; the default is all).
//
// Sections (each bounded in count):
// - latency: `requests` sequential syncs per path, the three paths interleaved request by
//   request (a drift of the shared machine hits all alike), p50/p99 per path; at 1000 a path's
//   p99 is its 11th-largest time, so one stall of the shared machine does not make it;
// - rps: 16 clients at once, each its own tenant sending its syncs one after another, a fixed
//   number each; edge and pass-through in six pairs of rounds, the median of the pairs' ratios;
// - cpu: CPU time of the workerd processes per sync, from the kernel's per-thread accounting
//   (/proc/PID/task/*/schedstat, nanoseconds): the edge's workerd and the pass-through's, per
//   body size (1 KiB, 64 KiB, 256 KiB); `edge.process_cpu_ms` is the edge's minus the pass-through's, so
//   the HTTP serving both share (Miniflare's entry worker, the request and answer) is left out;
// - tenants: sequential syncs spread round-robin over 1, 10 and 100 tenants (each its own
//   instance, policy, Durable Object), after each tenant's first request (timed apart);
// - size: sequential latency of 1 KiB, 64 KiB and 256 KiB syncs, edge and pass-through (with cpu);
// - customers: customer create (POST) and read (GET) through the edge (API key, token buckets,
//   access log, attested forward) next to the same call through the pass-through Worker,
//   interleaved, `customer-requests` each.
//
// Every path ends in the same origin work (verify the edge signature, validate, SQLite); the
// difference is the edge: policy lookup, the core's checks, the Durable Object's step (reserve,
// commit, log) and the extra hop.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { branding, request, startGatewayProcess } from "../tests/e2e/support/harness.mjs";
import { cpuMs } from "../tests/e2e/support/proc.mjs";
import { featuresBody } from "./support/bodies.mjs";
import { median } from "./support/stats.mjs";

/** Bad options stop the run before anything starts: one line on stderr, exit status 2. */
const refuse = (message) => {
  console.error(`edge-latency: ${message}`);
  process.exit(2);
};
let values;
try {
  ({ values } = parseArgs({
    options: {
      requests: { type: "string", default: "1000" },
      "customer-requests": { type: "string", default: "300" },
      out: { type: "string", default: "target/bench/edge.json" },
      only: { type: "string", default: "latency,rps,cpu,tenants,customers" },
    },
  }));
} catch (error) {
  refuse(error.message);
}
/** A count option: a positive integer. */
const count = (name) => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < 1) refuse(`--${name}: a positive integer, not ${JSON.stringify(values[name])}`);
  return value;
};
const n = count("requests");
const customerRequests = count("customer-requests");
const sections = new Set(values.only.split(",").map((s) => s.trim()));
const KNOWN_SECTIONS = ["latency", "rps", "cpu", "tenants", "customers"];
for (const s of sections) if (!KNOWN_SECTIONS.includes(s)) refuse(`--only: unknown section ${JSON.stringify(s)}`);
const CONCURRENCY = 16;
const PER_CLIENT = 30;
const RPS_ROUNDS = 6;
const SIZES = { "1k": 1024, "64k": 65536, "256k": 262144 };
const SIZE_REQUESTS = { "1k": 100, "64k": 60, "256k": 30 };
const TENANT_COUNTS = [1, 10, 100];

const quantiles = (times) => {
  const sorted = [...times].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: round(pick(0.5)), p99: round(pick(0.99)) };
};
const round = (x, digits = 3) => Number(x.toFixed(digits));


const gw = await startGatewayProcess();
const out = { edge: {}, startup_ms: {} };
try {
  // Tenants: t000 … t099 (the first 16 also serve the concurrent clients), plus `bench`.
  const instances = [];
  for (let i = 0; i < 100; i++) {
    const name = `t${String(i).padStart(3, "0")}`;
    instances.push(await gw.createInstance(`${name}-eu1`, name));
  }
  const main = await gw.createInstance("bench-eu1", "bench");
  const versions = new Map();
  const nextVersion = (t) => {
    const v = (versions.get(t.tenant) ?? 0) + 1;
    versions.set(t.tenant, v);
    return v;
  };

  const expectOk = async (res, what) => {
    const answer = await res;
    const body = await answer.arrayBuffer();
    if (answer.status !== 200) throw new Error(`${what} answered ${answer.status}: ${Buffer.from(body)}`);
  };
  const syncBody = (t, size) =>
    size ? featuresBody(size, t.tenant, nextVersion(t)) : JSON.stringify(branding(t.tenant, nextVersion(t)));
  /** One sync of `t` through `path` (`syncgate` | `passthrough` | `origin`). */
  const send = (path, t, size) => {
    const body = syncBody(t, size);
    if (path === "syncgate") return expectOk(gw.sync(t.instance, body, t.key), "edge");
    return expectOk(
      gw.originDirect("POST", `/origin/v1/${t.tenant}/sync`, {
        tenant: t.tenant, instance: t.instance, keyId: t.key.kid, body,
        via: path === "passthrough" ? gw.passthrough : undefined,
      }),
      path,
    );
  };
  const timed = async (fn) => {
    const start = performance.now();
    await fn();
    return performance.now() - start;
  };

  // Cold: the edge's first request (wasm instantiated, policy read from KV, the tenant's object
  // created) after workerd is listening.
  const firstMs = await timed(() => send("syncgate", main));
  out.startup_ms.worker_cold = round(gw.edgeReadyMs + firstMs, 1);
  out.startup_ms.worker_cold_detail = { workerd_ready: round(gw.edgeReadyMs, 1), first_request: round(firstMs, 2) };

  // Latency, sequential, the three paths interleaved.
  if (sections.has("latency")) {
  const paths = ["syncgate", "passthrough", "origin"];
  const warmup = Math.max(30, Math.floor(n / 10));
  const times = Object.fromEntries(paths.map((p) => [p, []]));
  for (let i = 0; i < warmup + n; i++) {
    for (let k = 0; k < paths.length; k++) {
      const path = paths[(i + k) % paths.length];
      const ms = await timed(() => send(path, main));
      if (i >= warmup) times[path].push(ms);
    }
  }
  out.edge.latency_ms = Object.fromEntries(paths.map((p) => [p, quantiles(times[p])]));
  out.edge.latency_requests = n;
  }

  // Throughput at concurrency 16: each client its own tenant, PER_CLIENT syncs in sequence.
  if (sections.has("rps")) {
  const clients = instances.slice(0, CONCURRENCY);
  for (const t of clients) {
    await send("syncgate", t);
    await send("passthrough", t);
  }
  // Rounds in pairs, which path goes first alternating from pair to pair (an even count, so
  // each goes first as often), so a drift of the shared machine hits both paths of a pair
  // alike. The ratio is the median of the pairs' ratios; each path's rate, its median round.
  const rps = { syncgate: [], passthrough: [] };
  const ratios = [];
  for (let round_ = 0; round_ < RPS_ROUNDS; round_++) {
    const pair = {};
    for (const path of round_ % 2 ? ["passthrough", "syncgate"] : ["syncgate", "passthrough"]) {
      const ms = await timed(() =>
        Promise.all(clients.map(async (t) => {
          for (let i = 0; i < PER_CLIENT; i++) await send(path, t);
        })),
      );
      pair[path] = (CONCURRENCY * PER_CLIENT * 1000) / ms;
      rps[path].push(pair[path]);
    }
    ratios.push(pair.syncgate / pair.passthrough);
  }
  out.edge.rps = {
    syncgate: { c16: round(median(rps.syncgate), 1) },
    passthrough: { c16: round(median(rps.passthrough), 1) },
    ratio_c16: round(median(ratios), 3),
  };
  out.edge.rps_rounds = {
    method: `${RPS_ROUNDS} pairs of rounds of ${CONCURRENCY} clients × ${PER_CLIENT} syncs per path, which path goes first alternating from pair to pair; edge.rps.ratio_c16 is the median of the pairs' ratios, edge.rps.*.c16 each path's median round`,
    syncgate: rps.syncgate.map((x) => round(x, 1)),
    passthrough: rps.passthrough.map((x) => round(x, 1)),
    ratio_per_pair: ratios.map((x) => round(x, 3)),
  };
  }

  // CPU per sync and latency by body size.
  if (sections.has("cpu")) {
  out.edge.process_cpu_ms = {};
  out.edge.process_cpu_detail = { method: "workerd process CPU (kernel schedstat, all threads) per sync, edge minus pass-through" };
  out.edge.by_size = {};
  for (const [label, size] of Object.entries(SIZES)) {
    const count = SIZE_REQUESTS[label];
    const perPath = {};
    for (const path of ["syncgate", "passthrough"]) {
      for (let i = 0; i < 5; i++) await send(path, main, size);
      const pids = path === "syncgate" ? gw.pids.edge : gw.pids.passthrough;
      const before = cpuMs(pids);
      const lat = [];
      for (let i = 0; i < count; i++) lat.push(await timed(() => send(path, main, size)));
      perPath[path] = { cpu: (cpuMs(pids) - before) / count, ...quantiles(lat) };
    }
    out.edge.process_cpu_ms[label] = round(Math.max(0, perPath.syncgate.cpu - perPath.passthrough.cpu));
    out.edge.process_cpu_detail[label] = {
      edge_workerd: round(perPath.syncgate.cpu), passthrough_workerd: round(perPath.passthrough.cpu), requests: count,
    };
    out.edge.by_size[label] = {
      syncgate: { p50: perPath.syncgate.p50, p99: perPath.syncgate.p99 },
      passthrough: { p50: perPath.passthrough.p50, p99: perPath.passthrough.p99 },
    };
  }
  }

  // Tenant count: first request per tenant, then round-robin.
  if (sections.has("tenants")) {
  out.edge.tenants = {};
  const firsts = [];
  for (const t of instances) firsts.push(await timed(() => send("syncgate", t)));
  out.edge.tenants.first_request_ms = quantiles(firsts);
  for (const count of TENANT_COUNTS) {
    const group = instances.slice(0, count);
    const lat = [];
    const before = cpuMs(gw.pids.edge);
    const total = 200;
    for (let i = 0; i < total; i++) lat.push(await timed(() => send("syncgate", group[i % count])));
    out.edge.tenants[count] = { ...quantiles(lat), cpu_ms: round((cpuMs(gw.pids.edge) - before) / total) };
  }
  }

  // Customer records: create (POST) and read (GET), through the edge and through the
  // pass-through Worker (signed as the edge signs them), interleaved request by request.
  if (sections.has("customers")) {
    const c = await gw.createInstance("custbench-eu1", "custbench", {
      rateLimits: { perKeyPerMinute: 1000000, perTenantPerMinute: 1000000 },
    });
    const apiKey = await gw.apiKey(c.instance, ["customers:read", "customers:write"]);
    let serial = 0;
    const customer = () => JSON.stringify({ firstName: "Bench", email: `b${(serial += 1)}@example.com` });
    const expect = async (res, status, what) => {
      const answer = await res;
      const text = await answer.text();
      if (answer.status !== status) throw new Error(`${what} answered ${answer.status}: ${text}`);
      return text;
    };
    const edgeCustomers = (method, path = "", body) =>
      request(`${gw.edge}/v1/${c.instance}/customers${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, ...(body ? { "content-type": "application/json" } : {}) },
        body,
      });
    const direct = (method, path, body) =>
      gw.originDirect(method, `/origin/v1/${c.tenant}/customers${path}`, {
        tenant: c.tenant, instance: c.instance, keyId: "bench", body, via: gw.passthrough,
      });
    const known = JSON.parse(await expect(edgeCustomers("POST", "", customer()), 201, "edge create"));
    const scenarios = {
      "customer create (POST)": {
        syncgate: () => expect(edgeCustomers("POST", "", customer()), 201, "edge create"),
        passthrough: () => expect(direct("POST", "", customer()), 201, "pass-through create"),
      },
      "customer read (GET)": {
        syncgate: () => expect(edgeCustomers("GET", `/${known.id}`), 200, "edge read"),
        passthrough: () => expect(direct("GET", `/${known.id}`), 200, "pass-through read"),
      },
    };
    out.edge.customers_ms = {};
    const warm = Math.max(10, Math.floor(customerRequests / 10));
    for (const [name, byPath] of Object.entries(scenarios)) {
      const lat = { syncgate: [], passthrough: [] };
      for (let i = 0; i < warm + customerRequests; i++) {
        for (const path of i % 2 ? ["syncgate", "passthrough"] : ["passthrough", "syncgate"]) {
          const ms = await timed(byPath[path]);
          if (i >= warm) lat[path].push(ms);
        }
      }
      const q = { syncgate: quantiles(lat.syncgate), passthrough: quantiles(lat.passthrough) };
      out.edge.customers_ms[name] = {
        ...q,
        added_p50: round(q.syncgate.p50 - q.passthrough.p50),
        added_p99: round(q.syncgate.p99 - q.passthrough.p99),
      };
    }
  }
} finally {
  await gw.stop();
}

mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
const l = out.edge.latency_ms;
if (l) {
  console.log(`edge latency, ${n} sequential syncs per path (ms):`);
  console.table(Object.fromEntries(Object.entries(l).map(([p, q]) => [p, { ...q, "added p50": round(q.p50 - l.passthrough.p50), "added p99": round(q.p99 - l.passthrough.p99) }])));
}
if (out.edge.rps) {
  console.log(`rps at c${CONCURRENCY}:`, out.edge.rps, `per pair ${out.edge.rps_rounds.ratio_per_pair.join(" ")}`);
}
if (out.edge.process_cpu_ms) console.log("workerd CPU per sync (ms, edge minus pass-through):", out.edge.process_cpu_ms, out.edge.process_cpu_detail);
if (out.edge.tenants) console.log("tenants:", out.edge.tenants);
if (out.edge.customers_ms) console.log("customers (ms):", JSON.stringify(out.edge.customers_ms, null, 1));
console.log(`wrote ${values.out}`);
