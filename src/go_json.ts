/**
 * JSON read the way Go's encoding/json reads it, for every request body and document that
 * nats-server decodes with json.Unmarshal: CONNECT (a bad one closes the connection with Go's
 * text), JetStream API requests (answered "invalid JSON" where Go fails), a pull request's body
 * (its `400 Bad Request - ...` quotes Go's text), the bodies of `$SYS.REQ.*` requests ("json:
 * cannot unmarshal string into Go struct field ConnzEventOptions.limit of type int") and JWTs.
 * What matters from Go:
 *
 * - the scanner checks the whole document first, with its texts ("invalid character '}'
 *   looking for beginning of value", "unexpected end of JSON input") and its nesting limit;
 *   strings decode as Go decodes them (each byte of bad UTF-8 and each lone surrogate is U+FFFD);
 * - number literals stay as written until a field decodes them (`1e3` is not an int to Go);
 * - an object keeps its members in order, duplicates included: Go decodes each one in turn, so
 *   a repeated struct key merges into the same struct and a type error in an earlier copy counts;
 * - keys match field names exactly or, failing that, case-insensitively (Go's folding);
 *   unknown keys are ignored; `null` leaves a field at its zero value (here: absent), except for
 *   types with their own UnmarshalJSON, which see the literal `null`;
 * - a value of the wrong JSON kind is a type error that is remembered (the first one wins) while
 *   decoding goes on; an error from a custom unmarshaler aborts at once and wins over it;
 * - the error names the Go struct that holds the field and the path of JSON names from the top.
 *
 * Absent and present-but-empty lists stay apart (undefined vs []), because nats-server compares
 * claims with reflect.DeepEqual, where a nil slice and an empty one differ.
 *
 * Writing: encoding/json's Marshal and MarshalIndent (goJson). Go's time text is go_time.ts.
 */

import { parseRfc3339 } from "./go_time.ts";
import { decodeRune, quoteRune } from "./goquote.ts";

// Values ------------------------------------------------------------------------------------------

/** A parsed value: numbers keep their literal text, objects their members in order. */
export type GoJsonValue = null | boolean | string | GoNumber | GoJsonValue[] | GoObject;

/** A number literal as written; the field that receives it decides what it may be. */
export class GoNumber {
  constructor(readonly raw: string) {}
}

/** An object's members in document order, repeated keys included. */
export class GoObject {
  constructor(readonly entries: [string, GoJsonValue][]) {}
}

/**
 * A Go json error: text exactly as Go's error.Error() returns it. A type error keeps its JSON
 * kind and Go type, so an enclosing decoder can re-word it with its own context as Go does.
 */
export class GoJsonError extends Error {
  readonly mismatch: { value: string; go: string } | null;
  constructor(message: string, mismatch: { value: string; go: string } | null = null) {
    super(message);
    this.name = "GoJsonError";
    this.mismatch = mismatch;
  }
}

/** The JSON kind of a value as Go's errors name it. */
export function jsonKind(v: GoJsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof GoNumber) return "number";
  if (v instanceof GoObject) return "object";
  return typeof v === "boolean" ? "bool" : "string";
}

/** An object as Go's map[string]interface{} holds it: one value per key, the last one. */
export function asMap(o: GoObject): Map<string, GoJsonValue> {
  return new Map(o.entries);
}

/** nats-server's isEmptyRequest: no body, `{}`, or a JSON object without members. */
export function isEmptyRequest(body: Uint8Array | string): boolean {
  if (body.length === 0) return true;
  try {
    const v = parseGoJson(body);
    return v instanceof GoObject && v.entries.length === 0;
  } catch {
    return false;
  }
}

// Scanning ----------------------------------------------------------------------------------------

/** encoding/json's maxNestingDepth. */
const MAX_DEPTH = 10000;

/**
 * Go's quoteChar: the offending byte as a one-character Go string literal in single quotes. A
 * byte above 0x7F is taken as the code point of that value (Latin-1), as Go's string(byte) does.
 */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  return `'${quoteRune(c)}'`;
}

/**
 * Scanner states that take a space: at the end of input Go feeds the scanner one space, so
 * these report "unexpected end of JSON input" and the others "invalid character ' ' ...".
 */
const SPACE_OK = new Set([
  "looking for beginning of value",
  "looking for beginning of object key string",
  "after object key",
  "after object key:value pair",
  "after array element",
  "in string literal",
]);

/** An array or object being read: its elements so far, or its members and the pending key. */
interface Frame {
  list: GoJsonValue[] | null;
  obj: [string, GoJsonValue][] | null;
  key: string;
}

const enc = new TextEncoder();
/** Valid UTF-8 only (anything else is decoded rune by rune, as Go does); a BOM is kept. */
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

class Scanner {
  i = 0;
  depth = 0;
  constructor(readonly b: Uint8Array) {}

  fail(context: string): never {
    if (this.i >= this.b.length) {
      if (SPACE_OK.has(context)) throw new GoJsonError("unexpected end of JSON input");
      throw new GoJsonError(`invalid character ' ' ${context}`);
    }
    throw new GoJsonError(`invalid character ${quoteChar(this.b[this.i])} ${context}`);
  }

  ws(): void {
    while (this.i < this.b.length && isSpace(this.b[this.i])) this.i++;
  }

  /**
   * One value, iteratively (an explicit stack of open arrays and objects), so nesting as deep as
   * Go allows costs no call stack.
   */
  value(): GoJsonValue {
    const stack: Frame[] = [];
    while (true) {
      this.ws();
      const c = this.b[this.i];
      let v: GoJsonValue;
      if (c === 0x7b || c === 0x5b) {
        if (++this.depth > MAX_DEPTH) this.fail("exceeded max depth");
        this.i++;
        this.ws();
        const close = c === 0x7b ? 0x7d : 0x5d;
        if (this.b[this.i] === close) {
          this.i++;
          this.depth--;
          v = c === 0x7b ? new GoObject([]) : [];
        } else if (c === 0x5b) {
          stack.push({ list: [], obj: null, key: "" });
          continue;
        } else {
          stack.push({ list: null, obj: [], key: this.key() });
          continue;
        }
      } else if (c === 0x22) v = this.string();
      else if (c === 0x2d || isDigit(c)) v = this.number();
      else if (c === 0x74) v = this.literal("true", true);
      else if (c === 0x66) v = this.literal("false", false);
      else if (c === 0x6e) v = this.literal("null", null);
      else return this.fail("looking for beginning of value");
      // A value is complete: it goes into the enclosing array or object, which may end too.
      while (true) {
        const top = stack.at(-1);
        if (top === undefined) return v;
        this.ws();
        const n = this.b[this.i];
        if (top.list !== null) {
          top.list.push(v);
          if (n === 0x2c) {
            this.i++;
            break;
          }
          if (n !== 0x5d) this.fail("after array element");
          v = top.list;
        } else {
          top.obj!.push([top.key, v]);
          if (n === 0x2c) {
            this.i++;
            top.key = this.key();
            break;
          }
          if (n !== 0x7d) this.fail("after object key:value pair");
          v = new GoObject(top.obj!);
        }
        this.i++;
        this.depth--;
        stack.pop();
      }
    }
  }

  /** An object key and its colon. */
  key(): string {
    this.ws();
    if (this.b[this.i] !== 0x22) this.fail("looking for beginning of object key string");
    const k = this.string();
    this.ws();
    if (this.b[this.i] !== 0x3a) this.fail("after object key");
    this.i++;
    return k;
  }

  literal<T>(word: string, v: T): T {
    for (let k = 0; k < word.length; k++, this.i++) {
      if (this.b[this.i] !== word.charCodeAt(k)) {
        this.fail(`in literal ${word} (expecting ${quoteChar(word.charCodeAt(k))})`);
      }
    }
    return v;
  }

  number(): GoNumber {
    const start = this.i;
    const digit = () => isDigit(this.b[this.i]);
    if (this.b[this.i] === 0x2d) {
      this.i++;
      if (!digit()) this.fail("in numeric literal");
    }
    if (this.b[this.i] === 0x30) this.i++;
    else while (digit()) this.i++;
    if (this.b[this.i] === 0x2e) {
      this.i++;
      if (!digit()) this.fail("after decimal point in numeric literal");
      while (digit()) this.i++;
    }
    if (this.b[this.i] === 0x65 || this.b[this.i] === 0x45) {
      this.i++;
      if (this.b[this.i] === 0x2b || this.b[this.i] === 0x2d) this.i++;
      if (!digit()) this.fail("in exponent of numeric literal");
      while (digit()) this.i++;
    }
    return new GoNumber(utf8(this.b, start, this.i));
  }

  /** A string: escapes decoded, invalid UTF-8 and lone surrogates become U+FFFD, as in Go. */
  string(): string {
    const b = this.b;
    let i = ++this.i;
    let run = i;
    let out = "";
    while (true) {
      if (i >= b.length) {
        this.i = i;
        this.fail("in string literal");
      }
      const c = b[i];
      if (c === 0x22) break;
      if (c < 0x20) {
        this.i = i;
        this.fail("in string literal");
      }
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += utf8(b, run, i);
      const e = b[++i];
      const simple = e === undefined ? undefined : SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        i++;
      } else if (e === 0x75) {
        this.i = i + 1;
        out += this.unicodeEscape();
        i = this.i;
      } else {
        this.i = i;
        this.fail("in string escape code");
      }
      run = i;
    }
    out += utf8(b, run, i);
    this.i = i + 1;
    return out;
  }

  /**
   * After `\u`: four hex digits. A high surrogate followed by an escaped low one makes one
   * character; any other surrogate is U+FFFD, and an escape after it stands on its own.
   */
  unicodeEscape(): string {
    const hi = this.hex4();
    if (hi < 0xd800 || hi > 0xdfff) return String.fromCharCode(hi);
    const b = this.b;
    const i = this.i;
    if (hi < 0xdc00 && b[i] === 0x5c && b[i + 1] === 0x75) {
      let lo = 0;
      for (let k = 2; k < 6 && lo >= 0; k++) {
        const d = hexDigit(b[i + k]);
        lo = d < 0 ? -1 : lo * 16 + d;
      }
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        this.i += 6;
        return String.fromCharCode(hi, lo);
      }
    }
    return "\ufffd";
  }

  hex4(): number {
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const d = hexDigit(this.b[this.i]);
      if (d < 0) this.fail("in \\u hexadecimal character escape");
      n = n * 16 + d;
      this.i++;
    }
    return n;
  }
}

const SIMPLE_ESCAPES: Record<number, string> = {
  0x22: '"',
  0x5c: "\\",
  0x2f: "/",
  0x62: "\b",
  0x66: "\f",
  0x6e: "\n",
  0x72: "\r",
  0x74: "\t",
};

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Runs up to this long are checked for ASCII and built without TextDecoder. */
const SHORT = 64;

/** Bytes b[start:end] as a string, as Go decodes UTF-8: each byte of a bad sequence is U+FFFD. */
function utf8(b: Uint8Array, start: number, end: number): string {
  if (start === end) return "";
  if (end - start <= SHORT) {
    // Keys and small values: ASCII is built here, cheaper than a call into the decoder.
    let i = start;
    while (i < end && b[i] < 0x80) i++;
    if (i === end) return String.fromCharCode.apply(null, b.subarray(start, end) as never);
  }
  try {
    return strict.decode(b.subarray(start, end));
  } catch {
    let out = "";
    let i = start;
    while (i < end) {
      let j = i;
      while (j < end && b[j] < 0x80) j++;
      if (j > i) out += strict.decode(b.subarray(i, j));
      if (j === end) break;
      const [cp, size] = decodeRune(b, j, end);
      out += String.fromCodePoint(cp);
      i = j + size;
    }
    return out;
  }
}

/**
 * Parses a JSON document as json.Unmarshal sees it, with the texts of Go's scanner. Throws
 * {@link GoJsonError}.
 */
export function parseGoJson(doc: Uint8Array | string): GoJsonValue {
  const bytes = typeof doc === "string" ? enc.encode(doc) : doc;
  const s = new Scanner(bytes);
  const v = s.value();
  s.ws();
  if (s.i < bytes.length) s.fail("after top-level value");
  return v;
}

/**
 * An integer field's value from a number literal, as strconv.ParseInt (ParseUint when `min` is
 * 0) reads it; null when Go refuses it.
 */
function goInt(raw: string, min: bigint, max: bigint): number | null {
  // strconv.ParseUint takes no sign, not even for "-0".
  if (!/^-?\d+$/.test(raw) || (min === 0n && raw[0] === "-")) return null;
  if (raw.length <= 15) {
    // Exact as a double: no BigInt needed (+ 0 makes "-0" a plain 0).
    const n = Number(raw) + 0;
    return n >= Number(min) && n <= Number(max) ? n : null;
  }
  const b = BigInt(raw);
  if (b < min || b > max) return null;
  return Number(b);
}

// Typed decoding ----------------------------------------------------------------------------------

/** A field schema: how one JSON value becomes one Go-typed value. */
export type Schema =
  | { kind: "string"; go: string }
  | { kind: "int"; go: string; min: bigint; max: bigint }
  | { kind: "bool" }
  | { kind: "list"; go: string; elem: Schema }
  | { kind: "map"; go: string; elem: Schema }
  | StructSchema
  | { kind: "custom"; decode: (v: GoJsonValue, ctx: DecodeContext) => unknown };

export interface StructSchema {
  kind: "struct";
  /** Go type as errors print it ("jwt.Permission"). */
  go: string;
  /** A pointer field (*T): `null` clears it, and inside lists a `null` element stays null. */
  ptr?: boolean;
  /** Go struct name as errors name the holder of a field ("Permission"). */
  name: string;
  fields: Record<string, Schema>;
  /** Folded field names, for Go's case-insensitive key match (built on first use). */
  folded?: Map<string, string>;
}

/** Where in the document decoding is, for error texts. */
export class DecodeContext {
  saved: GoJsonError | null = null;
  /** Go struct holding the current field; null at the top or inside a bare value. */
  struct: string | null = null;
  path: string[] = [];

  typeError(value: string, go: string): GoJsonError {
    return new GoJsonError(this.#describe(value, go), { value, go });
  }

  /** A type error that does not stop decoding (only the first is reported). */
  save(value: string, go: string): void {
    this.saved ??= this.typeError(value, go);
  }

  #describe(value: string, go: string): string {
    if (this.struct !== null || this.path.length > 0) {
      return `json: cannot unmarshal ${value} into Go struct field ${this.struct ?? ""}.${
        this.path.join(".")
      } of type ${go}`;
    }
    return `json: cannot unmarshal ${value} into Go value of type ${go}`;
  }
}

/**
 * Decodes `v` into the shape `schema` describes; returns undefined for JSON null or for a value
 * whose type error was saved in `ctx`.
 */
export function decodeValue(v: GoJsonValue, schema: Schema, ctx: DecodeContext): unknown {
  if (schema.kind === "custom") return schema.decode(v, ctx);
  if (v === null) return undefined;
  switch (schema.kind) {
    case "string":
      if (typeof v === "string") return v;
      ctx.save(jsonKind(v), schema.go);
      return undefined;
    case "bool":
      if (typeof v === "boolean") return v;
      ctx.save(jsonKind(v), "bool");
      return undefined;
    case "int":
      if (v instanceof GoNumber) {
        const n = goInt(v.raw, schema.min, schema.max);
        if (n !== null) return n;
        ctx.save(`number ${v.raw}`, schema.go);
        return undefined;
      }
      ctx.save(jsonKind(v), schema.go);
      return undefined;
    case "list": {
      if (!Array.isArray(v)) {
        ctx.save(jsonKind(v), schema.go);
        return undefined;
      }
      const out: unknown[] = [];
      for (const e of v) {
        const d = decodeValue(e, schema.elem, ctx);
        out.push(d ?? zeroOf(schema.elem));
      }
      return out;
    }
    case "map": {
      if (!(v instanceof GoObject)) {
        ctx.save(jsonKind(v), schema.go);
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [k, e] of v.entries) {
        const d = decodeValue(e, schema.elem, ctx);
        setMember(out, k, d ?? zeroOf(schema.elem));
      }
      return out;
    }
    case "struct":
      return decodeStruct(v, schema, ctx, {});
  }
}

/** Sets a member as JSON.parse would: `__proto__` is an own property like any other key. */
function setMember(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") {
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  } else {
    o[k] = v;
  }
}

/** Go's zero value for an element that was null or mistyped inside a list or map. */
function zeroOf(schema: Schema): unknown {
  switch (schema.kind) {
    case "string":
      return "";
    case "int":
      return 0;
    case "bool":
      return false;
    case "struct":
      return schema.ptr ? null : {};
    default:
      return undefined;
  }
}

/** A decoded struct (not null, not a list): what a repeated key decodes into again. */
function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Fills `into` (which may carry defaults, as Go code pre-sets limits to -1 before unmarshalling)
 * from the object `v`, member by member in document order. Keys are matched exactly first, then
 * case-insensitively; a struct field given again decodes into the same struct, as in Go.
 */
export function decodeStruct(
  v: GoJsonValue,
  schema: StructSchema,
  ctx: DecodeContext,
  into: Record<string, unknown>,
): Record<string, unknown> | undefined {
  if (v === null) return undefined;
  if (!(v instanceof GoObject)) {
    ctx.save(jsonKind(v), schema.go);
    return undefined;
  }
  schema.folded ??= new Map(Object.keys(schema.fields).map((n) => [fold(n), n]));
  const outerStruct = ctx.struct;
  const depth = ctx.path.length;
  for (const [key, value] of v.entries) {
    const name = Object.hasOwn(schema.fields, key) ? key : schema.folded.get(fold(key));
    if (name === undefined) continue;
    ctx.struct = schema.name;
    ctx.path.push(name);
    const field = schema.fields[name];
    const existing = into[name];
    const d = field.kind === "struct" && isRecord(existing)
      ? decodeStruct(value, field, ctx, existing)
      : decodeValue(value, field, ctx);
    if (d !== undefined) into[name] = d;
    else if (value === null && nullClears(field)) delete into[name];
    ctx.path.length = depth;
    ctx.struct = outerStruct;
  }
  return into;
}

/**
 * A key as Go's field-name match folds it: ASCII letters in any case, and the Kelvin sign and
 * long s that Unicode folds onto k and s (field names are ASCII, so nothing else can match).
 */
function fold(key: string): string {
  return key.replace(
    /[A-Z\u212a\u017f]/g,
    (c) => c === "\u212a" ? "k" : c === "\u017f" ? "s" : c.toLowerCase(),
  );
}

/** Go sets slices, maps and pointers to nil on `null` and leaves everything else alone. */
function nullClears(field: Schema): boolean {
  return field.kind === "list" || field.kind === "map" || (field.kind === "struct" && !!field.ptr);
}

/**
 * Decodes a whole parsed document into `schema` (a struct), as json.Unmarshal into a fresh value
 * with `defaults` pre-set. Throws {@link GoJsonError} with Go's text for the error Go returns.
 */
export function unmarshal<T extends object = Record<string, unknown>>(
  v: GoJsonValue,
  schema: StructSchema,
  defaults: T = {} as T,
): T {
  const ctx = new DecodeContext();
  const into = defaults as Record<string, unknown>;
  try {
    if (!(v instanceof GoObject)) {
      if (v === null) return defaults;
      throw ctx.typeError(jsonKind(v), schema.go);
    }
    decodeStruct(v, schema, ctx, into);
  } catch (e) {
    throw e instanceof AbortDecode ? e.error : e;
  }
  if (ctx.saved) throw ctx.saved;
  return defaults;
}

/**
 * An error from a custom unmarshaler: stops decoding. A type error raised by one gets the
 * context of the field being decoded (Go's addErrorContext); any other text stays as it is.
 */
export class AbortDecode extends Error {
  private constructor(readonly error: GoJsonError) {
    super(error.message);
  }

  static text(message: string): AbortDecode {
    return new AbortDecode(new GoJsonError(message));
  }

  static type(ctx: DecodeContext, value: string, go: string): AbortDecode {
    return new AbortDecode(ctx.typeError(value, go));
  }
}

// Schema shorthands -----------------------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
export const str = (go = "string"): Schema => ({ kind: "string", go });
export const int64 = (go = "int64"): Schema => ({
  kind: "int",
  go,
  min: INT64_MIN,
  max: INT64_MAX,
});
export const int32 = (go = "int32"): Schema => ({
  kind: "int",
  go,
  min: -(2n ** 31n),
  max: 2n ** 31n - 1n,
});
export const uint = (go: string, bits: number): Schema => ({
  kind: "int",
  go,
  min: 0n,
  max: 2n ** BigInt(bits) - 1n,
});
export const BOOL: Schema = { kind: "bool" };
export const list = (go: string, elem: Schema): Schema => ({ kind: "list", go, elem });
export const map = (go: string, elem: Schema): Schema => ({ kind: "map", go, elem });
export const struct = (go: string, fields: Record<string, Schema>): StructSchema => ({
  kind: "struct",
  go,
  name: go.replace(/^.*\./, ""),
  fields,
});
export const ptr = (s: StructSchema): StructSchema => ({ ...s, ptr: true });
export const custom = (decode: (v: GoJsonValue, ctx: DecodeContext) => unknown): Schema => ({
  kind: "custom",
  decode,
});

/**
 * A string enum with its own UnmarshalJSON (RetentionPolicy, AckPolicy, ...): the JSON string
 * names its value (`anyCase`: in any case); anything else, `null` included, aborts decoding.
 */
export const goEnum = (values: Record<string, string>, anyCase = false): Schema =>
  custom((v) => {
    const s = typeof v === "string" ? (anyCase ? v.toLowerCase() : v) : undefined;
    if (s !== undefined && Object.hasOwn(values, s)) return values[s];
    throw AbortDecode.text(`can not unmarshal ${JSON.stringify(jsonText(v))}`);
  });

/** A value's JSON text as written, but for arrays and objects (for unmarshaler error texts). */
function jsonText(v: GoJsonValue): string {
  if (v instanceof GoNumber) return v.raw;
  if (v instanceof GoObject) return "{...}";
  if (Array.isArray(v)) return "[...]";
  return JSON.stringify(v);
}

/**
 * A *time.Time: RFC 3339 text, kept as a GoTime (so it prints back as written); `null` sets it
 * to nil. Anything else aborts decoding, as time.Time's UnmarshalJSON does.
 */
export const timePtr: Schema = custom((v) => {
  if (v === null) return null;
  if (typeof v !== "string") {
    throw AbortDecode.text("Time.UnmarshalJSON: input is not a JSON string");
  }
  const t = parseRfc3339(v);
  if (t === null) throw AbortDecode.text(`parsing time ${JSON.stringify(v)}`);
  return t;
});

/** The Go types requests use most. */
export const INT = int64("int");
export const UINT64 = uint("uint64", 64);
export const DURATION = int64("time.Duration");
export const STRING = str();
export const STRINGS = list("[]string", STRING);
export const DURATIONS = list("[]time.Duration", DURATION);

// Request bodies ----------------------------------------------------------------------------------

/**
 * Decodes a request body into `target` (field values by JSON name), as json.Unmarshal into the
 * nats-server option struct `structName` (e.g. "ConnzEventOptions").
 */
export function unmarshalBody(
  body: Uint8Array,
  structName: string,
  fields: Record<string, Schema>,
  target: Record<string, unknown>,
): void {
  unmarshal(parseGoJson(body), struct(`server.${structName}`, fields), target);
}

// Writing ---------------------------------------------------------------------------------------

/** encoding/json MarshalIndent(v, "", "  "), including Go's HTML-safe escapes in strings. */
export function goJson(v: unknown, indent = true): string {
  return write(v, indent ? "\n" : "");
}

const ESCAPES: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026" };

function quote(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => ESCAPES[c] ?? "\\u" + c.charCodeAt(0).toString(16),
  );
}

/** Object keys in insertion order, `undefined` members left out, bigint written as its digits. */
function write(v: unknown, nl: string): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return quote(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
  }
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") {
    return write((v as { toJSON(): unknown }).toJSON(), nl);
  }
  const inner = nl === "" ? "" : nl + "  ";
  const sep = nl === "" ? ":" : ": ";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return "[" + inner + v.map((e) => write(e, inner)).join("," + inner) + nl + "]";
  }
  const parts: string[] = [];
  for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
    if (e === undefined) continue;
    parts.push(quote(k) + sep + write(e, inner));
  }
  if (parts.length === 0) return "{}";
  return "{" + inner + parts.join("," + inner) + nl + "}";
}
