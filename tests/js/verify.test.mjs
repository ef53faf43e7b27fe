// The package's own behaviour beyond the shared cases: sign → verify round trips with valid sync
// payloads and the full verdict, the input shapes each function takes, and no throw on any input.
// Every rejection a sender can meet is a case in tests/cases/*.json (tests/js/cases.test.mjs).

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { test } from "node:test";

import { declaredStatuses, pkgDir, requireSyncgate } from "./support/package.mjs";
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

test("a header value given as a number is read as JavaScript writes it (String(n))", () => {
  const req = sign(syncRequest(JSON.stringify(brandingPayload(5))), { scheme: "standard-webhooks" });
  const stamp = req.headers["webhook-timestamp"];
  assert.equal(stamp, String(NOW));
  const numeric = { ...req, headers: { ...req.headers, "webhook-timestamp": NOW } };
  const v = verifyRequest(numeric, policy(), NOW);
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.timestamp, NOW);
  // A fraction is written "1800000000.5", which is not a timestamp.
  const fraction = { ...req, headers: { ...req.headers, "webhook-timestamp": NOW + 0.5 } };
  assert.equal(verifyRequest(fraction, policy(), NOW).ok, false);
});

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

test("the compiled verifier keeps at most 1024 prepared verifications: the oldest go, each finishes or cancels once", () => {
  // The raw wasm-bindgen class behind createVerifier (the glue hands it prepared ids).
  const { CompiledVerifier } = createRequire(import.meta.url)(join(pkgDir, "syncgate_node.cjs"));
  const compiled = new CompiledVerifier(policy());
  try {
    const request = sign(syncRequest());
    const flat = Object.entries(request.headers).map(([name, value]) => `${name}\0${value}\0`).join("");
    const body = new TextEncoder().encode(request.body);
    const prepare = () => {
      const plan = JSON.parse(compiled.prepare(request.method, request.url, flat, body.byteLength, NOW, false));
      assert.ok(Array.isArray(plan), JSON.stringify(plan));
      return plan[0];
    };
    const wrongMacs = new Uint8Array(32);
    const sha = createHash("sha256").update(body).digest();
    const finish = (id) => JSON.parse(compiled.finishSignature(id, sha, wrongMacs));
    const notPrepared = (id) => {
      const answer = finish(id);
      assert.equal(answer.code, "invalid_field", JSON.stringify(answer));
      assert.equal(answer.field, "request");
      assert.match(answer.message, /not prepared/);
    };
    const ids = Array.from({ length: 1025 }, prepare);
    notPrepared(ids[0]); // dropped when the 1025th was prepared
    assert.equal(finish(ids[1]).code, "invalid_signature"); // still waiting: decided
    notPrepared(ids[1]); // finished once only
    compiled.cancel(ids[1024]);
    notPrepared(ids[1024]);
    assert.equal(finish(ids[512]).code, "invalid_signature");
    assert.equal(finish(ids[1023]).code, "invalid_signature");
  } finally {
    compiled.free();
  }
});

test("verifyAsync on WebCrypto: interleaved verifications get their own verdicts, and a byte body changed while it is hashed changes nothing", async () => {
  // The package bound as a browser or a Worker without nodejs_compat binds it: no synchronous
  // host, WebCrypto for verifyAsync (Node has WebCrypto too).
  const load = createRequire(import.meta.url);
  const { bindSyncgate, webCryptoHost } = load(join(pkgDir, "glue.cjs"));
  const web = bindSyncgate(load(join(pkgDir, "syncgate_node.cjs")), null, webCryptoHost(globalThis.crypto));
  const reference = requireSyncgate().createVerifier(policy());
  const verifier = web.createVerifier(policy());
  try {
    const requests = [1, 2, 3].map((v) => {
      const r = sign(syncRequest(featuresPayload(v)), { scheme: v === 2 ? "rfc9421" : "standard-webhooks" });
      return { ...r, body: new TextEncoder().encode(r.body) };
    });
    const expected = requests.map((r) => JSON.stringify(reference.verify(r, NOW)));
    for (const e of expected) assert.equal(JSON.parse(e).ok, true, e);
    // All three in flight at once, finished in whatever order WebCrypto settles them.
    const verdicts = await Promise.all(requests.map((r) => verifier.verifyAsync(r, NOW)));
    assert.deepEqual(verdicts.map((v) => JSON.stringify(v)), expected);
    // The caller's bytes overwritten as soon as verifyAsync has returned its promise: the
    // verdict and its payload are those of the bytes it was given.
    const body = requests[0].body.slice();
    const pending = verifier.verifyAsync({ ...requests[0], body }, NOW);
    body.fill(0x20);
    assert.equal(JSON.stringify(await pending), expected[0]);
    // A body larger than the glue decodes at once, whose verdict keeps the verified bytes for
    // its payload, given as a Uint8Array subclass whose Symbol.species throws: no caller code
    // runs, on either path, and the payload is the one verified.
    class Hostile extends Uint8Array {
      static get [Symbol.species]() {
        throw new Error("Symbol.species consulted");
      }
    }
    const large = sign(syncRequest(JSON.stringify(featuresPayload(4)) + " ".repeat(40_000)), { scheme: "standard-webhooks" });
    const largeBytes = new TextEncoder().encode(large.body);
    const hostile = new Hostile(largeBytes.length);
    hostile.set(largeBytes);
    const largeExpected = JSON.stringify(reference.verify({ ...large, body: largeBytes }, NOW));
    assert.equal(JSON.parse(largeExpected).ok, true, largeExpected);
    assert.equal(JSON.stringify(reference.verify({ ...large, body: hostile }, NOW)), largeExpected);
    const largePending = verifier.verifyAsync({ ...large, body: hostile }, NOW);
    hostile.fill(0x20);
    assert.equal(JSON.stringify(await largePending), largeExpected);
    // A tampered body is still refused on this path (Standard Webhooks: the MAC covers it).
    const tampered = requests[0].body.slice();
    tampered[tampered.length - 2] ^= 1;
    assert.equal((await verifier.verifyAsync({ ...requests[0], body: tampered }, NOW)).code, "invalid_signature");
  } finally {
    verifier.free();
    reference.free();
  }
});

test("node:crypto host: each digest by the cheapest call that passes its known answer", async () => {
  const crypto = await import("node:crypto");
  const { nodeCryptoHost } = createRequire(import.meta.url)(join(pkgDir, "glue.cjs"));
  // A host answers a digest as 32 bytes or as 32 latin1 characters (one a byte).
  const hex = (digest) => Buffer.from(digest, typeof digest === "string" ? "latin1" : undefined).toString("hex");
  // A body that is a view inside a larger buffer, as callers' Buffers often are.
  const backing = Uint8Array.from({ length: 2048 }, (_, i) => (i * 31) & 0xff);
  const body = backing.subarray(7, 1031);
  const expected = createHash("sha256").update(body).digest("hex");
  const key = crypto.createSecretKey(Buffer.from("a key of the test, 32 bytes long"));
  const prefix = Buffer.from("msg_1.1800000000.");
  const expectedTag = crypto.createHmac("sha256", key).update(prefix).update(body).digest("hex");
  let oneShot = 0;
  // A createHmac whose Hmac objects pass what they are given through `input` and answer `output(mac, encoding)`.
  const wrappedHmac = ({ input = (data) => data, output = (mac, encoding) => mac.digest(encoding) }) => (...args) => {
    const mac = crypto.createHmac(...args);
    return { update(data) { mac.update(input(data)); return this; }, digest: (encoding) => output(mac, encoding) };
  };
  const latin1Hmac = (output) => wrappedHmac({ output });
  // name → [what the host is given over node:crypto, the body digest's type, the tag's type]
  const hosts = {
    real: [{ hash: (...args) => (oneShot++, crypto.hash(...args)) }, "string", "string"],
    missing: [{ hash: undefined }, "object", "string"],
    throwing: [{ hash: () => { throw new Error("no such digest"); } }, "object", "string"],
    wrong: [{ hash: () => Buffer.alloc(32) }, "object", "string"],
    hex: [{ hash: (alg, data) => crypto.hash(alg, data, "hex") }, "object", "string"],
    ignoresOffset: [{ hash: (alg, data, out) => crypto.hash(alg, new Uint8Array(data.buffer, 0, data.length), out) }, "object", "string"],
    latin1Wrong: [{ hash: (alg, data, out) => (out === "latin1" ? "x".repeat(32) : crypto.hash(alg, data, out)) }, "object", "string"],
    hmacLatin1Utf8: [{ createHmac: latin1Hmac((mac, enc) => (enc === "latin1" ? mac.digest().toString("utf8") : mac.digest(enc))) }, "string", "object"],
    hmacLatin1Throws: [{ createHmac: latin1Hmac((mac, enc) => { if (enc === "latin1") throw new Error("unknown encoding"); return mac.digest(enc); }) }, "string", "object"],
  };
  for (const [name, [override, shaType, tagType]] of Object.entries(hosts)) {
    oneShot = 0;
    const host = nodeCryptoHost({ ...crypto, ...override }, Buffer);
    assert.notEqual(host, null, name);
    const sha = host.sha256(body);
    assert.equal(typeof sha, shaType, name);
    assert.equal(hex(sha), expected, name);
    const tag = host.hmac(key, prefix, body);
    assert.equal(typeof tag, tagType, name);
    assert.equal(hex(tag), expectedTag, name);
    if (name === "real") assert.ok(oneShot >= 2, "the known answer and the body, both by crypto.hash");
  }
  assert.equal(nodeCryptoHost({ ...crypto, createHmac: latin1Hmac(() => Buffer.alloc(32)) }, Buffer), null, "no HMAC passes: Rust hashes");
  // A host takes string bodies only when its digests answer right for a string.
  assert.equal(typeof nodeCryptoHost(crypto, Buffer).byteLength, "function");
  const bytesOnly = (hash) => (alg, data, out) => (typeof data === "string" ? hash(alg, Buffer.alloc(1), out) : hash(alg, data, out));
  assert.equal(nodeCryptoHost({ ...crypto, hash: bytesOnly(crypto.hash) }, Buffer).byteLength, undefined);
  const stringsMisread = wrappedHmac({ input: (data) => (typeof data === "string" ? Buffer.from(data, "latin1").reverse() : data) });
  assert.equal(nodeCryptoHost({ ...crypto, createHmac: stringsMisread }, Buffer).byteLength, undefined);
  // Verdicts are the same through the host as through Rust, and payloadHash is the body's.
  const request = sign(syncRequest(JSON.stringify(brandingPayload(9))), { scheme: "standard-webhooks" });
  const viaHost = requireSyncgate().createVerifier(policy()).verify(request, NOW);
  const viaRust = requireSyncgate().createVerifier(policy(), { hashing: "rust" }).verify(request, NOW);
  assert.equal(viaHost.ok, true, JSON.stringify(viaHost));
  assert.deepEqual(viaHost, viaRust);
  assert.equal(viaHost.payloadHash, createHash("sha256").update(request.body).digest("hex"));
});

test("node:crypto host: a signature check hashes a well-formed string body as it is, with the verdicts of its bytes", async () => {
  const crypto = await import("node:crypto");
  const load = createRequire(import.meta.url);
  const { bindSyncgate, nodeCryptoHost } = load(join(pkgDir, "glue.cjs"));
  const real = nodeCryptoHost(crypto, Buffer);
  const seen = [];
  const host = { ...real, hmac: (key, prefix, body) => (seen.push(typeof body), real.hmac(key, prefix, body)) };
  const sg = bindSyncgate(load(join(pkgDir, "syncgate_node.cjs")), host, null);
  const bodies = {
    ascii: JSON.stringify(brandingPayload(9)),
    nonAscii: JSON.stringify({ ...brandingPayload(9), branding: { title: "Café ✓ 🚀" } }),
    // JSON.stringify escapes a lone surrogate; the body holds one as it is.
    loneSurrogate: JSON.stringify({ ...brandingPayload(9), branding: { title: "Caf#" } }).replace("#", "\uD800"),
  };
  assert.equal(bodies.loneSurrogate.isWellFormed(), false);
  for (const [name, text] of Object.entries(bodies)) {
    const request = sign(syncRequest(text), { scheme: "standard-webhooks" });
    assert.equal(typeof request.body, "string", name);
    const asBytes = { ...request, body: Buffer.from(text, "utf8") };
    const verifier = sg.createVerifier(policy());
    const rust = sg.createVerifier(policy(), { hashing: "rust" });
    seen.length = 0;
    const verdict = verifier.verifySignature(request, NOW);
    // One MAC per key of the ring, each over the body as the host was given it.
    assert.ok(seen.length > 0, name);
    assert.deepEqual([...new Set(seen)], [name === "loneSurrogate" ? "object" : "string"], name);
    assert.equal(verdict.ok, true, `${name}: ${JSON.stringify(verdict)}`);
    assert.deepEqual(verdict, rust.verifySignature(request, NOW), name);
    assert.deepEqual(verdict, verifier.verifySignature(asBytes, NOW), name);
    // A changed character is refused whichever way the body is hashed.
    const tampered = { ...request, body: `${text.slice(0, -1)} ` };
    assert.equal(verifier.verifySignature(tampered, NOW).code, "invalid_signature", name);
    // `verify` hands the body to the wasm, so it hashes the bytes.
    seen.length = 0;
    assert.deepEqual(verifier.verify(request, NOW), rust.verify(request, NOW), name);
    assert.deepEqual([...new Set(seen)], ["object"], name);
    verifier.free();
    rust.free();
  }
});
