/**
 * Lexer of the NATS configuration format.
 *
 * The format is loose (three key separators, optional commas, unquoted strings that may start
 * with digits), so what is accepted is defined by nats-server's state machine rather than by a
 * grammar. This lexer keeps the same states, including their quirks (`[1]` is the string "1]",
 * `1kbb` is an integer with an unknown suffix), because a config that nats-server accepts must
 * load here and one it rejects must fail here too.
 *
 * It works on UTF-8 bytes, not JS string units, because nats-server's columns are byte offsets
 * and its `\x` escapes produce raw bytes.
 */

import { concatBytes } from "../bytes.ts";

export type TokenKind =
  | "error"
  | "eof"
  | "key"
  | "string"
  | "bool"
  | "integer"
  | "float"
  | "datetime"
  | "arrayStart"
  | "arrayEnd"
  | "mapStart"
  | "mapEnd"
  | "variable"
  | "include";

/** `col` is nats-server's: a byte offset from the previous newline (so 0-based on line 1). */
export interface Token {
  kind: TokenKind;
  value: string;
  line: number;
  col: number;
}

type State = (lx: Lexer) => State | null;

/** nats-server reads the end of input as rune 0, so a NUL byte also ends most constructs. */
const EOF = 0;
const NL = 0x0a;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Pulls tokens one at a time, so the parser can fail on an early value before a later typo. */
export class Lexer {
  readonly src: Uint8Array;
  pos = 0;
  start = 0;
  width = 0;
  line = 1;
  /** Offset of the last newline read: columns count from it. */
  lineStart = 0;
  /** `lineStart` when the current token began. */
  tokenLineStart = 0;
  stack: State[] = [];
  /** Unescaped pieces of the string being read, joined when it is emitted. */
  parts: Uint8Array[] = [];
  /** Where an escape sequence returns: a quoted or an unquoted string. */
  afterEscape: State = lexString;
  #state: State | null = lexTop;
  #queue: Token[] = [];

  constructor(input: string | Uint8Array) {
    this.src = typeof input === "string" ? encoder.encode(input) : input;
  }

  /** The next token; after an `error` or `eof` token it keeps returning `eof`. */
  nextToken(): Token {
    while (this.#queue.length === 0) {
      if (this.#state === null) {
        return { kind: "eof", value: "", line: this.line, col: this.pos - this.lineStart };
      }
      this.#state = this.#state(this);
    }
    return this.#queue.shift()!;
  }

  next(): number {
    const src = this.src;
    if (this.pos >= src.length) {
      this.width = 0;
      return EOF;
    }
    if (src[this.pos] === NL) {
      this.line++;
      this.lineStart = this.pos;
    }
    const [r, w] = decodeRune(src, this.pos);
    this.width = w;
    this.pos += w;
    return r;
  }

  /** Steps back over the last rune read; valid once per `next`. */
  backup(): void {
    this.pos -= this.width;
    if (this.pos < this.src.length && this.src[this.pos] === NL) this.line--;
  }

  peek(): number {
    const r = this.next();
    this.backup();
    return r;
  }

  ignore(): void {
    this.start = this.pos;
    this.tokenLineStart = this.lineStart;
  }

  text(from = this.start, to = this.pos): string {
    return decoder.decode(this.src.subarray(from, to));
  }

  emit(kind: TokenKind, clearParts = false): void {
    let bytes = this.src.subarray(this.start, this.pos);
    if (this.parts.length > 0) {
      bytes = concatBytes([...this.parts, bytes]);
      if (clearParts) this.parts = [];
    }
    const col = this.pos - this.tokenLineStart - bytes.length;
    this.#queue.push({ kind, value: decoder.decode(bytes), line: this.line, col });
    this.start = this.pos;
    this.tokenLineStart = this.lineStart;
  }

  emitString(): void {
    this.emit("string", true);
  }

  addCurrentPart(offset: number): void {
    this.parts.push(this.src.slice(this.start, this.pos - offset));
    this.start = this.pos;
  }

  addPart(bytes: Uint8Array): State {
    this.parts.push(bytes);
    this.start = this.pos;
    return this.afterEscape;
  }

  push(state: State): void {
    this.stack.push(state);
  }

  pop(): State | null {
    const s = this.stack.pop();
    return s ?? this.fail("BUG in lexer: no states to pop.");
  }

  /** Ends lexing with an error token, as nats-server's lexer does. */
  fail(message: string): null {
    this.#queue.push({
      kind: "error",
      value: message,
      line: this.line,
      col: this.pos - this.lineStart,
    });
    return null;
  }
}

/** Lexes all of `input`, for tests and tools; stops after the first error. */
export function tokenize(input: string | Uint8Array): Token[] {
  const lx = new Lexer(input);
  const out: Token[] = [];
  for (;;) {
    const t = lx.nextToken();
    out.push(t);
    if (t.kind === "eof" || t.kind === "error") return out;
  }
}

// ---- character classes (Go's unicode package where nats-server uses it) ----

const DIGIT_RE = /\p{Nd}/u;

function isDigit(r: number): boolean {
  if (r < 0x80) return r >= 0x30 && r <= 0x39;
  return DIGIT_RE.test(String.fromCodePoint(r));
}

/** Go's unicode.IsSpace, which is not JS's `\s` (that one includes U+FEFF). */
function isSpace(r: number): boolean {
  if (r <= 0xff) {
    return r === 0x20 || (r >= 0x09 && r <= 0x0d) || r === 0x85 || r === 0xa0;
  }
  return r === 0x1680 || (r >= 0x2000 && r <= 0x200a) || r === 0x2028 || r === 0x2029 ||
    r === 0x202f || r === 0x205f || r === 0x3000;
}

const isWhitespace = (r: number) => r === 0x20 || r === 0x09;
const isNL = (r: number) => r === NL || r === 0x0d;
const isKeySep = (r: number) => r === ch("=") || r === ch(":");
const SUFFIXES = new Set([..."kKmMgGtTpPeE"].map((c) => c.charCodeAt(0)));
const isNumberSuffix = (r: number) => SUFFIXES.has(r);

function ch(s: string): number {
  return s.charCodeAt(0);
}

/** How nats-server prints a rune in a message: newlines escaped, everything else as is. */
function show(r: number): string {
  return r === NL ? "\\n" : String.fromCodePoint(r);
}

function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c = b[i];
  if (c < 0x80) return [c, 1];
  const bad: [number, number] = [0xfffd, 1];
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) {
    return cont(1) ? [((c & 0x1f) << 6) | (b[i + 1] & 0x3f), 2] : bad;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return bad;
    const r = ((c & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
    return r < 0x800 || (r >= 0xd800 && r <= 0xdfff) ? bad : [r, 3];
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return bad;
    const r = ((c & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) |
      (b[i + 3] & 0x3f);
    return r < 0x10000 || r > 0x10ffff ? bad : [r, 4];
  }
  return bad;
}

// ---- states ----
// Each state reads some input and returns the next state; `lx.stack` holds where to go after a
// value (top level, array or map), which is how one value lexer serves every context.

function lexTop(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r) || r === ch("{")) { // a top-level `{` is skipped: the file may be one big map
    lx.ignore();
    return lexTop;
  }
  if (r === ch("#")) return comment(lx, lexTop);
  if (r === ch("/")) {
    if (lx.next() === ch("/")) return comment(lx, lexTop);
    lx.backup();
  }
  if (r === ch("/") || r === EOF) {
    if (lx.pos > lx.start) return lx.fail("Unexpected EOF.");
    lx.emit("eof");
    return null;
  }
  lx.backup();
  lx.push(lexTopValueEnd);
  return lexKeyStart;
}

function lexTopValueEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (r === ch("#")) return comment(lx, lexTop);
  if (r === ch("/")) {
    if (lx.next() === ch("/")) return comment(lx, lexTop);
    lx.backup();
    return lexTopValueEnd;
  }
  if (isWhitespace(r)) return lexTopValueEnd;
  if (isNL(r) || r === EOF || r === ch(";") || r === ch(",") || r === ch("}")) {
    lx.ignore();
    return lexTop;
  }
  return lx.fail(
    `Expected a top-level value to end with a new line, comment or EOF, but got '${
      show(r)
    }' instead.`,
  );
}

function lexKeyStart(lx: Lexer): State | null {
  const r = lx.peek();
  if (isKeySep(r)) return lx.fail(`Unexpected key separator '${show(r)}'`);
  if (isSpace(r) || r === ch('"') || r === ch("'")) {
    lx.next();
    lx.ignore();
    if (r === ch('"')) return quotedKey(ch('"'));
    if (r === ch("'")) return quotedKey(ch("'"));
    return lexKeyStart;
  }
  lx.ignore();
  lx.next();
  return lexKey;
}

function quotedKey(quote: number): State {
  const state: State = (lx) => {
    const r = lx.peek();
    if (r === quote) {
      lx.emit("key");
      lx.next();
      lx.ignore();
      return lexKeyEnd;
    }
    if (r === EOF) {
      if (lx.pos > lx.start) return lx.fail("Unexpected EOF.");
      lx.emit("eof");
      return null;
    }
    lx.next();
    return state;
  };
  return state;
}

/** A key followed by a space may be the `include` keyword instead. */
function keyOrKeyword(lx: Lexer, afterKey: State, afterInclude: State | null): State {
  if (lx.text().toLowerCase() === "include") {
    lx.ignore();
    if (afterInclude) lx.push(afterInclude);
    return lexIncludeStart;
  }
  lx.emit("key");
  return afterKey;
}

function lexIncludeStart(lx: Lexer): State | null {
  const r = lx.next();
  if (isWhitespace(r)) {
    lx.ignore();
    return lexIncludeStart;
  }
  lx.backup();
  return lexInclude;
}

function lexInclude(lx: Lexer): State | null {
  const r = lx.next();
  if (r === ch("'") || r === ch('"')) {
    lx.ignore();
    return quotedInclude(r);
  }
  const bad = r === ch("[")
    ? "start of an array"
    : r === ch("{")
    ? "start of a map"
    : r === ch("(")
    ? "start of a block"
    : isDigit(r) || r === ch("-")
    ? "start of a number"
    : r === ch("\\")
    ? "escape sequence"
    : isNL(r)
    ? "new line"
    : "";
  if (bad) return lx.fail(`Expected include value but found ${bad}`);
  lx.backup();
  return lexIncludeString;
}

function quotedInclude(quote: number): State {
  const state: State = (lx) => {
    const r = lx.next();
    if (r === quote) {
      lx.backup();
      lx.emit("include");
      lx.next();
      lx.ignore();
      return lx.pop();
    }
    if (r === EOF) {
      const kind = quote === ch('"') ? "double quoted" : "quoted";
      return lx.fail(`Unexpected EOF in ${kind} include`);
    }
    return state;
  };
  return state;
}

function lexIncludeString(lx: Lexer): State | null {
  const r = lx.next();
  if (isNL(r) || r === EOF || r === ch(";") || r === ch("}") || isWhitespace(r)) {
    lx.backup();
    lx.emit("include");
    return lx.pop();
  }
  if (r === ch("'")) {
    lx.backup();
    lx.emit("include");
    lx.next();
    lx.ignore();
    return lx.pop();
  }
  return lexIncludeString;
}

function lexKey(lx: Lexer): State | null {
  const r = lx.peek();
  if (isSpace(r)) return keyOrKeyword(lx, lexKeyEnd, null);
  if (isKeySep(r) || r === EOF) {
    lx.emit("key");
    return lexKeyEnd;
  }
  lx.next();
  return lexKey;
}

function lexKeyEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r)) {
    lx.ignore();
    return lexKeyEnd;
  }
  if (isKeySep(r)) {
    lx.ignore();
    return lexValue;
  }
  if (r === EOF) {
    lx.emit("eof");
    return null;
  }
  lx.backup();
  return lexValue;
}

/** Any value, in any context; spaces may precede it but not a newline. */
function lexValue(lx: Lexer): State | null {
  const r = lx.next();
  if (isWhitespace(r)) {
    lx.ignore();
    return lexValue;
  }
  switch (r) {
    case ch("["):
      lx.ignore();
      lx.emit("arrayStart");
      return lexArrayValue;
    case ch("{"):
      lx.ignore();
      lx.emit("mapStart");
      return lexMapKeyStart;
    case ch("'"):
      lx.ignore();
      return lexQuotedString;
    case ch('"'):
      lx.ignore();
      lx.afterEscape = lexDubQuotedString;
      return lexDubQuotedString;
    case ch("-"):
      return lexNegNumberStart;
    case ch("("):
      lx.ignore();
      return lexBlock;
    case ch("."):
      return lx.fail("Floats must start with a digit");
  }
  if (isDigit(r)) {
    lx.backup();
    return lexNumberStart;
  }
  if (isNL(r)) return lx.fail("Expected value but found new line");
  lx.backup();
  lx.afterEscape = lexString;
  return lexString;
}

function lexArrayValue(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r)) {
    lx.ignore();
    return lexArrayValue;
  }
  if (r === ch("#")) return comment(lx, lexArrayValue);
  if (r === ch("/")) {
    if (lx.next() === ch("/")) return comment(lx, lexArrayValue);
    lx.backup();
  }
  if (r === ch("/") || r === ch(",")) return lx.fail("Unexpected array value terminator ','.");
  if (r === ch("]")) return lexArrayEnd;
  lx.backup();
  lx.push(lexArrayValueEnd);
  return lexValue;
}

function lexArrayValueEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (isWhitespace(r)) {
    lx.ignore();
    return lexArrayValueEnd;
  }
  if (r === ch("#")) return comment(lx, lexArrayValueEnd);
  if (r === ch("/")) {
    if (lx.next() === ch("/")) return comment(lx, lexArrayValueEnd);
    lx.backup();
  }
  if (r === ch("/") || r === ch(",") || isNL(r)) {
    lx.ignore();
    return lexArrayValue;
  }
  if (r === ch("]")) return lexArrayEnd;
  return lx.fail(
    `Expected an array value terminator "," or an array terminator "]", but got '${
      show(r)
    }' instead.`,
  );
}

function lexArrayEnd(lx: Lexer): State | null {
  lx.ignore();
  lx.emit("arrayEnd");
  return lx.pop();
}

function lexMapKeyStart(lx: Lexer): State | null {
  const r = lx.peek();
  if (isKeySep(r)) return lx.fail(`Unexpected key separator '${show(r)}'.`);
  if (r === ch("]")) return lx.fail("Unexpected array end ']' processing map.");
  if (isSpace(r)) {
    lx.next();
    lx.ignore();
    return lexMapKeyStart;
  }
  if (r === ch("}")) {
    lx.next();
    lx.ignore();
    return lexMapEnd;
  }
  if (r === ch("#")) {
    lx.next();
    return comment(lx, lexMapKeyStart);
  }
  if (r === ch("/")) {
    lx.next();
    if (lx.next() === ch("/")) return comment(lx, lexMapKeyStart);
    lx.backup(); // a lone '/' is dropped from the key that follows, as nats-server does
  } else if (r === ch("'") || r === ch('"')) {
    lx.next();
    lx.ignore();
    return quotedMapKey(r);
  } else if (r === EOF) {
    return lx.fail("Unexpected EOF processing map.");
  }
  lx.ignore();
  lx.next();
  return lexMapKey;
}

function quotedMapKey(quote: number): State {
  const state: State = (lx) => {
    const r = lx.peek();
    if (r === EOF) {
      const kind = quote === ch('"') ? "double quoted" : "quoted";
      return lx.fail(`Unexpected EOF processing ${kind} map key.`);
    }
    if (r === quote) {
      lx.emit("key");
      lx.next();
      lx.ignore();
      return lexMapKeyEnd;
    }
    lx.next();
    return state;
  };
  return state;
}

function lexMapKey(lx: Lexer): State | null {
  const r = lx.peek();
  if (r === EOF) return lx.fail("Unexpected EOF processing map key.");
  if (isSpace(r)) return keyOrKeyword(lx, lexMapKeyEnd, lexMapValueEnd);
  if (isKeySep(r)) {
    lx.emit("key");
    return lexMapKeyEnd;
  }
  lx.next();
  return lexMapKey;
}

function lexMapKeyEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r)) {
    lx.ignore();
    return lexMapKeyEnd;
  }
  if (isKeySep(r)) {
    lx.ignore();
    return lexMapValue;
  }
  lx.backup();
  return lexMapValue;
}

function lexMapValue(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r)) {
    lx.ignore();
    return lexMapValue;
  }
  if (r === ch(",")) return lx.fail('Unexpected map value terminator ",".');
  if (r === ch("}")) {
    lx.ignore();
    return lexMapEnd;
  }
  lx.backup();
  lx.push(lexMapValueEnd);
  return lexValue;
}

function lexMapValueEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (isWhitespace(r)) {
    lx.ignore();
    return lexMapValueEnd;
  }
  if (r === ch("#")) return comment(lx, lexMapValueEnd);
  if (r === ch("/")) {
    if (lx.next() === ch("/")) return comment(lx, lexMapValueEnd);
    lx.backup();
  }
  if (r === ch("/") || r === ch(";") || r === ch(",") || isNL(r)) {
    lx.ignore();
    return lexMapKeyStart;
  }
  if (r === ch("}")) {
    lx.ignore();
    return lexMapEnd;
  }
  return lx.fail(
    `Expected a map value terminator "," or a map terminator "}", but got '${show(r)}' instead.`,
  );
}

function lexMapEnd(lx: Lexer): State | null {
  lx.ignore();
  lx.emit("mapEnd");
  return lx.pop();
}

function lexQuotedString(lx: Lexer): State | null {
  const r = lx.next();
  if (r === ch("'")) {
    lx.backup();
    lx.emit("string");
    lx.next();
    lx.ignore();
    return lx.pop();
  }
  if (r === EOF) return eofInString(lx);
  return lexQuotedString;
}

/** An unterminated string is an error, unless nothing was read since the quote or an escape. */
function eofInString(lx: Lexer): State | null {
  if (lx.pos > lx.start) return lx.fail("Unexpected EOF.");
  lx.emit("eof");
  return null;
}

function lexDubQuotedString(lx: Lexer): State | null {
  const r = lx.next();
  if (r === ch("\\")) {
    lx.addCurrentPart(1);
    return lexStringEscape;
  }
  if (r === ch('"')) {
    lx.backup();
    lx.emitString();
    lx.next();
    lx.ignore();
    return lx.pop();
  }
  if (r === EOF) return eofInString(lx);
  return lexDubQuotedString;
}

const BOOLS = new Set(["true", "false", "on", "off", "yes", "no"]);

/** An unquoted string; it may turn out to be a boolean or a `$variable`. */
function lexString(lx: Lexer): State | null {
  const r = lx.next();
  if (r === ch("\\")) {
    lx.addCurrentPart(1);
    return lexStringEscape;
  }
  if (
    isNL(r) || r === EOF || r === ch(";") || r === ch(",") || r === ch("]") || r === ch("}") ||
    isWhitespace(r)
  ) {
    lx.backup();
    if (lx.parts.length > 0) {
      lx.emitString();
    } else if (BOOLS.has(lx.text().toLowerCase())) {
      lx.emit("bool");
    } else if (lx.start < lx.src.length && lx.src[lx.start] === ch("$")) {
      lx.start++;
      lx.emit("variable");
    } else {
      lx.emitString();
    }
    return lx.pop();
  }
  if (r === ch("'")) {
    lx.backup();
    lx.emitString();
    lx.next();
    lx.ignore();
    return lx.pop();
  }
  return lexString;
}

/** `( ... )`: raw text up to a `)` alone on its line. */
function lexBlock(lx: Lexer): State | null {
  const r = lx.next();
  if (r === ch(")")) {
    lx.backup();
    lx.backup();
    if (lx.next() !== NL) {
      lx.next();
      return lexBlock;
    }
    lx.next();
    const after = lx.next();
    if (after === NL || after === EOF) {
      lx.backup();
      lx.backup();
      lx.emit("string");
      lx.next();
      lx.ignore();
      return lx.pop();
    }
    lx.backup();
    return lexBlock;
  }
  if (r === EOF) return lx.fail("Unexpected EOF processing block.");
  return lexBlock;
}

const ESCAPES: Record<string, string> = { t: "\t", n: "\n", r: "\r", '"': '"', "\\": "\\" };

function lexStringEscape(lx: Lexer): State | null {
  const r = lx.next();
  if (r === ch("x")) return lexStringBinary;
  const s = ESCAPES[String.fromCharCode(r)];
  if (s !== undefined && r < 0x80 && r !== 0) return lx.addPart(encoder.encode(s));
  return lx.fail(
    `Invalid escape character '${
      show(r)
    }'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\", \\\\.`,
  );
}

const HEX_RE = /^[0-9a-fA-F]{2}$/;

function lexStringBinary(lx: Lexer): State | null {
  for (let i = 0; i < 2; i++) {
    if (isNL(lx.next())) {
      return lx.fail("Expected two hexadecimal digits after '\\x', but hit end of line");
    }
  }
  const digits = lx.text(lx.pos - 2, lx.pos);
  if (!HEX_RE.test(digits)) {
    return lx.fail(`Expected two hexadecimal digits after '\\x', but got '${digits}'`);
  }
  lx.addPart(Uint8Array.of(parseInt(digits, 16)));
  return lx.afterEscape;
}

function lexNumberStart(lx: Lexer): State | null {
  lx.next(); // lexValue saw a digit here
  return lexNumberOrDateOrStringOrIP;
}

/** Ends a number: the characters that may follow an integer without making it a string. */
function endsNumber(r: number): boolean {
  return isNL(r) || r === EOF || r === ch("}") || r === ch(";") || r === ch(",") ||
    isWhitespace(r) || isDigit(r);
}

function lexNumberOrDateOrStringOrIP(lx: Lexer): State | null {
  const r = lx.next();
  if (r === ch("-")) {
    if (lx.pos - lx.start !== 5) return lx.fail("All ISO8601 dates must be in full Zulu form.");
    return lexDateAfterYear;
  }
  if (isDigit(r)) return lexNumberOrDateOrStringOrIP;
  if (r === ch(".")) return lexFloatStart;
  if (isNumberSuffix(r)) return lexConvenientNumber;
  if (!endsNumber(r)) {
    // Not a number after all (e.g. `1]` or `10abc`): the rest is an unquoted string.
    lx.afterEscape = lexString;
    return lexString;
  }
  lx.backup();
  lx.emit("integer");
  return lx.pop();
}

/** After a size suffix such as the `k` of `1k`; `b` and `i` may follow (`1kb`, `1KiB`). */
function lexConvenientNumber(lx: Lexer): State | null {
  const r = lx.next();
  if (r === ch("b") || r === ch("B") || r === ch("i") || r === ch("I")) {
    return lexConvenientNumber;
  }
  lx.backup();
  if (endsNumber(r)) {
    lx.emit("integer");
    return lx.pop();
  }
  lx.afterEscape = lexString;
  return lexString;
}

const DATE_SHAPE = "00-00T00:00:00Z";

function lexDateAfterYear(lx: Lexer): State | null {
  for (const f of DATE_SHAPE) {
    const r = lx.next();
    if (f === "0") {
      if (!isDigit(r)) {
        return lx.fail(`Expected digit in ISO8601 datetime, but found '${show(r)}' instead.`);
      }
    } else if (r !== ch(f)) {
      return lx.fail(`Expected '${f}' in ISO8601 datetime, but found '${show(r)}' instead.`);
    }
  }
  lx.emit("datetime");
  return lx.pop();
}

function lexNegNumberStart(lx: Lexer): State | null {
  const r = lx.next();
  if (!isDigit(r)) {
    if (r === ch(".")) return lx.fail("Floats must start with a digit, not '.'.");
    return lx.fail(`Expected a digit but got '${show(r)}'.`);
  }
  return lexNegNumber;
}

function lexNegNumber(lx: Lexer): State | null {
  const r = lx.next();
  if (isDigit(r)) return lexNegNumber;
  if (r === ch(".")) return lexFloatStart;
  if (isNumberSuffix(r)) return lexConvenientNumber;
  lx.backup();
  lx.emit("integer");
  return lx.pop();
}

function lexFloatStart(lx: Lexer): State | null {
  const r = lx.next();
  if (!isDigit(r)) {
    return lx.fail(`Floats must have a digit after the '.', but got '${show(r)}' instead.`);
  }
  return lexFloat;
}

function lexFloat(lx: Lexer): State | null {
  const r = lx.next();
  if (isDigit(r)) return lexFloat;
  if (r === ch(".")) return lexIPAddr; // a second dot: an address such as 127.0.0.1:4222
  lx.backup();
  lx.emit("float");
  return lx.pop();
}

function lexIPAddr(lx: Lexer): State | null {
  const r = lx.next();
  if (isDigit(r) || r === ch(".") || r === ch(":") || r === ch("-")) return lexIPAddr;
  lx.backup();
  lx.emit("string");
  return lx.pop();
}

/** `#` or `//` up to the end of the line; then back to `resume`. Comments are not tokens. */
function comment(lx: Lexer, resume: State): State | null {
  lx.ignore();
  for (;;) {
    const r = lx.peek();
    if (isNL(r) || r === EOF) break;
    lx.next();
  }
  lx.ignore();
  return resume;
}
