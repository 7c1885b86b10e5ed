/**
 * Micro-benchmark of the JetStream stores on their own (no server, no network):
 *
 *   deno run -A scripts/bench_store.ts [--msgs N] [--always-msgs N]
 *
 * For 16 B and 1 KiB payloads: storeMsg rate for the memory store, the file store with
 * interval fsync (each record written with a synchronous write before storeMsg returns) and the
 * file store with `sync: "always"` (fdatasync per message); then, on the file store, reading
 * everything back in order (loadNextMsg) and reopening (recovery: replaying the blocks).
 */

import { FileStore, MemoryStore, type StreamStore } from "../src/jetstream/store/mod.ts";

function arg(name: string, dflt: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
}

const MSGS = arg("--msgs", 200_000);
const ALWAYS_MSGS = arg("--always-msgs", 2_000);

function rate(n: number, ms: number): string {
  const r = (n * 1000) / ms;
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${Math.round(r / 1000)} k/s`;
}

function storeRun(s: StreamStore, n: number, payload: Uint8Array): number {
  const t = performance.now();
  for (let i = 0; i < n; i++) s.storeMsg("bench.subject", null, payload);
  return performance.now() - t;
}

// Warm up the JIT on both code paths so the first row is not measuring compilation.
{
  const dir = Deno.makeTempDirSync({ prefix: "bench-store-" });
  const warm = [new MemoryStore(), new FileStore({ dir })];
  for (const s of warm) storeRun(s, 50_000, new Uint8Array(64));
  for (const s of warm) s.stop();
  Deno.removeSync(dir, { recursive: true });
}

const rows: string[][] = [["store", "payload", "msgs", "store rate", "read rate", "reopen"]];
for (const size of [16, 1024]) {
  const payload = new Uint8Array(size).fill(0x61);
  const label = size === 16 ? "16 B" : "1 KiB";

  const mem = new MemoryStore();
  rows.push(["memory", label, String(MSGS), rate(MSGS, storeRun(mem, MSGS, payload)), "", ""]);
  mem.stop();

  for (const sync of ["interval", "always"] as const) {
    const dir = Deno.makeTempDirSync({ prefix: "bench-store-" });
    const n = sync === "always" ? ALWAYS_MSGS : MSGS;
    const opts = { dir, sync: sync === "always" ? "always" as const : 120_000 };
    let fs = new FileStore(opts);
    const storeMs = storeRun(fs, n, payload);
    fs.stop();
    let t = performance.now();
    fs = new FileStore(opts);
    const reopenMs = performance.now() - t;
    t = performance.now();
    let count = 0;
    for (let m = fs.loadNextMsg("", 0); m !== null; m = fs.loadNextMsg("", m.seq + 1)) count++;
    const readMs = performance.now() - t;
    if (count !== n) throw new Error(`read back ${count} of ${n}`);
    fs.stop();
    Deno.removeSync(dir, { recursive: true });
    rows.push([
      `file (sync ${sync === "always" ? "always" : "2m"})`,
      label,
      String(n),
      rate(n, storeMs),
      rate(n, readMs),
      `${reopenMs.toFixed(0)} ms`,
    ]);
  }
}

const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "));
