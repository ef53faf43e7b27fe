// The package as an npm user gets it: packed, installed, loaded by name with `import` and
// `require`, with the files and metadata it promises.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import {
  FUNCTIONS, importSyncgate, installedDir, packInfo, projectDir, requireSyncgate, root,
} from "./support/package.mjs";
import { brandingPayload } from "./support/fixtures.mjs";

const cargoVersion = readFileSync(join(root, "Cargo.toml"), "utf8")
  .split(/^\[/m).find((s) => s.startsWith("package]"))
  .match(/^version\s*=\s*"([^"]+)"/m)[1];

test("ESM import exposes the six functions, as named and default exports", async () => {
  const esm = await importSyncgate();
  for (const name of FUNCTIONS) {
    assert.equal(typeof esm[name], "function", name);
    assert.equal(esm.default[name], esm[name], `default.${name}`);
  }
  assert.equal(esm.contentDigest("hello"), "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:");
});

test("CJS require exposes the six functions", () => {
  const cjs = requireSyncgate();
  for (const name of FUNCTIONS) assert.equal(typeof cjs[name], "function", name);
  assert.equal(cjs.contentDigest("hello"), "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:");
});

test("import and require share one WebAssembly instance (no dual-package hazard)", () => {
  // A fresh process that counts the WebAssembly instances made while it imports the package,
  // requires it, and calls every function through both.
  const script = [
    "let instances = 0;",
    "const Instance = WebAssembly.Instance;",
    "WebAssembly.Instance = new Proxy(Instance, { construct(target, args) { instances += 1; return Reflect.construct(target, args); } });",
    'const esm = await import("syncgate");',
    'const { createRequire } = await import("node:module");',
    'const cjs = createRequire(import.meta.url)("syncgate");',
    "const before = instances;",
    `const names = ${JSON.stringify(FUNCTIONS)};`,
    "const answers = [];",
    "for (const api of [esm, cjs, esm.default]) for (const name of names) answers.push(typeof api[name](new Uint8Array([1])));",
    "console.log(JSON.stringify({ before, after: instances, answers: answers.length, digest: esm.contentDigest('hello') === cjs.contentDigest('hello') }));",
  ].join("\n");
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: projectDir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.before, 0, "importing or requiring the package instantiates nothing");
  assert.equal(out.after, 1, "one instance serves import and require");
  assert.equal(out.answers, 3 * FUNCTIONS.length);
  assert.equal(out.digest, true);
});

test("a plain `node` script in the project can import and require it by name", () => {
  const script = [
    'import { validatePayload } from "syncgate";',
    'import { createRequire } from "node:module";',
    'const cjs = createRequire(import.meta.url)("syncgate");',
    `const v = validatePayload(${JSON.stringify(JSON.stringify(brandingPayload(3)))});`,
    "const c = cjs.contentDigest(new Uint8Array([1, 2, 3]));",
    "console.log(JSON.stringify({ ok: v.ok, type: v.payloadType, c }));",
  ].join("\n");
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: projectDir, encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out, { ok: true, type: "branding", c: "sha-256=:A5BYxvLAy0ksUzsKTRTvd8wPeKvMztUofYShogEc+4E=:" });
});

test("package.json: name, version from Cargo.toml, exports map, engines", () => {
  const manifest = JSON.parse(readFileSync(join(installedDir(), "package.json"), "utf8"));
  assert.equal(manifest.name, "syncgate");
  assert.equal(manifest.version, cargoVersion);
  assert.deepEqual(manifest.engines, { node: ">=20" });
  const dot = manifest.exports["."];
  assert.equal(dot.browser.default, "./browser.js");
  assert.equal(dot.workerd.default, "./workerd.js");
  assert.equal(dot.worker.default, "./workerd.js");
  assert.deepEqual(Object.keys(dot).slice(0, 3), ["workerd", "worker", "browser"], "a Worker bundler sees workerd first");
  assert.equal(dot.import.default, "./syncgate.mjs");
  assert.equal(dot.require.default, "./syncgate.cjs");
  assert.equal(dot.types, "./index.d.ts");
  assert.ok(dot.default);
  assert.equal(manifest.main, "./syncgate.cjs");
  assert.equal(manifest.types, "./index.d.ts");
  assert.ok(manifest.module);
  assert.ok(Array.isArray(manifest.sideEffects));
});

test("the tarball holds exactly the listed files and one .wasm", () => {
  const info = packInfo();
  const files = info.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "README.md", "browser.js", "glue.cjs", "glue.js", "index.d.mts", "index.d.ts", "package.json",
    "syncgate.cjs", "syncgate.mjs", "syncgate_bg.wasm", "syncgate_node.cjs", "syncgate_web.js",
    "workerd.js",
  ]);
  assert.equal(files.filter((f) => f.endsWith(".wasm")).length, 1);
});

test("index.d.ts and index.d.mts declare every function and never `any`", () => {
  for (const file of ["index.d.ts", "index.d.mts"]) {
    const dts = readFileSync(join(installedDir(), file), "utf8");
    for (const name of FUNCTIONS) {
      assert.match(dts, new RegExp(`export declare function ${name}\\(`), `${file}: ${name}`);
    }
    const code = dts.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    assert.doesNotMatch(code, /\bany\b/, `${file} uses any`);
  }
});

// That index.d.ts declares exactly the core's rejection codes, with their statuses, is checked
// against the core's table itself by tests/vocabulary.rs.

test("the README's example runs as written (a doctest)", () => {
  const readme = readFileSync(join(installedDir(), "README.md"), "utf8");
  const example = readme.match(/## Use\n\n```js\n([\s\S]*?)```/);
  assert.ok(example, "README.md has a ```js block under ## Use");
  const file = join(projectDir, "readme-example.mjs");
  writeFileSync(file, example[1]);
  const r = spawnSync(process.execPath, [file], { cwd: projectDir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^branding 1 acme-2026-11 [0-9a-f]{64}$/m);
});
