// The synchronous host path of createVerifier (js/glue.mjs → src/wasm/verifier.rs `begin` …
// `endFull`) hands the wasm only the header fields a verification can read when no RFC 9421
// signature is present, and answers with numbers and one string. Whatever the header fields —
// many irrelevant ones, relevant ones repeated in other cases, names that are not tokens, an
// RFC 9421 field next to a Standard Webhooks signature, covered extra fields — its verdicts must
// be JSON-identical to the Rust-hashing path's, which always reads every field.

import assert from "node:assert/strict";
import { test } from "node:test";

import { importSyncgate } from "./support/package.mjs";
import { ACTIVE, RETIRING, REVOKED, featuresPayload, policy, syncRequest, withHeaders } from "./support/fixtures.mjs";

const sg = await importSyncgate();
const NOW = 1_800_000_000;

const NOISE = {
  host: "edge.example", "user-agent": "crm/1.0", accept: "*/*", "content-length": "999", connection: "keep-alive",
  "x-forwarded-for": ["10.0.0.1", "10.0.0.2"], "X-Request-Id": "r-1", "x-tenant-hint": "acme",
};

function signed(scheme, options = {}, key = ACTIVE) {
  const request = syncRequest(featuresPayload(3), NOISE);
  const s = sg.signRequest(request, { kid: key.kid, secret: key.secret }, { scheme, nowSeconds: NOW, nonce: `n-${scheme}`, ...options });
  assert.equal(s.ok, true, JSON.stringify(s));
  return withHeaders(request, s.headers);
}

/** Variants of a signed request whose header fields differ in ways the filter must respect. */
function variants() {
  const wh = signed("standard-webhooks");
  const rfc = signed("rfc9421", { components: ["x-tenant-hint", "x-request-id"] });
  const id = wh.headers["webhook-id"];
  return {
    "standard-webhooks with noise": wh,
    "standard-webhooks, webhook-id repeated in another case": withHeaders(wh, { "Webhook-Id": id }),
    "standard-webhooks, content-type repeated": withHeaders(wh, { "Content-Type": "text/plain" }),
    "standard-webhooks, a name with a space": withHeaders(wh, { " webhook-id": "other" }),
    "standard-webhooks, a non-ASCII name": withHeaders(wh, { "webhoo\u212a-id": "other" }),
    "standard-webhooks, non-ASCII in a read field's value": withHeaders(wh, { "content-type": "application/json; note=\u00e9t\u00e9 \u2713 \ud83d\ude00" }),
    "standard-webhooks, a lone surrogate in a read field's value": withHeaders(wh, { "content-type": "application/json; note=\ud83d" }),
    "standard-webhooks, svix names instead": withHeaders({ ...wh, headers: { ...NOISE, "content-type": "application/json" } }, {
      "svix-id": id, "svix-timestamp": wh.headers["webhook-timestamp"], "svix-signature": wh.headers["webhook-signature"],
    }),
    "standard-webhooks and a stray signature-input": withHeaders(wh, { "Signature-Input": "sig1=();created=1" }),
    "standard-webhooks and a stray signature": withHeaders(wh, { signature: "sig1=:AAAA:" }),
    "standard-webhooks without content-type": { ...wh, headers: Object.fromEntries(Object.entries(wh.headers).filter(([n]) => n !== "content-type")) },
    "rfc9421 covering extra fields": rfc,
    "rfc9421, a covered field changed": withHeaders(rfc, { "x-tenant-hint": "globex" }),
    "rfc9421, a covered field repeated in another case": withHeaders(rfc, { "X-Tenant-Hint": "acme" }),
    "rfc9421, a covered field removed": { ...rfc, headers: Object.fromEntries(Object.entries(rfc.headers).filter(([n]) => n !== "x-tenant-hint")) },
  };
}

test("the host path's verdicts equal the Rust path's whatever the header fields", () => {
  const problems = [];
  const outcomes = new Set();
  for (const [name, request] of Object.entries(variants())) {
    for (const p of [policy(), policy({ keys: [RETIRING, ACTIVE] }), policy({ schemes: ["standard-webhooks"] })]) {
      const host = sg.createVerifier(p);
      const rust = sg.createVerifier(p, { hashing: "rust" });
      for (const method of ["verify", "verifySignature"]) {
        for (const req of [request, { ...request, body: new TextEncoder().encode(request.body) }]) {
          const a = host[method](req, NOW);
          const b = rust[method](req, NOW);
          outcomes.add(a.ok ? "ok" : a.code);
          if (JSON.stringify(a) !== JSON.stringify(b)) problems.push(`${name} ${method}: ${JSON.stringify(a).slice(0, 300)} vs ${JSON.stringify(b).slice(0, 300)}`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
  // The variants reach successes and several refusals, so equality means something.
  assert.ok(outcomes.has("ok") && outcomes.size >= 3, [...outcomes].join(", "));
});

test("one verifier answers interleaved verify and verifySignature calls, successes and failures, independently", () => {
  const host = sg.createVerifier(policy());
  const rust = sg.createVerifier(policy(), { hashing: "rust" });
  const all = Object.values(variants());
  const expected = all.flatMap((r) => [rust.verify(r, NOW), rust.verifySignature(r, NOW)]);
  for (let round = 0; round < 3; round++) {
    const got = all.flatMap((r) => [host.verify(r, NOW), host.verifySignature(r, NOW)]);
    assert.equal(JSON.stringify(got), JSON.stringify(expected));
  }
});

test("answers read from the wasm memory stay right as the memory grows: large bodies, long signature bases, several MACs", () => {
  const p = policy({ keys: [RETIRING, ACTIVE, REVOKED] });
  const host = sg.createVerifier(p);
  const rust = sg.createVerifier(p, { hashing: "rust" });
  const json = JSON.stringify(featuresPayload(4));
  const extra = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`x-covered-${i}`, `value ${i} `.repeat(60)]));
  const problems = [];
  const outcomes = new Set();
  // Growing bodies (the largest at maxBodyBytes) make the wasm memory grow during a
  // verification; each is checked with both schemes, as a string and as bytes.
  for (const size of [json.length, 4096, 65536, 200_000, 262_144, 1024]) {
    const base = syncRequest(json + " ".repeat(size - json.length), extra);
    for (const [scheme, options] of [["standard-webhooks", {}], ["rfc9421", { components: Object.keys(extra) }]]) {
      for (const key of [ACTIVE, RETIRING]) {
        const s = sg.signRequest(base, { kid: key.kid, secret: key.secret }, { scheme, nowSeconds: NOW, nonce: `n-${size}-${"x".repeat(size % 100)}`, ...options });
        assert.equal(s.ok, true, JSON.stringify(s));
        const signed = withHeaders(base, s.headers);
        for (const req of [signed, { ...signed, body: new TextEncoder().encode(signed.body) }, withHeaders(signed, { "x-covered-3": "changed" })]) {
          for (const method of ["verify", "verifySignature"]) {
            const a = host[method](req, NOW);
            const b = rust[method](req, NOW);
            outcomes.add(a.ok ? `ok ${a.scheme}` : a.code);
            const [ja, jb] = [JSON.stringify(a), JSON.stringify(b)];
            if (ja !== jb) problems.push(`${size} ${scheme} ${key.kid} ${method}: ${ja.slice(0, 200)} vs ${jb.slice(0, 200)}`);
          }
        }
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(outcomes.has("ok rfc9421") && outcomes.has("ok standard-webhooks") && outcomes.size >= 3, [...outcomes].join(", "));
});
