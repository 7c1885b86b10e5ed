/**
 * The snappy framing format (as nats-server's s2 writer in snappy-compatible mode produces and
 * snappy readers accept) with the data stored in uncompressed chunks: a valid stream any snappy
 * reader decodes, without a compressor here. Answers asked with `Accept-Encoding: snappy`.
 */

const STREAM_ID = new Uint8Array([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const CHUNK_UNCOMPRESSED = 0x01;
/** The largest uncompressed chunk the format allows. */
const MAX_CHUNK = 65536;

let table: Uint32Array | null = null;

/** CRC-32C (Castagnoli), which the framing format checksums data with. */
export function crc32c(b: Uint8Array): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < b.length; i++) crc = table[(crc ^ b[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The format's masked checksum. */
function masked(b: Uint8Array): number {
  const c = crc32c(b);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export function snappyFrame(data: Uint8Array): Uint8Array {
  const chunks = Math.max(1, Math.ceil(data.length / MAX_CHUNK));
  const out = new Uint8Array(STREAM_ID.length + chunks * 8 + data.length);
  out.set(STREAM_ID, 0);
  let p = STREAM_ID.length;
  for (let off = 0; off < data.length || p === STREAM_ID.length; off += MAX_CHUNK) {
    const part = data.subarray(off, Math.min(off + MAX_CHUNK, data.length));
    const len = part.length + 4;
    out[p] = CHUNK_UNCOMPRESSED;
    out[p + 1] = len & 0xff;
    out[p + 2] = (len >>> 8) & 0xff;
    out[p + 3] = (len >>> 16) & 0xff;
    new DataView(out.buffer).setUint32(p + 4, masked(part), true);
    out.set(part, p + 8);
    p += 8 + part.length;
    if (data.length === 0) break;
  }
  return out;
}
