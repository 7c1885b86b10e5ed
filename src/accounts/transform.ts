/**
 * Subject transforms: a source subject (possibly with wildcards) and a destination template
 * (`$1`, `{{wildcard(1)}}`, `{{partition(n,i...)}}`, `{{SplitFromLeft(i,n)}}`,
 * `{{SplitFromRight(i,n)}}`, `{{SliceFromLeft(i,n)}}`, `{{SliceFromRight(i,n)}}`,
 * `{{split(i,delim)}}`), with nats-server 2.9.10's validation, error texts and output, quirks
 * included: a mixed cluster must map a subject to the same place on every server, so the rules
 * are the reference's, not tidier ones of our own.
 *
 * Everything is decided when the transform is compiled; applying it walks the subject once,
 * records token bounds in a shared scratch array and concatenates the output.
 */

import { subjectInfo } from "../subjects.ts";

/** Why a source, destination or mapping was refused; `message` is nats-server's text. */
export type SubjectMappingErrorCode =
  | "bad-subject"
  | "invalid-destination-subject"
  | "not-using-all-wildcards"
  | "unknown-function"
  | "wildcard-index-out-of-range"
  | "not-enough-arguments"
  | "invalid-argument"
  | "too-many-arguments"
  | "duplicate-entry"
  | "weight-too-large"
  | "total-weight-too-large";

export class SubjectMappingError extends Error {
  readonly code: SubjectMappingErrorCode;
  /** The destination token (or subject) the error is about, when nats-server names one. */
  readonly token: string | undefined;

  constructor(code: SubjectMappingErrorCode, message: string, token?: string) {
    super(message);
    this.name = "SubjectMappingError";
    this.code = code;
    this.token = token;
  }
}

const INVALID_DEST = "invalid mapping destination";
const DEST_REASONS = {
  "invalid-destination-subject": "invalid subject",
  "not-using-all-wildcards": "not using all of the token wildcard(s)",
  "unknown-function": "unknown function",
  "wildcard-index-out-of-range": "wildcard index out of range",
  "not-enough-arguments": "not enough arguments passed to the function",
  "invalid-argument": "function argument is invalid or in the wrong format",
  "too-many-arguments": "too many arguments passed to the function",
} as const;
type DestCode = keyof typeof DEST_REASONS;

/** nats-server's mappingDestinationErr: "invalid mapping destination: <reason> in <token>". */
function destError(code: DestCode, token: string): SubjectMappingError {
  return new SubjectMappingError(code, `${INVALID_DEST}: ${DEST_REASONS[code]} in ${token}`, token);
}

function badSubject(): SubjectMappingError {
  return new SubjectMappingError("bad-subject", "invalid subject");
}

// The function patterns, unanchored and tried in this order as nats-server does (a token such
// as `{{x{{wildcard(1)}}` is a wildcard). `[\t\n\f\r ]` and `[^\n]` are Go's `\s` and `.`.
const S = "[\\t\\n\\f\\r ]*";
function fnPattern(name: string): RegExp {
  return new RegExp(`\\{\\{${S}${name}${S}\\(([^\\n]*)\\)${S}\\}\\}`);
}
const WILDCARD_RE = fnPattern("[wW]ildcard");
const PARTITION_RE = fnPattern("[pP]artition");
const SPLIT_FROM_LEFT_RE = fnPattern("[sS]plit[fF]rom[lL]eft");
const SPLIT_FROM_RIGHT_RE = fnPattern("[sS]plit[fF]rom[rR]ight");
const SLICE_FROM_LEFT_RE = fnPattern("[sS]lice[fF]rom[lL]eft");
const SLICE_FROM_RIGHT_RE = fnPattern("[sS]lice[fF]rom[rR]ight");
const SPLIT_RE = fnPattern("[sS]plit");
const FUNCTION_RES = [
  WILDCARD_RE,
  PARTITION_RE,
  SPLIT_FROM_LEFT_RE,
  SPLIT_FROM_RIGHT_RE,
  SLICE_FROM_LEFT_RE,
  SLICE_FROM_RIGHT_RE,
  SPLIT_RE,
];
const ARG_SEPARATOR = /,[\t\n\f\r ]*/;

function isMustache(token: string): boolean {
  return token.length > 4 && token.startsWith("{{") && token.endsWith("}}");
}

/** The arguments of `token` if `re` finds it, split on commas as nats-server does; else null. */
function functionArgs(re: RegExp, token: string): string[] | null {
  const m = re.exec(token);
  return m ? m[1].split(ARG_SEPARATOR) : null;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.Atoi (64-bit int) after trimming spaces; null where Atoi fails. */
function atoi(s: string): bigint | null {
  const t = s.replace(/^ +| +$/g, "");
  if (!/^[+-]?[0-9]+$/.test(t)) return null;
  const n = BigInt(t);
  return n < INT64_MIN || n > INT64_MAX ? null : n;
}

/**
 * nats-server's ValidateMappingDestination: non-empty tokens, nothing after `>`, known
 * `{{function}}` names (arguments are checked later, and only for wildcard sources), no
 * whitespace outside a function token.
 */
export function validateMappingDestination(subject: string): void {
  let sawFwc = false;
  for (const t of subject.split(".")) {
    if (t.length === 0 || sawFwc) throw destError("invalid-destination-subject", t);
    if (isMustache(t)) {
      if (!FUNCTION_RES.some((re) => re.test(t))) throw destError("unknown-function", t);
      continue;
    }
    if (t === ">") sawFwc = true;
    else if (/[\t\n\f\r ]/.test(t)) {
      throw new SubjectMappingError(
        "invalid-destination-subject",
        `${INVALID_DEST}: ${DEST_REASONS["invalid-destination-subject"]}`,
      );
    }
  }
}

const enum Op {
  Literal,
  Wildcard,
  Partition,
  SplitFromLeft,
  SplitFromRight,
  SliceFromLeft,
  SliceFromRight,
  Split,
}

/** One destination token: a literal, or a function of source tokens (by subject index). */
interface DestToken {
  op: Op;
  literal: string;
  /** Indexes into the published subject's tokens. */
  sources: number[];
  /** Partition count (as Go's uint32) or split position / slice size (as Go's int32). */
  n: number;
  delimiter: string;
}

/** What a destination token parses to, before its wildcard numbers become token indexes. */
interface Placeholder {
  op: Op;
  wildcards: bigint[];
  n: bigint;
  delimiter: string;
}

/** nats-server's indexPlaceHolders: null for a plain token, else the function it names. */
function placeholder(token: string): Placeholder | null {
  if (token.length <= 1) return null;
  if (token[0] === "$") {
    // `$1` (the original syntax); `$foo` and friends stay literal, other features use them.
    const i = atoi(token.slice(1));
    return i === null ? null : { op: Op.Wildcard, wildcards: [i], n: -1n, delimiter: "" };
  }
  if (!isMustache(token)) return null;

  let args = functionArgs(WILDCARD_RE, token);
  if (args) {
    if (args.length === 1 && args[0] === "") throw destError("not-enough-arguments", token);
    if (args.length > 1) throw destError("too-many-arguments", token);
    const i = atoi(args[0]);
    if (i === null) throw destError("invalid-argument", token);
    return { op: Op.Wildcard, wildcards: [i], n: -1n, delimiter: "" };
  }

  args = functionArgs(PARTITION_RE, token);
  if (args) {
    if (args.length < 2) throw destError("not-enough-arguments", token);
    const n = atoi(args[0]);
    if (n === null) throw destError("invalid-argument", token);
    const wildcards: bigint[] = [];
    for (const a of args.slice(1)) {
      const i = atoi(a);
      if (i === null) throw destError("invalid-argument", token);
      wildcards.push(i);
    }
    return { op: Op.Partition, wildcards, n, delimiter: "" };
  }

  const indexAndInt: [RegExp, Op][] = [
    [SPLIT_FROM_LEFT_RE, Op.SplitFromLeft],
    [SPLIT_FROM_RIGHT_RE, Op.SplitFromRight],
    [SLICE_FROM_LEFT_RE, Op.SliceFromLeft],
    [SLICE_FROM_RIGHT_RE, Op.SliceFromRight],
  ];
  for (const [re, op] of indexAndInt) {
    args = functionArgs(re, token);
    if (!args) continue;
    if (args.length < 2) throw destError("not-enough-arguments", token);
    if (args.length > 2) throw destError("too-many-arguments", token);
    const i = atoi(args[0]);
    const n = atoi(args[1]);
    if (i === null || n === null) throw destError("invalid-argument", token);
    return { op, wildcards: [i], n, delimiter: "" };
  }

  args = functionArgs(SPLIT_RE, token);
  if (args) {
    if (args.length < 2) throw destError("not-enough-arguments", token);
    if (args.length > 2) throw destError("too-many-arguments", token);
    const i = atoi(args[0]);
    if (i === null) throw destError("invalid-argument", token);
    if (args[1].includes(" ") || args[1].includes(".")) throw destError("invalid-argument", token);
    return { op: Op.Split, wildcards: [i], n: -1n, delimiter: args[1] };
  }

  throw destError("unknown-function", token);
}

// Token bounds of the subject being transformed: shared, grown on demand, never reallocated
// per call (the engine is single-threaded and apply does not re-enter).
let starts = new Int32Array(32);
let ends = new Int32Array(32);

/**
 * Splits `subject` on dots into the shared scratch bounds that matchesTokens and
 * transformTokens read; returns the token count. Call it right before them.
 */
export function tokenizeSubject(subject: string): number {
  let n = 0;
  let start = 0;
  while (true) {
    if (n === starts.length) {
      const s = new Int32Array(n * 2);
      s.set(starts);
      starts = s;
      const e = new Int32Array(n * 2);
      e.set(ends);
      ends = e;
    }
    const end = subject.indexOf(".", start);
    starts[n] = start;
    ends[n] = end < 0 ? subject.length : end;
    n++;
    if (end < 0) return n;
    start = end + 1;
  }
}

/**
 * A mapping source compiled for the match nats-server's mappings use (isSubsetMatch): `*`
 * matches one token, `>` the rest, and a `*` token in a published subject only matches a `*`
 * of the source.
 */
export class SubjectMatcher {
  readonly source: string;
  readonly #tokens: string[];
  /**
   * True when the subject must simply equal the source. nats-server's matching treats any
   * source token starting with `*` (even `*x`) as matching one token, so those are not literal.
   */
  readonly literal: boolean;

  constructor(source: string) {
    this.source = source;
    this.#tokens = source.split(".");
    this.literal = !this.#tokens.some((t) => t[0] === "*" || t === ">");
  }

  /** Number of source tokens; a `>` source token stands for the rest of the subject. */
  get tokenCount(): number {
    return this.#tokens.length;
  }

  matches(subject: string): boolean {
    if (this.literal) return subject === this.source;
    return this.matchesTokens(subject, tokenizeSubject(subject));
  }

  /** The match on the bounds tokenizeSubject(subject) just left (`count` tokens). */
  matchesTokens(subject: string, count: number): boolean {
    const src = this.#tokens;
    for (let i = 0; i < src.length; i++) {
      if (i >= count) return false;
      const t2 = src[i];
      if (t2 === ">") return true;
      const len = ends[i] - starts[i];
      if (len === 0) return false;
      const c = subject.charCodeAt(starts[i]);
      if (len === 1 && c === 0x3e /* > */) return false;
      if (len === 1 && c === 0x2a /* * */) {
        if (t2 !== "*") return false;
        continue;
      }
      // nats-server looks at the first character only: a source token `*x` matches any token.
      if (t2.charCodeAt(0) !== 0x2a && !tokenIs(subject, i, t2)) return false;
    }
    return count === src.length;
  }
}

export class SubjectTransform {
  readonly source: string;
  readonly destination: string;
  readonly matcher: SubjectMatcher;
  /** Empty for a literal source: the destination is then returned as written. */
  readonly #dest: DestToken[];
  /** The destination ends in `>`: the subject's tail from the source's `>` on is appended. */
  readonly #tail: boolean;

  private constructor(source: string, destination: string, dest: DestToken[]) {
    this.source = source;
    this.destination = destination;
    this.matcher = new SubjectMatcher(source);
    this.#dest = dest;
    const last = dest[dest.length - 1];
    this.#tail = last !== undefined && last.op === Op.Literal && last.literal === ">";
  }

  /**
   * nats-server's newTransform, preceded (unless `validateDestination` is false, as for imports)
   * by the ValidateMappingDestination check that `mappings` get. Throws SubjectMappingError.
   */
  static compile(
    source: string,
    destination: string,
    options: { validateDestination?: boolean } = {},
  ): SubjectTransform {
    if (options.validateDestination ?? true) validateMappingDestination(destination);
    const src = subjectInfo(source);
    const dst = subjectInfo(destination);
    if (!src || !dst || dst.pwcs > 0 || src.fwc !== dst.fwc) throw badSubject();

    const dest: DestToken[] = [];
    if (src.pwcs > 0 || src.fwc) {
      // Wildcard number (1-based) -> index of that `*` in the subject. Numbers below 1 are not
      // refused by nats-server: they read token 0, and so do we.
      const wildcardAt: number[] = [0];
      src.tokens.forEach((t, i) => t === "*" && wildcardAt.push(i));
      let placeholders = 0;
      for (const token of dst.tokens) {
        const ph = placeholder(token);
        if (!ph) {
          dest.push({ op: Op.Literal, literal: token, sources: [], n: -1, delimiter: "" });
          continue;
        }
        placeholders++;
        const sources = ph.wildcards.map((w) => {
          if (w > BigInt(src.pwcs)) {
            throw destError("wildcard-index-out-of-range", `${token}: [${w}]`);
          }
          return w < 1n ? 0 : wildcardAt[Number(w)];
        });
        const n = ph.op === Op.Partition
          ? Number(BigInt.asUintN(32, BigInt.asIntN(32, ph.n)))
          : Number(BigInt.asIntN(32, ph.n));
        dest.push({ op: ph.op, literal: "", sources, n, delimiter: ph.delimiter });
      }
      if (placeholders < src.pwcs) throw destError("not-using-all-wildcards", destination);
    }
    return new SubjectTransform(source, destination, dest);
  }

  /** The transformed subject, or null when `subject` does not match the source. */
  apply(subject: string): string | null {
    if (this.matcher.literal) return subject === this.source ? this.destination : null;
    const n = tokenizeSubject(subject);
    return this.matcher.matchesTokens(subject, n) ? this.transformTokens(subject, n) : null;
  }

  /** Whether the output depends on the subject's tokens (a literal source never does). */
  get usesTokens(): boolean {
    return this.#dest.length > 0;
  }

  /** nats-server's transform() over the scratch bounds of a subject known to match. */
  transformTokens(subject: string, count: number): string {
    const dest = this.#dest;
    if (dest.length === 0) return this.destination;
    let out = "";
    const last = dest.length - 1;
    for (let i = 0; i < dest.length; i++) {
      const d = dest[i];
      switch (d.op) {
        case Op.Literal:
          if (d.literal === ">") {
            i = dest.length; // the tail is appended below
            continue;
          }
          out += d.literal;
          break;
        case Op.Wildcard:
          out += token(subject, d.sources[0]);
          break;
        case Op.Partition:
          out += partition(subject, d.sources, d.n);
          break;
        case Op.SplitFromLeft:
          out += splitAt(token(subject, d.sources[0]), d.n, false);
          break;
        case Op.SplitFromRight:
          out += splitAt(token(subject, d.sources[0]), d.n, true);
          break;
        case Op.SliceFromLeft:
          out += sliceFromLeft(token(subject, d.sources[0]), d.n);
          break;
        case Op.SliceFromRight:
          out += sliceFromRight(token(subject, d.sources[0]), d.n);
          break;
        case Op.Split:
          out += split(token(subject, d.sources[0]), d.delimiter);
          break;
      }
      if (i < last) out += ".";
    }
    if (this.#tail) {
      const from = this.matcher.tokenCount - 1;
      if (from < count) out += subject.slice(starts[from]);
    }
    return out;
  }
}

function token(subject: string, i: number): string {
  return subject.slice(starts[i], ends[i]);
}

function tokenIs(subject: string, i: number, t: string): boolean {
  return ends[i] - starts[i] === t.length && subject.startsWith(t, starts[i]);
}

/** FNV-1a 32 over the UTF-8 bytes of the named tokens, concatenated: nats-server's key. */
function partition(subject: string, sources: number[], buckets: number): string {
  let h = 0x811c9dc5;
  for (const i of sources) {
    const end = ends[i];
    for (let j = starts[i]; j < end; j++) {
      let c = subject.charCodeAt(j);
      if (c < 0x80) {
        h = Math.imul(h ^ c, 0x01000193);
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff && j + 1 < end) {
        const lo = subject.charCodeAt(j + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          j++;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate is encoded as U+FFFD
      if (c < 0x800) {
        h = Math.imul(h ^ (0xc0 | (c >> 6)), 0x01000193);
      } else {
        if (c < 0x10000) {
          h = Math.imul(h ^ (0xe0 | (c >> 12)), 0x01000193);
        } else {
          h = Math.imul(h ^ (0xf0 | (c >> 18)), 0x01000193);
          h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), 0x01000193);
        }
        h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193);
      }
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
    }
  }
  // buckets is Go's uint32 of the configured int32; nats-server panics on 0, we keep bucket 0.
  return buckets === 0 ? "0" : String((h >>> 0) % buckets);
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Go slices strings by byte; ASCII tokens (the usual case) are sliced as they are. */
interface Bytes {
  length: number;
  slice(from: number, to?: number): string;
}

function bytesOf(s: string): Bytes {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return { length: s.length, slice: (a, b) => s.slice(a, b) };
  const b = utf8.encode(s);
  return { length: b.length, slice: (a, e) => fromUtf8.decode(b.subarray(a, e)) };
}

function splitAt(tok: string, position: number, fromRight: boolean): string {
  const b = bytesOf(tok);
  if (position <= 0 || position >= b.length) return tok;
  const at = fromRight ? b.length - position : position;
  return b.slice(0, at) + "." + b.slice(at);
}

function sliceFromLeft(tok: string, size: number): string {
  const b = bytesOf(tok);
  const len = b.length;
  if (size <= 0 || size >= len) return tok;
  let out = "";
  for (let i = 0; i + size <= len; i += size) {
    if (i !== 0) out += ".";
    out += b.slice(i, i + size);
    if (i + size !== len && i + 2 * size > len) {
      out += "." + b.slice(i + size);
      break;
    }
  }
  return out;
}

function sliceFromRight(tok: string, size: number): string {
  const b = bytesOf(tok);
  const len = b.length;
  if (size <= 0 || size >= len) return tok;
  let out = "";
  const rem = len % size;
  if (rem > 0) out += b.slice(0, rem) + ".";
  for (let i = rem; i + size <= len; i += size) {
    out += b.slice(i, i + size);
    if (i + size < len) out += ".";
  }
  return out;
}

/** nats-server's split: empty pieces dropped, joined by dots with its exact edge rules. */
function split(tok: string, delimiter: string): string {
  // Go's strings.Split with "" splits into characters.
  const parts = delimiter === "" ? Array.from(tok) : tok.split(delimiter);
  let out = "";
  for (let j = 0; j < parts.length; j++) {
    const p = parts[j];
    out += p;
    if (j < parts.length - 1 && parts[j + 1] !== "" && !(j === 0 && p === "")) out += ".";
  }
  return out;
}
