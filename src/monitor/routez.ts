/**
 * /routez and `$SYS.REQ.SERVER.<id>.ROUTEZ`: the cluster's route connections, as nats-server's
 * Routez() builds them.
 */

import type { Client } from "../client.ts";
import type { Server } from "../server.ts";
import type { Subscription } from "../sublist.ts";
import { myUptime, nowMs, rttString } from "./format.ts";
import { goTime } from "../go_time.ts";
import { MAX_LIST_SIZE, subDetails, subList } from "./subs.ts";

/** nats-server's RoutezOptions (JSON names as the NATS request body carries them). */
export interface RoutezOptions {
  subscriptions: boolean;
  subscriptionsDetail: boolean;
}

/** What a route looks like to the monitor (a Route with its remote interest as `subs`). */
export interface RouteLike {
  cid: number;
  peer: { host: string; port: number };
  start: number;
  last: number;
  rtt: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  subs: Map<string, Subscription<Client>>;
  out: { pending: number };
  remoteId: string;
  remoteName: string;
  didSolicit: boolean;
  isConfigured: boolean;
}

/** Whether a configured route URL names the host:port a route was dialed at. */
function sameRoute(configured: string, url: URL): boolean {
  try {
    const c = new URL(configured);
    return c.hostname === url.hostname && c.port === url.port;
  } catch {
    return false;
  }
}

/** The cluster's route connections, with their remote interest as subscriptions. */
export function routeList(server: Server): RouteLike[] {
  const routes = server.cluster?.routes;
  if (!routes) return [];
  return [...routes.values()].map((r) =>
    Object.assign(Object.create(r), {
      subs: new Map([...r.remoteSubs].map(([k, v]) => [k, v.sub])),
      didSolicit: r.solicited,
      isConfigured: r.url !== null && server.opts.routes.some((u) => sameRoute(u, r.url!)),
    }) as RouteLike
  );
}

export function routez(server: Server, o: RoutezOptions): Record<string, unknown> {
  const now = nowMs();
  const out: Record<string, unknown> = { server_id: server.id, now: goTime(now) };
  const perms = server.opts.cluster.permissions;
  if (perms?.import) out.import = perms.import;
  if (perms?.export) out.export = perms.export;
  const routes = routeList(server);
  out.num_routes = routes.length;
  out.routes = routes.slice(0, MAX_LIST_SIZE).map((r) => {
    const ri: Record<string, unknown> = {
      rid: r.cid,
      remote_id: r.remoteId ?? "",
      did_solicit: r.didSolicit ?? false,
      is_configured: r.isConfigured ?? false,
      ip: r.peer.host,
      port: r.peer.port,
      start: goTime(r.start),
      last_activity: goTime(r.last),
      rtt: rttString(r.rtt),
      uptime: myUptime(now - r.start),
      idle: myUptime(now - r.last),
      pending_size: r.out.pending,
      in_msgs: r.inMsgs,
      out_msgs: r.outMsgs,
      in_bytes: r.inBytes,
      out_bytes: r.outBytes,
      subscriptions: r.subs.size,
    };
    if (r.subs.size > 0) {
      if (o.subscriptionsDetail) ri.subscriptions_list_detail = subDetails(r.subs.values(), false);
      else if (o.subscriptions) ri.subscriptions_list = subList(r.subs.values());
    }
    return ri;
  });
  return out;
}
