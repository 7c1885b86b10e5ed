/**
 * Stream snapshot and restore (`$JS.API.STREAM.SNAPSHOT.<stream>` / `RESTORE.<stream>`) driven
 * as `nats stream backup` / `restore` drive them: the snapshot's chunks acked one by one, the
 * restore's chunks sent as requests and ended by an empty one. Checked on our server (a file
 * stream with messages, a deleted one and a durable consumer part way through comes back
 * whole; bad archives are refused and leave nothing), against nats-server for the answers'
 * JSON, and across the two servers (an archive of one restores into the other).
 */

import assert from "node:assert/strict";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import {
  connectTo,
  HAVE_NATS_SERVER,
  normalize,
  startJs,
  startRefJs,
} from "./jetstream_helpers.ts";
import { createHash } from "node:crypto";
import { highwayHash64 } from "../src/jetstream/highwayhash.ts";
import { crc32c, s2Decode, s2Encode, S2Error } from "../src/jetstream/s2.ts";
import { readTar, TarError, writeTar } from "../src/jetstream/tar.ts";
import { ArchiveError, decodeArchive } from "../src/jetstream/snapshot_archive.ts";
import { sendSnapshot } from "../src/jetstream/snapshot.ts";
import { concatBytes } from "../src/bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Snapshot {
  resp: Record<string, unknown>;
  archive: Uint8Array;
  chunks: number;
}

/** Takes a snapshot as the nats CLI does: subscribe, request, ack every chunk until the end. */
async function snapshot(
  nc: NatsConnection,
  stream: string,
  req: Record<string, unknown> = {},
): Promise<Snapshot> {
  const inbox = `_SNAP.${crypto.randomUUID().replaceAll("-", "")}`;
  const sub = nc.subscribe(inbox);
  const parts: Uint8Array[] = [];
  const done = (async () => {
    for await (const m of sub) {
      if (m.data.length === 0) break;
      parts.push(m.data.slice());
      if (m.reply) m.respond(new Uint8Array(0));
    }
  })();
  const r = await nc.request(
    `$JS.API.STREAM.SNAPSHOT.${stream}`,
    enc.encode(JSON.stringify({ deliver_subject: inbox, ...req })),
    { timeout: 5000 },
  );
  const resp = JSON.parse(dec.decode(r.data));
  if (resp.error) {
    sub.unsubscribe();
    return { resp, archive: new Uint8Array(0), chunks: 0 };
  }
  const timer = setTimeout(() => sub.unsubscribe(), 20_000);
  await done;
  clearTimeout(timer);
  sub.unsubscribe();
  return { resp, archive: concatBytes(parts), chunks: parts.length };
}

/** Restores as the nats CLI does: the request, each chunk as a request, then an empty one. */
async function restore(
  nc: NatsConnection,
  stream: string,
  body: Record<string, unknown>,
  archive: Uint8Array,
  chunkSize = 64 * 1024,
): Promise<{ start: Record<string, unknown>; end?: Record<string, unknown> }> {
  const r = await nc.request(
    `$JS.API.STREAM.RESTORE.${stream}`,
    enc.encode(JSON.stringify(body)),
    { timeout: 5000 },
  );
  const start = JSON.parse(dec.decode(r.data));
  if (start.error) return { start };
  const subj = start.deliver_subject as string;
  for (let i = 0; i < archive.length; i += chunkSize) {
    const ack = await nc.request(subj, archive.subarray(i, i + chunkSize), { timeout: 5000 });
    // A chunk's answer is empty; an error ends the restore early.
    if (ack.data.length > 0) return { start, end: JSON.parse(dec.decode(ack.data)) };
  }
  const end = await nc.request(subj, new Uint8Array(0), { timeout: 10_000 });
  return { start, end: JSON.parse(dec.decode(end.data)) };
}

/** A file stream of 20 messages (some with headers), some removed, a consumer part way. */
async function populate(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], storage: "file" as never });
  const js = jetstream(nc);
  for (let i = 1; i <= 20; i++) {
    const h = headers();
    h.set("X-N", String(i));
    await js.publish(`orders.${i % 3}`, enc.encode(`order ${i} `.repeat(i)), {
      headers: i % 2 === 0 ? h : undefined,
    });
  }
  // Purged below 3, 5 deleted in the middle, 20 at the end (the last sequence stays 20).
  await jsm.streams.purge("ORDERS", { seq: 3 });
  await jsm.streams.deleteMessage("ORDERS", 5);
  await jsm.streams.deleteMessage("ORDERS", 20, false);
  await jsm.consumers.add("ORDERS", { durable_name: "C1", ack_policy: AckPolicy.Explicit });
  const c = await js.consumers.get("ORDERS", "C1");
  const iter = await c.fetch({ max_messages: 5, expires: 2000 });
  let n = 0;
  for await (const m of iter) {
    n++;
    if (n <= 3) m.ack();
  }
  await nc.flush();
  // Acks are asynchronous: wait until the server has them.
  for (let i = 0; i < 100; i++) {
    const ci = await jsm.consumers.info("ORDERS", "C1");
    if (ci.num_ack_pending === 2) break;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What must survive a snapshot and restore: stream state, messages, consumer state. */
async function contents(nc: NatsConnection): Promise<unknown> {
  const jsm = await jetstreamManager(nc);
  const si = await jsm.streams.info("ORDERS");
  const msgs: unknown[] = [];
  for (let seq = si.state.first_seq; seq <= si.state.last_seq; seq++) {
    try {
      const m = await jsm.streams.getMessage("ORDERS", { seq });
      if (m === null) {
        msgs.push([seq, null]);
        continue;
      }
      msgs.push([m.seq, m.subject, m.header?.get("X-N") ?? "", dec.decode(m.data), m.time]);
    } catch (e) {
      msgs.push([seq, (e as Error).message]);
    }
  }
  const ci = await jsm.consumers.info("ORDERS", "C1");
  return {
    config: si.config,
    created: si.created,
    state: si.state,
    msgs,
    consumer: {
      name: ci.name,
      created: ci.created,
      config: ci.config,
      // Last activity is not part of a consumer's stored state (nor of nats-server's).
      delivered: { ...ci.delivered, last_active: undefined },
      ack_floor: { ...ci.ack_floor, last_active: undefined },
      num_ack_pending: ci.num_ack_pending,
      num_pending: ci.num_pending,
    },
  };
}

Deno.test("a file stream and its consumer come back whole from a snapshot", async () => {
  await using srv = await startJs();
  const nc = await connectTo(srv.port);
  try {
    await populate(nc);
    const before = await contents(nc);
    const snap = await snapshot(nc, "ORDERS", { chunk_size: 1024 });
    assert.equal(snap.resp.type, "io.nats.jetstream.api.v1.stream_snapshot_response");
    assert.ok(snap.chunks > 1, "chunked");
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete("ORDERS");
    const { start, end } = await restore(
      nc,
      "ORDERS",
      { config: snap.resp.config, state: snap.resp.state },
      snap.archive,
      700,
    );
    assert.equal(start.type, "io.nats.jetstream.api.v1.stream_restore_response");
    assert.match(start.deliver_subject as string, /^\$JS\.SNAPSHOT\.RESTORE\.ORDERS\.\w+$/);
    assert.equal(end?.type, "io.nats.jetstream.api.v1.stream_create_response");
    assert.equal(end?.error, undefined, JSON.stringify(end));
    assert.deepEqual(await contents(nc), before);
    // The consumer goes on where it was (3, 4, 6, 7, 8 delivered, 7 and 8 unacked): 9 is next.
    const c = await jetstream(nc).consumers.get("ORDERS", "C1");
    const m = await c.next({ expires: 2000 });
    assert.equal(m?.seq, 9);
  } finally {
    await nc.close();
  }
});

Deno.test("a restored stream survives a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "js_snap_" });
  try {
    const srv = await startJs({}, dir);
    const nc = await connectTo(srv.port);
    await populate(nc);
    const snap = await snapshot(nc, "ORDERS", { no_consumers: true });
    await (await jetstreamManager(nc)).streams.delete("ORDERS");
    const { end } = await restore(nc, "ORDERS", { config: snap.resp.config }, snap.archive);
    assert.equal(end?.error, undefined, JSON.stringify(end));
    const jsm = await jetstreamManager(nc);
    assert.equal((await jsm.consumers.list("ORDERS").next()).length, 0);
    const before = await jsm.streams.info("ORDERS");
    await nc.close();
    await srv.stop();
    await using srv2 = await startJs({}, dir);
    const nc2 = await connectTo(srv2.port);
    const si = await (await jetstreamManager(nc2)).streams.info("ORDERS");
    assert.deepEqual(si.state, before.state);
    assert.equal(si.created, before.created);
    assert.equal(si.state.messages, 16);
    await nc2.close();
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a damaged or cut archive is refused and leaves no stream", async () => {
  await using srv = await startJs();
  const nc = await connectTo(srv.port);
  try {
    await populate(nc);
    const snap = await snapshot(nc, "ORDERS");
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete("ORDERS");
    const body = { config: snap.resp.config };
    const corrupt = snap.archive.slice();
    corrupt[Math.floor(corrupt.length / 2)] ^= 0x55;
    const cases: [Uint8Array, RegExp][] = [
      [corrupt, /^restore failed: s2: corrupt input/],
      [snap.archive.subarray(0, snap.archive.length - 7), /^restore failed: s2: corrupt input$/],
      [snap.archive.subarray(0, 1000), /^restore failed: s2: corrupt input$/],
      // Cut between chunks: the stream decodes, the tar in it has no end.
      [snap.archive.subarray(0, 10), /^restore failed: unexpected EOF$/],
      [enc.encode("not an archive at all"), /^restore failed: s2: corrupt input$/],
      [new Uint8Array(0), /^restore failed: unexpected EOF$/],
    ];
    for (const [bytes, want] of cases) {
      const { end } = await restore(nc, "ORDERS", body, bytes, 512);
      const err = end?.error as { code: number; err_code: number; description: string };
      assert.equal(err.code, 500);
      assert.equal(err.err_code, 10062);
      assert.match(err.description, want);
      await assert.rejects(jsm.streams.info("ORDERS"), /stream not found/);
      // Nothing staged or placed is left on disk.
      for (const d of ["__snapshots__", "streams/ORDERS"]) {
        await assert.rejects(Deno.stat(`${srv.dir}/jetstream/$G/${d}`), Deno.errors.NotFound);
      }
    }
    // An archive of another stream's name.
    const { end } = await restore(nc, "OTHER", {
      config: { ...snap.resp.config as object, name: "OTHER", subjects: ["other"] },
    }, snap.archive);
    assert.equal(
      (end?.error as { description: string }).description,
      "restore failed: stream names do not match",
    );
    await assert.rejects(jsm.streams.info("OTHER"), /stream not found/);
  } finally {
    await nc.close();
  }
});

/** The answers that do not depend on an archive, as both servers give them. */
async function answers(port: number): Promise<string[]> {
  const nc = await connectTo(port);
  const out: string[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "F", subjects: ["f"], storage: "file" as never });
    await jsm.streams.add({ name: "M", subjects: ["m"], storage: "memory" as never });
    const req = async (subj: string, body: string) => {
      const r = await nc.request(subj, enc.encode(body), { timeout: 3000 });
      const text = normalize(dec.decode(r.data)).replace(
        /RESTORE\.(\w+)\.\w{22}"/,
        'RESTORE.$1.<nuid>"',
      );
      out.push(`${subj} ${body} -> ${text}`);
    };
    const snap = "$JS.API.STREAM.SNAPSHOT.";
    const rest = "$JS.API.STREAM.RESTORE.";
    await req(snap + "F", "");
    await req(snap + "NOPE", '{"deliver_subject":"x"}');
    await req(snap + "F", "{bad");
    await req(snap + "F", '{"deliver_subject":"a b"}');
    await req(snap + "F", "{}");
    await req(snap + "M", '{"deliver_subject":"snap.m"}');
    await req(rest + "F", "");
    await req(rest + "F", "{bad");
    await req(rest + "F", '{"config":{"name":"F","subjects":["f"]}}');
    await req(rest + "F", '{"config":{"name":"F","subjects":["f"],"storage":"file"}}');
    await req(rest + "X", '{"config":{"subjects":["f"],"retention":"bogus"}}');
    await req(rest + "X", '{"config":{"name":"X","subjects":["f"]}}');
    const js = jetstream(nc);
    for (let i = 0; i < 4; i++) await js.publish("f", enc.encode(`m${i}`));
    await jsm.streams.deleteMessage("F", 2);
    await jsm.consumers.add("F", { durable_name: "d", ack_policy: AckPolicy.Explicit });
    const s = await snapshot(nc, "F", { no_consumers: true, chunk_size: 100 });
    out.push(`snapshot of F: ${normalize(JSON.stringify(s.resp))}`);
  } finally {
    await nc.close();
  }
  return out;
}

Deno.test("snapshot and restore answer as nats-server does", {
  ignore: !HAVE_NATS_SERVER,
}, async () => {
  await using ours = await startJs();
  await using ref = await startRefJs();
  const [a, b] = [await answers(ours.port), await answers(ref.port)];
  assert.deepEqual(a, b);
});

/**
 * `a` with each RFC 3339 time that is within a microsecond of the same place's time in `b`
 * replaced by it: our store keeps times as doubles (exact to ~256 ns), nats-server to the
 * nanosecond.
 */
function alignTimes(a: unknown, b: unknown): unknown {
  const ns = (t: string) => {
    const m = /^(.*T[\d:]+)(?:\.(\d+))?Z$/.exec(t);
    if (m === null) return null;
    return BigInt(Date.parse(m[1] + "Z")) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
  };
  if (typeof a === "string" && typeof b === "string") {
    const x = ns(a);
    const y = ns(b);
    if (x !== null && y !== null && (x - y <= 1000n && y - x <= 1000n)) return b;
    return a;
  }
  if (a instanceof Date) return a;
  if (Array.isArray(a) && Array.isArray(b)) return a.map((v, i) => alignTimes(v, b[i]));
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(a)) {
      o[k] = alignTimes(v, (b as Record<string, unknown>)[k]);
    }
    return o;
  }
  return a;
}

Deno.test("archives go between our server and nats-server", {
  ignore: !HAVE_NATS_SERVER,
}, async () => {
  await using ours = await startJs();
  await using ref = await startRefJs();
  const oc = await connectTo(ours.port);
  const rc = await connectTo(ref.port);
  try {
    // nats-server's archive restores into our server as into nats-server itself.
    await populate(rc);
    const rs = await snapshot(rc, "ORDERS");
    const rjsm = await jetstreamManager(rc);
    await rjsm.streams.delete("ORDERS");
    const r0 = await restore(rc, "ORDERS", { config: rs.resp.config }, rs.archive);
    assert.equal(r0.end?.error, undefined, JSON.stringify(r0.end));
    const refRestored = await contents(rc);
    const r1 = await restore(oc, "ORDERS", { config: rs.resp.config }, rs.archive);
    assert.equal(r1.end?.error, undefined, JSON.stringify(r1.end));
    const oursRestored = await contents(oc);
    assert.deepEqual(alignTimes(oursRestored, refRestored), refRestored);
    // Ours restores into nats-server.
    await rjsm.streams.delete("ORDERS");
    const os = await snapshot(oc, "ORDERS");
    const r2 = await restore(rc, "ORDERS", { config: os.resp.config }, os.archive);
    assert.equal(r2.end?.error, undefined, JSON.stringify(r2.end));
    assert.deepEqual(alignTimes(await contents(rc), oursRestored), oursRestored);
  } finally {
    await oc.close();
    await rc.close();
  }
});

Deno.test("a snapshot larger than the flow control window goes through and back", async () => {
  await using srv = await startJs();
  const nc = await connectTo(srv.port);
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "BIG", subjects: ["big.>"], storage: "file" as never });
    const js = jetstream(nc);
    // Random payloads do not compress: the archive is about as large as the stream (>8 MiB,
    // and more than one block).
    const sums: string[] = [];
    for (let i = 0; i < 1100; i++) {
      const data = crypto.getRandomValues(new Uint8Array(10_000));
      sums.push(await digest(data));
      await js.publish(`big.${i % 7}`, data);
    }
    const snap = await snapshot(nc, "BIG");
    assert.ok(snap.archive.length > 10_000_000, String(snap.archive.length));
    await jsm.streams.delete("BIG");
    const { end } = await restore(nc, "BIG", { config: snap.resp.config }, snap.archive);
    assert.equal(end?.error, undefined, JSON.stringify(end));
    const si = await jsm.streams.info("BIG");
    assert.equal(si.state.messages, 1100);
    for (const seq of [1, 550, 819, 1100]) {
      const m = await jsm.streams.getMessage("BIG", { seq });
      assert.equal(m?.subject, `big.${(seq - 1) % 7}`);
      assert.equal(await digest(m!.data), sums[seq - 1]);
    }
    if (!HAVE_NATS_SERVER) return;
    // nats-server reads the same archive (two blocks).
    await using ref = await startRefJs();
    const rc = await connectTo(ref.port);
    try {
      const r = await restore(rc, "BIG", { config: snap.resp.config }, snap.archive);
      assert.equal(r.end?.error, undefined, JSON.stringify(r.end));
      const rjsm = await jetstreamManager(rc);
      assert.equal((await rjsm.streams.info("BIG")).state.messages, 1100);
      for (const seq of [1, 550, 819, 1100]) {
        const m = await rjsm.streams.getMessage("BIG", { seq });
        assert.equal(await digest(m!.data), sums[seq - 1]);
      }
    } finally {
      await rc.close();
    }
  } finally {
    await nc.close();
  }
});

async function digest(b: Uint8Array): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", b.slice()));
  return Array.from(h, (x) => x.toString(16).padStart(2, "0")).join("");
}

// ---- the archive's formats ---------------------------------------------------------------------

Deno.test("HighwayHash-64 gives minio/highwayhash's sums (every remainder path)", () => {
  // From github.com/minio/highwayhash (what nats-server uses): key sha256("ORDERS"), bytes i*7+1.
  const want: Record<number, string> = {
    0: "09cc9df4fa96a66a",
    1: "83d15baaa9346fe6",
    3: "ed4907ab74614e42",
    4: "8781cfdd26a2962d",
    7: "81f254e358b08809",
    16: "dc7c0a85be1c4692",
    17: "55eecec1dde4e615",
    20: "99568ac01d719aaf",
    31: "7a601b835ae33b61",
    32: "70ae0d879d95f8ef",
    33: "ac9d578d756edb1a",
    63: "1de5af2af488785c",
    64: "3fb810c6cdb4cca2",
    100: "ed7ab89920fa5b4b",
  };
  const key = new Uint8Array(createHash("sha256").update("ORDERS").digest());
  for (const [n, hex] of Object.entries(want)) {
    const b = new Uint8Array(Number(n)).map((_, i) => (i * 7 + 1) & 0xff);
    const h = Array.from(highwayHash64(key, b), (x) => x.toString(16).padStart(2, "0")).join("");
    assert.equal(h, hex, `length ${n}`);
    // Written in parts, the sum is that of the whole.
    const k = Math.floor(Number(n) / 3);
    const parts = highwayHash64(key, b.subarray(0, k), b.subarray(k));
    assert.deepEqual(parts, highwayHash64(key, b));
  }
  // Other keys and longer inputs (key bytes i*37+n*101+255, data bytes i*i*7+n*3+200).
  const more: Record<number, string> = {
    37: "46fdf12cab1eae08",
    333: "dc57ef6de6880433",
    999: "c27dfc8f9adb3a3e",
    1998: "db67b1604a6f28c6",
  };
  for (const [ns, hex] of Object.entries(more)) {
    const n = Number(ns);
    const k2 = new Uint8Array(32).map((_, i) => (i * 37 + n * 101 + 255) & 0xff);
    const b = new Uint8Array(n).map((_, i) => (i * i * 7 + n * 3 + 200) & 0xff);
    const h = Array.from(highwayHash64(k2, b), (x) => x.toString(16).padStart(2, "0")).join("");
    assert.equal(h, hex, `length ${n}`);
  }
});

Deno.test("CRC-32C gives Go's hash/crc32 Castagnoli sums", () => {
  assert.equal(crc32c(enc.encode("123456789")), 0xe3069283);
  const want: Record<number, number> = {
    7: 0xec16504c,
    8: 0x315c0e8e,
    9: 0x067b8821,
    17: 0x22caa839,
    100: 0xdb1b8f67,
  };
  for (const [n, sum] of Object.entries(want)) {
    const b = new Uint8Array(Number(n)).map((_, i) => (i * 29 + 3) & 0xff);
    assert.equal(crc32c(b), sum, `length ${n}`);
  }
});

Deno.test("S2 framing round-trips and refuses damage", () => {
  const random = new Uint8Array(150_000);
  for (let i = 0; i < random.length; i += 50_000) {
    crypto.getRandomValues(random.subarray(i, i + 50_000));
  }
  const text = enc.encode('order 17 order 17 {"a":1} '.repeat(20_000));
  for (const data of [new Uint8Array(0), random, text, new Uint8Array(70_000)]) {
    assert.deepEqual(s2Decode(s2Encode(data)), data);
  }
  const packed = s2Encode(text);
  assert.ok(packed.length < text.length / 5, "repetitive text compresses");
  const bad = packed.slice();
  bad[bad.length - 3] ^= 1;
  assert.throws(() => s2Decode(bad), S2Error);
  assert.throws(() => s2Decode(packed.subarray(0, packed.length - 1)), /s2: corrupt input/);
  const reserved = new Uint8Array([...packed.subarray(0, 10), 0x02, 0, 0, 0]);
  assert.throws(() => s2Decode(reserved), /s2: unsupported input/);
  const skippable = new Uint8Array([...packed.subarray(0, 10), 0x99, 2, 0, 0, 7, 7]);
  assert.deepEqual(s2Decode(skippable), new Uint8Array(0));
});

Deno.test("tar archives round-trip; bad headers and cuts are errors", () => {
  const long = "obs/" + "c".repeat(120) + "/meta.inf";
  const files = [
    { name: "meta.inf", data: enc.encode("{}") },
    { name: long, data: new Uint8Array(1000).fill(7) },
    { name: "empty", data: new Uint8Array(0) },
  ];
  const tar = writeTar(files, 1_700_000_000);
  assert.deepEqual(readTar(tar), files);
  const bad = tar.slice();
  bad[10] ^= 1;
  assert.throws(() => readTar(bad), /archive\/tar: invalid tar header/);
  assert.throws(() => readTar(tar.subarray(0, tar.length - 512)), TarError);
});

Deno.test("an archive reaching outside the stream directory is refused", () => {
  const tar = writeTar([
    { name: "meta.inf", data: enc.encode('{"name":"S"}') },
    { name: "../../etc/x", data: enc.encode("x") },
  ], 0);
  assert.throws(() => decodeArchive(s2Encode(tar), "S"), ArchiveError);
  const noMeta = writeTar([{ name: "msgs/1.blk", data: new Uint8Array(0) }], 0);
  assert.throws(() => decodeArchive(s2Encode(noMeta), "S"), /meta\.inf/);
});

/** A restore whose chunk comes without a reply subject ends there, as in nats-server. */
async function chunkWithoutReply(port: number): Promise<string[]> {
  const nc = await connectTo(port);
  try {
    const r = await nc.request(
      "$JS.API.STREAM.RESTORE.R",
      enc.encode('{"config":{"name":"R","subjects":["r"]}}'),
      { timeout: 3000 },
    );
    const subj = JSON.parse(dec.decode(r.data)).deliver_subject;
    nc.publish(subj, enc.encode("chunk"));
    const end = await nc.request(subj, new Uint8Array(0), { timeout: 1000 }).then(
      (m) => dec.decode(m.data),
      (e) => (e as Error).message.replace(/RESTORE\.R\.\w+/, "RESTORE.R.<nuid>"),
    );
    const names = await nc.request("$JS.API.STREAM.NAMES", new Uint8Array(0));
    return [end, normalize(dec.decode(names.data))];
  } finally {
    await nc.close();
  }
}

Deno.test("a restore chunk without a reply subject ends the restore", async () => {
  await using ours = await startJs();
  const a = await chunkWithoutReply(ours.port);
  assert.equal(a[0], "no responders: '$JS.SNAPSHOT.RESTORE.R.<nuid>'");
  if (!HAVE_NATS_SERVER) return;
  await using ref = await startRefJs();
  assert.deepEqual(a, await chunkWithoutReply(ref.port));
});

/** The stream advisories of a snapshot and a restore, times, ids and client details aside. */
async function snapshotAdvisories(port: number): Promise<string[]> {
  const nc = await connectTo(port);
  const seen: string[] = [];
  try {
    const sub = nc.subscribe("$JS.EVENT.ADVISORY.STREAM.>");
    (async () => {
      for await (const m of sub) {
        const a = JSON.parse(dec.decode(m.data));
        if (a.client) a.client = Object.keys(a.client).filter((k) => k !== "rtt").join(",");
        if (a.bytes !== undefined) a.bytes = a.bytes > 0;
        seen.push(`${m.subject} ${normalize(JSON.stringify(a))}`);
      }
    })();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "A", subjects: ["a"], storage: "file" as never });
    await jetstream(nc).publish("a", enc.encode("x"));
    const snap = await snapshot(nc, "A");
    await jsm.streams.delete("A");
    await restore(nc, "A", { config: snap.resp.config }, snap.archive);
    await nc.flush();
    // Created, snapshot create and complete, deleted, restore create and complete, created.
    for (let i = 0; i < 100 && seen.length < 7; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    sub.unsubscribe();
  } finally {
    await nc.close();
  }
  return seen;
}

Deno.test("snapshot and restore advisories are nats-server's", {
  ignore: !HAVE_NATS_SERVER,
}, async () => {
  await using ours = await startJs();
  await using ref = await startRefJs();
  // nats-server sends the stream create advisory of a restore from another goroutine: the order
  // among them is not part of the contract.
  const a = (await snapshotAdvisories(ours.port)).sort();
  const b = (await snapshotAdvisories(ref.port)).sort();
  assert.deepEqual(a, b);
});

Deno.test("a restore larger than the free store is refused", async () => {
  await using srv = await startJs({ jetstreamMaxStore: 1_000_000 });
  const nc = await connectTo(srv.port);
  try {
    const big = new Uint8Array(1_200_000);
    const { end } = await restore(nc, "S", { config: { name: "S", subjects: ["s"] } }, big);
    assert.deepEqual(end?.error, {
      code: 503,
      err_code: 10023,
      description: "insufficient resources",
    });
    const names = await nc.request("$JS.API.STREAM.NAMES", new Uint8Array(0));
    assert.equal(JSON.parse(dec.decode(names.data)).total, 0);
  } finally {
    await nc.close();
  }
});

// ---- the official Go client, as `nats stream backup` / `restore` drive the API ------------------

const GOPATH = "/usr/share/gocode";

async function haveGo(): Promise<boolean> {
  try {
    await Deno.stat(`${GOPATH}/src/github.com/nats-io/nats.go/js.go`);
    const out = await new Deno.Command("go", { args: ["version"], stdout: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

async function runGo(bin: string, port: number): Promise<string[]> {
  const out = await new Deno.Command(bin, {
    args: [`nats://127.0.0.1:${port}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = dec.decode(out.stdout) + dec.decode(out.stderr);
  assert.ok(out.success, text);
  return text.trim().split("\n");
}

Deno.test({
  name: "the Go client backs up and restores a stream, as against nats-server",
  ignore: !(await haveGo()),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "js_go_snap_" });
    try {
      const bin = `${dir}/jssnapshot`;
      const built = await new Deno.Command("go", {
        args: ["build", "-o", bin, "."],
        cwd: new URL("./go/jssnapshot/", import.meta.url).pathname,
        env: { GO111MODULE: "off", GOPATH, GOCACHE: `${dir}/cache`, HOME: dir },
        stderr: "piped",
      }).output();
      assert.ok(built.success, dec.decode(built.stderr));
      await using ours = await startJs();
      const mine = await runGo(bin, ours.port);
      assert.ok(
        mine.includes("restore: io.nats.jetstream.api.v1.stream_create_response"),
        mine.join("\n"),
      );
      assert.ok(mine.includes("next: stream seq 14 consumer seq 13"), mine.join("\n"));
      if (!HAVE_NATS_SERVER) return;
      await using ref = await startRefJs();
      assert.deepEqual(mine, await runGo(bin, ref.port));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a file stream's archive restores into a memory stream", async () => {
  await using srv = await startJs();
  const nc = await connectTo(srv.port);
  try {
    await populate(nc);
    const before = await contents(nc);
    const snap = await snapshot(nc, "ORDERS");
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete("ORDERS");
    const config = { ...snap.resp.config as Record<string, unknown>, storage: "memory" };
    const { end } = await restore(nc, "ORDERS", { config }, snap.archive);
    assert.equal(end?.error, undefined, JSON.stringify(end));
    type Contents = { config: Record<string, unknown>; state: Record<string, unknown> };
    const after = await contents(nc) as Contents;
    const want = before as Contents;
    // Memory streams count bytes their own way; everything else is the same.
    assert.equal(after.config.storage, "memory");
    assert.deepEqual(
      {
        ...after,
        config: { ...after.config, storage: "file" },
        state: { ...after.state, bytes: 0 },
      },
      { ...want, state: { ...want.state, bytes: 0 } },
    );
  } finally {
    await nc.close();
  }
});

Deno.test("a restored stream still knows its recent message ids (de-duplication)", async () => {
  await using srv = await startJs();
  const nc = await connectTo(srv.port);
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "D", subjects: ["d"], storage: "file" as never });
    const js = jetstream(nc);
    await js.publish("d", enc.encode("one"), { msgID: "id-1" });
    await js.publish("d", enc.encode("two"), { msgID: "id-2" });
    const snap = await snapshot(nc, "D");
    await jsm.streams.delete("D");
    const { end } = await restore(nc, "D", { config: snap.resp.config }, snap.archive);
    assert.equal(end?.error, undefined, JSON.stringify(end));
    const again = await js.publish("d", enc.encode("one"), { msgID: "id-1" });
    assert.deepEqual([again.seq, again.duplicate], [1, true]);
    const fresh = await js.publish("d", enc.encode("three"), { msgID: "id-3" });
    assert.deepEqual([fresh.seq, fresh.duplicate], [3, false]);
  } finally {
    await nc.close();
  }
});

Deno.test("a snapshot that cannot be finished still ends, and its archive is refused", async () => {
  await using srv = await startJs();
  const nc = await connectTo(srv.port);
  try {
    await populate(nc);
    const whole = await snapshot(nc, "ORDERS");
    // The archive's source fails part way (as when the stream goes away meanwhile).
    const failing = function* (): Generator<Uint8Array> {
      yield whole.archive.subarray(0, 300);
      throw new Error("store is closed");
    };
    const sub = nc.subscribe("cut.snapshot");
    const got: Uint8Array[] = [];
    const done = (async () => {
      for await (const m of sub) {
        if (m.data.length === 0) break;
        got.push(m.data.slice());
        m.respond(new Uint8Array(0));
      }
    })();
    await nc.flush();
    const server = srv.server!;
    const sent = await sendSnapshot(
      server,
      server.globalAccount,
      "ORDERS",
      failing(),
      "cut.snapshot",
      100,
    );
    await done;
    assert.equal(sent, 300);
    assert.equal(got.length, 3);
    assert.ok(srv.log.lines.some((l) => /Snapshot of stream .* failed: store is closed/.test(l)));
    await (await jetstreamManager(nc)).streams.delete("ORDERS");
    const cut = new Uint8Array(300);
    cut.set(whole.archive.subarray(0, 300));
    const { end } = await restore(nc, "ORDERS", { config: whole.resp.config }, cut);
    assert.equal((end?.error as { err_code: number }).err_code, 10062);
  } finally {
    await nc.close();
  }
});

/** A stream of the same name made while a restore is in transfer wins; the restore fails. */
async function createDuringRestore(port: number, archive: Uint8Array, config: unknown) {
  const nc = await connectTo(port);
  try {
    const r = await nc.request(
      "$JS.API.STREAM.RESTORE.ORDERS",
      enc.encode(JSON.stringify({ config })),
      { timeout: 3000 },
    );
    const subj = JSON.parse(dec.decode(r.data)).deliver_subject;
    const half = Math.floor(archive.length / 2);
    await nc.request(subj, archive.subarray(0, half), { timeout: 3000 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], storage: "file" as never });
    await jetstream(nc).publish("orders.new", enc.encode("made meanwhile"));
    await nc.request(subj, archive.subarray(half), { timeout: 3000 });
    const end = await nc.request(subj, new Uint8Array(0), { timeout: 5000 });
    const si = await jsm.streams.info("ORDERS");
    return [JSON.parse(dec.decode(end.data)).error, si.state.messages];
  } finally {
    await nc.close();
  }
}

Deno.test("a stream made during a restore's transfer is kept; the restore fails", async () => {
  await using srv = await startJs();
  const nc = await connectTo(srv.port);
  let snap: Snapshot;
  try {
    await populate(nc);
    snap = await snapshot(nc, "ORDERS");
    await (await jetstreamManager(nc)).streams.delete("ORDERS");
  } finally {
    await nc.close();
  }
  const ours = await createDuringRestore(srv.port, snap.archive, snap.resp.config);
  assert.deepEqual(ours, [
    { code: 400, err_code: 10130, description: "stream name already in use, cannot restore" },
    1,
  ]);
  if (!HAVE_NATS_SERVER) return;
  await using ref = await startRefJs();
  assert.deepEqual(await createDuringRestore(ref.port, snap.archive, snap.resp.config), ours);
});

Deno.test("an unfinished restore's staged store is cleared at the next start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "js_snap_" });
  try {
    const staged = `${dir}/jetstream/$G/__snapshots__/snap-left`;
    await Deno.mkdir(`${staged}/msgs`, { recursive: true });
    await Deno.writeTextFile(`${staged}/msgs/1.blk`, "partial");
    await using srv = await startJs({}, dir);
    await assert.rejects(Deno.stat(staged), Deno.errors.NotFound);
    const nc = await connectTo(srv.port);
    const names = await nc.request("$JS.API.STREAM.NAMES", new Uint8Array(0));
    assert.equal(JSON.parse(dec.decode(names.data)).total, 0);
    await nc.close();
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
