// Node CommonJS entry of `syncgate` (the "require" export condition; also what the ESM entry
// re-exports). The digests the core asks for are computed by node:crypto (js/glue.mjs explains
// the split).
//
// Loading is lazy: `require("syncgate")` (or `import`) only defines the functions; the first call
// of any of them loads the shared glue, compiles and instantiates the wasm (wasm-bindgen's Node
// glue, synchronous) and loads node:crypto. Compiling the module is most of what loading the package costs, and a
// process that imports the package but never calls it (a CLI's `--help`, a test runner
// collecting files) then never pays it. The first call is slower by that much (a few ms); every
// later call goes straight to the bound function.
//
// EXPORTS is written by scripts/build-pkg.mjs: the name and arity of every function the bound
// package has, in its order. When it is null (this template run as is) the package loads eagerly.
"use strict";

const EXPORTS = null;

let bound = null;

/** The package bound to its wasm instance, loaded on the first call. */
function load() {
  if (bound === null) {
    const { bindSyncgate, nodeCryptoHost } = require("./glue.cjs");
    const wasm = require("./syncgate_node.cjs");
    bound = bindSyncgate(wasm, nodeCryptoHost(require("node:crypto"), Buffer), null);
  }
  return bound;
}

/** A function that loads the package on its first call, then calls `name` with `this` and its arguments. */
function deferred(name, arity) {
  const fn = function (...args) {
    return load()[name].apply(this, args);
  };
  Object.defineProperty(fn, "name", { value: name });
  Object.defineProperty(fn, "length", { value: arity });
  return fn;
}

if (EXPORTS === null) {
  module.exports = load();
} else {
  for (const [name, arity] of EXPORTS) module.exports[name] = deferred(name, arity);
}
