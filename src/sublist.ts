/**
 * The subject interest tree: subscriptions stored by token with `*` and `>` nodes, matched per
 * published subject. Subscriptions to literal subjects (most of them: a subscription per device,
 * an inbox per request) skip the tree and sit in one Map keyed by subject, so matching them is a
 * single lookup and storing them costs one entry; only wildcard subscriptions are walked token
 * by token. Results are cached per published subject because the same few subjects are
 * published over and over; the cache is invalidated precisely (only the entries a change can
 * affect), so churn on one subject does not cool every other subject.
 */

/** Anything that can hold a subscription: a client or a route. */
export interface Subscriber {
  readonly kind: number;
}

export interface Subscription<C extends Subscriber = Subscriber> {
  client: C;
  subject: string;
  /** Queue group name, or "" for a plain subscription. */
  queue: string;
  sid: string;
  /**
   * `sid` as bytes, written straight into every MSG line for this subscription. A plain array:
   * a typed array costs an ArrayBuffer each (~300 ns and ~250 bytes in Deno), per subscription.
   */
  sidBytes: number[];
  /** Auto-unsubscribe after this many messages; 0 means unlimited. */
  max: number;
  /** Messages delivered so far. */
  delivered: number;
  /** Set once removed, so a cached result never delivers to a closed subscription. */
  closed: boolean;
}

export interface SublistResult<C extends Subscriber = Subscriber> {
  psubs: Subscription<C>[];
  /** One array per queue group that has members interested in the subject. */
  qsubs: Subscription<C>[][];
}

/**
 * FNV-1a over a string's UTF-16 code units in [start, end). Every Map in this file is keyed by
 * it rather than by the string: looking a string up in a Map makes V8 hash the string first,
 * and for a string made moments ago (a subject just decoded, a token just cut) that costs about
 * 250 ns (measured), several times a whole delivery; this loop costs about 1 ns a character.
 * Keys are always verified against the string, so a collision only shares a bucket. The
 * parser computes the same hash over a message's bytes. Its constants are written as literals
 * here and there on purpose: read from an imported binding they cost 13 ns a message (measured).
 */
export function subjectHash(s: string, start = 0, end = s.length): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** Whether s[start, end) is exactly `key`. */
function sameKey(key: string, s: string, start: number, end: number): boolean {
  const n = key.length;
  if (n !== end - start) return false;
  for (let i = 0; i < n; i++) if (key.charCodeAt(i) !== s.charCodeAt(start + i)) return false;
  return true;
}

/** Whether buf[start, end) is exactly `key` (an ASCII subject: one byte per character). */
function sameBytes(key: string, buf: Uint8Array, start: number, end: number): boolean {
  const n = key.length;
  if (n !== end - start) return false;
  for (let i = 0; i < n; i++) if (key.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

const SUBJECT_DECODER = new TextDecoder();

/** What scanSubject found in a subject's bytes. */
const ASCII = 0;
const NOT_ASCII = 1;
const EMPTY_TOKEN = 2;

/**
 * One pass over a subject's bytes: a byte over 127 (NOT_ASCII: the string path), else an empty
 * token ("a..b", ".a", "a.", "": EMPTY_TOKEN, matches nothing), else ASCII.
 */
function scanSubject(buf: Uint8Array, start: number, end: number): number {
  let prev = 46;
  let empty = false;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b > 127) return NOT_ASCII;
    if (b === 46 && prev === 46) empty = true;
    prev = b;
  }
  return empty || prev === 46 ? EMPTY_TOKEN : ASCII;
}

/**
 * The subscriptions of one node: an array while few (a Set costs ~240 bytes even for one member,
 * and most nodes have one), a Set past SMALL_MEMBERS so removal stays O(1) on a subject with
 * thousands of subscribers. Arrays keep insertion order on removal, as the Set does.
 */
type Members<C extends Subscriber> = Subscription<C>[] | Set<Subscription<C>>;
const SMALL_MEMBERS = 16;

function addMember<C extends Subscriber>(m: Members<C> | null, sub: Subscription<C>): Members<C> {
  if (m === null) return [sub];
  if (!Array.isArray(m)) return m.add(sub);
  if (m.includes(sub)) return m;
  if (m.length < SMALL_MEMBERS) {
    m.push(sub);
    return m;
  }
  return new Set(m).add(sub);
}

/** The members without `sub` (null when none are left), or undefined when it was not there. */
function removeMember<C extends Subscriber>(
  m: Members<C> | null,
  sub: Subscription<C>,
): Members<C> | null | undefined {
  if (m === null) return undefined;
  if (Array.isArray(m)) {
    const i = m.indexOf(sub);
    if (i < 0) return undefined;
    if (m.length === 1) return null;
    m.splice(i, 1);
    return m;
  }
  if (!m.delete(sub)) return undefined;
  return m.size === 0 ? null : m;
}

function pushMembers<C extends Subscriber>(out: Subscription<C>[], m: Members<C>): void {
  if (Array.isArray(m)) {
    for (let i = 0; i < m.length; i++) out.push(m[i]);
  } else {
    for (const s of m) out.push(s);
  }
}

/** Where a subject's (or a token's) subscriptions are kept: plain ones, and queue groups. */
class Node<C extends Subscriber> {
  /** The token this node stands for in its level, or the whole subject (literal index). */
  readonly key: string;
  /** The level below (wildcard tree only); null for a node that ends subjects only. */
  next: Level<C> | null = null;
  psubs: Members<C> | null = null;
  qsubs: Map<string, Members<C>> | null = null;

  /** This node's members as a match result, made when first asked (see result()). */
  #result: SublistResult<C> | null = null;

  constructor(key: string) {
    this.key = key;
  }

  /**
   * This node's members as a result, kept until they change: a subject matched by one wildcard
   * subscription node alone (`dev.>` under a subject per device) then costs no allocation.
   */
  result(): SublistResult<C> {
    return this.#result ??= literalResult(this);
  }

  get hasSubs(): boolean {
    return this.psubs !== null || this.qsubs !== null;
  }

  isEmpty(): boolean {
    return !this.hasSubs && (!this.next || this.next.size === 0);
  }

  add(sub: Subscription<C>): void {
    this.#result = null;
    if (sub.queue === "") {
      this.psubs = addMember(this.psubs, sub);
      return;
    }
    const qsubs = this.qsubs ??= new Map();
    qsubs.set(sub.queue, addMember(qsubs.get(sub.queue) ?? null, sub));
  }

  /** Returns false when `sub` was not here. */
  remove(sub: Subscription<C>): boolean {
    this.#result = null;
    if (sub.queue === "") {
      const m = removeMember(this.psubs, sub);
      if (m === undefined) return false;
      this.psubs = m;
      return true;
    }
    const qsubs = this.qsubs;
    if (qsubs === null) return false;
    const m = removeMember(qsubs.get(sub.queue) ?? null, sub);
    if (m === undefined) return false;
    if (m === null) qsubs.delete(sub.queue);
    else qsubs.set(sub.queue, m);
    if (qsubs.size === 0) this.qsubs = null;
    return true;
  }
}

/** Nodes by the hash of their key; a bucket holds one node, or an array on a collision. */
class NodeMap<C extends Subscriber> {
  #map = new Map<number, Node<C> | Node<C>[]>();
  size = 0;

  /** The node whose key is s[start, end), whose hash is h. */
  get(s: string, start: number, end: number, h: number): Node<C> | undefined {
    const b = this.#map.get(h);
    if (b === undefined) return undefined;
    if (!Array.isArray(b)) return sameKey(b.key, s, start, end) ? b : undefined;
    for (const n of b) if (sameKey(n.key, s, start, end)) return n;
    return undefined;
  }

  /** The node whose key is the ASCII bytes buf[start, end), whose hash is h. */
  getBytes(buf: Uint8Array, start: number, end: number, h: number): Node<C> | undefined {
    const b = this.#map.get(h);
    if (b === undefined) return undefined;
    if (!Array.isArray(b)) return sameBytes(b.key, buf, start, end) ? b : undefined;
    for (const n of b) if (sameBytes(n.key, buf, start, end)) return n;
    return undefined;
  }

  /** The node for s[start, end), made if missing. */
  make(s: string, start: number, end: number, h: number): Node<C> {
    const found = this.get(s, start, end, h);
    if (found) return found;
    const node = new Node<C>(s.substring(start, end));
    const b = this.#map.get(h);
    if (b === undefined) this.#map.set(h, node);
    else if (Array.isArray(b)) b.push(node);
    else this.#map.set(h, [b, node]);
    this.size++;
    return node;
  }

  delete(node: Node<C>): void {
    const h = subjectHash(node.key);
    const b = this.#map.get(h);
    if (b === node) {
      this.#map.delete(h);
    } else if (Array.isArray(b)) {
      const i = b.indexOf(node);
      if (i < 0) return;
      b.splice(i, 1);
      if (b.length === 1) this.#map.set(h, b[0]);
    } else {
      return;
    }
    this.size--;
  }

  *values(): IterableIterator<Node<C>> {
    for (const b of this.#map.values()) {
      if (Array.isArray(b)) yield* b;
      else yield b;
    }
  }
}

/** One level of the wildcard tree; its collections are made on first use. */
class Level<C extends Subscriber> {
  nodes: NodeMap<C> | null = null;
  pwc: Node<C> | null = null;
  fwc: Node<C> | null = null;

  get size(): number {
    return (this.nodes?.size ?? 0) + (this.pwc ? 1 : 0) + (this.fwc ? 1 : 0);
  }
}

/**
 * Results cached per published subject, at most this many; when full, the oldest quarter goes
 * at once (as nats-server prunes its cache). Evicting one entry per insert would walk the Map's
 * deleted slots from its start every time (measured at ~370 ns per publish to a new subject).
 * Keyed by subjectHash; an entry whose subject differs is simply replaced.
 */
const CACHE_MAX = 1024;
const CACHE_PRUNE = CACHE_MAX / 4;
/**
 * When fewer than 1 in CACHE_LOW_HITS lookups of the last CACHE_WINDOW hit (a new subject per
 * message: telemetry per device, an inbox per request), only every CACHE_SAMPLE-th miss is
 * cached. Caching them all would keep 1024 results alive long enough for the young generation
 * to copy and promote each one, only to evict it unread: that GC work was a third of the time
 * of such a load. Sampling still lets a subject that comes back often enough in within a few
 * publishes.
 */
const CACHE_WINDOW = 1024;
const CACHE_LOW_HITS = 4;
const CACHE_SAMPLE = 16;

/** What matchBytes found; see there. */
export interface ByteMatch<C extends Subscriber> {
  subject: string | null;
  result: SublistResult<C>;
}

interface CacheEntry<C extends Subscriber> {
  subject: string;
  result: SublistResult<C>;
}

/** The result for a subject nobody is interested in, shared (results are never modified). */
const EMPTY_RESULT: SublistResult<never> = Object.freeze({
  psubs: Object.freeze([]) as unknown as never[],
  qsubs: Object.freeze([]) as unknown as never[][],
});

/** Whether a subject has a `*` or `>` token (a wildcard subscription). */
function hasWildcard(subject: string): boolean {
  let start = 0;
  while (true) {
    const dot = subject.indexOf(".", start);
    const end = dot < 0 ? subject.length : dot;
    if (end - start === 1) {
      const c = subject.charCodeAt(start);
      if (c === 42 || c === 62) return true;
    }
    if (dot < 0) return false;
    start = dot + 1;
  }
}

/** A subject with an empty token ("a..b", ".a", "a."): it matches nothing. */
function hasEmptyToken(subject: string): boolean {
  return subject === "" || subject.charCodeAt(0) === 46 ||
    subject.charCodeAt(subject.length - 1) === 46 || subject.includes("..");
}

export class Sublist<C extends Subscriber = Subscriber> {
  /** Wildcard subscriptions, by token. */
  #root = new Level<C>();
  #wildcards = 0;
  /** Literal subscriptions, by subject. */
  #literal = new NodeMap<C>();
  #cache = new Map<number, CacheEntry<C>>();
  #count = 0;
  /** Bumped on every change so per-connection caches above this one know to re-resolve. */
  generation = 0;
  inserts = 0;
  removes = 0;
  matches = 0;
  cacheHits = 0;
  /** Lookups and hits in the current window, and whether misses are being sampled. */
  #windowLookups = 0;
  #windowHits = 0;
  #sampling = false;
  #misses = 0;

  get count(): number {
    return this.#count;
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  insert(sub: Subscription<C>): void {
    const subject = sub.subject;
    if (hasWildcard(subject)) {
      this.#nodeFor(subject).add(sub);
      this.#wildcards++;
    } else {
      this.#literal.make(subject, 0, subject.length, subjectHash(subject)).add(sub);
    }
    this.#count++;
    this.inserts++;
    this.#invalidate(subject);
  }

  /** The wildcard tree's node for a subject, made as needed. */
  #nodeFor(subject: string): Node<C> {
    let level = this.#root;
    let start = 0;
    while (true) {
      const dot = subject.indexOf(".", start);
      const end = dot < 0 ? subject.length : dot;
      const c = end - start === 1 ? subject.charCodeAt(start) : 0;
      const node = c === 42
        ? level.pwc ??= new Node("*")
        : c === 62
        ? level.fwc ??= new Node(">")
        : (level.nodes ??= new NodeMap()).make(
          subject,
          start,
          end,
          subjectHash(subject, start, end),
        );
      if (dot < 0) return node;
      level = node.next ??= new Level();
      start = dot + 1;
    }
  }

  /** Returns false when the subscription was not in the tree. */
  remove(sub: Subscription<C>): boolean {
    const subject = sub.subject;
    if (!hasWildcard(subject)) {
      const node = this.#literal.get(subject, 0, subject.length, subjectHash(subject));
      if (!node || !node.remove(sub)) return false;
      if (!node.hasSubs) this.#literal.delete(node);
    } else if (this.#removeWildcard(sub)) {
      this.#wildcards--;
    } else {
      return false;
    }
    this.#count--;
    this.removes++;
    this.#invalidate(subject);
    return true;
  }

  #removeWildcard(sub: Subscription<C>): boolean {
    const tokens = sub.subject.split(".");
    const path: { level: Level<C>; node: Node<C> }[] = [];
    let level: Level<C> | null = this.#root;
    let node: Node<C> | null = null;
    for (const t of tokens) {
      if (!level) return false;
      node = t === "*"
        ? level.pwc
        : t === ">"
        ? level.fwc
        : level.nodes?.get(t, 0, t.length, subjectHash(t)) ?? null;
      if (!node) return false;
      path.push({ level, node });
      level = node.next;
    }
    if (!node || !node.remove(sub)) return false;
    // Prune empty nodes bottom-up so the tree does not grow with subject churn.
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i];
      if (!p.node.isEmpty()) break;
      if (p.node === p.level.pwc) p.level.pwc = null;
      else if (p.node === p.level.fwc) p.level.fwc = null;
      else {
        p.level.nodes!.delete(p.node);
        if (p.level.nodes!.size === 0) p.level.nodes = null;
      }
    }
    return true;
  }

  match(subject: string): SublistResult<C> {
    this.matches++;
    if (++this.#windowLookups === CACHE_WINDOW) this.#endWindow();
    const h = subjectHash(subject);
    const e = this.#cache.get(h);
    if (e !== undefined && e.subject === subject) {
      this.cacheHits++;
      this.#windowHits++;
      return e.result;
    }
    const result = this.#count === 0 ? EMPTY_RESULT : this.#resolve(subject, h);
    if (!this.#sampling || ++this.#misses % CACHE_SAMPLE === 0) this.#store(e, h, subject, result);
    return result;
  }

  /**
   * match() for a subject still in the bytes it arrived in: buf[start, end), whose FNV-1a hash
   * (as subjectHash computes it, which the parser computes while scanning) is h. An ASCII
   * subject is looked up without being decoded; it is decoded only to be cached, and the string
   * is returned then (else `subject` is null). The returned object is reused by the next call.
   * `cache` false: a subject known to be unique (a JetStream ack, one per message) is neither
   * looked up in the cache nor stored, where it would only evict subjects that do come back;
   * nor does it count towards the cache's hit rate.
   */
  matchBytes(
    buf: Uint8Array,
    start: number,
    end: number,
    h: number,
    cache = true,
  ): ByteMatch<C> {
    const out = this.#byteMatch;
    this.matches++;
    if (!cache) {
      out.subject = null;
      out.result = this.#uncached(buf, start, end, h);
      return out;
    }
    if (++this.#windowLookups === CACHE_WINDOW) this.#endWindow();
    const e = this.#cache.get(h);
    if (e !== undefined && sameBytes(e.subject, buf, start, end)) {
      this.cacheHits++;
      this.#windowHits++;
      out.subject = e.subject;
      out.result = e.result;
      return out;
    }
    const kind = scanSubject(buf, start, end);
    if (kind === NOT_ASCII) {
      const subject = SUBJECT_DECODER.decode(buf.subarray(start, end));
      this.matches--;
      out.result = this.match(subject);
      out.subject = subject;
      return out;
    }
    const result = this.#count === 0 || kind === EMPTY_TOKEN
      ? EMPTY_RESULT
      : this.#resolveBytes(buf, start, end, h);
    out.result = result;
    if (this.#sampling && ++this.#misses % CACHE_SAMPLE !== 0) {
      out.subject = null;
      return out;
    }
    const subject = SUBJECT_DECODER.decode(buf.subarray(start, end));
    this.#store(e, h, subject, result);
    out.subject = subject;
    return out;
  }

  #byteMatch: ByteMatch<C> = { subject: null, result: EMPTY_RESULT };

  /** The result for buf[start, end), not cached: by its bytes when ASCII, else decoded. */
  #uncached(buf: Uint8Array, start: number, end: number, h: number): SublistResult<C> {
    if (this.#count === 0) return EMPTY_RESULT;
    const kind = scanSubject(buf, start, end);
    if (kind === EMPTY_TOKEN) return EMPTY_RESULT;
    if (kind === ASCII) return this.#resolveBytes(buf, start, end, h);
    const subject = SUBJECT_DECODER.decode(buf.subarray(start, end));
    return this.#resolve(subject, subjectHash(subject));
  }

  #store(e: CacheEntry<C> | undefined, h: number, subject: string, result: SublistResult<C>) {
    if (e !== undefined) {
      // Another subject with the same hash: this one takes the slot.
      e.subject = subject;
      e.result = result;
      return;
    }
    const cache = this.#cache;
    if (cache.size >= CACHE_MAX) {
      // Map keeps insertion order: the first keys are the oldest.
      let n = 0;
      for (const key of cache.keys()) {
        cache.delete(key);
        if (++n >= CACHE_PRUNE) break;
      }
    }
    cache.set(h, { subject, result });
  }

  /** #resolve for an ASCII subject in bytes, with no empty token. */
  #resolveBytes(buf: Uint8Array, start: number, end: number, h: number): SublistResult<C> {
    const literal = this.#literal.size === 0
      ? undefined
      : this.#literal.getBytes(buf, start, end, h);
    if (this.#wildcards === 0) return literal === undefined ? EMPTY_RESULT : literalResult(literal);
    const nodes = MATCHED as Node<C>[];
    collectMatchesBytes(this.#root, buf, start, end, nodes);
    if (literal !== undefined) nodes.push(literal);
    return resultOf(nodes, literal);
  }

  #endWindow(): void {
    this.#sampling = this.#windowHits * CACHE_LOW_HITS < CACHE_WINDOW;
    this.#windowLookups = 0;
    this.#windowHits = 0;
  }

  /**
   * Wildcard matches first, then the literal ones: the order a walk of one tree holding both
   * gives (the exact node is always reached last).
   */
  #resolve(subject: string, h: number): SublistResult<C> {
    const literal = this.#literal.size === 0
      ? undefined
      : this.#literal.get(subject, 0, subject.length, h);
    if (this.#wildcards === 0) {
      if (literal === undefined || hasEmptyToken(subject)) return EMPTY_RESULT;
      return literalResult(literal);
    }
    if (hasEmptyToken(subject)) return EMPTY_RESULT;
    const nodes = MATCHED as Node<C>[];
    collectMatches(this.#root, subject, 0, nodes);
    if (literal !== undefined) nodes.push(literal);
    return resultOf(nodes, literal);
  }

  /** Fanout over cached results, for /subsz (as nats-server's Sublist.Stats()). */
  cacheFanout(): { entries: number; total: number; max: number } {
    let total = 0;
    let max = 0;
    for (const { result: r } of this.#cache.values()) {
      const l = r.psubs.length + r.qsubs.length;
      total += l;
      if (l > max) max = l;
    }
    return { entries: this.#cache.size, total, max };
  }

  /** All subscriptions, for monitoring (/subsz?subs=1) and route interest exchange. */
  all(): Subscription<C>[] {
    const out: Subscription<C>[] = [];
    for (const node of this.#literal.values()) collectNode(node, out);
    collect(this.#root, out);
    return out;
  }

  #invalidate(subject: string): void {
    this.generation++;
    const cache = this.#cache;
    if (cache.size === 0) return;
    if (!hasWildcard(subject)) {
      const h = subjectHash(subject);
      if (cache.get(h)?.subject === subject) cache.delete(h);
      return;
    }
    for (const [h, e] of cache) {
      if (subjectMatches(subject, e.subject)) cache.delete(h);
    }
  }
}

/**
 * The nodes one match reaches, in walk order. Matching is synchronous and never re-entered, so
 * one array serves every match.
 */
const MATCHED: Node<Subscriber>[] = [];

/** The result of the nodes a match reached (and empties the list). */
function resultOf<C extends Subscriber>(
  nodes: Node<C>[],
  literal: Node<C> | undefined,
): SublistResult<C> {
  const n = nodes.length;
  let result: SublistResult<C>;
  if (n === 0) result = EMPTY_RESULT;
  // Tree nodes keep their result; a literal node does not (one per subject would add up).
  else if (n === 1) result = nodes[0] === literal ? literalResult(literal) : nodes[0].result();
  else result = mergeResults(nodes);
  nodes.length = 0;
  return result;
}

/** A node's members as a new result. */
function literalResult<C extends Subscriber>(node: Node<C>): SublistResult<C> {
  const psubs: Subscription<C>[] = [];
  if (node.psubs !== null) pushMembers(psubs, node.psubs);
  const qsubs: Subscription<C>[][] = [];
  if (node.qsubs !== null) {
    for (const m of node.qsubs.values()) {
      const q: Subscription<C>[] = [];
      pushMembers(q, m);
      qsubs.push(q);
    }
  }
  return { psubs, qsubs };
}

/** The members of several nodes as one result: plain ones in order, queue groups by name. */
function mergeResults<C extends Subscriber>(nodes: Node<C>[]): SublistResult<C> {
  let psubs: Subscription<C>[] | null = null;
  let queues: Map<string, Subscription<C>[]> | null = null;
  for (const node of nodes) {
    if (node.psubs !== null) pushMembers(psubs ??= [], node.psubs);
    if (node.qsubs === null) continue;
    queues ??= new Map();
    for (const [name, members] of node.qsubs) {
      let q = queues.get(name);
      if (!q) {
        q = [];
        queues.set(name, q);
      }
      pushMembers(q, members);
    }
  }
  if (psubs === null && queues === null) return EMPTY_RESULT;
  const qsubs: Subscription<C>[][] = [];
  if (queues !== null) { for (const q of queues.values()) qsubs.push(q); }
  return { psubs: psubs ?? [], qsubs };
}

/**
 * Walks the wildcard tree over the tokens of `subject`, found by position (no token is cut out
 * as a string), from the token starting at `start`; adds every node with members it reaches.
 */
function collectMatches<C extends Subscriber>(
  level: Level<C>,
  subject: string,
  start: number,
  out: Node<C>[],
): void {
  const dot = subject.indexOf(".", start);
  const last = dot < 0;
  if (level.fwc !== null && level.fwc.hasSubs) out.push(level.fwc);
  if (level.pwc !== null) {
    if (last) {
      if (level.pwc.hasSubs) out.push(level.pwc);
    } else if (level.pwc.next !== null) collectMatches(level.pwc.next, subject, dot + 1, out);
  }
  // Literal tokens of wildcard subscriptions: "a" in "a.*", "b" in "*.b".
  if (level.nodes === null) return;
  const end = last ? subject.length : dot;
  const node = level.nodes.get(subject, start, end, subjectHash(subject, start, end));
  if (node !== undefined) {
    if (last) {
      if (node.hasSubs) out.push(node);
    } else if (node.next !== null) collectMatches(node.next, subject, dot + 1, out);
  }
}

/** collectMatches over the ASCII bytes buf[pos, end) of a subject, tokens hashed as they go. */
function collectMatchesBytes<C extends Subscriber>(
  level: Level<C>,
  buf: Uint8Array,
  pos: number,
  end: number,
  out: Node<C>[],
): void {
  let dot = pos;
  let h = 0x811c9dc5 | 0;
  while (dot < end && buf[dot] !== 46) h = Math.imul(h ^ buf[dot++], 0x01000193);
  const last = dot === end;
  if (level.fwc !== null && level.fwc.hasSubs) out.push(level.fwc);
  if (level.pwc !== null) {
    if (last) {
      if (level.pwc.hasSubs) out.push(level.pwc);
    } else if (level.pwc.next !== null) collectMatchesBytes(level.pwc.next, buf, dot + 1, end, out);
  }
  if (level.nodes === null) return;
  const node = level.nodes.getBytes(buf, pos, dot, h);
  if (node !== undefined) {
    if (last) {
      if (node.hasSubs) out.push(node);
    } else if (node.next !== null) collectMatchesBytes(node.next, buf, dot + 1, end, out);
  }
}

function collectNode<C extends Subscriber>(n: Node<C>, out: Subscription<C>[]): void {
  if (n.psubs) pushMembers(out, n.psubs);
  if (n.qsubs) { for (const q of n.qsubs.values()) pushMembers(out, q); }
}

function collect<C extends Subscriber>(level: Level<C>, out: Subscription<C>[]): void {
  const visit = (n: Node<C> | null) => {
    if (!n) return;
    collectNode(n, out);
    if (n.next) collect(n.next, out);
  };
  if (level.nodes) { for (const n of level.nodes.values()) visit(n); }
  visit(level.pwc);
  visit(level.fwc);
}

/** The bytes buf[start, end) as a plain array (see Subscription.sidBytes). */
export function bytesOf(buf: Uint8Array, start = 0, end = buf.length): number[] {
  // Pushed, not preallocated: a preallocated array is "holey", and every read checks for holes.
  const out: number[] = [];
  for (let i = start; i < end; i++) out.push(buf[i]);
  return out;
}

/**
 * Does the (possibly wildcard) `filter` match the literal `subject`? Tokens are compared in
 * place (as `split(".")` would cut them, empty ones included), without cutting strings.
 */
export function subjectMatches(filter: string, subject: string): boolean {
  let fi = 0;
  // Start of the subject's token at the same position; -1 once the subject has no more.
  let si = 0;
  while (true) {
    const fdot = filter.indexOf(".", fi);
    const fe = fdot < 0 ? filter.length : fdot;
    const flen = fe - fi;
    const fc = flen === 1 ? filter.charCodeAt(fi) : 0;
    if (fc === 62) return si >= 0; // ">": the subject has a token here
    if (si < 0) return false;
    const sdot = subject.indexOf(".", si);
    const se = sdot < 0 ? subject.length : sdot;
    if (fc !== 42) {
      if (flen !== se - si) return false;
      for (let k = 0; k < flen; k++) {
        if (filter.charCodeAt(fi + k) !== subject.charCodeAt(si + k)) return false;
      }
    }
    si = sdot < 0 ? -1 : sdot + 1;
    if (fdot < 0) return si < 0;
    fi = fdot + 1;
  }
}

/**
 * A subject a client may subscribe to: non-empty tokens, no whitespace, `>` only as the last
 * token. Tokens such as `a*` are literal, as in nats-server's IsValidSubject.
 */
export function isValidSubject(subject: string): boolean {
  if (subject === "") return false;
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.length === 0) return false;
    if (t === ">" && i !== tokens.length - 1) return false;
    if (/[ \t\n\r\f]/.test(t)) return false;
  }
  return true;
}

/** A subject one may publish to (pedantic mode): non-empty tokens and no wildcard tokens. */
export function isValidLiteralSubject(subject: string): boolean {
  for (const t of subject.split(".")) {
    if (t.length === 0 || t === "*" || t === ">") return false;
  }
  return true;
}
