// The shared case files (tests/cases/*.json) through the installed npm package in Node:
// verifyRequest, validatePayload, recomputeModules and verifyProviderWebhook must give every
// case's verdict.

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

test("signatures.json: every case's verdict from verifyRequest", async () => {
  const sg = await importSyncgate();
  const { ran, problems, verdicts } = engine.runSignatureCases(sg, load("signatures.json"));
  assert.deepEqual(problems, []);
  assertDeclaredStatuses(verdicts);
  assert.ok(ran > 0);
  console.log(`signatures.json: ${ran} cases`);
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
