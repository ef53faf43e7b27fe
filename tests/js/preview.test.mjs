// The request preview page (examples/browser/) in headless chromium, on the package's browser
// build: sign a body and verify it (ok, with the signature base and the module table), tamper
// one byte and see the refusal code, paste a broken policy and get a clear error without a
// crash. What the page shows is checked against the same functions run in Node.
// Screenshot: target/screenshots/browser-preview.png.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";

import { chromiumSkip, openTab, screenshot, serveStatic } from "./support/chromium.mjs";
import { importSyncgate, installedDir, root } from "./support/package.mjs";

const SHOT = join(root, "target", "screenshots", "browser-preview.png");

/** The request the page holds, read from its fields the way app.js reads them. */
async function pageRequest(tab) {
  return tab.evaluate(() => {
    const headers = {};
    for (const line of document.getElementById("headers").value.split("\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return {
      method: document.getElementById("method").value,
      url: document.getElementById("url").value,
      headers,
      body: document.getElementById("body").value,
    };
  });
}

const verdictOf = (tab) => tab.evaluate(() => {
  const box = document.getElementById("verdict");
  return { state: box.dataset.state, code: box.dataset.code, text: box.textContent };
});

test("the preview page signs, verifies, shows the base and modules, and refuses a tampered byte", { skip: chromiumSkip(), timeout: 120_000 }, async () => {
  const sg = await importSyncgate();
  const server = await serveStatic({
    "/examples/browser/": join(root, "examples", "browser"),
    "/pkg/": installedDir(),
  });
  const { tab, problems, close } = await openTab(server.origin);
  try {
    await tab.goto(`${server.origin}/examples/browser/`);
    await tab.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    const policy = JSON.parse(await tab.inputValue("#policy"));

    // Sign (fills the signature headers in) → the page verifies: ok.
    await tab.click("#sign");
    await tab.waitForSelector("#verdict[data-state=ok]", { timeout: 10_000 });
    const signed = await pageRequest(tab);
    assert.match(signed.headers["signature-input"], /^sig1=\("@method" "@path" "content-digest"\)/);
    const node = sg.verifyRequest(signed, policy);
    assert.equal(node.ok, true, JSON.stringify(node));
    let verdict = await verdictOf(tab);
    for (const shown of [node.tenant, node.payloadType, String(node.payloadVersion), node.keyId, node.nonce, node.payloadHash]) {
      assert.ok(verdict.text.includes(shown), `the verdict shows ${shown}: ${verdict.text}`);
    }

    // The base shown is the one Node's core rebuilds, and its MAC is the signature sent.
    const base = await tab.textContent("#base");
    const preview = sg.signatureBase(signed);
    assert.equal(preview.ok, true);
    assert.equal(preview.digestMatches, true);
    assert.equal(base, `# sig1 (keyid ${policy.keys[0].kid})\n${preview.signatures[0].base}`);
    assert.ok(base.includes('"@method": POST\n"@path": /v1/acme-eu1/sync\n"content-digest": sha-256=:'));
    assert.match(await tab.textContent("#digest"), /^Content-Digest matches the body/);

    // The module table is recomputeModules of the payload's features, row for row.
    const rows = await tab.$$eval("#modules tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    const expected = sg.recomputeModules(JSON.parse(signed.body).features, policy);
    assert.equal(expected.ok, true);
    assert.deepEqual(rows, expected.modules.map((m) => [m.key, m.group, m.enabled ? "yes" : "no", m.reason, m.permissions.join(", ")]));
    assert.ok(rows.some(([key, , enabled, reason]) => key === "sales.pipeline" && enabled === "no" && reason === "override_off"));
    assert.ok(rows.some(([, , , reason]) => reason === "missing_dependency:sales.pipeline"));
    await screenshot(tab, SHOT);

    // One byte of the body changed: the digest no longer matches.
    const body = signed.body.replace('"version": 7', '"version": 8');
    assert.notEqual(body, signed.body);
    await tab.fill("#body", body);
    await tab.click("#verify");
    await tab.waitForSelector("#verdict[data-state=refused]");
    verdict = await verdictOf(tab);
    assert.equal(verdict.code, "digest_mismatch");
    assert.equal(verdict.code, sg.verifyRequest({ ...signed, body }, policy).code);
    assert.match(await tab.textContent("#digest"), /^Content-Digest does not match the body/);
    assert.match(await tab.textContent("#modules-note"), /did NOT verify/);

    // Body back, one byte of the path changed: the MAC no longer verifies.
    await tab.fill("#body", signed.body);
    await tab.fill("#url", signed.url.replace("/sync", "/synd"));
    await tab.click("#verify");
    await tab.waitForFunction(() => document.getElementById("verdict").dataset.code === "invalid_signature");
    assert.ok((await tab.textContent("#base")).includes('"@path": /v1/acme-eu1/synd'));

    // A broken policy: a clear message, no crash; fixing it verifies again.
    await tab.fill("#url", signed.url);
    await tab.fill("#policy", '{ "instance": "acme-eu1", ');
    await tab.click("#verify");
    await tab.waitForSelector("#verdict[data-state=error]");
    verdict = await verdictOf(tab);
    assert.match(verdict.text, /^the policy is not valid JSON: /);
    await tab.fill("#policy", JSON.stringify(policy));
    await tab.click("#verify");
    await tab.waitForSelector("#verdict[data-state=ok]");

    // A policy that parses but is not a policy: the core's refusal, shown as such.
    await tab.fill("#policy", JSON.stringify({ ...policy, surprise: true }));
    await tab.click("#verify");
    await tab.waitForSelector("#verdict[data-state=refused]");
    assert.equal((await verdictOf(tab)).code, "invalid_field");

    // Only a secret, no policy: a one-key policy is made from the key fields.
    await tab.fill("#policy", "");
    await tab.fill("#kid", policy.keys[0].kid);
    await tab.fill("#secret", policy.keys[0].secret);
    await tab.selectOption("#scheme", "standard-webhooks");
    await tab.click("#sign");
    await tab.waitForSelector("#verdict[data-state=ok]");
    const webhook = await pageRequest(tab);
    assert.equal(webhook.headers["signature-input"], undefined, "the other scheme's headers are dropped");
    assert.match(webhook.headers["webhook-signature"], /^v1,/);
    assert.ok((await tab.textContent("#base")).startsWith(`# standard webhooks: id.timestamp.body\n${webhook.headers["webhook-id"]}.`));

    assert.deepEqual(problems, [], `the page logged problems:\n${problems.join("\n")}`);
  } finally {
    await close();
    await server.close();
  }
});
