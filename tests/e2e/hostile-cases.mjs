// Hostile requests as data, for hostile.test.mjs. Each case names the request (built against the
// running edge from a context of instances and keys) and what the edge must answer, by the
// brief's stable codes: `status`, `code`, and where it is recorded — `log` is the sync log's
// `signatureResult` for the row the refusal must leave (null: no sync-log row, e.g. no instance),
// `access` whether a customer-API refusal leaves an access-log row (false for a call without a
// valid bearer). Nothing here may reach the origin.
import { createHash, createHmac } from "node:crypto";

const digest = (body) => `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
const secretBytes = (whsec) => Buffer.from(whsec.slice("whsec_".length), "base64");

/**
 * An RFC 9421 signature built by hand (not by the package), so a case can put exactly what it
 * wants on the wire — odd parameters, a huge `created` — and still carry a valid MAC.
 * `params` is the parameter text after the component list (e.g. `;created=1;keyid="k";nonce="n"`).
 */
export function sign9421({ method = "POST", path, body, secret, params, components = ["@method", "@path", "content-digest"], label = "sig1", contentDigest }) {
  const cd = contentDigest ?? digest(body);
  const values = { "@method": method, "@path": path, "content-digest": cd };
  const list = `(${components.map((c) => `"${c}"`).join(" ")})${params}`;
  const base = [...components.map((c) => `"${c}": ${values[c] ?? ""}`), `"@signature-params": ${list}`].join("\n");
  const mac = createHmac("sha256", secretBytes(secret)).update(base).digest("base64");
  return { "content-digest": cd, "signature-input": `${label}=${list}`, signature: `${label}=:${mac}:` };
}

/** A Standard Webhooks signature built by hand. */
export function signWebhook({ id, timestamp, body, secret }) {
  const mac = createHmac("sha256", secretBytes(secret)).update(`${id}.${timestamp}.${body}`).digest("base64");
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${mac}` };
}

const branding = (tenant, version, extra = {}) => ({
  type: "branding", tenant, version, branding: { title: "Hostile", primaryColor: "#1f6feb", ...extra },
});
const features = (tenant, version, modules) => ({
  type: "features", tenant, version,
  features: { plan: "pro", modules, planDefaults: { pro: modules.map((m) => m.key) }, overrides: {} },
});
const smtp = (tenant, version, extra = {}) => ({
  type: "smtp", tenant, version,
  smtp: { host: "smtp.example.com", port: 587, encryption: "starttls", username: "mailer",
    password: "hostile-smtp-pass", fromEmail: "no-reply@example.com", fromName: "H", ...extra },
});

/**
 * The cases. `ctx`: `{ a, o, now(), nonce(), sign(body, key, options) → headers,
 * syncPath, host }` where `a` is the instance under attack ({ instance, tenant, key, revoked,
 * reader, writer, fieldLimited, revokedApiKey }) and `o` another tenant's ({ instance, tenant,
 * key, reader, writer }).
 */
export function hostileCases(ctx) {
  const { a, o } = ctx;
  const path = `/v1/${a.instance}/sync`;
  const json = { "content-type": "application/json" };
  const cases = [];
  const add = (group, name, status, code, build, extra = {}) => cases.push({ group, name, status, code, build, ...extra });

  // A body signed properly with A's active key: everything up to the MAC passes.
  const signedBody = (body, options = {}) => () => ({
    method: "POST", path, headers: { ...json, ...ctx.sign(body, a.key, options) }, body,
  });
  const signedPayload = (payload, options) => signedBody(JSON.stringify(payload), options);
  const v = () => ctx.version();

  // -- payloads: signed, so the refusal is logged as authenticated ("valid") ------------------
  const payloadCases = [
    ["truncated JSON", '{"type":"branding","tenant":'],
    ["a JSON array", "[]"],
    ["JSON null", "null"],
    ["a JSON string", '"branding"'],
    ["a JSON number", "42"],
    ["an empty body", ""],
    ["an empty object", "{}"],
    ["trailing garbage", () => `${JSON.stringify(branding(a.tenant, v()))} x`],
    ["a byte-order mark", () => `\ufeff${JSON.stringify(branding(a.tenant, v()))}`],
    ["an unknown top-level field", () => JSON.stringify({ ...branding(a.tenant, v()), admin: true })],
    ["an unknown nested field", () => JSON.stringify(branding(a.tenant, v(), { script: "<script>alert(1)</script>" }))],
    ["a duplicated key", () => `{"type":"branding","type":"smtp","tenant":"${a.tenant}","version":${v()},"branding":{"title":"x"}}`],
    ["a negative version", () => JSON.stringify(branding(a.tenant, -1))],
    ["a fractional version", () => JSON.stringify(branding(a.tenant, 1.5))],
    ["a string version", () => JSON.stringify({ ...branding(a.tenant, 1), version: "7" })],
    ["a version of 1e400", () => `{"type":"branding","tenant":"${a.tenant}","version":1e400,"branding":{"title":"x"}}`],
    ["a version of 2^64", () => `{"type":"branding","tenant":"${a.tenant}","version":18446744073709551616,"branding":{"title":"x"}}`],
    ["10,000 nested arrays", () => `{"type":"branding","tenant":"${a.tenant}","version":${v()},"branding":{"title":${"[".repeat(10000)}${"]".repeat(10000)}}}`],
    ["500 nested objects", () => `{"type":"branding","tenant":"${a.tenant}","version":${v()},"branding":{"footer":${'{"a":'.repeat(500)}1${"}".repeat(500)}}}`],
    ["a lone surrogate escape", () => `{"type":"branding","tenant":"${a.tenant}","version":${v()},"branding":{"title":"\\ud800"}}`],
    ["an unknown type", () => JSON.stringify({ ...branding(a.tenant, v()), type: "everything" })],
    ["a type without its section", () => JSON.stringify({ type: "branding", tenant: a.tenant, version: v() })],
    ["a section the type does not ask for", () => JSON.stringify({ ...branding(a.tenant, v()), smtp: smtp(a.tenant, 1).smtp })],
    ["a combined payload with one section", () => JSON.stringify({ type: "combined", tenant: a.tenant, version: v(), branding: { title: "x" } })],
    ["a 10,000-character title", () => JSON.stringify(branding(a.tenant, v(), { title: "t".repeat(10000) }))],
    ["a colour that is not one", () => JSON.stringify(branding(a.tenant, v(), { primaryColor: "red;background:url(x)" }))],
    ["an http logo URL", () => JSON.stringify(branding(a.tenant, v(), { logoUrl: "http://example.com/x.png" }))],
    ["a javascript: URL", () => JSON.stringify(branding(a.tenant, v(), { logoUrl: "javascript:alert(1)" }))],
    ["SMTP port 0", () => JSON.stringify(smtp(a.tenant, v(), { port: 0 }))],
    ["SMTP port 70000", () => JSON.stringify(smtp(a.tenant, v(), { port: 70000 }))],
    ["an SMTP host with a space", () => JSON.stringify(smtp(a.tenant, v(), { host: "smtp example.com" }))],
    ["an SMTP host with CRLF", () => JSON.stringify(smtp(a.tenant, v(), { host: "smtp.example.com\r\nRCPT TO:<x@evil.test>" }))],
    ["a from address that is not one", () => JSON.stringify(smtp(a.tenant, v(), { fromEmail: "not-an-email" }))],
    ["duplicate module keys", () => JSON.stringify(features(a.tenant, v(), [
      { key: "crm.core", group: "crm", permissions: [] }, { key: "crm.core", group: "crm", permissions: [] }]))],
    ["a requirement on an unknown module", () => JSON.stringify(features(a.tenant, v(), [
      { key: "crm.core", group: "crm", requires: ["crm.ghost"], permissions: [] }]))],
    ["a dependency cycle", () => JSON.stringify(features(a.tenant, v(), [
      { key: "crm.a", group: "crm", requires: ["crm.b"], permissions: [] }, { key: "crm.b", group: "crm", requires: ["crm.a"], permissions: [] }]))],
    ["2,000 modules", () => JSON.stringify(features(a.tenant, v(), Array.from({ length: 2000 }, (_, i) => ({ key: `crm.m${i}`, group: "crm", permissions: [] }))))],
  ];
  for (const [name, body] of payloadCases) {
    cases.push({
      group: "payload", name: `invalid payload: ${name}`, status: 422, code: "invalid_payload", log: "valid",
      build: () => signedBody(typeof body === "function" ? body() : body)(),
    });
  }
  add("payload", "invalid UTF-8 bytes in a string", 422, "invalid_payload", () => {
    const body = Buffer.concat([Buffer.from(`{"type":"branding","tenant":"${a.tenant}","version":${v()},"branding":{"title":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
    return { method: "POST", path, headers: { ...json, ...ctx.sign(body, a.key) }, body };
  }, { log: "valid" });
  add("payload", "an overlong UTF-8 encoding of '/'", 422, "invalid_payload", () => {
    const body = Buffer.concat([Buffer.from(`{"type":"branding","tenant":"${a.tenant}","version":${v()},"branding":{"title":"`), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')]);
    return { method: "POST", path, headers: { ...json, ...ctx.sign(body, a.key) }, body };
  }, { log: "valid" });
  add("scope", "another tenant in the payload", 403, "tenant_mismatch", () => signedPayload(branding(o.tenant, v()))(), { log: "valid" });
  add("scope", "a blocked module group", 403, "blocked_module_group", () => signedPayload(features(a.tenant, v(), [{ key: "web.pages", group: "website", permissions: [] }]))(), { log: "valid" });
  add("scope", "an unsupported module group", 422, "unsupported_module_group", () => signedPayload(features(a.tenant, v(), [{ key: "wh.stock", group: "warehouse", permissions: [] }]))(), { log: "valid" });
  add("scope", "a payload type the policy does not take", 422, "unsupported_payload_type", () => signedPayload(smtp(a.tenant, v()))(), { log: "valid" });

  // -- size and media type: refused before any signature check --------------------------------
  add("size", "a body over the tenant's limit (declared)", 413, "payload_too_large", () => {
    const body = JSON.stringify(branding(a.tenant, v(), { title: "x".repeat(300 * 1024) }));
    return { method: "POST", path, headers: { ...json, ...ctx.sign(body, a.key) }, body };
  }, { log: "not_checked" });
  add("size", "an unsigned 1 MiB body", 413, "payload_too_large", () => ({ method: "POST", path, headers: json, body: "x".repeat(1 << 20) }), { log: "not_checked" });
  for (const type of [null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "text/json", "application/xml"]) {
    add("media", `content type ${type ?? "(none)"}`, 415, "unsupported_media_type", () => {
      const body = JSON.stringify(branding(a.tenant, v()));
      const headers = { ...ctx.sign(body, a.key) };
      if (type) headers["content-type"] = type;
      return { method: "POST", path, headers, body };
    }, { log: "not_checked" });
  }

  // -- RFC 9421 signatures ---------------------------------------------------------------------
  const body = () => JSON.stringify(branding(a.tenant, v()));
  const manual = (params, options = {}) => () => {
    const text = options.body ?? body();
    return { method: "POST", path, headers: { ...json, ...sign9421({ path, body: text, secret: options.secret ?? a.key.secret, params, ...options }), ...(options.headers ?? {}) }, body: text };
  };
  const std = (extra = "") => `;created=${ctx.now()};keyid="${a.key.kid}";nonce="${ctx.nonce()}";alg="hmac-sha256"${extra}`;
  add("rfc9421", "no signature at all", 401, "missing_signature",
    () => ({ method: "POST", path, headers: json, body: body() }), { log: "missing" });
  // Half of the pair is no signature at all.
  add("rfc9421", "Signature-Input without Signature", 401, "missing_signature", () => {
    const r = manual(std())();
    delete r.headers.signature;
    return r;
  }, { log: "missing" });
  add("rfc9421", "Signature without Signature-Input", 401, "missing_signature", () => {
    const r = manual(std())();
    delete r.headers["signature-input"];
    return r;
  }, { log: "missing" });
  add("rfc9421", "an unterminated component list", 400, "malformed_signature", () => ({ ...manual(std())(), headers: { ...json, "content-digest": "sha-256=:AAAA:", "signature-input": "sig1=(garbage", signature: "sig1=:AAAA:" } }), { log: "invalid" });
  add("rfc9421", "an empty signature", 401, "invalid_signature", () => {
    const r = manual(std())();
    r.headers.signature = "sig1=::";
    return r;
  }, { log: "invalid" });
  add("rfc9421", "a truncated signature", 401, "invalid_signature", () => {
    const r = manual(std())();
    r.headers.signature = r.headers.signature.slice(0, 20) + ":";
    return r;
  }, { log: "invalid" });
  add("rfc9421", "a signature that is not base64", 400, "malformed_signature", () => {
    const r = manual(std())();
    r.headers.signature = "sig1=:!!not-base64!!:";
    return r;
  }, { log: "invalid" });
  add("rfc9421", "labels that do not match", 400, "malformed_signature", () => {
    const r = manual(std())();
    r.headers.signature = r.headers.signature.replace(/^sig1=/, "sig2=");
    return r;
  }, { log: "invalid" });
  add("rfc9421", "no created", 400, "malformed_signature", manual(`;keyid="${a.key.kid}";nonce="n-${Date.now()}"`), { log: "invalid" });
  add("rfc9421", "no nonce", 400, "malformed_signature", () => manual(`;created=${ctx.now()};keyid="${a.key.kid}"`)(), { log: "invalid" });
  add("rfc9421", "no keyid", 400, "malformed_signature", () => manual(`;created=${ctx.now()};nonce="${ctx.nonce()}"`)(), { log: "invalid" });
  add("rfc9421", "content-digest not covered", 400, "malformed_signature", () => manual(std(), { components: ["@method", "@path"] })(), { log: "invalid" });
  add("rfc9421", "@path not covered", 400, "malformed_signature", () => manual(std(), { components: ["@method", "content-digest"] })(), { log: "invalid" });
  add("rfc9421", "another algorithm", 400, "malformed_signature", () => manual(`;created=${ctx.now()};keyid="${a.key.kid}";nonce="${ctx.nonce()}";alg="rsa-pss-sha512"`)(), { log: "invalid" });
  add("rfc9421", "created as a string", 400, "malformed_signature", () => manual(`;created="${ctx.now()}";keyid="${a.key.kid}";nonce="${ctx.nonce()}"`)(), { log: "invalid" });
  add("rfc9421", "created negative", 401, "stale_timestamp", () => manual(`;created=-5;keyid="${a.key.kid}";nonce="${ctx.nonce()}"`)(), { log: "invalid" });
  add("rfc9421", "created 0", 401, "stale_timestamp", () => manual(`;created=0;keyid="${a.key.kid}";nonce="${ctx.nonce()}"`)(), { log: "invalid" });
  add("rfc9421", "created 400 s ago", 401, "stale_timestamp", () => manual(`;created=${ctx.now() - 400};keyid="${a.key.kid}";nonce="${ctx.nonce()}"`)(), { log: "invalid" });
  add("rfc9421", "created 400 s ahead", 401, "future_timestamp", () => manual(`;created=${ctx.now() + 400};keyid="${a.key.kid}";nonce="${ctx.nonce()}"`)(), { log: "invalid" });
  add("rfc9421", "created far in the future", 401, "future_timestamp", () => manual(`;created=999999999999;keyid="${a.key.kid}";nonce="${ctx.nonce()}"`)(), { log: "invalid" });
  add("rfc9421", "expired 100 s ago", 401, "stale_timestamp", () => manual(`;created=${ctx.now() - 200};expires=${ctx.now() - 100};keyid="${a.key.kid}";nonce="${ctx.nonce()}"`)(), { log: "invalid" });
  add("rfc9421", "no Content-Digest header", 400, "malformed_signature", () => {
    const r = manual(std())();
    delete r.headers["content-digest"];
    return r;
  }, { log: "invalid" });
  add("rfc9421", "a Content-Digest for another body", 400, "digest_mismatch", () => manual(std(), { contentDigest: digest("other") })(), { log: "invalid" });
  add("rfc9421", "a body changed after signing", 400, "digest_mismatch", () => {
    const r = manual(std())();
    r.body = r.body.replace("Hostile", "Hostilf");
    return r;
  }, { log: "invalid" });
  add("rfc9421", "the right kid with a wrong secret", 401, "invalid_signature", () => manual(std(), { secret: o.key.secret })(), { log: "invalid" });
  add("rfc9421", "another tenant's key id", 401, "unknown_key", () => manual(`;created=${ctx.now()};keyid="${o.key.kid}";nonce="${ctx.nonce()}"`, { secret: o.key.secret })(), { log: "invalid" });
  add("rfc9421", "a revoked key", 401, "revoked_key", () => manual(`;created=${ctx.now()};keyid="${a.revoked.kid}";nonce="${ctx.nonce()}"`, { secret: a.revoked.secret })(), { log: "invalid" });
  add("rfc9421", "an unknown key id", 401, "unknown_key", () => manual(`;created=${ctx.now()};keyid="nobody";nonce="${ctx.nonce()}"`)(), { log: "invalid" });
  add("rfc9421", "a key id with markup", 401, "unknown_key", () => manual(`;created=${ctx.now()};keyid="<script>alert(1)</script>";nonce="${ctx.nonce()}"`)(), { log: "invalid", forbidden: ["<script>"] });
  add("rfc9421", "a 129-character nonce", 400, "malformed_signature", () => manual(`;created=${ctx.now()};keyid="${a.key.kid}";nonce="${"n".repeat(129)}"`)(), { log: "invalid" });
  add("rfc9421", "a 40 KB Signature header", 401, "invalid_signature", () => {
    const r = manual(std())();
    r.headers.signature = `sig1=:${Buffer.alloc(30000, 7).toString("base64")}:`;
    return r;
  }, { log: "invalid" });
  add("rfc9421", "nine signatures", 400, "malformed_signature", () => {
    const r = manual(std())();
    const labels = Array.from({ length: 9 }, (_, i) => `s${i}`);
    r.headers["signature-input"] = labels.map((l) => r.headers["signature-input"].replace(/^sig1/, l)).join(", ");
    r.headers.signature = labels.map((l) => r.headers.signature.replace(/^sig1/, l)).join(", ");
    return r;
  }, { log: "invalid" });
  add("rfc9421", "33 covered components", 400, "malformed_signature", () => manual(std(), { components: ["@method", "@path", "content-digest", ...Array.from({ length: 30 }, (_, i) => `x-h${i}`)] })(), { log: "invalid" });

  // -- Standard Webhooks -----------------------------------------------------------------------
  const hook = (change = {}) => () => {
    const text = change.body ?? body();
    const headers = { ...json, ...signWebhook({ id: change.id ?? `msg_${ctx.nonce()}`, timestamp: change.timestamp ?? ctx.now(), body: text, secret: change.secret ?? a.key.secret }) };
    for (const [k, val] of Object.entries(change.headers ?? {})) {
      if (val === undefined) delete headers[k];
      else headers[k] = val;
    }
    return { method: "POST", path, headers, body: change.tamper ? change.tamper(text) : text };
  };
  add("webhooks", "webhook-id only", 401, "missing_signature", hook({ headers: { "webhook-timestamp": undefined, "webhook-signature": undefined } }), { log: "missing" });
  add("webhooks", "no webhook-signature", 401, "missing_signature", hook({ headers: { "webhook-signature": undefined } }), { log: "missing" });
  add("webhooks", "no webhook-timestamp", 400, "malformed_signature", hook({ headers: { "webhook-timestamp": undefined } }), { log: "invalid" });
  add("webhooks", "a non-numeric timestamp", 400, "malformed_signature", hook({ headers: { "webhook-timestamp": "yesterday" } }), { log: "invalid" });
  add("webhooks", "a signature without v1", 401, "invalid_signature", hook({ headers: { "webhook-signature": "v2,AAAA" } }), { log: "invalid" });
  add("webhooks", "an empty v1 signature", 401, "invalid_signature", hook({ headers: { "webhook-signature": "v1," } }), { log: "invalid" });
  add("webhooks", "a wrong MAC", 401, "invalid_signature", hook({ secret: o.key.secret }), { log: "invalid" });
  add("webhooks", "a tampered body", 401, "invalid_signature", hook({ tamper: (t) => t.replace("Hostile", "Hostilf") }), { log: "invalid" });
  add("webhooks", "a timestamp 400 s old", 401, "stale_timestamp", () => hook({ timestamp: ctx.now() - 400 })(), { log: "invalid" });
  add("webhooks", "a timestamp 400 s ahead", 401, "future_timestamp", () => hook({ timestamp: ctx.now() + 400 })(), { log: "invalid" });
  add("webhooks", "a revoked key", 401, "revoked_key", hook({ secret: a.revoked.secret }), { log: "invalid" });
  add("webhooks", "an empty webhook-id", 400, "malformed_signature", hook({ id: "" }), { log: "invalid" });

  // -- routing: no instance, no log ------------------------------------------------------------
  // A dot-segment, even percent-encoded, is resolved by the URL parser before routing: the path
  // has no instance left, so it is no route at all.
  add("routing", "instance code %2e%2e", 404, "not_found", () => ({ method: "POST", path: "/v1/%2e%2e/sync", headers: json, body: body() }), { log: null });
  add("routing", "admin route with a percent-encoded dot-segment", 404, "not_found", () => ({ method: "GET", path: "/admin/v1/instances/%2e%2e", headers: { authorization: `Bearer ${ctx.adminToken}` } }), { log: null });
  for (const code of ["..%2f" + a.instance, a.instance.toUpperCase(), a.instance.replace("o", "%6f"), `${a.instance}%00`,
    `-${a.instance}`, "a", "x".repeat(70), "no-such-instance", `${a.instance}%2Fsync`]) {
    add("routing", `instance code ${code.slice(0, 30)}`, 404, "unknown_instance", () => ({ method: "POST", path: `/v1/${code}/sync`, headers: json, body: body() }), { log: null });
  }
  add("routing", "admin route with a percent-encoded instance", 404, "unknown_instance", () => ({ method: "GET", path: `/admin/v1/instances/${a.instance.replace("o", "%6f")}`, headers: { authorization: `Bearer ${ctx.adminToken}` } }), { log: null });
  add("routing", "admin route without a token", 401, "unauthorized", () => ({ method: "GET", path: `/admin/v1/instances/${a.instance}`, headers: {} }), { log: null });
  add("routing", "admin route with a wrong token", 401, "unauthorized", () => ({ method: "DELETE", path: `/admin/v1/instances/${a.instance}`, headers: { authorization: "Bearer not-the-token" } }), { log: null });
  add("routing", "admin route with the token plus a byte", 401, "unauthorized", () => ({ method: "GET", path: `/admin/v1/instances/${a.instance}`, headers: { authorization: `Bearer ${ctx.adminToken}x` } }), { log: null });
  add("routing", "admin route with Basic auth", 401, "unauthorized", () => ({ method: "GET", path: `/admin/v1/instances/${a.instance}`, headers: { authorization: `Basic ${Buffer.from(`admin:${ctx.adminToken}`).toString("base64")}` } }), { log: null });
  add("routing", "an unknown route", 404, "not_found", () => ({ method: "GET", path: "/v2/anything", headers: {} }), { log: null });
  add("routing", "a path escaping to admin", 404, "not_found", () => ({ method: "GET", path: `/v1/${a.instance}/sync%2f..%2f..%2fadmin`, headers: {} }), { log: null });

  // -- methods ---------------------------------------------------------------------------------
  for (const [method, route] of [["GET", "sync"], ["PUT", "sync"], ["DELETE", "sync"], ["PATCH", "sync"], ["POST", "sync/status"],
    ["POST", "sync/logs"], ["DELETE", "bootstrap"], ["DELETE", "customers"], ["PUT", "customers/cus_1"], ["PATCH", "customers"]]) {
    add("methods", `${method} ${route}`, 404, "not_found", () => ({ method, path: `/v1/${a.instance}/${route}`, headers: json, body: method === "GET" || method === "DELETE" ? undefined : "{}" }), { log: null, access: undefined });
  }

  // -- raw sockets: bytes fetch will not send ----------------------------------------------------
  const rawSigned = (mutate) => () => {
    const r = manual(std())();
    const headers = Object.entries(r.headers);
    return { raw: mutate(headers, r), body: r.body };
  };
  const line = (headers, r) => [...headers, ["Content-Length", String(Buffer.byteLength(r.body))]];
  add("raw", "duplicated Signature-Input headers", 400, "malformed_signature", rawSigned((h, r) => ctx.head("POST", path, [...line(h, r), ["Signature-Input", 'sig1=("@method");created=1;keyid="x";nonce="y"']])), { log: "invalid" });
  add("raw", "duplicated Content-Digest headers", 400, "digest_mismatch", rawSigned((h, r) => ctx.head("POST", path, [...line(h, r), ["Content-Digest", digest("other")]])), { log: "invalid" });
  add("raw", "duplicated Content-Type headers", 415, "unsupported_media_type", rawSigned((h, r) => ctx.head("POST", path, [...line(h, r), ["Content-Type", "text/plain"]])), { log: "not_checked" });

  // -- customer API abuse ----------------------------------------------------------------------
  const customers = `/v1/${a.instance}/customers`;
  const person = { firstName: "Eve", email: "eve@example.com" };
  const call = (method, sub, key, bodyValue, headers = {}) => () => ({
    method, path: `${customers}${sub}`,
    headers: { ...(key ? { authorization: key.startsWith("Basic") || key.startsWith("Bearer") ? key : `Bearer ${key}` } : {}), ...(bodyValue !== undefined ? json : {}), ...headers },
    body: bodyValue === undefined ? undefined : typeof bodyValue === "string" ? bodyValue : JSON.stringify(bodyValue),
  });
  const unauth = { log: null, access: false };
  add("customers", "no bearer", 401, "unauthorized", call("GET", "", null), unauth);
  add("customers", "another tenant's key", 401, "unauthorized", call("GET", "", o.writer), unauth);
  add("customers", "a revoked API key", 401, "unauthorized", call("GET", "", a.revokedApiKey), unauth);
  add("customers", "a well-formed key that does not exist", 401, "unauthorized", call("POST", "", `sgk_0000000000000000_${"0".repeat(64)}`, person), unauth);
  add("customers", "Basic instead of Bearer", 401, "unauthorized", call("GET", "", `Basic ${Buffer.from("x:y").toString("base64")}`), unauth);
  add("customers", "an empty Bearer", 401, "unauthorized", call("GET", "", "Bearer "), unauth);
  add("customers", "a 4 KB bearer", 401, "unauthorized", call("GET", "", "k".repeat(4096)), unauth);
  add("customers", "a bearer with SQL", 401, "unauthorized", call("GET", "/cus_1", "' OR '1'='1"), unauth);
  const authed = { log: null, access: true };
  add("customers", "a sync:read key writes", 403, "forbidden", call("POST", "", a.reader, person), authed);
  add("customers", "a read-only key writes", 403, "forbidden", call("POST", "", a.customersReader, person), authed);
  add("customers", "an unknown field", 422, "invalid_field", call("POST", "", a.writer, { ...person, isAdmin: true }), { ...authed, field: "isAdmin" });
  add("customers", "an invalid e-mail", 422, "invalid_field", call("POST", "", a.writer, { ...person, email: "eve@@example" }), { ...authed, field: "email" });
  add("customers", "a nested custom value", 422, "invalid_field", call("POST", "", a.writer, { ...person, custom: { deep: { x: 1 } } }), authed);
  add("customers", "a phone that is not E.164", 422, "invalid_field", call("POST", "", a.writer, { ...person, phone: "call me" }), { ...authed, field: "phone" });
  add("customers", "a JSON array body", 422, "invalid_field", call("POST", "", a.writer, "[]"), authed);
  add("customers", "truncated JSON", 422, "invalid_field", call("POST", "", a.writer, '{"firstName":'), authed);
  add("customers", "a 100 KB body", 413, "payload_too_large", call("POST", "", a.writer, { ...person, lastName: "x".repeat(100 * 1024) }), authed);
  add("customers", "text/plain", 415, "unsupported_media_type", call("POST", "", a.writer, "firstName=Eve", { "content-type": "text/plain" }), authed);
  add("customers", "a 300-character Idempotency-Key", 422, "invalid_field", call("POST", "", a.writer, person, { "idempotency-key": "k".repeat(300) }), authed);
  add("customers", "an id with a space", 404, "not_found", call("GET", "/bad%20id", a.writer), authed);
  add("customers", "an id with SQL", 404, "not_found", call("GET", "/cus_1'%20OR%20'1'='1", a.writer), authed);
  add("customers", "an id escaping the route", 404, "not_found", call("GET", "/..%2f..%2fadmin", a.writer), authed);
  add("customers", "a 200-character id", 404, "not_found", call("GET", `/${"c".repeat(200)}`, a.writer), authed);
  add("customers", "a field-limited key writes another field", 403, "forbidden_field", call("PATCH", "/cus_000000000000000000000000", a.fieldLimited, { email: "x@example.com" }), { ...authed, field: "email" });
  add("customers", "PATCH clears a required field", 422, "invalid_field", call("PATCH", "/cus_000000000000000000000000", a.writer, { firstName: null }), { ...authed, field: "firstName" });
  add("customers", "PATCH sets the id", 422, "invalid_field", call("PATCH", "/cus_000000000000000000000000", a.writer, { id: "cus_1" }), authed);
  add("customers", "PATCH with a wrong media type", 415, "unsupported_media_type", call("PATCH", "/cus_000000000000000000000000", a.writer, "{}", { "content-type": "application/xml" }), authed);

  // -- read routes with the wrong credentials ---------------------------------------------------
  for (const route of ["sync/status", "sync/logs", "bootstrap"]) {
    add("reads", `${route} without a bearer`, 401, "unauthorized", () => ({ method: "GET", path: `/v1/${a.instance}/${route}`, headers: {} }), { log: null });
    add("reads", `${route} with another tenant's reader`, 401, "unauthorized", () => ({ method: "GET", path: `/v1/${a.instance}/${route}`, headers: { authorization: `Bearer ${o.reader}` } }), { log: null });
    add("reads", `${route} with a customers key`, 403, "forbidden", () => ({ method: "GET", path: `/v1/${a.instance}/${route}`, headers: { authorization: `Bearer ${a.writer}` } }), { log: null });
  }
  return cases;
}
