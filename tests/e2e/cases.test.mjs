// The shared case files (tests/cases/*.json) against the running edge: every signature and
// payload rejection that has an HTTP shape is signed with the package's signer (on the edge's
// clock: a case's times stay relative to now) and sent to /v1/{instance}/sync of the real worker
// in workerd. The edge must answer the case's status and code, log it, and the origin must see
// nothing. Accepted cases are not sent (they would apply and share a ledger); cases marked
// `edge: false` or `clockExact: true` cannot be reproduced on a wall clock and are counted as
// skipped.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";

import * as engine from "../cases/engine.mjs";
import { expectProblem, request, startGateway, syncgate } from "./support/harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const load = (name) => JSON.parse(readFileSync(join(root, "tests", "cases", name), "utf8"));

let gw;
before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

/**
 * Payload cases the edge answers differently from the core today (the core's verdict is the
 * contract; these are defects of the edge, listed so the run stays honest about them).
 */
const KNOWN_EDGE_DEFECTS = {};
const seenDefects = {};

const now = () => Math.floor(Date.now() / 1000);
const instances = new Map();
/** One instance per distinct policy (tenant `acme`, the case file's keys). */
async function instanceFor(policy) {
  const key = JSON.stringify(policy);
  if (!instances.has(key)) {
    const instance = `cases-${instances.size + 1}`;
    const { instance: _i, tenant, ...extra } = policy;
    const t = await gw.createInstance(instance, tenant, { keys: [], ...extra });
    t.reader = await gw.apiKey(instance, ["sync:read"]);
    instances.set(key, t);
  }
  return instances.get(key);
}

async function expectRejected(t, c, res) {
  const beforeStats = await gw.originStats();
  const body = await expectProblem(assert, res, c.expect.status, c.expect.code);
  if (c.expect.field !== undefined || c.expect.path !== undefined) {
    assert.equal(body.field ?? "", c.expect.field ?? c.expect.path, `${c.name}: field`);
  }
  assert.deepEqual(await gw.originStats(), beforeStats, `${c.name}: the origin saw nothing`);
  const items = await gw.logs(t.instance, t.reader, { until: (items) => items.some((i) => i.requestId === body.requestId) });
  const item = items.find((i) => i.requestId === body.requestId);
  assert.equal(item.status, "rejected", c.name);
  assert.equal(item.code, c.expect.code, c.name);
}

test("signatures.json: every rejection with an HTTP shape, at the edge", async () => {
  const file = load("signatures.json");
  let ran = 0;
  let skipped = 0;
  for (const c of engine.casesOf(file, "signatures.json")) {
    if (c.expect.ok || c.edge === false || c.clockExact) {
      skipped += 1;
      continue;
    }
    const t = await instanceFor(engine.mergedPolicy(file.policy, c.policy));
    const url = `${gw.edge}/v1/${t.instance}/sync?trace=1`;
    const { request: r } = engine.buildSignatureCase(syncgate, file, c, { now: now() - (c.verifyAt ?? 0), url });
    const res = await request(r.url, { method: r.method, headers: r.headers, body: r.body });
    await expectRejected(t, c, res);
    ran += 1;
  }
  assert.ok(ran > 0);
  console.log(`signatures.json at the edge: ${ran} cases (${skipped} not applicable)`);
});

test("payloads.json: every rejection, signed, at the edge", async () => {
  const file = load("payloads.json");
  const keys = load("signatures.json").policy.keys;
  let ran = 0;
  let skipped = 0;
  for (const c of engine.casesOf(file, "payloads.json")) {
    if (c.expect.ok) {
      skipped += 1;
      continue;
    }
    const t = await instanceFor({ ...engine.mergedPolicy(file.policy, c.policy ?? {}), keys });
    const url = `${gw.edge}/v1/${t.instance}/sync`;
    const body = engine.payloadBody(file, c);
    const headers = { "content-type": "application/json" };
    const signed = syncgate.signRequest({ method: "POST", url, headers, body }, keys[0], { nonce: `payload-${ran}` });
    assert.equal(signed.ok, true, JSON.stringify(signed));
    const res = await request(url, { method: "POST", headers: { ...headers, ...signed.headers }, body });
    if (KNOWN_EDGE_DEFECTS[c.name]) {
      seenDefects[c.name] = `${res.status} ${(await res.json()).code}`;
      continue;
    }
    await expectRejected(t, c, res);
    ran += 1;
  }
  assert.ok(ran > 0);
  console.log(`payloads.json at the edge: ${ran} cases (${skipped} accepted cases not sent)`);
  // A known defect that stops reproducing must be taken off the list (and so becomes a case).
  for (const [name, why] of Object.entries(KNOWN_EDGE_DEFECTS)) {
    assert.notEqual(seenDefects[name], undefined, `${name}: not run`);
    assert.notEqual(seenDefects[name], `${why.expected}`, `${name} now passes at the edge: remove it from KNOWN_EDGE_DEFECTS`);
    console.log(`known edge defect: ${name}: ${seenDefects[name]} (${why.reason})`);
  }
});
