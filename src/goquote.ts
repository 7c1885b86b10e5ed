/**
 * Go's `%q` of a byte slice (strconv.Quote), for log lines that must read as nats-server's:
 * printable UTF-8 as it is, the usual backslash escapes, \xHH for invalid bytes and controls,
 * \uHHHH or \UHHHHHHHH for other unprintable characters.
 */

const ESCAPES: Record<number, string> = {
  7: "\\a",
  8: "\\b",
  9: "\\t",
  10: "\\n",
  11: "\\v",
  12: "\\f",
  13: "\\r",
  34: '\\"',
  92: "\\\\",
};

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

export function goQuoteBytes(buf: Uint8Array, start = 0, end = buf.length): string {
  let out = '"';
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c < 0x80) {
      out += quoteRune(c);
      i++;
      continue;
    }
    const [cp, size] = decodeRune(buf, i, end);
    out += size === 1 ? "\\x" + hex(c, 2) : quoteRune(cp);
    i += size;
  }
  return out + '"';
}

/** One code point as strconv.Quote writes it inside its double quotes. */
export function quoteRune(cp: number): string {
  const e = ESCAPES[cp];
  if (e !== undefined) return e;
  if (cp < 0x20 || cp === 0x7f) return "\\x" + hex(cp, 2);
  if (cp < 0x80) return String.fromCharCode(cp);
  const ch = String.fromCodePoint(cp);
  if (PRINTABLE.test(ch)) return ch;
  return cp < 0x10000 ? "\\u" + hex(cp, 4) : "\\U" + hex(cp, 8);
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/**
 * One multi-byte UTF-8 sequence at i, as Go's utf8.DecodeRune reads it: [code point, length],
 * or [U+FFFD, 1] when the byte at i does not start a valid sequence (overlong forms, surrogates
 * and values past U+10FFFF are invalid).
 */
export function decodeRune(b: Uint8Array, i: number, end: number): [number, number] {
  const c = b[i];
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < end && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf && cont(1)) return [((c & 0x1f) << 6) | (b[i + 1] & 0x3f), 2];
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    if (cont(1, lo, hi) && cont(2)) {
      return [((c & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f), 3];
    }
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    if (cont(1, lo, hi) && cont(2) && cont(3)) {
      const cp = ((c & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) |
        (b[i + 3] & 0x3f);
      return [cp, 4];
    }
  }
  return [0xfffd, 1];
}

/**
 * nats-server's protoSnippet: up to 32 bytes from `start`, quoted. Its bound check keeps the
 * last byte of the buffer out when the 32 would run past the end; kept here, so logs match.
 */
export function protoSnippet(buf: Uint8Array, start: number, end: number): string {
  if (start >= end) return '""';
  let stop = start + 32;
  if (stop > end) stop = end - 1;
  return goQuoteBytes(buf, start, stop);
}
