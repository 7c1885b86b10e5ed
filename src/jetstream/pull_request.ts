/**
 * Pull consumers: the `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` request (a batch number,
 * or JSON with batch, expires, max_bytes, no_wait, idle_heartbeat, decoded as Go decodes it) and
 * the queue of requests waiting for messages (nats-server's waitQueue: first come first served,
 * a request with more to take goes to the back after each message).
 */

import type { Account } from "../accounts/account.ts";
import { goDuration } from "../monitor/format.ts";
import { BOOL, DURATION, INT, parseGoJson, struct, unmarshal } from "../go_json.ts";

export interface NextRequest {
  /** Absolute deadline in ms (Date.now() clock), 0 for none. */
  expires: number;
  batch: number;
  maxBytes: number;
  noWait: boolean;
  /** Idle heartbeat interval in ms, 0 for none. */
  heartbeat: number;
}

const dec = new TextDecoder();

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
}

/** nats-server's JSApiConsumerGetNextRequest. */
const NEXT_REQUEST = struct("server.JSApiConsumerGetNextRequest", {
  expires: DURATION,
  batch: INT,
  max_bytes: INT,
  no_wait: BOOL,
  idle_heartbeat: DURATION,
});

/** nats-server's nextReqFromMsg; throws Error with the text of the 400 it answers. */
export function parseNextRequest(msg: Uint8Array, now: number): NextRequest {
  let s = 0, e = msg.length;
  while (s < e && isSpace(msg[s])) s++;
  while (e > s && isSpace(msg[e - 1])) e--;
  const req: NextRequest = { expires: 0, batch: 1, maxBytes: 0, noWait: false, heartbeat: 0 };
  if (s === e) return req;
  const text = dec.decode(msg.subarray(s, e));
  if (msg[s] === 0x7b) {
    const r = unmarshal(parseGoJson(msg.subarray(s, e)), NEXT_REQUEST, {
      expires: 0,
      batch: 0,
      max_bytes: 0,
      no_wait: false,
      idle_heartbeat: 0,
    });
    const expiresNs = r.expires, hbNs = r.idle_heartbeat;
    if (hbNs > 0 && hbNs * 2 > expiresNs) throw new Error("heartbeat value too large");
    req.batch = r.batch;
    req.maxBytes = r.max_bytes;
    req.noWait = r.no_wait;
    req.heartbeat = hbNs / 1e6;
    if (expiresNs !== 0) req.expires = now + expiresNs / 1e6;
    return req;
  }
  if (/^[+-]?\d+$/.test(text) && Math.abs(Number(text)) < 2 ** 63) req.batch = Number(text);
  return req;
}

/** A pull request waiting for messages. */
export class WaitingRequest {
  /** Messages still to send. */
  n: number;
  /** Messages sent. */
  d = 0;
  /** Bytes still allowed (0: no limit). */
  b: number;
  /** Next heartbeat due (ms), 0 for none. */
  hbt: number;

  constructor(
    /** The account and subject whose interest keeps the request alive (through service imports). */
    readonly acc: Account,
    readonly interest: string,
    readonly reply: string,
    req: NextRequest,
    readonly received: number,
  ) {
    this.n = req.batch;
    this.b = req.maxBytes;
    this.expires = req.expires;
    this.hb = req.heartbeat;
    this.noWait = req.noWait;
    this.hbt = req.heartbeat > 0 ? received + req.heartbeat : 0;
  }

  readonly expires: number;
  readonly hb: number;
  readonly noWait: boolean;
}

/** The bounded FIFO of waiting requests. */
export class WaitQueue {
  reqs: WaitingRequest[] = [];
  /** When the last request arrived (ms): pull consumers' inactivity is measured from it. */
  last: number;

  constructor(readonly max: number, now: number) {
    this.last = now;
  }

  get length(): number {
    return this.reqs.length;
  }

  isFull(): boolean {
    return this.reqs.length >= this.max;
  }

  /** False when full. */
  add(wr: WaitingRequest): boolean {
    if (this.isFull()) return false;
    this.reqs.push(wr);
    this.last = wr.received;
    return true;
  }

  peek(): WaitingRequest | undefined {
    return this.reqs[0];
  }

  /** Takes one message's worth from the head request; it moves to the back if it wants more. */
  pop(): WaitingRequest | undefined {
    const wr = this.reqs[0];
    if (wr === undefined) return undefined;
    wr.d++;
    wr.n--;
    if (wr.n > 0 && this.reqs.length > 1) this.reqs.push(this.reqs.shift()!);
    else if (wr.n <= 0) this.reqs.shift();
    return wr;
  }

  removeHead(): void {
    this.reqs.shift();
  }

  /** Removes the requests `drop` returns true for, keeping the order of the rest. */
  removeWhere(drop: (wr: WaitingRequest) => boolean): void {
    this.reqs = this.reqs.filter((wr) => !drop(wr));
  }
}

/** What the request queue needs from its consumer. */
export interface PullHost {
  /** Sends a status message (a header block, no payload) to `subject`. */
  status(subject: string, hdr: string): void;
  /** Sends an idle heartbeat to `subject`. */
  heartbeat(subject: string): void;
}

/** The consumer's limits on requests (max_batch, max_expires in ns, max_bytes; 0: none). */
export interface PullLimits {
  maxBatch: number;
  maxExpires: number;
  maxBytes: number;
}

/** Status header blocks with the pending counts a client uses to keep its books. */
function pendingStatus(status: string, wr: WaitingRequest): string {
  return `NATS/1.0 ${status}\r\nNats-Pending-Messages: ${wr.n}\r\nNats-Pending-Bytes: ${wr.b}\r\n\r\n`;
}

/**
 * A pull consumer's requests: taking them in (with nats-server's 400/404/408/409 answers), the
 * request each message goes to, expiry, heartbeats, and the release when the consumer goes.
 */
export class PullRequests {
  readonly queue: WaitQueue;

  constructor(max: number, readonly host: PullHost) {
    this.queue = new WaitQueue(max, Date.now());
  }

  get length(): number {
    return this.queue.length;
  }

  /** When the consumer last saw pull activity (ms): what its inactivity is measured from. */
  get last(): number {
    return this.queue.last;
  }

  set last(ms: number) {
    this.queue.last = ms;
  }

  /**
   * processNextMsgRequest: a request for messages to `reply`, or its refusal. `available`
   * counts the messages there are to deliver now. Returns true when the request waits.
   */
  add(
    acc: Account,
    reply: string,
    body: Uint8Array,
    lim: PullLimits,
    available: () => number,
  ): boolean {
    const fail = (status: number, text: string) => {
      this.host.status(reply, `NATS/1.0 ${status} ${text}\r\n\r\n`);
      return false;
    };
    const now = Date.now();
    let req: NextRequest;
    try {
      req = parseNextRequest(body, now);
    } catch (e) {
      return fail(400, `Bad Request - ${(e as Error).message}`);
    }
    if (lim.maxBatch > 0 && req.batch > lim.maxBatch) {
      return fail(409, `Exceeded MaxRequestBatch of ${lim.maxBatch}`);
    }
    if (req.expires !== 0 && lim.maxExpires > 0 && req.expires > now + lim.maxExpires / 1e6) {
      return fail(409, `Exceeded MaxRequestExpires of ${goDuration(lim.maxExpires)}`);
    }
    if (req.maxBytes > 0 && lim.maxBytes > 0 && req.maxBytes > lim.maxBytes) {
      return fail(409, `Exceeded MaxRequestMaxBytes of ${lim.maxBytes}`);
    }
    const w = this.queue;
    if (w.isFull()) this.process(false);
    if (req.noWait) {
      const pending = available();
      if (pending === 0 && req.expires === 0) {
        w.last = now;
        return fail(404, "No Messages");
      }
      if (pending > 0 && pending < this.process(false).brp) {
        w.last = now;
        return fail(408, "Requests Pending");
      }
    }
    const [from, interest] = trackDownInterest(acc, reply);
    if (!w.add(new WaitingRequest(from, interest, reply, req, now))) {
      return fail(409, "Exceeded MaxWaiting");
    }
    return true;
  }

  /** nextWaiting: the request the next message (of `sz` bytes) goes to, or null. */
  next(sz: number): WaitingRequest | null {
    const w = this.queue;
    for (let wr = w.peek(); wr !== undefined; wr = w.peek()) {
      if (wr.b > 0) {
        if (sz <= wr.b) {
          wr.b -= sz;
          if (wr.b === 0) wr.n = 1;
        } else {
          this.host.status(wr.reply, pendingStatus("409 Message Size Exceeds MaxBytes", wr));
          w.removeHead();
          continue;
        }
      }
      if ((wr.expires === 0 || Date.now() < wr.expires) && hasInterest(wr.acc, wr.interest)) {
        return w.pop()!;
      }
      if (wr.interest !== wr.reply) {
        this.host.status(wr.reply, pendingStatus("408 Interest Expired", wr));
      }
      w.removeHead();
    }
    return null;
  }

  /**
   * processWaiting: ends expired requests (408, and one-shot ones at the end of the stream when
   * `eos`), drops requests nobody listens to anymore, sends due heartbeats. Returns the number
   * of messages still wanted and when the next expiry or heartbeat is due (0: none).
   */
  process(eos: boolean): { brp: number; fexp: number } {
    const w = this.queue;
    if (w.length === 0) return { brp: 0, fexp: 0 };
    const now = Date.now();
    let brp = 0, fexp = 0;
    w.removeWhere((wr) => {
      if ((eos && wr.noWait && wr.d > 0) || (wr.expires > 0 && now > wr.expires)) {
        this.host.status(wr.reply, pendingStatus("408 Request Timeout", wr));
        return true;
      }
      if (!hasInterest(wr.acc, wr.interest)) return true;
      brp += wr.n;
      if (wr.hbt > 0) {
        if (now > wr.hbt) {
          this.host.heartbeat(wr.reply);
          wr.hbt = now + wr.hb;
        }
        if (fexp === 0 || wr.hbt < fexp) fexp = wr.hbt;
      }
      if (wr.expires > 0 && (fexp === 0 || wr.expires < fexp)) fexp = wr.expires;
      return false;
    });
    return { brp, fexp };
  }

  /** The consumer is deleted: every waiting request hears so. */
  release(): void {
    const reqs = this.queue.reqs;
    this.queue.reqs = [];
    for (const wr of reqs) this.host.status(wr.reply, "NATS/1.0 409 Consumer Deleted\r\n\r\n");
  }
}

function hasInterest(acc: Account, subject: string): boolean {
  const r = acc.sublist.match(subject);
  return r.psubs.length + r.qsubs.length > 0;
}

/** A request that came through a service import answers in the importing account. */
function trackDownInterest(acc: Account, interest: string): [Account, string] {
  for (let i = 0; i < 16 && interest.startsWith("_R_."); i++) {
    const si = acc.responses.get(interest);
    if (si === undefined) break;
    acc = si.dest;
    interest = si.to;
  }
  return [acc, interest];
}
