// Node ESM entry of `syncgate` (the "import" export condition).
//
// Re-exports the CommonJS build, so `import` and `require` in one process share one WebAssembly
// instance (no dual-package hazard).
import syncgate from "./syncgate.cjs";

export const {
  contentDigest, createVerifier, recomputeModules, signatureBase, signRequest, validatePayload, verifyProviderWebhook,
  verifyRequest,
} = syncgate;
export default syncgate;
