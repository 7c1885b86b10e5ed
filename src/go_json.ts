/**
 * JSON read the way Go's encoding/json reads it, for the two places where nats-server's error
 * texts reach users: JWTs (a mistyped claim is "json: cannot unmarshal string into Go struct
 * field Permission.nats.pub.allow of type jwt.StringList") and the bodies of `$SYS.REQ.*`
 * requests ("json: cannot unmarshal string into Go struct field ConnzEventOptions.limit of
 * type int"). What matters from Go:
 *
 * - the scanner checks the whole document first, with its texts ("invalid character '}'
 *   looking for beginning of value", "unexpected end of JSON input") and its nesting limit;
 * - keys match field names exactly or, failing that, case-insensitively; unknown keys are
 *   ignored; `null` leaves a field at its zero value (here: absent), except for types with their
 *   own UnmarshalJSON, which see the literal `null`;
 * - a value of the wrong JSON kind is a type error that is remembered (the first one wins) while
 *   decoding goes on; an error from a custom unmarshaler aborts at once and wins over it;
 * - the error names the Go struct that holds the field and the path of JSON names from the top.
 *
 * Absent and present-but-empty lists stay apart (undefined vs []), because nats-server compares
 * claims with reflect.DeepEqual, where a nil slice and an empty one differ.
 */

// Values ------------------------------------------------------------------------------------------

/**
 * A number whose text is not a plain safe integer: kept with its source so integer fields read
 * it as Go does (strconv.ParseInt of the literal) and errors quote the literal ("number 1e3").
 */
export class RawNumber {
  constructor(readonly source: string, readonly value: number) {}
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

// Scanning ----------------------------------------------------------------------------------------

/** encoding/json's maxNestingDepth. */
const MAX_DEPTH = 10000;

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
  list: unknown[] | null;
  obj: Record<string, unknown> | null;
  key: string;
}

const dec = new TextDecoder();
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Sets a member as JSON.parse would: `__proto__` is an own property like any other key. */
function setMember(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") {
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  } else {
    o[k] = v;
  }
}

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
  value(): unknown {
    const stack: Frame[] = [];
    while (true) {
      this.ws();
      const c = this.b[this.i];
      let v: unknown;
      if (c === 0x7b || c === 0x5b) {
        if (++this.depth > MAX_DEPTH) this.fail("exceeded max depth");
        this.i++;
        this.ws();
        const close = c === 0x7b ? 0x7d : 0x5d;
        if (this.b[this.i] === close) {
          this.i++;
          this.depth--;
          v = c === 0x7b ? {} : [];
        } else if (c === 0x5b) {
          stack.push({ list: [], obj: null, key: "" });
          continue;
        } else {
          stack.push({ list: null, obj: {}, key: this.key() });
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
          setMember(top.obj!, top.key, v);
          if (n === 0x2c) {
            this.i++;
            top.key = this.key();
            break;
          }
          if (n !== 0x7d) this.fail("after object key:value pair");
          v = top.obj;
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

  number(): number | RawNumber {
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
    const source = dec.decode(this.b.subarray(start, this.i));
    const value = Number(source);
    return Number.isSafeInteger(value) && String(value) === source
      ? value
      : new RawNumber(source, value);
  }

  string(): string {
    const start = ++this.i;
    let escaped = false;
    while (true) {
      if (this.i >= this.b.length) this.fail("in string literal");
      const c = this.b[this.i];
      if (c === 0x22) break;
      if (c < 0x20) this.fail("in string literal");
      if (c === 0x5c) {
        escaped = true;
        this.i++;
        const e = this.b[this.i];
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            this.i++;
            const h = this.b[this.i];
            const hex = isDigit(h) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66);
            if (!hex) this.fail("in \\u hexadecimal character escape");
          }
        } else if (this.i >= this.b.length || !'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          this.fail("in string escape code");
        }
      }
      this.i++;
    }
    const s = escaped
      ? JSON.parse(dec.decode(this.b.subarray(start - 1, this.i + 1)))
      : dec.decode(this.b.subarray(start, this.i));
    this.i++;
    return s;
  }
}

/**
 * Parses a JSON document as json.Unmarshal sees it, with the texts of Go's scanner; numbers that
 * are not canonical safe integers are kept as {@link RawNumber}. Throws {@link GoJsonError}.
 */
export function parseGoJson(bytes: Uint8Array): unknown {
  const s = new Scanner(bytes);
  const v = s.value();
  s.ws();
  if (s.i < bytes.length) s.fail("after top-level value");
  return v;
}

/** An integer field's value from a JSON number, as strconv.ParseInt; null when Go refuses it. */
export function goInt(v: number | RawNumber, min: bigint, max: bigint): number | null {
  if (typeof v === "number") {
    return Number.isInteger(v) && BigInt(v) >= min && BigInt(v) <= max ? v : null;
  }
  if (!/^-?\d+$/.test(v.source)) return null;
  const b = BigInt(v.source);
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
        setMember(out, k, d ?? zeroOf(schema.elem));
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
    const name = Object.hasOwn(schema.fields, key) ? key : folded.get(key.toLowerCase());
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
 * Decodes a whole parsed document into `schema` (a struct), as json.Unmarshal into a fresh value
 * with `defaults` pre-set. Throws {@link GoJsonError} with Go's text for the error Go returns.
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

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
export const str = (go = "string"): Schema => ({ kind: "string", go });
export const int64 = (go = "int64"): Schema => ({
  kind: "int",
  go,
  min: INT64_MIN,
  max: INT64_MAX,
});
export const uint = (go: string, bits: number): Schema => ({
  kind: "int",
  go,
  min: 0n,
  max: 2n ** BigInt(bits) - 1n,
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

// Request bodies ------------------------------------------------------------------------------------

/** A request option's Go type, in the shorthand the `$SYS.REQ.*` option tables use. */
export type GoField =
  | { kind: "string"; go?: string }
  | { kind: "bool" }
  | { kind: "int"; go?: string }
  | { kind: "uint64" }
  | { kind: "strings" };

function fieldSchema(f: GoField): Schema {
  switch (f.kind) {
    case "string":
      return str(f.go);
    case "bool":
      return bool;
    case "int":
      return int64(f.go ?? "int");
    case "uint64":
      return uint("uint64", 64);
    case "strings":
      return list("[]string", str());
  }
}

/**
 * Decodes a request body into `target` (field values by JSON name), as json.Unmarshal into the
 * nats-server option struct `structName` (e.g. "ConnzEventOptions").
 */
export function unmarshalBody(
  body: Uint8Array,
  structName: string,
  fields: Record<string, GoField>,
  target: Record<string, unknown>,
): void {
  const schema = struct(
    `server.${structName}`,
    Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, fieldSchema(f)])),
  );
  unmarshal(parseGoJson(body), schema, target);
}
