// Concurrent admin writes on one instance, end to end (the worker in workerd via Miniflare, local
// KV and Durable Objects, the reference origin): no write answered 2xx is lost, a revocation is
// never undone by another write, the edge refuses a revoked key as soon as the admin answer is
// in, and If-Match guards a write with a stale ETag.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { branding, expectProblem, startGateway, whsec } from "./support/harness.mjs";

const ROUNDS = Number(process.env.ADMIN_RACE_ROUNDS ?? 20);
// Every few rounds a (sequential) PUT drops the revoked and retiring keys, so the ring stays
// under the 16-key limit however many rounds run.
const COMPACT_EVERY = 3;

let gw;
before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

const ok2xx = (status) => status >= 200 && status < 300;
const key = (kid, version, status = "active") => ({ kid, version, status, secret: whsec() });

async function policy(instance) {
  const res = await gw.admin("GET", instance);
  assert.equal(res.status, 200);
  return { etag: res.headers.get("etag"), body: await res.json() };
}

const statusOf = (view, kid) => view.keys.find((k) => k.kid === kid)?.status;

async function answer(promise) {
  const res = await promise;
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, etag: res.headers.get("etag"), body };
}

describe("admin writes under concurrency", () => {
  test(`${ROUNDS} rounds of concurrent revoke, add-key, retire and API-key writes: every 2xx write is kept, no revocation undone`, async () => {
    const instance = "race-one";
    const tenant = "race";
    const base = key("race-base", 1);
    let victim = key("race-v0", 2);
    const created = await gw.createInstance(instance, tenant, { keys: [base, victim] });
    assert.equal(created.instance, instance);
    const reader = await gw.apiKey(instance, ["sync:read"]);
    let previousApiKey = null;
    const revoked = []; // every kid ever revoked
    const expectedStatus = new Map([[base.kid, "active"], [victim.kid, "active"]]);
    let version = 0;
    const secrets = new Map([[base.kid, base], [victim.kid, victim]]);

    for (let round = 1; round <= ROUNDS; round++) {
      const added = key(`race-n${round}`, 100 + round);
      const retiringAdd = key(`race-x${round}`, 200 + round, "retiring");
      secrets.set(added.kid, added);
      secrets.set(retiringAdd.kid, retiringAdd);
      const writes = {
        revoke: gw.admin("PATCH", `${instance}/keys/${victim.kid}`, { status: "revoked" }),
        add: gw.admin("POST", `${instance}/keys`, added),
        addRetiring: gw.admin("POST", `${instance}/keys`, retiringAdd),
        // Races the revocation: it may land first (then the revoke wins) or after (then it is
        // refused, since a revoked key stays revoked). Either way the key ends revoked.
        retireVictim: gw.admin("PATCH", `${instance}/keys/${victim.kid}`, { status: "retiring" }),
        apiKey: gw.admin("POST", `${instance}/api-keys`, { scopes: ["sync:read"], name: `round ${round}` }),
        ...(previousApiKey ? { dropApiKey: gw.admin("DELETE", `${instance}/api-keys/${previousApiKey.id}`) } : {}),
      };
      const names = Object.keys(writes);
      const answers = Object.fromEntries(
        (await Promise.all(Object.values(writes).map(answer))).map((a, i) => [names[i], a]),
      );
      for (const name of ["revoke", "add", "addRetiring", "apiKey", "dropApiKey"]) {
        if (!answers[name]) continue;
        assert.ok(ok2xx(answers[name].status), `round ${round} ${name}: ${answers[name].status} ${JSON.stringify(answers[name].body)}`);
      }
      const retire = answers.retireVictim;
      assert.ok(ok2xx(retire.status) || retire.status === 422 || retire.status === 409,
        `round ${round} retire: ${retire.status} ${JSON.stringify(retire.body)}`);
      if (retire.status === 422) assert.equal(retire.body.code, "invalid_field");

      revoked.push(victim.kid);
      expectedStatus.set(victim.kid, "revoked");
      expectedStatus.set(added.kid, "active");
      expectedStatus.set(retiringAdd.kid, "retiring");

      // The final policy reflects every 2xx write.
      const { body: view } = await policy(instance);
      for (const [kid, status] of expectedStatus) {
        assert.equal(statusOf(view, kid), status, `round ${round}: ${kid} is ${status} (${JSON.stringify(view.keys.map((k) => [k.kid, k.status]))})`);
      }
      for (const kid of revoked) {
        const now = statusOf(view, kid);
        assert.ok(now === undefined || now === "revoked", `round ${round}: revoked ${kid} is back as ${now}`);
      }

      // The edge refuses the revoked key (both schemes) and accepts the added ones.
      for (const scheme of ["rfc9421", "standard-webhooks"]) {
        const refused = await gw.sync(instance, branding(tenant, ++version), victim, { scheme });
        await expectProblem(assert, refused, 401, "revoked_key");
      }
      const viaAdded = await gw.sync(instance, branding(tenant, ++version), added);
      assert.equal(viaAdded.status, 200, `round ${round}: the added key signs (${await viaAdded.clone().text()})`);
      const viaRetiring = await gw.sync(instance, branding(tenant, ++version), retiringAdd, { scheme: "standard-webhooks" });
      assert.equal(viaRetiring.status, 200, `round ${round}: the added retiring key verifies`);

      // API keys: the new one reads, the dropped one does not.
      const fresh = answers.apiKey.body;
      assert.equal((await gw.get(`/v1/${instance}/sync/status`, fresh.key)).status, 200);
      if (previousApiKey) {
        await expectProblem(assert, await gw.get(`/v1/${instance}/sync/status`, previousApiKey.key), 401, "unauthorized");
      }
      previousApiKey = fresh;
      victim = added;

      if (round % COMPACT_EVERY === 0 && round < ROUNDS) {
        // Drop the revoked and retiring keys (a plain replacement of the ring).
        const keep = [...expectedStatus].filter(([, s]) => s === "active").map(([kid]) => secrets.get(kid));
        const put = await gw.admin("PUT", instance, { instance, tenant, origin: gw.origin.url, keys: keep });
        assert.ok(ok2xx(put.status), `compaction PUT: ${put.status} ${await put.text()}`);
        for (const [kid, s] of [...expectedStatus]) if (s !== "active") expectedStatus.delete(kid);
        const { body: compacted } = await policy(instance);
        for (const kid of revoked) {
          const now = statusOf(compacted, kid);
          assert.ok(now === undefined || now === "revoked", `after compaction: revoked ${kid} is ${now}`);
        }
      }
    }
    // A revoked kid stays unusable whatever happened to the ring since.
    for (const kid of revoked) {
      const res = await gw.sync(instance, branding(tenant, ++version), secrets.get(kid));
      assert.equal(res.status, 401, `revoked ${kid} refused`);
      const body = await res.json();
      assert.ok(["revoked_key", "unknown_key"].includes(body.code), body.code);
    }
    assert.equal((await gw.get(`/v1/${instance}/sync/status`, reader)).status, 200);
  });

  test("a PUT listing a revoked key as active does not bring it back", async () => {
    const instance = "race-put";
    const tenant = "raceput";
    const base = key("rp-base", 1);
    const victim = key("rp-victim", 2);
    await gw.createInstance(instance, tenant, { keys: [base, victim] });
    assert.equal((await gw.admin("PATCH", `${instance}/keys/${victim.kid}`, { status: "revoked" })).status, 200);
    const put = await answer(gw.admin("PUT", instance, { instance, tenant, origin: gw.origin.url, keys: [base, victim] }));
    const { body: view } = await policy(instance);
    const res = await gw.sync(instance, branding(tenant, 1), victim);
    const facts = { put: put.status, statusAfterPut: statusOf(view, victim.kid), syncWithRevokedKey: res.status };
    assert.ok(facts.statusAfterPut !== "active" && res.status === 401, `a revocation undone by a PUT: ${JSON.stringify(facts)}`);
  });

  test(`${ROUNDS} rounds of a revocation racing a replacement that lists the key as active: the key ends revoked`, async () => {
    const instance = "race-putrev";
    const tenant = "raceputrev";
    const base = key("pr-base", 1);
    await gw.createInstance(instance, tenant, { keys: [base] });
    let version = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const victim = key(`pr-v${round}`, 10 + round);
      // Start each round from a ring of two active keys (earlier victims dropped).
      const reset = await gw.admin("PUT", instance, { instance, tenant, origin: gw.origin.url, keys: [base, victim] });
      assert.ok(ok2xx(reset.status), `round ${round} reset: ${reset.status} ${await reset.text()}`);
      const [revoke, put] = await Promise.all([
        answer(gw.admin("PATCH", `${instance}/keys/${victim.kid}`, { status: "revoked" })),
        answer(gw.admin("PUT", instance, { instance, tenant, origin: gw.origin.url, keys: [base, victim] })),
      ]);
      assert.equal(revoke.status, 200, `round ${round} revoke: ${JSON.stringify(revoke.body)}`);
      const { body: view } = await policy(instance);
      const res = await gw.sync(instance, branding(tenant, ++version), victim);
      const facts = { round, put: put.status, status: statusOf(view, victim.kid), sync: res.status };
      assert.ok(facts.status !== "active" && res.status === 401, `revocation undone: ${JSON.stringify(facts)}`);
      assert.equal((await gw.sync(instance, branding(tenant, ++version), base)).status, 200, "the other key still signs");
    }
  });

  test("ten concurrent key additions: each one answered 201 is in the policy", async () => {
    const instance = "race-adds";
    const tenant = "raceadds";
    await gw.createInstance(instance, tenant);
    const keys = Array.from({ length: 10 }, (_, i) => key(`ra-${i}`, 10 + i));
    const answers = await Promise.all(keys.map((k) => answer(gw.admin("POST", `${instance}/keys`, k))));
    for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
    const { body: view } = await policy(instance);
    for (const k of keys) assert.equal(statusOf(view, k.kid), "active", `${k.kid} kept`);
    for (const [i, k] of keys.entries()) {
      assert.equal((await gw.sync(instance, branding(tenant, i + 1), k)).status, 200, `${k.kid} signs`);
    }
  });
});

describe("ETag and If-Match", () => {
  test("admin answers carry ETag; a write with a stale If-Match is 412 precondition_failed and changes nothing", async () => {
    const instance = "race-etag";
    const tenant = "raceetag";
    const base = key("re-base", 1);
    await gw.createInstance(instance, tenant, { keys: [base] });
    const first = await policy(instance);
    assert.match(first.etag ?? "", /^"\d+"$/, "GET answers ETag \"<n>\"");

    const added = await answer(gw.admin("POST", `${instance}/keys`, key("re-1", 2)));
    assert.equal(added.status, 201);
    const second = await policy(instance);
    assert.match(second.etag ?? "", /^"\d+"$/);
    assert.ok(Number(JSON.parse(second.etag)) > Number(JSON.parse(first.etag)), `ETag grows: ${first.etag} → ${second.etag}`);
    assert.equal(added.etag, second.etag, "the write's answer names the new ETag");

    const ifMatch = (etag) => ({ authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json", "if-match": etag });
    const stale = (method, path, body) => fetch(`${gw.edge}/admin/v1/instances/${path}`, {
      method, headers: ifMatch(first.etag), body: JSON.stringify(body),
    });
    const staleAdd = await stale("POST", `${instance}/keys`, key("re-stale", 3));
    await expectProblem(assert, staleAdd, 412, "precondition_failed");
    const stalePatch = await stale("PATCH", `${instance}/keys/${base.kid}`, { status: "retiring" });
    await expectProblem(assert, stalePatch, 412, "precondition_failed");
    const stalePut = await stale("PUT", instance, { instance, tenant, origin: gw.origin.url, keys: [base] });
    await expectProblem(assert, stalePut, 412, "precondition_failed");

    const third = await policy(instance);
    assert.equal(third.etag, second.etag, "nothing changed");
    assert.equal(statusOf(third.body, "re-stale"), undefined);
    assert.equal(statusOf(third.body, base.kid), "active");
    assert.equal(statusOf(third.body, "re-1"), "active");

    // The current ETag is accepted.
    const current = await fetch(`${gw.edge}/admin/v1/instances/${instance}/keys/${base.kid}`, {
      method: "PATCH", headers: ifMatch(second.etag), body: JSON.stringify({ status: "retiring" }),
    });
    assert.equal(current.status, 200, await current.clone().text());
    assert.equal(statusOf((await policy(instance)).body, base.kid), "retiring");
  });
});
