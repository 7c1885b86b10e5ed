/**
 * What the memory and file stores share: sequence bookkeeping, limits and discard, filters,
 * purge variants, compact/truncate, age expiry and state, all on the MsgIndex. A subclass says
 * where bytes live (a map of messages, or block files) through the few hooks at the top; every
 * rule about which message goes when is here, once.
 */

import { nowMicros } from "../../log.ts";
import { compileFilter, hasWildcard, isAllFilter, type SubjectMatcher } from "./filter.ts";
import { MsgIndex, type SubjectInfo } from "./msg_index.ts";
import {
  type ConsumerStore,
  type ConsumerStoreConfig,
  ErrInvalidSequence,
  ErrMaxBytes,
  ErrMaxMsgs,
  ErrMaxMsgsPerSubject,
  ErrPurgeArgMismatch,
  ErrStoreClosed,
  type PurgeOptions,
  type SimpleState,
  type StorageType,
  type StorageUpdateHandler,
  type StoredMsg,
  type StoreLimits,
  type StreamState,
  type StreamStore,
} from "./types.ts";
import { NO_BYTES } from "../../bytes.ts";

/** UTF-8 length of a string; subjects are nearly always ASCII, which is counted without encoding. */
export function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return new TextEncoder().encode(s).length;
  }
  return s.length;
}

/** Now, in nanoseconds since the epoch (microsecond resolution). */
export function nowNanos(): number {
  return nowMicros() * 1000;
}

/** Filters the stores keep matched against the subject table; bounded, rebuilt on demand. */
const MAX_CACHED_FILTERS = 64;
/** A filter matching at most this many subjects keeps their list, to bound its scans. */
const MAX_LISTED_SUBJECTS = 64;

interface FilterEntry {
  match: SubjectMatcher;
  /** 1 at each matching subject id. */
  flags: Uint8Array;
  count: number;
  /** The matching subjects while there are few of them, else null. */
  list: Set<SubjectInfo> | null;
}

export abstract class BaseStore implements StreamStore {
  abstract readonly type: StorageType;
  protected readonly idx: MsgIndex;
  protected limits: StoreLimits;
  protected closed = false;
  protected consumerCount = 0;
  #handler: StorageUpdateHandler | null = null;
  #ageTimer: ReturnType<typeof setTimeout> | undefined;
  #filters = new Map<string, FilterEntry>();

  constructor(limits: StoreLimits) {
    this.idx = new MsgIndex();
    this.limits = { ...limits };
    this.idx.onSubjectAdded = (info) => this.#subjectAdded(info);
    this.idx.onSubjectDropped = (info) => this.#subjectDropped(info);
  }

  // ---- hooks for the storage ----------------------------------------------------------------

  /** The accounted size of a message (nats-server's formula for this storage type). */
  protected abstract msgSize(subjectLen: number, hdrLen: number, dataLen: number): number;
  /**
   * Keeps the message's bytes; returns where: [block or segment id, offset]. Throws on
   * failure, before anything is kept.
   */
  protected abstract writeMsg(
    seq: number,
    ts: number,
    subject: string,
    hdr: Uint8Array,
    data: Uint8Array,
  ): [number, number];
  /** A live message; null when it cannot be read back (the store logs why). */
  protected abstract readMsg(
    seq: number,
    subject: string,
    ts: number,
    blk: number,
    off: number,
  ): StoredMsg | null;
  protected abstract writeSkip(seq: number, ts: number): void;
  /** One message left the index (removal, limits, expiry); `secure` also erases its bytes. */
  protected abstract dropped(seq: number, blk: number, off: number, secure: boolean): void;
  /** Many messages left at once (compact/truncate): called per message. */
  protected abstract bulkDropped(seq: number, blk: number, off: number): void;
  protected abstract writePurge(nextSeq: number): void;
  /** Everything below `seq` was removed (the index already reflects it). */
  protected abstract writeCompact(seq: number): void;
  /** Everything above `seq` was removed. */
  protected abstract writeTruncate(seq: number, ts: number): void;
  /** The end of one public operation: write what was batched (tombstones). */
  protected abstract endOp(): void;

  abstract readMeta(): unknown;
  abstract writeMeta(meta: unknown): void;
  abstract consumerNames(): string[];
  abstract consumerStore(name: string, cfg: ConsumerStoreConfig): ConsumerStore;
  abstract flush(): void;
  abstract sync(): void;
  abstract delete(): void;

  // ---- writing ------------------------------------------------------------------------------

  storeMsg(subject: string, hdr: Uint8Array | null, data: Uint8Array, ts?: number): number {
    if (this.closed) throw new ErrStoreClosed();
    hdr ??= NO_BYTES;
    const lim = this.limits;
    const info = this.idx.subjects.get(subject);
    const atSubjectLimit = lim.maxMsgsPerSubject > 0 && info !== undefined &&
      info.msgs >= lim.maxMsgsPerSubject;
    if (lim.discard === "new") {
      // As nats-server: a subject at its limit replaces its oldest, so only that counts then.
      if (atSubjectLimit && lim.discardNewPerSubject) throw new ErrMaxMsgsPerSubject();
      if (lim.maxMsgs > 0 && this.idx.msgs >= lim.maxMsgs && !atSubjectLimit) {
        throw new ErrMaxMsgs();
      }
      const raw = hdr.length + data.length;
      if (lim.maxBytes > 0 && this.idx.bytes + raw >= lim.maxBytes) {
        if (!atSubjectLimit || this.idx.sizeAt(info!.first) <= raw) throw new ErrMaxBytes();
      }
    }
    const seq = this.idx.lastSeq + 1;
    ts ??= nowNanos();
    const size = this.msgSize(utf8Length(subject), hdr.length, data.length);
    const [blk, off] = this.writeMsg(seq, ts, subject, hdr, data);
    const added = this.idx.add(seq, subject, size, ts, blk, off);
    this.#handler?.(1, size, seq, subject);
    if (lim.maxMsgsPerSubject > 0) {
      while (added.msgs > lim.maxMsgsPerSubject) this.removeSeq(added.first, false);
    }
    this.#enforceMsgsAndBytes();
    if (lim.maxAge > 0 && this.#ageTimer === undefined) this.#armAge();
    this.endOp();
    return seq;
  }

  skipMsg(ts: number = nowNanos()): number {
    if (this.closed) throw new ErrStoreClosed();
    const seq = this.idx.lastSeq + 1;
    this.writeSkip(seq, ts);
    this.idx.skip(seq, ts);
    this.endOp();
    return seq;
  }

  // ---- reading ------------------------------------------------------------------------------

  loadMsg(seq: number): StoredMsg | null {
    if (this.closed) throw new ErrStoreClosed();
    return this.#load(seq);
  }

  #load(seq: number): StoredMsg | null {
    const idx = this.idx;
    const sid = idx.sidAt(seq);
    if (sid === 0) return null;
    const subject = idx.subjectById(sid)!.subject;
    return this.readMsg(
      seq,
      subject,
      idx.tsAt(seq),
      idx.blkAt(seq),
      idx.offAt(seq),
    );
  }

  loadLastMsg(filter: string): StoredMsg | null {
    if (this.closed) throw new ErrStoreClosed();
    const idx = this.idx;
    if (idx.msgs === 0) return null;
    if (isAllFilter(filter)) return this.#load(idx.prevOf(idx.lastSeq, idx.firstSeq, 0));
    if (!hasWildcard(filter)) {
      const info = idx.subjects.get(filter);
      return info === undefined ? null : this.#load(info.last);
    }
    let last = 0;
    this.#eachMatching(filter, (info) => {
      if (info.last > last) last = info.last;
    });
    return last === 0 ? null : this.#load(last);
  }

  loadNextMsg(filter: string, start: number): StoredMsg | null {
    if (this.closed) throw new ErrStoreClosed();
    const idx = this.idx;
    if (start < idx.firstSeq) start = idx.firstSeq;
    if (start > idx.lastSeq || idx.msgs === 0) return null;
    let seq: number;
    if (isAllFilter(filter)) {
      seq = idx.next(start, idx.lastSeq, null);
    } else if (!hasWildcard(filter)) {
      const info = idx.subjects.get(filter);
      if (info === undefined || info.last < start) return null;
      seq = start <= info.first ? info.first : idx.nextOf(start, info.last, info.id);
    } else {
      const e = this.#filter(filter);
      if (e.count === 0) return null;
      let lo = start, hi = idx.lastSeq;
      if (e.list !== null) {
        // Few subjects: only the span where they have messages needs scanning.
        let first = Infinity, last = 0;
        for (const info of e.list) {
          if (info.last < start) continue;
          if (info.first < first) first = info.first;
          if (info.last > last) last = info.last;
        }
        if (last === 0) return null;
        if (first > lo) lo = first;
        hi = last;
      }
      const flags = e.flags;
      seq = idx.next(lo, hi, (id) => flags[id] === 1);
    }
    return seq === 0 ? null : this.#load(seq);
  }

  seqFromTime(ts: number): number {
    if (this.closed) throw new ErrStoreClosed();
    return this.idx.seqFromTime(ts);
  }

  // ---- removing -----------------------------------------------------------------------------

  removeMsg(seq: number): boolean {
    return this.#removeOne(seq, false);
  }

  eraseMsg(seq: number): boolean {
    return this.#removeOne(seq, true);
  }

  #removeOne(seq: number, secure: boolean): boolean {
    if (this.closed) throw new ErrStoreClosed();
    this.checkRemovable(seq);
    const removed = this.removeSeq(seq, secure);
    this.endOp();
    return removed;
  }

  /** A subclass may refuse a sequence with nats-server's error for its storage type. */
  protected checkRemovable(_seq: number): void {}

  /** Removes one message (no endOp: callers batch). */
  protected removeSeq(seq: number, secure: boolean): boolean {
    const r = this.idx.remove(seq);
    if (r === null) return false;
    this.dropped(seq, r.blk, r.off, secure);
    this.#handler?.(-1, -r.size, seq, r.info.subject);
    return true;
  }

  purge(opts: PurgeOptions = {}): number {
    if (this.closed) throw new ErrStoreClosed();
    const subject = opts.subject ?? "", seq = opts.seq ?? 0, keep = opts.keep ?? 0;
    if (seq > 1 && keep > 0) throw new ErrPurgeArgMismatch();
    const idx = this.idx;
    if (isAllFilter(subject)) {
      if (seq > 1) return this.compact(seq);
      if (keep > 0) {
        // As nats-server: keeps the last `keep` sequences (fewer messages if some are deleted).
        if (keep >= idx.msgs) return 0;
        return this.compact(idx.lastSeq - keep + 1);
      }
      return this.#purgeAll(0);
    }
    const ss = this.filteredState(idx.firstSeq, subject);
    if (ss.msgs === 0) return 0;
    let max = Infinity;
    if (keep > 0) {
      if (keep >= ss.msgs) return 0;
      max = ss.msgs - keep;
    }
    const last = seq > 1 ? Math.min(seq - 1, ss.last) : ss.last;
    const victims: number[] = [];
    if (!hasWildcard(subject)) {
      const id = idx.subjects.get(subject)!.id;
      for (let s = ss.first; s !== 0 && s <= last && victims.length < max;) {
        victims.push(s);
        s = idx.nextOf(s + 1, last, id);
      }
    } else {
      const flags = this.#filter(subject).flags;
      idx.forEach(ss.first, last, (s, id) => {
        if (victims.length < max && flags[id] === 1) victims.push(s);
      });
    }
    for (const s of victims) this.removeSeq(s, false);
    this.endOp();
    return victims.length;
  }

  #purgeAll(nextSeq: number): number {
    const idx = this.idx;
    const count = idx.msgs, bytes = idx.bytes;
    idx.clear(nextSeq);
    this.writePurge(idx.lastSeq + 1);
    this.endOp();
    this.#disarmAge();
    if (count > 0) this.#handler?.(-count, -bytes, 0, "");
    return count;
  }

  compact(seq: number): number {
    if (this.closed) throw new ErrStoreClosed();
    const idx = this.idx;
    if (seq <= 0) return this.#purgeAll(0);
    if (seq > idx.lastSeq) return this.#purgeAll(seq);
    const [count, bytes] = idx.removeBelow(
      seq,
      (s, _info, _size, blk, off) => this.bulkDropped(s, blk, off),
    );
    this.writeCompact(seq);
    this.endOp();
    if (count > 0) this.#handler?.(-count, -bytes, 0, "");
    return count;
  }

  truncate(seq: number): void {
    if (this.closed) throw new ErrStoreClosed();
    const idx = this.idx;
    if (!idx.has(seq)) {
      // Truncating to the current end, or to 0 on an empty store, changes nothing.
      if (seq === idx.lastSeq && idx.msgs === 0) return;
      throw new ErrInvalidSequence();
    }
    const ts = idx.tsAt(seq);
    const [count, bytes] = idx.removeAbove(
      seq,
      ts,
      (s, _i, _z, blk, off) => this.bulkDropped(s, blk, off),
    );
    this.writeTruncate(seq, ts);
    this.endOp();
    if (count > 0) this.#handler?.(-count, -bytes, 0, "");
  }

  // ---- limits -------------------------------------------------------------------------------

  updateLimits(limits: StoreLimits): void {
    if (this.closed) throw new ErrStoreClosed();
    this.limits = { ...limits };
    this.enforceLimits();
  }

  /** Applies all limits now (after a config change, or after recovery). */
  protected enforceLimits(): void {
    const max = this.limits.maxMsgsPerSubject;
    if (max > 0) {
      for (const info of [...this.idx.subjects.values()]) {
        while (info.msgs > max) this.removeSeq(info.first, false);
      }
    }
    this.#enforceMsgsAndBytes();
    this.#disarmAge();
    if (this.limits.maxAge > 0) this.#expire();
    this.endOp();
  }

  #enforceMsgsAndBytes(): void {
    const idx = this.idx, lim = this.limits;
    if (lim.maxMsgs > 0) { while (idx.msgs > lim.maxMsgs) this.removeSeq(idx.firstSeq, false); }
    if (lim.maxBytes > 0) { while (idx.bytes > lim.maxBytes) this.removeSeq(idx.firstSeq, false); }
  }

  #armAge(): void {
    if (this.closed || this.limits.maxAge <= 0 || this.idx.msgs === 0) return;
    const due = this.idx.firstTs + this.limits.maxAge;
    const ms = Math.max(0, Math.ceil((due - nowNanos()) / 1e6));
    const timer = setTimeout(() => {
      this.#ageTimer = undefined;
      if (this.closed) return;
      this.#expire();
      this.endOp();
    }, ms);
    Deno.unrefTimer(timer);
    this.#ageTimer = timer;
  }

  #disarmAge(): void {
    if (this.#ageTimer !== undefined) clearTimeout(this.#ageTimer);
    this.#ageTimer = undefined;
  }

  /** Removes messages older than max_age from the front and re-arms for the next one. */
  #expire(): void {
    const idx = this.idx;
    const cutoff = nowNanos() - this.limits.maxAge;
    while (idx.msgs > 0 && idx.tsAt(idx.firstSeq) <= cutoff) this.removeSeq(idx.firstSeq, false);
    this.#armAge();
  }

  protected stopTimers(): void {
    this.#disarmAge();
  }

  // ---- state --------------------------------------------------------------------------------

  state(): StreamState {
    const idx = this.idx;
    const first = idx.firstSeq, last = idx.lastSeq;
    return {
      msgs: idx.msgs,
      bytes: idx.bytes,
      firstSeq: first,
      firstTs: idx.firstTs,
      lastSeq: last,
      lastTs: idx.lastTs,
      numSubjects: idx.subjects.size,
      numDeleted: last > first ? last - first + 1 - idx.msgs : 0,
      consumers: this.consumerCount,
    };
  }

  deleted(): number[] {
    const idx = this.idx;
    const out: number[] = [];
    if (idx.msgs === 0) return out;
    let expect = idx.firstSeq;
    idx.forEach(idx.firstSeq, idx.lastSeq, (s) => {
      while (expect < s) out.push(expect++);
      expect = s + 1;
    });
    while (expect <= idx.lastSeq) out.push(expect++);
    return out;
  }

  filteredState(seq: number, filter: string): SimpleState {
    const idx = this.idx;
    const out: SimpleState = { msgs: 0, first: 0, last: 0 };
    if (seq < idx.firstSeq) seq = idx.firstSeq;
    if (idx.msgs === 0 || seq > idx.lastSeq) return out;
    if (isAllFilter(filter)) {
      const first = idx.next(seq, idx.lastSeq, null);
      if (first === 0) return out;
      out.first = first;
      out.last = idx.prevOf(idx.lastSeq, first, 0);
      if (first - idx.firstSeq < idx.lastSeq - first) {
        // Count the (smaller) part below and subtract.
        let below = 0;
        idx.forEach(idx.firstSeq, first - 1, () => below++);
        out.msgs = idx.msgs - below;
      } else idx.forEach(first, out.last, () => out.msgs++);
      return out;
    }
    if (!hasWildcard(filter)) {
      const info = idx.subjects.get(filter);
      if (info === undefined || info.last < seq) return out;
      if (seq <= info.first) return { msgs: info.msgs, first: info.first, last: info.last };
      out.last = info.last;
      for (
        let s = idx.nextOf(seq, info.last, info.id);
        s !== 0;
        s = idx.nextOf(s + 1, info.last, info.id)
      ) {
        if (out.first === 0) out.first = s;
        out.msgs++;
      }
      return out;
    }
    // Subjects wholly at or after `seq` add their totals; the others need one shared scan.
    const partial = new Set<number>();
    let scanEnd = 0;
    let first = Infinity;
    this.#eachMatching(filter, (info) => {
      if (info.last < seq) return;
      if (info.first >= seq) {
        out.msgs += info.msgs;
        if (info.first < first) first = info.first;
        if (info.last > out.last) out.last = info.last;
      } else {
        partial.add(info.id);
        if (info.last > scanEnd) scanEnd = info.last;
      }
    });
    if (partial.size > 0) {
      let found = false;
      idx.forEach(seq, scanEnd, (s, id) => {
        if (!partial.has(id)) return;
        out.msgs++;
        if (!found) {
          found = true;
          if (s < first) first = s;
        }
        if (s > out.last) out.last = s;
      });
    }
    out.first = first === Infinity ? 0 : first;
    return out;
  }

  subjectsState(filter: string): Map<string, SimpleState> {
    const out = new Map<string, SimpleState>();
    const add = (info: SubjectInfo) =>
      out.set(info.subject, { msgs: info.msgs, first: info.first, last: info.last });
    if (isAllFilter(filter)) { for (const info of this.idx.subjects.values()) add(info); }
    else if (!hasWildcard(filter)) {
      const info = this.idx.subjects.get(filter);
      if (info !== undefined) add(info);
    } else this.#eachMatching(filter, add);
    return out;
  }

  onStorageUpdate(handler: StorageUpdateHandler | null): void {
    this.#handler = handler;
  }

  stop(): void {
    this.closed = true;
    this.stopTimers();
  }

  // ---- filters ------------------------------------------------------------------------------

  #eachMatching(filter: string, fn: (info: SubjectInfo) => void): void {
    const e = this.#filter(filter);
    if (e.list !== null) { for (const info of e.list) fn(info); }
    else {
      for (const info of this.idx.subjects.values()) if (e.flags[info.id] === 1) fn(info);
    }
  }

  /** The cached match of a wildcard filter against the subject table, kept current. */
  #filter(filter: string): FilterEntry {
    let e = this.#filters.get(filter);
    if (e !== undefined) return e;
    if (this.#filters.size >= MAX_CACHED_FILTERS) this.#filters.clear();
    e = {
      match: compileFilter(filter),
      flags: new Uint8Array(Math.max(64, this.idx.idLimit * 2)),
      count: 0,
      list: new Set(),
    };
    for (const info of this.idx.subjects.values()) this.#matchInto(e, info);
    this.#filters.set(filter, e);
    return e;
  }

  #matchInto(e: FilterEntry, info: SubjectInfo): void {
    if (!e.match(info.subject)) return;
    if (info.id >= e.flags.length) {
      const grown = new Uint8Array(Math.max(info.id + 1, e.flags.length * 2));
      grown.set(e.flags);
      e.flags = grown;
    }
    e.flags[info.id] = 1;
    e.count++;
    if (e.list !== null) {
      if (e.count > MAX_LISTED_SUBJECTS) e.list = null;
      else e.list.add(info);
    }
  }

  #subjectAdded(info: SubjectInfo): void {
    for (const e of this.#filters.values()) this.#matchInto(e, info);
  }

  #subjectDropped(info: SubjectInfo | null): void {
    if (info === null) {
      this.#filters.clear();
      return;
    }
    for (const e of this.#filters.values()) {
      if (e.flags[info.id] !== 1) continue;
      e.flags[info.id] = 0;
      e.count--;
      e.list?.delete(info);
    }
  }
}
