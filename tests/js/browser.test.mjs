// The browser entry in a real browser: Debian's chromium, driven by playwright-core, loads a page
// from a loopback-only static server; the page imports "syncgate" with <script type="module">
// (an import map sends the bare name to the package's "browser" export, as a bundler would),
// signs and verifies requests, and the test checks what it reports. It also checks that the
// browser and Node produce byte-identical signatures for the same input, and that the shared
// signature cases give Node's verdicts (node:crypto hashing) in the page both synchronously
// (Rust hashing) and through verifyAsync (WebCrypto hashing).
//
// Chromium comes from `make install-chromium` (apt). Without it the test is skipped with a
// message, except under CI (CI=true), where it fails.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { test } from "node:test";

import { importSyncgate, installedDir, root } from "./support/package.mjs";
import * as engine from "../cases/engine.mjs";
import { ACTIVE, brandingPayload, policy, syncRequest } from "./support/fixtures.mjs";

const casesDir = join(root, "tests", "cases");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const TYPES = {
  ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html; charset=utf-8",
  ".wasm": "application/wasm", ".json": "application/json", ".ts": "text/plain", ".md": "text/plain",
};

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing; \`make install-chromium\` installs it (the browser test must run in CI)`);
}

const NOW = 1_800_000_000;
const fixture = {
  policy: policy(),
  request: syncRequest(brandingPayload(31)),
  signing: { kid: ACTIVE.kid, secret: ACTIVE.secret },
  now: NOW,
};

// The page: everything it learns, it reports in window.__result.
function page(browserEntry) {
  return `<!doctype html>
<meta charset="utf-8">
<title>syncgate browser test</title>
<script type="importmap">${JSON.stringify({ imports: { syncgate: browserEntry } })}</script>
<script type="module">
  const report = (value) => { window.__result = value; };
  // The shared case files, run by the shared engine in the page.
  async function runCases(sg) {
    const engine = await import("/cases/engine.mjs");
    const load = async (name) => (await fetch("/cases/" + name)).json();
    const signatures = await load("signatures.json");
    return {
      // Synchronous: verifyRequest and createVerifier, hashing in Rust.
      signatures: engine.runSignatureCases(sg, signatures, {
        paths: engine.verifierPaths(sg),
        signature: (r, p, n) => sg.createVerifier(p).verifySignature(r, n),
      }),
      // Asynchronous: createVerifier's verifyAsync, hashing with WebCrypto.
      signaturesAsync: await engine.runSignatureCasesAsync(sg, signatures, {
        paths: {
          verifyAsync: (r, p, n) => sg.createVerifier(p).verifyAsync(r, n),
          "verifyAsync(bytes)": (r, p, n) => sg.createVerifier(p).verifyAsync({ ...r, body: new TextEncoder().encode(r.body) }, n),
        },
        signature: (r, p, n) => sg.createVerifier(p).verifySignatureAsync(r, n),
      }),
      payloads: engine.runPayloadCases(sg, await load("payloads.json")),
      modules: engine.runModuleCases(sg, await load("modules.json")),
      providers: engine.runProviderCases(sg, await load("providers.json")),
    };
  }
  try {
    const { createVerifier, verifyRequest, signRequest, validatePayload, recomputeModules, contentDigest, verifyProviderWebhook } = await import("syncgate");
    const fixture = await (await fetch("/fixture.json")).json();
    const signed = {};
    const verdicts = {};
    for (const scheme of ["rfc9421", "standard-webhooks"]) {
      const s = signRequest(fixture.request, fixture.signing, { scheme, nowSeconds: fixture.now, nonce: "browser-" + scheme });
      signed[scheme] = s;
      const request = { ...fixture.request, headers: { ...fixture.request.headers, ...s.headers } };
      verdicts[scheme] = verifyRequest(request, fixture.policy, fixture.now);
    }
    // Bytes in, a random nonce (crypto.getRandomValues) and the wall clock by default.
    const bytes = new TextEncoder().encode(fixture.request.body);
    const fresh = signRequest({ ...fixture.request, body: bytes }, fixture.signing);
    const freshVerdict = fresh.ok
      ? verifyRequest({ ...fixture.request, body: bytes, headers: { ...fixture.request.headers, ...fresh.headers } }, fixture.policy)
      : fresh;
    const tamperedRequest = { ...fixture.request, body: fixture.request.body.replace("31", "32"),
      headers: { ...fixture.request.headers, ...signed.rfc9421.headers } };
    report({
      signed, verdicts, freshVerdict,
      tampered: verifyRequest(tamperedRequest, fixture.policy, fixture.now),
      garbage: [verifyRequest(null, null), signRequest(42), validatePayload(undefined), recomputeModules("x")],
      payload: validatePayload(fixture.request.body),
      digest: contentDigest("hello"),
      cases: await runCases({ createVerifier, verifyRequest, signRequest, validatePayload, recomputeModules, contentDigest, verifyProviderWebhook }),
    });
  } catch (error) {
    report({ error: String(error && error.stack || error) });
  }
</script>`;
}

function serve(pkgRoot, html) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const send = (status, type, body) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (path === "/" || path === "/index.html") return send(200, TYPES[".html"], html);
    if (path === "/favicon.ico") return send(204, "image/x-icon", "");
    if (path === "/fixture.json") return send(200, TYPES[".json"], JSON.stringify(fixture));
    if (path.startsWith("/cases/")) {
      const file = normalize(join(casesDir, path.slice("/cases/".length)));
      if (file.startsWith(casesDir + sep) && existsSync(file)) {
        return send(200, TYPES[extname(file)] ?? "application/octet-stream", readFileSync(file));
      }
    }
    if (path.startsWith("/pkg/")) {
      const file = normalize(join(pkgRoot, path.slice("/pkg/".length)));
      if (file.startsWith(pkgRoot + sep) && existsSync(file)) {
        return send(200, TYPES[extname(file)] ?? "application/octet-stream", readFileSync(file));
      }
    }
    return send(404, "text/plain", "not found");
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

test("the browser entry signs and verifies in chromium", { skip: !haveChromium && `${CHROMIUM} is missing: run \`make install-chromium\``, timeout: 120_000 }, async () => {
  const { chromium } = await import("playwright-core");
  const pkgRoot = installedDir();
  const manifest = JSON.parse(readFileSync(join(pkgRoot, "package.json"), "utf8"));
  const browserEntry = manifest.exports["."].browser.default ?? manifest.exports["."].browser;
  const server = await serve(pkgRoot, page(`/pkg/${browserEntry.replace(/^\.\//, "")}`));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const userDataDir = mkdtempSync(join(tmpdir(), "syncgate-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: FLAGS,
  });
  const problems = [];
  try {
    const tab = await context.newPage();
    tab.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`); });
    tab.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    tab.on("requestfailed", (r) => problems.push(`requestfailed: ${r.url()}`));
    // Nothing leaves the loopback server.
    await tab.route("**/*", (route) => (route.request().url().startsWith(origin) ? route.continue() : route.abort()));
    await tab.goto(`${origin}/`);
    await tab.waitForFunction(() => window.__result !== undefined, null, { timeout: 60_000 });
    const result = await tab.evaluate(() => window.__result);

    assert.equal(result.error, undefined, result.error);
    for (const scheme of ["rfc9421", "standard-webhooks"]) {
      const v = result.verdicts[scheme];
      assert.equal(v.ok, true, `${scheme}: ${JSON.stringify(v)}`);
      assert.equal(v.scheme, scheme);
      assert.equal(v.keyId, ACTIVE.kid);
      assert.equal(v.payloadType, "branding");
      assert.equal(v.payloadVersion, 31);
      assert.equal(v.nonce, `browser-${scheme}`);
    }
    assert.equal(result.freshVerdict.ok, true, JSON.stringify(result.freshVerdict));
    assert.equal(result.tampered.code, "digest_mismatch");
    for (const g of result.garbage) assert.equal(g.ok, false);
    assert.equal(result.payload.ok, true);
    assert.equal(result.digest, "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:");

    // Node and the browser agree to the byte.
    const node = await importSyncgate();
    for (const scheme of ["rfc9421", "standard-webhooks"]) {
      const s = node.signRequest(fixture.request, fixture.signing, { scheme, nowSeconds: NOW, nonce: `browser-${scheme}` });
      assert.deepEqual(result.signed[scheme], s, `${scheme} signatures differ between Node and chromium`);
    }
    // The shared case files: every verdict as expected in the page, and identical to Node's.
    const loadCase = (name) => JSON.parse(readFileSync(join(casesDir, name), "utf8"));
    const inNode = {
      signatures: engine.runSignatureCases(node, loadCase("signatures.json")),
      signaturesAsync: engine.runSignatureCases(node, loadCase("signatures.json")),
      payloads: engine.runPayloadCases(node, loadCase("payloads.json")),
      modules: engine.runModuleCases(node, loadCase("modules.json")),
      providers: engine.runProviderCases(node, loadCase("providers.json")),
    };
    for (const [kind, run] of Object.entries(result.cases)) {
      assert.deepEqual(run.problems, [], `${kind} cases in chromium`);
      assert.ok(run.ran > 0, `${kind}: no cases ran in chromium`);
      assert.equal(run.ran, inNode[kind].ran);
      assert.deepEqual(run.verdicts, inNode[kind].verdicts, `${kind}: chromium and Node verdicts differ`);
      console.log(`${kind} in chromium: ${run.ran} cases, verdicts identical to Node (node:crypto)`);
    }
    assert.deepEqual(problems, [], `the page logged problems:\n${problems.join("\n")}`);
  } finally {
    await context.close();
    server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
