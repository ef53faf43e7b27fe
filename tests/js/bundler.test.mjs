// The package in a bundler: a small Vite app (tests/js/bundler/) that imports "syncgate" by name
// — resolved from the npm-installed copy of pkg/ (target/js-test/project/node_modules, the
// package's "browser" export), never a published one — built with Vite into
// target/js-test/project/vite-dist/, served on loopback and run in headless chromium. The page
// verifies a request signed in Node, and a tampered copy; the test reads both verdicts.

import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { chromiumSkip, openTab, serveStatic } from "./support/chromium.mjs";
import { ACTIVE, brandingPayload, policy, syncRequest } from "./support/fixtures.mjs";
import { importSyncgate, installedDir, projectDir, root } from "./support/package.mjs";

const NOW = 1_800_000_000;

test("a Vite bundle of the package verifies a signed request in chromium", { skip: chromiumSkip(), timeout: 180_000 }, async () => {
  installedDir();
  const sg = await importSyncgate();
  const app = join(projectDir, "vite-app");
  const dist = join(projectDir, "vite-dist");
  rmSync(app, { recursive: true, force: true });
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  cpSync(join(root, "tests", "js", "bundler"), app, { recursive: true });

  const request = syncRequest(brandingPayload(5));
  const signed = sg.signRequest(request, { kid: ACTIVE.kid, secret: ACTIVE.secret }, { nowSeconds: NOW, nonce: "vite-1" });
  assert.equal(signed.ok, true);
  const fixture = { request: { ...request, headers: { ...request.headers, ...signed.headers } }, policy: policy(), now: NOW };
  writeFileSync(join(app, "request.json"), JSON.stringify(fixture));

  const { build } = await import("vite");
  const started = Date.now();
  await build({
    root: app,
    configFile: false,
    logLevel: "warn",
    build: { outDir: dist, emptyOutDir: true, target: "es2022" },
  });
  const buildMs = Date.now() - started;
  const assets = readdirSync(join(dist, "assets"));
  const wasm = assets.filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `one .wasm asset emitted: ${assets.join(", ")}`);
  assert.ok(existsSync(join(dist, "index.html")));
  console.log(`vite build: ${buildMs} ms, assets: ${assets.join(", ")}`);

  const server = await serveStatic({ "/": dist });
  const { tab, problems, requests, close } = await openTab(server.origin);
  try {
    await tab.goto(`${server.origin}/`);
    await tab.waitForSelector("#verdict:not([data-state=pending])", { timeout: 30_000 });
    assert.equal(await tab.getAttribute("#verdict", "data-state"), "done", await tab.textContent("#verdict"));
    const { verdict, tampered } = JSON.parse(await tab.textContent("#verdict"));
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.equal(verdict.keyId, ACTIVE.kid);
    assert.equal(verdict.payloadVersion, 5);
    assert.equal(verdict.nonce, "vite-1");
    assert.deepEqual(verdict, sg.verifyRequest(fixture.request, fixture.policy, NOW), "the bundle and Node agree");
    assert.equal(tampered.ok, false);
    assert.equal(tampered.code, "digest_mismatch");
    assert.ok(requests.some((r) => r.url.endsWith(".wasm")), "the page fetched the emitted .wasm");
    assert.deepEqual(problems, [], problems.join("\n"));
  } finally {
    await close();
    await server.close();
  }
});
