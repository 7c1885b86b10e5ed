/**
 * The small messages JetStream sends once per published or acknowledged message (publish acks,
 * ack confirmations), laid out exactly as buildMsg (message.ts) lays out a message, but written
 * byte by byte into one allocation: no TextEncoder call and no intermediate strings per message.
 * A subject that is not ASCII takes buildMsg's general path.
 */

import { buildMsg, type Msg } from "../message.ts";
import { PubArg } from "../parser.ts";

const EMPTY = new Uint8Array(0);
const enc = new TextEncoder();

/** Decimal digits of a non-negative integer below 2^53. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
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
  const nd = digits(n);
  const size = prefix.length + nd + 1;
  const sd = digits(size);
  const sl = subject.length;
  // `subject` SP (empty reply) SP (no header size) SP size, as buildMsg writes the line.
  const line = sl + 3 + sd;
  const buf = new Uint8Array(line + size + 2);
  for (let i = 0; i < sl; i++) buf[i] = subject.charCodeAt(i);
  buf[sl] = 32;
  buf[sl + 1] = 32;
  buf[sl + 2] = 32;
  writeDigits(buf, sl + 3, size);
  buf.set(prefix, line);
  writeDigits(buf, line + prefix.length, n);
  buf[line + size - 1] = suffix;
  buf[line + size] = 13;
  buf[line + size + 1] = 10;
  return { buf, pa: plainArgs(subject, sl, sd, size, line) };
}

/** An empty message to `subject` (an ack confirmation). */
export function emptyMsg(subject: string): Msg {
  if (!isAscii(subject)) return buildMsg(subject, "", null, EMPTY);
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
  return { buf, pa: plainArgs(subject, sl, 1, 0, line) };
}

function plainArgs(subject: string, sl: number, sd: number, size: number, line: number): PubArg {
  const pa = new PubArg();
  pa.subjectStart = 0;
  pa.subjectEnd = sl;
  pa.replyStart = sl + 1;
  pa.replyEnd = sl + 1;
  pa.hdrStart = sl + 2;
  pa.hdrEnd = sl + 2;
  pa.sizeStart = sl + 3;
  pa.sizeEnd = sl + 3 + sd;
  pa.hdr = -1;
  pa.size = size;
  pa.payloadStart = line;
  pa.subject = subject;
  return pa;
}

function writeDigits(buf: Uint8Array, at: number, n: number): void {
  let end = at + digits(n);
  do {
    const q = Math.floor(n / 10);
    buf[--end] = 48 + n - q * 10;
    n = q;
  } while (n > 0);
}

/** ASCII text as bytes (prefixes built once per stream). */
export function asciiBytes(s: string): Uint8Array {
  return enc.encode(s);
}
