// CommonJS consumers: `require("syncgate")` is typed by index.d.ts.
import syncgate = require("syncgate");

const digest: string = syncgate.contentDigest(new Uint8Array([1, 2, 3]));
const verdict = syncgate.verifyRequest(
  { method: "POST", url: "https://edge.example/v1/acme-eu1/sync", headers: {}, body: "" },
  { instance: "acme-eu1", tenant: "acme" },
);
if (!verdict.ok) {
  const code: string = verdict.code;
  void code;
}
void digest;
