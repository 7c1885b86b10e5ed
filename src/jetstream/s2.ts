/**
 * The framed S2 stream format (a superset of Snappy's framing) that nats-server compresses its
 * stream snapshots with: a stream identifier chunk, then chunks of at most 4 MiB, each with a
 * masked CRC-32C of its uncompressed bytes. We read everything nats-server writes (S2 blocks
 * with repeat offsets, skippable and padding chunks) and write Snappy-compatible blocks under
 * the S2 identifier, which S2 readers (nats-server's included) accept.
 *
 * Every chunk is checksummed, so a corrupted archive is an error here, never silently restored.
 */

import { ByteQueue } from "./byte_queue.ts";
import { concatBytes } from "../bytes.ts";

const MAGIC_S2 = "S2sTwO";
const MAGIC_SNAPPY = "sNaPpY";
const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_IDENT = 0xff;
/** Largest uncompressed block an S2 reader accepts. */
const MAX_BLOCK = 4 << 20;
/** Block size we write: Snappy's, so any framed-Snappy reader copes too. */
const WRITE_BLOCK = 64 * 1024;

/** A framed stream that is not valid (texts as klauspost/compress/s2's errors). */
export class S2Error extends Error {
  override name = "S2Error";
}

const CORRUPT = "s2: corrupt input";

// ---- CRC-32C (Castagnoli), masked as the framing format asks ------------------------------

/** CRC-32C tables for slicing by 8 (table t at t * 256). */
const CRC32C = (() => {
  const t = new Int32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      t[k * 256 + i] = (t[(k - 1) * 256 + i] >>> 8) ^ t[t[(k - 1) * 256 + i] & 0xff];
    }
  }
  return t;
})();

export function crc32c(b: Uint8Array): number {
  const t = CRC32C;
  let c = -1;
  let i = 0;
  const n = b.length;
  for (; i + 8 <= n; i += 8) {
    const lo = c ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
    const hi = b[i + 4] | (b[i + 5] << 8) | (b[i + 6] << 16) | (b[i + 7] << 24);
    c = t[1792 + (lo & 0xff)] ^ t[1536 + ((lo >>> 8) & 0xff)] ^
      t[1280 + ((lo >>> 16) & 0xff)] ^ t[1024 + (lo >>> 24)] ^
      t[768 + (hi & 0xff)] ^ t[512 + ((hi >>> 8) & 0xff)] ^
      t[256 + ((hi >>> 16) & 0xff)] ^ t[hi >>> 24];
  }
  for (; i < n; i++) c = t[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function maskedCrc(b: Uint8Array): number {
  const c = crc32c(b);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

// ---- reading ----------------------------------------------------------------------------------

/**
 * Reads a framed stream a piece at a time: `push` returns the data of the chunks it completed,
 * `end` says whether the stream stopped inside a chunk. Every chunk's CRC-32C is checked.
 */
export class S2Reader {
  readonly #q = new ByteQueue();
  #sawIdent = false;

  push(src: Uint8Array): Uint8Array[] {
    this.#q.push(src);
    const out: Uint8Array[] = [];
    const q = this.#q;
    while (q.length >= 4) {
      const h = q.peek(4);
      const type = h[0];
      if (!this.#sawIdent && type !== CHUNK_IDENT) throw new S2Error(CORRUPT);
      const len = h[1] | (h[2] << 8) | (h[3] << 16);
      if (q.length < 4 + len) break;
      q.skip(4);
      const body = q.take(len);
      switch (type) {
        case CHUNK_IDENT: {
          const magic = String.fromCharCode(...body);
          if (len !== 6 || (magic !== MAGIC_S2 && magic !== MAGIC_SNAPPY)) {
            throw new S2Error(CORRUPT);
          }
          this.#sawIdent = true;
          break;
        }
        case CHUNK_COMPRESSED:
        case CHUNK_UNCOMPRESSED: {
          if (len < 4) throw new S2Error(CORRUPT);
          const want = (body[0] | (body[1] << 8) | (body[2] << 16) | (body[3] << 24)) >>> 0;
          const data = type === CHUNK_COMPRESSED ? decodeBlock(body.subarray(4)) : body.slice(4);
          if (data.length > MAX_BLOCK) throw new S2Error(CORRUPT);
          if (maskedCrc(data) !== want) throw new S2Error("s2: corrupt input, crc mismatch");
          out.push(data);
          break;
        }
        default:
          // 0x02-0x7f are reserved and unskippable; 0x80-0xfd are skippable, 0xfe is padding
          // (skipped too).
          if (type <= 0x7f) throw new S2Error("s2: unsupported input");
      }
    }
    return out;
  }

  /** A stream cut inside a chunk (its header or its body) is corrupt, as S2's reader says. */
  end(): void {
    if (this.#q.length > 0) throw new S2Error(CORRUPT);
  }
}

/**
 * Decodes a whole framed stream. Throws S2Error on any damage or a stream cut inside a chunk;
 * one cut between chunks decodes (the tar inside then finds its end missing).
 */
export function s2Decode(src: Uint8Array): Uint8Array {
  const r = new S2Reader();
  const parts = r.push(src);
  r.end();
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

function readUvarint(src: Uint8Array, at: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = at; i < src.length && i < at + 5; i++) {
    const b = src[i];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, i + 1];
    mul *= 128;
  }
  throw new S2Error(CORRUPT);
}

/** One S2 (or Snappy) block: a length, then literals and copies (S2 adds repeat offsets). */
export function decodeBlock(src: Uint8Array): Uint8Array {
  const [n, start] = readUvarint(src, 0);
  if (n > MAX_BLOCK) throw new S2Error(CORRUPT);
  const dst = new Uint8Array(n);
  let d = 0;
  let s = start;
  let offset = 0;
  const need = (k: number) => {
    if (s + k > src.length) throw new S2Error(CORRUPT);
  };
  while (s < src.length) {
    const tag = src[s];
    let length: number;
    switch (tag & 3) {
      case 0: {
        let x = tag >>> 2;
        if (x < 60) s++;
        else {
          const extra = x - 59;
          need(1 + extra);
          x = 0;
          for (let k = extra; k >= 1; k--) x = x * 256 + src[s + k];
          s += 1 + extra;
        }
        length = x + 1;
        if (length > n - d || length > src.length - s) throw new S2Error(CORRUPT);
        dst.set(src.subarray(s, s + length), d);
        d += length;
        s += length;
        continue;
      }
      case 1: {
        need(2);
        const toffset = ((tag & 0xe0) << 3) | src[s + 1];
        length = (tag >>> 2) & 7;
        s += 2;
        if (toffset === 0) {
          // S2: a repeat of the previous offset, with longer lengths in extra bytes.
          if (length === 5) {
            need(1);
            length = src[s] + 4;
            s += 1;
          } else if (length === 6) {
            need(2);
            length = (src[s] | (src[s + 1] << 8)) + (1 << 8);
            s += 2;
          } else if (length === 7) {
            need(3);
            length = (src[s] | (src[s + 1] << 8) | (src[s + 2] << 16)) + (1 << 16);
            s += 3;
          }
        } else offset = toffset;
        length += 4;
        break;
      }
      case 2:
        need(3);
        offset = src[s + 1] | (src[s + 2] << 8);
        length = 1 + (tag >>> 2);
        s += 3;
        break;
      default:
        need(5);
        offset = (src[s + 1] | (src[s + 2] << 8) | (src[s + 3] << 16) | (src[s + 4] << 24)) >>>
          0;
        length = 1 + (tag >>> 2);
        s += 5;
    }
    if (offset <= 0 || d < offset || length > n - d) throw new S2Error(CORRUPT);
    if (offset >= length) dst.copyWithin(d, d - offset, d - offset + length);
    else for (let k = 0; k < length; k++) dst[d + k] = dst[d + k - offset];
    d += length;
  }
  if (d !== n) throw new S2Error(CORRUPT);
  return dst;
}

// ---- writing ----------------------------------------------------------------------------------

/**
 * Writes a framed stream a piece at a time: `write` returns the frames of the blocks it
 * completed (the stream identifier first), `end` those of the rest.
 */
export class S2Writer {
  #pending: Uint8Array[] = [];
  #pendingLen = 0;
  #started = false;

  write(data: Uint8Array): Uint8Array[] {
    const out = this.#start();
    let i = 0;
    while (i < data.length) {
      const take = Math.min(WRITE_BLOCK - this.#pendingLen, data.length - i);
      this.#pending.push(data.subarray(i, i + take));
      this.#pendingLen += take;
      i += take;
      if (this.#pendingLen === WRITE_BLOCK) out.push(...this.#flush());
    }
    return out;
  }

  end(): Uint8Array[] {
    const out = this.#start();
    if (this.#pendingLen > 0) out.push(...this.#flush());
    return out;
  }

  #start(): Uint8Array[] {
    if (this.#started) return [];
    this.#started = true;
    return [chunkHeader(CHUNK_IDENT, 6), new TextEncoder().encode(MAGIC_S2)];
  }

  #flush(): Uint8Array[] {
    const pending = this.#pending;
    const block = pending.length === 1 ? pending[0] : concatBytes(pending);
    this.#pending = [];
    this.#pendingLen = 0;
    const packed = encodeBlock(block);
    const useRaw = packed.length >= block.length - block.length / 8;
    const body = useRaw ? block : packed;
    const crc = maskedCrc(block);
    return [
      chunkHeader(useRaw ? CHUNK_UNCOMPRESSED : CHUNK_COMPRESSED, body.length + 4),
      new Uint8Array([crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24]),
      body,
    ];
  }
}

/** Encodes `data` as a whole framed stream (S2 identifier, Snappy-compatible blocks). */
export function s2Encode(data: Uint8Array): Uint8Array {
  const w = new S2Writer();
  const parts = [...w.write(data), ...w.end()];
  return concatBytes(parts);
}
function chunkHeader(type: number, len: number): Uint8Array {
  return new Uint8Array([type, len & 0xff, (len >>> 8) & 0xff, (len >>> 16) & 0xff]);
}

/**
 * A Snappy block (valid S2): greedy matches of 4+ bytes found through a hash table of
 * positions, literals between them. Inputs are at most 64 KiB, so 2-byte offsets suffice.
 */
export function encodeBlock(src: Uint8Array): Uint8Array {
  const n = src.length;
  const out = new Uint8Array(n + Math.ceil(n / 60) + 16);
  let o = 0;
  let v = n;
  while (v >= 0x80) {
    out[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[o++] = v;
  const table = new Int32Array(1 << 14).fill(-1);
  const load = (i: number) =>
    (src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24)) >>> 0;
  const hash = (x: number) => Math.imul(x, 0x1e35a7bd) >>> 18;
  let lit = 0;
  let i = 0;
  const emitLiteral = (from: number, to: number) => {
    let len = to - from;
    if (len === 0) return;
    len -= 1;
    if (len < 60) out[o++] = len << 2;
    else if (len < 0x100) {
      out[o++] = 60 << 2;
      out[o++] = len;
    } else {
      out[o++] = 61 << 2;
      out[o++] = len & 0xff;
      out[o++] = len >>> 8;
    }
    out.set(src.subarray(from, to), o);
    o += to - from;
  };
  // Snappy's heuristic: the longer no match is found, the further each next probe jumps, so
  // incompressible data is passed over quickly.
  let skip = 32;
  while (i + 4 <= n) {
    const x = load(i);
    const h = hash(x);
    const cand = table[h];
    table[h] = i;
    if (cand < 0 || load(cand) !== x) {
      i += skip >> 5;
      skip++;
      continue;
    }
    skip = 32;
    let len = 4;
    while (i + len < n && src[cand + len] === src[i + len]) len++;
    emitLiteral(lit, i);
    const offset = i - cand;
    let rest = len;
    while (rest > 0) {
      // Copies of 1..64 bytes with a 2-byte offset; never leave a tail under 4 for a copy.
      let l = Math.min(rest, 64);
      if (rest - l > 0 && rest - l < 4) l = rest - 4;
      out[o++] = ((l - 1) << 2) | 2;
      out[o++] = offset & 0xff;
      out[o++] = offset >>> 8;
      rest -= l;
    }
    i += len;
    lit = i;
  }
  emitLiteral(lit, n);
  return out.subarray(0, o);
}
