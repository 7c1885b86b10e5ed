/**
 * A message sent on to another server, the line routes and leafnodes share:
 *
 *   <op> [<account> ]<subject> [+ <reply> <queues..> | | <queues..> | <reply>] [<hdr>] <size>\r\n
 *   <payload>\r\n
 *
 * (RMSG/HMSG with the account on a route, LMSG with the origin cluster before it; LMSG/HMSG
 * without on a leafnode). It is written straight into the connection's outbound buffer: this is
 * the path of every message that crosses servers. A JetStream delivery goes as
 * `<deliver subject> ... <reply>@<stream subject>` (delivery.ts).
 */

import type { Client } from "./client.ts";
import type { PubArg } from "./parser.ts";
import { encodeDelivery } from "./delivery.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export const RMSG_ = enc.encode("RMSG ");
export const HMSG_ = enc.encode("HMSG ");
export const LMSG_ = enc.encode("LMSG ");
const PLUS_ = enc.encode("+ ");
const BAR_ = enc.encode("| ");

/**
 * Appends the message in `pa` as `op` (one of the constants above), counts it and schedules the
 * flush. `acc` is what goes before the subject (null: nothing), `hdr` and `size` the digits of
 * the header and total sizes (null `hdr`: none), `body` the payload sent (the sizes describe it).
 */
export function sendRoutedMsg(
  c: Client,
  op: Uint8Array,
  acc: Uint8Array | null,
  src: Uint8Array,
  pa: PubArg,
  queues: string[],
  hdr: Uint8Array | null,
  size: Uint8Array,
  body: Uint8Array,
): void {
  const hasReply = pa.replyEnd > pa.replyStart;
  let subj = src.subarray(pa.subjectStart, pa.subjectEnd);
  let reply = src.subarray(pa.replyStart, pa.replyEnd);
  const delivery = hasReply ? encodeDelivery(src, pa) : null;
  if (delivery !== null) {
    subj = delivery.subject;
    reply = delivery.reply;
  }
  const q = queues.length > 0 ? enc.encode(queues.join(" ")) : null;
  const out = c.out;
  const need = 5 + (acc === null ? 0 : acc.length + 1) + subj.length + 1 +
    (q === null ? 0 : 2 + q.length + 1) + (hasReply ? reply.length + 1 : 0) +
    (hdr === null ? 0 : hdr.length + 1) + size.length + 2 + body.length + 2;
  const b = out.reserve(need);
  let p = out.len;
  b.set(op, p);
  p += 5;
  if (acc !== null) p = putWord(b, p, acc);
  p = putWord(b, p, subj);
  if (q !== null) {
    b.set(hasReply ? PLUS_ : BAR_, p);
    p += 2;
  }
  if (hasReply) p = putWord(b, p, reply);
  if (q !== null) p = putWord(b, p, q);
  if (hdr !== null) p = putWord(b, p, hdr);
  b.set(size, p);
  p += size.length;
  b[p++] = 13;
  b[p++] = 10;
  b.set(body, p);
  p += body.length;
  b[p++] = 13;
  b[p++] = 10;
  out.len = p;
  c.outMsgs++;
  c.outBytes += body.length;
  if (c.server.log.traceEnabled) {
    const parts = acc === null ? [] : [dec.decode(acc)];
    parts.push(pa.subject);
    if (q !== null) parts.push(hasReply ? "+" : "|");
    if (hasReply) parts.push(dec.decode(reply));
    parts.push(...queues);
    if (hdr !== null) parts.push(dec.decode(hdr));
    parts.push(dec.decode(size));
    c.traceOut(dec.decode(op.subarray(0, 4)), parts.join(" "));
  }
  c.server.scheduleFlush(c);
}

/** Writes `word` and a space at `p`; returns the position after them. */
function putWord(b: Uint8Array, p: number, word: Uint8Array): number {
  b.set(word, p);
  p += word.length;
  b[p] = 32;
  return p + 1;
}
