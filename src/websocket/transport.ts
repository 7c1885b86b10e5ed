/**
 * A websocket connection as a plain byte stream (our Transport), so the client protocol code
 * runs on it unchanged: reads unwrap frames into the caller's buffer (payload bytes only,
 * unmasked, inflated when compressed), writes wrap whatever the outbound buffer coalesced into
 * binary frames. Control frames are answered here (ping -> pong, close -> close) and never reach
 * the parser. Errors and close codes follow nats-server's websocket.go.
 */

import type * as nodeZlib from "node:zlib";
import { nodeBuiltin } from "../node_builtin.ts";

/** node:zlib, loaded with the first compressed frame (see node_builtin.ts). */
const zlibOf = (): typeof nodeZlib => nodeBuiltin<typeof nodeZlib>("node:zlib");
import type { Transport } from "../transport.ts";
import type { Upgrade } from "./handshake.ts";
import {
  BROWSER_FRAME_SIZE,
  CLOSE_INVALID_PAYLOAD,
  CLOSE_MESSAGE_TOO_BIG,
  CLOSE_NO_STATUS,
  CLOSE_PROTOCOL_ERROR,
  closePayload,
  closeStatusFor,
  COMPRESS_THRESHOLD,
  controlFrame,
  MASK_BIT,
  MAX_CONTROL_PAYLOAD,
  MAX_HEADER,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  unmask,
  writeHeader,
} from "./frames.ts";

/**
 * Completes a frame whose header (without mask) is `out[0, h)`: sets the mask bit, appends a
 * random key and the masked payload. Returns the frame's length.
 */
function maskFrame(out: Uint8Array, h: number, payload: Uint8Array): number {
  out[1] |= MASK_BIT;
  crypto.getRandomValues(out.subarray(h, h + 4));
  const key = ((out[h] << 24) | (out[h + 1] << 16) | (out[h + 2] << 8) | out[h + 3]) >>> 0;
  out.set(payload, h + 4);
  unmask(out, h + 4, h + 4 + payload.length, key, 0);
  return h + 4 + payload.length;
}

/** A frame broke the websocket protocol; the connection ends (as a read error). */
export class WsProtocolError extends Error {
  override name = "WsProtocolError";
}

const MIN_RAW = 512;
const MAX_RAW = 64 * 1024 + MAX_HEADER;
/** Frames up to this size are copied behind their header and written once; larger ones twice. */
const COPY_LIMIT = 16 * 1024;
/** RFC 7692 §7.2.2: the tail a sender strips and the receiver puts back before inflating. */
const DEFLATE_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

export interface WsTransportOptions {
  /** Largest inflated message accepted (a compressed frame could otherwise expand unbounded). */
  maxInflated: number;
  /** How long a close frame may take to go out when the connection is closed. */
  closeTimeoutMs: number;
  /** Reports a protocol error (nats-server logs "read error: ..."). */
  onError: (msg: string) => void;
  /** Told when close() starts, with a promise of the end of the last write. */
  onClosing?: (finished: Promise<void>) => void;
  /**
   * Mask what we send, as a websocket client must (a leafnode connection we make; nats-server
   * skips it when the other side accepted Nats-No-Masking).
   */
  maskWrites?: boolean;
}

export class WsTransport implements Transport {
  readonly inner: Transport;
  readonly upgrade: Upgrade;
  /** The close reason of the connection on top (set by the listener), for the close frame. */
  reasonOf: () => string = () => "";
  #o: WsTransportOptions;

  // ---- read side: raw bytes and the frame being read ----
  #raw = new Uint8Array(MIN_RAW);
  #rpos = 0;
  #rend = 0;
  #growRaw = false;
  #inFrame = false;
  #rem = 0;
  #masked = false;
  #key = 0;
  #phase = 0;
  /** The current message's last frame has been seen (no continuation expected). */
  #msgFinal = true;
  #msgCompressed = false;
  #cbufs: Uint8Array[] = [];
  #clen = 0;
  #inflated: Uint8Array | null = null;
  #ipos = 0;
  #error: Error | null = null;
  #closeReceived = false;
  #eof = false;

  // ---- write side: one chain, so control frames never cut into a data frame ----
  #chain: Promise<void> = Promise.resolve();
  #scratch: Uint8Array | null = null;
  #closeSent = false;
  #closed = false;
  #finished: Promise<void> = Promise.resolve();

  constructor(inner: Transport, upgrade: Upgrade, o: WsTransportOptions) {
    this.inner = inner;
    this.upgrade = upgrade;
    this.#o = o;
  }

  // ---- Reading ----

  async read(buf: Uint8Array): Promise<number | null> {
    while (true) {
      // Closed under a pending read: the buffers are gone, and so is the stream.
      if (this.#closed) return null;
      const inf = this.#inflated;
      if (inf !== null) {
        const n = Math.min(buf.length, inf.length - this.#ipos);
        buf.set(inf.subarray(this.#ipos, this.#ipos + n));
        this.#ipos += n;
        if (this.#ipos === inf.length) this.#inflated = null;
        return n;
      }
      if (this.#error) throw this.#error;
      if (this.#closeReceived || this.#eof) return null;
      const n = this.#decode(buf);
      if (n > 0) return n;
      if (this.#inflated !== null || this.#error || this.#closeReceived) continue;
      await this.#fill(buf.length);
    }
  }

  /** Reads more raw bytes, keeping an unfinished frame header at the front. */
  async #fill(want: number): Promise<void> {
    const kept = this.#rend - this.#rpos;
    let raw = this.#raw;
    // The raw buffer follows the caller's (which adapts to the traffic): big under load, small
    // when idle, since a pending read pins it.
    let size = raw.length;
    if (this.#growRaw && size < MAX_RAW) size = Math.min(MAX_RAW, size * 2);
    else if (kept === 0 && size > 2 * Math.max(MIN_RAW, want)) size = Math.max(MIN_RAW, want);
    this.#growRaw = false;
    if (size !== raw.length) {
      const next = new Uint8Array(size);
      next.set(raw.subarray(this.#rpos, this.#rend));
      raw = this.#raw = next;
    } else if (this.#rpos > 0) {
      raw.copyWithin(0, this.#rpos, this.#rend);
    }
    this.#rpos = 0;
    this.#rend = kept;
    const n = await this.inner.read(raw.subarray(kept));
    if (n === null) {
      this.#eof = true;
      return;
    }
    this.#rend += n;
    if (this.#rend === raw.length) this.#growRaw = true;
  }

  /**
   * Walks the raw bytes: frame headers are consumed, control frames answered, data payloads
   * unmasked into `buf` (or gathered for inflating). Returns the payload bytes written.
   */
  #decode(buf: Uint8Array): number {
    const raw = this.#raw;
    let out = 0;
    while (this.#rpos < this.#rend) {
      if (!this.#inFrame) {
        if (!this.#header()) break;
        if (this.#closeReceived || this.#inflated !== null) break;
        continue;
      }
      const avail = this.#rend - this.#rpos;
      if (this.#msgCompressed) {
        const k = Math.min(this.#rem, avail);
        const part = raw.slice(this.#rpos, this.#rpos + k);
        if (this.#masked) this.#phase = unmask(part, 0, k, this.#key, this.#phase);
        this.#cbufs.push(part);
        this.#clen += k;
        this.#rpos += k;
        this.#rem -= k;
        if (this.#rem === 0) {
          this.#inFrame = false;
          if (this.#msgFinal && !this.#inflate()) break;
          if (this.#inflated !== null) break;
        }
        continue;
      }
      const space = buf.length - out;
      if (space === 0) break;
      const k = Math.min(this.#rem, avail, space);
      buf.set(raw.subarray(this.#rpos, this.#rpos + k), out);
      if (this.#masked) this.#phase = unmask(buf, out, out + k, this.#key, this.#phase);
      out += k;
      this.#rpos += k;
      this.#rem -= k;
      if (this.#rem === 0) this.#inFrame = false;
    }
    return out;
  }

  /**
   * Consumes one frame header (and a whole control frame) when enough bytes are there. Returns
   * false when more bytes are needed or the frame broke the protocol.
   */
  #header(): boolean {
    const raw = this.#raw;
    const p = this.#rpos;
    const avail = this.#rend - p;
    if (avail < 2) return false;
    const b0 = raw[p];
    const b1 = raw[p + 1];
    const op = b0 & 0x0f;
    const final = (b0 & 0x80) !== 0;
    const compressed = (b0 & 0x40) !== 0;
    const masked = (b1 & 0x80) !== 0;
    // Clients must mask, unless they asked not to (Nats-No-Masking) in the upgrade.
    if (!masked && !this.upgrade.noMasking) return this.#protocolError("mask bit missing");
    let len = b1 & 0x7f;
    switch (op) {
      case OP_CLOSE:
      case OP_PING:
      case OP_PONG:
        if (len > MAX_CONTROL_PAYLOAD) {
          return this.#protocolError(
            `control frame length bigger than maximum allowed of ${MAX_CONTROL_PAYLOAD} bytes`,
          );
        }
        if (!final) return this.#protocolError("control frame does not have final bit set");
        break;
      case OP_TEXT:
      case OP_BINARY:
        if (!this.#msgFinal) {
          return this.#protocolError(
            "new message started before final frame for previous message was received",
          );
        }
        break;
      case OP_CONTINUATION:
        if (this.#msgFinal || compressed) return this.#protocolError("invalid continuation frame");
        break;
      default:
        return this.#protocolError(`unknown opcode ${op}`);
    }
    const ext = len === 126 ? 2 : len === 127 ? 8 : 0;
    const hlen = 2 + ext + (masked ? 4 : 0);
    if (avail < hlen) return false;
    if (ext === 2) {
      len = (raw[p + 2] << 8) | raw[p + 3];
    } else if (ext === 8) {
      const hi = ((raw[p + 2] << 24) | (raw[p + 3] << 16) | (raw[p + 4] << 8) | raw[p + 5]) >>> 0;
      const lo = ((raw[p + 6] << 24) | (raw[p + 7] << 16) | (raw[p + 8] << 8) | raw[p + 9]) >>> 0;
      len = hi * 0x100000000 + lo;
    }
    const key = masked
      ? ((raw[p + hlen - 4] << 24) | (raw[p + hlen - 3] << 16) | (raw[p + hlen - 2] << 8) |
        raw[p + hlen - 1]) >>> 0
      : 0;
    if (op >= OP_CLOSE) {
      if (avail < hlen + len) return false;
      const payload = raw.slice(p + hlen, p + hlen + len);
      if (masked) unmask(payload, 0, len, key, 0);
      this.#rpos = p + hlen + len;
      this.#control(op, payload);
      return true;
    }
    if (op !== OP_CONTINUATION) this.#msgCompressed = compressed;
    this.#msgFinal = final;
    this.#masked = masked;
    this.#key = key;
    this.#phase = 0;
    this.#rem = len;
    this.#rpos = p + hlen;
    this.#inFrame = len > 0;
    if (len === 0 && this.#msgCompressed && final) return this.#inflate();
    return true;
  }

  #control(op: number, payload: Uint8Array): void {
    if (op === OP_PING) {
      this.#sendControl(controlFrame(OP_PONG, payload));
    } else if (op === OP_CLOSE) {
      // Echo the status (1005 when none was given), as nats-server does, then end the stream.
      let status = CLOSE_NO_STATUS;
      let body = "";
      if (payload.length >= 2) {
        status = (payload[0] << 8) | payload[1];
        if (payload.length > 2) {
          try {
            body = utf8.decode(payload.subarray(2));
          } catch {
            status = CLOSE_INVALID_PAYLOAD;
            body = "invalid utf8 body in close frame";
          }
        }
      }
      this.#closeReceived = true;
      this.#sendClose(status, body);
    }
  }

  /** Inflates the gathered message; false (with the error set) when it does not inflate. */
  #inflate(): boolean {
    const parts = this.#cbufs;
    const all = new Uint8Array(this.#clen + DEFLATE_TAIL.length);
    let at = 0;
    for (const part of parts) {
      all.set(part, at);
      at += part.length;
    }
    all.set(DEFLATE_TAIL, at);
    this.#cbufs = [];
    this.#clen = 0;
    this.#msgCompressed = false;
    try {
      const { inflateRawSync, constants: zlib } = zlibOf();
      const out = inflateRawSync(all, {
        finishFlush: zlib.Z_SYNC_FLUSH,
        maxOutputLength: this.#o.maxInflated,
      });
      if (out.length > 0) {
        this.#inflated = new Uint8Array(out.buffer, out.byteOffset, out.length);
        this.#ipos = 0;
      }
      return true;
    } catch (e) {
      if (e instanceof RangeError) {
        return this.#protocolError("decompressed message too big", CLOSE_MESSAGE_TOO_BIG);
      }
      this.#error = new WsProtocolError((e as Error).message);
      this.#o.onError(`read error: ${(e as Error).message}`);
      return false;
    }
  }

  /** Ends the stream with a close frame carrying the problem (sent once). */
  #protocolError(msg: string, status = CLOSE_PROTOCOL_ERROR): false {
    this.#error = new WsProtocolError(msg);
    this.#o.onError(`read error: ${msg}`);
    this.#sendClose(status, msg);
    return false;
  }

  // ---- Writing ----

  /** Frames the coalesced output (one binary message, compressed when negotiated). */
  write(buf: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("websocket closed"));
    const n = buf.length;
    return this.#enqueue(() => this.#writeMessage(buf)).then(() => n);
  }

  async #writeMessage(buf: Uint8Array): Promise<void> {
    const up = this.upgrade;
    let payload = buf;
    let compressed = false;
    if (up.compress && buf.length > COMPRESS_THRESHOLD) {
      const { deflateRawSync, constants: zlib } = zlibOf();
      const z = deflateRawSync(buf, { level: 1, finishFlush: zlib.Z_SYNC_FLUSH });
      // Without the 00 00 ff ff tail a sync flush ends with (RFC 7692 §7.2.1).
      payload = new Uint8Array(z.buffer, z.byteOffset, z.length - 4);
      compressed = true;
    }
    const len = payload.length;
    if (up.browser && len > BROWSER_FRAME_SIZE && !(compressed && up.noCompressedFragments)) {
      await this.#writeAll(this.#fragments(payload, compressed));
      return;
    }
    if (this.#o.maskWrites) {
      const out = this.#scratchFor(len + MAX_HEADER);
      const h = writeHeader(out, 0, OP_BINARY, len, true, compressed);
      await this.#writeAll(out.subarray(0, maskFrame(out, h, payload)));
      return;
    }
    if (len <= COPY_LIMIT) {
      const out = this.#scratchFor(len + MAX_HEADER);
      const h = writeHeader(out, 0, OP_BINARY, len, true, compressed);
      out.set(payload, h);
      await this.#writeAll(out.subarray(0, h + len));
      return;
    }
    const head = new Uint8Array(MAX_HEADER);
    const h = writeHeader(head, 0, OP_BINARY, len, true, compressed);
    await this.#writeAll(head.subarray(0, h));
    await this.#writeAll(payload);
  }

  /**
   * Output cut into 4 KiB frames for browsers, as nats-server does: separate messages when
   * plain, one fragmented message (compressed bit on the first frame only) when compressed.
   */
  #fragments(payload: Uint8Array, compressed: boolean): Uint8Array {
    const len = payload.length;
    const frames = Math.ceil(len / BROWSER_FRAME_SIZE);
    const out = new Uint8Array(len + frames * 4);
    let p = 0;
    for (let off = 0; off < len; off += BROWSER_FRAME_SIZE) {
      const n = Math.min(BROWSER_FRAME_SIZE, len - off);
      const first = off === 0;
      const last = off + n === len;
      if (compressed) {
        p += writeHeader(out, p, first ? OP_BINARY : OP_CONTINUATION, n, last, first);
      } else {
        p += writeHeader(out, p, OP_BINARY, n, true, false);
      }
      out.set(payload.subarray(off, off + n), p);
      p += n;
    }
    return out.subarray(0, p);
  }

  #scratchFor(size: number): Uint8Array {
    let s = this.#scratch;
    if (s === null || s.length < size) {
      s = this.#scratch = new Uint8Array(Math.max(size, 256));
    }
    return s;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.inner.write(bytes.subarray(off));
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const p = this.#chain.then(fn);
    this.#chain = p.catch(() => {});
    return p;
  }

  #sendControl(frame: Uint8Array): void {
    if (this.#closed || this.#closeSent) return;
    if (this.#o.maskWrites) {
      const out = new Uint8Array(frame.length + 4);
      out.set(frame.subarray(0, 2));
      frame = out.subarray(0, maskFrame(out, 2, frame.subarray(2)));
    }
    this.#enqueue(() => this.#writeAll(frame)).catch(() => {});
  }

  #sendClose(status: number, reason: string): void {
    if (this.#closeSent) return;
    this.#sendControl(controlFrame(OP_CLOSE, closePayload(status, reason)));
    this.#closeSent = true;
  }

  /**
   * Closes the connection. A close frame for the reason goes out first, unless one was already
   * sent or the reason says the connection is broken (nats-server's list).
   */
  close(): void {
    if (this.#closed) return;
    if (!this.#closeSent) {
      const reason = this.reasonOf();
      const status = closeStatusFor(reason);
      if (status !== null) this.#sendClose(status, reason);
      else this.#closeSent = true;
    }
    this.#closed = true;
    this.#scratch = null;
    this.#raw = new Uint8Array(0);
    this.#rpos = this.#rend = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, this.#o.closeTimeoutMs)));
    this.#finished = Promise.race([this.#chain, timeout]).then(() => {
      clearTimeout(timer);
      try {
        this.inner.close();
      } catch {
        // already closed
      }
    });
    this.#o.onClosing?.(this.#finished);
  }
}
