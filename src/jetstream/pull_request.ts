/**
 * Pull consumers: the `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` request (a batch number,
 * or JSON with batch, expires, max_bytes, no_wait, idle_heartbeat, decoded as Go decodes it) and
 * the queue of requests waiting for messages (nats-server's waitQueue: first come first served,
 * a request with more to take goes to the back after each message).
 */

import type { Account } from "../accounts/account.ts";
import { BOOL, decodeStruct, DURATION, type GoJsonError, INT, parseGoJson } from "./go_json.ts";

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

/** nats-server's nextReqFromMsg; throws Error with the text of the 400 it answers. */
export function parseNextRequest(msg: Uint8Array, now: number): NextRequest {
  let s = 0, e = msg.length;
  while (s < e && isSpace(msg[s])) s++;
  while (e > s && isSpace(msg[e - 1])) e--;
  const req: NextRequest = { expires: 0, batch: 1, maxBytes: 0, noWait: false, heartbeat: 0 };
  if (s === e) return req;
  const text = dec.decode(msg.subarray(s, e));
  if (msg[s] === 0x7b) {
    let v;
    try {
      v = parseGoJson(text);
    } catch (err) {
      throw new Error((err as GoJsonError).message);
    }
    const { values, error } = decodeStruct(
      v,
      "JSApiConsumerGetNextRequest",
      "server.JSApiConsumerGetNextRequest",
      { expires: DURATION, batch: INT, max_bytes: INT, no_wait: BOOL, idle_heartbeat: DURATION },
    );
    if (error !== null) throw new Error(error);
    const expiresNs = (values.get("expires") as number | undefined) ?? 0;
    const hbNs = (values.get("idle_heartbeat") as number | undefined) ?? 0;
    if (hbNs > 0 && hbNs * 2 > expiresNs) throw new Error("heartbeat value too large");
    req.batch = (values.get("batch") as number | undefined) ?? 0;
    req.maxBytes = (values.get("max_bytes") as number | undefined) ?? 0;
    req.noWait = (values.get("no_wait") as boolean | undefined) ?? false;
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
