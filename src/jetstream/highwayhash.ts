/**
 * HighwayHash-64 (Google's keyed hash), which nats-server 2.9 uses for the checksums of its
 * file store: each message record in a block, and the `meta.sum` beside each `meta.inf`. Our
 * snapshot archives carry them so that nats-server accepts the archives we write. Written from
 * the published algorithm, with 64-bit lanes as pairs of 32-bit halves (BigInt is ten times
 * slower).
 */

/** The initial multipliers, as [lo, hi] 32-bit halves per lane. */
const INIT0 = [
  0xfe4cce2f,
  0xdbe6d5d5,
  0x299f31d0,
  0xa4093822,
  0x03707344,
  0x13198a2e,
  0x85a308d3,
  0x243f6a88,
];
const INIT1 = [
  0xcb0ef593,
  0x3bd39e10,
  0xb5f18a8c,
  0xc0acf169,
  0x34e90c6c,
  0xbe5466cf,
  0x38d01377,
  0x452821e6,
];

/**
 * The state: four 64-bit lanes in each of v0, v1, mul0, mul1, kept as 32-bit halves (lane i at
 * [2i] low, [2i+1] high) so that no step needs BigInt.
 */
class State {
  readonly v0 = new Uint32Array(8);
  readonly v1 = new Uint32Array(8);
  readonly mul0 = new Uint32Array(8);
  readonly mul1 = new Uint32Array(8);
  readonly #lanes = new Uint32Array(8);

  /** Starts over under `key` (one State serves every hash: all of it is synchronous). */
  reset(key: Uint8Array): void {
    this.mul0.set(INIT0);
    this.mul1.set(INIT1);
    const dv = new DataView(key.buffer, key.byteOffset, 32);
    for (let i = 0; i < 8; i += 2) {
      const lo = dv.getUint32(i * 4, true);
      const hi = dv.getUint32(i * 4 + 4, true);
      this.v0[i] = INIT0[i] ^ lo;
      this.v0[i + 1] = INIT0[i + 1] ^ hi;
      // v1 takes the key with its halves swapped.
      this.v1[i] = INIT1[i] ^ hi;
      this.v1[i + 1] = INIT1[i + 1] ^ lo;
    }
  }

  /** One 32-byte packet, given as 8 little-endian 32-bit words. */
  update(m: Uint32Array): void {
    const { v0, v1, mul0, mul1 } = this;
    for (let i = 0; i < 8; i += 2) {
      // v1 += packet + mul0 (64-bit, as two halves with a carry)
      let lo = v1[i] + m[i] + mul0[i];
      let hi = v1[i + 1] + m[i + 1] + mul0[i + 1] + Math.floor(lo / 4294967296);
      const v1lo = lo >>> 0;
      const v1hi = hi >>> 0;
      v1[i] = v1lo;
      v1[i + 1] = v1hi;
      // mul0 ^= lo32(v1) * hi32(v0)
      let a = v1lo;
      let b = v0[i + 1];
      let plo = Math.imul(a, b) >>> 0;
      mul0[i] ^= plo;
      mul0[i + 1] ^= Math.round((a * b - plo) / 4294967296);
      // v0 += mul1
      lo = v0[i] + mul1[i];
      hi = v0[i + 1] + mul1[i + 1] + (lo > 0xffffffff ? 1 : 0);
      const v0lo = lo >>> 0;
      v0[i] = v0lo;
      v0[i + 1] = hi;
      // mul1 ^= lo32(v0) * hi32(v1)
      a = v0lo;
      b = v1hi;
      plo = Math.imul(a, b) >>> 0;
      mul1[i] ^= plo;
      mul1[i + 1] ^= Math.round((a * b - plo) / 4294967296);
    }
    zipperMerge(v1, 0, v0);
    zipperMerge(v1, 4, v0);
    zipperMerge(v0, 0, v1);
    zipperMerge(v0, 4, v1);
  }

  packet(b: Uint8Array, at: number): void {
    const w = this.#lanes;
    for (let i = 0, o = at; i < 8; i++, o += 4) {
      w[i] = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
    }
    this.update(w);
  }

  /** The final partial packet (1..31 bytes). */
  remainder(b: Uint8Array): void {
    const n = b.length;
    for (let i = 0; i < 8; i += 2) add(this.v0, i, n, n);
    for (let i = 0; i < 8; i++) {
      const x = this.v1[i];
      this.v1[i] = (x << n) | (x >>> (32 - n));
    }
    const block = new Uint8Array(32);
    const mod4 = n & 3;
    const whole = n - mod4;
    block.set(b.subarray(0, whole));
    if (n >= 16) block.set(b.subarray(n - 4, n), 28);
    else if (mod4 !== 0) {
      block[16] = b[whole];
      block[17] = b[whole + (mod4 >> 1)];
      block[18] = b[n - 1];
    }
    this.packet(block, 0);
  }

  /** Four permute-and-update rounds, then the 64-bit result as 8 little-endian bytes. */
  finish(): Uint8Array {
    const p = new Uint32Array(8);
    const v0 = this.v0;
    for (let r = 0; r < 4; r++) {
      // Lanes 2, 3, 0, 1 of v0, each with its halves swapped.
      p[0] = v0[5];
      p[1] = v0[4];
      p[2] = v0[7];
      p[3] = v0[6];
      p[4] = v0[1];
      p[5] = v0[0];
      p[6] = v0[3];
      p[7] = v0[2];
      this.update(p);
    }
    const sum = new Uint32Array(2);
    for (const x of [this.v0, this.v1, this.mul0, this.mul1]) add(sum, 0, x[0], x[1]);
    const out = new Uint8Array(8);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, sum[0], true);
    dv.setUint32(4, sum[1], true);
    return out;
  }
}

/** a[i..i+1] += (hi:lo), modulo 2^64. */
function add(a: Uint32Array, i: number, lo: number, hi: number): void {
  const l = a[i] + lo;
  a[i] = l;
  a[i + 1] = a[i + 1] + hi + (l > 0xffffffff ? 1 : 0);
}

/**
 * Adds to lanes (at j, j+2 of `dst`) the byte shuffle of lanes (at j, j+2 of `src`): with x, y
 * the source lanes' bytes (0 lowest), the first gets x3 y4 x2 x5 y6 x1 y7 x0, the second
 * y3 x4 y2 y5 y1 x6 y0 x7.
 */
function zipperMerge(src: Uint32Array, j: number, dst: Uint32Array): void {
  const xl = src[j];
  const xh = src[j + 1];
  const yl = src[j + 2];
  const yh = src[j + 3];
  // Bytes x3 y4 x2 x5 | y6 x1 y7 x0, and y3 x4 y2 y5 | y1 x6 y0 x7.
  const d0lo = (xl >>> 24) | ((yh & 0xff) << 8) | (xl & 0xff0000) | ((xh & 0xff00) << 16);
  const d0hi = ((yh >>> 16) & 0xff) | (xl & 0xff00) | ((yh >>> 24) << 16) | ((xl & 0xff) << 24);
  const d1lo = (yl >>> 24) | ((xh & 0xff) << 8) | (yl & 0xff0000) | ((yh & 0xff00) << 16);
  const d1hi = ((yl >>> 8) & 0xff) | ((xh & 0xff0000) >>> 8) | ((yl & 0xff) << 16) |
    (xh & 0xff000000);
  add(dst, j, d0lo >>> 0, d0hi >>> 0);
  add(dst, j + 2, d1lo >>> 0, d1hi >>> 0);
}

const STATE = new State();
const TAIL = new Uint8Array(32);

/** HighwayHash-64 of the concatenated `parts` under a 32-byte key, as 8 little-endian bytes. */
export function highwayHash64(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const s = STATE;
  s.reset(key);
  // Whole packets straight from each part; a packet spanning parts is gathered in TAIL.
  let fill = 0;
  for (const p of parts) {
    let i = 0;
    if (fill > 0) {
      const take = Math.min(32 - fill, p.length);
      TAIL.set(p.subarray(0, take), fill);
      fill += take;
      i = take;
      if (fill < 32) continue;
      s.packet(TAIL, 0);
      fill = 0;
    }
    for (; i + 32 <= p.length; i += 32) s.packet(p, i);
    if (i < p.length) {
      TAIL.set(p.subarray(i), 0);
      fill = p.length - i;
    }
  }
  if (fill > 0) s.remainder(TAIL.slice(0, fill));
  return s.finish();
}
