/**
 * Interest between servers, the part routes (RS+/RS-, LS+/LS- over a route) and leafnodes
 * (LS+/LS-) share:
 *
 * - what a peer told us it wants: a subscription of the connection in an account's sublist per
 *   key, with its queue weight (the members behind the peer) and the leafnode cluster it came
 *   from (RemoteSubs);
 * - what we tell a peer: a count per key, of which a change is announced by the same rule on
 *   both kinds of connection (countInterest).
 *
 * What a change means beyond the connection (which routes and leafnodes hear of it) is each
 * kind's own rule: route.ts and leafnode/interest.ts.
 */

import type { Client, ClientSub } from "./client.ts";
import type { Account } from "./accounts/account.ts";
import { bytesOf } from "./sublist.ts";

const enc = new TextEncoder();

/** A peer's interest: its subscription, account, queue weight and origin leafnode cluster. */
export interface RemoteSub {
  sub: ClientSub;
  acc: Account;
  weight: number;
  origin: string;
}

/**
 * A connection's remote interest, by the key the peer names it with (its sid). `changed` passes
 * a change on: `delta` is the weight added (a new entry), the difference (a queue group's new
 * weight) or the weight taken away (removed).
 */
export class RemoteSubs extends Map<string, RemoteSub> {
  readonly #client: Client;
  readonly #changed: (rs: RemoteSub, delta: number) => void;

  constructor(client: Client, changed: (rs: RemoteSub, delta: number) => void) {
    super();
    this.#client = client;
    this.#changed = changed;
  }

  /** The peer's `+`: new interest enters the account's sublist; a known queue's weight changes. */
  add(acc: Account, key: string, subject: string, queue: string, weight: number, origin: string) {
    const existing = this.get(key);
    if (existing !== undefined) {
      if (queue === "" || weight === existing.weight) return;
      const delta = weight - existing.weight;
      existing.weight = weight;
      this.#changed(existing, delta);
      return;
    }
    const sub: ClientSub = {
      client: this.#client,
      subject,
      queue,
      sid: key,
      sidBytes: bytesOf(enc.encode(key)),
      max: 0,
      delivered: 0,
      closed: false,
    };
    const rs: RemoteSub = { sub, acc, weight, origin };
    this.set(key, rs);
    acc.sublist.insert(sub);
    acc.notifyInterest(sub, true);
    this.#changed(rs, weight);
  }

  /** The peer's `-`. */
  remove(key: string): void {
    const rs = this.get(key);
    if (rs === undefined) return;
    this.delete(key);
    this.#drop(rs);
  }

  /** The connection closed: all its interest goes. */
  removeAll(): void {
    for (const rs of this.values()) this.#drop(rs);
    this.clear();
  }

  #drop(rs: RemoteSub): void {
    rs.sub.closed = true;
    rs.acc.sublist.remove(rs.sub);
    rs.acc.notifyInterest(rs.sub, false);
    this.#changed(rs, -rs.weight);
  }
}

/**
 * Adds `delta` to the count of interest under `key` that a peer was told of, and says what to
 * tell it now: the count (0 withdraws the interest), or -1 for nothing. A plain subject is
 * announced when its count leaves 0 and withdrawn when it returns there; a queue group's weight
 * is announced on every change.
 */
export function countInterest(
  counts: Map<string, number>,
  key: string,
  queue: boolean,
  delta: number,
): number {
  const before = counts.get(key) ?? 0;
  const after = before + delta;
  if (after > 0) counts.set(key, after);
  else counts.delete(key);
  if (!queue && before > 0 && after > 0) return -1;
  return Math.max(0, after);
}
