/**
 * mkpasswd: makes a password and its bcrypt hash for the `password` or `token` of a NATS config,
 * as nats-server's util/mkpasswd.go does, with the same flags, prompts and output lines so the
 * README's instructions work unchanged. It is also compiled on its own (scripts/release.ts).
 *
 * Where Go's tool would quietly do the wrong thing we fail loudly instead, and say so here:
 * - a cost below 4 is an error (Go's bcrypt silently uses cost 10);
 * - `-p` with stdin not a terminal reads lines (Go's terminal.ReadPassword fails there and the tool
 *   then hashes an empty password); one line alone is taken as its own confirmation, since nobody
 *   is typing blind into a pipe, and empty input is an error rather than an empty password.
 */

import { costErrorText, DEFAULT_COST, hashPassword, MAX_COST, MIN_COST } from "./src/password.ts";

/** Long enough for ample entropy: 22 symbols of 72 is about 135 bits. */
export const PASSWORD_LENGTH = 22;
/** mkpasswd.go's alphabet, symbols in its order, so generated passwords look like nats-server's. */
export const PASSWORD_ALPHABET =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@$#%^&*()";

const USAGE_LINE = "Usage: mkpasswd [-p <stdin password>] [-c COST] \n";
/** Go's flag.PrintDefaults layout for these two flags. */
const USAGE_DEFAULTS =
  `  -c int\n    \tThe cost weight, range of ${MIN_COST}-${MAX_COST} (default ${DEFAULT_COST})\n` +
  "  -p\tInput password via stdin\n";

const encoder = new TextEncoder();

/**
 * Uniform over the alphabet: bytes at or above the largest multiple of its length are redrawn,
 * because taking `byte % 72` would make the first 40 symbols more likely than the rest.
 */
export function genPassword(length = PASSWORD_LENGTH): string {
  const n = PASSWORD_ALPHABET.length;
  const limit = 256 - (256 % n);
  let out = "";
  const buf = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      if (b < limit && out.length < length) out += PASSWORD_ALPHABET[b % n];
    }
  }
  return out;
}

/** What the command line asked for, or how to end when it asked for nothing runnable. */
type Parsed = { prompt: boolean; cost: bigint } | { exit: number };

const TRUE_WORDS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * Go's flag package rules, so scripts written against the Go tool keep working: `-x` or `--x`,
 * `-c 5` or `-c=5`, `-p=false`, parsing stops at the first non-flag or `--`, `-h`/`-help` print
 * usage and exit 0, and anything wrong exits 2 after the error and the usage.
 */
export function parseArgs(args: string[]): Parsed {
  let prompt = false;
  let cost = BigInt(DEFAULT_COST);
  const fail = (msg: string): Parsed => {
    writeErr(msg + "\n");
    usage();
    return { exit: 2 };
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.length < 2 || arg[0] !== "-") break;
    let name = arg.slice(1);
    if (name[0] === "-") {
      if (name.length === 1) break;
      name = name.slice(1);
    }
    if (name.length === 0 || name[0] === "-" || name[0] === "=") {
      return fail(`bad flag syntax: ${arg}`);
    }
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (name === "p") {
      if (value === undefined || TRUE_WORDS.has(value)) prompt = true;
      else if (FALSE_WORDS.has(value)) prompt = false;
      else return fail(`invalid boolean value "${value}" for -p: parse error`);
    } else if (name === "c") {
      if (value === undefined) {
        if (i + 1 >= args.length) return fail("flag needs an argument: -c");
        value = args[++i];
      }
      const parsed = parseGoInt(value);
      if (typeof parsed === "string") {
        return fail(`invalid value "${value}" for flag -c: ${parsed}`);
      }
      cost = parsed;
    } else if (name === "h" || name === "help") {
      usage();
      return { exit: 0 };
    } else {
      return fail(`flag provided but not defined: -${name}`);
    }
  }
  return { prompt, cost };
}

/**
 * strconv.ParseInt(s, 0, 64), which Go's flag.Int uses: an optional sign and 0x/0o/0b/0 prefixes.
 * Returns Go's error reason when the text is not an int64.
 */
function parseGoInt(s: string): bigint | string {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return "parse error";
  let digits = m[2];
  if (/^0[0-7]+$/.test(digits)) digits = "0o" + digits.slice(1);
  let v = BigInt(digits);
  if (m[1] === "-") v = -v;
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) return "value out of range";
  return v;
}

/** Go's usage() prints its first line with fmt.Printf and the defaults on stderr; kept as is. */
function usage(): void {
  writeOut(USAGE_LINE);
  writeErr(USAGE_DEFAULTS);
}

function writeOut(s: string): void {
  writeAll(Deno.stdout, encoder.encode(s));
}

function writeErr(s: string): void {
  writeAll(Deno.stderr, encoder.encode(s));
}

function writeAll(w: { writeSync(p: Uint8Array): number }, p: Uint8Array): void {
  let off = 0;
  while (off < p.length) off += w.writeSync(p.subarray(off));
}

/** log.Fatalf: the message on stderr, exit status 1. */
function fatal(msg: string): never {
  writeErr(msg.endsWith("\n") ? msg : msg + "\n");
  Deno.exit(1);
}

/**
 * One byte at a time over stdin with a carried-over chunk, so both prompts read from the same
 * stream: a pasted "pw\rpw\r" or a piped "pw\npw\n" arrives in one read and must feed both.
 */
class StdinBytes {
  #buf = new Uint8Array(4096);
  #pos = 0;
  #end = 0;

  async next(): Promise<number | null> {
    if (this.#pos === this.#end) {
      const n = await Deno.stdin.read(this.#buf);
      if (n === null || n === 0) return null;
      this.#pos = 0;
      this.#end = n;
    }
    return this.#buf[this.#pos++];
  }
}

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const BACKSPACE = 0x08;
const CTRL_U = 0x15;
const DELETE = 0x7f;

/**
 * Reads one password line, or null at end of input with nothing read. On a terminal the echo is
 * off (raw mode), so the line editing the terminal would have done is done here: backspace and
 * delete remove a whole UTF-8 character, Ctrl-U clears, and Ctrl-C, which raw mode turns into a
 * plain byte, still aborts, after the terminal is restored.
 */
async function readPasswordLine(src: StdinBytes, tty: boolean): Promise<Uint8Array | null> {
  const out: number[] = [];
  if (tty) Deno.stdin.setRaw(true);
  try {
    for (;;) {
      const b = await src.next();
      if (b === null) return out.length > 0 ? Uint8Array.from(out) : null;
      if (b === 0x0a || (tty && b === 0x0d)) break;
      if (!tty) {
        out.push(b);
        continue;
      }
      if (b === CTRL_C) {
        Deno.stdin.setRaw(false);
        writeOut("\n");
        Deno.exit(130);
      } else if (b === CTRL_D) {
        if (out.length === 0) return null;
        break;
      } else if (b === BACKSPACE || b === DELETE) {
        while (out.length > 0 && ((out.pop() as number) & 0xc0) === 0x80) { /* continuation */ }
      } else if (b === CTRL_U) {
        out.length = 0;
      } else {
        out.push(b);
      }
    }
  } finally {
    if (tty) Deno.stdin.setRaw(false);
  }
  // A line from a pipe written on Windows ends in \r\n; the \r is not part of the password.
  if (!tty && out.length > 0 && out[out.length - 1] === 0x0d) out.pop();
  return Uint8Array.from(out);
}

/** Prompts, reads and confirms, with mkpasswd.go's exact prompt texts and line breaks. */
async function promptPassword(): Promise<string> {
  const tty = Deno.stdin.isTerminal();
  const src = new StdinBytes();
  writeOut("Enter Password: ");
  const first = await readPasswordLine(src, tty);
  if (first === null) fatal("Error, no password given");
  writeOut("\nReenter Password: ");
  const second = (await readPasswordLine(src, tty)) ?? (tty ? new Uint8Array() : first);
  if (!bytesEqual(first, second)) fatal("Error, passwords do not match");
  writeOut("\n");
  try {
    // bcryptjs hashes strings as UTF-8; other bytes could not be hashed as given, so refuse them.
    return new TextDecoder("utf-8", { fatal: true }).decode(first);
  } catch {
    fatal("Error, password is not valid UTF-8");
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Returns the exit status; main() only runs it when this file is the program. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if ("exit" in parsed) return parsed.exit;
  const { prompt, cost } = parsed;
  // Checked before prompting so nobody types a password twice only to be told the cost is wrong.
  if (cost < BigInt(MIN_COST) || cost > BigInt(MAX_COST)) {
    fatal(`Error producing bcrypt hash: ${costErrorText(cost)}`);
  }
  let password: string;
  if (prompt) {
    password = await promptPassword();
  } else {
    password = genPassword();
    writeOut(`pass: ${password}\n`);
  }
  let hash: string;
  try {
    hash = await hashPassword(password, Number(cost));
  } catch (e) {
    fatal(`Error producing bcrypt hash: ${e instanceof Error ? e.message : String(e)}`);
  }
  writeOut(`bcrypt hash: ${hash}\n`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
