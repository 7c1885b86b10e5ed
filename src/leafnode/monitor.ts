/**
 * The leafnode parts of monitoring, shaped as nats-server 2.9.10 shows them: /leafz, and the
 * `leaf` block and `leafnodes` count of /varz.
 */

import type { Server } from "../server.ts";
import { nowMs, rttString } from "../monitor/format.ts";
import { goTime } from "../go_time.ts";
import type { Leaf } from "./connection.ts";

/** Registered leaf connections, oldest first (nats-server's order is its map's). */
export function leafConnections(s: Server, account = ""): Leaf[] {
  const ln = s.leafnodes;
  if (ln === null) return [];
  const out: Leaf[] = [];
  for (const l of ln.conns.values()) {
    if (!l.registered || l.closed) continue;
    if (account !== "" && l.account.name !== account) continue;
    out.push(l);
  }
  return out.sort((a, b) => a.cid - b.cid);
}

/** /leafz: each leaf connection with its account, address, RTT, traffic and interest. */
export function leafzObject(s: Server, subs: boolean, account: string): Record<string, unknown> {
  const leafs = leafConnections(s, account).map((l) => {
    const li: Record<string, unknown> = {
      account: l.account.name,
      ip: l.peer.host,
      port: l.peer.port,
      rtt: rttString(l.rtt),
      in_msgs: l.inMsgs,
      out_msgs: l.outMsgs,
      in_bytes: l.inBytes,
      out_bytes: l.outBytes,
      subscriptions: l.leafSubs.size,
    };
    if (subs && l.leafSubs.size > 0) {
      li.subscriptions_list = [...l.leafSubs.values()].map((ls) => ls.sub.subject);
    }
    return li;
  });
  return {
    server_id: s.id,
    now: goTime(nowMs()),
    leafnodes: leafs.length,
    leafs: leafs.length > 0 ? leafs : null,
  };
}

/** /varz `leaf`: the listener's settings and the remotes, empty fields left out. */
export function leafVarz(s: Server): Record<string, unknown> {
  const o = s.opts.leafnode;
  const ln = s.leafnodes;
  const v: Record<string, unknown> = {};
  if (o.port !== 0) {
    if (o.host !== "") v.host = o.host;
    v.port = ln !== null && ln.port !== 0 ? ln.port : o.port;
    v.auth_timeout = (ln?.authTimeoutMs ?? 2000) / 1000;
    v.tls_timeout = o.tls?.timeout ?? 2;
    if (o.tls) {
      v.tls_required = true;
      if (o.tls.verify) v.tls_verify = true;
    }
  }
  if (o.remotes.length > 0) {
    v.remotes = o.remotes.map((r) => {
      const rv: Record<string, unknown> = {};
      if (r.localAccount !== "") rv.local_account = r.localAccount;
      if (r.tlsTimeout > 0) rv.tls_timeout = r.tlsTimeout;
      rv.urls = r.urls.map(hostOf);
      if (r.denyImports.length > 0 || r.denyExports.length > 0) {
        const deny: Record<string, unknown> = {};
        if (r.denyExports.length > 0) deny.exports = r.denyExports;
        if (r.denyImports.length > 0) deny.imports = r.denyImports;
        rv.deny = deny;
      }
      return rv;
    });
  }
  return v;
}

/** A URL's host:port, as nats-server's urlsToStrings prints remote URLs. */
function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return u.port === "" ? u.hostname : `${u.hostname}:${u.port}`;
  } catch {
    return url;
  }
}
