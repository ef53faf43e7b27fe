// Runs a gateway (worker in workerd via Miniflare + reference origin) in its own process and
// prints how to reach it as one JSON line; stops on SIGTERM/SIGINT. Benchmarks use it so the
// measuring client and the servers do not share one Node process.
import { Miniflare } from "miniflare";
import { startGateway } from "./harness.mjs";
import { workerdChildren } from "./proc.mjs";

/**
 * The baseline the edge is measured against: a Worker in the same workerd build that only
 * forwards the request it is given to the origin, path and query unchanged.
 */
const PASSTHROUGH = `export default {
  fetch(req, env) {
    const u = new URL(req.url);
    return fetch(env.ORIGIN + u.pathname + u.search, req);
  },
};`;

// `--inspector-port=N`: workerd's V8 inspector on 127.0.0.1:N, for CPU profiles of the edge.
const inspectorArg = process.argv.find((a) => a.startsWith("--inspector-port="));
const inspectorPort = inspectorArg ? Number(inspectorArg.slice("--inspector-port=".length)) : undefined;

const gw = await startGateway({
  miniflare: inspectorPort ? { inspectorPort, inspectorHost: "127.0.0.1" } : {},
});
const edgePids = workerdChildren();
const passthrough = new Miniflare({
  script: PASSTHROUGH, modules: true, compatibilityDate: "2026-04-01",
  bindings: { ORIGIN: gw.origin.url }, host: "127.0.0.1", port: 0,
});
const passthroughUrl = (await passthrough.ready).toString().replace(/\/$/, "");
const passthroughPids = workerdChildren().filter((pid) => !edgePids.includes(pid));
process.stdout.write(`${JSON.stringify({
  edge: gw.edge, origin: gw.origin.url, passthrough: passthroughUrl,
  // For benchmarks: the workerd processes (CPU accounting in /proc) and the edge's start time
  // (origin and Miniflare up, workerd listening; the wasm is instantiated on the first request).
  pids: { edge: edgePids, passthrough: passthroughPids, origin: gw.origin.child.pid },
  edgeReadyMs: gw.edgeReadyMs,
  inspector: inspectorPort ? `127.0.0.1:${inspectorPort}` : undefined,
  adminToken: gw.adminToken, originSecret: gw.originSecret,
})}\n`);
const stop = async () => {
  // Never hang on the way out: give the servers five seconds, then leave.
  await Promise.race([
    Promise.all([gw.stop(), passthrough.dispose()]),
    new Promise((ok) => setTimeout(ok, 5000)),
  ]);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
