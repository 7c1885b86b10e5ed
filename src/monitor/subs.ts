/**
 * Pieces shared by the endpoints that list subscriptions (/connz, /routez, /subsz) and report
 * sublist statistics (/subsz, /accountz): nats-server's SubDetail and SublistStats shapes.
 */

import type { Client } from "../client.ts";
import type { Sublist } from "../sublist.ts";
import type { SubView } from "./closed.ts";

/** nats-server's default page size for /connz and /subsz. */
export const DEFAULT_LIST_SIZE = 1024;
/** Our ceiling on a page, so no request can ask for an unbounded answer. */
export const MAX_LIST_SIZE = 10_000;

export interface SublistStats {
  num_subscriptions: number;
  num_cache: number;
  num_inserts: number;
  num_removes: number;
  num_matches: number;
  cache_hit_rate: number;
  max_fanout: number;
  avg_fanout: number;
}

/**
 * The statistics of one or more sublists added up as nats-server's SublistStats.add does: sums,
 * the largest fanout, and hit rate and average fanout recomputed from the summed parts.
 */
export function sublistStats(lists: Iterable<Sublist<Client>>): SublistStats {
  const st: SublistStats = {
    num_subscriptions: 0,
    num_cache: 0,
    num_inserts: 0,
    num_removes: 0,
    num_matches: 0,
    cache_hit_rate: 0,
    max_fanout: 0,
    avg_fanout: 0,
  };
  let hits = 0;
  let fanTotal = 0;
  let fanEntries = 0;
  for (const sl of lists) {
    const fan = sl.cacheFanout();
    st.num_subscriptions += sl.count;
    st.num_cache += sl.cacheSize;
    st.num_inserts += sl.inserts;
    st.num_removes += sl.removes;
    st.num_matches += sl.matches;
    hits += sl.cacheHits;
    if (fan.max > st.max_fanout) st.max_fanout = fan.max;
    fanTotal += fan.total;
    fanEntries += fan.entries;
  }
  if (fanTotal > 0) st.avg_fanout = fanTotal / fanEntries;
  if (st.num_matches > 0) st.cache_hit_rate = hits / st.num_matches;
  return st;
}

export function subList(subs: Iterable<SubView>): string[] {
  const out: string[] = [];
  for (const s of subs) {
    out.push(s.subject);
    if (out.length >= MAX_LIST_SIZE) break;
  }
  return out;
}

/**
 * nats-server's SubDetail list. `withAccount`: the account is named (as /subsz and closed
 * connections in /connz show it; open connections in /connz leave it out).
 */
export function subDetails(
  subs: Iterable<SubView>,
  withAccount: boolean,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const s of subs) {
    const d: Record<string, unknown> = {};
    if (withAccount) d.account = s.client.account.name;
    d.subject = s.subject;
    if (s.queue !== "") d.qgroup = s.queue;
    d.sid = s.sid;
    d.msgs = s.delivered;
    if (s.max > 0) d.max = s.max;
    d.cid = s.client.cid;
    out.push(d);
    if (out.length >= MAX_LIST_SIZE) break;
  }
  return out;
}
