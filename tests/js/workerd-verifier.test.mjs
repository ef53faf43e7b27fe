// createVerifier in workerd (Miniflare), the package resolved by name through its "workerd"
// export condition and bundled by esbuild as wrangler would: the shared signature cases give
// Node's verdicts with and without the `nodejs_compat` flag — that is, with node:crypto hashing
// inside workerd and with the pure-Rust / WebCrypto paths.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { build } from "esbuild";
import { Miniflare } from "miniflare";

import { importSyncgate, projectDir, root } from "./support/package.mjs";
import * as engine from "../cases/engine.mjs";

const casesFile = join(root, "tests", "cases", "signatures.json");

const WORKER = `
import * as sg from "syncgate";
import * as engine from ${JSON.stringify(join(root, "tests", "cases", "engine.mjs"))};
import file from ${JSON.stringify(casesFile)};
import { nodeCryptoHost } from ${JSON.stringify(join(projectDir, "node_modules", "syncgate", "glue.js"))};

export default {
  async fetch() {
    const crypto = globalThis.process?.getBuiltinModule?.("node:crypto");
    const buffer = globalThis.Buffer ?? globalThis.process?.getBuiltinModule?.("node:buffer")?.Buffer;
    const sync = engine.runSignatureCases(sg, file, {
      paths: engine.verifierPaths(sg),
      signature: (r, p, n) => sg.createVerifier(p).verifySignature(r, n),
    });
    const async = await engine.runSignatureCasesAsync(sg, file, {
      paths: { verifyAsync: (r, p, n) => sg.createVerifier(p).verifyAsync(r, n) },
      signature: (r, p, n) => sg.createVerifier(p).verifySignatureAsync(r, n),
    });
    return Response.json({ sync, async, nodeHost: nodeCryptoHost(crypto, buffer) !== null });
  },
};
`;

test("createVerifier in workerd: the shared signature cases, with and without nodejs_compat", { timeout: 180_000 }, async () => {
  const node = await importSyncgate();
  const inNode = engine.runSignatureCases(node, JSON.parse(readFileSync(casesFile, "utf8")));
  const out = mkdtempSync(join(tmpdir(), "syncgate-workerd-"));
  try {
    await build({
      stdin: { contents: WORKER, resolveDir: projectDir, sourcefile: "worker.mjs" },
      bundle: true, format: "esm", platform: "neutral", conditions: ["workerd", "worker"],
      mainFields: ["module", "main"], loader: { ".wasm": "copy" }, external: ["node:*"],
      outfile: join(out, "worker.js"), logLevel: "error",
    });
    for (const flags of [[], ["nodejs_compat"]]) {
      const mf = new Miniflare({
        modules: true, scriptPath: join(out, "worker.js"), modulesRoot: out,
        modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
        compatibilityDate: "2025-09-01", compatibilityFlags: flags,
      });
      try {
        const answer = await (await mf.dispatchFetch("http://127.0.0.1/")).json();
        assert.equal(answer.nodeHost, flags.includes("nodejs_compat"), `node:crypto host with ${flags}`);
        for (const kind of ["sync", "async"]) {
          assert.deepEqual(answer[kind].problems, [], `${kind} with [${flags}]`);
          assert.equal(answer[kind].ran, inNode.ran);
          assert.deepEqual(answer[kind].verdicts, inNode.verdicts, `${kind} with [${flags}]: workerd and Node differ`);
        }
        console.log(`workerd [${flags}]: ${answer.sync.ran} cases, verdicts identical to Node`);
      } finally {
        await mf.dispose();
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
