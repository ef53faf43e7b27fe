// Merges the part files of `make bench` (target/bench/*.json, each written by one script) into
// target/bench/summary.json and prints the tables with their ratios and the targets.
//
//   node bench/summary.mjs [--dir target/bench]
//
// Parts: js.json (bench/verify.mjs: js.verify_ops.{1k,16k,256k}.{syncgate,…}), edge.json
// (bench/edge-latency.mjs: edge.latency_ms, edge.rps, edge.rps_rounds, edge.process_cpu_ms, edge.tenants,
// edge.by_size, startup_ms.worker_cold), core.json (bench/edge-core.mjs: edge.cpu_ms,
// edge.core_cpu), floor.json (bench/edge-floor.mjs: edge.floor, edge.cost_split),
// profile.json (bench/edge-profile.mjs: edge.profile), native.json (bench/edge-native.mjs:
// edge.native, when perf is there), size.json (bench/size.mjs: size.*,
// startup_ms.node_import, startup_ms.node_import_empty_module).
// A missing part leaves its tables out; nothing here measures anything.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { dir: { type: "string", default: "target/bench" } } });
const dir = values.dir;

/** Targets the edge is held to (BENCHMARKS.md). */
export const TARGETS = {
  added_p50_ms: 1,
  added_p99_ms: 3,
  rps_ratio_c16: 0.8,
  cpu_ms_64k: 0.5,
  worker_wasm_raw: 1_000_000,
  worker_wasm_gzip: 350_000,
  core_wasm_raw: 200_000,
  core_wasm_gzip: 80_000,
  node_import_ms: 10,
  // Node throughput ratios (× the peer, at every size unless the row names some).
  verify_ratio: 1.0, // createVerifier().verify vs stripe, standardwebhooks, svix
  signature_ratio: 1.0, // verifySignature vs octokit, http_message_signatures at 16k and 256k
  signature_hmac_ratio_256k: 0.8, // verifySignature vs node_hmac at 256k
};

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
function merge(into, from) {
  for (const [key, value] of Object.entries(from)) {
    if (isObject(value) && isObject(into[key])) merge(into[key], value);
    else into[key] = value;
  }
  return into;
}

// core.json last: `edge.cpu_ms` is its figure, whatever an older edge.json in the folder holds.
const parts = existsSync(dir)
  ? readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "summary.json")
    .sort((a, b) => (a === "core.json") - (b === "core.json") || a.localeCompare(b))
  : [];
const summary = { generated_at: new Date().toISOString(), parts };
for (const file of parts) merge(summary, JSON.parse(readFileSync(join(dir, file), "utf8")));
if (parts.length === 0) {
  console.error(`no part files in ${dir}: run make bench`);
  process.exit(1);
}

const fmt = (x, digits = 2) => (typeof x === "number" ? x.toFixed(digits) : "-");
const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 ? a / b : undefined);
const verdict = (ok) => (ok === undefined ? "-" : ok ? "met" : "NOT met");
const checks = [];
const check = (what, value, limit, atMost = true) => {
  const ok = typeof value === "number" ? (atMost ? value <= limit : value >= limit) : undefined;
  checks.push({ target: what, measured: typeof value === "number" ? Number(value.toFixed(3)) : "-", limit: `${atMost ? "≤" : "≥"} ${limit}`, "": verdict(ok) });
  return ok;
};

const js = summary.js?.verify_ops;
if (js) {
  console.log("\nverify throughput in Node (ops/s; × = ratio to standardwebhooks):");
  const libs = [...new Set(Object.values(js).flatMap((row) => Object.keys(row)))];
  console.table(Object.fromEntries(Object.entries(js).map(([size, row]) => [size, Object.fromEntries(libs.map((lib) => {
    const r = ratio(row[lib], row.standardwebhooks);
    return [lib, row[lib] === undefined ? "-" : `${Math.round(row[lib])}${r === undefined ? "" : ` (${r.toFixed(2)}×)`}`];
  }))])));
  for (const [size, row] of Object.entries(js)) {
    for (const peer of ["stripe", "standardwebhooks", "svix"]) {
      check(`verify / ${peer}, ${size} (×)`, ratio(row.syncgate, row[peer]), TARGETS.verify_ratio, false);
    }
    if (size !== "1k") {
      check(`verifySignature / octokit, ${size} (×)`, ratio(row.syncgate_signature_only, row.octokit), TARGETS.signature_ratio, false);
      check(`verifySignature (RFC 9421) / http_message_signatures, ${size} (×)`, ratio(row.syncgate_signature_only_rfc9421, row.http_message_signatures), TARGETS.signature_ratio, false);
    }
    if (size === "256k") check("verifySignature / node_hmac, 256k (×)", ratio(row.syncgate_signature_only, row.node_hmac), TARGETS.signature_hmac_ratio_256k, false);
  }
  // The floor under verify (bench/verify.mjs native_digests_parse): the two digests its verdict
  // needs and a JSON.parse at V8's speed, nothing else. Over stripe it bounds verify / stripe.
  const ceilings = Object.entries(js).filter(([, row]) => row.native_digests_parse && row.stripe);
  if (ceilings.length > 0) {
    console.log("\nceiling of verify / stripe: native_digests_parse / stripe (the body's HMAC and SHA-256 by node:crypto");
    console.log("and JSON.parse, no schema, no wasm, no verdict), and how close verify comes to it:");
    console.table(Object.fromEntries(ceilings.map(([size, row]) => [size, {
      "ceiling (×)": fmt(ratio(row.native_digests_parse, row.stripe)),
      "verify / stripe (×)": fmt(ratio(row.syncgate, row.stripe)),
      "verify / native_digests (×)": fmt(ratio(row.syncgate, row.native_digests)),
    }])));
  }
}

const edge = summary.edge ?? {};
if (edge.latency_ms) {
  const l = edge.latency_ms;
  console.log(`\nedge latency, sequential signed syncs (ms; added = over the pass-through Worker):`);
  console.table(Object.fromEntries(Object.entries(l).map(([path, q]) => [path, {
    p50: fmt(q.p50), p99: fmt(q.p99),
    "added p50": fmt(q.p50 - l.passthrough.p50), "added p99": fmt(q.p99 - l.passthrough.p99),
  }])));
  check("added latency p50 (ms)", l.syncgate.p50 - l.passthrough.p50, TARGETS.added_p50_ms);
  check("added latency p99 (ms)", l.syncgate.p99 - l.passthrough.p99, TARGETS.added_p99_ms);
}
if (edge.rps) {
  // The median of paired rounds' ratios where the run kept them (edge.rps_rounds), else the
  // ratio of the two rates.
  const r = edge.rps.ratio_c16 ?? ratio(edge.rps.syncgate?.c16, edge.rps.passthrough?.c16);
  console.log(`\nthroughput at concurrency 16: edge ${fmt(edge.rps.syncgate?.c16, 1)} rps, pass-through ${fmt(edge.rps.passthrough?.c16, 1)} rps (${fmt(r)}×${edge.rps_rounds ? `, the median of pairs ${edge.rps_rounds.ratio_per_pair.join(" ")}` : ""})`);
  check("rps vs pass-through at c16 (×)", r, TARGETS.rps_ratio_c16, false);
}
if (edge.cpu_ms) {
  // edge.cpu_ms: the core in a Worker (bench/edge-core.mjs); workerd keeps no CPU time of its own locally.
  console.log(`\nCPU in the Worker per sync: the core (ms) — ${edge.core_cpu?.method ?? ""}:`);
  console.table(Object.fromEntries(Object.entries(edge.cpu_ms).map(([size, ms]) => [size, {
    "webcrypto (edge.cpu_ms)": fmt(ms, 3),
    "webcrypto wall": fmt(edge.core_cpu?.hosts?.webcrypto?.[size]?.wall_ms, 3),
    "node_crypto": fmt(edge.core_cpu?.hosts?.node_crypto?.[size]?.cpu_ms, 3),
    "edge workerd minus pass-through": fmt(edge.process_cpu_ms?.[size], 3),
  }])));
  for (const [host, t] of Object.entries(edge.core_cpu?.workerd_cpu_time ?? {})) {
    console.log(`workerd's own CPU time per request (tail events, ${host}): non-zero for ${t.reported_nonzero} of ${t.requests_traced} traced requests`);
  }
  check("CPU in the Worker per 64 KiB sync: the core, timed in a Worker (ms)", edge.cpu_ms["64k"], TARGETS.cpu_ms_64k);
}
if (edge.process_cpu_ms) {
  // The same limit against everything the edge's design adds inside workerd (its Worker, the
  // tenant's Durable Object, SQLite, the hop), which is more than the Worker's CPU.
  check("CPU per 64 KiB sync: the edge's whole workerd process over a pass-through (ms)", edge.process_cpu_ms["64k"], TARGETS.cpu_ms_64k);
}
if (edge.process_cpu_ms) {
  console.log(`\nthe edge's whole workerd process per sync (ms) — ${edge.process_cpu_detail?.method ?? ""}:`);
  console.table(Object.fromEntries(Object.entries(edge.process_cpu_ms).map(([size, ms]) => [size, {
    "edge minus pass-through": fmt(ms, 3),
    "edge workerd": fmt(edge.process_cpu_detail?.[size]?.edge_workerd, 3),
    "pass-through workerd": fmt(edge.process_cpu_detail?.[size]?.passthrough_workerd, 3),
    "edge p50 (ms)": fmt(edge.by_size?.[size]?.syncgate?.p50),
    "pass-through p50 (ms)": fmt(edge.by_size?.[size]?.passthrough?.p50),
  }])));
}
if (edge.floor) {
  console.log("\nplatform floor of the design (JS Workers doing only the platform steps; ms):");
  const base = edge.floor.passthrough;
  console.table(Object.fromEntries(Object.entries(edge.floor).filter(([, v]) => isObject(v)).map(([path, v]) => [path, {
    p50: fmt(v.p50), p99: fmt(v.p99), "CPU/sync": fmt(v.cpu_ms, 3),
    "added p50": fmt(v.p50 - base.p50), "added CPU": fmt(v.cpu_ms - base.cpu_ms, 3),
  }])));
}
if (edge.cost_split) {
  console.log("\nwhere the edge's CPU goes, by what a request reaches (ms; bench/edge-floor.mjs):");
  console.table(Object.fromEntries(Object.entries(edge.cost_split).filter(([, v]) => isObject(v)).map(([kind, v]) => [kind, {
    p50: fmt(v.p50), "CPU/request": fmt(v.cpu_ms, 3),
  }])));
}
if (edge.tenants) {
  console.log("\ncost by tenant count (sequential syncs spread round-robin; ms):");
  console.table(Object.fromEntries(Object.entries(edge.tenants).map(([count, v]) => [count, {
    p50: fmt(v.p50), p99: fmt(v.p99), "CPU/sync": fmt(v.cpu_ms, 3),
  }])));
}
if (edge.profile) {
  for (const [size, p] of Object.entries(edge.profile).filter(([, v]) => isObject(v) && isObject(v.percent_by_category))) {
    console.log(`\nwhere the edge isolate's time goes, ${size} syncs (V8 CPU profile, % of sampled busy time${edge.profile.function_names === false ? "; wasm frames unnamed" : ""}):`);
    console.table(Object.fromEntries(Object.entries(p.percent_by_category).slice(0, 10).map(([k, v]) => [k, { "%": v }])));
  }
}
if (edge.native) {
  for (const [size, n] of Object.entries(edge.native).filter(([, v]) => isObject(v) && isObject(v.added_ms))) {
    const ms = (path, group) => n[path]?.groups_ms?.[group] ?? 0;
    console.log(`\nCPU per sync by what runs it, ${size} body (ms; workerd process, perf; JIT: code V8 compiled, almost all of it the edge's wasm and JS):`);
    const rows = Object.entries(n.added_ms).sort((a, b) => b[1] - a[1]).map(([group, added]) => [group, {
      syncgate: fmt(ms("syncgate", group), 3), passthrough: fmt(ms("passthrough", group), 3), added: fmt(added, 3),
    }]);
    rows.push(["all", { syncgate: fmt(n.syncgate?.cpu_ms, 3), passthrough: fmt(n.passthrough?.cpu_ms, 3), added: fmt(n.syncgate?.cpu_ms - n.passthrough?.cpu_ms, 3) }]);
    console.table(Object.fromEntries(rows));
  }
}
if (summary.size) {
  const s = summary.size;
  console.log("\nwasm sizes (bytes):");
  console.table(Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { raw: v.raw, gzip: v.gzip }])));
  check("worker wasm raw (B)", s.worker_wasm?.raw, TARGETS.worker_wasm_raw);
  check("worker wasm gzip (B)", s.worker_wasm?.gzip, TARGETS.worker_wasm_gzip);
  check("package (core) wasm raw (B)", s.core_wasm?.raw, TARGETS.core_wasm_raw);
  check("package (core) wasm gzip (B)", s.core_wasm?.gzip, TARGETS.core_wasm_gzip);
}
if (summary.startup_ms) {
  const st = summary.startup_ms;
  console.log("\nstartup (ms):", st);
  if (typeof st.node_import === "number" && typeof st.node_import_empty_module === "number") {
    console.log(`the package's import adds ${fmt(st.node_import - st.node_import_empty_module)} ms to an empty module's (${fmt(st.node_import_empty_module)} ms on this host now)`);
  }
  check("package import in Node (ms)", st.node_import, TARGETS.node_import_ms);
}

summary.targets = checks;
writeFileSync(join(dir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
if (checks.length) {
  console.log("\ntargets:");
  console.table(checks);
}
console.log(`\nwrote ${join(dir, "summary.json")} from ${parts.join(", ")}`);
