/**
 * Formatting and query decoding for the monitoring endpoints, shaped like nats-server's Go output:
 * Go durations ("1.5ms"), nats-server's uptime ("1m2s") and Go's strconv error texts for bad query
 * values. Go's time text is go_time.ts, encoding/json's output go_json.ts.
 */

/** Wall clock in ms with sub-millisecond precision (for `now` fields). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
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
