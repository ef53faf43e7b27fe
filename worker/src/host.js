// The JavaScript half of worker/src/host.rs: each function is one call from wasm.
// `digests` copies its wasm-memory arguments before anything is awaited (wasm memory may grow
// while the promise runs, which detaches views of it).
const hmacKeys = new Map();
function hmacKey(secret) {
  const id = String.fromCharCode.apply(null, secret);
  let key = hmacKeys.get(id);
  if (key === undefined) {
    if (hmacKeys.size >= 256) hmacKeys.clear();
    key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(id, key);
    key.catch(() => hmacKeys.delete(id));
  }
  return key;
}
export function requestHead(request) {
  let head = request.method + "\n" + request.url;
  for (const [name, value] of request.headers) head += "\n" + name + ":" + value;
  return head;
}
export function digests(body, sha256, spec, lens) {
  spec = spec.slice();
  lens = lens.slice();
  const jobs = [];
  if (sha256) jobs.push(crypto.subtle.digest("SHA-256", body));
  let at = 0;
  for (let i = 0; i + 2 < lens.length; i += 3) {
    const secret = spec.subarray(at, (at += lens[i]));
    const prefix = spec.subarray(at, (at += lens[i + 1]));
    let message = prefix;
    if (lens[i + 2]) {
      message = new Uint8Array(prefix.length + body.length);
      message.set(prefix);
      message.set(body, prefix.length);
    }
    jobs.push(hmacKey(secret).then((key) => crypto.subtle.sign("HMAC", key, message)));
  }
  return Promise.all(jobs).then((out) => {
    const all = new Uint8Array(32 * out.length);
    out.forEach((bytes, i) => all.set(new Uint8Array(bytes), 32 * i));
    return all;
  });
}
export function concat(head, body) {
  const all = new Uint8Array(head.length + body.length);
  all.set(head);
  all.set(body, head.length);
  return all;
}
export function headersFrom(lines) {
  const headers = new Headers();
  if (lines) {
    for (const line of lines.split("\n")) {
      const at = line.indexOf(":");
      headers.append(line.slice(0, at), line.slice(at + 1));
    }
  }
  return headers;
}
export function objectPost(stub, url, requestId, body) {
  return stub.fetch(url, { method: "POST", headers: { "x-request-id": requestId }, body });
}
export function originFetch(url, method, lines, body, signal) {
  return fetch(url, { method, headers: headersFrom(lines), body: body ?? undefined, signal });
}
export function answerHead(response, names) {
  let head = String(response.status);
  for (const name of names.split(",")) {
    const value = response.headers.get(name);
    if (value !== null) head += "\n" + name + ":" + value;
  }
  return head;
}
