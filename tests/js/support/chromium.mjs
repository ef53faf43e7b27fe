// Headless Debian chromium for the page tests, driven by playwright-core (no browser download),
// and a loopback-only static file server. Shared by tests/js/preview.test.mjs,
// tests/js/bundler.test.mjs and tests/e2e/dashboard.test.mjs.
//
// Without /usr/bin/chromium (`make install-chromium`) the tests skip with a message, except
// under CI (CI set), where `haveChromium` throws.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, sep } from "node:path";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const TYPES = {
  ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html; charset=utf-8",
  ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json", ".svg": "image/svg+xml",
};

/** `false` or a skip message; under CI a missing chromium is an error instead. */
export function chromiumSkip() {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI) {
    throw new Error(`${CHROMIUM} is missing; \`make install-chromium\` installs it (browser tests must run in CI)`);
  }
  return `${CHROMIUM} is missing: run \`make install-chromium\``;
}

/**
 * Serves files on 127.0.0.1 from `mounts`: URL prefix → folder (e.g. `{ "/pkg/": dir }`).
 * Anything outside a mount, or escaping one, is a 404. Resolves to `{ origin, close }`.
 */
export function serveStatic(mounts) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const send = (status, type, body) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (!path.startsWith(prefix)) continue;
      let file = normalize(join(dir, path.slice(prefix.length)));
      if (file !== dir && !file.startsWith(dir + sep)) break;
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
      if (existsSync(file)) return send(200, TYPES[extname(file)] ?? "application/octet-stream", readFileSync(file));
    }
    return send(404, "text/plain", "not found");
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({
      origin: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise((done) => server.close(done)),
    }));
  });
}

/**
 * Opens a fresh headless chromium profile and one tab that may only reach `allowedOrigin` (every
 * other request is aborted). `problems` collects console errors, page errors and failed
 * requests; `requests` every URL the tab asked for. Call `close()` when done.
 */
export async function openTab(allowedOrigin, { viewport = { width: 1280, height: 900 } } = {}) {
  const { chromium } = await import("playwright-core");
  const userDataDir = mkdtempSync(join(tmpdir(), "syncgate-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport,
  });
  const problems = [];
  const requests = [];
  const tab = context.pages()[0] ?? await context.newPage();
  tab.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  tab.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  tab.on("requestfailed", (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  tab.on("request", (r) => requests.push({ url: r.url(), method: r.method(), headers: r.headers() }));
  await tab.route("**/*", (route) => (route.request().url().startsWith(allowedOrigin) ? route.continue() : route.abort()));
  return {
    tab, problems, requests,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot of `tab` at `path` (folders made as needed). */
export async function screenshot(tab, path) {
  mkdirSync(dirname(path), { recursive: true });
  await tab.screenshot({ path, fullPage: true });
}
