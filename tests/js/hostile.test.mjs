// Nothing throws across the JS boundary, however hostile the input: Proxies whose traps throw,
// revoked Proxies, throwing getters, iterators that throw or never end, values whose
// toString/valueOf throw, Symbols, BigInts, cycles. Every export answers — a success when the
// hostile part was never needed, else its tagged failure `{ ok: false, code, status, message }`
// (`contentDigest` answers a string or that failure) — and a throw inside the caller's object is
// never swallowed into a success.
//
// Also here: signRequest's output verifies on a request that carried a stale Content-Digest, and
// a rejection never repeats a long run of the sender's text.

import assert from "node:assert/strict";
import { test } from "node:test";

import { FUNCTIONS, declaredStatuses, importSyncgate } from "./support/package.mjs";
import { ACTIVE, brandingPayload, featuresPayload, policy, syncRequest } from "./support/fixtures.mjs";

const syncgate = await importSyncgate();
const { contentDigest, recomputeModules, signRequest, validatePayload, verifyRequest } = syncgate;
// The compiled verifier's methods, called like verifyRequest (policy compiled per call), with
// node:crypto hashing and with Rust hashing.
const SUBJECTS = {
  ...syncgate,
  "createVerifier().verify": (r, p, n) => syncgate.createVerifier(p).verify(r, n),
  "createVerifier().verifySignature": (r, p, n) => syncgate.createVerifier(p).verifySignature(r, n),
  "createVerifier(rust).verify": (r, p, n) => syncgate.createVerifier(p, { hashing: "rust" }).verify(r, n),
};
const STATUS = declaredStatuses();
const NOW = 1_800_000_000;

// ---------------------------------------------------------------------------------------------
// Hostile values. Each maker takes a valid value and returns { value, touched } where touched()
// says whether the hostile part ran (a trap, getter or iterator step that threw).

class Boom extends Error {}

function tracker() {
  let hit = false;
  return { hit: () => { hit = true; throw new Boom("hostile"); }, touched: () => hit };
}

const TRAPS = ["get", "has", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf"];

const OBJECT_MAKERS = {
  ...Object.fromEntries(TRAPS.map((trap) => [`Proxy whose ${trap} trap throws`, (v) => {
    const t = tracker();
    // `instanceof` (is this a Uint8Array?) runs getPrototypeOf; wasm-bindgen's check treats a
    // throw there as "no", and the value is then read like any other object. Only getPrototypeOf
    // may therefore run and still end in a success.
    const touched = trap === "getPrototypeOf" ? () => false : t.touched;
    return { value: new Proxy(v, { [trap]: t.hit }), touched };
  }])),
  "Proxy whose every trap throws": (v) => {
    const t = tracker();
    const traps = ["get", "has", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf", "set",
      "defineProperty", "deleteProperty", "apply", "construct", "isExtensible", "preventExtensions",
      "setPrototypeOf"];
    return { value: new Proxy(v, Object.fromEntries(traps.map((n) => [n, t.hit]))), touched: t.touched };
  },
  "revoked Proxy": (v) => {
    const { proxy, revoke } = Proxy.revocable(v, {});
    revoke();
    return { value: proxy, touched: () => true, mustFail: true };
  },
  "object whose getters throw": (v) => {
    const t = tracker();
    const copy = Array.isArray(v) ? [] : {};
    for (const key of Object.keys(v)) {
      Object.defineProperty(copy, key, { get: t.hit, enumerable: true, configurable: true });
    }
    return { value: copy, touched: t.touched };
  },
  "cyclic object": (v) => {
    const copy = Array.isArray(v) ? [...v] : { ...v };
    copy.self = copy;
    return { value: copy, touched: () => false };
  },
};

const LEAF_MAKERS = {
  "value whose toString/valueOf throw": () => {
    const t = tracker();
    return {
      value: { toString: t.hit, valueOf: t.hit, [Symbol.toPrimitive]: t.hit, toJSON: t.hit },
      touched: t.touched,
    };
  },
  Symbol: () => ({ value: Symbol("hostile"), touched: () => false }),
  BigInt: () => ({ value: 10n ** 30n, touched: () => false }),
  "revoked Proxy": () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return { value: proxy, touched: () => false };
  },
};

const HEADERS_MAKERS = {
  "Headers-like whose iterator throws": () => {
    const t = tracker();
    return { value: { [Symbol.iterator]: t.hit, entries: t.hit }, touched: t.touched };
  },
  "Headers whose entries() and iterator throw": (v) => {
    const t = tracker();
    const h = new Headers(v);
    h.entries = t.hit;
    h[Symbol.iterator] = t.hit;
    return { value: h, touched: t.touched };
  },
  "iterator whose next() throws": () => {
    const t = tracker();
    return { value: { [Symbol.iterator]: () => ({ next: t.hit }) }, touched: t.touched };
  },
  "iterator whose step has a throwing done getter": () => {
    const t = tracker();
    return {
      value: { [Symbol.iterator]: () => ({ next: () => ({ get done() { return t.hit(); }, value: ["a", "b"] }) }) },
      touched: t.touched,
    };
  },
  "iterator yielding entries whose items throw": () => {
    const t = tracker();
    let n = 0;
    const entry = new Proxy(["x-a", "1"], { get: t.hit });
    return {
      value: { [Symbol.iterator]: () => ({ next: () => (n++ ? { done: true } : { done: false, value: entry }) }) },
      touched: t.touched,
    };
  },
  "iterator that never ends": () => ({
    value: { [Symbol.iterator]: () => ({ next: () => ({ done: false, value: ["x-a", "1"] }) }) },
    touched: () => false,
    mustFail: true,
  }),
  "Symbol.iterator that is not a function": () => ({
    value: { [Symbol.iterator]: 42 }, touched: () => false, mustFail: true,
  }),
  "header value whose array Proxy throws": (v) => {
    const t = tracker();
    return { value: { ...v, "x-list": new Proxy(["a", "b"], { get: t.hit }) }, touched: t.touched };
  },
  "header value that is a revoked Proxy": (v) => {
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    return { value: { ...v, "x-list": proxy }, touched: () => true, mustFail: true };
  },
  "Map with a Symbol name": (v) => ({
    value: new Map([...Object.entries(v), [Symbol("name"), "v"]]), touched: () => false, mustFail: true,
  }),
  "header value that is a BigInt": (v) => ({ value: { ...v, "x-big": 1n }, touched: () => false, mustFail: true }),
};

const BODY_MAKERS = {
  "body getter that throws": null, // handled on the request, see requestVariants
  "Proxy of a Uint8Array": (v) => ({ value: new Proxy(new TextEncoder().encode(v), {}), touched: () => false, mustFail: true }),
  "Uint8Array Proxy whose getPrototypeOf trap throws": (v) => {
    const t = tracker();
    return { value: new Proxy(new TextEncoder().encode(v), { getPrototypeOf: t.hit }), touched: t.touched };
  },
  "detached ArrayBuffer": () => {
    const buffer = new ArrayBuffer(8);
    structuredClone(buffer, { transfer: [buffer] });
    return { value: buffer, touched: () => false, mustFail: true };
  },
};

// ---------------------------------------------------------------------------------------------
// What each export is called with, and where hostile values go.

function signedRequest() {
  const req = syncRequest(brandingPayload(3));
  const signed = signRequest(req, { kid: ACTIVE.kid, secret: ACTIVE.secret }, { nowSeconds: NOW, nonce: "n-hostile" });
  assert.equal(signed.ok, true, JSON.stringify(signed));
  return { ...req, headers: { ...req.headers, ...signed.headers } };
}

/** Each export with its valid arguments (fresh each call). */
const CALLS = {
  createVerifier: () => [policy()],
  verifyRequest: () => [signedRequest(), policy(), NOW],
  "createVerifier().verify": () => [signedRequest(), policy(), NOW],
  "createVerifier().verifySignature": () => [signedRequest(), policy(), NOW],
  "createVerifier(rust).verify": () => [signedRequest(), policy(), NOW],
  signRequest: () => [syncRequest(brandingPayload(3)), { kid: ACTIVE.kid, secret: ACTIVE.secret },
    { nowSeconds: NOW, nonce: "n-1", label: "sig1", components: ["content-type"], tag: "t" }],
  validatePayload: () => [brandingPayload(3), policy()],
  recomputeModules: () => [featuresPayload(3).features, policy()],
  contentDigest: () => ["hello"],
  // GitHub's published example (tests/vectors/public.json).
  verifyProviderWebhook: () => ["github", {
    method: "POST",
    url: "https://edge.example/v1/acme-eu1/hooks/github",
    headers: { "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" },
    body: "Hello, World!",
  }, "It's a Secret to Everybody", NOW],
  signatureBase: () => [signedRequest()],
};

/** Paths into the arguments: [argument index, ...property names]. */
const REQUEST_OBJECT_PATHS = [[0], [0, "headers"], [1], [1, "keys"], [1, "keys", 0]];
const REQUEST_LEAF_PATHS = [[0, "method"], [0, "url"], [0, "body"], [0, "headers", "signature"], [1, "tenant"], [2]];
const OBJECT_PATHS = {
  createVerifier: [[0], [0, "keys"], [0, "keys", 0]],
  verifyRequest: REQUEST_OBJECT_PATHS,
  "createVerifier().verify": REQUEST_OBJECT_PATHS,
  "createVerifier().verifySignature": REQUEST_OBJECT_PATHS,
  "createVerifier(rust).verify": REQUEST_OBJECT_PATHS,
  signRequest: [[0], [0, "headers"], [1], [2], [2, "components"]],
  validatePayload: [[0], [0, "branding"], [1]],
  recomputeModules: [[0], [0, "modules"], [0, "modules", 0], [1]],
  contentDigest: [],
  verifyProviderWebhook: [[1], [1, "headers"]],
  signatureBase: [[0], [0, "headers"]],
};
const LEAF_PATHS = {
  createVerifier: [[0, "tenant"], [0, "instance"]],
  verifyRequest: REQUEST_LEAF_PATHS,
  "createVerifier().verify": REQUEST_LEAF_PATHS,
  "createVerifier().verifySignature": REQUEST_LEAF_PATHS,
  "createVerifier(rust).verify": REQUEST_LEAF_PATHS,
  signRequest: [[0, "method"], [0, "url"], [0, "body"], [0, "headers", "content-type"], [1, "kid"], [1, "secret"],
    [2, "nonce"], [2, "label"], [2, "tag"], [2, "nowSeconds"], [2, "expiresInSeconds"], [2, "scheme"],
    [2, "components", 0]],
  validatePayload: [[0], [0, "tenant"], [1]],
  recomputeModules: [[0], [0, "plan"], [1]],
  contentDigest: [[0]],
  verifyProviderWebhook: [[0], [1, "method"], [1, "url"], [1, "body"], [1, "headers", "x-hub-signature-256"], [2], [3]],
  signatureBase: [[0, "method"], [0, "url"], [0, "body"], [0, "headers", "signature-input"]],
};
const HEADERS_OWNERS = {
  verifyRequest: [0], signRequest: [0], "createVerifier().verify": [0],
  "createVerifier().verifySignature": [0], "createVerifier(rust).verify": [0],
  signatureBase: [0], verifyProviderWebhook: [1],
};

function getAt(args, path) {
  return path.reduce((v, k) => v[k], args);
}

function setAt(args, path, value) {
  const parent = path.slice(0, -1).reduce((v, k) => v[k], args);
  parent[path.at(-1)] = value;
}

function label(path) {
  return `argument ${path[0]}${path.slice(1).map((k) => `.${k}`).join("")}`;
}

/** Calls `name` with args, asserting no throw and a well-formed answer; returns it. */
function call(name, args, what) {
  let out;
  assert.doesNotThrow(() => { out = SUBJECTS[name](...args); }, `${name}: ${what} threw`);
  if (name === "contentDigest" && typeof out === "string") return out;
  assert.equal(typeof out, "object", `${name}: ${what} answered ${typeof out}`);
  assert.notEqual(out, null, `${name}: ${what} answered null`);
  assert.equal(typeof out.ok, "boolean", `${name}: ${what}`);
  if (!out.ok) {
    assert.equal(typeof out.code, "string", `${name}: ${what}`);
    assert.equal(out.status, STATUS[out.code], `${name}: ${what}: status of ${out.code}`);
    assert.equal(typeof out.message, "string");
    assert.ok(out.message.length > 0 && out.message.length <= 200, `${name}: ${what}: ${out.message}`);
  }
  return out;
}

function ok(out) {
  return typeof out === "string" || out.ok === true;
}

/** Runs one hostile substitution and checks: no throw, and a throw in the caller's code (or a
 * maker that must fail) is a failure, never a success. */
function check(name, path, kind, maker) {
  const args = CALLS[name]();
  const original = path.length ? getAt(args, path) : undefined;
  const hostile = maker(original);
  setAt(args, path, hostile.value);
  const what = `${kind} as ${label(path)}`;
  const out = call(name, args, what);
  if (hostile.touched() || hostile.mustFail) {
    assert.ok(!ok(out), `${name}: ${what} ran the hostile code yet answered ${JSON.stringify(out)}`);
  }
  return out;
}

test("every export of the package is covered here", () => {
  const exported = Object.keys(syncgate).filter((k) => typeof syncgate[k] === "function").sort();
  assert.deepEqual(exported, [...FUNCTIONS].sort());
  for (const name of FUNCTIONS) assert.ok(name in CALLS, `${name} has hostile calls`);
  for (const name of Object.keys(CALLS)) assert.ok(ok(call(name, CALLS[name](), "valid input")), name);
});

for (const name of Object.keys(CALLS)) {
  test(`${name}: Proxies (throwing traps, revoked) and throwing getters in every object argument`, () => {
    let failures = 0;
    for (const path of OBJECT_PATHS[name]) {
      for (const [kind, maker] of Object.entries(OBJECT_MAKERS)) {
        if (!ok(check(name, path, kind, maker))) failures++;
      }
    }
    // Top-level arguments replaced whole, too (no valid value to wrap for contentDigest).
    const top = CALLS[name]().length;
    for (let i = 0; i < top; i++) {
      for (const [kind, maker] of Object.entries(OBJECT_MAKERS)) {
        const args = CALLS[name]();
        const target = typeof args[i] === "object" && args[i] !== null ? args[i] : { value: args[i] };
        const hostile = maker(target);
        args[i] = hostile.value;
        const out = call(name, args, `${kind} as argument ${i}`);
        if (hostile.touched() || hostile.mustFail) assert.ok(!ok(out), `${name}: ${kind} as argument ${i}`);
      }
    }
    if (OBJECT_PATHS[name].length) assert.ok(failures > 0, "some hostile objects must have been read");
  });

  test(`${name}: toString/valueOf that throw, Symbols, BigInts and revoked Proxies as values`, () => {
    for (const path of LEAF_PATHS[name]) {
      for (const [kind, maker] of Object.entries(LEAF_MAKERS)) check(name, path, kind, maker);
    }
  });
}

for (const name of Object.keys(HEADERS_OWNERS)) {
  test(`${name}: headers that are hostile iterables or hold hostile values`, () => {
    for (const [kind, maker] of Object.entries(HEADERS_MAKERS)) {
      check(name, [HEADERS_OWNERS[name][0], "headers"], kind, maker);
    }
  });

  test(`${name}: a request whose body getter throws`, () => {
    const at = HEADERS_OWNERS[name][0];
    for (const field of ["body", "headers", "method", "url"]) {
      const args = CALLS[name]();
      const t = tracker();
      const request = { ...args[at] };
      Object.defineProperty(request, field, { get: t.hit, enumerable: true });
      args[at] = request;
      const out = call(name, args, `a throwing ${field} getter`);
      assert.ok(t.touched(), `${name} reads ${field}`);
      assert.equal(out.ok, false);
      assert.equal(out.code, "invalid_field");
      assert.equal(out.field, field, JSON.stringify(out));
    }
  });

  test(`${name}: hostile bodies`, () => {
    for (const [kind, maker] of Object.entries(BODY_MAKERS)) {
      if (maker) check(name, [HEADERS_OWNERS[name][0], "body"], kind, maker);
    }
  });
}

test("contentDigest: hostile bodies", () => {
  for (const [kind, maker] of Object.entries(BODY_MAKERS)) {
    if (maker) check("contentDigest", [0], kind, maker);
  }
  for (const [kind, maker] of Object.entries(OBJECT_MAKERS)) {
    const hostile = maker(new Uint8Array([1, 2, 3]));
    const out = call("contentDigest", [hostile.value], kind);
    if (hostile.touched() || hostile.mustFail) assert.ok(!ok(out), kind);
  }
});

test("a getter that throws something that is not an Error is still a failure", () => {
  for (const thrown of [undefined, null, 42, "text", Symbol("s"), 1n, new Proxy({}, { get() { throw 1; } })]) {
    const headers = { get "content-type"() { throw thrown; } };
    const out = call("verifyRequest", [{ ...signedRequest(), headers }, policy(), NOW], `throwing ${typeof thrown}`);
    assert.equal(out.ok, false);
    assert.equal(out.code, "invalid_field");
    assert.equal(out.field, "headers");
  }
});

test("a getter that calls back into the package is answered normally", () => {
  const req = signedRequest();
  const headers = { ...req.headers };
  let inner;
  Object.defineProperty(headers, "content-type", {
    enumerable: true,
    get() {
      inner = verifyRequest(signedRequest(), policy(), NOW);
      return "application/json";
    },
  });
  const out = call("verifyRequest", [{ ...req, headers }, policy(), NOW], "a re-entrant getter");
  assert.equal(inner?.ok, true, JSON.stringify(inner));
  assert.equal(out.ok, true, JSON.stringify(out));
});

// ---------------------------------------------------------------------------------------------
// signRequest replaces a stale Content-Digest

test("signRequest on a request carrying a stale Content-Digest: its output verifies", () => {
  const stale = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
  for (const name of ["content-digest", "Content-Digest", "CONTENT-DIGEST"]) {
    for (const scheme of ["rfc9421"]) {
      const req = syncRequest(brandingPayload(4), { [name]: stale });
      const signed = signRequest(req, { kid: ACTIVE.kid, secret: ACTIVE.secret }, { scheme, nowSeconds: NOW, nonce: `n-${name}` });
      assert.equal(signed.ok, true, JSON.stringify(signed));
      assert.equal(signed.headers["content-digest"], contentDigest(req.body));
      // Set the signer's headers the way a Fetch API caller does: case-insensitively.
      const headers = new Headers(req.headers);
      for (const [n, v] of Object.entries(signed.headers)) headers.set(n, v);
      const v = verifyRequest({ ...req, headers }, policy(), NOW);
      assert.equal(v.ok, true, `${name}: ${JSON.stringify(v)}`);
      assert.equal(v.nonce, `n-${name}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Sender text stays short

test("a huge component name, label or policy field is not repeated in the failure", () => {
  const huge = Array.from({ length: 3000 }, (_, i) => `x${i.toString(16)}-`).join("").slice(0, 20_000);
  const req = signedRequest();
  const input = req.headers["signature-input"].replace('"content-digest"', `"content-digest" "${huge}"`);
  const answers = [
    verifyRequest({ ...req, headers: { ...req.headers, "signature-input": input } }, policy(), NOW),
    verifyRequest(req, { ...policy(), [huge]: 1 }, NOW),
    verifyRequest(req, { ...policy(), schemes: [huge] }, NOW),
    signRequest(syncRequest(), { kid: ACTIVE.kid, secret: ACTIVE.secret }, { nowSeconds: NOW, nonce: "n", components: [huge] }),
    validatePayload({ ...brandingPayload(1), [huge]: 1 }),
  ];
  for (const out of answers) {
    assert.equal(out.ok, false, JSON.stringify(out).slice(0, 300));
    const text = JSON.stringify(out);
    assert.ok(text.length < 512, `${text.length} bytes: ${text.slice(0, 300)}`);
    for (let i = 0; i + 65 <= huge.length; i += 13) {
      assert.ok(!text.includes(huge.slice(i, i + 65)), `repeats sender text: ${text}`);
    }
  }
});
