// Load, faults and a restart, end to end: the real worker in workerd (Miniflare, on-disk KV and
// SQLite Durable Objects) in front of the real reference origin, with the fault proxy between
// the edge and the origin failing a fraction of the calls (500, dropped answer, stall past the
// edge's timeout, connection reset), and the edge restarted part way through.
//
// Every operation is sent the way an at-least-once sender sends it: the same bytes, again, until
// it is acknowledged (or its bounded deadline passes). Afterwards the test proves, from the
// edge's sync log, the edge's status, the origin's own state and what the proxy saw the origin
// answer: nothing lost or stuck, nothing applied twice, no replay applied, the final state equal
// to the newest acknowledged versions, and no secret in any answer. Two targeted tests first: a
// restarted edge's retry (its interrupted forward still on its way to the origin / already
// applied there), and the in-flight answer `409 replayed_nonce` with `applied: false` before.
//
//   CHAOS_OPS (default 300; `make chaos` runs 2000), CHAOS_CONCURRENCY (32), CHAOS_TENANTS (8),
//   CHAOS_FAULT_RATE (0.2), CHAOS_SEED, CHAOS_OP_BUDGET_MS (per-op deadline after the op's start
//   or the edge's recovery, default 20000), CHAOS_RUN_BUDGET_MS (whole run).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { FAULT_KINDS, prng, startFaultProxy } from "./support/fault-proxy.mjs";
import { request, startGateway, whsec } from "./support/harness.mjs";

const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const OPS = env("CHAOS_OPS", 300);
const CONCURRENCY = env("CHAOS_CONCURRENCY", 32);
const TENANTS = env("CHAOS_TENANTS", 8);
const FAULT_RATE = env("CHAOS_FAULT_RATE", 0.2);
const SEED = env("CHAOS_SEED", 20261201);
const ORIGIN_TIMEOUT_MS = 1500; // as the harness configures the edge
const OP_BUDGET_MS = env("CHAOS_OP_BUDGET_MS", 20000);
const RUN_BUDGET_MS = env("CHAOS_RUN_BUDGET_MS", 90000 + OPS * 60);
const ATTEMPT_TIMEOUT_MS = 4 * ORIGIN_TIMEOUT_MS + 2000;
const RESTART_AT = 0.4;
const REPLAY_SHARE = 0.1;
const CREATE_SHARE = 0.25;
const SECTIONS = ["branding", "smtp"];
const SCHEMES = ["rfc9421", "standard-webhooks"];

const root = resolve(import.meta.dirname, "../..");
const summaryDir = resolve(root, process.env.CARGO_TARGET_DIR ?? "target", "chaos");

let gw;
let proxy;
before(async () => {
  gw = await startGateway({ persist: true });
  proxy = await startFaultProxy(gw.origin.url, { rate: 0, seed: SEED, stallMs: 2 * ORIGIN_TIMEOUT_MS });
});
after(async () => {
  await proxy?.stop();
  await gw?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);

/** Every string that must never appear in an answer, and a scanner that counts sightings. */
class SecretScanner {
  constructor() {
    this.secrets = new Map();
    this.hits = [];
    this.scanned = 0;
  }

  add(label, value) {
    if (!value) return;
    this.secrets.set(value, label);
    if (value.startsWith("whsec_")) this.secrets.set(value.slice(6), `${label} (base64)`);
  }

  scan(where, headers, text) {
    this.scanned += 1;
    const parts = [text];
    for (const [name, value] of headers) parts.push(`${name}: ${value}`);
    const all = parts.join("\n");
    for (const [secret, label] of this.secrets) {
      if (all.includes(secret)) this.hits.push({ where, secret: label });
    }
  }
}

/** One fetch with a per-attempt timeout; the answer's body is read and scanned. */
async function send(scanner, where, path, init) {
  const res = await request(`${gw.edge}${path}`, { ...init, signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
  const text = await res.text();
  scanner.scan(where, res.headers, text);
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** A read at the end (faults off): retried a few times on a transient failure only. */
async function read(scanner, path, bearer) {
  for (let i = 0; ; i++) {
    try {
      const res = await send(scanner, `GET ${path}`, path, { headers: { authorization: `Bearer ${bearer}` } });
      if (res.status === 200) return res.body;
      if (i >= 20 || (res.status !== 503 && res.status !== 429)) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
    } catch (err) {
      if (i >= 20) throw err;
    }
    await sleep(250);
  }
}

async function readAll(scanner, path, bearer, limit = 200) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 500; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const body = await read(scanner, `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, bearer);
    items.push(...body.items);
    if (!body.nextCursor) return items;
    cursor = body.nextCursor;
  }
  throw new Error(`${path}: too many pages`);
}

/** Waits until `check()` holds (polling), at most `ms`. */
async function until(check, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not reached");
    await sleep(10);
  }
}

test("restart: the retry of a sync whose forward a restarted edge left on its way is forwarded at once, applied once", async () => {
  const t = await gw.createInstance("restart-a", "restarta", { origin: proxy.url });
  const reader = await gw.apiKey(t.instance, ["sync:read"]);
  const statsBefore = await gw.originStats();
  // v1's first forward is held at the proxy for 8 s and then reaches the origin: the retry
  // after the restart overtakes it, so the origin sees the same sync twice, in the wrong order.
  Object.assign(proxy, { rate: 1, kinds: ["stall"], stallMs: 8000, stallForward: true });
  proxy.reset();
  const payload = { type: "branding", tenant: t.tenant, version: 1, branding: { title: "Overtaken" } };
  const { url, init } = gw.signSync(t.instance, payload, t.key, { scheme: "standard-webhooks" });
  const path = new URL(url).pathname;
  const first = request(url, init).then((r) => r.status, (e) => e.cause?.code ?? "error");
  await until(() => proxy.counts.stall === 1);
  // While the forward can still be running, a retry is told it is in flight.
  const inFlight = await request(`${gw.edge}${path}`, init);
  const inFlightBody = await inFlight.json();
  assert.equal(inFlight.status, 409, JSON.stringify(inFlightBody));
  assert.equal(inFlightBody.code, "replayed_nonce");
  assert.equal(inFlightBody.applied, false);
  // The edge goes away mid-forward; what it held in memory goes with it.
  await gw.restartEdge();
  proxy.rate = 0;
  const firstOutcome = await first;
  assert.equal(typeof firstOutcome, "string", `the edge went away mid-forward, unanswered (it answered ${firstOutcome})`);
  const seenBefore = proxy.byKey.get(sha256(init.body));
  assert.equal(seenBefore, undefined, "the first forward has not reached the origin yet");
  const retry = await request(`${gw.edge}${path}`, init);
  const retryBody = await retry.json();
  assert.equal(retry.status, 200, `the retry is forwarded at once: ${JSON.stringify(retryBody)}`);
  assert.equal(retryBody.status, "applied");
  // The first forward lands after it and is answered from the origin's idempotency record.
  await until(() => (proxy.byKey.get(sha256(init.body))?.replayed ?? 0) === 1, 15000);
  const again = await request(`${gw.edge}${path}`, init);
  const againBody = await again.json();
  assert.equal(again.status, 409);
  assert.equal(againBody.applied, true, "applied:true once it was applied");
  const stats = await gw.originStats();
  assert.equal(stats.applied - statsBefore.applied, 1, "applied once at the origin");
  assert.equal(stats.replayed - statsBefore.replayed, 1, "the late first forward was answered from the record");
  const rows = (await (await gw.get(`/v1/${t.instance}/sync/logs?limit=50`, reader)).json()).items;
  assert.equal(rows.filter((r) => r.status === "applied").length, 1, "one applied row");
  const status = await (await gw.get(`/v1/${t.instance}/sync/status`, reader)).json();
  assert.equal(status.lastPayloadVersion, 1);
});

test("restart: the origin applied it but the edge died before answering; the retry is answered from the origin's idempotency, applied once", async () => {
  const t = await gw.createInstance("restart-b", "restartb", { origin: proxy.url });
  const reader = await gw.apiKey(t.instance, ["sync:read"]);
  const statsBefore = await gw.originStats();
  // v1's forward is held at the proxy and reaches the origin (which applies it) after the edge
  // has gone.
  Object.assign(proxy, { rate: 1, kinds: ["stall"], stallMs: 1000, stallForward: true });
  proxy.reset();
  const payload = { type: "branding", tenant: t.tenant, version: 1, branding: { title: "Applied behind the edge's back" } };
  const { url, init } = gw.signSync(t.instance, payload, t.key, { scheme: "standard-webhooks" });
  const path = new URL(url).pathname;
  const first = request(url, init).then((r) => r.status, (e) => e.cause?.code ?? "error");
  await until(() => proxy.counts.stall === 1);
  await gw.restartEdge();
  proxy.rate = 0;
  const firstOutcome = await first;
  assert.equal(typeof firstOutcome, "string", `the edge went away mid-forward, unanswered (it answered ${firstOutcome})`);
  await until(async () => (await gw.originStats()).applied > statsBefore.applied, 5000);
  const retry = await request(`${gw.edge}${path}`, init);
  const body = await retry.json();
  assert.equal(retry.status, 200, JSON.stringify(body));
  const stats = await gw.originStats();
  const seen = proxy.byKey.get(sha256(init.body));
  const facts = { applied: stats.applied - statsBefore.applied, replayed: stats.replayed - statsBefore.replayed,
    proxyCalls: proxy.counts.calls, seenByProxy: seen };
  assert.equal(facts.applied, 1, `applied once at the origin: ${JSON.stringify(facts)}`);
  assert.equal(facts.replayed, 1, `the retry was answered from the origin's idempotency table: ${JSON.stringify(facts)}`);
  assert.deepEqual({ fresh: seen?.fresh, replayed: seen?.replayed }, { fresh: 1, replayed: 1 });
  const rows = (await (await gw.get(`/v1/${t.instance}/sync/logs?limit=50`, reader)).json()).items;
  assert.equal(rows.filter((r) => r.status === "applied").length, 1, "one applied row");
  const status = await (await gw.get(`/v1/${t.instance}/sync/status`, reader)).json();
  assert.equal(status.lastPayloadVersion, 1);
});

test("a sync in flight on one instance while its bytes are refused on another: its retry after an origin failure still goes through", async () => {
  const shared = { kid: "bound-2026", version: 1, status: "active", secret: whsec() };
  const a = await gw.createInstance("bound-a", "bound", { keys: [shared], origin: proxy.url });
  const b = await gw.createInstance("bound-b", "bound", { keys: [shared], origin: proxy.url, payloadTypes: ["features"] });
  const statsBefore = await gw.originStats();
  // A's forward stalls past the edge's timeout and never reaches the origin.
  Object.assign(proxy, { rate: 1, kinds: ["stall"], stallMs: 3000, stallForward: false });
  proxy.reset();
  const { url, init } = gw.signSync(a.instance, { type: "branding", tenant: "bound", version: 1, branding: { title: "Bound" } }, shared,
    { scheme: "standard-webhooks" });
  const first = request(url, init).then(async (r) => ({ status: r.status, body: await r.json() }));
  await until(() => proxy.counts.stall === 1);
  // Standard Webhooks signs no path: the same bytes to B, whose policy refuses branding.
  const refused = await request(url.replace(a.instance, b.instance), init);
  const refusedBody = await refused.json();
  assert.equal(refused.status, 422, JSON.stringify(refusedBody));
  assert.equal(refusedBody.code, "unsupported_payload_type");
  const answered = await first;
  assert.equal(answered.status, 503, JSON.stringify(answered.body));
  assert.equal(answered.body.code, "origin_unavailable");
  proxy.rate = 0;
  // The reservation was released; B's refusal did not bind the nonce to B meanwhile.
  const retry = await request(url, init);
  const retryBody = await retry.json();
  assert.equal(retry.status, 200, `the sender's retry goes through: ${JSON.stringify(retryBody)}`);
  assert.equal((await gw.originStats()).applied - statsBefore.applied, 1, "applied once");
});

test(`chaos: ${OPS} operations at concurrency ${CONCURRENCY} across ${TENANTS} tenants, ${FAULT_RATE * 100} % origin faults, one edge restart`, { timeout: RUN_BUDGET_MS + 180000 }, async () => {
  const scanner = new SecretScanner();
  scanner.add("admin token", gw.adminToken);
  scanner.add("origin secret", gw.originSecret);
  const smtpPassword = `chaos-smtp-${randomBytes(9).toString("hex")}`;
  scanner.add("smtp password", smtpPassword);

  // Tenants: one instance each, both schemes, generous rate limits (the run is about faults).
  const tenants = [];
  for (let i = 0; i < TENANTS; i++) {
    const t = await gw.createInstance(`chaos-${i}`, `chaos${i}`, {
      origin: proxy.url,
      rateLimits: { perKeyPerMinute: 1000000, perTenantPerMinute: 1000000 },
    });
    t.reader = await gw.apiKey(t.instance, ["sync:read"]);
    t.writer = await gw.apiKey(t.instance, ["customers:read", "customers:write"]);
    t.version = 0;
    scanner.add(`signing secret of ${t.instance}`, t.key.secret);
    scanner.add(`sync:read key of ${t.instance}`, t.reader);
    scanner.add(`customers key of ${t.instance}`, t.writer);
    tenants.push(t);
  }
  const originBefore = await gw.originStats();
  Object.assign(proxy, { kinds: FAULT_KINDS, stallMs: 2 * ORIGIN_TIMEOUT_MS, stallForward: true });
  proxy.reset();
  proxy.setRate(FAULT_RATE);

  const random = prng(SEED ^ 0x5eed);
  const pick = (list) => list[Math.min(list.length - 1, Math.floor(random() * list.length))];
  const ops = [];
  const acknowledgedSyncs = [];
  const unexpected = [];
  const restart = { atOp: Math.floor(OPS * RESTART_AT), startedAt: null, endedAt: null, inFlight: [], firstAckAfter: null };
  let issued = 0;
  let done = 0;
  const runStarted = Date.now();
  let runOver = false;

  /** The next operation, built when a sender is free for it (so versions grow with time). */
  function nextOp() {
    const index = issued++;
    const roll = random();
    if (roll < REPLAY_SHARE && acknowledgedSyncs.length > 0) {
      const original = pick(acknowledgedSyncs);
      return { index, kind: "replay", tenant: original.tenant, original, path: original.path, init: original.init };
    }
    const t = pick(tenants);
    if (roll < REPLAY_SHARE + CREATE_SHARE) {
      const key = `chaos-${index}-${randomBytes(6).toString("hex")}`;
      const body = JSON.stringify({
        firstName: "Chaos", lastName: `Op ${index}`, email: `op${index}@chaos.example.com`, tags: ["chaos"],
      });
      return {
        index, kind: "create", tenant: t, key, path: `/v1/${t.instance}/customers`,
        init: { method: "POST", headers: { authorization: `Bearer ${t.writer}`, "content-type": "application/json", "idempotency-key": key }, body },
      };
    }
    const section = pick(SECTIONS);
    const scheme = pick(SCHEMES);
    t.version += 1;
    const version = t.version;
    const payload = section === "branding"
      ? { type: "branding", tenant: t.tenant, version, branding: { title: `Chaos ${t.tenant} v${version}`, primaryColor: "#1f6feb" } }
      : { type: "smtp", tenant: t.tenant, version, smtp: {
        host: "smtp.example.com", port: 587, encryption: "starttls", username: "mailer",
        password: smtpPassword, fromEmail: "no-reply@chaos.example.com", fromName: `Chaos v${version}` } };
    const { url, init } = gw.signSync(t.instance, payload, t.key, { scheme });
    return {
      index, kind: "sync", tenant: t, section, scheme, version, hash: sha256(init.body),
      path: new URL(url).pathname, init,
    };
  }

  /** The op's deadline: OP_BUDGET_MS after its start, or after the edge's recovery. */
  function deadline(op) {
    let base = op.firstAt;
    if (restart.startedAt !== null && (restart.endedAt === null || op.firstAt < restart.endedAt)) {
      base = Math.max(base, restart.endedAt ?? Date.now());
    }
    return base + OP_BUDGET_MS;
  }

  /** Sends `op` until acknowledged; returns how it ended. */
  async function run(op) {
    op.firstAt = Date.now();
    op.attempts = 0;
    op.trail = [];
    for (;;) {
      if (Date.now() > deadline(op)) {
        op.final = "stuck";
        return;
      }
      op.attempts += 1;
      const sentAt = Date.now();
      let res;
      try {
        res = await send(scanner, `${op.kind} ${op.index}`, op.path, op.init);
      } catch (err) {
        op.trail.push(`error:${err.cause?.code ?? err.name}`);
        await sleep(backoff(op.attempts));
        continue;
      }
      const code = res.body?.code ?? String(res.status);
      op.trail.push(`${res.status}:${code}`);
      const final = classify(op, res);
      if (final) {
        op.final = final;
        op.ackAt = Date.now();
        op.answer = res.body;
        if (restart.endedAt !== null && sentAt >= restart.endedAt && restart.firstAckAfter === null) {
          restart.firstAckAfter = op.ackAt;
        }
        return;
      }
      const retryAfter = Number(res.headers.get("retry-after"));
      await sleep(res.status === 429 && retryAfter > 0 ? retryAfter * 1000 : backoff(op.attempts));
    }
  }

  const backoff = (attempt) => Math.min(1000, 25 * 2 ** Math.min(attempt, 6)) * (0.5 + random() / 2);

  /** A final answer, or null to retry. Unexpected answers are recorded and end the op. */
  function classify(op, res) {
    const { status, body } = res;
    const code = body?.code;
    if (status === 503 || status === 429 || status >= 500 && status !== 501) return null;
    if (op.kind === "create") {
      if (status === 201) return "created";
    } else if (op.kind === "sync") {
      if (status === 200 && body?.status === "applied") return "applied";
      if (status === 409 && (code === "replayed_nonce" || code === "duplicate_payload")) {
        return body.applied === true ? "applied" : null;
      }
      if (status === 409 && code === "stale_version") return "stale";
    } else if (op.kind === "replay") {
      if (status === 200) return "replay_applied";
      if (status === 409 && (code === "replayed_nonce" || code === "duplicate_payload")) {
        return body.applied === true ? "refused" : null;
      }
      if (status === 409 && code === "stale_version") return "refused";
    }
    unexpected.push({ op: op.index, kind: op.kind, status, body: res.text.slice(0, 300) });
    return "unexpected";
  }

  const inFlight = new Set();
  async function sender() {
    while (!runOver && issued < OPS) {
      if (Date.now() - runStarted > RUN_BUDGET_MS) {
        runOver = true;
        break;
      }
      const op = nextOp();
      ops.push(op);
      inFlight.add(op);
      await run(op);
      inFlight.delete(op);
      done += 1;
      if (op.kind === "sync" && (op.final === "applied" || op.final === "stale")) acknowledgedSyncs.push(op);
    }
  }

  async function restarter() {
    while (done < restart.atOp && !runOver && issued < OPS) await sleep(20);
    if (runOver || issued >= OPS && inFlight.size === 0) return;
    restart.startedAt = Date.now();
    restart.inFlight = [...inFlight];
    restart.doneBefore = done;
    await gw.restartEdge();
    restart.endedAt = Date.now();
  }

  await Promise.all([...Array.from({ length: CONCURRENCY }, sender), restarter()]);
  const runEnded = Date.now();

  // Quiesce: faults off, late (stalled) forwards drained, deferred log writes landed.
  proxy.setRate(0);
  await sleep(2 * ORIGIN_TIMEOUT_MS + 500);
  const originAfter = await gw.originStats();

  // ---------------------------------------------------------------------------------------
  // What the edge and the origin hold now.
  const perTenant = [];
  for (const t of tenants) {
    const logs = await readAll(scanner, `/v1/${t.instance}/sync/logs`, t.reader);
    const status = await read(scanner, `/v1/${t.instance}/sync/status`, t.reader);
    const boot = await read(scanner, `/v1/${t.instance}/bootstrap`, t.reader);
    const customers = await readAll(scanner, `/v1/${t.instance}/customers`, t.writer, 100);
    const originState = await (await gw.originDirect("GET", `/origin/v1/${t.tenant}/sync/state`, {
      tenant: t.tenant, instance: t.instance, keyId: t.key.kid,
    })).json();
    perTenant.push({ t, logs, status, boot, customers, originState });
  }

  // ---------------------------------------------------------------------------------------
  // Checks (collected, then asserted after the summary is written).
  const violations = {
    stuck: [], unexpected, replayApplied: [], appliedTwiceEdge: [], appliedMissingEdge: [],
    staleWithoutNewer: [], finalStateEdge: [], finalStateOrigin: [], statusMismatch: [],
    createdTwice: [], createdMissing: [], originAppliedTwice: [], originAppliedMissing: [],
    originCountMismatch: [], secrets: scanner.hits,
  };
  const syncs = ops.filter((op) => op.kind === "sync");
  for (const op of ops) {
    if (op.final === "stuck" || op.final === undefined) violations.stuck.push({ op: op.index, kind: op.kind, trail: op.trail.slice(-8) });
    if (op.final === "replay_applied") violations.replayApplied.push({ op: op.index, of: op.original.index });
  }
  for (const { t, logs, status, boot, customers, originState } of perTenant) {
    const applied = logs.filter((row) => row.status === "applied");
    const appliedBy = new Map();
    for (const row of applied) {
      const k = `${row.payloadType}:${row.payloadVersion}`;
      appliedBy.set(k, (appliedBy.get(k) ?? 0) + 1);
    }
    for (const [k, n] of appliedBy) if (n > 1) violations.appliedTwiceEdge.push({ tenant: t.tenant, sync: k, rows: n });
    const mine = syncs.filter((op) => op.tenant === t);
    for (const op of mine) {
      const rows = appliedBy.get(`${op.section}:${op.version}`) ?? 0;
      if (op.final === "applied" && rows !== 1) violations.appliedMissingEdge.push({ tenant: t.tenant, op: op.index, rows });
      if (op.final === "stale") {
        const newer = mine.some((o) => o.section === op.section && o.version > op.version && o.final === "applied");
        if (!newer) violations.staleWithoutNewer.push({ tenant: t.tenant, op: op.index, section: op.section, version: op.version });
      }
    }
    for (const section of SECTIONS) {
      const issuedHere = mine.filter((op) => op.section === section);
      if (issuedHere.length === 0) continue;
      const maxIssued = Math.max(...issuedHere.map((op) => op.version));
      const maxAcked = Math.max(0, ...issuedHere.filter((op) => op.final === "applied").map((op) => op.version));
      const edgeMax = Math.max(0, ...applied.filter((row) => row.payloadType === section).map((row) => row.payloadVersion));
      const originVersion = originState.sections?.[section]?.version ?? 0;
      if (maxAcked !== maxIssued || edgeMax !== maxAcked) {
        violations.finalStateEdge.push({ tenant: t.tenant, section, maxIssued, maxAcked, edgeMax });
      }
      if (originVersion !== maxAcked) violations.finalStateOrigin.push({ tenant: t.tenant, section, maxAcked, originVersion });
    }
    const newestApplied = applied[0];
    if (newestApplied && (status.lastRequestId !== newestApplied.requestId
        || status.lastPayloadVersion !== newestApplied.payloadVersion
        || status.lastPayloadType !== newestApplied.payloadType)) {
      violations.statusMismatch.push({ tenant: t.tenant, status, newestApplied });
    }
    const branding = mine.filter((op) => op.section === "branding" && op.final === "applied");
    if (branding.length) {
      const newest = Math.max(...branding.map((op) => op.version));
      if (boot.branding?.title !== `Chaos ${t.tenant} v${newest}`) {
        violations.finalStateOrigin.push({ tenant: t.tenant, bootstrapTitle: boot.branding?.title, expected: newest });
      }
    }
    const byEmail = new Map();
    for (const c of customers) byEmail.set(c.email, (byEmail.get(c.email) ?? 0) + 1);
    for (const op of ops.filter((o) => o.kind === "create" && o.tenant === t)) {
      const n = byEmail.get(`op${op.index}@chaos.example.com`) ?? 0;
      if (n > 1) violations.createdTwice.push({ tenant: t.tenant, op: op.index, records: n });
      if (op.final === "created" && n !== 1) violations.createdMissing.push({ tenant: t.tenant, op: op.index, records: n });
    }
  }
  // The origin's side, as the proxy saw it answer: one fresh apply/create per idempotency key.
  let freshSyncs = 0;
  for (const [key, entry] of proxy.byKey) {
    if (entry.fresh > 1) violations.originAppliedTwice.push({ key, ...entry });
    if (entry.path.endsWith("/sync")) freshSyncs += entry.fresh;
  }
  for (const op of syncs.filter((o) => o.final === "applied")) {
    if ((proxy.byKey.get(op.hash)?.fresh ?? 0) !== 1) violations.originAppliedMissing.push({ op: op.index, seen: proxy.byKey.get(op.hash) ?? null });
  }
  const originApplied = originAfter.applied - originBefore.applied;
  if (originApplied !== freshSyncs) violations.originCountMismatch.push({ originApplied, freshSyncsSeenByProxy: freshSyncs });

  // ---------------------------------------------------------------------------------------
  // Summary.
  const acked = ops.filter((op) => op.ackAt);
  const ackMs = acked.map((op) => op.ackAt - op.firstAt).sort((a, b) => a - b);
  const attempts = ops.map((op) => op.attempts ?? 0);
  const count = (pred) => ops.filter(pred).length;
  const recoveredAt = restart.inFlight.length ? Math.max(...restart.inFlight.map((op) => op.ackAt ?? Infinity)) : null;
  const durationMs = runEnded - runStarted;
  const summary = {
    ops: ops.length,
    requestedOps: OPS,
    concurrency: CONCURRENCY,
    tenants: TENANTS,
    faultRate: FAULT_RATE,
    seed: SEED,
    durationMs,
    opsPerSecond: Number((ops.length / (durationMs / 1000)).toFixed(1)),
    attemptsPerOp: {
      mean: Number((attempts.reduce((a, b) => a + b, 0) / Math.max(1, attempts.length)).toFixed(3)),
      max: Math.max(0, ...attempts),
      histogram: attempts.reduce((h, n) => ({ ...h, [n]: (h[n] ?? 0) + 1 }), {}),
    },
    timeToAckMs: { p50: quantile(ackMs, 0.5), p99: quantile(ackMs, 0.99), max: ackMs.at(-1) ?? null },
    restart: {
      afterOps: restart.doneBefore ?? null,
      restartMs: restart.endedAt && restart.startedAt ? restart.endedAt - restart.startedAt : null,
      recoveryMs: restart.firstAckAfter && restart.startedAt ? restart.firstAckAfter - restart.startedAt : null,
      inFlightAtRestart: restart.inFlight.length,
      inFlightAllAckedMs: recoveredAt !== null && Number.isFinite(recoveredAt) ? recoveredAt - restart.startedAt : null,
    },
    faults: Object.fromEntries([...FAULT_KINDS, "calls", "forwarded", "passed"].map((k) => [k, proxy.counts[k]])),
    outcomes: {
      syncApplied: count((op) => op.kind === "sync" && op.final === "applied"),
      syncStale: count((op) => op.kind === "sync" && op.final === "stale"),
      created: count((op) => op.final === "created"),
      replaysRefused: count((op) => op.final === "refused"),
      replaysApplied: violations.replayApplied.length,
      stuck: violations.stuck.length,
      unexpected: unexpected.length,
    },
    origin: { applied: originApplied, replayed: originAfter.replayed - originBefore.replayed },
    answersScanned: scanner.scanned,
    violations: Object.fromEntries(Object.entries(violations).map(([k, v]) => [k, v.length])),
  };
  mkdirSync(summaryDir, { recursive: true });
  writeFileSync(join(summaryDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary, null, 2));
  for (const [name, list] of Object.entries(violations)) {
    if (list.length) console.log(`${name}: ${JSON.stringify(list.slice(0, 5))}`);
  }

  // ---------------------------------------------------------------------------------------
  // The guarantees.
  assert.equal(ops.length, OPS, `all ${OPS} operations issued within the run budget`);
  for (const [name, list] of Object.entries(violations)) {
    assert.deepEqual(list.slice(0, 5), [], `${name}: ${list.length}`);
  }
  // The run exercised what it claims to (otherwise the checks above prove little).
  assert.ok(restart.endedAt !== null && restart.inFlight.length > 0, "the edge restarted with operations in flight");
  assert.ok(summary.restart.recoveryMs !== null, "an operation was acknowledged after the restart");
  if (FAULT_RATE > 0) for (const kind of FAULT_KINDS) assert.ok(proxy.counts[kind] > 0, `fault ${kind} injected`);
  assert.ok(summary.outcomes.syncApplied >= 0.3 * syncs.length, `most syncs applied, not overtaken (${summary.outcomes.syncApplied}/${syncs.length})`);
  assert.ok(summary.outcomes.replaysRefused > 0 && summary.outcomes.created > 0, "replays and creates ran");
  assert.ok(new Set(syncs.filter((op) => op.final === "applied").map((op) => op.scheme)).size === 2, "both schemes applied");
});
