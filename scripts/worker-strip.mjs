#!/usr/bin/env node
// Runs after `worker-build --release` (the Makefile's `worker` target and wrangler's [build]):
// keeps a copy of the build with its function names in target/worker-named/ (CPU profiles,
// stack traces, twiggy: bench/edge-profile.mjs runs it), then strips the name section from
// worker/build/index_bg.wasm, the module that is served and deployed.
//
// worker-build always passes `--debuginfo` to wasm-opt, which keeps every function's name:
// about 150 KB, an eighth of the module, that the runtime never needs. `wasm-opt --strip-debug`
// only removes debug sections; the code is the code worker-build optimised.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const build = join(root, "worker/build");
const named = join(root, "target/worker-named");
const wasm = join(build, "index_bg.wasm");
const wasmOpt = process.env.WASM_OPT_BIN || join(root, "node_modules/.bin/wasm-opt");
// The features worker-build enables; wasm-opt must accept the module it reads.
const FEATURES = [
  "--enable-mutable-globals", "--enable-sign-ext", "--enable-nontrapping-float-to-int",
  "--enable-bulk-memory", "--enable-multivalue", "--enable-reference-types",
  "--enable-exception-handling",
];

const stamp = join(build, ".stripped");
const before = statSync(wasm).size;
if (existsSync(stamp) && Number(readFileSync(stamp, "utf8")) === before) {
  console.log("worker wasm: already stripped");
  process.exit(0);
}
rmSync(named, { recursive: true, force: true });
mkdirSync(named, { recursive: true });
cpSync(build, named, { recursive: true });
execFileSync(wasmOpt, [wasm, "-o", wasm, "--strip-debug", "--strip-producers", ...FEATURES], { stdio: "inherit" });
writeFileSync(stamp, String(statSync(wasm).size));
console.log(`worker wasm: names stripped, ${before} → ${statSync(wasm).size} B (named copy: target/worker-named/)`);
