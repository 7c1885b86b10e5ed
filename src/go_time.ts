/**
 * Go's time.Time as JSON carries it: RFC 3339 read as its UnmarshalJSON reads it, and written as
 * its MarshalJSON writes it (RFC3339Nano: fraction with trailing zeros trimmed, in the time's own
 * zone, "Z" for UTC). One formatter serves config times (kept as written, zone and all) and the
 * server's own clock readings (UTC: nanoseconds for JetStream, milliseconds for monitoring).
 */

/** A time as Go keeps it for JSON: the instant, the fraction as written and the zone offset. */
export interface GoTime {
  /** Nanoseconds since the Unix epoch (a double: exact to ~256 ns today). */
  ns: number;
  /** The fraction digits as written, so the time prints back as Go prints it. */
  nanos: number;
  /** Zone offset in minutes east of UTC; null for "Z". */
  offsetMin: number | null;
}

/** Go's zero time.Time, as JSON shows it. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Go's RFC 3339 parsing (time.Time's UnmarshalJSON), or null where Go refuses the text. */
export function parseRfc3339(s: string): GoTime | null {
  const m = RFC3339.exec(s);
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

let cachedSec = NaN;
let cachedSecText = "";

/**
 * `2006-01-02T15:04:05` for a wall-clock second since the epoch. Stream infos, direct gets and
 * advisories format many times within one second: the date part is built once per second.
 */
function secondText(sec: number): string {
  if (sec !== cachedSec) {
    const d = new Date(sec * 1000);
    cachedSec = sec;
    cachedSecText = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-` +
      `${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:` +
      pad(d.getUTCSeconds());
  }
  return cachedSecText;
}

/** `.123` for a fraction of `digits` digits (trailing zeros trimmed), "" for none. */
function fraction(n: number, digits: number): string {
  if (n === 0) return "";
  let s = pad(n, digits);
  let cut = s.length;
  while (s.charCodeAt(cut - 1) === 0x30) cut--;
  s = s.slice(0, cut);
  return "." + s;
}

/** Go's RFC3339Nano rendering of a GoTime (in its own zone, fraction trimmed). */
export function formatGoTime(t: GoTime): string {
  const off = t.offsetMin ?? 0;
  const wallMs = Math.floor((t.ns - t.nanos) / 1e6) + off * 60_000;
  const zone = t.offsetMin === null || t.offsetMin === 0
    ? "Z"
    : `${off < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return secondText(Math.round(wallMs / 1000)) + fraction(t.nanos, 9) + zone;
}

/** Go's time.Time JSON for an instant in microseconds since the epoch, in UTC. */
function microsText(us: number): string {
  const sec = Math.floor(us / 1e6);
  return secondText(sec) + fraction(us - sec * 1e6, 6) + "Z";
}

/**
 * Go's time.Time JSON for an instant in nanoseconds, in UTC; 0 is Go's zero time. Our clocks
 * tick in microseconds and a double holds those exactly, so the instant is taken to the
 * microsecond (finer digits in a double this size are noise).
 */
export function goTimeNs(ns: number): string {
  return ns === 0 ? ZERO_TIME : microsText(Math.round(ns / 1000));
}

/**
 * Go's time.Time JSON for a wall-clock reading in milliseconds (fractional), in UTC, to the
 * microsecond: as far as a double holding epoch milliseconds is exact.
 */
export function goTime(ms: number): string {
  const whole = Math.floor(ms);
  return microsText(whole * 1000 + Math.min(Math.round((ms - whole) * 1000), 999));
}
