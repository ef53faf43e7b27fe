// docs/signing.md's examples against the running edge (the worker in workerd via Miniflare, the
// reference origin): the Python one (http-message-signatures, standardwebhooks from PyPI, in
// target/python-venv) and the TypeScript one (npm http-message-signatures, standardwebhooks,
// compiled by tsc into target/signing-ts), each run as a child process as a sender would run
// it, with both schemes. Each signed payload is applied with the key it was signed with; the
// same request with one byte of the body changed after signing is refused with the code the
// scheme gives it, and nothing of it reaches the origin.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { branding, startGateway } from "./support/harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const PYTHON = join(root, "target/python-venv/bin/python");
const SENDERS = {
  python: { program: PYTHON, script: join(root, "examples/signing/python/send_sync.py"), install: "make install-python" },
  typescript: { program: process.execPath, script: join(root, "target/signing-ts/send-sync.js"), install: "make signing-examples" },
};
// What a body changed after signing is refused with: RFC 9421 binds the body through
// Content-Digest, Standard Webhooks through the MAC itself.
const TAMPERED = { rfc9421: [400, "digest_mismatch"], "standard-webhooks": [401, "invalid_signature"] };

let gw;
let dir;
let instance;
let version = 0;
before(async () => {
  gw = await startGateway();
  dir = mkdtempSync(join(tmpdir(), "syncgate-signing-"));
  instance = await gw.createInstance("signing-eu1", "signing");
});
after(async () => {
  await gw?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a sender; resolves { code, answer } (the JSON line it printed). */
function send(language, scheme, payload, { tamper = false } = {}) {
  const sender = SENDERS[language];
  for (const file of [sender.program, sender.script]) assert.ok(existsSync(file), `${file} is missing: run ${sender.install}`);
  const file = join(dir, `${language}-${scheme}-${payload.version}${tamper ? "-tampered" : ""}.json`);
  writeFileSync(file, JSON.stringify(payload));
  const args = [sender.script, "--edge", gw.edge, "--instance", instance.instance, "--kid", instance.key.kid,
    "--secret", instance.key.secret, "--scheme", scheme, ...(tamper ? ["--tamper"] : []), file];
  return new Promise((ok, fail) => {
    execFile(sender.program, args, { timeout: 30000, env: { PATH: process.env.PATH } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") return fail(error);
      try {
        ok({ code: error ? error.code : 0, answer: JSON.parse(stdout) });
      } catch {
        fail(new Error(`${language} sender printed no answer (exit ${error?.code}): ${stdout}${stderr}`));
      }
    });
  });
}

for (const language of Object.keys(SENDERS)) {
  describe(`the ${language} example`, () => {
    for (const scheme of ["rfc9421", "standard-webhooks"]) {
      test(`${scheme}: a signed payload is applied, a tampered one refused`, async () => {
        const payload = branding(instance.tenant, ++version, `${language} ${scheme}`);
        const applied = await send(language, scheme, payload);
        assert.equal(applied.code, 0, JSON.stringify(applied.answer));
        assert.equal(applied.answer.status, 200);
        assert.equal(applied.answer.body.status, "applied");
        assert.equal(applied.answer.body.payloadVersion, payload.version);
        assert.equal(applied.answer.body.keyId, instance.key.kid);

        const before = await gw.originStats();
        const next = branding(instance.tenant, ++version, `${language} ${scheme} tampered`);
        const refused = await send(language, scheme, next, { tamper: true });
        const [status, code] = TAMPERED[scheme];
        assert.equal(refused.code, 1);
        assert.equal(refused.answer.status, status, JSON.stringify(refused.answer));
        assert.equal(refused.answer.body.code, code);
        assert.equal(refused.answer.body.status, status);
        assert.deepEqual(await gw.originStats(), before, "a tampered request never reaches the origin");
      });
    }
  });
}

test("the edge's status names the last payload the examples applied", async () => {
  const reader = await gw.apiKey(instance.instance, ["sync:read"]);
  const res = await gw.get(`/v1/${instance.instance}/sync/status`, reader);
  assert.equal(res.status, 200);
  const status = await res.json();
  assert.equal(status.lastPayloadVersion, version - 1, "the last applied (untampered) version");
  assert.equal(status.lastKeyId, instance.key.kid);
});
