// Shared test data: a tenant policy with a key ring, valid sync payloads, request builders.

import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { root } from "./package.mjs";

/** A deterministic `whsec_` secret (32 key bytes) derived from a label. */
export function secretFor(label) {
  return `whsec_${createHash("sha256").update(label).digest("base64")}`;
}

/** The HMAC key bytes of a `whsec_` secret. */
export function keyBytes(secret) {
  return Buffer.from(secret.slice("whsec_".length), "base64");
}

export const ACTIVE = { kid: "acme-2026-11", version: 2, status: "active", secret: secretFor("acme active") };
export const RETIRING = { kid: "acme-2026-05", version: 1, status: "retiring", secret: secretFor("acme retiring") };
export const REVOKED = { kid: "acme-2025-11", version: 0, status: "revoked", secret: secretFor("acme revoked") };
export const OTHER_TENANT = { kid: "globex-2026-11", version: 1, status: "active", secret: secretFor("globex") };

/** The tenant policy of brief §3, with plaintext secrets. */
export function policy(overrides = {}) {
  return {
    instance: "acme-eu1",
    tenant: "acme",
    enabled: true,
    schemes: ["rfc9421", "standard-webhooks"],
    keys: [ACTIVE, RETIRING, REVOKED],
    skewSeconds: 300,
    maxBodyBytes: 262144,
    ...overrides,
  };
}

export const globexPolicy = () => ({
  instance: "globex-us1", tenant: "globex", keys: [OTHER_TENANT],
});

/** A small valid branding payload. */
export function brandingPayload(version = 1, tenant = "acme") {
  return { type: "branding", tenant, version, branding: { title: "Acme" } };
}

/** A valid features payload, written in the normalised form the core echoes back (every
 * optional list present), so a verdict's `payload` deep-equals it. */
export function featuresPayload(version = 1, tenant = "acme") {
  return {
    type: "features",
    tenant,
    version,
    features: {
      plan: "pro",
      modules: [
        { key: "crm.core", group: "crm", requires: [], permissions: ["crm.access"] },
        { key: "crm.customers", group: "crm", requires: ["crm.core"], permissions: ["customers.read", "customers.write"] },
        { key: "crm.reports", group: "reports", requires: ["crm.customers"], permissions: ["reports.read"] },
        { key: "sales.pipeline", group: "sales", requires: [], permissions: ["deals.read"] },
      ],
      planDefaults: { pro: ["crm.core", "crm.customers", "crm.reports"] },
      overrides: { "sales.pipeline": true },
    },
  };
}

export const URL_SYNC = "https://edge.example/v1/acme-eu1/sync";

/** An unsigned sync request for a JSON body (string). */
export function syncRequest(payload = brandingPayload(), extraHeaders = {}) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  return {
    method: "POST",
    url: URL_SYNC,
    headers: { "content-type": "application/json", ...extraHeaders },
    body,
  };
}

/** The request with headers added. */
export function withHeaders(request, headers) {
  return { ...request, headers: { ...request.headers, ...headers } };
}

/** RFC 9530 Content-Digest computed with Node's crypto (independent of the package). */
export function nodeContentDigest(body) {
  return `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
}

/** A Standard Webhooks v1 signature computed with Node's crypto (independent of the package). */
export function nodeWebhookSignature(secret, id, timestamp, body) {
  const mac = createHmac("sha256", keyBytes(secret)).update(`${id}.${timestamp}.`).update(body);
  return `v1,${mac.digest("base64")}`;
}

/** tests/vectors/public.json. */
export function publicVectors() {
  return JSON.parse(readFileSync(join(root, "tests", "vectors", "public.json"), "utf8"));
}
