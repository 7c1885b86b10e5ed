/**
 * Consumer state on disk as a log: every delivery and ack that changes the state is one small
 * record, and the log is replayed through the same ConsumerTracker on open. The records of one
 * turn of the event loop are written together with one synchronous write (at the end of the
 * turn, or by `flush()`, which the consumer calls before it confirms an ack to the client), so
 * a killed process loses nothing it reported. With sync "always" each record is written and
 * fsynced at once. When the log grows, it is replaced atomically (temp file, fsync, rename) by a
 * single record holding the whole state.
 *
 * nats-server writes a consumer's whole state at most ten times a second, after the fact, so a
 * killed nats-server forgets up to 100 ms of deliveries and acks (they are redelivered); this
 * store forgets none that reached the client.
 */

import { ConsumerTracker, copyConsumerState } from "./consumer.ts";
import { atomicWriteFile, readJsonFile, syncDir, writeJsonFile } from "./meta.ts";
import {
  checkFileHeader,
  FILE_HEADER_LEN,
  fileHeader,
  getU64,
  Kind,
  putU64,
  RecordWriter,
  scanRecords,
} from "./record.ts";
import {
  type ConsumerState,
  type ConsumerStore,
  type ConsumerStoreConfig,
  ErrStoreClosed,
  StoreIoError,
  type StoreLogger,
} from "./types.ts";

const LOG_TYPE = "C";
/** Rewrite the log once it is this big and much bigger than the state it describes. */
const COMPACT_MIN_BYTES = 8 * 1024 * 1024;
/** Buffered record bytes that are written at once rather than at the end of the turn. */
const PENDING_MAX = 256 * 1024;

export class FileConsumerStore implements ConsumerStore {
  readonly dir: string;
  #path: string;
  #t: ConsumerTracker;
  #fd: Deno.FsFile | null = null;
  #size = 0;
  /** Records not yet written (appended to the log by the next flush). */
  #w = new RecordWriter();
  #flushQueued = false;
  #dirty = false;
  #hasState = false;
  #syncAlways: boolean;
  #log: StoreLogger;
  #onClose: () => void;
  #closed = false;

  constructor(
    readonly name: string,
    dir: string,
    cfg: ConsumerStoreConfig,
    syncAlways: boolean,
    log: StoreLogger,
    onClose: () => void,
  ) {
    this.dir = dir;
    this.#path = `${dir}/state.log`;
    this.#t = new ConsumerTracker(cfg.ackPolicy);
    this.#syncAlways = syncAlways;
    this.#log = log;
    this.#onClose = onClose;
    Deno.mkdirSync(dir, { recursive: true });
    this.#recover();
  }

  #recover(): void {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(this.#path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw new StoreIoError(this.#path, "read", e);
      this.#rewrite(false);
      return;
    }
    if (!checkFileHeader(bytes, LOG_TYPE)) {
      this.#log.error(`consumer state ${this.#path}: not a consumer state log, starting empty`);
      this.#rewrite(false);
      return;
    }
    const t = this.#t;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const res = scanRecords(bytes, FILE_HEADER_LEN, (r) => {
      this.#hasState = true;
      try {
        switch (r.kind) {
          case Kind.Delivered:
            t.delivered(getU64(dv, r.body), r.seq, r.n, r.ts);
            break;
          case Kind.Ack:
            t.acked(getU64(dv, r.body), r.seq);
            break;
          case Kind.Starting:
            t.setStarting(r.seq);
            break;
          case Kind.State:
            t.s = decodeState(dv, r.body);
            break;
        }
      } catch {
        // The live call that wrote this record succeeded; a refusal now means nothing changed.
      }
    });
    for (const [off, len] of res.skipped) {
      this.#log.error(
        `consumer state ${this.#path}: corrupt record at ${off} (${len} bytes) skipped`,
      );
    }
    if (res.badTail > 0) {
      this.#log.warn(
        `consumer state ${this.#path}: ${res.badTail} bytes of torn or corrupt tail at ${res.validEnd} truncated`,
      );
    }
    try {
      this.#fd = Deno.openSync(this.#path, { read: true, write: true });
      if (res.badTail > 0) this.#fd.truncateSync(res.validEnd);
      this.#fd.seekSync(res.validEnd, Deno.SeekMode.Start);
    } catch (e) {
      throw new StoreIoError(this.#path, "open", e);
    }
    this.#size = res.validEnd;
  }

  #check(): void {
    if (this.#closed) throw new ErrStoreClosed();
  }

  /** A record was encoded into the writer: written at the end of the turn (or now). */
  #added(): void {
    this.#dirty = true;
    this.#hasState = true;
    if (this.#syncAlways || this.#w.len >= PENDING_MAX) {
      this.flush();
      if (this.#syncAlways) this.sync();
    } else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#endOfTurn);
    }
  }

  #endOfTurn = (): void => {
    this.#flushQueued = false;
    if (this.#closed) return;
    try {
      this.flush();
    } catch (e) {
      this.#log.error(`consumer state: ${e instanceof Error ? e.message : e}`);
    }
  };

  flush(): void {
    const w = this.#w;
    if (w.len === 0 || this.#fd === null) return;
    const bytes = w.buf.subarray(0, w.len);
    const fd = this.#fd;
    try {
      let n = 0;
      while (n < bytes.length) n += fd.writeSync(bytes.subarray(n));
    } catch (e) {
      try {
        fd.truncateSync(this.#size);
        fd.seekSync(this.#size, Deno.SeekMode.Start);
      } catch { /* the rewrite below replaces the file */ }
      // The records are lost; the whole state, written anew, covers them.
      try {
        this.#rewrite();
      } catch { /* reported below */ }
      throw new StoreIoError(this.#path, "write", e);
    }
    this.#size += bytes.length;
    w.reset();
    if (this.#size > COMPACT_MIN_BYTES && this.#size > 8 * this.#stateBytes()) this.#rewrite();
  }

  /**
   * Replaces the log by one State record (or nothing: a new log), atomically. Buffered records
   * are dropped: the state includes them.
   */
  #rewrite(withState = true): void {
    const w = this.#w;
    w.reset();
    if (withState) encodeState(w, this.#t.s);
    const bytes = new Uint8Array(FILE_HEADER_LEN + w.len);
    bytes.set(fileHeader(LOG_TYPE));
    bytes.set(w.buf.subarray(0, w.len), FILE_HEADER_LEN);
    w.reset();
    this.#fd?.close();
    this.#fd = null;
    atomicWriteFile(this.#path, bytes);
    try {
      this.#fd = Deno.openSync(this.#path, { read: true, write: true });
      this.#fd.seekSync(bytes.length, Deno.SeekMode.Start);
    } catch (e) {
      throw new StoreIoError(this.#path, "open", e);
    }
    this.#size = bytes.length;
    this.#dirty = false;
  }

  #stateBytes(): number {
    const s = this.#t.s;
    return 64 + 24 * s.pending.size + 16 * s.redelivered.size;
  }

  setStarting(sseq: number): void {
    this.#check();
    this.#t.setStarting(sseq);
    this.#w.begin(Kind.Starting, sseq, 0, 0, 0, 0);
    this.#w.end();
    this.#added();
  }

  hasState(): boolean {
    return this.#hasState;
  }

  updateDelivered(dseq: number, sseq: number, dc: number, ts: number): void {
    this.#check();
    if (!this.#t.delivered(dseq, sseq, dc, ts)) return;
    const w = this.#w;
    const body = w.begin(Kind.Delivered, sseq, ts, 0, dc, 8);
    putU64(w.dv, body, dseq);
    w.end();
    this.#added();
  }

  updateAcks(dseq: number, sseq: number): void {
    this.#check();
    if (!this.#t.acked(dseq, sseq)) return;
    const w = this.#w;
    const body = w.begin(Kind.Ack, sseq, 0, 0, 0, 8);
    putU64(w.dv, body, dseq);
    w.end();
    this.#added();
  }

  update(state: ConsumerState): void {
    this.#check();
    this.#t.replace(state);
    encodeState(this.#w, this.#t.s);
    this.#added();
  }

  updateConfig(cfg: ConsumerStoreConfig): void {
    this.#t.ackPolicy = cfg.ackPolicy;
  }

  state(): ConsumerState {
    this.#check();
    return copyConsumerState(this.#t.s);
  }

  readMeta(): unknown {
    return readJsonFile(`${this.dir}/meta.json`);
  }

  writeMeta(meta: unknown): void {
    writeJsonFile(`${this.dir}/meta.json`, meta);
  }

  sync(): void {
    this.flush();
    if (!this.#dirty || this.#fd === null) return;
    try {
      this.#fd.syncDataSync();
    } catch (e) {
      throw new StoreIoError(this.#path, "fsync", e);
    }
    this.#dirty = false;
  }

  stop(): void {
    if (this.#closed) return;
    try {
      this.sync();
    } catch (e) {
      this.#log.error(String(e));
    }
    this.#closed = true;
    this.#fd?.close();
    this.#fd = null;
    this.#onClose();
  }

  delete(): void {
    this.stop();
    try {
      Deno.removeSync(this.dir, { recursive: true });
      syncDir(this.dir.slice(0, this.dir.lastIndexOf("/")));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw new StoreIoError(this.dir, "remove", e);
    }
  }
}

function encodeState(w: RecordWriter, s: ConsumerState): void {
  const body = w.begin(Kind.State, 0, 0, 0, 0, 40 + 24 * s.pending.size + 16 * s.redelivered.size);
  const dv = w.dv;
  let o = body;
  putU64(dv, o, s.delivered.consumer);
  putU64(dv, o + 8, s.delivered.stream);
  putU64(dv, o + 16, s.ackFloor.consumer);
  putU64(dv, o + 24, s.ackFloor.stream);
  dv.setUint32(o + 32, s.pending.size, true);
  dv.setUint32(o + 36, s.redelivered.size, true);
  o += 40;
  for (const [sseq, p] of s.pending) {
    putU64(dv, o, sseq);
    putU64(dv, o + 8, p.sequence);
    dv.setFloat64(o + 16, p.timestamp, true);
    o += 24;
  }
  for (const [sseq, n] of s.redelivered) {
    putU64(dv, o, sseq);
    putU64(dv, o + 8, n);
    o += 16;
  }
  w.end();
}

function decodeState(dv: DataView, body: number): ConsumerState {
  let o = body;
  const s: ConsumerState = {
    delivered: { consumer: getU64(dv, o), stream: getU64(dv, o + 8) },
    ackFloor: { consumer: getU64(dv, o + 16), stream: getU64(dv, o + 24) },
    pending: new Map(),
    redelivered: new Map(),
  };
  const np = dv.getUint32(o + 32, true), nr = dv.getUint32(o + 36, true);
  o += 40;
  for (let i = 0; i < np; i++, o += 24) {
    s.pending.set(getU64(dv, o), {
      sequence: getU64(dv, o + 8),
      timestamp: dv.getFloat64(o + 16, true),
    });
  }
  for (let i = 0; i < nr; i++, o += 16) s.redelivered.set(getU64(dv, o), getU64(dv, o + 8));
  return s;
}
