// tests/vectors/public.json through the installed package. The same file is run by the native
// Rust tests; every runtime must agree with it.
//
// Applicable here:
// - standard-webhooks-v1: signRequest must produce the expected `webhook-signature`, and
//   verifyRequest must accept the signature. The vector payloads are not sync payloads, so an
//   accepted signature shows as `invalid_payload` (checked after the MAC), never as
//   `invalid_signature`.
// - rfc9530: contentDigest must produce the expected header value.
// Not applicable: `standard-webhooks-v1a` (asymmetric ed25519, not a scheme of syncgate),
// `github`, `slack`, `hubspot-v1` (other vendors' schemes) and `rfc9421-b25` (covers `date`,
// `@authority`, `content-type` but not the required `@method`, `@path`, `content-digest`; the
// RFC 9421 signature base itself is checked by the native tests).

import assert from "node:assert/strict";
import { test } from "node:test";

import { importSyncgate } from "./support/package.mjs";
import { publicVectors, withHeaders } from "./support/fixtures.mjs";

const { contentDigest, signRequest, verifyRequest } = await importSyncgate();
const vectors = publicVectors();

const APPLICABLE = new Set(["standard-webhooks-v1", "rfc9530"]);
const NOT_APPLICABLE = new Set(["standard-webhooks-v1a", "github", "slack", "hubspot-v1", "rfc9421-b25"]);

test("every vector kind is either run here or known not to apply", () => {
  for (const v of vectors) {
    assert.ok(APPLICABLE.has(v.kind) || NOT_APPLICABLE.has(v.kind), `unexpected vector kind ${v.kind}`);
  }
  assert.ok(vectors.filter((v) => v.kind === "standard-webhooks-v1").length >= 1);
  assert.ok(vectors.filter((v) => v.kind === "rfc9530").length >= 1);
});

const request = (payload) => ({
  method: "POST",
  url: "https://edge.example/v1/vector-tenant/sync",
  headers: { "content-type": "application/json" },
  body: payload,
});

const vectorPolicy = (secret) => ({
  instance: "vector-tenant",
  tenant: "vector",
  schemes: ["standard-webhooks"],
  keys: [{ kid: "vector-key", version: 1, status: "active", secret }],
});

for (const [i, v] of vectors.entries()) {
  if (v.kind === "standard-webhooks-v1") {
    test(`standard-webhooks-v1 #${i} (${v.msg_id}): signRequest reproduces the signature`, () => {
      for (const body of [v.payload, new TextEncoder().encode(v.payload)]) {
        const signed = signRequest(request(body), { kid: "vector-key", secret: v.secret }, {
          scheme: "standard-webhooks", nowSeconds: v.timestamp, nonce: v.msg_id,
        });
        assert.equal(signed.ok, true, JSON.stringify(signed));
        assert.equal(signed.headers["webhook-signature"], v.expected);
        assert.equal(signed.headers["webhook-id"], v.msg_id);
        assert.equal(signed.headers["webhook-timestamp"], String(v.timestamp));
      }
    });

    test(`standard-webhooks-v1 #${i} (${v.msg_id}): verifyRequest accepts the signature`, () => {
      const headers = {
        "webhook-id": v.msg_id,
        "webhook-timestamp": String(v.timestamp),
        "webhook-signature": v.expected,
      };
      const verdict = verifyRequest(withHeaders(request(v.payload), headers), vectorPolicy(v.secret), v.timestamp);
      assert.equal(verdict.ok, false);
      assert.equal(verdict.code, "invalid_payload", JSON.stringify(verdict));
      assert.equal(verdict.status, 422);

      // The same request with one flipped signature bit is refused at the MAC.
      const sig = Buffer.from(v.expected.slice(3), "base64");
      sig[0] ^= 1;
      const flipped = { ...headers, "webhook-signature": `v1,${sig.toString("base64")}` };
      const bad = verifyRequest(withHeaders(request(v.payload), flipped), vectorPolicy(v.secret), v.timestamp);
      assert.equal(bad.code, "invalid_signature", JSON.stringify(bad));
    });
  } else if (v.kind === "rfc9530") {
    test(`rfc9530 #${i}: contentDigest of ${JSON.stringify(v.payload)}`, () => {
      assert.equal(contentDigest(v.payload), v.expected);
      assert.equal(contentDigest(new TextEncoder().encode(v.payload)), v.expected);
    });
  }
}
