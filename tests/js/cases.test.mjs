// The shared case files (tests/cases/*.json) through the installed npm package in Node:
// verifyRequest, validatePayload, recomputeModules and verifyProviderWebhook must give every
// case's verdict. The
// signature cases also run through createVerifier — hashing with node:crypto and in Rust (the
// reference), with string and byte bodies — which must give identical verdicts, and through
// verifySignature, which must agree with them up to the payload checks.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { declaredStatuses, importSyncgate, root } from "./support/package.mjs";
import * as engine from "../cases/engine.mjs";

// Every failure's status must be the one index.d.ts declares for its code.
const STATUS = declaredStatuses();
function assertDeclaredStatuses(verdicts) {
  for (const [name, v] of Object.entries(verdicts)) {
    if (!v.ok) assert.equal(v.status, STATUS[v.code], `${name}: status of ${v.code}`);
  }
}

const load = (name) => JSON.parse(readFileSync(join(root, "tests", "cases", name), "utf8"));

test("signatures.json: every case's verdict from verifyRequest and createVerifier (node:crypto and Rust hashing)", async () => {
  const sg = await importSyncgate();
  const paths = engine.verifierPaths(sg);
  const { ran, problems, verdicts } = engine.runSignatureCases(sg, load("signatures.json"), {
    paths,
    signature: (r, p, n) => sg.createVerifier(p).verifySignature(r, n),
  });
  assert.deepEqual(problems, []);
  assertDeclaredStatuses(verdicts);
  assert.ok(ran > 0);
  console.log(`signatures.json: ${ran} cases × ${Object.keys(paths).length} paths, and verifySignature`);
});

test("signatures.json: verifySignature hashing in Rust agrees with node:crypto", async () => {
  const sg = await importSyncgate();
  const file = load("signatures.json");
  const problems = [];
  for (const c of engine.casesOf(file, "signatures.json")) {
    const { request, policy, now } = engine.buildSignatureCase(sg, file, c);
    const host = sg.createVerifier(policy).verifySignature(request, now);
    const rust = sg.createVerifier(policy, { hashing: "rust" }).verifySignature(request, now);
    if (JSON.stringify(host) !== JSON.stringify(rust)) problems.push(`${c.name}: ${JSON.stringify(host)} vs ${JSON.stringify(rust)}`);
  }
  assert.deepEqual(problems, []);
});

test("signatures.json: verifyAsync and verifySignatureAsync give the synchronous verdicts", async () => {
  const sg = await importSyncgate();
  const { ran, problems } = await engine.runSignatureCasesAsync(sg, load("signatures.json"), {
    paths: {
      verify: (r, p, n) => sg.createVerifier(p).verify(r, n),
      verifyAsync: (r, p, n) => sg.createVerifier(p).verifyAsync(r, n),
    },
    signature: (r, p, n) => sg.createVerifier(p).verifySignatureAsync(r, n),
  });
  assert.deepEqual(problems, []);
  assert.ok(ran > 0);
});

test("payloads.json: every case's verdict from validatePayload", async () => {
  const sg = await importSyncgate();
  const { ran, problems, verdicts } = engine.runPayloadCases(sg, load("payloads.json"));
  assert.deepEqual(problems, []);
  assertDeclaredStatuses(verdicts);
  assert.ok(ran > 0);
  console.log(`payloads.json: ${ran} cases`);
});

test("modules.json: every case's output from recomputeModules", async () => {
  const sg = await importSyncgate();
  const { ran, problems } = engine.runModuleCases(sg, load("modules.json"));
  assert.deepEqual(problems, []);
  assert.ok(ran > 0);
  console.log(`modules.json: ${ran} cases`);
});

test("providers.json: every case's verdict from verifyProviderWebhook", async () => {
  const sg = await importSyncgate();
  const { ran, problems, verdicts } = engine.runProviderCases(sg, load("providers.json"));
  assert.deepEqual(problems, []);
  assertDeclaredStatuses(verdicts);
  assert.ok(ran > 0);
  console.log(`providers.json: ${ran} cases`);
});
