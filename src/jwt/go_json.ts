/**
 * Typed reading of parsed JSON the way Go's encoding/json fills a struct, so a JWT that
 * nats-server rejects for a mistyped field is rejected here too, with the same text
 * ("json: cannot unmarshal string into Go struct field Permission.nats.pub.allow of type
 * jwt.StringList"). What matters from Go's decoder:
 *
 * - keys match field names exactly or, failing that, case-insensitively; unknown keys are ignored;
 * - `null` leaves a field at its zero value (here: absent), except for types with their own
 *   UnmarshalJSON, which see the literal `null`;
 * - a value of the wrong JSON kind is a type error that is remembered (the first one wins) while
 *   decoding goes on; an error from a custom unmarshaler aborts at once and wins over it;
 * - the error names the Go struct that holds the field and the path of JSON names from the top.
 *
 * Absent and present-but-empty lists stay apart (undefined vs []), because nats-server compares
 * claims with reflect.DeepEqual, where a nil slice and an empty one differ.
 */

/** A field schema: how one JSON value becomes one Go-typed value. */
export type Schema =
  | { kind: "string"; go: string }
  | { kind: "int"; go: string; min: number; max: number }
  | { kind: "bool" }
  | { kind: "list"; go: string; elem: Schema }
  | { kind: "map"; go: string; elem: Schema }
  | StructSchema
  | { kind: "custom"; decode: (v: unknown, ctx: DecodeContext) => unknown };

export interface StructSchema {
  kind: "struct";
  /** Go type as errors print it ("jwt.Permission"). */
  go: string;
  /** A pointer field (*T): `null` clears it, and inside lists a `null` element stays null. */
  ptr?: boolean;
  /** Go struct name as errors name the holder of a field ("Permission"). */
  name: string;
  fields: Record<string, Schema>;
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

/** The JSON kind of a value as Go's errors name it. */
export function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof RawNumber) return "number";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return "number";
    case "boolean":
      return "bool";
    default:
      return "object";
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof RawNumber);
}

/**
 * Decodes `v` into the shape `schema` describes; returns undefined for JSON null or for a value
 * whose type error was saved in `ctx`.
 */
export function decodeValue(v: unknown, schema: Schema, ctx: DecodeContext): unknown {
  if (schema.kind === "custom") return schema.decode(v, ctx);
  if (v === null || v === undefined) return undefined;
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
      if (typeof v === "number" || v instanceof RawNumber) {
        const n = goInt(v, schema.min, schema.max);
        if (n !== null) return n;
        ctx.save(`number ${v instanceof RawNumber ? v.source : v}`, schema.go);
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
      if (!isObject(v)) {
        ctx.save(jsonKind(v), schema.go);
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v)) {
        const d = decodeValue(e, schema.elem, ctx);
        out[k] = d ?? zeroOf(schema.elem);
      }
      return out;
    }
    case "struct":
      return decodeStruct(v, schema, ctx, {});
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

/**
 * Fills `into` (which may carry defaults, as Go code pre-sets limits to -1 before unmarshalling)
 * from the object `v`. Keys are matched exactly first, then case-insensitively.
 */
export function decodeStruct(
  v: unknown,
  schema: StructSchema,
  ctx: DecodeContext,
  into: Record<string, unknown>,
): Record<string, unknown> | undefined {
  if (v === null || v === undefined) return undefined;
  if (!isObject(v)) {
    ctx.save(jsonKind(v), schema.go);
    return undefined;
  }
  const folded = foldedNames(schema);
  const outerStruct = ctx.struct;
  const depth = ctx.path.length;
  for (const [key, value] of Object.entries(v)) {
    const name = key in schema.fields ? key : folded.get(key.toLowerCase());
    if (name === undefined) continue;
    ctx.struct = schema.name;
    ctx.path.push(name);
    const field = schema.fields[name];
    const existing = into[name];
    const d = field.kind === "struct" && isObject(existing) && !field.ptr
      ? decodeStruct(value, field, ctx, existing)
      : decodeValue(value, field, ctx);
    if (d !== undefined) into[name] = d;
    else if (value === null && nullClears(field)) delete into[name];
    ctx.path.length = depth;
    ctx.struct = outerStruct;
  }
  return into;
}

const FOLDED = new WeakMap<StructSchema, Map<string, string>>();

/** Lower-cased field names of a struct, for Go's case-insensitive key match. */
function foldedNames(schema: StructSchema): Map<string, string> {
  let m = FOLDED.get(schema);
  if (m === undefined) {
    m = new Map(Object.keys(schema.fields).map((n) => [n.toLowerCase(), n]));
    FOLDED.set(schema, m);
  }
  return m;
}

/** Go sets slices, maps and pointers to nil on `null` and leaves everything else alone. */
function nullClears(field: Schema): boolean {
  return field.kind === "list" || field.kind === "map" || (field.kind === "struct" && !!field.ptr);
}

/**
 * Decodes a whole document into `schema` (a struct), as json.Unmarshal into a fresh value with
 * `defaults` pre-set. Throws {@link GoJsonError} with Go's text for the error Go would return.
 */
export function unmarshal(
  v: unknown,
  schema: StructSchema,
  defaults: Record<string, unknown> = {},
): Record<string, unknown> {
  const ctx = new DecodeContext();
  let out: Record<string, unknown> | undefined;
  try {
    if (!isObject(v)) {
      if (v === null) return defaults;
      throw ctx.typeError(jsonKind(v), schema.go);
    }
    out = decodeStruct(v, schema, ctx, defaults);
  } catch (e) {
    throw e instanceof AbortDecode ? e.error : e;
  }
  if (ctx.saved) throw ctx.saved;
  return out ?? defaults;
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

const INT64 = 2 ** 63;
export const str = (go = "string"): Schema => ({ kind: "string", go });
export const int64 = (go = "int64"): Schema => ({ kind: "int", go, min: -INT64, max: INT64 - 1 });
export const uint = (go: string, bits: number): Schema => ({
  kind: "int",
  go,
  min: 0,
  max: 2 ** bits - 1,
});
export const bool: Schema = { kind: "bool" };
export const list = (go: string, elem: Schema): Schema => ({ kind: "list", go, elem });
export const map = (go: string, elem: Schema): Schema => ({ kind: "map", go, elem });
export const struct = (go: string, fields: Record<string, Schema>): StructSchema => ({
  kind: "struct",
  go,
  name: go.replace(/^.*\./, ""),
  fields,
});
export const ptr = (s: StructSchema): StructSchema => ({ ...s, ptr: true });
export const custom = (decode: (v: unknown, ctx: DecodeContext) => unknown): Schema => ({
  kind: "custom",
  decode,
});

// Parsing -----------------------------------------------------------------------------------------

/**
 * A number whose text is not a plain safe integer: kept with its source so integer fields read
 * it as Go does (strconv.ParseInt of the literal) and errors quote the literal ("number 1e3").
 */
export class RawNumber {
  constructor(readonly source: string, readonly value: number) {}
}

const dec = new TextDecoder();

/**
 * Parses a JSON document as json.Unmarshal sees it: first a full syntax check with the texts of
 * Go's scanner ("invalid character '}' looking for beginning of value", "unexpected end of JSON
 * input"), then the values, numbers that are not canonical safe integers kept as
 * {@link RawNumber}. Throws {@link GoJsonError}.
 */
export function parseGoJson(bytes: Uint8Array): unknown {
  const err = syntaxError(bytes);
  if (err !== null) throw new GoJsonError(err);
  return JSON.parse(dec.decode(bytes), function (_key, value, context?: { source?: string }) {
    if (typeof value !== "number") return value;
    const source = context?.source ?? String(value);
    return Number.isSafeInteger(value) && String(value) === source
      ? value
      : new RawNumber(source, value);
  });
}

/** An integer field's value from a JSON number, as strconv.ParseInt; null when Go refuses it. */
export function goInt(v: number | RawNumber, min: number, max: number): number | null {
  if (typeof v === "number") return Number.isInteger(v) && v >= min && v <= max ? v : null;
  if (!/^-?\d+$/.test(v.source)) return null;
  const b = BigInt(v.source);
  if (b < BigInt(min) || b > BigInt(max)) return null;
  return Number(b);
}

/** Go's quoteChar: how the scanner shows the offending byte. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const ch = String.fromCharCode(c);
  let q: string;
  if (ch === "\\") q = "\\\\";
  else if (ch === "\n") q = "\\n";
  else if (ch === "\r") q = "\\r";
  else if (ch === "\t") q = "\\t";
  else if (c === 7) q = "\\a";
  else if (c === 8) q = "\\b";
  else if (c === 0x0c) q = "\\f";
  else if (c === 0x0b) q = "\\v";
  else if (c < 0x20 || c === 0x7f) q = "\\x" + c.toString(16).padStart(2, "0");
  else if (c >= 0x80 && c < 0xa0) q = "\\u00" + c.toString(16).padStart(2, "0");
  else q = ch;
  return `'${q}'`;
}

/** Scanner states that take a space: at the end of input they report "unexpected end". */
const SPACE_OK = new Set([
  "looking for beginning of value",
  "looking for beginning of object key string",
  "after object key",
  "after object key:value pair",
  "after array element",
  "in string literal",
]);

class SyntaxStop {
  constructor(readonly message: string) {}
}

/**
 * Go's checkValid over `b`: null when the document is well-formed, else the scanner's message.
 * At the end of input the scanner is fed one space first, so an unfinished literal reports
 * "invalid character ' ' in literal true (expecting 'e')" as Go does.
 */
function syntaxError(b: Uint8Array): string | null {
  let i = 0;
  /** The byte at i, or a space at the end (Go's eof step), marking that end was reached. */
  let atEnd = false;
  const peek = (): number => {
    if (i < b.length) return b[i];
    atEnd = true;
    return 0x20;
  };
  const fail = (ctx: string): never => {
    if (atEnd && i >= b.length && SPACE_OK.has(ctx)) {
      throw new SyntaxStop("unexpected end of JSON input");
    }
    throw new SyntaxStop(`invalid character ${quoteChar(peek())} ${ctx}`);
  };
  const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  const skipSpace = () => {
    while (i < b.length && isSpace(b[i])) i++;
  };
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (peek() !== word.charCodeAt(k)) {
        fail(`in literal ${word} (expecting ${quoteChar(word.charCodeAt(k))})`);
      }
    }
    i++;
  };
  const number = () => {
    if (peek() === 0x2d) {
      i++;
      if (!isDigit(peek())) fail("in numeric literal");
    }
    if (peek() === 0x30) i++;
    else while (i < b.length && isDigit(b[i])) i++;
    if (i < b.length && b[i] === 0x2e) {
      i++;
      if (!isDigit(peek())) fail("after decimal point in numeric literal");
      while (i < b.length && isDigit(b[i])) i++;
    }
    if (i < b.length && (b[i] === 0x65 || b[i] === 0x45)) {
      i++;
      if (peek() === 0x2b || peek() === 0x2d) i++;
      if (!isDigit(peek())) fail("in exponent of numeric literal");
      while (i < b.length && isDigit(b[i])) i++;
    }
  };
  const string = () => {
    i++;
    for (;;) {
      if (i >= b.length) fail("in string literal");
      const c = b[i];
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail("in string literal");
      if (c === 0x5c) {
        i++;
        const e = peek();
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            i++;
            const h = peek();
            const hex = isDigit(h) || (h >= 0x61 && h <= 0x66) || (h >= 0x41 && h <= 0x46);
            if (!hex) fail("in \\u hexadecimal character escape");
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e)) || atEnd) {
          fail("in string escape code");
        }
      }
      i++;
    }
  };
  const value = (): void => {
    skipSpace();
    const c = peek();
    if (c === 0x7b) {
      i++;
      skipSpace();
      if (peek() === 0x7d) {
        i++;
        return;
      }
      for (;;) {
        skipSpace();
        if (peek() !== 0x22) fail("looking for beginning of object key string");
        string();
        skipSpace();
        if (peek() !== 0x3a) fail("after object key");
        i++;
        value();
        skipSpace();
        const n = peek();
        if (n === 0x2c) {
          i++;
          continue;
        }
        if (n === 0x7d) {
          i++;
          return;
        }
        fail("after object key:value pair");
      }
    }
    if (c === 0x5b) {
      i++;
      skipSpace();
      if (peek() === 0x5d) {
        i++;
        return;
      }
      for (;;) {
        value();
        skipSpace();
        const n = peek();
        if (n === 0x2c) {
          i++;
          continue;
        }
        if (n === 0x5d) {
          i++;
          return;
        }
        fail("after array element");
      }
    }
    if (c === 0x22) return string();
    if (c === 0x2d || isDigit(c)) return number();
    if (c === 0x74) return literal("true");
    if (c === 0x66) return literal("false");
    if (c === 0x6e) return literal("null");
    fail("looking for beginning of value");
  };
  try {
    value();
    skipSpace();
    if (i < b.length) fail("after top-level value");
    return null;
  } catch (e) {
    if (e instanceof SyntaxStop) return e.message;
    throw e;
  }
}
