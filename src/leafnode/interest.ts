/**
 * What a leafnode connection learns of its account's interest, as nats-server decides it
 * (initLeafNodeSmapAndSendSubs, updateLeafNodes, updateSmap):
 *
 * - A hub tells a leaf about everything in the account: local subscriptions, the routes' (the
 *   rest of its cluster) and other leafnodes'. A spoke tells its hub only what its own clients
 *   (and leafnodes it is the hub of) want: the other servers of its cluster have their own
 *   connections to the hub.
 * - Interest that came from a leafnode cluster is never sent back into that cluster.
 * - Permissions filter what is sent; the loop detection subject (`$LDS.<id>`) always goes.
 * - Counts are kept per key ("subject" or "subject queue"): a plain subject is announced when it
 *   goes from 0 to 1 and withdrawn at 0; a queue group's weight (its members, summed over the
 *   servers behind) is announced on every change.
 */

import { CLIENT, type Client, type ClientSub, LEAF, ROUTER } from "../client.ts";
import { ACCOUNT, SYSTEM } from "../internal_client.ts";
import type { Route } from "../route.ts";
import type { Account } from "../accounts/account.ts";
import { LDS_PREFIX, type Leaf } from "./connection.ts";
import { countInterest } from "../remote_interest.ts";

/** nats-server's JETSTREAM kind, for internal clients JetStream may add. */
const JETSTREAM = 5;
const JS_API = "$JS.API.>";

export function keyOf(sub: ClientSub): string {
  return sub.queue === "" ? sub.subject : `${sub.subject} ${sub.queue}`;
}

/** Subscriptions a spoke passes to its hub: its clients', internal ones, its own leafs'. */
function spokeForwards(c: Client): boolean {
  const k = c.kind;
  if (k === CLIENT || k === SYSTEM || k === ACCOUNT || k === JETSTREAM) return true;
  return k === LEAF && !(c as Leaf).isSpoke;
}

/** The leafnode cluster a subscription came from ("" for local interest). */
export function originOf(sub: ClientSub): string {
  const c = sub.client;
  if (c.kind === LEAF) return (c as Leaf).remoteCluster;
  if (c.kind === ROUTER) return (c as Route).remoteSubs.get(sub.sid)?.origin ?? "";
  return "";
}

/** A queue subscription's weight: the members behind a route or leafnode, 1 for a local one. */
function weightOf(sub: ClientSub): number {
  const c = sub.client;
  if (c.kind === LEAF) return (c as Leaf).leafSubs.get(sub.sid)?.weight ?? 1;
  if (c.kind === ROUTER) return (c as Route).remoteSubs.get(sub.sid)?.weight ?? 1;
  return 1;
}

/** The sources of the account's mappings: messages published there must reach us. */
function mappingSources(acc: Account): string[] {
  const m = acc.mappings as unknown as Iterable<{ source: string }> | null;
  if (m === null || typeof (m as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function") {
    return [];
  }
  return [...m].map((x) => x.source);
}

/** The interest a new leaf connection starts with, sent all at once. */
export function initialInterest(leaf: Leaf, lds: string): void {
  const acc = leaf.account;
  const smap = new Map<string, number>();
  const rc = leaf.remoteCluster;
  const log = leaf.server.log;
  for (const sub of acc.sublist.all()) {
    if (sub.closed || sub.client === leaf) continue;
    if (leaf.isSpoke && !spokeForwards(sub.client)) continue;
    // nats-server announces its JetStream API service import unchecked (hubs only): the deny
    // on it keeps messages from crossing all the same.
    const jsImport = !leaf.isSpoke && sub.subject === JS_API && sub.client.kind === ACCOUNT;
    if (!jsImport && !leaf.canSubscribe(sub.subject)) {
      if (log.debugEnabled) {
        log.debugc(
          leaf,
          `Not permitted to subscribe to ${JSON.stringify(sub.subject)} on behalf of ${acc.name}`,
        );
      }
      continue;
    }
    const origin = originOf(sub);
    if (origin !== "" && origin === rc) continue;
    const key = keyOf(sub);
    smap.set(key, (smap.get(key) ?? 0) + (sub.queue !== "" ? weightOf(sub) : 1));
  }
  for (const src of mappingSources(acc)) {
    if (leaf.isSpoke && !leaf.canSubscribe(src)) {
      if (log.debugEnabled) {
        log.debugc(
          leaf,
          `Not permitted to import mapping ${JSON.stringify(src)} on behalf of ${acc.name}`,
        );
      }
      continue;
    }
    smap.set(src, (smap.get(src) ?? 0) + 1);
  }
  smap.set(lds, (smap.get(lds) ?? 0) + 1);
  leaf.smap = smap;
  const lines: string[] = [];
  for (const [key, n] of smap) lines.push(leaf.leafSubLine(key, n));
  if (lines.length > 0) leaf.queue(new TextEncoder().encode(lines.join("\r\n") + "\r\n"));
}

/** Interest in the account changed by `delta` (a queue's weight change): tell its leafs. */
export function updateLeafs(
  leafs: Iterable<Leaf>,
  sub: ClientSub,
  delta: number,
  origin: string,
): void {
  for (const ln of leafs) {
    if (ln === sub.client || ln.smap === null || ln.closed) continue;
    const skip = (origin !== "" && origin === ln.remoteCluster) || !ln.canSubscribe(sub.subject);
    if (skip && !sub.subject.startsWith(LDS_PREFIX)) continue;
    updateSmap(ln, sub, delta);
  }
}

function updateSmap(ln: Leaf, sub: ClientSub, delta: number): void {
  const smap = ln.smap!;
  if (ln.isSpoke && !spokeForwards(sub.client)) return;
  const key = keyOf(sub);
  const n = countInterest(smap, key, sub.queue !== "", delta);
  if (n >= 0) ln.sendLeafSub(key, n);
}
