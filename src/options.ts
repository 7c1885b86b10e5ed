/**
 * Server options: one flat record that the command line, the config file and the defaults all
 * fill. Precedence is defaults < config file < flags, as nats-server does it; `mergeOptions`
 * applies a later layer over an earlier one field by field, so a flag only overrides what it set.
 */

import type { ConfNode } from "./conf/parser.ts";
import {
  defaultLeafNodeOptions,
  type LeafNodeOptions,
  validateLeafNode,
} from "./leafnode/options.ts";
import {
  defaultWebsocketOptions,
  validateWebsocketOptions,
  type WebsocketOptions,
} from "./websocket/options.ts";
import { isValidSubject } from "./sublist.ts";
import type { OperatorClaims } from "./jwt/types.ts";
import { validateOperatorOptions } from "./operator/validate.ts";

export const VERSION = "2.9.10";
/** INFO's and /varz's "go" field: the runtime we are built on, where nats-server names Go's. */
export const GO_VERSION = `deno${Deno.version.deno}`;
/** Protocol level announced in INFO: 1 means the server understands INFO updates and headers. */
export const PROTO = 1;

export const DEFAULT_PORT = 4222;
export const DEFAULT_HOST = "0.0.0.0";
export const DEFAULT_HTTP_PORT = 8222;
export const MAX_CONTROL_LINE_SIZE = 4096;
export const MAX_PAYLOAD_SIZE = 1024 * 1024;
/** nats-server warns at start when max_payload is above this (its MAX_PAYLOAD_MAX_SIZE). */
export const MAX_PAYLOAD_MAX_SIZE = 8 * 1024 * 1024;
export const MAX_PENDING_SIZE = 64 * 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 64 * 1024;
export const DEFAULT_PING_INTERVAL_MS = 2 * 60 * 1000;
export const DEFAULT_PING_MAX_OUT = 2;
export const DEFAULT_WRITE_DEADLINE_MS = 10 * 1000;
export const DEFAULT_AUTH_TIMEOUT_S = 2;
export const DEFAULT_TLS_TIMEOUT_S = 2;
export const DEFAULT_LAME_DUCK_DURATION_MS = 2 * 60 * 1000;
export const DEFAULT_LAME_DUCK_GRACE_PERIOD_MS = 10 * 1000;
export const DEFAULT_MAX_CLOSED_CLIENTS = 10000;
export const DEFAULT_ROUTE_CONNECT_MS = 1000;

/** Subject permissions as nats-server's `permissions {publish, subscribe}` blocks hold them. */
export interface SubjectPermission {
  allow?: string[];
  deny?: string[];
}

export interface ResponsePermission {
  /** Max responses per request; 0 means nats-server's default (1). */
  maxMsgs: number;
  /** How long a reply subject stays publishable, in ms. */
  expiresMs: number;
}

export interface Permissions {
  publish?: SubjectPermission;
  subscribe?: SubjectPermission;
  response?: ResponsePermission;
}

export interface User {
  /** Empty for an nkey user, which is known by its public key instead. */
  username: string;
  /** Plain text or a bcrypt hash (`$2a$...`). */
  password: string;
  /** A user public nkey ("U..."): the client proves it by signing the INFO nonce. */
  nkey?: string;
  permissions?: Permissions;
  /** The account the user belongs to; empty means the global account `$G`. */
  account?: string;
}

/** How a service export answers: one message, a stream, or chunks (nats-server's names). */
export type ResponseType = "Singleton" | "Stream" | "Chunked";

/** `exports: [{stream: "foo.>", accounts: [B]}]`; no accounts means public. */
export interface StreamExportOptions {
  subject: string;
  accounts?: string[];
  /**
   * `account_token_position`: the 1-based token of the subject (a `*`) that must equal the
   * importing account's name; absent or 0 means none.
   */
  accountTokenPosition?: number;
  /** Account JWT exports: importers need an activation token. */
  tokenReq?: boolean;
  /** Account JWT exports: revoked activations (importer key or "*", and a time). */
  revocations?: Record<string, number>;
}

/** `exports: [{service: "req.*", accounts: [...], response_type, response_threshold}]`. */
export interface ServiceExportOptions {
  subject: string;
  accounts?: string[];
  responseType: ResponseType;
  /** 0 means nats-server's default (2 minutes). */
  responseThresholdMs: number;
  /**
   * Latency tracking, as nats-server parses it: `sampling` is a percentage (1-100, default 100)
   * or 0 for `sampling: headers` (sample the requests that carry tracing headers).
   */
  latency?: { sampling: number; subject: string };
  /** `account_token_position`, as for stream exports. */
  accountTokenPosition?: number;
  /** Account JWT exports: importers need an activation token. */
  tokenReq?: boolean;
  /** Account JWT exports: revoked activations (importer key or "*", and a time). */
  revocations?: Record<string, number>;
}

/**
 * `imports: [{stream: {account: A, subject: "foo.>"}, prefix: "p"}]` (or `to`). When both are
 * set (nats-server accepts that in some key orders) the prefix wins, as there.
 */
export interface StreamImportOptions {
  account: string;
  subject: string;
  prefix?: string;
  to?: string;
}

/** `imports: [{service: {account: A, subject: "req"}, to: "local"}]`; `to` defaults to subject. */
export interface ServiceImportOptions {
  account: string;
  subject: string;
  to: string;
  share: boolean;
}

/** One `mappings` entry: a source subject and its (weighted) destinations. */
export interface MappingOptions {
  subject: string;
  destinations: { subject: string; weight: number; cluster?: string }[];
}

/** Per-account limits (`limits {}` in an account block); -1 means unlimited. */
export interface AccountLimits {
  maxConnections: number;
  maxSubscriptions: number;
  maxPayload: number;
  maxLeafnodes: number;
}

/** The account of users and connections that name none. */
export const GLOBAL_ACCOUNT = "$G";
/** The system account's name when `system_account` does not give one. */
export const DEFAULT_SYSTEM_ACCOUNT = "$SYS";

/** An account's limits before its `limits {}` block: everything unlimited. */
export function defaultAccountLimits(): AccountLimits {
  return { maxConnections: -1, maxSubscriptions: -1, maxPayload: -1, maxLeafnodes: -1 };
}

/** One entry of the `accounts {}` block. Users of the account are in Options.users. */
export interface AccountOptions {
  name: string;
  /** A public account nkey ("A..."), when given. */
  nkey?: string;
  streamExports: StreamExportOptions[];
  serviceExports: ServiceExportOptions[];
  streamImports: StreamImportOptions[];
  serviceImports: ServiceImportOptions[];
  /** Filled from `mappingsNode` by the mappings parser (src/conf/accounts.ts keeps it raw). */
  mappings: MappingOptions[];
  /** The account's `mappings`/`maps` value as written, for the mappings parser to convert. */
  mappingsNode?: ConfNode;
  limits: AccountLimits;
  /** `default_permissions`; already applied to the account's users that have none. */
  defaultPermissions?: Permissions;
  /** The account's `jetstream` value as written. */
  jetstream?: ConfNode;
  /** Its JetStream limits when JetStream is enabled for it (the `jetstream` value parsed). */
  jetstreamLimits?: JetStreamAccountLimits | null;
}

/** An account's JetStream limits (nats-server's JetStreamAccountLimits); -1 means unlimited. */
export interface JetStreamAccountLimits {
  maxMemory: number;
  maxStore: number;
  maxStreams: number;
  maxConsumers: number;
  maxAckPending: number;
  memoryMaxStreamBytes: number;
  storeMaxStreamBytes: number;
  maxBytesRequired: boolean;
  /**
   * Tiered limits of an account JWT (by tier name, "R1", "R3"...); the fields above are then the
   * tier this server's streams use (R1), or zero when the JWT has no such tier.
   */
  tiers?: Record<string, JetStreamAccountLimits>;
}

/** `jetstream: enabled` for an account: nats-server's dynamic (unlimited) account limits. */
export function unlimitedJetStreamAccount(): JetStreamAccountLimits {
  return {
    maxMemory: -1,
    maxStore: -1,
    maxStreams: -1,
    maxConsumers: -1,
    maxAckPending: -1,
    memoryMaxStreamBytes: -1,
    storeMaxStreamBytes: -1,
    maxBytesRequired: false,
  };
}

/** TLS settings shared by the client listener, routes and HTTPS monitoring. */
export interface TlsOptions {
  certFile: string;
  keyFile: string;
  caFile: string;
  verify: boolean;
  /** Handshake timeout, in seconds (nats-server's `tls { timeout }`). */
  timeout: number;
  ciphers: string[];
  curvePreferences: string[];
  /** Map the certificate's subject to a user (nats-server's `verify_and_map`). */
  verifyAndMap: boolean;
  insecure: boolean;
}

/** An operator the server trusts (`operator:`): its JWT as configured, and its claims. */
export interface TrustedOperator {
  jwt: string;
  claims: OperatorClaims;
}

/**
 * Where account JWTs come from in operator mode (nats-server's AccountResolver): memory
 * (`resolver: MEMORY`, filled by resolver_preload and claim updates), an HTTP account server
 * (`resolver: URL(...)`), or a directory kept in sync over NATS (`resolver { type: full|cache }`).
 */
export type ResolverOptions =
  | { type: "memory" }
  | { type: "url"; url: string }
  | {
    type: "full" | "cache";
    /** Absolute path, created when the config is loaded (as nats-server does). */
    dir: string;
    /** Most JWTs kept; 0 for the type's default (unlimited for full, 1000 for cache). */
    limit: number;
    /** cache: how long a JWT is kept (0: until it expires). */
    ttlMs: number;
    /** full: how often the directory is compared with the other servers' (0: 1 minute). */
    intervalMs: number;
    /** full: `$SYS.REQ.CLAIMS.DELETE` may remove accounts (files are renamed `.deleted`). */
    allowDelete: boolean;
    /** How long a lookup from the other servers may take. */
    timeoutMs: number;
  };

export interface ClusterOptions {
  name: string;
  host: string;
  /** 0 means clustering is off; -1 means a random port. */
  port: number;
  username: string;
  password: string;
  /** Seconds. */
  authTimeout: number;
  tls?: TlsOptions;
  advertise: string;
  noAdvertise: boolean;
  connectRetries: number;
  permissions?: { import?: SubjectPermission; export?: SubjectPermission };
}

export interface Options {
  configFile: string;
  serverName: string;
  host: string;
  /** 0 keeps the default; -1 (RANDOM_PORT) asks the OS for one. */
  port: number;
  clientAdvertise: string;

  // Logging
  trace: boolean;
  traceVerbose: boolean;
  debug: boolean;
  logtime: boolean;
  logFile: string;
  logSizeLimit: number;
  maxTracedMsgLen: number;
  syslog: boolean;
  remoteSyslog: string;
  noLog: boolean;
  noSigs: boolean;

  pidFile: string;
  portsFileDir: string;

  // Limits
  maxConn: number;
  maxControlLine: number;
  maxPayload: number;
  maxPending: number;
  maxSubs: number;
  pingIntervalMs: number;
  maxPingsOut: number;
  writeDeadlineMs: number;
  lameDuckDurationMs: number;
  lameDuckGracePeriodMs: number;
  maxClosedClients: number;
  noHeaderSupport: boolean;

  // Authentication
  username: string;
  password: string;
  authorization: string;
  /** Seconds, may be fractional. */
  authTimeout: number;
  users: User[];
  noAuthUser: string;
  /** Permissions for users listed without their own. */
  defaultPermissions?: Permissions;

  // Accounts
  /** The `accounts {}` block; `$G` (global) and the system account exist besides these. */
  accounts: AccountOptions[];
  /** Top-level `mappings {}`: they apply to the global account `$G`. */
  mappings: MappingOptions[];
  /** The top-level `mappings`/`maps` value as written, for the mappings parser to convert. */
  mappingsNode?: ConfNode;
  /** `system_account`; default `$SYS`. */
  systemAccount: string;
  noSystemAccount: boolean;

  // Operator mode (src/operator/)
  /** `operator`: the trusted operators. */
  trustedOperators: TrustedOperator[];
  /** `trusted_keys` (null when not set): operator keys trusted besides the operators'. */
  trustedKeys: string[] | null;
  resolver: ResolverOptions | null;
  /** `resolver_preload`: account public key and JWT, in config order. */
  resolverPreload: [string, string][];
  /** `resolver_pinned_accounts` (null when not set): the only accounts whose users may log in. */
  resolverPinnedAccounts: string[] | null;
  /** `resolver_tls`: TLS for the URL resolver's requests. */
  resolverTls?: TlsOptions;

  // TLS for clients
  tls: boolean;
  /** allow_non_tls: TLS is offered (INFO tls_available) but plain clients are served too. */
  allowNonTls: boolean;
  tlsConfig?: TlsOptions;

  // Monitoring
  /** "" until setBaselineOptions: then the client host, as nats-server defaults it. */
  httpHost: string;
  httpPort: number;
  httpsPort: number;
  httpBasePath: string;

  // Clustering
  cluster: ClusterOptions;
  /** Route URLs to solicit, e.g. nats-route://user:pass@host:port. */
  routes: string[];

  /** `leafnodes {}`: the leafnode listener and the remotes this server connects to. */
  leafnode: LeafNodeOptions;

  /** server_tags: free-form labels shown in /varz. */
  tags: string[];

  /** The websocket listener (`websocket {}`); port 0 means none. */
  websocket: WebsocketOptions;
  // JetStream
  /** `-js`, or `jetstream` in the config file. */
  jetstream: boolean;
  /** `-sd`, `store_dir`: JetStream's files go to `<storeDir>/jetstream`. */
  storeDir: string;
  /** `max_memory_store` in bytes; -1 when not set (75% of the machine's memory). */
  jetstreamMaxMemory: number;
  /** `max_file_store` in bytes; -1 when not set (75% of the free disk space). */
  jetstreamMaxStore: number;
  jetstreamDomain: string;
  /** `jetstream { extension_hint }`, lower-cased: "will_extend", "no_extend" or "". */
  jetstreamExtHint: string;
  /** `default_js_domain { account: domain }`: where accounts without JetStream send its API. */
  jsAccDefaultDomain: Record<string, string>;
  /** `jetstream { limits { duplicate_window } }` in ms; 0 when not set. */
  jetstreamMaxDuplicatesMs: number;
  /** `jetstream { limits { max_ack_pending } }`; 0 when not set. */
  jetstreamMaxAckPending: number;
  /** `jetstream { limits { max_request_batch } }`; 0 when not set. */
  jetstreamMaxRequestBatch: number;

  /** `-t`: check the configuration and exit. */
  checkConfig: boolean;
  connectErrorReports: number;
  reconnectErrorReports: number;
}

export function defaultTlsOptions(): TlsOptions {
  return {
    certFile: "",
    keyFile: "",
    caFile: "",
    verify: false,
    timeout: DEFAULT_TLS_TIMEOUT_S,
    ciphers: [],
    curvePreferences: [],
    verifyAndMap: false,
    insecure: false,
  };
}

export function defaultOptions(): Options {
  return {
    configFile: "",
    serverName: "",
    host: DEFAULT_HOST,
    port: DEFAULT_PORT,
    clientAdvertise: "",
    trace: false,
    traceVerbose: false,
    debug: false,
    logtime: true,
    logFile: "",
    logSizeLimit: 0,
    maxTracedMsgLen: 0,
    syslog: false,
    remoteSyslog: "",
    noLog: false,
    noSigs: false,
    pidFile: "",
    portsFileDir: "",
    maxConn: DEFAULT_MAX_CONNECTIONS,
    maxControlLine: MAX_CONTROL_LINE_SIZE,
    maxPayload: MAX_PAYLOAD_SIZE,
    maxPending: MAX_PENDING_SIZE,
    maxSubs: 0,
    pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
    maxPingsOut: DEFAULT_PING_MAX_OUT,
    writeDeadlineMs: DEFAULT_WRITE_DEADLINE_MS,
    lameDuckDurationMs: DEFAULT_LAME_DUCK_DURATION_MS,
    lameDuckGracePeriodMs: DEFAULT_LAME_DUCK_GRACE_PERIOD_MS,
    maxClosedClients: DEFAULT_MAX_CLOSED_CLIENTS,
    noHeaderSupport: false,
    username: "",
    password: "",
    authorization: "",
    authTimeout: 0,
    users: [],
    noAuthUser: "",
    accounts: [],
    mappings: [],
    systemAccount: "",
    noSystemAccount: false,
    trustedOperators: [],
    trustedKeys: null,
    resolver: null,
    resolverPreload: [],
    resolverPinnedAccounts: null,
    tls: false,
    allowNonTls: false,
    httpHost: "",
    httpPort: 0,
    httpsPort: 0,
    httpBasePath: "/",
    cluster: {
      name: "",
      host: DEFAULT_HOST,
      port: 0,
      username: "",
      password: "",
      authTimeout: 0,
      advertise: "",
      noAdvertise: false,
      connectRetries: 0,
    },
    routes: [],
    leafnode: defaultLeafNodeOptions(),
    tags: [],
    websocket: defaultWebsocketOptions(),
    jetstream: false,
    storeDir: "",
    jetstreamMaxMemory: -1,
    jetstreamMaxStore: -1,
    jetstreamDomain: "",
    jetstreamExtHint: "",
    jsAccDefaultDomain: {},
    jetstreamMaxDuplicatesMs: 0,
    jetstreamMaxAckPending: 0,
    jetstreamMaxRequestBatch: 0,
    checkConfig: false,
    connectErrorReports: 3600,
    reconnectErrorReports: 1,
  };
}

/** A layer of options (config file or flags): only the fields it actually set. */
export type PartialOptions = Partial<Omit<Options, "cluster">> & {
  cluster?: Partial<ClusterOptions>;
};

/** Applies `layer` over `base`: every field the layer set wins, nested cluster fields too. */
export function mergeOptions(base: Options, layer: PartialOptions): Options {
  const { cluster, ...rest } = layer;
  const out: Options = { ...base, cluster: { ...base.cluster } };
  for (const [k, v] of Object.entries(rest)) {
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  }
  if (cluster) {
    for (const [k, v] of Object.entries(cluster)) {
      if (v !== undefined) (out.cluster as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

/** Go's Duration.String for a number of milliseconds: "1m30s", "500ms", "0s". */
export function formatGoDuration(ms: number): string {
  let ns = BigInt(Math.round(ms * 1e6));
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1_000_000_000n) {
    const [unit, div] = ns < 1000n
      ? ["ns", 1n]
      : ns < 1_000_000n
      ? ["µs", 1000n]
      : ["ms", 1_000_000n];
    out = fixed(ns, div) + unit;
  } else {
    const h = ns / 3_600_000_000_000n;
    const min = (ns / 60_000_000_000n) % 60n;
    const sec = fixed(ns % 60_000_000_000n, 1_000_000_000n) + "s";
    out = h > 0n ? `${h}h${min}m${sec}` : min > 0n ? `${min}m${sec}` : sec;
  }
  return (neg ? "-" : "") + out;
}

/** `n / div` with the fraction's trailing zeros dropped, as Go prints durations. */
function fixed(n: bigint, div: bigint): string {
  const whole = n / div;
  const frac = n % div;
  if (frac === 0n) return String(whole);
  const width = String(div).length - 1;
  return `${whole}.${String(frac).padStart(width, "0").replace(/0+$/, "")}`;
}

/**
 * Fills the defaults that depend on other options, as nats-server's setBaselineOptions does once
 * the layers are merged: the monitor binds where the clients do unless http_host says otherwise
 * (so `-a 127.0.0.1` never exposes /connz on every interface). The cluster listener keeps its own
 * default (0.0.0.0), as in nats-server. Applied again to a reloaded configuration.
 */
export function setBaselineOptions(o: Options): Options {
  if (o.host === "") o.host = DEFAULT_HOST;
  if (o.httpHost === "") o.httpHost = o.host;
  return o;
}

/** The checks nats-server's validateOptions makes before it starts, with its texts. */
export function validateOptions(o: Options): void {
  if (o.lameDuckDurationMs > 0 && o.lameDuckGracePeriodMs >= o.lameDuckDurationMs) {
    throw new Error(
      `lame duck grace period (${formatGoDuration(o.lameDuckGracePeriodMs)}) should be strictly ` +
        `lower than lame duck duration (${formatGoDuration(o.lameDuckDurationMs)})`,
    );
  }
  if (o.maxPayload > o.maxPending) {
    throw new Error(
      `max_payload (${o.maxPayload}) cannot be higher than max_pending (${o.maxPending})`,
    );
  }
  validateOperatorOptions(o);
  // Users of every account are in o.users, so no_auth_user may name any of them. nats-server
  // keeps nkey users apart and looks only at user/password ones.
  if (o.noAuthUser !== "") {
    const users = o.users.filter((u) => !u.nkey);
    if (users.length === 0) {
      throw new Error(`no_auth_user: "${o.noAuthUser}" present, but users are not defined`);
    }
    if (!users.some((u) => u.username === o.noAuthUser)) {
      throw new Error(
        `no_auth_user: "${o.noAuthUser}" not present as user in authorization block ` +
          `or account configuration`,
      );
    }
  }
  validateJetStreamOptions(o);
  // nats-server finds out when it sets its accounts up, right after these checks.
  const sys = o.systemAccount;
  const operatorMode = o.trustedOperators.length > 0 || o.trustedKeys !== null;
  if (
    !operatorMode && sys !== "" && sys !== GLOBAL_ACCOUNT && !o.accounts.some((a) => a.name === sys)
  ) {
    throw new Error("error resolving system account: account missing");
  }
  validateLeafNode(
    o.leafnode,
    o.accounts,
    o.systemAccount,
    o.noSystemAccount,
    o.trustedOperators.length > 0,
  );
  validateWebsocketOptions(o);
}

/** nats-server's validateJetStreamOptions (the domain; what clustered JetStream requires). */
function validateJetStreamOptions(o: Options): void {
  validateDefaultJsDomain(o);
  const d = o.jetstreamDomain;
  if (d !== "") {
    const subj = `$JS.${d}.API.>`;
    if (!isValidSubject(subj)) {
      throw new Error(
        `invalid domain name: derived ${JSON.stringify(subj)} is not a valid subject`,
      );
    }
    if (/[ \t\r\n\f.*>]/.test(d)) throw new Error("invalid domain name: may not contain ., * or >");
  }
  if (!o.jetstream || o.cluster.port === 0) return;
  if (o.serverName === "") throw new Error("jetstream cluster requires `server_name` to be set");
  if (o.cluster.name === "") throw new Error("jetstream cluster requires `cluster.name` to be set");
  const hint = o.jetstreamExtHint.toLowerCase();
  if (hint !== "will_extend" && hint !== "no_extend" && hint !== "") {
    throw new Error(`expected 'no_extend' for string value, got '${hint}'`);
  }
  o.jetstreamExtHint = hint;
}

/** `default_js_domain`: configured accounts without JetStream, never the system account. */
function validateDefaultJsDomain(o: Options): void {
  const q = JSON.stringify;
  const entries = Object.entries(o.jsAccDefaultDomain);
  for (const [a, domain] of entries) {
    if (a === GLOBAL_ACCOUNT) continue;
    const acc = o.accounts.find((x) => x.name === a);
    if (!acc) {
      throw new Error(
        `in non operator mode, \`default_js_domain\` references non existing account ${q(a)}`,
      );
    }
    if (acc.jetstreamLimits && domain !== "") {
      throw new Error(`default_js_domain contains account name ${q(a)} with enabled JetStream`);
    }
  }
  const sys = o.systemAccount !== "" ? o.systemAccount : DEFAULT_SYSTEM_ACCOUNT;
  for (const [a, d] of entries) {
    if (a === sys) throw new Error(`system account ${q(a)} can not be in default_js_domain`);
    if (d !== "" && !isValidSubject(`$JS.${d}.API.>`)) {
      throw new Error(
        `default_js_domain contains account ${q(a)} with invalid domain name ${q(d)}`,
      );
    }
  }
}
