// Node CommonJS entry of `syncgate` (the "require" export condition; also what the ESM entry
// re-exports). The wasm is loaded synchronously by wasm-bindgen's Node glue; the digests the
// core asks for are computed by node:crypto (js/glue.mjs explains the split).
"use strict";

const crypto = require("node:crypto");
const wasm = require("./syncgate_node.cjs");
const { bindSyncgate, nodeCryptoHost } = require("./glue.cjs");

module.exports = bindSyncgate(wasm, nodeCryptoHost(crypto, Buffer), null);
