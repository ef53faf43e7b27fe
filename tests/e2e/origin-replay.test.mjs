// Replaying the edge's attestation, end to end: the real worker in workerd (Miniflare) in front of
// the real reference origin (SQLite), with this test's own capturing proxy between the two (the
// instance's `origin` points at the proxy). What the proxy captured is a genuine edge-signed
// request; sent again straight to the origin inside its signature window it must be refused with
// 409 replayed_nonce and change nothing. And when a copy reaches the origin before the edge's own
// request, the edge must answer a retryable 503 (the link's problem), and the sender's retry is
// still answered by the origin's idempotency. Everything listens on 127.0.0.1 and stops by itself.
import assert from "node:assert/strict";
import { createServer, request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import { branding, expectProblem, request, startGateway } from "./support/harness.mjs";

const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"];
const SEND_TIMEOUT_MS = 5000;

/** Sends a captured request ({ method, path, headers, body }) to `base`, byte for byte. */
function send(base, { method, path, headers, body }) {
  const url = new URL(path, base);
  const out = Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.includes(name)));
  out["content-length"] = String(body.length);
  out.connection = "close";
  return new Promise((ok, fail) => {
    const req = httpRequest(url, { method, headers: out, timeout: SEND_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", fail);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${base} in ${SEND_TIMEOUT_MS} ms`)));
    req.on("error", fail);
    req.end(body);
  });
}

/**
 * A proxy that forwards to `target` and keeps a copy of every request. With `raceNext()`, the
 * next request is first sent as a copy (the attacker's, arriving first), then forwarded.
 */
async function startCapturingProxy(target) {
  const captured = [];
  let race = false;
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const entry = { method: req.method, path: req.url, headers: { ...req.headers }, body: Buffer.concat(chunks) };
    captured.push(entry);
    try {
      if (race) {
        race = false;
        entry.copyAnswer = await send(target, entry);
      }
      const answer = await send(target, entry);
      entry.answer = answer;
      const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.includes(name)));
      res.writeHead(answer.status, headers);
      res.end(answer.body);
    } catch (err) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${err.message}`);
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    captured,
    raceNext: () => { race = true; },
    /** The last captured request matching `method` and a path ending with `suffix`. */
    last(method, suffix) {
      const found = captured.filter((e) => e.method === method && e.path.split("?")[0].endsWith(suffix)).at(-1);
      assert.ok(found, `the proxy saw no ${method} …${suffix}`);
      assert.ok(found.headers.signature && found.headers["x-request-id"], "an edge-signed request");
      return found;
    },
    close() {
      server.closeAllConnections();
      return new Promise((ok) => server.close(ok));
    },
  };
}

const json = (answer) => JSON.parse(answer.body.toString("utf8"));

function assertReplayRefused(answer, captured) {
  assert.equal(answer.status, 409, answer.body.toString("utf8"));
  const problem = json(answer);
  assert.equal(problem.code, "replayed_nonce");
  assert.equal(problem.originalRequestId, captured.headers["x-request-id"]);
}

let gw;
let proxy;
before(async () => {
  gw = await startGateway();
  proxy = await startCapturingProxy(gw.origin.url);
});
after(async () => {
  await proxy?.close();
  await gw?.stop();
});

let counter = 0;
async function tenant() {
  counter += 1;
  const t = await gw.createInstance(`replay-t${counter}`, `replay${counter}`, { origin: proxy.url });
  t.writer = await gw.apiKey(t.instance, ["customers:read", "customers:write"]);
  return t;
}

function customers(t, method, path = "", body) {
  const headers = { authorization: `Bearer ${t.writer}` };
  if (body !== undefined) headers["content-type"] = method === "PATCH" ? "application/merge-patch+json" : "application/json";
  return request(`${gw.edge}/v1/${t.instance}/customers${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("a captured edge→origin request sent again", () => {
  test("a customer PATCH replayed straight to the origin is refused and the record does not roll back", async () => {
    const t = await tenant();
    const create = await customers(t, "POST", "", { firstName: "Ada", email: "ada@example.com" });
    assert.equal(create.status, 201, await create.clone().text());
    const { id } = await create.json();

    const first = await customers(t, "PATCH", `/${id}`, { jobTitle: "Analyst" });
    assert.equal(first.status, 200, await first.clone().text());
    assert.equal((await first.json()).version, 2);
    const captured = proxy.last("PATCH", `/customers/${id}`);
    assert.equal(captured.answer.status, 200, "the captured request is the one the origin applied");
    const second = await customers(t, "PATCH", `/${id}`, { jobTitle: "Director" });
    assert.equal((await second.json()).version, 3);

    // Within the 300 s window the copy's signature is still valid (so the refusal is not 401):
    // only the origin's memory of the nonce stops it from setting jobTitle back to "Analyst".
    const replay = await send(gw.origin.url, captured);
    assertReplayRefused(replay, captured);

    const now = await customers(t, "GET", `/${id}`);
    assert.equal(now.status, 200);
    const record = await now.json();
    assert.equal(record.version, 3, "version unchanged by the replay");
    assert.equal(record.jobTitle, "Director");
  });

  test("a sync replayed straight to the origin is refused, not answered as an idempotent success", async () => {
    const t = await tenant();
    const res = await gw.sync(t.instance, branding(t.tenant, 1, "Synced"), t.key);
    assert.equal(res.status, 200, await res.clone().text());
    const captured = proxy.last("POST", "/sync");
    const before = await gw.originStats();

    const replay = await send(gw.origin.url, captured);
    assertReplayRefused(replay, captured);
    const after = await gw.originStats();
    assert.equal(after.applied, before.applied);
    assert.equal(after.replayed, before.replayed, "not even looked up by Idempotency-Key");
  });
});

describe("a copy that reaches the origin before the edge's own request", () => {
  test("the edge answers 503 origin_unavailable (never the origin's 409), and the retry succeeds", async () => {
    const t = await tenant();
    const { url, init } = gw.signSync(t.instance, branding(t.tenant, 1, "Raced"), t.key);
    const before = await gw.originStats();
    proxy.raceNext();
    const raced = await request(url, init);
    const problem = await expectProblem(assert, raced, 503, "origin_unavailable");
    assert.equal(problem.retryable, true);
    const captured = proxy.last("POST", "/sync");
    assert.equal(captured.copyAnswer.status, 200, "the copy was applied");
    assertReplayRefused(captured.answer, captured);

    // The sender retries the same signed request: a new edge request id, the same
    // Idempotency-Key, so the origin answers with the copy's result and applies nothing more.
    const retry = await request(url, init);
    assert.equal(retry.status, 200, await retry.clone().text());
    assert.equal((await retry.json()).status, "applied");
    assert.equal(proxy.last("POST", "/sync").answer.headers["idempotent-replayed"], "true");
    const after = await gw.originStats();
    assert.equal(after.applied, before.applied + 1, "applied exactly once");
  });
});
