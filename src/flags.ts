/**
 * The command line, parsed the way nats-server's Go `flag.FlagSet` parses it: `-x` and `--x` are
 * the same flag, values come as `-x=v` or `-x v`, booleans only take `-x` or `-x=false`, and the
 * first non-flag argument (or `--`) ends the flags. Error texts are Go's, so scripts and people
 * used to nats-server see the same messages.
 *
 * The result holds only what the command line set, so that `mergeOptions` lets a flag override a
 * config file field by field; `applyFlags` adds the few overrides a plain merge cannot express.
 */

import { CIPHER_SUITES, CURVE_PREFERENCES } from "./tls.ts";
import {
  defaultTlsOptions,
  type Options,
  type PartialOptions,
  type TlsOptions,
  VERSION,
} from "./options.ts";
import { RELEASE_NAME, RELEASE_VERSION } from "./version.ts";

export type FlagAction =
  | { kind: "run" }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "help_tls" }
  /** `pid` is what followed `=`: a pid, a pid file path, or "" to look the process up. */
  | { kind: "signal"; command: string; pid: string }
  | { kind: "check_config" };

export interface FlagResult {
  action: FlagAction;
  /** Only the fields the command line set. */
  opts: PartialOptions;
  configFile: string;
  /** Flags we accept for compatibility but do not honour (profiling). */
  warnings: string[];
}

/**
 * A command line nats-server would refuse. `usage` says whether Go's flag package produced it
 * (main then prints the error and the usage text); other errors are printed as
 * `nats-server: <message>` with exit code 1, as nats-server's PrintAndDie does.
 */
export class FlagError extends Error {
  readonly usage: boolean;
  /**
   * 2 for flag syntax errors, as Go programs using flag.ExitOnError exit. nats-server 2.9 itself
   * exits 0 there, because its usage function calls os.Exit(0) before flag can exit 2.
   */
  readonly exitCode: number;
  constructor(message: string, usage: boolean) {
    super(message);
    this.name = "FlagError";
    this.usage = usage;
    this.exitCode = usage ? 2 : 1;
  }
}

/** `--signal` commands and the Unix signal nats-server sends for each. */
export const SIGNALS: Readonly<Record<string, Deno.Signal>> = {
  stop: "SIGKILL",
  quit: "SIGINT",
  reopen: "SIGUSR1",
  reload: "SIGHUP",
  ldm: "SIGUSR2",
  term: "SIGTERM",
};

/**
 * nats-server's line, byte for byte (scripts parse it), then ours on a line of its own: which
 * release of this server, on which Deno.
 */
export function versionString(): string {
  return `nats-server: v${VERSION}\n${RELEASE_NAME}: v${RELEASE_VERSION} (deno ${Deno.version.deno})`;
}

type Kind = "bool" | "string" | "int";

/** Flag name -> [value kind, key shared by its aliases]. Aliases write the same variable. */
const FLAGS: Record<string, [Kind, string]> = {
  h: ["bool", "help"],
  help: ["bool", "help"],
  v: ["bool", "version"],
  version: ["bool", "version"],
  help_tls: ["bool", "help_tls"],
  p: ["int", "port"],
  port: ["int", "port"],
  n: ["string", "serverName"],
  name: ["string", "serverName"],
  server_name: ["string", "serverName"],
  a: ["string", "host"],
  addr: ["string", "host"],
  net: ["string", "host"],
  client_advertise: ["string", "clientAdvertise"],
  D: ["bool", "debug"],
  debug: ["bool", "debug"],
  V: ["bool", "trace"],
  trace: ["bool", "trace"],
  VV: ["bool", "VV"],
  DV: ["bool", "DV"],
  DVV: ["bool", "DVV"],
  T: ["bool", "logtime"],
  logtime: ["bool", "logtime"],
  user: ["string", "username"],
  pass: ["string", "password"],
  auth: ["string", "authorization"],
  m: ["int", "httpPort"],
  http_port: ["int", "httpPort"],
  ms: ["int", "httpsPort"],
  https_port: ["int", "httpsPort"],
  c: ["string", "config"],
  config: ["string", "config"],
  t: ["bool", "checkConfig"],
  sl: ["string", "signal"],
  signal: ["string", "signal"],
  P: ["string", "pidFile"],
  pid: ["string", "pidFile"],
  ports_file_dir: ["string", "portsFileDir"],
  l: ["string", "logFile"],
  log: ["string", "logFile"],
  log_size_limit: ["int", "logSizeLimit"],
  s: ["bool", "syslog"],
  syslog: ["bool", "syslog"],
  r: ["string", "remoteSyslog"],
  remote_syslog: ["string", "remoteSyslog"],
  profile: ["int", "profile"],
  routes: ["string", "routes"],
  cluster: ["string", "clusterListen"],
  cluster_listen: ["string", "clusterListen"],
  cluster_advertise: ["string", "clusterAdvertise"],
  no_advertise: ["bool", "noAdvertise"],
  connect_retries: ["int", "connectRetries"],
  cluster_name: ["string", "clusterName"],
  tls: ["bool", "tls"],
  tlsverify: ["bool", "tlsverify"],
  tlscert: ["string", "tlscert"],
  tlskey: ["string", "tlskey"],
  tlscacert: ["string", "tlscacert"],
  max_traced_msg_len: ["int", "maxTracedMsgLen"],
  js: ["bool", "jetstream"],
  jetstream: ["bool", "jetstream"],
  sd: ["string", "storeDir"],
  store_dir: ["string", "storeDir"],
};

/** Keys whose value is copied as is into the options field of the same name. */
const PLAIN_KEYS = [
  "port",
  "serverName",
  "host",
  "clientAdvertise",
  "debug",
  "trace",
  "logtime",
  "username",
  "password",
  "authorization",
  "httpPort",
  "httpsPort",
  "checkConfig",
  "pidFile",
  "portsFileDir",
  "logFile",
  "logSizeLimit",
  "syslog",
  "remoteSyslog",
  "maxTracedMsgLen",
  "jetstream",
  "storeDir",
] as const;

type Value = string | number | boolean;

export function parseFlags(args: string[]): FlagResult {
  const { values, rest } = scan(args);
  const has = (k: string) => values.has(k);
  const str = (k: string) => String(values.get(k) ?? "");

  // Go checks these before anything else that can fail.
  if (values.get("version") === true) return simple({ kind: "version" });
  if (values.get("help") === true) return simple({ kind: "help" });
  if (values.get("help_tls") === true) return simple({ kind: "help_tls" });
  if (rest.length > 0) {
    switch (rest[0].toLowerCase()) {
      case "version":
        return simple({ kind: "version" });
      case "help":
        return simple({ kind: "help" });
      default:
        throw new FlagError(`unrecognized command: ${goQuote(rest[0])}`, false);
    }
  }

  const opts: PartialOptions = {};
  const o = opts as Record<string, unknown>;
  for (const k of PLAIN_KEYS) if (has(k)) o[k] = values.get(k);
  // The combined flags win over -D/-V whatever their order, as nats-server applies them last.
  if (has("DV")) opts.debug = opts.trace = values.get("DV") as boolean;
  if (has("DVV")) {
    opts.debug = opts.trace = opts.traceVerbose = values.get("DVV") as boolean;
  }
  if (has("VV")) opts.trace = opts.traceVerbose = values.get("VV") as boolean;

  const configFile = str("config");
  if (configFile !== "") opts.configFile = configFile;

  if (has("routes")) opts.routes = routesFromString(str("routes"));
  const cluster: NonNullable<PartialOptions["cluster"]> = {};
  if (has("clusterListen")) Object.assign(cluster, clusterFromUrl(str("clusterListen")));
  if (has("clusterAdvertise")) cluster.advertise = str("clusterAdvertise");
  if (has("noAdvertise")) cluster.noAdvertise = values.get("noAdvertise") as boolean;
  if (has("connectRetries")) cluster.connectRetries = values.get("connectRetries") as number;
  if (has("clusterName")) cluster.name = str("clusterName");
  if (Object.keys(cluster).length > 0) opts.cluster = cluster;

  Object.assign(opts, tlsFromFlags(values));

  const warnings: string[] = [];
  if (has("profile") && values.get("profile") !== 0) {
    warnings.push("Profiling is not supported by this server, --profile ignored");
  }

  let action: FlagAction = { kind: "run" };
  if (str("signal") !== "") {
    const parts = str("signal").split("=");
    if (parts.length > 2) {
      throw new FlagError(`invalid signal parameters: [${parts.slice(2).join(" ")}]`, false);
    }
    action = { kind: "signal", command: parts[0], pid: parts[1] ?? "" };
  } else if (opts.checkConfig) {
    if (configFile === "") {
      throw new FlagError(
        "must specify [-c, --config] option to check configuration file syntax",
        false,
      );
    }
    action = { kind: "check_config" };
  }
  return { action, opts, configFile, warnings };
}

/**
 * Merges the command line over config-file options, with the overrides nats-server applies after
 * its second flag pass: `--tls=false` drops the config file's TLS block, TLS flags replace it (but
 * keep its handshake timeout), and routes need a cluster listener from somewhere.
 */
export function applyFlags(base: Options, flags: FlagResult): Options {
  const { tlsConfig, ...rest } = flags.opts;
  const out: Options = {
    ...base,
    ...definedOnly(rest),
    cluster: { ...base.cluster, ...definedOnly(rest.cluster ?? {}) },
  };
  if (flags.opts.tls === false) {
    out.tlsConfig = undefined;
  } else if (tlsConfig) {
    out.tlsConfig = { ...tlsConfig, timeout: base.tlsConfig?.timeout ?? tlsConfig.timeout };
  }
  const routesSet = (flags.opts.routes?.length ?? 0) > 0;
  if (routesSet && out.cluster.port === 0) {
    throw new FlagError("solicited routes require cluster capabilities, e.g. --cluster", false);
  }
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

function simple(action: FlagAction): FlagResult {
  return { action, opts: {}, configFile: "", warnings: [] };
}

/** Go's flag.FlagSet.Parse: returns the set values by key and the arguments left over. */
function scan(args: string[]): { values: Map<string, Value>; rest: string[] } {
  const values = new Map<string, Value>();
  let i = 0;
  while (i < args.length) {
    const s = args[i];
    if (s.length < 2 || s[0] !== "-") break;
    let dashes = 1;
    if (s[1] === "-") {
      dashes = 2;
      if (s.length === 2) {
        i++;
        break;
      }
    }
    let name = s.slice(dashes);
    if (name.length === 0 || name[0] === "-" || name[0] === "=") {
      throw new FlagError(`bad flag syntax: ${s}`, true);
    }
    i++;
    let value: string | undefined;
    const eq = name.indexOf("=", 1);
    if (eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const def = Object.hasOwn(FLAGS, name) ? FLAGS[name] : undefined;
    if (!def) throw new FlagError(`flag provided but not defined: -${name}`, true);
    const [kind, key] = def;
    if (kind === "bool") {
      const b = value === undefined ? true : parseGoBool(value);
      if (b === undefined) {
        throw new FlagError(
          `invalid boolean value ${goQuote(value!)} for -${name}: parse error`,
          true,
        );
      }
      values.set(key, b);
      continue;
    }
    if (value === undefined) {
      if (i >= args.length) throw new FlagError(`flag needs an argument: -${name}`, true);
      value = args[i++];
    }
    if (kind === "int") {
      const n = parseGoInt(value);
      if (typeof n === "string") {
        throw new FlagError(`invalid value ${goQuote(value)} for flag -${name}: ${n}`, true);
      }
      values.set(key, n);
    } else {
      values.set(key, value);
    }
  }
  return { values, rest: args.slice(i) };
}

/** strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

const INT_FORMS: Array<[RegExp, number]> = [
  [/^0[xX](_?[0-9a-fA-F])+$/, 16],
  [/^0[bB](_?[01])+$/, 2],
  [/^0[oO](_?[0-7])+$/, 8],
  [/^0(_?[0-7])+$/, 8],
  [/^[1-9](_?[0-9])*$|^0$/, 10],
];
const INT64_MAX = (1n << 63n) - 1n;

/**
 * strconv.ParseInt(s, 0, 64), as flag.IntVar uses it: base prefixes, a leading 0 for octal and
 * underscores between digits. Returns Go's error wording on failure.
 */
function parseGoInt(s: string): number | string {
  let body = s;
  let neg = false;
  if (body[0] === "+" || body[0] === "-") {
    neg = body[0] === "-";
    body = body.slice(1);
  }
  for (const [re, base] of INT_FORMS) {
    if (!re.test(body)) continue;
    const digits = body.replace(/_/g, "").replace(/^0[xXbBoO]?/, "") || "0";
    let n = 0n;
    for (const d of digits) n = n * BigInt(base) + BigInt(parseInt(d, base));
    if (neg) n = -n;
    if (n > INT64_MAX || n < -INT64_MAX - 1n) return "value out of range";
    return Number(n);
  }
  return "parse error";
}

/** Go's %q for the plain strings a command line holds. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** nats-server's RoutesFromStr: comma separated, spaces around each URL ignored. */
function routesFromString(s: string): string[] {
  if (s === "") return [];
  return s.split(",").map((r) => r.trim());
}

/**
 * `--cluster nats://user:pass@host:port`: the listen address, and route credentials when given.
 * An empty URL turns clustering off; a URL without credentials clears the config file's.
 */
function clusterFromUrl(raw: string): NonNullable<PartialOptions["cluster"]> {
  if (raw === "") return { port: 0 };
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(raw);
  if (!m) {
    if (/^[^/]*:/.test(raw) && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(raw)) {
      throw new FlagError(
        `parse ${goQuote(raw)}: first path segment in URL cannot contain colon`,
        false,
      );
    }
    throw new FlagError("missing port in address", false);
  }
  const authority = m[1];
  const at = authority.lastIndexOf("@");
  const hostPort = authority.slice(at + 1);
  const hp = /^(.*):(-1|\d+)$/.exec(hostPort);
  if (!hp) throw new FlagError(`address ${hostPort}: missing port in address`, false);
  const host = hp[1].replace(/^\[(.*)\]$/, "$1");
  const port = Number(hp[2]);
  if (at < 0) return { host, port, username: "", password: "" };
  const userInfo = authority.slice(0, at);
  const colon = userInfo.indexOf(":");
  if (colon < 0) throw new FlagError("expected cluster password to be set", false);
  return {
    host,
    port,
    username: unescape(userInfo.slice(0, colon)),
    password: unescape(userInfo.slice(colon + 1)),
  };
}

function unescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Any `--tls*` flag builds the client TLS config from the flags alone (certificate and key are
 * then required), unless `--tls=false` is given, which turns client TLS off.
 */
function tlsFromFlags(values: Map<string, Value>): PartialOptions {
  const keys = ["tls", "tlsverify", "tlscert", "tlskey", "tlscacert"];
  if (!keys.some((k) => values.has(k))) return {};
  if (values.get("tls") === false) return { tls: false };
  const cert = String(values.get("tlscert") ?? "");
  const key = String(values.get("tlskey") ?? "");
  if (cert === "") throw new FlagError("TLS Server certificate must be present and valid", false);
  if (key === "") throw new FlagError("TLS Server private key must be present and valid", false);
  const tlsConfig: TlsOptions = {
    ...defaultTlsOptions(),
    certFile: cert,
    keyFile: key,
    caFile: String(values.get("tlscacert") ?? ""),
    verify: values.get("tlsverify") === true,
  };
  return { tls: true, tlsConfig };
}

/** What `-h` prints: nats-server's usage text, with the parts we do not implement marked. */
export const USAGE = `
Usage: nats-server [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
    -ms,--https_port <port>          Use port for https monitoring
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
    -sl,--signal <signal>[=<pid>]    Send signal to nats-server process (ldm, stop, quit, term, reopen, reload)
                                     pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/nats-server.pid)
        --client_advertise <string>  Client URL to advertise to other servers
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
    -s, --syslog                     Log to syslog
    -r, --remote_syslog <addr>       Syslog server addr (udp://localhost:514)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -VV                              Verbose trace (traces system account as well)
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace (traces system account as well)
        --log_size_limit <limit>     Logfile size limit (default: auto)
        --max_traced_msg_len <len>   Maximum printable length for traced messages (default: unlimited)

JetStream Options:
    -js, --jetstream                 Enable JetStream functionality
    -sd, --store_dir <dir>           Set the storage directory

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Cluster Options:
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes
        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries
        --cluster_listen <url>       Cluster url from which members can solicit routes

Profiling Options (not supported, accepted and ignored):
        --profile <port>             Profiling HTTP port

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
        --help_tls                   TLS help

`;

/** What `--help_tls` prints (nats-server lists the names in Go map order; we keep table order). */
export const TLS_USAGE = `
TLS configuration is specified in the tls section of a configuration file:

e.g.

    tls {
        cert_file:      "./certs/server-cert.pem"
        key_file:       "./certs/server-key.pem"
        ca_file:        "./certs/ca.pem"
        verify:         true
        verify_and_map: true

        cipher_suites: [
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ]
        curve_preferences: [
            "CurveP256",
            "CurveP384",
            "CurveP521"
        ]
    }

Available cipher suites include:
${CIPHER_SUITES.map((c) => `    ${c}\n`).join("")}
Available curve preferences include:
${CURVE_PREFERENCES.map((c) => `    ${c}\n`).join("")}`;
