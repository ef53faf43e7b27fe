// Browser and bundler entry of `syncgate` (the "browser" export condition).
//
// Loads the WebAssembly module next to this file once, with top-level await, so a page or a
// bundle can `import { verifyRequest } from "syncgate"` and call it right away. Bundlers (Vite,
// webpack 5, esbuild with a file loader) see `new URL("./syncgate_bg.wasm", import.meta.url)`
// and emit the .wasm as an asset. Synchronous calls hash in Rust; a verifier's `verifyAsync`
// and `verifySignatureAsync` hash with WebCrypto (js/glue.mjs).
import init, * as wasm from "./syncgate_web.js";
import { bindSyncgate, webCryptoHost } from "./glue.js";

await init({ module_or_path: new URL("./syncgate_bg.wasm", import.meta.url) });

const syncgate = bindSyncgate(wasm, null, webCryptoHost(globalThis.crypto));

export const {
  contentDigest, createVerifier, recomputeModules, signatureBase, signRequest, validatePayload, verifyProviderWebhook,
  verifyRequest,
} = syncgate;
export default syncgate;
