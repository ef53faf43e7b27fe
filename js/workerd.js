// JS Worker entry of `syncgate` (the "workerd" and "worker" export conditions): Cloudflare
// Workers, wrangler, Miniflare and other workerd hosts.
//
// workerd imports a `.wasm` file as a compiled WebAssembly.Module, so the module is
// instantiated synchronously at load (no fetch, no top-level await). With the `nodejs_compat`
// flag, node:crypto computes the digests the core asks for; without it, synchronous calls hash
// in Rust and `verifyAsync` uses WebCrypto (js/glue.mjs).
import * as wasm from "./syncgate_web.js";
import module from "./syncgate_bg.wasm";
import { bindSyncgate, nodeCryptoHost, webCryptoHost } from "./glue.js";

wasm.initSync({ module });

function builtin(name) {
  try {
    return globalThis.process?.getBuiltinModule?.(name) ?? null;
  } catch {
    return null;
  }
}

const syncgate = bindSyncgate(
  wasm,
  nodeCryptoHost(builtin("node:crypto"), globalThis.Buffer ?? builtin("node:buffer")?.Buffer),
  webCryptoHost(globalThis.crypto),
);

export const {
  contentDigest, createVerifier, recomputeModules, signatureBase, signRequest, validatePayload, verifyProviderWebhook,
  verifyRequest,
} = syncgate;
export default syncgate;
