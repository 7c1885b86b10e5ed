/**
 * Go's formatting of config values (`%T`, `%q`, `%v`), so that messages built outside
 * src/config.ts read exactly as nats-server's. Same rules as the helpers in src/config.ts, which
 * can import these instead of keeping its own copies.
 */

import type { ConfKind, ConfNode } from "./parser.ts";

/** The Go type nats-server's config parser gives each kind of value. */
export const GO_TYPES: Record<ConfKind, string> = {
  string: "string",
  integer: "int64",
  float: "float64",
  bool: "bool",
  datetime: "time.Time",
  array: "[]interface {}",
  map: "map[string]interface {}",
};

export function goType(node: ConfNode): string {
  return GO_TYPES[node.kind];
}

/** Go's panic text for a failed type assertion of a config value to `kind`. */
export function goConversionError(node: ConfNode, kind: ConfKind): string {
  return `interface conversion: interface {} is ${goType(node)}, not ${GO_TYPES[kind]}`;
}

const GO_ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  '"': '\\"',
  "\\": "\\\\",
};

/** Go's %q (strconv.Quote): printable characters as they are, the rest escaped Go's way. */
export function goQuote(s: string): string {
  let out = '"';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    if (GO_ESCAPES[c]) out += GO_ESCAPES[c];
    else if (c === " " || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(c)) out += c;
    else if (cp < 0x80) out += "\\x" + hex(cp, 2);
    else if (cp < 0x10000) out += "\\u" + hex(cp, 4);
    else out += "\\U" + hex(cp, 8);
  }
  return out + '"';
}

/** The quoting of Go's time package: every byte outside printable ASCII as \xNN. */
export function timeQuote(s: string): string {
  let out = '"';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    if (cp < 0x20 || cp >= 0x80) {
      for (const b of new TextEncoder().encode(c)) out += "\\x" + hex(b, 2);
    } else {
      out += c === '"' || c === "\\" ? "\\" + c : c;
    }
  }
  return out + '"';
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** Go's %v of a config value. */
export function goValue(node: ConfNode): string {
  switch (node.kind) {
    case "string":
      return node.value;
    case "integer":
    case "bool":
      return String(node.value);
    case "float":
      return goFloat(node.value);
    case "datetime":
      return node.value.toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC");
    case "array":
      return `[${node.value.map(goValue).join(" ")}]`;
    case "map": {
      const keys = [...node.value.keys()].sort();
      return `map[${keys.map((k) => `${k}:${goValue(node.value.get(k)!)}`).join(" ")}]`;
    }
  }
}

/** strconv.FormatFloat(f, 'g', -1, 64): shortest digits, exponent form outside [1e-4, 1e21). */
export function goFloat(f: number): string {
  if (!Number.isFinite(f)) return f > 0 ? "+Inf" : f < 0 ? "-Inf" : "NaN";
  const [mant, expStr] = f.toExponential().split("e");
  const exp = Number(expStr);
  if (exp < -4 || exp >= 21) {
    const e = Math.abs(exp);
    return `${mant}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" + e : e}`;
  }
  return String(f);
}

/**
 * A failed file read as Go's os package words it (`open x: no such file or directory`), for
 * the errors nats-server passes on from os.ReadFile.
 */
export function goFileError(path: string, e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return `open ${path}: no such file or directory`;
  if (e instanceof Deno.errors.PermissionDenied) return `open ${path}: permission denied`;
  if (e instanceof Deno.errors.IsADirectory) return `read ${path}: is a directory`;
  const msg = (e as Error).message ?? String(e);
  if (/is a directory/i.test(msg)) return `read ${path}: is a directory`;
  return `open ${path}: ${msg}`;
}
