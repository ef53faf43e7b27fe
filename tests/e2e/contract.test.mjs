// The contract check itself (support/contract.mjs), without a gateway: it accepts answers that
// follow openapi.yaml and refuses each kind of mismatch, so the suites' check can fail.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ContractValidator, routedPath } from "./support/contract.mjs";

const validator = ContractValidator.load();
const requestId = "req_0123456789abcdef01234567";
const headers = (extra = {}) => (name) => ({ "x-request-id": requestId, ...extra })[name.toLowerCase()];
const problem = (code, status, extra = {}) => JSON.stringify({
  type: `urn:syncgate:problem:${code}`, title: "t", status, code, detail: "d", requestId, retryable: false, ...extra,
});
const applied = { status: "applied", requestId, payloadType: "branding", payloadVersion: 3, keyId: "acme-2026-11" };
const check = (answer) => validator.check({ method: "POST", target: "http://127.0.0.1:1/v1/acme-eu1/sync", status: 200,
  contentType: "application/json", header: headers(), ...answer });

test("answers that follow the spec pass", () => {
  assert.deepEqual(check({ body: JSON.stringify(applied) }).errors, []);
  assert.equal(check({ status: 401, contentType: "application/problem+json", body: problem("invalid_signature", 401) }).ok, true);
  const health = validator.check({ method: "GET", target: "/v1/acme-eu1/sync/health/", status: 200, contentType: "application/json; charset=utf-8",
    header: headers(), body: JSON.stringify({ enabled: true, tenant: "acme", schemes: ["rfc9421"], keyIds: ["k1"], skewSeconds: 300 }) });
  assert.deepEqual(health.errors, []);
  assert.equal(health.route, "GET /v1/{instance}/sync/health");
  const unrouted = validator.check({ method: "DELETE", target: "/v1/acme-eu1/sync", status: 404, contentType: "application/problem+json",
    header: headers(), body: problem("not_found", 404) });
  assert.deepEqual(unrouted.errors, []);
  const adminUnrouted = validator.check({ method: "GET", target: "/admin/v1/instances/acme-eu1/nope", status: 401,
    contentType: "application/problem+json", header: headers(), body: problem("unauthorized", 401) });
  assert.deepEqual(adminUnrouted.errors, []);
});

test("a wrong body is refused with the schema error", () => {
  const result = check({ body: JSON.stringify({ ...applied, payloadVersion: "3" }) });
  assert.equal(result.ok, false);
  assert.match(result.errors.join("; "), /\/payloadVersion must be integer/);
  assert.equal(result.route, "POST /v1/{instance}/sync");
  assert.equal(check({ body: JSON.stringify({ ...applied, secret: "whsec_x" }) }).ok, false, "an undocumented member");
  assert.equal(check({ body: "not json" }).ok, false);
});

test("a problem whose code does not go with its status is refused", () => {
  assert.equal(check({ status: 401, contentType: "application/problem+json", body: problem("not_found", 401) }).ok, false);
  assert.equal(check({ status: 401, contentType: "application/problem+json", body: problem("invalid_signature", 400) }).ok, false);
  assert.equal(check({ status: 401, contentType: "application/problem+json", body: problem("no_such_code", 401) }).ok, false);
});

test("undocumented statuses, content types, routes and missing headers are refused", () => {
  assert.match(check({ status: 500, contentType: "application/problem+json", body: problem("internal_error", 500) }).errors[0], /status 500 is not documented/);
  assert.match(check({ status: 401, contentType: "application/json", body: problem("invalid_signature", 401) }).errors[0], /content type application\/json/);
  assert.match(check({ header: () => undefined, body: JSON.stringify(applied) }).errors[0], /X-Request-Id is required/);
  const unrouted = validator.check({ method: "GET", target: "/v2/whatever", status: 200, contentType: "application/json", header: headers(), body: "{}" });
  assert.equal(unrouted.ok, false);
  assert.match(unrouted.route, /no operation/);
  const unroutedCode = validator.check({ method: "GET", target: "/v2/whatever", status: 404, contentType: "application/problem+json",
    header: headers(), body: problem("invalid_signature", 404) });
  assert.equal(unroutedCode.ok, false, "an unrouted answer is not_found or unknown_instance");
});

test("paths are matched as the edge routes them", () => {
  assert.equal(routedPath("http://127.0.0.1:8787//v1/a-b/sync/?x=1"), "/v1/a-b/sync");
  assert.equal(routedPath("/admin/v1/instances/a-b/keys/k1"), "/admin/v1/instances/a-b/keys/k1");
  assert.equal(validator.match("PATCH", "/admin/v1/instances/a-b/keys/k1").template, "/admin/v1/instances/{instance}/keys/{kid}");
  assert.equal(validator.match("GET", "/v1/a-b/customers/c1").template, "/v1/{instance}/customers/{id}");
});

test("every response schema in openapi.yaml compiles (ajv 2020, strict)", () => {
  assert.ok(ContractValidator.load().compileAll() >= 100);
});
