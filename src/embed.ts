/**
 * The embedding API behind mod.ts: servers started inside the caller's own process (a test
 * suite, mostly), configured with the nats-server config file's own keys and checked by the same
 * code that checks a config file, so every option the file format has (and each one added later)
 * is an embedding option too, with the same names, units and error texts.
 *
 * Each server is self-contained: its own options, logger, listeners, timers and subject space.
 * Nothing is shared between two servers in one process, and nothing outlives `stop()`.
 */

import { ConfigError, type ConfigResult, parseConfigStringWithWarnings } from "./config.ts";
import { createLogger } from "./log.ts";
import { defaultOptions, mergeOptions, type Options } from "./options.ts";
import { type Logger, Server } from "./server.ts";

/** A value in a config object: what a NATS config file can hold. */
export type ConfigValue = string | number | boolean | ConfigValue[] | ConfigObject;

/** A block of a config (`authorization { ... }`), by the config file's key names. */
export type ConfigObject = { [key: string]: ConfigValue | undefined };

/**
 * A server's configuration, as the nats-server config file spells it: snake_case keys, sizes
 * in bytes (numbers), durations as strings ("2s", "1m30s"). The keys below are the common ones; any other key of the
 * config file is accepted too and checked at start, so an unknown or misspelled key is an error
 * with nats-server's text, exactly as in a file.
 *
 * Differences from a config file, because a server in a test process should never collide with
 * another: `port` (or `listen`'s port) 0, -1 or absent picks a free port, and the host defaults
 * to 127.0.0.1. `pid_file` and `ports_file_dir` belong to the `nats-server` command and are refused.
 */
export type ServerConfig = {
  /** `host:port` for clients; the port may be 0 or -1 for a free one. */
  listen?: string;
  /** Client listener host (default 127.0.0.1 here, 0.0.0.0 for the command). */
  host?: string;
  /** Client port: 0, -1 or absent picks a free port. */
  port?: number;
  server_name?: string;
  /** Debug log lines (with `log: "capture"`, they are captured too). */
  debug?: boolean;
  /** Protocol trace log lines. */
  trace?: boolean;
  /** Log to this file in nats-server's format instead of the `log` option's destination. */
  log_file?: string;
  /** Single user, token or `users: [{ user, password, permissions }]`. */
  authorization?: ConfigObject;
  no_auth_user?: string;
  /** `{ cert_file, key_file, ca_file, verify, timeout }`: TLS for clients. */
  tls?: ConfigObject;
  /** Monitoring port (-1 for a free one); see NatsServer.monitorUrl. */
  http_port?: number;
  https_port?: number;
  /** `{ name, listen: "127.0.0.1:-1", routes: [...], authorization, tls }`. */
  cluster?: ConfigObject;
  max_payload?: number;
  max_pending?: number;
  max_control_line?: number;
  max_connections?: number;
  max_subscriptions?: number;
  ping_interval?: string | number;
  ping_max?: number;
  write_deadline?: string | number;
  /** Any other nats-server config key. */
  [key: string]: ConfigValue | undefined;
};

/** Where a server's log lines go. Lines look like `[INF] Server is ready`. */
export type LogDestination =
  /** Kept in `server.logs` (the last 10,000 lines). The default. */
  | "capture"
  /** Dropped. */
  | "silent"
  /** nats-server's format on stderr (`[pid] date time [INF] ...`), as the command logs. */
  | "stderr"
  /** Each line handed to this function. */
  | ((line: string) => void);

export interface StartOptions {
  /**
   * Where log lines go (default "capture"). A config that names `log_file`, `syslog` or
   * `remote_syslog` logs there instead, as the nats-server command would.
   */
  log?: LogDestination;
}

/** A configuration the server refuses, with the reason (nats-server's text where it has one). */
export class EmbedConfigError extends TypeError {
  override name = "EmbedConfigError";
}

const MAX_CAPTURED_LINES = 10_000;

/** Lines as `[LVL] message`, to an array or a function; levels as the config asks. */
class LineLogger implements Logger {
  readonly debugEnabled: boolean;
  readonly traceEnabled: boolean;
  readonly lines: string[] = [];
  #sink: ((line: string) => void) | null;

  constructor(opts: Options, sink: ((line: string) => void) | null) {
    this.debugEnabled = opts.debug;
    this.traceEnabled = opts.trace;
    this.#sink = sink;
  }
  #add(level: string, msg: string): void {
    const line = `[${level}] ${msg}`;
    if (this.#sink) return this.#sink(line);
    this.lines.push(line);
    if (this.lines.length > MAX_CAPTURED_LINES) {
      this.lines.splice(0, this.lines.length - MAX_CAPTURED_LINES);
    }
  }
  notice(m: string) {
    this.#add("INF", m);
  }
  warn(m: string) {
    this.#add("WRN", m);
  }
  error(m: string) {
    this.#add("ERR", m);
  }
  fatal(m: string) {
    this.#add("FTL", m);
  }
  debug(m: string) {
    if (this.debugEnabled) this.#add("DBG", m);
  }
  trace(m: string) {
    if (this.traceEnabled) this.#add("TRC", m);
  }
}

const SILENT: Logger = {
  debugEnabled: false,
  traceEnabled: false,
  notice() {},
  warn() {},
  error() {},
  fatal() {},
  debug() {},
  trace() {},
};

/** A running server. `await using` (or `stop()`) shuts it down and releases everything. */
export class NatsServer {
  readonly #server: Server;
  readonly #captured: readonly string[];
  readonly #close: () => Promise<void>;
  #stopped: Promise<void> | null = null;

  private constructor(server: Server, captured: readonly string[], close: () => Promise<void>) {
    this.#server = server;
    this.#captured = captured;
    this.#close = close;
  }

  /** The same as startServer(). */
  static async start(config: ServerConfig = {}, options: StartOptions = {}): Promise<NatsServer> {
    const { opts, warnings } = resolve(config);
    const log = options.log ?? "capture";
    let logger: Logger;
    let close = () => Promise.resolve();
    let captured: string[] = [];
    if (opts.logFile !== "" || opts.syslog || opts.remoteSyslog !== "" || log === "stderr") {
      const l = createLogger(opts);
      logger = l;
      close = () => l.close();
    } else if (log === "silent") {
      logger = SILENT;
    } else {
      const l = new LineLogger(opts, typeof log === "function" ? log : null);
      logger = l;
      captured = l.lines;
    }
    try {
      for (const w of warnings) logger.warn(w);
      const server = await Server.create(opts, logger);
      await server.start();
      return new NatsServer(server, captured, close);
    } catch (e) {
      await close();
      throw e;
    }
  }

  /** What a client connects to: `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://${connectHost(this.#server.opts.host)}:${this.#server.port}`;
  }

  /** The client port actually bound. */
  get port(): number {
    return this.#server.port;
  }

  /** `http://127.0.0.1:<port>` (https with `https_port`) when monitoring is on, else undefined. */
  get monitorUrl(): string | undefined {
    const m = this.#server.monitor;
    if (!m) return undefined;
    const host = connectHost(this.#server.opts.httpHost);
    return m.httpsPort ? `https://${host}:${m.httpsPort}` : `http://${host}:${m.httpPort}`;
  }

  /** `nats://127.0.0.1:<port>` of the route listener, for other servers' `routes`; or undefined. */
  get clusterUrl(): string | undefined {
    const c = this.#server.cluster;
    return c ? `nats://${connectHost(this.#server.opts.cluster.host)}:${c.port}` : undefined;
  }

  /** The server's id (INFO `server_id`). */
  get id(): string {
    return this.#server.id;
  }

  /** The server's name (INFO `server_name`): `server_name`, else the id. */
  get name(): string {
    return this.#server.name;
  }

  /** Captured log lines, oldest first (empty unless `log` is "capture"). */
  get logs(): readonly string[] {
    return this.#captured;
  }

  /** How many other servers this one has a route to. */
  get routeCount(): number {
    return this.#server.cluster?.byId.size ?? 0;
  }

  /** Whether the server is running (false once stop() has begun). */
  get running(): boolean {
    return this.#server.running;
  }

  /**
   * Closes the listeners and every connection (clients see the connection close, as when
   * nats-server shuts down) and waits until all of it is released. Calling it again is harmless.
   */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await this.#server.shutdown();
      await this.#close();
    })();
    return this.#stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Starts a server and resolves once it accepts clients (and its monitoring and route listeners,
 * when configured, are bound).
 *
 * @example
 * ```ts
 * import { startServer } from "@nats-server-deno/server";
 * import { connect } from "@nats-io/transport-node";
 *
 * await using server = await startServer({ authorization: { token: "s3cret" } });
 * const nc = await connect({ servers: server.url, token: "s3cret" });
 * await nc.close();
 * ```
 */
export function startServer(
  config: ServerConfig = {},
  options: StartOptions = {},
): Promise<NatsServer> {
  return NatsServer.start(config, options);
}

/** Several servers in one full mesh of routes. `await using` stops them all. */
export class NatsCluster {
  readonly servers: readonly NatsServer[];

  private constructor(servers: NatsServer[]) {
    this.servers = servers;
  }

  /** The same as startCluster(). */
  static async start(
    size = 3,
    config: ServerConfig = {},
    options: ClusterOptions = {},
  ): Promise<NatsCluster> {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`cluster size must be a positive integer, got ${size}`);
    }
    const block = (config.cluster ?? {}) as ConfigObject;
    const routes = Array.isArray(block.routes) ? block.routes : [];
    const servers: NatsServer[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const seed = servers[0]?.clusterUrl;
        const cluster: ConfigObject = {
          listen: "127.0.0.1:-1",
          ...block,
          routes: seed ? [...routes, seed] : routes,
        };
        servers.push(await startServer({ ...config, cluster }, options));
      }
      await waitUntil(
        () => servers.every((s) => s.routeCount >= size - 1),
        options.timeoutMs ?? 10_000,
        () =>
          `cluster of ${size} did not form: routes per server ` +
          servers.map((s) => s.routeCount).join(", "),
      );
    } catch (e) {
      await Promise.all(servers.map((s) => s.stop()));
      throw e;
    }
    return new NatsCluster(servers);
  }

  /** Every server's client URL, for a client's `servers` list. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

export interface ClusterOptions extends StartOptions {
  /** How long to wait for every server to route to every other (default 10 s). */
  timeoutMs?: number;
}

/**
 * Starts `size` servers, each with a route listener on a free port and routes to the first one
 * (nats-server's gossip completes the mesh), and resolves once every server has a route to every
 * other. `config` applies to each server; its `cluster` block (name, authorization, tls...) too.
 *
 * Interest still travels between servers after that, as in any NATS cluster: a subscription made
 * on one server reaches the others a moment later.
 */
export function startCluster(
  size = 3,
  config: ServerConfig = {},
  options: ClusterOptions = {},
): Promise<NatsCluster> {
  return NatsCluster.start(size, config, options);
}

// ---- helpers ----------------------------------------------------------------------------------

/** Config object -> Options, through the config file's own mapping and checks. */
function resolve(config: ServerConfig): { opts: Options; warnings: string[] } {
  // One top-level key per line, so a problem's line number tells which key it is about.
  const entries = Object.entries(config).filter(([, v]) => v !== undefined);
  const text = entries.map(([k, v]) => `${confString(k)}: ${confValue(v!, k)}`).join("\n");
  const keyAt = (e: ConfigError) => entries[e.line - 1]?.[0] ?? "config";
  let result: ConfigResult;
  try {
    result = parseConfigStringWithWarnings(text, "<config>");
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const errors = e.errors.map((x) => new ConfigError(`${keyAt(x)}: ${x.reason}`, x, x.reason));
    throw ConfigError.collect(errors);
  }
  const { options } = result;
  const warnings = result.warnings.map((w) => `${keyAt(w)}: ${w.reason}`);
  if (options.pidFile) throw new EmbedConfigError("pid_file is for the nats-server command");
  if (options.portsFileDir) {
    throw new EmbedConfigError("ports_file_dir is for the nats-server command");
  }
  const opts = mergeOptions(defaultOptions(), options);
  if (options.host === undefined) opts.host = "127.0.0.1";
  if (!options.port) opts.port = -1;
  if (options.httpHost === undefined) opts.httpHost = "127.0.0.1";
  if (options.cluster && options.cluster.host === undefined) opts.cluster.host = "127.0.0.1";
  return { opts, warnings };
}

/** A JavaScript value in the NATS config syntax (JSON-like, but with the file's escapes). */
function confValue(v: ConfigValue, path: string): string {
  if (typeof v === "string") return confString(v);
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new EmbedConfigError(`${path}: ${v} is not a config value`);
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map((x, i) => confValue(x, `${path}[${i}]`)).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    const fields = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${confString(k)}: ${confValue(x!, `${path}.${k}`)}`);
    return `{${fields.join(", ")}}`;
  }
  throw new EmbedConfigError(`${path}: ${v === null ? "null" : typeof v} is not a config value`);
}

/** A quoted config string: only the escapes the config lexer knows (\" \\ \t \n \r \xXX). */
function confString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

/** A wildcard listener is reached on loopback; an IPv6 literal needs brackets in a URL. */
function connectHost(host: string): string {
  if (host === "" || host === "0.0.0.0") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "[::1]";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

async function waitUntil(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((r) => setTimeout(r, 10));
  }
}
