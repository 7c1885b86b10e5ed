/**
 * What both stores know about every live message without touching its bytes: subject, size,
 * time and where its bytes are (block or segment, offset). Slots are kept in chunks of 64
 * sequences of typed arrays, about 30 bytes a message all told, and a chunk is dropped as soon as it holds no live message,
 * so memory follows the live messages, not the sequence range (a live message alone in its chunk
 * costs the chunk, ~1.7 KiB: small chunks keep that worst case of sparse survivors cheap).
 *
 * Subjects are interned: each distinct subject has an id and running totals (count, first and
 * last sequence). Filters are matched against that table, once per subject, and scans over the
 * slots then compare small integers.
 */

const CHUNK_BITS = 6;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

/** One allocation per chunk: the typed arrays are views on a single buffer. */
class Chunk {
  readonly ts: Float64Array;
  /** Subject id per slot; 0 = no live message. */
  readonly sid: Uint32Array;
  readonly size: Uint32Array;
  /** Where the bytes are: block (file) or segment (memory) id, and offset, per slot. */
  readonly blk: Uint32Array;
  readonly off: Uint32Array;
  live = 0;
  constructor() {
    const buf = new ArrayBuffer(CHUNK * 24);
    this.ts = new Float64Array(buf, 0, CHUNK);
    this.sid = new Uint32Array(buf, CHUNK * 8, CHUNK);
    this.size = new Uint32Array(buf, CHUNK * 12, CHUNK);
    this.blk = new Uint32Array(buf, CHUNK * 16, CHUNK);
    this.off = new Uint32Array(buf, CHUNK * 20, CHUNK);
  }
}

/** Told about each message a bulk removal drops (file store: block accounting). */
export type RemovedFn = (
  seq: number,
  info: SubjectInfo,
  size: number,
  blk: number,
  off: number,
) => void;

export interface Removed {
  info: SubjectInfo;
  size: number;
  blk: number;
  off: number;
}

export interface SubjectInfo {
  readonly id: number;
  readonly subject: string;
  msgs: number;
  first: number;
  last: number;
}

/** Each message's bytes are found by a block (file) or segment (memory) id and an offset. */
export class MsgIndex {
  msgs = 0;
  bytes = 0;
  firstSeq = 0;
  lastSeq = 0;
  lastTs = 0;
  /** nats-server gives an empty store the time of a skip as its first time; 0 otherwise. */
  #skipTs = 0;
  readonly subjects = new Map<string, SubjectInfo>();
  #byId: (SubjectInfo | undefined)[] = [undefined];
  #freeIds: number[] = [];
  #chunks = new Map<number, Chunk>();
  /** Told about every subject that appears or disappears (the stores' filter cache). */
  onSubjectAdded: ((info: SubjectInfo) => void) | null = null;
  /** null: every subject was dropped at once. */
  onSubjectDropped: ((info: SubjectInfo | null) => void) | null = null;

  subjectById(id: number): SubjectInfo | undefined {
    return this.#byId[id];
  }

  /** The size of the subject id space (ids are < this), for flag arrays indexed by id. */
  get idLimit(): number {
    return this.#byId.length;
  }

  // ---- adding -------------------------------------------------------------------------------

  /** Records a new message; `seq` must be past lastSeq. */
  add(
    seq: number,
    subject: string,
    size: number,
    ts: number,
    blk: number,
    off: number,
  ): SubjectInfo {
    let info = this.subjects.get(subject);
    if (info === undefined) {
      const id = this.#freeIds.pop() ?? this.#byId.length;
      info = { id, subject, msgs: 0, first: seq, last: seq };
      this.#byId[id] = info;
      this.subjects.set(subject, info);
      this.onSubjectAdded?.(info);
    }
    if (info.msgs === 0) info.first = seq;
    info.msgs++;
    info.last = seq;
    const ci = Math.floor(seq / CHUNK);
    let c = this.#chunks.get(ci);
    if (c === undefined) {
      c = new Chunk();
      this.#chunks.set(ci, c);
    }
    const i = seq & MASK;
    c.sid[i] = info.id;
    c.size[i] = size;
    c.ts[i] = ts;
    c.blk[i] = blk;
    c.off[i] = off;
    c.live++;
    if (this.msgs === 0) {
      this.firstSeq = seq;
      this.#skipTs = 0;
    }
    this.msgs++;
    this.bytes += size;
    this.lastSeq = seq;
    this.lastTs = ts;
    return info;
  }

  /** Consumes `seq` with no message. */
  skip(seq: number, ts: number): void {
    this.lastSeq = seq;
    this.lastTs = ts;
    if (this.msgs === 0) {
      this.firstSeq = seq + 1;
      this.#skipTs = ts;
    }
  }

  // ---- reading slots ------------------------------------------------------------------------

  has(seq: number): boolean {
    const c = this.#chunks.get(Math.floor(seq / CHUNK));
    return c !== undefined && c.sid[seq & MASK] !== 0;
  }

  /** The subject id at `seq`, 0 when no live message. */
  sidAt(seq: number): number {
    const c = this.#chunks.get(Math.floor(seq / CHUNK));
    return c === undefined ? 0 : c.sid[seq & MASK];
  }

  sizeAt(seq: number): number {
    const c = this.#chunks.get(Math.floor(seq / CHUNK));
    return c === undefined ? 0 : c.size[seq & MASK];
  }

  tsAt(seq: number): number {
    const c = this.#chunks.get(Math.floor(seq / CHUNK));
    return c === undefined ? 0 : c.ts[seq & MASK];
  }

  /** The block (segment) id of a live message. */
  blkAt(seq: number): number {
    const c = this.#chunks.get(Math.floor(seq / CHUNK));
    return c === undefined ? 0 : c.blk[seq & MASK];
  }

  /** The record offset of a live message. */
  offAt(seq: number): number {
    const c = this.#chunks.get(Math.floor(seq / CHUNK));
    return c === undefined ? 0 : c.off[seq & MASK];
  }

  /** Moves a live message's bytes (memory store compaction): its new block and offset. */
  setLocation(seq: number, blk: number, off: number): void {
    const c = this.#chunks.get(Math.floor(seq / CHUNK));
    if (c === undefined) return;
    c.blk[seq & MASK] = blk;
    c.off[seq & MASK] = off;
  }

  get firstTs(): number {
    return this.msgs === 0 ? this.#skipTs : this.tsAt(this.firstSeq);
  }

  /**
   * The first live sequence in [from, to] for which `accept(sid)` holds (any live one when
   * `accept` is null), or 0. Empty chunks are skipped whole.
   */
  next(from: number, to: number, accept: ((sid: number) => boolean) | null): number {
    if (from < this.firstSeq) from = this.firstSeq;
    if (to > this.lastSeq) to = this.lastSeq;
    let seq = from;
    while (seq <= to) {
      const ci = Math.floor(seq / CHUNK);
      const c = this.#chunks.get(ci);
      const chunkEnd = Math.min(to, ci * CHUNK + MASK);
      if (c !== undefined) {
        const sid = c.sid;
        for (let s = seq; s <= chunkEnd; s++) {
          const id = sid[s & MASK];
          if (id !== 0 && (accept === null || accept(id))) return s;
        }
      }
      seq = chunkEnd + 1;
    }
    return 0;
  }

  /** The first live sequence in [from, to] holding subject id `id`, or 0. */
  nextOf(from: number, to: number, id: number): number {
    if (from < this.firstSeq) from = this.firstSeq;
    if (to > this.lastSeq) to = this.lastSeq;
    let seq = from;
    while (seq <= to) {
      const ci = Math.floor(seq / CHUNK);
      const c = this.#chunks.get(ci);
      const chunkEnd = Math.min(to, ci * CHUNK + MASK);
      if (c !== undefined) {
        const sid = c.sid;
        for (let s = seq; s <= chunkEnd; s++) if (sid[s & MASK] === id) return s;
      }
      seq = chunkEnd + 1;
    }
    return 0;
  }

  /** The last live sequence in [from, to] holding subject id `id` (any when 0), or 0. */
  prevOf(to: number, from: number, id: number): number {
    if (from < this.firstSeq) from = this.firstSeq;
    if (to > this.lastSeq) to = this.lastSeq;
    let seq = to;
    while (seq >= from && seq > 0) {
      const ci = Math.floor(seq / CHUNK);
      const c = this.#chunks.get(ci);
      const chunkStart = Math.max(from, ci * CHUNK);
      if (c !== undefined) {
        const sid = c.sid;
        for (let s = seq; s >= chunkStart; s--) {
          const v = sid[s & MASK];
          if (v !== 0 && (id === 0 || v === id)) return s;
        }
      }
      seq = chunkStart - 1;
    }
    return 0;
  }

  /** Calls `fn` for every live sequence in [from, to], ascending. */
  forEach(from: number, to: number, fn: (seq: number, sid: number) => void): void {
    if (from < this.firstSeq) from = this.firstSeq;
    if (to > this.lastSeq) to = this.lastSeq;
    let seq = from;
    while (seq <= to) {
      const ci = Math.floor(seq / CHUNK);
      const c = this.#chunks.get(ci);
      const chunkEnd = Math.min(to, ci * CHUNK + MASK);
      if (c !== undefined) {
        for (let s = seq; s <= chunkEnd; s++) {
          const id = c.sid[s & MASK];
          if (id !== 0) fn(s, id);
        }
      }
      seq = chunkEnd + 1;
    }
  }

  /** The first sequence whose time is >= ts (binary search; times are appended in order). */
  seqFromTime(ts: number): number {
    if (this.msgs === 0) return this.lastSeq + 1;
    if (ts <= this.tsAt(this.firstSeq)) return this.firstSeq;
    const lastLive = this.prevOf(this.lastSeq, this.firstSeq, 0);
    if (ts > this.tsAt(lastLive)) return this.lastSeq + 1;
    // Smallest s whose next live message is new enough; monotone since times only grow.
    let lo = this.firstSeq, hi = lastLive;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.tsAt(this.next(mid, hi, null)) >= ts) hi = mid;
      else lo = mid + 1;
    }
    return this.next(lo, lastLive, null);
  }

  // ---- removing -----------------------------------------------------------------------------

  /**
   * Removes the message at `seq`; returns its subject info (with counts already updated) or
   * null when there was none. Keeps first sequences (store and subject) right.
   */
  remove(seq: number): Removed | null {
    const ci = Math.floor(seq / CHUNK);
    const c = this.#chunks.get(ci);
    if (c === undefined) return null;
    const i = seq & MASK;
    const id = c.sid[i];
    if (id === 0) return null;
    const size = c.size[i];
    const blk = c.blk[i], off = c.off[i];
    c.sid[i] = 0;
    if (--c.live === 0) this.#chunks.delete(ci);
    this.msgs--;
    this.bytes -= size;
    const info = this.#byId[id]!;
    info.msgs--;
    if (info.msgs === 0) this.#dropSubject(info);
    else if (seq === info.first) {
      info.first = info.msgs === 1 ? info.last : this.nextOf(seq + 1, info.last, id);
    } else if (seq === info.last) {
      info.last = info.msgs === 1 ? info.first : this.prevOf(seq - 1, info.first, id);
    }
    if (seq === this.firstSeq) {
      this.firstSeq = this.msgs === 0 ? this.lastSeq + 1 : this.next(seq + 1, this.lastSeq, null);
    }
    return { info, size, blk, off };
  }

  /**
   * Removes every message below `seq` (compact). Returns [count, bytes]. The first sequence
   * becomes `seq` or the first live one after it.
   */
  removeBelow(seq: number, each?: RemovedFn): [number, number] {
    let count = 0, bytes = 0;
    const touched = new Set<SubjectInfo>();
    for (const [ci, c] of [...this.#chunks]) {
      const base = ci * CHUNK;
      if (base >= seq) continue;
      const end = Math.min(seq - base, CHUNK);
      for (let i = 0; i < end; i++) {
        const id = c.sid[i];
        if (id === 0) continue;
        const size = c.size[i];
        c.sid[i] = 0;
        c.live--;
        count++;
        bytes += size;
        const info = this.#byId[id]!;
        info.msgs--;
        touched.add(info);
        each?.(base + i, info, size, c.blk[i], c.off[i]);
      }
      if (c.live === 0) this.#chunks.delete(ci);
    }
    this.msgs -= count;
    this.bytes -= bytes;
    const refresh = new Map<number, SubjectInfo>();
    for (const info of touched) {
      if (info.msgs === 0) this.#dropSubject(info);
      else if (info.first < seq) refresh.set(info.id, info);
    }
    // One forward scan finds the new first of every subject that lost its head.
    if (refresh.size > 0) {
      this.forEach(seq, this.lastSeq, (s, id) => {
        const info = refresh.get(id);
        if (info !== undefined) {
          info.first = s;
          refresh.delete(id);
        }
      });
    }
    if (seq > this.lastSeq) {
      this.lastSeq = seq - 1;
      this.firstSeq = seq;
    } else if (this.msgs === 0) {
      this.firstSeq = this.lastSeq + 1;
    } else if (this.firstSeq < seq || !this.has(this.firstSeq)) {
      this.firstSeq = this.next(seq, this.lastSeq, null);
    }
    return [count, bytes];
  }

  /** Removes every message after `seq`, which becomes the last sequence. Returns [count, bytes]. */
  removeAbove(seq: number, lastTs: number, each?: RemovedFn): [number, number] {
    let count = 0, bytes = 0;
    const touched = new Set<SubjectInfo>();
    for (const [ci, c] of [...this.#chunks]) {
      const base = ci * CHUNK;
      if (base + MASK <= seq) continue;
      for (let i = Math.max(0, seq + 1 - base); i < CHUNK; i++) {
        const id = c.sid[i];
        if (id === 0) continue;
        c.sid[i] = 0;
        c.live--;
        count++;
        bytes += c.size[i];
        const info = this.#byId[id]!;
        info.msgs--;
        touched.add(info);
        each?.(base + i, info, c.size[i], c.blk[i], c.off[i]);
      }
      if (c.live === 0) this.#chunks.delete(ci);
    }
    this.msgs -= count;
    this.bytes -= bytes;
    this.lastSeq = seq;
    this.lastTs = lastTs;
    for (const info of touched) {
      if (info.msgs === 0) this.#dropSubject(info);
      else if (info.last > seq) info.last = this.prevOf(seq, info.first, info.id);
    }
    if (this.msgs === 0) this.firstSeq = seq + 1;
    return [count, bytes];
  }

  /** Forgets every message; the next one stored gets `nextSeq` (at least lastSeq + 1). */
  clear(nextSeq: number): void {
    this.#chunks.clear();
    this.subjects.clear();
    this.#byId = [undefined];
    this.#freeIds = [];
    this.onSubjectDropped?.(null);
    this.msgs = 0;
    this.bytes = 0;
    if (nextSeq > this.lastSeq + 1) this.lastSeq = nextSeq - 1;
    this.firstSeq = this.lastSeq + 1;
  }

  #dropSubject(info: SubjectInfo): void {
    this.subjects.delete(info.subject);
    this.#byId[info.id] = undefined;
    this.#freeIds.push(info.id);
    this.onSubjectDropped?.(info);
  }
}
