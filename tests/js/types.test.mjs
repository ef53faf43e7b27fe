// The hand-written TypeScript declarations, checked by the TypeScript compiler the way a user's
// project would see them: `tsc --strict` in the consumer project, once with Node 16+ module
// resolution (ESM `.mts` through the "import" condition, CommonJS `.cts` through "require") and
// once with bundler resolution (the "browser" condition, as Vite and webpack resolve it).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ensureInstalled, projectDir, root } from "./support/package.mjs";

const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const sources = join(root, "tests", "js", "types");

function check(mode, files, compilerOptions) {
  ensureInstalled();
  const dir = join(projectDir, `types-${mode}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [from, to] of files) copyFileSync(join(sources, from), join(dir, to));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, skipLibCheck: false, target: "es2022", lib: ["es2022"],
      types: [], noUnusedLocals: true, ...compilerOptions,
    },
    files: files.map(([, to]) => to),
  }, null, 2));
  const r = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8" });
  assert.equal(r.status, 0, `tsc (${mode}) failed:\n${r.stdout}${r.stderr}`);
}

test("types compile for Node ESM and CommonJS (module node16)", { skip: !existsSync(tsc) && "typescript is not installed" }, () => {
  check("node16", [["usage.ts", "usage.mts"], ["default-import.ts", "default-import.mts"], ["require.cts", "require.cts"]], {
    module: "node16", moduleResolution: "node16",
  });
});

test("types compile for bundlers (moduleResolution bundler, browser condition)", { skip: !existsSync(tsc) && "typescript is not installed" }, () => {
  check("bundler", [["usage.ts", "usage.ts"], ["default-import.ts", "default-import.ts"]], {
    module: "esnext", moduleResolution: "bundler", customConditions: ["browser"],
  });
});
