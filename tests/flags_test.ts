import assert from "node:assert/strict";
import { RELEASE_VERSION } from "../src/version.ts";
import {
  applyFlags,
  FlagError,
  type FlagResult,
  parseFlags,
  SIGNALS,
  TLS_USAGE,
  USAGE,
  versionString,
} from "../src/flags.ts";
import {
  defaultOptions,
  defaultTlsOptions,
  mergeOptions,
  type PartialOptions,
} from "../src/options.ts";

function flagError(args: string[]): FlagError {
  try {
    parseFlags(args);
  } catch (e) {
    assert.ok(e instanceof FlagError, `expected FlagError, got ${e}`);
    return e;
  }
  assert.fail(`no error for ${args.join(" ")}`);
}

/** Every spelling of a value flag, in all four forms, sets the same field. */
const VALUE_FLAGS: Array<[string[], string, PartialOptions]> = [
  [["a", "addr", "net"], "127.0.0.1", { host: "127.0.0.1" }],
  [["p", "port"], "4333", { port: 4333 }],
  [["n", "name", "server_name"], "srv-a", { serverName: "srv-a" }],
  [["P", "pid"], "/tmp/n.pid", { pidFile: "/tmp/n.pid" }],
  [["m", "http_port"], "8222", { httpPort: 8222 }],
  [["ms", "https_port"], "8443", { httpsPort: 8443 }],
  [["l", "log"], "/tmp/n.log", { logFile: "/tmp/n.log" }],
  [["r", "remote_syslog"], "udp://h:514", { remoteSyslog: "udp://h:514" }],
  [["user"], "derek", { username: "derek" }],
  [["pass"], "s3cr3t", { password: "s3cr3t" }],
  [["auth"], "tok", { authorization: "tok" }],
  [["client_advertise"], "a.example:4222", { clientAdvertise: "a.example:4222" }],
  [["ports_file_dir"], "/tmp", { portsFileDir: "/tmp" }],
  [["log_size_limit"], "1048576", { logSizeLimit: 1048576 }],
  [["max_traced_msg_len"], "128", { maxTracedMsgLen: 128 }],
  [["cluster_name"], "east", { cluster: { name: "east" } }],
  [["cluster_advertise"], "c.example:6222", { cluster: { advertise: "c.example:6222" } }],
  [["connect_retries"], "5", { cluster: { connectRetries: 5 } }],
];

for (const [names, value, expected] of VALUE_FLAGS) {
  Deno.test(`value flag ${names.join("/")} is accepted in every spelling and form`, () => {
    for (const name of names) {
      for (const dashes of ["-", "--"]) {
        for (const args of [[`${dashes}${name}=${value}`], [`${dashes}${name}`, value]]) {
          const r = parseFlags(args);
          assert.deepEqual(r.opts, expected, args.join(" "));
          assert.deepEqual(r.action, { kind: "run" });
        }
      }
    }
  });
}

const BOOL_FLAGS: Array<[string[], (v: boolean) => PartialOptions]> = [
  [["D", "debug"], (v) => ({ debug: v })],
  [["V", "trace"], (v) => ({ trace: v })],
  [["T", "logtime"], (v) => ({ logtime: v })],
  [["s", "syslog"], (v) => ({ syslog: v })],
  [["DV"], (v) => ({ debug: v, trace: v })],
  [["VV"], (v) => ({ trace: v, traceVerbose: v })],
  [["DVV"], (v) => ({ debug: v, trace: v, traceVerbose: v })],
  [["no_advertise"], (v) => ({ cluster: { noAdvertise: v } })],
];

for (const [names, expected] of BOOL_FLAGS) {
  Deno.test(`boolean flag ${names.join("/")} takes -x, --x and -x=bool`, () => {
    for (const name of names) {
      for (const dashes of ["-", "--"]) {
        assert.deepEqual(parseFlags([`${dashes}${name}`]).opts, expected(true));
        for (const t of ["true", "1", "t", "T", "TRUE", "True"]) {
          assert.deepEqual(parseFlags([`${dashes}${name}=${t}`]).opts, expected(true));
        }
        for (const f of ["false", "0", "f", "F", "FALSE", "False"]) {
          assert.deepEqual(parseFlags([`${dashes}${name}=${f}`]).opts, expected(false));
        }
      }
    }
  });
}

Deno.test("a boolean flag does not take the next argument as its value", () => {
  const e = flagError(["-T", "false"]);
  assert.equal(e.message, 'unrecognized command: "false"');
  assert.equal(e.usage, false);
  assert.equal(e.exitCode, 1);
});

Deno.test("no flags means an empty layer and the run action", () => {
  assert.deepEqual(parseFlags([]), {
    action: { kind: "run" },
    opts: {},
    configFile: "",
    warnings: [],
  });
});

Deno.test("config file flag sets configFile in both spellings", () => {
  for (const args of [["-c", "a.conf"], ["--config=a.conf"], ["-config", "a.conf"]]) {
    const r = parseFlags(args);
    assert.equal(r.configFile, "a.conf");
    assert.deepEqual(r.opts, { configFile: "a.conf" });
  }
});

Deno.test("Go flag errors carry Go's messages and ask for the usage text", () => {
  const cases: Array<[string[], string]> = [
    [["-foo"], "flag provided but not defined: -foo"],
    [["--foo=1"], "flag provided but not defined: -foo"],
    [["--http_base_path", "/x"], "flag provided but not defined: -http_base_path"],
    [["-p"], "flag needs an argument: -p"],
    [["-p", "abc"], 'invalid value "abc" for flag -p: parse error'],
    [["-p", "08"], 'invalid value "08" for flag -p: parse error'],
    [
      ["-p=99999999999999999999"],
      'invalid value "99999999999999999999" for flag -p: value out of range',
    ],
    [["-D=maybe"], 'invalid boolean value "maybe" for -D: parse error'],
    [["---x"], "bad flag syntax: ---x"],
    [["-=x"], "bad flag syntax: -=x"],
  ];
  for (const [args, msg] of cases) {
    const e = flagError(args);
    assert.equal(e.message, msg);
    assert.equal(e.usage, true);
    assert.equal(e.exitCode, 2);
  }
});

Deno.test("integer flags accept Go's base prefixes and signs", () => {
  assert.equal(parseFlags(["-p", "0x1F"]).opts.port, 31);
  assert.equal(parseFlags(["-p", "0o17"]).opts.port, 15);
  assert.equal(parseFlags(["-p", "017"]).opts.port, 15);
  assert.equal(parseFlags(["-p", "0b101"]).opts.port, 5);
  assert.equal(parseFlags(["-p", "1_000"]).opts.port, 1000);
  assert.equal(parseFlags(["-p", "-1"]).opts.port, -1);
  assert.equal(parseFlags(["-p", "+7"]).opts.port, 7);
  assert.equal(parseFlags(["-p", "0"]).opts.port, 0);
});

Deno.test("a flag value may start with a dash, as in Go", () => {
  assert.equal(parseFlags(["-c", "-D"]).configFile, "-D");
});

Deno.test("the last of repeated or aliased flags wins", () => {
  assert.equal(parseFlags(["-p", "1", "--port", "2", "-p=3"]).opts.port, 3);
});

Deno.test("-- ends the flags and a lone - is an argument", () => {
  assert.deepEqual(parseFlags(["-p", "1", "--"]).opts, { port: 1 });
  assert.equal(flagError(["--", "-p", "1"]).message, 'unrecognized command: "-p"');
  assert.equal(flagError(["-"]).message, 'unrecognized command: "-"');
});

Deno.test("help, version and help_tls in flag and command form", () => {
  for (const a of [["-h"], ["--help"], ["help"], ["HELP"], ["-p", "1", "help"]]) {
    assert.equal(parseFlags(a).action.kind, "help", a.join(" "));
  }
  for (const a of [["-v"], ["--version"], ["version"], ["-v", "-h"]]) {
    assert.equal(parseFlags(a).action.kind, "version", a.join(" "));
  }
  assert.equal(parseFlags(["--help_tls"]).action.kind, "help_tls");
  assert.equal(parseFlags(["-h=false"]).action.kind, "run");
  // The whole command line is parsed first: a bad flag wins over -h.
  assert.equal(flagError(["-h", "-foo"]).message, "flag provided but not defined: -foo");
});

Deno.test("-D/-V and the combined flags: combined ones apply last", () => {
  assert.deepEqual(parseFlags(["-D", "-V"]).opts, { debug: true, trace: true });
  assert.deepEqual(parseFlags(["-DV", "-D=false"]).opts, { debug: true, trace: true });
  assert.deepEqual(parseFlags(["-V", "-DV=false"]).opts, { debug: false, trace: false });
  assert.deepEqual(parseFlags(["-DV", "-VV"]).opts, {
    debug: true,
    trace: true,
    traceVerbose: true,
  });
});

Deno.test("--cluster sets the listen address and route credentials", () => {
  assert.deepEqual(parseFlags(["--cluster", "nats://0.0.0.0:6222"]).opts.cluster, {
    host: "0.0.0.0",
    port: 6222,
    username: "",
    password: "",
  });
  assert.deepEqual(parseFlags(["-cluster=nats://ruser:p%40ss@10.0.0.1:7244"]).opts.cluster, {
    host: "10.0.0.1",
    port: 7244,
    username: "ruser",
    password: "p@ss",
  });
  assert.deepEqual(parseFlags(["--cluster_listen", "nats://[::1]:-1"]).opts.cluster, {
    host: "::1",
    port: -1,
    username: "",
    password: "",
  });
  assert.deepEqual(parseFlags(["--cluster", ""]).opts.cluster, { port: 0 });
});

Deno.test("--cluster errors match nats-server", () => {
  const cases: Array<[string, string]> = [
    ["nats://u@h:1", "expected cluster password to be set"],
    ["nats://h", "address h: missing port in address"],
    ["localhost:6222", "missing port in address"],
    ["0.0.0.0:6222", 'parse "0.0.0.0:6222": first path segment in URL cannot contain colon'],
  ];
  for (const [url, msg] of cases) {
    const e = flagError(["--cluster", url]);
    assert.equal(e.message, msg);
    assert.equal(e.usage, false);
  }
});

Deno.test("--routes splits on commas and trims", () => {
  assert.deepEqual(
    parseFlags(["--routes", "nats://a:6222, nats-route://u:p@b:6222"]).opts.routes,
    ["nats://a:6222", "nats-route://u:p@b:6222"],
  );
  assert.deepEqual(parseFlags(["--routes="]).opts.routes, []);
});

Deno.test("TLS flags build the client TLS config", () => {
  const r = parseFlags(["--tls", "--tlscert=c.pem", "--tlskey", "k.pem"]);
  assert.deepEqual(r.opts, {
    tls: true,
    tlsConfig: { ...defaultTlsOptions(), certFile: "c.pem", keyFile: "k.pem" },
  });
  const v = parseFlags(["-tlsverify", "-tlscert", "c", "-tlskey", "k", "-tlscacert", "ca"]);
  assert.deepEqual(v.opts.tlsConfig, {
    ...defaultTlsOptions(),
    certFile: "c",
    keyFile: "k",
    caFile: "ca",
    verify: true,
  });
  assert.deepEqual(parseFlags(["--tls=false", "--tlscert", "c"]).opts, { tls: false });
});

Deno.test("TLS flags without a certificate or key are refused", () => {
  assert.equal(flagError(["--tls"]).message, "TLS Server certificate must be present and valid");
  assert.equal(
    flagError(["--tlscert", "c"]).message,
    "TLS Server private key must be present and valid",
  );
});

Deno.test("--signal carries the command and pid or pid file", () => {
  assert.deepEqual(parseFlags(["-sl", "reload"]).action, {
    kind: "signal",
    command: "reload",
    pid: "",
  });
  assert.deepEqual(parseFlags(["--signal=stop=/var/run/n.pid"]).action, {
    kind: "signal",
    command: "stop",
    pid: "/var/run/n.pid",
  });
  assert.equal(flagError(["-sl", "a=b=c"]).message, "invalid signal parameters: [c]");
  assert.equal(SIGNALS.reopen, "SIGUSR1");
  assert.equal(SIGNALS.ldm, "SIGUSR2");
});

Deno.test("-t needs -c and then asks to check the config", () => {
  assert.equal(
    flagError(["-t"]).message,
    "must specify [-c, --config] option to check configuration file syntax",
  );
  const r = parseFlags(["-t", "-c", "n.conf"]);
  assert.deepEqual(r.action, { kind: "check_config" });
  assert.equal(r.opts.checkConfig, true);
});

Deno.test("JetStream flags set the options; profiling is accepted with a warning", () => {
  const r = parseFlags(["-js", "--store_dir", "/tmp/js", "--profile", "6060"]);
  assert.deepEqual(r.opts, { jetstream: true, storeDir: "/tmp/js" });
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /Profiling is not supported/);
  assert.deepEqual(parseFlags(["--jetstream=false", "-sd", "d"]).opts, {
    jetstream: false,
    storeDir: "d",
  });
  assert.deepEqual(parseFlags(["--jetstream=false", "--profile=0"]).warnings, []);
});

Deno.test("flags override a config layer field by field", () => {
  const config = mergeOptions(defaultOptions(), {
    port: 5222,
    debug: true,
    cluster: { port: 6222, username: "cu", password: "cp" },
  });
  const flags = parseFlags(["-p", "4333", "--cluster_name", "x"]);
  const out = mergeOptions(config, flags.opts);
  assert.equal(out.port, 4333);
  assert.equal(out.debug, true);
  assert.equal(out.cluster.port, 6222);
  assert.equal(out.cluster.username, "cu");
  assert.equal(out.cluster.name, "x");
});

function withTls(): ReturnType<typeof defaultOptions> {
  return {
    ...defaultOptions(),
    tls: true,
    tlsConfig: { ...defaultTlsOptions(), certFile: "conf.pem", keyFile: "conf.key", timeout: 5 },
  };
}

Deno.test("applyFlags: --tls=false drops the config file's TLS", () => {
  const out = applyFlags(withTls(), parseFlags(["--tls=false"]));
  assert.equal(out.tls, false);
  assert.equal(out.tlsConfig, undefined);
});

Deno.test("applyFlags: TLS flags replace the config's TLS but keep its timeout", () => {
  const out = applyFlags(withTls(), parseFlags(["--tlscert", "f.pem", "--tlskey", "f.key"]));
  assert.equal(out.tlsConfig?.certFile, "f.pem");
  assert.equal(out.tlsConfig?.timeout, 5);
});

Deno.test("applyFlags: --cluster without credentials clears the config's", () => {
  const base = mergeOptions(defaultOptions(), {
    cluster: { port: 6222, username: "cu", password: "cp" },
  });
  const out = applyFlags(base, parseFlags(["--cluster", "nats://127.0.0.1:7222"]));
  assert.deepEqual(
    [out.cluster.host, out.cluster.port, out.cluster.username, out.cluster.password],
    ["127.0.0.1", 7222, "", ""],
  );
});

Deno.test("applyFlags: routes need a cluster listener from flags or config", () => {
  const routes: FlagResult = parseFlags(["--routes", "nats://a:6222"]);
  assert.throws(
    () => applyFlags(defaultOptions(), routes),
    new FlagError("solicited routes require cluster capabilities, e.g. --cluster", false),
  );
  const withCluster = mergeOptions(defaultOptions(), { cluster: { port: 6222 } });
  assert.deepEqual(applyFlags(withCluster, routes).routes, ["nats://a:6222"]);
  const both = parseFlags(["--routes", "nats://a:6222", "--cluster", "nats://h:6333"]);
  assert.equal(applyFlags(defaultOptions(), both).cluster.port, 6333);
});

Deno.test("version string is nats-server's line, then this server's release on its own line", () => {
  const [theirs, ours] = versionString().split("\n");
  assert.equal(theirs, "nats-server: v2.9.10");
  assert.equal(ours, `nats-server-deno: v${RELEASE_VERSION} (deno ${Deno.version.deno})`);
});

Deno.test("usage text lists every flag in nats-server's layout", () => {
  assert.ok(USAGE.startsWith("\nUsage: nats-server [options]\n\nServer Options:\n"));
  assert.ok(USAGE.endsWith("        --help_tls                   TLS help\n\n"));
  const spellings = [
    "-a, --addr, --net <host>",
    "-p, --port <port>",
    "-n, --name",
    "--server_name <server_name>",
    "-P, --pid <file>",
    "-m, --http_port <port>",
    "-ms,--https_port <port>",
    "-c, --config <file>",
    "-t ",
    "-sl,--signal <signal>[=<pid>]",
    "--client_advertise <string>",
    "--ports_file_dir <dir>",
    "-l, --log <file>",
    "-T, --logtime",
    "-s, --syslog",
    "-r, --remote_syslog <addr>",
    "-D, --debug",
    "-V, --trace",
    "-VV ",
    "-DV ",
    "-DVV ",
    "--log_size_limit <limit>",
    "--max_traced_msg_len <len>",
    "-js, --jetstream",
    "-sd, --store_dir <dir>",
    "--user <user>",
    "--pass <password>",
    "--auth <token>",
    "--tls ",
    "--tlscert <file>",
    "--tlskey <file>",
    "--tlsverify",
    "--tlscacert <file>",
    "--routes <rurl-1, rurl-2>",
    "--cluster <cluster-url>",
    "--cluster_name <string>",
    "--no_advertise <bool>",
    "--cluster_advertise <string>",
    "--connect_retries <number>",
    "--cluster_listen <url>",
    "--profile <port>",
    "-h, --help",
    "-v, --version",
    "--help_tls",
  ];
  for (const s of spellings) assert.ok(USAGE.includes(s), s);
  // Every flag the usage shows is one the parser knows.
  for (const m of USAGE.matchAll(/(?<=\s|,)--?([A-Za-z_]+)/g)) {
    const args = ["-" + m[1]];
    if (!/^(h|help|v|version|help_tls|t)$/.test(m[1])) args.push("=x");
    try {
      parseFlags([args.join("")]);
    } catch (e) {
      assert.ok(!String(e).includes("not defined"), `${m[1]}: ${e}`);
    }
  }
});

Deno.test("usage differs from the installed nats-server only where we are honest", async () => {
  let theirs: string;
  try {
    const out = await new Deno.Command("nats-server", { args: ["-h"], stdout: "piped" }).output();
    theirs = new TextDecoder().decode(out.stdout);
  } catch {
    return; // nats-server is not installed here.
  }
  const ours = USAGE.split("\n");
  const diff = theirs.split("\n").filter((line, i) => line !== ours[i]);
  assert.deepEqual(diff, [
    "    -s, --syslog                     Log to syslog or windows event log",
    "Profiling Options:",
  ]);
});

Deno.test("TLS help shows the config example, ciphers and curves", () => {
  assert.ok(TLS_USAGE.startsWith("\nTLS configuration is specified in the tls section"));
  assert.ok(TLS_USAGE.includes("Available cipher suites include:\n    TLS_RSA_WITH_RC4_128_SHA\n"));
  assert.ok(TLS_USAGE.includes("    TLS_CHACHA20_POLY1305_SHA256\n\nAvailable curve preferences"));
  assert.ok(
    TLS_USAGE.endsWith("include:\n    X25519\n    CurveP256\n    CurveP384\n    CurveP521\n"),
  );
});
