// A verdict's `payload`, built in JS when first read (js/glue.mjs, canonicalPayload), must be
// exactly what the wasm serialises: for every payload the Rust reader accepts — the accepted
// cases of tests/cases/payloads.json, the fixtures, and variants written the way a sender may
// write them (members in any order, `null` for optional members, optional lists left out, map
// keys out of order, integer-like and `__proto__` keys, escapes, non-ASCII text, a string body
// with a lone surrogate) — the node:crypto verdict is deep-equal and JSON-identical to the
// Rust-hashing verdict (whose payload the wasm serialised), and its payload to
// validatePayload's. Also: the payload does not follow a byte body mutated after verify, it can
// be assigned, and a frozen verdict still reads it.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { importSyncgate, root } from "./support/package.mjs";
import { ACTIVE, brandingPayload, featuresPayload, policy, syncRequest, withHeaders } from "./support/fixtures.mjs";
import * as engine from "../cases/engine.mjs";

const sg = await importSyncgate();
const NOW = 1_800_000_000;
const file = JSON.parse(readFileSync(join(root, "tests", "cases", "payloads.json"), "utf8"));

/** Shuffles an object's members (deterministically, reversed) at every level. */
function reversed(value) {
  if (Array.isArray(value)) return value.map(reversed);
  if (value && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).reverse()) {
      if (key === "__proto__") Object.defineProperty(out, key, { value: reversed(value[key]), enumerable: true, writable: true, configurable: true });
      else out[key] = reversed(value[key]);
    }
    return out;
  }
  return value;
}

const SMTP = { host: "smtp.acme.test", port: 587, encryption: "starttls", username: "mailer", password: "pa\"ss\\wörd", fromEmail: "noreply@acme.test", fromName: "Acme ✉" };

/** Bodies (text) the reader accepts, written in many ways. */
function bodies() {
  const out = [];
  for (const c of engine.casesOf(file, "payloads.json")) {
    if (c.expect?.ok !== true || c.policy !== undefined) continue;
    const body = engine.payloadBody(file, c);
    if (typeof body !== "string") continue;
    out.push([c.name, body]);
    out.push([`${c.name}, members reversed`, JSON.stringify(reversed(JSON.parse(body)))]);
  }
  out.push(["fixture branding", JSON.stringify(brandingPayload(3))]);
  out.push(["fixture features", JSON.stringify(featuresPayload(4))]);
  out.push(["fixture features, reversed and spaced", JSON.stringify(reversed(featuresPayload(5)), null, 3)]);
  const bare = {
    type: "features", tenant: "acme", version: 6,
    features: {
      plan: "10",
      modules: [
        { key: "crm.core", group: "crm" },
        { key: "__proto__", group: "crm", requires: null, permissions: null },
        { key: "9", group: "crm", requires: ["crm.core"] },
        { key: "10", group: "crm", permissions: ["a:b"] },
      ],
      planDefaults: JSON.parse('{"zeta":[],"10":["9"],"9":[],"__proto__":["__proto__"],"Alpha":["crm.core"],"alpha":[]}'),
      overrides: JSON.parse('{"crm.core":true,"__proto__":false,"9":true,"10":false}'),
    },
  };
  out.push(["features with bare modules, odd keys", JSON.stringify(bare)]);
  out.push(["features with null overrides", JSON.stringify({ ...bare, features: { ...bare.features, overrides: null } })]);
  out.push(["branding with every member", JSON.stringify({
    type: "branding", tenant: "acme", version: 7,
    branding: {
      footer: { links: [{ url: "https://acme.test/legal", label: "Légal \u2028 \"x\"" }], text: "© Acme, no tabs" },
      primaryColor: "#1f6feb", faviconUrl: "https://cdn.acme.test/f.ico", sidebarLogoUrl: "https://cdn.acme.test/s.svg",
      logoUrl: "https://cdn.acme.test/l.svg", title: "Acme \ud83d\ude80 \\ \u00e9",
    },
  })]);
  out.push(["branding with null members and a bare footer", JSON.stringify({
    version: 8, branding: { title: "T", logoUrl: null, footer: { text: null } }, tenant: "acme", type: "branding", smtp: null, features: null,
  })]);
  out.push(["branding, escaped text", '{"type":"branding","tenant":"acme","version":9,"branding":{"title":"\\u0041\\u00e9\\ud83d\\ude80\\/\\""}}']);
  out.push(["smtp with auth, reversed", JSON.stringify(reversed({ type: "smtp", tenant: "acme", version: 10, smtp: SMTP }))]);
  out.push(["smtp relay", JSON.stringify({ type: "smtp", tenant: "acme", version: 11, smtp: { fromEmail: "a@acme.test", encryption: "none", port: 25, host: "10.0.0.1", username: null, password: null } })]);
  out.push(["combined", JSON.stringify({ smtp: SMTP, branding: { title: "C" }, features: featuresPayload(1).features, version: 12, tenant: "acme", type: "combined" })]);
  out.push(["a big version", JSON.stringify({ type: "branding", tenant: "acme", version: 9007199254740991, branding: { title: "V" } })]);
  return out;
}

function signed(body, scheme) {
  const request = syncRequest(body);
  const s = sg.signRequest(request, { kid: ACTIVE.kid, secret: ACTIVE.secret }, { scheme, nowSeconds: NOW, nonce: `n-${scheme}` });
  assert.equal(s.ok, true, JSON.stringify(s));
  return withHeaders(request, s.headers);
}

// A policy that takes every module group and payload type the bodies use.
const POLICY = policy();

test("the payload built in JS is the payload the wasm serialises, for every accepted body", () => {
  const problems = [];
  let ran = 0;
  for (const [name, text] of bodies()) {
    const expected = sg.validatePayload(text);
    if (!expected.ok) {
      problems.push(`${name}: not a valid payload (${expected.code} ${expected.field ?? ""} ${expected.message})`);
      continue;
    }
    for (const scheme of ["standard-webhooks", "rfc9421"]) {
      const request = signed(text, scheme);
      const reference = sg.createVerifier(POLICY, { hashing: "rust" }).verify(request, NOW);
      if (!reference.ok) {
        problems.push(`${name}: the reference refused it (${reference.code} ${reference.message})`);
        continue;
      }
      for (const [how, req] of [["string", request], ["bytes", { ...request, body: new TextEncoder().encode(text) }]]) {
        const v = sg.createVerifier(POLICY).verify(req, NOW);
        ran++;
        if (JSON.stringify(v) !== JSON.stringify(reference)) problems.push(`${name} (${scheme}, ${how}): ${JSON.stringify(v)} vs ${JSON.stringify(reference)}`);
        try {
          assert.deepStrictEqual(v, reference);
          assert.deepStrictEqual(v.payload, expected.payload);
          assert.deepStrictEqual(Object.keys(v.payload), Object.keys(expected.payload));
        } catch (e) {
          problems.push(`${name} (${scheme}, ${how}): ${e.message.slice(0, 400)}`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(ran > 40, `${ran} verdicts`);
});

test("a string body with a lone surrogate: the payload is its UTF-8 (what was verified)", () => {
  const text = '{"type":"branding","tenant":"acme","version":2,"branding":{"title":"a\ud800b"}}';
  const request = signed(text, "standard-webhooks");
  const reference = sg.createVerifier(POLICY, { hashing: "rust" }).verify(request, NOW);
  const v = sg.createVerifier(POLICY).verify(request, NOW);
  assert.deepStrictEqual(v, reference);
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.payload.branding.title, "a\ufffdb");
});

test("the payload is read from the bytes verified, not from the caller's buffer afterwards", () => {
  const text = JSON.stringify(brandingPayload(4));
  const request = signed(text, "standard-webhooks");
  const bytes = new TextEncoder().encode(text);
  const v = sg.createVerifier(POLICY).verify({ ...request, body: bytes }, NOW);
  assert.equal(v.ok, true, JSON.stringify(v));
  bytes.fill(0x20);
  assert.deepStrictEqual(v.payload, brandingPayload(4));
});

test("a verdict's payload is plain data: enumerable in place, assignable, readable when frozen", () => {
  const request = signed(JSON.stringify(featuresPayload(3)), "standard-webhooks");
  const verifier = sg.createVerifier(POLICY);
  const v = verifier.verify(request, NOW);
  assert.equal(Object.keys(v).at(-1), "payload");
  assert.ok(Object.prototype.propertyIsEnumerable.call(v, "payload"));
  assert.deepStrictEqual(v.payload, featuresPayload(3));
  assert.equal(Object.getPrototypeOf(v.payload), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(v, "payload").writable, true, "a data property once read");
  assert.equal(v.payload, v.payload, "built once");

  const w = verifier.verify(request, NOW);
  w.payload = "replaced";
  assert.equal(w.payload, "replaced");
  assert.equal(JSON.parse(JSON.stringify(w)).payload, "replaced");

  const frozen = Object.freeze(verifier.verify(request, NOW));
  assert.deepStrictEqual(frozen.payload, featuresPayload(3));
  assert.equal(frozen.payload, frozen.payload);
  verifier.free();

  // verifyRequest frees its verifier at once: the payload is still there.
  const once = sg.verifyRequest(request, POLICY, NOW);
  assert.deepStrictEqual(once.payload, featuresPayload(3));
  assert.deepStrictEqual(structuredClone(once), JSON.parse(JSON.stringify(once)));
});
