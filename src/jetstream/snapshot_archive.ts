/**
 * A stream snapshot archive, laid out as nats-server 2.9 lays out its own: a tar of the stream
 * directory compressed in S2 framing (s2.ts, tar.ts), holding
 *
 *   meta.inf                 the stream's FileStreamInfo JSON (created + config)
 *   msgs/<n>.idx             per block: msgs, bytes, first/last seq and time, deleted seqs
 *   msgs/<n>.blk             per block: message records (nats-server's record layout)
 *   obs/<name>/meta.inf      each consumer's FileConsumerInfo JSON (created, name, config)
 *   obs/<name>/o.dat         each consumer's state (nats-server's binary encoding)
 *
 *   meta.sum, obs/<name>/meta.sum   HighwayHash-64 of the meta.inf beside it, in hex
 *
 * so that archives go both ways between our server and nats-server. Each record carries
 * nats-server's HighwayHash-64 checksum (keyed by the stream name and block index), checked on
 * read, on top of the S2 chunks' CRC-32C and the tar header checksums: a damaged or truncated
 * archive is refused whole.
 */

import { createHash } from "node:crypto";
import { highwayHash64 } from "./highwayhash.ts";
import { parseRfc3339 } from "../go_time.ts";
import { S2Reader, S2Writer } from "./s2.ts";
import { tarEnd, tarEntry, TarReader } from "./tar.ts";
import type { ConsumerState, PendingAck } from "./store/types.ts";
import { concatBytes } from "../bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const MAGIC = 22;
const HBIT = 0x80000000;
/** Bit 63 of a record's sequence: an erased message or a tombstone (high word's top bit). */
const EBIT_HI = 0x80000000;
const MSG_HDR = 22;
const CHECKSUM = 8;
/** How many bytes of records go in one block file (nats-server makes blocks of up to 16 MiB). */
const BLOCK_BYTES = 8 * 1024 * 1024;

/** A restore archive that cannot be used; the message is what the client is told. */
export class ArchiveError extends Error {
  override name = "ArchiveError";
}

export interface ArchiveMsg {
  seq: number;
  ts: number;
  subject: string;
  hdr: Uint8Array;
  data: Uint8Array;
}

export interface ArchiveConsumer {
  name: string;
  /** RFC 3339 as nats-server writes times; "" or Go's zero time when unknown. */
  created: string;
  config: Record<string, unknown>;
  state: ConsumerState;
}

export interface Archive {
  created: string;
  config: Record<string, unknown>;
  /** First and last sequence of the stream (first = last + 1 when it holds nothing). */
  firstSeq: number;
  lastSeq: number;
  /** The last sequence's time (ns; kept when that message was removed), 0 when unknown. */
  lastTs: number;
  /** In sequence order (taken lazily when writing). */
  msgs: Iterable<ArchiveMsg>;
  consumers: ArchiveConsumer[];
}

// ---- writing ----------------------------------------------------------------------------------

/**
 * The archive (tar, S2-framed) for a stream's contents, a piece at a time: messages are taken
 * from `a.msgs` only as each block is written, so memory holds one block (8 MiB), not the
 * stream.
 */
export function* archiveChunks(a: Archive, nowNs: number): Generator<Uint8Array> {
  const s2 = new S2Writer();
  const mtime = Math.floor(nowNs / 1e9);
  const file = (name: string, data: Uint8Array) => {
    const out: Uint8Array[] = [];
    for (const part of tarEntry({ name, data }, mtime)) out.push(...s2.write(part));
    return out;
  };
  const name = String(a.config.name);
  const meta = enc.encode(JSON.stringify(metaInf(a)));
  yield* file("meta.inf", meta);
  yield* file("meta.sum", metaSum(name, meta));
  let block: ArchiveMsg[] = [];
  let size = 0;
  let index = 1;
  let blockFirst = a.firstSeq;
  const flush = (last: number, lastTs?: number) => {
    const { blk, lchk } = encodeBlock(block, blockFirst, last, blockKey(name, index));
    const idx = encodeIndex(block, blockFirst, last, lchk, lastTs);
    const out = [...file(`msgs/${index}.idx`, idx), ...file(`msgs/${index}.blk`, blk)];
    index++;
    block = [];
    size = 0;
    blockFirst = last + 1;
    return out;
  };
  for (const m of a.msgs) {
    // A block ends just before the next message, so each block starts with a message.
    if (size >= BLOCK_BYTES) yield* flush(m.seq - 1);
    block.push(m);
    size += recordLen(m);
  }
  yield* flush(Math.max(a.lastSeq, blockFirst - 1), a.lastTs);
  for (const c of a.consumers) {
    const cmeta = enc.encode(JSON.stringify({ Created: c.created, Name: c.name, ...c.config }));
    yield* file(`obs/${c.name}/meta.inf`, cmeta);
    yield* file(`obs/${c.name}/meta.sum`, metaSum(`${name}/${c.name}`, cmeta));
    yield* file(`obs/${c.name}/o.dat`, encodeConsumerState(c.state, nowNs));
  }
  yield* s2.write(tarEnd());
  yield* s2.end();
}

/** The whole archive at once (archiveChunks joined). */
export function encodeArchive(a: Archive, nowNs: number): Uint8Array {
  return concatBytes([...archiveChunks(a, nowNs)]);
}

function sha256(s: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(s).digest());
}

/** The key of a block's record checksums (nats-server's hashKeyForBlock). */
function blockKey(stream: string, index: number): Uint8Array {
  return sha256(`${stream}-${index}`);
}

/** meta.sum: the hex HighwayHash-64 of meta.inf, keyed by the stream (or stream/consumer). */
function metaSum(keyName: string, meta: Uint8Array): Uint8Array {
  const h = highwayHash64(sha256(keyName), meta);
  return enc.encode(Array.from(h, (x) => x.toString(16).padStart(2, "0")).join(""));
}

/** FileStreamInfo: Go writes the embedded Created field under its own name. */
function metaInf(a: Archive): Record<string, unknown> {
  return { Created: a.created, ...a.config };
}

function recordLen(m: ArchiveMsg): number {
  const s = enc.encode(m.subject).length;
  return MSG_HDR + s + (m.hdr.length > 0 ? 4 + m.hdr.length : 0) + m.data.length + CHECKSUM;
}

function putU64(v: DataView, at: number, n: number, hiFlag = 0): void {
  v.setUint32(at, n >>> 0, true);
  v.setUint32(at + 4, (Math.floor(n / 2 ** 32) | hiFlag) >>> 0, true);
}

/**
 * One block's records: one per sequence from `first` to `last`, as nats-server's block index
 * expects (it finds a record by its distance from the first); a sequence with no message is an
 * erased record (bit 63 of its sequence set, no subject or data). A block with no message has
 * no records: its index alone says where the sequences stand.
 */
function encodeBlock(
  msgs: ArchiveMsg[],
  first: number,
  last: number,
  key: Uint8Array,
): { blk: Uint8Array; lchk: Uint8Array } {
  const none = new Uint8Array(0);
  const subs = msgs.map((m) => enc.encode(m.subject));
  let total = 0;
  for (let i = 0; i < msgs.length; i++) {
    total += MSG_HDR + subs[i].length + (msgs[i].hdr.length > 0 ? 4 + msgs[i].hdr.length : 0) +
      msgs[i].data.length + CHECKSUM;
  }
  if (msgs.length > 0) total += (last - first + 1 - msgs.length) * (MSG_HDR + CHECKSUM);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  let o = 0;
  let lchk: Uint8Array = new Uint8Array(CHECKSUM);
  const record = (seq: number, ts: number, subj: Uint8Array, hdr: Uint8Array, data: Uint8Array) => {
    const rl = MSG_HDR + subj.length + (hdr.length > 0 ? 4 + hdr.length : 0) + data.length +
      CHECKSUM;
    v.setUint32(o, (rl | (hdr.length > 0 ? HBIT : 0)) >>> 0, true);
    putU64(v, o + 4, seq, subj.length === 0 && data.length === 0 ? EBIT_HI : 0);
    putU64(v, o + 12, ts);
    v.setUint16(o + 20, subj.length, true);
    let p = o + MSG_HDR;
    out.set(subj, p);
    p += subj.length;
    if (hdr.length > 0) {
      v.setUint32(p, hdr.length, true);
      out.set(hdr, p + 4);
      p += 4 + hdr.length;
    }
    out.set(data, p);
    lchk = highwayHash64(key, out.subarray(o + 4, o + 20), subj, hdr, data);
    out.set(lchk, p + data.length);
    o += rl;
  };
  if (msgs.length > 0) {
    let i = 0;
    for (let seq = first; seq <= last; seq++) {
      if (i < msgs.length && msgs[i].seq === seq) {
        record(seq, msgs[i].ts, subs[i], msgs[i].hdr, msgs[i].data);
        i++;
      } else record(seq, 0, none, none, none);
    }
  }
  return { blk: out, lchk };
}

/** nats-server's block index: header, counts, first/last, the deleted sequences. */
function encodeIndex(
  msgs: ArchiveMsg[],
  first: number,
  last: number,
  lchk: Uint8Array,
  lastTsOf?: number,
): Uint8Array {
  const b: number[] = [MAGIC, 1];
  let bytes = 0;
  for (const m of msgs) bytes += recordLen(m);
  const firstTs = msgs.length > 0 ? msgs[0].ts : 0;
  const lastTs = lastTsOf || (msgs.length > 0 ? msgs[msgs.length - 1].ts : 0);
  const deleted: number[] = [];
  let expect = first;
  for (const m of msgs) {
    for (; expect < m.seq; expect++) deleted.push(expect);
    expect = m.seq + 1;
  }
  for (; expect <= last; expect++) deleted.push(expect);
  const firstSeq = msgs.length > 0 ? first : last + 1;
  putUvarint(b, msgs.length);
  putUvarint(b, bytes);
  putUvarint(b, firstSeq);
  putVarint(b, firstTs);
  putUvarint(b, last);
  putVarint(b, lastTs);
  const dmap = msgs.length > 0 ? deleted : [];
  putUvarint(b, dmap.length);
  for (const x of lchk) b.push(x);
  for (const d of dmap) putUvarint(b, d - firstSeq);
  return new Uint8Array(b);
}

function putUvarint(b: number[], n: number): void {
  while (n >= 0x80) {
    b.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  b.push(n);
}

function putVarint(b: number[], n: number): void {
  // Zig-zag, as Go's binary.PutVarint (exact for |n| below 2^52).
  putUvarint(b, n >= 0 ? n * 2 : -n * 2 - 1);
}

/** nats-server's consumer state encoding (version 2), timestamps in seconds. */
export function encodeConsumerState(s: ConsumerState, nowNs: number): Uint8Array {
  const b: number[] = [MAGIC, 2];
  putUvarint(b, s.ackFloor.consumer);
  putUvarint(b, s.ackFloor.stream);
  putUvarint(b, s.delivered.consumer);
  putUvarint(b, s.delivered.stream);
  putUvarint(b, s.pending.size);
  if (s.pending.size > 0) {
    const mints = Math.round(nowNs / 1e9);
    putVarint(b, mints);
    for (const [sseq, p] of s.pending) {
      putUvarint(b, sseq - s.ackFloor.stream);
      putUvarint(b, p.sequence - s.ackFloor.consumer);
      putVarint(b, mints - Math.trunc(p.timestamp / 1e9));
    }
  }
  putUvarint(b, s.redelivered.size);
  for (const [sseq, n] of s.redelivered) {
    putUvarint(b, sseq - s.ackFloor.stream);
    putUvarint(b, n);
  }
  return new Uint8Array(b);
}

// ---- reading ----------------------------------------------------------------------------------

/** What an archive says of its stream before its messages (its meta.inf). */
export interface ArchiveHead {
  /** RFC 3339, "" when absent. */
  created: string;
  config: Record<string, unknown>;
}

/** What is known of an archive once all of it was read. */
export interface ArchiveTail {
  firstSeq: number;
  lastSeq: number;
  lastTs: number;
  consumers: ArchiveConsumer[];
}

/** Where an ArchiveReader hands what it reads. */
export interface ArchiveSink {
  /** The stream's meta.inf (the first file of an archive; its name is checked already). */
  head(h: ArchiveHead): void;
  /** The next message, in sequence order. */
  msg(m: ArchiveMsg): void;
}

/**
 * Reads an archive for stream `name` a piece at a time (restore chunks as they come), handing
 * its messages on a block at a time, so memory holds one block rather than the archive. Throws
 * ArchiveError, S2Error or TarError; `end` throws too unless the archive was whole.
 */
export class ArchiveReader {
  readonly #s2 = new S2Reader();
  readonly #tar = new TarReader();
  #head = false;
  #idx = new Map<number, BlockIndex>();
  /** A block whose index has not come (nats-server writes the index first). */
  #pending: { index: number; blk: Uint8Array } | null = null;
  #lastIndex = 0;
  #emitted = 0;
  #firstSeq = 0;
  #lastSeq = 0;
  #lastTs = 0;
  #lastMsg: ArchiveMsg | null = null;
  #consumerMeta = new Map<string, Uint8Array>();
  #consumerState = new Map<string, Uint8Array>();

  constructor(readonly name: string, readonly sink: ArchiveSink) {}

  push(bytes: Uint8Array): void {
    for (const data of this.#s2.push(bytes)) {
      for (const e of this.#tar.push(data)) this.#file(e.name, e.data);
    }
  }

  end(): ArchiveTail {
    this.#s2.end();
    this.#tar.end();
    this.#flushPending();
    if (!this.#head) throw new ArchiveError("open meta.inf: no such file or directory");
    const firstSeq = this.#emitted > 0 ? this.#firstSeq : this.#lastSeq + 1;
    let lastTs = this.#lastTs;
    const last = this.#lastMsg;
    if (lastTs === 0 && last !== null && last.seq === this.#lastSeq) lastTs = last.ts;
    const consumers: ArchiveConsumer[] = [];
    for (const [cname, data] of this.#consumerMeta) {
      const file = `obs/${cname}/meta.inf`;
      const { Created: cc, created: cc_, Name: _n, ...config } = parseObject(data, file);
      const created = cc ?? cc_;
      if (config.name === undefined) config.name = cname;
      const st = this.#consumerState.get(cname);
      consumers.push({
        name: cname,
        created: typeof created === "string" ? created : "",
        config,
        state: st === undefined ? emptyState() : decodeConsumerState(st, `obs/${cname}/o.dat`),
      });
    }
    consumers.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    return { firstSeq, lastSeq: this.#lastSeq, lastTs, consumers };
  }

  #file(name: string, data: Uint8Array): void {
    const p = cleanPath(name);
    if (p === null) throw new ArchiveError("unexpected content");
    if (p === "meta.inf") {
      const meta = parseObject(data, "meta.inf");
      if (meta.name !== this.name) throw new ArchiveError("stream names do not match");
      // Go's JSON decoding matches keys without regard to case: "Created" is what it writes.
      const { Created, created: created_, ...config } = meta;
      const created = Created ?? created_;
      this.#head = true;
      this.sink.head({
        created: typeof created === "string" && parseRfc3339(created) !== null ? created : "",
        config,
      });
      return;
    }
    // A snapshot that failed part way (nats-server writes why in errors.txt).
    if (p === "errors.txt") throw new ArchiveError(`snapshot error: ${dec.decode(data)}`);
    let m = /^msgs\/(\d+)\.(idx|blk)$/.exec(p);
    if (m !== null) {
      // meta.inf comes first in every archive (nats-server's and ours).
      if (!this.#head) throw new ArchiveError("open meta.inf: no such file or directory");
      const index = Number(m[1]);
      if (m[2] === "idx") {
        if (this.#pending !== null && this.#pending.index !== index) this.#flushPending();
        this.#idx.set(index, decodeIndex(data, p));
        if (this.#pending !== null) this.#flushPending();
      } else {
        this.#flushPending();
        this.#pending = { index, blk: data };
        if (this.#idx.has(index)) this.#flushPending();
      }
      return;
    }
    m = /^obs\/([^/]+)\/(meta\.inf|o\.dat)$/.exec(p);
    if (m !== null) {
      (m[2] === "o.dat" ? this.#consumerState : this.#consumerMeta).set(m[1], data);
    }
  }

  /** The messages of the block waiting for its index (with it when it came). */
  #flushPending(): void {
    const b = this.#pending;
    if (b === null) return;
    this.#pending = null;
    const file = `msgs/${b.index}.blk`;
    if (b.index <= this.#lastIndex) throw new ArchiveError(`${file}: block out of order`);
    this.#lastIndex = b.index;
    const idx = this.#idx.get(b.index) ?? null;
    this.#idx.delete(b.index);
    for (const r of decodeRecords(b.blk, file, blockKey(this.name, b.index))) {
      if (r.seq > this.#lastSeq) this.#lastSeq = r.seq;
      if (r.tombstone) continue;
      if (idx !== null && (r.seq < idx.first || r.seq > idx.last || idx.deleted.has(r.seq))) {
        continue;
      }
      if (this.#lastMsg !== null && r.seq <= this.#lastMsg.seq) {
        throw new ArchiveError(`${file}: sequence ${r.seq} out of order`);
      }
      if (this.#emitted++ === 0) this.#firstSeq = r.seq;
      this.#lastMsg = r;
      this.sink.msg(r);
    }
    if (idx !== null) {
      if (idx.last >= this.#lastSeq) this.#lastTs = idx.lastTs;
      if (idx.last > this.#lastSeq) this.#lastSeq = idx.last;
    }
  }
}

/** Decodes a whole archive for stream `name` (ArchiveReader over all of it). */
export function decodeArchive(bytes: Uint8Array, name: string): Archive {
  let head: ArchiveHead = { created: "", config: {} };
  const msgs: ArchiveMsg[] = [];
  const r = new ArchiveReader(name, { head: (h) => (head = h), msg: (m) => msgs.push(m) });
  r.push(bytes);
  const tail = r.end();
  return { ...head, ...tail, msgs };
}

/** A relative path inside the stream directory, or null (absolute, `..`, empty). */
function cleanPath(name: string): string | null {
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") return null;
    parts.push(p);
  }
  return name.startsWith("/") || parts.length === 0 ? null : parts.join("/");
}

function parseObject(b: Uint8Array, file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(b));
  } catch (e) {
    throw new ArchiveError(`${file}: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ArchiveError(`${file}: not a JSON object`);
  }
  return v as Record<string, unknown>;
}

function emptyState(): ConsumerState {
  return {
    delivered: { consumer: 0, stream: 0 },
    ackFloor: { consumer: 0, stream: 0 },
    pending: new Map(),
    redelivered: new Map(),
  };
}

interface Rec extends ArchiveMsg {
  tombstone: boolean;
}

function getU64(v: DataView, at: number): { n: number; flag: boolean } {
  const lo = v.getUint32(at, true);
  const hi = v.getUint32(at + 4, true);
  return { n: (hi & 0x7fffffff) * 2 ** 32 + lo, flag: (hi & EBIT_HI) !== 0 };
}

function decodeRecords(buf: Uint8Array, file: string, key: Uint8Array): Rec[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Rec[] = [];
  let o = 0;
  while (o < buf.length) {
    if (buf.length - o < MSG_HDR + CHECKSUM) throw new ArchiveError(`${file}: short record`);
    const word = v.getUint32(o, true);
    const hasHdr = (word & HBIT) !== 0;
    const rl = word & 0x7fffffff;
    if (rl < MSG_HDR + CHECKSUM || rl > buf.length - o) {
      throw new ArchiveError(`${file}: bad record length at offset ${o}`);
    }
    const { n: seq, flag: erased } = getU64(v, o + 4);
    const ts = Number(v.getBigInt64(o + 12, true));
    const slen = v.getUint16(o + 20, true);
    let p = o + MSG_HDR;
    const end = o + rl - CHECKSUM;
    if (p + slen > end) throw new ArchiveError(`${file}: bad record at offset ${o}`);
    const subj = buf.subarray(p, p + slen);
    p += slen;
    let hdr = new Uint8Array(0);
    if (hasHdr) {
      if (p + 4 > end) throw new ArchiveError(`${file}: bad record at offset ${o}`);
      const hl = v.getUint32(p, true);
      if (p + 4 + hl > end) throw new ArchiveError(`${file}: bad record at offset ${o}`);
      hdr = buf.slice(p + 4, p + 4 + hl);
      p += 4 + hl;
    }
    const data = buf.slice(p, end);
    const sum = highwayHash64(key, buf.subarray(o + 4, o + 20), subj, hdr, data);
    for (let k = 0; k < CHECKSUM; k++) {
      if (sum[k] !== buf[end + k]) {
        throw new ArchiveError(`${file}: malformed or corrupt message at offset ${o}`);
      }
    }
    const subject = dec.decode(subj);
    out.push({ seq, ts, subject, hdr, data, tombstone: erased || seq === 0 });
    o += rl;
  }
  return out;
}

function reader(buf: Uint8Array, file: string) {
  let i = 2;
  const uvarint = (): number => {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (i >= buf.length) throw new ArchiveError(`${file}: corrupt state`);
      const b = buf[i++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new ArchiveError(`${file}: corrupt state`);
  };
  const varint = (): number => {
    const u = uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  };
  return {
    uvarint,
    varint,
    skip: (n: number) => (i += n),
    get pos() {
      return i;
    },
  };
}

interface BlockIndex {
  first: number;
  last: number;
  lastTs: number;
  deleted: Set<number>;
}

function decodeIndex(buf: Uint8Array, file: string): BlockIndex {
  if (buf.length < 2 || buf[0] !== MAGIC) throw new ArchiveError(`${file}: bad index`);
  const r = reader(buf, file);
  r.uvarint(); // msgs
  r.uvarint(); // bytes
  const first = r.uvarint();
  r.varint();
  const last = r.uvarint();
  const lastTs = r.varint();
  const ndel = r.uvarint();
  r.skip(CHECKSUM);
  const deleted = new Set<number>();
  for (let k = 0; k < ndel && r.pos < buf.length; k++) {
    const d = r.uvarint();
    if (d === 0) break;
    deleted.add(d + first);
  }
  return { first, last, lastTs, deleted };
}

/** nats-server's consumer state (versions 1 and 2). */
export function decodeConsumerState(buf: Uint8Array, file: string): ConsumerState {
  if (buf.length < 2 || buf[0] !== MAGIC || (buf[1] !== 1 && buf[1] !== 2)) {
    throw new ArchiveError(`${file}: corrupt state`);
  }
  const version = buf[1];
  const r = reader(buf, file);
  const s = emptyState();
  s.ackFloor.consumer = r.uvarint();
  s.ackFloor.stream = r.uvarint();
  s.delivered.consumer = r.uvarint();
  s.delivered.stream = r.uvarint();
  if (version === 1) {
    if (s.ackFloor.consumer > 1) s.delivered.consumer += s.ackFloor.consumer - 1;
    if (s.ackFloor.stream > 1) s.delivered.stream += s.ackFloor.stream - 1;
  }
  const np = r.uvarint();
  if (np > 0) {
    const mints = r.varint();
    for (let k = 0; k < np; k++) {
      const sseq = r.uvarint() + s.ackFloor.stream;
      const dseq = version === 2 ? r.uvarint() + s.ackFloor.consumer : 0;
      const t = r.varint();
      const ts = (version === 1 ? t + mints : mints - t) * 1e9;
      const p: PendingAck = { sequence: dseq, timestamp: ts };
      s.pending.set(sseq, p);
    }
  }
  if (r.pos < buf.length) {
    const nr = r.uvarint();
    for (let k = 0; k < nr; k++) {
      const sseq = r.uvarint() + s.ackFloor.stream;
      s.redelivered.set(sseq, r.uvarint());
    }
  }
  return s;
}
