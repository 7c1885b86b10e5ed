/**
 * The monitoring HTTP(S) server: nats-server's endpoints (/varz, /connz, /routez, /subsz,
 * /gatewayz, /leafz, /accountz, /accstatz, /jsz, /healthz and the HTML index at /) with the same
 * JSON field names, order, units, query parameters and error texts, plus /metrics (Prometheus
 * text format) and /dashboard (a self-contained live page).
 */

import { hostPort, type Server } from "./server.ts";
import { VERSION } from "./options.ts";
import { decodeBool, decodeInt, decodeUint64, nowMs, QueryError } from "./monitor/format.ts";
import { goJson } from "./go_json.ts";
import { dashboardHtml } from "./monitor/dashboard.ts";
import { dashboardCsp } from "./monitor/live.ts";
import { normalizeBasePath, varz } from "./monitor/varz.ts";
import {
  CONN_ALL,
  CONN_CLOSED,
  CONN_OPEN,
  connz,
  type ConnzOptions,
  defaultConnzOptions,
} from "./monitor/connz.ts";
import { routeList, routez } from "./monitor/routez.ts";
import { defaultSubszOptions, subsz } from "./monitor/subsz.ts";
import { sublistStats } from "./monitor/subs.ts";
import { accountStatz, accountz } from "./monitor/accountz.ts";
import { gatewayz } from "./monitor/gatewayz.ts";
import { leafz } from "./monitor/leafz.ts";
import { defaultJszOptions, jsz } from "./monitor/jsz.ts";
import { healthz } from "./monitor/healthz.ts";

export { DEFAULT_LIST_SIZE, MAX_LIST_SIZE } from "./monitor/subs.ts";

export interface MonitorHandle {
  /** Bound ports (0 when that listener is off). */
  httpPort: number;
  httpsPort: number;
  stop(): Promise<void>;
}

/** The HTTP side: each endpoint decodes its query into the builder's options. */
type Handler = (q: URLSearchParams) => Response;

class Monitor {
  readonly server: Server;
  readonly base: string;
  httpPort = 0;
  httpsPort = 0;
  #routes: Map<string, Handler>;

  constructor(server: Server) {
    this.server = server;
    this.base = normalizeBasePath(server.opts.httpBasePath);
    const s = server;
    const r = new Map<string, Handler>();
    r.set("/varz", (q) => {
      this.count("/varz");
      return respond(q, goJson(varz(s)));
    });
    r.set("/connz", (q) => {
      const o = connzQuery(q);
      this.count("/connz");
      return respond(q, goJson(connz(s, o)));
    });
    r.set("/routez", (q) => {
      const [subscriptions, subscriptionsDetail] = decodeSubs(q);
      this.count("/routez");
      return respond(q, goJson(routez(s, { subscriptions, subscriptionsDetail })));
    });
    r.set("/gatewayz", (q) => {
      this.count("/gatewayz");
      const accounts = decodeBool(q, "accs");
      const o = { name: q.get("gw_name") ?? "", accounts, accountName: q.get("acc_name") ?? "" };
      return respond(q, goJson(gatewayz(s, o)));
    });
    r.set("/leafz", (q) => {
      this.count("/leafz");
      const o = { subscriptions: decodeBool(q, "subs"), account: q.get("acc") ?? "" };
      return respond(q, goJson(leafz(s, o)));
    });
    const subszHandler = (q: URLSearchParams) => {
      this.count("/subsz");
      const o = defaultSubszOptions();
      o.subscriptions = decodeBool(q, "subs");
      o.offset = decodeInt(q, "offset");
      o.limit = decodeInt(q, "limit");
      o.test = q.get("test") ?? "";
      o.account = q.get("acc") ?? "";
      const sz = subsz(s, o);
      // nats-server answers the stats alone when no subscription is listed.
      return respond(q, goJson(sz.listed ? sz.full : sz.stats));
    };
    r.set("/subsz", subszHandler);
    r.set("/subscriptionsz", subszHandler);
    r.set("/accountz", (q) => {
      this.count("/accountz");
      return respond(q, goJson(accountz(s, { account: q.get("acc") ?? "" })));
    });
    r.set("/accstatz", (q) => {
      this.count("/accstatz");
      const includeUnused = decodeBool(q, "unused");
      return respond(q, goJson(accountStatz(s, { accounts: [], includeUnused })));
    });
    r.set("/jsz", (q) => {
      this.count("/jsz");
      const o = defaultJszOptions();
      o.accounts = decodeBool(q, "accounts");
      o.streams = decodeBool(q, "streams");
      o.consumer = decodeBool(q, "consumers");
      o.config = decodeBool(q, "config");
      o.offset = decodeInt(q, "offset");
      o.limit = decodeInt(q, "limit");
      o.leaderOnly = decodeBool(q, "leader-only");
      o.account = q.get("acc") ?? "";
      return respond(q, goJson(jsz(s, o)));
    });
    r.set("/healthz", (q) => {
      this.count("/healthz");
      const jsEnabled = decodeBool(q, "js-enabled");
      const jsEnabledOnly = decodeBool(q, "js-enabled-only") || jsEnabled;
      const jsServerOnly = decodeBool(q, "js-server-only");
      const h = healthz(s, { jsEnabledOnly, jsServerOnly });
      return respond(q, goJson(h, false), h.error === undefined ? 200 : 503);
    });
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
    this.server.monitorStats.countRequest(p);
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
      return h(q);
    } catch (e) {
      if (e instanceof QueryError) return badRequest(e.message);
      this.server.log.error(`Error handling monitoring request ${url.pathname}: ${e}`);
      return new Response("internal error", { status: 500 });
    }
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
    const sl = sublistStats([...s.accounts.values()].map((a) => a.sublist));
    const routes = routeList(s).length;
    const now = nowMs();
    metric(
      "gnatsd_varz_servers",
      "gauge",
      "Servers known to this one (itself and routes)",
      1 + routes,
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
    metric("gnatsd_varz_routes", "gauge", "Cluster routes", routes);
    metric("gnatsd_varz_remotes", "gauge", "Remote servers", routes);
    metric("gnatsd_varz_subscriptions", "gauge", "Subscriptions", s.subscriptionCount);
    metric("gnatsd_varz_mem", "gauge", "Resident set size in bytes", Deno.memoryUsage().rss);
    metric("gnatsd_varz_cpu", "gauge", "CPU use in percent of one core", s.monitorStats.cpu());
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
    for (const [p, n] of [...s.monitorStats.httpReqStats].sort(([a], [b]) => cmp(a, b))) {
      lines.push(`gnatsd_varz_http_req_stats{server_id="${id}",path="${promLabel(p)}"} ${n}`);
    }
    return new Response(lines.join("\n") + "\n", {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  }

  dashboard(): Response {
    this.count("/dashboard");
    const ws = this.server.websocket;
    const live = ws ? { port: ws.port, tls: ws.tls !== null } : null;
    return new Response(dashboardHtml(live), {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": dashboardCsp(live),
      },
    });
  }
}

// ---- Helpers ----

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** nats-server's decodeSubs: `subs=detail` (any case) or a Go boolean. */
function decodeSubs(q: URLSearchParams): [boolean, boolean] {
  if ((q.get("subs") ?? "").toLowerCase() === "detail") return [false, true];
  return [decodeBool(q, "subs"), false];
}

/** nats-server's decodeState: open, closed, or any/all. */
function decodeState(q: URLSearchParams): number {
  const s = q.get("state") ?? "";
  if (s === "") return CONN_OPEN;
  switch (s.toLowerCase()) {
    case "open":
      return CONN_OPEN;
    case "closed":
      return CONN_CLOSED;
    case "any":
    case "all":
      return CONN_ALL;
  }
  throw new QueryError(`Error decoding state for ${s}`);
}

/** /connz's query as nats-server's HandleConnz reads it, in its order (errors included). */
function connzQuery(q: URLSearchParams): ConnzOptions {
  const o = defaultConnzOptions();
  o.sort = q.get("sort") ?? "";
  o.auth = decodeBool(q, "auth");
  [o.subscriptions, o.subscriptionsDetail] = decodeSubs(q);
  o.offset = decodeInt(q, "offset");
  o.limit = decodeInt(q, "limit");
  o.cid = decodeUint64(q, "cid");
  o.state = decodeState(q);
  o.user = q.get("user") ?? "";
  o.account = q.get("acc") ?? "";
  o.mqttClient = q.get("mqtt_client") ?? "";
  return o;
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
  const srv = listen(mon, secure, secure ? o.httpsPort : o.httpPort);
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
        stopped = srv.shutdown().catch(() => {});
      }
      return stopped;
    },
  };
}
