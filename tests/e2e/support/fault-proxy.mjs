// A fault-injecting HTTP proxy of the test's own, on loopback, in front of the reference origin.
// An instance's policy `origin` points at it; it fails a configurable fraction of the calls,
// chosen by a seeded PRNG (the same seed gives the same fault sequence for the same call order),
// in four ways:
//
//   fail   answer 500 without forwarding (the origin never sees the call)
//   drop   forward, let the origin answer (and apply), then destroy the edge's socket
//   stall  hold the call past the edge's origin timeout, then forward it late (a slow origin
//          still applies what it was sent; the edge has given up and released by then), or, with
//          `stallForward: false`, reset it after the hold (the origin never sees it)
//   reset  reset the connection before forwarding (the origin never sees the call)
//
// It counts every call and every fault, and records what the origin answered per
// `Idempotency-Key` (fresh applies/creates vs idempotent replays), so a test can check from the
// origin's side that nothing was applied twice.
import { createServer, request as httpRequest, Agent } from "node:http";

/** mulberry32: a small seeded PRNG (32-bit state), enough to pick faults reproducibly. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FAULT_KINDS = ["fail", "drop", "stall", "reset"];

/**
 * Starts the proxy. `target` is the origin's base URL. Options: `rate` (0..1, fraction of calls
 * faulted), `seed`, `kinds` (the fault kinds to draw from, uniformly), `stallMs` (how long a
 * stalled call is held before it is forwarded), `faultPaths` (a RegExp: only matching paths are
 * faulted; default every `/origin/` path), `stallForward` (default true). All of them can be
 * changed on the running proxy (`proxy.rate`, `proxy.kinds`, …).
 */
export async function startFaultProxy(target, options = {}) {
  const proxy = new FaultProxy(target, options);
  await proxy.listen();
  return proxy;
}

export class FaultProxy {
  constructor(target, { rate = 0, seed = 1, kinds = FAULT_KINDS, stallMs = 3000, stallForward = true, faultPaths = /^\/origin\// } = {}) {
    this.target = new URL(target);
    this.rate = rate;
    this.random = prng(seed);
    this.kinds = kinds;
    this.stallMs = stallMs;
    this.stallForward = stallForward;
    this.faultPaths = faultPaths;
    this.agent = new Agent({ keepAlive: true, maxSockets: 64 });
    this.reset();
    this.sockets = new Set();
    this.pendingStalls = new Set();
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  async listen() {
    await new Promise((ok, fail) => {
      this.server.once("error", fail);
      this.server.listen(0, "127.0.0.1", ok);
    });
    this.url = `http://127.0.0.1:${this.server.address().port}`;
  }

  /** Zeroes the counters and forgets what the origin answered. */
  reset() {
    this.counts = { calls: 0, forwarded: 0, passed: 0, fail: 0, drop: 0, stall: 0, reset: 0, upstreamErrors: 0 };
    // Idempotency-Key → { fresh, replayed, statuses } as the origin answered it.
    this.byKey = new Map();
  }

  /** Changes the fault rate (0 turns faults off, e.g. for a final check). */
  setRate(rate) {
    this.rate = rate;
  }

  /** The fault for the next call to `path`, or null; draws from the PRNG either way. */
  pick(path) {
    const roll = this.random();
    const which = this.random();
    if (!this.faultPaths.test(path) || roll >= this.rate) return null;
    return this.kinds[Math.min(this.kinds.length - 1, Math.floor(which * this.kinds.length))];
  }

  handle(req, res) {
    this.counts.calls += 1;
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("error", () => {});
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const fault = this.pick(req.url);
      if (fault) this.counts[fault] += 1;
      switch (fault) {
        case "fail":
          res.writeHead(500, { "content-type": "text/plain" });
          res.end("injected failure");
          return;
        case "reset":
          req.socket.resetAndDestroy();
          return;
        case "stall": {
          // Held past the edge's timeout; then forwarded anyway (late), its answer discarded.
          // How is decided now, not when the hold ends (a test may change the setting meanwhile).
          const late = this.stallForward;
          const timer = setTimeout(() => {
            this.pendingStalls.delete(timer);
            if (!late) {
              req.socket.resetAndDestroy();
              return;
            }
            this.forward(req, body, (status, headers, answer) => {
              if (!res.destroyed && !res.headersSent) {
                res.writeHead(status, headers);
                res.end(answer);
              }
            });
          }, this.stallMs);
          this.pendingStalls.add(timer);
          return;
        }
        case "drop":
          this.forward(req, body, () => req.socket.resetAndDestroy());
          return;
        default:
          this.counts.passed += 1;
          this.forward(req, body, (status, headers, answer) => {
            res.writeHead(status, headers);
            res.end(answer);
          });
      }
    });
  }

  forward(req, body, done) {
    this.counts.forwarded += 1;
    const headers = { ...req.headers, host: this.target.host };
    delete headers.connection;
    const upstream = httpRequest({
      host: this.target.hostname,
      port: this.target.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.agent,
    }, (answer) => {
      const parts = [];
      answer.on("data", (chunk) => parts.push(chunk));
      answer.on("error", () => {});
      answer.on("end", () => {
        this.record(req, answer);
        const out = { ...answer.headers };
        delete out.connection;
        delete out["keep-alive"];
        delete out["transfer-encoding"];
        done(answer.statusCode, out, Buffer.concat(parts));
      });
    });
    upstream.on("error", () => {
      this.counts.upstreamErrors += 1;
      if (!req.socket.destroyed) req.socket.resetAndDestroy();
    });
    upstream.end(body);
  }

  record(req, answer) {
    const key = req.headers["idempotency-key"];
    if (!key || req.method !== "POST") return;
    const entry = this.byKey.get(key) ?? { path: req.url, fresh: 0, replayed: 0, statuses: [] };
    entry.statuses.push(answer.statusCode);
    if (answer.statusCode < 300) {
      if (answer.headers["idempotent-replayed"] === "true") entry.replayed += 1;
      else entry.fresh += 1;
    }
    this.byKey.set(key, entry);
  }

  async stop() {
    for (const timer of this.pendingStalls) clearTimeout(timer);
    this.pendingStalls.clear();
    for (const socket of this.sockets) socket.destroy();
    this.agent.destroy();
    await new Promise((ok) => this.server.close(ok));
  }
}
