/**
 * Behaviours once different from nats-server 2.9.10 (issue 9), each checked against the bytes
 * and log lines nats-server produces: the literal expectations here are its answers, and when
 * nats-server is installed every case runs against it too, side by side with ours.
 */

import assert from "node:assert/strict";
import { HAVE_NATS_SERVER, RawClient, waitFor } from "./helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";
import {
  exchange,
  logLines,
  type Running,
  serve,
  serveBoth,
  waitLog,
  who,
} from "./parity_helpers.ts";
import { defaultOptions, setBaselineOptions } from "../src/options.ts";

/** Runs each [sent, expected answer] case on every server; `expected` ends "<EOF>" on a close. */
async function expectAnswers(servers: Running[], cases: [string, string][]): Promise<void> {
  for (const s of servers) {
    for (const [send, want] of cases) {
      assert.equal(await exchange(s.port, send), want, `${who(s)}: ${JSON.stringify(send)}`);
    }
  }
}

async function disposeAll(servers: Running[]): Promise<void> {
  await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
}

const AUTH = "authorization { user: a, password: b }";
const LOGIN = 'CONNECT {"user":"a","pass":"b","verbose":false}\r\n';

// ---- Listeners ----

Deno.test("the monitor binds to the -a host when http_host is not given", async () => {
  const localIPv4 = Deno.networkInterfaces().find((n) =>
    n.family === "IPv4" && !n.address.startsWith("127.")
  )?.address;
  for (const reference of HAVE_NATS_SERVER ? [false, true] : [false]) {
    const port = freePort();
    const http = freePort();
    const args = ["-a", "127.0.0.1", "-p", `${port}`, "-m", `${http}`];
    await using p = new ServerProcess(args, port, {}, reference);
    await p.waitStderr(/Server is ready/);
    assert.match(p.stderr, new RegExp(`Starting http monitor on 127\\.0\\.0\\.1:${http}\\n`));
    (await Deno.connect({ hostname: "127.0.0.1", port: http })).close();
    if (localIPv4) {
      await assert.rejects(
        Deno.connect({ hostname: localIPv4, port: http }),
        "not on " + localIPv4,
      );
    }
  }
});

Deno.test("setBaselineOptions: http_host follows the client host; the cluster keeps 0.0.0.0", () => {
  const o = defaultOptions();
  o.host = "10.1.2.3";
  o.cluster.port = 6222;
  setBaselineOptions(o);
  assert.equal(o.httpHost, "10.1.2.3");
  assert.equal(o.cluster.host, "0.0.0.0");
  const given = defaultOptions();
  given.host = "10.1.2.3";
  given.httpHost = "0.0.0.0";
  assert.equal(setBaselineOptions(given).httpHost, "0.0.0.0");
  assert.equal(setBaselineOptions(defaultOptions()).httpHost, "0.0.0.0");
});

// ---- Authentication ----

Deno.test("with auth, the first byte decides: anything but C is an authorization violation", async () => {
  const servers = await serveBoth(AUTH);
  try {
    await expectAnswers(servers, [
      ["FOO\r\n", "-ERR 'Authorization Violation'\r\n<EOF>"],
      ["SUB foo 1\r\n", "-ERR 'Authorization Violation'\r\n<EOF>"],
      // Not even the end of the op is waited for.
      ["PING", "-ERR 'Authorization Violation'\r\n<EOF>"],
      ["\r\n", "-ERR 'Authorization Violation'\r\n<EOF>"],
      ["CXX\r\n", "-ERR 'Unknown Protocol Operation'\r\n<EOF>"],
      [LOGIN + "PING\r\n", "PONG\r\n"],
    ]);
    // A single configured user: nats-server's log names no user.
    for (const s of servers) await waitLog(s, "[ERR] authentication error");
  } finally {
    await disposeAll(servers);
  }
});

Deno.test("a second CONNECT is authenticated again: bad credentials close the connection", async () => {
  const conf = `authorization { users: [
    {user: a, password: b, permissions: {publish: ["only"]}}
    {user: c, password: d}
  ] }`;
  const servers = await serveBoth(conf);
  try {
    await expectAnswers(servers, [
      [
        LOGIN + "PING\r\n" + 'CONNECT {"user":"a","pass":"x"}\r\nPING\r\n',
        "PONG\r\n-ERR 'Authorization Violation'\r\n<EOF>",
      ],
      // The second CONNECT switches user, and with it the permissions.
      [
        LOGIN + "PUB x 0\r\n\r\n" + 'CONNECT {"user":"c","pass":"d"}\r\nPUB x 0\r\n\r\nPING\r\n',
        `-ERR 'Permissions Violation for Publish to "x"'\r\nPONG\r\n`,
      ],
    ]);
    for (const s of servers) await waitLog(s, '[ERR] authentication error - User "a"');
  } finally {
    await disposeAll(servers);
  }
});

// ---- CONNECT decoded as Go decodes it ----

Deno.test("CONNECT: keys in any case, null, wrong types, account, glued or empty", async () => {
  const servers = await serveBoth("");
  try {
    await expectAnswers(servers, [
      ['CONNECT {"Verbose":false,"PEDANTIC":false}\r\nPUB a.* 0\r\n\r\nPING\r\n', "PONG\r\n"],
      ['CONNECT {"verbose":false,"VERBOSE":true}\r\nPING\r\n', "+OK\r\nPONG\r\n"],
      ["CONNECT null\r\nPING\r\n", "+OK\r\nPONG\r\n"],
      ['CONNECT {"verbose":null}\r\nPING\r\n', "+OK\r\nPONG\r\n"],
      ['CONNECT{"verbose":false}\r\nPING\r\n', "PONG\r\n"],
      ['CONNECT {"verbose":"false"}\r\nPING\r\n', "<EOF>"],
      ['CONNECT {"protocol":1.5}\r\nPING\r\n', "<EOF>"],
      ["CONNECT\r\nPING\r\n", "<EOF>"],
      ["CONNECT {} x\r\nPING\r\n", "<EOF>"],
      [
        'CONNECT {"verbose":false,"account":"x"}\r\nPING\r\n',
        "-ERR 'Authorization Violation'\r\n<EOF>",
      ],
      ['CONNECT {"new_account":true}\r\nPING\r\n', "-ERR 'Authorization Violation'\r\n<EOF>"],
    ]);
    for (const s of servers) {
      for (
        const line of [
          "json: cannot unmarshal string into Go struct field ClientOpts.verbose of type bool",
          "json: cannot unmarshal number 1.5 into Go struct field ClientOpts.protocol of type int",
          "unexpected end of JSON input",
          "invalid character 'x' after top-level value",
        ]
      ) await waitLog(s, `[ERR] ${line}`);
    }
  } finally {
    await disposeAll(servers);
  }
});

// ---- Malformed ops ----

Deno.test("malformed ops close as nats-server: long sizes, stray CRs, HPUB without headers", async () => {
  const servers = await serveBoth("");
  const H = 'CONNECT {"headers":true,"verbose":false}\r\n';
  try {
    await expectAnswers(servers, [
      // More than 9 digits is a bad size, not a payload too big.
      ["PUB foo 1234567890\r\n", "<EOF>"],
      ["PUB foo 0000000001\r\nx\r\n", "<EOF>"],
      [H + "HPUB foo 0000000001 0000000002\r\n", "<EOF>"],
      // SUB and UNSUB split their arguments on CR too; PUB does not.
      ["SUB foo\r 1\r\nPING\r\n", "+OK\r\nPONG\r\n"],
      // Queue names are not checked as subjects.
      ["SUB foo . 1\r\nSUB foo.. 2\r\nPING\r\n", "+OK\r\n-ERR 'Invalid Subject'\r\nPONG\r\n"],
      ["UNSUB 1 2\r3\r\nPING\r\n", "<EOF>"],
      ["PUB foo 1\r\r\nx\r\n", "<EOF>"],
      // A header of size 0 is no header: delivered as MSG.
      [H + "SUB foo 1\r\nHPUB foo 0 2\r\nab\r\nPING\r\n", "MSG foo 1 2\r\nab\r\nPONG\r\n"],
      [H + "SUB foo 1\r\nHPUB foo r 0 0\r\n\r\nPING\r\n", "MSG foo 1 r 0\r\n\r\nPONG\r\n"],
      // A client's INFO is decoded too; HMSG is read as an empty message.
      ['INFO {"port":"x"}\r\nPING\r\n', "<EOF>"],
      ["HMSG x\r\n\r\nPING\r\n", "+OK\r\nPONG\r\n"],
      ["PI\rNG\r\n", "-ERR 'Unknown Protocol Operation'\r\n<EOF>"],
    ]);
    for (const s of servers) {
      await waitLog(s, '[ERR] processPub Bad or Missing Size: "foo 1234567890"');
      await waitLog(s, '[ERR] processUnsub Parse Error: "1 2\\r3"');
      await waitLog(
        s,
        "[ERR] json: cannot unmarshal string into Go struct field Info.port of type int",
      );
      await waitLog(s, `[ERR] Client parser ERROR, state=34, i=2: proto='"\\rNG\\r"...'`);
    }
  } finally {
    await disposeAll(servers);
  }
});

// ---- Permissions ----

Deno.test("a wildcard subscription does not get messages on subjects its user may not subscribe to", async () => {
  const servers = await serveBoth(`authorization { users: [
    {user: a, password: b, permissions: {subscribe: {deny: ["foo.secret", "*.hidden"]}}}
  ] }`);
  try {
    await expectAnswers(servers, [
      [
        LOGIN + "SUB foo.> 1\r\nPUB foo.secret 1\r\nx\r\nPUB foo.ok 1\r\ny\r\nPING\r\n",
        "MSG foo.ok 1 1\r\ny\r\nPONG\r\n",
      ],
      // Queue subscriptions too.
      [
        LOGIN + "SUB foo.* q 1\r\nPUB foo.secret 1\r\nx\r\nPUB foo.q 1\r\ny\r\nPING\r\n",
        "MSG foo.q 1 1\r\ny\r\nPONG\r\n",
      ],
      // Once the filter is on, it covers every deny subject, for every subscription.
      [
        LOGIN + "SUB > 1\r\nPUB bar.hidden 1\r\nx\r\nPUB bar.x 1\r\ny\r\nPING\r\n",
        "MSG bar.x 1 1\r\ny\r\nPONG\r\n",
      ],
      // nats-server does not take "*.hidden" to be within "bar.*": delivered.
      [
        LOGIN + "SUB bar.* 1\r\nPUB bar.hidden 1\r\nx\r\nPING\r\n",
        "MSG bar.hidden 1 1\r\nx\r\nPONG\r\n",
      ],
    ]);
  } finally {
    await disposeAll(servers);
  }
});

// ---- Slow consumer by write deadline ----

Deno.test("a subscriber blocked past write_deadline is closed as a slow consumer", async () => {
  const servers = await serveBoth('write_deadline: "200ms"\nmax_pending: 200MB', ["-m", "-1"]);
  try {
    for (const s of servers) {
      const http = Number(/Starting http monitor on 127\.0\.0\.1:(\d+)/.exec(s.proc.stderr)?.[1]);
      const sub = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
      const enc = new TextEncoder();
      await sub.write(enc.encode('CONNECT {"verbose":false}\r\nSUB big 1\r\nPING\r\n'));
      await waitFor(async () => {
        const conns = await (await fetch(`http://127.0.0.1:${http}/connz?subs=1`)).json();
        return conns.connections?.[0]?.subscriptions === 1;
      }, "subscription");
      const [pub] = await RawClient.connectInfo(s.port);
      await pub.send('CONNECT {"verbose":false}\r\n');
      const msg = enc.encode(`PUB big 65536\r\n${"x".repeat(65536)}\r\n`.repeat(16));
      const line =
        /Slow Consumer Detected: WriteDeadline of 200ms exceeded with \d+ chunks of \d+ total bytes\./;
      for (let i = 0; i < 400 && !line.test(s.proc.stderr); i++) await pub.send(msg);
      await waitFor(() => line.test(s.proc.stderr), `${who(s)}: slow consumer logged`);
      // The line is logged as the close starts; the record appears once the close completes.
      let closed: { connections?: { reason: string; pending_bytes: number }[] } = {};
      await waitFor(async () => {
        closed = await (await fetch(`http://127.0.0.1:${http}/connz?state=closed`)).json();
        return (closed.connections?.length ?? 0) > 0;
      }, `${who(s)}: the closed connection recorded`);
      assert.equal(closed.connections![0].reason, "Slow Consumer (Write Deadline)", who(s));
      assert.ok(closed.connections![0].pending_bytes > 0, `${who(s)}: pending bytes kept`);
      const varz = await (await fetch(`http://127.0.0.1:${http}/varz`)).json();
      assert.equal(varz.slow_consumers, 1, who(s));
      await pub.close();
      sub.close();
    }
  } finally {
    await disposeAll(servers);
  }
});

// ---- Timers ----

/** Connects, sends `first`, and records when each PING arrives (ms after the send). */
async function pingTimes(
  port: number,
  first: string,
  ms: number,
  each?: (c: RawClient) => Promise<void>,
): Promise<{ pings: number[]; text: string }> {
  const [c] = await RawClient.connectInfo(port);
  const t0 = Date.now();
  const pings: number[] = [];
  await c.send(first);
  let seen = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  if (each) timer = setInterval(() => each(c), 100);
  await waitFor(
    () => {
      const n = c.text.split("PING\r\n").length - 1;
      while (seen < n) {
        pings.push(Date.now() - t0);
        seen++;
        if (!each) c.send("PONG\r\n").catch(() => {});
      }
      return Date.now() - t0 >= ms || c.eof;
    },
    "time to pass",
    ms + 2000,
  );
  clearInterval(timer);
  const text = c.text;
  await c.close();
  return { pings, text };
}

Deno.test("PING timing: none before CONNECT until ping_interval; the first after CONNECT at 2 s", async () => {
  const servers = await serveBoth('ping_interval: "3s"');
  try {
    await Promise.all(servers.map(async (s) => {
      const [idle, connected] = await Promise.all([
        pingTimes(s.port, "", 3600),
        pingTimes(s.port, 'CONNECT {"verbose":false}\r\n', 2600),
      ]);
      assert.equal(idle.pings.length, 1, `${who(s)}: ${idle.pings}`);
      assert.ok(idle.pings[0] >= 2900, `${who(s)}: first PING before CONNECT at ${idle.pings}`);
      assert.equal(connected.pings.length, 1, `${who(s)}: ${connected.pings}`);
      const t = connected.pings[0];
      assert.ok(t >= 1950 && t < 2550, `${who(s)}: first PING after CONNECT at ${t} ms`);
    }));
  } finally {
    await disposeAll(servers);
  }
});

Deno.test("PING timing: client activity or the client's own PINGs hold the server's back", async () => {
  const servers = await serveBoth('ping_interval: "500ms"', ["-D"]);
  try {
    await Promise.all(servers.map(async (s) => {
      const quiet = 'CONNECT {"verbose":false}\r\n';
      const [answering, publishing, pinging] = await Promise.all([
        pingTimes(s.port, quiet, 2300),
        pingTimes(s.port, quiet, 2300, (c) => c.send("PUB x 1\r\nx\r\n")),
        pingTimes(s.port, quiet, 2300, (c) => c.send("PING\r\n")),
      ]);
      // One PING to measure RTT, then none while the client is busy.
      assert.equal(publishing.pings.length, 1, `${who(s)}: ${publishing.pings}`);
      assert.equal(pinging.pings.length, 1, `${who(s)}: ${pinging.pings}`);
      // A client that only answers PINGs is pinged every interval.
      assert.ok(answering.pings.length >= 3, `${who(s)}: ${answering.pings}`);
    }));
    for (const s of servers) {
      await waitFor(
        () => logLines(s).some((l) => l.endsWith("Delaying PING due to client activity 0s ago")),
        `${who(s)} activity log`,
      );
    }
  } finally {
    await disposeAll(servers);
  }
});

Deno.test("the default authentication timeout is 2 s", async () => {
  const servers = await serveBoth(AUTH);
  try {
    await Promise.all(servers.map(async (s) => {
      const [c] = await RawClient.connectInfo(s.port);
      const t0 = Date.now();
      await c.waitClosed(4000);
      const took = Date.now() - t0;
      assert.equal(c.text, "-ERR 'Authentication Timeout'\r\n", who(s));
      assert.ok(took >= 1900 && took < 2400, `${who(s)}: closed after ${took} ms`);
    }));
  } finally {
    await disposeAll(servers);
  }
});

// ---- INFO and /varz ----

Deno.test("/varz: the cluster's generated name and bound port; config_load_time on reload", async () => {
  const servers = await serveBoth("cluster { listen: 127.0.0.1:-1 }", ["-m", "-1"]);
  try {
    for (const s of servers) {
      const http = Number(/Starting http monitor on 127\.0\.0\.1:(\d+)/.exec(s.proc.stderr)?.[1]);
      const [c, info] = await RawClient.connectInfo(s.port);
      await c.close();
      const name = /Cluster name is (\S+)/.exec(s.proc.stderr)?.[1];
      const routePort = Number(/route connections on 127\.0\.0\.1:(\d+)/.exec(s.proc.stderr)?.[1]);
      assert.equal(info.cluster, name, who(s));
      const v1 = await (await fetch(`http://127.0.0.1:${http}/varz`)).json();
      assert.equal(v1.cluster.name, name, who(s));
      assert.equal(v1.cluster.cluster_port, routePort, who(s));
      await new Promise((r) => setTimeout(r, 20));
      s.proc.signal("SIGHUP");
      await s.proc.waitStderr(/Reloaded server configuration/);
      const v2 = await (await fetch(`http://127.0.0.1:${http}/varz`)).json();
      assert.ok(
        Date.parse(v2.config_load_time) > Date.parse(v1.config_load_time),
        `${who(s)}: ${v1.config_load_time} -> ${v2.config_load_time}`,
      );
    }
  } finally {
    await disposeAll(servers);
  }
});

Deno.test("INFO connect_urls drops a server as soon as its route goes away", async () => {
  for (const reference of HAVE_NATS_SERVER ? [false, true] : [false]) {
    const [ra, rb] = [freePort(), freePort()];
    const conf = (own: number, other: number) =>
      `cluster { name: x, listen: "127.0.0.1:${own}", routes: ["nats://127.0.0.1:${other}"] }`;
    await using a = await serve(conf(ra, rb), reference);
    await using b = await serve(conf(rb, ra), reference);
    // Once the route is up, a new client's INFO lists both servers.
    let c: RawClient | null = null;
    await waitFor(
      async () => {
        const [x, info] = await RawClient.connectInfo(a.port);
        if ((info.connect_urls as string[] | undefined)?.length === 2) c = x;
        else await x.close();
        return c !== null;
      },
      "INFO with both servers",
      8000,
    );
    await using _c = c!;
    await c!.send('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n');
    // An async INFO may follow the PONG (the cluster's URLs can change once more meanwhile).
    await c!.waitText((t) => t.includes("PONG\r\n"), "PONG");
    const urls = (t: string) =>
      [...t.matchAll(/INFO (\{.*\}) \r\n/g)].map((m) => JSON.parse(m[1]).connect_urls);
    c!.clear();
    await b[Symbol.asyncDispose]();
    await c!.waitText((t) => urls(t).length > 0, "INFO after the route closed", 8000);
    assert.deepEqual(urls(c!.text).at(-1), [`127.0.0.1:${a.port}`], who(a));
  }
});

// ---- Log lines ----

Deno.test("startup logs the cluster, the config file and nats-server's warnings", async () => {
  const conf = `authorization { user: a, password: b }
cluster { listen: 127.0.0.1:-1 }
max_pending: 100MB
max_payload: 10MB`;
  const servers = await serveBoth(conf);
  try {
    const normalized = (s: Running) =>
      logLines(s)
        .filter((l) => /^\[(INF|WRN)\]/.test(l))
        .map((l) =>
          l.replace(s.confPath, "CONF").replace(/\d{4,5}\b/g, "PORT").replace(
            /N[A-Z2-7]{55}/g,
            "ID",
          ).replace(/(Cluster: {2}|Cluster name is )\S+/, "$1NAME")
        );
    // Our one extra line: this server's own release, beside the version it emulates.
    const ours = normalized(servers[0]).filter((l) => !l.startsWith("[INF]   Release:  "));
    for (
      const line of [
        "[INF]   Cluster:  NAME",
        "[WRN] Plaintext passwords detected, use nkeys or bcrypt",
        "[INF] Using configuration file: CONF",
        "[WRN] Maximum payloads over 8.00 MB are generally discouraged and could lead to poor performance",
        "[WRN] Cluster name was dynamically generated, consider setting one",
      ]
    ) assert.ok(ours.includes(line), `${line}\nin\n${ours.join("\n")}`);
    if (servers[1]) {
      // nats-server logs its route listener from another goroutine, after "Server is ready".
      const ref = servers[1];
      await waitFor(() => normalized(ref).length >= ours.length, "nats-server's log", 3000)
        .catch(() => {});
      assert.deepEqual(ours, normalized(ref));
    }
  } finally {
    await disposeAll(servers);
  }
});

Deno.test("a route that cannot be dialed is logged as an error, in Go's words", async () => {
  const closed = freePort();
  const servers = await serveBoth(
    `cluster { name: c, listen: 127.0.0.1:-1, routes: ["nats://127.0.0.1:${closed}"] }`,
  );
  try {
    for (const s of servers) {
      await waitLog(
        s,
        `[ERR] Error trying to connect to route (attempt 1): dial tcp 127.0.0.1:${closed}: ` +
          "connect: connection refused",
      );
    }
  } finally {
    await disposeAll(servers);
  }
});

Deno.test("log lines name a client by its CONNECT's version, lang and name, as nats-server", async () => {
  const servers = await serveBoth(AUTH);
  const connects: [Record<string, string>, string][] = [
    [{ version: "1.2", lang: "go", name: 'my "app"' }, '"v1.2:go:my \\"app\\"" - '],
    [{ lang: "go", name: "n" }, '"go:n" - '],
    [{ name: "only" }, '"only" - '],
    [{ version: "3" }, '"v3" - '],
    [{}, ""],
  ];
  try {
    for (const s of servers) {
      for (const [fields, prefix] of connects) {
        const connect = JSON.stringify({ ...fields, user: "a", pass: "wrong", verbose: false });
        assert.equal(
          await exchange(s.port, `CONNECT ${connect}\r\nPING\r\n`),
          "-ERR 'Authorization Violation'\r\n<EOF>",
        );
        await waitLog(s, `[ERR] ${prefix}authentication error`);
      }
    }
  } finally {
    await disposeAll(servers);
  }
});
