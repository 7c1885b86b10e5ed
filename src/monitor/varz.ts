/**
 * /varz and `$SYS.REQ.SERVER.PING.VARZ`: the server's configuration and runtime counters, in
 * nats-server's Varz field order.
 */

import { GO_VERSION, PROTO, VERSION } from "../options.ts";
import { RELEASE_VERSION } from "../version.ts";
import { websocketVarz } from "../websocket/varz.ts";
import { jetstreamVarz } from "../jetstream/monitor.ts";
import { leafVarz } from "../leafnode/monitor.ts";
import type { Server } from "../server.ts";
import { myUptime, nowMs } from "./format.ts";
import { goTime } from "../go_time.ts";
import { routeList } from "./routez.ts";

const NS_PER_MS = 1_000_000;

/** nats-server's basePath: http_base_path with one leading slash and no trailing one. */
export function normalizeBasePath(p: string): string {
  let b = (p ?? "").trim();
  if (b === "" || b === "/") return "";
  if (!b.startsWith("/")) b = "/" + b;
  return b.replace(/\/+$/, "");
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function varz(server: Server): Record<string, unknown> {
  const s = server;
  const o = s.opts;
  const tls = s.tls !== null;
  const tlsVerify = tls && (o.tlsConfig?.verify ?? false);
  const tlsTimeout = o.tlsConfig?.timeout ?? 2;
  const now = nowMs();
  const routes = routeList(s).length;
  const v: Record<string, unknown> = {
    server_id: s.id,
    server_name: s.name,
    version: VERSION,
    proto: PROTO,
    go: GO_VERSION,
    // Not in nats-server: this server's own release (deno.json), beside the version it emulates.
    release: RELEASE_VERSION,
    host: o.host,
    port: s.port,
  };
  if (s.authRequired) v.auth_required = true;
  if (tls) v.tls_required = true;
  if (tlsVerify) v.tls_verify = true;
  const urls = s.connectUrls();
  if (urls.length > 0) v.connect_urls = urls;
  const wsUrls = s.websocket?.connectUrls() ?? [];
  if (wsUrls.length > 0) v.ws_connect_urls = wsUrls;
  v.max_connections = o.maxConn;
  if (o.maxSubs > 0) v.max_subscriptions = o.maxSubs;
  v.ping_interval = o.pingIntervalMs * NS_PER_MS;
  v.ping_max = o.maxPingsOut;
  v.http_host = o.httpHost;
  v.http_port = o.httpPort;
  v.http_base_path = normalizeBasePath(o.httpBasePath);
  v.https_port = o.httpsPort;
  v.auth_timeout = o.authTimeout > 0 ? o.authTimeout : (tls ? tlsTimeout + 1 : 2);
  v.max_control_line = o.maxControlLine;
  v.max_payload = o.maxPayload;
  v.max_pending = o.maxPending;
  v.cluster = clusterVarz(s);
  v.gateway = {};
  v.leaf = leafVarz(s);
  v.mqtt = {};
  v.websocket = websocketVarz(o.websocket, s.websocket);
  v.jetstream = jetstreamVarz(s);
  v.tls_timeout = tlsTimeout;
  v.write_deadline = o.writeDeadlineMs * NS_PER_MS;
  v.start = goTime(s.startTime.getTime());
  v.now = goTime(now);
  v.uptime = myUptime(now - s.startTime.getTime());
  v.mem = Deno.memoryUsage().rss;
  v.cores = navigator.hardwareConcurrency;
  v.gomaxprocs = navigator.hardwareConcurrency;
  v.cpu = s.monitorStats.cpu();
  v.connections = s.clients.size;
  v.total_connections = s.stats.totalConnections;
  v.routes = routes;
  v.remotes = routes;
  v.leafnodes = s.leafnodes?.registeredCount ?? 0;
  v.in_msgs = s.stats.inMsgs;
  v.out_msgs = s.stats.outMsgs;
  v.in_bytes = s.stats.inBytes;
  v.out_bytes = s.stats.outBytes;
  v.slow_consumers = s.stats.slowConsumers;
  v.subscriptions = s.subscriptionCount;
  v.http_req_stats = Object.fromEntries(
    [...s.monitorStats.httpReqStats].sort(([a], [b]) => cmp(a, b)),
  );
  v.config_load_time = goTime(s.configLoadTime.getTime());
  if (o.tags.length > 0) v.tags = o.tags;
  if (o.trustedOperators.length > 0) {
    v.trusted_operators_jwt = o.trustedOperators.map((op) => op.jwt);
    v.trusted_operators_claim = o.trustedOperators.map((op) =>
      s.operator!.operatorClaimsJson(op.claims)
    );
  }
  if (s.systemAccount) v.system_account = s.systemAccount.name;
  if (s.operator?.pinnedAccountFails) v.pinned_account_fails = s.operator.pinnedAccountFails;
  return v;
}

/** The `cluster` block of /varz: empty unless a cluster port or routes are configured. */
function clusterVarz(server: Server): Record<string, unknown> {
  const o = server.opts;
  const c = o.cluster;
  if (c.port === 0 && o.routes.length === 0) {
    // A server with leafnode remotes and no cluster is named for its leafs (nats-server).
    const name = server.leafnodes?.clusterName() ?? "";
    return name !== "" ? { name } : {};
  }
  const v: Record<string, unknown> = {};
  // The name in use (a generated or negotiated one too) and the port bound, as nats-server.
  const cluster = server.cluster;
  const name = cluster?.name ?? c.name;
  if (name !== "") v.name = name;
  if (c.host !== "") v.addr = c.host;
  const port = cluster?.port || c.port;
  if (port !== 0) v.cluster_port = port;
  v.auth_timeout = c.authTimeout > 0 ? c.authTimeout : 2;
  const urls = o.routes.map(routeHost).filter((u) => u !== "");
  if (urls.length > 0) v.urls = urls;
  v.tls_timeout = c.tls?.timeout ?? 2;
  if (c.tls) {
    v.tls_required = true;
    v.tls_verify = true;
  }
  return v;
}

/** `host:port` of a route URL, as nats-server lists configured routes in /varz. */
function routeHost(u: string): string {
  try {
    return new URL(u).host;
  } catch {
    return "";
  }
}
