#!/usr/bin/env node
// Builds pkg/: the `syncgate` npm package (Node CJS + Node ESM + browser ESM, one .wasm).
//
// What wasm-pack would do, without installing wasm-pack:
//   1. cargo build --lib --release --target wasm32-unknown-unknown   (features: `wasm` only)
//   2. wasm-bindgen --target nodejs  and  --target web               (CLI version == Cargo.lock's)
//   3. wasm-opt -Oz --converge                                        (npm binaryen)
//   4. assemble pkg/ from the templates in js/ and print the .wasm size (raw and gzip)
//
// wasm-bindgen emits the same .wasm for both targets, so pkg/ holds one copy that the Node
// glue (`syncgate.cjs`, reads `${__dirname}/syncgate_bg.wasm`) and the browser entry
// (`browser.js`, fetches `new URL("./syncgate_bg.wasm", import.meta.url)`) both load.
//
// Usage: node scripts/build-pkg.mjs [--skip-cargo] [--named=DIR]
//   --named=DIR also writes a copy of the package to DIR whose .wasm keeps its function names
//   (for `node --cpu-prof`, bench/profile-verify.mjs); pkg/ itself is unchanged.

import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import {
  copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const jsDir = join(root, "js");
const pkgDir = join(root, "pkg");
const work = join(root, "target", "pkg-build");
const cargoTarget = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, "target");
const wasmIn = join(cargoTarget, "wasm32-unknown-unknown", "release", "syncgate.wasm");
const wasmOpt = join(root, "node_modules", ".bin", "wasm-opt");
// What the wasm-bindgen glue exports, and what the package exports (js/glue.mjs adds createVerifier).
const WASM_EXPORTS = ["verifyRequest", "signRequest", "validatePayload", "recomputeModules", "contentDigest", "signatureBase", "verifyProviderWebhook",
  "CompiledVerifier"];
const EXPORTS = ["createVerifier", "verifyRequest", "signRequest", "validatePayload", "recomputeModules", "contentDigest", "signatureBase",
  "verifyProviderWebhook"];

function fail(message) {
  console.error(`build-pkg: ${message}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  console.log(`+ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} exited with ${r.status}`);
}

function capture(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** `version = "…"` of the [package] table of Cargo.toml, and its other metadata. */
function cargoPackage() {
  const text = readFileSync(join(root, "Cargo.toml"), "utf8");
  const section = text.split(/^\[/m).find((s) => s.startsWith("package]"));
  if (!section) fail("Cargo.toml has no [package] table");
  const field = (name) => section.match(new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m"))?.[1];
  const version = field("version");
  if (!version) fail("Cargo.toml [package] has no version");
  return { version, description: field("description"), license: field("license"), repository: field("repository") };
}

/** The wasm-bindgen version Cargo.lock resolved; the CLI must be exactly this version. */
function lockedWasmBindgen() {
  const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
  const m = lock.match(/\[\[package\]\]\nname = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!m) fail("Cargo.lock has no wasm-bindgen package");
  return m[1];
}

function gzipSize(path) {
  return gzipSync(readFileSync(path), { level: 9 }).length;
}

function kib(n) {
  return `${n.toLocaleString("en-US")} B (${(n / 1024).toFixed(1)} KiB)`;
}

// ---------------------------------------------------------------------------------------------
const skipCargo = process.argv.includes("--skip-cargo");
const namedDir = process.argv.find((a) => a.startsWith("--named="))?.slice("--named=".length);
const pkgMeta = cargoPackage();

const wantBindgen = lockedWasmBindgen();
const haveBindgen = capture("wasm-bindgen", ["--version"]);
if (haveBindgen !== `wasm-bindgen ${wantBindgen}`) {
  fail(`wasm-bindgen CLI ${wantBindgen} is needed (Cargo.lock), found ${haveBindgen ?? "none"}; run \`make install-tools\``);
}
if (!existsSync(wasmOpt)) fail("node_modules/.bin/wasm-opt is missing; run `make node_modules`");

// Only the `wasm` feature: the package has no customer API, so it leaves out `float-roundtrip`
// (~21 KB; see Cargo.toml).
if (!skipCargo) {
  run("cargo", ["build", "--lib", "--release", "--target", "wasm32-unknown-unknown", "--no-default-features", "--features", "wasm"]);
}
if (!existsSync(wasmIn)) fail(`${relative(root, wasmIn)} is missing`);

rmSync(work, { recursive: true, force: true });
for (const target of ["nodejs", "web"]) {
  run("wasm-bindgen", ["--target", target, "--no-typescript", "--out-dir", join(work, target), wasmIn]);
}
const nodeWasm = readFileSync(join(work, "nodejs", "syncgate_bg.wasm"));
const webWasm = readFileSync(join(work, "web", "syncgate_bg.wasm"));
if (!nodeWasm.equals(webWasm)) {
  fail("wasm-bindgen emitted different .wasm files for --target nodejs and --target web; " +
    "pkg/ assumes one shared file (check the wasm-bindgen version)");
}

// Glue: drop wasm-bindgen's `@ts-self-types` pointer (we ship a hand-written index.d.ts).
const stripSelfTypes = (text) => text.replace(/^\/\* @ts-self-types="[^"]*" \*\/\n/, "");
const nodeGlue = stripSelfTypes(readFileSync(join(work, "nodejs", "syncgate.js"), "utf8"));
const webGlue = stripSelfTypes(readFileSync(join(work, "web", "syncgate.js"), "utf8"));
if (!nodeGlue.includes("`${__dirname}/syncgate_bg.wasm`")) {
  fail("the nodejs glue no longer loads `${__dirname}/syncgate_bg.wasm`; update scripts/build-pkg.mjs");
}
for (const name of WASM_EXPORTS) {
  if (!nodeGlue.includes(`exports.${name} = ${name};`)) fail(`the nodejs glue does not export ${name}`);
  if (!new RegExp(`^export (function|class) ${name}\\b`, "m").test(webGlue)) fail(`the web glue does not export ${name}`);
}

// workerd.js instantiates the compiled module it is given with the web glue's initSync.
if (!/^export \{ initSync\b/m.test(webGlue)) fail("the web glue does not export initSync (workerd.js needs it)");

// Assemble pkg/ in a staging folder, then swap it in, so a failed build leaves no half package.
const stage = join(work, "pkg");
mkdirSync(stage, { recursive: true });
const optimised = join(stage, "syncgate_bg.wasm");
// -Oz --converge: a few KB smaller than -Os at the same speed (the core is built for size too).
// --low-memory-unused: rustc's wasm32 layout starts the stack's 1 MiB at address 0 and grows it
// down, so the first KiB is only ever reached by a stack already overflowed; wasm-opt may then
// fold constant offsets into loads and stores (3.7 KB less, 1.2 KB gzip).
// SYNCGATE_PKG_NAMES=path also writes a copy that keeps the names section, for `twiggy`.
const wasmOptFlags = ["-Oz", "--converge", "--low-memory-unused", "--strip-producers"];
run(wasmOpt, [...wasmOptFlags, "--strip-debug", join(work, "web", "syncgate_bg.wasm"), "-o", optimised]);
const namedWasm = process.env.SYNCGATE_PKG_NAMES ? resolve(process.env.SYNCGATE_PKG_NAMES) : namedDir ? join(work, "named.wasm") : null;
if (namedWasm) {
  run(wasmOpt, [...wasmOptFlags, "-g", join(work, "web", "syncgate_bg.wasm"), "-o", namedWasm]);
}
writeFileSync(join(stage, "syncgate_node.cjs"), nodeGlue);
writeFileSync(join(stage, "syncgate_web.js"), webGlue);
for (const file of ["browser.js", "workerd.js", "index.d.ts", "README.md"]) {
  copyFileSync(join(jsDir, file), join(stage, file));
}
// The shared glue: ESM as written, and a CommonJS copy for the Node entry (its only
// module syntax is `export function`).
const glue = readFileSync(join(jsDir, "glue.mjs"), "utf8");
writeFileSync(join(stage, "glue.js"), glue);
const exported = [...glue.matchAll(/^export function (\w+)\(/gm)].map((m) => m[1]);
const glueCjs = glue.replace(/^export function /gm, "function ");
if (exported.length === 0 || /^\s*(export|import)\b/m.test(glueCjs)) fail("js/glue.mjs must use only `export function` module syntax");
writeFileSync(join(stage, "glue.cjs"), `"use strict";\n${glueCjs}\nmodule.exports = { ${exported.join(", ")} };\n`);
// The Node entry loads the wasm on the first call (js/node.cjs); it is told here, from the
// bound package itself, which functions to define and with what arity.
const requireStage = createRequire(import.meta.url);
const eager = requireStage(join(stage, "glue.cjs")).bindSyncgate(requireStage(join(stage, "syncgate_node.cjs")), null, null);
const nodeExports = Object.keys(eager).map((name) => [name, eager[name].length]);
const nodeEntry = readFileSync(join(jsDir, "node.cjs"), "utf8");
const placeholder = "const EXPORTS = null;";
if (!nodeEntry.includes(placeholder)) fail(`js/node.cjs no longer has the line \`${placeholder}\``);
writeFileSync(join(stage, "syncgate.cjs"), nodeEntry.replace(placeholder, `const EXPORTS = ${JSON.stringify(nodeExports)};`));
// The ESM entry defines the same functions itself and loads syncgate.cjs on the first call.
const esmEntry = readFileSync(join(jsDir, "syncgate.mjs"), "utf8");
if (!esmEntry.includes(placeholder)) fail(`js/syncgate.mjs no longer has the line \`${placeholder}\``);
writeFileSync(join(stage, "syncgate.mjs"), esmEntry.replace(placeholder, `const EXPORTS = ${JSON.stringify(nodeExports)};`));
// ESM flavour of the types: the same declarations plus the default export the ESM entries have.
const dts = readFileSync(join(jsDir, "index.d.ts"), "utf8");
writeFileSync(join(stage, "index.d.mts"), `${dts}
/** The package's functions as one object (the default export of the ESM entries). */
declare const syncgate: {
${EXPORTS.map((n) => `  readonly ${n}: typeof ${n};`).join("\n")}
};
export default syncgate;
`);

const manifest = JSON.parse(readFileSync(join(jsDir, "package.template.json"), "utf8"));
manifest.version = pkgMeta.version;
if (pkgMeta.description) manifest.description = pkgMeta.description;
if (pkgMeta.license) manifest.license = pkgMeta.license;
if (pkgMeta.repository) manifest.repository = { type: "git", url: pkgMeta.repository };
writeFileSync(join(stage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);

// Every file the manifest points at must exist.
const pointed = new Set([manifest.main, manifest.module, manifest.types, manifest.browser]);
const walk = (v) => (typeof v === "string" ? pointed.add(v) : v && Object.values(v).forEach(walk));
walk(manifest.exports);
for (const p of pointed) {
  if (p && !existsSync(join(stage, p))) fail(`package.json points at ${p}, which is not in pkg/`);
}
for (const f of readdirSync(stage)) {
  if (f !== "package.json" && !manifest.files.includes(f)) fail(`pkg/${f} is not listed in "files"`);
}

// The CJS build must load and expose every function before we call it a package.
const loaded = createRequire(import.meta.url)(join(stage, "syncgate.cjs"));
for (const name of EXPORTS) {
  if (typeof loaded[name] !== "function") fail(`syncgate.cjs does not export a function ${name}`);
}
// And the ESM build: every function named, of the CommonJS build's arity, in the default export too.
const esm = await import(pathToFileURL(join(stage, "syncgate.mjs")).href);
for (const name of EXPORTS) {
  if (typeof esm[name] !== "function" || esm[name].length !== loaded[name].length) fail(`syncgate.mjs does not export the function ${name}`);
  if (esm.default[name] !== esm[name]) fail(`syncgate.mjs's default export lacks ${name}`);
}

rmSync(pkgDir, { recursive: true, force: true });
renameSync(stage, pkgDir);
if (namedDir) {
  const named = resolve(root, namedDir);
  rmSync(named, { recursive: true, force: true });
  cpSync(pkgDir, named, { recursive: true });
  copyFileSync(namedWasm, join(named, "syncgate_bg.wasm"));
  console.log(`${relative(root, named)}/: the same package, its .wasm with function names (${kib(statSync(namedWasm).size)})`);
}

const raw = statSync(wasmIn).size;
const bound = nodeWasm.length;
const final = statSync(join(pkgDir, "syncgate_bg.wasm")).size;
console.log(`\npkg/ = npm package syncgate@${pkgMeta.version}: ${readdirSync(pkgDir).sort().join(", ")}`);
console.log(`wasm, cargo output:         ${kib(raw)}`);
console.log(`wasm, after wasm-bindgen:   ${kib(bound)}`);
console.log(`wasm, final (wasm-opt -Oz): ${kib(final)}, gzip -9: ${kib(gzipSize(join(pkgDir, "syncgate_bg.wasm")))}`);
