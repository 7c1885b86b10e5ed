/**
 * NATS header blocks (`NATS/1.0\r\nKey: value\r\n...\r\n`) read and extended on the bytes, with
 * nats-server's exact rules: a key is looked up by its first occurrence, which must start a line
 * and be followed by `:`; leading spaces of the value are skipped. Publishing to a stream pays
 * for header lookups only when the message has headers at all.
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Index of `needle` in `hay` from `from`, or -1 (needle is short ASCII). */
function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  const n = needle.length;
  const first = needle[0];
  const end = hay.length - n;
  outer: for (let i = from; i <= end; i++) {
    if (hay[i] !== first) continue;
    for (let j = 1; j < n; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Keys as bytes, made once per key name. */
const keyCache = new Map<string, Uint8Array>();
function keyBytes(key: string): Uint8Array {
  let b = keyCache.get(key);
  if (b === undefined) {
    b = enc.encode(key);
    keyCache.set(key, b);
  }
  return b;
}

/** nats-server's getHeader: the value of `key`, or "" when absent (or empty). */
export function getHeader(hdr: Uint8Array | null, key: string): string {
  if (hdr === null || hdr.length === 0) return "";
  const k = keyBytes(key);
  let i = indexOf(hdr, k);
  if (i < 2 || hdr[i - 1] !== 0x0a || hdr[i - 2] !== 0x0d) return "";
  i += k.length;
  if (i >= hdr.length || hdr[i] !== 0x3a) return "";
  i++;
  while (i < hdr.length && hdr[i] === 0x20) i++;
  let end = i;
  while (
    end < hdr.length && !(hdr[end] === 0x0d && end < hdr.length - 1 && hdr[end + 1] === 0x0a)
  ) {
    end++;
  }
  return end > i ? dec.decode(hdr.subarray(i, end)) : "";
}

/** Go's http.Header value cleaning: CR and LF become spaces, outer spaces are trimmed. */
function cleanValue(v: string): string {
  // The common value (a number, a stream name, a time) needs nothing: checked without regexes.
  let plain = v.length > 0 && v.charCodeAt(0) > 32 && v.charCodeAt(v.length - 1) > 32;
  for (let i = 0; plain && i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 13 || c === 10) plain = false;
  }
  if (plain || v === "") return v;
  return v.replace(/[\r\n]/g, " ").replace(/^[ \t]+|[ \t]+$/g, "");
}

/**
 * nats-server's genHeader: `key: value` appended to the block (or to a fresh `NATS/1.0` line),
 * without removing an earlier line of that key.
 */
export function appendHeaders(hdr: Uint8Array | null, pairs: [string, string][]): Uint8Array {
  let tail = "";
  for (const [k, v] of pairs) tail += `${k}: ${cleanValue(v)}\r\n`;
  tail += "\r\n";
  const t = enc.encode(tail);
  const head = hdr !== null && hdr.length > 2
    ? hdr.subarray(0, hdr.length - 2)
    : enc.encode("NATS/1.0\r\n");
  const out = new Uint8Array(head.length + t.length);
  out.set(head, 0);
  out.set(t, head.length);
  return out;
}

/**
 * nats-server's removeHeaderIfPresent: drops the first line of `key` (when it starts a line);
 * null when nothing but the status line is left.
 */
export function removeHeader(hdr: Uint8Array, key: string): Uint8Array | null {
  const k = keyBytes(key);
  const start = indexOf(hdr, k);
  if (start < 1 || hdr[start - 1] !== 0x0a) return hdr;
  const idx = start + k.length;
  if (idx >= hdr.length || hdr[idx] !== 0x3a) return hdr;
  let end = -1;
  for (let i = start; i < hdr.length - 1; i++) {
    if (hdr[i] === 0x0d && hdr[i + 1] === 0x0a) {
      end = i + 2;
      break;
    }
  }
  if (end < 0) return hdr;
  const out = new Uint8Array(hdr.length - (end - start));
  out.set(hdr.subarray(0, start), 0);
  out.set(hdr.subarray(end), start);
  // "NATS/1.0\r\n\r\n" is all that is left.
  return out.length <= 12 ? null : out;
}

/** Whether the block contains `key` followed by `:` anywhere (a cheap pre-check). */
export function hasHeader(hdr: Uint8Array | null, key: string): boolean {
  return hdr !== null && indexOf(hdr, keyBytes(key)) >= 0;
}

/** A status-only header block, as nats-server sends for 404/408 replies. */
export function statusHeader(status: string): Uint8Array {
  return enc.encode(`NATS/1.0 ${status}\r\n\r\n`);
}
