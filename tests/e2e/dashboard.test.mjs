// The operator dashboard end to end: the real worker in workerd (Miniflare) in front of the real
// origin, and the page in headless chromium. An instance gets applied and refused syncs; the
// page, opened with a wrong token, shows an error and nothing else; with the admin token it
// shows the health, the keys with their last use, the last sync, the hourly counts and the log
// rows, each checked against the JSON endpoints. The token never appears in a URL the page
// requests, nor in the page. Screenshot: target/screenshots/dashboard.png.
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";

import { chromiumSkip, openTab, screenshot } from "../js/support/chromium.mjs";
import { branding, expectProblem, features, request, startGateway, whsec } from "./support/harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const SHOT = join(root, "target", "screenshots", "dashboard.png");
const skip = chromiumSkip();

let gw;
before(async () => {
  if (!skip) gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

const json = async (res) => {
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
};

test("the dashboard shows what the JSON endpoints say, only to the admin token", { skip, timeout: 180_000 }, async () => {
  const t = await gw.createInstance("dash-eu1", "dash");
  const retiring = await gw.admin("POST", `${t.instance}/keys`, { kid: "dash-2026-05", version: 1, status: "retiring" });
  assert.equal(retiring.status, 201, await retiring.clone().text());
  const reader = await gw.apiKey(t.instance, ["sync:read"]);

  // Three applied syncs and three refusals: a signed stale version, a wrong key, no signature.
  for (const [payload, status] of [
    [branding(t.tenant, 1), 200], [branding(t.tenant, 2), 200], [features(t.tenant, 3), 200],
  ]) {
    const res = await gw.sync(t.instance, payload, t.key);
    assert.equal(res.status, status, await res.text());
  }
  await expectProblem(assert, await gw.sync(t.instance, branding(t.tenant, 2, "Old"), t.key), 409, "stale_version");
  await expectProblem(assert, await gw.sync(t.instance, branding(t.tenant, 9), { kid: t.key.kid, secret: whsec() }), 401, "invalid_signature");
  await expectProblem(assert, await request(`${gw.edge}/v1/${t.instance}/sync`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(branding(t.tenant, 10)),
  }), 401, "missing_signature");
  await gw.logs(t.instance, reader, { until: (items) => items.length >= 6 });

  // The JSON the page must agree with: the tenant routes (API key) and the admin ones.
  const status = await json(await gw.get(`/v1/${t.instance}/sync/status`, reader));
  const logs = await json(await gw.get(`/v1/${t.instance}/sync/logs?limit=25`, reader));
  const policy = await json(await gw.admin("GET", t.instance));
  const askedAt = Date.now();
  const hourly = await json(await gw.admin("GET", `${t.instance}/sync/hourly`));
  assert.deepEqual(await json(await gw.admin("GET", `${t.instance}/sync/status`)), status);
  assert.deepEqual(await json(await gw.admin("GET", `${t.instance}/sync/logs?limit=25`)), logs);
  for (const view of ["status", "logs", "hourly"]) {
    await expectProblem(assert, await gw.get(`/admin/v1/instances/${t.instance}/sync/${view}`, reader), 401, "unauthorized");
  }
  await expectProblem(assert, await gw.admin("GET", "nowhere-eu1/sync/hourly"), 404, "unknown_instance");
  assert.equal(hourly.hours.length, 24);
  const hourOf = (ms) => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();
  assert.ok([hourOf(askedAt), hourOf(Date.now())].includes(hourly.hours.at(-1).start), "the series ends with this hour");
  assert.equal(hourly.from, hourly.hours[0].start);
  const sum = (kind) => hourly.hours.reduce((n, h) => n + h[kind], 0);
  assert.equal(sum("accepted"), 3);
  assert.equal(sum("refused"), 3);
  assert.deepEqual(hourly.refusedByCode, { invalid_signature: 1, missing_signature: 1, stale_version: 1 });
  assert.equal(hourly.hours.at(-1).accepted + hourly.hours.at(-2).accepted, 3, "the syncs are in the last hours");
  assert.equal(logs.items.length, 6);
  assert.equal(status.lastPayloadVersion, 3);

  const { tab, problems, requests, close } = await openTab(gw.edge, { viewport: { width: 1280, height: 1000 } });
  try {
    const page = await tab.goto(`${gw.edge}/admin/v1/instances/${t.instance}/dashboard`);
    assert.equal(page.status(), 200);
    const headers = page.headers();
    assert.match(headers["content-type"], /^text\/html/);
    const csp = headers["content-security-policy"];
    assert.match(csp, /^default-src 'none'; script-src 'nonce-[0-9a-f]{32}'; style-src 'nonce-[0-9a-f]{32}'; connect-src 'self';/);
    assert.ok(!csp.includes("unsafe"));
    assert.equal(headers["x-frame-options"], "DENY");
    assert.equal(headers["cache-control"], "no-store");
    await tab.waitForSelector("body[data-ready=true]", { timeout: 10_000 });

    // A wrong token: an error, no data.
    const wrong = `wrong-${gw.adminToken.slice(0, 6)}`;
    await tab.fill("#token", wrong);
    await tab.click("#load");
    await tab.waitForSelector("#panels[data-state=error]", { timeout: 10_000 });
    assert.match(await tab.textContent("#message"), /admin token was refused \(401 unauthorized\)/);
    assert.equal(await tab.locator("#keys tbody tr").count(), 0);
    assert.equal(await tab.locator("#logs tbody tr").count(), 0);

    // The admin token, typed and sent with Enter.
    await tab.fill("#token", gw.adminToken);
    await tab.press("#token", "Enter");
    await tab.waitForSelector("#panels[data-state=loaded]", { timeout: 15_000 });

    // Health.
    const field = (dl, name) => tab.textContent(`#${dl} dd[data-field="${name}"]`);
    assert.equal(await field("health", "tenant"), t.tenant);
    assert.equal(await field("health", "state"), "enabled");
    assert.equal(await field("health", "key ids"), policy.keys.map((k) => k.kid).join(", "));

    // Keys with their last use, and the retire signal.
    const keys = await tab.$$eval("#keys tbody tr", (rows) => rows.map((r) => ({
      kid: r.dataset.kid, lastUsedAt: r.dataset.lastUsedAt, uses: Number(r.dataset.uses),
      status: r.cells[2].textContent, signal: r.cells[5].textContent,
    })));
    assert.deepEqual(keys.map(({ kid, lastUsedAt, uses, status: s }) => ({ kid, lastUsedAt, uses, status: s })),
      policy.keys.map((k) => ({ kid: k.kid, lastUsedAt: k.lastUsedAt ?? "", uses: k.uses, status: k.status })));
    const active = policy.keys.find((k) => k.kid === t.key.kid);
    assert.ok(active.uses >= 3 && active.lastUsedAt, JSON.stringify(active));
    assert.equal(keys.find((k) => k.kid === "dash-2026-05").signal, "safe to retire");
    assert.equal(keys.find((k) => k.kid === t.key.kid).signal, "signing key");

    // Last successful sync.
    assert.equal(await tab.getAttribute("#last-sync", "data-request-id"), status.lastRequestId);
    assert.equal(await field("last-sync", "version"), String(status.lastPayloadVersion));
    assert.equal(await field("last-sync", "type"), status.lastPayloadType);
    assert.ok((await field("last-sync", "at")).startsWith(status.lastSyncAt));

    // Accepted vs refused per hour: totals and every bar.
    assert.equal(await tab.textContent("#total-accepted"), String(sum("accepted")));
    assert.equal(await tab.textContent("#total-refused"), String(sum("refused")));
    const bars = await tab.$$eval("#chart rect", (rects) => rects.map((r) => [r.dataset.hour, r.dataset.kind, Number(r.dataset.count)]));
    assert.deepEqual(bars, hourly.hours.flatMap((h) => [[h.start, "accepted", h.accepted], [h.start, "refused", h.refused]]));

    // The latest log rows with their codes, in order.
    const rows = await tab.$$eval("#logs tbody tr", (trs) => trs.map((r) => [r.dataset.requestId, r.dataset.code, r.cells[2].textContent]));
    assert.deepEqual(rows, logs.items.map((i) => [i.requestId, i.code ?? "", i.status]));
    assert.deepEqual(rows.map((r) => r[1]).filter(Boolean).sort(), ["invalid_signature", "missing_signature", "stale_version"]);

    await screenshot(tab, SHOT);

    // The token: only ever in an Authorization header, never in a URL or the page.
    assert.ok(requests.length >= 11, `requests: ${requests.map((r) => r.url).join(", ")}`);
    for (const r of requests) {
      assert.ok(!r.url.includes(gw.adminToken) && !r.url.includes(wrong), `token in ${r.url}`);
      assert.ok(r.url.startsWith(gw.edge), r.url);
    }
    const adminCalls = requests.filter((r) => new URL(r.url).pathname.startsWith("/admin/") && !r.url.endsWith("/dashboard"));
    assert.equal(adminCalls.length, 8, "4 admin calls per load, 2 loads");
    for (const r of adminCalls.slice(4)) assert.equal(r.headers.authorization, `Bearer ${gw.adminToken}`);
    assert.equal(await tab.inputValue("#token"), "", "the field is cleared once read");
    assert.ok(!(await tab.content()).includes(gw.adminToken), "the token is not in the DOM");
    assert.deepEqual(await tab.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]), [0, 0, ""]);

    // Nothing but the expected 401s (and a missing favicon) went wrong: no CSP violation.
    const unexpected = problems.filter((p) => !/status of (401|404)/.test(p));
    assert.deepEqual(unexpected, [], unexpected.join("\n"));
  } finally {
    await close();
  }
});
