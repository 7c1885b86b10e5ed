/**
 * Publish/subscribe permissions of a user, compiled once per user into a checker with a small
 * per-checker cache, because the same few subjects are checked for every message.
 */

import type { PermissionChecker } from "./client.ts";
import type { Permissions, SubjectPermission } from "./options.ts";
import { subjectMatches } from "./sublist.ts";

const CACHE_MAX = 512;

class SubjectRule {
  #allow: string[] | null;
  #deny: string[];
  #cache = new Map<string, boolean>();

  /**
   * `emptyAllowDeniesAll`: nats-server treats a present but empty publish allow list as "allow
   * nothing" (what allow_responses relies on) but an empty subscribe allow list as absent.
   */
  constructor(p: SubjectPermission | undefined, emptyAllowDeniesAll: boolean) {
    const allow = p?.allow;
    this.#allow = allow && (allow.length > 0 || emptyAllowDeniesAll) ? allow : null;
    this.#deny = p?.deny ?? [];
  }

  /** A literal subject: allowed when some allow entry matches it and no deny entry does. */
  allowsSubject(subject: string): boolean {
    const hit = this.#cache.get(subject);
    if (hit !== undefined) return hit;
    const ok = (this.#allow === null || this.#allow.some((f) => subjectMatches(f, subject))) &&
      !this.#deny.some((f) => subjectMatches(f, subject));
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(subject, ok);
    return ok;
  }

  /**
   * A subscription filter (may hold wildcards): allowed when an allow entry covers it; denied
   * when a deny entry covers it, as nats-server checks subscriptions.
   */
  allowsFilter(filter: string): boolean {
    const covered = (f: string) => f === filter || subjectMatches(f, filter);
    if (this.#allow !== null && !this.#allow.some(covered)) return false;
    return !this.#deny.some(covered);
  }
}

export function compilePermissions(p: Permissions | undefined): PermissionChecker | null {
  if (!p || (!p.publish && !p.subscribe && !p.response)) return null;
  const pub = new SubjectRule(p.publish, true);
  const sub = new SubjectRule(p.subscribe, false);
  return {
    canPublish: (subject) => pub.allowsSubject(subject),
    canSubscribe: (subject, _queue) => sub.allowsFilter(subject),
    response: p.response ?? null,
  };
}
