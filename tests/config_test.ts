import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ConfigError,
  formatGoDuration,
  goDuration,
  loadConfig,
  loadConfigFile,
  parseConfigString,
  parseConfigStringWithWarnings,
  splitHostPort,
} from "../src/config.ts";
import { parseConfig } from "../src/conf/parser.ts";
import { defaultOptions, mergeOptions, setBaselineOptions } from "../src/options.ts";

const CONFIGS = new URL("../configs/", import.meta.url).pathname;

function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    return e;
  }
  throw new Error("expected a ConfigError");
}

/** The message nats-server prints (after "nats-server: ") for this config named x.conf. */
function errorOf(text: string): string {
  return failure(() => parseConfigString(text, "x.conf")).message;
}

Deno.test("config maps the gnatsd README sample file", () => {
  const o = loadConfigFile(join(CONFIGS, "gnatsd-sample.conf"));
  assert.deepEqual(o, {
    configFile: join(CONFIGS, "gnatsd-sample.conf"),
    host: "localhost",
    port: 4242,
    httpHost: "localhost",
    httpPort: 8222,
    username: "derek",
    password: "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG",
    authTimeout: 1,
    cluster: {
      host: "localhost",
      port: 4244,
      username: "route_user",
      password: "$2a$11$xH8dkGrty1cBNtZjhPeWJewu/YPbSU.rXJWmS6SFilOBXzmZoMk9m",
      authTimeout: 0.5,
    },
    routes: [
      "nats-route://user1:pass1@127.0.0.1:4245",
      "nats-route://user2:pass2@127.0.0.1:4246",
    ],
    debug: false,
    trace: true,
    logtime: false,
    logFile: "/tmp/nats-server.log",
    pidFile: "/tmp/nats-server.pid",
    maxConn: 100,
    maxControlLine: 512,
    maxPayload: 65536,
    maxPending: 10000000,
  });
});

Deno.test("config maps the README cluster seed file and merges over defaults", () => {
  const layer = loadConfigFile(join(CONFIGS, "seed.conf"));
  const o = mergeOptions(defaultOptions(), layer);
  assert.equal(o.host, "127.0.0.1");
  assert.equal(o.port, 4222);
  assert.equal(setBaselineOptions(o).httpHost, "127.0.0.1");
  assert.equal(o.httpPort, 8222);
  assert.equal(o.cluster.host, "127.0.0.1");
  assert.equal(o.cluster.port, 4248);
  assert.equal(o.maxPayload, 1024 * 1024);
});

Deno.test("config maps every top-level option and its aliases", () => {
  const o = parseConfigString(`
    host: 127.0.0.1
    port: 4333
    server_name: "srv-1"
    client_advertise: "public:4222"
    debug: true
    trace: false
    logtime: no
    logfile: "/tmp/a.log"
    logfile_size_limit: 1MB
    syslog: true
    remote_syslog: "udp://127.0.0.1:514"
    pidfile: "/tmp/a.pid"
    ports_file_dir: "/tmp"
    max_control_line: 2KB
    max_payload: 1MB
    max_pending: 32MB
    max_conn: 10
    max_subs: 100
    max_traced_msg_len: 64
    ping_interval: "30s"
    ping_max: 5
    write_deadline: "1m30s"
    lame_duck_duration: "45s"
    lame_duck_grace_period: "5s"
    no_header_support: true
    connect_error_reports: 10
    reconnect_error_reports: 2
    no_auth_user: alice
    monitor_port: 8223
    https_port: 8443
    http_base_path: "/nats"
  `);
  assert.deepEqual(o, {
    host: "127.0.0.1",
    port: 4333,
    serverName: "srv-1",
    clientAdvertise: "public:4222",
    debug: true,
    trace: false,
    logtime: false,
    logFile: "/tmp/a.log",
    logSizeLimit: 1024 * 1024,
    syslog: true,
    remoteSyslog: "udp://127.0.0.1:514",
    pidFile: "/tmp/a.pid",
    portsFileDir: "/tmp",
    maxControlLine: 2048,
    maxPayload: 1024 * 1024,
    maxPending: 32 * 1024 * 1024,
    maxConn: 10,
    maxSubs: 100,
    maxTracedMsgLen: 64,
    pingIntervalMs: 30_000,
    maxPingsOut: 5,
    writeDeadlineMs: 90_000,
    lameDuckDurationMs: 45_000,
    lameDuckGracePeriodMs: 5_000,
    noHeaderSupport: true,
    connectErrorReports: 10,
    reconnectErrorReports: 2,
    noAuthUser: "alice",
    httpPort: 8223,
    httpsPort: 8443,
    httpBasePath: "/nats",
  });
  assert.deepEqual(parseConfigString("net: a\nmax_connections: 1\nmax_subscriptions: 2"), {
    host: "a",
    maxConn: 1,
    maxSubs: 2,
  });
  assert.deepEqual(parseConfigString("log_file: a\nlog_size_limit: 5\npid_file: b"), {
    logFile: "a",
    logSizeLimit: 5,
    pidFile: "b",
  });
  assert.deepEqual(parseConfigString("trace_verbose: true"), { traceVerbose: true, trace: true });
  assert.deepEqual(parseConfigString("max_pending_size: 100"), { maxPending: 100 });
  // Keys are case-insensitive, as in nats-server.
  assert.deepEqual(parseConfigString("PORT: 1\nDebug: true"), { port: 1, debug: true });
});

Deno.test("config reads listen, http and https as host:port or a port", () => {
  assert.deepEqual(parseConfigString("listen: 0.0.0.0:4222"), { host: "0.0.0.0", port: 4222 });
  assert.deepEqual(parseConfigString("listen: 4222"), { port: 4222 });
  assert.deepEqual(parseConfigString('listen: "[::1]:4222"'), { host: "::1", port: 4222 });
  assert.deepEqual(parseConfigString("listen: :4222"), { host: "", port: 4222 });
  assert.deepEqual(parseConfigString("http: 8222"), { httpPort: 8222 });
  assert.deepEqual(parseConfigString("http: localhost:8222"), {
    httpHost: "localhost",
    httpPort: 8222,
  });
  assert.deepEqual(parseConfigString("https: 127.0.0.1:8443"), {
    httpHost: "127.0.0.1",
    httpsPort: 8443,
  });
  assert.deepEqual(splitHostPort("a:b:c"), undefined);
  assert.deepEqual(splitHostPort("[::]:1"), { host: "::", port: "1" });
});

Deno.test("config reads integers as seconds for ping_interval and write_deadline, with a warning", () => {
  const r = parseConfigStringWithWarnings("ping_interval: 5\nwrite_deadline: 3", "x.conf");
  assert.deepEqual(r.options, { pingIntervalMs: 5000, writeDeadlineMs: 3000 });
  assert.deepEqual(r.warnings.map((w) => w.message), [
    'x.conf:1:0: invalid use of field "ping_interval": ping_interval should be converted to a duration',
    'x.conf:2:1: invalid use of field "write_deadline": write_deadline should be converted to a duration',
  ]);
  assert.equal(r.warnings[0].line, 1);
});

Deno.test("config maps authorization with users, permissions and defaults", () => {
  const o = parseConfigString(`
    authorization {
      default_permissions { publish: "_INBOX.>", subscribe: { deny: "secret.>" } }
      users = [
        { user: alice, password: "a1", permissions: {
            publish: { allow: ["orders.*", "audit"], deny: "orders.secret" }
            subscribe: ["replies.>", "work workers"]
            allow_responses: { max: 3, expires: "30s" }
        } }
        { username: bob, pass: b2 }
        { user: carol, password: c3, permissions { allow_responses: true } }
      ]
      timeout: 0.5
    }
    no_auth_user: bob
  `);
  assert.equal(o.authTimeout, 0.5);
  assert.equal(o.noAuthUser, "bob");
  assert.deepEqual(o.defaultPermissions, {
    publish: { allow: ["_INBOX.>"] },
    subscribe: { deny: ["secret.>"] },
  });
  assert.deepEqual(o.users, [
    {
      username: "alice",
      password: "a1",
      permissions: {
        publish: { allow: ["orders.*", "audit"], deny: ["orders.secret"] },
        subscribe: { allow: ["replies.>", "work workers"] },
        response: { maxMsgs: 3, expiresMs: 30_000 },
      },
    },
    { username: "bob", password: "b2", permissions: o.defaultPermissions },
    {
      username: "carol",
      password: "c3",
      permissions: { publish: { allow: [] }, response: { maxMsgs: 1, expiresMs: 120_000 } },
    },
  ]);
  assert.deepEqual(parseConfigString("authorization { token: s3cr3t }"), {
    authorization: "s3cr3t",
  });
  assert.deepEqual(parseConfigString('authorization { timeout: "2s" }'), { authTimeout: 1 });
});

Deno.test("config maps cluster, routes, cluster authorization and permissions", () => {
  const r = parseConfigStringWithWarnings(`
    cluster {
      name: east
      host: 10.0.0.1
      port: 6222
      advertise: "east.example.com:6222"
      no_advertise: true
      connect_retries: 5
      authorization { user: ruser, password: "rpass", timeout: 2 }
      permissions { import: "a.>", export: ["b.>"] }
      routes: [
        nats-route://ruser:rpass@10.0.0.2:6222
        nats-route://ruser:rpass@10.0.0.3:6222
      ]
      tls { cert_file: "c.pem", key_file: "k.pem", ca_file: "ca.pem", verify: true, timeout: 3 }
    }
  `);
  assert.deepEqual(r.warnings, []);
  const c = r.options.cluster!;
  assert.equal(c.name, "east");
  assert.equal(c.host, "10.0.0.1");
  assert.equal(c.port, 6222);
  assert.equal(c.advertise, "east.example.com:6222");
  assert.equal(c.noAdvertise, true);
  assert.equal(c.connectRetries, 5);
  assert.equal(c.username, "ruser");
  assert.equal(c.password, "rpass");
  assert.equal(c.authTimeout, 2);
  assert.deepEqual(c.permissions, { import: { allow: ["a.>"] }, export: { allow: ["b.>"] } });
  assert.equal(c.tls?.certFile, "c.pem");
  assert.equal(c.tls?.verify, true);
  assert.equal(c.tls?.timeout, 3);
  assert.deepEqual(r.options.routes, [
    "nats-route://ruser:rpass@10.0.0.2:6222",
    "nats-route://ruser:rpass@10.0.0.3:6222",
  ]);
  assert.deepEqual(parseConfigString("cluster { listen: 127.0.0.1:4248, cluster_advertise: x }"), {
    cluster: { host: "127.0.0.1", port: 4248, advertise: "x" },
  });
  const dup = parseConfigStringWithWarnings(
    "cluster { routes: [ nats://a:1, nats://a:1 ] }",
    "x.conf",
  );
  assert.deepEqual(dup.options.routes, ["nats://a:1"]);
  assert.deepEqual(dup.warnings.map((w) => w.message), [
    'x.conf:1:32: invalid use of field "nats://a:1": Duplicate route entry detected',
  ]);
});

Deno.test("config maps the tls block", () => {
  const o = parseConfigString(`
    tls {
      cert_file: "./server-cert.pem"
      key_file: "./server-key.pem"
      ca_file: "./ca.pem"
      verify_and_map: true
      timeout: "1.5s"
      cipher_suites: [ "TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" ]
      curve_preferences: [ "CurveP256" ]
      insecure: false
    }
  `);
  assert.equal(o.tls, true);
  assert.deepEqual(o.tlsConfig, {
    certFile: "./server-cert.pem",
    keyFile: "./server-key.pem",
    caFile: "./ca.pem",
    verify: true,
    verifyAndMap: true,
    timeout: 1.5,
    ciphers: ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
    curvePreferences: ["CurveP256"],
    insecure: false,
  });
});

Deno.test("config errors carry nats-server's texts with file:line:col", () => {
  const cases: [string, string][] = [
    ["foo: 1", 'x.conf:1:0: unknown field "foo"'],
    ["\n  foo: 1", 'x.conf:2:3: unknown field "foo"'],
    ['port: "abc"', "x.conf:1:0: interface conversion: interface {} is string, not int64"],
    ["port: 4222.0", "x.conf:1:0: interface conversion: interface {} is float64, not int64"],
    ["debug: 1", "x.conf:1:0: interface conversion: interface {} is int64, not bool"],
    ["host: [a ]", "x.conf:1:0: interface conversion: interface {} is []interface {}, not string"],
    [
      "port: {a: 1}",
      "x.conf:1:0: interface conversion: interface {} is map[string]interface {}, not int64",
    ],
    [
      "port: 2020-01-01T00:00:00Z",
      "x.conf:1:0: interface conversion: interface {} is time.Time, not int64",
    ],
    ["listen: 1.5", "x.conf:1:0: expected port or host:port, got float64"],
    ['listen: "abc"', 'x.conf:1:0: could not parse address string "abc"'],
    ['listen: "a:b"', 'x.conf:1:0: could not parse port "b"'],
    [
      'ping_interval: "5x"',
      'x.conf:1:0: error parsing ping_interval: time: unknown unit "x" in duration "5x"',
    ],
    [
      'write_deadline: "5"',
      'x.conf:1:0: error parsing write_deadline: time: missing unit in duration "5"',
    ],
    [
      'lame_duck_duration: "10s"',
      "x.conf:1:0: invalid lame_duck_duration of 10s, minimum is 30 seconds",
    ],
    [
      "lame_duck_duration: 60",
      "x.conf:1:0: interface conversion: interface {} is int64, not string",
    ],
    [
      'lame_duck_grace_period: "-1s"',
      "x.conf:1:0: invalid lame_duck_grace_period, needs to be positive",
    ],
    ["max_payload: 3GB", "x.conf:1:0: max_payload value is too big"],
    ["MAX_CONTROL_LINE: 3GB", "x.conf:1:0: MAX_CONTROL_LINE value is too big"],
    [
      "authorization { user: a, pass: b, token: c }",
      "x.conf:1:0: Cannot have a user/pass and token",
    ],
    [
      "authorization { user: a, users: [] }",
      "x.conf:1:0: Can not have a single user/pass and a users array",
    ],
    ["authorization { token: a, users: [] }", "x.conf:1:0: Can not have a token and a users array"],
    [
      "authorization { users: [ {user: a}, {user: a} ] }",
      'x.conf:1:0: Duplicate user "a" detected',
    ],
    ["authorization { users: [ {password: b} ] }", "x.conf:1:26: User entry requires a user"],
    ["authorization { users: 5 }", "x.conf:1:16: Expected users field to be an array, got 5"],
    [
      "authorization { users: [ 5 ] }",
      "x.conf:1:25: Expected user entry to be a map/struct, got 5",
    ],
    ["authorization {\n foo: 1 }", 'x.conf:2:2: unknown field "foo"'],
    [
      "authorization { users: [ {user: a, permissions: 5 } ] }",
      "x.conf:1:35: Expected permissions to be a map/struct, got 5",
    ],
    [
      "authorization { users: [ {user: a, permissions: { bar: 1 } } ] }",
      'x.conf:1:50: Unknown field "bar" parsing permissions',
    ],
    [
      "authorization { users: [ {user: a, permissions: { publish: { allow: a, foo: 1 } } } ] }",
      `x.conf:1:71: Unknown field name "foo" parsing subject permissions, only 'allow' or 'deny' are permitted`,
    ],
    [
      "authorization { users: [ {user: a, permissions: { publish: [5 ] } } ] }",
      "x.conf:1:60: Subject in permissions array cannot be cast to string",
    ],
    [
      "authorization { users: [ {user: a, permissions: { allow_responses: 5 } } ] }",
      "x.conf:1:50: error parsing response permissions, expected a boolean or a map",
    ],
    [
      "authorization { users: [ {user: a, permissions: { allow_responses: { expires: 5 } } } ] }",
      "x.conf:1:69: error parsing expires, not a duration string",
    ],
    ["cluster: 5", "x.conf:1:0: Expected map to define cluster, got int64"],
    ["cluster { foo: 1 }", 'x.conf:1:10: unknown field "foo"'],
    [
      "cluster: { routes: [ 1, a ] }",
      "x.conf:1:21: interface conversion: interface {} is int64, not string",
    ],
    [
      "cluster { authorization { user: a, token: b } }",
      "x.conf:1:10: Cluster authorization does not support tokens",
    ],
    [
      "cluster { authorization { users: [] } }",
      "x.conf:1:10: Cluster authorization does not allow multiple users",
    ],
    [
      "cluster { permissions { allow_responses: true } }",
      "x.conf:1:10: Cluster permissions do not support dynamic responses",
    ],
    ["tls { foo: 1 }", 'x.conf:1:6: error parsing tls config, unknown field ["foo"]'],
    [
      "tls { cert_file: 5 }",
      "x.conf:1:6: error parsing tls config, expected 'cert_file' to be filename",
    ],
    [
      "tls { verify: 1 }",
      "x.conf:1:6: error parsing tls config, expected 'verify' to be a boolean",
    ],
    ['tls { cert_file: "a" }', "x.conf:1:0: missing 'key_file' in TLS configuration"],
    ['tls { key_file: "a" }', "x.conf:1:0: missing 'cert_file' in TLS configuration"],
    [
      "tls { cipher_suites: [] }",
      "x.conf:1:6: error parsing tls config, 'cipher_suites' cannot be empty",
    ],
    ['tls { cipher_suites: ["x"] }', "x.conf:1:23: unrecognized cipher x"],
    ['tls { curve_preferences: ["x"] }', "x.conf:1:27: unrecognized curve preference x"],
    [
      'tls { timeout: "5x" }',
      `x.conf:1:6: error parsing tls config, 'timeout' time: unknown unit "x" in duration "5x"`,
    ],
    ["tls { timeout: true }", "x.conf:1:6: error parsing tls config, 'timeout' wrong type"],
  ];
  for (const [text, message] of cases) assert.equal(errorOf(text), message, text);
});

Deno.test("config reports every error, in document order, positioned at the first", () => {
  const e = failure(() => parseConfigString("port: 1\nfoo: 1\n  bar=2\ndebug: 5", "x.conf"));
  assert.equal(
    e.message,
    [
      'x.conf:2:1: unknown field "foo"',
      'x.conf:3:3: unknown field "bar"',
      "x.conf:4:1: interface conversion: interface {} is int64, not bool",
    ].join("\n"),
  );
  assert.equal(e.errors.length, 3);
  assert.deepEqual([e.file, e.line, e.col], ["x.conf", 2, 1]);
  assert.equal(e.reason, 'unknown field "foo"');
  assert.ok(e instanceof SyntaxError);
});

Deno.test("config puts warnings before errors in the message, as nats-server", () => {
  assert.equal(
    errorOf("ping_interval: 5\nfoo: 1"),
    'x.conf:1:0: invalid use of field "ping_interval": ping_interval should be converted to a duration\n' +
      'x.conf:2:1: unknown field "foo"',
  );
});

Deno.test("config lets keys that serve as variables through", () => {
  assert.deepEqual(parseConfigString("PORT_VAR: 4222\nport: $PORT_VAR"), { port: 4222 });
  assert.deepEqual(parseConfigString("U: bob\nauthorization { user: $U, password: pw }"), {
    username: "bob",
    password: "pw",
  });
});

Deno.test("config resolves environment variables", () => {
  Deno.env.set("CONF_TEST_PORT", "4999");
  Deno.env.set("CONF_TEST_NAME", "from-env");
  try {
    assert.deepEqual(parseConfigString("port: $CONF_TEST_PORT\nserver_name: $CONF_TEST_NAME"), {
      port: 4999,
      serverName: "from-env",
    });
  } finally {
    Deno.env.delete("CONF_TEST_PORT");
    Deno.env.delete("CONF_TEST_NAME");
  }
  assert.equal(
    errorOf("port: $CONF_TEST_SURELY_UNSET"),
    "variable reference for 'CONF_TEST_SURELY_UNSET' on line 1 can not be found",
  );
});

Deno.test("config loads includes and names the included file in errors", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(join(dir, "main.conf"), "port: 4222\ninclude ./auth.conf\n");
    Deno.writeTextFileSync(join(dir, "auth.conf"), "authorization {\n  user: a\n  pass: b\n}\n");
    assert.deepEqual(loadConfig(join(dir, "main.conf")), {
      options: { port: 4222, username: "a", password: "b", configFile: join(dir, "main.conf") },
      warnings: [],
    });
    Deno.writeTextFileSync(join(dir, "auth.conf"), "authorization {\n  usr: a\n}\n");
    const e = failure(() => loadConfigFile(join(dir, "main.conf")));
    assert.equal(e.message, `${join(dir, "auth.conf")}:2:3: unknown field "usr"`);
    assert.equal(e.file, join(dir, "auth.conf"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("config parses Go durations and prints them as Go does", () => {
  const ok: [string, number][] = [
    ["0", 0],
    ["2m", 120_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1.5s", 1500],
    ["1h2m3.5s", 3_723_500],
    ["-5s", -5000],
    ["1500us", 1.5],
    ["100µs", 0.1],
    ["10ns", 0.00001],
    [".5s", 500],
  ];
  for (const [text, ms] of ok) assert.equal(goDuration(text), ms, text);
  assert.equal(goDuration(""), 'time: invalid duration ""');
  assert.equal(goDuration("abc"), 'time: invalid duration "abc"');
  assert.equal(goDuration("5"), 'time: missing unit in duration "5"');
  assert.equal(goDuration("5d"), 'time: unknown unit "d" in duration "5d"');
  assert.equal(goDuration("q\tx"), 'time: invalid duration "q\\x09x"');
  const shown: [number, string][] = [
    [0, "0s"],
    [10_000, "10s"],
    [60_000, "1m0s"],
    [90_500, "1m30.5s"],
    [3_723_000, "1h2m3s"],
    [500, "500ms"],
    [1.5, "1.5ms"],
    [0.001, "1µs"],
    [-2000, "-2s"],
  ];
  for (const [ms, text] of shown) assert.equal(formatGoDuration(ms), text);
});

// ---- fuzz: whatever the input, the loader fails only with ConfigError, and quickly ----

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FUZZ_KEYS = [
  "port",
  "listen",
  "host",
  "server_name",
  "http",
  "debug",
  "max_payload",
  "ping_interval",
  "write_deadline",
  "lame_duck_duration",
  "authorization",
  "cluster",
  "tls",
  "users",
  "permissions",
  "publish",
  "allow",
  "routes",
  "timeout",
  "user",
  "include",
  "jetstream",
  "unknown",
  "V",
];
const FUZZ_VALUES = [
  "4222",
  "-1",
  "1kb",
  "1.5",
  "yes",
  '"s"',
  "'s'",
  "x",
  "127.0.0.1:4222",
  '"2m"',
  "$V",
  "$NOPE",
  "$2a$11$x",
  "2020-01-01T00:00:00Z",
  "(\nblock\n)",
  '"a\\tb"',
  "nats://a:b@h:1",
  "nope.conf",
];
const FUZZ_CHARS = [..."{}[],;:=\"'\\\n \t#/$()-.1ak\r\0é\u2028"];

function fuzzConfig(rnd: () => number, depth = 0): string {
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const value = (): string => {
    const r = rnd();
    if (depth > 3 || r < 0.6) return pick(FUZZ_VALUES);
    if (r < 0.8) return `[ ${pick(FUZZ_VALUES)}${pick([", ", "\n"])}${pick(FUZZ_VALUES)} ]`;
    return `{ ${fuzzConfig(rnd, depth + 1)} }`;
  };
  const n = 1 + Math.floor(rnd() * 4);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`${pick(FUZZ_KEYS)}${pick([": ", " = ", " "])}${value()}`);
  return lines.join(pick(["\n", ", ", "; "]));
}

function mutate(rnd: () => number, text: string): string {
  const chars = [...text];
  const edits = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rnd() * (chars.length + 1));
    const c = FUZZ_CHARS[Math.floor(rnd() * FUZZ_CHARS.length)];
    const op = rnd();
    if (op < 0.4) chars.splice(at, 0, c);
    else if (op < 0.7) chars.splice(at, 1);
    else chars[at] = c;
  }
  return chars.join("");
}

Deno.test("config fuzz: random and mutated files only ever raise ConfigError", () => {
  const rnd = prng(20240601);
  const samples = [
    Deno.readTextFileSync(join(CONFIGS, "gnatsd-sample.conf")),
    Deno.readTextFileSync(join(CONFIGS, "seed.conf")),
  ];
  const started = performance.now();
  let failures = 0;
  for (let i = 0; i < 3000; i++) {
    const kind = i % 3;
    let text = kind === 0
      ? fuzzConfig(rnd)
      : mutate(rnd, kind === 1 ? fuzzConfig(rnd) : samples[i % samples.length]);
    if (rnd() < 0.05) text = Array.from({ length: 40 }, () => "[{"[Math.floor(rnd() * 2)]).join("");
    try {
      parseConfigString(text, join(CONFIGS, "fuzz.conf"));
    } catch (e) {
      if (!(e instanceof ConfigError)) {
        throw new Error(`case ${i} threw ${e}\n--- input ---\n${text}`);
      }
      failures++;
      assert.ok(e.message.length > 0);
    }
  }
  assert.ok(failures > 300, `only ${failures} inputs were rejected: the fuzzer is too tame`);
  assert.ok(performance.now() - started < 5000, "fuzz took too long");
});

Deno.test("config fuzz: pathological nesting neither hangs nor overflows the stack", () => {
  for (
    const text of ["a: " + "[".repeat(50_000), "a: " + "{ b: ".repeat(20_000), "{".repeat(50_000)]
  ) {
    try {
      parseConfig(text);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
    }
  }
});

Deno.test("features this server lacks are warnings naming the key, and the file still loads", () => {
  const text = "port: 4222\njetstream: {}\nmqtt { port: -1 }\n gateway: {}\n" +
    "prof_port: 6060\nserver_tags [ id:ABC ]";
  const r = parseConfigStringWithWarnings(text, "x.conf");
  assert.deepEqual(r.warnings.map((w) => w.message), [
    'x.conf:3:1: "mqtt" is not supported by this server: ignored',
    'x.conf:4:2: "gateway" is not supported by this server: ignored',
    'x.conf:5:1: "prof_port" is not supported by this server: ignored',
  ]);
  assert.equal(r.options.port, 4222);
  assert.equal(r.options.jetstream, true);
  assert.deepEqual(r.options.tags, ["id:ABC"]);
});

Deno.test("security features this server lacks are refused, not ignored", () => {
  assert.equal(errorOf(`ocsp: true`), 'x.conf:1:0: "ocsp" is not supported by this server');
});

Deno.test("operator-mode keys are read with nats-server's errors", () => {
  assert.equal(
    errorOf(`operator: "./op.jwt"`),
    "x.conf:1:0: error parsing operator JWT: open ./op.jwt: no such file or directory",
  );
  assert.equal(
    errorOf(`trusted: "ABC"`),
    'x.conf:1:0: trust key "ABC" required to be a valid public operator nkey',
  );
});

Deno.test("nkey users load; a bad nkey is an error", () => {
  const nkey = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";
  const o = parseConfigString(
    `authorization { users: [ { nkey: ${nkey} }, { user: a, password: b } ] }`,
  );
  assert.equal(o.users?.[0].nkey, nkey);
  assert.equal(o.users?.[1].username, "a");
  assert.match(errorOf("authorization { users: [ { nkey: UABC } ] }"), /Not a valid public nkey/);
});
