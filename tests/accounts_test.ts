/**
 * Accounts at runtime: isolation, stream and service imports (reply routing), restricted exports,
 * mappings, accounts over routes. Each scenario runs against our server and, when installed,
 * against nats-server 2.9.10 with the same config file, asserting the same bytes on both.
 */

import assert from "node:assert/strict";
import {
  HAVE_NATS_SERVER,
  MemoryLogger,
  RawClient,
  REFERENCE,
  waitFor,
  waitListening,
} from "./helpers.ts";
import { freePort } from "./process_helpers.ts";
import { parseConfigString } from "../src/config.ts";
import { defaultOptions, mergeOptions } from "../src/options.ts";
import { Server } from "../src/server.ts";

interface Target {
  name: string;
  port: number;
  server: Server | null;
  stop(): Promise<void>;
}

async function startOurs(conf: string, extra = ""): Promise<Target> {
  const port = freePort();
  const text = `listen: "127.0.0.1:${port}"\n${extra}\n${conf}`;
  const layer = parseConfigString(text, "accounts.conf");
  const opts = mergeOptions(defaultOptions(), layer);
  const server = await Server.create(opts, new MemoryLogger());
  await server.start();
  return { name: "ours", port, server, stop: () => server.shutdown() };
}

async function startNatsServer(conf: string, extra = ""): Promise<Target> {
  const port = freePort();
  const file = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(file, `listen: "127.0.0.1:${port}"\n${extra}\n${conf}`);
  const child = new Deno.Command("nats-server", { args: ["-c", file], stderr: "null" }).spawn();
  await waitListening(port, "nats-server to listen");
  return {
    name: "nats-server",
    port,
    server: null,
    async stop() {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(file);
    },
  };
}

/** Runs a scenario against ours, then against nats-server when it is installed. */
async function onBoth(conf: string, fn: (t: Target) => Promise<void>): Promise<void> {
  const starters = REFERENCE
    ? [startNatsServer]
    : HAVE_NATS_SERVER
    ? [startOurs, startNatsServer]
    : [startOurs];
  for (const start of starters) {
    const t = await start(conf);
    try {
      await fn(t);
    } catch (e) {
      throw new Error(`[${t.name}] ${(e as Error).message}`, { cause: e });
    } finally {
      await t.stop();
    }
  }
}

async function login(port: number, user: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.waitText((t) => t.includes("\r\n"), "INFO");
  c.clear();
  await c.send(
    `CONNECT {"verbose":false,"pedantic":false,"user":"${user}","pass":"${user}",` +
      `"headers":true,"protocol":1}\r\nPING\r\n`,
  );
  // An async INFO may follow the first PONG (cluster URLs, an account's max_payload); the
  // second round trip proves it has arrived.
  const extra = (await c.roundTrip()).replace(/^PONG\r\n(INFO \{[^\r]*\} \r\n)?/, "");
  assert.equal(extra, "", `login of ${user}`);
  return c;
}

const CONF = `
accounts {
  A: {
    users: [{user: a, password: a}]
    exports: [
      {stream: "events.>"}
      {stream: "private.>", accounts: [B]}
      {service: "svc.echo"}
      {service: "svc.many", response_type: stream}
    ]
  }
  B: {
    users: [{user: b, password: b}]
    imports: [
      {stream: {account: A, subject: "events.>"}, prefix: "from_a"}
      {stream: {account: A, subject: "private.>"}}
      {service: {account: A, subject: "svc.echo"}, to: "echo"}
      {service: {account: A, subject: "svc.many"}}
    ]
  }
  C: { users: [{user: c, password: c}] }
}
`;

Deno.test("accounts: the same subject in two accounts is two worlds", async () => {
  await onBoth(CONF, async (t) => {
    await using a = await login(t.port, "a");
    await using c = await login(t.port, "c");
    await a.send("SUB foo 1\r\n");
    await c.send("SUB foo 1\r\n");
    await a.roundTrip();
    await c.roundTrip();
    await c.send("PUB foo 2\r\nhi\r\n");
    assert.equal(await c.roundTrip(), "MSG foo 1 2\r\nhi\r\n");
    assert.equal(await a.roundTrip(), "");
    await a.send("PUB foo 3\r\nabc\r\n");
    assert.equal(await a.roundTrip(), "MSG foo 1 3\r\nabc\r\n");
    assert.equal(await c.roundTrip(), "");
  });
});

Deno.test("accounts: a stream import delivers under its prefix, and only to the importer", async () => {
  await onBoth(CONF, async (t) => {
    await using a = await login(t.port, "a");
    await using b = await login(t.port, "b");
    await using c = await login(t.port, "c");
    await b.send("SUB from_a.> 1\r\nSUB private.> 2\r\nSUB events.> 3\r\n");
    await c.send("SUB > 1\r\n");
    await b.roundTrip();
    await c.roundTrip();
    await a.send("PUB events.x reply.1 2\r\nhi\r\nPUB private.y 1\r\nz\r\n");
    await a.roundTrip();
    await b.waitText((s) => s.includes("private.y"), "both imports");
    assert.equal(
      await b.roundTrip(),
      "MSG from_a.events.x 1 reply.1 2\r\nhi\r\nMSG private.y 2 1\r\nz\r\n",
    );
    assert.equal(await c.roundTrip(), "");
    // The importer's own publish on the imported subject stays in its account.
    await b.send("PUB from_a.events.q 1\r\nq\r\n");
    assert.equal(await b.roundTrip(), "MSG from_a.events.q 1 1\r\nq\r\n");
  });
});

Deno.test("accounts: a service import maps the request and routes the one reply back", async () => {
  await onBoth(CONF, async (t) => {
    await using a = await login(t.port, "a");
    await using b = await login(t.port, "b");
    await using b2 = await login(t.port, "b");
    await a.send("SUB svc.echo 1\r\n");
    await a.roundTrip();
    await b.send("SUB inbox.1 9\r\n");
    await b2.send("SUB inbox.1 9\r\n");
    await b.roundTrip();
    await b2.roundTrip();
    await b.send("PUB echo inbox.1 4\r\nping\r\n");
    await b.roundTrip();
    await a.waitText((s) => s.endsWith("ping\r\n"), "request in A");
    // The request carries who asked (account B and its RTT) in Nats-Request-Info.
    const m = a.text.match(
      /^HMSG svc\.echo 1 (_R_\.[0-9A-Za-z]{6}\.[0-9A-Za-z]{6}) (\d+) (\d+)\r\nNATS\/1\.0\r\nNats-Request-Info: \{"acc":"B"(,"rtt":\d+)?\}\r\n\r\nping\r\n$/,
    );
    assert(m, `request as A sees it: ${JSON.stringify(a.text)}`);
    a.clear();
    const reply = m[1];
    await a.send(`PUB ${reply} 4\r\npong\r\nPUB ${reply} 5\r\nagain\r\n`);
    await a.roundTrip();
    await b.waitText((s) => s.includes("pong"), "reply in B");
    // Both B clients subscribed to inbox.1 get the one reply; a singleton takes no second one.
    assert.equal(await b.roundTrip(), "MSG inbox.1 9 4\r\npong\r\n");
    assert.equal(await b2.roundTrip(), "MSG inbox.1 9 4\r\npong\r\n");
    // Clients may not use the server's reply space themselves.
    await b.send(`PUB echo _R_.abcd.efghij 1\r\nx\r\n`);
    assert.equal(
      await b.roundTrip(),
      `-ERR 'Permissions Violation for Publish with Reply of "_R_.abcd.efghij"'\r\n`,
    );
  });
});

Deno.test("accounts: a stream response_type keeps the reply open for several answers", async () => {
  await onBoth(CONF, async (t) => {
    await using a = await login(t.port, "a");
    await using b = await login(t.port, "b");
    await a.send("SUB svc.many 1\r\n");
    await a.roundTrip();
    await b.send("SUB inbox.2 1\r\nPUB svc.many inbox.2 1\r\nq\r\n");
    await a.waitText((s) => s.endsWith("q\r\n"), "request in A");
    const reply = a.text.split(" ")[3];
    assert.match(reply, /^_R_\./);
    await a.send(`PUB ${reply} 1\r\n1\r\nPUB ${reply} 1\r\n2\r\nPUB ${reply} 1\r\n3\r\n`);
    await a.roundTrip();
    await b.waitText((s) => s.includes("3\r\n"), "three answers");
    assert.equal(
      await b.roundTrip(),
      "MSG inbox.2 1 1\r\n1\r\nMSG inbox.2 1 1\r\n2\r\nMSG inbox.2 1 1\r\n3\r\n",
    );
  });
});

Deno.test("accounts: no_auth_user may name a user of an account", async () => {
  const conf = CONF + "\nno_auth_user: b\n";
  await onBoth(conf, async (t) => {
    await using anon = await RawClient.connect(t.port);
    await anon.waitText((s) => s.includes("\r\n"), "INFO");
    assert(!anon.text.includes('"auth_required"'), "INFO asks for no credentials");
    anon.clear();
    await anon.send('CONNECT {"verbose":false}\r\nSUB from_a.> 1\r\n');
    await anon.roundTrip();
    await using a = await login(t.port, "a");
    await a.send("PUB events.e 1\r\ne\r\n");
    await a.roundTrip();
    await anon.waitText((s) => s.includes("e\r\n"), "import reaches the no-auth user");
    assert.equal(await anon.roundTrip(), "MSG from_a.events.e 1 1\r\ne\r\n");
  });
});

Deno.test("accounts: per-account interest and messages cross routes", async () => {
  const cluster = (me: number, other: number) =>
    `cluster { listen: "127.0.0.1:${me}", name: acc, routes: ["nats-route://127.0.0.1:${other}"] }`;
  const kinds = HAVE_NATS_SERVER ? ["ours", "mixed"] : ["ours"];
  for (const kind of kinds) {
    const p1 = freePort();
    const p2 = freePort();
    const s1 = await startOurs(CONF, cluster(p1, p2));
    const s2 = kind === "ours"
      ? await startOurs(CONF, cluster(p2, p1))
      : await startNatsServer(CONF, cluster(p2, p1));
    try {
      await using a = await login(s2.port, "a");
      await using b = await login(s1.port, "b");
      await using c = await login(s1.port, "c");
      await a.send("SUB svc.echo 1\r\nSUB foo 2\r\n");
      await a.roundTrip();
      await c.send("SUB foo 1\r\n");
      await b.send("SUB from_a.> 1\r\nSUB inbox.3 2\r\n");
      await c.roundTrip();
      await b.roundTrip();
      // Interest for A's subjects reaches s1 (the import's and a's own) before we go on.
      await waitFor(async () => {
        await b.send("PUB echo inbox.3 1\r\n?\r\n");
        await b.roundTrip();
        await new Promise((r) => setTimeout(r, 20));
        return a.text.includes("svc.echo");
      }, `${kind}: request crosses the route`);
      const reply = a.text.match(/MSG svc\.echo 1 (\S+) \d+ \d+\r\n/)![1];
      a.clear();
      await a.send(`PUB ${reply} 2\r\nok\r\n`);
      await a.roundTrip();
      await b.waitText((s) => s.includes("ok\r\n"), `${kind}: reply crosses back`);
      assert.match(b.text, /MSG inbox\.3 2 2\r\nok\r\n$/);
      b.clear();
      await a.send("PUB events.r 1\r\nr\r\nPUB foo 1\r\nf\r\n");
      await a.roundTrip();
      await b.waitText((s) => s.includes("r\r\n"), `${kind}: stream import over the route`);
      assert.equal(await b.roundTrip(), "MSG from_a.events.r 1 1\r\nr\r\n");
      // foo in A never reaches c (account C) on the other server.
      assert.equal(await c.roundTrip(), "");
    } finally {
      await s1.stop();
      await s2.stop();
    }
  }
});

Deno.test("accounts: mappings rewrite published subjects (global and per account)", async () => {
  const conf = `
mappings { "orders.*": "orders.mapped.$1" }
accounts {
  M: {
    users: [{user: m, password: m}]
    mappings: { "in.*.*": "out.$2.$1", "gone": [{destination: "gone", weight: 0%}] }
  }
}
authorization { users: [{user: g, password: g}] }
`;
  await onBoth(conf, async (t) => {
    await using g = await login(t.port, "g");
    await using m = await login(t.port, "m");
    await g.send("SUB orders.> 1\r\n");
    await m.send("SUB > 1\r\n");
    await g.roundTrip();
    await m.roundTrip();
    await g.send("PUB orders.7 2\r\nok\r\n");
    assert.equal(await g.roundTrip(), "MSG orders.mapped.7 1 2\r\nok\r\n");
    await m.send("PUB in.a.b 1\r\nx\r\nPUB gone 1\r\ny\r\nPUB orders.7 1\r\nz\r\n");
    assert.equal(
      await m.roundTrip(),
      "MSG out.b.a 1 1\r\nx\r\nMSG orders.7 1 1\r\nz\r\n",
    );
  });
});

Deno.test("accounts: limits on connections, subscriptions and payload", async () => {
  const conf = `
accounts {
  L: {
    users: [{user: l, password: l}]
    limits: { max_connections: 1, max_subscriptions: 1, max_payload: 4 }
  }
}
`;
  await onBoth(conf, async (t) => {
    await using l = await RawClient.connect(t.port);
    await l.waitText((s) => s.includes("\r\n"), "INFO");
    l.clear();
    await l.send('CONNECT {"verbose":false,"user":"l","pass":"l","protocol":1}\r\nPING\r\n');
    // The account's lower max_payload comes in an INFO right after the first PONG.
    await l.waitText((s) => s.includes('"max_payload":4,'), "INFO with the account's max_payload");
    assert.match(l.text, /^PONG\r\nINFO \{[^\r]*\} \r\n$/);
    l.clear();
    await l.send("SUB a 1\r\nSUB b 2\r\n");
    assert.equal(await l.roundTrip(), "-ERR 'maximum subscriptions exceeded'\r\n");
    await using l2 = await RawClient.connect(t.port);
    await l2.waitText((s) => s.includes("\r\n"), "INFO");
    l2.clear();
    await l2.send('CONNECT {"verbose":false,"user":"l","pass":"l"}\r\nPING\r\n');
    await l2.waitClosed();
    assert.equal(l2.text, "-ERR 'maximum account active connections exceeded'\r\n");
    await l.send("PUB a 5\r\nhello\r\n");
    await l.waitClosed();
    assert.equal(l.text, "-ERR 'Maximum Payload Violation'\r\n");
  });
});

Deno.test("accounts: reload changes accounts, users, imports; moved and removed users are cut", async () => {
  const before = `
accounts {
  A: { users: [{user: a, password: a}, {user: x, password: x}], exports: [{stream: "ev.>"}] }
  B: { users: [{user: b, password: b}, {user: gone, password: gone}] }
}
`;
  const after = `
accounts {
  A: { users: [{user: a, password: a}], exports: [{stream: "ev.>"}] }
  B: {
    users: [{user: b, password: b}, {user: x, password: x}]
    imports: [{stream: {account: A, subject: "ev.>"}, prefix: "a"}]
  }
}
`;
  const t = await startOurs(before);
  try {
    await using a = await login(t.port, "a");
    await using b = await login(t.port, "b");
    await using x = await login(t.port, "x");
    await using gone = await login(t.port, "gone");
    await b.send("SUB a.ev.> 1\r\nSUB keep 2\r\n");
    await b.roundTrip();
    const port = t.port;
    const layer = parseConfigString(`listen: "127.0.0.1:${port}"\n${after}`, "accounts.conf");
    t.server!.reload(mergeOptions(defaultOptions(), layer));
    // x moved from A to B and gone was removed: both are disconnected; a and b stay.
    await x.waitClosed();
    await gone.waitClosed();
    // As nats-server: closed without an -ERR (checked against 2.9.10 with SIGHUP).
    assert.equal(gone.text, "");
    assert.equal(x.text, "");
    // b's subscriptions survived, and the new import works.
    await a.send("PUB ev.1 1\r\n1\r\nPUB keep 1\r\nk\r\n");
    await a.roundTrip();
    await b.waitText((s) => s.includes("1\r\n"), "the import added by the reload");
    assert.equal(await b.roundTrip(), "MSG a.ev.1 1 1\r\n1\r\n");
    await using x2 = await login(t.port, "x");
    await x2.send("PUB keep 1\r\nk\r\n");
    await x2.roundTrip();
    await b.waitText((s) => s.includes("k\r\n"), "x now publishes in B");
    assert.equal(await b.roundTrip(), "MSG keep 2 1\r\nk\r\n");
  } finally {
    await t.stop();
  }
});
