// The package inside a JS Worker: a ten-line Worker imports "syncgate" by name, is bundled with
// esbuild from the npm-installed package (target/js-test/project/node_modules) with the
// conditions wrangler uses (`workerd`, `worker`, `browser`), the .wasm kept as a module, and runs
// in workerd through Miniflare (CompiledWasm modules rule). It verifies the requests it
// receives: a signed one is ok, a tampered or wrongly signed one is refused with its code.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ACTIVE, brandingPayload, policy, secretFor, syncRequest } from "./support/fixtures.mjs";
import { importSyncgate, installedDir, projectDir } from "./support/package.mjs";

// The Worker: the package by name, the tenant policy from a binding.
const WORKER = `import { verifyRequest } from "syncgate";

export default {
  async fetch(request, env) {
    const body = new Uint8Array(await request.arrayBuffer());
    const incoming = { method: request.method, url: request.url, headers: request.headers, body };
    const verdict = verifyRequest(incoming, JSON.parse(env.POLICY));
    return Response.json(verdict, { status: verdict.ok ? 200 : verdict.status });
  },
};
`;

test("verifyRequest runs in workerd from a Worker bundled with the workerd condition", { timeout: 120_000 }, async () => {
  const manifest = JSON.parse(readFileSync(join(installedDir(), "package.json"), "utf8"));
  assert.equal(manifest.exports["."].workerd.default, "./workerd.js");
  assert.equal(manifest.exports["."].worker.default, "./workerd.js");
  const sg = await importSyncgate();

  const app = join(projectDir, "workerd-app");
  const out = join(app, "dist");
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, "index.js"), WORKER);
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [join(app, "index.js")],
    outdir: out,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    loader: { ".wasm": "copy" },
    metafile: true,
    logLevel: "warning",
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.some((i) => i.endsWith("node_modules/syncgate/workerd.js")), `bundled the workerd entry: ${inputs.join(", ")}`);
  assert.ok(!inputs.some((i) => /syncgate\.(cjs|mjs)$|browser\.js$/.test(i)), "no Node or browser entry in the bundle");
  const wasm = readdirSync(out).filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1);

  const { Miniflare } = await import("miniflare");
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(out, "index.js"),
    modulesRoot: out,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-01",
    bindings: { POLICY: JSON.stringify(policy()) },
    host: "127.0.0.1",
    port: 0,
  });
  try {
    const send = (request) => mf.dispatchFetch(request.url, { method: request.method, headers: request.headers, body: request.body });
    const unsigned = syncRequest(brandingPayload(12));
    const sign = (secret) => {
      const s = sg.signRequest(unsigned, { kid: ACTIVE.kid, secret });
      assert.equal(s.ok, true);
      return { ...unsigned, headers: { ...unsigned.headers, ...s.headers } };
    };
    const signed = sign(ACTIVE.secret);

    const ok = await send(signed);
    const verdict = await ok.json();
    assert.equal(ok.status, 200, JSON.stringify(verdict));
    assert.equal(verdict.ok, true);
    assert.equal(verdict.tenant, "acme");
    assert.equal(verdict.keyId, ACTIVE.kid);
    assert.equal(verdict.payloadVersion, 12);
    assert.equal(verdict.payloadHash, sg.verifyRequest(signed, policy()).payloadHash);

    const tampered = await send({ ...signed, body: signed.body.replace("12", "13") });
    assert.equal(tampered.status, 400);
    assert.equal((await tampered.json()).code, "digest_mismatch");

    const forged = await send(sign(secretFor("not the tenant's")));
    assert.equal(forged.status, 401);
    assert.equal((await forged.json()).code, "invalid_signature");

    // The isolate keeps its one instance: many calls, same answers.
    const again = await Promise.all(Array.from({ length: 20 }, () => send(signed)));
    assert.deepEqual(again.map((r) => r.status), Array(20).fill(200));
  } finally {
    await mf.dispose();
  }
});
