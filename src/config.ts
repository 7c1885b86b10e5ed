/**
 * Maps a parsed config file onto Options, with nats-server 2.9.10's key names, aliases, value
 * types and error texts (plus gnatsd's `max_pending_size`).
 *
 * nats-server reports a value of the wrong type through Go's recovered panic, so its text is
 * "interface conversion: interface {} is int64, not string"; we produce the same words so that
 * users and scripts see one server. Problems are collected rather than thrown one at a time, in
 * document order (nats-server's order is Go's random map order), and thrown together at the end.
 */

import { isUserNkey } from "./nkeys.ts";
import { formatGoDuration, GLOBAL_ACCOUNT } from "./options.ts";
import { CIPHER_SUITES, CURVE_PREFERENCES } from "./tls.ts";
import { ConfigError, type Position } from "./conf/errors.ts";
import { newAccount, parseAccounts } from "./conf/accounts.ts";
import { checkAccounts } from "./conf/accounts_check.ts";
import { parseMappings } from "./conf/mappings.ts";
import { parseLeafNodes } from "./conf/leafnodes.ts";
import { parseDefaultJsDomain, parseJetStream } from "./conf/jetstream.ts";
import { parseOperatorKey } from "./conf/operator.ts";
import { SubjectTransform } from "./accounts/transform.ts";
import { GO_TYPES, goQuote, goType, goValue, timeQuote } from "./conf/go_format.ts";
import {
  type ConfKind,
  type ConfMap,
  type ConfNode,
  parseConfig,
  parseConfigFile,
} from "./conf/parser.ts";
import {
  type ClusterOptions,
  defaultTlsOptions,
  type PartialOptions,
  type Permissions,
  type SubjectPermission,
  type TlsOptions,
  type User,
} from "./options.ts";
import { defaultWebsocketOptions, type WebsocketOptions } from "./websocket/options.ts";

export { formatGoDuration };
export { ConfigError } from "./conf/errors.ts";

export interface ConfigResult {
  options: PartialOptions;
  /** nats-server's warnings (e.g. a plain number for ping_interval): print them, keep going. */
  warnings: ConfigError[];
}

/** Loads a config file; throws ConfigError (all problems in one) if anything is wrong. */
export function loadConfigFile(path: string): PartialOptions {
  return loadConfig(path).options;
}

/** Like loadConfigFile, but also returns the warnings nats-server would print. */
export function loadConfig(path: string): ConfigResult {
  const result = mapConfig(parseConfigFile(path));
  result.options.configFile = path;
  return result;
}

/** Maps config text; `path` names it in errors and anchors relative includes. */
export function parseConfigString(text: string, path = ""): PartialOptions {
  return parseConfigStringWithWarnings(text, path).options;
}

export function parseConfigStringWithWarnings(text: string, path = ""): ConfigResult {
  return mapConfig(parseConfig(text, { file: path }));
}

/**
 * Keys nats-server knows that this server does not implement, in two kinds. Features whose
 * absence only means less is offered (other listeners, persistence, profiling) are ignored with
 * a warning, so configs written for nats-server (and client test suites) still start. Security
 * semantics (OCSP) are refused: ignoring them would start a server more open than its config
 * says.
 */
const IGNORED = new Set([
  "gateway",
  "prof_port",
  "mqtt",
  "disable_sublist_cache",
  "no_sublist_cache",
  "max_sub_tokens",
  "max_subscription_tokens",
]);
const REFUSED = new Set(["ocsp"]);

const DEFAULT_ALLOW_RESPONSE_MAX_MSGS = 1;
const DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS = 2 * 60 * 1000;

interface KindValues {
  string: string;
  integer: number;
  float: number;
  bool: boolean;
  datetime: Date;
  array: ConfNode[];
  map: ConfMap;
}

/** Thrown inside one key's handling to abandon that key, as nats-server's recover does. */
class Abandon extends Error {}

export class Mapper {
  errors: ConfigError[] = [];
  warnings: ConfigError[] = [];
  out: PartialOptions = {};
  cluster: Partial<ClusterOptions> = {};
  /** Where `accounts` is: nats-server reports the checks across accounts there. */
  accountsPos?: Position;

  error(pos: Position, reason: string): void {
    this.errors.push(ConfigError.at(pos, reason));
  }

  /** Records an error and stops handling the current key. */
  abandon(pos: Position, reason: string): never {
    this.error(pos, reason);
    throw new Abandon();
  }

  /**
   * An error nats-server prints without a position (it lost the token on the way); the position
   * is kept on the error for tools, not printed.
   */
  unplaced(pos: Position, reason: string): void {
    this.errors.push(new ConfigError(reason, pos, reason));
  }

  abandonUnplaced(pos: Position, reason: string): never {
    this.unplaced(pos, reason);
    throw new Abandon();
  }

  warn(pos: Position, field: string, reason: string): void {
    const msg = `${pos.file}:${pos.line}:${pos.col}: invalid use of field ${
      goQuote(field)
    }: ${reason}`;
    this.warnings.push(new ConfigError(msg, pos, reason));
  }

  unknown(pos: Position, field: string): void {
    this.errors.push(
      new ConfigError(
        `${pos.file}:${pos.line}:${pos.col}: unknown field ${goQuote(field)}`,
        pos,
        `unknown field ${goQuote(field)}`,
      ),
    );
  }

  unsupported(pos: Position, field: string): void {
    this.error(pos, `${goQuote(field)} is not supported by this server`);
  }

  /**
   * A whole nats-server feature this server does not have (gateways, websocket, jetstream...):
   * nats-server starts with such a block, and so do we, but never silently: a warning names it.
   */
  ignoredFeature(pos: Position, field: string): void {
    const reason = `${goQuote(field)} is not supported by this server: ignored`;
    this.warnings.push(
      new ConfigError(`${pos.file}:${pos.line}:${pos.col}: ${reason}`, pos, reason),
    );
  }

  /** Runs fn; when it abandons, the error is recorded and undefined returned. */
  guardValue<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof Abandon)) throw e;
      return undefined;
    }
  }

  /** Runs one key's handler; a wrong type abandons only that key. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof Abandon)) throw e;
    }
  }

  /** The value if it has the kind nats-server type-asserts, else Go's panic text. */
  want<K extends ConfKind>(node: ConfNode, kind: K): KindValues[K] {
    if (node.kind !== kind) {
      this.abandon(
        node.pos,
        `interface conversion: interface {} is ${goType(node)}, not ${GO_TYPES[kind]}`,
      );
    }
    return node.value as KindValues[K];
  }

  string(node: ConfNode): string {
    return this.want(node, "string");
  }
  int(node: ConfNode): number {
    return this.want(node, "integer");
  }
  bool(node: ConfNode): boolean {
    return this.want(node, "bool");
  }
}

function mapConfig(root: ConfMap): ConfigResult {
  const m = new Mapper();
  // nats-server reads the system account first (by its exact key), then the rest.
  const sys = root.get("system_account") ?? root.get("system");
  if (sys) {
    if (sys.kind === "string") m.out.systemAccount = sys.value;
    else m.error(sys.pos, "system account name must be a string");
  }
  for (const [key, node] of root) m.guard(() => topLevel(m, key, node));
  if (Object.keys(m.cluster).length > 0) m.out.cluster = m.cluster;
  applyMappings(m);
  // The checks across accounts, which nats-server skips when anything else failed already.
  if (m.accountsPos && m.errors.length === 0) {
    const accounts = [...(m.out.accounts ?? [])];
    // nats-server's top-level mappings add the global account to the configured ones.
    if (m.out.mappingsNode) accounts.push(newAccount(GLOBAL_ACCOUNT));
    const reasons = checkAccounts(accounts, {
      noSystemAccount: m.out.noSystemAccount,
      transformError,
    });
    for (const reason of reasons) m.error(m.accountsPos, reason);
  }
  if (m.errors.length > 0) {
    throw ConfigError.collect(m.errors, m.warnings);
  }
  return { options: m.out, warnings: m.warnings };
}

/** The `mappings` blocks (top level for `$G`, and per account), kept raw until here. */
function applyMappings(m: Mapper): void {
  const convert = (node: ConfNode | undefined) => {
    if (!node) return [];
    const r = parseMappings(node);
    m.errors.push(...r.errors);
    return r.definitions;
  };
  if (m.out.mappingsNode) m.out.mappings = convert(m.out.mappingsNode);
  for (const a of m.out.accounts ?? []) {
    if (a.mappingsNode) a.mappings = convert(a.mappingsNode);
  }
}

/** Whether an import's subjects make a transform, with the transform's own error text. */
function transformError(source: string, destination: string): string | undefined {
  try {
    SubjectTransform.compile(source, destination, { validateDestination: false });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function topLevel(m: Mapper, key: string, node: ConfNode): void {
  const o = m.out;
  const k = key.toLowerCase();
  switch (k) {
    case "listen": {
      const hp = parseListen(m, node);
      if (hp.host !== undefined) o.host = hp.host;
      o.port = hp.port;
      return;
    }
    case "client_advertise":
      o.clientAdvertise = m.string(node);
      return;
    case "port":
      o.port = m.int(node);
      return;
    case "server_name":
      o.serverName = m.string(node);
      return;
    case "host":
    case "net":
      o.host = m.string(node);
      return;
    case "debug":
      o.debug = m.bool(node);
      return;
    case "trace":
      o.trace = m.bool(node);
      return;
    case "trace_verbose":
      o.traceVerbose = o.trace = m.bool(node);
      return;
    case "logtime":
      o.logtime = m.bool(node);
      return;
    case "authorization":
      topAuthorization(m, node);
      return;
    case "no_auth_user":
      o.noAuthUser = m.string(node);
      return;
    case "accounts":
      m.accountsPos = node.pos;
      parseAccounts(m, node);
      return;
    case "system_account":
    case "system":
      return; // read before the other keys
    case "no_system_account":
    case "no_system":
    case "no_sys_acc":
      o.noSystemAccount = m.bool(node);
      return;
    case "mappings":
    case "maps":
      // Kept as written: the mappings parser converts it (for the global account).
      o.mappingsNode = node;
      return;
    case "http": {
      const hp = parseListen(m, node);
      if (hp.host !== undefined) o.httpHost = hp.host;
      o.httpPort = hp.port;
      return;
    }
    case "https": {
      const hp = parseListen(m, node);
      if (hp.host !== undefined) o.httpHost = hp.host;
      o.httpsPort = hp.port;
      return;
    }
    case "http_port":
    case "monitor_port":
      o.httpPort = m.int(node);
      return;
    case "https_port":
      o.httpsPort = m.int(node);
      return;
    case "http_base_path":
      o.httpBasePath = m.string(node);
      return;
    case "cluster":
      parseCluster(m, node);
      return;
    case "leafnodes":
    case "leaf":
      parseLeafNodes(m, node);
      return;
    case "logfile":
    case "log_file":
      o.logFile = m.string(node);
      return;
    case "logfile_size_limit":
    case "log_size_limit":
      o.logSizeLimit = m.int(node);
      return;
    case "syslog":
      o.syslog = m.bool(node);
      return;
    case "remote_syslog":
      o.remoteSyslog = m.string(node);
      return;
    case "pidfile":
    case "pid_file":
      o.pidFile = m.string(node);
      return;
    case "ports_file_dir":
      o.portsFileDir = m.string(node);
      return;
    case "max_control_line":
    case "max_payload": {
      const n = m.int(node);
      if (n > 2 ** 31 - 1) m.abandon(node.pos, `${key} value is too big`);
      if (k === "max_payload") o.maxPayload = n;
      else o.maxControlLine = n;
      return;
    }
    case "max_pending":
    case "max_pending_size": // gnatsd's name for it
      o.maxPending = m.int(node);
      return;
    case "max_connections":
    case "max_conn":
      o.maxConn = m.int(node);
      return;
    case "max_traced_msg_len":
      o.maxTracedMsgLen = m.int(node);
      return;
    case "max_subscriptions":
    case "max_subs":
      o.maxSubs = m.int(node);
      return;
    case "ping_interval":
      o.pingIntervalMs = parseLegacyDuration(m, "ping_interval", node);
      return;
    case "ping_max":
      o.maxPingsOut = m.int(node);
      return;
    case "write_deadline":
      o.writeDeadlineMs = parseLegacyDuration(m, "write_deadline", node);
      return;
    case "lame_duck_duration": {
      const ms = goDuration(m.string(node));
      if (typeof ms === "string") m.abandon(node.pos, `error parsing lame_duck_duration: ${ms}`);
      if (ms < 30_000) {
        m.abandon(
          node.pos,
          `invalid lame_duck_duration of ${formatGoDuration(ms)}, minimum is 30 seconds`,
        );
      }
      o.lameDuckDurationMs = ms;
      return;
    }
    case "lame_duck_grace_period": {
      const ms = goDuration(m.string(node));
      if (typeof ms === "string") {
        m.abandon(node.pos, `error parsing lame_duck_grace_period: ${ms}`);
      }
      if (ms < 0) m.abandon(node.pos, "invalid lame_duck_grace_period, needs to be positive");
      o.lameDuckGracePeriodMs = ms;
      return;
    }
    case "tls": {
      const tls = parseTls(m, node, true);
      o.tls = true;
      o.tlsConfig = tls;
      return;
    }
    case "no_header_support":
      o.noHeaderSupport = m.bool(node);
      return;
    case "connect_error_reports":
      o.connectErrorReports = m.int(node);
      return;
    case "reconnect_error_reports":
      o.reconnectErrorReports = m.int(node);
      return;
    case "allow_non_tls":
      o.allowNonTls = m.bool(node);
      return;
    case "server_tags":
      o.tags = node.kind === "array" ? node.value.map((t) => m.string(t)) : [m.string(node)];
      return;
    case "websocket":
    case "ws":
      o.websocket = parseWebsocket(m, node);
      return;
    case "jetstream":
      parseJetStream(m, node);
      return;
    case "default_js_domain":
      o.jsAccDefaultDomain = parseDefaultJsDomain(m, node);
      return;
    case "store_dir":
    case "storedir":
      if (o.storeDir) m.abandon(node.pos, "Duplicate 'store_dir' configuration");
      o.storeDir = m.string(node);
      return;
  }
  if (parseOperatorKey(m, k, node)) return;
  if (IGNORED.has(k)) {
    m.ignoredFeature(node.pos, key);
  } else if (REFUSED.has(k)) {
    m.unsupported(node.pos, key);
  } else if (!node.usedVariable) {
    // A key that only exists to be referenced as $key is a variable, not an option.
    m.unknown(node.pos, key);
  }
}

interface HostPort {
  host?: string;
  port: number;
}

/** `port` or `host:port`; a bare port leaves the host as it was. */
export function parseListen(m: Mapper, node: ConfNode): HostPort {
  if (node.kind === "integer") return { port: node.value };
  if (node.kind !== "string") {
    m.abandon(node.pos, `expected port or host:port, got ${goType(node)}`);
  }
  const hp = splitHostPort(node.value);
  if (!hp) m.abandon(node.pos, `could not parse address string ${goQuote(node.value)}`);
  if (!/^[+-]?[0-9]+$/.test(hp.port) || !Number.isSafeInteger(Number(hp.port))) {
    m.abandon(node.pos, `could not parse port ${goQuote(hp.port)}`);
  }
  return { host: hp.host, port: Number(hp.port) };
}

/** Go's net.SplitHostPort: IPv6 hosts in brackets, exactly one colon otherwise. */
export function splitHostPort(s: string): { host: string; port: string } | undefined {
  const i = s.lastIndexOf(":");
  if (i < 0) return undefined;
  let host: string;
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    if (end < 0 || end + 1 !== i) return undefined;
    host = s.slice(1, end);
    if (s.indexOf("[", 1) >= 0 || s.indexOf("]", end + 1) >= 0) return undefined;
  } else {
    host = s.slice(0, i);
    if (host.includes(":") || host.includes("[") || host.includes("]")) return undefined;
  }
  const port = s.slice(i + 1);
  if (port.includes("]")) return undefined;
  return { host, port };
}

/** ping_interval and write_deadline: a duration string, or (deprecated) a number of seconds. */
function parseLegacyDuration(m: Mapper, field: string, node: ConfNode): number {
  if (node.kind === "string") {
    const ms = goDuration(node.value);
    if (typeof ms === "string") m.abandon(node.pos, `error parsing ${field}: ${ms}`);
    return ms;
  }
  // nats-server warns before it finds out the value is not an integer either.
  m.warn(node.pos, field, `${field} should be converted to a duration`);
  return m.int(node) * 1000;
}

interface Authorization {
  user?: string;
  pass?: string;
  token?: string;
  timeout?: number;
  users?: User[];
  defaultPermissions?: Permissions;
}

function parseAuthorization(m: Mapper, node: ConfNode): Authorization {
  const auth: Authorization = {};
  for (const [key, v] of m.want(node, "map")) {
    m.guard(() => {
      switch (key.toLowerCase()) {
        case "user":
        case "username":
          auth.user = m.string(v);
          return;
        case "pass":
        case "password":
          auth.pass = m.string(v);
          return;
        case "token":
          auth.token = m.string(v);
          return;
        case "timeout":
          // nats-server takes a number of seconds; any other type silently means 1.
          auth.timeout = v.kind === "integer" || v.kind === "float" ? v.value : 1;
          return;
        case "users":
          auth.users = parseUsers(m, v);
          return;
        case "default_permission":
        case "default_permissions":
        case "permissions":
          auth.defaultPermissions = parseUserPermissions(m, v);
          return;
        case "nkey":
          m.unsupported(v.pos, key);
          return;
        default:
          if (!v.usedVariable) m.unknown(v.pos, key);
      }
    });
  }
  if (auth.defaultPermissions && auth.users) {
    for (const u of auth.users) u.permissions ??= auth.defaultPermissions;
  }
  return auth;
}

function topAuthorization(m: Mapper, node: ConfNode): void {
  const auth = parseAuthorization(m, node);
  const o = m.out;
  if (auth.user !== undefined) o.username = auth.user;
  if (auth.pass !== undefined) o.password = auth.pass;
  if (auth.token !== undefined) o.authorization = auth.token;
  if (auth.timeout !== undefined) o.authTimeout = auth.timeout;
  if (auth.defaultPermissions) o.defaultPermissions = auth.defaultPermissions;
  if ((auth.user || auth.pass) && auth.token) {
    m.abandon(node.pos, "Cannot have a user/pass and token");
  }
  // Users (and nkeys) of the accounts block, when it came first, count as a users array.
  const taken = new Set((o.users ?? []).map((u) => u.nkey || u.username));
  if (auth.users || taken.size > 0) {
    if (auth.user) m.abandon(node.pos, "Can not have a single user/pass and a users array");
    if (auth.token) m.abandon(node.pos, "Can not have a token and a users array");
  }
  const users = auth.users ?? [];
  for (const u of users.filter((u) => !u.nkey)) {
    if (taken.has(u.username)) {
      m.abandon(node.pos, `Duplicate user ${goQuote(u.username)} detected`);
    }
    taken.add(u.username);
  }
  for (const u of users.filter((u) => u.nkey)) {
    if (taken.has(u.nkey!)) m.abandon(node.pos, `Duplicate nkey ${goQuote(u.nkey!)} detected`);
    taken.add(u.nkey!);
  }
  if (users.length > 0) o.users = [...(o.users ?? []), ...users];
}

export function parseUsers(m: Mapper, node: ConfNode): User[] {
  if (node.kind !== "array") {
    m.abandon(node.pos, `Expected users field to be an array, got ${goValue(node)}`);
  }
  const users: User[] = [];
  for (const entry of node.value) {
    if (entry.kind !== "map") {
      m.error(entry.pos, `Expected user entry to be a map/struct, got ${goValue(entry)}`);
      continue;
    }
    const user: User = { username: "", password: "" };
    let last: ConfNode = entry;
    // A value of the wrong type ends the whole list, as nats-server's panic does; a bad
    // permissions block only itself.
    for (const [key, v] of entry.value) {
      last = v;
      switch (key.toLowerCase()) {
        case "user":
        case "username":
          user.username = m.string(v);
          break;
        case "pass":
        case "password":
          user.password = m.string(v);
          break;
        case "permission":
        case "permissions":
        case "authorization":
          m.guard(() => user.permissions = parseUserPermissions(m, v));
          break;
        case "nkey":
          user.nkey = m.string(v);
          break;
        case "allowed_connection_types":
        case "connection_types":
        case "clients":
          m.unsupported(v.pos, key);
          break;
        default:
          if (!v.usedVariable) m.unknown(v.pos, key);
      }
    }
    // nats-server checks these after the entry, at its last value.
    if (user.username === "" && !user.nkey) m.abandon(last.pos, "User entry requires a user");
    if (user.nkey) {
      if (!isUserNkey(user.nkey)) m.abandon(last.pos, "Not a valid public nkey for a user");
      if (user.username !== "" || user.password !== "") {
        m.abandon(last.pos, "Nkey users do not take usernames or passwords");
      }
    } else {
      delete user.nkey;
    }
    users.push(user);
  }
  return users;
}

export function parseUserPermissions(m: Mapper, node: ConfNode): Permissions {
  if (node.kind !== "map") {
    m.abandon(node.pos, `Expected permissions to be a map/struct, got ${goValue(node)}`);
  }
  const p: Permissions = {};
  for (const [key, v] of node.value) {
    m.guard(() => {
      switch (key.toLowerCase()) {
        case "pub":
        case "publish":
        case "import":
          p.publish = parseVariablePermissions(m, v);
          return;
        case "sub":
        case "subscribe":
        case "export":
          p.subscribe = parseVariablePermissions(m, v);
          return;
        case "publish_allow_responses":
        case "allow_responses":
          if (v.kind === "bool") {
            if (v.value) {
              p.response = {
                maxMsgs: DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
                expiresMs: DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS,
              };
            }
          } else {
            p.response = parseAllowResponses(m, v);
          }
          if (p.response) {
            // Allowing responses turns off the blanket publish allow.
            p.publish ??= {};
            p.publish.allow ??= [];
          }
          return;
        default:
          if (!v.usedVariable) m.error(v.pos, `Unknown field ${goQuote(key)} parsing permissions`);
      }
    });
  }
  return p;
}

function parseVariablePermissions(m: Mapper, node: ConfNode): SubjectPermission | undefined {
  // nats-server hands the old style (a subject or a list) over without its position.
  if (node.kind !== "map") return { allow: parsePermSubjects(m, node, false) };
  if (node.value.size === 0) return undefined;
  const p: SubjectPermission = {};
  for (const [key, v] of node.value) {
    m.guard(() => {
      switch (key.toLowerCase()) {
        case "allow":
          p.allow = parsePermSubjects(m, v);
          return;
        case "deny":
          p.deny = parsePermSubjects(m, v);
          return;
        default:
          if (!v.usedVariable) {
            m.error(
              v.pos,
              `Unknown field name ${
                goQuote(key)
              } parsing subject permissions, only 'allow' or 'deny' are permitted`,
            );
          }
      }
    });
  }
  return p;
}

export function parsePermSubjects(m: Mapper, node: ConfNode, positioned = true): string[] {
  const fail: (reason: string) => never = (reason) =>
    positioned ? m.abandon(node.pos, reason) : m.abandonUnplaced(node.pos, reason);
  let subjects: string[];
  if (node.kind === "string") {
    subjects = [node.value];
  } else if (node.kind === "array") {
    subjects = node.value.map((s) => {
      if (s.kind !== "string") {
        m.abandon(s.pos, "Subject in permissions array cannot be cast to string");
      }
      return s.value;
    });
  } else {
    fail(`Expected subject permissions to be a subject, or array of subjects, got ${goType(node)}`);
  }
  for (const s of subjects) {
    if (isValidSubject(s)) continue;
    // A queue subscription permission: "subject queue".
    const fields = s.split(/[ \t\n\v\f\r]+/).filter((f) => f !== "");
    if (fields.length !== 2) fail(`subject ${goQuote(s)} is not a valid subject`);
    if (!isValidSubject(fields[0])) fail(`subject ${goQuote(fields[0])} is not a valid subject`);
  }
  return subjects;
}

/** nats-server's IsValidSubject: non-empty tokens, no whitespace, `>` only last. */
function isValidSubject(subject: string): boolean {
  if (subject === "") return false;
  let sawFwc = false;
  for (const t of subject.split(".")) {
    if (t.length === 0 || sawFwc) return false;
    if (t.length > 1) {
      if (/[\t\n\f\r ]/.test(t)) return false;
      continue;
    }
    if (t === ">") sawFwc = true;
    else if (/[ \t\n\r\f]/.test(t)) return false;
  }
  return true;
}

function parseAllowResponses(m: Mapper, node: ConfNode): Permissions["response"] {
  if (node.kind !== "map") {
    m.abandon(node.pos, "error parsing response permissions, expected a boolean or a map");
  }
  const rp = {
    maxMsgs: DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
    expiresMs: DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS,
  };
  for (const [key, v] of node.value) {
    switch (key.toLowerCase()) {
      case "max":
      case "max_msgs":
      case "max_messages":
      case "max_responses": {
        // Negative means unlimited; 0 keeps the default.
        const max = m.int(v);
        if (max !== 0) rp.maxMsgs = max;
        break;
      }
      case "expires":
      case "expiration":
      case "ttl": {
        if (v.kind !== "string") m.abandon(v.pos, "error parsing expires, not a duration string");
        const ms = goDuration(v.value);
        if (typeof ms === "string") m.abandon(v.pos, `error parsing expires: ${ms}`);
        if (ms !== 0) rp.expiresMs = ms;
        break;
      }
      default:
        if (!v.usedVariable) m.error(v.pos, `Unknown field ${goQuote(key)} parsing permissions`);
    }
  }
  return rp;
}

function parseCluster(m: Mapper, node: ConfNode): void {
  if (node.kind !== "map") {
    m.abandon(node.pos, `Expected map to define cluster, got ${goType(node)}`);
  }
  const c = m.cluster;
  for (const [key, v] of node.value) {
    m.guard(() => {
      switch (key.toLowerCase()) {
        case "name":
          c.name = m.string(v);
          return;
        case "listen": {
          const hp = parseListen(m, v);
          if (hp.host !== undefined) c.host = hp.host;
          c.port = hp.port;
          return;
        }
        case "port":
          c.port = m.int(v);
          return;
        case "host":
        case "net":
          c.host = m.string(v);
          return;
        case "authorization": {
          const auth = parseAuthorization(m, v);
          if (auth.users) m.abandon(v.pos, "Cluster authorization does not allow multiple users");
          if (auth.token) m.abandon(v.pos, "Cluster authorization does not support tokens");
          if (auth.user !== undefined) c.username = auth.user;
          if (auth.pass !== undefined) c.password = auth.pass;
          if (auth.timeout !== undefined) c.authTimeout = auth.timeout;
          if (auth.defaultPermissions) {
            m.warn(
              v.pos,
              key,
              'setting "permissions" within cluster authorization block is deprecated',
            );
            c.permissions ??= routePermissions(auth.defaultPermissions);
          }
          return;
        }
        case "routes":
          m.out.routes = parseRoutes(m, v);
          return;
        case "tls":
          c.tls = parseTls(m, v, false);
          return;
        case "cluster_advertise":
        case "advertise":
          c.advertise = m.string(v);
          return;
        case "no_advertise":
          c.noAdvertise = m.bool(v);
          return;
        case "connect_retries":
          c.connectRetries = m.int(v);
          return;
        case "permissions": {
          const perms = parseUserPermissions(m, v);
          if (perms.response) {
            m.abandon(v.pos, "Cluster permissions do not support dynamic responses");
          }
          c.permissions = routePermissions(perms);
          return;
        }
        default:
          if (!v.usedVariable) m.unknown(v.pos, key);
      }
    });
  }
}

/** Routes name their directions import/export; the parser stored them as publish/subscribe. */
function routePermissions(p: Permissions): ClusterOptions["permissions"] {
  const out: NonNullable<ClusterOptions["permissions"]> = {};
  if (p.publish) out.import = p.publish;
  if (p.subscribe) out.export = p.subscribe;
  return out;
}

function parseRoutes(m: Mapper, node: ConfNode): string[] {
  const routes: string[] = [];
  const seen = new Set<string>();
  for (const r of m.want(node, "array")) {
    const url = m.string(r);
    if (seen.has(url)) {
      m.warn(r.pos, url, "Duplicate route entry detected");
      continue;
    }
    seen.add(url);
    const trimmed = url.trim();
    if (!isParsableUrl(trimmed)) {
      m.error(r.pos, `error parsing route url [${goQuote(trimmed)}]`);
      continue;
    }
    routes.push(trimmed);
  }
  return routes;
}

/** The few things Go's lenient url.Parse rejects. */
export function isParsableUrl(s: string): boolean {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(s)) return false;
  if (s.startsWith(":")) return false; // missing protocol scheme
  if (/%(?![0-9a-fA-F]{2})/.test(s)) return false;
  const auth = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(s);
  if (auth) {
    const host = auth[1].slice(auth[1].lastIndexOf("@") + 1);
    if (host.startsWith("[")) {
      const end = host.indexOf("]");
      if (end < 0) return false;
      const rest = host.slice(end + 1);
      if (rest !== "" && !/^:[0-9]*$/.test(rest)) return false;
    } else {
      const colon = host.lastIndexOf(":");
      if (colon >= 0 && !/^[0-9]*$/.test(host.slice(colon + 1))) return false;
    }
  }
  return true;
}

/** A `tls { }` block; `clientSide` is the top-level one (clients connect to us). */
export function parseTls(m: Mapper, node: ConfNode, clientSide: boolean): TlsOptions {
  const tc = defaultTlsOptions();
  const expect = (v: ConfNode, kind: ConfKind, what: string, field: string) => {
    if (v.kind !== kind) {
      m.abandon(v.pos, `error parsing tls config, expected '${field}' to be ${what}`);
    }
    return v.value;
  };
  for (const [key, v] of m.want(node, "map")) {
    const k = key.toLowerCase();
    switch (k) {
      case "cert_file":
        tc.certFile = expect(v, "string", "filename", k) as string;
        break;
      case "key_file":
        tc.keyFile = expect(v, "string", "filename", k) as string;
        break;
      case "ca_file":
        tc.caFile = expect(v, "string", "filename", k) as string;
        break;
      case "insecure":
        tc.insecure = expect(v, "bool", "a boolean", k) as boolean;
        break;
      case "verify":
        tc.verify = expect(v, "bool", "a boolean", k) as boolean;
        break;
      case "verify_and_map": {
        const on = expect(v, "bool", "a boolean", k) as boolean;
        if (on) tc.verify = true;
        tc.verifyAndMap = on;
        break;
      }
      case "verify_cert_and_check_known_urls": {
        const on = expect(v, "bool", "a boolean", k) as boolean;
        if (on && clientSide) {
          m.abandon(v.pos, "verify_cert_and_check_known_urls not supported in this context");
        }
        if (on) m.unsupported(v.pos, key);
        break;
      }
      case "cipher_suites":
      case "curve_preferences": {
        const names = m.want(v, "array");
        if (names.length === 0) {
          m.abandon(v.pos, `error parsing tls config, '${k}' cannot be empty`);
        }
        const known = k === "cipher_suites" ? CIPHER_SUITES : CURVE_PREFERENCES;
        const what = k === "cipher_suites" ? "cipher" : "curve preference";
        const list = names.map((n) => {
          const name = m.string(n);
          if (!known.includes(name)) m.abandon(n.pos, `unrecognized ${what} ${name}`);
          return name;
        });
        if (k === "cipher_suites") tc.ciphers = list;
        else tc.curvePreferences = list;
        break;
      }
      case "timeout":
        if (v.kind === "integer" || v.kind === "float") {
          tc.timeout = v.value;
        } else if (v.kind === "string") {
          const ms = goDuration(v.value);
          if (typeof ms === "string") {
            m.abandon(v.pos, `error parsing tls config, 'timeout' ${ms}`);
          }
          tc.timeout = ms / 1000;
        } else {
          m.abandon(v.pos, "error parsing tls config, 'timeout' wrong type");
        }
        break;
      case "connection_rate_limit":
      case "pinned_certs":
        m.unsupported(v.pos, key);
        break;
      default:
        m.abandon(v.pos, `error parsing tls config, unknown field [${goQuote(key)}]`);
    }
  }
  if (tc.certFile !== "" && tc.keyFile === "") {
    m.abandon(node.pos, "missing 'key_file' in TLS configuration");
  }
  if (tc.certFile === "" && tc.keyFile !== "") {
    m.abandon(node.pos, "missing 'cert_file' in TLS configuration");
  }
  return tc;
}

/** The `websocket {}` block, keys and errors as nats-server's parseWebsocket. */
function parseWebsocket(m: Mapper, node: ConfNode): WebsocketOptions {
  const wo = defaultWebsocketOptions();
  if (node.kind !== "map") {
    m.abandon(node.pos, `Expected websocket to be a map, got ${goType(node)}`);
  }
  // Like nats-server, a wrong type ends the block (its recovered panic), keeping what was read.
  m.guard(() => {
    for (const [key, v] of node.value) {
      switch (key.toLowerCase()) {
        case "listen": {
          const hp = m.guardValue(() => parseListen(m, v));
          if (hp) {
            wo.host = hp.host ?? "";
            wo.port = hp.port;
          }
          break;
        }
        case "port":
          wo.port = m.int(v);
          break;
        case "host":
        case "net":
          wo.host = m.string(v);
          break;
        case "advertise":
          wo.advertise = m.string(v);
          break;
        case "no_tls":
          wo.noTls = m.bool(v);
          break;
        case "tls": {
          const tls = m.guardValue(() => parseTls(m, v, true));
          if (tls) wo.tls = tls;
          break;
        }
        case "same_origin":
          wo.sameOrigin = m.bool(v);
          break;
        case "allowed_origins":
        case "allowed_origin":
        case "allow_origins":
        case "allow_origin":
        case "origins":
        case "origin":
          wo.allowedOrigins = parseStringArray(m, "allowed origins", v);
          break;
        case "handshake_timeout":
          if (v.kind === "integer") {
            wo.handshakeTimeoutMs = v.value * 1000;
          } else if (v.kind === "string") {
            const ms = goDuration(v.value);
            if (typeof ms === "string") m.error(v.pos, ms);
            else wo.handshakeTimeoutMs = ms;
          } else {
            m.error(v.pos, `error parsing handshake timeout: unsupported type ${goType(v)}`);
          }
          break;
        case "compress":
        case "compression":
          wo.compression = m.bool(v);
          break;
        case "authorization":
        case "authentication":
          parseWebsocketAuth(m, v, wo);
          break;
        case "jwt_cookie":
          wo.jwtCookie = m.string(v);
          break;
        case "no_auth_user":
          wo.noAuthUser = m.string(v);
          break;
        default:
          if (!v.usedVariable) m.unknown(v.pos, key);
      }
    }
  });
  return wo;
}

/** nats-server's parseSimpleAuth: user, password, token and timeout, nothing else. */
function parseWebsocketAuth(m: Mapper, node: ConfNode, wo: WebsocketOptions): void {
  for (const [key, v] of m.want(node, "map")) {
    switch (key.toLowerCase()) {
      case "user":
      case "username":
        wo.username = m.string(v);
        break;
      case "pass":
      case "password":
        wo.password = m.string(v);
        break;
      case "token":
        wo.token = m.string(v);
        break;
      case "timeout":
        // A number of seconds; any other type silently means 1.
        wo.authTimeout = v.kind === "integer" || v.kind === "float" ? v.value : 1;
        break;
      default:
        if (!v.usedVariable) m.unknown(v.pos, key);
    }
  }
}

/** nats-server's parseStringArray: one string or an array of strings. */
function parseStringArray(m: Mapper, what: string, node: ConfNode): string[] {
  if (node.kind === "string") return [node.value];
  if (node.kind !== "array") {
    m.error(node.pos, `error parsing ${what}: unsupported type ${goType(node)}`);
    return [];
  }
  const out: string[] = [];
  for (const e of node.value) {
    if (e.kind === "string") out.push(e.value);
    else m.error(e.pos, `error parsing ${what}: unsupported type in array ${goType(e)}`);
  }
  return out;
}

// ---- Go formatting (src/conf/go_format.ts), so messages read exactly as nats-server's ----

export { goQuote, goType, goValue };

const UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration, in milliseconds; returns Go's error text on failure. */
export function goDuration(text: string): number | string {
  const invalid = `time: invalid duration ${timeQuote(text)}`;
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") return invalid;
  let totalNs = 0n;
  while (s !== "") {
    const num = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    const [whole, int = "", frac] = num;
    if (int === "" && (frac === undefined || frac === "")) return invalid;
    s = s.slice(whole.length);
    const unit = /^[^0-9.]*/.exec(s)![0];
    if (unit === "") return `time: missing unit in duration ${timeQuote(text)}`;
    const perMs = UNITS_MS[unit];
    if (perMs === undefined) {
      return `time: unknown unit ${timeQuote(unit)} in duration ${timeQuote(text)}`;
    }
    s = s.slice(unit.length);
    const unitNs = BigInt(Math.round(perMs * 1e6));
    const fracDigits = frac ?? "";
    let ns = BigInt(int || "0") * unitNs;
    if (fracDigits !== "") {
      ns += (BigInt(fracDigits) * unitNs) / 10n ** BigInt(fracDigits.length);
    }
    totalNs += ns;
    if (totalNs > 2n ** 63n - 1n) return invalid;
  }
  return (sign * Number(totalNs)) / 1e6;
}
