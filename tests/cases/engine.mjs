// The case engine every JavaScript runner shares (Node, Chromium, the edge): it builds a case's
// request with the package's own signer and checks an answer against the case's expectation.
// Pure ECMAScript (no Node built-ins), so the browser page imports it unchanged. The Rust runner
// (tests/cases.rs) implements the same format.

/** The base policy with `overrides` merged over it (a null member removes it). */
export function mergedPolicy(base, overrides = {}) {
  const policy = { ...base };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    if (v === null) delete policy[k];
    else policy[k] = v;
  }
  return policy;
}

export function bodyText(file, body) {
  if (typeof body === "string") {
    if (!(body in file.bodies)) throw new Error(`no body named ${body}`);
    return JSON.stringify(file.bodies[body]);
  }
  if (body && "json" in body) return JSON.stringify(body.json);
  if (body && "text" in body) return body.text;
  throw new Error(`not a body: ${JSON.stringify(body)}`);
}

function setHeader(headers, name, value) {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name.toLowerCase()) delete headers[k];
  headers[name] = value;
}

function getHeader(headers, name) {
  const k = Object.keys(headers).find((h) => h.toLowerCase() === name.toLowerCase());
  return k === undefined ? "" : headers[k];
}

/**
 * Builds one signature case: `{ request, policy, now }` to pass to verifyRequest.
 * `now` replaces the file's fixed time and `url` its URL (the edge runner passes its clock and
 * its address); `sign.at` and `verifyAt` stay relative to it.
 */
export function buildSignatureCase(sg, file, c, { now = file.now, url = file.url } = {}) {
  const headers = { ...file.headers };
  let body = bodyText(file, c.body);
  let method = "POST";
  let target = url;
  let created = now;
  if (c.sign) {
    const key = file.keys[c.sign.key];
    created = now + (c.sign.at ?? 0);
    const options = { scheme: c.sign.scheme, nowSeconds: created, nonce: c.sign.nonce };
    if (c.sign.expiresIn !== undefined) options.expiresInSeconds = c.sign.expiresIn;
    if (c.sign.components) options.components = c.sign.components;
    const signed = sg.signRequest({ method, url: target, headers, body }, { kid: c.sign.kid ?? key.kid, secret: key.secret }, options);
    if (!signed.ok) throw new Error(`${c.name}: sign: ${signed.code} ${signed.message}`);
    for (const [n, v] of Object.entries(signed.headers)) setHeader(headers, n, v);
  }
  for (const [op, ...args] of c.mutate ?? []) {
    switch (op) {
      case "setHeader": setHeader(headers, args[0], args[1].replaceAll("{old}", getHeader(headers, args[0]))); break;
      case "removeHeader": setHeader(headers, args[0], ""); delete headers[args[0]]; break;
      case "replaceInHeader": {
        const from = args[1].replaceAll("{created}", String(created));
        const to = args[2].replaceAll("{created}", String(created));
        const before = getHeader(headers, args[0]);
        if (!before.includes(from)) throw new Error(`${c.name}: ${from} not in ${before}`);
        setHeader(headers, args[0], before.replace(from, to));
        break;
      }
      case "truncateHeader": {
        const before = getHeader(headers, args[0]);
        setHeader(headers, args[0], before.slice(0, before.length - args[1]) + args[2]);
        break;
      }
      case "setBody": body = bodyText(file, args[0]); break;
      case "recomputeDigest": setHeader(headers, "content-digest", sg.contentDigest(body)); break;
      case "setQuery": target = `${target.split("?")[0]}?${args[0]}`; break;
      case "setMethod": method = args[0]; break;
      default: throw new Error(`${c.name}: unknown mutation ${op}`);
    }
  }
  return {
    request: { method, url: target, headers, body },
    policy: mergedPolicy(file.policy, c.policy),
    now: now + (c.verifyAt ?? 0),
  };
}

/** Problems (strings) of a failure answer against `expect`; [] when it matches. */
export function rejectionProblems(file, c, answer) {
  const p = [];
  const expect = c.expect;
  if (answer.ok !== false) return [`${c.name}: expected ${expect.code}, got ${JSON.stringify(answer).slice(0, 300)}`];
  if (answer.code !== expect.code) p.push(`${c.name}: code ${answer.code} (${answer.message}), expected ${expect.code}`);
  if (expect.status !== undefined && answer.status !== expect.status) p.push(`${c.name}: status ${answer.status}, expected ${expect.status}`);
  const field = expect.field ?? expect.path;
  if (field !== undefined && answer.field !== field) p.push(`${c.name}: field ${answer.field}, expected ${field}`);
  if (expect.messageIncludes !== undefined && !String(answer.message).includes(expect.messageIncludes)) {
    p.push(`${c.name}: message ${answer.message} lacks ${expect.messageIncludes}`);
  }
  const text = JSON.stringify(answer);
  for (const secret of file.neverInMessages ?? []) if (text.includes(secret)) p.push(`${c.name}: the answer contains a secret`);
  return p;
}

/** Problems of a verifyRequest verdict against `expect` (times are relative to `now`). */
export function verdictProblems(file, c, verdict, now) {
  const expect = c.expect;
  if (expect.ok !== true) return rejectionProblems(file, c, verdict);
  if (verdict.ok !== true) return [`${c.name}: refused with ${verdict.code} (${verdict.message})`];
  const p = [];
  for (const [k, want] of Object.entries(expect)) {
    const got = k === "timestamp" ? verdict.timestamp - now
      : k === "expiresAt" ? verdict.replay.expiresAt - now
        : verdict[k];
    if (JSON.stringify(got) !== JSON.stringify(want)) p.push(`${c.name}: ${k} ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
  if (!/^[0-9a-f]{64}$/.test(verdict.payloadHash)) p.push(`${c.name}: payloadHash ${verdict.payloadHash}`);
  return p;
}

/** The cases of a file, refusing an empty or unreadable one. */
export function casesOf(file, name) {
  if (!file || !Array.isArray(file.cases) || file.cases.length === 0) throw new Error(`${name}: no cases`);
  return file.cases;
}

/** Codes of steps 6–7 (the payload): `verifySignature` stops before them. */
export const PAYLOAD_CODES = ["invalid_payload", "tenant_mismatch", "unsupported_payload_type", "blocked_module_group", "unsupported_module_group"];

/**
 * Problems of a `verifySignature` answer against the full verdict of the same request: the
 * same failure while the signature checks fail, else a success naming the same key, scheme,
 * nonce and time (and the payload hash, when it has one).
 */
export function signatureProblems(c, full, sig) {
  const fullFailedEarly = !full.ok && !PAYLOAD_CODES.includes(full.code);
  if (fullFailedEarly) {
    return JSON.stringify(summary(sig)) === JSON.stringify(summary(full)) ? [] : [`${c.name}: verifySignature ${JSON.stringify(summary(sig))}, verify ${JSON.stringify(summary(full))}`];
  }
  if (sig.ok !== true) return [`${c.name}: verifySignature refused with ${sig.code} (${sig.message}) where verify got past the signature`];
  const p = [];
  if (sig.payload !== undefined || sig.replay !== undefined) p.push(`${c.name}: verifySignature answered payload fields`);
  if (full.ok) {
    for (const k of ["tenant", "scheme", "keyId", "keyVersion", "keyStatus", "nonce", "timestamp"]) {
      if (sig[k] !== full[k]) p.push(`${c.name}: verifySignature ${k} ${sig[k]}, verify ${full[k]}`);
    }
    if (sig.payloadHash !== undefined && sig.payloadHash !== full.payloadHash) p.push(`${c.name}: payloadHash differs`);
  }
  if (sig.scheme === "rfc9421" && !/^[0-9a-f]{64}$/.test(sig.payloadHash)) p.push(`${c.name}: rfc9421 verifySignature without payloadHash`);
  return p;
}

/**
 * Runs every signature case through `sg.verifyRequest` — or `paths`, named functions
 * `(request, policy, now) → verdict`, each of which must give every case's verdict and the
 * same verdict as the others; `signature`, when given, is `verifySignature` of the same shape,
 * checked against the first path's verdict. Returns `{ ran, problems, verdicts }` (verdicts:
 * name → { ok, code, status, field, message }).
 */
export function runSignatureCases(sg, file, { paths, signature } = {}) {
  const problems = [];
  const verdicts = {};
  const ways = Object.entries(paths ?? { verifyRequest: (r, p, n) => sg.verifyRequest(r, p, n) });
  for (const c of casesOf(file, "signatures.json")) {
    const { request, policy, now } = buildSignatureCase(sg, file, c);
    let first;
    for (const [way, verify] of ways) {
      const v = verify(request, policy, now);
      if (first === undefined) {
        first = v;
        verdicts[c.name] = summary(v);
        problems.push(...verdictProblems(file, c, v, file.now));
      } else if (JSON.stringify(v) !== JSON.stringify(first)) {
        problems.push(`${c.name}: ${way} answered ${JSON.stringify(v).slice(0, 300)}, ${ways[0][0]} ${JSON.stringify(first).slice(0, 300)}`);
      }
    }
    if (signature) problems.push(...signatureProblems(c, first, signature(request, policy, now)));
  }
  return { ran: Object.keys(verdicts).length, problems, verdicts };
}

/** {@link runSignatureCases} with asynchronous paths (e.g. `verifyAsync` on WebCrypto). */
export async function runSignatureCasesAsync(sg, file, { paths, signature } = {}) {
  const problems = [];
  const verdicts = {};
  const ways = Object.entries(paths);
  for (const c of casesOf(file, "signatures.json")) {
    const { request, policy, now } = buildSignatureCase(sg, file, c);
    let first;
    for (const [way, verify] of ways) {
      const v = await verify(request, policy, now);
      if (first === undefined) {
        first = v;
        verdicts[c.name] = summary(v);
        problems.push(...verdictProblems(file, c, v, file.now));
      } else if (JSON.stringify(v) !== JSON.stringify(first)) {
        problems.push(`${c.name}: ${way} answered ${JSON.stringify(v).slice(0, 300)}, ${ways[0][0]} ${JSON.stringify(first).slice(0, 300)}`);
      }
    }
    if (signature) problems.push(...signatureProblems(c, first, await signature(request, policy, now)));
  }
  return { ran: Object.keys(verdicts).length, problems, verdicts };
}

/**
 * The verification paths of the package, as `(request, policy, now) → verdict`: the one-shot
 * `verifyRequest`, a compiled verifier hashing with the host, one hashing in Rust (the
 * reference), and with the body handed over as bytes.
 */
export function verifierPaths(sg) {
  const bytes = (request) => ({ ...request, body: typeof request.body === "string" ? new TextEncoder().encode(request.body) : request.body });
  return {
    verifyRequest: (r, p, n) => sg.verifyRequest(r, p, n),
    "createVerifier().verify": (r, p, n) => sg.createVerifier(p).verify(r, n),
    "createVerifier(rust).verify": (r, p, n) => sg.createVerifier(p, { hashing: "rust" }).verify(r, n),
    "createVerifier().verify(bytes)": (r, p, n) => sg.createVerifier(p).verify(bytes(r), n),
    "createVerifier(rust).verify(bytes)": (r, p, n) => sg.createVerifier(p, { hashing: "rust" }).verify(bytes(r), n),
  };
}

/** The runtime-independent part of an answer, for comparing runtimes. */
export function summary(v) {
  return v.ok ? { ok: true } : { ok: false, code: v.code, status: v.status, field: v.field ?? null, message: v.message };
}

/** Expands the `$repeat` and `$array` value macros. */
export function expand(value) {
  if (Array.isArray(value)) return value.map(expand);
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$repeat") {
      let text = "";
      for (let i = 0; i < value.$repeat.length; i += 2) text += value.$repeat[i].repeat(value.$repeat[i + 1]);
      return text;
    }
    if (keys.length === 1 && keys[0] === "$array") {
      const [n, item] = value.$array;
      const json = JSON.stringify(item);
      return Array.from({ length: n }, (_, i) => JSON.parse(json.replaceAll("{i}", String(i))));
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v)]));
  }
  return value;
}

function parentOf(doc, pointer) {
  const parts = pointer.split("/").slice(1);
  const name = parts.pop();
  let node = doc;
  for (const p of parts) node = node[p];
  if (node === undefined || node === null) throw new Error(`no parent for ${pointer}`);
  return [node, name];
}

/** The body of a payload case: a string (JSON text) or a Uint8Array (`hex`). */
export function payloadBody(file, c) {
  if (c.text !== undefined) return c.text;
  if (c.hex !== undefined) return new Uint8Array(c.hex.match(/../g).map((b) => parseInt(b, 16)));
  if (c.payload?.$wrap) return JSON.stringify([file.base]);
  if (c.payload !== undefined) return JSON.stringify(c.payload);
  const doc = JSON.parse(JSON.stringify(file.base));
  for (const [pointer, value] of Object.entries(c.set ?? {})) {
    const [node, name] = parentOf(doc, pointer);
    node[Array.isArray(node) ? Number(name) : name] = expand(value);
  }
  for (const pointer of c.remove ?? []) {
    const [node, name] = parentOf(doc, pointer);
    if (!(name in node)) throw new Error(`${c.name}: nothing at ${pointer}`);
    delete node[name];
  }
  return JSON.stringify(doc);
}

function at(doc, pointer) {
  let node = doc;
  for (const p of pointer.split("/").slice(1)) node = node?.[p];
  return node ?? null;
}

/** Problems of a validatePayload answer against a payload case's `expect`. */
export function payloadProblems(file, c, v) {
  const expect = c.expect;
  if (expect.ok !== true) {
    const p = rejectionProblems(file, c, v);
    if (expect.messageExcludes !== undefined && String(v.message).includes(expect.messageExcludes)) p.push(`${c.name}: message echoes ${expect.messageExcludes}`);
    return p;
  }
  if (v.ok !== true) return [`${c.name}: refused with ${v.code} at ${v.field} (${v.message})`];
  const p = [];
  for (const [k, want] of Object.entries(expect)) {
    if (k === "ok") continue;
    if (k === "at") {
      for (const [pointer, value] of Object.entries(want)) {
        if (JSON.stringify(at(v.payload, pointer)) !== JSON.stringify(value)) p.push(`${c.name}: ${pointer} is ${JSON.stringify(at(v.payload, pointer))}`);
      }
    } else if (JSON.stringify(v[k]) !== JSON.stringify(want)) p.push(`${c.name}: ${k} ${JSON.stringify(v[k])}, expected ${JSON.stringify(want)}`);
  }
  return p;
}

/** Runs every payload case through `sg.validatePayload`. */
export function runPayloadCases(sg, file) {
  const problems = [];
  const verdicts = {};
  for (const c of casesOf(file, "payloads.json")) {
    const policy = c.policy === undefined ? undefined : mergedPolicy(file.policy, c.policy);
    const v = sg.validatePayload(payloadBody(file, c), policy);
    verdicts[c.name] = summary(v);
    problems.push(...payloadProblems(file, c, v));
  }
  return { ran: Object.keys(verdicts).length, problems, verdicts };
}

/** Problems of a recomputeModules answer against a module case's `expect`. */
export function moduleProblems(c, r) {
  if (r.ok !== true) return [`${c.name}: refused with ${r.code} (${r.message})`];
  const p = [];
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const byKey = Object.fromEntries(r.modules.map((m) => [m.key, m]));
  for (const [k, want] of Object.entries(c.expect)) {
    if (k === "reasons") {
      for (const [key, reason] of Object.entries(want)) {
        if (byKey[key]?.reason !== reason) p.push(`${c.name}: ${key} is ${byKey[key]?.reason}, expected ${reason}`);
        if (byKey[key]?.enabled !== ["plan_default", "override_on"].includes(reason)) p.push(`${c.name}: ${key} enabled ${byKey[key]?.enabled}`);
      }
    } else if (k === "modulePermissions") {
      for (const [key, perms] of Object.entries(want)) if (!same(byKey[key]?.permissions, perms)) p.push(`${c.name}: ${key} permissions ${JSON.stringify(byKey[key]?.permissions)}`);
    } else if (k === "permissions") {
      if (!same(r.permissions, want)) p.push(`${c.name}: permissions ${JSON.stringify(r.permissions)}`);
    } else if (k === "order") {
      if (!same(r.modules.map((m) => m.key), want)) p.push(`${c.name}: order ${r.modules.map((m) => m.key)}`);
    } else if (k === "state") {
      if (!same({ modules: r.modules, permissions: r.permissions }, want)) p.push(`${c.name}: state ${JSON.stringify(r)}`);
    } else p.push(`${c.name}: unknown expectation ${k}`);
  }
  return p;
}

/** Runs every module case through `sg.recomputeModules`. */
export function runModuleCases(sg, file) {
  const problems = [];
  const verdicts = {};
  for (const c of casesOf(file, "modules.json")) {
    const r = sg.recomputeModules(c.features, { instance: "acme-eu1", tenant: "acme", blockedModuleGroups: c.blocked });
    verdicts[c.name] = r.ok ? { ok: true, modules: r.modules, permissions: r.permissions } : summary(r);
    problems.push(...moduleProblems(c, r));
  }
  return { ran: Object.keys(verdicts).length, problems, verdicts };
}

/**
 * Runs every provider case (tests/cases/providers.json) through `sg.verifyProviderWebhook`;
 * returns `{ ran, problems, verdicts }` (verdicts: name → summary plus the verdict's facts).
 */
export function runProviderCases(sg, file) {
  const problems = [];
  const verdicts = {};
  const answers = {};
  for (const c of casesOf(file, "providers.json")) {
    const request = { method: "POST", url: c.url, headers: c.headers, body: c.body };
    const v = sg.verifyProviderWebhook(c.provider, request, c.secret, c.now);
    answers[c.name] = v;
    verdicts[c.name] = v.ok
      ? { ok: true, timestamp: v.timestamp, deliveryId: v.deliveryId, deliveryKey: v.deliveryKey, idempotencyKey: v.idempotencyKey, eventType: v.eventType }
      : summary(v);
    if (v.ok !== c.expect.ok) {
      problems.push(`${c.name}: expected ok=${c.expect.ok}, got ${JSON.stringify(summary(v))}`);
      continue;
    }
    if (!v.ok) {
      if (v.code !== c.expect.code) problems.push(`${c.name}: expected ${c.expect.code}, got ${v.code}`);
      if (c.secret && v.message.includes(c.secret)) problems.push(`${c.name}: the message quotes the secret`);
      continue;
    }
    if (v.provider !== c.provider) problems.push(`${c.name}: provider ${v.provider}`);
    for (const member of ["timestamp", "deliveryId", "deliveryIdSigned", "eventType"]) {
      if (member in c.expect && v[member] !== c.expect[member]) {
        problems.push(`${c.name}: ${member} ${JSON.stringify(v[member])}, expected ${JSON.stringify(c.expect[member])}`);
      }
    }
    if (!/^hook-[a-z]+-[0-9a-f]{64}$/.test(v.idempotencyKey)) problems.push(`${c.name}: idempotencyKey ${v.idempotencyKey}`);
  }
  for (const c of file.cases) {
    const twin = c.expect.sameDeliveryKeyAs;
    if (twin && answers[c.name]?.deliveryKey !== answers[twin]?.deliveryKey) {
      problems.push(`${c.name}: deliveryKey differs from ${twin}'s`);
    }
  }
  return { ran: Object.keys(verdicts).length, problems, verdicts };
}
