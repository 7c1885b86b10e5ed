/**
 * The on-disk record: one framing for message blocks and consumer state logs, so one scanner
 * decides what is whole, what is torn and what is corrupt.
 *
 *   0  u32  length of the whole record, these 4 bytes and the checksum included
 *   4  u8   kind
 *   5  u8   reserved (0)
 *   6  u16  subject length (messages; 0 otherwise)
 *   8  u64  sequence (little-endian lo/hi u32; exact below 2^53)
 *  16  f64  timestamp, nanoseconds since the epoch
 *  24  u32  n: header length (messages) or entry count (deletes)
 *  28  ...  body: subject, header, payload (messages) / n u64 sequences (deletes) / state
 *  -4  u32  CRC-32 of every byte before it
 *
 * A file starts with an 8-byte header, `NJS` + a file type letter + version, so a file of
 * another kind or version is never misread as records. All integers are little-endian.
 */

import { crc32 } from "node:zlib";

export const FILE_HEADER_LEN = 8;
export const RECORD_HEADER_LEN = 28;
export const RECORD_OVERHEAD = RECORD_HEADER_LEN + 4;
/** Records larger than this are treated as corrupt lengths rather than read into memory. */
export const MAX_RECORD_LEN = 256 * 1024 * 1024;

/** Record kinds in message blocks. */
export const Kind = {
  /** A message. */
  Msg: 1,
  /** Tombstones: the n sequences in the body were removed. */
  Delete: 2,
  /** Everything below `seq` was removed; the next sequence is at least `seq` (purge/compact). */
  PurgeBelow: 3,
  /** `seq` was consumed with no message. */
  Skip: 4,
  /** Everything after `seq` was removed; `seq` is the last sequence (ts = its time). */
  Truncate: 5,
  /** A message erased in place: only its sequence and time remain. */
  Erased: 6,
  /** Consumer log: a delivery (seq = stream seq, n unused; body: dseq u64, dc u64). */
  Delivered: 16,
  /** Consumer log: an ack (seq = stream seq; body: dseq u64). */
  Ack: 17,
  /** Consumer log: starting stream sequence. */
  Starting: 18,
  /** Consumer log: a whole state; everything before it is superseded. */
  State: 19,
} as const;
export type Kind = typeof Kind[keyof typeof Kind];

export function fileHeader(type: string): Uint8Array {
  const h = new Uint8Array(FILE_HEADER_LEN);
  h.set([0x4e, 0x4a, 0x53, type.charCodeAt(0), 1]); // "NJS" type, version 1
  return h;
}

export function checkFileHeader(buf: Uint8Array, type: string): boolean {
  return buf.length >= FILE_HEADER_LEN && buf[0] === 0x4e && buf[1] === 0x4a &&
    buf[2] === 0x53 && buf[3] === type.charCodeAt(0) && buf[4] === 1;
}

/** CRC-32 tables for slicing by 8 (table t at t * 256). */
const CRC_TABLE = (() => {
  const t = new Int32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      t[k * 256 + i] = (t[(k - 1) * 256 + i] >>> 8) ^ t[t[(k - 1) * 256 + i] & 0xff];
    }
  }
  return t;
})();

/** Records up to this long are summed in JS: a runtime call costs more than the sum. */
const JS_CRC_MAX = 96;

/**
 * CRC-32 (IEEE, as zlib's) of `buf[start, end)`. Most records are small (consumer state, short
 * messages), and for those a runtime call to zlib costs 3-4 times the JS loop; zlib takes the
 * long ones.
 */
export function crc32Of(buf: Uint8Array, start: number, end: number): number {
  if (end - start > JS_CRC_MAX) return crc32(buf.subarray(start, end));
  const T = CRC_TABLE;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    c = T[1792 + (a & 0xff)] ^ T[1536 + ((a >>> 8) & 0xff)] ^ T[1280 + ((a >>> 16) & 0xff)] ^
      T[1024 + (a >>> 24)] ^ T[768 + buf[i + 4]] ^ T[512 + buf[i + 5]] ^ T[256 + buf[i + 6]] ^
      T[buf[i + 7]];
  }
  for (; i < end; i++) c = T[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

export function putU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v >>> 0, true);
  dv.setUint32(off + 4, Math.floor(v / 0x100000000), true);
}

export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off + 4, true) * 0x100000000 + dv.getUint32(off, true);
}

/**
 * A growable buffer records are encoded into before one write. `begin` reserves a record,
 * the caller fills the body at the returned offset, `end` stamps length and checksum.
 */
export class RecordWriter {
  buf = new Uint8Array(64 * 1024);
  dv = new DataView(this.buf.buffer);
  len = 0;
  #start = 0;

  reset(): void {
    this.len = 0;
  }

  /** Gives back a buffer grown large by a big record (only when empty). */
  shrink(): void {
    if (this.len !== 0) return;
    this.buf = new Uint8Array(64 * 1024);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Reserves a record with `bodyLen` body bytes; returns the body's offset in `buf`. */
  begin(kind: Kind, seq: number, ts: number, subjectLen: number, n: number, bodyLen: number) {
    const total = RECORD_OVERHEAD + bodyLen;
    this.#ensure(total);
    const o = this.#start = this.len;
    const dv = this.dv;
    dv.setUint32(o, total, true);
    dv.setUint8(o + 4, kind);
    dv.setUint8(o + 5, 0);
    dv.setUint16(o + 6, subjectLen, true);
    putU64(dv, o + 8, seq);
    dv.setFloat64(o + 16, ts, true);
    dv.setUint32(o + 24, n, true);
    this.len += total;
    return o + RECORD_HEADER_LEN;
  }

  /** Finishes the record begun last; returns its offset within `buf`. */
  end(): number {
    const o = this.#start;
    const end = this.len - 4;
    this.dv.setUint32(end, crc32Of(this.buf, o, end), true);
    return o;
  }

  #ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
    this.dv = new DataView(grown.buffer);
  }
}

/** One record as the scanner found it (offsets are into the scanned buffer). */
export interface RecordView {
  kind: number;
  seq: number;
  ts: number;
  subjectLen: number;
  n: number;
  /** Offset of the record's first byte. */
  off: number;
  /** Total length. */
  len: number;
  /** Offset of the body. */
  body: number;
}

/** Reads the record at `off` if it is whole and its checksum holds, else null. */
export function readRecord(buf: Uint8Array, dv: DataView, off: number): RecordView | null {
  if (buf.length - off < RECORD_OVERHEAD) return null;
  const len = dv.getUint32(off, true);
  if (len < RECORD_OVERHEAD || len > MAX_RECORD_LEN || off + len > buf.length) return null;
  const stored = dv.getUint32(off + len - 4, true);
  if (crc32Of(buf, off, off + len - 4) !== stored) return null;
  const subjectLen = dv.getUint16(off + 6, true);
  const n = dv.getUint32(off + 24, true);
  return {
    kind: dv.getUint8(off + 4),
    seq: getU64(dv, off + 8),
    ts: dv.getFloat64(off + 16, true),
    subjectLen,
    n,
    off,
    len,
    body: off + RECORD_HEADER_LEN,
  };
}

/** How a scan ended. */
export interface ScanResult {
  /** Where the last good record ends: the length of the trustworthy prefix. */
  validEnd: number;
  /** Bad regions skipped in the middle (a good record followed each): [offset, length]. */
  skipped: [number, number][];
  /** Bytes after validEnd that are not a good record (0 = the buffer ended cleanly). */
  badTail: number;
}

/**
 * Walks the records of `buf` from `start`, calling `fn` for each good one. A record that is
 * cut short or fails its checksum ends the scan unless its length field leads to a good record
 * right after it, in which case only that record is skipped (a flipped bit inside a record costs
 * that record, not the rest of the file).
 */
export function scanRecords(
  buf: Uint8Array,
  start: number,
  fn: (r: RecordView) => void,
): ScanResult {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const skipped: [number, number][] = [];
  let off = start;
  let validEnd = start;
  while (off < buf.length) {
    const r = readRecord(buf, dv, off);
    if (r !== null) {
      fn(r);
      off += r.len;
      validEnd = off;
      continue;
    }
    // Bad record: can its length be trusted to find the next one?
    if (buf.length - off >= 4) {
      const len = dv.getUint32(off, true);
      const next = off + len;
      if (len >= RECORD_OVERHEAD && next < buf.length && readRecord(buf, dv, next) !== null) {
        skipped.push([off, len]);
        off = next;
        continue;
      }
    }
    break;
  }
  return { validEnd, skipped, badTail: buf.length - validEnd };
}
