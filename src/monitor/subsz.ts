/**
 * /subsz and `$SYS.REQ.SERVER.<id>.SUBSZ` / `$SYS.REQ.ACCOUNT.<acc>.SUBSZ`: sublist statistics of
 * every account (or one), and optionally the local subscriptions, as nats-server's Subsz().
 */

import { ROUTER } from "../client.ts";
import type { Client } from "../client.ts";
import type { Server } from "../server.ts";
import type { Subscription } from "../sublist.ts";
import { isValidLiteralSubject, subjectMatches } from "../sublist.ts";
import { nowMs, QueryError } from "./format.ts";
import { goTime } from "../go_time.ts";
import {
  DEFAULT_LIST_SIZE,
  MAX_LIST_SIZE,
  subDetails,
  type SublistStats,
  sublistStats,
} from "./subs.ts";

/** nats-server's SubszOptions. */
export interface SubszOptions {
  offset: number;
  limit: number;
  subscriptions: boolean;
  account: string;
  test: string;
}

export function defaultSubszOptions(): SubszOptions {
  return { offset: 0, limit: 0, subscriptions: false, account: "", test: "" };
}

/** nats-server's Subsz: server id, time, the sublist stats, and the page of subscriptions. */
export interface Subsz {
  stats: SublistStats;
  /** The whole object, as the NATS request answers it. */
  full: Record<string, unknown>;
  /** Whether any subscription is listed (HTTP shows only the stats otherwise). */
  listed: boolean;
}

export function subsz(server: Server, o: SubszOptions): Subsz {
  const offset = Math.max(0, o.offset);
  const limit = Math.min(o.limit <= 0 ? DEFAULT_LIST_SIZE : o.limit, MAX_LIST_SIZE);
  if (o.test !== "" && !isValidLiteralSubject(o.test)) {
    throw new QueryError(`invalid test subject, must be valid publish subject: ${o.test}`);
  }
  const accounts = [...server.accounts.values()].filter((a) =>
    o.account === "" || a.name === o.account
  );
  const stats = sublistStats(accounts.map((a) => a.sublist));
  const full: Record<string, unknown> = {
    server_id: server.id,
    now: goTime(nowMs()),
    ...stats,
    total: 0,
    offset,
    limit,
  };
  if (!o.subscriptions) return { stats, full, listed: false };
  // Local subscriptions only (clients and internal ones), as nats-server's localSubs.
  let subs: Subscription<Client>[] = [];
  for (const a of accounts) {
    for (const s of a.sublist.all()) if (s.client.kind !== ROUTER) subs.push(s);
  }
  if (o.test !== "") subs = subs.filter((s) => subjectMatches(s.subject, o.test));
  const page = subs.slice(Math.min(offset, subs.length), Math.min(offset + limit, subs.length));
  full.total = page.length;
  if (page.length > 0) full.subscriptions_list = subDetails(page, true);
  return { stats, full, listed: page.length > 0 };
}
