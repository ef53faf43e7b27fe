#!/usr/bin/env node
// A loop of `verify` / `verifySignature` on one signed Standard Webhooks request, for
// `node --cpu-prof` (run it on a package that keeps its wasm names: `make pkg-named`).
// Not a benchmark: no timing is reported. Bounded: --ms (default 3000) per mode.
//
// Usage: node --cpu-prof --cpu-prof-dir=target/prof bench/profile-verify.mjs
//          [--pkg=target/pkg-named] [--size=1k] [--mode=verify|signature|both|read] [--ms=3000]
//        node bench/cpuprofile-top.mjs target/prof/*.cpuprofile

import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { featuresBody } from "./support/bodies.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, fallback) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
};
const sg = createRequire(import.meta.url)(join(resolve(root, arg("pkg", "target/pkg-named")), "syncgate.cjs"));
const size = Number.parseInt(arg("size", "1k"), 10) * 1024;
const mode = arg("mode", "both");
const ms = Number(arg("ms", "3000"));

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const kid = "acme-2026-11";
const policy = { instance: "acme-eu1", tenant: "acme", keys: [{ kid, version: 2, status: "active", secret }] };
const now = Math.floor(Date.now() / 1000);
const base = {
  method: "POST",
  url: "https://edge.example/v1/acme-eu1/sync",
  headers: { "content-type": "application/json" },
  body: Buffer.from(featuresBody(size, "acme", 1)),
};
const s = sg.signRequest(base, { kid, secret }, { scheme: "standard-webhooks", nowSeconds: now, nonce: "msg_profile" });
if (!s.ok) throw new Error(JSON.stringify(s));
const request = { ...base, headers: { ...base.headers, ...s.headers } };
const verifier = sg.createVerifier(policy);

function loop(name, fn) {
  let n = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    for (let i = 0; i < 64; i++) if (!fn().ok) throw new Error(`${name} failed`);
    n += 64;
  }
  console.log(`${name}: ${n} calls`);
}
if (mode === "verify" || mode === "both") loop("verify", () => verifier.verify(request, now));
if (mode === "read") loop("verify+payload", () => { const v = verifier.verify(request, now); return v.payload.features && v; });
if (mode === "signature" || mode === "both") loop("verifySignature", () => verifier.verifySignature(request, now));
verifier.free();
