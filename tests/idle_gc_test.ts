/**
 * The idle collector asks for one collection once the server has been quiet for a while after
 * enough work, and never while work goes on or without the runtime's gc.
 */

import assert from "node:assert/strict";
import { IdleCollector } from "../src/idle_gc.ts";

Deno.test("idle collector: one memory-reducing collection per quiet spell after a load", () => {
  const calls: unknown[] = [];
  const c = new IdleCollector((o) => calls.push(o));
  assert.equal(c.enabled, true);
  let t = 0;
  // Busy: the work counter moves every tick.
  for (let work = 0; work <= 50_000; work += 5000) c.tick(work, t += 1000);
  assert.equal(calls.length, 0);
  // Quiet, but not long enough yet.
  c.tick(50_000, t += 1000);
  assert.equal(calls.length, 0);
  c.tick(50_000, t += 1000);
  assert.deepEqual(calls, [{ type: "major", execution: "sync", flavor: "last-resort" }]);
  // Staying quiet collects nothing more.
  for (let i = 0; i < 5; i++) c.tick(50_000, t += 1000);
  assert.equal(calls.length, 1);
  // A little work, then quiet again: not worth another collection.
  c.tick(50_500, t += 1000);
  for (let i = 0; i < 5; i++) c.tick(50_500, t += 1000);
  assert.equal(calls.length, 1);
  // A real load again: one more.
  c.tick(90_000, t += 1000);
  for (let i = 0; i < 3; i++) c.tick(90_000, t += 1000);
  assert.equal(calls.length, 2);
});

Deno.test("idle collector does nothing without gc", () => {
  const c = new IdleCollector(undefined);
  assert.equal(c.enabled, false);
  c.tick(0, 0);
  c.tick(1e6, 1000);
  c.tick(1e6, 10_000);
  assert.equal(c.collections, 0);
});
