// Where the edge's CPU goes: a V8 CPU profile of the edge worker's isolate (workerd's inspector,
// Miniflare `inspectorPort`) over sequential signed syncs of each body size, self time grouped
// by what the code does. It runs the copy scripts/worker-strip.mjs keeps in target/worker-named/
// (the worker before its name section is stripped); Rust frames are named there only when the
// worker was built with `strip = "none"` (Cargo.toml), else they are one bucket, and the output
// says which (`edge.profile.function_names`). `(program)` is the runtime's own native work
// outside JS and wasm frames.
//
//   node --experimental-websocket bench/edge-profile.mjs [--requests 150] [--out target/bench/profile.json]
//
// The profiler samples wall time of the isolate's thread: on a busy machine a descheduled thread
// is counted against the frame it was in, so read the shares, not the absolute figures (the
// absolute CPU per sync is bench/edge-latency.mjs's `edge.process_cpu_ms`, from the kernel).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { branding, startGatewayProcess } from "../tests/e2e/support/harness.mjs";
import { featuresBody } from "./support/bodies.mjs";
import { connect, inclusiveTimes, profile, selfTimes } from "./support/inspector.mjs";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "150" },
    out: { type: "string", default: "target/bench/profile.json" },
    port: { type: "string", default: "9339" },
  },
});
const n = Number(values.requests);

/** Categories, first match wins (the function name of a sample's own frame). */
const CATEGORIES = [
  ["sha256 (wasm)", /sha2::|compress256|Sha256/],
  ["hmac (wasm)", /hmac|Hmac/],
  ["json (wasm, serde_json)", /serde_json|serde::de|serde::ser|<serde/],
  ["sql (workerd SQLite)", /^exec$|SqlStorage|SqlCursor|^raw$|^next$|toArray|^one$/],
  ["body streams", /releaseLock|getReader|ReadableStream|^read$|_read_|stream/i],
  ["fetch, DO hop, Request/Response/Headers", /fetch|Request|Response|Headers|headers|getByName|idFromName|^get$|^set$|^append$|body|signal|AbortController|status|method/],
  ["wasm ↔ JS glue, futures", /wasm-to-js|js-to-wasm|__wbg|__wbindgen|wasm_bindgen|js_sys|future|Future|queueMicrotask|closure|externref|^d$|^_$|^apply$|^call$|setTimeout/],
  ["allocation, drop", /dlmalloc|alloc::|free|drop_in_place|raw_vec|RawVec|Rc<|memcpy|memmove|memset/],
  ["hash maps, trees", /hash|Hash|sip::|btree|indexmap/],
  ["core checks (syncgate)", /syncgate/],
  ["garbage collector", /\(garbage collector\)/],
  ["runtime native (program)", /\(program\)/],
  ["wasm code (names stripped)", /^wasm-function\[|^\$?func\d+/],
];
/** The edge's steps whose inclusive time is reported. */
const STEPS = [
  /^syncgate_worker::(sync|routes|instances|origin|http|digest|tenant_state)::/,
  /^syncgate::(verify|attest|payload|rfc9421|webhooks|replay)::/,
  /^worker::/,
  /^<?(serde_json|serde_wasm_bindgen)/,
  /^__wbg_/,
  /^(exec|fetch|Request|Response|Headers)$/,
];
const categorize = (name) => CATEGORIES.find(([, re]) => re.test(name))?.[0] ?? "other";

// The build that keeps its function names (scripts/worker-strip.mjs), when there is one.
const namedCopy = resolve(import.meta.dirname, "../target/worker-named/index.js");
if (!process.env.SYNCGATE_WORKER_DIR && existsSync(namedCopy)) process.env.SYNCGATE_WORKER_DIR = dirname(namedCopy);
const profiled = process.env.SYNCGATE_WORKER_DIR ?? "worker/build";

/**
 * Whether the module names its functions: a `name` custom section (wasm binary format: section
 * id 0 and its name) holding a function-names subsection (id 1) with at least one entry. Null
 * when there is no module to read.
 */
function namesFunctions(file) {
  if (!existsSync(file)) return null;
  const bytes = readFileSync(file);
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== 0x0061736d) return false;
  const leb = (at) => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++];
      if (byte === undefined) return [Number.POSITIVE_INFINITY, at]; // truncated: no more sections
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) return [value, at];
    }
  };
  for (let at = 8; at < bytes.length;) {
    const id = bytes[at];
    const [size, body] = leb(at + 1);
    const end = body + size;
    if (id === 0) {
      const [length, name] = leb(body);
      if (bytes.toString("utf8", name, name + length) === "name") {
        // Subsections: an id byte, a size, then the content; function names are id 1, whose
        // content starts with the count of names.
        for (let sub = name + length; sub < Math.min(end, bytes.length);) {
          const subId = bytes[sub];
          const [subSize, content] = leb(sub + 1);
          if (subId === 1) return leb(content)[0] > 0;
          sub = content + subSize;
        }
        return false;
      }
    }
    at = end;
  }
  return false;
}
const named = namesFunctions(resolve(import.meta.dirname, "..", profiled, "index_bg.wasm"));
if (named === false) {
  console.log(`${profiled} has no function names: its wasm frames are one bucket. For named frames, build the worker once with \`strip = "none"\` in Cargo.toml's [profile.release.package.syncgate-worker] (scripts/worker-strip.mjs keeps that copy in target/worker-named/).`);
}
const gw = await startGatewayProcess({ inspectorPort: Number(values.port) });
console.log(`profiling ${profiled}`);
const out = { edge: { profile: { build: profiled, function_names: named } } };
try {
  const t = await gw.createInstance("bench-eu1", "bench");
  let version = 0;
  const sync = async (size) => {
    version += 1;
    const body = size ? featuresBody(size, t.tenant, version) : JSON.stringify(branding(t.tenant, version));
    const res = await gw.sync(t.instance, body, t.key);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`edge answered ${res.status}: ${text}`);
  };
  for (let i = 0; i < 20; i++) await sync(0);
  const client = await connect(gw.inspector);
  for (const [label, size] of [["1k", 1024], ["64k", 65536]]) {
    for (let i = 0; i < 5; i++) await sync(size);
    const count = label === "1k" ? n : Math.max(20, Math.floor(n / 3));
    const start = performance.now();
    const result = await profile(client, async () => {
      for (let i = 0; i < count; i++) await sync(size);
    }, 100);
    const wall = performance.now() - start;
    const { busy, self } = selfTimes(result);
    const groups = new Map();
    for (const [name, ms] of self) {
      const group = categorize(name);
      groups.set(group, (groups.get(group) ?? 0) + ms);
    }
    const share = (ms) => Number(((100 * ms) / busy).toFixed(1));
    out.edge.profile[label] = {
      requests: count,
      wall_ms_per_sync: Number((wall / count).toFixed(3)),
      sampled_busy_ms_per_sync: Number((busy / count).toFixed(3)),
      percent_by_category: Object.fromEntries([...groups.entries()].sort((a, b) => b[1] - a[1]).map(([g, ms]) => [g, share(ms)])),
      top_functions_percent: Object.fromEntries(self.slice(0, 25).map(([name, ms]) => [name.slice(0, 120), share(ms)])),
      // The edge's own steps, inclusive (everything called from them while they run).
      steps_percent: Object.fromEntries(
        inclusiveTimes(result, (name) => STEPS.some((re) => re.test(name)))
          .map(([name, ms]) => [name.replace(/::h[0-9a-f]{16}$/, "").slice(0, 120), share(ms)]),
      ),
    };
    console.log(`profile ${label}: ${count} syncs, sampled busy ${(busy / count).toFixed(2)} ms/sync (wall ${(wall / count).toFixed(2)})`);
    console.table(Object.fromEntries(Object.entries(out.edge.profile[label].percent_by_category).map(([g, p]) => [g, { "%": p }])));
  }
  client.close();
} finally {
  await gw.stop();
}
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${values.out}`);
