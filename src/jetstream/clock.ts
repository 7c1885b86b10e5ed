/**
 * A clock read at most once per turn of the event loop, for bookkeeping times that need no finer
 * grain (a consumer's last ack time): reading the clock costs two runtime calls, which an ack
 * path that handles thousands of acks per turn should not pay each time.
 */

import { nowNanos } from "./store/base.ts";

let ns = 0;
const expire = () => {
  ns = 0;
};

/** Now in nanoseconds, as read at the first call of this turn. */
export function turnNanos(): number {
  if (ns === 0) {
    ns = nowNanos();
    queueMicrotask(expire);
  }
  return ns;
}
