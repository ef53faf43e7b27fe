// What the kernel says about this process's workerd children, for the benchmarks: which they
// are, and how much CPU they have used (every thread, from the scheduler's own accounting in
// /proc/PID/task/*/schedstat, nanoseconds). Linux only.

import { readdirSync, readFileSync } from "node:fs";

/** Process ids of this process's workerd children (each Miniflare runs one). */
export function workerdChildren() {
  return readdirSync("/proc").filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      return ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd");
    } catch {
      return false;
    }
  }).map(Number);
}

/** CPU time of processes `pids` so far, in ms. */
export function cpuMs(pids) {
  let ns = 0;
  for (const pid of pids) {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // a thread that ended between the listing and the read
      }
    }
  }
  return ns / 1e6;
}
