/**
 * The storage contract JetStream's stream and consumer layers build on. Two implementations:
 * memory (memory.ts) and file (file.ts); both pass the same tests through this interface.
 *
 * Conventions, chosen for the stream layer's hot path:
 * - Sequences are JS numbers (exact up to 2^53). Timestamps are nanoseconds since the Unix
 *   epoch as a number (a double: exact to ~256 ns today, which no API output needs finer).
 * - Everything is synchronous. The file store collects the records of one turn of the event
 *   loop and writes them with one sync file call (group commit): when `flush` returns (or the
 *   turn ends), they are in the file: the kernel has them, so they survive the process being
 *   killed; with `sync: "always"` each operation is written and fsynced before it returns (it
 *   survives the machine). Acknowledge a message only after `flush`.
 * - Lookups that commonly find nothing (`loadMsg` of a deleted sequence, `loadNextMsg` at the
 *   end) return `null` instead of throwing; failures and refusals throw the typed errors below.
 * - Returned messages may share memory with the store's caches: treat `hdr` and `data` as
 *   read-only (the store never mutates a buffer it has handed out).
 */

export type StorageType = "file" | "memory";
export type DiscardPolicy = "old" | "new";
export type AckPolicy = "none" | "all" | "explicit";

/**
 * The stream config values the store enforces. Zero or negative means "no limit", so the
 * stream config's `-1` can be passed straight through.
 */
export interface StoreLimits {
  maxMsgs: number;
  maxBytes: number;
  /** Nanoseconds, as `max_age` in the stream config JSON. */
  maxAge: number;
  maxMsgsPerSubject: number;
  /**
   * "old" removes the oldest messages to make room. "new" refuses the new message with
   * ErrMaxMsgs / ErrMaxBytes / ErrMaxMsgsPerSubject (the texts nats-server's publish ack
   * carries), checked inside the store so that the check and the write are one step.
   */
  discard: DiscardPolicy;
  /** With discard "new": refuse a message whose subject is at max_msgs_per_subject. */
  discardNewPerSubject: boolean;
}

export const NO_LIMITS: StoreLimits = {
  maxMsgs: -1,
  maxBytes: -1,
  maxAge: 0,
  maxMsgsPerSubject: -1,
  discard: "old",
  discardNewPerSubject: false,
};

export interface StoredMsg {
  seq: number;
  /** Nanoseconds since the Unix epoch. */
  ts: number;
  subject: string;
  /** The raw NATS header block (`NATS/1.0\r\n...`), empty when the message had none. */
  hdr: Uint8Array;
  data: Uint8Array;
}

/** Messages and the first/last sequence among those that match a filter. */
export interface SimpleState {
  msgs: number;
  first: number;
  last: number;
}

export interface StreamState {
  msgs: number;
  /** Counted as nats-server counts them for this storage type (see msgSize functions below). */
  bytes: number;
  /** With no messages: lastSeq + 1 (0 for a store that never held any). */
  firstSeq: number;
  /** Nanoseconds; 0 when there is no first message (the JSON shows Go's zero time). */
  firstTs: number;
  lastSeq: number;
  /** Nanoseconds; 0 when nothing was ever stored. */
  lastTs: number;
  numSubjects: number;
  /** Sequences between first and last that hold no message. */
  numDeleted: number;
  consumers: number;
}

/** Called after each change of the stored totals: account usage, consumers' pending counts. */
export type StorageUpdateHandler = (
  msgsDelta: number,
  bytesDelta: number,
  /** The sequence when one message was added or removed, else 0. */
  seq: number,
  /** Its subject when one message was added or removed, else "". */
  subject: string,
) => void;

/** `purge` options, as the STREAM.PURGE request: `seq` and `keep` exclude each other. */
export interface PurgeOptions {
  /** Only messages whose subject matches (wildcards allowed); "" or ">" means all. */
  subject?: string;
  /** Remove messages below this sequence (not including it). */
  seq?: number;
  /** Keep this many of the newest matching messages. */
  keep?: number;
}

export interface StreamStore {
  readonly type: StorageType;

  /**
   * Appends a message with the next sequence and returns it. `ts` defaults to now; the stream
   * layer passes one for mirrors/sources that keep the origin's time. Throws ErrStoreClosed,
   * ErrMaxMsgs / ErrMaxBytes / ErrMaxMsgsPerSubject (discard "new"), StoreIoError.
   */
  storeMsg(subject: string, hdr: Uint8Array | null, data: Uint8Array, ts?: number): number;
  /**
   * Consumes the next sequence without a message (it then counts as deleted). `ts` defaults to
   * now; a restore passes the time the stream had for it (its last_ts when it is the last).
   */
  skipMsg(ts?: number): number;

  /** The message at `seq`, or null (deleted, or beyond lastSeq: compare with state()). */
  loadMsg(seq: number): StoredMsg | null;
  /** The newest message whose subject matches `filter` ("" or ">" = any), or null. */
  loadLastMsg(filter: string): StoredMsg | null;
  /** The first message at or after `start` whose subject matches `filter`, or null. */
  loadNextMsg(filter: string, start: number): StoredMsg | null;
  /** The first sequence whose timestamp is >= `ts` (lastSeq + 1 when none). */
  seqFromTime(ts: number): number;

  /** False when `seq` held no message. The file store throws ErrStoreEOF past lastSeq. */
  removeMsg(seq: number): boolean;
  /** As removeMsg, and the bytes are overwritten (file) / dropped (memory). */
  eraseMsg(seq: number): boolean;
  /** Removes messages (all, or as `opts` select) and returns how many. ErrPurgeArgMismatch. */
  purge(opts?: PurgeOptions): number;
  /**
   * Removes every message below `seq`; when `seq` is past the end the next message stored gets
   * `seq`. Returns how many were removed.
   */
  compact(seq: number): number;
  /** Removes every message after `seq` (which must hold a message, else ErrInvalidSequence). */
  truncate(seq: number): void;

  state(): StreamState;
  /** The deleted sequences between first and last, ascending (stream info deleted_details). */
  deleted(): number[];
  /** Matching messages at or after `seq`. */
  filteredState(seq: number, filter: string): SimpleState;
  /** Per subject counts for subjects matching `filter` ("" or ">" = all). */
  subjectsState(filter: string): Map<string, SimpleState>;

  /** New limits (stream update); applied immediately (may remove messages). */
  updateLimits(limits: StoreLimits): void;
  onStorageUpdate(handler: StorageUpdateHandler | null): void;

  /** Opaque JSON the stream layer keeps with its store (its config), persisted atomically. */
  readMeta(): unknown;
  writeMeta(meta: unknown): void;

  /** Names of the consumers that have stored state (recovery after a restart). */
  consumerNames(): string[];
  /** Opens (recovering its state) or creates the named consumer's store. */
  consumerStore(name: string, cfg: ConsumerStoreConfig): ConsumerStore;

  /**
   * Writes what the operations so far have buffered (file store: one write), so it survives
   * the process being killed; runs by itself at the end of the turn. Throws StoreIoError when
   * the write fails: the store then refuses writes until it is reopened.
   */
  flush(): void;
  /** Makes everything written so far durable (fsync), whatever the sync policy. */
  sync(): void;
  /** Releases files and timers; the data stays. Idempotent. */
  stop(): void;
  /** Stops and removes all data (stream delete). */
  delete(): void;
}

export interface SequencePair {
  /** The consumer (delivery) sequence. */
  consumer: number;
  /** The stream sequence. */
  stream: number;
}

export interface PendingAck {
  /** The consumer sequence of the (latest) delivery. */
  sequence: number;
  /** When it was delivered, nanoseconds. */
  timestamp: number;
}

export interface ConsumerState {
  delivered: SequencePair;
  ackFloor: SequencePair;
  /** Delivered and not yet acknowledged, by stream sequence (ack policy all/explicit). */
  pending: Map<number, PendingAck>;
  /** Stream sequence -> times redelivered (delivery count - 1), for those delivered twice+. */
  redelivered: Map<number, number>;
}

export interface ConsumerStoreConfig {
  ackPolicy: AckPolicy;
  /** Keep this consumer's state in memory even on a file stream (nats-server's mem_storage). */
  memoryStorage?: boolean;
}

export interface ConsumerStore {
  readonly name: string;
  /** Sets where delivery starts (delivered.stream = sseq) before anything was delivered. */
  setStarting(sseq: number): void;
  /** True when state was recovered from (or has been written to) storage. */
  hasState(): boolean;
  /** A delivery of stream seq `sseq` as consumer seq `dseq`, `dc`-th time, at `ts` (ns). */
  updateDelivered(dseq: number, sseq: number, dc: number, ts: number): void;
  /** An acknowledgement. Throws ErrStoreMsgNotFound when `sseq` is not pending. */
  updateAcks(dseq: number, sseq: number): void;
  /** Replaces the whole state (checked for consistency). */
  update(state: ConsumerState): void;
  updateConfig(cfg: ConsumerStoreConfig): void;
  /** A copy of the current state. */
  state(): ConsumerState;
  readMeta(): unknown;
  writeMeta(meta: unknown): void;
  /**
   * Writes the updates buffered so far (one write; runs by itself at the end of the turn):
   * call it before confirming an ack to the client.
   */
  flush(): void;
  /** Makes the state durable now. */
  sync(): void;
  stop(): void;
  /** Stops and removes the consumer's stored state. */
  delete(): void;
}

/** Anything with warn/error, such as the server's Logger. */
export interface StoreLogger {
  warn(msg: string): void;
  error(msg: string): void;
}

/** Message size as nats-server's memory store counts it (stream info bytes, max_bytes). */
export function memStoreMsgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
  return subjectLen + hdrLen + dataLen + 16;
}

/** Message size as nats-server's file store counts it (its record layout's length). */
export function fileStoreMsgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
  return hdrLen === 0 ? 30 + subjectLen + dataLen : 34 + subjectLen + hdrLen + dataLen;
}

// ---- errors -----------------------------------------------------------------------------------

/** Base class; `message` is nats-server's text where it reaches users (publish ack, API). */
export class StoreError extends Error {
  override name = "StoreError";
}

export class ErrStoreClosed extends StoreError {
  override name = "ErrStoreClosed";
  constructor() {
    super("store is closed");
  }
}
export class ErrStoreMsgNotFound extends StoreError {
  override name = "ErrStoreMsgNotFound";
  constructor() {
    super("no message found");
  }
}
export class ErrStoreEOF extends StoreError {
  override name = "ErrStoreEOF";
  constructor() {
    super("stream store EOF");
  }
}
export class ErrMaxMsgs extends StoreError {
  override name = "ErrMaxMsgs";
  constructor() {
    super("maximum messages exceeded");
  }
}
export class ErrMaxBytes extends StoreError {
  override name = "ErrMaxBytes";
  constructor() {
    super("maximum bytes exceeded");
  }
}
export class ErrMaxMsgsPerSubject extends StoreError {
  override name = "ErrMaxMsgsPerSubject";
  constructor() {
    super("maximum messages per subject exceeded");
  }
}
/** A message whose record cannot be stored (subject over 64 KiB, record over 256 MiB). */
export class ErrMsgTooLarge extends StoreError {
  override name = "ErrMsgTooLarge";
  constructor() {
    super("message to large"); // sic: nats-server's text
  }
}
export class ErrInvalidSequence extends StoreError {
  override name = "ErrInvalidSequence";
  constructor() {
    super("invalid sequence");
  }
}
export class ErrPurgeArgMismatch extends StoreError {
  override name = "ErrPurgeArgMismatch";
  constructor() {
    super("sequence > 1 && keep > 0 not allowed");
  }
}
export class ErrNoAckPolicy extends StoreError {
  override name = "ErrNoAckPolicy";
  constructor() {
    super("ack policy is none");
  }
}
/** A consumer state update that contradicts itself or goes backwards. */
export class ErrBadConsumerState extends StoreError {
  override name = "ErrBadConsumerState";
}
/** A write or sync the file system refused; `path` says which file. */
export class StoreIoError extends StoreError {
  override name = "StoreIoError";
  constructor(readonly path: string, readonly op: string, cause: unknown) {
    super(`${op} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
/** A stored file that is not what we wrote (bad magic, bad checksum in metadata). */
export class StoreCorruptError extends StoreError {
  override name = "StoreCorruptError";
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
  }
}
