#!/usr/bin/env node
// Writes tests/cases/providers.json: provider webhook cases for every runtime (native, wasm,
// Node, chromium). GitHub and Slack requests are the providers' published examples
// (tests/vectors/public.json); Stripe and HubSpot requests are signed by the providers' own npm
// libraries (stripe `webhooks.generateTestHeaderString`, @hubspot/api-client `Signature`), GitHub
// extras by @octokit/webhooks-methods `sign`; Shopify, which has no pinned library here, by
// node:crypto as its documentation describes. Deterministic: fixed secrets and times.
//
// Usage: node scripts/provider-cases.mjs   (then review the diff of tests/cases/providers.json)

import { createHmac } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

import { sign as octokitSign } from "@octokit/webhooks-methods";

const require = createRequire(import.meta.url);
const Stripe = require("stripe");
const { Signature: HubSpotSignature } = require("@hubspot/api-client");

const root = join(import.meta.dirname, "..");
const vectors = JSON.parse(readFileSync(join(root, "tests/vectors/public.json"), "utf8"));
const vector = (kind) => vectors.find((v) => v.kind === kind);

const NOW = 1790000000;
const BASE = "https://edge.example/v1/acme-eu1/hooks";
const flip = (text, at = 2) =>
  text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 1) + text.slice(at + 1);

const cases = [];
const add = (c) => cases.push(c);

// GitHub: the published example, then a JSON delivery signed by @octokit/webhooks-methods.
{
  const v = vector("github");
  const url = `${BASE}/github`;
  const headers = { "X-Hub-Signature-256": v.expected };
  add({ name: "github published example", provider: "github", secret: v.secret, now: NOW, url, headers, body: v.payload, expect: { ok: true, timestamp: null, deliveryId: null, deliveryIdSigned: false } });
  add({ name: "github published example, one byte changed", provider: "github", secret: v.secret, now: NOW, url, headers, body: flip(v.payload), expect: { ok: false, code: "invalid_signature" } });
  add({ name: "github signature truncated", provider: "github", secret: v.secret, now: NOW, url, headers: { "X-Hub-Signature-256": v.expected.slice(0, -2) }, body: v.payload, expect: { ok: false, code: "invalid_signature" } });
  add({ name: "github empty signature", provider: "github", secret: v.secret, now: NOW, url, headers: { "X-Hub-Signature-256": "sha256=" }, body: v.payload, expect: { ok: false, code: "invalid_signature" } });
  add({ name: "github sha1 only", provider: "github", secret: v.secret, now: NOW, url, headers: { "X-Hub-Signature": "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59" }, body: v.payload, expect: { ok: false, code: "missing_signature" } });
  add({ name: "github signature not hex", provider: "github", secret: v.secret, now: NOW, url, headers: { "X-Hub-Signature-256": "sha256=not-hex" }, body: v.payload, expect: { ok: false, code: "malformed_signature" } });
  const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 123456 });
  const secret = "octokit-interop-secret-2026";
  const signature = await octokitSign(secret, body);
  const delivery = { "X-Hub-Signature-256": signature, "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "X-GitHub-Event": "ping", "Content-Type": "application/json" };
  add({ name: "github delivery signed by @octokit/webhooks-methods", provider: "github", secret, now: NOW, url, headers: delivery, body, expect: { ok: true, timestamp: null, deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958", deliveryIdSigned: false, eventType: "ping" } });
  add({ name: "github delivery, wrong secret", provider: "github", secret: "another-secret-for-github", now: NOW, url, headers: delivery, body, expect: { ok: false, code: "invalid_signature" } });
}

// Slack: the published worked example, inside and outside the five-minute window.
{
  const v = vector("slack");
  const url = `${BASE}/slack`;
  const ts = Number(v.timestamp);
  const headers = { "X-Slack-Signature": v.expected, "X-Slack-Request-Timestamp": v.timestamp, "Content-Type": "application/x-www-form-urlencoded" };
  add({ name: "slack published example", provider: "slack", secret: v.secret, now: ts, url, headers, body: v.payload, expect: { ok: true, timestamp: ts, deliveryId: null, deliveryIdSigned: false } });
  add({ name: "slack published example, 300 s later", provider: "slack", secret: v.secret, now: ts + 300, url, headers, body: v.payload, expect: { ok: true, timestamp: ts } });
  add({ name: "slack published example, 301 s later", provider: "slack", secret: v.secret, now: ts + 301, url, headers, body: v.payload, expect: { ok: false, code: "stale_timestamp" } });
  add({ name: "slack published example, 301 s early", provider: "slack", secret: v.secret, now: ts - 301, url, headers, body: v.payload, expect: { ok: false, code: "future_timestamp" } });
  add({ name: "slack published example, one byte changed", provider: "slack", secret: v.secret, now: ts, url, headers, body: flip(v.payload, 10), expect: { ok: false, code: "invalid_signature" } });
  add({ name: "slack timestamp changed", provider: "slack", secret: v.secret, now: ts, url, headers: { ...headers, "X-Slack-Request-Timestamp": String(ts + 1) }, body: v.payload, expect: { ok: false, code: "invalid_signature" } });
  add({ name: "slack without timestamp", provider: "slack", secret: v.secret, now: ts, url, headers: { "X-Slack-Signature": v.expected }, body: v.payload, expect: { ok: false, code: "malformed_signature" } });
  add({ name: "slack without signature", provider: "slack", secret: v.secret, now: ts, url, headers: { "X-Slack-Request-Timestamp": v.timestamp }, body: v.payload, expect: { ok: false, code: "missing_signature" } });
}

// Stripe: headers from the stripe library itself, one secret and a rolled pair.
{
  const stripe = Stripe("sk_test_provider_cases_offline");
  const url = `${BASE}/stripe`;
  const secret = "whsec_stripe_interop_0123456789abcdef";
  const rolled = "whsec_stripe_rolled_fedcba9876543210";
  const body = JSON.stringify({ id: "evt_1PcaseA2eZvKYlo2C0ffee00", object: "event", type: "customer.created", data: { object: { id: "cus_1" } } }, null, 2);
  const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: NOW });
  const other = stripe.webhooks.generateTestHeaderString({ payload: body, secret: rolled, timestamp: NOW });
  const both = `${header},${other.split(",").find((p) => p.startsWith("v1="))}`;
  const headers = { "Stripe-Signature": header, "Content-Type": "application/json; charset=utf-8" };
  add({ name: "stripe signed by the stripe library", provider: "stripe", secret, now: NOW, url, headers, body, expect: { ok: true, timestamp: NOW, deliveryId: "evt_1PcaseA2eZvKYlo2C0ffee00", deliveryIdSigned: true, eventType: "customer.created" } });
  add({ name: "stripe with two v1 entries (rolled secret)", provider: "stripe", secret: rolled, now: NOW, url, headers: { "Stripe-Signature": both }, body, expect: { ok: true, timestamp: NOW, deliveryId: "evt_1PcaseA2eZvKYlo2C0ffee00" } });
  add({ name: "stripe one byte changed", provider: "stripe", secret, now: NOW, url, headers, body: flip(body, 12), expect: { ok: false, code: "invalid_signature" } });
  add({ name: "stripe stale", provider: "stripe", secret, now: NOW + 301, url, headers, body, expect: { ok: false, code: "stale_timestamp" } });
  add({ name: "stripe from the future", provider: "stripe", secret, now: NOW - 301, url, headers, body, expect: { ok: false, code: "future_timestamp" } });
  add({ name: "stripe timestamp changed", provider: "stripe", secret, now: NOW, url, headers: { "Stripe-Signature": header.replace(`t=${NOW}`, `t=${NOW + 1}`) }, body, expect: { ok: false, code: "invalid_signature" } });
  add({ name: "stripe without v1", provider: "stripe", secret, now: NOW, url, headers: { "Stripe-Signature": `t=${NOW}` }, body, expect: { ok: false, code: "malformed_signature" } });
  add({ name: "stripe without header", provider: "stripe", secret, now: NOW, url, headers: {}, body, expect: { ok: false, code: "missing_signature" } });
  const noId = JSON.stringify({ object: "event", type: "customer.created" });
  add({ name: "stripe signed body without an event id", provider: "stripe", secret, now: NOW, url, headers: { "Stripe-Signature": stripe.webhooks.generateTestHeaderString({ payload: noId, secret, timestamp: NOW }) }, body: noId, expect: { ok: false, code: "invalid_payload" } });
}

// HubSpot v3: signed by @hubspot/api-client's Signature.
{
  const url = `${BASE}/hubspot`;
  const secret = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
  const events = (attempt) => JSON.stringify([
    { eventId: 100, subscriptionId: 2001, portalId: 62515, appId: 54321, occurredAt: 1789999990000, subscriptionType: "contact.propertyChange", attemptNumber: attempt, objectId: 123, propertyName: "email", propertyValue: "jane@example.com", changeSource: "CRM" },
    { eventId: 101, subscriptionId: 2002, portalId: 62515, appId: 54321, occurredAt: 1789999991000, subscriptionType: "contact.creation", attemptNumber: attempt, objectId: 124, changeSource: "CRM" },
  ]);
  const ts = NOW * 1000;
  const sign = (body, at = ts, signedUrl = url) =>
    HubSpotSignature.getSignature("POST", "v3", { clientSecret: secret, url: signedUrl, requestBody: body, timestamp: at });
  const body = events(0);
  const headers = { "X-HubSpot-Signature-v3": sign(body), "X-HubSpot-Request-Timestamp": String(ts), "Content-Type": "application/json" };
  add({ name: "hubspot v3 signed by @hubspot/api-client", provider: "hubspot", secret, now: NOW, url, headers, body, expect: { ok: true, timestamp: NOW, deliveryId: null, deliveryIdSigned: false, eventType: "contact.propertyChange" } });
  const retry = events(1);
  add({ name: "hubspot v3 retry (attemptNumber 1)", provider: "hubspot", secret, now: NOW, url, headers: { ...headers, "X-HubSpot-Signature-v3": sign(retry) }, body: retry, expect: { ok: true, sameDeliveryKeyAs: "hubspot v3 signed by @hubspot/api-client" } });
  add({ name: "hubspot v3 one byte changed", provider: "hubspot", secret, now: NOW, url, headers, body: flip(body, 15), expect: { ok: false, code: "invalid_signature" } });
  add({ name: "hubspot v3 another path", provider: "hubspot", secret, now: NOW, url: `${BASE.replace("acme-eu1", "acme-us1")}/hubspot`, headers, body, expect: { ok: false, code: "invalid_signature" } });
  add({ name: "hubspot v3 stale", provider: "hubspot", secret, now: NOW + 301, url, headers, body, expect: { ok: false, code: "stale_timestamp" } });
  add({ name: "hubspot v3 timestamp changed", provider: "hubspot", secret, now: NOW, url, headers: { ...headers, "X-HubSpot-Request-Timestamp": String(ts + 1) }, body, expect: { ok: false, code: "invalid_signature" } });
  add({ name: "hubspot v3 without timestamp", provider: "hubspot", secret, now: NOW, url, headers: { "X-HubSpot-Signature-v3": headers["X-HubSpot-Signature-v3"] }, body, expect: { ok: false, code: "malformed_signature" } });
  const v1 = vector("hubspot-v1");
  add({ name: "hubspot v1 signature only", provider: "hubspot", secret: v1.secret, now: NOW, url, headers: { "X-HubSpot-Signature": v1.expected, "X-HubSpot-Signature-Version": "v1" }, body: v1.payload, expect: { ok: false, code: "missing_signature" } });
  const notEvents = JSON.stringify({ eventId: 1 });
  add({ name: "hubspot v3 signed body that is not an array of events", provider: "hubspot", secret, now: NOW, url, headers: { ...headers, "X-HubSpot-Signature-v3": sign(notEvents) }, body: notEvents, expect: { ok: false, code: "invalid_payload" } });
  const queryUrl = `${url}?source=a%3Ab`;
  add({ name: "hubspot v3 with an escaped query HubSpot decodes", provider: "hubspot", secret, now: NOW, url: queryUrl, headers: { ...headers, "X-HubSpot-Signature-v3": sign(body, ts, `${url}?source=a:b`) }, body, expect: { ok: true, timestamp: NOW } });
}

// Shopify: HMAC-SHA256 of the raw body, base64, as Shopify documents it.
{
  const url = `${BASE}/shopify`;
  const secret = "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";
  const body = JSON.stringify({ id: 820982911946154500, email: "jon@example.com", total_price: "199.00" });
  const hmac = createHmac("sha256", secret).update(body).digest("base64");
  const headers = { "X-Shopify-Hmac-Sha256": hmac, "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "X-Shopify-Topic": "orders/create", "Content-Type": "application/json" };
  add({ name: "shopify order", provider: "shopify", secret, now: NOW, url, headers, body, expect: { ok: true, timestamp: null, deliveryId: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", deliveryIdSigned: false, eventType: "orders/create" } });
  add({ name: "shopify one byte changed", provider: "shopify", secret, now: NOW, url, headers, body: flip(body, 8), expect: { ok: false, code: "invalid_signature" } });
  add({ name: "shopify without signature", provider: "shopify", secret, now: NOW, url, headers: { "X-Shopify-Webhook-Id": "b54557e4" }, body, expect: { ok: false, code: "missing_signature" } });
  add({ name: "shopify signature not base64", provider: "shopify", secret, now: NOW, url, headers: { ...headers, "X-Shopify-Hmac-Sha256": "***" }, body, expect: { ok: false, code: "malformed_signature" } });
  add({ name: "shopify signature as hex", provider: "shopify", secret, now: NOW, url, headers: { ...headers, "X-Shopify-Hmac-Sha256": createHmac("sha256", secret).update(body).digest("hex") }, body, expect: { ok: false, code: "invalid_signature" } });
}

const file = {
  about: "verify_hook / verifyProviderWebhook cases, written by scripts/provider-cases.mjs (GitHub and Slack: the providers' published examples; Stripe, HubSpot and GitHub extras: signed by the providers' own npm libraries; Shopify: node:crypto as Shopify documents). Each runner builds `{ method: POST, url, headers, body }` (body: UTF-8 text) and verifies it with `provider` and `secret` at `now`. `expect` holds `ok` and, for a refusal, `code`; for an accepted delivery the members given (`timestamp`, `deliveryId`, `deliveryIdSigned`, `eventType`) must equal the verdict's, and `sameDeliveryKeyAs` names a case whose `deliveryKey` must be the same.",
  cases,
};
writeFileSync(join(root, "tests/cases/providers.json"), `${JSON.stringify(file, null, 1)}\n`);
console.log(`tests/cases/providers.json: ${cases.length} cases`);
