#!/usr/bin/env node
// `make dev` for now: sign a sync payload with the npm package in pkg/, verify it, and show
// what the edge would answer — then the same request tampered with, and replayed late.
// (A later issue turns `make dev` into the real gateway: wrangler dev + the reference origin.)

import { randomBytes } from "node:crypto";

import { contentDigest, recomputeModules, signRequest, verifyRequest } from "../pkg/syncgate.mjs";

const secret = `whsec_${randomBytes(32).toString("base64")}`;
const policy = {
  instance: "acme-eu1",
  tenant: "acme",
  schemes: ["rfc9421", "standard-webhooks"],
  keys: [{ kid: "acme-2026-11", version: 2, status: "active", secret }],
};
const payload = {
  type: "combined",
  tenant: "acme",
  version: 17,
  features: {
    plan: "pro",
    modules: [
      { key: "crm.core", group: "crm", permissions: ["crm.access"] },
      { key: "crm.customers", group: "crm", requires: ["crm.core"], permissions: ["customers.read", "customers.write"] },
      { key: "sales.pipeline", group: "sales", permissions: ["deals.read"] },
    ],
    planDefaults: { pro: ["crm.core", "crm.customers"] },
    overrides: { "sales.pipeline": true },
  },
  branding: { title: "Acme Travel", primaryColor: "#1f6feb" },
};
const body = JSON.stringify(payload);
const request = {
  method: "POST",
  url: "http://127.0.0.1:8787/v1/acme-eu1/sync",
  headers: { "content-type": "application/json" },
  body,
};
const now = Math.floor(Date.now() / 1000);

const show = (title, value) => console.log(`\n${title}\n${JSON.stringify(value, null, 2)}`);

for (const scheme of ["rfc9421", "standard-webhooks"]) {
  const signed = signRequest(request, { kid: "acme-2026-11", secret }, { scheme, nowSeconds: now });
  if (!signed.ok) {
    show(`signRequest (${scheme}) failed`, signed);
    process.exit(1);
  }
  const sent = { ...request, headers: { ...request.headers, ...signed.headers } };
  show(`${scheme}: headers added by signRequest`, signed.headers);
  const verdict = verifyRequest(sent, policy, now);
  const { payload: _payload, ...summary } = verdict;
  show(`${scheme}: verifyRequest →`, summary);
  if (!verdict.ok) process.exit(1);

  const tampered = verifyRequest({ ...sent, body: body.replace("Acme Travel", "Evil Corp") }, policy, now);
  show(`${scheme}: the same request with a tampered body →`, tampered);
  const late = verifyRequest(sent, policy, now + 3600);
  show(`${scheme}: the same request an hour later →`, late);
}

show("recomputeModules(features) →", recomputeModules(payload.features));
console.log(`\ncontentDigest(body) = ${contentDigest(body)}`);
