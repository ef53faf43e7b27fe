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
// - With a synchronous host (the hot path) the wasm answers the address of its answer in its
//   memory: the hashing plan and the verdict's fixed parts as bit fields, its numbers, its
//   variable text as one UTF-8 run, each MAC prefix as bytes handed to the host as they lie,
//   and the host's digests written back in place; tenant and key names are read once per
//   verifier (src/wasm/verifier.rs). `verifyAsync`'s last step answers its verdict the same way
//   (its plan is JSON: the host hashes between the two steps). A verdict's `payload` is built
//   here, when it
//   is first read, from the body that was verified: JSON.parse, then the exact shape the Rust
//   `SyncPayload` serialises to (canonicalPayload; tests/js/payload-shape.test.mjs holds it to
//   validatePayload's answer). The verdict stays plain data: deep-equal and JSON-identical to
//   the one the wasm would have serialised.
// - Other answers come back as one JSON string and are parsed once with JSON.parse.

const MAX_HEADER_FIELDS = 10000;
const MAX_LIST_ITEMS = 1000;
const NO_BYTES = new Uint8Array(0);

/** A failure made here (a host that could not hash); the shape of every failure. */
function hostFailure() {
  return { ok: false, code: "internal_error", status: 500, message: "the host could not compute a digest" };
}

// The header fields a verification reads when the request carries no RFC 9421 signature
// (src/verify.rs `precheck`, `detect_scheme`; src/signature/webhooks.rs `WebhookHeaders`).
// An RFC 9421 signature may cover any field, so a request with a `signature` or
// `signature-input` field, or with a name this check does not take (anything but token
// characters: Rust trims and lowercases names its own way), keeps every field.
const READ_FIELDS = new Set(["content-type", "webhook-signature", "webhook-id", "webhook-timestamp", "svix-signature", "svix-id", "svix-timestamp"]);
const TOKEN_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The request as flat parts, or undefined when the Rust reader must read it (any shape but a
 * plain object with string fields, string or string-array header values, and a string,
 * Uint8Array or ArrayBuffer body). Reads each property once, in the Rust reader's order.
 * `headers` holds every field; `read`, the fields a verification can read (READ_FIELDS), or
 * every field.
 */
function flatten(request) {
  try {
    if (typeof request !== "object" || request === null) return undefined;
    const method = request.method;
    if (typeof method !== "string" || method.includes("\0")) return undefined;
    const url = request.url;
    if (typeof url !== "string" || url.includes("\0")) return undefined;
    const headers = request.headers;
    let flat = "";
    let read = "";
    let readAll = false;
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
        const field = `${name}\0${value}\0`;
        flat += field;
        if (readAll) continue;
        if (READ_FIELDS.has(name)) {
          read += field; // a lowercase token name (the usual spelling): no test, no lowercasing
        } else if (!TOKEN_NAME.test(name)) {
          readAll = true;
        } else {
          const lower = name.toLowerCase();
          if (READ_FIELDS.has(lower)) read += field;
          else if (lower === "signature" || lower === "signature-input") readAll = true;
        }
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
    return { method, url, headers: flat, read: readAll ? flat : read, body };
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

/**
 * Writes a synchronous host's digest at `at` in the exchange: 32 bytes, or a string of 32
 * characters each holding one byte (latin1), which is how node:crypto answers a digest
 * cheapest — a digest as a Buffer costs an ArrayBuffer and its backing store, ~1.4 µs of a
 * 1 KiB body's SHA-256 and ~2.4 µs of its HMAC (BENCHMARKS.md, *Before and after this
 * round*). False for anything else (the host is then broken: `internal_error`).
 */
function putDigest(bytes, at, digest) {
  if (typeof digest === "string") {
    if (digest.length !== 32) return false;
    for (let i = 0; i < 32; i++) {
      const byte = digest.charCodeAt(i);
      if (byte > 0xff) return false;
      bytes[at + i] = byte;
    }
    return true;
  }
  if (digest === null || typeof digest !== "object" || digest.length !== 32) return false;
  bytes.set(digest, at);
  return true;
}

function concatTags(tags) {
  if (tags.length === 1) return tags[0];
  const out = new Uint8Array(tags.length * 32);
  for (let i = 0; i < tags.length; i++) out.set(tags[i], i * 32);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The verdict's payload, built when first read. The body it comes from passed every rule of the
// Rust reader (src/document/reader.rs, payload.rs): one JSON value, no repeated keys, no unknown
// members, strings kept as sent, `null` meaning "not given" for optional members. What Rust
// then serialises is each struct's members in declaration order, optional members left out when
// absent, optional lists and maps as empty ones, and maps (`planDefaults`, `overrides`) in key
// order (keys are ASCII names, so JS's sort is Rust's byte order).

/** An object used as a map, keys sorted; `__proto__` stays an own key, as JSON.parse makes it. */
function sortedMap(map) {
  const out = {};
  for (const key of Object.keys(map).sort()) {
    if (key === "__proto__") Object.defineProperty(out, key, { value: map[key], writable: true, enumerable: true, configurable: true });
    else out[key] = map[key];
  }
  return out;
}

const given = (value) => value !== undefined && value !== null;

function copyGiven(out, from, names) {
  for (const name of names) if (given(from[name])) out[name] = from[name];
  return out;
}

function canonicalFeatures(f) {
  return {
    plan: f.plan,
    modules: f.modules.map((m) => ({
      key: m.key,
      group: m.group,
      requires: given(m.requires) ? m.requires : [],
      permissions: given(m.permissions) ? m.permissions : [],
    })),
    planDefaults: sortedMap(f.planDefaults),
    overrides: given(f.overrides) ? sortedMap(f.overrides) : {},
  };
}

function canonicalBranding(b) {
  const out = copyGiven({ title: b.title }, b, ["logoUrl", "sidebarLogoUrl", "faviconUrl", "primaryColor"]);
  if (given(b.footer)) {
    const footer = copyGiven({}, b.footer, ["text"]);
    footer.links = given(b.footer.links) ? b.footer.links.map((l) => ({ label: l.label, url: l.url })) : [];
    out.footer = footer;
  }
  return out;
}

function canonicalSmtp(m) {
  const out = copyGiven({ host: m.host, port: m.port, encryption: m.encryption }, m, ["username", "password"]);
  out.fromEmail = m.fromEmail;
  return copyGiven(out, m, ["fromName"]);
}

/** A payload the Rust reader accepted, JSON.parse'd, in the shape `SyncPayload` serialises to. */
function canonicalPayload(p) {
  const out = { type: p.type, tenant: p.tenant, version: p.version };
  if (given(p.features)) out.features = canonicalFeatures(p.features);
  if (given(p.branding)) out.branding = canonicalBranding(p.branding);
  if (given(p.smtp)) out.smtp = canonicalSmtp(p.smtp);
  return out;
}

// %TypedArray%.prototype's own `byteLength` getter: a subclass's override is never called.
const BYTE_LENGTH = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "byteLength").get;

/**
 * A copy of `bytes` in a fresh plain Uint8Array. No caller code runs: neither a subclass's
 * `Symbol.species` (as `slice` would consult) nor an overridden `byteLength`.
 */
function copyOf(bytes) {
  const copy = new Uint8Array(BYTE_LENGTH.call(bytes));
  copy.set(bytes);
  return copy;
}

let utf8 = null;

/** UTF-8 text of bytes the Rust reader accepted (so valid UTF-8; a BOM would have been refused). */
function decodeUtf8(bytes) {
  if (utf8 === null) utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
  return utf8.decode(bytes);
}

/** Bodies up to this size are kept as text for the payload (decoding is cheaper than a copy). */
const DECODE_EAGERLY = 32 * 1024;

/**
 * Lazily built payloads: `attach(verdict, source)` gives `verdict` an enumerable `payload`
 * built from `source` — the verified body as a well-formed string, or bytes nobody else
 * holds — on first read, a plain data property from then on. One getter and setter serve every
 * verdict (a closure per verdict costs more than the rest of the verdict); the sources wait in
 * a WeakMap. `fallback(source)` builds the payload with the wasm's reader should JSON.parse
 * and canonicalPayload ever fail.
 */
function payloadAccessor(fallback) {
  const sources = new WeakMap();
  const built = new WeakMap(); // payloads of verdicts that could not take a data property (frozen)
  const owner = (object) => {
    let o = object;
    while (o !== null && typeof o === "object" && !sources.has(o) && !built.has(o)) o = Object.getPrototypeOf(o);
    return o;
  };
  const settle = (verdict, value) => {
    sources.delete(verdict);
    try {
      Object.defineProperty(verdict, "payload", { value, writable: true, enumerable: true, configurable: true });
    } catch {
      built.set(verdict, value); // a frozen verdict keeps its accessor, which answers this value
    }
  };
  const descriptor = {
    enumerable: true,
    configurable: true,
    get() {
      const verdict = owner(this);
      if (verdict === null || typeof verdict !== "object") return undefined;
      if (built.has(verdict)) return built.get(verdict);
      const source = sources.get(verdict);
      let value;
      try {
        value = canonicalPayload(JSON.parse(typeof source === "string" ? source : decodeUtf8(source)));
      } catch {
        value = fallback(source);
      }
      settle(verdict, value);
      return value;
    },
    set(value) {
      const verdict = owner(this);
      if (verdict !== null && typeof verdict === "object") settle(verdict, value);
    },
  };
  return {
    attach(verdict, source) {
      sources.set(verdict, source);
      return Object.defineProperty(verdict, "payload", descriptor);
    },
  };
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
 *   computing synchronously (Node's crypto), or null to hash in Rust; `prefix` is bytes (a
 *   view on the wasm memory, valid during the call), each digest 32 bytes or a string of 32
 *   characters, one a byte (latin1: see `putDigest`). With `byteLength(string)`, the UTF-8
 *   length of a string, `sha256` and `hmac` also take a string body and hash its UTF-8 bytes,
 *   exactly those `bytes(string)` answers
 * @param asyncHost the same with every method answering a Promise (WebCrypto), or null
 */
export function bindSyncgate(wasm, host, asyncHost) {
  /** The payload of a verified body by the wasm's own reader (what a lazy payload falls back on). */
  const payloads = payloadAccessor((source) => JSON.parse(wasm.validatePayload(source)).payload);

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

    // Names a synchronous verdict carries by index (src/wasm/verifier.rs `describe`): per key
    // and scheme, at `key << 1 | scheme`, the verdict's leading fields.
    // The exchange is read by the synchronous host path and by `verifyAsync`'s last step.
    const usesExchange = failureJson === undefined && (keys !== null || (asyncHost !== null && asyncHost !== undefined && !rustOnly));
    const names = usesExchange ? JSON.parse(compiled.describe()) : null;
    if (names !== null) {
      names.heads = [];
      for (const k of names.keys) {
        for (const scheme of names.schemes) names.heads.push({ tenant: names.tenant, scheme, keyId: k.keyId, keyVersion: k.keyVersion, keyStatus: k.keyStatus });
      }
    }

    // The wasm memory, where `begin`, `end*` and `finishFull` answer (src/wasm/verifier.rs): read through views
    // made again whenever the memory has grown (its old buffer is then detached: length 0).
    const memory = usesExchange ? compiled.memory() : null;
    const encoder = usesExchange ? new TextEncoder() : null;
    let view = null;
    let bytes = null;
    const exchange = () => {
      if (bytes === null || bytes.byteLength === 0) {
        const b = memory.buffer;
        view = new DataView(b);
        bytes = new Uint8Array(b);
      }
    };
    /** The text at `at` (a u32 length, then UTF-8) in the exchange. */
    const textAt = (at) => decodeUtf8(bytes.subarray(at + 4, at + 4 + view.getUint32(at, true)));

    /** Steps 1–7 (or 1–5) with the synchronous host; see src/wasm/verifier.rs `begin`. */
    function viaHost(flat, now, full) {
      // A string body is encoded once (natively) and the bytes serve every pass over it. A
      // signature check alone never hands the body to the wasm, so a host that hashes strings
      // (`byteLength`) is given a well-formed string itself: node:crypto encodes it as
      // Buffer.from would, without making the Buffer (a lone surrogate keeps the bytes path).
      const text = typeof flat.body === "string" ? flat.body : null;
      const hashesText = text !== null && !full && typeof host.byteLength === "function" && text.isWellFormed?.() === true;
      const body = text === null || hashesText ? flat.body : host.bytes(text);
      // The head goes into the wasm's head buffer as UTF-8: one byte per UTF-16 unit when it is
      // ASCII, else again with room for 3 a unit (the most any takes).
      const head = `${flat.method}\0${flat.url}\0${flat.read}`;
      let into = compiled.headBuffer(head.length);
      if (into === 0) return hostFailure();
      exchange();
      let encoded = encoder.encodeInto(head, bytes.subarray(into, into + head.length));
      if (encoded.read !== head.length) {
        into = compiled.headBuffer(3 * head.length);
        if (into === 0) return hostFailure();
        exchange();
        encoded = encoder.encodeInto(head, bytes.subarray(into, into + 3 * head.length));
      }
      const at = compiled.begin(encoded.written, hashesText ? host.byteLength(text) : body.byteLength, now, full);
      if (at === 0) return JSON.parse(compiled.failure());
      // The plan, then room for the digests, then each MAC's key and prefix. No wasm runs until
      // end*, so the views (and the prefixes handed to the host) stay valid until then.
      try {
        exchange();
        const plan = view.getUint32(at, true);
        const count = plan >>> 2;
        let digest = at + 4;
        if ((plan & 2) !== 0) {
          if (!putDigest(bytes, digest, host.sha256(body))) return hostFailure();
          digest += 32;
        }
        let mac = digest + 32 * count;
        for (let i = 0; i < count; i++, digest += 32) {
          const key = view.getUint32(mac, true);
          const end = mac + 8 + view.getUint32(mac + 4, true);
          const tag = host.hmac(keys[key >>> 1], bytes.subarray(mac + 8, end), (key & 1) !== 0 ? body : null);
          if (!putDigest(bytes, digest, tag)) return hostFailure();
          mac = end;
        }
      } catch {
        return hostFailure();
      }
      if (!full) {
        const out = compiled.endSignature();
        if (out === 0) return JSON.parse(compiled.failure());
        exchange();
        const answer = view.getUint32(out, true);
        const h = names.heads[answer >>> 2];
        if (h === undefined) return hostFailure();
        const verdict = {
          ok: true, tenant: h.tenant, scheme: h.scheme, keyId: h.keyId, keyVersion: h.keyVersion, keyStatus: h.keyStatus,
          nonce: "", timestamp: view.getFloat64(out + 4, true),
        };
        const said = textAt(out + 12);
        if ((answer & 2) === 0) {
          verdict.nonce = said;
        } else {
          const end = said.indexOf("\n");
          verdict.nonce = said.slice(end + 1);
          verdict.payloadHash = said.slice(0, end);
        }
        return verdict;
      }
      return fullVerdict(compiled.endFull(body), text, body, false);
    }

    /**
     * The verdict of `verify` from the answer `endFull` or `finishFull` left at `out` (0: the
     * failure), with its payload attached to be built when first read. `text` is the body as
     * the caller gave it when it was a string (else null), `body` its bytes, `owned` true when
     * those bytes are a copy no caller holds.
     */
    function fullVerdict(out, text, body, owned) {
      if (out === 0) return JSON.parse(compiled.failure());
      exchange();
      const answer = view.getUint32(out, true);
      const h = names.heads[answer >>> 1];
      if (h === undefined) return hostFailure();
      const said = textAt(out + 28);
      const a = said.indexOf("\n");
      const b = said.indexOf("\n", a + 1);
      const c = said.indexOf("\n", b + 1);
      const d = said.indexOf("\n", c + 1);
      const e = said.indexOf("\n", d + 1);
      const sections = said.slice(d + 1, e);
      // Every field is read out of the exchange before anything else runs.
      const verdict = {
        ok: true, tenant: h.tenant, scheme: h.scheme, keyId: h.keyId, keyVersion: h.keyVersion, keyStatus: h.keyStatus,
        nonce: said.slice(e + 1), timestamp: view.getFloat64(out + 4, true), payloadHash: said.slice(0, a),
        payloadType: said.slice(c + 1, d), payloadVersion: view.getFloat64(out + 12, true),
        sections: sections === "" ? [] : sections.split(","),
        replay: { nonceKey: said.slice(a + 1, b), payloadKey: said.slice(b + 1, c), expiresAt: view.getFloat64(out + 20, true) },
      };
      // The payload comes from the bytes verified: a string body as is unless it holds a lone
      // surrogate (then its UTF-8, what was verified, differs from it); a caller's byte body is
      // decoded now or copied (it may be reused once this returns).
      const source = text !== null && typeof text.isWellFormed === "function" && text.isWellFormed() ? text
        : text !== null ? body
          : BYTE_LENGTH.call(body) <= DECODE_EAGERLY ? decodeUtf8(body) : owned ? body : copyOf(body);
      return payloads.attach(verdict, source);
    }

    function run(request, nowSeconds, full) {
      const now = readNow(nowSeconds);
      if (now === undefined) return JSON.parse(compiled.verifyValue(request, nowSeconds, full));
      if (failureJson !== undefined) return JSON.parse(failureJson);
      const flat = flatten(request);
      if (flat === undefined) return JSON.parse(compiled.verifyValue(request, nowSeconds, full));
      if (keys === null) return JSON.parse(viaRust(flat, now, full));
      return viaHost(flat, now, full);
    }

    async function runAsync(request, nowSeconds, full) {
      if (!asyncHost || rustOnly || keys !== null) return run(request, nowSeconds, full);
      const now = readNow(nowSeconds);
      if (now === undefined) return JSON.parse(compiled.verifyValue(request, nowSeconds, full));
      if (failureJson !== undefined) return JSON.parse(failureJson);
      const flat = flatten(request);
      if (flat === undefined) return JSON.parse(compiled.verifyValue(request, nowSeconds, full));
      // The bytes hashed are the bytes parsed: a caller's byte body is copied first, since it
      // could change while the host hashes (a string is encoded into fresh bytes anyway).
      const text = typeof flat.body === "string" ? flat.body : null;
      const bytes = text === null ? copyOf(flat.body) : asyncHost.bytes(text);
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
      if (!full) return JSON.parse(compiled.finishSignature(plan[0], sha, macs));
      return fullVerdict(compiled.finishFull(plan[0], sha, macs, bytes), text, bytes, true);
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

// FIPS 180-2, appendix B.1: SHA-256("abc").
const KNOWN_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/** Whether `answer()` is a digest (`putDigest`'s two forms) whose hex is `expected`; throwing counts as no. */
function answers(answer, expected) {
  const digest = new Uint8Array(32);
  try {
    if (!putDigest(digest, 0, answer())) return false;
  } catch {
    return false;
  }
  let hex = "";
  for (const byte of digest) hex += (byte < 16 ? "0" : "") + byte.toString(16);
  return hex === expected;
}

/** The first of `candidates` whose answer to `ask` is the digest `expected` (hex), or null. */
function firstPassing(candidates, ask, expected) {
  return candidates.find((candidate) => answers(() => ask(candidate), expected)) ?? null;
}

/**
 * The node:crypto host's body SHA-256: `crypto.hash` (Node ≥ 20.12; workerd's node:crypto
 * where it has it) answering latin1 text, else answering a Buffer, else `createHash`. Each is
 * taken only when it passes the known-answer test, asked of a view inside a larger buffer, as
 * callers' bodies often are. The one-shot call makes no Hash object (3.3 → 2.2 µs per 1 KiB
 * body), and its text answer no Buffer (a further ~1.4 µs; BENCHMARKS.md, *Before and after
 * this round*).
 */
function bodySha256(crypto) {
  const oneShot = (encoding) => (body) => crypto.hash("sha256", body, encoding);
  const candidates = typeof crypto.hash === "function" ? [oneShot("latin1"), oneShot("buffer")] : [];
  candidates.push((body) => crypto.createHash("sha256").update(body).digest());
  const abc = new Uint8Array([0x00, 0x61, 0x62, 0x63, 0x00]).subarray(1, 4);
  return firstPassing(candidates, (sha256) => sha256(abc), KNOWN_SHA256);
}

/**
 * The synchronous host on Node's `crypto` module (also workerd's, with nodejs_compat), or
 * null when the module is missing or its HMAC and SHA-256 fail their known-answer tests (then
 * Rust hashes). Digests answer as latin1 text where that passes its test (no Buffer made per
 * digest; see `putDigest`), else as Buffers.
 */
export function nodeCryptoHost(crypto, Buffer) {
  if (!crypto || typeof crypto.createHmac !== "function" || typeof crypto.createSecretKey !== "function") return null;
  if (!Buffer || typeof Buffer.from !== "function") return null;
  const hmacAnswering = (encoding) => (key, prefix, body) => {
    const mac = crypto.createHmac("sha256", key).update(prefix);
    if (body !== null) mac.update(body);
    return mac.digest(encoding);
  };
  const encoder = new TextEncoder();
  const knownTag = (hmac, body) => hmac(crypto.createSecretKey(new Uint8Array(KNOWN_KEY)), encoder.encode("what do ya "), body);
  const hmac = firstPassing([hmacAnswering("latin1"), hmacAnswering(undefined)], (c) => knownTag(c, encoder.encode("want for nothing?")), KNOWN_TAG);
  const sha256 = bodySha256(crypto);
  if (hmac === null || sha256 === null) return null;
  const host = {
    importKey: (bytes) => crypto.createSecretKey(bytes),
    bytes: (s) => Buffer.from(s, "utf8"),
    sha256,
    hmac,
  };
  // Given a string, node:crypto hashes its UTF-8: the host takes string bodies (`byteLength`)
  // only when both digests give their known answers for one.
  const takesText = typeof Buffer.byteLength === "function"
    && answers(() => sha256("abc"), KNOWN_SHA256)
    && answers(() => knownTag(hmac, "want for nothing?"), KNOWN_TAG);
  if (takesText) host.byteLength = (s) => Buffer.byteLength(s, "utf8");
  return host;
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
