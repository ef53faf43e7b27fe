// The `syncgate` command line against a running gateway: the real worker in workerd (Miniflare)
// in front of the real origin, all on loopback. The operator's side (admin create-instance,
// add-key, issue-api-key, revoke-key) and the sender's side (sign, sign --curl) are the binary
// (target/debug/syncgate, built by `cargo build -p syncgate-cli`); the requests it prints are
// sent as printed.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { branding, request, startGateway } from "./support/harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const CLI_BIN = process.env.SYNCGATE_CLI_BIN ??
  join(resolve(root, process.env.CARGO_TARGET_DIR ?? "target"), "debug/syncgate");
const HAS_CURL = ["/usr/bin/curl", "/bin/curl", "/usr/local/bin/curl"].some((p) => existsSync(p));

let gw;
let dir;
before(async () => {
  assert.ok(existsSync(CLI_BIN), `${CLI_BIN} is missing: run cargo build -p syncgate-cli`);
  gw = await startGateway();
  dir = mkdtempSync(join(tmpdir(), "syncgate-cli-e2e-"));
});
after(async () => {
  await gw?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a program; resolves { code, stdout, stderr } (never rejects on a non-zero exit). */
function exec(file, args, { env = {}, input } = {}) {
  return new Promise((ok, fail) => {
    const child = execFile(file, args, {
      env: { PATH: process.env.PATH, ...env },
      timeout: 30000,
      maxBuffer: 4 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") return fail(error);
      ok({ code: error ? error.code : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** The CLI's admin subcommands against this gateway, token from the environment. */
function admin(args, { token = gw.adminToken } = {}) {
  return exec(CLI_BIN, ["admin", "--edge", gw.edge, ...args], { env: { SYNCGATE_ADMIN_TOKEN: token } });
}

function json(result) {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** The one-line error of a failed CLI call. */
function errorLine(result, code) {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, "");
  const lines = result.stderr.split("\n").filter((l) => l && !l.startsWith("etag: "));
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^error: /);
  return lines[0];
}

const now = () => Math.floor(Date.now() / 1000);

/** `syncgate sign` (header lines) → the headers as an object. */
async function signHeaders(url, key, file, scheme) {
  const result = await exec(CLI_BIN, ["sign", "--url", url, "--kid", key.kid, "--scheme", scheme, file], {
    env: { SYNCGATE_SECRET: key.secret },
  });
  assert.equal(result.code, 0, result.stderr);
  return Object.fromEntries(result.stdout.trim().split("\n").map((line) => {
    const at = line.indexOf(": ");
    return [line.slice(0, at), line.slice(at + 2)];
  }));
}

test("operator and sender through the CLI: instance, key, API key, signed syncs, revocation", async () => {
  const instance = "cli-eu1";
  const tenant = "clitenant";
  const kid = "cli-2026-12";

  // The operator creates the instance with no key yet, then adds one the edge generates.
  const created = json(await admin(["create-instance", "--instance", instance, "--tenant", tenant, "--origin", gw.origin.url]));
  assert.equal(created.instance, instance);
  assert.equal(created.tenant, tenant);
  assert.deepEqual(created.keys, []);

  const added = await admin(["add-key", "--instance", instance, "--kid", kid, "--version", "1"]);
  const key = json(added);
  assert.equal(key.kid, kid);
  assert.equal(key.status, "active");
  assert.match(key.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, "the generated secret is shown once");
  assert.ok(!added.stderr.includes(key.secret.slice(6)));

  const issued = json(await admin(["issue-api-key", "--instance", instance, "--scopes", "sync:read", "--name", "cli e2e"]));
  assert.deepEqual(issued.scopes, ["sync:read"]);
  assert.equal(typeof issued.key, "string");

  const viewed = await admin(["get-instance", "--instance", instance]);
  const policy = json(viewed);
  assert.deepEqual(policy.keys.map((k) => [k.kid, k.status]), [[kid, "active"]]);
  assert.ok(!viewed.stdout.includes(key.secret.slice(6)), "the policy answer never carries the secret");
  assert.match(viewed.stderr, /^etag: "\d+"$/m);

  // The sender signs with the CLI and sends exactly what it printed.
  const url = `${gw.edge}/v1/${instance}/sync`;
  const signingKey = { kid, secret: key.secret };
  let version = 1;
  const payloadFile = (v) => {
    const file = join(dir, `payload-${v}.json`);
    writeFileSync(file, JSON.stringify(branding(tenant, v, `CLI ${v}`)));
    return file;
  };

  for (const scheme of ["rfc9421", "standard-webhooks"]) {
    const file = payloadFile(version);
    const headers = await signHeaders(url, signingKey, file, scheme);
    const res = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(branding(tenant, version, `CLI ${version}`)),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, "applied");
    assert.equal(body.keyId, kid);
    assert.equal(body.payloadVersion, version);
    version += 1;
  }

  if (HAS_CURL) {
    // `sign --curl`, run by the shell as printed: from a file and from stdin.
    for (const fromStdin of [false, true]) {
      const file = payloadFile(version);
      const args = ["sign", "--curl", "--url", url, "--kid", kid, fromStdin ? "-" : file];
      const signed = await exec(CLI_BIN, args, {
        env: { SYNCGATE_SECRET: key.secret },
        input: fromStdin ? JSON.stringify(branding(tenant, version, `CLI ${version}`)) : undefined,
      });
      assert.equal(signed.code, 0, signed.stderr);
      const sent = await exec("sh", ["-c", signed.stdout]);
      assert.equal(sent.code, 0, sent.stderr);
      const body = JSON.parse(sent.stdout);
      assert.equal(body.status, "applied", sent.stdout);
      assert.equal(body.payloadVersion, version);
      version += 1;
    }
  } else {
    console.log("# curl is not installed: the --curl command was not run");
  }

  const status = await (await gw.get(`/v1/${instance}/sync/status`, issued.key)).json();
  assert.equal(status.lastKeyId, kid);
  assert.equal(status.lastPayloadVersion, version - 1);

  // Revoked through the CLI: the next signed sync is refused at the edge.
  const revoked = json(await admin(["revoke-key", "--instance", instance, "--kid", kid]));
  assert.deepEqual(revoked, { kid, version: 1, status: "revoked" });
  const headers = await signHeaders(url, signingKey, payloadFile(version), "rfc9421");
  const res = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(branding(tenant, version, `CLI ${version}`)),
  });
  const problem = await res.json();
  assert.equal(res.status, 401, JSON.stringify(problem));
  assert.equal(problem.code, "revoked_key");

  // The edge's problem answers become one line and exit status 1.
  assert.match(errorLine(await admin(["revoke-key", "--instance", instance, "--kid", kid]), 1),
    /^error: invalid_field: .*revoked/);
  assert.match(errorLine(await admin(["get-instance", "--instance", instance], { token: "wrong" }), 1),
    /^error: unauthorized: /);
  assert.match(errorLine(await admin(["get-instance", "--instance", "cli-none"]), 1),
    /^error: unknown_instance: /);
});

test("--if-match: a write naming another revision is refused, the current one applies", async () => {
  const instance = "cli-eu2";
  const create = ["create-instance", "--instance", instance, "--tenant", "clitenant2", "--origin", gw.origin.url];
  const first = await admin(create);
  json(first);
  const etag = /^etag: (".*")$/m.exec(first.stderr)?.[1];
  assert.ok(etag, `an etag on stderr: ${first.stderr}`);

  const stale = await admin([...create, "--if-match", '"999999"']);
  assert.match(errorLine(stale, 1), /^error: precondition_failed: /);

  const policyFile = join(dir, "policy.json");
  writeFileSync(policyFile, JSON.stringify({ tenant: "clitenant2", skewSeconds: 120 }));
  const replaced = json(await admin(["create-instance", "--instance", instance, "--policy", policyFile,
    "--origin", gw.origin.url, "--if-match", etag]));
  assert.equal(replaced.skewSeconds, 120);
});
