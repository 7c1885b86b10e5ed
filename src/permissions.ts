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

export function compilePermissions(p: Permissions | undefined): PermissionChecker | null {
  if (!p || (!p.publish && !p.subscribe && !p.response)) return null;
  const pub = new PublishRule(p.publish);
  const sub = new SubscribeRule(p.subscribe);
  return {
    canPublish: (subject) => pub.allows(subject),
    canSubscribe: (subject, queue) => sub.allows(subject, queue),
    response: p.response ?? null,
  };
}
