/**
 * CONNECT's JSON, decoded the way nats-server decodes it: Go's encoding/json unmarshalling into
 * its ClientOpts struct. That is not what JSON.parse does, and clients can tell:
 * - keys match field names case-insensitively ("Verbose" sets verbose), the last one wins;
 * - `null` (the whole argument or one field) leaves the current value as it is;
 * - a value of the wrong type ("verbose":"false", "protocol":1.5) is an error that closes the
 *   connection, as is any syntax error, each with Go's message text (nats-server logs it);
 * - fields missing from the JSON keep their current value (CONNECT {} stays verbose).
 * The whole input is checked for syntax before any field is looked at, as Go does, so a syntax
 * error anywhere wins over a type error.
 */

import { decodeRune } from "./goquote.ts";

/** The fields of CONNECT a client connection keeps (nats-server's ClientOpts). */
export interface ConnectOptions {
  verbose: boolean;
  pedantic: boolean;
  echo: boolean;
  headers: boolean;
  no_responders: boolean;
  protocol: number;
  name: string;
  lang: string;
  version: string;
  user?: string;
  pass?: string;
  auth_token?: string;
  tls_required?: boolean;
  jwt?: string;
  nkey?: string;
  sig?: string;
  /** Asking for an account in CONNECT is refused by nats-server 2.9 (authorization violation). */
  account?: string;
  new_account?: boolean;
}

/** A CONNECT (or client INFO) argument nats-server would refuse; the message is Go's text. */
export class ConnectDecodeError extends SyntaxError {
  override name = "ConnectDecodeError";
}

/**
 * Go field types, by the name Go's errors give them: what JSON each accepts.
 * "server.SubjectPermission" is a pointer to a struct of two []string (allow, deny).
 */
type GoType =
  | "bool"
  | "string"
  | "int"
  | "int32"
  | "uint64"
  | "uint8"
  | "[]string"
  | "[]uint8"
  | "server.SubjectPermission";

/** A Go struct as encoding/json sees it: its name and its fields' JSON names and types. */
interface GoStruct {
  name: string;
  fields: Map<string, GoType>;
}

const CLIENT_OPTS: GoStruct = {
  name: "ClientOpts",
  fields: new Map<string, GoType>([
    ["echo", "bool"],
    ["verbose", "bool"],
    ["pedantic", "bool"],
    ["tls_required", "bool"],
    ["nkey", "string"],
    ["jwt", "string"],
    ["sig", "string"],
    ["auth_token", "string"],
    ["user", "string"],
    ["pass", "string"],
    ["name", "string"],
    ["lang", "string"],
    ["version", "string"],
    ["protocol", "int"],
    ["account", "string"],
    ["new_account", "bool"],
    ["headers", "bool"],
    ["no_responders", "bool"],
    ["import", "server.SubjectPermission"],
    ["export", "server.SubjectPermission"],
  ]),
};

/** nats-server's Info: a client may send INFO; it is decoded (and then ignored). */
const INFO: GoStruct = {
  name: "Info",
  fields: new Map<string, GoType>([
    ...["server_id", "server_name", "version", "git_commit", "go", "host"].map(str),
    ["proto", "int"],
    ["port", "int"],
    ...["headers", "auth_required", "tls_required", "tls_verify", "tls_available"].map(bool),
    ["max_payload", "int32"],
    ["jetstream", "bool"],
    ["ip", "string"],
    ["client_id", "uint64"],
    ...["client_ip", "nonce", "cluster"].map(str),
    ["cluster_dynamic", "bool"],
    ["domain", "string"],
    ["connect_urls", "[]string"],
    ["ws_connect_urls", "[]string"],
    ["ldm", "bool"],
    ["import", "server.SubjectPermission"],
    ["export", "server.SubjectPermission"],
    ...["lnoc", "info_on_connect", "connect_info"].map(bool),
    ["gateway", "string"],
    ["gateway_urls", "[]string"],
    ["gateway_url", "string"],
    ["gateway_cmd", "uint8"],
    ["gateway_cmd_payload", "[]uint8"],
    ["gateway_nrp", "bool"],
    ["gateway_iom", "bool"],
    ["leafnode_urls", "[]string"],
    ["remote_account", "string"],
  ]),
};

const SUBJECT_PERMISSION: GoStruct = {
  name: "SubjectPermission",
  fields: new Map<string, GoType>([["allow", "[]string"], ["deny", "[]string"]]),
};

function str(name: string): [string, GoType] {
  return [name, "string"];
}

function bool(name: string): [string, GoType] {
  return [name, "bool"];
}

/**
 * Decodes a CONNECT argument into `into`, changing only the fields the JSON sets. Throws
 * ConnectDecodeError with Go's text for input nats-server refuses.
 */
export function decodeConnect(buf: Uint8Array, into: ConnectOptions): void {
  decodeStruct(buf, CLIENT_OPTS, into as unknown as Record<string, unknown>);
}

/** Checks an INFO a client sent as nats-server decodes it; throws ConnectDecodeError. */
export function checkClientInfo(buf: Uint8Array): void {
  decodeStruct(buf, INFO, null);
}

function decodeStruct(buf: Uint8Array, t: GoStruct, out: Record<string, unknown> | null): void {
  const top = new JsonReader(buf).document();
  if (top === null) return;
  if (typeof top !== "object" || !("pairs" in top)) {
    throw new ConnectDecodeError(
      `json: cannot unmarshal ${goKind(top)} into Go value of type server.${t.name}`,
    );
  }
  const err = assign(top.pairs, t, out, t.name, []);
  if (err !== null) throw new ConnectDecodeError(err);
}

/**
 * Sets the fields of struct `t` from an object's pairs, in document order (the last of equal
 * keys wins); returns the first type error, in Go's words, after trying every field as Go does.
 * `out` null only checks. `top` and `path` name the field in errors as Go does ("ClientOpts"
 * and "verbose", or "SubjectPermission" and "import.allow").
 */
function assign(
  pairs: [string, Value][],
  t: GoStruct,
  out: Record<string, unknown> | null,
  top: string,
  path: string[],
): string | null {
  let first: string | null = null;
  for (const [key, v] of pairs) {
    const name = fieldFor(key, t);
    if (name === null || v === null) continue;
    const type = t.fields.get(name)!;
    const where = [...path, name];
    const err = type === "server.SubjectPermission"
      ? (isObject(v)
        ? assign(v.pairs, SUBJECT_PERMISSION, null, SUBJECT_PERMISSION.name, where)
        : typeError(v, type, top, where))
      : store(v, type, top, where, out, name);
    first ??= err;
  }
  return first;
}

/** One scalar or slice field: stores it in `out` when it fits, else returns Go's error. */
function store(
  v: Value,
  type: GoType,
  top: string,
  path: string[],
  out: Record<string, unknown> | null,
  name: string,
): string | null {
  let value: unknown = undefined;
  switch (type) {
    case "bool":
      if (typeof v === "boolean") value = v;
      break;
    case "string":
      if (typeof v === "string") value = v;
      break;
    case "int":
    case "int32":
    case "uint64":
    case "uint8":
      if (typeof v === "object" && v !== null && "num" in v) value = goInteger(v.num, type);
      break;
    case "[]string":
    case "[]uint8": {
      // []uint8 is []byte: Go takes a base64 string too (not checked here) or an array of bytes.
      if (type === "[]uint8" && typeof v === "string") return null;
      if (typeof v !== "object" || v === null || !("items" in v)) break;
      const elem = type === "[]string" ? "string" : "uint8";
      for (const item of v.items) {
        if (item === null) continue;
        const err = store(item, elem, top, path, null, name);
        if (err !== null) return err;
      }
      return null;
    }
  }
  if (value === undefined || value === null) return typeError(v, type, top, path);
  if (out !== null) out[name] = value;
  return null;
}

function isObject(v: Value): v is { pairs: [string, Value][] } {
  return typeof v === "object" && v !== null && "pairs" in v;
}

function typeError(v: Value, type: GoType, top: string, path: string[]): string {
  const integer = type === "int" || type === "int32" || type === "uint64" || type === "uint8";
  return `json: cannot unmarshal ${goKind(v, integer)} into Go struct field ` +
    `${top}.${path.join(".")} of type ${type}`;
}

/** A decoded JSON value; numbers keep their text (Go reports it in errors). */
type Value =
  | null
  | boolean
  | string
  | { num: string }
  | { items: Value[] }
  | { pairs: [string, Value][] };

/** An object or array being read: its entries so far (and, for an object, the current key). */
type Frame = { pairs: [string, Value][]; key: string } | { items: Value[] };

/** Go's scanner refuses nesting deeper than this. */
const MAX_DEPTH = 10000;

/**
 * The field a key names: an exact match, else Go's case folding (ASCII letters in any case, and
 * the Kelvin sign and long s that Unicode folds onto k and s).
 */
function fieldFor(key: string, t: GoStruct): string | null {
  if (t.fields.has(key)) return key;
  const folded = key.replace(
    /[A-Z\u212a\u017f]/g,
    (c) => c === "\u212a" ? "k" : c === "\u017f" ? "s" : c.toLowerCase(),
  );
  return t.fields.has(folded) ? folded : null;
}

/** How Go's UnmarshalTypeError names a JSON value ("number 1.5" when an int was wanted). */
function goKind(v: Value, wantInt = false): string {
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "string";
  if (v === null) return "null";
  if ("num" in v) return wantInt ? `number ${v.num}` : "number";
  if ("items" in v) return "array";
  return "object";
}

/** A JSON number as Go stores it in an integer field: integers within the type's range. */
function goInteger(text: string, type: GoType): number | null {
  if (!/^-?\d+$/.test(text)) return null;
  const n = BigInt(text);
  const [min, max] = type === "int32"
    ? [-(2n ** 31n), 2n ** 31n - 1n]
    : type === "uint64"
    ? [0n, 2n ** 64n - 1n]
    : type === "uint8"
    ? [0n, 255n]
    : [-(2n ** 63n), 2n ** 63n - 1n];
  return n >= min && n <= max ? Number(n) : null;
}

const EOF = -1;

/**
 * A JSON reader over bytes with Go's syntax error texts. Where input ends early, Go's scanner
 * reports what a space would have caused there: "unexpected end of JSON input" where a space is
 * allowed, else "invalid character ' ' ..." (inside a literal, a number or an escape).
 */
class JsonReader {
  #buf: Uint8Array;
  #i = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  /**
   * The whole input as one value. Iterative, with an explicit stack, so nesting as deep as Go
   * allows (10000) cannot overflow the call stack.
   */
  document(): Value {
    const stack: Frame[] = [];
    let v: Value;
    next: while (true) {
      this.#skipSpace();
      const c = this.#peek();
      if (c === 123 || c === 91) {
        if (stack.length + 1 > MAX_DEPTH) this.#fail(c, "exceeded max depth", true);
        this.#i++;
        this.#skipSpace();
        const close = c === 123 ? 125 : 93;
        if (this.#peek() === close) {
          this.#i++;
          v = c === 123 ? { pairs: [] } : { items: [] };
        } else {
          stack.push(c === 123 ? { pairs: [], key: this.#key() } : { items: [] });
          continue;
        }
      } else {
        v = this.#scalar(c);
      }
      // A value is complete: add it to its container, closing containers that end here.
      while (true) {
        const top = stack.at(-1);
        if (top === undefined) {
          this.#skipSpace();
          const t = this.#peek();
          if (t !== EOF) this.#fail(t, "after top-level value", true);
          return v;
        }
        this.#skipSpace();
        const d = this.#peek();
        this.#i++;
        if ("pairs" in top) {
          top.pairs.push([top.key, v]);
          if (d === 44) {
            top.key = this.#key();
            continue next;
          }
          if (d !== 125) this.#fail(d, "after object key:value pair", true);
          v = { pairs: top.pairs };
        } else {
          top.items.push(v);
          if (d === 44) continue next;
          if (d !== 93) this.#fail(d, "after array element", true);
          v = { items: top.items };
        }
        stack.pop();
      }
    }
  }

  #peek(): number {
    return this.#i < this.#buf.length ? this.#buf[this.#i] : EOF;
  }

  #fail(c: number, context: string, spaceAllowed: boolean): never {
    if (c === EOF && spaceAllowed) throw new ConnectDecodeError("unexpected end of JSON input");
    throw new ConnectDecodeError(`invalid character ${quoteChar(c === EOF ? 32 : c)} ${context}`);
  }

  #skipSpace(): void {
    const b = this.#buf;
    while (this.#i < b.length) {
      const c = b[this.#i];
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return;
      this.#i++;
    }
  }

  /** An object key and its colon. */
  #key(): string {
    this.#skipSpace();
    const c = this.#peek();
    if (c !== 34) this.#fail(c, "looking for beginning of object key string", true);
    const key = this.#string();
    this.#skipSpace();
    if (this.#peek() !== 58) this.#fail(this.#peek(), "after object key", true);
    this.#i++;
    return key;
  }

  /** A value that is not an object or array, starting with byte c. */
  #scalar(c: number): Value {
    switch (c) {
      case 34: // "
        return this.#string();
      case 116: // t
        this.#literal("true");
        return true;
      case 102: // f
        this.#literal("false");
        return false;
      case 110: // n
        this.#literal("null");
        return null;
    }
    if (c === 45 || (c >= 48 && c <= 57)) return this.#number();
    this.#fail(c, "looking for beginning of value", true);
  }

  #literal(word: string): void {
    this.#i++;
    for (let k = 1; k < word.length; k++) {
      const c = this.#peek();
      if (c !== word.charCodeAt(k)) {
        this.#fail(c, `in literal ${word} (expecting '${word[k]}')`, false);
      }
      this.#i++;
    }
  }

  /** A number's text, checked against JSON's grammar (Go keeps the text for the int parse). */
  #number(): Value {
    const b = this.#buf;
    const start = this.#i;
    const digits = () => {
      while (this.#peek() >= 48 && this.#peek() <= 57) this.#i++;
    };
    if (this.#peek() === 45) {
      this.#i++;
      const c = this.#peek();
      if (c < 48 || c > 57) this.#fail(c, "in numeric literal", false);
    }
    if (this.#peek() === 48) this.#i++;
    else digits();
    if (this.#peek() === 46) {
      this.#i++;
      const c = this.#peek();
      if (c < 48 || c > 57) this.#fail(c, "after decimal point in numeric literal", false);
      digits();
    }
    if (this.#peek() === 101 || this.#peek() === 69) {
      this.#i++;
      if (this.#peek() === 43 || this.#peek() === 45) this.#i++;
      const c = this.#peek();
      if (c < 48 || c > 57) this.#fail(c, "in exponent of numeric literal", false);
      digits();
    }
    return { num: String.fromCharCode(...b.subarray(start, this.#i)) };
  }

  /** A string: escapes decoded, invalid UTF-8 and lone surrogates become U+FFFD, as in Go. */
  #string(): string {
    this.#i++;
    const b = this.#buf;
    let out = "";
    let runStart = this.#i;
    while (true) {
      const c = this.#peek();
      if (c === 34) {
        out += decodeUtf8(b, runStart, this.#i);
        this.#i++;
        return out;
      }
      if (c === EOF) this.#fail(c, "in string literal", true);
      if (c < 0x20) this.#fail(c, "in string literal", false);
      if (c !== 92) {
        this.#i++;
        continue;
      }
      out += decodeUtf8(b, runStart, this.#i);
      this.#i++;
      const e = this.#peek();
      this.#i++;
      switch (e) {
        case 98:
          out += "\b";
          break;
        case 102:
          out += "\f";
          break;
        case 110:
          out += "\n";
          break;
        case 114:
          out += "\r";
          break;
        case 116:
          out += "\t";
          break;
        case 92:
        case 47:
        case 34:
          out += String.fromCharCode(e);
          break;
        case 117:
          out += this.#unicodeEscape();
          break;
        default:
          this.#fail(e, "in string escape code", false);
      }
      runStart = this.#i;
    }
  }

  /**
   * After `\u`: four hex digits. A high surrogate followed by an escaped low one makes one
   * character; any other surrogate is U+FFFD, and an escape after it stands on its own.
   */
  #unicodeEscape(): string {
    const hi = this.#hex4();
    if (hi < 0xd800 || hi > 0xdfff) return String.fromCharCode(hi);
    const b = this.#buf;
    const i = this.#i;
    if (hi < 0xdc00 && b[i] === 92 && b[i + 1] === 117) {
      let lo = 0;
      for (let k = 2; k < 6 && lo >= 0; k++) {
        const d = hexDigit(i + k < b.length ? b[i + k] : EOF);
        lo = d < 0 ? -1 : lo * 16 + d;
      }
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        this.#i += 6;
        return String.fromCharCode(hi, lo);
      }
    }
    return "\ufffd";
  }

  #hex4(): number {
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.#peek();
      const d = hexDigit(c);
      if (d < 0) this.#fail(c, "in \\u hexadecimal character escape", false);
      n = n * 16 + d;
      this.#i++;
    }
    return n;
  }
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** UTF-8 as Go decodes it: each byte of an invalid sequence becomes one U+FFFD. */
function decodeUtf8(b: Uint8Array, start: number, end: number): string {
  let out = "";
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      let j = i;
      while (j < end && b[j] < 0x80) j++;
      out += String.fromCharCode(...b.subarray(i, j));
      i = j;
      continue;
    }
    const [cp, size] = decodeRune(b, i, end);
    out += String.fromCodePoint(cp);
    i += size;
  }
  return out;
}

/**
 * Go's quoteChar: the byte as a one-character Go string literal in single quotes. A byte above
 * 0x7F is taken as the code point of that value (Latin-1), as Go's string(byte) conversion does.
 */
function quoteChar(c: number): string {
  if (c === 39) return "'\\''";
  if (c === 34) return "'\"'";
  const named: Record<number, string> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v" };
  Object.assign(named, { 12: "\\f", 13: "\\r", 92: "\\\\" });
  if (named[c] !== undefined) return `'${named[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, "0")}'`;
  // Go's IsPrint: C1 controls, the no-break space and the soft hyphen are not printable.
  if ((c >= 0x80 && c < 0xa0) || c === 0xa0 || c === 0xad) {
    return `'\\u${c.toString(16).padStart(4, "0")}'`;
  }
  return `'${String.fromCharCode(c)}'`;
}
