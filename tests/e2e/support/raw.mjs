// Raw HTTP/1.1 over `node:net`, for requests `fetch` refuses to send: invalid header bytes,
// duplicated headers, bare CR/LF, odd request lines. One connection per request
// (`Connection: close`), the answer read to the end and parsed leniently.
import { connect } from "node:net";
import { edgeContract } from "./contract.mjs";

/**
 * Sends `head` (the request line and header lines, without the final blank line; a string or a
 * Buffer of exact bytes) and `body` to `base` (http://host:port). Resolves `{ status, headers,
 * body, raw }` (`headers` a Map of lowercased name → array of values), or `{ status: 0, error }`
 * when the server closed without an answer.
 */
export function rawRequest(base, head, body = Buffer.alloc(0), { timeoutMs = 10000 } = {}) {
  const url = new URL(base);
  const bytes = Buffer.concat([
    Buffer.isBuffer(head) ? head : Buffer.from(head, "latin1"),
    Buffer.from("\r\n\r\n"),
    Buffer.isBuffer(body) ? body : Buffer.from(body),
  ]);
  return new Promise((resolveRaw, reject) => {
    const resolve = (answer) => {
      // An answer from an edge is checked against openapi.yaml like every fetch (contract.mjs).
      if (answer.status > 0 && edgeContract.covers(base)) {
        const [method = "GET", target = "/"] = bytes.subarray(0, Math.max(0, bytes.indexOf("\r\n"))).toString("latin1").split(" ");
        try {
          edgeContract.observe({ method, target, status: answer.status, contentType: answer.headers.get("content-type")?.[0], body: answer.body, header: (name) => answer.headers.get(name.toLowerCase())?.[0] });
        } catch (err) {
          return reject(err);
        }
      }
      return resolveRaw(answer);
    };
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks = [];
    let settled = false;
    const finish = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const parsed = parse(raw);
      resolve(parsed ?? { status: 0, error: error?.code ?? error?.message ?? "closed", raw });
    };
    const timer = setTimeout(() => finish(new Error("timeout")), timeoutMs);
    socket.on("connect", () => socket.end(bytes));
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("end", () => finish());
    socket.on("close", () => finish());
    socket.on("error", (err) => finish(err));
  });
}

/** Parses one HTTP/1.1 response; null when no status line arrived. */
export function parse(raw) {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (!status) return null;
  const headers = new Map();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  let body = raw.subarray(end + 4);
  if ((headers.get("transfer-encoding") ?? []).some((v) => /chunked/i.test(v))) body = unchunk(body);
  else if (headers.has("content-length")) body = body.subarray(0, Number(headers.get("content-length")[0]));
  return { status: Number(status[1]), headers, body: body.toString("utf8"), raw };
}

function unchunk(buf) {
  const out = [];
  let at = 0;
  while (at < buf.length) {
    const lineEnd = buf.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = parseInt(buf.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** The request head for `method path` with `headers` ([name, value] pairs, sent as given). */
export function head(method, path, host, headers) {
  return [`${method} ${path} HTTP/1.1`, `Host: ${host}`, "Connection: close", ...headers.map(([n, v]) => `${n}: ${v}`)].join("\r\n");
}
