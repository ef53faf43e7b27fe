// Interoperability with independent implementations, both ways:
// - Standard Webhooks: the npm `standardwebhooks` reference library and `svix`;
// - RFC 9421: the npm `http-message-signatures` library (hmac-sha256).
// The peers use the wall clock, so these tests sign and verify at the current time.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";

import { httpbis, createSigner, createVerifier } from "http-message-signatures";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";

import { importSyncgate, nowSeconds } from "./support/package.mjs";
import {
  ACTIVE, RETIRING, URL_SYNC, brandingPayload, featuresPayload, keyBytes, nodeContentDigest, policy,
  syncRequest, withHeaders,
} from "./support/fixtures.mjs";

const { signRequest, verifyRequest } = await importSyncgate();

function assertVerified(verdict, expect = {}) {
  assert.equal(verdict.ok, true, `expected ok, got ${JSON.stringify(verdict)}`);
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(verdict[k], v, k);
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks

for (const [name, Webhook] of [["standardwebhooks", StandardWebhook], ["svix", SvixWebhook]]) {
  test(`${name}.sign → verifyRequest accepts it (active and retiring keys)`, () => {
    for (const key of [ACTIVE, RETIRING]) {
      const payload = brandingPayload(7);
      const body = JSON.stringify(payload);
      const now = nowSeconds();
      const id = `msg_${name}_${key.kid}`;
      const signature = new Webhook(key.secret).sign(id, new Date(now * 1000), body);
      const req = withHeaders(syncRequest(body), {
        "webhook-id": id, "webhook-timestamp": String(now), "webhook-signature": signature,
      });
      const verdict = verifyRequest(req, policy(), now);
      assertVerified(verdict, {
        scheme: "standard-webhooks", keyId: key.kid, keyVersion: key.version, keyStatus: key.status,
        nonce: id, timestamp: now, tenant: "acme", payloadType: "branding", payloadVersion: 7,
        payload,
      });
    }
  });

  test(`${name}: several signatures during rotation, one of them ours`, () => {
    const body = JSON.stringify(featuresPayload(3));
    const now = nowSeconds();
    const stranger = new Webhook("whsec_c3RyYW5nZXItc2VjcmV0LWJ5dGVzLTEyMzQ1Njc4").sign("msg_rot", new Date(now * 1000), body);
    const ours = new Webhook(RETIRING.secret).sign("msg_rot", new Date(now * 1000), body);
    const req = withHeaders(syncRequest(body), {
      "webhook-id": "msg_rot", "webhook-timestamp": String(now), "webhook-signature": `${stranger} ${ours}`,
    });
    assertVerified(verifyRequest(req, policy(), now), { keyId: RETIRING.kid, payloadType: "features" });
  });

  test(`signRequest (standard-webhooks) → ${name}.verify accepts it`, () => {
    const payload = brandingPayload(8);
    const body = JSON.stringify(payload);
    const signed = signRequest(syncRequest(body), { kid: ACTIVE.kid, secret: ACTIVE.secret }, {
      scheme: "standard-webhooks", nowSeconds: nowSeconds(),
    });
    assert.equal(signed.ok, true, JSON.stringify(signed));
    assert.deepEqual(Object.keys(signed.headers).sort(), ["webhook-id", "webhook-signature", "webhook-timestamp"]);
    assert.match(signed.headers["webhook-signature"], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.ok(signed.headers["webhook-id"].length > 0, "a random webhook-id is generated");
    // standardwebhooks returns the parsed payload; svix 2.x verifies without parsing.
    const peerAnswer = new Webhook(ACTIVE.secret).verify(body, signed.headers);
    assert.deepEqual(peerAnswer, name === "svix" ? undefined : payload);
    // ... and the tampered body is refused by the peer too.
    assert.throws(() => new Webhook(ACTIVE.secret).verify(body.replace("Acme", "Evil"), signed.headers));
  });
}

test("svix's own header names (svix-id, svix-timestamp, svix-signature) verify too", () => {
  const body = JSON.stringify(brandingPayload(9));
  const now = nowSeconds();
  const signature = new SvixWebhook(ACTIVE.secret).sign("msg_svix_names", new Date(now * 1000), body);
  const req = withHeaders(syncRequest(body), {
    "svix-id": "msg_svix_names", "svix-timestamp": String(now), "svix-signature": signature,
  });
  assertVerified(verifyRequest(req, policy(), now), { scheme: "standard-webhooks", nonce: "msg_svix_names" });
});

// ---------------------------------------------------------------------------------------------
// RFC 9421 with http-message-signatures

const REQUIRED = ["@method", "@path", "content-digest"];

async function peerSign({ key = ACTIVE, body, fields = REQUIRED, params = ["created", "nonce", "keyid"], created, nonce = "peer-nonce-1", extraHeaders = {}, name = "sig1", expires }) {
  const signer = createSigner(keyBytes(key.secret), "hmac-sha256", key.kid);
  const message = {
    method: "POST",
    url: URL_SYNC,
    headers: { "content-type": "application/json", "content-digest": nodeContentDigest(body), ...extraHeaders },
  };
  const signed = await httpbis.signMessage({
    key: signer, name, fields, params,
    paramValues: { created: new Date(created * 1000), nonce, ...(expires ? { expires: new Date(expires * 1000) } : {}) },
  }, message);
  return { method: "POST", url: URL_SYNC, headers: flatten(signed.headers), body };
}

function flatten(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(", ") : v]));
}

test("http-message-signatures signs (created, nonce, keyid) → verifyRequest accepts it", async () => {
  const payload = featuresPayload(11);
  const body = JSON.stringify(payload);
  const now = nowSeconds();
  const req = await peerSign({ body, created: now, nonce: "n-0001" });
  assert.match(req.headers["signature-input"], /^sig1=\("@method" "@path" "content-digest"\);created=\d+;nonce="n-0001";keyid="acme-2026-11"$/);
  assertVerified(verifyRequest(req, policy(), now), {
    scheme: "rfc9421", keyId: ACTIVE.kid, keyVersion: 2, keyStatus: "active", nonce: "n-0001",
    timestamp: now, payloadType: "features", payloadVersion: 11, payload,
  });
});

test("http-message-signatures with alg, expires and extra components → accepted", async () => {
  const body = JSON.stringify(brandingPayload(12));
  const now = nowSeconds();
  const req = await peerSign({
    key: RETIRING, body, created: now, expires: now + 60, nonce: "n-0002", name: "peer",
    fields: ["@method", "@authority", "@path", "@target-uri", "content-type", "content-digest"],
    params: ["created", "expires", "nonce", "keyid", "alg"],
  });
  assert.match(req.headers["signature-input"], /alg="hmac-sha256"/);
  assertVerified(verifyRequest(req, policy(), now), { keyId: RETIRING.kid, keyStatus: "retiring", nonce: "n-0002" });
});

test("http-message-signatures without the required content-digest component → refused", async () => {
  const body = JSON.stringify(brandingPayload(13));
  const now = nowSeconds();
  const req = await peerSign({ body, created: now, fields: ["@method", "@path"] });
  const verdict = verifyRequest(req, policy(), now);
  assert.equal(verdict.ok, false);
  assert.ok(["malformed_signature", "invalid_signature"].includes(verdict.code), JSON.stringify(verdict));
});

test("http-message-signatures over a tampered body → digest_mismatch", async () => {
  const body = JSON.stringify(brandingPayload(14));
  const now = nowSeconds();
  const req = await peerSign({ body, created: now });
  const verdict = verifyRequest({ ...req, body: body.replace("Acme", "Evil") }, policy(), now);
  assert.equal(verdict.code, "digest_mismatch", JSON.stringify(verdict));
  assert.equal(verdict.status, 400);
});

async function peerVerify(req, { key = ACTIVE, requiredFields = REQUIRED } = {}) {
  return httpbis.verifyMessage({
    keyLookup: async (params) => (params.keyid === key.kid
      ? { id: key.kid, algs: ["hmac-sha256"], verify: createVerifier(keyBytes(key.secret), "hmac-sha256") }
      : null),
    requiredParams: ["created", "nonce", "keyid"],
    requiredFields,
    tolerance: 5,
  }, { method: req.method, url: req.url, headers: req.headers });
}

test("signRequest (rfc9421) → http-message-signatures verifies it", async () => {
  const body = JSON.stringify(featuresPayload(21));
  const unsigned = syncRequest(body);
  const signed = signRequest(unsigned, { kid: ACTIVE.kid, secret: ACTIVE.secret }, { nowSeconds: nowSeconds(), nonce: "ours-1" });
  assert.equal(signed.ok, true, JSON.stringify(signed));
  assert.deepEqual(Object.keys(signed.headers).sort(), ["content-digest", "signature", "signature-input"]);
  assert.equal(signed.headers["content-digest"], nodeContentDigest(body));
  assert.match(signed.headers["signature-input"], /^sig1=\(/);
  const req = withHeaders(unsigned, signed.headers);
  assert.equal(await peerVerify(req), true);

  // The peer refuses it under another key, and when the method changes.
  assert.notEqual(await peerVerify(req, { key: RETIRING }).catch(() => false), true);
  assert.equal(await peerVerify({ ...req, method: "PUT" }).catch(() => false), false);
});

test("signRequest (rfc9421) with label, tag, expires and extra components → peer verifies it", async () => {
  const body = JSON.stringify(brandingPayload(22));
  const unsigned = syncRequest(body);
  const signed = signRequest(unsigned, { kid: ACTIVE.kid, secret: ACTIVE.secret }, {
    nowSeconds: nowSeconds(), nonce: "ours-2", label: "edge", tag: "syncgate",
    expiresInSeconds: 120, components: ["@authority", "content-type"],
  });
  assert.equal(signed.ok, true, JSON.stringify(signed));
  const input = signed.headers["signature-input"];
  assert.match(input, /^edge=\(/);
  for (const part of ['"@method"', '"@path"', '"content-digest"', '"@authority"', '"content-type"', "created=", "expires=", 'nonce="ours-2"', `keyid="${ACTIVE.kid}"`, 'tag="syncgate"']) {
    assert.ok(input.includes(part), `${part} in ${input}`);
  }
  const req = withHeaders(unsigned, signed.headers);
  assert.equal(await peerVerify(req, { requiredFields: [...REQUIRED, "@authority", "content-type"] }), true);
  // Round trip through our own verifier too.
  assertVerified(verifyRequest(req, policy()), { nonce: "ours-2", payloadVersion: 22 });
});

test("the RFC 9421 signature is HMAC-SHA256 over the signature base (checked with node:crypto)", () => {
  const body = JSON.stringify(brandingPayload(23));
  const now = 1_800_000_000;
  const signed = signRequest(syncRequest(body), { kid: ACTIVE.kid, secret: ACTIVE.secret }, { nowSeconds: now, nonce: "base-1" });
  assert.equal(signed.ok, true, JSON.stringify(signed));
  const input = signed.headers["signature-input"];
  const m = input.match(/^sig1=(\(([^)]*)\)(.*))$/);
  assert.ok(m, input);
  const [, signatureParams, list, params] = m;
  const components = list.split(" ");
  assert.deepEqual([...components].sort(), ['"@method"', '"@path"', '"content-digest"'].sort());
  for (const p of [`created=${now}`, 'nonce="base-1"', `keyid="${ACTIVE.kid}"`]) assert.ok(params.includes(p), `${p} in ${params}`);
  const values = { '"@method"': "POST", '"@path"': "/v1/acme-eu1/sync", '"content-digest"': nodeContentDigest(body) };
  const base = [...components.map((c) => `${c}: ${values[c]}`), `"@signature-params": ${signatureParams}`].join("\n");
  const mac = createHmac("sha256", keyBytes(ACTIVE.secret)).update(base).digest("base64");
  assert.equal(signed.headers.signature, `sig1=:${mac}:`);
});
