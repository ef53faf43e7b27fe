// The package's own behaviour: sign → verify round trips with valid sync payloads, every
// rejection a sender can meet, payload validation, module recomputation, and no throw on any input.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { declaredStatuses, requireSyncgate } from "./support/package.mjs";
import {
  ACTIVE, OTHER_TENANT, RETIRING, REVOKED, brandingPayload, featuresPayload, nodeWebhookSignature,
  policy, syncRequest, withHeaders,
} from "./support/fixtures.mjs";

// This file loads the package with `require`; the others use `import`.
const { contentDigest, recomputeModules, signRequest, validatePayload, verifyRequest } = requireSyncgate();

const NOW = 1_800_000_000;
const SECRETS = [ACTIVE, RETIRING, REVOKED, OTHER_TENANT].map((k) => k.secret);
// Every failure's status must be the one index.d.ts declares for its code.
const STATUS = declaredStatuses();

function sign(request, { key = ACTIVE, ...options } = {}) {
  const signed = signRequest(request, { kid: key.kid, secret: key.secret }, { nowSeconds: NOW, ...options });
  assert.equal(signed.ok, true, JSON.stringify(signed));
  return withHeaders(request, signed.headers);
}

function assertRejected(verdict, code, status) {
  assert.equal(verdict.ok, false, `expected ${code}, got ${JSON.stringify(verdict)}`);
  if (Array.isArray(code)) assert.ok(code.includes(verdict.code), `expected one of ${code}, got ${JSON.stringify(verdict)}`);
  else assert.equal(verdict.code, code, JSON.stringify(verdict));
  if (status) assert.equal(verdict.status, status);
  assert.equal(verdict.status, STATUS[verdict.code], `status of ${verdict.code}`);
  assert.equal(typeof verdict.message, "string");
  assert.ok(verdict.message.length > 0);
  for (const secret of SECRETS) {
    assert.ok(!verdict.message.includes(secret.slice(6, 20)), "a message must never contain a secret");
  }
}

const SCHEMES = ["rfc9421", "standard-webhooks"];

// ---------------------------------------------------------------------------------------------
// Happy paths

for (const scheme of SCHEMES) {
  test(`${scheme}: sign → verify a branding payload gives the full verdict`, () => {
    const payload = brandingPayload(5);
    const body = JSON.stringify(payload);
    const req = sign(syncRequest(body), { scheme, nonce: `nonce-${scheme}` });
    const v = verifyRequest(req, policy(), NOW);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.tenant, "acme");
    assert.equal(v.scheme, scheme);
    assert.equal(v.keyId, ACTIVE.kid);
    assert.equal(v.keyVersion, ACTIVE.version);
    assert.equal(v.keyStatus, "active");
    assert.equal(v.nonce, `nonce-${scheme}`);
    assert.equal(v.timestamp, NOW);
    assert.equal(v.payloadHash, createHash("sha256").update(body).digest("hex"));
    assert.equal(v.payloadType, "branding");
    assert.equal(v.payloadVersion, 5);
    assert.deepEqual(v.sections, ["branding"]);
    assert.equal(typeof v.replay.nonceKey, "string");
    assert.equal(typeof v.replay.payloadKey, "string");
    assert.notEqual(v.replay.nonceKey, v.replay.payloadKey);
    assert.ok(v.replay.expiresAt > NOW, "ledger entries outlive the request");
    assert.deepEqual(v.payload, payload);
    // The answer is plain data (no Map, no class instance): it survives JSON unchanged.
    assert.deepEqual(JSON.parse(JSON.stringify(v)), v);
    assert.equal(Object.getPrototypeOf(v.payload), Object.prototype);
  });

  test(`${scheme}: a Uint8Array body, upper-case header names and a retiring key verify`, () => {
    const body = new TextEncoder().encode(JSON.stringify(featuresPayload(9)));
    // Sign over the bytes, then shout the header names.
    const signed = sign({ ...syncRequest(), body }, { scheme, key: RETIRING });
    const shouted = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toUpperCase(), v]));
    const v = verifyRequest({ ...signed, headers: shouted }, policy(), NOW);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.keyId, RETIRING.kid);
    assert.equal(v.keyStatus, "retiring");
    assert.equal(v.payloadType, "features");
  });

  test(`${scheme}: the timestamp window is ±skewSeconds`, () => {
    const req = sign(syncRequest(brandingPayload(1)), { scheme });
    assert.equal(verifyRequest(req, policy(), NOW + 300).ok, true);
    assert.equal(verifyRequest(req, policy(), NOW - 300).ok, true);
    assertRejected(verifyRequest(req, policy(), NOW + 301), "stale_timestamp", 401);
    assertRejected(verifyRequest(req, policy(), NOW - 301), "future_timestamp", 401);
    assertRejected(verifyRequest(req, policy({ skewSeconds: 10 }), NOW + 11), "stale_timestamp", 401);
  });
}

test("a combined payload reports every section", () => {
  const payload = {
    type: "combined", tenant: "acme", version: 4,
    features: featuresPayload().features,
    branding: { title: "Acme Travel", primaryColor: "#1f6feb", footer: { text: "Acme", links: [{ label: "Privacy", url: "https://acme.test/privacy" }] } },
    smtp: { host: "smtp.example.com", port: 587, encryption: "starttls", username: "mailer", password: "hunter2-secret", fromEmail: "no-reply@acme.test", fromName: "Acme" },
  };
  const v = verifyRequest(sign(syncRequest(payload)), policy(), NOW);
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.payloadType, "combined");
  assert.deepEqual([...v.sections].sort(), ["branding", "features", "smtp"]);
  assert.equal(v.payload.smtp.password, "hunter2-secret", "the accepted payload carries the password");
});

test("verifyRequest defaults nowSeconds to the current time", () => {
  const req = sign(syncRequest(brandingPayload(2)), { nowSeconds: Math.floor(Date.now() / 1000) });
  assert.equal(verifyRequest(req, policy()).ok, true);
});

// ---------------------------------------------------------------------------------------------
// Rejections

test("tampered body → digest_mismatch (rfc9421) or invalid_signature", () => {
  const req = sign(syncRequest(brandingPayload(3)));
  const tampered = { ...req, body: JSON.stringify(brandingPayload(4)) };
  assertRejected(verifyRequest(tampered, policy(), NOW), "digest_mismatch", 400);
  // With the digest recomputed for the new body, the MAC no longer matches.
  const redigested = withHeaders(tampered, { "content-digest": contentDigest(tampered.body) });
  assertRejected(verifyRequest(redigested, policy(), NOW), "invalid_signature", 401);
  const wh = sign(syncRequest(brandingPayload(3)), { scheme: "standard-webhooks" });
  assertRejected(verifyRequest({ ...wh, body: JSON.stringify(brandingPayload(4)) }, policy(), NOW), "invalid_signature", 401);
});

test("an empty or truncated `v1,` signature never verifies", () => {
  const wh = sign(syncRequest(brandingPayload(3)), { scheme: "standard-webhooks" });
  const good = wh.headers["webhook-signature"];
  for (const bad of ["v1,", "v1, ", `${good.slice(0, 10)}`, `${good.slice(0, -2)}`, "v1,AAAA", `v1,${"A".repeat(43)}=`]) {
    const v = verifyRequest(withHeaders(wh, { "webhook-signature": bad }), policy(), NOW);
    assert.equal(v.ok, false, `${bad} must not verify`);
    assert.ok(["invalid_signature", "malformed_signature"].includes(v.code), `${bad}: ${JSON.stringify(v)}`);
  }
  assertRejected(verifyRequest(withHeaders(wh, { "webhook-signature": "v1," }), policy(), NOW), "invalid_signature", 401);
  // Truncated RFC 9421 signatures too.
  const rf = sign(syncRequest(brandingPayload(3)));
  for (const bad of ["sig1=::", "sig1=:AAAA:"]) {
    const v = verifyRequest(withHeaders(rf, { signature: bad }), policy(), NOW);
    assert.ok(["invalid_signature", "malformed_signature"].includes(v.code), `${bad}: ${JSON.stringify(v)}`);
  }
});

test("another tenant's key → unknown_key; a revoked key → revoked_key", () => {
  const req = sign(syncRequest(brandingPayload(3)), { key: OTHER_TENANT });
  assertRejected(verifyRequest(req, policy(), NOW), "unknown_key", 401);
  assertRejected(verifyRequest(sign(syncRequest(brandingPayload(3)), { key: REVOKED }), policy(), NOW), "revoked_key", 401);
  // Standard Webhooks has no key id: another tenant's secret simply matches no key.
  const wh = sign(syncRequest(brandingPayload(3)), { key: OTHER_TENANT, scheme: "standard-webhooks" });
  assertRejected(verifyRequest(wh, policy(), NOW), ["invalid_signature", "unknown_key"], 401);
  // A known key id with the wrong secret.
  const forged = sign(syncRequest(brandingPayload(3)), { key: { ...ACTIVE, secret: OTHER_TENANT.secret } });
  assertRejected(verifyRequest(forged, policy(), NOW), "invalid_signature", 401);
});

test("a signature made only with a revoked key is refused under Standard Webhooks", () => {
  const body = JSON.stringify(brandingPayload(3));
  const req = withHeaders(syncRequest(body), {
    "webhook-id": "msg_revoked", "webhook-timestamp": String(NOW),
    "webhook-signature": nodeWebhookSignature(REVOKED.secret, "msg_revoked", NOW, body),
  });
  const v = verifyRequest(req, policy(), NOW);
  assert.equal(v.ok, false);
  assert.ok(["invalid_signature", "revoked_key"].includes(v.code), JSON.stringify(v));
});

test("routing and media-type checks: disabled, too large, not JSON, no signature", () => {
  const req = sign(syncRequest(brandingPayload(3)));
  assertRejected(verifyRequest(req, policy({ enabled: false }), NOW), "instance_disabled", 403);
  assertRejected(verifyRequest(req, policy({ maxBodyBytes: 16 }), NOW), "payload_too_large", 413);
  assertRejected(verifyRequest(withHeaders(req, { "content-type": "text/plain" }), policy(), NOW), "unsupported_media_type", 415);
  assert.equal(verifyRequest(withHeaders(req, { "content-type": "application/json; charset=utf-8" }), policy(), NOW).ok, true);
  assertRejected(verifyRequest(syncRequest(brandingPayload(3)), policy(), NOW), "missing_signature", 401);
  // A scheme the tenant does not accept is as good as no signature.
  const wh = sign(syncRequest(brandingPayload(3)), { scheme: "standard-webhooks" });
  assertRejected(verifyRequest(wh, policy({ schemes: ["rfc9421"] }), NOW), "missing_signature", 401);
});

test("malformed RFC 9421 headers → malformed_signature", () => {
  const req = sign(syncRequest(brandingPayload(3)));
  assertRejected(verifyRequest(withHeaders(req, { "signature-input": "sig1=not a list" }), policy(), NOW), "malformed_signature", 400);
  // Required parameters (created, nonce, keyid) and components must be present.
  const noNonce = req.headers["signature-input"].replace(/;nonce="[^"]*"/, "");
  assert.ok(verifyRequest(withHeaders(req, { "signature-input": noNonce }), policy(), NOW).ok === false);
});

test("payload checks after the MAC: schema, tenant, scope", () => {
  const check = (payload, p = policy()) => verifyRequest(sign(syncRequest(payload)), p, NOW);
  assertRejected(check({ type: "branding", tenant: "acme", version: 1 }), "invalid_payload", 422);
  const bad = check({ ...brandingPayload(1), branding: { title: "Acme", logoUrl: "http://acme.test/logo.png" } });
  assertRejected(bad, "invalid_payload", 422);
  assert.equal(bad.field, "branding.logoUrl");
  assertRejected(check({ ...brandingPayload(1), extra: true }), "invalid_payload", 422);
  assertRejected(check(brandingPayload(1, "globex")), "tenant_mismatch", 403);
  assertRejected(check(brandingPayload(1), policy({ payloadTypes: ["features"] })), "unsupported_payload_type", 422);
  const withGroup = (group) => {
    const p = featuresPayload(2);
    p.features.modules.push({ key: `${group}.x`, group });
    return p;
  };
  assertRejected(check(withGroup("website")), "blocked_module_group", 403);
  assertRejected(check(withGroup("telephony")), "unsupported_module_group", 422);
  // A blocked group is reported as blocked even when it is also unsupported.
  assertRejected(check(withGroup("landing_page"), policy({ supportedModuleGroups: ["crm", "sales", "reports"] })), "blocked_module_group", 403);
});

test("an SMTP password never appears in a rejection", () => {
  const payload = {
    type: "smtp", tenant: "acme", version: 1,
    smtp: { host: "smtp.example.com", port: 70000, encryption: "starttls", username: "mailer", password: "hunter2-leak", fromEmail: "no-reply@acme.test" },
  };
  for (const v of [verifyRequest(sign(syncRequest(payload)), policy(), NOW), validatePayload(payload)]) {
    assertRejected(v, "invalid_payload", 422);
    assert.equal(v.field, "smtp.port");
    assert.ok(!JSON.stringify(v).includes("hunter2-leak"));
  }
});

test("an invalid policy is a failure, not a throw", () => {
  const req = sign(syncRequest(brandingPayload(3)));
  for (const p of [{}, { instance: "ACME", tenant: "acme" }, { ...policy(), unknown: 1 }, { ...policy(), keys: [{ kid: "k", version: 1, status: "active", secret: "nope" }] }]) {
    const v = verifyRequest(req, p, NOW);
    assert.equal(v.ok, false);
    assert.equal(typeof v.code, "string");
    assert.ok(!JSON.stringify(v).includes(ACTIVE.secret.slice(6)));
  }
});

// ---------------------------------------------------------------------------------------------
// validatePayload, recomputeModules, contentDigest

test("validatePayload takes an object, a JSON string or bytes", () => {
  const payload = brandingPayload(6);
  for (const input of [payload, JSON.stringify(payload), new TextEncoder().encode(JSON.stringify(payload))]) {
    const v = validatePayload(input);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.payloadType, "branding");
    assert.equal(v.payloadVersion, 6);
    assert.deepEqual(v.sections, ["branding"]);
    assert.deepEqual(v.payload, payload);
  }
  assertRejected(validatePayload("{"), "invalid_payload", 422);
  assertRejected(validatePayload(brandingPayload(1, "globex"), policy()), "tenant_mismatch", 403);
  assert.equal(validatePayload(featuresPayload(1), policy()).ok, true);
});

test("recomputeModules: plan defaults, overrides, dependencies, blocked groups", () => {
  const features = featuresPayload().features;
  features.modules.push({ key: "web.site", group: "website", permissions: ["site.edit"] });
  features.planDefaults.pro.push("web.site");
  features.overrides["crm.core"] = true;
  const r = recomputeModules(features);
  assert.equal(r.ok, true, JSON.stringify(r));
  const keys = r.modules.map((m) => m.key);
  assert.deepEqual(keys, [...keys].sort(), "sorted by key");
  const byKey = Object.fromEntries(r.modules.map((m) => [m.key, m]));
  assert.equal(byKey["crm.customers"].enabled, true);
  assert.equal(byKey["crm.customers"].reason, "plan_default");
  assert.equal(byKey["sales.pipeline"].reason, "override_on");
  assert.equal(byKey["web.site"].enabled, false);
  assert.equal(byKey["web.site"].reason, "blocked_group");
  assert.deepEqual(r.permissions, [...r.permissions].sort());
  assert.ok(!r.permissions.includes("site.edit"));
  assert.ok(r.permissions.includes("customers.write"));

  features.overrides["crm.core"] = false;
  const off = recomputeModules(features);
  const offByKey = Object.fromEntries(off.modules.map((m) => [m.key, m]));
  assert.equal(offByKey["crm.core"].reason, "override_off");
  assert.equal(offByKey["crm.customers"].enabled, false);
  assert.match(offByKey["crm.customers"].reason, /^missing_dependency:/);
  assert.match(offByKey["crm.reports"].reason, /^missing_dependency:/, "transitively");
  // Deterministic to the byte.
  assert.equal(JSON.stringify(recomputeModules(features)), JSON.stringify(off));
  // A policy that blocks nothing lets the website module through.
  const open = recomputeModules(features, policy({ blockedModuleGroups: [], supportedModuleGroups: ["crm", "sales", "reports", "website"] }));
  assert.equal(Object.fromEntries(open.modules.map((m) => [m.key, m]))["web.site"].enabled, true);
});

test("contentDigest matches node:crypto for strings and bytes", () => {
  for (const body of ["", "hello", "ünïcödé", JSON.stringify(featuresPayload())]) {
    const expected = `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
    assert.equal(contentDigest(body), expected);
    assert.equal(contentDigest(new TextEncoder().encode(body)), expected);
  }
});

// ---------------------------------------------------------------------------------------------
// Never throws

const GARBAGE = [
  undefined, null, 0, -1, 1.5, NaN, Infinity, "", "garbage", "{", "[]", true, [], [1, 2], {},
  { method: 1 }, { method: "POST" }, { method: "POST", url: "not a url", headers: {}, body: "" },
  { method: "POST", url: "/relative", headers: {}, body: "" },
  { method: "POST", url: "https://x.test/", headers: "nope", body: 42 },
  { method: "POST", url: "https://x.test/", headers: { a: 1, b: null, c: {} }, body: {} },
  { method: "POST", url: "https://x.test/", headers: new Map([["content-type", "application/json"]]), body: new ArrayBuffer(3) },
  new Uint8Array([0xff, 0xfe]), new Date(0), () => 1, Symbol("s"), 10n,
  Object.create(null), { toJSON() { throw new Error("boom"); } },
  { get method() { throw new Error("getter"); } },
];

function describe(value) {
  try {
    return typeof value === "symbol" || typeof value === "bigint" ? `${typeof value} ${String(value)}`
      : typeof value === "function" ? "a function"
        : JSON.stringify(value) ?? String(value);
  } catch {
    return `an unprintable ${typeof value}`;
  }
}

test("no function throws, whatever it is given", () => {
  const fns = { verifyRequest, signRequest, validatePayload, recomputeModules };
  for (const [name, fn] of Object.entries(fns)) {
    for (const a of GARBAGE) {
      for (const b of [undefined, null, 7, "x", {}, policy(), { kid: ACTIVE.kid, secret: ACTIVE.secret }, a]) {
        let out;
        assert.doesNotThrow(() => { out = fn(a, b, a); }, `${name}(${describe(a)}, ${describe(b)}, ${describe(a)})`);
        assert.equal(typeof out, "object", `${name} answers an object`);
        assert.notEqual(out, null);
        assert.equal(typeof out.ok, "boolean");
        if (!out.ok) {
          assert.equal(out.status, STATUS[out.code], `${name}: status of ${out.code}`);
          assert.equal(typeof out.message, "string");
        }
      }
    }
  }
  for (const a of GARBAGE) {
    let out;
    assert.doesNotThrow(() => { out = contentDigest(a); }, `contentDigest(${typeof a})`);
    assert.ok(typeof out === "string" || out?.ok === false, `contentDigest(${typeof a}) → ${typeof out}`);
  }
});

test("signRequest refuses bad signing input with a failure", () => {
  const req = syncRequest(brandingPayload(1));
  for (const signing of [{}, { kid: "k" }, { kid: "k", secret: "whsec_short" }, { kid: "k", secret: "plain" }, { secret: ACTIVE.secret }]) {
    const r = signRequest(req, signing, { nowSeconds: NOW });
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.ok(!JSON.stringify(r).includes(ACTIVE.secret.slice(6)));
  }
  assert.equal(signRequest(req, ACTIVE, { scheme: "hmac-md5" }).ok, false);
});
