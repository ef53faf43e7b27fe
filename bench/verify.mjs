#!/usr/bin/env node
// Throughput of the `syncgate` npm package (pkg/, Node) next to the npm webhook verifiers and a
// node:crypto floor, on the same signed `features` payloads, in one process and one run. A
// benchmark, not a test: nothing asserts a speed. Standalone (`node bench/verify.mjs`), bounded
// (about 45 s with the default 1 s per case: a warm-up, then per case 5
// interleaved slices of 200 ms whose median counts); writes target/bench/js.json.
//
// Bodies are valid `features` payloads (modules with long permission lists) padded with JSON
// whitespace to exactly 1 KiB, 16 KiB and 256 KiB (262,144 bytes, the default `maxBodyBytes`).
//
// What each row does per operation (the body goes in as a Buffer, except where a peer takes
// only a string):
// - syncgate: `createVerifier(policy).verify(request, now)`, Standard Webhooks — headers,
//   timestamp, key, HMAC and SHA-256 of the body (node:crypto), JSON parse, schema validation,
//   tenant and scope, replay keys, and the verdict back in JS. The verdict's `payload` is built
//   when first read (js/glue.mjs), so this row does not build it; syncgate_payload_read does.
// - syncgate_payload_read: the same, then reads `verdict.payload.features` (the payload is
//   built in JS from the verified body: JSON.parse and the Rust shape) — what a caller that
//   applies the payload pays, and the row to set next to the peers that JSON.parse the body.
// - syncgate_rfc9421: the same over an RFC 9421 signature (Content-Digest + HMAC of the base).
// - syncgate_signature_only: `verifySignature` (steps 1–5: no payload parse), Standard
//   Webhooks: one HMAC pass over the body. syncgate_signature_only_rfc9421: RFC 9421, one
//   SHA-256 pass over the body (Content-Digest) and an HMAC of the short signature base.
// - syncgate_verify_request: the one-shot `verifyRequest(request, policy, now)` (policy parsed
//   per call), what the package offered before createVerifier.
// - standardwebhooks / svix `Webhook.verify`: timestamp, HMAC (their own SHA-256), compare, then
//   JSON.parse of the body. No schema.
// - stripe `webhooks.constructEvent`: HMAC (node:crypto) of `t.body`, compare, JSON.parse.
// - octokit `verify` (@octokit/webhooks-methods, async, string payload): HMAC (node:crypto) of
//   the body, hex compare. No parse.
// - http_message_signatures `httpbis.verifyMessage` (async) with an hmac-sha256 verifier on
//   node:crypto, plus the Content-Digest check a receiver must add for the body to be covered
//   (SHA-256 of the body with node:crypto). No parse.
// - node_hmac: the floor — one createHmac over `id.timestamp.` + body and a timingSafeEqual.
// - native_digests: the floor of `verify` — node_hmac, then the body's SHA-256 (createHash), the
//   two digests a verdict needs (its `payloadHash` and replay keys come from the SHA-256).
// - native_digests_parse: native_digests, then JSON.parse of the body (decoded from the Buffer):
//   the two digests and a parse at V8's speed with no schema, no boundary and no verdict. Over
//   stripe's row it is the most any verifier with syncgate's verdict could reach at that size
//   without parsing faster than V8 (the "ceiling" line of the ratios).
//
// Usage: node bench/verify.mjs [--time=1000] [--pkg=DIR] [--out=FILE] [--sizes=1k,16k,256k]
//   --pkg runs another build of the package (e.g. an older one, for a before/after table; rows
//   it cannot run are left out), --out writes the JSON elsewhere.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { createVerifier as hmsVerifier, httpbis } from "http-message-signatures";
import { verify as octokitVerify, sign as octokitSign } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { Webhook as SvixWebhook } from "svix";

import { featuresBody } from "./support/bodies.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, fallback) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
};
const CASE_MS = Number(arg("time", "1000"));
const pkgDir = resolve(root, arg("pkg", "pkg"));
const outFile = resolve(root, arg("out", join("target", "bench", "js.json")));
const SIZES = arg("sizes", "1k,16k,256k").split(",");

const require = createRequire(import.meta.url);
const sg = require(join(pkgDir, "syncgate.cjs"));

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const key = Buffer.from(secret.slice(6), "base64");
const kid = "acme-2026-11";
const policy = { instance: "acme-eu1", tenant: "acme", keys: [{ kid, version: 2, status: "active", secret }] };

/** A valid features payload of exactly `size` bytes (bench/support/bodies.mjs), as bytes. */
const featuresBodyBytes = (size) => Buffer.from(featuresBody(size, "acme", 1));

// Each case runs in ROUNDS slices interleaved with the other cases of its size, and the median
// slice counts: on a shared machine the load drifts, and interleaving spreads the drift over
// every case instead of favouring whichever ran in a quiet moment.
const ROUNDS = 5;

function sliceSync(fn, ms) {
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < until) {
    for (let i = 0; i < 8; i++) fn();
    n += 8;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

async function sliceAsync(fn, ms) {
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < until) {
    for (let i = 0; i < 8; i++) await fn();
    n += 8;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const isAsync = (fn) => fn.constructor.name === "AsyncFunction";
const slice = (fn, ms) => (isAsync(fn) ? sliceAsync(fn, ms) : sliceSync(fn, ms));

/** ops/s of each case: a warm-up slice each, then ROUNDS interleaved slices, median. */
async function measure(cases) {
  for (const [, fn] of cases) await slice(fn, Math.min(300, CASE_MS / 3));
  const samples = cases.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < cases.length; i++) samples[i].push(await slice(cases[i][1], CASE_MS / ROUNDS));
  }
  return Object.fromEntries(cases.map(([name], i) => {
    const sorted = samples[i].sort((a, b) => a - b);
    return [name, sorted[Math.floor(sorted.length / 2)]];
  }));
}

const must = (cond, what) => {
  if (!cond) throw new Error(`${what} failed`);
};

const results = {};
const started = Date.now();

// V8 first runs wasm in its baseline compiler and optimises hot functions in the background;
// on a busy machine that takes seconds. Run the package's paths for a while before timing.
{
  const body = featuresBodyBytes(16 * 1024);
  const now = Math.floor(Date.now() / 1000);
  const base = { method: "POST", url: "https://edge.example/v1/acme-eu1/sync", headers: { "content-type": "application/json" }, body };
  const requests = ["standard-webhooks", "rfc9421"].map((scheme) => {
    const s = sg.signRequest(base, { kid, secret }, { scheme, nowSeconds: now, nonce: "warm" });
    return { ...base, headers: { ...base.headers, ...s.headers } };
  });
  const v = typeof sg.createVerifier === "function" ? sg.createVerifier(policy) : null;
  const until = Date.now() + Math.min(3000, CASE_MS * 2);
  while (Date.now() < until) {
    for (const r of requests) {
      if (v) { v.verify(r, now); v.verifySignature(r, now); }
      sg.verifyRequest(r, policy, now);
    }
  }
  v?.free();
}
for (const size of SIZES) {
  const bytes = Number.parseInt(size, 10) * 1024;
  const body = featuresBodyBytes(bytes);
  const bodyText = body.toString("utf8");
  const check = sg.validatePayload(body);
  if (!check.ok) throw new Error(`${size} bench body is not a valid payload: ${JSON.stringify(check)}`);
  const now = Math.floor(Date.now() / 1000);
  const base = { method: "POST", url: "https://edge.example/v1/acme-eu1/sync", headers: { "content-type": "application/json" }, body };
  const sign = (scheme) => {
    const s = sg.signRequest(base, { kid, secret }, { scheme, nowSeconds: now, nonce: `msg_bench_${scheme}` });
    if (!s.ok) throw new Error(JSON.stringify(s));
    return { ...base, headers: { ...base.headers, ...s.headers } };
  };
  const wh = sign("standard-webhooks");
  const rfc = sign("rfc9421");
  const whHeaders = {
    "webhook-id": wh.headers["webhook-id"],
    "webhook-timestamp": wh.headers["webhook-timestamp"],
    "webhook-signature": wh.headers["webhook-signature"],
  };
  const expected = Buffer.from(whHeaders["webhook-signature"].slice(3), "base64");
  const standard = new StandardWebhook(secret);
  const svix = new SvixWebhook(secret);
  const stripe = new Stripe("sk_test_bench", { telemetry: false });
  const stripeHeader = stripe.webhooks.generateTestHeaderString({ payload: bodyText, secret, timestamp: now });
  const octokitSignature = await octokitSign(secret, bodyText);
  const hmsKey = { id: kid, algs: ["hmac-sha256"], verify: hmsVerifier(key, "hmac-sha256") };
  const hmsRequest = { method: rfc.method, url: rfc.url, headers: rfc.headers };
  const digestHeader = rfc.headers["content-digest"];
  const verifier = typeof sg.createVerifier === "function" ? sg.createVerifier(policy) : null;
  const nodeHmac = () => {
    const mac = createHmac("sha256", key).update(`${whHeaders["webhook-id"]}.${now}.`).update(body).digest();
    return timingSafeEqual(mac, expected);
  };

  const cases = [];
  if (verifier) {
    cases.push(
      ["syncgate", () => must(verifier.verify(wh, now).ok, "syncgate")],
      ["syncgate_payload_read", () => must(verifier.verify(wh, now).payload.features.modules !== undefined, "syncgate_payload_read")],
      ["syncgate_rfc9421", () => must(verifier.verify(rfc, now).ok, "syncgate_rfc9421")],
      ["syncgate_signature_only", () => must(verifier.verifySignature(wh, now).ok, "syncgate_signature_only")],
      ["syncgate_signature_only_rfc9421", () => must(verifier.verifySignature(rfc, now).ok, "syncgate_signature_only_rfc9421")],
    );
  } else {
    // An older package: its one-shot verifyRequest stands in for verify.
    cases.push(["syncgate", () => must(sg.verifyRequest(wh, policy, now).ok, "syncgate")]);
    cases.push(["syncgate_rfc9421", () => must(sg.verifyRequest(rfc, policy, now).ok, "syncgate_rfc9421")]);
  }
  cases.push(
    ["syncgate_verify_request", () => must(sg.verifyRequest(wh, policy, now).ok, "syncgate_verify_request")],
    ["standardwebhooks", () => standard.verify(body, whHeaders)],
    ["svix", () => svix.verify(body, whHeaders)],
    ["stripe", () => stripe.webhooks.constructEvent(body, stripeHeader, secret)],
    ["octokit", async () => must(await octokitVerify(secret, bodyText, octokitSignature), "octokit")],
    ["http_message_signatures", async () => {
      const digest = `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
      must(digest === digestHeader, "content-digest");
      must(await httpbis.verifyMessage({
        keyLookup: async (params) => (params.keyid === kid ? hmsKey : null),
        requiredParams: ["created", "nonce", "keyid"],
        requiredFields: ["@method", "@path", "content-digest"],
      }, hmsRequest), "http_message_signatures");
    }],
    ["node_hmac", () => must(nodeHmac(), "node_hmac")],
    ["native_digests", () => must(nodeHmac() && createHash("sha256").update(body).digest().length === 32, "native_digests")],
    ["native_digests_parse", () => must(nodeHmac() && createHash("sha256").update(body).digest().length === 32
      && JSON.parse(body.toString("utf8")).type === "features", "native_digests_parse")],
  );
  results[size] = await measure(cases);
  verifier?.free();
}
const seconds = (Date.now() - started) / 1000;

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify({ js: { verify_ops: results } }, null, 2)}\n`);

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i > 0 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i > 0 ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`);
  for (const r of rows) console.log(line(r));
  console.log();
}

console.log(`node ${process.version}, ${CASE_MS} ms per case, package ${pkgDir}, ${seconds.toFixed(1)} s\n`);
const names = [...new Set(SIZES.flatMap((s) => Object.keys(results[s])))];
console.log("ops/s (µs/op)\n");
table(["verifier", ...SIZES], names.map((n) => [n, ...SIZES.map((s) => (results[s][n] ? `${fmt(results[s][n])} (${(1e6 / results[s][n]).toFixed(1)})` : "-"))]));

const ratio = (s, a, b) => (results[s][a] && results[s][b] ? (results[s][a] / results[s][b]).toFixed(2) : "-");
console.log("ratios (× the peer; targets: verify ≥ 1.0 × stripe, standardwebhooks, svix; signature only ≥ 1.0 × octokit,");
console.log("http_message_signatures at 16k and 256k, ≥ 0.8 × node_hmac at 256k; native_digests_parse / stripe is the");
console.log("ceiling of verify / stripe for a verdict with the body's SHA-256 and a parse no faster than V8's)\n");
const pairs = [
  ["syncgate", "stripe"], ["syncgate", "standardwebhooks"], ["syncgate", "svix"],
  ["syncgate_payload_read", "stripe"], ["syncgate_payload_read", "standardwebhooks"], ["syncgate_payload_read", "svix"],
  ["syncgate_signature_only", "octokit"], ["syncgate_signature_only_rfc9421", "http_message_signatures"],
  ["syncgate_signature_only", "http_message_signatures"], ["syncgate_signature_only", "node_hmac"],
  ["syncgate_rfc9421", "stripe"],
  ["syncgate", "native_digests"], ["native_digests_parse", "stripe"],
];
table(["ratio", ...SIZES], pairs.map(([a, b]) => [`${a} / ${b}`, ...SIZES.map((s) => ratio(s, a, b))]));
console.log(`wrote ${outFile}`);
