/**
 * Request bodies read the way Go's encoding/json reads them into nats-server's option structs, so
 * a bad body gets nats-server's exact error text: the scanner's syntax errors ("invalid character
 * 'x' looking for beginning of object key string", "unexpected end of JSON input") and the
 * decoder's type errors ("json: cannot unmarshal string into Go struct field
 * ConnzEventOptions.limit of type int"). Keys match exactly or case-insensitively, unknown keys
 * are ignored, `null` leaves a field alone, and the first type error in document order wins.
 */

/** A JSON number kept as its literal, so range errors can quote it as Go does. */
class GoNumber {
  constructor(readonly text: string) {}
}

/** An object's members in document order (duplicates kept: the last one wins, as in Go). */
class GoObject {
  constructor(readonly members: [string, GoValue][]) {}
}

type GoValue = string | boolean | null | GoNumber | GoValue[] | GoObject;

/** An array or object being read: its elements so far, or its members and the pending key. */
interface Frame {
  list: GoValue[] | null;
  members: [string, GoValue][] | null;
  key: string;
}

export class GoJsonError extends Error {
  override name = "GoJsonError";
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Go's quoteChar: the offending byte as the scanner's errors show it. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const s = String.fromCharCode(c);
  if (c === 0x0a) return `'\\n'`;
  if (c === 0x0d) return `'\\r'`;
  if (c === 0x09) return `'\\t'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, "0")}'`;
  return `'${s}'`;
}

const dec = new TextDecoder();

/** encoding/json's maxNestingDepth. */
const MAX_DEPTH = 10000;

class Scanner {
  i = 0;
  depth = 0;
  constructor(readonly b: Uint8Array) {}

  fail(context: string): never {
    if (this.i >= this.b.length) throw new GoJsonError("unexpected end of JSON input");
    throw new GoJsonError(`invalid character ${quoteChar(this.b[this.i])} ${context}`);
  }

  ws(): void {
    while (this.i < this.b.length && WS.has(this.b[this.i])) this.i++;
  }

  /**
   * One value, iteratively (an explicit stack of open arrays and objects), so nesting as deep as
   * Go allows (10000) costs no call stack.
   */
  value(): GoValue {
    const stack: Frame[] = [];
    while (true) {
      // Expecting a value.
      this.ws();
      const c = this.b[this.i];
      let v: GoValue;
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
          stack.push({ list: [], members: null, key: "" });
          continue;
        } else {
          const f: Frame = { list: null, members: [], key: "" };
          f.key = this.key();
          stack.push(f);
          continue;
        }
      } else if (c === 0x22) v = this.string();
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) v = this.number();
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
          top.members!.push([top.key, v]);
          if (n === 0x2c) {
            this.i++;
            top.key = this.key();
            break;
          }
          if (n !== 0x7d) this.fail("after object key:value pair");
          v = new GoObject(top.members!);
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

  literal(word: string, v: boolean | null): GoValue {
    for (let k = 0; k < word.length; k++, this.i++) {
      if (this.b[this.i] !== word.charCodeAt(k)) {
        this.fail(`in literal ${word} (expecting '${word[k]}')`);
      }
    }
    return v;
  }

  number(): GoValue {
    const start = this.i;
    const digit = () => this.b[this.i] >= 0x30 && this.b[this.i] <= 0x39;
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
    return new GoNumber(dec.decode(this.b.subarray(start, this.i)));
  }

  string(): string {
    const start = ++this.i;
    while (true) {
      if (this.i >= this.b.length) this.fail("in string literal");
      const c = this.b[this.i];
      if (c === 0x22) break;
      if (c < 0x20) this.fail("in string literal");
      if (c === 0x5c) {
        this.i++;
        const e = this.b[this.i];
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            this.i++;
            const h = this.b[this.i];
            const hex = (h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) ||
              (h >= 0x61 && h <= 0x66);
            if (!hex) this.fail("in \\u hexadecimal character escape");
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e)) || this.i >= this.b.length) {
          this.fail("in string escape code");
        }
      }
      this.i++;
    }
    const raw = dec.decode(this.b.subarray(start - 1, this.i + 1));
    this.i++;
    return JSON.parse(raw);
  }
}

function parse(bytes: Uint8Array): GoValue {
  const s = new Scanner(bytes);
  const v = s.value();
  s.ws();
  if (s.i < bytes.length) s.fail("after top-level value");
  return v;
}

/** A field's Go type: how a JSON value becomes the field's value, and its name in errors. */
export type GoField =
  | { kind: "string"; go?: string }
  | { kind: "bool" }
  | { kind: "int"; go?: string }
  | { kind: "uint64" }
  | { kind: "strings" };

function kindOf(v: GoValue): string {
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (v instanceof GoNumber) return "number";
  if (Array.isArray(v)) return "array";
  return "object";
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Decodes a request body into `target` (field values by JSON name), as json.Unmarshal into the
 * Go struct `structName` (e.g. "ConnzEventOptions"). An empty body leaves `target` alone.
 */
export function unmarshal(
  body: Uint8Array,
  structName: string,
  fields: Record<string, GoField>,
  target: Record<string, unknown>,
): void {
  const v = parse(body);
  if (v === null) return;
  if (!(v instanceof GoObject)) {
    throw new GoJsonError(
      `json: cannot unmarshal ${kindOf(v)} into Go value of type server.${structName}`,
    );
  }
  let first: GoJsonError | null = null;
  const names = Object.keys(fields);
  for (const [key, val] of v.members) {
    const name = key in fields ? key : names.find((n) => n.toLowerCase() === key.toLowerCase());
    if (name === undefined || val === null) continue;
    const f = fields[name];
    const mismatch = (what: string, go: string) =>
      new GoJsonError(
        `json: cannot unmarshal ${what} into Go struct field ${structName}.${name} of type ${go}`,
      );
    const err = assign(f, val, (x) => (target[name] = x), mismatch);
    if (err && !first) first = err;
  }
  if (first) throw first;
}

function assign(
  f: GoField,
  val: GoValue,
  set: (x: unknown) => void,
  mismatch: (what: string, go: string) => GoJsonError,
): GoJsonError | null {
  switch (f.kind) {
    case "string":
      if (typeof val !== "string") return mismatch(kindOf(val), f.go ?? "string");
      set(val);
      return null;
    case "bool":
      if (typeof val !== "boolean") return mismatch(kindOf(val), "bool");
      set(val);
      return null;
    case "int":
    case "uint64": {
      const go = f.kind === "int" ? (f.go ?? "int") : "uint64";
      if (!(val instanceof GoNumber)) return mismatch(kindOf(val), go);
      const n = /^-?\d+$/.test(val.text) ? BigInt(val.text) : null;
      const ok = n !== null &&
        (f.kind === "int" ? n >= INT64_MIN && n <= INT64_MAX : n >= 0n && n <= UINT64_MAX);
      if (!ok) return mismatch(`number ${val.text}`, go);
      set(Number(n));
      return null;
    }
    case "strings": {
      if (!Array.isArray(val)) return mismatch(kindOf(val), "[]string");
      const out: string[] = [];
      let err: GoJsonError | null = null;
      for (const x of val) {
        if (typeof x === "string") out.push(x);
        else if (x === null) out.push("");
        else err ??= mismatch(kindOf(x), "string");
      }
      set(out);
      return err;
    }
  }
}
