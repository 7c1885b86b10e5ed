/**
 * Parser of the NATS configuration format: turns the lexer's tokens into a tree of values, each
 * carrying where it was written, and resolves `include` files and `$variables` on the way.
 *
 * It keeps nats-server's model on purpose: a stack of open maps and arrays plus a stack of keys
 * waiting for their value. That model is what makes a dangling key harmless, lets a variable see
 * keys of enclosing blocks defined earlier, and merges an included file into the block where the
 * `include` appears.
 */

import type * as nodePath from "node:path";
import { nodeBuiltin } from "../node_builtin.ts";

/** node:path, loaded when a config file is read (see node_builtin.ts). */
const pathOf = (): typeof nodePath => nodeBuiltin<typeof nodePath>("node:path");
import { ConfigError, type Position } from "./errors.ts";
import { Lexer, type Token } from "./lexer.ts";

interface NodeBase {
  /** For a map member, the position of its key (what nats-server reports); else its own. */
  pos: Position;
  /** Set when a `$reference` read this value, which exempts it from "unknown field". */
  usedVariable: boolean;
}

export type ConfNode =
  | NodeBase & { kind: "string"; value: string }
  | NodeBase & { kind: "integer"; value: number }
  | NodeBase & { kind: "float"; value: number }
  | NodeBase & { kind: "bool"; value: boolean }
  | NodeBase & { kind: "datetime"; value: Date }
  | NodeBase & { kind: "array"; value: ConfNode[] }
  | NodeBase & { kind: "map"; value: ConfMap };

export type ConfKind = ConfNode["kind"];
/** Keys keep their case; later duplicates replace earlier ones, as in nats-server. */
export type ConfMap = Map<string, ConfNode>;

export interface ParseOptions {
  /** Name used in positions and the base of relative includes; "" for a string in memory. */
  file?: string;
  /** Environment lookup for `$VAR`; defaults to Deno.env (missing permission = unset). */
  env?: (name: string) => string | undefined;
}

/** Includes and environment values can nest; past this depth we stop instead of overflowing. */
const MAX_NESTING = 32;

/** Parses config text; the result is the top-level map. Throws ConfigError only. */
export function parseConfig(text: string | Uint8Array, options: ParseOptions = {}): ConfMap {
  return new Parser(text, options.file ?? "", options.env ?? denoEnv, 0, []).run();
}

/** Reads and parses a config file; `path` is kept as given in error positions. */
export function parseConfigFile(path: string, options: Omit<ParseOptions, "file"> = {}): ConfMap {
  const bytes = readConfigBytes(path, { file: path, line: 0, col: 0 });
  return new Parser(bytes, path, options.env ?? denoEnv, 0, [pathOf().resolve(path)]).run();
}

/** Drops positions: maps become plain objects, for tests and for printing. */
export function toPlain(node: ConfNode | ConfMap): unknown {
  if (node instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of node) {
      Object.defineProperty(out, k, {
        value: toPlain(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (node.kind === "map") return toPlain(node.value);
  if (node.kind === "array") return node.value.map(toPlain);
  return node.value;
}

function denoEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: behave as if the variable were not set
  }
}

function readConfigBytes(path: string, pos: Position): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    // Go's os.ReadFile wording, which nats-server prints as is.
    let why = "open " + path + ": " + (e instanceof Error ? e.message : String(e));
    if (e instanceof Deno.errors.NotFound) why = `open ${path}: no such file or directory`;
    else if (e instanceof Deno.errors.IsADirectory) why = `read ${path}: is a directory`;
    else if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
      why = `open ${path}: permission denied`;
    }
    throw new ConfigError(why, pos);
  }
}

type Context = { map: ConfMap } | { array: ConfNode[] };

interface PendingKey {
  name: string;
  pos: Position;
}

class Parser {
  #lx: Lexer;
  #file: string;
  #env: (name: string) => string | undefined;
  #depth: number;
  /** Absolute paths of the files including this one, to refuse include cycles. */
  #chain: string[];
  #root: ConfMap = new Map();
  #contexts: Context[] = [{ map: this.#root }];
  #keys: PendingKey[] = [];

  constructor(
    src: string | Uint8Array,
    file: string,
    env: (name: string) => string | undefined,
    depth: number,
    chain: string[],
  ) {
    this.#lx = new Lexer(src);
    this.#file = file;
    this.#env = env;
    this.#depth = depth;
    this.#chain = chain;
  }

  run(): ConfMap {
    for (;;) {
      const t = this.#lx.nextToken();
      if (t.kind === "eof") return this.#root;
      this.#process(t);
    }
  }

  #pos(t: Token): Position {
    return { file: this.#file, line: t.line, col: t.col };
  }

  #fail(t: Token, message: string): never {
    throw new ConfigError(message, this.#pos(t));
  }

  #process(t: Token): void {
    switch (t.kind) {
      case "error":
        throw new ConfigError(`Parse error on line ${t.line}: '${t.value}'`, this.#pos(t), t.value);
      case "key":
        this.#keys.push({ name: t.value, pos: this.#pos(t) });
        return;
      case "mapStart":
        this.#contexts.push({ map: new Map() });
        return;
      case "arrayStart":
        this.#contexts.push({ array: [] });
        return;
      case "mapEnd":
      case "arrayEnd": {
        const ctx = this.#contexts.pop()!;
        this.#set("map" in ctx ? this.#node(t, "map", ctx.map) : this.#node(t, "array", ctx.array));
        return;
      }
      case "string":
        this.#set(this.#node(t, "string", t.value));
        return;
      case "bool":
        this.#set(this.#node(t, "bool", /^(true|yes|on)$/i.test(t.value)));
        return;
      case "integer": {
        const n = parseInteger(t.value);
        if (typeof n === "string") this.#fail(t, n);
        // An unknown size suffix (`1kbb`) sets nothing, as in nats-server.
        if (n !== undefined) this.#set(this.#node(t, "integer", n));
        return;
      }
      case "float": {
        const f = /^-?[0-9]+\.[0-9]+$/.test(t.value) ? Number(t.value) : NaN;
        if (Number.isNaN(f)) this.#fail(t, `expected float, but got '${t.value}'`);
        if (!Number.isFinite(f)) this.#fail(t, `float '${t.value}' is out of the range`);
        this.#set(this.#node(t, "float", f));
        return;
      }
      case "datetime": {
        const d = parseZulu(t.value);
        if (!d) this.#fail(t, `expected Zulu formatted DateTime, but got '${t.value}'`);
        this.#set(this.#node(t, "datetime", d));
        return;
      }
      case "variable":
        this.#set(this.#variable(t));
        return;
      case "include":
        this.#include(t);
        return;
    }
  }

  #node<K extends ConfKind>(
    t: Token,
    kind: K,
    value: Extract<ConfNode, { kind: K }>["value"],
  ): ConfNode {
    return { kind, value, pos: this.#pos(t), usedVariable: false } as ConfNode;
  }

  #set(node: ConfNode): void {
    const ctx = this.#contexts[this.#contexts.length - 1];
    if ("array" in ctx) {
      ctx.array.push(node);
      return;
    }
    const key = this.#keys.pop();
    if (!key) return; // cannot happen: every value the lexer emits in a map follows a key
    node.pos = key.pos;
    ctx.map.set(key.name, node);
  }

  /** `$name`: the nearest enclosing block's key of that name, else the environment. */
  #variable(t: Token): ConfNode {
    const name = t.value;
    const pos = this.#pos(t);
    // Unquoted bcrypt hashes ($2a$11$...) look like variables; nats-server keeps them as text.
    if (name.startsWith("2a$")) {
      return { kind: "string", value: "$" + name, pos, usedVariable: false };
    }
    for (let i = this.#contexts.length - 1; i >= 0; i--) {
      const ctx = this.#contexts[i];
      if (!("map" in ctx)) continue;
      const found = ctx.map.get(name);
      if (found) {
        found.usedVariable = true;
        return { ...found, pos, usedVariable: false };
      }
    }
    const raw = this.#env(name);
    if (raw === undefined) {
      this.#fail(t, `variable reference for '${name}' on line ${t.line} can not be found`);
    }
    // An environment value is typed as if written in the file: "4222" is a number.
    let parsed: ConfMap;
    try {
      if (this.#depth >= MAX_NESTING) {
        throw new ConfigError("variable references nest too deeply", pos);
      }
      parsed = new Parser(`pk=${raw}`, this.#file, this.#env, this.#depth + 1, this.#chain).run();
    } catch (e) {
      const inner = e instanceof ConfigError ? e.message : String(e);
      this.#fail(
        t,
        `variable reference for '${name}' on line ${t.line} could not be parsed: ${inner}`,
      );
    }
    const value = parsed.get("pk");
    if (!value) {
      this.#fail(t, `variable reference for '${name}' on line ${t.line} can not be found`);
    }
    return { ...value, pos };
  }

  /** Merges another file's top-level keys into the current block. */
  #include(t: Token): void {
    const p = pathOf();
    const path = p.join(p.dirname(this.#file || "."), t.value);
    const wrap = (message: string) => `error parsing include file '${t.value}', ${message}`;
    let included: ConfMap;
    try {
      const abs = p.resolve(path);
      if (this.#chain.includes(abs) || this.#depth >= MAX_NESTING) {
        throw new ConfigError(`include cycle detected at ${path}`, { file: path, line: 0, col: 0 });
      }
      const bytes = readConfigBytes(path, { file: path, line: 0, col: 0 });
      included = new Parser(bytes, path, this.#env, this.#depth + 1, [...this.#chain, abs]).run();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new ConfigError(wrap(e.message), e, e.reason);
    }
    for (const [name, node] of included) {
      this.#keys.push({ name, pos: node.pos });
      this.#set(node);
    }
  }
}

const SIZE_SUFFIXES: Record<string, bigint> = { "": 1n };
for (const [i, unit] of ["k", "m", "g", "t", "p", "e"].entries()) {
  SIZE_SUFFIXES[unit] = 1000n ** BigInt(i + 1);
  for (const bin of ["b", "i", "ib"]) SIZE_SUFFIXES[unit + bin] = 1024n ** BigInt(i + 1);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An integer token with an optional size suffix: `1k` is 1000, `1kb`/`1ki`/`1kib` are 1024.
 * Returns an error message, or undefined for an unknown suffix (nats-server sets no value then).
 * Like Go's int64 arithmetic, a huge suffixed value wraps around.
 */
export function parseInteger(text: string): number | string | undefined {
  const m = /^(\p{Nd}|-)*/u.exec(text)!;
  const digits = m[0];
  if (!/^[+-]?[0-9]+$/.test(digits)) return `expected integer, but got '${text}'`;
  const n = BigInt(digits);
  if (n < INT64_MIN || n > INT64_MAX) return `integer '${text}' is out of the range`;
  const mult = SIZE_SUFFIXES[text.slice(digits.length).trim().toLowerCase()];
  if (mult === undefined) return undefined;
  return Number(BigInt.asIntN(64, n * mult));
}

/** `YYYY-MM-DDTHH:MM:SSZ` with Go's range checks (no February 30th, no second 60). */
function parseZulu(text: string): Date | undefined {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || s > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return date;
}
