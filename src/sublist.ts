/**
 * The subject interest tree: subscriptions stored by token with `*` and `>` nodes, matched per
 * published subject. Results are cached per literal subject because the same few subjects are
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
  /** `sid` as bytes, written straight into every MSG line for this subscription. */
  sidBytes: Uint8Array;
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

class Level<C extends Subscriber> {
  nodes = new Map<string, Node<C>>();
  pwc: Node<C> | null = null;
  fwc: Node<C> | null = null;

  get size(): number {
    return this.nodes.size + (this.pwc ? 1 : 0) + (this.fwc ? 1 : 0);
  }
}

class Node<C extends Subscriber> {
  next: Level<C> | null = null;
  psubs = new Set<Subscription<C>>();
  qsubs = new Map<string, Set<Subscription<C>>>();
  /** The result of a subject matched by this node alone; rebuilt after a change here. */
  solo: SublistResult<C> | null = null;

  isEmpty(): boolean {
    return this.psubs.size === 0 && this.qsubs.size === 0 && (!this.next || this.next.size === 0);
  }
}

const CACHE_MAX = 1024;
const EMPTY_RESULT: SublistResult<never> = { psubs: [], qsubs: [] };

export class Sublist<C extends Subscriber = Subscriber> {
  #root = new Level<C>();
  #cache = new Map<string, SublistResult<C>>();
  /**
   * Results that do not depend on the last token (no subscription has a literal there: a
   * reply inbox `_INBOX.x.<n>` under `_INBOX.x.*`), by the subject without its last token.
   * Unique subjects of that shape are answered from here instead of each filling the cache.
   * Cleared on any subscription change.
   */
  #tailCache = new Map<string, SublistResult<C>>();
  #count = 0;
  /** Bumped on every change so per-connection caches above this one know to re-resolve. */
  generation = 0;
  inserts = 0;
  removes = 0;
  matches = 0;
  cacheHits = 0;

  get count(): number {
    return this.#count;
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  insert(sub: Subscription<C>): void {
    const tokens = sub.subject.split(".");
    let level = this.#root;
    let node: Node<C> | null = null;
    for (const t of tokens) {
      if (t === "*") {
        node = level.pwc ??= new Node();
      } else if (t === ">") {
        node = level.fwc ??= new Node();
      } else {
        node = level.nodes.get(t) ?? null;
        if (!node) {
          node = new Node();
          level.nodes.set(t, node);
        }
      }
      level = node.next ??= new Level();
    }
    if (!node) return;
    node.solo = null;
    if (sub.queue === "") {
      node.psubs.add(sub);
    } else {
      let q = node.qsubs.get(sub.queue);
      if (!q) {
        q = new Set();
        node.qsubs.set(sub.queue, q);
      }
      q.add(sub);
    }
    this.#count++;
    this.inserts++;
    this.#invalidate(sub.subject);
  }

  /** Returns false when the subscription was not in the tree. */
  remove(sub: Subscription<C>): boolean {
    const tokens = sub.subject.split(".");
    const path: { level: Level<C>; token: string; node: Node<C> }[] = [];
    let level: Level<C> | null = this.#root;
    let node: Node<C> | null = null;
    for (const t of tokens) {
      if (!level) return false;
      node = t === "*" ? level.pwc : t === ">" ? level.fwc : level.nodes.get(t) ?? null;
      if (!node) return false;
      path.push({ level, token: t, node });
      level = node.next;
    }
    if (!node) return false;
    node.solo = null;
    let removed: boolean;
    if (sub.queue === "") {
      removed = node.psubs.delete(sub);
    } else {
      const q = node.qsubs.get(sub.queue);
      removed = q?.delete(sub) ?? false;
      if (q && q.size === 0) node.qsubs.delete(sub.queue);
    }
    if (!removed) return false;
    // Prune empty nodes bottom-up so the tree does not grow with subject churn.
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i];
      if (!p.node.isEmpty()) break;
      if (p.token === "*") p.level.pwc = null;
      else if (p.token === ">") p.level.fwc = null;
      else p.level.nodes.delete(p.token);
    }
    this.#count--;
    this.removes++;
    this.#invalidate(sub.subject);
    return true;
  }

  match(subject: string): SublistResult<C> {
    this.matches++;
    // JetStream ack subjects are unique per message: never cached, so not looked up either.
    const unique = subject.startsWith("$JS.ACK.");
    if (!unique) {
      const cached = this.#cache.get(subject);
      if (cached) {
        this.cacheHits++;
        return cached;
      }
    }
    const n = tokenEnds(subject);
    if (n === 0) return EMPTY_RESULT;
    const head = !unique && n > 1 && this.#tailCache.size > 0 ? subject.slice(0, ENDS[n - 2]) : "";
    if (head !== "") {
      const r = this.#tailCache.get(head);
      if (r !== undefined) {
        this.cacheHits++;
        return r;
      }
    }
    const hits = HITS as Node<C>[];
    LAST_LOOKED_UP = false;
    matchLevel(this.#root, subject, n, 0, hits);
    let result: SublistResult<C>;
    if (hits.length === 0) result = EMPTY_RESULT;
    else if (hits.length === 1) {
      // Matched by one node (a consumer's ack subscription, an inbox wildcard): its own result.
      const node = hits[0];
      result = node.solo ??= resultOf(hits);
    } else result = resultOf(hits);
    hits.length = 0;
    // Caching a unique subject would only evict others.
    if (unique) return result;
    if (!LAST_LOOKED_UP && n > 1) {
      if (this.#tailCache.size >= CACHE_MAX) this.#tailCache.clear();
      this.#tailCache.set(head !== "" ? head : subject.slice(0, ENDS[n - 2]), result);
      return result;
    }
    if (this.#cache.size >= CACHE_MAX) this.#evict();
    this.#cache.set(subject, result);
    return result;
  }

  /**
   * Drops the oldest quarter of the cache (Map keeps insertion order). One entry at a time
   * would cost a scan per miss: a Map keeps deleted entries as holes at its front until it is
   * rehashed, and finding the first live key walks them. Unique subjects (reply inboxes,
   * JetStream ack subjects) miss on every message, so that scan was paid per message.
   */
  #evict(): void {
    let n = CACHE_MAX >> 2;
    for (const key of this.#cache.keys()) {
      this.#cache.delete(key);
      if (--n === 0) break;
    }
  }

  /** Fanout over cached results, for /subsz (as nats-server's Sublist.Stats()). */
  cacheFanout(): { entries: number; total: number; max: number } {
    let total = 0;
    let max = 0;
    for (const r of this.#cache.values()) {
      const l = r.psubs.length + r.qsubs.length;
      total += l;
      if (l > max) max = l;
    }
    return { entries: this.#cache.size, total, max };
  }

  /** All subscriptions, for monitoring (/subsz?subs=1) and route interest exchange. */
  all(): Subscription<C>[] {
    const out: Subscription<C>[] = [];
    collect(this.#root, out);
    return out;
  }

  #invalidate(subject: string): void {
    this.generation++;
    if (this.#tailCache.size > 0) this.#tailCache.clear();
    if (this.#cache.size === 0) return;
    if (!subject.includes("*") && !subject.includes(">")) {
      this.#cache.delete(subject);
      return;
    }
    for (const key of this.#cache.keys()) {
      if (subjectMatches(subject, key)) this.#cache.delete(key);
    }
  }
}

/** The subscriptions of the matching nodes, queue groups of one name merged across nodes. */
function resultOf<C extends Subscriber>(hits: Node<C>[]): SublistResult<C> {
  const result: SublistResult<C> = { psubs: [], qsubs: [] };
  let queues: Map<string, Subscription<C>[]> | null = null;
  for (let i = 0; i < hits.length; i++) {
    const node = hits[i];
    for (const s of node.psubs) result.psubs.push(s);
    if (node.qsubs.size === 0) continue;
    queues ??= new Map();
    for (const [name, set] of node.qsubs) {
      let q = queues.get(name);
      if (!q) {
        q = [];
        queues.set(name, q);
      }
      for (const s of set) q.push(s);
    }
  }
  if (queues !== null) { for (const q of queues.values()) result.qsubs.push(q); }
  return result;
}

/** Levels with at most this many literal nodes are searched in place. */
const SMALL_LEVEL = 8;

/**
 * A literal node of a small level, found by comparing its keys with the token where it lies
 * in the subject: cutting the token out costs more than comparing a few short keys.
 */
function findSmall<C extends Subscriber>(
  nodes: Map<string, Node<C>>,
  subject: string,
  i: number,
): Node<C> | undefined {
  const start = i === 0 ? 0 : ENDS[i - 1] + 1;
  const len = ENDS[i] - start;
  for (const [k, node] of nodes) {
    if (k.length !== len) continue;
    let j = 0;
    while (j < len && k.charCodeAt(j) === subject.charCodeAt(start + j)) j++;
    if (j === len) return node;
  }
  return undefined;
}

/** Token i of the subject last passed to tokenEnds. */
function tokenAt(subject: string, i: number): string {
  return subject.slice(i === 0 ? 0 : ENDS[i - 1] + 1, ENDS[i]);
}

/** Collects the nodes whose subscriptions match (in result order: `>`, `*`, literal). */
function matchLevel<C extends Subscriber>(
  level: Level<C>,
  subject: string,
  n: number,
  i: number,
  hits: Node<C>[],
): void {
  const last = i === n - 1;
  if (level.fwc) hits.push(level.fwc);
  if (level.pwc) {
    if (last) hits.push(level.pwc);
    else if (level.pwc.next) matchLevel(level.pwc.next, subject, n, i + 1, hits);
  }
  // A level with only wildcards is common (`_INBOX.x.*`, `$JS.ACK.S.C.*.*.*.*.*`): its token,
  // often a unique number, is then never cut out of the subject (see tokenEnds).
  const nodes = level.nodes;
  if (nodes.size === 0) return;
  if (last) LAST_LOOKED_UP = true;
  const node = nodes.size <= SMALL_LEVEL
    ? findSmall(nodes, subject, i)
    : nodes.get(tokenAt(subject, i));
  if (node) {
    if (last) hits.push(node);
    else if (node.next) matchLevel(node.next, subject, n, i + 1, hits);
  }
}

/**
 * Matching is synchronous and never re-entered, so it works in module-level scratch: the end
 * offset of each token, and the matching nodes.
 */
const ENDS: number[] = [];
/** Whether a match looked the last token up among literal nodes (its value mattered). */
let LAST_LOOKED_UP = false;
// deno-lint-ignore no-explicit-any
const HITS: Node<any>[] = [];

/**
 * Records where the subject's tokens end (in ENDS) and returns how many there are, 0 when one
 * is empty. Tokens are cut out only where a level has literal nodes to look them up in. Not
 * `split`: V8 (Deno 2.9) makes the split of a subject that has been used as a Map key (the
 * cache lookup) slow, growing with the number of distinct subjects seen, and unique subjects
 * (reply inboxes, JetStream ack subjects with their numeric tokens) arrive on every message;
 * measured at several µs per match.
 */
function tokenEnds(subject: string): number {
  let start = 0;
  for (let i = 0;; i++) {
    const dot = subject.indexOf(".", start);
    const end = dot < 0 ? subject.length : dot;
    if (end === start) return 0;
    ENDS[i] = end;
    if (dot < 0) return i + 1;
    start = dot + 1;
  }
}

function collect<C extends Subscriber>(level: Level<C>, out: Subscription<C>[]): void {
  const visit = (n: Node<C> | null) => {
    if (!n) return;
    for (const s of n.psubs) out.push(s);
    for (const q of n.qsubs.values()) for (const s of q) out.push(s);
    if (n.next) collect(n.next, out);
  };
  for (const n of level.nodes.values()) visit(n);
  visit(level.pwc);
  visit(level.fwc);
}

/** Does the (possibly wildcard) `filter` match the literal `subject`? */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== "*" && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
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
