/**
 * The monitoring HTTP(S) server: nats-server's endpoints (/varz, /connz, /routez, /subsz,
 * /gatewayz, /leafz, /accountz, /accstatz, /jsz, /healthz and the HTML index at /) with the same
 * JSON field names, order, units, query parameters and error texts, plus /metrics (Prometheus
 * text format) and /dashboard (a self-contained live page).
 */

import process from "node:process";
import type { Client } from "./client.ts";
import { hostPort, type Server } from "./server.ts";
import { GO_VERSION, PROTO, VERSION } from "./options.ts";
import { RELEASE_VERSION } from "./version.ts";
import { isValidLiteralSubject, subjectMatches, type Subscription } from "./sublist.ts";
import {
  decodeBool,
  decodeInt,
  decodeUint64,
  goJson,
  goTime,
  myUptime,
  nowMs,
  QueryError,
  rttString,
} from "./monitor/format.ts";
import { dashboardHtml } from "./monitor/dashboard.ts";
import {
  jetstreamEnabledFor,
  jetstreamHealth,
  jetstreamVarz,
  jszJson,
} from "./jetstream/monitor.ts";

export interface MonitorHandle {
  /** Bound ports (0 when that listener is off). */
  httpPort: number;
  httpsPort: number;
  stop(): Promise<void>;
}

/** nats-server's default page size for /connz and /subsz. */
export const DEFAULT_LIST_SIZE = 1024;
/** Our ceiling on a page, so no request can ask for an unbounded answer. */
export const MAX_LIST_SIZE = 10_000;
const GLOBAL_ACCOUNT = "$G";
const SYSTEM_ACCOUNT = "$SYS";
const NS_PER_MS = 1_000_000;

const SORT_OPTIONS = new Set([
  "cid",
  "start",
  "subs",
  "pending",
  "msgs_to",
  "msgs_from",
  "bytes_to",
  "bytes_from",
  "last",
  "idle",
  "uptime",
  "stop",
  "reason",
]);

type ConnState = "open" | "closed" | "all";

/** Whether a configured route URL names the host:port a route was dialed at. */
function sameRoute(configured: string, url: URL): boolean {
  try {
    const c = new URL(configured);
    return c.hostname === url.hostname && c.port === url.port;
  } catch {
    return false;
  }
}

/** What a route looks like to the monitor (a Route with its remote interest as `subs`). */
interface RouteLike {
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
  remoteId?: string;
  didSolicit?: boolean;
  isConfigured?: boolean;
}

/** CPU use of this process, sampled once a second like nats-server's pse (% of one core). */
class CpuSampler {
  pcpu = 0;
  #lastUsage = process.cpuUsage();
  #lastTime = performance.now();
  #timer: ReturnType<typeof setInterval>;

  constructor() {
    this.#timer = setInterval(() => this.sample(), 1000);
    Deno.unrefTimer(Number(this.#timer));
  }

  sample(): void {
    const usage = process.cpuUsage();
    const t = performance.now();
    const usedMicros = usage.user + usage.system - this.#lastUsage.user - this.#lastUsage.system;
    const elapsedMs = t - this.#lastTime;
    if (elapsedMs > 0) this.pcpu = Math.round((usedMicros / 1000 / elapsedMs) * 1000) / 10;
    this.#lastUsage = usage;
    this.#lastTime = t;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

interface SublistStats {
  num_subscriptions: number;
  num_cache: number;
  num_inserts: number;
  num_removes: number;
  num_matches: number;
  cache_hit_rate: number;
  max_fanout: number;
  avg_fanout: number;
}

/** One row of /connz before rendering: sorting and paging work on these. */
interface ConnRow {
  c: Client;
  closed: boolean;
}

class Monitor {
  readonly server: Server;
  readonly reqStats = new Map<string, number>();
  readonly cpu = new CpuSampler();
  readonly base: string;
  httpPort = 0;
  httpsPort = 0;
  #routes: Map<string, (req: Request, q: URLSearchParams) => Response>;

  constructor(server: Server) {
    this.server = server;
    this.base = normalizeBasePath(server.opts.httpBasePath);
    const r = new Map<string, (req: Request, q: URLSearchParams) => Response>();
    r.set("/varz", (_req, q) => this.varz(q));
    r.set("/connz", (_req, q) => this.connz(q));
    r.set("/routez", (_req, q) => this.routez(q));
    r.set("/gatewayz", (_req, q) => this.gatewayz(q));
    r.set("/leafz", (_req, q) => this.leafz(q));
    r.set("/subsz", (_req, q) => this.subsz(q));
    r.set("/subscriptionsz", (_req, q) => this.subsz(q));
    r.set("/accountz", (_req, q) => this.accountz(q));
    r.set("/accstatz", (_req, q) => this.accstatz(q));
    r.set("/jsz", (_req, q) => this.jsz(q));
    r.set("/healthz", (_req, q) => this.healthz(q));
    r.set("/metrics", () => this.metrics());
    r.set("/dashboard", () => this.dashboard());
    this.#routes = new Map();
    for (const [p, h] of r) this.#routes.set(this.path(p), h);
  }

  /** nats-server's basePath: path.Join(http_base_path, p). */
  path(p: string): string {
    if (p === "/") return this.base === "" ? "/" : this.base;
    return this.base + p;
  }

  count(p: string): void {
    this.reqStats.set(p, (this.reqStats.get(p) ?? 0) + 1);
  }

  handle(req: Request): Response {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return notFound();
    }
    const q = url.searchParams;
    try {
      if (url.pathname === this.path("/")) return this.root();
      const h = this.#routes.get(url.pathname);
      if (!h) return notFound();
      return h(req, q);
    } catch (e) {
      if (e instanceof QueryError) return badRequest(e.message);
      this.server.log.error(`Error handling monitoring request ${url.pathname}: ${e}`);
      return new Response("internal error", { status: 500 });
    }
  }

  // ---- /varz ----

  varz(q: URLSearchParams): Response {
    this.count("/varz");
    return respond(q, goJson(this.varzObject()));
  }

  varzObject(): Record<string, unknown> {
    const s = this.server;
    const o = s.opts;
    const tls = (s as { tls?: unknown }).tls != null;
    const tlsVerify = tls && (o.tlsConfig?.verify ?? false);
    const tlsTimeout = o.tlsConfig?.timeout ?? 2;
    const now = nowMs();
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
    v.max_connections = o.maxConn;
    if (o.maxSubs > 0) v.max_subscriptions = o.maxSubs;
    v.ping_interval = o.pingIntervalMs * NS_PER_MS;
    v.ping_max = o.maxPingsOut;
    v.http_host = o.httpHost;
    v.http_port = o.httpPort;
    v.http_base_path = this.base;
    v.https_port = o.httpsPort;
    v.auth_timeout = o.authTimeout > 0 ? o.authTimeout : (tls ? tlsTimeout + 1 : 2);
    v.max_control_line = o.maxControlLine;
    v.max_payload = o.maxPayload;
    v.max_pending = o.maxPending;
    v.cluster = this.clusterVarz();
    v.gateway = {};
    v.leaf = {};
    v.mqtt = {};
    v.websocket = {};
    v.jetstream = jetstreamVarz(s);
    v.tls_timeout = tlsTimeout;
    v.write_deadline = o.writeDeadlineMs * NS_PER_MS;
    v.start = goTime(s.startTime.getTime());
    v.now = goTime(now);
    v.uptime = myUptime(now - s.startTime.getTime());
    v.mem = Deno.memoryUsage().rss;
    v.cores = navigator.hardwareConcurrency;
    v.gomaxprocs = navigator.hardwareConcurrency;
    v.cpu = this.cpu.pcpu;
    v.connections = s.clients.size;
    v.total_connections = s.stats.totalConnections;
    v.routes = this.routeList().length;
    v.remotes = this.routeList().length;
    v.leafnodes = 0;
    v.in_msgs = s.stats.inMsgs;
    v.out_msgs = s.stats.outMsgs;
    v.in_bytes = s.stats.inBytes;
    v.out_bytes = s.stats.outBytes;
    v.slow_consumers = s.stats.slowConsumers;
    v.subscriptions = s.subscriptionCount;
    v.http_req_stats = Object.fromEntries([...this.reqStats].sort(([a], [b]) => cmp(a, b)));
    v.config_load_time = goTime(s.configLoadTime.getTime());
    if (o.tags.length > 0) v.tags = o.tags;
    v.system_account = SYSTEM_ACCOUNT;
    return v;
  }

  clusterVarz(): Record<string, unknown> {
    const o = this.server.opts;
    const c = o.cluster;
    if (c.port === 0 && o.routes.length === 0) return {};
    const v: Record<string, unknown> = {};
    if (c.name !== "") v.name = c.name;
    if (c.host !== "") v.addr = c.host;
    if (c.port !== 0) v.cluster_port = c.port;
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

  /** The cluster's route connections, with their remote interest as subscriptions. */
  routeList(): RouteLike[] {
    const routes = this.server.cluster?.routes;
    if (!routes) return [];
    return [...routes.values()].map((r) =>
      Object.assign(Object.create(r), {
        subs: new Map([...r.remoteSubs].map(([k, v]) => [k, v.sub])),
        didSolicit: r.solicited,
        isConfigured: r.url !== null && this.server.opts.routes.some((u) => sameRoute(u, r.url!)),
      }) as RouteLike
    );
  }

  // ---- /connz ----

  connz(q: URLSearchParams): Response {
    const sort = q.get("sort") ?? "";
    const auth = decodeBool(q, "auth");
    const [subs, subsDetail] = decodeSubs(q);
    let offset = decodeInt(q, "offset");
    let limit = decodeInt(q, "limit");
    let cid = decodeUint64(q, "cid");
    const state = decodeState(q);
    const user = q.get("user") ?? "";
    const acc = q.get("acc") ?? "";
    const mqttClient = q.get("mqtt_client") ?? "";
    this.count("/connz");

    const sortOpt = sort === "" ? "cid" : sort;
    if (!SORT_OPTIONS.has(sortOpt)) throw new QueryError(`invalid sorting option: ${sortOpt}`);
    if (sortOpt === "stop" && state !== "closed") {
      throw new QueryError("sort by stop only valid on closed connections");
    }
    if (sortOpt === "reason" && state !== "closed") {
      throw new QueryError("sort by reason only valid on closed connections");
    }
    if (offset < 0) offset = 0;
    if (limit <= 0) limit = DEFAULT_LIST_SIZE;
    limit = Math.min(limit, MAX_LIST_SIZE);
    if (cid > 0) limit = 1;
    else cid = 0;

    const s = this.server;
    const now = nowMs();
    const out: Record<string, unknown> = {
      server_id: s.id,
      now: goTime(now),
      num_connections: 0,
      total: 0,
      offset,
      limit,
      connections: [],
    };
    if (acc !== "" && acc !== GLOBAL_ACCOUNT) {
      // nats-server: the system account has no client connections, others do not exist.
      if (acc === SYSTEM_ACCOUNT) return respond(q, goJson(out));
      return respond(q, goJson({ ...out, server_id: "", connections: null }));
    }

    const closed = state === "open" ? [] : s.closedClients;
    let total = 0;
    if (state !== "closed") total += s.clients.size;
    if (state !== "open") total += closed.length;
    out.total = total;

    let rows: ConnRow[] = [];
    if (cid > 0) {
      if (state !== "open") {
        const c = closed.find((c) => c.cid === cid);
        if (c) rows.push({ c, closed: true });
      }
      if (rows.length === 0 && state !== "closed") {
        const c = s.clients.get(cid);
        if (c) rows.push({ c, closed: false });
      }
    } else {
      if (state !== "closed") {
        for (const c of s.clients.values()) rows.push({ c, closed: false });
      }
      for (const c of closed) rows.push({ c, closed: true });
      if (user !== "") rows = rows.filter((r) => r.c.user === user);
      // No MQTT clients here: a filter on an MQTT client id matches nothing.
      if (mqttClient !== "") rows = [];
    }

    sortConns(rows, sortOpt, now);
    const minoff = Math.min(offset, rows.length);
    const maxoff = Math.min(offset + limit, rows.length);
    const page = rows.slice(minoff, maxoff).map((r) => connInfo(r, now, auth, subs, subsDetail));
    out.num_connections = page.length;
    out.connections = page;
    return respond(q, goJson(out));
  }

  // ---- /routez ----

  routez(q: URLSearchParams): Response {
    const [subs, subsDetail] = decodeSubs(q);
    this.count("/routez");
    const s = this.server;
    const now = nowMs();
    const out: Record<string, unknown> = { server_id: s.id, now: goTime(now) };
    const perms = s.opts.cluster.permissions;
    if (perms?.import) out.import = perms.import;
    if (perms?.export) out.export = perms.export;
    const routes = this.routeList();
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
        if (subsDetail) ri.subscriptions_list_detail = subDetails(r.subs.values(), false);
        else if (subs) ri.subscriptions_list = subList(r.subs.values());
      }
      return ri;
    });
    return respond(q, goJson(out));
  }

  // ---- /subsz ----

  sublistStats(): SublistStats {
    const sl = this.server.globalAccount.sublist;
    const fan = sl.cacheFanout();
    return {
      num_subscriptions: sl.count,
      num_cache: sl.cacheSize,
      num_inserts: sl.inserts,
      num_removes: sl.removes,
      num_matches: sl.matches,
      cache_hit_rate: sl.matches > 0 ? sl.cacheHits / sl.matches : 0,
      max_fanout: fan.max,
      avg_fanout: fan.total > 0 ? fan.total / fan.entries : 0,
    };
  }

  subsz(q: URLSearchParams): Response {
    this.count("/subsz");
    const subs = decodeBool(q, "subs");
    let offset = decodeInt(q, "offset");
    let limit = decodeInt(q, "limit");
    const test = q.get("test") ?? "";
    const acc = q.get("acc") ?? "";
    if (offset < 0) offset = 0;
    if (limit <= 0) limit = DEFAULT_LIST_SIZE;
    limit = Math.min(limit, MAX_LIST_SIZE);
    if (test !== "" && !isValidLiteralSubject(test)) {
      throw new QueryError(`invalid test subject, must be valid publish subject: ${test}`);
    }
    const ours = acc === "" || acc === GLOBAL_ACCOUNT;
    const stats = ours ? this.sublistStats() : emptySublistStats();
    if (!subs || !ours) return respond(q, goJson(stats));
    let all = this.server.globalAccount.sublist.all();
    if (test !== "") all = all.filter((sub) => subjectMatches(sub.subject, test));
    const minoff = Math.min(offset, all.length);
    const maxoff = Math.min(offset + limit, all.length);
    const page = all.slice(minoff, maxoff);
    if (page.length === 0) return respond(q, goJson(stats));
    return respond(
      q,
      goJson({
        server_id: this.server.id,
        now: goTime(nowMs()),
        ...stats,
        total: page.length,
        offset,
        limit,
        subscriptions_list: subDetails(page, true),
      }),
    );
  }

  // ---- Features this server does not have: answered as nats-server does when they are off ----

  gatewayz(q: URLSearchParams): Response {
    this.count("/gatewayz");
    decodeBool(q, "accs");
    return respond(
      q,
      goJson({
        server_id: this.server.id,
        now: goTime(nowMs()),
        outbound_gateways: {},
        inbound_gateways: {},
      }),
    );
  }

  leafz(q: URLSearchParams): Response {
    this.count("/leafz");
    decodeBool(q, "subs");
    return respond(
      q,
      goJson({ server_id: this.server.id, now: goTime(nowMs()), leafnodes: 0, leafs: null }),
    );
  }

  accountz(q: URLSearchParams): Response {
    this.count("/accountz");
    const s = this.server;
    const acc = q.get("acc") ?? "";
    const out: Record<string, unknown> = {
      server_id: s.id,
      now: goTime(nowMs()),
      system_account: SYSTEM_ACCOUNT,
    };
    if (acc === "") {
      out.accounts = [GLOBAL_ACCOUNT, SYSTEM_ACCOUNT];
    } else if (acc === GLOBAL_ACCOUNT || acc === SYSTEM_ACCOUNT) {
      const global = acc === GLOBAL_ACCOUNT;
      const detail: Record<string, unknown> = {
        account_name: acc,
        update_time: goTime(s.configLoadTime.getTime()),
      };
      if (!global) detail.is_system = true;
      Object.assign(detail, {
        expired: false,
        complete: true,
        jetstream_enabled: jetstreamEnabledFor(s, acc),
        leafnode_connections: 0,
        client_connections: global ? s.clients.size : 0,
        subscriptions: global ? s.globalAccount.sublist.count : 0,
        sublist_stats: global ? this.sublistStats() : emptySublistStats(),
      });
      out.account_detail = detail;
    } else {
      throw new QueryError(`Account ${acc} does not exist`);
    }
    return respond(q, goJson(out));
  }

  accstatz(q: URLSearchParams): Response {
    this.count("/accstatz");
    const unused = decodeBool(q, "unused");
    const s = this.server;
    const stats: Record<string, unknown>[] = [];
    const stat = (name: string, conns: number, st: typeof s.stats | null) => ({
      acc: name,
      conns,
      leafnodes: 0,
      total_conns: conns,
      sent: { msgs: st?.outMsgs ?? 0, bytes: st?.outBytes ?? 0 },
      received: { msgs: st?.inMsgs ?? 0, bytes: st?.inBytes ?? 0 },
      slow_consumers: st?.slowConsumers ?? 0,
    });
    if (unused || s.clients.size > 0) stats.push(stat(GLOBAL_ACCOUNT, s.clients.size, s.stats));
    if (unused) stats.push(stat(SYSTEM_ACCOUNT, 0, null));
    return respond(
      q,
      goJson({ server_id: s.id, now: goTime(nowMs()), account_statz: stats }),
    );
  }

  jsz(q: URLSearchParams): Response {
    this.count("/jsz");
    return respond(q, jszJson(this.server, q));
  }

  healthz(q: URLSearchParams): Response {
    this.count("/healthz");
    decodeBool(q, "js-enabled");
    decodeBool(q, "js-enabled-only");
    decodeBool(q, "js-server-only");
    if (!this.server.running) {
      return respond(
        q,
        goJson({ status: "error", error: "server is not running" }, false),
        503,
      );
    }
    const js = jetstreamHealth(this.server);
    if (js !== null) return respond(q, goJson(js, false), 503);
    return respond(q, goJson({ status: "ok" }, false));
  }

  // ---- / ----

  root(): Response {
    this.count("/");
    const link = (p: string) => "." + this.path(p);
    const html = `<html lang="en">
	<head>
	<style type="text/css">
		body { font-family: ui-sans-serif,system-ui,-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif; font-size: 18; font-weight: light-bold; margin-left: 32px }
		a { display:block; margin-left: 7px; padding-bottom: 6px; color: rgb(72 72 92); text-decoration: none }
		a:hover { font-weight: 600; color: rgb(59 50 202) }
		a.help { display:inline; font-weight: 600; color: rgb(59 50 202); font-size: 20}
		a.last { padding-bottom: 16px }
		a.version { font-size: 14; font-weight: 400; width: 312px; text-align: right; margin-top: -2rem }
		a.version:hover { color: rgb(22 22 32) }
		h1 { font-weight: 600; color: rgb(55 92 147) }
	</style>
	</head>
	<body>
	<h1>NATS</h1>
	<a href=https://github.com/nats-io/nats-server class='version'>v${VERSION}</a>

	<br/>
	<a href=${link("/varz")}>General</a>
	<a href=${link("/jsz")}>JetStream</a>
	<a href=${link("/connz")}>Connections</a>
	<a href=${link("/accountz")}>Accounts</a>
	<a href=${link("/accstatz")}>Account Stats</a>
	<a href=${link("/subsz")}>Subscriptions</a>
	<a href=${link("/routez")}>Routes</a>
	<a href=${link("/leafz")}>LeafNodes</a>
	<a href=${link("/gatewayz")}>Gateways</a>
	<a href=${link("/healthz")}>Health Probe</a>
	<a href=${link("/metrics")}>Metrics</a>
	<a href=${link("/dashboard")} class=last>Dashboard</a>
    <a href=https://docs.nats.io/running-a-nats-service/nats_admin/monitoring class="help">Help</a>
  </body>
</html>`;
    return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
  }

  // ---- Beyond nats-server ----

  /** Prometheus text exposition (names as prometheus-nats-exporter's gnatsd_varz_*). */
  metrics(): Response {
    this.count("/metrics");
    const s = this.server;
    const id = promLabel(s.id);
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, value: number, labels = "") => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      lines.push(`${name}{server_id="${id}"${labels}} ${promValue(value)}`);
    };
    lines.push(
      "# HELP gnatsd_varz_info Server identity; the value is always 1",
      "# TYPE gnatsd_varz_info gauge",
      `gnatsd_varz_info{server_id="${id}",server_name="${promLabel(s.name)}",version="${
        promLabel(VERSION)
      }"} 1`,
    );
    const sl = this.sublistStats();
    const now = nowMs();
    metric(
      "gnatsd_varz_servers",
      "gauge",
      "Servers known to this one (itself and routes)",
      1 +
        this.routeList().length,
    );
    metric("gnatsd_varz_connections", "gauge", "Current client connections", s.clients.size);
    metric(
      "gnatsd_varz_total_connections",
      "counter",
      "Client connections since start",
      s.stats.totalConnections,
    );
    metric("gnatsd_varz_in_msgs", "counter", "Messages received", s.stats.inMsgs);
    metric("gnatsd_varz_out_msgs", "counter", "Messages sent", s.stats.outMsgs);
    metric("gnatsd_varz_in_bytes", "counter", "Payload bytes received", s.stats.inBytes);
    metric("gnatsd_varz_out_bytes", "counter", "Payload bytes sent", s.stats.outBytes);
    metric(
      "gnatsd_varz_slow_consumers",
      "counter",
      "Connections closed as slow consumers",
      s.stats.slowConsumers,
    );
    metric("gnatsd_varz_routes", "gauge", "Cluster routes", this.routeList().length);
    metric("gnatsd_varz_remotes", "gauge", "Remote servers", this.routeList().length);
    metric("gnatsd_varz_subscriptions", "gauge", "Subscriptions", s.subscriptionCount);
    metric("gnatsd_varz_mem", "gauge", "Resident set size in bytes", Deno.memoryUsage().rss);
    metric("gnatsd_varz_cpu", "gauge", "CPU use in percent of one core", this.cpu.pcpu);
    metric("gnatsd_varz_cores", "gauge", "Logical CPUs", navigator.hardwareConcurrency);
    metric(
      "gnatsd_varz_uptime_seconds",
      "gauge",
      "Seconds since the server started",
      Math.floor((now - s.startTime.getTime()) / 1000),
    );
    metric(
      "gnatsd_varz_start_time_seconds",
      "gauge",
      "Start time in seconds since the epoch",
      s.startTime.getTime() / 1000,
    );
    metric("gnatsd_varz_max_payload", "gauge", "Maximum message payload", s.opts.maxPayload);
    metric("gnatsd_subsz_num_cache", "gauge", "Subject match cache entries", sl.num_cache);
    metric("gnatsd_subsz_num_matches", "counter", "Subject matches", sl.num_matches);
    metric("gnatsd_subsz_cache_hit_rate", "gauge", "Match cache hit rate", sl.cache_hit_rate);
    lines.push(
      "# HELP gnatsd_varz_http_req_stats Monitoring requests by path",
      "# TYPE gnatsd_varz_http_req_stats counter",
    );
    for (const [p, n] of [...this.reqStats].sort(([a], [b]) => cmp(a, b))) {
      lines.push(`gnatsd_varz_http_req_stats{server_id="${id}",path="${promLabel(p)}"} ${n}`);
    }
    return new Response(lines.join("\n") + "\n", {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  }

  dashboard(): Response {
    this.count("/dashboard");
    return new Response(dashboardHtml(), {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy":
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
          "connect-src 'self'; img-src data:",
      },
    });
  }
}

// ---- Helpers ----

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function normalizeBasePath(p: string): string {
  let b = (p ?? "").trim();
  if (b === "" || b === "/") return "";
  if (!b.startsWith("/")) b = "/" + b;
  return b.replace(/\/+$/, "");
}

/** `host:port` of a route URL, as nats-server lists configured routes in /varz. */
function routeHost(u: string): string {
  try {
    return new URL(u).host;
  } catch {
    return "";
  }
}

function emptySublistStats(): SublistStats {
  return {
    num_subscriptions: 0,
    num_cache: 0,
    num_inserts: 0,
    num_removes: 0,
    num_matches: 0,
    cache_hit_rate: 0,
    max_fanout: 0,
    avg_fanout: 0,
  };
}

/** nats-server's decodeSubs: `subs=detail` (any case) or a Go boolean. */
function decodeSubs(q: URLSearchParams): [boolean, boolean] {
  if ((q.get("subs") ?? "").toLowerCase() === "detail") return [false, true];
  return [decodeBool(q, "subs"), false];
}

function decodeState(q: URLSearchParams): ConnState {
  const s = q.get("state") ?? "";
  if (s === "") return "open";
  switch (s.toLowerCase()) {
    case "open":
      return "open";
    case "closed":
      return "closed";
    case "any":
    case "all":
      return "all";
  }
  throw new QueryError(`Error decoding state for ${s}`);
}

function stopOf(r: ConnRow, now: number): number {
  return r.closed && r.c.stop > 0 ? r.c.stop : now;
}

/** Sorts as nats-server: by cid (and start) ascending, uptime and reason ascending, others descending. */
function sortConns(rows: ConnRow[], sort: string, now: number): void {
  const by = (key: (r: ConnRow) => number, desc = true) =>
    rows.sort((a, b) => (desc ? key(b) - key(a) : key(a) - key(b)) || a.c.cid - b.c.cid);
  switch (sort) {
    case "cid":
    case "start":
      return void by((r) => r.c.cid, false);
    case "subs":
      return void by((r) => r.c.subs.size);
    case "pending":
      return void by((r) => r.c.out.pending);
    case "msgs_to":
      return void by((r) => r.c.outMsgs);
    case "msgs_from":
      return void by((r) => r.c.inMsgs);
    case "bytes_to":
      return void by((r) => r.c.outBytes);
    case "bytes_from":
      return void by((r) => r.c.inBytes);
    case "last":
      return void by((r) => r.c.last);
    case "idle":
      return void by((r) => stopOf(r, now) - r.c.last);
    case "uptime":
      return void by((r) => stopOf(r, now) - r.c.start, false);
    case "stop":
      return void by((r) => r.c.stop);
    case "reason":
      rows.sort((a, b) => cmp(a.c.closeReason, b.c.closeReason) || a.c.cid - b.c.cid);
      return;
  }
}

function connInfo(
  r: ConnRow,
  now: number,
  auth: boolean,
  subs: boolean,
  subsDetail: boolean,
): Record<string, unknown> {
  const c = r.c;
  const end = stopOf(r, now);
  const ci: Record<string, unknown> = {
    cid: c.cid,
    kind: "Client",
    type: "nats",
    ip: c.peer.port !== 0 ? c.peer.host : "",
    port: c.peer.port,
    start: goTime(c.start),
    last_activity: goTime(c.last),
  };
  if (r.closed) {
    ci.stop = goTime(c.stop);
    ci.reason = c.closeReason;
  }
  ci.rtt = rttString(c.rtt);
  ci.uptime = myUptime(end - c.start);
  ci.idle = myUptime(end - c.last);
  ci.pending_bytes = c.out.pending;
  ci.in_msgs = c.inMsgs;
  ci.out_msgs = c.outMsgs;
  ci.in_bytes = c.inBytes;
  ci.out_bytes = c.outBytes;
  ci.subscriptions = c.subs.size;
  const o = c.opts;
  if (o.name) ci.name = o.name;
  if (o.lang) ci.lang = o.lang;
  if (o.version) ci.version = o.version;
  const tls = (c as { tlsInfo?: { version: string; cipher: string } | null }).tlsInfo;
  if (tls) {
    ci.tls_version = tls.version;
    ci.tls_cipher_suite = tls.cipher;
  }
  if (auth && c.user) ci.authorized_user = c.user;
  if (c.subs.size > 0) {
    // nats-server keeps a closed connection's subscriptions with their account.
    if (subsDetail) ci.subscriptions_list_detail = subDetails(c.subs.values(), r.closed);
    else if (subs) ci.subscriptions_list = subList(c.subs.values());
  }
  return ci;
}

function subList(subs: Iterable<Subscription<Client>>): string[] {
  const out: string[] = [];
  for (const s of subs) {
    out.push(s.subject);
    if (out.length >= MAX_LIST_SIZE) break;
  }
  return out;
}

function subDetails(
  subs: Iterable<Subscription<Client>>,
  withAccount: boolean,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const s of subs) {
    const d: Record<string, unknown> = {};
    if (withAccount) d.account = GLOBAL_ACCOUNT;
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

const JSONP_CALLBACK = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;

/** nats-server's ResponseHandler: JSON, or JSONP when `callback` is given. */
function respond(q: URLSearchParams, body: string, status = 200): Response {
  const cb = q.get("callback") ?? "";
  if (cb !== "") {
    if (!JSONP_CALLBACK.test(cb) || cb.length > 128) {
      return badRequest(`invalid callback name: ${cb.slice(0, 128)}`);
    }
    return new Response(`${cb}(${body})`, {
      status,
      headers: { "content-type": "application/javascript" },
    });
  }
  return new Response(body, { status, headers: { "content-type": "application/json" } });
}

function badRequest(msg: string): Response {
  return new Response(msg, {
    status: 400,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

function notFound(): Response {
  return new Response("404 page not found\n", {
    status: 404,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "x-content-type-options": "nosniff",
    },
  });
}

function promLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function promValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

// ---- Listeners ----

function listen(
  mon: Monitor,
  secure: boolean,
  port: number,
): Deno.HttpServer<Deno.NetAddr> {
  const s = mon.server;
  const o = s.opts;
  const base = {
    hostname: o.httpHost,
    port: port === -1 ? 0 : port,
    onListen: () => {},
    onError: (e: unknown) => {
      s.log.error(`monitoring: ${e}`);
      return new Response("internal error", { status: 500 });
    },
  };
  const handler = (req: Request) => mon.handle(req);
  try {
    if (secure) {
      const t = o.tlsConfig;
      if (!t || t.certFile === "" || t.keyFile === "") {
        throw new Error("TLS cert and key required for HTTPS");
      }
      const cert = Deno.readTextFileSync(t.certFile);
      const key = Deno.readTextFileSync(t.keyFile);
      return Deno.serve({ ...base, cert, key }, handler);
    }
    return Deno.serve(base, handler);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg.startsWith("TLS cert and key")) throw e;
    throw new Error(`can't listen to the monitor port: ${msg}`);
  }
}

/**
 * Starts the monitoring listener (http_port or https_port; as in nats-server, not both). Throws
 * nats-server's error text when it cannot listen.
 */
export function startMonitoring(server: Server): MonitorHandle {
  const o = server.opts;
  if (o.httpPort !== 0 && o.httpsPort !== 0) {
    throw new Error(`can't specify both HTTP (${o.httpPort}) and HTTPs (${o.httpsPort}) ports`);
  }
  const mon = new Monitor(server);
  const secure = o.httpsPort !== 0;
  let srv: Deno.HttpServer<Deno.NetAddr>;
  try {
    srv = listen(mon, secure, secure ? o.httpsPort : o.httpPort);
  } catch (e) {
    mon.cpu.stop();
    throw e;
  }
  const port = srv.addr.port;
  if (secure) mon.httpsPort = port;
  else mon.httpPort = port;
  server.log.notice(
    `Starting ${secure ? "https" : "http"} monitor on ${hostPort(o.httpHost, port)}`,
  );
  let stopped: Promise<void> | null = null;
  return {
    httpPort: mon.httpPort,
    httpsPort: mon.httpsPort,
    stop(): Promise<void> {
      if (!stopped) {
        mon.cpu.stop();
        stopped = srv.shutdown().catch(() => {});
      }
      return stopped;
    },
  };
}
