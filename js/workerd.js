// JS Worker entry of `syncgate` (the "workerd" and "worker" export conditions): Cloudflare
// Workers, wrangler, Miniflare and other workerd hosts.
//
// Workers cannot compile WebAssembly from bytes at run time, and have no file system: the .wasm
// is imported as a module, which the host compiles ahead of time (wrangler does this for any
// `*.wasm` import; Miniflare with `modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }]`),
// and instantiated synchronously here, once per isolate. Bundle with the "workerd" condition
// (wrangler does) and keep the .wasm import as a module (esbuild: `loader: { ".wasm": "copy" }`).
import wasm from "./syncgate_bg.wasm";
import {
  contentDigest,
  initSync,
  recomputeModules,
  signatureBase,
  signRequest,
  validatePayload,
  verifyRequest,
} from "./syncgate_web.js";

initSync({ module: wasm });

export { contentDigest, recomputeModules, signatureBase, signRequest, validatePayload, verifyRequest };
export default { contentDigest, recomputeModules, signatureBase, signRequest, validatePayload, verifyRequest };
