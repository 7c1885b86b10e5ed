/**
 * JSON as Go's encoding/json reads it into nats-server's request structs. JetStream requests are
 * decoded by Go, and some replies quote Go's error text (a pull request's `400 Bad Request - ...`),
 * so the parser here keeps what JSON.parse loses: number literals as written (`1e3` is not an
 * int to Go), duplicate keys in order, and the first syntax error in Go's words.
 */

/** A parsed value; numbers keep their literal text, objects their entries in order. */
export type GoJsonValue =
  | null
  | boolean
  | string
  | GoNumber
  | GoJsonValue[]
  | GoObject;

export class GoNumber {
  constructor(readonly raw: string) {}
}

export class GoObject {
  constructor(readonly entries: [string, GoJsonValue][]) {}
}

/** A syntax error (Go's SyntaxError text) or a type error (Go's UnmarshalTypeError text). */
export class GoJsonError extends SyntaxError {
  override name = "GoJsonError";
}

/** Go's quoting of a byte in scanner errors: `'x'`, `'\n'`, `'\x01'`. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const code = c.codePointAt(0)!;
  if (code === 0x0a) return "'\\n'";
  if (code === 0x0d) return "'\\r'";
  if (code === 0x09) return "'\\t'";
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, "0")}'`;
  return `'${c}'`;
}

const END = "unexpected end of JSON input";

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  fail(context: string): never {
    if (this.i >= this.s.length) throw new GoJsonError(END);
    const c = String.fromCodePoint(this.s.codePointAt(this.i)!);
    throw new GoJsonError(`invalid character ${quoteChar(c)} ${context}`);
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.i++;
    }
  }

  value(context = "looking for beginning of value"): GoJsonValue {
    this.ws();
    const s = this.s;
    const c = s[this.i];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    if (c === "t") return this.literal("true", true);
    if (c === "f") return this.literal("false", false);
    if (c === "n") return this.literal("null", null);
    return this.fail(context);
  }

  literal<T>(word: string, v: T): T {
    this.i++;
    for (let k = 1; k < word.length; k++, this.i++) {
      if (this.s[this.i] !== word[k]) this.fail(`in literal ${word} (expecting '${word[k]}')`);
    }
    return v;
  }

  number(): GoNumber {
    const s = this.s;
    const start = this.i;
    const digit = () => this.i < s.length && s[this.i] >= "0" && s[this.i] <= "9";
    if (s[this.i] === "-") {
      this.i++;
      if (!digit()) this.fail("in numeric literal");
    }
    if (s[this.i] === "0") this.i++;
    else while (digit()) this.i++;
    if (s[this.i] === ".") {
      this.i++;
      if (!digit()) this.fail("after decimal point in numeric literal");
      while (digit()) this.i++;
    }
    if (s[this.i] === "e" || s[this.i] === "E") {
      this.i++;
      if (s[this.i] === "+" || s[this.i] === "-") this.i++;
      if (!digit()) this.fail("in exponent of numeric literal");
      while (digit()) this.i++;
    }
    return new GoNumber(s.slice(start, this.i));
  }

  string(): string {
    const s = this.s;
    this.i++; // opening quote
    let out = "";
    let from = this.i;
    while (true) {
      if (this.i >= s.length) this.fail("");
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(from, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail("in string literal");
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += s.slice(from, this.i);
      this.i++;
      const e = s[this.i];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e !== undefined && e in simple) {
        out += simple[e];
        this.i++;
      } else if (e === "u") {
        this.i++;
        for (let k = 0; k < 4; k++) {
          if (!/[0-9a-fA-F]/.test(s[this.i] ?? "")) {
            this.fail("in \\u hexadecimal character escape");
          }
          this.i++;
        }
        out += String.fromCharCode(parseInt(s.slice(this.i - 4, this.i), 16));
      } else this.fail("in string escape code");
      from = this.i;
    }
  }

  array(): GoJsonValue[] {
    this.i++;
    const out: GoJsonValue[] = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return out;
    }
    while (true) {
      out.push(this.value());
      this.ws();
      const c = this.s[this.i];
      if (c === ",") {
        this.i++;
        continue;
      }
      if (c === "]") {
        this.i++;
        return out;
      }
      this.fail("after array element");
    }
  }

  object(): GoObject {
    this.i++;
    const entries: [string, GoJsonValue][] = [];
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return new GoObject(entries);
    }
    while (true) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail("looking for beginning of object key string");
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ":") this.fail("after object key");
      this.i++;
      entries.push([key, this.value()]);
      this.ws();
      const c = this.s[this.i];
      if (c === ",") {
        this.i++;
        continue;
      }
      if (c === "}") {
        this.i++;
        return new GoObject(entries);
      }
      this.fail("after object key:value pair");
    }
  }
}

/** Parses JSON as Go's scanner does; throws GoJsonError with Go's text. */
export function parseGoJson(text: string): GoJsonValue {
  const p = new Parser(text);
  const v = p.value();
  p.ws();
  if (p.i < text.length) p.fail("after top-level value");
  return v;
}

// ---- decoding into a struct ------------------------------------------------------------------

/** How a struct field is decoded; `goType` is the type name Go's errors show. */
export type FieldKind =
  | { t: "int"; goType: string; min: number; max: number }
  | { t: "bool" }
  | { t: "string" }
  | { t: "durations" }
  | { t: "time" }
  | { t: "enum"; values: Record<string, string> };

export const INT: FieldKind = { t: "int", goType: "int", min: -(2 ** 63), max: 2 ** 63 };
export const DURATION: FieldKind = {
  t: "int",
  goType: "time.Duration",
  min: -(2 ** 63),
  max: 2 ** 63,
};
export const UINT64: FieldKind = { t: "int", goType: "uint64", min: 0, max: 2 ** 64 };
export const INT32: FieldKind = { t: "int", goType: "int32", min: -(2 ** 31), max: 2 ** 31 - 1 };
export const BOOL: FieldKind = { t: "bool" };
export const STRING: FieldKind = { t: "string" };

function kindName(v: GoJsonValue): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "string";
  if (v instanceof GoNumber) return "number";
  if (Array.isArray(v)) return "array";
  return "object";
}

/** Go's case folding for field names is close enough to lower-casing for ASCII keys. */
function fold(s: string): string {
  return s.toLowerCase();
}

/**
 * Decodes a parsed object into `fields` (JSON name -> kind), as Go does: keys match exactly or
 * case-insensitively, unknown keys are skipped, null leaves a field unset, the first type error
 * is kept while the rest still decodes. Returns the values set and that error (Go's text with
 * `structName`), if any. Unmarshaler errors (enums, times) stop the decoding at once, as in Go.
 */
export function decodeStruct(
  v: GoJsonValue,
  structName: string,
  goTypeName: string,
  fields: Record<string, FieldKind>,
): { values: Map<string, unknown>; error: string | null } {
  const values = new Map<string, unknown>();
  if (!(v instanceof GoObject)) {
    if (v === null) return { values, error: null };
    return {
      values,
      error: `json: cannot unmarshal ${kindName(v)} into Go value of type ${goTypeName}`,
    };
  }
  const folded = new Map<string, string>();
  for (const name of Object.keys(fields)) folded.set(fold(name), name);
  let error: string | null = null;
  const typeError = (value: string, field: string, goType: string) => {
    error ??= `json: cannot unmarshal ${value} into Go struct field ${structName}.${field} ` +
      `of type ${goType}`;
  };
  for (const [key, val] of v.entries) {
    const name = key in fields ? key : folded.get(fold(key));
    if (name === undefined) continue;
    const kind = fields[name];
    if (val === null && kind.t !== "enum") {
      if (kind.t === "time" || kind.t === "durations") values.set(name, null);
      continue;
    }
    switch (kind.t) {
      case "int": {
        if (!(val instanceof GoNumber)) {
          typeError(kindName(val), name, kind.goType);
          break;
        }
        const n = /^-?\d+$/.test(val.raw) ? Number(val.raw) : NaN;
        if (!Number.isFinite(n) || n < kind.min || n >= kind.max) {
          typeError(`number ${val.raw}`, name, kind.goType);
          break;
        }
        values.set(name, n === 0 ? 0 : n);
        break;
      }
      case "bool":
        if (typeof val !== "boolean") typeError(kindName(val), name, "bool");
        else values.set(name, val);
        break;
      case "string":
        if (typeof val !== "string") typeError(kindName(val), name, "string");
        else values.set(name, val);
        break;
      case "durations": {
        if (!Array.isArray(val)) {
          typeError(kindName(val), name, "[]time.Duration");
          break;
        }
        const out: number[] = [];
        for (const d of val) {
          if (d === null) out.push(0);
          else if (!(d instanceof GoNumber)) typeError(kindName(d), name, "time.Duration");
          else if (!/^-?\d+$/.test(d.raw)) typeError(`number ${d.raw}`, name, "time.Duration");
          else out.push(Number(d.raw));
        }
        values.set(name, out);
        break;
      }
      case "time": {
        if (typeof val !== "string") {
          throw new GoJsonError(`Time.UnmarshalJSON: input is not a JSON string`);
        }
        const t = parseRfc3339(val);
        if (t === null) throw new GoJsonError(`parsing time ${JSON.stringify(val)}`);
        values.set(name, t);
        break;
      }
      case "enum": {
        const mapped = typeof val === "string" ? kind.values[val] : undefined;
        if (mapped === undefined) throw new GoJsonError(`can not unmarshal ${goQuoted(val)}`);
        values.set(name, mapped);
        break;
      }
    }
  }
  return { values, error };
}

function goQuoted(v: GoJsonValue): string {
  const raw = v instanceof GoNumber ? v.raw : v instanceof GoObject ? "{...}" : JSON.stringify(v);
  return JSON.stringify(raw);
}

// ---- times ------------------------------------------------------------------------------------

/** A time as Go keeps it for JSON: the instant (ns since the epoch) and the zone offset. */
export interface GoTime {
  /** Nanoseconds since the Unix epoch (a double: exact to ~256 ns today). */
  ns: number;
  /** The fraction digits as written, so the time prints back as Go prints it. */
  nanos: number;
  /** Zone offset in minutes east of UTC; null for "Z". */
  offsetMin: number | null;
}

/** Go's RFC 3339 parsing (time.Time's UnmarshalJSON), or null. */
export function parseRfc3339(s: string): GoTime | null {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
      .exec(s);
  if (m === null) return null;
  const [, y, mo, d, h, mi, se, frac, z, sign, oh, om] = m;
  const month = Number(mo), day = Number(d), hour = Number(h), min = Number(mi), sec = Number(se);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) {
    return null;
  }
  const ms = Date.UTC(Number(y), month - 1, day, hour, min, sec);
  if (new Date(ms).getUTCDate() !== day) return null;
  const nanos = frac === undefined ? 0 : Number(frac.padEnd(9, "0"));
  const offsetMin = z !== undefined
    ? null
    : (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om));
  return { ns: (ms - (offsetMin ?? 0) * 60_000) * 1e6 + nanos, nanos, offsetMin };
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Go's RFC3339Nano rendering of a GoTime (in its own zone, fraction trimmed). */
export function formatGoTime(t: GoTime): string {
  const off = t.offsetMin ?? 0;
  const wallMs = Math.floor((t.ns - t.nanos) / 1e6) + off * 60_000;
  const d = new Date(Math.round(wallMs / 1000) * 1000);
  let frac = pad(t.nanos, 9).replace(/0+$/, "");
  if (frac !== "") frac = "." + frac;
  const zone = t.offsetMin === null || t.offsetMin === 0
    ? "Z"
    : `${off < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac}${zone}`;
}

/**
 * Go's time.Time JSON for an instant in nanoseconds, in UTC ("...Z", fraction trimmed). Our
 * clocks tick in microseconds and a double holds those exactly, so the instant is taken to the
 * microsecond (finer digits in a double this size are noise).
 */
export function goTimeNs(ns: number): string {
  const us = Math.round(ns / 1000);
  const frac = ((us % 1e6) + 1e6) % 1e6;
  return formatGoTime({
    ns: (us - frac) * 1000 + frac * 1000,
    nanos: frac * 1000,
    offsetMin: null,
  });
}

/** encoding/json's escaping of <, > and & (and U+2028/9) in a compact JSON text. */
export function goJsonText(v: unknown): string {
  return JSON.stringify(v).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}
