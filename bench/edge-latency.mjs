// Latency the edge adds: signed syncs and customer calls through the worker (workerd via
// Miniflare, local KV and SQLite Durable Object) to the reference origin, next to the same
// requests sent straight to the origin with the edge's own signature and through a pass-through
// Worker in the same workerd that only forwards them, in the same run, sequentially, on
// loopback. The servers run in a child process; this one only measures.
//
//   node bench/edge-latency.mjs [--requests 300]
//
// Both paths end in the same origin work (verify the edge signature, validate, SQLite); the
// difference is the edge: KV read, unsealing, the core's checks, the Durable Object's step
// (reserve/commit for sync, authorise and rate-limit for customers) and the extra hop.
import { parseArgs } from "node:util";
import { branding, request, startGatewayProcess, syncgate } from "../tests/e2e/support/harness.mjs";

const { values } = parseArgs({ options: { requests: { type: "string", default: "300" } } });
const n = Number(values.requests);
const warmup = Math.max(20, Math.floor(n / 10));

const gw = await startGatewayProcess();
try {
  const t = await gw.createInstance("bench-eu1", "bench", {
    rateLimits: { perKeyPerMinute: 1000000, perTenantPerMinute: 1000000 },
  });
  const apiKey = await gw.apiKey(t.instance, ["customers:read", "customers:write"]);
  let version = 0;
  let serial = 0;

  const direct = async (method, path, body, expected, via) => {
    const res = await gw.originDirect(method, path, {
      tenant: t.tenant, instance: t.instance, keyId: t.key.kid, body, via,
    });
    if (res.status !== expected) throw new Error(`origin answered ${res.status}: ${await res.text()}`);
    return res.json();
  };

  const viaEdge = async (res, expected) => {
    const answer = await res;
    if (answer.status !== expected) throw new Error(`edge answered ${answer.status}: ${await answer.text()}`);
    return answer.json();
  };
  const customer = () => JSON.stringify({ firstName: "Bench", email: `b${(serial += 1)}@example.com` });
  const edgeCustomers = (method, path = "", body) =>
    request(`${gw.edge}/v1/${t.instance}/customers${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { "content-type": "application/json" } : {}) },
      body,
    });
  const known = await viaEdge(edgeCustomers("POST", "", customer()), 201);

  const pass = gw.passthrough;
  const scenarios = [
    [
      "signed sync (POST)",
      (via) => direct("POST", `/origin/v1/${t.tenant}/sync`, JSON.stringify(branding(t.tenant, (version += 1))), 200, via),
      () => viaEdge(gw.sync(t.instance, branding(t.tenant, (version += 1)), t.key), 200),
    ],
    [
      "customer create (POST)",
      (via) => direct("POST", `/origin/v1/${t.tenant}/customers`, customer(), 201, via),
      () => viaEdge(edgeCustomers("POST", "", customer()), 201),
    ],
    [
      "customer read (GET)",
      (via) => direct("GET", `/origin/v1/${t.tenant}/customers/${known.id}`, undefined, 200, via),
      () => viaEdge(edgeCustomers("GET", `/${known.id}`), 200),
    ],
  ];

  const measure = async (fn) => {
    for (let i = 0; i < warmup; i++) await fn();
    const times = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      await fn();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    return { p50: pick(0.5), p99: pick(0.99) };
  };

  console.log(`${n} sequential requests per path and run, 2 runs alternating, loopback; times in ms`);
  const rows = [];
  for (const [name, toOrigin, throughEdge] of scenarios) {
    const runs = { origin: [], passthrough: [], edge: [] };
    // Alternate the three so drift on a shared machine hits all alike.
    for (let round = 0; round < 2; round++) {
      runs.origin.push(await measure(() => toOrigin()));
      runs.passthrough.push(await measure(() => toOrigin(pass)));
      runs.edge.push(await measure(throughEdge));
    }
    const avg = (key, k) => runs[key].reduce((sum, r) => sum + r[k], 0) / runs[key].length;
    rows.push({
      request: name,
      "origin p50": avg("origin", "p50").toFixed(2),
      "pass-through p50": avg("passthrough", "p50").toFixed(2),
      "pass-through p99": avg("passthrough", "p99").toFixed(2),
      "edge p50": avg("edge", "p50").toFixed(2),
      "edge p99": avg("edge", "p99").toFixed(2),
      "added over pass-through p50": (avg("edge", "p50") - avg("passthrough", "p50")).toFixed(2),
      "added over pass-through p99": (avg("edge", "p99") - avg("passthrough", "p99")).toFixed(2),
    });
  }
  console.table(rows);
} finally {
  await gw.stop();
}
