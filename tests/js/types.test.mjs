// The hand-written TypeScript declarations, checked by the TypeScript compiler the way a user's
// project would see them: `tsc --strict` in the consumer project, once with Node 16+ module
// resolution (ESM `.mts` through the "import" condition, CommonJS `.cts` through "require") and
// once with bundler resolution (the "browser" condition, as Vite and webpack resolve it).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { test } from "node:test";

import { ensureInstalled, projectDir, requireSyncgate, root } from "./support/package.mjs";
import {
  ACTIVE, brandingPayload, featuresPayload, policy, syncRequest,
} from "./support/fixtures.mjs";

const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const sources = join(root, "tests", "js", "types");

function check(mode, files, compilerOptions) {
  ensureInstalled();
  const dir = join(projectDir, `types-${mode}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [from, to] of files) copyFileSync(isAbsolute(from) ? from : join(sources, from), join(dir, to));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, skipLibCheck: false, target: "es2022", lib: ["es2022"],
      types: [], noUnusedLocals: true, ...compilerOptions,
    },
    files: files.map(([, to]) => to),
  }, null, 2));
  const r = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8" });
  assert.equal(r.status, 0, `tsc (${mode}) failed:\n${r.stdout}${r.stderr}`);
}

test("types compile for Node ESM and CommonJS (module node16)", { skip: !existsSync(tsc) && "typescript is not installed" }, () => {
  check("node16", [["usage.ts", "usage.mts"], ["default-import.ts", "default-import.mts"], ["require.cts", "require.cts"]], {
    module: "node16", moduleResolution: "node16",
  });
});

test("types compile for bundlers (moduleResolution bundler, browser condition)", { skip: !existsSync(tsc) && "typescript is not installed" }, () => {
  check("bundler", [["usage.ts", "usage.ts"], ["default-import.ts", "default-import.ts"]], {
    module: "esnext", moduleResolution: "bundler", customConditions: ["browser"],
  });
});

// The declarations against the types ts-rs derives from the Rust types (src/ts_types.rs writes
// them to target/ts-types/generated.ts; `make test-js` runs it first). In CI a missing file is
// a failure, elsewhere the test skips with the command to run.
const generated = join(root, "target", "ts-types", "generated.ts");
test("the declarations and the types derived from Rust agree", { skip: !existsSync(tsc) && "typescript is not installed" }, (t) => {
  if (!existsSync(generated)) {
    assert.ok(!process.env.CI, `${generated} is missing: run \`make ts-types\``);
    t.skip("run `make ts-types` (cargo test -p syncgate --features ts --lib ts_types) first");
    return;
  }
  check("generated", [[generated, "generated.ts"], ["generated-check.ts", "generated-check.ts"]], {
    module: "esnext", moduleResolution: "bundler",
  });
});

// The declarations are written by hand; this keeps them mechanically in step with what the
// Rust core really returns. Every export is called on real inputs (accepted and refused), and
// each answer is written into a TypeScript file as an object literal checked with `satisfies`
// against its declared type: a member the Rust side adds that the declarations lack (an excess
// property), or one they declare that it no longer sends (a missing property), fails to compile.
test("what the package returns satisfies its declared types", { skip: !existsSync(tsc) && "typescript is not installed" }, () => {
  ensureInstalled();
  const sg = requireSyncgate();
  const now = 1_790_000_000;
  const samples = [];
  const sample = (type, value) => samples.push(`export const s${samples.length} = ${JSON.stringify(value)} satisfies ${type};`);
  for (const scheme of ["rfc9421", "standard-webhooks"]) {
    for (const payload of [brandingPayload(), featuresPayload(2)]) {
      const request = syncRequest(payload);
      const signed = sg.signRequest(request, ACTIVE, { scheme, nowSeconds: now, nonce: `n-${scheme}-${samples.length}` });
      assert.ok(signed.ok, JSON.stringify(signed));
      sample("Signed<Rfc9421Headers> | Signed<StandardWebhooksHeaders>", signed);
      const verdict = sg.verifyRequest({ ...request, headers: { ...request.headers, ...signed.headers } }, policy(), now);
      assert.ok(verdict.ok, JSON.stringify(verdict));
      sample("Verified", verdict);
      const verifier = sg.createVerifier(policy());
      const signedRequest = { ...request, headers: { ...request.headers, ...signed.headers } };
      sample("Verified", verifier.verify(signedRequest, now));
      sample("SignatureVerified", verifier.verifySignature(signedRequest, now));
    }
  }
  sample("SignatureVerdict", sg.createVerifier(policy()).verifySignature(syncRequest(), now));
  sample("Failure", sg.verifyRequest(syncRequest(), policy(), now));
  sample("Failure", sg.signRequest(syncRequest(), { kid: "k", secret: "nope" }));
  const check = sg.validatePayload(featuresPayload(3), policy());
  assert.ok(check.ok);
  sample("PayloadCheck", check);
  sample("PayloadCheck", sg.validatePayload({ type: "branding" }));
  const modules = sg.recomputeModules(featuresPayload().features, policy());
  assert.ok(modules.ok);
  sample("ModuleRecomputation", modules);
  sample("ModuleRecomputation", sg.recomputeModules({ plan: 1 }));
  const dir = join(projectDir, "types-runtime");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "samples.ts"), [
    "import type { Failure, ModuleRecomputation, PayloadCheck, Rfc9421Headers, SignatureVerdict, SignatureVerified, Signed, StandardWebhooksHeaders, Verified } from \"syncgate\";",
    ...samples,
  ].join("\n"));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: "es2022", lib: ["es2022"], types: [],
      module: "node16", moduleResolution: "node16", exactOptionalPropertyTypes: true,
    },
    files: ["samples.ts"],
  }));
  const r = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8" });
  assert.equal(r.status, 0, `the package's answers do not match index.d.ts:\n${r.stdout}${r.stderr}`);
  assert.ok(samples.length >= 14, `${samples.length} samples`);
});
