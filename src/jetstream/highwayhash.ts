/**
 * HighwayHash-64 (Google's keyed hash), which nats-server 2.9 uses for the checksums of its
 * file store: each message record in a block, and the `meta.sum` beside each `meta.inf`. Our
 * snapshot archives carry them so that nats-server accepts the archives we write. Written from
 * the published algorithm with BigInt lanes: simple rather than fast (a snapshot hashes each
 * message once).
 */

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

const INIT0 = [0xdbe6d5d5fe4cce2fn, 0xa4093822299f31d0n, 0x13198a2e03707344n, 0x243f6a8885a308d3n];
const INIT1 = [0x3bd39e10cb0ef593n, 0xc0acf169b5f18a8cn, 0xbe5466cf34e90c6cn, 0x452821e638d01377n];

function swapHalves(x: bigint): bigint {
  return ((x >> 32n) | (x << 32n)) & M64;
}

class State {
  v0: bigint[];
  v1: bigint[];
  mul0: bigint[];
  mul1: bigint[];

  constructor(key: Uint8Array) {
    const dv = new DataView(key.buffer, key.byteOffset, 32);
    const k = [0, 1, 2, 3].map((i) => dv.getBigUint64(i * 8, true));
    this.mul0 = [...INIT0];
    this.mul1 = [...INIT1];
    this.v0 = k.map((x, i) => INIT0[i] ^ x);
    this.v1 = k.map((x, i) => INIT1[i] ^ swapHalves(x));
  }

  update(lanes: bigint[]): void {
    const { v0, v1, mul0, mul1 } = this;
    for (let i = 0; i < 4; i++) {
      v1[i] = (v1[i] + lanes[i] + mul0[i]) & M64;
      mul0[i] ^= ((v1[i] & M32) * (v0[i] >> 32n)) & M64;
      v0[i] = (v0[i] + mul1[i]) & M64;
      mul1[i] ^= ((v0[i] & M32) * (v1[i] >> 32n)) & M64;
    }
    zipperMerge(v1, 0, 1, v0);
    zipperMerge(v1, 2, 3, v0);
    zipperMerge(v0, 0, 1, v1);
    zipperMerge(v0, 2, 3, v1);
  }

  packet(b: Uint8Array, at: number): void {
    const dv = new DataView(b.buffer, b.byteOffset + at, 32);
    this.update([0, 1, 2, 3].map((i) => dv.getBigUint64(i * 8, true)));
  }

  /** The final partial packet (1..31 bytes). */
  remainder(b: Uint8Array): void {
    const n = b.length;
    const mod = (BigInt(n) << 32n) + BigInt(n);
    for (let i = 0; i < 4; i++) this.v0[i] = (this.v0[i] + mod) & M64;
    for (let i = 0; i < 4; i++) {
      const lo = Number(this.v1[i] & M32);
      const hi = Number(this.v1[i] >> 32n);
      const rl = ((lo << n) | (lo >>> (32 - n))) >>> 0;
      const rh = ((hi << n) | (hi >>> (32 - n))) >>> 0;
      this.v1[i] = (BigInt(rh) << 32n) | BigInt(rl);
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

  finish(): bigint {
    for (let r = 0; r < 4; r++) {
      const v0 = this.v0;
      this.update([swapHalves(v0[2]), swapHalves(v0[3]), swapHalves(v0[0]), swapHalves(v0[1])]);
    }
    return (this.v0[0] + this.v1[0] + this.mul0[0] + this.mul1[0]) & M64;
  }
}

function zipperMerge(src: bigint[], a: number, b: number, dst: bigint[]): void {
  const v0 = src[a];
  const v1 = src[b];
  const B = (x: bigint, byte: number) => x & (0xffn << BigInt(byte * 8));
  const d0 = (B(v0, 2) + (B(v1, 7) >> 8n) + ((B(v0, 5) + B(v1, 6)) >> 16n) +
    ((B(v0, 3) + B(v1, 4)) >> 24n) + (B(v0, 1) << 32n) + ((v0 << 56n) & M64)) & M64;
  const d1 = ((B(v0, 7) + B(v1, 2)) + (B(v0, 6) >> 8n) + (B(v1, 5) >> 16n) +
    ((B(v1, 3) + B(v0, 4)) >> 24n) + ((v1 & 0xffn) << 48n) + (B(v1, 1) << 24n)) & M64;
  dst[a] = (dst[a] + d0) & M64;
  dst[b] = (dst[b] + d1) & M64;
}

/** HighwayHash-64 of the concatenated `parts` under a 32-byte key, as 8 little-endian bytes. */
export function highwayHash64(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  const s = new State(key);
  const full = total - (total % 32);
  for (let i = 0; i < full; i += 32) s.packet(data, i);
  if (total > full) s.remainder(data.subarray(full));
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, s.finish(), true);
  return out;
}
