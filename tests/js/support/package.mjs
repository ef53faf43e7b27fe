// Installs pkg/ the way a user would — `npm pack`, then `npm install <tarball>` into a fresh
// project — and loads it from there by its bare name, through the package's `exports` map.
//
// The project lives in target/js-test/project. node --test runs test files in parallel
// processes, so the install is guarded by a lock folder and skipped when the installed copy was
// packed from the current pkg/ (a hash of its files is kept in a stamp).
//
// The interop peers (standardwebhooks, svix, http-message-signatures, playwright-core) resolve
// from the repository's node_modules, which is a parent folder of both tests/js and the project.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const pkgDir = join(root, "pkg");
const base = join(root, "target", "js-test");
export const projectDir = join(base, "project");
const stampFile = join(projectDir, ".syncgate-pkg-hash");
const lockDir = join(base, ".install-lock");

export const FUNCTIONS = [
  "createVerifier", "verifyRequest", "signRequest", "validatePayload", "recomputeModules", "contentDigest",
  "signatureBase", "verifyProviderWebhook",
];

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Hash of every file under pkg/ (names and contents). */
function hashPkg() {
  if (!existsSync(join(pkgDir, "package.json"))) {
    throw new Error("pkg/ is missing: run `make pkg` first");
  }
  const hash = createHash("sha256");
  const walk = (dir, prefix) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else hash.update(`${prefix}${name}\0`).update(readFileSync(path)).update("\0");
    }
  };
  walk(pkgDir, "");
  return hash.digest("hex");
}

function npm(args, cwd) {
  const r = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd, encoding: "utf8",
  });
  if (r.status !== 0) {
    throw new Error(`npm ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

function install(hash) {
  rmSync(projectDir, { recursive: true, force: true });
  mkdirSync(projectDir, { recursive: true });
  for (const f of readdirSync(base)) if (f.endsWith(".tgz")) rmSync(join(base, f));
  const packed = JSON.parse(npm(["pack", pkgDir, "--pack-destination", base, "--json"], base));
  const tarball = join(base, packed[0].filename);
  writeFileSync(join(projectDir, "package.json"), `${JSON.stringify({
    name: "syncgate-consumer", version: "1.0.0", private: true,
  }, null, 2)}\n`);
  npm(["install", "--prefer-offline", tarball], projectDir);
  // How a user's code names the package: a bare specifier, resolved from inside the project.
  writeFileSync(join(projectDir, "esm.mjs"),
    'export * from "syncgate";\nexport { default } from "syncgate";\n');
  writeFileSync(join(projectDir, "cjs.cjs"), 'module.exports = require("syncgate");\n');
  writeFileSync(join(projectDir, "packed.json"), `${JSON.stringify(packed[0], null, 2)}\n`);
  writeFileSync(stampFile, hash);
}

let ensured = false;

/** Makes sure target/js-test/project has the current pkg/ installed. */
export function ensureInstalled() {
  if (ensured) return;
  const hash = hashPkg();
  const current = () => existsSync(stampFile) && readFileSync(stampFile, "utf8") === hash;
  if (!current()) {
    mkdirSync(base, { recursive: true });
    const deadline = Date.now() + 5 * 60_000;
    for (;;) {
      try {
        mkdirSync(lockDir);
        break;
      } catch (e) {
        if (e.code !== "EEXIST") throw e;
        if (Date.now() - statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs > 5 * 60_000) {
          rmSync(lockDir, { recursive: true, force: true }); // left by a killed run
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockDir}`);
        sleep(200);
      }
    }
    try {
      if (!current()) install(hash);
    } finally {
      rmSync(lockDir, { recursive: true, force: true });
    }
  }
  ensured = true;
}

/** The package as `import … from "syncgate"` sees it (Node ESM, "import" condition). */
export async function importSyncgate() {
  ensureInstalled();
  return import(pathToFileURL(join(projectDir, "esm.mjs")).href);
}

/** The package as `require("syncgate")` sees it (CommonJS, "require" condition). */
export function requireSyncgate() {
  ensureInstalled();
  return createRequire(join(projectDir, "package.json"))(join(projectDir, "cjs.cjs"));
}

/** Where the installed copy lives: target/js-test/project/node_modules/syncgate. */
export function installedDir() {
  ensureInstalled();
  return join(projectDir, "node_modules", "syncgate");
}

/** What `npm pack` reported (files, sizes). */
export function packInfo() {
  ensureInstalled();
  return JSON.parse(readFileSync(join(projectDir, "packed.json"), "utf8"));
}

/** Unix seconds now. */
export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

/** The `RejectionStatus` table of the installed index.d.ts: code → HTTP status. */
export function declaredStatuses() {
  const dts = readFileSync(join(installedDir(), "index.d.ts"), "utf8");
  const body = dts.match(/export interface RejectionStatus \{([^}]*)\}/);
  if (!body) throw new Error("index.d.ts has no RejectionStatus interface");
  return Object.fromEntries([...body[1].matchAll(/^\s*([a-z_]+): (\d{3});$/gm)].map((m) => [m[1], Number(m[2])]));
}
