// The CPU the syncgate core costs inside a Worker, per sync of a given body size: `edge.cpu_ms`.
// "CPU in the Worker per sync" would best be workerd's own accounting, but workerd run locally
// keeps none (a tail Worker's `cpuTime` is 0 there; this script records what the tail saw), so
// the core is timed at that size instead.
//
// Which core: the npm package's build of it (pkg/workerd.js, its JS glue included), not the
// edge's own Rust Worker: the same Rust checks, crossing a JS boundary the edge does not have.
// A Worker bundled from that entry receives one signed sync and verifies it `count` times in
// that one request with a compiled verifier — headers, timestamp window, key, the body's
// SHA-256 and HMAC by WebCrypto (native), the payload parsed and checked against the schema,
// tenant and scope, replay keys — and answers how long that took. The CPU figure is the
// kernel's: the workerd process's CPU over the request (/proc/PID/task/*/schedstat, every
// thread, so WebCrypto's work counts wherever it runs), divided by `count`; the one request's
// own serving is spread over the count. The Worker's own clock (`performance.now`, whole
// milliseconds in workerd) gives the wall time per verify next to it.
//
// Two hosts, each its own Worker: `webcrypto` (no compatibility flags: `verifyAsync`, hashing by
// WebCrypto, as the edge hashes bodies of 4 KiB and more; under that it hashes in wasm) and
// `node_crypto` (`nodejs_compat`: the synchronous `verify`, hashing by node:crypto); each
// Worker says which it ran. `edge.cpu_ms` is the `webcrypto` figure.
//
// What it leaves out, measured elsewhere: what the edge's Worker and the platform spend around
// the core (the policy lookup, reading the body, the hop to the tenant's object, its SQLite
// writes, the forward): bench/edge-latency.mjs (`edge.process_cpu_ms`, the edge's whole workerd
// process against a pass-through Worker's) and bench/edge-floor.mjs (`edge.cost_split`).
//
//   node bench/edge-core.mjs [--rounds 5] [--pkg pkg] [--out target/bench/core.json]
//   --pkg runs another build of the package (e.g. an older one, for a before/after table)
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { cpuMs, workerdChildren } from "../tests/e2e/support/proc.mjs";
import { featuresBody } from "./support/bodies.mjs";
import { median } from "./support/stats.mjs";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    pkg: { type: "string", default: "pkg" },
    out: { type: "string", default: "target/bench/core.json" },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number of at least 1, not ${values.rounds}`);
const root = resolve(import.meta.dirname, "..");
const pkgDir = resolve(root, values.pkg);
// Verifications per request at each size: enough that the request's own serving (~1 ms of CPU)
// is a small share of the total.
const SIZES = { "1k": [1024, 2000], "64k": [65536, 400], "256k": [262144, 100] };

// The Worker: the signed request arrives as itself; its body is read once, then verified
// `count` times (each must be ok) with the verifier compiled once per policy.
const WORKER = `import { createVerifier } from ${JSON.stringify(join(pkgDir, "workerd.js"))};
let verifier = null;
export default {
  async fetch(request, env) {
    verifier ??= createVerifier(JSON.parse(env.POLICY));
    const count = Number(request.headers.get("x-bench-count"));
    const headers = {};
    for (const [name, value] of request.headers) if (name !== "x-bench-count") headers[name] = value;
    const signed = { method: request.method, url: request.url, headers, body: new Uint8Array(await request.arrayBuffer()) };
    const now = Math.floor(Date.now() / 1000);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const verdict = env.HOST === "webcrypto" ? await verifier.verifyAsync(signed, now) : verifier.verify(signed, now);
      if (!verdict.ok) return Response.json(verdict, { status: 500 });
    }
    // Which host the package found: node:crypto only under nodejs_compat.
    const nodeCrypto = typeof globalThis.process?.getBuiltinModule === "function" && globalThis.process.getBuiltinModule("node:crypto") != null;
    return Response.json({ ms: performance.now() - started, count, host: nodeCrypto ? "node_crypto" : "webcrypto" });
  },
};
`;

// Keeps the CPU time workerd reports for each request it traced, until fetched.
const TAIL = `let reported = [];
export default {
  tail(events) { for (const e of events) reported.push(e.cpuTime ?? null); },
  fetch() { const out = reported; reported = []; return Response.json(out); },
};
`;

const work = join(root, "target", "bench-core");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeFileSync(join(work, "entry.js"), WORKER);
await build({
  entryPoints: [join(work, "entry.js")],
  outdir: join(work, "dist"),
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  loader: { ".wasm": "copy" },
  // (esbuild's note on the package.json's unused "types"/"default" fallbacks is not the bench's)
  logLevel: "error",
});

const sg = createRequire(import.meta.url)(join(pkgDir, "syncgate.cjs"));
const kid = "bench-2026-12";
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const policy = { instance: "bench-eu1", tenant: "bench", keys: [{ kid, version: 1, status: "active", secret }] };
const round = (x, digits = 3) => Number(x.toFixed(digits));

const out = { edge: { cpu_ms: {}, core_cpu: { method: "", hosts: {} } } };
out.edge.core_cpu.method = "the syncgate core in a Worker (npm package, pkg/workerd.js, in workerd): CPU of the workerd " +
  "process (kernel schedstat) over one request that verifies the same signed sync `count` times, per verify; median of " +
  `${rounds} rounds; host webcrypto (verifyAsync, as the edge hashes) or node_crypto (nodejs_compat, verify)`;
for (const [host, flags] of [["webcrypto", []], ["node_crypto", ["nodejs_compat"]]]) {
  const before = workerdChildren();
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    workers: [{
      name: "core",
      modules: true,
      scriptPath: join(work, "dist", "entry.js"),
      modulesRoot: join(work, "dist"),
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: "2026-04-01",
      compatibilityFlags: flags,
      bindings: { POLICY: JSON.stringify(policy), HOST: host },
      tails: ["tail"],
    }, {
      // What workerd reports of each request's CPU itself: should it ever report some, the
      // summary says so (the figure above is the fallback for a workerd that does not).
      name: "tail",
      modules: true,
      compatibilityDate: "2026-04-01",
      script: TAIL,
    }],
  });
  try {
    const url = (await mf.ready).toString().replace(/\/$/, "");
    const pids = workerdChildren().filter((pid) => !before.includes(pid));
    if (pids.length === 0) throw new Error("no workerd process found for the core Worker");
    const results = {};
    for (const [label, [size, count]] of Object.entries(SIZES)) {
      const body = Buffer.from(featuresBody(size, policy.tenant, 1));
      const unsigned = { method: "POST", url: `${url}/v1/${policy.instance}/sync`, headers: { "content-type": "application/json" }, body };
      const s = sg.signRequest(unsigned, { kid, secret }, { scheme: "standard-webhooks", nonce: `msg_core_${label}` });
      if (!s.ok) throw new Error(JSON.stringify(s));
      const send = async (n) => {
        const res = await fetch(unsigned.url, { method: "POST", headers: { ...unsigned.headers, ...s.headers, "x-bench-count": String(n) }, body });
        const answer = await res.json();
        if (res.status !== 200) throw new Error(`core Worker (${host}, ${label}) answered ${res.status}: ${JSON.stringify(answer)}`);
        if (answer.host !== host) throw new Error(`the ${host} Worker ran on ${answer.host}`);
        return answer;
      };
      await send(Math.ceil(count / 4)); // warm-up: compiled, optimised
      const cpu = [];
      const wall = [];
      for (let r = 0; r < rounds; r++) {
        const start = cpuMs(pids);
        const answer = await send(count);
        cpu.push((cpuMs(pids) - start) / count);
        wall.push(answer.ms / count);
      }
      results[label] = { cpu_ms: round(median(cpu)), wall_ms: round(median(wall)), count, rounds };
    }
    out.edge.core_cpu.hosts[host] = results;
    // Tail events arrive after their request's answer: a moment, then what was reported.
    await new Promise((done) => setTimeout(done, 200));
    const tail = await mf.getWorker("tail");
    const reported = await (await tail.fetch("http://tail/")).json();
    out.edge.core_cpu.workerd_cpu_time ??= {};
    out.edge.core_cpu.workerd_cpu_time[host] = {
      requests_traced: reported.length, reported_nonzero: reported.filter((ms) => typeof ms === "number" && ms > 0).length,
    };
  } finally {
    await mf.dispose();
  }
}
for (const label of Object.keys(SIZES)) out.edge.cpu_ms[label] = out.edge.core_cpu.hosts.webcrypto[label].cpu_ms;

mkdirSync(dirname(resolve(values.out)), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
console.log("the core in a Worker, per verify (ms):");
console.table(Object.fromEntries(Object.entries(out.edge.core_cpu.hosts).flatMap(([host, r]) =>
  Object.entries(r).map(([label, v]) => [`${host} ${label}`, { cpu_ms: v.cpu_ms, wall_ms: v.wall_ms, count: v.count }]))));
console.log(`wrote ${values.out}`);
