// Node ESM entry of `syncgate` (the "import" export condition).
//
// Importing it loads nothing but this file: each export is a function that, on its first call,
// loads the CommonJS build (js/node.cjs, through `require`) and calls the function of that name
// there. `import` and `require` in one process therefore share one module and one WebAssembly
// instance (no dual-package hazard), and an import does not start Node's CommonJS loader, which
// costs a fresh process a few ms before the first line of any CommonJS file runs. The functions
// are this entry's own, so `import { verifyRequest }` is not `=== require("syncgate").verifyRequest`;
// both reach the same instance.
//
// EXPORTS is written by scripts/build-pkg.mjs (the name and arity of every function, as in
// js/node.cjs). When it is null (this template run as is) the CommonJS build loads at import.
import { createRequire } from "node:module";

const EXPORTS = null;

let loaded = null;

/** The CommonJS build, loaded on the first call. */
function load() {
  loaded ??= createRequire(import.meta.url)("./syncgate.cjs");
  return loaded;
}

/**
 * A function that loads the package on its first call, then calls `name` with `this` and its
 * arguments: js/node.cjs's `deferred`, written again here because this entry must not load the
 * shared glue (or any CommonJS) at import, and js/node.cjs cannot import ES modules on Node 20.
 */
function deferred(name, arity) {
  const fn = function (...args) {
    return load()[name].apply(this, args);
  };
  Object.defineProperty(fn, "name", { value: name });
  Object.defineProperty(fn, "length", { value: arity });
  return fn;
}

const syncgate = EXPORTS === null ? load() : Object.fromEntries(EXPORTS.map(([name, arity]) => [name, deferred(name, arity)]));

export const {
  contentDigest, createVerifier, recomputeModules, signatureBase, signRequest, validatePayload, verifyProviderWebhook,
  verifyRequest,
} = syncgate;
export default syncgate;
