/**
 * A connection's outbound bytes: one growing buffer that every message is appended to, written
 * with at most one write in flight. While a write is in flight new bytes go to a second buffer;
 * the two swap when the write completes. Coalescing is what makes small messages fast
 * (DENO-NET.md §2: ~95x over one write per message), and the single in-flight write is what
 * keeps the bytes in order (overlapping unawaited writes lost data in the same measurements).
 */

import type { Transport } from "./transport.ts";
import { NO_BYTES } from "./bytes.ts";

const MIN_SIZE = 512;
/** A quiet connection's buffer larger than this is given back (see shrinkIfIdle). */
const KEEP_SIZE = 64 * 1024;

export class Outbound {
  buf: Uint8Array;
  len = 0;
  #spare: Uint8Array | null = null;
  /** Bytes handed to the transport and not yet written. */
  inFlight = 0;
  /** Size of the write in flight, for the slow consumer report. */
  batch = 0;
  writing = false;
  /** When the in-flight write started (ms); the write deadline is checked against it. */
  writeStart = 0;
  /** Total bytes and flushes, for stats. */
  flushes = 0;
  #drainWaiters: { limit: number; resolve: () => void }[] = [];

  constructor(initial = MIN_SIZE) {
    this.buf = new Uint8Array(initial);
  }

  get pending(): number {
    return this.len + this.inFlight;
  }

  /** Makes room for n more bytes and returns the buffer to write into at `len`. */
  reserve(n: number): Uint8Array {
    const need = this.len + n;
    if (need > this.buf.length) {
      // Empty while a write is in flight: the buffer written last is taken back if it fits.
      const spare = this.#spare;
      if (this.len === 0 && spare !== null && spare.length >= need) {
        this.buf = spare;
        this.#spare = null;
        return spare;
      }
      let size = Math.max(MIN_SIZE, this.buf.length * 2);
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    return this.buf;
  }

  append(bytes: Uint8Array): void {
    const b = this.reserve(bytes.length);
    b.set(bytes, this.len);
    this.len += bytes.length;
  }

  /**
   * Writes everything pending, looping because a Deno write may complete partially. Resolves
   * when the buffer is empty or the transport failed (then `onError` was called).
   */
  async flush(conn: Transport, now: () => number, onError: (e: unknown) => void): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.len > 0) {
        const out = this.buf;
        const n = this.len;
        // The spare buffer, if any, takes new bytes during the write; if there is none, one is
        // made only when something is appended meanwhile (see reserve), so a connection that
        // sends a little at a time (most) holds one buffer, not two.
        const spare = this.#spare;
        this.buf = spare !== null && spare.length >= MIN_SIZE ? spare : NO_BYTES;
        this.#spare = null;
        this.len = 0;
        this.inFlight = n;
        this.batch = n;
        this.writeStart = now();
        let off = 0;
        while (off < n) {
          off += await conn.write(off === 0 && n === out.length ? out : out.subarray(off, n));
          this.inFlight = n - off;
        }
        this.flushes++;
        this.#wakeDrainWaiters();
        // Keep the written buffer for the next swap, whatever its size: under load both
        // buffers settle at the working size instead of regrowing from 512 B after each write.
        this.#spare = out;
      }
    } catch (e) {
      this.inFlight = 0;
      this.len = 0;
      onError(e);
    } finally {
      this.writing = false;
      this.inFlight = 0;
      this.#wakeDrainWaiters();
    }
  }

  /**
   * Gives memory back once a connection has gone quiet (called from the server's shared tick
   * for connections with no recent output), so an idle connection holds only a small buffer.
   */
  shrinkIfIdle(): void {
    if (this.writing || this.len > 0) return;
    this.#spare = null;
    if (this.buf.length > KEEP_SIZE) this.buf = new Uint8Array(MIN_SIZE);
  }

  /** Resolves when nothing is pending (or the connection closed). */
  drained(): Promise<void> {
    return this.below(1);
  }

  /** Resolves once fewer than `limit` bytes are pending (or the connection closed). */
  below(limit: number): Promise<void> {
    if (this.pending < limit) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push({ limit, resolve }));
  }

  #wakeDrainWaiters(all = false): void {
    if (this.#drainWaiters.length === 0) return;
    const pending = this.pending;
    const keep: { limit: number; resolve: () => void }[] = [];
    for (const w of this.#drainWaiters) {
      if (all || pending < w.limit) w.resolve();
      else keep.push(w);
    }
    this.#drainWaiters = keep;
  }

  /** The connection closed: drop the buffers and release anyone waiting on them. */
  release(): void {
    this.len = 0;
    this.buf = NO_BYTES;
    this.#spare = null;
    this.#wakeDrainWaiters(true);
  }
}
