// Node ESM entry of `syncgate` (the "import" export condition).
//
// Re-exports the CommonJS build, so `import` and `require` in one process share one WebAssembly
// instance (no dual-package hazard). It is loaded with `require` (createRequire) rather than
// `import`: the module is the same one `require("syncgate")` gets, and Node skips the ESM
// loader's CommonJS translation (scanning the file for its export names), about 2 ms of import.
import { createRequire } from "node:module";

const syncgate = createRequire(import.meta.url)("./syncgate.cjs");

export const {
  contentDigest, createVerifier, recomputeModules, signatureBase, signRequest, validatePayload, verifyProviderWebhook,
  verifyRequest,
} = syncgate;
export default syncgate;
