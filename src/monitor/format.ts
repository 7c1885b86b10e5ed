/**
 * Formatting and query decoding for the monitoring endpoints, shaped like nats-server's Go output:
 * RFC 3339 times with trimmed fractions, Go durations ("1.5ms"), nats-server's uptime ("1m2s"),
 * Go's strconv error texts for bad query values, and encoding/json's MarshalIndent.
 */

/** Wall clock in ms with sub-millisecond precision (for `now` fields). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros trimmed), in UTC. */
export function goTime(ms: number): string {
  const whole = Math.floor(ms);
  const d = new Date(whole);
  // Microseconds are as far as a double holding epoch milliseconds is exact.
  const micros = Math.round((ms - whole) * 1000);
  let frac = pad(d.getUTCMilliseconds(), 3) + pad(Math.min(micros, 999), 3);
  frac = frac.replace(/0+$/, "");
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` +
    (frac === "" ? "" : `.${frac}`) + "Z";
}

/** nats-server's myUptime: whole seconds, as 1y2d3h4m5s with leading zero units dropped. */
export function myUptime(ms: number): string {
  const tsecs = Math.max(0, Math.floor(ms / 1000));
  const tmins = Math.floor(tsecs / 60);
  const thrs = Math.floor(tmins / 60);
  const tdays = Math.floor(thrs / 24);
  const tyrs = Math.floor(tdays / 365);
  if (tyrs > 0) return `${tyrs}y${tdays % 365}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (tdays > 0) return `${tdays}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (thrs > 0) return `${thrs}h${tmins % 60}m${tsecs % 60}s`;
  if (tmins > 0) return `${tmins}m${tsecs % 60}s`;
  return `${tsecs}s`;
}

function fracDigits(v: number, unit: number): string {
  const w = Math.floor(v / unit);
  const f = v % unit;
  if (f === 0) return String(w);
  const digits = String(unit).length - 1;
  return `${w}.${String(f).padStart(digits, "0").replace(/0+$/, "")}`;
}

/** Go's time.Duration String() for an integer number of nanoseconds. */
export function goDuration(ns: number): string {
  ns = Math.trunc(ns);
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e3) out = `${u}ns`;
  else if (u < 1e6) out = `${fracDigits(u, 1e3)}µs`;
  else if (u < 1e9) out = `${fracDigits(u, 1e6)}ms`;
  else {
    const h = Math.floor(u / 3.6e12);
    u -= h * 3.6e12;
    const m = Math.floor(u / 6e10);
    u -= m * 6e10;
    out = (h > 0 ? `${h}h` : "") + (h > 0 || m > 0 ? `${m}m` : "") + `${fracDigits(u, 1e9)}s`;
  }
  return neg ? `-${out}` : out;
}

/** A connection's RTT (ms, fractional) as nats-server's getRTT().String(). */
export function rttString(rttMs: number): string {
  if (!(rttMs > 0)) return "0s";
  let ns = Math.round(rttMs * 1e6);
  if (ns > 1e3 && ns < 1e6) ns = Math.floor(ns / 1e3) * 1e3;
  return goDuration(ns);
}

/** A bad query value: answered with 400 and this text, as nats-server does. */
export class QueryError extends Error {}

/**
 * This server has nothing to say to a request (nats-server's errSkipZreq): a NATS request gets no
 * answer from it; over HTTP it is a 400 with the text.
 */
export class SkipResponse extends QueryError {
  override name = "SkipResponse";
}

/** Go's %q for error texts. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Go's strconv.ParseBool; "" means not given (false). */
export function decodeBool(q: URLSearchParams, name: string): boolean {
  const s = q.get(name) ?? "";
  if (s === "") return false;
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new QueryError(
    `Error decoding boolean for '${name}': strconv.ParseBool: parsing ${
      goQuote(s)
    }: invalid syntax`,
  );
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's strconv.Atoi (64-bit int); "" means not given (0). */
export function decodeInt(q: URLSearchParams, name: string): number {
  const s = q.get(name) ?? "";
  if (s === "") return 0;
  const fail = (why: string) =>
    new QueryError(
      `Error decoding int for '${name}': strconv.Atoi: parsing ${goQuote(s)}: ${why}`,
    );
  if (!/^[+-]?[0-9]+$/.test(s)) throw fail("invalid syntax");
  const v = BigInt(s);
  if (v < INT64_MIN || v > INT64_MAX) throw fail("value out of range");
  return Number(v);
}

/** Go's strconv.ParseUint(s, 10, 64); "" means not given (0). */
export function decodeUint64(q: URLSearchParams, name: string): number {
  const s = q.get(name) ?? "";
  if (s === "") return 0;
  const fail = (why: string) =>
    new QueryError(
      `Error decoding uint64 for '${name}': strconv.ParseUint: parsing ${goQuote(s)}: ${why}`,
    );
  if (!/^[0-9]+$/.test(s)) throw fail("invalid syntax");
  const v = BigInt(s);
  if (v > UINT64_MAX) throw fail("value out of range");
  return Number(v);
}

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
