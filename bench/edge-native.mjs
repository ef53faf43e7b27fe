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
// it says so and writes nothing (make bench goes on). About a minute with the defaults.
//
//   node --no-opt bench/edge-native.mjs [--seconds 8] [--sizes 1k,64k] [--warmup 50]
//     [--out target/bench/native.json] [--keep]   (--keep: leave the perf.data files for `perf report`)
//
// With the default warm-up the wasm's tier-up is still under way while perf records: its
// compiler's share is what a young isolate pays, and falls with a longer --warmup.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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
if (!(SECONDS >= 1 && SECONDS <= 120)) throw new Error("--seconds: a number of seconds from 1 to 120");
if (SIZES.some(([label, size]) => !(size >= 1024 && size <= 262144) || !/^\d+k$/.test(label))) {
  throw new Error("--sizes: a comma-separated list like 1k,64k (1k to 256k)");
}
const FREQUENCY = 1999;
const WARMUP = Number(values.warmup);
if (!(WARMUP >= 0 && WARMUP <= 100_000)) throw new Error("--warmup: a number of requests");

/**
 * What a sample's code is: the first group whose test takes its object (`dso`), its qualified
 * name (the demangled symbol up to its first `<` or `(`: perf prints parameter and template
 * lists, which name V8 and KJ types inside everyone's signatures) and whether it ran in the
 * kernel. Names are matched at their start, so `kj::…<workerd::api::…>` is the event loop's.
 */
const GROUPS = [
  ["JIT code: wasm and compiled JS (syncgate's, workers-rs', the runtime's)", (dso) => dso.startsWith("[JIT]")],
  ["kernel: syscalls, fsync, sockets, scheduling", (dso, name, kernel) => kernel],
  ["SQLite: statements and the durable commit", (dso, name) => /^(sqlite3|pcache1|vdbe|btree|wal|pager)/i.test(name) || /^workerd::(Sqlite|ActorSqlite)/.test(name)],
  ["V8 builtins: interpreter, ICs, wasm and JS entry", (dso, name) => name.startsWith("Builtins_")],
  ["V8 compilers and wasm engine (tier-up)", (dso, name) => /^(v8::internal::(wasm|compiler|maglev|baseline)::|_ZN2v88internal(4wasm|8compiler|6maglev))/.test(name)],
  ["V8 garbage collector", (dso, name) => /^(v8::internal::(Heap|Scaveng|Marking|MarkCompact|Sweep|MinorMark|Evacuat)|cppgc::|heap::)/.test(name)],
  ["V8 runtime and API: objects, strings, handles", (dso, name) => /^(v8::|_ZN2v8)/.test(name)],
  ["malloc", (dso, name) => /^(tcmalloc|TCMalloc|operator (new|delete)|malloc$|free$|calloc$|realloc$)/.test(name)],
  ["jsg: workerd's JS bindings", (dso, name) => /^(workerd::)?jsg::/.test(name)],
  ["Workers API: Request, Response, Headers, fetch, SQL cursors", (dso, name) => name.startsWith("workerd::api::")],
  ["KJ and Cap'n Proto: event loop, promises, HTTP, RPC", (dso, name) => /^(kj|capnp)::/.test(name)],
  ["workerd, other", (dso, name) => name.startsWith("workerd::")],
  ["libc, other libraries, unknown", (dso) => !dso.startsWith("workerd")],
  ["other code in workerd: BoringSSL, libc++, ICU, SQLite's internals", () => true],
];

/** The qualified name of a demangled symbol: up to its first template or parameter list. */
function qualifiedName(symbol) {
  const cut = symbol.search(/[<(]/);
  return (cut === -1 ? symbol : symbol.slice(0, cut)).trim();
}

/** perf could not record or report here. */
class PerfError extends Error {}

const round = (x, digits = 3) => Number(x.toFixed(digits));

/** Why `perf` cannot run here, or null when it can. */
function perfMissing() {
  const probe = spawnSync("perf", ["--version"], { encoding: "utf8" });
  if (probe.error) return "no `perf` on the PATH: Debian's linux-perf package has it";
  if (probe.status !== 0) return `perf --version: ${`${probe.stdout}${probe.stderr}`.trim().split("\n")[0]}`;
  return null;
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
  let kernelSamples = 0;
  for (const line of report.stdout.split("\n")) {
    const m = /^\s*(\d+)\s+(.+?)\s+\[([.k])\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const samples = Number(m[1]);
    const kernel = m[3] === "k";
    const [name] = GROUPS.find(([, test]) => test(m[2], qualifiedName(m[4]), kernel));
    groups.set(name, groups.get(name) + samples);
    total += samples;
    if (kernel) kernelSamples += samples;
  }
  // Without kernel samples (perf falls back to user space alone where perf_event_paranoid
  // forbids more) the shares could not be scaled by the process's CPU, which counts both.
  if (kernelSamples === 0) throw new PerfError("perf recorded no kernel samples (perf_event_paranoid?); run as root or lower it");
  return { groups, total };
}

/** `promise`, or a rejection after `ms`: a request that hangs ends the run instead of stalling it. */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Sends `send()` one after another while `perf` records `pids` for SECONDS; answers the
 * requests completed and the processes' CPU (ms) over the recording. perf is stopped on every
 * way out.
 */
async function record(pids, send, file) {
  if (pids.length === 0) throw new Error("no workerd process to record (the gateway gave no pids)");
  // -N: no copy of every object perf saw (the 120 MB workerd binary) in ~/.debug.
  const perf = spawn("perf", ["record", "-N", "-F", String(FREQUENCY), "-p", pids.join(","), "-o", file, "--", "sleep", String(SECONDS)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  perf.stderr.on("data", (chunk) => (stderr += chunk));
  let done = false;
  const closed = new Promise((ok) => perf.once("close", (code) => {
    done = true;
    ok(code);
  }));
  try {
    // perf is attached once it has written its header; give it a moment before counting.
    await new Promise((ok) => setTimeout(ok, 300));
    const cpuBefore = cpuMs(pids);
    let requests = 0;
    while (!done) {
      await within(send(), 10_000, "a request");
      requests += 1;
    }
    const cpu = cpuMs(pids) - cpuBefore;
    const code = await closed;
    if (code !== 0) throw new PerfError(`perf record exited ${code}: ${stderr.slice(0, 300)}`);
    if (requests === 0) throw new Error("no request completed while perf recorded");
    return { requests, cpuMs: cpu };
  } finally {
    if (!done) {
      perf.kill("SIGINT");
      await closed;
    }
  }
}

const missing = perfMissing();
if (missing !== null) {
  console.log(`edge-native: skipped (${missing})`);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), "syncgate-perf-"));
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
  if (values.keep) console.log(`perf data kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
