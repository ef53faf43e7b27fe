// The read routes are metered, end to end (the worker in workerd via Miniflare, the reference
// origin): sync/status, sync/logs and bootstrap take a token from the API key's bucket and from
// the tenant's; a refusal is 429 rate_limited with Retry-After, and every metered answer carries
// RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { branding, expectProblem, startGateway } from "./support/harness.mjs";

let gw;
before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

const ROUTES = ["sync/status", "sync/logs", "bootstrap"];
let counter = 0;
async function tenant(rateLimits) {
  counter += 1;
  const t = await gw.createInstance(`rl-t${counter}`, `rl${counter}`, { rateLimits });
  assert.equal((await gw.sync(t.instance, branding(t.tenant, 1), t.key)).status, 200);
  return t;
}

/** Asserts the draft's headers on a metered answer; returns the remaining quota it states. */
function rateLimitHeaders(res, quota, where) {
  const policy = res.headers.get("ratelimit-policy");
  const state = res.headers.get("ratelimit");
  assert.ok(policy, `${where}: RateLimit-Policy present`);
  assert.ok(state, `${where}: RateLimit present`);
  // Structured-field form of the draft: `"name";q=<quota>;w=<window>` and `"name";r=<remaining>;t=<reset>`.
  assert.match(policy, new RegExp(`(^|[;,\\s])q=${quota}(;|,|$)`), `${where}: RateLimit-Policy names the quota ${quota}: ${policy}`);
  assert.match(policy, /(^|;)w=60(;|,|$)/, `${where}: per-minute window: ${policy}`);
  // With a key and a tenant policy both listed, the tighter one is what is left.
  const remaining = [...state.matchAll(/(?:^|;)r=(\d+)/g)].map((m) => Number(m[1]));
  assert.ok(remaining.length > 0, `${where}: RateLimit states the remaining quota: ${state}`);
  assert.match(state, /(^|;)t=\d+/, `${where}: RateLimit states the reset: ${state}`);
  return Math.min(...remaining);
}

describe("read routes are metered", () => {
  for (const route of ROUTES) {
    test(`a key limited to 5 a minute: 10 quick calls to ${route} → 429 with Retry-After, headers on every metered answer`, async () => {
      const t = await tenant({ perKeyPerMinute: 5, perTenantPerMinute: 1000 });
      const key = await gw.apiKey(t.instance, ["sync:read"]);
      const started = Date.now();
      const answers = [];
      for (let i = 0; i < 10; i++) {
        const res = await gw.get(`/v1/${t.instance}/${route}`, key);
        answers.push(res);
        if (res.status === 200) await res.arrayBuffer();
      }
      const statuses = answers.map((r) => r.status);
      // 5 tokens, refilled at one per 12 s: 5 pass, plus one per 12 s the loop took.
      const refilled = Math.floor((Date.now() - started) / 12000);
      const passed = statuses.filter((s) => s === 200).length;
      assert.ok(passed >= 5 && passed <= 5 + refilled, `${passed} of 10 passed: ${statuses}`);
      assert.deepEqual(statuses.filter((s) => s !== 200 && s !== 429), [], `only 200 and 429: ${statuses}`);
      let last = Infinity;
      for (const [i, res] of answers.entries()) {
        const remaining = rateLimitHeaders(res, 5, `${route} call ${i + 1} (${res.status})`);
        if (res.status === 200) {
          assert.ok(remaining <= last, `remaining does not grow: ${remaining} after ${last}`);
          last = remaining;
        }
        if (res.status === 429) {
          const problem = await expectProblem(assert, res, 429, "rate_limited");
          const retryAfter = Number(res.headers.get("retry-after"));
          assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers.get("retry-after")}`);
          if (problem.retryAfter !== undefined) assert.equal(problem.retryAfter, retryAfter);
          assert.equal(remaining, 0, "a refused answer states 0 remaining");
        }
      }
      // Another key of the same tenant has its own bucket.
      const other = await gw.apiKey(t.instance, ["sync:read"]);
      const res = await gw.get(`/v1/${t.instance}/${route}`, other);
      assert.equal(res.status, 200);
    });
  }

  test("the tenant's bucket limits all its keys together, on every read route", async () => {
    const t = await tenant({ perKeyPerMinute: 1000, perTenantPerMinute: 5 });
    const keys = [];
    for (let i = 0; i < 3; i++) keys.push(await gw.apiKey(t.instance, ["sync:read"]));
    const statuses = [];
    for (let i = 0; i < 12; i++) {
      const res = await gw.get(`/v1/${t.instance}/${ROUTES[i % 3]}`, keys[i % keys.length]);
      statuses.push(res.status);
      if (res.status === 429) {
        await expectProblem(assert, res, 429, "rate_limited");
        assert.ok(Number(res.headers.get("retry-after")) >= 1);
      } else await res.arrayBuffer();
      assert.ok(res.headers.get("ratelimit-policy") && res.headers.get("ratelimit"), `call ${i + 1}: rate-limit headers`);
    }
    assert.ok(statuses.filter((s) => s === 429).length >= 5, `tenant bucket ran out: ${statuses}`);
    // Another tenant is not affected.
    const u = await tenant({ perKeyPerMinute: 1000, perTenantPerMinute: 5 });
    const key = await gw.apiKey(u.instance, ["sync:read"]);
    assert.equal((await gw.get(`/v1/${u.instance}/sync/status`, key)).status, 200);
  });

  test("a refused key recovers after Retry-After", async () => {
    const t = await tenant({ perKeyPerMinute: 5, perTenantPerMinute: 1000 });
    const key = await gw.apiKey(t.instance, ["sync:read"]);
    let limited;
    for (let i = 0; i < 10 && !limited; i++) {
      const res = await gw.get(`/v1/${t.instance}/sync/status`, key);
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    assert.ok(limited, "ran out");
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 13, `Retry-After ${retryAfter} (one token per 12 s)`);
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
    assert.equal((await gw.get(`/v1/${t.instance}/sync/status`, key)).status, 200, "recovered");
  });

  test("unauthenticated reads are refused before any bucket: they use no one's quota", async () => {
    const t = await tenant({ perKeyPerMinute: 5, perTenantPerMinute: 5 });
    for (let i = 0; i < 20; i++) {
      const res = await gw.get(`/v1/${t.instance}/sync/status`, "sgk_0000000000000000_" + "0".repeat(64));
      await expectProblem(assert, res, 401, "unauthorized");
    }
    const key = await gw.apiKey(t.instance, ["sync:read"]);
    assert.equal((await gw.get(`/v1/${t.instance}/sync/status`, key)).status, 200, "the tenant's bucket is untouched");
  });
});
