// A minimal Chrome DevTools Protocol client for workerd's V8 inspector (Miniflare's
// `inspectorPort`): CPU profiles of the edge worker's isolate. Needs a global WebSocket (Node 20:
// `node --experimental-websocket`).

/** Connects to the inspector target `target` (e.g. `core:user:`) at `host:port`. */
export async function connect(hostPort, target = "core:user:") {
  const ws = new WebSocket(`ws://${hostPort}/${target}`);
  await new Promise((ok, fail) => {
    ws.addEventListener("open", ok, { once: true });
    ws.addEventListener("error", () => fail(new Error(`inspector ${hostPort}/${target} unreachable`)), { once: true });
  });
  let next = 1;
  const waiting = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    const pending = message.id && waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    message.error ? pending.fail(new Error(message.error.message)) : pending.ok(message.result);
  });
  const send = (method, params = {}) =>
    new Promise((ok, fail) => {
      const id = next++;
      waiting.set(id, { ok, fail });
      ws.send(JSON.stringify({ id, method, params }));
      setTimeout(() => waiting.has(id) && (waiting.delete(id), fail(new Error(`${method} timed out`))), 30000);
    });
  return { send, close: () => ws.close() };
}

/** Runs `work` under the CPU profiler (sampling every `intervalUs`); returns the V8 profile. */
export async function profile(client, work, intervalUs = 100) {
  await client.send("Profiler.enable");
  await client.send("Profiler.setSamplingInterval", { interval: intervalUs });
  await client.send("Profiler.start");
  try {
    await work();
  } finally {
    // Stopped whatever happened, so a failed run leaves no profiler running.
    const stopped = client.send("Profiler.stop");
    profile.last = stopped;
  }
  return (await profile.last).profile;
}

const IDLE = new Set(["(idle)", "(root)"]);

/**
 * Self time per function name in a V8 profile, in ms, busy samples only (not `(idle)`), and the
 * total busy time. `(program)` is native work of the isolate outside JavaScript and wasm frames
 * (the runtime's own code: SQLite, fetch, streams).
 */
export function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const name = node.callFrame.functionName || `(anonymous ${node.callFrame.url.split("/").pop()})`;
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (IDLE.has(name)) return;
    busy += dt;
    self.set(name, (self.get(name) ?? 0) + dt);
  });
  return { busy, self: [...self.entries()].sort((a, b) => b[1] - a[1]) };
}

/**
 * Inclusive time per function name in a V8 profile, in ms (a sample counts once for every
 * distinct function on its stack), for names matching `filter`.
 */
export function inclusiveTimes(profile, filter = () => true) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const total = new Map();
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at).callFrame.functionName;
      if (!name || seen.has(name) || !filter(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + dt);
    }
  });
  return [...total.entries()].sort((a, b) => b[1] - a[1]);
}
