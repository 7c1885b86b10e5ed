/**
 * The bench's child processes (servers, agents, the Deno floor script): every one is tracked
 * here so that an interrupted or failed bench kills them all instead of leaving servers behind.
 */

const children = new Set<Deno.ChildProcess>();

/** Tracks a spawned child until reap() forgets it. */
export function track(child: Deno.ChildProcess): Deno.ChildProcess {
  children.add(child);
  return child;
}

/** Waits up to `ms` for a child asked to stop, then kills it; forgets it either way. */
export async function reap(child: Deno.ChildProcess, ms: number): Promise<void> {
  const done = await Promise.race([child.status.then(() => true), sleep(ms).then(() => false)]);
  if (!done) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
  children.delete(child);
}

/** Kills every child still tracked (on exit, error or signal). */
export function killAll(): void {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch { /* gone */ }
  }
}

/** Kills the children on SIGINT and SIGTERM before exiting. */
export function killOnSignals(): void {
  Deno.addSignalListener("SIGINT", () => {
    killAll();
    Deno.exit(130);
  });
  Deno.addSignalListener("SIGTERM", () => {
    killAll();
    Deno.exit(143);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects after `ms` (an unref'd timer: it never keeps the bench alive). */
export function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, rej) => {
    const t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms);
    Deno.unrefTimer(t);
  });
}
