/**
 * JetStream storage: the memory and file stores through the same StreamStore/ConsumerStore
 * interface (store, load, filters, purge variants, compact, truncate, limits, discard, per-subject
 * limits, max_age, state counters, consumer state), then what only the file store promises:
 * recovery after a restart, a torn tail cut at every byte, corruption in the middle, and a writer
 * killed with SIGKILL mid-storm that must come back with every acknowledged message.
 */

import assert from "node:assert/strict";
import { waitFor } from "./helpers.ts";
import { ROOT } from "./process_helpers.ts";
import {
  type ConsumerState,
  ErrInvalidSequence,
  ErrMaxBytes,
  ErrMaxMsgs,
  ErrMaxMsgsPerSubject,
  ErrMsgTooLarge,
  ErrNoAckPolicy,
  ErrPurgeArgMismatch,
  ErrStoreClosed,
  ErrStoreEOF,
  ErrStoreMsgNotFound,
  FileStore,
  MemoryStore,
  NO_LIMITS,
  type StoreLimits,
  type StoreLogger,
  type StreamStore,
} from "../src/jetstream/store/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

class CaptureLog implements StoreLogger {
  lines: string[] = [];
  warn(m: string) {
    this.lines.push(`WRN ${m}`);
  }
  error(m: string) {
    this.lines.push(`ERR ${m}`);
  }
}

interface Kind {
  name: "memory" | "file";
  open(limits?: Partial<StoreLimits>): StreamStore;
  cleanup(): void;
}

function kinds(): Kind[] {
  const dirs: string[] = [];
  return [
    {
      name: "memory",
      open: (limits = {}) => new MemoryStore({ limits: { ...NO_LIMITS, ...limits } }),
      cleanup: () => {},
    },
    {
      name: "file",
      open: (limits = {}) => {
        const dir = Deno.makeTempDirSync({ prefix: "jsstore-" });
        dirs.push(dir);
        return new FileStore({ dir, limits: { ...NO_LIMITS, ...limits }, blockSize: 4096 });
      },
      cleanup: () => {
        for (const d of dirs.splice(0)) Deno.removeSync(d, { recursive: true });
      },
    },
  ];
}

/** One test per store kind, each with its stores stopped and directories removed. */
function bothStores(name: string, fn: (k: Kind) => void | Promise<void>): void {
  for (const k of kinds()) {
    Deno.test(`${k.name} store: ${name}`, async () => {
      try {
        await fn(k);
      } finally {
        k.cleanup();
      }
    });
  }
}

function put(s: StreamStore, subject: string, text: string, hdr?: string): number {
  return s.storeMsg(subject, hdr === undefined ? null : enc.encode(hdr), enc.encode(text));
}

function text(s: StreamStore, seq: number): string | null {
  const m = s.loadMsg(seq);
  return m === null ? null : dec.decode(m.data);
}

/** Every message, in order, as [seq, subject, header, data]. */
function dump(s: StreamStore): [number, string, string, string][] {
  const out: [number, string, string, string][] = [];
  for (let m = s.loadNextMsg("", 0); m !== null; m = s.loadNextMsg("", m.seq + 1)) {
    out.push([m.seq, m.subject, dec.decode(m.hdr), dec.decode(m.data)]);
  }
  return out;
}

// ---- both stores through the interface --------------------------------------------------------

bothStores("stores and loads messages with headers by sequence", (k) => {
  const s = k.open();
  assert.equal(s.state().firstSeq, 0);
  assert.equal(s.state().lastSeq, 0);
  assert.equal(put(s, "a.b", "one"), 1);
  assert.equal(put(s, "a.c", "two", "NATS/1.0\r\nX: 1\r\n\r\n"), 2);
  const m = s.loadMsg(2)!;
  assert.equal(m.seq, 2);
  assert.equal(m.subject, "a.c");
  assert.equal(dec.decode(m.hdr), "NATS/1.0\r\nX: 1\r\n\r\n");
  assert.equal(dec.decode(m.data), "two");
  assert.equal(s.loadMsg(1)!.hdr.length, 0);
  assert.equal(s.loadMsg(3), null);
  assert.equal(s.loadMsg(0), null);
  const st = s.state();
  assert.equal(st.msgs, 2);
  assert.equal(st.firstSeq, 1);
  assert.equal(st.lastSeq, 2);
  assert.ok(st.firstTs > 0 && st.lastTs >= st.firstTs);
  assert.equal(st.numSubjects, 2);
  // nats-server's accounting: memory subj+hdr+data+16, file 22+subj+(4+hdr)+data+8.
  const hdrLen = "NATS/1.0\r\nX: 1\r\n\r\n".length;
  assert.equal(
    st.bytes,
    k.name === "memory" ? 3 + 3 + 16 + 3 + hdrLen + 3 + 16 : 30 + 3 + 3 + 34 + 3 + hdrLen + 3,
  );
  // Messages are copied in: changing the caller's buffer changes nothing stored.
  const data = enc.encode("xyz");
  s.storeMsg("a.b", null, data);
  data[0] = 0x41;
  assert.equal(text(s, 3), "xyz");
  s.stop();
  assert.throws(() => put(s, "a", "x"), ErrStoreClosed);
});

bothStores("loads last and next by literal, wildcard and all filters", (k) => {
  const s = k.open();
  const subjects = ["orders.new", "orders.old", "users.new", "orders.new", "x", "users.old.1"];
  subjects.forEach((sub, i) => put(s, sub, `m${i + 1}`));
  assert.equal(s.loadLastMsg("orders.new")!.seq, 4);
  assert.equal(s.loadLastMsg("orders.*")!.seq, 4);
  assert.equal(s.loadLastMsg("*.new")!.seq, 4);
  assert.equal(s.loadLastMsg("users.>")!.seq, 6);
  assert.equal(s.loadLastMsg(">")!.seq, 6);
  assert.equal(s.loadLastMsg("")!.seq, 6);
  assert.equal(s.loadLastMsg("nope"), null);
  assert.equal(s.loadLastMsg("nope.*"), null);
  assert.equal(s.loadNextMsg("orders.new", 2)!.seq, 4);
  assert.equal(s.loadNextMsg("orders.new", 5), null);
  assert.equal(s.loadNextMsg("*.new", 2)!.seq, 3);
  assert.equal(s.loadNextMsg("users.*", 1)!.seq, 3);
  assert.equal(s.loadNextMsg("users.*", 4), null); // users.old.1 has three tokens
  assert.equal(s.loadNextMsg("users.>", 4)!.seq, 6);
  assert.equal(s.loadNextMsg(">", 0)!.seq, 1);
  assert.equal(s.loadNextMsg("", 5)!.seq, 5);
  assert.equal(s.loadNextMsg("", 7), null);
  // A subject that appears after the filter was first used is matched too (cached filters).
  put(s, "orders.late", "m7");
  assert.equal(s.loadNextMsg("orders.*", 5)!.seq, 7);
  assert.equal(s.loadLastMsg("orders.*")!.seq, 7);
  s.removeMsg(7);
  assert.equal(s.loadNextMsg("orders.*", 5), null);
  assert.equal(s.loadLastMsg("orders.*")!.seq, 4);
  s.stop();
});

bothStores("filtered and per-subject state, deleted sequences", (k) => {
  const s = k.open();
  for (let i = 1; i <= 20; i++) put(s, `t.${i % 4}`, `m${i}`);
  assert.deepEqual(s.filteredState(1, "t.1"), { msgs: 5, first: 1, last: 17 });
  assert.deepEqual(s.filteredState(2, "t.1"), { msgs: 4, first: 5, last: 17 });
  assert.deepEqual(s.filteredState(18, "t.1"), { msgs: 0, first: 0, last: 0 });
  assert.deepEqual(s.filteredState(1, "t.*"), { msgs: 20, first: 1, last: 20 });
  assert.deepEqual(s.filteredState(10, "t.*"), { msgs: 11, first: 10, last: 20 });
  assert.deepEqual(s.filteredState(10, ">"), { msgs: 11, first: 10, last: 20 });
  assert.deepEqual(s.filteredState(3, ""), { msgs: 18, first: 3, last: 20 });
  assert.deepEqual(s.filteredState(1, "u.*"), { msgs: 0, first: 0, last: 0 });
  for (const seq of [2, 3, 10, 20]) assert.equal(s.removeMsg(seq), true);
  assert.equal(s.removeMsg(3), false);
  assert.deepEqual(s.deleted(), [2, 3, 10, 20]);
  const st = s.state();
  assert.equal(st.msgs, 16);
  assert.equal(st.firstSeq, 1);
  assert.equal(st.lastSeq, 20);
  assert.equal(st.numDeleted, 4);
  assert.deepEqual(s.filteredState(2, "t.*"), { msgs: 15, first: 4, last: 19 });
  assert.deepEqual(s.filteredState(1, "t.2"), { msgs: 3, first: 6, last: 18 });
  assert.deepEqual(Object.fromEntries(s.subjectsState("t.*")), {
    "t.0": { msgs: 4, first: 4, last: 16 },
    "t.1": { msgs: 5, first: 1, last: 17 },
    "t.2": { msgs: 3, first: 6, last: 18 },
    "t.3": { msgs: 4, first: 7, last: 19 },
  });
  assert.deepEqual([...s.subjectsState("t.3").keys()], ["t.3"]);
  assert.equal(s.subjectsState("nope").size, 0);
  // Removing the first message moves the first sequence to the next live one.
  s.removeMsg(1);
  assert.equal(s.state().firstSeq, 4);
  assert.deepEqual(s.deleted(), [10, 20]);
  s.stop();
});

bothStores("purge: all, by subject, keep, up to a sequence", (k) => {
  const s = k.open();
  for (let i = 1; i <= 12; i++) put(s, i % 2 ? "odd" : "even", `m${i}`);
  assert.throws(() => s.purge({ seq: 5, keep: 1 }), ErrPurgeArgMismatch);
  assert.equal(s.purge({ subject: "odd", keep: 2 }), 4); // keeps 9, 11
  assert.deepEqual(dump(s).map((m) => m[0]), [2, 4, 6, 8, 9, 10, 11, 12]);
  assert.equal(s.purge({ subject: "even", seq: 7 }), 3); // 2, 4, 6
  assert.deepEqual(dump(s).map((m) => m[0]), [8, 9, 10, 11, 12]);
  assert.equal(s.purge({ subject: "*", keep: 10 }), 0);
  assert.equal(s.purge({ subject: "nope" }), 0);
  assert.equal(s.purge({ keep: 3 }), 2); // keeps the last three sequences
  assert.deepEqual(dump(s).map((m) => m[0]), [10, 11, 12]);
  assert.equal(s.purge({ seq: 12 }), 2);
  assert.deepEqual(dump(s).map((m) => m[0]), [12]);
  assert.equal(s.purge(), 1);
  const st = s.state();
  assert.equal(st.msgs, 0);
  assert.equal(st.bytes, 0);
  assert.equal(st.firstSeq, 13);
  assert.equal(st.lastSeq, 12);
  assert.equal(st.firstTs, 0);
  assert.equal(st.numSubjects, 0);
  assert.equal(put(s, "odd", "after"), 13);
  assert.equal(s.state().firstSeq, 13);
  s.stop();
});

bothStores("compact and truncate", (k) => {
  const s = k.open();
  for (let i = 1; i <= 10; i++) put(s, `c.${i % 3}`, `m${i}`);
  s.removeMsg(5);
  assert.equal(s.compact(4), 3);
  assert.equal(s.state().firstSeq, 4);
  assert.equal(s.compact(5), 1); // 4; 5 was already gone
  assert.equal(s.state().firstSeq, 6);
  assert.equal(s.subjectsState("c.0").get("c.0")!.first, 6);
  assert.throws(() => s.truncate(5), ErrInvalidSequence);
  s.truncate(8);
  let st = s.state();
  assert.equal(st.lastSeq, 8);
  assert.equal(st.msgs, 3);
  assert.deepEqual(s.subjectsState(">").get("c.1"), { msgs: 1, first: 7, last: 7 });
  assert.equal(put(s, "c.x", "nine again"), 9);
  assert.equal(text(s, 9), "nine again");
  // Compacting past the end empties the store and sets the next sequence.
  assert.equal(s.compact(100), 4);
  st = s.state();
  assert.equal(st.msgs, 0);
  assert.equal(st.firstSeq, 100);
  assert.equal(st.lastSeq, 99);
  assert.equal(put(s, "c", "hundred"), 100);
  s.stop();
});

bothStores("skip consumes a sequence", (k) => {
  const s = k.open();
  assert.equal(s.skipMsg(), 1);
  assert.equal(s.state().firstSeq, 2);
  assert.equal(put(s, "a", "x"), 2);
  assert.equal(s.skipMsg(), 3);
  assert.equal(put(s, "a", "y"), 4);
  assert.deepEqual(s.deleted(), [3]);
  assert.equal(s.state().numDeleted, 1);
  s.stop();
});

bothStores("max_msgs, max_bytes and max_msgs_per_subject with discard old", (k) => {
  const s = k.open({ maxMsgs: 5 });
  for (let i = 1; i <= 8; i++) put(s, "a", `m${i}`);
  assert.deepEqual(dump(s).map((m) => m[0]), [4, 5, 6, 7, 8]);
  assert.equal(s.state().firstSeq, 4);
  s.stop();

  const per = k.open({ maxMsgsPerSubject: 2 });
  for (let i = 1; i <= 9; i++) put(per, `k.${i % 3}`, `m${i}`);
  assert.deepEqual(dump(per).map((m) => m[0]), [4, 5, 6, 7, 8, 9]);
  assert.deepEqual(per.subjectsState("k.1").get("k.1"), { msgs: 2, first: 4, last: 7 });
  // Lowering the limit applies at once.
  per.updateLimits({ ...NO_LIMITS, maxMsgsPerSubject: 1 });
  assert.deepEqual(dump(per).map((m) => m[0]), [7, 8, 9]);
  per.stop();

  const bytes = k.open();
  const one = (() => {
    put(bytes, "b", "0123456789");
    return bytes.state().bytes;
  })();
  bytes.updateLimits({ ...NO_LIMITS, maxBytes: one * 3 });
  for (let i = 0; i < 5; i++) put(bytes, "b", "0123456789");
  assert.equal(bytes.state().msgs, 3);
  assert.equal(bytes.state().bytes, one * 3);
  assert.equal(bytes.state().firstSeq, 4);
  bytes.stop();
});

bothStores("discard new refuses with nats-server's errors", (k) => {
  const s = k.open({ maxMsgs: 3, discard: "new" });
  for (let i = 0; i < 3; i++) put(s, "a", "x");
  assert.throws(() => put(s, "a", "x"), (e: Error) => {
    assert.ok(e instanceof ErrMaxMsgs);
    assert.equal(e.message, "maximum messages exceeded");
    return true;
  });
  assert.equal(s.state().lastSeq, 3);
  s.stop();

  const b = k.open({ maxBytes: 100, discard: "new" });
  put(b, "a", "x".repeat(40));
  assert.throws(() => put(b, "a", "x".repeat(60)), (e: Error) => {
    assert.ok(e instanceof ErrMaxBytes);
    assert.equal(e.message, "maximum bytes exceeded");
    return true;
  });
  b.stop();

  const p = k.open({ maxMsgsPerSubject: 1, discard: "new", discardNewPerSubject: true });
  put(p, "k.1", "v1");
  put(p, "k.2", "v1");
  assert.throws(() => put(p, "k.1", "v2"), (e: Error) => {
    assert.ok(e instanceof ErrMaxMsgsPerSubject);
    assert.equal(e.message, "maximum messages per subject exceeded");
    return true;
  });
  p.stop();

  // Without discard_new_per_subject a subject at its limit replaces its oldest, even when the
  // stream is at max_msgs (as nats-server: that message does not grow the stream).
  const r = k.open({ maxMsgsPerSubject: 1, maxMsgs: 2, discard: "new" });
  put(r, "k.1", "v1");
  put(r, "k.2", "v1");
  assert.equal(put(r, "k.1", "v2"), 3);
  assert.deepEqual(dump(r).map((m) => [m[0], m[3]]), [[2, "v1"], [3, "v2"]]);
  assert.throws(() => put(r, "k.3", "v1"), ErrMaxMsgs);
  r.stop();
});

bothStores("max_age expires old messages and time lookups find sequences", async (k) => {
  const s = k.open();
  put(s, "old", "1");
  put(s, "old", "2");
  const mid = s.state().lastTs + 1000; // 1 µs: nanosecond doubles are exact to ~256 ns
  await new Promise((r) => setTimeout(r, 5));
  put(s, "new", "3");
  assert.equal(s.seqFromTime(0), 1);
  assert.equal(s.seqFromTime(mid), 3);
  assert.equal(s.seqFromTime(s.state().lastTs + 1e9), 4);
  s.updateLimits({ ...NO_LIMITS, maxAge: 150e6 }); // 150 ms
  put(s, "new", "4");
  await waitFor(() => s.state().msgs === 0, "all messages expired", 3000);
  const st = s.state();
  assert.equal(st.firstSeq, 5);
  assert.equal(st.lastSeq, 4);
  put(s, "new", "5");
  assert.equal(s.state().msgs, 1);
  s.stop();
});

bothStores("erase removes like remove; the file store answers EOF past the end", (k) => {
  const s = k.open();
  for (let i = 1; i <= 4; i++) put(s, "e", `secret${i}`);
  assert.equal(s.eraseMsg(2), true);
  assert.equal(s.loadMsg(2), null);
  assert.equal(text(s, 3), "secret3");
  assert.equal(s.eraseMsg(2), false);
  if (k.name === "file") {
    assert.throws(() => s.removeMsg(9), ErrStoreEOF);
    s.purge({ seq: 4 });
    assert.throws(() => s.removeMsg(1), ErrStoreMsgNotFound);
  } else {
    assert.equal(s.removeMsg(9), false);
  }
  s.stop();
});

bothStores("storage updates report each change", (k) => {
  const s = k.open({ maxMsgs: 2 });
  const seen: [number, number, number, string][] = [];
  s.onStorageUpdate((m, b, seq, subj) => seen.push([m, b, seq, subj]));
  put(s, "a", "1");
  put(s, "b", "2");
  put(s, "c", "3");
  s.purge();
  const size = seen[0][1];
  assert.deepEqual(seen, [
    [1, size, 1, "a"],
    [1, size, 2, "b"],
    [1, size, 3, "c"],
    [-1, -size, 1, "a"],
    [-2, -2 * size, 0, ""],
  ]);
  s.stop();
});

bothStores("consumer state: deliveries, acks, redeliveries, ack floor", (k) => {
  const s = k.open();
  const c = s.consumerStore("dur", { ackPolicy: "explicit" });
  assert.equal(s.state().consumers, 1);
  for (let i = 1; i <= 5; i++) c.updateDelivered(i, i * 10, 1, 1000 + i);
  c.updateAcks(2, 20);
  assert.throws(() => c.updateAcks(2, 20), ErrStoreMsgNotFound);
  c.updateAcks(1, 10); // floor moves to just below the oldest pending (30)
  let st = c.state();
  assert.deepEqual(st.delivered, { consumer: 5, stream: 50 });
  assert.deepEqual(st.ackFloor, { consumer: 2, stream: 29 });
  assert.deepEqual([...st.pending.keys()].sort((a, b) => a - b), [30, 40, 50]);
  c.updateDelivered(6, 30, 2, 2000); // redelivery of stream seq 30
  st = c.state();
  assert.deepEqual(st.pending.get(30), { sequence: 6, timestamp: 2000 });
  assert.equal(st.redelivered.get(30), 1);
  c.updateAcks(6, 30);
  c.updateAcks(4, 40);
  c.updateAcks(5, 50);
  st = c.state();
  assert.equal(st.pending.size, 0);
  assert.equal(st.redelivered.size, 0);
  assert.deepEqual(st.ackFloor, { consumer: 6, stream: 50 });

  const all = s.consumerStore("all", { ackPolicy: "all" });
  for (let i = 1; i <= 4; i++) all.updateDelivered(i, i, 1, i);
  all.updateAcks(3, 3);
  assert.deepEqual([...all.state().pending.keys()], [4]);
  assert.deepEqual(all.state().ackFloor, { consumer: 3, stream: 3 });

  const none = s.consumerStore("none", { ackPolicy: "none" });
  none.updateDelivered(1, 7, 1, 1);
  assert.deepEqual(none.state().ackFloor, { consumer: 1, stream: 7 });
  assert.throws(() => none.updateAcks(1, 7), ErrNoAckPolicy);
  assert.throws(() => none.updateDelivered(2, 8, 2, 1), ErrNoAckPolicy);

  const replaced: ConsumerState = {
    delivered: { consumer: 9, stream: 90 },
    ackFloor: { consumer: 7, stream: 70 },
    pending: new Map([[80, { sequence: 8, timestamp: 5 }]]),
    redelivered: new Map([[80, 2]]),
  };
  c.update(replaced);
  assert.deepEqual(c.state(), replaced);
  assert.throws(() => c.update({ ...replaced, ackFloor: { consumer: 10, stream: 70 } }));
  assert.equal(s.state().consumers, 3);
  all.stop();
  assert.equal(s.state().consumers, 2);
  s.stop();
});

bothStores("many messages across blocks with limits keep memory and blocks bounded", (k) => {
  const s = k.open({ maxMsgs: 100 });
  const payload = new Uint8Array(100);
  for (let i = 0; i < 5000; i++) s.storeMsg(`m.${i % 10}`, null, payload);
  const st = s.state();
  assert.equal(st.msgs, 100);
  assert.equal(st.firstSeq, 4901);
  if (s instanceof FileStore) assert.ok(s.blockCount() <= 6, `blocks: ${s.blockCount()}`);
  assert.equal(s.loadNextMsg("m.3", 0)!.seq, 4904);
  s.stop();
});

Deno.test("file store: memory-only consumers and oversized subjects", () => {
  const dir = tempDir();
  try {
    let s = new FileStore({ dir });
    const c = s.consumerStore("eph", { ackPolicy: "explicit", memoryStorage: true });
    c.updateDelivered(1, 1, 1, 1);
    assert.equal(c.hasState(), false);
    assert.equal(s.state().consumers, 1);
    assert.throws(() => s.storeMsg("x".repeat(70000), null, new Uint8Array(1)), ErrMsgTooLarge);
    assert.equal(s.state().lastSeq, 0);
    s.stop();
    s = new FileStore({ dir });
    assert.deepEqual(s.consumerNames(), []);
    s.stop();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

// ---- file store: restart, torn tails, corruption -----------------------------------------------

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "jsstore-" });
}

/** Everything a store reports about its messages (the open consumer count aside). */
function snapshot(s: StreamStore) {
  return {
    state: { ...s.state(), consumers: 0 },
    deleted: s.deleted(),
    subjects: Object.fromEntries(s.subjectsState(">")),
    msgs: dump(s),
  };
}

Deno.test("file store: a reopened store has the same messages, state and consumer state", () => {
  const dir = tempDir();
  try {
    const opts = { dir, blockSize: 2048, limits: { ...NO_LIMITS, maxMsgsPerSubject: 3 } };
    let s = new FileStore(opts);
    for (let i = 1; i <= 200; i++) {
      put(
        s,
        `r.${i % 7}`,
        `payload ${i} ${"x".repeat(i % 50)}`,
        i % 5 ? undefined : "NATS/1.0\r\n\r\n",
      );
    }
    s.removeMsg(190);
    s.eraseMsg(195);
    s.skipMsg();
    put(s, "big", "B".repeat(5000)); // bigger than a block
    s.purge({ subject: "r.3" });
    s.compact(185);
    s.writeMeta({ name: "S", subjects: ["r.>"] });
    const c = s.consumerStore("C1", { ackPolicy: "explicit" });
    for (let i = 1; i <= 10; i++) c.updateDelivered(i, 184 + i, 1, i * 1000);
    c.updateAcks(3, 187);
    c.updateDelivered(11, 185, 2, 99);
    const before = snapshot(s);
    const cBefore = c.state();
    assert.ok(s.blockCount() > 1);
    s.stop();

    s = new FileStore(opts);
    assert.deepEqual(s.consumerNames(), ["C1"]);
    const c2 = s.consumerStore("C1", { ackPolicy: "explicit" });
    assert.deepEqual(snapshot(s), before);
    assert.deepEqual(s.readMeta(), { name: "S", subjects: ["r.>"] });
    assert.equal(c2.hasState(), true);
    assert.deepEqual(c2.state(), cBefore);
    // And it keeps working: new sequence numbers continue after the last one.
    assert.equal(put(s, "r.1", "after restart"), before.state.lastSeq + 1);
    s.truncate(before.state.lastSeq - 2);
    put(s, "t", "after truncate");
    const again = snapshot(s);
    s.stop();
    s = new FileStore(opts);
    assert.deepEqual(snapshot(s), again);
    // Purge everything: the sequence survives a restart with no messages left.
    s.purge();
    const empty = snapshot(s);
    s.stop();
    s = new FileStore(opts);
    assert.deepEqual(snapshot(s), empty);
    assert.equal(s.blockCount(), 1);
    c2.stop();
    s.consumerStore("C1", { ackPolicy: "explicit" }).delete();
    assert.deepEqual(s.consumerNames(), []);
    s.stop();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

function lastBlock(dir: string): string {
  const ids = [...Deno.readDirSync(`${dir}/msgs`)]
    .map((e) => /^(\d+)\.blk$/.exec(e.name))
    .filter((m) => m !== null)
    .map((m) => Number(m![1]));
  return `${dir}/msgs/${Math.max(...ids)}.blk`;
}

Deno.test("file store: a torn last record, cut at every byte, is truncated and never trusted", () => {
  const dir = tempDir();
  try {
    let s = new FileStore({ dir });
    for (let i = 1; i <= 4; i++) put(s, `torn.${i}`, `message ${i}`, "NATS/1.0\r\nA: b\r\n\r\n");
    const before = dump(s);
    put(s, "torn.last", "the last one", "NATS/1.0\r\nA: b\r\n\r\n");
    s.stop();
    const path = lastBlock(dir);
    const full = Deno.readFileSync(path);
    const lastLen = 32 + "torn.last".length + "NATS/1.0\r\nA: b\r\n\r\n".length +
      "the last one".length;
    const start = full.length - lastLen;
    for (let cut = start; cut < full.length; cut++) {
      Deno.writeFileSync(path, full.subarray(0, cut));
      const log = new CaptureLog();
      s = new FileStore({ dir, logger: log });
      assert.deepEqual(dump(s), before, `cut at ${cut}`);
      assert.equal(s.state().lastSeq, 4);
      if (cut > start) assert.match(log.lines.join("\n"), /WRN .*torn write at the end/);
      else assert.deepEqual(log.lines, []);
      assert.equal(Deno.statSync(path).size, start);
      // Appending after the cut works and survives another restart.
      assert.equal(put(s, "torn.new", "replacement"), 5);
      s.stop();
      s = new FileStore({ dir, logger: log });
      assert.equal(text(s, 5), "replacement");
      assert.equal(s.state().msgs, 5);
      s.stop();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("file store: a corrupt record in the middle costs that record, logged, no crash", () => {
  const dir = tempDir();
  try {
    let s = new FileStore({ dir });
    const sizes: number[] = [];
    for (let i = 1; i <= 10; i++) {
      put(s, "mid", `message number ${i}`);
      sizes.push(32 + 3 + `message number ${i}`.length);
    }
    s.stop();
    const path = lastBlock(dir);
    const original = Deno.readFileSync(path);
    const offsetOf = (seq: number) => 8 + sizes.slice(0, seq - 1).reduce((a, b) => a + b, 0);

    // A flipped bit in the payload of message 5: its checksum fails; its length still leads on.
    const flipped = original.slice();
    flipped[offsetOf(5) + 40] ^= 0x01;
    Deno.writeFileSync(path, flipped);
    let log = new CaptureLog();
    s = new FileStore({ dir, logger: log });
    assert.deepEqual(dump(s).map((m) => m[0]), [1, 2, 3, 4, 6, 7, 8, 9, 10]);
    assert.match(log.lines.join("\n"), /ERR .*corrupt record at offset \d+ \(\d+ bytes\) skipped/);
    assert.equal(text(s, 6), "message number 6");
    s.stop();

    // A damaged length field in message 5: nothing after it can be found; the records before
    // stay, the damage is reported, and the store carries on from there.
    const badLen = original.slice();
    new DataView(badLen.buffer).setUint32(offsetOf(5), 0xfffffff0, true);
    Deno.writeFileSync(path, badLen);
    log = new CaptureLog();
    s = new FileStore({ dir, logger: log });
    assert.deepEqual(dump(s).map((m) => m[0]), [1, 2, 3, 4]);
    assert.match(log.lines.join("\n"), /ERR .*corrupt data at the end \(\d+ bytes at offset \d+\)/);
    assert.equal(put(s, "mid", "new five"), 5);
    s.stop();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("file store: damage in an older block leaves the later blocks readable", () => {
  const dir = tempDir();
  try {
    let s = new FileStore({ dir, blockSize: 300 });
    for (let i = 1; i <= 30; i++) put(s, "blk", `message ${String(i).padStart(3, "0")}`);
    assert.ok(s.blockCount() >= 3);
    s.stop();
    const first = `${dir}/msgs/1.blk`;
    const bytes = Deno.readFileSync(first);
    new DataView(bytes.buffer).setUint32(8 + 46, 7, true); // second record's length
    Deno.writeFileSync(first, bytes);
    const log = new CaptureLog();
    s = new FileStore({ dir, blockSize: 300, logger: log });
    const seqs = dump(s).map((m) => m[0]);
    assert.equal(seqs[0], 1);
    assert.equal(seqs[seqs.length - 1], 30);
    assert.ok(!seqs.includes(2));
    assert.match(log.lines.join("\n"), /ERR .*1\.blk: unreadable data/);
    s.stop();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("file store: a torn consumer state record is dropped, the state before it kept", () => {
  const dir = tempDir();
  try {
    let s = new FileStore({ dir });
    let c = s.consumerStore("c", { ackPolicy: "explicit" });
    for (let i = 1; i <= 5; i++) c.updateDelivered(i, i, 1, i);
    c.updateAcks(1, 1);
    const before = c.state();
    c.updateAcks(2, 2); // the record to tear
    s.stop();
    const path = `${dir}/consumers/c/state.log`;
    const full = Deno.readFileSync(path);
    const ackLen = 32 + 8;
    for (let cut = full.length - ackLen + 1; cut < full.length; cut++) {
      Deno.writeFileSync(path, full.subarray(0, cut));
      const log = new CaptureLog();
      s = new FileStore({ dir, logger: log });
      c = s.consumerStore("c", { ackPolicy: "explicit" });
      assert.deepEqual(c.state(), before);
      assert.match(log.lines.join("\n"), /WRN .*torn or corrupt tail/);
      s.stop();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("file store: consumer state log is compacted and still recovers", () => {
  const dir = tempDir();
  try {
    let s = new FileStore({ dir });
    let c = s.consumerStore("busy", { ackPolicy: "explicit" });
    for (let i = 1; i <= 30000; i++) {
      c.updateDelivered(i, i, 1, i);
      if (i % 3 !== 0) c.updateAcks(i, i);
    }
    const before = c.state();
    assert.ok(Deno.statSync(`${dir}/consumers/busy/state.log`).size < 2 * 1024 * 1024);
    s.stop();
    s = new FileStore({ dir });
    c = s.consumerStore("busy", { ackPolicy: "explicit" });
    assert.deepEqual(c.state(), before);
    s.stop();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

// ---- SIGKILL mid-storm --------------------------------------------------------------------------

/** The payload the child writes for `seq` (tests/store_writer_child.ts builds the same). */
function expectedPayload(seq: number): string {
  return `msg-${seq}-${"p".repeat(seq % 97)}`;
}

async function killMidStorm(sync: "always" | "interval", target: number): Promise<void> {
  const dir = tempDir();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tests/store_writer_child.ts", dir, sync],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let out = "";
    let acked = 0;
    while (acked < target) {
      const { value, done } = await reader.read();
      if (done) break;
      out += dec.decode(value, { stream: true });
      acked = out.split("\n").length - 1;
    }
    child.kill("SIGKILL");
    // Whatever was already printed before the kill counts too.
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += dec.decode(value, { stream: true });
    }
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.signal, "SIGKILL");
    const lines = out.split("\n");
    lines.pop(); // a line cut by the kill is not an acknowledgement
    const ackedSeqs = lines.map(Number);
    assert.ok(ackedSeqs.length >= target, `only ${ackedSeqs.length} acknowledged`);
    ackedSeqs.forEach((seq, i) => assert.equal(seq, i + 1));
    const lastAcked = ackedSeqs.length;

    const log = new CaptureLog();
    const s = new FileStore({ dir, logger: log, blockSize: 64 * 1024 });
    const st = s.state();
    assert.ok(st.lastSeq >= lastAcked, `last ${st.lastSeq} < acknowledged ${lastAcked}`);
    let expect = 1;
    for (let m = s.loadNextMsg("", 0); m !== null; m = s.loadNextMsg("", m.seq + 1)) {
      assert.equal(m.seq, expect, "in order, no gaps");
      assert.equal(m.subject, `storm.${m.seq % 7}`);
      assert.equal(dec.decode(m.data), expectedPayload(m.seq));
      assert.equal(dec.decode(m.hdr), m.seq % 2 ? "" : `NATS/1.0\r\nSeq: ${m.seq}\r\n\r\n`);
      expect++;
    }
    assert.equal(expect - 1, st.lastSeq);
    assert.equal(st.msgs, st.lastSeq);
    // The consumer's state covers every acknowledged delivery and ack: odd ones were acked.
    const c = s.consumerStore("storm", { ackPolicy: "explicit" });
    const cs = c.state();
    assert.ok(cs.delivered.stream >= lastAcked);
    for (let seq = 1; seq <= lastAcked; seq++) {
      assert.equal(cs.pending.has(seq), seq % 2 === 0, `pending ${seq}`);
    }
    s.stop();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("file store: SIGKILL mid-storm loses no acknowledged message (no fsync)", async () => {
  await killMidStorm("interval", 20000);
});

Deno.test("file store: SIGKILL mid-storm loses no acknowledged message (sync always)", async () => {
  await killMidStorm("always", 300);
});

// ---- random operations: file store (reopened now and then) against memory store ---------------

Deno.test("file store matches the memory store under random operations and restarts", () => {
  const dir = tempDir();
  let seed = Number(Deno.env.get("STORE_TEST_SEED") ?? 12345);
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let limits = { ...NO_LIMITS, maxMsgsPerSubject: 6, maxMsgs: 300 };
  const opts = () => ({ dir, blockSize: 1500, limits });
  const mem = new MemoryStore({ limits });
  let file = new FileStore(opts());
  /** What both must agree on (bytes are counted differently per storage type). */
  const view = (s: StreamStore, from: number) => {
    // Skips take the time of day, which differs between the two: lastTs is checked on restarts.
    const { bytes: _b, consumers: _c, lastTs: _t, ...state } = s.state();
    // An empty store's first time is its last skip's (as nats-server's): the time of day too.
    if (state.msgs === 0) state.firstTs = 0;
    return {
      state,
      deleted: s.deleted(),
      subjects: Object.fromEntries(s.subjectsState(">")),
      filtered: [
        s.filteredState(from, "s.*"),
        s.filteredState(1, "s.1"),
        s.filteredState(from, ""),
      ],
      msgs: dump(s),
    };
  };
  try {
    for (let step = 0; step < 3000; step++) {
      const op = rnd(100);
      const both = (f: (s: StreamStore) => unknown) => {
        let a: unknown, b: unknown;
        try {
          a = f(mem);
        } catch (e) {
          a = (e as Error).name;
        }
        try {
          b = f(file);
        } catch (e) {
          b = (e as Error).name;
        }
        // The file store answers some removals with errors where memory says false.
        if (!(b === "ErrStoreEOF" || b === "ErrStoreMsgNotFound") || a !== false) {
          assert.deepEqual(b, a, `step ${step} op ${op}`);
        }
      };
      const ts = 1e18 + step * 1e6;
      if (op < 60) {
        const subj = `s.${rnd(12)}`;
        const body = "x".repeat(rnd(120));
        const hdr = rnd(3) === 0 ? enc.encode("NATS/1.0\r\nK: v\r\n\r\n") : null;
        both((s) => s.storeMsg(subj, hdr, enc.encode(body), ts));
      } else if (op < 72) {
        const seq = mem.state().firstSeq + rnd(60);
        both((s) => s.removeMsg(seq));
      } else if (op < 74) both((s) => s.skipMsg() && 0);
      else if (op < 77) {
        const p = { subject: `s.${rnd(12)}`, keep: rnd(3) };
        both((s) => s.purge(p));
      } else if (op < 79) {
        const p = { subject: "s.*", seq: mem.state().firstSeq + rnd(40) };
        both((s) => s.purge(p));
      } else if (op < 80) {
        const p = { keep: rnd(50) };
        both((s) => s.purge(p));
      } else if (op < 82) {
        const seq = mem.state().firstSeq + rnd(30);
        both((s) => s.compact(seq));
      } else if (op < 84) {
        const st = mem.state();
        const seq = mem.loadNextMsg("", st.lastSeq - rnd(20))?.seq;
        if (seq !== undefined) both((s) => s.truncate(seq));
      } else if (op < 85) both((s) => s.purge());
      else if (op < 86) {
        limits = { ...limits, maxMsgsPerSubject: 2 + rnd(6), maxMsgs: 50 + rnd(300) };
        both((s) => s.updateLimits(limits));
      } else if (op < 88) {
        const seq = mem.state().firstSeq + rnd(30);
        both((s) => s.eraseMsg(seq));
      } else if (op < 94) {
        const seq = rnd(mem.state().lastSeq + 2);
        const f1 = rnd(2) ? `s.${rnd(12)}` : "s.*", f2 = rnd(2) ? `s.${rnd(12)}` : "*.*";
        both((s) => s.loadNextMsg(f1, seq)?.seq ?? null);
        both((s) => s.loadLastMsg(f2)?.seq ?? null);
      } else if (op < 97) {
        const before = file.state();
        file.stop();
        file = new FileStore(opts());
        assert.deepEqual(file.state(), before, `restart at step ${step}`);
      }
      if (step % 50 === 0 || op >= 94) {
        const from = rnd(mem.state().lastSeq + 2);
        assert.deepEqual(view(file, from), view(mem, from), `step ${step}`);
      }
    }
    assert.deepEqual(view(file, 1), view(mem, 1));
  } finally {
    mem.stop();
    file.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

// ---- memory store segments ---------------------------------------------------------------------

Deno.test("memory store: overwritten keys and deleted messages give their segments back", () => {
  const s = new MemoryStore({ limits: { ...NO_LIMITS, maxMsgsPerSubject: 1 } });
  const value = (k: number, round: number) => `v${round}-${k}-${"x".repeat(k % 300)}`;
  // A KV bucket of 200 keys, each written 200 times: 40,000 messages, 200 live.
  for (let round = 0; round < 200; round++) {
    for (let k = 0; k < 200; k++) s.storeMsg(`kv.${k}`, null, enc.encode(value(k, round)));
  }
  assert.equal(s.state().msgs, 200);
  for (let k = 0; k < 200; k++) {
    assert.equal(dec.decode(s.loadLastMsg(`kv.${k}`)!.data), value(k, 199));
  }
  // ~32 KiB live: a handful of segments, not the ~6 MiB written.
  assert.ok(s.segmentCount() <= 4, `${s.segmentCount()} segments`);
  // Deleting every other message of a long stream keeps the rest readable, in order.
  const t = new MemoryStore();
  const hdr = enc.encode("NATS/1.0\r\nA: b\r\n\r\n");
  for (let i = 1; i <= 20000; i++) {
    t.storeMsg(`s.${i % 3}`, i % 5 ? null : hdr, enc.encode(`m${i}`));
  }
  for (let i = 1; i <= 20000; i++) if (i % 10 !== 0) t.removeMsg(i);
  let n = 0;
  for (let m = t.loadNextMsg("", 0); m !== null; m = t.loadNextMsg("", m.seq + 1)) {
    n++;
    assert.equal(dec.decode(m.data), `m${m.seq}`);
    assert.equal(dec.decode(m.hdr), m.seq % 5 ? "" : "NATS/1.0\r\nA: b\r\n\r\n");
  }
  assert.equal(n, 2000);
  assert.ok(t.segmentCount() <= 4, `${t.segmentCount()} segments`);
  t.compact(15001);
  assert.equal(t.state().msgs, 500);
  t.purge();
  assert.equal(t.segmentCount(), 0);
  s.stop();
  t.stop();
  // A work queue: each message removed right after it is stored; its segments go as they fill.
  const q = new MemoryStore();
  for (let i = 0; i < 50000; i++) q.removeMsg(q.storeMsg("wq", null, enc.encode(`w${i}`)));
  assert.ok(q.segmentCount() <= 1, `${q.segmentCount()} segments`);
  q.stop();
});

Deno.test("memory store: a message read before it is removed keeps its bytes", () => {
  const s = new MemoryStore();
  s.storeMsg("a", null, enc.encode("first"));
  s.storeMsg("a", null, enc.encode("second"));
  const held = [s.loadMsg(1)!, s.loadMsg(2)!];
  s.removeMsg(1);
  s.purge();
  for (let i = 0; i < 2000; i++) s.storeMsg("a", null, enc.encode(`overwrite-${i}`));
  s.compact(1500);
  assert.deepEqual(held.map((m) => dec.decode(m.data)), ["first", "second"]);
  s.stop();
});
