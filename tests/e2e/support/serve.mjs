// Runs a gateway (worker in workerd via Miniflare + reference origin) in its own process and
// prints how to reach it as one JSON line; stops on SIGTERM/SIGINT. Benchmarks use it so the
// measuring client and the servers do not share one Node process.
import { startGateway } from "./harness.mjs";

const gw = await startGateway();
process.stdout.write(`${JSON.stringify({
  edge: gw.edge, origin: gw.origin.url, adminToken: gw.adminToken, originSecret: gw.originSecret,
})}\n`);
const stop = async () => {
  // Never hang on the way out: give the servers five seconds, then leave.
  await Promise.race([gw.stop(), new Promise((ok) => setTimeout(ok, 5000))]);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
