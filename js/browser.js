// Browser and bundler entry of `syncgate` (the "browser" export condition).
//
// Loads the WebAssembly module next to this file once, with top-level await, so a page or a
// bundle can `import { verifyRequest } from "syncgate"` and call it right away. Bundlers (Vite,
// webpack 5, esbuild with a file loader) see `new URL("./syncgate_bg.wasm", import.meta.url)`
// and emit the .wasm as an asset.
import init, {
  contentDigest,
  recomputeModules,
  signRequest,
  validatePayload,
  verifyProviderWebhook,
  verifyRequest,
} from "./syncgate_web.js";

await init({ module_or_path: new URL("./syncgate_bg.wasm", import.meta.url) });

export { contentDigest, recomputeModules, signRequest, validatePayload, verifyProviderWebhook, verifyRequest };
export default {
  contentDigest, recomputeModules, signRequest, validatePayload, verifyProviderWebhook, verifyRequest,
};
