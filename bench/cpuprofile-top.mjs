#!/usr/bin/env node
// The top self-time frames of a V8 .cpuprofile (`node --cpu-prof`), as a table: self ms, share
// of the samples, and the frame (function, file:line). Frames of the same function and place
// are summed. Usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [--top=30]

import { readFileSync } from "node:fs";
import { basename } from "node:path";

const files = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const topArg = process.argv.find((a) => a.startsWith("--top="));
const top = topArg ? Number(topArg.slice(6)) : 30;
if (files.length === 0) {
  console.error("usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [--top=30]");
  process.exit(2);
}
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // timeDeltas[i] is the time before sample i; attribute each sample's delta to its node.
  const selfUs = new Map();
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0)));
  const frames = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id);
    const where = f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : "";
    const key = `${f.functionName || "(anonymous)"} ${where}`.trim();
    frames.set(key, (frames.get(key) ?? 0) + us);
    total += us;
  }
  console.log(`${basename(file)}: ${(total / 1000).toFixed(0)} ms sampled\n`);
  console.log("| self ms |    % | frame |");
  console.log("|--------:|-----:|-------|");
  for (const [key, us] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| ${(us / 1000).toFixed(1).padStart(7)} | ${((100 * us) / total).toFixed(1).padStart(4)} | ${key} |`);
  }
  console.log();
}
