/**
 * JSON as nats-server's Go code reads and writes it, for the JetStream API.
 *
 * Reading: Go decodes into typed structs, so `"max_msgs": 1.5`, `"max_msgs": "5"`, a number out
 * of int64 range or `"retention": null` are errors (answered "invalid JSON"), keys match fields
 * exactly or else case-insensitively, unknown keys are ignored and `null` leaves most fields
 * alone. Numbers are therefore kept as their source text (JsonNumber) until a field decodes them.
 *
 * Writing: encoding/json's output: HTML-safe escapes (`>` as `\u003e`), uint64 values beyond
 * 2^53 written exactly (as bigint), RFC 3339 times with nanoseconds.
 */

import { goJson as goJsonIndent } from "../monitor/format.ts";

/** A number as written in the request, decoded by the field that receives it. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Thrown for anything Go's json.Unmarshal would refuse (the API answers "invalid JSON"). */
export class JsonDecodeError extends Error {
  override name = "JsonDecodeError";
}

const dec = new TextDecoder();

/** Parses a request body; throws JsonDecodeError on bad syntax. */
export function parseJson(body: Uint8Array | string): JsonValue {
  const text = typeof body === "string" ? body : dec.decode(body);
  try {
    return JSON.parse(
      text,
      (_k, v, ctx?: { source?: string }) =>
        typeof v === "number" ? new JsonNumber(ctx?.source ?? String(v)) : v,
    ) as JsonValue;
  } catch (e) {
    throw new JsonDecodeError((e as Error).message);
  }
}

/** nats-server's isEmptyRequest: no body, `{}`, or a JSON object without keys. */
export function isEmptyRequest(body: Uint8Array): boolean {
  if (body.length === 0) return true;
  if (body.length === 2 && body[0] === 0x7b && body[1] === 0x7d) return true;
  try {
    const v = parseJson(body);
    return isObject(v) && Object.keys(v).length === 0;
  } catch {
    return false;
  }
}

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

function typeError(what: string, v: JsonValue): never {
  throw new JsonDecodeError(`cannot unmarshal ${kindOf(v)} into ${what}`);
}

function kindOf(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof JsonNumber) return "number";
  return typeof v === "object" ? "object" : typeof v;
}

/**
 * Decodes an object into a struct: each key goes to the handler of the field with that name,
 * or else of the field whose name matches case-insensitively; keys with neither are ignored.
 * `null` decodes to nothing (Go leaves the struct as it is).
 */
export function decodeStruct(
  v: JsonValue,
  what: string,
  fields: Record<string, (v: JsonValue) => void>,
): void {
  if (v === null) return;
  if (!isObject(v)) typeError(what, v);
  let folded: Map<string, (v: JsonValue) => void> | undefined;
  for (const [k, val] of Object.entries(v)) {
    let h = Object.hasOwn(fields, k) ? fields[k] : undefined;
    if (h === undefined) {
      folded ??= new Map(Object.entries(fields).map(([n, f]) => [n.toLowerCase(), f]));
      h = folded.get(k.toLowerCase());
    }
    h?.(val);
  }
}

const INT_RE = /^-?(0|[1-9][0-9]*)$/;

/** A Go signed integer field of `bits` bits; `null` gives undefined (field unchanged). */
export function decodeInt(v: JsonValue, bits: 32 | 64 = 64): number | undefined {
  if (v === null) return undefined;
  if (!(v instanceof JsonNumber) || !INT_RE.test(v.text)) return typeError(`int${bits}`, v);
  const n = BigInt(v.text);
  const max = (1n << BigInt(bits - 1)) - 1n;
  if (n > max || n < -max - 1n) typeError(`int${bits}`, v);
  return Number(n);
}

/** A Go uint64 field. */
export function decodeUint(v: JsonValue): number | undefined {
  if (v === null) return undefined;
  if (!(v instanceof JsonNumber) || !INT_RE.test(v.text) || v.text[0] === "-") {
    return typeError("uint64", v);
  }
  if (BigInt(v.text) > 0xffffffffffffffffn) typeError("uint64", v);
  return Number(v.text);
}

export function decodeString(v: JsonValue): string | undefined {
  if (v === null) return undefined;
  if (typeof v !== "string") return typeError("string", v);
  return v;
}

export function decodeBool(v: JsonValue): boolean | undefined {
  if (v === null) return undefined;
  if (typeof v !== "boolean") return typeError("bool", v);
  return v;
}

/** A Go []string: `null` is a nil slice, and a `null` element an empty string. */
export function decodeStrings(v: JsonValue): string[] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) return typeError("[]string", v);
  return v.map((e) => decodeString(e) ?? "");
}

/** A Go time.Time: RFC 3339 text, as nanoseconds since the epoch. */
export function decodeTime(v: JsonValue): number | undefined {
  if (v === null) return undefined;
  if (typeof v !== "string") return typeError("time.Time", v);
  const ns = parseRfc3339(v);
  if (ns === null) throw new JsonDecodeError(`parsing time ${JSON.stringify(v)}`);
  return ns;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 (with optional fraction) to nanoseconds since the epoch, or null. */
export function parseRfc3339(s: string): number | null {
  const m = RFC3339.exec(s);
  if (m === null) return null;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +se);
  if (Number.isNaN(ms)) return null;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return ms * 1e6 + Number((frac ?? "").padEnd(9, "0"));
}

// ---- writing: Go's encoding/json (src/monitor/format.ts), compact unless asked ----

/** encoding/json's Marshal (or MarshalIndent with two spaces), bigint written as its digits. */
export function goJson(v: unknown, indent = false): string {
  return goJsonIndent(v, indent);
}

/** Go's zero time.Time, as JSON shows it. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/**
 * A time in nanoseconds since the epoch as Go's RFC 3339 with nanoseconds (trailing zeros
 * trimmed), UTC; 0 is Go's zero time.
 */
export function goTimeNs(ns: number): string {
  if (ns === 0) return ZERO_TIME;
  const ms = Math.floor(ns / 1e6);
  const sub = Math.max(0, Math.min(999_999, Math.round(ns - ms * 1e6)));
  const sec = Math.floor(ms / 1000);
  if (sec !== cachedSec) {
    // Direct gets and consumer infos format many times within one second: the date part once.
    const d = new Date(sec * 1000);
    cachedSec = sec;
    cachedSecText = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-` +
      `${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:` +
      pad(d.getUTCSeconds());
  }
  let frac = pad(ms - sec * 1000, 3) + pad(sub, 6);
  let cut = frac.length;
  while (cut > 0 && frac.charCodeAt(cut - 1) === 48) cut--;
  frac = frac.slice(0, cut);
  return cachedSecText + (frac === "" ? "" : `.${frac}`) + "Z";
}

let cachedSec = NaN;
let cachedSecText = "";
