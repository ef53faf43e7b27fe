#!/usr/bin/env node
// Throughput of `verifyRequest` (pkg/, Node) next to the npm Standard Webhooks verifiers and a
// node:crypto floor, on the same signed requests, in one run. A benchmark, not a test:
// `make bench` runs it; nothing asserts a speed.
//
// Bodies are valid sync payloads padded to size with many modules / a long footer, then JSON
// whitespace to the exact byte count: 1 KiB and 256 KiB (262,144 bytes, the default
// `maxBodyBytes`, so the largest body a tenant accepts by default).
//
// What each row does per operation:
// - syncgate (standard-webhooks | rfc9421): the full stateless check — headers, timestamp,
//   key, Content-Digest (rfc9421), HMAC, JSON parse, schema validation, tenant and scope — plus
//   copying the body into wasm memory and the verdict (with the parsed payload) back out.
// - standardwebhooks / svix `Webhook.verify`: timestamp, HMAC (pure-JS SHA-256), constant-time
//   compare, then JSON.parse of the body (their default). No schema.
// - part: rows time two pieces of a syncgate verify on their own (payload parse + schema with
//   the payload returned to JS; one SHA-256 of the body), to show where the time goes.
// - node:crypto createHmac: the floor — one native HMAC-SHA256 over `id.timestamp.body` and a
//   timingSafeEqual. No parse, no schema.
//
// Usage: node bench/verify.mjs [--time=1000] (milliseconds per case)

import { createHmac, timingSafeEqual } from "node:crypto";
import { createRequire } from "node:module";

import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";

const require = createRequire(import.meta.url);
const { contentDigest, signRequest, validatePayload, verifyRequest } = require("../pkg/syncgate.cjs");

const timeArg = process.argv.find((a) => a.startsWith("--time="));
const CASE_MS = timeArg ? Number(timeArg.slice("--time=".length)) : 1000;

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const key = Buffer.from(secret.slice(6), "base64");
const policy = {
  instance: "acme-eu1",
  tenant: "acme",
  keys: [{ kid: "acme-2026-11", version: 2, status: "active", secret }],
};

/** A valid features payload of exactly `size` bytes: modules with long permissions, then spaces. */
function featuresBody(size) {
  const perm = (i, j) => `p${i}.${j}.${"x".repeat(100)}`;
  const modules = [];
  const payload = { type: "features", tenant: "acme", version: 1, features: { plan: "pro", modules, planDefaults: { pro: [] } } };
  for (let i = 0; ; i++) {
    const module = { key: `crm.m${i}`, group: "crm", permissions: Array.from({ length: 16 }, (_, j) => perm(i, j)) };
    modules.push(module);
    payload.features.planDefaults.pro.push(module.key);
    if (JSON.stringify(payload).length > size) {
      modules.pop();
      payload.features.planDefaults.pro.pop();
      break;
    }
  }
  return pad(JSON.stringify(payload), size);
}

/** A valid branding payload of exactly `size` bytes (small sizes): footer text and a link, then spaces. */
function brandingBody(size) {
  const footer = { text: "Acme Travel, since 1987. ".repeat(20).slice(0, 500).trim(), links: [] };
  const payload = { type: "branding", tenant: "acme", version: 1, branding: { title: "Acme Travel", primaryColor: "#1f6feb", footer } };
  const link = { label: "Privacy", url: "https://acme.test/" };
  const room = size - JSON.stringify(payload).length - JSON.stringify(link).length;
  if (room > 0) footer.links.push({ ...link, url: `${link.url}${"p".repeat(Math.min(room, 2000))}` });
  return pad(JSON.stringify(payload), size);
}

function pad(json, size) {
  if (json.length > size) throw new Error(`payload is ${json.length} bytes, over ${size}`);
  return Buffer.from(json + " ".repeat(size - json.length));
}

function bench(fn) {
  const warm = Date.now() + Math.min(200, CASE_MS / 5);
  while (Date.now() < warm) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(CASE_MS) * 1_000_000n;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 8; i++) fn();
    n += 8;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const rows = [];
for (const [label, body] of [["1 KiB", brandingBody(1024)], ["256 KiB", featuresBody(256 * 1024)]]) {
  const check = validatePayload(body);
  if (!check.ok) throw new Error(`${label} bench body is not a valid payload: ${JSON.stringify(check)}`);
  const now = Math.floor(Date.now() / 1000);
  const base = { method: "POST", url: "https://edge.example/v1/acme-eu1/sync", headers: { "content-type": "application/json" }, body };
  const sign = (scheme) => {
    const s = signRequest(base, { kid: "acme-2026-11", secret }, { scheme, nowSeconds: now, nonce: `msg_bench_${scheme}` });
    if (!s.ok) throw new Error(JSON.stringify(s));
    return { ...base, headers: { ...base.headers, ...s.headers } };
  };
  const wh = sign("standard-webhooks");
  const rfc = sign("rfc9421");
  const whHeaders = { "webhook-id": wh.headers["webhook-id"], "webhook-timestamp": wh.headers["webhook-timestamp"], "webhook-signature": wh.headers["webhook-signature"] };
  const expected = Buffer.from(whHeaders["webhook-signature"].slice(3), "base64");
  const standard = new StandardWebhook(secret);
  const svix = new SvixWebhook(secret);

  const cases = [
    ["syncgate verifyRequest (standard-webhooks)", () => { if (!verifyRequest(wh, policy, now).ok) throw new Error("verify failed"); }],
    ["syncgate verifyRequest (rfc9421)", () => { if (!verifyRequest(rfc, policy, now).ok) throw new Error("verify failed"); }],
    ["standardwebhooks Webhook.verify", () => standard.verify(body, whHeaders)],
    ["svix Webhook.verify", () => svix.verify(body, whHeaders)],
    ["  part: syncgate validatePayload (parse + schema)", () => { if (!validatePayload(body).ok) throw new Error("invalid"); }],
    ["  part: syncgate contentDigest (SHA-256 of the body)", () => contentDigest(body)],
    ["node:crypto createHmac (floor)", () => {
      const mac = createHmac("sha256", key).update(`${whHeaders["webhook-id"]}.${now}.`).update(body).digest();
      if (!timingSafeEqual(mac, expected)) throw new Error("hmac mismatch");
    }],
  ];
  const results = cases.map(([name, fn]) => ({ name, ops: bench(fn) }));
  const std = results.find((r) => r.name.startsWith("standardwebhooks")).ops;
  const floor = results.find((r) => r.name.startsWith("node:crypto")).ops;
  for (const r of results) rows.push({ size: `${label} (${body.length} B)`, ...r, vsStd: r.ops / std, vsFloor: r.ops / floor });
}

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
const header = ["body", "verifier", "ops/s", "µs/op", "× standardwebhooks", "× createHmac"];
const table = rows.map((r) => [r.size, r.name, fmt(r.ops), (1e6 / r.ops).toFixed(1), r.vsStd.toFixed(2), r.vsFloor.toFixed(2)]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
console.log(`node ${process.version}, ${CASE_MS} ms per case\n`);
console.log(line(header));
console.log(`|${widths.map((w, i) => (i >= 2 ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`);
for (const row of table) console.log(line(row));
console.log("\nsyncgate rows do the full stateless check (digest, HMAC, parse, schema, scope) and return the parsed payload;");
console.log("the npm verifiers do HMAC + JSON.parse; createHmac is HMAC only. `part:` rows time pieces of a syncgate verify.");
