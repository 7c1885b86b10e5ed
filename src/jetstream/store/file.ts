/**
 * The file store: a directory of append-only block files holding records (record.ts) of
 * messages and of what happened to them (tombstones, purge/compact/truncate markers). On open
 * the blocks are replayed in order into the index (msg_index.ts) — the files are the only truth;
 * no separate index file can disagree with them. A record that is cut short at the end of the
 * last block (a crash mid-write) is truncated away; a bad record elsewhere is reported and
 * skipped; neither stops the store from opening.
 *
 *   <dir>/meta.json                 the stream layer's metadata (meta.ts)
 *   <dir>/msgs/<id>.blk             message blocks, replayed in id order
 *   <dir>/consumers/<name>/         consumer state log and metadata (file_consumer.ts)
 *
 * Durability: records are encoded into one buffer and written together (group commit): by
 * `flush()`, which the stream calls before it acknowledges what it stored, and by itself at the
 * end of the turn of the event loop (a microtask), at block rollover, before anything reads the
 * file, and when the buffer passes PENDING_MAX. A write is one synchronous write call; once it
 * returns the records survive the process being killed. fsync happens every `sync` milliseconds
 * (when something was written) and when a block is full, both off the main thread (Deno's
 * async fdatasync, as nats-server syncs from its own goroutines), and on purge, on stop and on
 * `sync()`, waited for; with `sync: "always"` after every operation (each written and fsynced
 * before it returns), which makes each acknowledged write survive a power cut too.
 * nats-server's file store does the same per message (a write per message, fsync on its 2
 * minute sync interval).
 *
 * Memory: payloads stay on disk. The index keeps ~24 bytes per live message; reads go through
 * a small cache of file windows and of the tail of the block being written (recent messages are
 * what consumers read most), both bounded.
 *
 * Removal only ever drops whole blocks from the front: a tombstone lives in a block at or after
 * the one holding its message, so a block is never deleted while an older block could still
 * contain a message its tombstones refer to.
 */

import { BaseStore } from "./base.ts";
import { MemoryConsumerStore } from "./consumer.ts";
import { FileConsumerStore } from "./file_consumer.ts";
import { readJsonFile, syncDir, syncDirInBackground, writeJsonFile } from "./meta.ts";
import {
  checkFileHeader,
  FILE_HEADER_LEN,
  fileHeader,
  getU64,
  Kind,
  MAX_RECORD_LEN,
  putU64,
  readRecord,
  RECORD_HEADER_LEN,
  RECORD_OVERHEAD,
  type RecordView,
  RecordWriter,
  scanRecords,
} from "./record.ts";
import {
  type ConsumerStore,
  type ConsumerStoreConfig,
  ErrMsgTooLarge,
  ErrStoreClosed,
  ErrStoreEOF,
  ErrStoreMsgNotFound,
  fileStoreMsgSize,
  NO_LIMITS,
  type StoredMsg,
  type StoreError,
  StoreIoError,
  type StoreLimits,
  type StoreLogger,
} from "./types.ts";

export interface FileStoreOptions {
  /** The stream's directory; created if missing. */
  dir: string;
  /**
   * The limits in force. Recovery applies them (a crash can leave a message the limits had
   * already removed): pass the stream's current limits (or none, then updateLimits), never
   * stale stricter ones, which would remove messages.
   */
  limits?: StoreLimits;
  /** Block size before rolling over to a new block file (default 8 MiB, as nats-server). */
  blockSize?: number;
  /** fsync period in milliseconds, or "always" (default 2 minutes, as nats-server's streams). */
  sync?: number | "always";
  /** Where recovery reports torn tails and corruption (default: console). */
  logger?: StoreLogger;
}

export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
export const DEFAULT_SYNC_MS = 2 * 60 * 1000;
const BLOCK_TYPE = "B";
/** Bytes read from a block at once on a cache miss; later messages are then usually in it. */
const WINDOW = 256 * 1024;
const MAX_WINDOWS = 8;
/** Bytes of the block being written kept in memory for reads of recent messages. */
const TAIL = 256 * 1024;
const MAX_READ_FDS = 8;
/** Caches and read descriptors untouched for this long are released. */
const CACHE_IDLE_MS = 10_000;
/** Tombstones per Delete record. */
const MAX_DELETES_PER_RECORD = 8192;
/** Buffered record bytes that are written at once rather than at the end of the turn. */
const PENDING_MAX = 1024 * 1024;

const dec = new TextDecoder();
const enc = new TextEncoder();

interface Block {
  id: number;
  path: string;
  /** Bytes of valid data in the file (header included). */
  size: number;
  /** Live messages whose record is in this block. */
  live: number;
}

interface Window {
  blk: number;
  start: number;
  buf: Uint8Array;
  dv: DataView;
}

const consoleLogger: StoreLogger = {
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

export class FileStore extends BaseStore {
  readonly type = "file" as const;
  readonly dir: string;
  #msgDir: string;
  #blocks: Block[] = [];
  #byId = new Map<number, Block>();
  #maxId = 0;
  #wb!: Block;
  #wfd: Deno.FsFile | null = null;
  /** Records not yet written: they end the block being written (its size counts them). */
  #w = new RecordWriter();
  #flushQueued = false;
  #deletes: number[] = [];
  #dropCheck = false;
  #dirty = false;
  /** A background fsync of the block being written, while one runs. */
  #bgSync: Promise<void> | null = null;
  #syncAlways: boolean;
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #blockSize: number;
  #log: StoreLogger;
  #failed: StoreError | null = null;
  #windows: Window[] = [];
  #readFds = new Map<number, Deno.FsFile>();
  #tail = new Uint8Array(0);
  #tailDv = new DataView(this.#tail.buffer);
  #tailStart = 0;
  #cacheTimer: ReturnType<typeof setInterval> | undefined;
  /** Set by every cache use; the sweep drops the caches of a store left idle. */
  #cacheUsed = false;
  #tailLen = 0;
  #consumers = new Map<string, FileConsumerStore | MemoryConsumerStore>();

  constructor(opts: FileStoreOptions) {
    super(opts.limits ?? NO_LIMITS);
    this.dir = opts.dir.replace(/\/+$/, "") || "/";
    this.#msgDir = `${this.dir}/msgs`;
    this.#blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.#syncAlways = opts.sync === "always";
    this.#log = opts.logger ?? consoleLogger;
    try {
      Deno.mkdirSync(this.#msgDir, { recursive: true });
    } catch (e) {
      throw new StoreIoError(this.#msgDir, "mkdir", e);
    }
    this.#recover();
    this.enforceLimits();
    const ms = typeof opts.sync === "number" && opts.sync > 0 ? opts.sync : DEFAULT_SYNC_MS;
    if (!this.#syncAlways) {
      this.#syncTimer = setInterval(() => this.#periodicSync(), ms);
      Deno.unrefTimer(this.#syncTimer);
    }
    this.#cacheTimer = setInterval(() => this.#sweepCaches(), CACHE_IDLE_MS);
    Deno.unrefTimer(this.#cacheTimer);
  }

  // ---- recovery -----------------------------------------------------------------------------

  #recover(): void {
    const ids: number[] = [];
    for (const e of Deno.readDirSync(this.#msgDir)) {
      const m = /^(\d+)\.blk$/.exec(e.name);
      if (m !== null && e.isFile) ids.push(Number(m[1]));
      else if (e.name.endsWith(".tmp")) Deno.removeSync(`${this.#msgDir}/${e.name}`);
    }
    ids.sort((a, b) => a - b);
    for (let i = 0; i < ids.length; i++) this.#recoverBlock(ids[i], i === ids.length - 1);
    this.#maxId = ids.length > 0 ? ids[ids.length - 1] : 0;
    const last = this.#blocks[this.#blocks.length - 1];
    if (last !== undefined && last.id === this.#maxId) this.#openForWrite(last);
    else this.#newBlock(false);
    this.#dropFrontBlocks();
  }

  #recoverBlock(id: number, isLast: boolean): void {
    const path = this.#blockPath(id);
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch (e) {
      throw new StoreIoError(path, "read", e);
    }
    if (!checkFileHeader(bytes, BLOCK_TYPE)) {
      const expect = fileHeader(BLOCK_TYPE);
      const tornHeader = isLast && bytes.length < FILE_HEADER_LEN &&
        bytes.every((b, i) => b === expect[i]);
      if (tornHeader) {
        // Created just before a crash: nothing in it yet. Start it over.
        this.#writeFile(path, expect);
        const b: Block = { id, path, size: FILE_HEADER_LEN, live: 0 };
        this.#addBlock(b);
        return;
      }
      this.#log.error(`JetStream store ${path}: not a message block, ignored`);
      return;
    }
    const b: Block = { id, path, size: FILE_HEADER_LEN, live: 0 };
    this.#addBlock(b);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const res = scanRecords(bytes, FILE_HEADER_LEN, (r) => this.#replay(b, bytes, dv, r));
    for (const [off, len] of res.skipped) {
      this.#log.error(
        `JetStream store ${path}: corrupt record at offset ${off} (${len} bytes) skipped`,
      );
    }
    b.size = res.validEnd;
    if (res.badTail === 0) return;
    const torn = this.#isTorn(bytes, dv, res.validEnd);
    const what = `${res.badTail} bytes at offset ${res.validEnd}`;
    if (!isLast) {
      this.#log.error(`JetStream store ${path}: unreadable data (${what}) ignored`);
      return;
    }
    if (torn) this.#log.warn(`JetStream store ${path}: torn write at the end (${what}) truncated`);
    else this.#log.error(`JetStream store ${path}: corrupt data at the end (${what}) truncated`);
    try {
      Deno.truncateSync(path, res.validEnd);
    } catch (e) {
      throw new StoreIoError(path, "truncate", e);
    }
  }

  /** A torn write is one record that runs past the end of the file; anything else is damage. */
  #isTorn(bytes: Uint8Array, dv: DataView, off: number): boolean {
    if (bytes.length - off < 4) return true;
    const len = dv.getUint32(off, true);
    return len >= RECORD_OVERHEAD && len <= MAX_RECORD_LEN && off + len > bytes.length;
  }

  /** Applies one record to the index, exactly as the live operation that wrote it did. */
  #replay(b: Block, bytes: Uint8Array, dv: DataView, r: RecordView): void {
    const idx = this.idx;
    switch (r.kind) {
      case Kind.Msg: {
        if (r.seq <= idx.lastSeq) {
          this.#log.error(
            `JetStream store ${b.path}: message sequence ${r.seq} at offset ${r.off} is not after ${idx.lastSeq}, skipped`,
          );
          return;
        }
        const subject = dec.decode(bytes.subarray(r.body, r.body + r.subjectLen));
        const dataLen = r.len - RECORD_OVERHEAD - r.subjectLen - r.n;
        const size = fileStoreMsgSize(r.subjectLen, r.n, dataLen);
        idx.add(r.seq, subject, size, r.ts, b.id, r.off);
        b.live++;
        return;
      }
      case Kind.Delete:
        for (let i = 0; i < r.n; i++) {
          const gone = idx.remove(getU64(dv, r.body + 8 * i));
          if (gone !== null) this.#byId.get(gone.blk)!.live--;
        }
        return;
      case Kind.PurgeBelow: {
        const moved = r.seq > idx.lastSeq + 1;
        idx.removeBelow(r.seq, (_s, _i, _z, blk) => this.#byId.get(blk)!.live--);
        if (moved) idx.lastTs = r.ts;
        return;
      }
      case Kind.Skip:
      case Kind.Erased:
        if (r.seq > idx.lastSeq) idx.skip(r.seq, r.ts);
        return;
      case Kind.Truncate:
        idx.removeAbove(r.seq, r.ts, (_s, _i, _z, blk) => this.#byId.get(blk)!.live--);
        return;
      default:
        this.#log.error(`JetStream store ${b.path}: unknown record kind ${r.kind} at ${r.off}`);
    }
  }

  // ---- blocks -------------------------------------------------------------------------------

  #blockPath(id: number): string {
    return `${this.#msgDir}/${id}.blk`;
  }

  #addBlock(b: Block): void {
    this.#blocks.push(b);
    this.#byId.set(b.id, b);
  }

  #writeFile(path: string, bytes: Uint8Array): void {
    try {
      const f = Deno.openSync(path, { write: true, create: true, truncate: true });
      try {
        f.writeSync(bytes);
      } finally {
        f.close();
      }
    } catch (e) {
      throw new StoreIoError(path, "write", e);
    }
  }

  #openForWrite(b: Block): void {
    try {
      const fd = Deno.openSync(b.path, { read: true, write: true });
      fd.seekSync(b.size, Deno.SeekMode.Start);
      this.#wfd = fd;
    } catch (e) {
      throw new StoreIoError(b.path, "open", e);
    }
    this.#wb = b;
    this.#resetTail();
  }

  /**
   * Starts a new block for writing. The previous one has its records written now and is
   * fsynced and closed in the background (they survive the process being killed already).
   * `background` false: opening the store, where waiting costs nothing, or a purge, which
   * deletes the previous blocks (no sync for them) once the new one is durable.
   */
  #newBlock(background = true): void {
    if (this.#wfd !== null) {
      this.flush();
      const fd = this.#wfd;
      this.#wfd = null;
      if (this.#dirty && background) this.#syncInBackground(fd, this.#wb.path, true);
      else this.#closeAfterBgSync(fd);
      this.#dirty = false;
    }
    const id = ++this.#maxId;
    const b: Block = { id, path: this.#blockPath(id), size: FILE_HEADER_LEN, live: 0 };
    this.#writeFile(b.path, fileHeader(BLOCK_TYPE));
    // The new file's directory entry: at once when opening the store or with sync "always",
    // else (a block filled up under load) in the background.
    if (this.#syncAlways || !background) syncDir(this.#msgDir);
    else syncDirInBackground(this.#msgDir);
    this.#addBlock(b);
    this.#openForWrite(b);
  }

  /** Deletes leading blocks that hold no live message (never the block being written). */
  #dropFrontBlocks(): void {
    while (this.#blocks.length > 1 && this.#blocks[0] !== this.#wb && this.#blocks[0].live <= 0) {
      const b = this.#blocks[0];
      try {
        Deno.removeSync(b.path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) {
          this.#log.error(`JetStream store ${b.path}: could not remove empty block: ${e}`);
          return;
        }
      }
      this.#blocks.shift();
      this.#byId.delete(b.id);
      this.#forgetBlockCaches(b.id);
    }
  }

  // ---- writing ------------------------------------------------------------------------------

  #checkWritable(): void {
    if (this.closed) throw new ErrStoreClosed();
    if (this.#failed !== null) throw this.#failed;
  }

  /**
   * Makes room for `n` more record bytes in the block being written, rolling over to a new
   * block when they would not fit. Call before encoding them into the writer.
   */
  #room(n: number): void {
    if (this.#wb.size + n > this.#blockSize && this.#wb.size > FILE_HEADER_LEN) this.#newBlock();
  }

  /**
   * The records encoded into the writer from `from` on belong to the block now; they are
   * written by the next flush. Returns the block offset of the first.
   */
  #added(from: number): number {
    const w = this.#w;
    const b = this.#wb;
    const off = b.size;
    b.size += w.len - from;
    this.#dirty = true;
    this.#cacheTail(off, w.buf.subarray(from, w.len));
    if (w.len >= PENDING_MAX) this.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#endOfTurn);
    }
    return off;
  }

  #endOfTurn = (): void => {
    this.#flushQueued = false;
    if (this.closed) return;
    try {
      this.flush();
    } catch { /* logged by flush; the store refuses writes from now on */ }
  };

  /** Writes the buffered records (one write call). */
  flush(): void {
    // After a failed write, whatever was buffered then is lost: say so to every caller.
    if (this.#failed !== null) throw this.#failed;
    const w = this.#w;
    if (w.len === 0 || this.#wfd === null) return;
    const b = this.#wb, fd = this.#wfd;
    const bytes = w.buf.subarray(0, w.len);
    const off = b.size - bytes.length;
    try {
      let n = 0;
      while (n < bytes.length) n += fd.writeSync(bytes.subarray(n));
    } catch (e) {
      const err = new StoreIoError(b.path, "write", e);
      try {
        // Leave no partial record behind.
        fd.truncateSync(off);
        fd.seekSync(off, Deno.SeekMode.Start);
        b.size = off;
      } catch { /* the store is failed either way */ }
      // The index holds what was not written: no more writes until the store is reopened.
      this.#failed = err;
      w.reset();
      this.#resetTail();
      this.#log.error(`JetStream store: ${err.message}`);
      throw err;
    }
    w.reset();
    if (w.buf.length > 4 * PENDING_MAX) w.shrink();
  }

  protected msgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
    return fileStoreMsgSize(subjectLen, hdrLen, dataLen);
  }

  protected writeMsg(
    seq: number,
    ts: number,
    subject: string,
    hdr: Uint8Array,
    data: Uint8Array,
  ): [number, number] {
    this.#checkWritable();
    this.#flushDeletes();
    const w = this.#w;
    let sl = subject.length;
    let subjectBytes: Uint8Array | null = null;
    for (let i = 0; i < subject.length; i++) {
      if (subject.charCodeAt(i) >= 0x80) {
        subjectBytes = enc.encode(subject);
        sl = subjectBytes.length;
        break;
      }
    }
    const bodyLen = sl + hdr.length + data.length;
    if (sl > 0xffff || bodyLen + RECORD_OVERHEAD > MAX_RECORD_LEN) throw new ErrMsgTooLarge();
    this.#room(bodyLen + RECORD_OVERHEAD);
    const from = w.len;
    const body = w.begin(Kind.Msg, seq, ts, sl, hdr.length, bodyLen);
    const buf = w.buf;
    if (subjectBytes !== null) buf.set(subjectBytes, body);
    else for (let i = 0; i < sl; i++) buf[body + i] = subject.charCodeAt(i);
    buf.set(hdr, body + sl);
    buf.set(data, body + sl + hdr.length);
    w.end();
    const off = this.#added(from);
    this.#wb.live++;
    return [this.#wb.id, off];
  }

  protected writeSkip(seq: number, ts: number): void {
    this.#checkWritable();
    this.#writeMarker(Kind.Skip, seq, ts);
  }

  #writeMarker(kind: Kind, seq: number, ts: number): void {
    this.#flushDeletes();
    this.#room(RECORD_OVERHEAD);
    const from = this.#w.len;
    this.#w.begin(kind, seq, ts, 0, 0, 0);
    this.#w.end();
    this.#added(from);
  }

  protected dropped(seq: number, blk: number, off: number, secure: boolean): void {
    const b = this.#byId.get(blk);
    if (b !== undefined && --b.live <= 0) this.#dropCheck = true;
    this.#deletes.push(seq);
    if (secure) {
      this.#flushDeletes();
      this.#eraseInPlace(b, off);
    }
  }

  protected bulkDropped(_seq: number, blk: number): void {
    const b = this.#byId.get(blk);
    if (b !== undefined && --b.live <= 0) this.#dropCheck = true;
  }

  /** Writes the batched tombstones (several per record). */
  #flushDeletes(): void {
    const d = this.#deletes;
    if (d.length === 0) return;
    this.#deletes = [];
    if (this.#failed !== null || this.closed) return;
    const w = this.#w;
    for (let i = 0; i < d.length; i += MAX_DELETES_PER_RECORD) {
      const n = Math.min(MAX_DELETES_PER_RECORD, d.length - i);
      this.#room(RECORD_OVERHEAD + 8 * n);
      const from = w.len;
      const body = w.begin(Kind.Delete, 0, 0, 0, n, 8 * n);
      for (let j = 0; j < n; j++) putU64(w.dv, body + 8 * j, d[i + j]);
      w.end();
      this.#added(from);
    }
  }

  /** Overwrites a message's record with an Erased record of the same length. */
  #eraseInPlace(b: Block | undefined, off: number): void {
    if (b === undefined) return;
    // The record may still be in the buffer: it must be in the file before it is overwritten.
    this.flush();
    const got = this.#recordAt(b.id, off);
    if (got === null) return;
    const r = readRecord(got.buf, got.dv, got.pos);
    if (r === null) return;
    const w = new RecordWriter();
    w.begin(Kind.Erased, r.seq, r.ts, 0, 0, r.len - RECORD_OVERHEAD); // zeroed body
    w.buf.fill(0, RECORD_HEADER_LEN, r.len - 4);
    w.end();
    try {
      const fd = Deno.openSync(b.path, { write: true });
      try {
        fd.seekSync(off, Deno.SeekMode.Start);
        const bytes = w.buf.subarray(0, w.len);
        let n = 0;
        while (n < bytes.length) n += fd.writeSync(bytes.subarray(n));
        if (this.#syncAlways) fd.syncDataSync();
      } finally {
        fd.close();
      }
    } catch (e) {
      throw new StoreIoError(b.path, "erase", e);
    }
    this.#forgetBlockCaches(b.id);
  }

  protected writePurge(nextSeq: number): void {
    this.#checkWritable();
    this.#deletes = [];
    const old = this.#blocks.slice();
    // The marker goes first into a fresh block, made durable, then the old blocks go.
    this.#newBlock(false);
    this.#writeMarker(Kind.PurgeBelow, nextSeq, this.idx.lastTs);
    this.#fsync();
    for (const b of old) {
      b.live = 0;
      try {
        Deno.removeSync(b.path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) {
          this.#log.error(`JetStream store ${b.path}: could not remove purged block: ${e}`);
          continue;
        }
      }
      this.#blocks.splice(this.#blocks.indexOf(b), 1);
      this.#byId.delete(b.id);
      this.#forgetBlockCaches(b.id);
    }
  }

  protected writeCompact(seq: number): void {
    this.#checkWritable();
    this.#writeMarker(Kind.PurgeBelow, seq, this.idx.lastTs);
    this.#dropCheck = true;
  }

  protected writeTruncate(seq: number, ts: number): void {
    this.#checkWritable();
    this.#writeMarker(Kind.Truncate, seq, ts);
  }

  protected endOp(): void {
    if (this.closed) return;
    this.#flushDeletes();
    if (this.#dropCheck) {
      this.#dropCheck = false;
      this.#dropFrontBlocks();
    }
    if (this.#syncAlways && this.#dirty) this.#fsync();
  }

  protected override checkRemovable(seq: number): void {
    // nats-server's file store answers these two cases with errors rather than "not removed".
    if (seq > this.idx.lastSeq) throw new ErrStoreEOF();
    if (seq <= 0 || seq < this.idx.firstSeq) throw new ErrStoreMsgNotFound();
  }

  #fsync(): void {
    if (this.#wfd === null) return;
    this.flush();
    try {
      this.#wfd.syncDataSync();
    } catch (e) {
      throw new StoreIoError(this.#wb.path, "fsync", e);
    }
    this.#dirty = false;
  }

  /** The sync interval: what is written gets fsynced, off the main thread. */
  #periodicSync(): void {
    if (this.closed) return;
    try {
      this.#flushDeletes();
      this.flush();
      if (this.#dirty && this.#wfd !== null && this.#bgSync === null) {
        this.#dirty = false;
        this.#syncInBackground(this.#wfd, this.#wb.path, false);
      }
      for (const cs of this.#consumers.values()) cs.sync();
    } catch (e) {
      this.#log.error(`JetStream store: ${e instanceof Error ? e.message : e}`);
    }
  }

  /**
   * fdatasync without blocking, after any background sync already running on that file.
   * `close`: the block is full; the file is closed after its sync, and the new current block
   * has no sync running. Otherwise the sync is the current block's (`#bgSync`), which a
   * rollover or stop waits for before closing the file.
   */
  #syncInBackground(fd: Deno.FsFile, path: string, close: boolean): void {
    const prior = this.#bgSync;
    const run = async () => {
      if (prior !== null) await prior;
      try {
        await fd.syncData();
      } catch (e) {
        this.#log.error(`JetStream store: ${new StoreIoError(path, "fsync", e).message}`);
      }
      if (close) fd.close();
    };
    const p = run();
    if (close) {
      this.#bgSync = null;
      return;
    }
    this.#bgSync = p;
    p.finally(() => {
      if (this.#bgSync === p) this.#bgSync = null;
    });
  }

  /** Closes a file once a background sync running on it is done. */
  #closeAfterBgSync(fd: Deno.FsFile): void {
    const p = this.#bgSync;
    this.#bgSync = null;
    if (p === null) fd.close();
    else p.finally(() => fd.close());
  }

  sync(): void {
    if (this.closed) return;
    this.#flushDeletes();
    if (this.#dirty) this.#fsync();
    for (const cs of this.#consumers.values()) cs.sync();
  }

  // ---- reading ------------------------------------------------------------------------------

  protected readMsg(
    seq: number,
    subject: string,
    ts: number,
    blk: number,
    off: number,
  ): StoredMsg | null {
    const got = this.#recordAt(blk, off);
    const r = got === null ? null : readRecord(got.buf, got.dv, got.pos);
    if (r === null || r.kind !== Kind.Msg || r.seq !== seq) {
      this.#log.error(
        `JetStream store ${this.#blockPath(blk)}: message ${seq} at offset ${off} is unreadable`,
      );
      return null;
    }
    const buf = got!.buf;
    const h = r.body + r.subjectLen;
    const d = h + r.n;
    return {
      seq,
      ts,
      subject,
      hdr: buf.subarray(h, d),
      data: buf.subarray(d, r.off + r.len - 4),
    };
  }

  /** A buffer holding the whole record at (blk, off): tail cache, a window, or a fresh read. */
  #recordAt(blk: number, off: number): { buf: Uint8Array; dv: DataView; pos: number } | null {
    this.#cacheUsed = true;
    if (blk === this.#wb.id && off >= this.#tailStart) {
      const pos = off - this.#tailStart;
      if (pos + 4 <= this.#tailLen && pos + this.#tailDv.getUint32(pos, true) <= this.#tailLen) {
        return { buf: this.#tail, dv: this.#tailDv, pos };
      }
    }
    const ws = this.#windows;
    for (let i = ws.length - 1; i >= 0; i--) {
      const w = ws[i];
      if (w.blk !== blk || off < w.start) continue;
      const pos = off - w.start;
      if (pos + 4 > w.buf.length || pos + w.dv.getUint32(pos, true) > w.buf.length) continue;
      if (i !== ws.length - 1) {
        ws.splice(i, 1);
        ws.push(w);
      }
      return { buf: w.buf, dv: w.dv, pos };
    }
    const b = this.#byId.get(blk);
    if (b === undefined || off + 4 > b.size) return null;
    if (b === this.#wb && this.#w.len > 0) this.flush();
    let buf = this.#readAt(b, off, Math.min(WINDOW, b.size - off));
    let dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const len = dv.getUint32(0, true);
    if (len > buf.length) {
      if (off + len > b.size) return null;
      buf = this.#readAt(b, off, len);
      dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    ws.push({ blk, start: off, buf, dv });
    if (ws.length > MAX_WINDOWS) ws.shift();
    return { buf, dv, pos: 0 };
  }

  #readAt(b: Block, off: number, n: number): Uint8Array {
    let fd = this.#readFds.get(b.id);
    try {
      if (fd === undefined) {
        fd = Deno.openSync(b.path, { read: true });
        this.#readFds.set(b.id, fd);
        if (this.#readFds.size > MAX_READ_FDS) {
          const [oldId, oldFd] = this.#readFds.entries().next().value!;
          oldFd.close();
          this.#readFds.delete(oldId);
        }
      }
      fd.seekSync(off, Deno.SeekMode.Start);
      const buf = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const r = fd.readSync(buf.subarray(got));
        if (r === null || r === 0) break;
        got += r;
      }
      return got === n ? buf : buf.subarray(0, got);
    } catch (e) {
      throw new StoreIoError(b.path, "read", e);
    }
  }

  /**
   * Keeps a copy of what was just written. A buffer that may back messages handed out is never
   * rewritten: growing copies into a new one, and a full one is replaced, not reused.
   */
  #cacheTail(off: number, bytes: Uint8Array): void {
    this.#cacheUsed = true;
    const n = bytes.length;
    if (this.#tailStart + this.#tailLen !== off || this.#tailLen + n > TAIL) {
      const full = this.#tailLen + n > TAIL && this.#tailLen > 0;
      if (full) {
        // Still the most likely to be read next: kept as a window, and the next tail is made
        // full size at once (writes are coming fast) rather than grown by copies.
        this.#windows.push({
          blk: this.#wb.id,
          start: this.#tailStart,
          buf: this.#tail.subarray(0, this.#tailLen),
          dv: this.#tailDv,
        });
        if (this.#windows.length > MAX_WINDOWS) this.#windows.shift();
      }
      this.#tail = full && n <= TAIL ? new Uint8Array(TAIL) : new Uint8Array(0);
      this.#tailDv = new DataView(this.#tail.buffer);
      this.#tailStart = off;
      this.#tailLen = 0;
      if (n > TAIL) {
        this.#tailStart = off + n;
        return;
      }
    }
    const need = this.#tailLen + n;
    if (need > this.#tail.length) {
      const grown = new Uint8Array(Math.min(TAIL, Math.max(4096, need * 2)));
      grown.set(this.#tail.subarray(0, this.#tailLen));
      this.#tail = grown;
      this.#tailDv = new DataView(grown.buffer);
    }
    this.#tail.set(bytes, this.#tailLen);
    this.#tailLen = need;
  }

  #resetTail(): void {
    this.#tail = new Uint8Array(0);
    this.#tailDv = new DataView(this.#tail.buffer);
    this.#tailStart = this.#wb.size;
    this.#tailLen = 0;
  }

  #sweepCaches(): void {
    if (this.#cacheUsed) {
      this.#cacheUsed = false;
      return;
    }
    this.#windows = [];
    for (const fd of this.#readFds.values()) fd.close();
    this.#readFds.clear();
    if (this.#wb !== undefined && !this.closed) this.#resetTail();
  }

  #forgetBlockCaches(id: number): void {
    this.#windows = this.#windows.filter((w) => w.blk !== id);
    const fd = this.#readFds.get(id);
    if (fd !== undefined) {
      fd.close();
      this.#readFds.delete(id);
    }
    if (this.#wb !== undefined && id === this.#wb.id) this.#resetTail();
  }

  // ---- metadata and consumers ---------------------------------------------------------------

  readMeta(): unknown {
    return readJsonFile(`${this.dir}/meta.json`);
  }

  writeMeta(meta: unknown): void {
    writeJsonFile(`${this.dir}/meta.json`, meta);
  }

  consumerNames(): string[] {
    const out: string[] = [];
    try {
      for (const e of Deno.readDirSync(`${this.dir}/consumers`)) {
        if (e.isDirectory) out.push(decodeURIComponent(e.name));
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw new StoreIoError(this.dir, "list", e);
    }
    return out.sort();
  }

  consumerStore(name: string, cfg: ConsumerStoreConfig): ConsumerStore {
    if (this.closed) throw new ErrStoreClosed();
    const open = this.#consumers.get(name);
    if (open !== undefined) {
      open.updateConfig(cfg);
      return open;
    }
    if (cfg.memoryStorage) {
      const mem = new MemoryConsumerStore(name, cfg, () => {
        this.#consumers.delete(name);
        this.consumerCount--;
      });
      this.#consumers.set(name, mem);
      this.consumerCount++;
      return mem;
    }
    const dir = `${this.dir}/consumers/${encodeURIComponent(name)}`;
    const cs = new FileConsumerStore(name, dir, cfg, this.#syncAlways, this.#log, () => {
      this.#consumers.delete(name);
      this.consumerCount--;
    });
    this.#consumers.set(name, cs);
    this.consumerCount++;
    return cs;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  override stop(): void {
    if (this.closed) return;
    try {
      this.#flushDeletes();
      if (this.#dirty) this.#fsync();
    } catch (e) {
      this.#log.error(`JetStream store: ${e instanceof Error ? e.message : e}`);
    }
    super.stop();
    if (this.#syncTimer !== undefined) clearInterval(this.#syncTimer);
    clearInterval(this.#cacheTimer);
    for (const cs of [...this.#consumers.values()]) cs.stop();
    if (this.#wfd !== null) this.#closeAfterBgSync(this.#wfd);
    this.#wfd = null;
    for (const fd of this.#readFds.values()) fd.close();
    this.#readFds.clear();
    this.#windows = [];
  }

  delete(): void {
    this.stop();
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw new StoreIoError(this.dir, "remove", e);
    }
  }

  /** Block files in use (tests and monitoring). */
  blockCount(): number {
    return this.#blocks.length;
  }
}
