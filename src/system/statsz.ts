/**
 * nats-server's ServerStatsMsg: this server's counters as STATSZ events and `$SYS.REQ.SERVER.PING`
 * answers carry them.
 */

import type { Server } from "../server.ts";
import { goTime } from "../go_time.ts";
import type { SystemEvents } from "./events.ts";

/** `{server, statsz}`; `server` is filled when the message is sent. */
export function statsz(server: Server, events: SystemEvents): Record<string, unknown> {
  const s = server;
  const st: Record<string, unknown> = {
    start: goTime(s.startTime.getTime()),
    mem: Deno.memoryUsage().rss,
    cores: navigator.hardwareConcurrency,
    cpu: s.monitorStats.cpu(),
    connections: s.clients.size,
    total_connections: s.stats.totalConnections,
    active_accounts: activeAccounts(server),
    subscriptions: s.subscriptionCount,
    sent: { msgs: s.stats.outMsgs, bytes: s.stats.outBytes },
    received: { msgs: s.stats.inMsgs, bytes: s.stats.inBytes },
    slow_consumers: s.stats.slowConsumers,
  };
  const routes = s.cluster ? [...s.cluster.routes.values()] : [];
  if (routes.length > 0) {
    st.routes = routes.map((r) => {
      const rs: Record<string, unknown> = { rid: r.cid };
      if (r.remoteName !== "") rs.name = r.remoteName;
      rs.sent = { msgs: r.outMsgs, bytes: r.outBytes };
      rs.received = { msgs: r.inMsgs, bytes: r.inBytes };
      rs.pending = r.out.pending;
      return rs;
    });
  }
  st.active_servers = events.activeServers;
  return { server: null, statsz: st };
}

/**
 * Accounts with at least one connection. The system account always counts: nats-server's own
 * system client is registered with it.
 */
export function activeAccounts(server: Server): number {
  let n = 0;
  for (const acc of server.accounts.values()) {
    if (acc === server.systemAccount || acc.clients.size > 0) n++;
  }
  return n;
}
