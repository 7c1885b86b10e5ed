/**
 * Permissions of a leafnode connection, read the way nats-server reads them on a LEAF client:
 *
 * - `canPublish(subject)`: may this server send a message on `subject` over the connection (and
 *   accept the other side's interest in it)? The publish rule.
 * - `canSubscribe(subject)`: may this server tell the other side it wants `subject`? The
 *   subscribe rule; a wildcard interest passes when it could match an allowed subject
 *   (messages are pruned by the publish rule on the way out), as nats-server's leaf rule says.
 *
 * On the hub the user's permissions are swapped (what the user may subscribe to is what the hub
 * may send), on the soliciting side they come from the hub's INFO; deny lists (deny_imports,
 * deny_exports, the hub's JetStream denies) are merged in.
 */

import type { Permissions, SubjectPermission } from "../options.ts";
import { subjectMatches } from "../sublist.ts";

const CACHE_MAX = 512;

/** Does `pattern` match `subject`, wildcard tokens of the subject taken as plain tokens? */
const matches = (pattern: string, subject: string) =>
  pattern === subject || subjectMatches(pattern, subject);

/** Entries naming a queue group ("subject queue") never decide a leafnode's subject checks. */
const plain = (list: string[] | undefined): string[] | null =>
  list === undefined ? null : list.filter((s) => !/\s/.test(s.trim())).map((s) => s.trim());

function isWildcard(subject: string): boolean {
  return subject.split(".").some((t) => t === "*" || t === ">");
}

class Rule {
  allow: string[] | null;
  deny: string[];

  constructor(p: SubjectPermission | undefined, emptyAllowIsNone: boolean) {
    const allow = plain(p?.allow);
    this.allow = allow !== null && allow.length === 0 && !emptyAllowIsNone ? null : allow;
    this.deny = plain(p?.deny) ?? [];
  }

  get empty(): boolean {
    return this.allow === null && this.deny.length === 0;
  }
}

export class LeafPermissions {
  #pub: Rule;
  #sub: Rule;
  #cache = new Map<string, boolean>();
  /** What was given, for the INFO the hub sends back (import/export). */
  readonly source: Permissions;

  /**
   * `swap`: the hub's reading of a user's permissions. An empty publish allow list allows
   * nothing while an empty subscribe allow list is no list, and that stays with each list when
   * the two change places, as in nats-server.
   */
  constructor(p: Permissions, swap = false) {
    this.source = p;
    this.#pub = swap ? new Rule(p.subscribe, false) : new Rule(p.publish, true);
    this.#sub = swap ? new Rule(p.publish, true) : new Rule(p.subscribe, false);
  }

  get empty(): boolean {
    return this.#pub.empty && this.#sub.empty;
  }

  /** Adds subjects to the deny list of one or both rules (nats-server's mergeDenyPermissions). */
  mergeDeny(which: "pub" | "sub" | "both", subjects: string[]): void {
    const rules = which === "both"
      ? [this.#pub, this.#sub]
      : [which === "pub" ? this.#pub : this.#sub];
    for (const r of rules) {
      for (const s of subjects) if (!r.deny.includes(s)) r.deny.push(s);
    }
    this.#cache.clear();
  }

  canPublish(subject: string): boolean {
    const hit = this.#cache.get(subject);
    if (hit !== undefined) return hit;
    const r = this.#pub;
    const ok = (r.allow === null || r.allow.some((a) => matches(a, subject))) &&
      !r.deny.some((d) => matches(d, subject));
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(subject, ok);
    return ok;
  }

  canSubscribe(subject: string): boolean {
    const r = this.#sub;
    if (r.allow !== null) {
      const allowed = r.allow.some((a) => matches(a, subject)) ||
        (isWildcard(subject) && r.allow.some((a) => subjectMatches(subject, a)));
      if (!allowed) return false;
    }
    return !r.deny.some((d) => matches(d, subject));
  }
}
