/**
 * The subject interest tree against a brute-force reference: every published subject matches
 * exactly the subscriptions whose subject matches it, through inserts, removals and the result
 * cache, for literal and wildcard subscriptions, plain and in queue groups.
 */

import assert from "node:assert/strict";
import { subjectHash, subjectMatches, Sublist, type Subscription } from "../src/sublist.ts";

interface Fake {
  kind: number;
}

let nextSid = 1;
function sub(subject: string, queue = ""): Subscription<Fake> {
  const sid = String(nextSid++);
  return {
    client: { kind: 0 },
    subject,
    queue,
    sid,
    sidBytes: [...sid].map((c) => c.charCodeAt(0)),
    max: 0,
    delivered: 0,
    closed: false,
  };
}

/** What a match must return, by brute force, as sorted sids (queue groups by name). */
function expected(all: Subscription<Fake>[], subject: string) {
  const empty = subject.split(".").some((t) => t === "");
  const hits = empty ? [] : all.filter((s) => subjectMatches(s.subject, subject));
  const groups = new Map<string, string[]>();
  for (const s of hits) {
    if (s.queue !== "") groups.set(s.queue, [...(groups.get(s.queue) ?? []), s.sid]);
  }
  return {
    psubs: hits.filter((s) => s.queue === "").map((s) => s.sid).sort(),
    qsubs: [...groups.entries()].map(([q, sids]) => `${q}:${sids.sort()}`).sort(),
  };
}

const enc = new TextEncoder();

/**
 * A match by string, or by the subject's bytes inside a larger buffer (`cache` false: as a
 * unique subject, a JetStream ack, which the cache neither serves nor keeps).
 */
function actual(sl: Sublist<Fake>, subject: string, bytes = false, cache = true) {
  let r;
  if (bytes) {
    const b = enc.encode(`PUB ${subject} 0`);
    const end = b.length - 2;
    // The hash the parser computes over the bytes: subjectHash over them as Latin-1.
    const h = subjectHash(String.fromCharCode(...b.subarray(4, end)));
    const m = sl.matchBytes(b, 4, end, h, cache);
    if (m.subject !== null) assert.equal(m.subject, subject);
    r = m.result;
  } else {
    r = sl.match(subject);
  }
  return {
    psubs: r.psubs.map((s) => s.sid).sort(),
    qsubs: r.qsubs.map((g) => `${g[0].queue}:${g.map((s) => s.sid).sort()}`).sort(),
  };
}

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
    return ((x ^ (x >>> 13)) >>> 0) / 2 ** 32;
  };
}

const TOKENS = ["a", "b", "c", "dev", "1", "é", ""];

function randomSubject(r: () => number, wildcards: boolean): string {
  const n = 1 + Math.floor(r() * 4);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = r();
    if (wildcards && w < 0.15) out.push("*");
    else if (wildcards && w < 0.22 && i === n - 1) out.push(">");
    else out.push(TOKENS[Math.floor(r() * TOKENS.length)]);
  }
  return out.join(".");
}

Deno.test("sublist matches as brute force through random inserts, removals and cached results", () => {
  const r = rng(16);
  const sl = new Sublist<Fake>();
  const live: Subscription<Fake>[] = [];
  for (let step = 0; step < 4000; step++) {
    const x = r();
    if (x < 0.45 || live.length === 0) {
      const q = r() < 0.25 ? ["q1", "q2"][Math.floor(r() * 2)] : "";
      const s = sub(randomSubject(r, true), q);
      sl.insert(s);
      live.push(s);
    } else if (x < 0.7) {
      const i = Math.floor(r() * live.length);
      const [s] = live.splice(i, 1);
      assert.ok(sl.remove(s), `remove ${s.subject}`);
      assert.ok(!sl.remove(s), `second remove of ${s.subject}`);
    } else {
      // Published subjects may hold `*` and `>` tokens too (they are literal tokens then).
      const p = randomSubject(r, r() < 0.1);
      const by = r();
      assert.deepEqual(actual(sl, p, by < 0.6, by > 0.4), expected(live, p), `step ${step}: ${p}`);
    }
    assert.deepEqual(sl.count, live.length);
  }
  assert.deepEqual(sl.all().map((s) => s.sid).sort(), live.map((s) => s.sid).sort());
  for (const s of [...live]) sl.remove(s);
  assert.deepEqual(sl.count, 0);
  assert.deepEqual(sl.all(), []);
  assert.deepEqual(actual(sl, "a.b"), { psubs: [], qsubs: [] });
});

Deno.test("sublist: literal token nodes of wildcard subscriptions, empty tokens, order", () => {
  const sl = new Sublist<Fake>();
  const mid = sub("a.*.c");
  const lit = sub("a.b.c");
  const tail = sub("a.>");
  const star = sub("*.b.c");
  sl.insert(lit);
  sl.insert(mid);
  sl.insert(tail);
  sl.insert(star);
  // Wildcard subscriptions come first and the exact subject last, as one tree walk gives them.
  const r = sl.match("a.b.c");
  assert.deepEqual(r.psubs.at(-1), lit);
  assert.deepEqual(new Set(r.psubs), new Set([lit, mid, tail, star]));
  assert.deepEqual(sl.match("a.x.c").psubs.map((s) => s.subject).sort(), ["a.*.c", "a.>"]);
  for (const bad of ["a..c", ".a.b.c", "a.b.c.", ""]) {
    assert.deepEqual(sl.match(bad).psubs, []);
    assert.deepEqual(actual(sl, bad, true).psubs, []);
  }
  // A published "*" token is literal: it meets wildcard subscriptions only.
  assert.deepEqual(new Set(sl.match("a.*.c").psubs), new Set([mid, tail]));
  sl.remove(mid);
  assert.deepEqual(new Set(sl.match("a.b.c").psubs), new Set([lit, tail, star]));
});

Deno.test("sublist: many subscribers on one subject, and a cache that stays bounded", () => {
  const sl = new Sublist<Fake>();
  const many = Array.from({ length: 100 }, () => sub("fan.out"));
  for (const s of many) sl.insert(s);
  // Delivery order is subscription order, through removals too.
  assert.deepEqual(sl.match("fan.out").psubs, many);
  for (let i = 0; i < 100; i += 3) sl.remove(many[i]);
  assert.deepEqual(sl.match("fan.out").psubs, many.filter((_, i) => i % 3 !== 0));
  for (let i = 0; i < 10_000; i++) sl.match(`dev.${i}.t`);
  assert.ok(sl.cacheSize <= 1024, `cache holds ${sl.cacheSize}`);
  assert.deepEqual(sl.match("fan.out").psubs.length, 66);
});

Deno.test("sublist: unique subjects (acks) matched by bytes are not cached", () => {
  const sl = new Sublist<Fake>();
  const acks = sub("$JS.ACK.S.C.*.*.*.*.*");
  sl.insert(acks);
  for (let i = 0; i < 100; i++) {
    const subject = `$JS.ACK.S.C.1.${i}.${i}.1700000000000000000.0`;
    assert.deepEqual(actual(sl, subject, true, false).psubs, [acks.sid]);
    // Not ASCII: decoded, and still not cached.
    assert.deepEqual(actual(sl, `$JS.ACK.S.C.é.${i}.1.1.0`, true, false).psubs, [acks.sid]);
    assert.deepEqual(actual(sl, `$JS.ACK.S.C..${i}.1.1.0`, true, false).psubs, []);
  }
  assert.equal(sl.cacheSize, 0);
  assert.equal(sl.cacheHits, 0);
});

Deno.test("sublist: subjects and tokens whose hashes collide stay apart", () => {
  // Found by search: FNV-1a gives both the same 32-bit hash.
  const [x, y] = ["t439599", "t622382"];
  assert.equal(subjectHash(x), subjectHash(y));
  const sl = new Sublist<Fake>();
  const lx = sub(x);
  const ly = sub(y);
  const wx = sub(`a.${x}.*`);
  const wy = sub(`a.${y}.*`);
  for (const s of [lx, ly, wx, wy]) sl.insert(s);
  assert.deepEqual(sl.match(x).psubs, [lx]);
  assert.deepEqual(sl.match(y).psubs, [ly]);
  assert.deepEqual(sl.match(`a.${x}.b`).psubs, [wx]);
  assert.deepEqual(sl.match(`a.${y}.b`).psubs, [wy]);
  // Both share one cache slot: each match replaces the other's entry, never returns it.
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(sl.match(x).psubs, [lx]);
    assert.deepEqual(sl.match(y).psubs, [ly]);
  }
  sl.remove(lx);
  sl.remove(wy);
  assert.deepEqual(sl.match(x).psubs, []);
  assert.deepEqual(sl.match(y).psubs, [ly]);
  assert.deepEqual(sl.match(`a.${x}.b`).psubs, [wx]);
  assert.deepEqual(sl.match(`a.${y}.b`).psubs, []);
  assert.deepEqual(sl.all().map((s) => s.sid).sort(), [ly.sid, wx.sid].sort());
});

Deno.test("subjectMatches agrees with a token-by-token comparison of split subjects", () => {
  const reference = (filter: string, subject: string): boolean => {
    const f = filter.split(".");
    const s = subject.split(".");
    for (let i = 0; i < f.length; i++) {
      if (f[i] === ">") return s.length > i;
      if (i >= s.length) return false;
      if (f[i] !== "*" && f[i] !== s[i]) return false;
    }
    return f.length === s.length;
  };
  const parts = ["", "a", "b", "*", ">", "ab", "."];
  const r = rng(7);
  const pick = () => {
    const n = Math.floor(r() * 5);
    let out = "";
    for (let i = 0; i < n; i++) out += parts[Math.floor(r() * parts.length)];
    return out;
  };
  for (let i = 0; i < 20_000; i++) {
    const f = pick();
    const s = pick();
    assert.equal(subjectMatches(f, s), reference(f, s), `${JSON.stringify(f)} vs ${s}`);
  }
});
