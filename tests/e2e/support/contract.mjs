// The HTTP contract check: every answer an end-to-end test receives from the edge is validated
// against openapi.yaml (status, content type, body schema of the operation whose path template
// matches). The harness installs it around `fetch` for every edge it starts, and raw.mjs calls
// it for raw-socket answers; a mismatch fails the request that received it (the error names the
// route, the status and what ajv found) and, should a test swallow that error, the test file too
// (the process exits non-zero with the list).
//
// Schemas are the spec's own JSON Schema 2020-12 (OpenAPI 3.1), compiled with ajv's 2020
// dialect in strict mode, so a misspelt keyword in the spec is an error here as well.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import YAML from "yaml";

const root = resolve(import.meta.dirname, "../../..");
export const SPEC_PATH = join(root, "openapi.yaml");
const SCHEMAS_ID = "https://syncgate.invalid/openapi.json";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** `#/components/schemas/X` → `<SCHEMAS_ID>#/$defs/X`, everywhere in a deep copy without `x-` keys. */
function rebase(value) {
  if (Array.isArray(value)) return value.map(rebase);
  if (value && typeof value === "object") {
    // Specification extensions (`x-…`) are documentation, not JSON Schema keywords.
    return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith("x-")).map(([k, v]) => [
      k,
      k === "$ref" && typeof v === "string" ? v.replace(/^#\/components\/schemas\//, `${SCHEMAS_ID}#/$defs/`) : rebase(v),
    ]));
  }
  return value;
}

/** The media type of a Content-Type value, lowercased, without parameters. */
export function mediaType(contentType) {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/** Path as the edge routes it: no query, leading and trailing slashes collapsed. */
export function routedPath(target) {
  let path = target;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return target;
    }
  }
  path = path.split("?")[0].split("#")[0];
  return `/${path.replace(/^\/+|\/+$/g, "")}`;
}

export class ContractValidator {
  /** `spec`: the parsed OpenAPI document. */
  constructor(spec) {
    this.spec = spec;
    this.ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary(["discriminator", "xml", "externalDocs", "example"]);
    this.ajv.addSchema({ $id: SCHEMAS_ID, $defs: rebase(spec.components?.schemas ?? {}) });
    this.validators = new Map();
    this.routes = Object.entries(spec.paths ?? {}).map(([template, item]) => {
      const segments = template.split("/").slice(1);
      const pattern = segments.map((s) => (/^\{[^}]+\}$/.test(s) ? "([^/]+)" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      return {
        template,
        item,
        regex: new RegExp(`^/${pattern.join("/")}$`),
        literals: segments.filter((s) => !s.startsWith("{")).length,
      };
    }).sort((a, b) => b.literals - a.literals);
    this.unrouted = spec["x-syncgate-unrouted"]?.responses ?? null;
  }

  static load(path = SPEC_PATH) {
    return new ContractValidator(YAML.parse(readFileSync(path, "utf8")));
  }

  #resolve(node) {
    let value = node;
    for (let i = 0; value && value.$ref && i < 10; i++) {
      const ref = value.$ref;
      if (!ref.startsWith("#/")) throw new Error(`external $ref not supported: ${ref}`);
      value = ref.slice(2).split("/").reduce((at, part) => at?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], this.spec);
      if (value === undefined) throw new Error(`unresolved $ref ${ref}`);
    }
    return value;
  }

  /** Compiles every response schema of every operation (a spec error shows up here); returns how many. */
  compileAll() {
    let count = 0;
    for (const route of this.routes) {
      for (const method of METHODS) {
        for (const [status, declared] of Object.entries(route.item[method]?.responses ?? {})) {
          for (const [type, media] of Object.entries(this.#resolve(declared).content ?? {})) {
            if (!media.schema) continue;
            const key = `${method.toUpperCase()} ${route.template} ${status} ${type}`;
            if (!this.validators.has(key)) this.validators.set(key, this.ajv.compile(rebase(this.#resolve(media.schema))));
            count++;
          }
        }
      }
    }
    return count;
  }

  /** The operation for `method` and a routed path: { template, operation } or null. */
  match(method, path) {
    const lower = method.toLowerCase();
    for (const route of this.routes) {
      if (!route.regex.test(path)) continue;
      const operation = route.item[lower];
      if (operation && METHODS.includes(lower)) return { template: route.template, operation };
      return { template: route.template, operation: null };
    }
    return null;
  }

  /**
   * Checks one answer: `{ method, target (URL or request target), status, contentType, body (text),
   * header (name → value or null/undefined) }`.
   * Returns { ok, route, errors } (`errors`: strings).
   */
  check({ method, target, status, contentType, body, header = () => undefined }) {
    const path = routedPath(target);
    const found = this.match(method, path);
    const route = found?.operation ? `${method.toUpperCase()} ${found.template}` : `${method.toUpperCase()} ${path} (no operation)`;
    let responses;
    if (found?.operation) {
      responses = found.operation.responses ?? {};
    } else if (this.unrouted) {
      responses = this.unrouted;
    } else {
      return { ok: false, route, errors: ["no operation in openapi.yaml for this method and path"] };
    }
    const declared = responses[String(status)];
    if (!declared) {
      return { ok: false, route, errors: [`status ${status} is not documented (documented: ${Object.keys(responses).join(", ")})`] };
    }
    const response = this.#resolve(declared);
    const headerErrors = [];
    for (const [name, ref] of Object.entries(response.headers ?? {})) {
      const spec = this.#resolve(ref);
      const value = header(name);
      if (value === undefined || value === null) {
        if (spec.required) headerErrors.push(`header ${name} is required`);
        continue;
      }
      const pattern = this.#resolve(spec.schema ?? {}).pattern;
      if (pattern && !new RegExp(pattern).test(value)) headerErrors.push(`header ${name} ${JSON.stringify(value)} must match ${pattern}`);
    }
    if (headerErrors.length > 0) return { ok: false, route, errors: headerErrors };
    const content = response.content ?? {};
    const type = mediaType(contentType);
    if (method.toUpperCase() === "HEAD") return { ok: true, route, errors: [] }; // no body to check
    if (Object.keys(content).length === 0) {
      return body.length === 0
        ? { ok: true, route, errors: [] }
        : { ok: false, route, errors: [`status ${status} is documented without a body, got ${body.length} bytes (${type || "no content type"})`] };
    }
    const media = content[type];
    if (!media) {
      return { ok: false, route, errors: [`content type ${type || "(none)"} is not documented for ${status} (documented: ${Object.keys(content).join(", ")})`] };
    }
    if (!media.schema) return { ok: true, route, errors: [] };
    const schema = this.#resolve(media.schema);
    let value = body;
    if (type === "application/json" || type.endsWith("+json")) {
      try {
        value = JSON.parse(body);
      } catch {
        return { ok: false, route, errors: [`${status} ${type} body is not JSON: ${JSON.stringify(body.slice(0, 120))}`] };
      }
    }
    const key = `${route} ${status} ${type}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(rebase(schema));
      this.validators.set(key, validate);
    }
    if (validate(value)) return { ok: true, route, errors: [] };
    return {
      ok: false,
      route,
      errors: validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ""}`),
    };
  }
}

/**
 * The check as the end-to-end suites use it: one per process, on by default under `node --test`
 * (`SYNCGATE_CONTRACT=0` turns it off, `=1` on elsewhere). Only answers from the edges the
 * harness registered are checked (the origin's own routes and test controls are not the edge's
 * contract). `SYNCGATE_CONTRACT_RECORD=DIR` also writes every observation to DIR as JSON lines.
 */
class EdgeContract {
  constructor() {
    const flag = process.env.SYNCGATE_CONTRACT;
    this.enabled = flag === undefined ? Boolean(process.env.NODE_TEST_CONTEXT) : flag !== "0";
    this.recordDir = process.env.SYNCGATE_CONTRACT_RECORD;
    this.edges = new Set();
    this.validated = 0;
    this.seen = {};
    this.violations = [];
    this.validator = null;
    this.observations = [];
    if (this.enabled) process.once("exit", () => this.#finish());
  }

  /** Starts checking answers from `edge` (its origin, `http://127.0.0.1:PORT`). */
  register(edge) {
    if (this.enabled) this.edges.add(new URL(edge).origin);
  }

  /** Whether an answer to `url` is checked. */
  covers(url) {
    if (!this.enabled || this.edges.size === 0) return false;
    try {
      return this.edges.has(new URL(url).origin);
    } catch {
      return false;
    }
  }

  /**
   * Checks one answer; throws an Error naming route, status and the schema errors when it does
   * not match (and remembers it for the exit report).
   */
  observe({ method, target, status, contentType, body, header }) {
    this.validator ??= ContractValidator.load();
    const result = this.validator.check({ method, target, status, contentType, body, header });
    this.validated++;
    const seenKey = `${result.route} ${status}`;
    this.seen[seenKey] = (this.seen[seenKey] ?? 0) + 1;
    if (this.recordDir) {
      this.observations.push({ method, route: result.route, path: routedPath(target), status, type: mediaType(contentType), ok: result.ok, errors: result.errors, body: body.slice(0, 2000) });
      return;
    }
    if (result.ok) return;
    const message = `openapi.yaml contract: ${result.route} answered ${status} ${mediaType(contentType) || "(no content type)"}: ${result.errors.slice(0, 5).join("; ")} (body: ${JSON.stringify(body.slice(0, 200))})`;
    this.violations.push(message);
    throw new Error(message);
  }

  #finish() {
    const file = basename(process.argv[1] ?? "unknown");
    const dir = join(root, "target/contract");
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${file}.json`), `${JSON.stringify({ file, validated: this.validated, violations: this.violations, seen: this.seen })}\n`);
      if (this.recordDir) {
        mkdirSync(this.recordDir, { recursive: true });
        writeFileSync(join(this.recordDir, `${file}.jsonl`), this.observations.map((o) => JSON.stringify(o)).join("\n") + "\n");
      }
    } catch {
      // the summary is informative only
    }
    if (this.violations.length > 0) {
      process.stderr.write(`\n${this.violations.length} answer(s) broke the openapi.yaml contract:\n${this.violations.map((v) => `  ${v}`).join("\n")}\n`);
      process.exitCode = 1;
    }
  }
}

export const edgeContract = new EdgeContract();

/** `fetch` that checks every answer from a registered edge (see {@link EdgeContract}). */
export function checkedFetch(inner) {
  return async function fetchChecked(input, init) {
    const res = await inner(input, init);
    const url = typeof input === "string" || input instanceof URL ? String(input) : input?.url;
    if (!edgeContract.covers(url)) return res;
    const method = init?.method ?? (typeof input === "object" && !(input instanceof URL) ? input.method : undefined) ?? "GET";
    let body;
    try {
      body = await res.clone().text();
    } catch {
      return res; // the caller aborted or the stream broke: there is no whole answer to check
    }
    edgeContract.observe({ method, target: url, status: res.status, contentType: res.headers.get("content-type"), body, header: (name) => res.headers.get(name) });
    return res;
  };
}
