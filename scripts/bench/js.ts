/**
 * JetStream load generators for the benchmark, on the raw protocol (no client library, so the
 * generator is not what limits the rate). One connection reader (`JsConn`) parses MSG and HMSG
 * frames by byte offsets and hands each to a handler; the roles on top:
 *
 *   requests  N operations, each one PUB with its own reply subject (`_INBOX.<id>.<n>`, as the
 *             official clients make them), at most `window` waiting for their reply: window 1 is
 *             a synchronous publish (or KV put/get), window 1000 an asynchronous publish. The
 *             replies are checked: a publish ack must be `{"stream":...}`, a direct get a
 *             message (not a status such as 404).
 *   consume   a durable pull consumer (explicit ack) drained of N messages: pull requests of
 *             `batch` messages, the next one sent when half of what was asked has arrived (as the
 *             clients' consume() refills), and a `+ACK` published to each message's reply
 *             subject. The run ends when CONSUMER.INFO shows every message acknowledged.
 *
 * Every write is what one read produced (acks, next requests), so the generator batches as a
 * client under load does, and it waits for nothing but the server.
 */

import { payload, wallMs, writeAll } from "./raw.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** As the JetStream clients connect: headers on (direct get replies and statuses are HMSG). */
const CONNECT =
  'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"name":"bench-js"}\r\n';

/** A frame handler: sid, the reply subject's and the body's offsets in `buf` (valid now only). */
export type FrameHandler = (
  buf: Uint8Array,
  sid: number,
  replyStart: number,
  replyEnd: number,
  hdrLen: number,
  bodyStart: number,
  bodyEnd: number,
) => void;

/** A raw NATS connection with a frame parser and one output buffer written once per read. */
export class JsConn {
  readonly conn: Deno.TcpConn;
  #buf = new Uint8Array(256 * 1024);
  #len = 0;
  #out = new Uint8Array(64 * 1024);
  #outLen = 0;
  #handlers = new Map<number, FrameHandler>();
  #pongs: (() => void)[] = [];
  #error = "";
  #closed = false;
  /** Set on every read; a watchdog uses it to detect a stall. */
  lastRead = 0;
  #loop: Promise<void> | null = null;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async open(port: number): Promise<JsConn> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const c = new JsConn(conn);
    c.#loop = c.#readLoop();
    c.text(CONNECT);
    await c.ping();
    return c;
  }

  get error(): string {
    return this.#error;
  }

  /** Subscribes `subject` as `sid`; frames for it go to `h`. */
  sub(subject: string, sid: number, h: FrameHandler): void {
    this.#handlers.set(sid, h);
    this.text(`SUB ${subject} ${sid}\r\n`);
  }

  /** Appends protocol text to the output buffer. */
  text(s: string): void {
    this.bytes(enc.encode(s));
  }

  /** Appends bytes to the output buffer. */
  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#out.set(b, this.#outLen);
    this.#outLen += b.length;
  }

  /** Appends an ASCII string (no encoding step). */
  ascii(s: string): void {
    this.#reserve(s.length);
    const o = this.#out;
    let n = this.#outLen;
    for (let i = 0; i < s.length; i++) o[n++] = s.charCodeAt(i);
    this.#outLen = n;
  }

  /** Appends a decimal number. */
  num(v: number): void {
    this.ascii(String(v));
  }

  /** Appends `buf[start, end)`. */
  slice(buf: Uint8Array, start: number, end: number): void {
    this.#reserve(end - start);
    this.#out.set(buf.subarray(start, end), this.#outLen);
    this.#outLen += end - start;
  }

  #reserve(n: number): void {
    if (this.#outLen + n <= this.#out.length) return;
    const grown = new Uint8Array(Math.max(this.#out.length * 2, this.#outLen + n));
    grown.set(this.#out.subarray(0, this.#outLen));
    this.#out = grown;
  }

  /** Writes what is buffered (one write). */
  async flush(): Promise<void> {
    if (this.#outLen === 0) return;
    const b = this.#out.subarray(0, this.#outLen);
    this.#outLen = 0;
    // The buffer is reused only after the write completes.
    await writeAll(this.conn, b);
  }

  /** Writes what is buffered plus PING, and waits for the PONG. */
  async ping(timeoutMs = 30_000): Promise<void> {
    const p = new Promise<void>((r) => this.#pongs.push(r));
    this.text("PING\r\n");
    await this.flush();
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        t = setTimeout(
          () => rej(new Error(this.#error || "timed out waiting for PONG")),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(t));
  }

  /** Called after each read has been parsed (handlers ran); may write. */
  afterRead: () => Promise<void> | void = () => this.flush();

  async #readLoop(): Promise<void> {
    try {
      while (true) {
        if (this.#len === this.#buf.length) {
          const grown = new Uint8Array(this.#buf.length * 2);
          grown.set(this.#buf);
          this.#buf = grown;
        }
        const n = await this.conn.read(this.#buf.subarray(this.#len));
        if (n === null) {
          if (!this.#closed) this.#fail("server closed the connection");
          return;
        }
        this.lastRead = wallMs();
        this.#len += n;
        const used = this.#parse();
        if (used < this.#len) this.#buf.copyWithin(0, used, this.#len);
        this.#len -= used;
        await this.afterRead();
      }
    } catch (e) {
      if (!this.#closed) this.#fail(`connection: ${e}`);
    }
  }

  #fail(msg: string): void {
    if (this.#error === "") this.#error = msg;
  }

  /** Parses whole frames from the buffer; returns the bytes consumed. */
  #parse(): number {
    const b = this.#buf;
    const len = this.#len;
    let i = 0;
    while (i < len) {
      const nl = b.indexOf(10, i);
      if (nl < 0 || nl >= len) break;
      const c = b[i];
      if (c === 77 || c === 72) { // MSG / HMSG
        const hmsg = c === 72;
        // Fields: subject sid [reply] [hdrLen] totalLen, separated by single spaces.
        const starts: number[] = [];
        const ends: number[] = [];
        let j = i + (hmsg ? 5 : 4);
        const lineEnd = b[nl - 1] === 13 ? nl - 1 : nl;
        while (j < lineEnd) {
          while (j < lineEnd && b[j] === 32) j++;
          if (j >= lineEnd) break;
          const s = j;
          while (j < lineEnd && b[j] !== 32) j++;
          starts.push(s);
          ends.push(j);
        }
        const nf = starts.length;
        const total = intAt(b, starts[nf - 1], ends[nf - 1]);
        const hdrLen = hmsg ? intAt(b, starts[nf - 2], ends[nf - 2]) : 0;
        const hasReply = nf === (hmsg ? 5 : 4);
        const bodyStart = nl + 1;
        if (bodyStart + total + 2 > len) break;
        const h = this.#handlers.get(intAt(b, starts[1], ends[1]));
        if (h !== undefined) {
          h(
            b,
            intAt(b, starts[1], ends[1]),
            hasReply ? starts[2] : 0,
            hasReply ? ends[2] : 0,
            hdrLen,
            bodyStart,
            bodyStart + total,
          );
        }
        i = bodyStart + total + 2;
        continue;
      }
      const line = dec.decode(b.subarray(i, nl + 1));
      if (line.startsWith("PING")) this.text("PONG\r\n");
      else if (line.startsWith("PONG")) this.#pongs.shift()?.();
      else if (line.startsWith("-ERR")) this.#fail(`server error: ${line.trim()}`);
      i = nl + 1;
    }
    return i;
  }

  close(): void {
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
  }

  async closed(): Promise<void> {
    this.close();
    await this.#loop;
  }
}

function intAt(b: Uint8Array, s: number, e: number): number {
  let v = 0;
  for (let i = s; i < e; i++) v = v * 10 + b[i] - 48;
  return v;
}

// ---- API requests -----------------------------------------------------------------------------

const API_SID = 999;

/** Sequential JSON requests on a JsConn (setup and checks, not timed). */
export class JsApi {
  #c: JsConn;
  #n = 0;
  #wait: ((body: string) => void) | null = null;

  constructor(c: JsConn) {
    this.#c = c;
    c.sub("_INBOX.benchapi.*", API_SID, (buf, _sid, _rs, _re, hdrLen, bs, be) => {
      const w = this.#wait;
      this.#wait = null;
      w?.(dec.decode(buf.subarray(bs + hdrLen, be)));
    });
  }

  // deno-lint-ignore no-explicit-any
  async request(subject: string, body: unknown = ""): Promise<any> {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    const data = enc.encode(text);
    const p = new Promise<string>((r) => this.#wait = r);
    this.#c.text(`PUB ${subject} _INBOX.benchapi.${++this.#n} ${data.length}\r\n`);
    this.#c.bytes(data);
    this.#c.text("\r\n");
    await this.#c.flush();
    let t: ReturnType<typeof setTimeout> | undefined;
    const reply = await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        t = setTimeout(
          () => rej(new Error(this.#c.error || `no reply to ${subject}`)),
          30_000,
        );
      }),
    ]).finally(() => clearTimeout(t));
    return reply === "" ? {} : JSON.parse(reply);
  }

  /** A request whose reply must not be an API error. */
  // deno-lint-ignore no-explicit-any
  async ok(subject: string, body: unknown = ""): Promise<any> {
    const r = await this.request(subject, body);
    if (r.error) throw new Error(`${subject}: ${JSON.stringify(r.error)}`);
    return r;
  }
}

// ---- requests role ----------------------------------------------------------------------------

export interface RequestsCmd {
  cmd: "requests";
  port: number;
  /** Subject of op i: `${subject}` or, with `keys`, `${subject}${i % keys}`. */
  subject: string;
  keys?: number;
  /** Payload bytes (0 for a direct get). */
  size: number;
  count: number;
  window: number;
  /** What a reply must be: a publish ack, or a message from a direct get. */
  expect: "ack" | "msg";
  /** Publishes before "ready", untimed (a KV bucket filled before gets): one per key. */
  prefill?: { subject: string; keys: number; size: number };
}

export interface RequestsResult {
  t0: number;
  t1: number;
  done: number;
  errors: number;
  firstError: string;
}

/** Runs `count` request operations with at most `window` in flight. */
export async function runRequests(
  c: JsConn,
  op: { subject: string; keys?: number; size: number; expect: "ack" | "msg" },
  count: number,
  window: number,
  sid: number,
): Promise<RequestsResult> {
  const inbox = `_INBOX.bench${sid}.`;
  const data = payload(op.size);
  const subjects: Uint8Array[] = [];
  const keys = op.keys ?? 0;
  for (let k = 0; k < Math.max(1, keys); k++) {
    subjects.push(enc.encode(keys > 0 ? `${op.subject}${k}` : op.subject));
  }
  const tail = enc.encode(` ${op.size}\r\n`);
  let sent = 0;
  let done = 0;
  let errors = 0;
  let firstError = "";
  let t1 = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => finish = r);
  const send = (n: number) => {
    for (let k = 0; k < n && sent < count; k++, sent++) {
      c.ascii("PUB ");
      c.bytes(subjects[keys > 0 ? sent % keys : 0]);
      c.ascii(" ");
      c.ascii(inbox);
      c.num(sent);
      c.bytes(tail);
      c.bytes(data);
      c.ascii("\r\n");
    }
  };
  c.sub(`${inbox}*`, sid, (buf, _sid, _rs, _re, hdrLen, bs, be) => {
    let ok: boolean;
    if (op.expect === "ack") {
      // `{"stream":...` is an ack, `{"error":...` is not.
      ok = hdrLen === 0 && be - bs > 3 && buf[bs + 2] === 115;
    } else {
      // A message has headers with no status: "NATS/1.0\r\n" (a 404 is "NATS/1.0 404 ...").
      ok = hdrLen >= 10 && buf[bs + 8] === 13;
    }
    if (!ok) {
      errors++;
      if (firstError === "") firstError = dec.decode(buf.subarray(bs, Math.min(be, bs + 200)));
    }
    done++;
    if (done === count) {
      t1 = wallMs();
      finish();
    } else send(1);
  });
  await c.ping();
  const t0 = wallMs();
  send(window);
  await c.flush();
  await watch(c, finished, () => done);
  return { t0, t1, done, errors, firstError };
}

/** Waits for `p`; fails when the connection fails or nothing progresses for 15 s. */
async function watch(c: JsConn, p: Promise<void>, progress: () => number): Promise<void> {
  let last = -1;
  let since = Date.now();
  let timer: ReturnType<typeof setInterval> | undefined;
  const stalled = new Promise<never>((_, rej) => {
    timer = setInterval(() => {
      if (c.error !== "") return rej(new Error(c.error));
      const now = progress();
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > 15_000) {
        rej(new Error(`stalled after ${now} operations`));
      }
    }, 100);
  });
  try {
    await Promise.race([p, stalled]);
  } finally {
    clearInterval(timer);
  }
}

// ---- consume role -----------------------------------------------------------------------------

export interface ConsumeCmd {
  cmd: "consume";
  port: number;
  stream: string;
  consumer: string;
  /** Messages to consume. */
  count: number;
  batch: number;
  /** Published (untimed, asynchronously) before "ready": the messages to consume. */
  prefill?: { subject: string; size: number };
}

export interface ConsumeResult {
  t0: number;
  /** Last message received. */
  tLast: number;
  /** Every ack confirmed by CONSUMER.INFO. */
  t1: number;
  received: number;
}

const ACK_TAIL = enc.encode(" 4\r\n+ACK\r\n");

/** Drains a pull consumer of `count` messages, acknowledging each. */
export async function runConsume(c: JsConn, api: JsApi, cmd: ConsumeCmd): Promise<ConsumeResult> {
  const next = `$JS.API.CONSUMER.MSG.NEXT.${cmd.stream}.${cmd.consumer}`;
  const req = enc.encode(JSON.stringify({ batch: cmd.batch }));
  let requested = 0;
  let received = 0;
  let reqs = 0;
  let tLast = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => finish = r);
  const pull = () => {
    const n = Math.min(cmd.batch, cmd.count - requested);
    if (n <= 0) return;
    requested += n;
    const body = n === cmd.batch ? req : enc.encode(JSON.stringify({ batch: n }));
    c.text(`PUB ${next} _INBOX.pull.${++reqs} ${body.length}\r\n`);
    c.bytes(body);
    c.ascii("\r\n");
  };
  c.sub("_INBOX.pull.*", 2, (buf, _sid, rs, re) => {
    if (re === rs) return; // a status (e.g. 408), not a message
    received++;
    c.ascii("PUB ");
    c.slice(buf, rs, re);
    c.bytes(ACK_TAIL);
    // Refill when half of what is outstanding has come (two requests in flight).
    if (requested - received <= cmd.batch) pull();
    if (received === cmd.count) {
      tLast = wallMs();
      finish();
    }
  });
  await c.ping();
  const t0 = wallMs();
  pull();
  pull();
  await c.flush();
  await watch(c, finished, () => received);
  await c.flush();
  // The acks are processed when the consumer says so.
  const info = `$JS.API.CONSUMER.INFO.${cmd.stream}.${cmd.consumer}`;
  for (let i = 0;; i++) {
    const ci = await api.ok(info);
    if (ci.num_ack_pending === 0 && ci.ack_floor?.stream_seq >= cmd.count) break;
    if (i > 3000) throw new Error(`acks not processed: ${JSON.stringify(ci)}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return { t0, tLast, t1: wallMs(), received };
}
