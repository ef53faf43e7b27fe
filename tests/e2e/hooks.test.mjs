// Provider webhooks end to end: HubSpot v3, Stripe, GitHub, Slack and Shopify deliveries, signed
// by the providers' own libraries where one is pinned (stripe, @octokit/webhooks-methods,
// @hubspot/api-client) and as documented otherwise, sent to the real worker in workerd
// (Miniflare, local KV, SQLite Durable Objects) in front of the real reference origin, all on
// loopback. Each is accepted, forwarded and recorded once; a duplicate is refused like a
// replayed sync; a tampered one is refused before the origin; an unknown provider or a provider
// the instance has no entry for is 404; no provider secret ever appears in an admin answer or
// a log.
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";

import { sign as octokitSign } from "@octokit/webhooks-methods";

import { expectProblem, request, startGateway } from "./support/harness.mjs";

const require = createRequire(import.meta.url);
const Stripe = require("stripe");
const { Signature: HubSpotSignature } = require("@hubspot/api-client");
const stripe = Stripe("sk_test_offline_e2e");

const PROVIDERS = ["hubspot", "stripe", "github", "slack", "shopify"];

let gw;
before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const hex = (n) => randomBytes(n).toString("hex");

let counter = 0;
/** A fresh instance with every provider configured (fresh secrets), and a sync:read key. */
async function tenant({ providers = PROVIDERS } = {}) {
  counter += 1;
  const secrets = {
    hubspot: `${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}`,
    stripe: `whsec_${randomBytes(24).toString("base64url")}`,
    github: hex(20),
    slack: hex(16),
    shopify: `shpss_${hex(16)}`,
  };
  const entries = Object.fromEntries(providers.map((p) => [p, { secret: secrets[p] }]));
  const t = await gw.createInstance(`hooks-t${counter}`, `hooks${counter}`, { providers: entries });
  t.secrets = secrets;
  t.reader = await gw.apiKey(t.instance, ["sync:read"]);
  return t;
}

/**
 * A delivery of `provider` to `t`, signed now as the provider signs it; `{ url, init, id }`
 * (id: the provider's delivery id or event id, when it has one). `options.attempt` (HubSpot)
 * and `options.at` (Stripe, Slack: seconds) re-sign the same delivery as a retry would.
 */
async function delivery(t, provider, options = {}) {
  const url = `${gw.edge}/v1/${t.instance}/hooks/${provider}`;
  const secret = t.secrets[provider];
  const id = options.id ?? hex(8);
  let headers;
  let body;
  switch (provider) {
    case "hubspot": {
      body = JSON.stringify([{ eventId: Number.parseInt(id.slice(0, 8), 16), subscriptionId: 7, portalId: 62515, occurredAt: 1790000000000, subscriptionType: "contact.creation", attemptNumber: options.attempt ?? 0, objectId: 123 }]);
      const timestamp = (options.at ?? now()) * 1000;
      const signature = HubSpotSignature.getSignature("POST", "v3", { clientSecret: secret, url, requestBody: body, timestamp });
      headers = { "content-type": "application/json", "x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": String(timestamp) };
      break;
    }
    case "stripe": {
      body = JSON.stringify({ id: `evt_${id}`, object: "event", type: "customer.created", data: { object: { id: "cus_1" } } });
      const signature = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: options.at ?? now() });
      headers = { "content-type": "application/json", "stripe-signature": signature };
      break;
    }
    case "github": {
      body = JSON.stringify({ action: "opened", number: 1, nonce: id });
      headers = { "content-type": "application/json", "x-hub-signature-256": await octokitSign(secret, body), "x-github-delivery": options.delivery ?? `gh-${id}`, "x-github-event": "pull_request" };
      break;
    }
    case "slack": {
      body = `token=x&team_id=T1&command=%2Fsync&text=${id}&trigger_id=${id}`;
      const ts = String(options.at ?? now());
      headers = { "content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts, "x-slack-signature": `v0=${createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex")}` };
      break;
    }
    case "shopify": {
      body = JSON.stringify({ id: 820982911946154500, note: id });
      headers = { "content-type": "application/json", "x-shopify-hmac-sha256": createHmac("sha256", secret).update(body).digest("base64"), "x-shopify-webhook-id": `sh-${id}`, "x-shopify-topic": "orders/create" };
      break;
    }
    default:
      throw new Error(provider);
  }
  const deliveryId = { stripe: `evt_${id}`, github: options.delivery ?? `gh-${id}`, shopify: `sh-${id}` }[provider] ?? null;
  return { url, init: { method: "POST", headers, body }, deliveryId };
}

const send = (d, init = {}) => request(d.url, { ...d.init, ...init, headers: { ...d.init.headers, ...(init.headers ?? {}) } });

/** The deliveries the origin recorded for `t`, newest first. */
async function recorded(t) {
  const res = await gw.originDirect("GET", `/origin/v1/${t.tenant}/hooks`, { tenant: t.tenant, instance: t.instance, keyId: "test" });
  assert.equal(res.status, 200);
  return (await res.json()).items;
}

/** Every secret `t` holds, for scanning answers and logs. */
function assertNoSecret(t, text, where) {
  for (const [provider, secret] of Object.entries(t.secrets)) {
    assert.ok(!text.includes(secret), `${where} carries the ${provider} secret`);
  }
  assert.ok(!text.includes(gw.originSecret), `${where} carries the origin secret`);
}

describe("each provider", () => {
  for (const provider of PROVIDERS) {
    test(`${provider}: accepted, forwarded and recorded once; the duplicate refused; tampered refused`, async () => {
      const t = await tenant();
      const d = await delivery(t, provider);
      const res = await send(d);
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.deepEqual(body, { status: "applied", requestId: body.requestId, provider, deliveryId: d.deliveryId });
      assert.equal(res.headers.get("x-request-id"), body.requestId);

      let rows = await recorded(t);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].provider, provider);
      assert.equal(rows[0].requestId, body.requestId);
      assert.equal(rows[0].body, d.init.body);
      assert.equal(rows[0].contentType, d.init.headers["content-type"]);
      assert.equal(rows[0].deliveryId, d.deliveryId);
      assert.match(rows[0].idempotencyKey, new RegExp(`^hook-${provider}-[0-9a-f]{64}$`));

      // The very same delivery again: refused like a replayed sync, naming the first request.
      const again = await expectProblem(assert, await send(d), 409, "replayed_nonce");
      assert.equal(again.originalRequestId, body.requestId);
      assert.equal(again.applied, true);

      // One byte of the body changed: refused before the origin.
      const statsBefore = await gw.originStats();
      const tampered = d.init.body.slice(0, 5) + String.fromCharCode(d.init.body.charCodeAt(5) ^ 1) + d.init.body.slice(6);
      await expectProblem(assert, await send(d, { body: tampered }), 401, "invalid_signature");
      assert.deepEqual(await gw.originStats(), statsBefore, "the origin saw nothing of the tampered delivery");

      rows = await recorded(t);
      assert.equal(rows.length, 1, "recorded once");

      // The log: one applied row under the provider's key id, the refusals beside it.
      const items = await gw.logs(t.instance, t.reader, { until: (all) => all.some((i) => i.code === "invalid_signature") });
      const applied = items.filter((i) => i.status === "applied");
      assert.equal(applied.length, 1);
      assert.equal(applied[0].requestId, body.requestId);
      assert.equal(applied[0].keyId, `providers.${provider}`);
      assert.equal(applied[0].payloadType, `hook:${provider}`);
      assert.equal(applied[0].payloadVersion, null);
      assert.ok(items.some((i) => i.code === "replayed_nonce" && i.status === "rejected"));
      assertNoSecret(t, JSON.stringify(items), "the sync log");
    });
  }
});

describe("retries and replays", () => {
  test("hubspot: a retry (attemptNumber 1, signed afresh) is the same delivery", async () => {
    const t = await tenant();
    const id = hex(8);
    const first = await send(await delivery(t, "hubspot", { id }));
    assert.equal(first.status, 200);
    const retry = await delivery(t, "hubspot", { id, attempt: 1 });
    const refused = await expectProblem(assert, await send(retry), 409, "replayed_nonce");
    assert.equal(refused.applied, true);
    assert.equal((await recorded(t)).length, 1);
  });

  test("stripe: the same event re-signed later is refused; a stale signature is refused", async () => {
    const t = await tenant();
    const id = hex(8);
    assert.equal((await send(await delivery(t, "stripe", { id, at: now() - 60 }))).status, 200);
    await expectProblem(assert, await send(await delivery(t, "stripe", { id })), 409, "replayed_nonce");
    await expectProblem(assert, await send(await delivery(t, "stripe", { at: now() - 400 })), 401, "stale_timestamp");
    await expectProblem(assert, await send(await delivery(t, "stripe", { at: now() + 400 })), 401, "future_timestamp");
    assert.equal((await recorded(t)).length, 1);
  });

  test("github and shopify: a replay under a new unsigned delivery id is still refused", async () => {
    const t = await tenant();
    for (const provider of ["github", "shopify"]) {
      const d = await delivery(t, provider);
      assert.equal((await send(d)).status, 200);
      const header = provider === "github" ? "x-github-delivery" : "x-shopify-webhook-id";
      const replay = await expectProblem(assert, await send(d, { headers: { [header]: `forged-${hex(4)}` } }), 409, "duplicate_payload");
      assert.equal(replay.applied, true);
    }
    assert.equal((await recorded(t)).length, 2);
  });

  test("slack: stale timestamps are refused; a retry with a fresh timestamp is the same body", async () => {
    const t = await tenant();
    await expectProblem(assert, await send(await delivery(t, "slack", { at: now() - 400 })), 401, "stale_timestamp");
    const id = hex(8);
    assert.equal((await send(await delivery(t, "slack", { id, at: now() - 30 }))).status, 200);
    await expectProblem(assert, await send(await delivery(t, "slack", { id })), 409, "duplicate_payload");
    assert.equal((await recorded(t)).length, 1);
  });

  test("twenty concurrent copies of one delivery: exactly one applied", async () => {
    const t = await tenant();
    const d = await delivery(t, "stripe");
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(d)));
    const statuses = answers.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(","));
    assert.equal(statuses.filter((s) => s === 409).length, 19, statuses.join(","));
    assert.equal((await recorded(t)).length, 1);
  });

  test("a delivery the origin fails is released and the provider's retry goes through", async () => {
    const t = await tenant();
    const d = await delivery(t, "github");
    await gw.originControl({ mode: "fail", times: 1 });
    await expectProblem(assert, await send(d), 503, "origin_unavailable");
    assert.equal((await recorded(t)).length, 0);
    assert.equal((await send(d)).status, 200);
    assert.equal((await recorded(t)).length, 1);
  });
});

describe("routing and secrets", () => {
  test("an unknown provider and a provider without an entry are 404 not_found; an unknown instance 404", async () => {
    const t = await tenant({ providers: ["stripe"] });
    for (const provider of ["gitlab", "HubSpot", "svix"]) {
      await expectProblem(assert, await request(`${gw.edge}/v1/${t.instance}/hooks/${provider}`, { method: "POST", body: "{}" }), 404, "not_found");
    }
    const d = await delivery({ ...t, secrets: { ...t.secrets } }, "github");
    await expectProblem(assert, await send(d), 404, "not_found");
    await expectProblem(assert, await request(`${gw.edge}/v1/nobody-here/hooks/stripe`, { method: "POST", body: "{}" }), 404, "unknown_instance");
    await expectProblem(assert, await request(`${gw.edge}/v1/${t.instance}/hooks/stripe`, { method: "GET" }), 404, "not_found");
    assert.equal((await recorded(t)).length, 0);
  });

  test("admin answers never carry a provider secret; PATCH sets and removes providers", async () => {
    const t = await tenant();
    let res = await gw.admin("GET", t.instance);
    let text = await res.text();
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(text).providers, { hubspot: {}, stripe: {}, github: {}, slack: {}, shopify: {} });
    assertNoSecret(t, text, "GET");

    const rolled = hex(20);
    res = await gw.admin("PATCH", `${t.instance}/providers`, { github: { secret: rolled }, slack: null });
    text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text), { hubspot: {}, stripe: {}, github: {}, shopify: {} });
    assert.ok(!text.includes(rolled));
    res = await gw.admin("GET", t.instance);
    text = await res.text();
    assert.ok(!text.includes(rolled));
    assertNoSecret(t, text, "GET after PATCH");
    assert.deepEqual(Object.keys(JSON.parse(text).providers).sort(), ["github", "hubspot", "shopify", "stripe"]);

    // Slack is gone; GitHub now verifies with the new secret only.
    await expectProblem(assert, await send(await delivery(t, "slack")), 404, "not_found");
    await expectProblem(assert, await send(await delivery(t, "github")), 401, "invalid_signature");
    const fresh = await delivery({ ...t, secrets: { ...t.secrets, github: rolled } }, "github");
    assert.equal((await send(fresh)).status, 200);

    for (const bad of [{ gitlab: { secret: hex(20) } }, { github: { secret: "short" } }, { github: { secret: hex(20), extra: 1 } }]) {
      const refused = await expectProblem(assert, await gw.admin("PATCH", `${t.instance}/providers`, bad), 422, "invalid_field");
      assertNoSecret({ secrets: { bad: bad.github?.secret ?? bad.gitlab?.secret ?? "-" } }, JSON.stringify(refused), "a refused PATCH");
    }

    // Every log row of the tenant, applied or refused, is free of secrets.
    // (refusals of unauthenticated requests are logged after the answer: wait for them)
    const rows = await gw.logs(t.instance, t.reader, {
      until: (items) => items.some((i) => i.code === "invalid_signature") && items.some((i) => i.status === "applied"),
    });
    assertNoSecret({ secrets: { ...t.secrets, rolled } }, JSON.stringify(rows), "the sync log");
  });
});
