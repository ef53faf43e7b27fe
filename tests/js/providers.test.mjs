// Provider webhooks through the npm package, against each provider's own library at the current
// time (the libraries sign with the wall clock's notion of "now"): npm `stripe`
// (`webhooks.generateTestHeaderString`, and `webhooks.constructEvent` agreeing),
// `@octokit/webhooks-methods` (`sign`, and `verify` agreeing) and `@hubspot/api-client`
// (`Signature.getSignature` v3, and `Signature.isValid` agreeing). Every one-byte change of a
// signed body is refused, and so is a stale timestamp. The fixed cases of every runtime are in
// tests/cases/providers.json (tests/js/cases.test.mjs).

import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { test } from "node:test";

import { sign as octokitSign, verify as octokitVerify } from "@octokit/webhooks-methods";

import { importSyncgate } from "./support/package.mjs";

const require = createRequire(import.meta.url);
const Stripe = require("stripe");
const { Signature: HubSpotSignature } = require("@hubspot/api-client");

const { verifyProviderWebhook } = await importSyncgate();
const stripe = Stripe("sk_test_offline_interop");
const BASE = "https://edge.example/v1/acme-eu1/hooks";
const now = () => Math.floor(Date.now() / 1000);

/** Every single-byte change of `body` (one bit flipped at each position) is refused. */
function assertEveryByteIsSigned(provider, request, secret, nowSeconds) {
  const bytes = Buffer.from(request.body);
  let refused = 0;
  for (let i = 0; i < bytes.length; i++) {
    const tampered = Buffer.from(bytes);
    tampered[i] ^= 0x01;
    const v = verifyProviderWebhook(provider, { ...request, body: new Uint8Array(tampered) }, secret, nowSeconds);
    assert.equal(v.ok, false, `${provider}: byte ${i} changed yet accepted`);
    assert.ok(["invalid_signature"].includes(v.code), `${provider}: byte ${i}: ${v.code}`);
    refused++;
  }
  assert.equal(refused, bytes.length);
}

test("stripe: headers from the stripe library verify, with rolled secrets too; tampered and stale fail", () => {
  const secret = `whsec_${randomBytes(24).toString("hex")}`;
  const rolled = `whsec_${randomBytes(24).toString("hex")}`;
  const body = JSON.stringify({ id: `evt_${randomBytes(8).toString("hex")}`, object: "event", type: "invoice.paid" });
  const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret });
  const request = { method: "POST", url: `${BASE}/stripe`, headers: { "stripe-signature": header, "content-type": "application/json" }, body };
  const v = verifyProviderWebhook("stripe", request, secret);
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.deliveryId, JSON.parse(body).id);
  assert.equal(v.deliveryIdSigned, true);
  assert.equal(v.eventType, "invoice.paid");
  // The library agrees it is valid.
  assert.equal(stripe.webhooks.constructEvent(body, header, secret).id, v.deliveryId);
  // A rolled endpoint: two v1 entries, either secret verifies.
  const other = stripe.webhooks.generateTestHeaderString({ payload: body, secret: rolled });
  const both = `${header},${other.split(",").find((p) => p.startsWith("v1="))}`;
  for (const s of [secret, rolled]) {
    assert.equal(verifyProviderWebhook("stripe", { ...request, headers: { "stripe-signature": both } }, s).ok, true);
  }
  assert.equal(verifyProviderWebhook("stripe", request, rolled).code, "invalid_signature");
  assertEveryByteIsSigned("stripe", request, secret);
  const old = now() - 301;
  const stale = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: old });
  const staleAnswer = verifyProviderWebhook("stripe", { ...request, headers: { "stripe-signature": stale } }, secret);
  assert.equal(staleAnswer.code, "stale_timestamp");
  assert.throws(() => stripe.webhooks.constructEvent(body, stale, secret), /timestamp/i);
  const soon = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: now() + 301 });
  assert.equal(verifyProviderWebhook("stripe", { ...request, headers: { "stripe-signature": soon } }, secret).code, "future_timestamp");
  assert.ok(!JSON.stringify(staleAnswer).includes(secret));
});

test("github: @octokit/webhooks-methods signatures verify; tampered fails; unsigned delivery id is marked", async () => {
  const secret = randomBytes(20).toString("hex");
  const body = JSON.stringify({ action: "opened", number: 7, repository: { full_name: "acme/crm" } });
  const signature = await octokitSign(secret, body);
  assert.equal(await octokitVerify(secret, body, signature), true);
  const request = {
    method: "POST", url: `${BASE}/github`, body,
    headers: { "x-hub-signature-256": signature, "x-github-delivery": "0b9a2f8e-1d2c-11ef-8f3a-0242ac120002", "x-github-event": "pull_request" },
  };
  const v = verifyProviderWebhook("github", request, secret, 0);
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.timestamp, null);
  assert.equal(v.deliveryId, "0b9a2f8e-1d2c-11ef-8f3a-0242ac120002");
  assert.equal(v.deliveryIdSigned, false);
  assert.equal(v.eventType, "pull_request");
  // The origin's key ignores the unsigned delivery id: another id, the same key.
  const renamed = verifyProviderWebhook("github", { ...request, headers: { ...request.headers, "x-github-delivery": "forged" } }, secret, 0);
  assert.equal(renamed.idempotencyKey, v.idempotencyKey);
  assert.equal(renamed.bodySha256, v.bodySha256);
  assertEveryByteIsSigned("github", request, secret, 0);
  assert.equal(verifyProviderWebhook("github", request, `${secret}x`, 0).code, "invalid_signature");
});

test("hubspot: v3 signatures from @hubspot/api-client verify; tampered, moved and stale fail", () => {
  const secret = randomBytes(18).toString("hex");
  const url = `${BASE}/hubspot`;
  const body = JSON.stringify([{ eventId: 4242, subscriptionId: 9, portalId: 62515, occurredAt: Date.now() - 1000, subscriptionType: "deal.propertyChange", attemptNumber: 0, objectId: 77, propertyName: "amount", propertyValue: "1000" }]);
  const timestamp = Date.now();
  const signature = HubSpotSignature.getSignature("POST", "v3", { clientSecret: secret, url, requestBody: body, timestamp });
  assert.equal(HubSpotSignature.isValid({ signatureVersion: "v3", signature, clientSecret: secret, url, requestBody: body, timestamp }), true);
  const headers = { "x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": String(timestamp), "content-type": "application/json" };
  const request = { method: "POST", url, headers, body };
  const v = verifyProviderWebhook("hubspot", request, secret);
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.timestamp, Math.floor(timestamp / 1000));
  assert.equal(v.eventType, "deal.propertyChange");
  assertEveryByteIsSigned("hubspot", request, secret);
  assert.equal(verifyProviderWebhook("hubspot", { ...request, url: `${BASE.replace("eu1", "us1")}/hubspot` }, secret).code, "invalid_signature");
  assert.equal(verifyProviderWebhook("hubspot", { ...request, method: "PUT" }, secret).code, "invalid_signature");
  const old = Date.now() - 301_000;
  const staleSignature = HubSpotSignature.getSignature("POST", "v3", { clientSecret: secret, url, requestBody: body, timestamp: old });
  const stale = { ...request, headers: { ...headers, "x-hubspot-signature-v3": staleSignature, "x-hubspot-request-timestamp": String(old) } };
  assert.equal(verifyProviderWebhook("hubspot", stale, secret).code, "stale_timestamp");
  assert.throws(() => HubSpotSignature.isValid({ signatureVersion: "v3", signature: staleSignature, clientSecret: secret, url, requestBody: body, timestamp: old }));
});

test("slack and shopify: signed as their documentation says, at the current time", () => {
  const slackSecret = randomBytes(16).toString("hex");
  const ts = String(now());
  const form = "token=x&team_id=T1&command=%2Fsync&text=hello&trigger_id=1.2.3";
  const slackSig = `v0=${createHmac("sha256", slackSecret).update(`v0:${ts}:${form}`).digest("hex")}`;
  const slack = { method: "POST", url: `${BASE}/slack`, headers: { "x-slack-signature": slackSig, "x-slack-request-timestamp": ts }, body: form };
  assert.equal(verifyProviderWebhook("slack", slack, slackSecret).ok, true);
  assertEveryByteIsSigned("slack", slack, slackSecret);
  const old = String(now() - 301);
  const oldSig = `v0=${createHmac("sha256", slackSecret).update(`v0:${old}:${form}`).digest("hex")}`;
  assert.equal(verifyProviderWebhook("slack", { ...slack, headers: { "x-slack-signature": oldSig, "x-slack-request-timestamp": old } }, slackSecret).code, "stale_timestamp");

  const shopifySecret = `shpss_${randomBytes(16).toString("hex")}`;
  const body = JSON.stringify({ id: 1, title: "Boots" });
  const hmac = createHmac("sha256", shopifySecret).update(body).digest("base64");
  const shopify = { method: "POST", url: `${BASE}/shopify`, headers: { "x-shopify-hmac-sha256": hmac, "x-shopify-webhook-id": "w-1", "x-shopify-topic": "products/update" }, body };
  const v = verifyProviderWebhook("shopify", shopify, shopifySecret);
  assert.equal(v.ok, true);
  assert.equal(v.eventType, "products/update");
  assertEveryByteIsSigned("shopify", shopify, shopifySecret);
});

test("bad arguments are failures, never throws", () => {
  const request = { method: "POST", url: `${BASE}/github`, headers: {}, body: "" };
  for (const [args, code, field] of [
    [["gitlab", request, "0123456789abcdef"], "invalid_field", "provider"],
    [[undefined, request, "0123456789abcdef"], "invalid_field", "provider"],
    [["github", request, "short"], "invalid_field", "secret"],
    [["github", request, 42], "invalid_field", "secret"],
    [["github", request, "0123456789abcdef", "soon"], "invalid_field", "nowSeconds"],
    [["github", null, "0123456789abcdef"], "invalid_field", "request"],
    [["github", request, "0123456789abcdef"], "missing_signature", undefined],
  ]) {
    const v = verifyProviderWebhook(...args);
    assert.equal(v.ok, false);
    assert.equal(v.code, code, JSON.stringify(v));
    assert.equal(v.field, field);
  }
});
