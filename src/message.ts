/**
 * Messages that do not sit in a connection's read buffer: ones the server publishes itself
 * (system events, service responses) and ones whose subject or reply is rewritten on the way
 * (subject mappings, imports). Delivery copies subject, reply and size bytes straight from the
 * source buffer (client.ts deliver), so a rewritten message is laid out the same way a PUB line
 * is: `subject reply hdr size` then the payload, with a PubArg pointing into it. Only rewritten
 * messages pay for this copy; the common path never comes here.
 */

import { PubArg } from "./parser.ts";

const enc = new TextEncoder();

/** A message laid out like a parsed PUB/HPUB: the bytes and the arguments pointing into them. */
export interface Msg {
  buf: Uint8Array;
  pa: PubArg;
}

/**
 * Lays out a message. `hdr` is the whole header block (`NATS/1.0\r\n...\r\n\r\n`) or null;
 * `payload` is the body after the headers.
 */
export function buildMsg(
  subject: string,
  reply: string,
  hdr: Uint8Array | null,
  payload: Uint8Array,
): Msg {
  const hdrLen = hdr === null ? -1 : hdr.length;
  const size = (hdr === null ? 0 : hdr.length) + payload.length;
  const sizeText = String(size);
  const hdrText = hdrLen >= 0 ? String(hdrLen) : "";
  const line = enc.encode(
    subject + " " + reply + " " + hdrText + " " + sizeText,
  );
  const buf = new Uint8Array(line.length + size + 2);
  buf.set(line, 0);
  let p = line.length;
  if (hdr !== null) {
    buf.set(hdr, p);
    p += hdr.length;
  }
  buf.set(payload, p);
  buf[line.length + size] = 13;
  buf[line.length + size + 1] = 10;
  const pa = new PubArg();
  // Offsets follow the line above: subject, space, reply, space, hdr digits, space, size digits.
  pa.subjectStart = 0;
  pa.subjectEnd = byteLen(subject);
  pa.replyStart = pa.subjectEnd + 1;
  pa.replyEnd = pa.replyStart + byteLen(reply);
  pa.hdrStart = pa.replyEnd + 1;
  pa.hdrEnd = pa.hdrStart + hdrText.length;
  pa.sizeStart = pa.hdrEnd + 1;
  pa.sizeEnd = pa.sizeStart + sizeText.length;
  pa.hdr = hdrLen;
  pa.size = size;
  pa.payloadStart = line.length;
  pa.subject = subject;
  return { buf, pa };
}

/**
 * The same message with another subject and/or reply (`null` keeps the original reply), and
 * optionally one header set (replacing a header of that name), as nats-server's setHeader does.
 */
export function rewriteMsg(
  src: Uint8Array,
  pa: PubArg,
  subject: string,
  reply: string | null,
  header?: [string, string],
): Msg {
  const r = reply ?? replyOf(src, pa);
  const body = src.subarray(pa.payloadStart, pa.payloadStart + pa.size);
  const hdr = pa.hdr >= 0 ? body.subarray(0, pa.hdr) : null;
  const payload = pa.hdr >= 0 ? body.subarray(pa.hdr) : body;
  if (header === undefined) return buildMsg(subject, r, hdr, payload);
  return buildMsg(subject, r, setHeader(hdr, header[0], header[1]), payload);
}

/** A header block with `key: value` set: the old block (without that key) plus the new line. */
export function setHeader(hdr: Uint8Array | null, key: string, value: string): Uint8Array {
  let head = "NATS/1.0\r\n";
  if (hdr !== null && hdr.length > 4) {
    const lines = dec.decode(hdr.subarray(0, hdr.length - 2)).split("\r\n");
    const kept = lines.filter((l, i) => i === 0 || l === "" || !l.startsWith(key + ":"));
    head = kept.filter((l) => l !== "").join("\r\n") + "\r\n";
  }
  return enc.encode(`${head}${key}: ${value}\r\n\r\n`);
}

const dec = new TextDecoder();

export function replyOf(src: Uint8Array, pa: PubArg): string {
  return pa.replyEnd > pa.replyStart ? dec.decode(src.subarray(pa.replyStart, pa.replyEnd)) : "";
}

/** The payload without headers. */
export function payloadOf(src: Uint8Array, pa: PubArg): Uint8Array {
  const start = pa.payloadStart + (pa.hdr > 0 ? pa.hdr : 0);
  return src.subarray(start, pa.payloadStart + pa.size);
}

/** The header block, or null. */
export function headersOf(src: Uint8Array, pa: PubArg): Uint8Array | null {
  return pa.hdr >= 0 ? src.subarray(pa.payloadStart, pa.payloadStart + pa.hdr) : null;
}

function byteLen(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n++;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** For callers that want the bytes of a string they will publish. */
export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}
