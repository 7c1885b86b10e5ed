/**
 * Publish/subscribe permissions of a user, compiled once per user into a checker. Publish checks
 * run for every message, so their answers are cached per subject. Subscribe entries may name a
 * queue group ("subject queue"), which nats-server keeps apart from plain subject entries.
 */

import type { PermissionChecker } from "./client.ts";
import type { Permissions, SubjectPermission } from "./options.ts";
import { subjectMatches } from "./sublist.ts";

const CACHE_MAX = 512;

/**
 * Does `pattern` match `subject`, treating wildcard tokens in the subject as plain tokens? This is
 * how nats-server's Sublist.Match answers a permission check for a wildcard subscription.
 */
const matches = (pattern: string, subject: string) =>
  pattern === subject || subjectMatches(pattern, subject);

class PublishRule {
  #allow: string[] | null;
  #deny: string[];
  #cache = new Map<string, boolean>();

  /** A present but empty allow list allows nothing (what allow_responses relies on). */
  constructor(p: SubjectPermission | undefined) {
    this.#allow = p?.allow ?? null;
    this.#deny = p?.deny ?? [];
  }

  allows(subject: string): boolean {
    const hit = this.#cache.get(subject);
    if (hit !== undefined) return hit;
    const ok = (this.#allow === null || this.#allow.some((f) => matches(f, subject))) &&
      !this.#deny.some((f) => matches(f, subject));
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(subject, ok);
    return ok;
  }
}

interface SubEntry {
  subject: string;
  /** "" for a plain subject entry. */
  queue: string;
}

function entries(list: string[] | undefined): SubEntry[] {
  return (list ?? []).map((e) => {
    const [subject, queue = ""] = e.trim().split(/\s+/);
    return { subject, queue };
  });
}

/** A queue name against the queue entries that matched: literal, or as a wildcard pattern. */
function queueMatches(queue: string, qentries: SubEntry[]): boolean {
  return qentries.some((e) => e.queue === queue || matches(e.queue, queue));
}

class SubscribeRule {
  #allow: SubEntry[] | null;
  #deny: SubEntry[];

  /** An empty subscribe allow list counts as absent, as in nats-server. */
  constructor(p: SubjectPermission | undefined) {
    this.#allow = p?.allow && p.allow.length > 0 ? entries(p.allow) : null;
    this.#deny = entries(p?.deny);
  }

  /**
   * nats-server's canSubscribe: plain entries decide for the subject; when a queue is given and
   * queue entries match the subject, they decide instead (allow: the queue must be listed; deny:
   * it must not be).
   */
  allows(subject: string, queue: string): boolean {
    let allowed = true;
    if (this.#allow !== null) {
      const hits = this.#allow.filter((e) => matches(e.subject, subject));
      const qhits = hits.filter((e) => e.queue !== "");
      allowed = hits.length > qhits.length;
      if (queue !== "" && qhits.length > 0) allowed = queueMatches(queue, qhits);
    }
    if (allowed && this.#deny.length > 0) {
      const hits = this.#deny.filter((e) => matches(e.subject, subject));
      const qhits = hits.filter((e) => e.queue !== "");
      allowed = hits.length === qhits.length;
      if (queue !== "" && qhits.length > 0) allowed = !queueMatches(queue, qhits);
    }
    return allowed;
  }
}

/** nats-server's bound on its per-connection deny cache, and how much a full cache drops. */
const DENY_CACHE_MAX = 256;
const DENY_CACHE_PRUNE = 32;

/**
 * The subscribe deny list applied to deliveries (nats-server's msgDeny). A wildcard subscription
 * may be allowed while covering a denied subject (`foo.>` with `foo.secret` denied): once a
 * connection has such a subscription, every message delivered to it is checked against the deny
 * subjects. Connections without one never look here (one null check per delivery).
 */
export class DenyFilter {
  readonly #deny: string[];
  readonly #tokens: string[][];
  readonly #cache = new Map<string, boolean>();

  /** The entries as nats-server keeps them, "subject queue" ones included (they match nothing). */
  constructor(deny: string[]) {
    this.#deny = deny;
    this.#tokens = deny.map((d) => d.split("."));
  }

  denies(subject: string): boolean {
    const hit = this.#cache.get(subject);
    if (hit !== undefined) return hit;
    const denied = this.#deny.some((f) => matches(f, subject));
    this.#cache.set(subject, denied);
    if (this.#cache.size > DENY_CACHE_MAX) {
      let n = 0;
      for (const k of this.#cache.keys()) {
        this.#cache.delete(k);
        if (++n > DENY_CACHE_PRUNE) break;
      }
    }
    return denied;
  }

  /**
   * Whether a subscription on `subject` reaches a deny entry, as nats-server decides it: the
   * subject has a wildcard token and some entry is a subset of it (`foo.secret` of `foo.>` or
   * `foo.*`; but `*.secret` is not taken to be a subset of `foo.>`, as in nats-server).
   */
  reachedBy(subject: string): boolean {
    if (!hasWildcardToken(subject)) return false;
    const test = subject.split(".");
    return this.#tokens.some((tokens) => isSubsetMatch(tokens, test));
  }
}

function hasWildcardToken(subject: string): boolean {
  return subject.split(".").some((t) => t === "*" || t === ">");
}

/** Is the subject `tokens` (which may hold wildcards) within the subscription `test`? */
function isSubsetMatch(tokens: string[], test: string[]): boolean {
  for (let i = 0; i < test.length; i++) {
    if (i >= tokens.length) return false;
    const t2 = test[i];
    if (t2 === "") return false;
    if (t2 === ">") return true;
    const t1 = tokens[i];
    if (t1 === "" || t1 === ">") return false;
    if (t1 === "*") {
      if (t2 !== "*") return false;
      continue;
    }
    if (t2[0] !== "*" && t1 !== t2) return false;
  }
  return tokens.length === test.length;
}

export function compilePermissions(p: Permissions | undefined): PermissionChecker | null {
  if (!p || (!p.publish && !p.subscribe && !p.response)) return null;
  const pub = new PublishRule(p.publish);
  const sub = new SubscribeRule(p.subscribe);
  const deny = p.subscribe?.deny ?? [];
  const filter = deny.length > 0 ? new DenyFilter(deny) : null;
  return {
    canPublish: (subject) => pub.allows(subject),
    canSubscribe: (subject, queue) => sub.allows(subject, queue),
    denyFilterFor: (subject) => filter !== null && filter.reachedBy(subject) ? filter : null,
    response: p.response ?? null,
  };
}
