// Where the edge's CPU goes, down to the runtime's own native code: Linux `perf record` (on-CPU
// sampling) of the edge's workerd process and of the pass-through's, each over sequential syncs
// of one body size, the samples grouped by what the code is, and each group's share turned into
// milliseconds per request with the process's CPU over the same window (kernel schedstat).
//
// workerd ships its symbols, so its C++ (V8, the KJ event loop and HTTP, SQLite, the Workers
// API) is named; code V8 generated at run time — syncgate's wasm, the JS glue, workers-rs' JS
// and the runtime's own JS once compiled — is one `[JIT]` bucket. Where the V8 inspector's
// profile (bench/edge-profile.mjs) samples the isolate thread's wall time and names wasm and JS
// functions, this counts CPU only, on every thread, with the runtime's work broken out: what
// the edge's requests make the platform do, next to what the pass-through's make it do.
//
// Optional and bounded: with no `perf` on the PATH, or no permission to attach to a process,
// it says so and writes nothing (make bench goes on). About 40 s with the defaults.
//
//   node --no-opt bench/edge-native.mjs [--seconds 8] [--sizes 1k,64k] [--warmup 50]
//     [--out target/bench/native.json] [--keep]   (--keep: leave the perf.data files for `perf report`)
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { startGatewayProcess } from "../tests/e2e/support/harness.mjs";
import { cpuMs } from "../tests/e2e/support/proc.mjs";
import { featuresBody } from "./support/bodies.mjs";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    sizes: { type: "string", default: "1k,64k" },
    warmup: { type: "string", default: "50" },
    keep: { type: "boolean", default: false },
    out: { type: "string", default: "target/bench/native.json" },
  },
});
const SECONDS = Number(values.seconds);
const SIZES = values.sizes.split(",").map((label) => [label, Number.parseInt(label, 10) * 1024]);
const FREQUENCY = 1999;
const WARMUP = Number(values.warmup);

/**
 * What a sample's code is, first match wins: its object (`dso`) and symbol. The order matters
 * where names overlap (a V8 builtin is V8's, not the interpreter's caller's).
 */
const GROUPS = [
  ["JIT code: wasm and JS", (dso) => dso.startsWith("[JIT]")],
  ["kernel: syscalls, fsync, sockets, scheduling", (dso, sym, kernel) => kernel],
  ["SQLite: statements and the durable commit", (dso, sym) => /sqlite3|pcache|Sqlite|ActorSqlite|vdbe|btree|Wal/.test(sym)],
  ["V8 builtins: interpreter, ICs, wasm and JS entry", (dso, sym) => sym.startsWith("Builtins_")],
  ["V8 compilers: wasm tier-up, JS", (dso, sym) => /v8::internal::wasm|turboshaft|compiler::|[Mm]aglev|[Bb]aseline/.test(sym)],
  ["V8 garbage collector", (dso, sym) => /Heap::|Scaveng|Marking|MarkCompact|Sweep|cppgc|heap::|Evacuat/.test(sym)],
  ["V8 runtime and API: objects, strings, handles", (dso, sym) => sym.includes("v8::")],
  ["malloc", (dso, sym) => /tcmalloc|TCMalloc/.test(sym)],
  ["jsg: workerd's JS bindings", (dso, sym) => sym.includes("jsg::")],
  ["Workers API: Request, Response, Headers, fetch, SQL cursors", (dso, sym) => sym.includes("workerd::api::")],
  ["KJ and Cap'n Proto: event loop, promises, HTTP, RPC", (dso, sym) => /kj::|capnp::/.test(sym)],
  ["workerd, other", (dso, sym) => sym.includes("workerd::")],
  ["libc and other libraries", (dso) => !dso.startsWith("workerd")],
  ["workerd, unnamed", () => true],
];

/** perf could not record or report here. */
class PerfError extends Error {}

const round = (x, digits = 3) => Number(x.toFixed(digits));

function perfWorks() {
  const probe = spawnSync("perf", ["--version"], { encoding: "utf8" });
  return probe.status === 0;
}

/** Samples per group in `file` (perf report, self time, by object and symbol). */
function groupSamples(file) {
  const report = spawnSync(
    "perf",
    ["report", "-i", file, "--stdio", "--no-children", "-g", "none", "--sort", "dso,sym", "-F", "sample,dso,sym"],
    { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  if (report.status !== 0) throw new PerfError(`perf report failed: ${report.stderr.slice(0, 300)}`);
  const groups = new Map(GROUPS.map(([name]) => [name, 0]));
  let total = 0;
  for (const line of report.stdout.split("\n")) {
    const m = /^\s*(\d+)\s+(.+?)\s+\[([.k])\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const samples = Number(m[1]);
    const [name] = GROUPS.find(([, test]) => test(m[2], m[4], m[3] === "k"));
    groups.set(name, groups.get(name) + samples);
    total += samples;
  }
  return { groups, total };
}

/**
 * Sends `send()` one after another while `perf` records `pids` for SECONDS; answers the
 * requests completed and the processes' CPU (ms) over the recording.
 */
async function record(pids, send, file) {
  const perf = spawn("perf", ["record", "-F", String(FREQUENCY), "-p", pids.join(","), "-o", file, "--", "sleep", String(SECONDS)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  perf.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((ok) => perf.once("exit", (code) => ok(code)));
  let done = false;
  exited.then(() => (done = true));
  // perf is attached once it has written its header; give it a moment before counting.
  await new Promise((ok) => setTimeout(ok, 300));
  const cpuBefore = cpuMs(pids);
  let requests = 0;
  while (!done) {
    await send();
    requests += 1;
  }
  const cpu = cpuMs(pids) - cpuBefore;
  const code = await exited;
  if (code !== 0) throw new PerfError(`perf record exited ${code}: ${stderr.slice(0, 300)}`);
  return { requests, cpuMs: cpu };
}

if (!perfWorks()) {
  console.log("edge-native: skipped (no `perf` on the PATH: Debian's linux-perf package has it)");
  process.exit(0);
}

const work = join(dirname(values.out), "perf");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const gw = await startGatewayProcess();
const out = {
  edge: {
    native: {
      method: `perf record -F ${FREQUENCY} (on-CPU samples, every thread of the process) over ${SECONDS} s of sequential syncs per path; each group's share of the samples × the process's CPU per request (kernel schedstat)`,
    },
  },
};
try {
  const t = await gw.createInstance("bench-eu1", "bench");
  let version = 0;
  const send = (path, size) => async () => {
    version += 1;
    const body = featuresBody(size, t.tenant, version);
    const res = path === "syncgate"
      ? await gw.sync(t.instance, body, t.key)
      : await gw.originDirect("POST", `/origin/v1/${t.tenant}/sync`, {
        tenant: t.tenant, instance: t.instance, keyId: t.key.kid, body, via: gw.passthrough,
      });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
  };
  for (const [label, size] of SIZES) {
    const bySize = {};
    for (const path of ["syncgate", "passthrough"]) {
      const pids = path === "syncgate" ? gw.pids.edge : gw.pids.passthrough;
      for (let i = 0; i < WARMUP; i++) await send(path, size)();
      const file = join(work, `${path}-${label}.data`);
      const recorded = await record(pids, send(path, size), file);
      const { groups, total } = groupSamples(file);
      const perRequest = recorded.cpuMs / recorded.requests;
      const ms = {};
      for (const [name, samples] of groups) if (samples > 0) ms[name] = round((samples / total) * perRequest);
      bySize[path] = { requests: recorded.requests, samples: total, cpu_ms: round(perRequest), groups_ms: ms };
    }
    const added = {};
    for (const [name] of GROUPS) {
      const a = bySize.syncgate.groups_ms[name] ?? 0;
      const b = bySize.passthrough.groups_ms[name] ?? 0;
      if (a !== 0 || b !== 0) added[name] = round(a - b);
    }
    bySize.added_ms = added;
    out.edge.native[label] = bySize;

    console.log(`\nCPU per sync by what runs it, ${label} body (ms; workerd process, perf)`);
    console.log("| group | syncgate | pass-through | added |");
    console.log("| --- | ---: | ---: | ---: |");
    const rows = Object.keys(added).sort((x, y) => added[y] - added[x]);
    for (const name of rows) {
      console.log(`| ${name} | ${(bySize.syncgate.groups_ms[name] ?? 0).toFixed(3)} | ${(bySize.passthrough.groups_ms[name] ?? 0).toFixed(3)} | ${added[name].toFixed(3)} |`);
    }
    console.log(`| all | ${bySize.syncgate.cpu_ms.toFixed(3)} | ${bySize.passthrough.cpu_ms.toFixed(3)} | ${(bySize.syncgate.cpu_ms - bySize.passthrough.cpu_ms).toFixed(3)} |`);
  }
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
} catch (err) {
  // perf refused to attach or to report (permissions, a kernel without perf events): not a
  // failure of the bench, and nothing is written.
  if (!(err instanceof PerfError)) throw err;
  console.log(`edge-native: skipped (${err.message.split("\n")[0]})`);
} finally {
  await gw.stop();
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}
