/**
 * The subject interest tree on its own: literal and wildcard matches, queue groups merged across
 * nodes, results that follow subscription changes (cached ones included), and the subjects that
 * are matched without caching (JetStream ack subjects, unique per message).
 */

import assert from "node:assert/strict";
import { Sublist, type Subscription } from "../src/sublist.ts";

const client = { kind: 0 };
let sid = 0;

function sub(subject: string, queue = ""): Subscription {
  const s = String(++sid);
  return {
    client,
    subject,
    queue,
    sid: s,
    sidBytes: new TextEncoder().encode(s),
    max: 0,
    delivered: 0,
    closed: false,
  };
}

function subjects(sl: Sublist, subject: string): string[] {
  const r = sl.match(subject);
  return [
    ...r.psubs.map((s) => s.subject),
    ...r.qsubs.map((g) => `${g[0].queue}:${g.map((s) => s.subject).sort().join(",")}`),
  ].sort();
}

Deno.test("sublist matches literal, * and > subscriptions and merges queue groups", () => {
  const sl = new Sublist();
  for (const s of ["a.b.c", "a.*.c", "a.>", "*.b.*", ">", "a.b"]) sl.insert(sub(s));
  sl.insert(sub("a.b.c", "q"));
  sl.insert(sub("a.*.c", "q"));
  sl.insert(sub("a.>", "r"));
  assert.deepEqual(
    subjects(sl, "a.b.c"),
    [">", "*.b.*", "a.*.c", "a.>", "a.b.c", "q:a.*.c,a.b.c", "r:a.>"].sort(),
  );
  assert.deepEqual(subjects(sl, "a.b"), [">", "a.>", "a.b", "r:a.>"].sort());
  assert.deepEqual(subjects(sl, "x.b.y"), [">", "*.b.*"].sort());
  assert.deepEqual(subjects(sl, "a"), [">"]);
  // Empty tokens match nothing.
  for (const bad of ["a..c", ".a", "a.", ""]) assert.deepEqual(subjects(sl, bad), []);
});

Deno.test("sublist results follow inserts and removes, cached or not", () => {
  const sl = new Sublist();
  const w = sub("_INBOX.x.*");
  sl.insert(w);
  // Unique subjects matched by one wildcard node, many times over (more than the cache holds).
  for (let i = 0; i < 3000; i++) assert.deepEqual(subjects(sl, `_INBOX.x.${i}`), ["_INBOX.x.*"]);
  const lit = sub("_INBOX.x.7");
  sl.insert(lit);
  assert.deepEqual(subjects(sl, "_INBOX.x.7"), ["_INBOX.x.*", "_INBOX.x.7"]);
  assert.deepEqual(subjects(sl, "_INBOX.x.8"), ["_INBOX.x.*"]);
  const w2 = sub("_INBOX.x.*");
  sl.insert(w2);
  assert.equal(sl.match("_INBOX.x.9").psubs.length, 2);
  sl.remove(w);
  sl.remove(w2);
  assert.deepEqual(subjects(sl, "_INBOX.x.9"), []);
  assert.deepEqual(subjects(sl, "_INBOX.x.7"), ["_INBOX.x.7"]);
});

Deno.test("sublist matches JetStream ack subjects without caching them", () => {
  const sl = new Sublist();
  const ack = sub("$JS.ACK.S.C.*.*.*.*.*");
  sl.insert(ack);
  sl.insert(sub("$JS.ACK.S.D.*.*.*.*.*"));
  for (let i = 1; i <= 2000; i++) {
    assert.deepEqual(subjects(sl, `$JS.ACK.S.C.1.${i}.${i}.1700000000000000000.0`), [
      "$JS.ACK.S.C.*.*.*.*.*",
    ]);
  }
  assert.equal(sl.cacheSize, 0);
  const all = sub("$JS.ACK.>");
  sl.insert(all);
  assert.deepEqual(
    subjects(sl, "$JS.ACK.S.C.1.5.5.1.0"),
    ["$JS.ACK.>", "$JS.ACK.S.C.*.*.*.*.*"].sort(),
  );
  sl.remove(ack);
  assert.deepEqual(subjects(sl, "$JS.ACK.S.C.1.5.5.1.0"), ["$JS.ACK.>"]);
  // A subject with too few tokens for the wildcard chain matches only `>`.
  assert.deepEqual(subjects(sl, "$JS.ACK.S.D.1.5"), ["$JS.ACK.>"]);
});
