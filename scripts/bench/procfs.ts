/**
 * What the bench reads from Linux /proc: a process's CPU time and memory, and the whole machine's
 * CPU use (to skip or flag runs that other work on the machine disturbed).
 */

import * as os from "node:os";

/** User+system CPU seconds of a process (Linux /proc; fields 14 and 15 in clock ticks). */
export function cpuSeconds(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
export interface Jiffies {
  busy: number;
  total: number;
}

export function machineJiffies(): Jiffies {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Cores the rest of the machine used between two readings, given what server and agents used. */
export function othersBetween(a: Jiffies, b: Jiffies, ownCores: number): number {
  if (b.total <= a.total) return NaN;
  const cores = os.cpus().length;
  return Math.max(0, cores * (b.busy - a.busy) / (b.total - a.total) - ownCores);
}

/** Cores in use by other processes at or above which a run counts as disturbed. */
export const BUSY_CORES = 0.3;

/**
 * Waits (at most `gateMs`) until other work on the machine uses less than BUSY_CORES, measured
 * over 250 ms windows while our servers are idle, so that noisy periods are skipped rather than
 * measured. Returns the cores in use by others at the last check (NaN when the gate is off).
 */
export async function waitQuiet(gateMs: number): Promise<number> {
  if (gateMs <= 0) return NaN;
  const cores = os.cpus().length;
  const until = Date.now() + gateMs;
  let used = NaN;
  do {
    const a = machineJiffies();
    await new Promise((r) => setTimeout(r, 250));
    const b = machineJiffies();
    used = b.total > a.total ? cores * (b.busy - a.busy) / (b.total - a.total) : 0;
    if (used < BUSY_CORES) break;
  } while (Date.now() < until);
  return used;
}

/** A memory figure of a process from /proc/<pid>/status, KiB. */
export function statusKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = status.match(new RegExp(`${field}:\\s+(\\d+)\\s+kB`));
  if (!m) throw new Error(`no ${field}`);
  return Number(m[1]);
}

export function rssKiB(pid: number): number {
  return statusKiB(pid, "VmRSS");
}
