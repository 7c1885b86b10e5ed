/**
 * The server: listeners, the client registry, the subject list, message routing, shared timers,
 * stats and the lifecycle. Everything per connection lives in client.ts; this file owns what is
 * shared between connections.
 */

import {
  Client,
  type ClientSub,
  ClosedState,
  LEAF,
  type PermissionChecker,
  ROUTER,
} from "./client.ts";
import { Cluster, type Route } from "./route.ts";
import type { LeafNodes } from "./leafnode/leafnodes.ts";
import { configuredClusterName, leafnodeReloadError } from "./leafnode/options.ts";
import type { Leaf } from "./leafnode/connection.ts";
import { leafTakes } from "./leafnode/takes.ts";
import type { PubArg } from "./parser.ts";
import {
  DEFAULT_TLS_TIMEOUT_S,
  formatGoDuration,
  GO_VERSION,
  MAX_PAYLOAD_MAX_SIZE,
  type Options,
  type Permissions,
  PROTO,
  setBaselineOptions,
  validateOptions,
  VERSION,
} from "./options.ts";
import type { SublistResult } from "./sublist.ts";
import { Account, GLOBAL_ACCOUNT } from "./accounts/account.ts";
import { InternalClient, type InternalHandler } from "./internal_client.ts";
import { configureAccounts } from "./accounts/setup.ts";
import { expireResponses } from "./accounts/imports.ts";
import { releaseString } from "./version.ts";
import { acceptLoop, isWildcardHost, listenTcp, peerOf } from "./transport.ts";
import { checkPassword, isBcrypt } from "./password.ts";
import { newNonce, verifyNonceSignature } from "./nkeys.ts";
import { compilePermissions } from "./permissions.ts";
import { type MonitorHandle, startMonitoring } from "./monitor.ts";
import { MonitorStats } from "./monitor/stats.ts";
import { closedConn, type ConnView } from "./monitor/closed.ts";
import { IdleCollector } from "./idle_gc.ts";
import { SystemEvents } from "./system/events.ts";
import { installRequests } from "./system/requests.ts";
import type { OperatorMode } from "./operator/mode.ts";
import { checkResolverReload } from "./operator/validate.ts";
import { certIdentities, loadTlsContext, sameDN, serverHandshake, type TlsContext } from "./tls.ts";
import type { X509Certificate } from "node:crypto";
import type { WebsocketListener } from "./websocket/listener.ts";
import type { JetStream } from "./jetstream/jetstream.ts";
import { accountLimits } from "./jetstream/account_limits.ts";
import { getHash } from "./jetstream/settings.ts";

/** src/operator/mode.ts, once Server.create has loaded it for a server in operator mode. */
let operatorModule: typeof import("./operator/mode.ts") | null = null;

/** Whether these options put the server in operator mode (trusted operators or keys). */
function inOperatorMode(opts: Options): boolean {
  return opts.trustedOperators.length > 0 || opts.trustedKeys !== null;
}

/** What the server needs from a logger (see log.ts). */
export interface Logger {
  readonly debugEnabled: boolean;
  readonly traceEnabled: boolean;
  notice(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  fatal(msg: string): void;
  debug(msg: string): void;
  trace(msg: string): void;
}

/** A logger plus the per-connection prefix nats-server puts on connection log lines. */
export class ServerLog {
  constructor(public logger: Logger) {}
  get traceEnabled(): boolean {
    return this.logger.traceEnabled;
  }
  get debugEnabled(): boolean {
    return this.logger.debugEnabled;
  }
  notice(m: string): void {
    this.logger.notice(m);
  }
  warn(m: string): void {
    this.logger.warn(m);
  }
  error(m: string): void {
    this.logger.error(m);
  }
  fatal(m: string): void {
    this.logger.fatal(m);
  }
  debug(m: string): void {
    if (this.logger.debugEnabled) this.logger.debug(m);
  }
  noticec(c: Client, m: string): void {
    this.logger.notice(c.logPrefix + m);
  }
  errorc(c: Client, m: string): void {
    this.logger.error(c.logPrefix + m);
  }
  debugc(c: Client, m: string): void {
    if (this.logger.debugEnabled) this.logger.debug(c.logPrefix + m);
  }
  tracec(c: Client, m: string): void {
    if (this.logger.traceEnabled) this.logger.trace(c.logPrefix + m);
  }
}

export interface ServerStats {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  slowConsumers: number;
  totalConnections: number;
}

const enc = new TextEncoder();
/**
 * The shared timer never runs more often than this, so connections arriving in a burst (whose
 * timers all fall due at different times) cost a bounded number of passes over the registry.
 */
const MIN_TICK_MS = 20;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A server id shaped like nats-server's (an nkey public key: 'N' + 55 base32 chars). */
export function newServerId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(55));
  let s = "N";
  for (const b of bytes) s += BASE32[b & 31];
  return s;
}

/** A listener could not start; the message is nats-server's fatal log text. */
export class StartError extends Error {
  override name = "StartError";
}

export class Server {
  opts: Options;
  readonly log: ServerLog;
  readonly id = newServerId();
  readonly name: string;
  /** nats-server's getHash of the name (jetstream/settings.ts), set by start. */
  hash = "";
  /** Every account by name: `$G`, the system account, and those configured. */
  readonly accounts = new Map<string, Account>();
  readonly globalAccount = new Account(GLOBAL_ACCOUNT);
  systemAccount: Account | null = null;
  /** The system account's events and services (null without a system account). */
  events: SystemEvents | null = null;
  /**
   * The generated no_auth_user that keeps `$G` open when the only configured account is the
   * system account (nats-server's sysAccOnlyNoAuthUser); "" otherwise.
   */
  sysOnlyNoAuthUser = "";
  /** Request counts and CPU sampling, shared by /varz over HTTP and over NATS. */
  readonly monitorStats = new MonitorStats();
  readonly clients = new Map<number, Client>();
  readonly stats: ServerStats = {
    inMsgs: 0,
    inBytes: 0,
    outMsgs: 0,
    outBytes: 0,
    slowConsumers: 0,
    totalConnections: 0,
  };
  readonly startTime = new Date();
  configLoadTime = new Date();
  /**
   * Recently closed clients as /connz shows them (not the Clients: see closedConn), oldest
   * first, bounded by max_closed_clients.
   */
  readonly closedClients: ConnView[] = [];
  /** When the cluster's client URLs last changed (ms); see Client's first PONG. */
  connectUrlsUpdated = 0;
  /** The monitoring HTTP(S) server, when http_port or https_port is set. */
  monitor: MonitorHandle | null = null;
  /** The port actually bound (differs from opts.port for port 0 / -1). */
  port = 0;
  /** Whether the client listener serves IPv6 too (a wildcard host on a dual-stack machine). */
  ipv6 = false;
  #listener: Deno.Listener | null = null;
  #nextCid = 1;
  #pending: Client[] = [];
  #flushScheduled = false;
  #ticker: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #done: Promise<void>;
  #resolveDone!: () => void;
  #users = new Map<string, AuthUser>();
  /** nkey users by public key: they prove the key by signing the nonce sent in INFO. */
  #nkeyUsers = new Map<string, AuthUser>();
  /** Internal deliveries waiting for the message being routed to finish (deferInternal). */
  #deferred: Deferred[] = [];
  #draining = false;
  /** Collects once the server goes quiet after a load (see idle_gc.ts). */
  readonly #idleGc = new IdleCollector();
  #removedClients = 0;
  /** Routes and cluster state, when a cluster port is configured. */
  cluster: Cluster | null = null;
  /** Leafnode connections, when a leafnode port or remotes are configured. */
  leafnodes: LeafNodes | null = null;
  #msgStamp = 0;
  #routesToSend: Forwarder[] = [];
  /** Client TLS, loaded once at start (and on reload). */
  tls: TlsContext | null = null;
  /** The websocket listener, when `websocket { port }` is set. */
  websocket: WebsocketListener | null = null;
  /** JetStream, when enabled (`-js`, `jetstream {}`) and started. */
  jetstream: JetStream | null = null;
  /** Operator mode (JWT users, accounts from a resolver); null otherwise. See src/operator/. */
  operator: OperatorMode | null = null;

  constructor(opts: Options, logger: Logger) {
    setBaselineOptions(opts);
    validateOptions(opts);
    this.opts = opts;
    this.log = new ServerLog(logger);
    this.name = opts.serverName || this.id;
    this.#done = new Promise((r) => (this.#resolveDone = r));
    this.accounts.set(GLOBAL_ACCOUNT, this.globalAccount);
    if (inOperatorMode(opts)) {
      if (operatorModule === null) {
        throw new Error(
          "a server in operator mode is made by Server.create (it loads the modules)",
        );
      }
      this.operator = operatorModule.OperatorMode.create(this, opts);
    }
    configureAccounts(this, opts);
    this.#configureAuth();
    this.tls = opts.tls && opts.tlsConfig ? loadTlsContext(opts.tlsConfig) : null;
  }

  /**
   * Makes a server, after what has to come before its constructor: the URL resolver's probe and
   * loading operator mode's modules (src/operator/, src/jwt/), which only a server in operator
   * mode loads. `new Server` does for any other configuration.
   */
  static async create(opts: Options, logger: Logger): Promise<Server> {
    if (inOperatorMode(opts)) {
      const { probeUrlResolver } = await import("./operator/resolver.ts");
      await probeUrlResolver(opts);
      operatorModule ??= await import("./operator/mode.ts");
    }
    return new Server(opts, logger);
  }

  get now(): number {
    return Date.now();
  }

  get running(): boolean {
    return this.#running;
  }

  get authRequired(): boolean {
    const o = this.opts;
    return o.username !== "" || o.authorization !== "" || o.users.length > 0 ||
      this.operator !== null;
  }

  /** The account named, or `$G` for an empty name. */
  accountFor(name: string | undefined): Account {
    return this.accounts.get(name || GLOBAL_ACCOUNT) ?? this.globalAccount;
  }

  /** The internal client of an account, made on first use. */
  internalClient(acc: Account): InternalClient {
    if (acc.internal === null) acc.internal = new InternalClient(this, acc);
    return acc.internal;
  }

  #configureAuth(): void {
    const o = this.opts;
    this.#users.clear();
    this.#nkeyUsers.clear();
    for (const u of o.users) {
      const account = this.accountFor(u.account);
      const permissions = u.permissions ??
        (u.account ? account.defaultPermissions : o.defaultPermissions);
      const perms = compilePermissions(permissions);
      const entry = { password: u.password, perms, account, permissions };
      if (u.nkey) this.#nkeyUsers.set(u.nkey, entry);
      else this.#users.set(u.username, entry);
    }
    const sysOnly = this.sysOnlyNoAuthUser;
    if (sysOnly !== "") {
      this.#users.set(sysOnly, {
        password: sysOnly.slice(5),
        perms: null,
        account: this.globalAccount,
      });
    }
  }

  /**
   * Binds the client listener and starts accepting. Resolves once listening. The modules of the
   * optional subsystems (JetStream, websocket, leafnodes) are loaded here, and only when the
   * options enable them: loaded source costs an idle server memory (most of it is JetStream's).
   */
  async start(): Promise<void> {
    const o = this.opts;
    this.hash = await getHash(this.name);
    const jetstreamModule = o.jetstream ? await import("./jetstream/jetstream.ts") : null;
    const websocketModule = o.websocket.port !== 0 ? await import("./websocket/listener.ts") : null;
    const leafnodeModule = o.leafnode.port !== 0 || o.leafnode.remotes.length > 0
      ? await import("./leafnode/leafnodes.ts")
      : null;
    this.log.notice("Starting nats-server");
    this.log.notice(`  Version:  ${VERSION}`);
    this.log.notice(`  Git:      [not set]`);
    this.log.notice(`  Release:  ${releaseString()}`);
    this.log.debug(`  Go build: ${GO_VERSION}`);
    // The cluster name (a generated one too) is known before any listener starts.
    if (o.cluster.port !== 0) {
      this.cluster = new Cluster(this);
      this.log.notice(`  Cluster:  ${this.cluster.name}`);
    } else {
      // A configured name, or a leaf-only server's (nats-server names it for its leafs).
      const clusterName = configuredClusterName(o);
      if (clusterName !== "") this.log.notice(`  Cluster:  ${clusterName}`);
    }
    this.log.notice(`  Name:     ${this.name}`);
    if (o.jetstream) this.log.notice(`  Node:     ${this.hash}`);
    this.log.notice(`  ID:       ${this.id}`);
    this.#startupWarnings();
    this.operator?.logStartup();
    // nats-server's order: monitoring, clients, then (after "Server is ready") routes. A failure
    // undoes the rest.
    try {
      if (o.httpPort !== 0 || o.httpsPort !== 0) {
        try {
          this.monitor = startMonitoring(this);
        } catch (e) {
          throw new StartError(`Can't start monitoring: ${(e as Error).message}`);
        }
      }
      if (jetstreamModule !== null) {
        // nats-server refuses this before JetStream starts, with no "Can't start" in front.
        if (this.systemAccount !== null && accountLimits(this, this.systemAccount) !== null) {
          throw new StartError("Not allowed to enable JetStream on the system account");
        }
        try {
          this.jetstream = jetstreamModule.JetStream.enable(this);
        } catch (e) {
          throw new StartError(`Can't start JetStream: ${(e as Error).message}`);
        }
      }
      // nats-server starts websocket before the client listener.
      if (websocketModule !== null) {
        this.websocket = new websocketModule.WebsocketListener(this);
        try {
          this.websocket.start();
        } catch (e) {
          throw new StartError((e as Error).message);
        }
      }
      // Then leafnodes (nats-server's order): routes made later carry our leafnode URL.
      if (leafnodeModule !== null) {
        this.leafnodes = new leafnodeModule.LeafNodes(this);
        this.leafnodes.start();
      }
      const port = o.port === -1 ? 0 : o.port;
      try {
        const l = listenTcp(o.host, port);
        this.#listener = l.listener;
        this.ipv6 = l.ipv6;
      } catch (e) {
        throw new StartError(
          `Error listening on port: ${hostPort(o.host, o.port)}, ${
            JSON.stringify((e as Error).message)
          }`,
        );
      }
    } catch (e) {
      this.monitor?.stop();
      this.leafnodes?.stop();
      this.websocket?.stop();
      this.#stopJetStream();
      throw e;
    }
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.log.notice(`Listening for client connections on ${hostPort(o.host, this.port)}`);
    if (this.tls) this.log.notice("TLS required for client connections");
    const tc = o.tlsConfig;
    if (this.tls && tc && (tc.ciphers.length > 0 || tc.curvePreferences.length > 0)) {
      this.log.warn(
        "TLS cipher_suites/curve_preferences are accepted but not enforced: Deno's TLS " +
          "negotiates its own modern suites (TLS 1.3, ECDHE with AES-GCM or ChaCha20)",
      );
    }
    this.#running = true;
    if (this.systemAccount) {
      this.events = new SystemEvents(this, this.systemAccount);
      this.events.start(installRequests);
    }
    this.operator?.start();
    this.#armTick(this.#maxTickMs());
    acceptLoop(this.#listener, "client", (m) => this.log.error(m), (conn) => {
      if (this.lameDuck || !this.#running) conn.close();
      else this.#createClient(conn);
    });
    this.log.notice("Server is ready");
    if (!this.cluster) return;
    try {
      this.cluster.start();
    } catch (e) {
      this.#running = false;
      clearTimeout(this.#ticker);
      this.#closeListener();
      this.monitor?.stop();
      this.leafnodes?.stop();
      this.#stopJetStream();
      this.cluster.stop();
      throw new StartError(
        `Error listening on router port: ${o.cluster.port} - ${(e as Error).message}`,
      );
    }
  }

  /** What nats-server says at start about the configuration, in its order. */
  #startupWarnings(): void {
    const o = this.opts;
    const plain = (p: string) => !isBcrypt(p);
    if (
      (o.password !== "" && plain(o.password)) ||
      o.users.some((u) =>
        !u.nkey && !(u.password === "" && o.tlsConfig?.verifyAndMap) &&
        plain(u.password)
      )
    ) {
      this.log.warn("Plaintext passwords detected, use nkeys or bcrypt");
    }
    if (o.configFile !== "") this.log.notice(`Using configuration file: ${o.configFile}`);
    if (o.maxPayload > MAX_PAYLOAD_MAX_SIZE) {
      this.log.warn(
        "Maximum payloads over 8.00 MB are generally discouraged and could lead to poor performance",
      );
    }
    if (Object.keys(o.jsAccDefaultDomain).length > 0) {
      this.log.warn(
        "The option `default_js_domain` is a temporary backwards compatibility measure and will be removed",
      );
    }
  }

  /** Resolves when the server has shut down. */
  done(): Promise<void> {
    return this.#done;
  }

  #createClient(conn: Deno.Conn): void {
    const c = new Client(this, conn, peerOf(conn), this.nextId());
    if (!this.admitClient(c)) return;
    if (this.tls) this.#startTls(c, conn, this.tls);
    else c.run();
  }

  /**
   * Greets and registers a new client connection (from any listener): counts it, sends INFO,
   * enforces max_connections. False when it was refused (and closed).
   */
  admitClient(c: Client): boolean {
    // With nkey users or in operator mode, each client gets a nonce to sign (INFO "nonce").
    if (this.#nkeyUsers.size > 0 || this.operator !== null) c.nonce = newNonce();
    this.stats.totalConnections++;
    this.log.debugc(c, "Client connection created");
    this.sendInfo(c);
    if (this.clients.size >= this.opts.maxConn) {
      this.log.errorc(c, "maximum connections exceeded");
      c.sendErr("maximum connections exceeded");
      c.close(ClosedState.MaxConnectionsExceeded);
      return false;
    }
    this.clients.set(c.cid, c);
    // Every client starts in `$G`, as in nats-server; authentication may move it.
    c.setAccount(this.globalAccount);
    return true;
  }

  /** INFO went out in clear; once it is written, the client must start the TLS handshake. */
  async #startTls(c: Client, conn: Deno.Conn, ctx: TlsContext): Promise<void> {
    c.flush();
    await c.out.drained();
    if (c.closed) return;
    let first: Uint8Array | undefined;
    if (this.opts.allowNonTls) {
      // TLS offered, not required: a TLS ClientHello starts with record type 0x16, anything
      // else is the plain protocol (nats-server peeks the same way).
      const buf = new Uint8Array(4);
      const n = await conn.read(buf).catch(() => null);
      if (n === null) {
        c.close(ClosedState.ClientClosed);
        return;
      }
      first = buf.subarray(0, n);
      if (first[0] !== 0x16) {
        c.run(first);
        return;
      }
    }
    this.log.debugc(c, "Starting TLS client connection handshake");
    try {
      const t = await serverHandshake(conn, ctx, first);
      if (c.closed) {
        t.close();
        return;
      }
      c.conn = t;
      // nats-server's spelling: "1.3", not "TLSv1.3".
      c.tlsInfo = {
        version: t.protocol.replace(/^TLSv/, ""),
        cipher: t.cipher,
        peer: t.socket.getPeerX509Certificate() ?? null,
      };
      this.log.debugc(c, "TLS handshake complete");
      this.log.debugc(c, `TLS version ${c.tlsInfo.version}, cipher suite ${t.cipher}`);
    } catch (e) {
      this.log.errorc(c, `TLS handshake error: ${(e as Error).message}`);
      c.close(ClosedState.TLSHandshakeError);
      return;
    }
    c.run();
  }

  /** Connection ids are shared by clients and routes, as nats-server's cid/rid are. */
  nextId(): number {
    return this.#nextCid++;
  }

  /** This server's client URLs, as other servers advertise them (host:port). */
  ownConnectUrls(): string[] {
    const o = this.opts;
    if (o.clientAdvertise !== "") return [o.clientAdvertise];
    const all = addressesOf(o.host);
    // Other servers' clients cannot reach our loopback, so it is advertised only when alone.
    const reachable = all.length > 1 ? all.filter((h) => !h.startsWith("127.")) : all;
    return reachable.map((h) => hostPort(h, this.port));
  }

  /**
   * All client URLs of the cluster, ours first, for INFO and /varz connect_urls; empty (so the
   * field is left out) until another server's URLs are known, as nats-server does.
   */
  connectUrls(): string[] {
    // Once another server's URLs were learned the list stays, ours at least, when routes go.
    if (!this.cluster || this.opts.cluster.noAdvertise || !this.cluster.learnedUrls) return [];
    const all = new Set(this.ownConnectUrls());
    for (const urls of this.cluster.remoteUrls.values()) for (const u of urls) all.add(u);
    return [...all];
  }

  /** The cluster changed: clients that understand async INFO get the new connect_urls. */
  connectUrlsChanged(): void {
    this.connectUrlsUpdated = Date.now();
    for (const c of this.clients.values()) {
      if (c.firstPongSent && c.opts.protocol >= 1 && !c.closed) {
        this.sendInfo(c);
      }
    }
  }

  /** Queues an INFO for a client: on connect, on cluster changes, in lame duck mode. */
  sendInfo(c: Client, extra: Record<string, unknown> = {}): void {
    c.queue(enc.encode(`INFO ${JSON.stringify({ ...this.infoFor(c), ...extra })} \r\n`));
  }

  /**
   * The fields every INFO starts with (client, route and leafnode ports alike), in nats-server's
   * order; each port's own fields follow.
   */
  infoHead(host: string, port: number): Record<string, unknown> {
    return {
      server_id: this.id,
      server_name: this.name,
      version: VERSION,
      proto: PROTO,
      go: GO_VERSION,
      host,
      port,
    };
  }

  /** The INFO sent to a client, in nats-server's field order. */
  infoFor(c: Client): Record<string, unknown> {
    const o = this.opts;
    const info = this.infoHead(o.host, this.port);
    info.headers = !o.noHeaderSupport;
    // A connection without credentials is welcome under no_auth_user, so INFO does not ask.
    if (this.authRequired && o.noAuthUser === "") info.auth_required = true;
    if (this.tls) {
      if (!o.allowNonTls) info.tls_required = true;
      if (this.tls.verify) info.tls_verify = true;
      if (o.allowNonTls) info.tls_available = true;
    }
    info.max_payload = c.maxPayload;
    if (o.jetstream) info.jetstream = true;
    info.client_id = c.cid;
    info.client_ip = c.peer.host;
    if (c.nonce !== "") info.nonce = c.nonce;
    if (this.cluster) info.cluster = this.cluster.name;
    if (o.jetstreamDomain) info.domain = o.jetstreamDomain;
    if (this.cluster) {
      const urls = this.connectUrls();
      if (urls.length > 0) info.connect_urls = urls;
    }
    return c.customizeInfo(info);
  }

  // ---- Authentication (user/password and token; permissions from the user's entry) ----

  /**
   * Checks CONNECT credentials. Plain passwords answer at once; bcrypt hashes are checked
   * asynchronously so a costly hash never stalls other connections. On failure the client gets
   * the violation and is closed.
   */
  authenticate(c: Client): boolean | Promise<boolean> {
    if (this.operator !== null) return this.operator.authenticate(c);
    if (!this.authRequired) return true;
    const o = this.opts;
    const co = c.opts;
    let stored: string | null = null;
    let given = "";
    let perms: PermissionChecker | null = null;
    let account = this.globalAccount;
    let user = "";
    if (o.users.length > 0 && this.tls?.verifyAndMap) {
      // verify_and_map: the (already verified) client certificate names the user.
      const name = c.tlsInfo?.peer ? this.#userForCert(c.tlsInfo.peer) : null;
      if (name === null) {
        this.authViolation(c);
        return false;
      }
      const u = this.#users.get(name)!;
      return this.#admit(c, name, u.account, u.perms);
    }
    if (co.nkey && this.#nkeyUsers.has(co.nkey) && c.nonce !== "") {
      const nkey = co.nkey;
      const nu = this.#nkeyUsers.get(nkey)!;
      return verifyNonceSignature(nkey, c.nonce, co.sig ?? "").then((ok) => {
        if (c.closed) return false;
        if (!ok) {
          this.authViolation(c);
          return false;
        }
        return this.#admit(c, nkey, nu.account, nu.perms);
      });
    }
    if (o.users.length > 0) {
      const u = this.#users.get(co.user ?? "");
      if (u) {
        stored = u.password;
        given = co.pass ?? "";
        perms = u.perms;
        account = u.account;
        user = co.user ?? "";
      }
    } else if (o.authorization !== "") {
      stored = o.authorization;
      given = co.auth_token ?? "";
    } else if (o.username !== "" && co.user === o.username) {
      stored = o.password;
      given = co.pass ?? "";
      user = o.username;
    }
    const done = (ok: boolean): boolean => {
      if (c.closed) return false;
      if (ok) return this.#admit(c, user, account, perms);
      this.authViolation(c);
      return false;
    };
    const noCredentials = (co.user ?? "") === "" && (co.auth_token ?? "") === "";
    if (noCredentials && this.loginNoAuthUser(c)) return true;
    if (stored === null) return done(false);
    if (isBcrypt(stored)) return checkPassword(given, stored).then(done);
    return done(given === stored);
  }

  /** The configured user a certificate maps to: by SAN or subject string, then by equal DN. */
  #userForCert(cert: X509Certificate): string | null {
    const ids = certIdentities(cert);
    for (const id of ids) if (this.#users.has(id)) return id;
    const subject = ids.at(-1) ?? "";
    for (const name of this.#users.keys()) {
      if (name.includes("=") && sameDN(name, subject)) return name;
    }
    return null;
  }

  /** A configured user by name, or by public key for an nkey user (leafnode authentication). */
  lookupUser(name: string, nkey = false): AuthUser | undefined {
    return nkey ? this.#nkeyUsers.get(name) : this.#users.get(name);
  }

  /** Whether users (by name) or nkey users are configured. */
  get userKinds(): { users: boolean; nkeys: boolean } {
    return { users: this.#users.size > 0, nkeys: this.#nkeyUsers.size > 0 };
  }

  /** no_auth_user: a connection without credentials becomes that user, permissions and all. */
  loginNoAuthUser(c: Client, name = this.opts.noAuthUser || this.sysOnlyNoAuthUser): boolean {
    if (name === "") return false;
    const u = this.#users.get(name);
    if (!u) return false;
    return this.#admit(c, name, u.account, u.perms);
  }

  /** Authenticated: the connection takes the user's name, account and permissions. */
  #admit(c: Client, user: string, acc: Account, perms: PermissionChecker | null): boolean {
    c.user = user;
    if (!c.setAccount(acc)) return false;
    c.setPermissions(perms);
    return true;
  }

  /** nats-server names the nkey or the user tried when such users are configured. */
  authViolation(c: Client): void {
    this.events?.authFailed(c);
    const o = this.opts;
    let who = "";
    if (this.#nkeyUsers.size > 0) who = ` - Nkey ${JSON.stringify(c.opts.nkey ?? "")}`;
    else if (o.users.length > 0) who = ` - User ${JSON.stringify(c.opts.user ?? "")}`;
    this.log.errorc(c, `authentication error${who}`);
    c.sendErr("Authorization Violation");
    c.close(ClosedState.AuthenticationViolation);
  }

  // ---- Interest ----

  /** A local (client or internal) subscription, in its client's account. */
  addSubscription(sub: ClientSub): void {
    const acc = sub.client.account;
    acc.sublist.insert(sub);
    this.cluster?.localInterest(acc, sub.subject, sub.queue, 1);
    this.leafnodes?.interestChanged(acc, sub, 1, "");
    acc.notifyInterest(sub, true);
  }

  removeSubscription(sub: ClientSub): void {
    const acc = sub.client.account;
    if (!acc.sublist.remove(sub)) return;
    this.cluster?.localInterest(acc, sub.subject, sub.queue, -1);
    this.leafnodes?.interestChanged(acc, sub, -1, "");
    acc.notifyInterest(sub, false);
  }

  /** Subscriptions in every account (what /varz counts). */
  get subscriptionCount(): number {
    let n = 0;
    for (const acc of this.accounts.values()) n += acc.sublist.count;
    return n;
  }

  removeClient(c: Client): void {
    if (c.kind === ROUTER) {
      this.cluster?.removeRoute(c as Route);
      return;
    }
    if (c.kind === LEAF) {
      this.leafnodes?.removeLeaf(c as Leaf);
      return;
    }
    if (!this.clients.delete(c.cid)) return;
    this.#removedClients++;
    c.account.clients.delete(c);
    if (this.events) {
      if (c.account !== this.globalAccount) this.events.accountConnsChanged(c.account);
      this.events.clientDisconnected(c);
    }
    this.log.debugc(c, `Client connection closed: ${c.closeReason}`);
    const max = this.opts.maxClosedClients;
    if (max > 0) {
      this.closedClients.push(closedConn(c));
      if (this.closedClients.length > max) this.closedClients.shift();
    }
  }

  // ---- Routing ----

  /**
   * Delivers a client's message to every plain subscription and to one member of each queue
   * group (a local member when there is one), and forwards it once to each route with interest.
   * Returns whether anyone got it.
   */
  routeMessage(
    from: Client,
    acc: Account,
    res: SublistResult<Client>,
    src: Uint8Array,
    pa: PubArg,
    queues: string[] | null = null,
  ): boolean {
    this.stats.inMsgs++;
    this.stats.inBytes += pa.size;
    acc.inMsgs++;
    acc.inBytes += pa.size;
    // No interest at all (telemetry nobody listens to): nothing to route, nothing deferred.
    if (res.psubs.length === 0 && res.qsubs.length === 0) return false;
    const delivered = this.routeIn(from, acc, res, src, pa, queues);
    if (this.#deferred.length > 0) this.#drainInternal();
    return delivered;
  }

  /**
   * Routes a message in an account: local subscribers, one member per queue group, and each
   * route and leafnode with interest (once). Used for client and leafnode messages and for
   * messages an import or an internal client moves into an account; counts nothing at the
   * server level. `queues`: the groups a leafnode message is for (null: every group). A message
   * from a leafnode we solicited goes to no route: the hub sent it to each server that asked.
   */
  routeIn(
    from: Client,
    acc: Account,
    res: SublistResult<Client>,
    src: Uint8Array,
    pa: PubArg,
    queues: string[] | null = null,
  ): boolean {
    let n = 0;
    const noEcho = !from.opts.echo;
    const stamp = ++this.#msgStamp;
    const routes = this.#routesToSend;
    const fromLeaf = from.kind === LEAF ? from as Leaf : null;
    const toRoutes = fromLeaf === null || !fromLeaf.isSpoke;
    const psubs = res.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i];
      if (sub.closed || (noEcho && sub.client === from)) continue;
      const kind = sub.client.kind;
      if (kind === ROUTER) {
        if (toRoutes) this.#routeFor(sub.client as Route, stamp, routes);
        continue;
      }
      if (kind === LEAF) {
        if (leafTakes(from, sub.client as Leaf, pa.subject)) {
          this.#routeFor(sub.client as Leaf, stamp, routes);
        }
        continue;
      }
      if (this.#deliverTo(sub, src, pa, from)) n++;
    }
    const qsubs = res.qsubs;
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g];
      if (queues !== null && (group.length === 0 || !queues.includes(group[0].queue))) continue;
      const skip = noEcho || fromLeaf !== null ? from : null;
      const r = this.#deliverToGroup(group, src, pa, from, skip, false);
      if (r === true) n++;
      else if (r !== false) {
        this.#routeFor(r.client as Forwarder, stamp, routes).pendingQueues.push(r.queue);
      }
    }
    if (n > 0) this.#countOut(acc, n, pa.size);
    if (routes.length > 0) {
      const origin = fromLeaf?.remoteCluster ?? "";
      for (const r of routes) {
        r.sendRouted(acc, src, pa, r.pendingQueues, origin);
        r.pendingQueues = [];
      }
      routes.length = 0;
      return true;
    }
    return n > 0;
  }

  /**
   * Counts a message's local deliveries once per message rather than once per delivery (as
   * nats-server does): every local subscriber matched in an account's sublist is in that account.
   */
  #countOut(acc: Account, n: number, size: number): void {
    const stats = this.stats;
    stats.outMsgs += n;
    stats.outBytes += n * size;
    acc.outMsgs += n;
    acc.outBytes += n * size;
  }

  #routeFor(r: Forwarder, stamp: number, routes: Forwarder[]): Forwarder {
    if (r.sentStamp !== stamp) {
      r.sentStamp = stamp;
      routes.push(r);
    }
    return r;
  }

  /**
   * A message that came over a route goes to local subscribers only (never another route), and
   * to one local member of each queue group the sending server chose for this route.
   */
  routeFromRoute(
    from: Client,
    acc: Account,
    res: SublistResult<Client>,
    src: Uint8Array,
    pa: PubArg,
    queues: string[],
  ): void {
    this.stats.inMsgs++;
    this.stats.inBytes += pa.size;
    acc.inMsgs++;
    acc.inBytes += pa.size;
    this.routeLocal(from, acc, res, src, pa, queues);
    if (this.#deferred.length > 0) this.#drainInternal();
  }

  /**
   * Delivers to local subscribers only: plain ones, and the queue groups named in `queues`
   * (null: every group). Messages from routes and stream imports go this way; the servers
   * they came from (or will come from) serve their own subscribers.
   */
  routeLocal(
    from: Client,
    acc: Account,
    res: SublistResult<Client>,
    src: Uint8Array,
    pa: PubArg,
    queues: string[] | null,
  ): boolean {
    let n = 0;
    const stamp = ++this.#msgStamp;
    const leafs = this.#routesToSend;
    for (const sub of res.psubs) {
      if (sub.closed || sub.client.kind === ROUTER) continue;
      if (sub.client.kind === LEAF) {
        if (leafTakes(from, sub.client as Leaf, pa.subject)) {
          this.#routeFor(sub.client as Leaf, stamp, leafs);
        }
      } else if (this.#deliverTo(sub, src, pa, from)) {
        n++;
      }
    }
    if (queues === null || queues.length > 0) {
      for (const group of res.qsubs) {
        if (group.length > 0 && (queues === null || queues.includes(group[0].queue))) {
          // Local members first; failing those, a leafnode's (never another route's).
          const r = this.#deliverToGroup(group, src, pa, from, null, true);
          if (r === true) n++;
          else if (r !== false && r.client.kind === LEAF) {
            this.#routeFor(r.client as Leaf, stamp, leafs).pendingQueues.push(r.queue);
          }
        }
      }
    }
    if (n > 0) this.#countOut(acc, n, pa.size);
    if (leafs.length > 0) {
      for (const l of leafs) {
        l.sendRouted(l.account, src, pa, l.pendingQueues, "");
        l.pendingQueues = [];
      }
      leafs.length = 0;
      return true;
    }
    return n > 0;
  }

  /**
   * An internal subscriber matched: its handler runs once the current message is fully routed,
   * so a handler that publishes (an import forwarding into another account) starts a fresh
   * routing pass instead of disturbing the one in progress.
   */
  deferInternal(
    h: InternalHandler,
    sub: ClientSub,
    from: Client,
    src: Uint8Array,
    pa: PubArg,
  ): void {
    this.#deferred.push({ h, sub, from, src, pa });
  }

  #drainInternal(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      const q = this.#deferred;
      for (let i = 0; i < q.length; i++) {
        const d = q[i];
        try {
          d.h(d.sub, d.from, d.src, d.pa);
        } catch (e) {
          this.log.error(`Internal subscription on "${d.sub.subject}" failed: ${e}`);
        }
      }
      q.length = 0;
    } finally {
      this.#draining = false;
    }
  }

  /** Publishes a message the server made (system events, service replies) into an account. */
  publishInternal(acc: Account, src: Uint8Array, pa: PubArg, from?: Client): boolean {
    const sender = from ?? this.internalClient(acc);
    const delivered = this.routeIn(sender, acc, acc.sublist.match(pa.subject), src, pa);
    if (this.#deferred.length > 0) this.#drainInternal();
    return delivered;
  }

  /**
   * Delivers to one local member of a queue group, starting at a random member so the load
   * spreads. Returns true when a local member took it; otherwise the first remote member seen
   * (the caller may forward to it): a route's before a leafnode's, as nats-server picks them,
   * or a leafnode's first when `preferLeaf` (a message from a route), or false. `skip` is a
   * publisher that asked for no echo.
   */
  #deliverToGroup(
    group: ClientSub[],
    src: Uint8Array,
    pa: PubArg,
    from: Client,
    skip: Client | null,
    preferLeaf: boolean,
  ): boolean | ClientSub {
    const n = group.length;
    const startAt = n === 1 ? 0 : Math.floor(Math.random() * n);
    let route: ClientSub | null = null;
    let leaf: ClientSub | null = null;
    for (let k = 0; k < n; k++) {
      const sub = group[(startAt + k) % n];
      if (sub.closed || sub.client === skip) continue;
      const kind = sub.client.kind;
      if (kind === ROUTER) {
        route ??= sub;
        continue;
      }
      if (kind === LEAF) {
        if (leaf === null && leafTakes(from, sub.client as Leaf, pa.subject)) leaf = sub;
        continue;
      }
      if (this.#deliverTo(sub, src, pa, from)) return true;
    }
    return (preferLeaf ? leaf ?? route : route ?? leaf) ?? false;
  }

  /** One delivery; the caller counts it (see #countOut). */
  #deliverTo(sub: ClientSub, src: Uint8Array, pa: PubArg, from: Client): boolean {
    if (sub.max > 0 && sub.delivered >= sub.max) return false;
    if (!sub.client.deliver(sub, src, pa, from)) return false;
    sub.delivered++;
    if (sub.max > 0 && sub.delivered >= sub.max) sub.client.removeSub(sub);
    return true;
  }

  // ---- Output scheduling ----

  /** Marks a client as having output; all such clients are flushed once at the end of the turn. */
  scheduleFlush(c: Client): void {
    if (c.flushQueued) return;
    c.flushQueued = true;
    this.#pending.push(c);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flushAll());
    }
  }

  /** Flushes every client with output; returns one that is backed up, if any. */
  #flushAll(): Client | null {
    this.#flushScheduled = false;
    const list = this.#pending;
    if (list.length === 0) return null;
    this.#pending = [];
    let stalled: Client | null = null;
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      c.flush();
      if (stalled === null && c.needsStall() && !c.closed) stalled = c;
    }
    return stalled;
  }

  /** Called by a client's read loop after each chunk: flush, and wait on a backed-up consumer. */
  afterRead(): Promise<void> | undefined {
    // A client publishing to its own subscription is stalled too: its writes progress on their
    // own, and reading less from it is what keeps its backlog under max_pending.
    const stalled = this.#flushAll();
    if (stalled === null) return undefined;
    return this.#stall(stalled);
  }

  /**
   * Holds the producer's reads until the consumer is back under half of max_pending, for 100 ms
   * plus 100 ms per tenth of the excess, at most 1 s (nats-server's stallDuration).
   */
  async #stall(c: Client): Promise<void> {
    const mp = this.opts.maxPending;
    const half = mp / 2;
    const pb = c.out.pending;
    const ms = pb >= mp ? 1000 : Math.min(1000, 100 + 100 * Math.floor((pb - half) / (half / 10)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      c.out.below(half),
      new Promise<void>((r) => (timer = setTimeout(r, ms))),
    ]);
    clearTimeout(timer);
  }

  // ---- Timers: one shared tick for pings, auth timeouts and write deadlines ----

  #tick(): void {
    const now = this.now;
    const o = this.opts;
    const st = this.stats;
    this.#idleGc.tick(st.inMsgs + st.outMsgs + st.totalConnections + this.#removedClients, now);
    const authTimeoutMs = this.#authTimeoutMs();
    let due = now + this.#maxTickMs();
    for (const acc of this.accounts.values()) {
      if (acc.responses.size > 0) expireResponses(acc, now);
    }
    const all: Iterable<Client> = this.cluster || this.leafnodes
      ? [
        ...this.clients.values(),
        ...(this.cluster?.routes.values() ?? []),
        ...(this.leafnodes?.conns.values() ?? []),
      ]
      : this.clients.values();
    for (const c of all) {
      if (c.closed) continue;
      if (c.kind !== ROUTER && !c.connectReceived && c.authRequired()) {
        const timeout = c.authTimeoutMs(authTimeoutMs);
        if (now - c.start >= timeout) {
          c.sendErr("Authentication Timeout");
          this.log.debugc(c, "Authentication Timeout");
          c.close(ClosedState.AuthenticationTimeout);
          continue;
        }
        due = Math.min(due, c.start + timeout);
      }
      if (c.out.writing) {
        const deadline = c.out.writeStart + o.writeDeadlineMs;
        if (now > deadline && c.writeDeadlineExceeded(now)) continue;
        due = Math.min(due, c.out.writeStart + o.writeDeadlineMs + 1);
      }
      if (now - c.lastOut > 1000) c.out.shrinkIfIdle();
      if (now >= c.nextPing) c.pingTimer(now);
      if (!c.closed) due = Math.min(due, c.nextPing);
    }
    this.#armTick(due - now);
  }

  /**
   * One shared timer serves every connection: it runs when the earliest ping, auth timeout or
   * write deadline is due (so each fires on nats-server's schedule), and at least this often.
   */
  #armTick(ms: number): void {
    clearTimeout(this.#ticker);
    if (!this.#running) return;
    this.#ticker = setTimeout(() => this.#tick(), Math.max(MIN_TICK_MS, ms));
  }

  #maxTickMs(): number {
    const o = this.opts;
    return Math.max(MIN_TICK_MS, Math.min(1000, o.writeDeadlineMs / 4, o.pingIntervalMs / 4));
  }

  /** authorization { timeout }, else nats-server's default: 2 s, or the TLS timeout + 1 s. */
  #authTimeoutMs(): number {
    const o = this.opts;
    if (o.authTimeout > 0) return o.authTimeout * 1000;
    return this.tls ? ((o.tlsConfig?.timeout ?? DEFAULT_TLS_TIMEOUT_S) + 1) * 1000 : 2000;
  }

  /**
   * Applies a reloaded configuration (SIGHUP). Options bound to listeners cannot change; any
   * such change refuses the whole reload and the running configuration stays. Clients whose
   * credentials no longer pass are disconnected; the others keep their connections.
   */
  reload(next: Options, logger?: Logger): void {
    setBaselineOptions(next);
    const cur = this.opts;
    const fixed: [string, unknown, unknown][] = [
      ["Host", cur.host, next.host],
      ["Port", cur.port, next.port],
      ["ServerName", cur.serverName, next.serverName],
      ["Cluster.Host", cur.cluster.host, next.cluster.host],
      ["Cluster.Port", cur.cluster.port, next.cluster.port],
      ["HTTPHost", cur.httpHost, next.httpHost],
      ["HTTPPort", cur.httpPort, next.httpPort],
      ["HTTPSPort", cur.httpsPort, next.httpsPort],
      // nats-server lets only the default system account go (old=$SYS, new="").
      ...(cur.systemAccount === "$SYS" && next.systemAccount === ""
        ? []
        : [["SystemAccount", cur.systemAccount, next.systemAccount] as [string, unknown, unknown]]),
      ["Websocket", JSON.stringify(cur.websocket), JSON.stringify(next.websocket)],
    ];
    for (const [name, a, b] of fixed) {
      if (a !== b) {
        throw new Error(`config reload not supported for ${name}: old=${a}, new=${b}`);
      }
    }
    const leafChange = leafnodeReloadError(cur.leafnode, next.leafnode);
    if (leafChange !== null) throw new Error(leafChange);
    validateOptions(next);
    checkResolverReload(cur, next);
    // New certificates are loaded before anything changes, so a bad file refuses the reload.
    const tls = next.tls && next.tlsConfig ? loadTlsContext(next.tlsConfig) : null;
    this.opts = next;
    this.tls = tls;
    if (logger) this.log.logger = logger;
    configureAccounts(this, next);
    this.operator?.reload(next);
    this.events?.trackAccounts();
    this.jetstream?.reconfigure();
    this.#configureAuth();
    for (const c of [...this.clients.values()]) {
      // A user removed, or moved to another account, is closed without an error (nats-server's
      // clientHasMovedToDifferentAccount); a moved user reconnects into the new account.
      if (c.connectReceived && this.#userAccount(c) !== c.account) {
        c.close(ClosedState.ClientClosed);
        continue;
      }
      c.applyOptions();
      // JWT users keep their login: their account's claims, not the config, govern them.
      if (!c.connectReceived || c.jwt !== null) continue;
      const auth = this.authenticate(c);
      if (auth === true) this.#dropForbiddenSubs(c);
      else if (auth !== false) auth.then((ok) => ok && this.#dropForbiddenSubs(c));
    }
    this.#armTick(0);
    this.configLoadTime = new Date();
    this.log.notice("Reloaded server configuration");
  }

  /** The account a connected client's user now belongs to; null when the user is gone. */
  #userAccount(c: Client): Account | null {
    if (c.jwt !== null) return c.account;
    if (!this.authRequired || c.user === "") return this.globalAccount;
    return (this.#users.get(c.user) ?? this.#nkeyUsers.get(c.user))?.account ?? null;
  }

  /** After a reload narrowed a user's permissions: subscriptions no longer allowed go away. */
  #dropForbiddenSubs(c: Client): void {
    if (c.closed || c.perms === null) return;
    for (const sub of [...c.subs.values()]) {
      if (c.perms.canSubscribe(sub.subject, sub.queue)) continue;
      c.removeSub(sub);
      const what = `${JSON.stringify(sub.subject)} (sid ${JSON.stringify(sub.sid)})`;
      c.sendErr(`Permissions Violation for Subscription to ${what}`);
      this.log.notice(`Removed sub ${what} for User ${JSON.stringify(c.user)} - not authorized`);
    }
  }

  /** What `--ports_file_dir` writes: the URLs each listener can be reached at. */
  portsInfo(): Record<string, string[]> {
    const o = this.opts;
    const urls = (scheme: string, host: string, port: number, ipv6 = false) =>
      addressesOf(host, ipv6).map((h) => `${scheme}://${hostPort(h, port)}`);
    const info: Record<string, string[]> = { nats: urls("nats", o.host, this.port, this.ipv6) };
    if (this.monitor?.httpPort) info.monitoring = urls("http", o.httpHost, this.monitor.httpPort);
    if (this.monitor?.httpsPort) {
      info.monitoring = urls("https", o.httpHost, this.monitor.httpsPort);
    }
    if (this.cluster) info.cluster = urls("nats", o.cluster.host, this.cluster.port);
    if (this.websocket) {
      const ws = this.websocket;
      info.websocket = urls(ws.scheme, ws.host, ws.port);
    }
    return info;
  }

  // ---- Shutdown ----

  /** Lame duck mode is on: INFO says so, and no new client is accepted. */
  lameDuck = false;

  /**
   * Lame duck mode (SIGUSR2, `--signal ldm`): stop accepting clients, tell connected clients
   * (INFO with "ldm":true) so they reconnect elsewhere, wait the grace period, then close the
   * clients spread over the rest of lame_duck_duration, then shut down.
   */
  async enterLameDuckMode(): Promise<void> {
    if (!this.#running || this.lameDuck) return;
    this.lameDuck = true;
    const o = this.opts;
    this.log.notice("Entering lame duck mode, stop accepting new clients");
    this.#closeListener();
    for (const c of this.clients.values()) {
      if (c.connectReceived && c.opts.protocol >= 1) {
        this.sendInfo(c, { ldm: true });
      }
    }
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const grace = Math.min(o.lameDuckGracePeriodMs, o.lameDuckDurationMs);
    if (grace > 0) {
      this.log.notice(`Waiting ${formatGoDuration(grace)} before closing clients`);
      await sleep(grace);
    }
    const clients = [...this.clients.values()];
    const spread = Math.max(0, o.lameDuckDurationMs - grace);
    if (clients.length > 0) {
      this.log.notice(`Closing existing clients`);
      const pause = spread / clients.length;
      for (const c of clients) {
        c.close(ClosedState.ServerShutdown);
        if (pause >= 1) await sleep(pause);
      }
    }
    await this.shutdown();
  }

  #stopJetStream(): void {
    const js = this.jetstream;
    this.jetstream = null;
    js?.shutdown();
  }

  #closeListener(): void {
    this.websocket?.closeListener();
    if (this.#listener === null) return;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    this.#listener = null;
    this.log.debug("Client accept loop exiting..");
  }

  async shutdown(): Promise<void> {
    if (!this.#running) return;
    this.operator?.stop();
    this.events?.stop();
    this.#running = false;
    clearTimeout(this.#ticker);
    this.#stopJetStream();
    this.#closeListener();
    const clients = [...this.clients.values()];
    for (const c of clients) c.close(ClosedState.ServerShutdown);
    await this.leafnodes?.stop();
    await this.cluster?.stop();
    await this.monitor?.stop();
    await this.websocket?.stop();
    await Promise.all(clients.map((c) => c.out.drained()));
    this.log.notice("Server Exiting..");
    this.#resolveDone();
  }
}

/**
 * The addresses a listener bound to `host` answers on: itself, or for a wildcard host every
 * interface address (IPv6 ones when the listener serves IPv6), loopback first, as nats-server
 * lists them in its ports file.
 */
export function addressesOf(host: string, ipv6 = false): string[] {
  if (!isWildcardHost(host)) return [host];
  const out = ["127.0.0.1"];
  if (ipv6) out.push("::1");
  try {
    for (const ni of Deno.networkInterfaces()) {
      if ((ni.family === "IPv4" || ipv6) && !out.includes(ni.address)) out.push(ni.address);
    }
  } catch {
    // no permission to list interfaces: loopback alone
  }
  return out;
}

/** A user as authentication sees it: credentials, compiled permissions, account. */
export interface AuthUser {
  password: string;
  perms: PermissionChecker | null;
  account: Account;
  /** As configured (leafnodes apply them their own way). */
  permissions?: Permissions;
}

/** A connection a message is forwarded to once, naming the queue groups it serves there. */
interface Forwarder extends Client {
  sentStamp: number;
  pendingQueues: string[];
  sendRouted(acc: Account, src: Uint8Array, pa: PubArg, queues: string[], origin: string): void;
}

/** An internal delivery waiting for the current routing pass to end. */
interface Deferred {
  h: InternalHandler;
  sub: ClientSub;
  from: Client;
  src: Uint8Array;
  pa: PubArg;
}

export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
