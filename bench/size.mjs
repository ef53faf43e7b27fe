// Sizes of the two wasm builds and the npm package's import time, for `make bench`.
//
//   node bench/size.mjs [--out target/bench/size.json]
//
// size.core_wasm   pkg/syncgate_bg.wasm (the npm package; `make pkg`)
// size.worker_wasm worker/build/index_bg.wasm (the edge; `make worker`)
// each raw and `gzip -9` (as `make worker` prints it; zlib level 9 where there is no gzip).
// startup_ms.node_import: a fresh `node` importing the package (ESM entry), the median of 15
// processes, each timing its own `import()`. The Node entry compiles and instantiates the wasm on
// the first call, not at import, so startup_ms.node_import_first_call times the import plus one
// `createVerifier(policy)` in the same way: what a process pays before its first verdict.
// startup_ms.node_import_empty_module is the same measure for an empty ES module, the floor of
// any import on this host (the ESM loader's own start): the package's import minus it is what
// the package adds.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { median } from "./support/stats.mjs";

const { values } = parseArgs({ options: { out: { type: "string", default: "target/bench/size.json" } } });
const root = resolve(import.meta.dirname, "..");

const gzipped = (path, bytes) => {
  try {
    return execFileSync("gzip", ["-9", "-c", path], { maxBuffer: 64 << 20 }).length;
  } catch {
    return gzipSync(bytes, { level: 9 }).length;
  }
};
const sizes = (path) => {
  const bytes = readFileSync(resolve(root, path));
  return { raw: bytes.length, gzip: gzipped(resolve(root, path), bytes) };
};

const entry = resolve(root, "pkg/syncgate.mjs");
const policy = { instance: "acme-eu1", tenant: "acme", keys: [{ kid: "k1", version: 1, status: "active", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }] };
// Each figure is the median over 15 fresh processes of the milliseconds a script takes after
// `t` is set: a process start on a shared machine varies by several ms, and five runs left the
// median there. The three scripts alternate, so a drift of the host lands on all three alike.
const RUNS = 15;
const timeOnce = (script) =>
  Number(execFileSync(process.execPath, ["--input-type=module", "-e", `const t = performance.now(); ${script} console.log(performance.now() - t);`]).toString());
const medianOf = (runs) => Number(median(runs).toFixed(2));
/** The medians over RUNS rounds of each script, one process each, the scripts alternating. */
const medianMs = (...scripts) => {
  const runs = scripts.map(() => []);
  for (let i = 0; i < RUNS; i++) scripts.forEach((script, k) => runs[k].push(timeOnce(script)));
  return runs.map(medianOf);
};
const emptyModule = resolve(root, "target/bench/empty-module.mjs");
mkdirSync(dirname(emptyModule), { recursive: true });
writeFileSync(emptyModule, "export {};\n");
const [importMs, emptyImportMs, firstCallMs] = medianMs(
  `await import(${JSON.stringify(entry)});`,
  `await import(${JSON.stringify(emptyModule)});`,
  `const sg = await import(${JSON.stringify(entry)}); if (!sg.createVerifier(${JSON.stringify(policy)}).ok) process.exit(1);`,
);

const out = {
  size: { core_wasm: sizes("pkg/syncgate_bg.wasm"), worker_wasm: sizes("worker/build/index_bg.wasm") },
  startup_ms: { node_import: importMs, node_import_first_call: firstCallMs, node_import_empty_module: emptyImportMs },
};
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
console.log("wasm sizes (bytes):", out.size, "node import (ms):", out.startup_ms);
console.log(`wrote ${values.out}`);
