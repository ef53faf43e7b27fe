// Latency the edge adds: a signed sync through the worker (workerd via Miniflare, local KV and
// SQLite Durable Object) to the reference origin, next to the same payload sent straight to the
// origin with the edge's own signature, in the same run, sequentially, on loopback.
//
//   node bench/edge-latency.mjs [--requests 300]
//
// Both paths end in the same origin work (verify the edge signature, parse, apply in SQLite);
// the difference is the edge: KV read, unsealing, the core's verification, the Durable Object's
// reserve/commit and the extra hop.
import { createHash, randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { branding, request, startGateway, syncgate } from "../tests/e2e/support/harness.mjs";

const { values } = parseArgs({ options: { requests: { type: "string", default: "300" } } });
const n = Number(values.requests);
const warmup = Math.max(20, Math.floor(n / 10));

const gw = await startGateway();
try {
  const t = await gw.createInstance("bench-eu1", "bench");
  let version = 0;

  const viaEdge = async () => {
    version += 1;
    const res = await gw.sync(t.instance, branding(t.tenant, version), t.key);
    if (res.status !== 200) throw new Error(`edge answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };

  const direct = async () => {
    version += 1;
    const body = JSON.stringify(branding(t.tenant, version));
    const requestId = `req_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
    const url = `${gw.origin.url}/origin/v1/${t.tenant}/sync`;
    const headers = {
      "content-type": "application/json",
      "x-request-id": requestId,
      "x-syncgate-tenant": t.tenant,
      "x-syncgate-instance": t.instance,
      "x-syncgate-key-id": t.key.kid,
      "idempotency-key": createHash("sha256").update(body).digest("hex"),
    };
    const signed = syncgate.signRequest(
      { method: "POST", url, headers, body },
      { kid: "edge", secret: gw.originSecret },
      {
        label: "edge", nonce: requestId,
        components: ["@query", "x-request-id", "x-syncgate-tenant", "x-syncgate-key-id", "idempotency-key"],
      },
    );
    if (!signed.ok) throw new Error(signed.message);
    const res = await request(url, { method: "POST", headers: { ...headers, ...signed.headers }, body });
    if (res.status !== 200) throw new Error(`origin answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };

  const measure = async (fn) => {
    for (let i = 0; i < warmup; i++) await fn();
    const times = [];
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      await fn();
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    return { p50: pick(0.5), p90: pick(0.9), p99: pick(0.99) };
  };

  // Alternate the two so drift on a shared machine hits both alike.
  const edge = [];
  const origin = [];
  for (let round = 0; round < 2; round++) {
    origin.push(await measure(direct));
    edge.push(await measure(viaEdge));
  }
  const avg = (runs, k) => runs.reduce((s, r) => s + r[k], 0) / runs.length;
  const row = (name, runs) => ({
    path: name,
    "p50 ms": avg(runs, "p50").toFixed(2),
    "p90 ms": avg(runs, "p90").toFixed(2),
    "p99 ms": avg(runs, "p99").toFixed(2),
  });
  console.log(`signed sync, ${n} sequential requests per run, 2 runs each, loopback`);
  console.table([row("origin directly", origin), row("through the edge", edge)]);
  console.log(
    `edge adds ${(avg(edge, "p50") - avg(origin, "p50")).toFixed(2)} ms at p50 ` +
      `(${(avg(edge, "p50") / avg(origin, "p50")).toFixed(2)}x), ` +
      `${(avg(edge, "p99") - avg(origin, "p99")).toFixed(2)} ms at p99`,
  );
} finally {
  await gw.stop();
}
