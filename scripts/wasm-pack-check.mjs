// Checks the package `wasm-pack build --target nodejs` made (the directory is the argument):
// it loads as CommonJS in Node and agrees with the published vectors — signRequest reproduces
// every Standard Webhooks signature, verifyRequest accepts it and refuses it with one bit
// flipped, contentDigest reproduces every RFC 9530 value (each raw export answers JSON text).
// `make test-wasm-pack` runs it after `wasm-pack build`; the full suites run on the package
// `make pkg` assembles (tests/js/).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const dir = resolve(process.argv[2] ?? "target/wasm-pack/nodejs");
const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const raw = createRequire(import.meta.url)(join(dir, manifest.main));
// The raw exports answer JSON text (the npm package's glue parses it the same way).
const syncgate = Object.fromEntries(
  ["signRequest", "verifyRequest", "contentDigest"].map((name) => [name, (...args) => JSON.parse(raw[name](...args))]),
);
const vectors = JSON.parse(readFileSync(new URL("../tests/vectors/public.json", import.meta.url), "utf8"));

const request = (body, headers = {}) => ({
  method: "POST",
  url: "https://edge.example/v1/vector-tenant/sync",
  headers: { "content-type": "application/json", ...headers },
  body,
});
const policy = (secret) => ({
  instance: "vector-tenant",
  tenant: "vector",
  schemes: ["standard-webhooks"],
  keys: [{ kid: "vector-key", version: 1, status: "active", secret }],
});

let checked = 0;
for (const v of vectors) {
  if (v.kind === "standard-webhooks-v1") {
    const signed = syncgate.signRequest(request(v.payload), { kid: "vector-key", secret: v.secret }, {
      scheme: "standard-webhooks", nowSeconds: v.timestamp, nonce: v.msg_id,
    });
    assert.equal(signed.ok, true, JSON.stringify(signed));
    assert.equal(signed.headers["webhook-signature"], v.expected, v.msg_id);

    const headers = { "webhook-id": v.msg_id, "webhook-timestamp": String(v.timestamp), "webhook-signature": v.expected };
    // The vector payloads are not sync payloads: an accepted MAC shows as invalid_payload.
    const verdict = syncgate.verifyRequest(request(v.payload, headers), policy(v.secret), v.timestamp);
    assert.equal(verdict.code, "invalid_payload", JSON.stringify(verdict));

    const sig = Buffer.from(v.expected.slice(3), "base64");
    sig[0] ^= 1;
    const flipped = { ...headers, "webhook-signature": `v1,${sig.toString("base64")}` };
    const refused = syncgate.verifyRequest(request(v.payload, flipped), policy(v.secret), v.timestamp);
    assert.equal(refused.code, "invalid_signature", JSON.stringify(refused));
    checked += 1;
  } else if (v.kind === "rfc9530") {
    assert.equal(syncgate.contentDigest(v.payload), v.expected);
    checked += 1;
  }
}
assert.ok(checked >= 3, `only ${checked} vectors applied`);
console.log(`wasm-pack package ${manifest.name}@${manifest.version}: ${checked} public vectors agree`);
