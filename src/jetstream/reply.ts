/**
 * The messages JetStream sends once per published, delivered or acknowledged message (publish
 * acks, deliveries, ack confirmations), laid out exactly as buildMsg (message.ts) lays out a
 * message, but written byte by byte into one allocation: no TextEncoder call and no
 * intermediate strings per message. A subject or reply that is not ASCII takes buildMsg's path.
 */

import { buildMsg, type Msg } from "../message.ts";
import { PubArg } from "../parser.ts";
import { NO_BYTES } from "../bytes.ts";

const enc = new TextEncoder();

/** Decimal digits of a non-negative integer below 2^53. */
function digits(n: number): number {
  if (n < 1e8) {
    if (n < 1e4) return n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : 4;
    return n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : 8;
  }
  if (n < 1e16) {
    if (n < 1e12) return n < 1e9 ? 9 : n < 1e10 ? 10 : n < 1e11 ? 11 : 12;
    return n < 1e13 ? 13 : n < 1e14 ? 14 : n < 1e15 ? 15 : 16;
  }
  let d = 17;
  for (let v = n / 1e17; v >= 1; v /= 10) d++;
  return d;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/**
 * A message to `subject` (no reply, no headers) whose body is `prefix`, the decimal `n`, then
 * `suffix` (all ASCII): `{"stream":"S", "seq":` 42 `}` for a publish ack.
 */
export function numberedMsg(
  subject: string,
  prefix: Uint8Array,
  n: number,
  suffix: number,
): Msg {
  if (!isAscii(subject)) {
    const body = new Uint8Array(prefix.length + digits(n) + 1);
    body.set(prefix);
    writeDigits(body, prefix.length, n);
    body[body.length - 1] = suffix;
    return buildMsg(subject, "", null, body);
  }
  const size = prefix.length + digits(n) + 1;
  const buf = new Uint8Array(subject.length + 3 + digits(size) + size + 2);
  const pa = new PubArg();
  writeNumbered(buf, pa, subject, size, prefix, n, suffix);
  return { buf, pa };
}

/**
 * numberedMsg's bytes into `buf` and its arguments into `pa`: `subject` SP (empty reply) SP (no
 * header size) SP size, as buildMsg writes the line, then the body.
 */
function writeNumbered(
  buf: Uint8Array,
  pa: PubArg,
  subject: string,
  size: number,
  prefix: Uint8Array,
  n: number,
  suffix: number,
): void {
  const sl = subject.length;
  const sd = digits(size);
  const line = sl + 3 + sd;
  for (let i = 0; i < sl; i++) buf[i] = subject.charCodeAt(i);
  buf[sl] = 32;
  buf[sl + 1] = 32;
  buf[sl + 2] = 32;
  writeDigits(buf, sl + 3, size, sd);
  buf.set(prefix, line);
  writeDigits(buf, line + prefix.length, n);
  buf[line + size - 1] = suffix;
  buf[line + size] = 13;
  buf[line + size + 1] = 10;
  setArgs(pa, subject, sl, 0, 0, sd, -1, size);
}

/** buildMsg(subject, reply, hdr, data), for ASCII subject and reply. */
export function fastMsg(
  subject: string,
  reply: string,
  hdr: Uint8Array | null,
  data: Uint8Array,
): Msg {
  if (!isAscii(subject) || !isAscii(reply)) return buildMsg(subject, reply, hdr, data);
  const hl = hdr === null ? 0 : hdr.length;
  const size = hl + data.length;
  const sl = subject.length, rl = reply.length;
  const hd = hdr === null ? 0 : digits(hl);
  const sd = digits(size);
  // `subject` SP `reply` SP [header size] SP size
  const hdrStart = sl + rl + 2;
  const sizeStart = hdrStart + hd + 1;
  const line = sizeStart + sd;
  const buf = new Uint8Array(line + size + 2);
  for (let i = 0; i < sl; i++) buf[i] = subject.charCodeAt(i);
  buf[sl] = 32;
  for (let i = 0; i < rl; i++) buf[sl + 1 + i] = reply.charCodeAt(i);
  writeTail(buf, hdrStart, hd, sd, hdr, data, size);
  const pa = new PubArg();
  setArgs(pa, subject, sl, rl, hd, sd, hdr === null ? -1 : hl, size);
  return { buf, pa };
}

/**
 * Everything after the reply in a message laid out as buildMsg lays it out: SP [header size] SP
 * size CRLF, then header, data and CRLF. `hd` and `sd` are the digits of the two sizes.
 */
function writeTail(
  buf: Uint8Array,
  hdrStart: number,
  hd: number,
  sd: number,
  hdr: Uint8Array | null,
  data: Uint8Array,
  size: number,
): void {
  const sizeStart = hdrStart + hd + 1;
  const line = sizeStart + sd;
  buf[hdrStart - 1] = 32;
  if (hdr !== null) writeDigits(buf, hdrStart, hdr.length, hd);
  buf[sizeStart - 1] = 32;
  writeDigits(buf, sizeStart, size, sd);
  let p = line;
  if (hdr !== null) {
    buf.set(hdr, p);
    p += hdr.length;
  }
  if (data.length <= 32) { for (let i = 0; i < data.length; i++) buf[p + i] = data[i]; }
  else buf.set(data, p);
  buf[line + size] = 13;
  buf[line + size + 1] = 10;
}

/**
 * The arguments of a message laid out as buildMsg lays it out: `subject` SP reply (rl bytes) SP
 * header size (hd digits) SP size (sd digits); `hl` the header's length, -1 for none.
 */
function setArgs(
  pa: PubArg,
  subject: string,
  sl: number,
  rl: number,
  hd: number,
  sd: number,
  hl: number,
  size: number,
): void {
  const hdrStart = sl + rl + 2;
  const sizeStart = hdrStart + hd + 1;
  pa.subjectStart = 0;
  pa.subjectEnd = sl;
  pa.replyStart = sl + 1;
  pa.replyEnd = sl + 1 + rl;
  pa.hdrStart = hdrStart;
  pa.hdrEnd = hdrStart + hd;
  pa.sizeStart = sizeStart;
  pa.sizeEnd = sizeStart + sd;
  pa.hdr = hl;
  pa.size = size;
  pa.payloadStart = sizeStart + sd;
  pa.subject = subject;
}

/** An empty message to `subject` (an ack confirmation). */
export function emptyMsg(subject: string): Msg {
  if (!isAscii(subject)) return buildMsg(subject, "", null, NO_BYTES);
  const sl = subject.length;
  const line = sl + 4;
  const buf = new Uint8Array(line + 2);
  for (let i = 0; i < sl; i++) buf[i] = subject.charCodeAt(i);
  buf[sl] = 32;
  buf[sl + 1] = 32;
  buf[sl + 2] = 32;
  buf[sl + 3] = 48; // "0"
  buf[line] = 13;
  buf[line + 1] = 10;
  const pa = new PubArg();
  setArgs(pa, subject, sl, 0, 0, 1, -1, 0);
  return { buf, pa };
}

/** Writes n's `nd` digits at `at` (nd = digits(n), passed when the caller has it). */
function writeDigits(buf: Uint8Array, at: number, n: number, nd = digits(n)): void {
  let end = at + nd;
  if (n >= 0x80000000) {
    // Timestamps and such: the low 8 digits in small-integer arithmetic, then the rest.
    const hi = Math.floor(n / 1e8);
    let lo = n - hi * 1e8;
    for (let k = 0; k < 8; k++) {
      const q = (lo / 10) | 0;
      buf[--end] = 48 + lo - q * 10;
      lo = q;
    }
    n = hi;
    if (n >= 0x80000000) {
      do {
        const q = Math.floor(n / 10);
        buf[--end] = 48 + n - q * 10;
        n = q;
      } while (n > 0);
      return;
    }
  }
  do {
    const q = (n / 10) | 0;
    buf[--end] = 48 + n - q * 10;
    n = q;
  } while (n > 0);
}

/** Characters formatNanos (ack.ts) prints for `ts`. */
export function nanosLength(ts: number): number {
  return ts < Number.MAX_SAFE_INTEGER ? digits(Math.round(ts)) : digits(Math.round(ts / 1000)) + 3;
}

function writeNanos(buf: Uint8Array, at: number, ts: number): number {
  if (ts < Number.MAX_SAFE_INTEGER) {
    const n = Math.round(ts);
    writeDigits(buf, at, n);
    return at + digits(n);
  }
  const us = Math.round(ts / 1000);
  writeDigits(buf, at, us);
  at += digits(us);
  buf[at] = buf[at + 1] = buf[at + 2] = 48;
  return at + 3;
}

/** Length of the reply subject of a delivery (see MsgScratch.delivery). */
export function ackReplyLength(
  prefixLen: number,
  dc: number,
  sseq: number,
  dseq: number,
  ts: number,
  pending: number,
): number {
  return prefixLen + digits(dc) + digits(sseq) + digits(dseq) + nanosLength(ts) + digits(pending) +
    4;
}

/**
 * One reusable buffer for messages that are routed as soon as they are built and not kept:
 * each call overwrites the previous message. Use it only outside internal deliveries (in a
 * microtask or timer of its own): there publishInternal has handed the bytes to every receiver
 * (copied into outbound buffers, or run the internal handlers, which read them during the call)
 * by the time it returns.
 */
export class MsgScratch {
  #buf = new Uint8Array(4096);
  readonly #pa = new PubArg();
  readonly #msg: Msg = { buf: this.#buf, pa: this.#pa };

  #reserve(n: number): Uint8Array {
    if (n > this.#buf.length) {
      this.#buf = new Uint8Array(Math.max(n, this.#buf.length * 2));
      this.#msg.buf = this.#buf;
    }
    return this.#buf;
  }

  /** As numberedMsg, into this buffer. */
  numbered(subject: string, prefix: Uint8Array, n: number, suffix: number): Msg {
    if (!isAscii(subject)) return numberedMsg(subject, prefix, n, suffix);
    const size = prefix.length + digits(n) + 1;
    const buf = this.#reserve(subject.length + 3 + digits(size) + size + 2);
    writeNumbered(buf, this.#pa, subject, size, prefix, n, suffix);
    return this.#msg;
  }

  /**
   * A consumer's delivery, as fastMsg(subject, reply, hdr, data) with the reply subject
   * `<prefix><dc>.<sseq>.<dseq>.<ts>.<pending>` (ack.ts ackReply) written in place, routed to
   * `dest` (pa.subject): the subject in the MSG line stays the stream message's. Null when the
   * subject is not ASCII (the caller takes the general path).
   */
  delivery(
    dest: string,
    subject: string,
    prefix: Uint8Array,
    dc: number,
    sseq: number,
    dseq: number,
    ts: number,
    pending: number,
    hdr: Uint8Array | null,
    data: Uint8Array,
  ): Msg | null {
    if (!isAscii(subject)) return null;
    const dcd = digits(dc), sqd = digits(sseq), dqd = digits(dseq), pd = digits(pending);
    const tsd = nanosLength(ts);
    const rl = prefix.length + dcd + sqd + dqd + tsd + pd + 4;
    const hl = hdr === null ? 0 : hdr.length;
    const size = hl + data.length;
    const sl = subject.length;
    const hd = hdr === null ? 0 : digits(hl);
    const sd = digits(size);
    const hdrStart = sl + rl + 2;
    const sizeStart = hdrStart + hd + 1;
    const line = sizeStart + sd;
    const buf = this.#reserve(line + size + 2);
    for (let i = 0; i < sl; i++) buf[i] = subject.charCodeAt(i);
    buf[sl] = 32;
    let p = sl + 1;
    buf.set(prefix, p);
    p += prefix.length;
    writeDigits(buf, p, dc, dcd);
    p += dcd;
    buf[p++] = 46;
    writeDigits(buf, p, sseq, sqd);
    p += sqd;
    buf[p++] = 46;
    writeDigits(buf, p, dseq, dqd);
    p += dqd;
    buf[p++] = 46;
    p = writeNanos(buf, p, ts);
    buf[p++] = 46;
    writeDigits(buf, p, pending, pd);
    writeTail(buf, hdrStart, hd, sd, hdr, data, size);
    setArgs(this.#pa, dest, sl, rl, hd, sd, hdr === null ? -1 : hl, size);
    return this.#msg;
  }
}

/** ASCII text as bytes (prefixes built once per stream). */
export function asciiBytes(s: string): Uint8Array {
  return enc.encode(s);
}
