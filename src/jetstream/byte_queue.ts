/**
 * Bytes arriving in pieces (restore chunks, decoded S2 blocks) read back in the sizes a format
 * asks for, copying only when a read spans pieces.
 */
export class ByteQueue {
  #parts: Uint8Array[] = [];
  /** Offset into the first part. */
  #off = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(b: Uint8Array): void {
    if (b.length === 0) return;
    this.#parts.push(b);
    this.#length += b.length;
  }

  /** The next `n` bytes without consuming them (n <= length). */
  peek(n: number): Uint8Array {
    const first = this.#parts[0];
    if (first !== undefined && first.length - this.#off >= n) {
      return first.subarray(this.#off, this.#off + n);
    }
    const out = new Uint8Array(n);
    let o = 0;
    let off = this.#off;
    for (const p of this.#parts) {
      const take = Math.min(p.length - off, n - o);
      out.set(p.subarray(off, off + take), o);
      o += take;
      off = 0;
      if (o === n) break;
    }
    return out;
  }

  /** Consumes `n` bytes (n <= length). */
  skip(n: number): void {
    this.#length -= n;
    while (n > 0) {
      const p = this.#parts[0];
      const left = p.length - this.#off;
      if (n < left) {
        this.#off += n;
        return;
      }
      n -= left;
      this.#parts.shift();
      this.#off = 0;
    }
  }

  /** The next `n` bytes, consumed (n <= length). */
  take(n: number): Uint8Array {
    const b = this.peek(n);
    this.skip(n);
    return b;
  }
}
