/**
 * The memory store: message bytes live in segments (large byte arrays filled in order), the
 * index keeps each message's segment and offset; all rules come from BaseStore. Header and
 * payload are copied in (the caller's buffers are usually a read buffer about to be reused).
 *
 * Why segments rather than one object and two byte arrays per message: a store keeps what it is
 * given, so everything allocated per message survives into the old generation of the garbage
 * collector, and that promotion, not the copy, was the cost of a memory stream (measured: half
 * of a publish). A segment is one allocation for thousands of messages.
 *
 * A segment goes when its last message goes. One whose messages have mostly gone (under a
 * quarter of its bytes still live: a stream whose old messages are deleted out of order, a KV
 * bucket overwriting its keys) has its survivors copied into the current segment at the end of
 * the operation, so memory stays within about 4/3 of the live bytes plus one segment. Messages
 * handed out keep referencing the segment they were read from; a segment is never rewritten.
 *
 *   record: u32 header length, u32 payload length, header, payload
 */

import { BaseStore } from "./base.ts";
import { NO_BYTES } from "../../bytes.ts";
import { MemoryConsumerStore } from "./consumer.ts";
import {
  type ConsumerStore,
  type ConsumerStoreConfig,
  ErrStoreClosed,
  memStoreMsgSize,
  NO_LIMITS,
  type StoredMsg,
  type StoreLimits,
} from "./types.ts";

export interface MemoryStoreOptions {
  limits?: StoreLimits;
}

/** The first segment of a store is small; each new one doubles, up to MAX_SEGMENT. */
const MIN_SEGMENT = 4 * 1024;
const MAX_SEGMENT = 256 * 1024;
const RECORD_HEADER = 8;

interface Segment {
  id: number;
  buf: Uint8Array;
  dv: DataView;
  /** Bytes filled. */
  used: number;
  live: number;
  liveBytes: number;
  /** The lowest and highest sequence ever placed in it (compaction scans that range). */
  first: number;
  last: number;
}

export class MemoryStore extends BaseStore {
  readonly type = "memory" as const;
  #meta: unknown = undefined;
  #consumers = new Map<string, MemoryConsumerStore>();
  #segs = new Map<number, Segment>();
  #cur: Segment | null = null;
  #nextId = 1;
  #nextSize = MIN_SEGMENT;
  /** Segments to look at for compaction at the end of the operation. */
  #sparse = new Set<Segment>();

  constructor(opts: MemoryStoreOptions = {}) {
    super(opts.limits ?? NO_LIMITS);
  }

  protected msgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
    return memStoreMsgSize(subjectLen, hdrLen, dataLen);
  }

  /** Room for a record of `n` bytes: the current segment, or a new one. */
  #segmentFor(n: number): Segment {
    const cur = this.#cur;
    if (cur !== null && cur.used + n <= cur.buf.length) return cur;
    const size = n > MAX_SEGMENT ? n : Math.max(this.#nextSize, n);
    if (n <= MAX_SEGMENT) this.#nextSize = Math.min(MAX_SEGMENT, size * 2);
    const buf = new Uint8Array(size);
    const seg: Segment = {
      id: this.#nextId++,
      buf,
      dv: new DataView(buf.buffer),
      used: 0,
      live: 0,
      liveBytes: 0,
      first: 0,
      last: 0,
    };
    this.#segs.set(seg.id, seg);
    // A record bigger than a segment gets one of its own; the current one stays current.
    if (n <= MAX_SEGMENT) {
      // Filled space is never written again (a message read from it may still be held).
      if (cur !== null && cur.live === 0) this.#segs.delete(cur.id);
      else if (cur !== null) this.#sparse.add(cur);
      this.#cur = seg;
    }
    return seg;
  }

  /** Copies a record in; returns [segment id, offset]. */
  #place(seq: number, hdr: Uint8Array, data: Uint8Array): [number, number] {
    const n = RECORD_HEADER + hdr.length + data.length;
    const seg = this.#segmentFor(n);
    const off = seg.used;
    const buf = seg.buf;
    seg.dv.setUint32(off, hdr.length, true);
    seg.dv.setUint32(off + 4, data.length, true);
    let p = off + RECORD_HEADER;
    if (hdr.length > 0) {
      buf.set(hdr, p);
      p += hdr.length;
    }
    if (data.length <= 32) { for (let i = 0; i < data.length; i++) buf[p + i] = data[i]; }
    else buf.set(data, p);
    seg.used += n;
    seg.live++;
    seg.liveBytes += n;
    if (seg.first === 0 || seq < seg.first) seg.first = seq;
    if (seq > seg.last) seg.last = seq;
    return [seg.id, off];
  }

  protected writeMsg(
    seq: number,
    _ts: number,
    _subject: string,
    hdr: Uint8Array,
    data: Uint8Array,
  ): [number, number] {
    return this.#place(seq, hdr, data);
  }

  protected readMsg(
    seq: number,
    subject: string,
    ts: number,
    blk: number,
    off: number,
  ): StoredMsg | null {
    const seg = this.#segs.get(blk);
    if (seg === undefined) return null;
    const hl = seg.dv.getUint32(off, true);
    const dl = seg.dv.getUint32(off + 4, true);
    const h = off + RECORD_HEADER;
    return {
      seq,
      ts,
      subject,
      hdr: hl === 0 ? NO_BYTES : seg.buf.subarray(h, h + hl),
      data: seg.buf.subarray(h + hl, h + hl + dl),
    };
  }

  protected writeSkip(): void {}

  protected dropped(seq: number, blk: number, off: number): void {
    this.bulkDropped(seq, blk, off);
  }

  protected bulkDropped(_seq: number, blk: number, off: number): void {
    const seg = this.#segs.get(blk);
    if (seg === undefined) return;
    seg.live--;
    seg.liveBytes -= RECORD_HEADER + seg.dv.getUint32(off, true) + seg.dv.getUint32(off + 4, true);
    if (seg === this.#cur) return; // dropped once full, if empty then (see #segmentFor)
    if (seg.live === 0) {
      this.#segs.delete(seg.id);
      this.#sparse.delete(seg);
    } else this.#sparse.add(seg);
  }

  protected writePurge(): void {
    this.#segs.clear();
    this.#sparse.clear();
    this.#cur = null;
    this.#nextSize = MIN_SEGMENT;
  }

  protected writeCompact(): void {}
  protected writeTruncate(): void {}

  protected endOp(): void {
    // Compacting may retire the current segment, which adds it to the set: loop until empty.
    while (this.#sparse.size > 0) {
      const seg: Segment = this.#sparse.values().next().value!;
      this.#sparse.delete(seg);
      this.#compactIfSparse(seg);
    }
  }

  /**
   * A segment no longer written with under a quarter of its bytes live hands its messages to
   * the current segment and goes.
   */
  #compactIfSparse(seg: Segment): void {
    if (seg === this.#cur || !this.#segs.has(seg.id) || seg.live === 0) return;
    if (seg.liveBytes * 4 >= seg.used) return;
    const idx = this.idx;
    const moves: number[] = [];
    idx.forEach(seg.first, seg.last, (s) => {
      if (idx.blkAt(s) === seg.id) moves.push(s);
    });
    this.#segs.delete(seg.id);
    for (const s of moves) {
      const off = idx.offAt(s);
      const hl = seg.dv.getUint32(off, true);
      const dl = seg.dv.getUint32(off + 4, true);
      const h = off + RECORD_HEADER;
      const [blk, noff] = this.#place(
        s,
        seg.buf.subarray(h, h + hl),
        seg.buf.subarray(h + hl, h + hl + dl),
      );
      idx.setLocation(s, blk, noff);
    }
  }

  readMeta(): unknown {
    return this.#meta;
  }

  writeMeta(meta: unknown): void {
    this.#meta = structuredClone(meta);
  }

  consumerNames(): string[] {
    return [...this.#consumers.keys()];
  }

  consumerStore(name: string, cfg: ConsumerStoreConfig): ConsumerStore {
    if (this.closed) throw new ErrStoreClosed();
    let cs = this.#consumers.get(name);
    if (cs === undefined) {
      this.consumerCount++;
      cs = new MemoryConsumerStore(name, cfg, () => {
        this.#consumers.delete(name);
        this.consumerCount--;
      });
      this.#consumers.set(name, cs);
    } else cs.updateConfig(cfg);
    return cs;
  }

  flush(): void {}
  sync(): void {}

  override stop(): void {
    if (this.closed) return;
    super.stop();
    for (const cs of [...this.#consumers.values()]) cs.stop();
  }

  delete(): void {
    this.stop();
    this.idx.clear(0);
    this.writePurge();
  }

  /** Segments in use (tests). */
  segmentCount(): number {
    return this.#segs.size;
  }
}
