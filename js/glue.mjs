// The JavaScript side of the `syncgate` package, shared by every entry (Node CJS/ESM, browser,
// workerd). Pure ECMAScript: each entry passes in its wasm-bindgen module and its hashing host.
// scripts/build-pkg.mjs copies this file as glue.js (ESM) and derives glue.cjs from it.
//
// What happens where:
// - Reading the caller's request happens here, once, into flat strings (method, URL, header
//   fields as `name\0value\0…`) and the body as given (a string or bytes, never copied here).
//   Shapes this fast path does not take — Fetch `Headers`, `Map`s, number header values,
//   Proxies or getters that throw — go to the Rust reader (src/wasm.rs) unchanged, so their
//   answers stay exactly what they were.
// - Every decision is made in Rust. The hashes it asks for (the body's SHA-256, HMAC-SHA256 of
//   a prefix and maybe the body) are computed by the host: Node's `crypto` (synchronous, keys
//   as KeyObjects made once per verifier), WebCrypto for `verifyAsync` in browsers, or, with no
//   host, by the pure-Rust code inside the wasm.
// - Answers come back as one JSON string and are parsed once with JSON.parse.

const MAX_HEADER_FIELDS = 10000;
const MAX_LIST_ITEMS = 1000;
const NO_BYTES = new Uint8Array(0);

/** A failure made here (a host that could not hash); the shape of every failure. */
function hostFailure() {
  return { ok: false, code: "internal_error", status: 500, message: "the host could not compute a digest" };
}

/**
 * The request as flat parts, or undefined when the Rust reader must read it (any shape but a
 * plain object with string fields, string or string-array header values, and a string,
 * Uint8Array or ArrayBuffer body). Reads each property once, in the Rust reader's order.
 */
function flatten(request) {
  try {
    if (typeof request !== "object" || request === null) return undefined;
    const method = request.method;
    if (typeof method !== "string") return undefined;
    const url = request.url;
    if (typeof url !== "string") return undefined;
    const headers = request.headers;
    let flat = "";
    if (headers !== undefined && headers !== null) {
      if (typeof headers !== "object") return undefined;
      const iterator = headers[Symbol.iterator];
      if (iterator !== undefined && iterator !== null) return undefined;
      const entries = Object.entries(headers);
      if (entries.length > MAX_HEADER_FIELDS) return undefined;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i];
        const name = entry[0];
        let value = entry[1];
        if (typeof value !== "string") {
          if (!Array.isArray(value) || value.length > MAX_LIST_ITEMS) return undefined;
          let joined = "";
          for (let j = 0; j < value.length; j++) {
            const part = value[j];
            if (typeof part !== "string") return undefined;
            joined = j === 0 ? part : `${joined}, ${part}`;
          }
          value = joined;
        }
        if (name.includes("\0") || value.includes("\0")) return undefined;
        flat += `${name}\0${value}\0`;
      }
    }
    let body = request.body;
    if (typeof body === "string") {
      // as is: its UTF-8 bytes are what is signed
    } else if (body === undefined || body === null) {
      body = "";
    } else if (ArrayBuffer.isView(body) && body instanceof Uint8Array) {
      // An empty view may sit on a detached buffer, which the Rust reader refuses.
      if (body.byteLength === 0) return undefined;
    } else if (body instanceof ArrayBuffer) {
      body = new Uint8Array(body);
      if (body.byteLength === 0) return undefined;
    } else {
      return undefined;
    }
    return { method, url, headers: flat, body };
  } catch {
    return undefined;
  }
}

/** `nowSeconds` when it is absent or a finite number; undefined otherwise (Rust answers). */
function readNow(nowSeconds) {
  if (nowSeconds === undefined || nowSeconds === null) return Date.now() / 1000;
  if (typeof nowSeconds === "number" && Number.isFinite(nowSeconds)) return nowSeconds;
  return undefined;
}

function concatTags(tags) {
  if (tags.length === 1) return tags[0];
  const out = new Uint8Array(tags.length * 32);
  for (let i = 0; i < tags.length; i++) out.set(tags[i], i * 32);
  return out;
}

/** A wasm export answering JSON text, as a function answering the parsed value (same name and arity). */
function parsed(exported) {
  const fn = function (...args) {
    return JSON.parse(exported.apply(this, args));
  };
  Object.defineProperty(fn, "name", { value: exported.name });
  Object.defineProperty(fn, "length", { value: exported.length });
  return fn;
}

/**
 * Binds the package's functions to a wasm-bindgen module.
 *
 * @param wasm the wasm-bindgen exports (`CompiledVerifier`, `signRequest`, …)
 * @param host `{ importKey(bytes), bytes(string), sha256(bytes), hmac(key, prefix, bytes?) }`
 *   computing synchronously (Node's crypto), or null to hash in Rust
 * @param asyncHost the same with every method answering a Promise (WebCrypto), or null
 */
export function bindSyncgate(wasm, host, asyncHost) {
  function createVerifier(policy, options) {
    const compiled = new wasm.CompiledVerifier(policy);
    const failureJson = compiled.policyFailure();
    // `{ hashing: "rust" }` keeps every digest in the wasm (the reference path).
    let rustOnly = false;
    try {
      rustOnly = typeof options === "object" && options !== null && options.hashing === "rust";
    } catch {
      rustOnly = false;
    }
    let keys = null;
    let asyncKeys = null;
    if (failureJson === undefined && host && !rustOnly) {
      const secrets = compiled.keySecrets();
      try {
        keys = secrets.map((s) => host.importKey(s));
      } catch {
        keys = null; // hash in Rust instead
      }
      for (const s of secrets) s.fill(0);
    }

    function viaRust(flat, now, full) {
      const body = flat.body;
      return typeof body === "string"
        ? compiled.verifyText(flat.method, flat.url, flat.headers, body, now, full)
        : compiled.verifyBytes(flat.method, flat.url, flat.headers, body, now, full);
    }

    function finish(plan, sha, macs, body, full) {
      const id = plan[0];
      if (!full) return compiled.finishSignature(id, sha, macs);
      return typeof body === "string"
        ? compiled.finishText(id, sha, macs, body)
        : compiled.finishBytes(id, sha, macs, body);
    }

    function run(request, nowSeconds, full) {
      const now = readNow(nowSeconds);
      if (now === undefined) return JSON.parse(compiled.verifyValue(request, nowSeconds, full));
      if (failureJson !== undefined) return JSON.parse(failureJson);
      const flat = flatten(request);
      if (flat === undefined) return JSON.parse(compiled.verifyValue(request, nowSeconds, full));
      if (keys === null) return JSON.parse(viaRust(flat, now, full));
      // A string body is encoded once (natively) and the bytes serve every pass over it.
      const body = typeof flat.body === "string" ? host.bytes(flat.body) : flat.body;
      const plan = JSON.parse(compiled.prepare(flat.method, flat.url, flat.headers, body.byteLength, now, full));
      if (!Array.isArray(plan)) return plan;
      let sha;
      let macs;
      try {
        sha = plan[1] === 1 ? host.sha256(body) : NO_BYTES;
        const tags = [];
        for (let i = 2; i < plan.length; i += 3) {
          tags.push(host.hmac(keys[plan[i]], plan[i + 1], plan[i + 2] === 1 ? body : null));
        }
        macs = tags.length === 0 ? NO_BYTES : concatTags(tags);
      } catch {
        compiled.cancel(plan[0]);
        return hostFailure();
      }
      return JSON.parse(finish(plan, sha, macs, body, full));
    }

    async function runAsync(request, nowSeconds, full) {
      if (!asyncHost || rustOnly || keys !== null) return run(request, nowSeconds, full);
      const now = readNow(nowSeconds);
      if (now === undefined) return JSON.parse(compiled.verifyValue(request, nowSeconds, full));
      if (failureJson !== undefined) return JSON.parse(failureJson);
      const flat = flatten(request);
      if (flat === undefined) return JSON.parse(compiled.verifyValue(request, nowSeconds, full));
      const bytes = asyncHost.bytes(flat.body);
      const plan = JSON.parse(compiled.prepare(flat.method, flat.url, flat.headers, bytes.byteLength, now, full));
      if (!Array.isArray(plan)) return plan;
      let sha;
      let macs;
      try {
        if (asyncKeys === null) {
          const secrets = compiled.keySecrets();
          asyncKeys = Promise.all(secrets.map((s) => asyncHost.importKey(s))).finally(() => {
            for (const s of secrets) s.fill(0);
          });
        }
        const ring = await asyncKeys;
        const tags = [];
        for (let i = 2; i < plan.length; i += 3) {
          tags.push(asyncHost.hmac(ring[plan[i]], plan[i + 1], plan[i + 2] === 1 ? bytes : null));
        }
        const [digest, ...computed] = await Promise.all([plan[1] === 1 ? asyncHost.sha256(bytes) : NO_BYTES, ...tags]);
        sha = digest;
        macs = computed.length === 0 ? NO_BYTES : concatTags(computed);
      } catch {
        asyncKeys = null;
        compiled.cancel(plan[0]);
        return hostFailure();
      }
      return JSON.parse(finish(plan, sha, macs, bytes, full));
    }

    const verifier = {
      verify: (request, nowSeconds) => run(request, nowSeconds, true),
      verifySignature: (request, nowSeconds) => run(request, nowSeconds, false),
      verifyAsync: (request, nowSeconds) => runAsync(request, nowSeconds, true).catch(hostFailure),
      verifySignatureAsync: (request, nowSeconds) => runAsync(request, nowSeconds, false).catch(hostFailure),
      free: () => compiled.free(),
    };
    const head = failureJson === undefined ? { ok: true } : JSON.parse(failureJson);
    return Object.assign(head, verifier);
  }

  function verifyRequest(request, policy, nowSeconds) {
    const verifier = createVerifier(policy);
    try {
      return verifier.verify(request, nowSeconds);
    } finally {
      verifier.free();
    }
  }

  // Every other function the wasm exports is the package's (signRequest, validatePayload, …),
  // its JSON answer parsed; classes, wasm-bindgen internals and `initSync` are not.
  const api = {};
  for (const name of Object.keys(wasm).sort()) {
    const value = wasm[name];
    if (typeof value === "function" && /^[a-z]/.test(name) && name !== "initSync" && name !== "default") api[name] = parsed(value);
  }
  api.createVerifier = createVerifier;
  api.verifyRequest = verifyRequest;
  return api;
}

// RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
const KNOWN_KEY = [0x4a, 0x65, 0x66, 0x65];
const KNOWN_TAG = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

/**
 * The synchronous host on Node's `crypto` module (also workerd's, with nodejs_compat), or
 * null when the module is missing or fails a known-answer test (then Rust hashes).
 */
export function nodeCryptoHost(crypto, Buffer) {
  if (!crypto || typeof crypto.createHmac !== "function" || typeof crypto.createSecretKey !== "function") return null;
  if (!Buffer || typeof Buffer.from !== "function") return null;
  try {
    const key = crypto.createSecretKey(new Uint8Array(KNOWN_KEY));
    const tag = crypto.createHmac("sha256", key).update("what do ya ").update(new TextEncoder().encode("want for nothing?")).digest("hex");
    if (tag !== KNOWN_TAG) return null;
  } catch {
    return null;
  }
  return {
    importKey: (bytes) => crypto.createSecretKey(bytes),
    bytes: (s) => Buffer.from(s, "utf8"),
    sha256: (body) => crypto.createHash("sha256").update(body).digest(),
    hmac: (key, prefix, body) => {
      const mac = crypto.createHmac("sha256", key).update(prefix);
      if (body !== null) mac.update(body);
      return mac.digest();
    },
  };
}

/** The asynchronous host on WebCrypto (`crypto.subtle`), or null when there is none. */
export function webCryptoHost(crypto) {
  const subtle = crypto && crypto.subtle;
  if (!subtle || typeof subtle.sign !== "function") return null;
  const encoder = new TextEncoder();
  return {
    bytes: (body) => (typeof body === "string" ? encoder.encode(body) : body),
    importKey: (bytes) => subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]),
    sha256: async (bytes) => new Uint8Array(await subtle.digest("SHA-256", bytes)),
    hmac: async (key, prefix, body) => {
      const head = encoder.encode(prefix);
      let message = head;
      if (body !== null) {
        message = new Uint8Array(head.byteLength + body.byteLength);
        message.set(head, 0);
        message.set(body, head.byteLength);
      }
      return new Uint8Array(await subtle.sign("HMAC", key, message));
    },
  };
}
