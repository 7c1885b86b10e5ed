/**
 * The NATS protocol parser: walks a byte buffer once, by index, and calls the connection for each
 * complete op. It never decodes a payload and never copies one; an op split across reads is left
 * unconsumed (the caller keeps the tail and reads more after it), except that a PUB whose control
 * line was already processed is remembered, so its side effects (errors, stats) happen once.
 *
 * Op names are matched byte by byte, case-insensitively, so a bad op is reported as soon as its
 * first wrong byte arrives, as nats-server does; arguments are located with one newline search.
 */

import { NO_BYTES } from "./bytes.ts";

export const OP_PUB = 1;
export const OP_HPUB = 2;
export const OP_SUB = 3;
export const OP_UNSUB = 4;
export const OP_PING = 5;
export const OP_PONG = 6;
export const OP_CONNECT = 7;
export const OP_INFO = 8;
export const OP_OK = 9;
export const OP_ERR = 10;
/** Route ops: RS+ and RS- (interest), RMSG and HMSG (routed messages). */
export const OP_RSUB = 11;
export const OP_RUNSUB = 12;
export const OP_RMSG = 13;
export const OP_HMSG = 14;
/**
 * Leafnode ops: LS+ and LS- (interest), LMSG (messages; HMSG when they carry headers). Routes
 * use them too, for interest and messages that came from a leafnode cluster (with its name).
 */
export const OP_LSUB = 15;
export const OP_LUNSUB = 16;
export const OP_LMSG = 17;

interface OpName {
  name: Uint8Array;
  op: number;
  /** Ops whose arguments are ignored up to the newline (PING, PONG, +OK). */
  noArgs: boolean;
  /** CONNECT and INFO: the argument may follow the name directly (nats-server's parser). */
  glued: boolean;
}

function opName(name: string, op: number, noArgs = false, glued = false): OpName {
  return { name: new TextEncoder().encode(name), op, noArgs, glued };
}

const CLIENT_OPS: OpName[] = [
  opName("PUB", OP_PUB),
  opName("HPUB", OP_HPUB),
  opName("SUB", OP_SUB),
  opName("UNSUB", OP_UNSUB),
  opName("PING", OP_PING, true),
  opName("PONG", OP_PONG, true),
  opName("CONNECT", OP_CONNECT, false, true),
  opName("INFO", OP_INFO, false, true),
  opName("+OK", OP_OK, true),
  opName("-ERR", OP_ERR),
  // A route op that nats-server's parser reads from clients too (see Client.processMsgArgs).
  opName("HMSG", OP_HMSG),
];

const ROUTE_OPS: OpName[] = [
  ...CLIENT_OPS.filter((o) => o.op !== OP_PUB && o.op !== OP_HPUB && o.op !== OP_HMSG),
  opName("RS+", OP_RSUB),
  opName("RS-", OP_RUNSUB),
  opName("RMSG", OP_RMSG),
  opName("HMSG", OP_HMSG),
  opName("LS+", OP_LSUB),
  opName("LS-", OP_LUNSUB),
  opName("LMSG", OP_LMSG),
];

const LEAF_OPS: OpName[] = [
  ...CLIENT_OPS.filter((o) => o.op > OP_UNSUB),
  opName("LS+", OP_LSUB),
  opName("LS-", OP_LUNSUB),
  opName("LMSG", OP_LMSG),
  opName("HMSG", OP_HMSG),
];

/** Index of the op table by first (upper-cased) byte, so matching looks at 1-4 candidates. */
function indexOps(ops: OpName[]): (OpName[] | undefined)[] {
  const idx: (OpName[] | undefined)[] = new Array(256);
  for (const o of ops) (idx[o.name[0]] ??= []).push(o);
  return idx;
}

export const CLIENT_OP_INDEX = indexOps(CLIENT_OPS);
const PUB_OP = CLIENT_OPS[0];
export const ROUTE_OP_INDEX = indexOps(ROUTE_OPS);
export const LEAF_OP_INDEX = indexOps(LEAF_OPS);

const SUBJECT_DECODER = new TextDecoder();

/**
 * Arguments of the message op being parsed, as offsets into the current buffer. One instance per
 * connection, reused for every message.
 */
export class PubArg {
  subjectStart = 0;
  subjectEnd = 0;
  /** replyStart === replyEnd when there is no reply subject. */
  replyStart = 0;
  replyEnd = 0;
  /** Header length, or -1 for a message without headers. */
  hdr = -1;
  size = 0;
  /** The size digits as sent, copied verbatim into MSG lines. */
  sizeStart = 0;
  sizeEnd = 0;
  hdrStart = 0;
  hdrEnd = 0;
  /** Routes: account name, and queue names for RMSG with `+`/`|`. */
  accountStart = 0;
  accountEnd = 0;
  queuesStart = 0;
  queuesEnd = 0;
  payloadStart = 0;
  /** The buffer the offsets point into, for the subject when it is decoded lazily. */
  src: Uint8Array = NO_BYTES;
  #subject: string | null = "";

  /**
   * The subject as a string: given by the connection when it has one (its subject cache), else
   * decoded from `src` on first read. Most messages are routed without it (the subject list is
   * searched by bytes), so a subject seen once is never decoded; it is read only while the
   * message is being processed, when `src` still holds it.
   */
  get subject(): string {
    return this.#subject ??= SUBJECT_DECODER.decode(
      this.src.subarray(this.subjectStart, this.subjectEnd),
    );
  }

  set subject(s: string) {
    this.#subject = s;
  }

  /** The subject is src[subjectStart, subjectEnd), to be decoded if someone asks for it. */
  subjectFrom(src: Uint8Array): void {
    this.src = src;
    this.#subject = null;
  }

  shift(delta: number): void {
    this.subjectStart += delta;
    this.subjectEnd += delta;
    this.replyStart += delta;
    this.replyEnd += delta;
    this.sizeStart += delta;
    this.sizeEnd += delta;
    this.hdrStart += delta;
    this.hdrEnd += delta;
    this.accountStart += delta;
    this.accountEnd += delta;
    this.queuesStart += delta;
    this.queuesEnd += delta;
    this.payloadStart += delta;
  }
}

/** What the parser needs from a connection. Handlers return false when the connection closed. */
export interface ParserHost {
  readonly opIndex: (OpName[] | undefined)[];
  readonly maxControlLine: number;
  readonly pa: PubArg;
  /** When set after an op, parsing stops after that op until the caller resumes it. */
  readonly paused: unknown;
  /**
   * Control line of PUB/HPUB/RMSG/HMSG, already split into the parser's `tokens`: fill `pa`,
   * validate; false stops parsing.
   */
  processMsgArgs(op: number, buf: Uint8Array, start: number, end: number): boolean;
  /** The message payload is complete at pa.payloadStart, pa.size bytes (headers included). */
  processMsg(op: number, buf: Uint8Array): void;
  /** Any other op with its argument bytes [start, end) (empty for PING/PONG/+OK). */
  processOp(op: number, buf: Uint8Array, start: number, end: number): boolean;
  /**
   * An unknown or malformed op at index i; the connection sends the error and closes. `state`
   * is the number nats-server's parser state machine would be in there (its logs print it).
   */
  parseError(buf: Uint8Array, i: number, end: number, state: number): void;
  /** A control line longer than max_control_line. */
  controlLineTooLong(buf: Uint8Array, start: number, end: number): void;
}

/** Where an op cut by the end of a read resumes. */
const NONE = 0;
/** After PING/PONG/+OK: ignore bytes up to the newline (kept: nothing). */
const TO_NEWLINE = 1;
/** After an op name that takes arguments: spaces and tabs (kept: nothing). */
const SPACES = 2;
/** Inside the argument line (kept: the line so far). */
const ARGS = 3;
/** Control line processed, payload incomplete (kept: from the arguments on). */
const PAYLOAD = 4;
/** Routes may list many queue groups on one RMSG; more tokens than this is malformed. */
const MAX_MSG_TOKENS = 64;
/** parse() stops: the connection keeps bytes from `#keep` and reads more. */
const STOP = -2;
/**
 * The token positions of the message line being processed, shared by every parser: they are
 * filled and read within one synchronous parse call (the host reads them in processMsgArgs),
 * so one array serves all connections instead of a typed array (an ArrayBuffer) each.
 */
const TOKENS = new Int32Array(2 * MAX_MSG_TOKENS);

export class Parser {
  #phase = NONE;
  #op: OpName | null = null;
  /** SPACES: whether the one required space or tab was seen. */
  #sawSpace = false;
  /** PAYLOAD: where the kept bytes started when the control line was processed. */
  #pendingStart = 0;
  #keep = 0;
  /** Whether the parser is between ops (nothing of an op kept from the last read). */
  get idle(): boolean {
    return this.#phase === NONE;
  }

  /** Total bytes (from the kept start) a pending message needs; lets the caller size its buffer. */
  needed = 0;
  /**
   * Tokens of the last message control line, as [start, end) pairs (see #scanMsgLine); valid
   * only during the processMsgArgs call that follows the scan (the array is shared).
   */
  readonly tokens = TOKENS;
  /** How many tokens the line had (may exceed what `tokens` holds: then it is malformed). */
  ntokens = 0;
  /** FNV-1a hashes of the first and second token. */
  hash0 = 0;
  hash1 = 0;

  /**
   * Parses buf[start, end). Returns the index of the first byte to keep for the next read (the
   * rest of a cut op; bytes that carry no information, such as spaces, are consumed), or -1 when
   * the connection was closed by a handler or a protocol error. Memory held for a cut op is
   * therefore bounded by max_control_line plus the payload size.
   */
  parse(host: ParserHost, buf: Uint8Array, start: number, end: number): number {
    this.needed = 0;
    let i = start;
    if (this.#phase !== NONE) {
      i = this.#resume(host, buf, start, end);
      if (i === STOP) return this.#keep;
      if (i < 0) return -1;
      if (host.paused !== null) return i;
    }
    const index = host.opIndex;
    const clientOps = index === CLIENT_OP_INDEX;
    while (i < end) {
      const opStart = i;
      // The hot case first: a client's "PUB " (any case), straight to its arguments.
      if (
        clientOps && i + 4 < end && (buf[i] | 32) === 112 && (buf[i + 1] | 32) === 117 &&
        (buf[i + 2] | 32) === 98 && (buf[i + 3] === 32 || buf[i + 3] === 9)
      ) {
        i = this.#spaces(host, PUB_OP, buf, i + 4, end, true);
        if (i === STOP) return this.#keep;
        if (i < 0) return -1;
        continue;
      }
      // Match the op name, byte by byte and case-insensitively.
      const cands = index[buf[i] >= 97 && buf[i] <= 122 ? buf[i] - 32 : buf[i]];
      if (cands === undefined) {
        host.parseError(buf, i, end, GO_OP_START);
        return -1;
      }
      let op: OpName | null = null;
      let partial = false;
      let badAt = i;
      let badOp = cands[0];
      for (const c of cands) {
        const n = c.name;
        let k = 1;
        while (k < n.length && i + k < end) {
          let b = buf[i + k];
          if (b >= 97 && b <= 122) b -= 32;
          if (b !== n[k]) break;
          k++;
        }
        if (k === n.length) {
          op = c;
          break;
        }
        if (i + k >= end) partial = true;
        else if (i + k > badAt) {
          badAt = i + k;
          badOp = c;
        }
      }
      if (op === null) {
        if (partial) return opStart;
        host.parseError(buf, badAt, end, goState(badOp, badAt - i));
        return -1;
      }
      const a = i + op.name.length;
      i = op.noArgs
        ? this.#toNewline(host, op, buf, a, end)
        : this.#spaces(host, op, buf, a, end, op.glued);
      if (i === STOP) return this.#keep;
      if (i < 0) return -1;
      if (host.paused !== null) return i;
    }
    return i;
  }

  #resume(host: ParserHost, buf: Uint8Array, start: number, end: number): number {
    const op = this.#op!;
    const phase = this.#phase;
    this.#phase = NONE;
    switch (phase) {
      case TO_NEWLINE:
        return this.#toNewline(host, op, buf, start, end);
      case SPACES:
        return this.#spaces(host, op, buf, start, end, this.#sawSpace);
      case ARGS:
        return this.#args(host, op, buf, start, end);
      default: {
        host.pa.shift(start - this.#pendingStart);
        return this.#payload(host, op, buf, start, end);
      }
    }
  }

  #stop(phase: number, op: OpName, keep: number): number {
    this.#phase = phase;
    this.#op = op;
    this.#keep = keep;
    return STOP;
  }

  /** PING, PONG, +OK: anything up to the newline is ignored, as nats-server does. */
  #toNewline(host: ParserHost, op: OpName, buf: Uint8Array, a: number, end: number): number {
    const nl = buf.indexOf(10, a);
    if (nl < 0 || nl >= end) return this.#stop(TO_NEWLINE, op, end);
    if (!host.processOp(op.op, buf, a, a)) return -1;
    return nl + 1;
  }

  /** At least one space or tab after the op name, then any number of them. */
  #spaces(
    host: ParserHost,
    op: OpName,
    buf: Uint8Array,
    a: number,
    end: number,
    sawSpace: boolean,
  ): number {
    if (!sawSpace) {
      if (a >= end) {
        this.#sawSpace = false;
        return this.#stop(SPACES, op, end);
      }
      if (buf[a] !== 32 && buf[a] !== 9) {
        host.parseError(buf, a, end, goState(op, op.name.length));
        return -1;
      }
      a++;
    }
    while (a < end && (buf[a] === 32 || buf[a] === 9)) a++;
    if (a >= end) {
      this.#sawSpace = true;
      return this.#stop(SPACES, op, end);
    }
    return this.#args(host, op, buf, a, end);
  }

  /**
   * One pass over a message's control line (the hot path): finds the newline, splits the tokens
   * on spaces and tabs into `tokens`, and hashes the first two (a client's subject, or a route's
   * account and subject) for the connection's subject cache. Returns the newline's index or -1.
   */
  #scanMsgLine(buf: Uint8Array, a: number, end: number): number {
    const t = this.tokens;
    const max = t.length >> 1;
    let n = 0;
    let s = -1;
    let h = 0x811c9dc5 | 0;
    let i = a;
    // nats-server takes the argument's first byte as it is, even a CR or LF.
    if (buf[a] === 10 || buf[a] === 13) {
      s = a;
      h = Math.imul(h ^ buf[a], 0x01000193);
      i = a + 1;
    }
    for (; i < end; i++) {
      const b = buf[i];
      if (b === 32 || b === 9 || b === 10 || (b === 13 && i + 1 < end && buf[i + 1] === 10)) {
        if (s >= 0) {
          if (n < max) {
            t[2 * n] = s;
            t[2 * n + 1] = i;
          }
          if (n === 0) this.hash0 = h;
          else if (n === 1) this.hash1 = h;
          n++;
          s = -1;
          h = 0x811c9dc5 | 0;
        }
        if (b === 10) break;
      } else {
        if (s < 0) s = i;
        h = Math.imul(h ^ b, 0x01000193);
      }
    }
    this.ntokens = n;
    return i < end ? i : -1;
  }

  /** The argument line up to its newline, then the op (and a message's payload). */
  #args(host: ParserHost, op: OpName, buf: Uint8Array, a: number, end: number): number {
    const code = op.op;
    const isMsg = code === OP_PUB || code === OP_HPUB || code === OP_RMSG || code === OP_HMSG ||
      code === OP_LMSG;
    let nl = isMsg ? this.#scanMsgLine(buf, a, end) : buf.indexOf(10, a + 1);
    if (nl >= end) nl = -1;
    if (nl < 0) {
      if (end - a > host.maxControlLine) {
        host.controlLineTooLong(buf, a, end);
        return -1;
      }
      return this.#stop(ARGS, op, a);
    }
    let argEnd = nl;
    if (nl - 1 > a) {
      if (buf[nl - 1] === 13) argEnd = nl - 1;
      else if (hasCR(buf, a + 1, nl)) argEnd = this.#dropLast(nl, isMsg);
    }
    if (argEnd - a > host.maxControlLine) {
      host.controlLineTooLong(buf, a, argEnd);
      return -1;
    }
    if (isMsg) {
      if (!host.processMsgArgs(code, buf, a, argEnd)) return -1;
      host.pa.payloadStart = nl + 1;
      this.#pendingStart = a;
      return this.#payload(host, op, buf, a, end);
    }
    if (!host.processOp(code, buf, a, argEnd)) return -1;
    return nl + 1;
  }

  /**
   * A line ending in a bare LF but holding a CR: nats-server's parser then drops the byte before
   * the LF (its "drop" flag is set by any CR in the argument). Rare, so off the hot path; for a
   * message line the last token loses that byte too.
   */
  #dropLast(nl: number, isMsg: boolean): number {
    if (isMsg && this.ntokens > 0 && this.ntokens <= this.tokens.length >> 1) {
      const k = 2 * (this.ntokens - 1);
      if (this.tokens[k + 1] === nl) {
        if (this.tokens[k] === nl - 1) this.ntokens--;
        else this.tokens[k + 1] = nl - 1;
      }
    }
    return nl - 1;
  }

  /** The payload and its CRLF; `keepFrom` is where the kept bytes begin if it is cut. */
  #payload(host: ParserHost, op: OpName, buf: Uint8Array, keepFrom: number, end: number): number {
    const r = this.#finishMsg(host, buf, keepFrom, end, op.op);
    if (r < 0) return -1;
    if (r === 0) {
      this.#pendingStart = keepFrom;
      return this.#stop(PAYLOAD, op, keepFrom);
    }
    return r;
  }

  /** Returns the index after the message, 0 when more bytes are needed, -1 on error. */
  #finishMsg(
    host: ParserHost,
    buf: Uint8Array,
    opStart: number,
    end: number,
    op: number,
  ): number {
    const pa = host.pa;
    const pend = pa.payloadStart + pa.size;
    if (pend < end && buf[pend] !== 13) {
      host.parseError(buf, pend, end, GO_MSG_END_R);
      return -1;
    }
    if (pend + 1 < end && buf[pend + 1] !== 10) {
      host.parseError(buf, pend + 1, end, GO_MSG_END_N);
      return -1;
    }
    if (pend + 2 > end) {
      this.needed = pend + 2 - opStart;
      return 0;
    }
    host.processMsg(op, buf);
    return pend + 2;
  }
}

function hasCR(buf: Uint8Array, from: number, to: number): boolean {
  const i = buf.indexOf(13, from);
  return i >= 0 && i < to;
}

/**
 * nats-server's parser states (their numbers appear in its "parser ERROR, state=N" logs), by
 * the op-name prefix read when the bad byte came: "PI" is OP_PI (34). Route ops map to the
 * states nats-server shares with them (RS+ to OP_SUB, RMSG to OP_MSG).
 */
const GO_OP_START = 0;
const GO_MSG_END_R = 41;
const GO_MSG_END_N = 42;
const GO_STATES: Record<string, number> = {
  "+": 1,
  "+O": 2,
  "+OK": 3,
  "-": 4,
  "-E": 5,
  "-ER": 6,
  "-ERR": 7,
  "C": 10,
  "CO": 11,
  "CON": 12,
  "CONN": 13,
  "CONNE": 14,
  "CONNEC": 15,
  "CONNECT": 16,
  "H": 18,
  "HP": 19,
  "HPU": 20,
  "HPUB": 21,
  "HM": 24,
  "HMS": 25,
  "HMSG": 26,
  "P": 29,
  "PU": 30,
  "PUB": 31,
  "PI": 34,
  "PIN": 35,
  "PING": 36,
  "PO": 37,
  "PON": 38,
  "PONG": 39,
  "S": 43,
  "SU": 44,
  "SUB": 45,
  "R": 57,
  "RS": 58,
  "RS+": 45,
  "RS-": 63,
  "RM": 66,
  "RMS": 67,
  "RMSG": 68,
  "U": 59,
  "UN": 60,
  "UNS": 61,
  "UNSU": 62,
  "UNSUB": 63,
  "I": 71,
  "IN": 72,
  "INF": 73,
  "INFO": 74,
};

function goState(op: OpName, matched: number): number {
  const prefix = String.fromCharCode(...op.name.subarray(0, matched));
  return GO_STATES[prefix] ?? GO_OP_START;
}

/**
 * Splits an argument line on spaces, tabs, CRs and LFs (nats-server's splitArg) into [start, end)
 * pairs; returns the count.
 */
export function splitArgs(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Int32Array,
): number {
  let n = 0;
  let s = -1;
  const max = out.length >> 1;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b === 32 || b === 9 || b === 13 || b === 10) {
      if (s >= 0) {
        if (n >= max) return max + 1;
        out[2 * n] = s;
        out[2 * n + 1] = i;
        n++;
        s = -1;
      }
    } else if (s < 0) {
      s = i;
    }
  }
  if (s >= 0) {
    if (n >= max) return max + 1;
    out[2 * n] = s;
    out[2 * n + 1] = end;
    n++;
  }
  return n;
}

/** nats-server's parseSize reads at most 9 digits: a longer size field is "bad or missing". */
const MAX_SIZE_DIGITS = 9;

/** Parses decimal digits as nats-server's parseSize does: -1 for empty, non-digit or too long. */
export function parseSize(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 0 || len > MAX_SIZE_DIGITS) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
