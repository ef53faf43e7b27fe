// Sync payloads of an exact size for the edge benchmarks (the same shape bench/verify.mjs uses):
// a features payload with modules carrying long permissions, then JSON whitespace.

/** A valid features payload for `tenant` at `version`, exactly `size` bytes (a string). */
export function featuresBody(size, tenant, version) {
  const perm = (i, j) => `p${i}.${j}.${"x".repeat(100)}`;
  const modules = [];
  const payload = { type: "features", tenant, version, features: { plan: "pro", modules, planDefaults: { pro: [] } } };
  for (let i = 0; ; i++) {
    const module = { key: `crm.m${i}`, group: "crm", permissions: Array.from({ length: 16 }, (_, j) => perm(i, j)) };
    modules.push(module);
    payload.features.planDefaults.pro.push(module.key);
    if (JSON.stringify(payload).length > size) {
      modules.pop();
      payload.features.planDefaults.pro.pop();
      break;
    }
  }
  const json = JSON.stringify(payload);
  if (json.length > size) throw new Error(`payload is ${json.length} bytes, over ${size}`);
  return json + " ".repeat(size - json.length);
}
