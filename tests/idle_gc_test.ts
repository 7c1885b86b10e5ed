/**
 * The idle collector asks for one collection once the server has been quiet for a while after
 * enough work, and never while work goes on or without the runtime's gc; each collection is
 * followed by a trim of the C heap. And end to end: a real server (run as `deno task start`
 * runs it) gives back the memory a storm of TLS connections took, once they are closed.
 */

import assert from "node:assert/strict";
import { IdleCollector } from "../src/idle_gc.ts";
import { trimNativeHeap } from "../src/malloc_trim.ts";
import { waitFor } from "./helpers.ts";
import { startServer } from "../scripts/bench/servers.ts";
import { CONNECT, connectTls, pingPong } from "../scripts/bench/raw.ts";
import { rssKiB } from "../scripts/bench/procfs.ts";
import { ROOT } from "./process_helpers.ts";

Deno.test("idle collector: one memory-reducing collection per quiet spell after a load", () => {
  const calls: unknown[] = [];
  const c = new IdleCollector((o) => calls.push(o), () => calls.push("trim"));
  assert.equal(c.enabled, true);
  let t = 0;
  // Busy: the work counter moves every tick.
  for (let work = 0; work <= 50_000; work += 5000) c.tick(work, t += 1000);
  assert.equal(calls.length, 0);
  // Quiet, but not long enough yet.
  c.tick(50_000, t += 1000);
  assert.equal(calls.length, 0);
  c.tick(50_000, t += 1000);
  // The collection, then the trim that hands the freed pages back.
  const one = [{ type: "major", execution: "sync", flavor: "last-resort" }, "trim"];
  assert.deepEqual(calls, one);
  // Staying quiet collects nothing more.
  for (let i = 0; i < 5; i++) c.tick(50_000, t += 1000);
  assert.equal(calls.length, 2);
  // A little work, then quiet again: not worth another collection.
  c.tick(50_500, t += 1000);
  for (let i = 0; i < 5; i++) c.tick(50_500, t += 1000);
  assert.equal(calls.length, 2);
  // A real load again: one more.
  c.tick(90_000, t += 1000);
  for (let i = 0; i < 3; i++) c.tick(90_000, t += 1000);
  assert.deepEqual(calls, [...one, ...one]);
});

Deno.test("idle collector does nothing without gc", () => {
  let trims = 0;
  const c = new IdleCollector(undefined, () => trims++);
  assert.equal(c.enabled, false);
  c.tick(0, 0);
  c.tick(1e6, 1000);
  c.tick(1e6, 10_000);
  assert.equal(c.collections, 0);
  assert.equal(trims, 0);
});

Deno.test("the C heap can be trimmed here (glibc, FFI allowed)", {
  ignore: Deno.build.os !== "linux" || Deno.build.env !== "gnu",
}, () => {
  assert.equal(trimNativeHeap(), true);
});

const CA_PEM = Deno.readTextFileSync(`${ROOT}configs/certs/ca.pem`);
/** TLS connections in the storm: each holds tens of KB of TLS state in the C heap while open. */
const STORM = 1000;
/**
 * What the server may keep of the storm once it is over. Without the trim it kept about 60 MiB
 * of free C heap (measured: 3 x 1000 connections, 139 MiB idle from 75 at the start), with it
 * under 10.
 */
const KEPT_KIB = 25 * 1024;

Deno.test({
  name: "a server gives back the memory of 1000 TLS connections once they are closed",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const srv = await startServer("ours", { oursDir: ROOT }, { tls: true });
    try {
      // One connection first: node:tls and the handshake code load on first use, for good.
      const first = await connectTls(srv.port, CA_PEM);
      await pingPong(first, CONNECT);
      first.close();
      const base = rssKiB(srv.pid);
      const conns = await Promise.all(
        Array.from({ length: STORM }, async () => {
          const c = await connectTls(srv.port, CA_PEM);
          await pingPong(c, CONNECT, 60_000);
          return c;
        }),
      );
      const loaded = rssKiB(srv.pid);
      for (const c of conns) c.close();
      assert.ok(loaded - base > KEPT_KIB, `the storm took ${loaded - base} KiB only`);
      await waitFor(
        () => rssKiB(srv.pid) - base < KEPT_KIB,
        `RSS back within ${KEPT_KIB} KiB of ${base} KiB (${loaded} KiB with the storm open)`,
        20_000,
      );
    } finally {
      await srv.stop();
    }
  },
});
