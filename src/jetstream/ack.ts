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

function num(s: string): number {
  if (s.length === 0) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Parses an ack subject; null when it is not a nine-token `$JS.ACK.` subject. */
export function parseAckSubject(subject: string): AckInfo | null {
  const t = subject.split(".");
  if (t.length !== 9 || t[0] !== "$JS" || t[1] !== "ACK") return null;
  return { dc: num(t[4]), sseq: num(t[5]), dseq: num(t[6]) };
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
