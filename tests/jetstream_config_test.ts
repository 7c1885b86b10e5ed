/**
 * JetStream's configuration: the `jetstream` block (server limits, store_dir, domain, limits),
 * top-level `store_dir`, per-account `jetstream` limits, and their errors, each checked against
 * `nats-server -t`; then the start-up behaviour they drive (enabled accounts, limits enforced,
 * the "not enabled for account" answer, the system account refusal).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, parseConfigString } from "../src/config.ts";
import { defaultOptions, mergeOptions } from "../src/options.ts";
import { Server } from "../src/server.ts";
import { HAVE_NATS_SERVER, MemoryLogger } from "./helpers.ts";
import { connectTo, normalize, runSteps, startJs, startRefJs } from "./jetstream_helpers.ts";

const dec = new TextDecoder();

function errorOf(text: string): string {
  try {
    parseConfigString(text, "x.conf");
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    return e.message;
  }
  return "";
}

/** What `nats-server -t -c x.conf` prints (runs until it prints `want`: Go's map order varies). */
async function reference(text: string, want: string, tries = 10): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "x.conf"), text);
    const seen = new Set<string>();
    for (let i = 0; i < tries; i++) {
      const out = await new Deno.Command("nats-server", {
        args: ["-t", "-c", "x.conf"],
        cwd: dir,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      let got = dec.decode(out.stderr).replace(/^nats-server: /, "").replace(/\n+$/, "");
      if (got === "configuration file x.conf is valid") got = "";
      seen.add(got);
      if (got === want) break;
    }
    return [...seen];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** [config, our message (and nats-server's)] */
const CASES: [string, string][] = [
  [`jetstream { sync_interval: "10s" }`, `x.conf:1:12: unknown field "sync_interval"`],
  [
    `jetstream { store_dir: 5 }`,
    `x.conf:1:0: interface conversion: interface {} is int64, not string`,
  ],
  [
    `jetstream { max_mem: "1x" }`,
    `x.conf:1:12: max_mem_store sizes defined as strings must end in K, M, G, T`,
  ],
  [
    `jetstream { max_mem: "xG" }`,
    `x.conf:1:12: max_mem_store strconv.ParseInt: parsing "x": invalid syntax`,
  ],
  [`jetstream { max_file: true }`, `x.conf:1:12: max_file_store must be int64 or string`],
  [
    `jetstream: maybe`,
    `x.conf:1:0: Expected 'enabled' or 'disabled' for string value, got 'maybe'`,
  ],
  [
    `jetstream: ["a"]`,
    `x.conf:1:0: Expected map, bool or string to define JetStream, got []interface {}`,
  ],
  [`jetstream { cipher: "rot13" }`, `x.conf:1:12: Unknown cipher type: "rot13"`],
  [`jetstream { limits: 5 }`, `x.conf:1:12: Expected a map to define JetStreamLimits, got int64`],
  [`jetstream { limits { duplicate_window: "x" } }`, `time: invalid duration "x"`],
  [
    `jetstream { limits { max_ack_pending: "s" } }`,
    `x.conf:1:0: interface conversion: interface {} is string, not int64`,
  ],
  [`jetstream { limits { bogus: 1 } }`, `x.conf:1:21: unknown field "bogus"`],
  [
    `store_dir: "/a"\njetstream { store_dir: "/b" }`,
    `x.conf:2:13: Duplicate 'store_dir' configuration`,
  ],
  [
    `jetstream { store_dir: "/b" }\nstore_dir: "/a"`,
    `x.conf:2:1: Duplicate 'store_dir' configuration`,
  ],
  [
    `accounts { A { jetstream { max_mem: "x" } } }`,
    `x.conf:1:27: Expected a parseable size for "max_mem", got x`,
  ],
  [
    `accounts { A { jetstream { max_bytes: 5 } } }`,
    `x.conf:1:27: Expected a parseable bool for "max_bytes", got 5`,
  ],
  [`accounts { A { jetstream { foo: 1 } } }`, `x.conf:1:27: unknown field "foo"`],
  [
    `accounts { B { jetstream: 5 } }`,
    `Expected map, bool or string to define JetStream, got int64`,
  ],
  [
    `accounts { B { jetstream: maybe } }`,
    `Expected 'enabled' or 'disabled' for string value, got 'maybe'`,
  ],
  [`jetstream { store_dir: "/tmp/x", max_mem: 1G, max_file: "2G", domain: hub }`, ``],
  [
    `jetstream: enabled\naccounts { A { jetstream { max_mem: 1M, max_file: 2M, max_streams: 3, max_consumers: 4, max_bytes_required: true, mem_max_stream_bytes: 5, disk_max_stream_bytes: 6, max_ack_pending: 7 } } }`,
    ``,
  ],
];

Deno.test("jetstream config blocks and their errors: as nats-server -t", async () => {
  for (const [text, want] of CASES) {
    assert.equal(errorOf(text), want, text);
    if (!HAVE_NATS_SERVER) continue;
    const seen = await reference(text, want);
    assert.ok(seen.includes(want), `${text}: nats-server printed ${JSON.stringify(seen)}`);
  }
});

Deno.test("jetstream config values reach the options", () => {
  const o = parseConfigString(
    `jetstream { store_dir: "/tmp/x", max_mem: 1G, max_file: "2G", domain: hub, limits { duplicate_window: "30s" } }
accounts { A { jetstream { max_mem: 1M, max_streams: 3, max_bytes_required: true } }, B { jetstream: disabled }, C {} }`,
  );
  assert.equal(o.jetstream, true);
  assert.equal(o.storeDir, "/tmp/x");
  assert.equal(o.jetstreamMaxMemory, 1e9); // the config format's 1G is 1000^3

  assert.equal(o.jetstreamMaxStore, 2 * 1024 ** 3);
  assert.equal(o.jetstreamDomain, "hub");
  assert.equal(o.jetstreamMaxDuplicatesMs, 30_000);
  const [a, b, c] = o.accounts!;
  assert.deepEqual(a.jetstreamLimits, {
    maxMemory: 1e6,
    maxStore: -1,
    maxStreams: 3,
    maxConsumers: -1,
    maxAckPending: -1,
    memoryMaxStreamBytes: -1,
    storeMaxStreamBytes: -1,
    maxBytesRequired: true,
  });
  assert.equal(b.jetstreamLimits, null);
  assert.equal(c.jetstreamLimits, undefined);
  assert.equal(parseConfigString("jetstream { enabled: false }").jetstream, false);
  assert.equal(parseConfigString("jetstream: disabled").jetstream, false);
});

const ACCOUNTS_CONF = `
accounts {
  A { jetstream { max_mem: 1M, max_file: 10M, max_streams: 2, max_consumers: 5 }, users: [{user: a, password: a}] }
  B { jetstream: enabled, users: [{user: b, password: b}] }
  C { users: [{user: c, password: c}] }
  R { jetstream { max_bytes_required: true, store_max_stream_bytes: 1000 }, users: [{user: r, password: r}] }
}`;

Deno.test("accounts: limits enforced, accounts without JetStream told so, as nats-server", async () => {
  const steps = [
    "$JS.API.INFO",
    '$JS.API.STREAM.CREATE.S1 {"name":"S1","subjects":["s1"]}',
    '$JS.API.STREAM.CREATE.S2 {"name":"S2","subjects":["s2"],"max_bytes":20000000}',
    '$JS.API.STREAM.CREATE.S3 {"name":"S3","subjects":["s3"],"storage":"memory","max_bytes":2000000}',
    '$JS.API.STREAM.CREATE.S4 {"name":"S4","subjects":["s4"],"max_consumers":9}',
    '$JS.API.STREAM.CREATE.S5 {"name":"S5","subjects":["s5"],"storage":"memory"}',
    '$JS.API.STREAM.CREATE.S6 {"name":"S6","subjects":["s6"]}',
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.INFO.S1",
    '$JS.API.STREAM.MSG.GET.S1 {"seq":1}',
    "$JS.API.CONSUMER.NAMES.S1",
    "$JS.API.INFO",
  ];
  const dir = await Deno.makeTempDir({ prefix: "js_acc_" });
  const file = join(dir, "acc.conf");
  await Deno.writeTextFile(file, ACCOUNTS_CONF);
  const layer = parseConfigString(ACCOUNTS_CONF, file);
  await using ours = await startJs(layer);
  const run = async (port: number) => {
    const out: string[] = [];
    for (const user of ["a", "b", "c", "r"]) {
      const { connect } = await import("@nats-io/transport-node");
      const nc = await connect({ servers: `127.0.0.1:${port}`, user, pass: user });
      out.push(`-- ${user}`, ...(await runSteps(nc, steps)).map(normalize));
      await nc.close();
    }
    return out;
  };
  const mine = await run(ours.port);
  assert.ok(mine.some((l) => l.includes("JetStream not enabled for account")));
  if (HAVE_NATS_SERVER) {
    await using ref = await startRefJs(ACCOUNTS_CONF);
    assert.deepEqual(mine, await run(ref.port));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("JetStream on the system account is refused at start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "js_sys_" });
  const opts = mergeOptions(defaultOptions(), {
    ...parseConfigString(`system_account: SYS\naccounts { SYS { jetstream: enabled } }`),
    host: "127.0.0.1",
    port: -1,
    jetstream: true,
    storeDir: dir,
  });
  const s = new Server(opts, new MemoryLogger());
  await assert.rejects(
    () => s.start(),
    /^StartError: Not allowed to enable JetStream on the system account$/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the start-up log has nats-server's JetStream lines", async () => {
  await using s = await startJs({ jetstreamMaxMemory: 1024 ** 3, jetstreamDomain: "hub" });
  const lines = s.log.lines.join("\n");
  assert.match(lines, /\[INF\] {3}Node: {5}[0-9A-Za-z]{8}\n/);
  assert.match(lines, /\[INF\] Starting JetStream\n/);
  assert.match(lines, /\[INF\] ---------------- JETSTREAM ----------------\n/);
  assert.match(lines, /\[INF\] {3}Max Memory: {6}1.00 GB\n/);
  assert.ok(lines.includes(`[INF]   Store Directory: "${s.dir}/jetstream"\n`));
  assert.match(lines, /\[INF\] {3}Domain: {10}hub\n/);
  const nc = await connectTo(s.port);
  assert.equal(nc.info?.jetstream, true);
  assert.equal((nc.info as unknown as Record<string, unknown>).domain, "hub");
  await nc.close();
});

Deno.test("a JetStream domain: $JS.<domain>.API reaches the API, as with nats-server", async () => {
  const steps = [
    "$JS.hub.API.INFO",
    '$JS.hub.API.STREAM.CREATE.D {"name":"D","subjects":["d"],"allow_direct":true}',
    "d one",
    "$JS.hub.API.STREAM.NAMES",
    '$JS.hub.API.DIRECT.GET.D {"seq":1}',
    { subj: "$JS.hub.API.NOPE", timeout: 300 },
    { subj: "$JS.other.API.INFO", timeout: 300 },
  ];
  await using ours = await startJs({ jetstreamDomain: "hub" });
  const nc = await connectTo(ours.port);
  const mine = (await runSteps(nc, steps)).map(normalize);
  await nc.close();
  assert.match(mine[2], /"domain":"hub", "seq":1/);
  if (HAVE_NATS_SERVER) {
    await using ref = await startRefJs(`jetstream { domain: hub }`);
    const rc = await connectTo(ref.port);
    assert.deepEqual(mine, (await runSteps(rc, steps)).map(normalize));
    await rc.close();
  }
  assert.throws(
    () =>
      new Server(mergeOptions(defaultOptions(), { jetstreamDomain: "a.b" }), new MemoryLogger()),
    /^Error: invalid domain name: may not contain \., \* or >$/,
  );
});

Deno.test("a reload enables JetStream for a new account and updates limits", async () => {
  const conf1 = `accounts { A { jetstream { max_streams: 1 }, users: [{user: a, password: a}] } }`;
  const conf2 = `accounts {
  A { jetstream { max_streams: 2 }, users: [{user: a, password: a}] }
  B { jetstream: enabled, users: [{user: b, password: b}] }
}`;
  await using s = await startJs(parseConfigString(conf1));
  const { connect } = await import("@nats-io/transport-node");
  const a = await connect({ servers: `127.0.0.1:${s.port}`, user: "a", pass: "a" });
  const create = (n: string) => `$JS.API.STREAM.CREATE.${n} {"name":"${n}"}`;
  let out = await runSteps(a, [create("A1"), create("A2")]);
  assert.match(out[1], /maximum number of streams reached/);
  s.server!.reload(mergeOptions(s.server!.opts, parseConfigString(conf2)));
  out = await runSteps(a, [create("A2"), "$JS.API.STREAM.NAMES"]);
  assert.match(out[0], /"did_create":true/);
  assert.match(out[1], /"streams":\["A1","A2"\]/);
  await a.close();
  const b = await connect({ servers: `127.0.0.1:${s.port}`, user: "b", pass: "b" });
  out = await runSteps(b, ["$JS.API.INFO", create("B1")]);
  assert.match(out[0], /"streams":0/);
  assert.match(out[1], /"did_create":true/);
  await b.close();
});

Deno.test("server and account storage limits at publish time: same errors as nats-server", async () => {
  const big = "x".repeat(1500);
  const steps = [
    '$JS.API.STREAM.CREATE.M {"name":"M","subjects":["m"],"storage":"memory"}',
    '$JS.API.STREAM.CREATE.F {"name":"F","subjects":["f"]}',
    `m ${big}`,
    `m ${big}`,
    `m ${big}`,
    `f ${big}`,
    `f ${big}`,
    '$JS.API.STREAM.CREATE.M2 {"name":"M2","subjects":["m2"],"storage":"memory","max_bytes":5000}',
    '$JS.API.STREAM.CREATE.F2 {"name":"F2","subjects":["f2"],"max_bytes":500000}',
    "$JS.API.INFO",
  ];
  const confs = [
    `jetstream { max_mem: 2000, max_file: 4000 }`,
    `jetstream { max_mem: 100000, max_file: 100000 }\naccounts { A { jetstream { max_mem: 2000, max_file: 4000 }, users: [{user: a, password: a}] } }`,
  ];
  for (const conf of confs) {
    const run = async (port: number) => {
      const { connect } = await import("@nats-io/transport-node");
      const auth = conf.includes("accounts") ? { user: "a", pass: "a" } : {};
      const nc = await connect({ servers: `127.0.0.1:${port}`, ...auth });
      const out = (await runSteps(nc, steps)).map(normalize);
      await nc.close();
      return out;
    };
    await using ours = await startJs(parseConfigString(conf));
    const mine = await run(ours.port);
    assert.ok(mine.some((l) => /10023|10002/.test(l)), mine.join("\n"));
    if (!HAVE_NATS_SERVER) continue;
    await using ref = await startRefJs(conf);
    assert.deepEqual(mine, await run(ref.port), conf);
  }
});
