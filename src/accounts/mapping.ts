/**
 * Subject mappings (`mappings {}` at top level and per account), with nats-server 2.9.10's
 * weighted destinations: weights are percentages; when an entry list does not add up to 100 the
 * rest goes to the original subject, unless the source itself is listed, in which case the rest
 * is dropped. Entries with a `cluster` apply only on servers of that cluster; a server of
 * another cluster uses the entries without one.
 */

import { goQuote } from "../conf/go_format.ts";
import {
  SubjectMappingError,
  SubjectMatcher,
  SubjectTransform,
  tokenizeSubject,
} from "./transform.ts";

/** One weighted destination, as nats-server's MapDest (and our MappingOptions) spell it. */
export interface MapDestination {
  subject: string;
  /** Percent, 0 to 100. */
  weight: number;
  /** Only servers of this cluster use the entry; "" or absent: every server. */
  cluster?: string;
}

/** One mapping: a source subject and its destinations. */
export interface MappingDefinition {
  subject: string;
  destinations: MapDestination[];
}

export interface MappingOptions {
  /** Uniform in [0, 1): picks among weighted destinations (tests pass a fixed sequence). */
  random?: () => number;
}

/** A destination with its cumulative weight: the first with `w < upTo` is picked. */
interface Choice {
  transform: SubjectTransform;
  upTo: number;
}

const FULL_SUBJECT = /^[^\t\n\f\r ]+$/;

/** nats-server's IsValidSubject: non-empty tokens, no whitespace, `>` only last. */
export function isValidMappingSource(subject: string): boolean {
  if (subject === "") return false;
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.length === 0 || (t === ">" && i < tokens.length - 1)) return false;
    if (!FULL_SUBJECT.test(t)) return false;
  }
  return true;
}

/** nats-server's transformTokenize: `foo.*.*` -> `foo.$1.$2`, the identity destination. */
function identityDestination(source: string): string {
  let i = 0;
  return source.split(".").map((t) => (t === "*" ? `$${++i}` : t)).join(".");
}

export class Mapping {
  readonly source: string;
  readonly destinations: readonly MapDestination[];
  readonly #matcher: SubjectMatcher;
  readonly #choices: Choice[];
  /** Empty unless some entry names a cluster. */
  readonly #byCluster: Map<string, Choice[]>;
  readonly #random: () => number;

  private constructor(
    source: string,
    destinations: MapDestination[],
    choices: Choice[],
    byCluster: Map<string, Choice[]>,
    random: () => number,
  ) {
    this.source = source;
    this.destinations = destinations;
    this.#matcher = new SubjectMatcher(source);
    this.#choices = choices;
    this.#byCluster = byCluster;
    this.#random = random;
  }

  /** A plain `source: destination` mapping (weight 100), as nats-server's AddMapping. */
  static simple(source: string, destination: string, options?: MappingOptions): Mapping {
    return Mapping.compile(source, [{ subject: destination, weight: 100 }], options);
  }

  /**
   * nats-server's AddWeightedMappings: checks (in its order) and precomputes the cumulative
   * weights. Throws SubjectMappingError with nats-server's text; RangeError for a weight that is
   * not an integer from 0 (nats-server's type cannot hold one).
   */
  static compile(
    source: string,
    destinations: MapDestination[],
    options: MappingOptions = {},
  ): Mapping {
    if (!isValidMappingSource(source)) {
      throw new SubjectMappingError("bad-subject", "invalid subject", source);
    }
    const seen = new Set<string>();
    const main: [SubjectTransform, number][] = [];
    const clusters = new Map<string, [SubjectTransform, number][]>();
    let total = 0;
    for (const d of destinations) {
      if (!Number.isInteger(d.weight) || d.weight < 0) {
        throw new RangeError(`invalid weight ${d.weight} for mapping destination ${d.subject}`);
      }
      if (seen.has(d.subject)) {
        throw new SubjectMappingError(
          "duplicate-entry",
          `duplicate entry for ${goQuote(d.subject)}`,
          d.subject,
        );
      }
      seen.add(d.subject);
      if (d.weight > 100) {
        throw new SubjectMappingError("weight-too-large", "individual weights need to be <= 100");
      }
      total += d.weight;
      if (total > 100) {
        throw new SubjectMappingError("total-weight-too-large", "total weight needs to be <= 100");
      }
      const tr = SubjectTransform.compile(source, d.subject);
      const cluster = d.cluster ?? "";
      if (cluster === "") main.push([tr, d.weight]);
      else {
        let list = clusters.get(cluster);
        if (!list) clusters.set(cluster, list = []);
        list.push([tr, d.weight]);
      }
    }

    const sourceListed = seen.has(source);
    const complete = (list: [SubjectTransform, number][]): Choice[] => {
      const sum = list.reduce((s, [, w]) => s + w, 0);
      // The rest goes to the original subject, unless the source was listed: then it is lost.
      if (sum !== 100 && !sourceListed) {
        const identity = SubjectTransform.compile(source, identityDestination(source), {
          validateDestination: false,
        });
        list.push([identity, list.length === 0 ? 100 : 100 - sum]);
      }
      // nats-server sorts by weight; its sort keeps equal weights in order for short lists.
      list.sort((a, b) => a[1] - b[1]);
      let upTo = 0;
      return list.map(([transform, w]) => ({ transform, upTo: upTo += w }));
    };
    const byCluster = new Map<string, Choice[]>();
    const choices = complete(main);
    for (const [name, list] of clusters) byCluster.set(name, complete(list));
    return new Mapping(
      source,
      destinations.map((d) => ({ ...d })),
      choices,
      byCluster,
      options.random ?? Math.random,
    );
  }

  /**
   * The subject a message published on `subject` goes to: null when the source does not match
   * (no mapping), "" when the mapping drops it (the unassigned share of a list naming its own
   * source). `cluster` is this server's cluster name.
   */
  map(subject: string, cluster = ""): string | null {
    if (this.#matcher.literal) {
      return subject === this.source ? this.mapMatched(subject, -1, cluster) : null;
    }
    const count = tokenizeSubject(subject);
    return this.#matcher.matchesTokens(subject, count)
      ? this.mapMatched(subject, count, cluster)
      : null;
  }

  /** Whether `subject` matches the source. */
  matches(subject: string): boolean {
    return this.#matcher.matches(subject);
  }

  /** For Mappings: `count` is the token count tokenizeSubject left, or -1 if not tokenized. */
  matchesTokens(subject: string, count: number): boolean {
    return this.#matcher.literal
      ? subject === this.source
      : this.#matcher.matchesTokens(subject, count);
  }

  get literal(): boolean {
    return this.#matcher.literal;
  }

  /** The destination for a subject known to match; see map(). */
  mapMatched(subject: string, count: number, cluster: string): string {
    let choices = this.#choices;
    if (this.#byCluster.size > 0) choices = this.#byCluster.get(cluster) ?? choices;
    let chosen: SubjectTransform | undefined;
    if (choices.length === 1 && choices[0].upTo === 100) chosen = choices[0].transform;
    else {
      const w = Math.floor(this.#random() * 100);
      chosen = choices.find((c) => w < c.upTo)?.transform;
    }
    if (!chosen) return "";
    if (!chosen.usesTokens) return chosen.destination;
    return chosen.transformTokens(subject, count < 0 ? tokenizeSubject(subject) : count);
  }

  /** True when a subject always maps to the same place (callers may cache the result). */
  get deterministic(): boolean {
    const single = (c: Choice[]) => c.length === 1 && c[0].upTo === 100;
    return single(this.#choices) && [...this.#byCluster.values()].every(single);
  }
}

/**
 * An account's mappings, in order: the first whose source matches decides, as in nats-server
 * (whose order for a config file is Go's map order, i.e. random; ours is the file's).
 */
export class Mappings {
  #list: Mapping[] = [];

  constructor(mappings: Iterable<Mapping> = []) {
    for (const m of mappings) this.add(m);
  }

  /** Compiles definitions (e.g. from the config); throws SubjectMappingError on the first bad one. */
  static compile(definitions: Iterable<MappingDefinition>, options?: MappingOptions): Mappings {
    const out = new Mappings();
    for (const d of definitions) out.add(Mapping.compile(d.subject, d.destinations, options));
    return out;
  }

  /** Adds a mapping; one with the same source is replaced in place (nats-server's rule). */
  add(mapping: Mapping): void {
    const i = this.#list.findIndex((m) => m.source === mapping.source);
    if (i >= 0) this.#list[i] = mapping;
    else this.#list.push(mapping);
  }

  /** Removes the mapping of `source`; the last mapping takes its place, as in nats-server. */
  remove(source: string): boolean {
    const i = this.#list.findIndex((m) => m.source === source);
    if (i < 0) return false;
    const last = this.#list.pop()!;
    if (i < this.#list.length) this.#list[i] = last;
    return true;
  }

  get size(): number {
    return this.#list.length;
  }

  [Symbol.iterator](): Iterator<Mapping> {
    return this.#list[Symbol.iterator]();
  }

  /**
   * Where a message published on `subject` goes: null when no mapping applies (deliver on
   * `subject`), "" when the chosen mapping drops it, else the mapped subject. `cluster` is this
   * server's cluster name. The subject is tokenized at most once, and only for a source with
   * wildcards.
   */
  map(subject: string, cluster = ""): string | null {
    let count = -1;
    for (const m of this.#list) {
      if (m.literal) {
        if (subject !== m.source) continue;
      } else {
        if (count < 0) count = tokenizeSubject(subject);
        if (!m.matchesTokens(subject, count)) continue;
      }
      return m.mapMatched(subject, count, cluster);
    }
    return null;
  }

  /** True when no mapping involves chance, so a caller may cache map() per subject. */
  get deterministic(): boolean {
    return this.#list.every((m) => m.deterministic);
  }
}
