/**
 * JetStream deliveries on their way to a client. A consumer's message is routed by its deliver
 * subject (a pull request's inbox, a push consumer's deliver subject) but reaches the client with
 * the stream's subject: locally the message's bytes carry the stream subject while `pa.subject`
 * is the deliver subject (nats-server's `pa.deliver`); a delivery is a `$JS.ACK.` reply on such
 * a message. It keeps showing the stream subject where it is moved on:
 * - into another account by a service or stream import (rerouteMsg);
 * - to another server over a route or leafnode, which cannot see the difference, so nats-server
 *   sends it on the deliver subject with the stream subject after the reply,
 *   `<reply>@<subject>` (encodeDelivery), and the receiving server splits it again
 *   (decodeDelivery).
 */

import { buildMsg, type Msg, rewriteMsg } from "./message.ts";
import type { PubArg } from "./parser.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
/** "$JS.ACK." */
const JS_ACK = enc.encode("$JS.ACK.");
const AT = 0x40;

/**
 * Whether buf[start, end) is a JetStream ack subject (`$JS.ACK.` and more): one per delivered
 * message, never seen twice, and a reply clients may not publish with.
 */
export function isJsAck(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start <= JS_ACK.length) return false;
  for (let i = 0; i < JS_ACK.length; i++) if (buf[start + i] !== JS_ACK[i]) return false;
  return true;
}

/** Whether the message's bytes carry `subject` (ASCII compared in place; else decoded). */
function carries(buf: Uint8Array, start: number, end: number, subject: string): boolean {
  if (end - start !== subject.length) {
    return dec.decode(buf.subarray(start, end)) === subject;
  }
  for (let i = 0; i < subject.length; i++) {
    const c = subject.charCodeAt(i);
    if (c >= 0x80) return dec.decode(buf.subarray(start, end)) === subject;
    if (buf[start + i] !== c) return false;
  }
  return true;
}

/**
 * Whether the message is a JetStream delivery: a `$JS.ACK.` reply, routed on another subject
 * than its bytes carry. The common case (any other reply, or none) costs one byte comparison.
 */
export function isDelivery(src: Uint8Array, pa: PubArg): boolean {
  if (pa.replyEnd - pa.replyStart <= JS_ACK.length || src[pa.replyStart] !== 0x24) return false;
  if (!isJsAck(src, pa.replyStart, pa.replyEnd)) return false;
  return !carries(src, pa.subjectStart, pa.subjectEnd, pa.subject);
}

/**
 * The message routed on `subject` instead, with another reply (`null` keeps it) and optionally
 * one header set, as message.ts's rewriteMsg; a JetStream delivery keeps the stream subject it
 * carries, so an import moving it into another account still hands the client the stream's
 * subject and `$JS.ACK.` reply (what nats-server's cross-account pull and push consumers see).
 */
export function rerouteMsg(
  src: Uint8Array,
  pa: PubArg,
  subject: string,
  reply: string | null,
  header?: [string, string],
): Msg {
  if (!isDelivery(src, pa)) return rewriteMsg(src, pa, subject, reply, header);
  const shown = dec.decode(src.subarray(pa.subjectStart, pa.subjectEnd));
  const m = rewriteMsg(src, pa, shown, reply, header);
  m.pa.subject = subject;
  return m;
}

/**
 * For a JetStream delivery (isDelivery): the subject and reply to send to another server,
 * `<deliver subject>` and `<reply>@<stream subject>`. Null for any other message.
 */
export function encodeDelivery(
  src: Uint8Array,
  pa: PubArg,
): { subject: Uint8Array; reply: Uint8Array } | null {
  if (!isDelivery(src, pa)) return null;
  const orig = src.subarray(pa.subjectStart, pa.subjectEnd);
  const reply = new Uint8Array(pa.replyEnd - pa.replyStart + 1 + orig.length);
  reply.set(src.subarray(pa.replyStart, pa.replyEnd));
  reply[pa.replyEnd - pa.replyStart] = AT;
  reply.set(orig, pa.replyEnd - pa.replyStart + 1);
  return { subject: enc.encode(pa.subject), reply };
}

/**
 * A received `<reply>@<stream subject>` (nats-server looks only at `$JS.ACK.` replies): the
 * message rebuilt to carry the stream subject and the plain reply, still routed by `pa.subject`.
 * Null when the reply is not such an encoding.
 */
export function decodeDelivery(src: Uint8Array, pa: PubArg): Msg | null {
  const rs = pa.replyStart;
  const re = pa.replyEnd;
  if (re - rs <= JS_ACK.length || src[rs] !== 0x24 || !isJsAck(src, rs, re)) return null;
  const at = src.subarray(rs, re).lastIndexOf(AT);
  if (at < 0 || rs + at >= re - 1) return null;
  const subject = dec.decode(src.subarray(rs + at + 1, re));
  const reply = dec.decode(src.subarray(rs, rs + at));
  const body = src.subarray(pa.payloadStart, pa.payloadStart + pa.size);
  const hdr = pa.hdr >= 0 ? body.subarray(0, pa.hdr) : null;
  const m = buildMsg(subject, reply, hdr, pa.hdr >= 0 ? body.subarray(pa.hdr) : body);
  m.pa.subject = pa.subject;
  return m;
}
