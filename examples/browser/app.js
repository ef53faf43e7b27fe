// The request preview page: verifies a pasted request with the `syncgate` package's browser
// build, shows the signature base the verifier rebuilt and the module state the payload yields,
// and signs a body with a key to fill the request in. Nothing leaves the page.
import {
  recomputeModules, signatureBase, signRequest, validatePayload, verifyRequest,
} from "syncgate";

const $ = (id) => document.getElementById(id);

const EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const EXAMPLE_POLICY = {
  instance: "acme-eu1",
  tenant: "acme",
  keys: [{ kid: "acme-2026-11", version: 2, status: "active", secret: EXAMPLE_SECRET }],
};
const EXAMPLE_BODY = {
  type: "features",
  tenant: "acme",
  version: 7,
  features: {
    plan: "pro",
    modules: [
      { key: "crm.core", group: "crm", permissions: ["crm.read"] },
      { key: "crm.customers", group: "crm", requires: ["crm.core"], permissions: ["customers.read", "customers.write"] },
      { key: "sales.pipeline", group: "sales", requires: ["crm.customers"], permissions: ["deals.read"] },
      { key: "reports.exports", group: "reports", requires: ["sales.pipeline"], permissions: ["reports.export"] },
      { key: "marketing.email", group: "marketing", permissions: ["campaigns.send"] },
    ],
    planDefaults: { pro: ["crm.core", "crm.customers", "sales.pipeline", "reports.exports"] },
    overrides: { "sales.pipeline": false, "marketing.email": true },
  },
};

/** Header names a signature of either scheme sets; dropped before signing again. */
const SIGNATURE_HEADERS = new Set([
  "content-digest", "signature", "signature-input", "webhook-id", "webhook-timestamp", "webhook-signature",
]);

class InputError extends Error {}

/** `Name: value` lines → [name, value] pairs (order kept, blank lines skipped). */
function parseHeaderLines(text) {
  const pairs = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new InputError(`headers, line ${i + 1}: expected "Name: value"`);
    pairs.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  });
  return pairs;
}

/** [name, value] pairs → a header object (repeated names joined with ", ", as HTTP does). */
function headerObject(pairs) {
  const headers = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return headers;
}

function readRequest() {
  return {
    method: $("method").value.trim(),
    url: $("url").value.trim(),
    headers: headerObject(parseHeaderLines($("headers").value)),
    body: $("body").value,
  };
}

/** The policy textarea, or a one-key policy built from the key id and secret fields. */
function readPolicy(request) {
  const text = $("policy").value.trim();
  if (text) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new InputError(`the policy is not valid JSON: ${error.message}`);
    }
  }
  const secret = $("secret").value.trim();
  if (!secret) throw new InputError("give a tenant policy, or a key id and secret");
  const instance = /\/v1\/([^/]+)\//.exec(new URL(request.url, location.href).pathname)?.[1] ?? "";
  let tenant = "";
  try {
    tenant = JSON.parse(request.body)?.tenant ?? "";
  } catch {
    // The verdict will say what is wrong with the body.
  }
  return { instance, tenant, keys: [{ kid: $("kid").value.trim(), version: 1, status: "active", secret }] };
}

function readNow() {
  const text = $("now").value.trim();
  if (!text) return undefined;
  const now = Number(text);
  if (!Number.isFinite(now)) throw new InputError("\"check at\" must be Unix seconds");
  return now;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function showVerdict(state, title, details = [], code = "") {
  const box = $("verdict");
  box.dataset.state = state;
  box.dataset.code = code;
  box.replaceChildren(title);
  if (details.length) {
    const dl = el("dl");
    for (const [name, value] of details) dl.append(el("dt", name), el("dd", value ?? "—"));
    box.append(dl);
  }
}

function showError(message) {
  showVerdict("error", document.createTextNode(message), [], "input_error");
  $("base").textContent = "—";
  $("digest").textContent = "";
  showModules(null, "—");
}

function renderVerdict(verdict) {
  if (verdict.ok) {
    const title = document.createTextNode("✓ ok: the request verifies");
    showVerdict("ok", title, [
      ["tenant", verdict.tenant], ["type", verdict.payloadType], ["version", verdict.payloadVersion],
      ["scheme", verdict.scheme], ["key", `${verdict.keyId} (v${verdict.keyVersion}, ${verdict.keyStatus})`],
      ["nonce", verdict.nonce], ["timestamp", verdict.timestamp], ["payload sha-256", verdict.payloadHash],
    ]);
  } else {
    const title = document.createDocumentFragment();
    title.append("✗ refused: ", el("code", verdict.code), ` (${verdict.status})`);
    showVerdict("refused", title, [["message", verdict.message], ...(verdict.field ? [["field", verdict.field]] : [])], verdict.code);
  }
}

function renderBase(preview) {
  const digest = $("digest");
  digest.className = "note";
  if (!preview.ok) {
    $("base").textContent = `(no signature base: ${preview.code}: ${preview.message})`;
    digest.textContent = "";
    return;
  }
  if (preview.scheme === "rfc9421") {
    $("base").textContent = preview.signatures.map((s) => `# ${s.label} (keyid ${s.keyId ?? "?"})\n${s.base}`).join("\n\n");
    digest.textContent = preview.digestMatches
      ? `Content-Digest matches the body (${preview.contentDigest}).`
      : `Content-Digest does not match the body: the body's is ${preview.contentDigest}.`;
    if (!preview.digestMatches) digest.className = "note bad";
  } else {
    $("base").textContent = `# standard webhooks: id.timestamp.body\n${preview.base}`;
    digest.textContent = "";
  }
}

function showModules(result, note) {
  const table = $("modules");
  const body = table.tBodies[0];
  body.replaceChildren();
  $("modules-note").textContent = note;
  $("permissions").textContent = "";
  if (!result?.ok) {
    table.hidden = true;
    return;
  }
  for (const m of result.modules) {
    const row = el("tr");
    row.dataset.key = m.key;
    row.append(
      el("td", m.key), el("td", m.group),
      el("td", m.enabled ? "yes" : "no", m.enabled ? "on" : "off"),
      el("td", m.reason),
      el("td", m.permissions.join(", ")),
    );
    body.append(row);
  }
  table.hidden = false;
  $("permissions").textContent = `Permissions granted: ${result.permissions.join(", ") || "none"}`;
}

function renderModules(verdict, request, policy) {
  let features = verdict.ok ? verdict.payload.features : undefined;
  let source = "from the verified payload";
  if (!verdict.ok) {
    const check = validatePayload(request.body);
    features = check.ok ? check.payload.features : undefined;
    source = "from the body, which did NOT verify";
  }
  if (!features) return showModules(null, "The payload carries no features section.");
  const result = recomputeModules(features, policy);
  if (!result.ok) return showModules(null, `Cannot recompute: ${result.code}: ${result.message}`);
  return showModules(result, `${result.modules.length} modules, ${source}.`);
}

function verify() {
  try {
    const request = readRequest();
    const policy = readPolicy(request);
    const verdict = verifyRequest(request, policy, readNow());
    renderVerdict(verdict);
    renderBase(signatureBase(request));
    renderModules(verdict, request, policy);
  } catch (error) {
    if (!(error instanceof InputError)) console.error(error);
    showError(error instanceof InputError ? error.message : `unexpected: ${error}`);
  }
}

/** The key to sign with: the key fields, or the policy's active key. */
function signingKey() {
  const secret = $("secret").value.trim();
  if (secret) return { kid: $("kid").value.trim(), secret };
  const text = $("policy").value.trim();
  if (!text) throw new InputError("give a key id and secret (or a policy with an active key) to sign");
  let policy;
  try {
    policy = JSON.parse(text);
  } catch (error) {
    throw new InputError(`the policy is not valid JSON: ${error.message}`);
  }
  const key = (policy?.keys ?? []).find((k) => k?.status === "active" && k?.secret);
  if (!key) throw new InputError("the policy has no active key with a secret to sign with");
  return { kid: key.kid, secret: key.secret };
}

function sign() {
  try {
    const pairs = parseHeaderLines($("headers").value).filter(([name]) => !SIGNATURE_HEADERS.has(name.toLowerCase()));
    const request = { ...readRequest(), headers: headerObject(pairs) };
    const signed = signRequest(request, signingKey(), { scheme: $("scheme").value, nowSeconds: readNow() });
    if (!signed.ok) {
      showVerdict("error", document.createTextNode(`cannot sign: ${signed.code}: ${signed.message}`), [], signed.code);
      return;
    }
    const lines = [...pairs, ...Object.entries(signed.headers)].map(([n, v]) => `${n}: ${v}`);
    $("headers").value = lines.join("\n");
    verify();
  } catch (error) {
    if (!(error instanceof InputError)) console.error(error);
    showError(error instanceof InputError ? error.message : `unexpected: ${error}`);
  }
}

$("policy").value = JSON.stringify(EXAMPLE_POLICY, null, 2);
$("body").value = JSON.stringify(EXAMPLE_BODY, null, 2);
$("sign").addEventListener("click", sign);
$("verify").addEventListener("click", verify);
document.body.dataset.ready = "true";
