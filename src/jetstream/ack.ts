/**
 * The reply subject of a delivered message, which clients parse for its metadata and publish
 * their acknowledgement to: `$JS.ACK.<stream>.<consumer>.<delivered count>.<stream seq>.
 * <consumer seq>.<timestamp ns>.<pending>` (nats-server 2.9's nine-token form), and the
 * acknowledgement payloads it accepts.
 */

/**
 * Prints a nanosecond timestamp (a double) as the integer Go prints. Past 2^53 a double cannot
 * hold every nanosecond, so the value is printed from its microseconds (which it holds exactly).
 */
export function formatNanos(ns: number): string {
  if (ns < Number.MAX_SAFE_INTEGER) return String(Math.round(ns));
  return String(Math.round(ns / 1000)) + "000";
}

/** The `$JS.ACK.<stream>.<consumer>.` prefix; the rest is appended per delivery. */
export function ackPrefix(stream: string, consumer: string): string {
  return `$JS.ACK.${stream}.${consumer}.`;
}

export function ackReply(
  prefix: string,
  dc: number,
  sseq: number,
  dseq: number,
  ts: number,
  pending: number,
): string {
  return `${prefix}${dc}.${sseq}.${dseq}.${formatNanos(ts)}.${pending}`;
}

/** What the ack subject says; -1 where a token is not a number (nats-server's parseAckReplyNum). */
export interface AckInfo {
  sseq: number;
  dseq: number;
  dc: number;
}

/** The number in `s[start, end)`; -1 when empty or not all digits. */
function num(s: string, start: number, end: number): number {
  if (end <= start) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Parses an ack subject; null when it is not a nine-token `$JS.ACK.` subject. It runs for every
 * ack, so it finds the dots in place rather than splitting (each ack subject is unique, and
 * splitting such strings is slow in V8; see tokenEnds in sublist.ts). `prefixLen`: the length
 * of a `$JS.ACK.<stream>.<consumer>.` prefix the caller knows the subject has (its
 * subscription's), so the scan starts after it.
 */
export function parseAckSubject(subject: string, prefixLen = 0): AckInfo | null {
  let at = prefixLen;
  if (at === 0) {
    if (!subject.startsWith("$JS.ACK.")) return null;
    // Stream and consumer tokens.
    const s = subject.indexOf(".", 8);
    if (s < 0) return null;
    const c = subject.indexOf(".", s + 1);
    if (c < 0) return null;
    at = c + 1;
  }
  const d1 = subject.indexOf(".", at);
  const d2 = d1 < 0 ? -1 : subject.indexOf(".", d1 + 1);
  const d3 = d2 < 0 ? -1 : subject.indexOf(".", d2 + 1);
  const d4 = d3 < 0 ? -1 : subject.indexOf(".", d3 + 1);
  if (d4 < 0 || subject.indexOf(".", d4 + 1) >= 0) return null;
  return {
    dc: num(subject, at, d1),
    sseq: num(subject, d1 + 1, d2),
    dseq: num(subject, d2 + 1, d3),
  };
}

/** The kinds of acknowledgement a consumer understands. */
export enum AckKind {
  Ack,
  Next,
  Nak,
  Progress,
  Term,
  Unknown,
}

const ASCII = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const ACK = ASCII("+ACK");
const OK = ASCII("+OK");
const NAK = ASCII("-NAK");
const WPI = ASCII("+WPI");
const NXT = ASCII("+NXT");
const TERM = ASCII("+TERM");

function startsWith(b: Uint8Array, p: Uint8Array): boolean {
  if (b.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (b[i] !== p[i]) return false;
  return true;
}

function equals(b: Uint8Array, p: Uint8Array): boolean {
  return b.length === p.length && startsWith(b, p);
}

/** Classifies an ack payload as nats-server's processAck does (empty means +ACK). */
export function ackKind(msg: Uint8Array): AckKind {
  if (msg.length === 0 || equals(msg, ACK) || equals(msg, OK)) return AckKind.Ack;
  if (startsWith(msg, NXT)) return AckKind.Next;
  if (startsWith(msg, NAK)) return AckKind.Nak;
  if (equals(msg, WPI)) return AckKind.Progress;
  if (equals(msg, TERM)) return AckKind.Term;
  return AckKind.Unknown;
}

/** The length of the `+NXT` / `-NAK` prefix, for the argument that follows. */
export const ACK_PREFIX_LEN = 4;
