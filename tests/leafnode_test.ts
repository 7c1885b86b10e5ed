/**
 * Leafnodes: our servers as hub and as leaf, with each other and with nats-server 2.9.10 on
 * either side. Exact bytes where the protocol is the point, the official client elsewhere.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
// deno-lint-ignore no-import-prefix -- test-only reference implementation; no deno.json entry
import { createUser } from "npm:@nats-io/nkeys@2.0.3";
import { HAVE_NATS_SERVER, RawClient, startServer, type TestServer, waitFor } from "./helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";
import {
  defaultOptions,
  mergeOptions,
  type PartialOptions,
  validateOptions,
} from "../src/options.ts";
import { parseConfigString } from "../src/config.ts";
import { leafzObject } from "../src/leafnode/monitor.ts";
import {
  defaultLeafNodeOptions,
  type LeafNodeOptions,
  type RemoteLeafOptions,
} from "../src/leafnode/options.ts";

const defaultClusterOptions = () => defaultOptions().cluster;
const QUIET = 'CONNECT {"verbose":false,"pedantic":false,"headers":true,"protocol":1}\r\n';
const CERTS = new URL("../configs/certs/", import.meta.url).pathname;

function leafnode(o: Partial<LeafNodeOptions> = {}): LeafNodeOptions {
  return { ...defaultLeafNodeOptions(), host: "127.0.0.1", port: -1, ...o };
}

function remote(url: string | string[], o: Partial<RemoteLeafOptions> = {}): RemoteLeafOptions {
  return {
    urls: Array.isArray(url) ? url : [url],
    localAccount: "",
    credentials: "",
    tlsTimeout: 0,
    hub: false,
    denyImports: [],
    denyExports: [],
    noRandomize: true,
    ...o,
  };
}

function leafPort(s: TestServer): number {
  return s.server!.leafnodes!.port;
}

/** A hub listening for leafnodes, with the given extra options. */
function startHub(extra: PartialOptions = {}, leaf: Partial<LeafNodeOptions> = {}) {
  return startServer({ serverName: "HUB", ...extra, leafnode: leafnode(leaf) });
}

/** A server whose one remote points at `port`. */
function startLeaf(port: number, extra: PartialOptions = {}, r: Partial<RemoteLeafOptions> = {}) {
  return startServer({
    serverName: "LEAF",
    ...extra,
    leafnode: {
      ...defaultLeafNodeOptions(),
      remotes: [remote(`nats-leaf://127.0.0.1:${port}`, r)],
    },
  });
}

function leafs(s: TestServer): number {
  return s.server!.leafnodes?.registeredCount ?? 0;
}

async function connected(...servers: TestServer[]): Promise<void> {
  await waitFor(() => servers.every((s) => leafs(s) > 0), "leafnode connections");
}

/** Waits until `s` knows `n` subscriptions on `subject` in account `acc` (interest arrived). */
async function interest(s: TestServer, subject: string, n = 1, acc = "$G"): Promise<void> {
  await waitFor(() => {
    const a = s.server!.accounts.get(acc)!;
    const r = a.sublist.match(subject);
    return r.psubs.length + r.qsubs.reduce((k, g) => k + g.length, 0) >= n;
  }, `interest in ${subject} on ${s.server!.name}`);
}

async function client(port: number, connect = QUIET): Promise<RawClient> {
  const [c] = await RawClient.connectInfo(port);
  await c.send(connect);
  await c.roundTrip();
  return c;
}

Deno.test("a leaf and its hub exchange messages, replies and headers both ways", async () => {
  await using hub = await startHub();
  await using leaf = await startLeaf(leafPort(hub));
  await connected(hub, leaf);
  await using h = await client(hub.port);
  await using l = await client(leaf.port);
  await l.send("SUB foo.* 1\r\n");
  await l.roundTrip();
  await h.send("SUB bar 1\r\n");
  await h.roundTrip();
  await interest(hub, "foo.x");
  await interest(leaf, "bar");
  await h.send("PUB foo.x reply.1 5\r\nhello\r\nHPUB foo.y 12 14\r\nNATS/1.0\r\n\r\nab\r\n");
  await h.roundTrip();
  await l.waitText((t) => t.includes("HMSG"), "messages from the hub");
  assert.equal(
    l.text,
    "MSG foo.x 1 reply.1 5\r\nhello\r\nHMSG foo.y 1 12 14\r\nNATS/1.0\r\n\r\nab\r\n",
  );
  await l.send("PUB bar 3\r\nabc\r\n");
  await h.waitText((t) => t.includes("abc"), "a message from the leaf");
  assert.equal(h.text, "MSG bar 1 3\r\nabc\r\n");
  // Interest withdrawn on one side stops the traffic from the other.
  await l.send("UNSUB 1\r\n");
  await l.roundTrip();
  await waitFor(() => hub.server!.globalAccount.sublist.match("foo.x").psubs.length === 0, "LS-");
});

Deno.test("request/reply across the leafnode with the official client", async () => {
  await using hub = await startHub();
  await using leaf = await startLeaf(leafPort(hub));
  await connected(hub, leaf);
  const nh = await connect({ servers: `127.0.0.1:${hub.port}` });
  const nl = await connect({ servers: `127.0.0.1:${leaf.port}` });
  try {
    nh.subscribe("svc.hub", { callback: (_e, m) => void m.respond(`hub:${m.string()}`) });
    nl.subscribe("svc.leaf", { callback: (_e, m) => void m.respond(`leaf:${m.string()}`) });
    await nh.flush();
    await nl.flush();
    await interest(leaf, "svc.hub");
    await interest(hub, "svc.leaf");
    assert.equal((await nl.request("svc.hub", "a", { timeout: 2000 })).string(), "hub:a");
    assert.equal((await nh.request("svc.leaf", "b", { timeout: 2000 })).string(), "leaf:b");
  } finally {
    await nh.close();
    await nl.close();
  }
});

Deno.test("queue groups across the boundary: local members first, then the other side's", async () => {
  await using hub = await startHub();
  await using leaf = await startLeaf(leafPort(hub));
  await connected(hub, leaf);
  await using hq = await client(hub.port);
  await using lq = await client(leaf.port);
  await using pub = await client(hub.port);
  await hq.send("SUB work q 1\r\n");
  await hq.roundTrip();
  await lq.send("SUB work q 1\r\nSUB work q 2\r\n");
  await lq.roundTrip();
  await interest(hub, "work", 2);
  // The hub learns the group with the leaf's weight (two members).
  const ls = [...hub.server!.leafnodes!.conns.values()][0].leafSubs.get("work q");
  assert.equal(ls?.weight, 2);
  // With a member on the hub, every message stays there.
  for (let i = 0; i < 20; i++) await pub.send("PUB work 1\r\nx\r\n");
  await pub.roundTrip();
  await hq.waitText((t) => t.split("MSG").length - 1 === 20, "20 messages on the hub member");
  assert.equal(await lq.roundTrip(), "");
  // Without one, the leaf's members take them, each message once.
  hq.clear();
  await hq.send("UNSUB 1\r\n");
  await hq.roundTrip();
  await waitFor(() => hub.server!.globalAccount.sublist.match("work").qsubs[0]?.length === 1, "");
  for (let i = 0; i < 20; i++) await pub.send("PUB work 1\r\ny\r\n");
  await pub.roundTrip();
  await lq.waitText((t) => t.split("MSG").length - 1 === 20, "20 messages on the leaf members");
  // A message published on the leaf prefers the leaf's own members.
  lq.clear();
  await using lp = await client(leaf.port);
  for (let i = 0; i < 10; i++) await lp.send("PUB work 1\r\nz\r\n");
  await lp.roundTrip();
  await lq.waitText((t) => t.split("MSG").length - 1 === 10, "10 local deliveries");
  assert.equal(await hq.roundTrip(), "");
});

Deno.test("hub and spokes: several leaves reach each other through the hub, once", async () => {
  await using hub = await startHub();
  await using a = await startLeaf(leafPort(hub), { serverName: "A" });
  await using b = await startLeaf(leafPort(hub), { serverName: "B" });
  await using c = await startLeaf(leafPort(hub), { serverName: "C" });
  await waitFor(() => leafs(hub) === 3, "three leaves on the hub");
  await using sa = await client(a.port);
  await using sb = await client(b.port);
  await sa.send("SUB news 1\r\nSUB jobs g 2\r\n");
  await sa.roundTrip();
  await sb.send("SUB news 1\r\nSUB jobs g 2\r\n");
  await sb.roundTrip();
  await interest(c, "news", 1);
  await interest(hub, "news", 2);
  await using pc = await client(c.port);
  for (let i = 0; i < 10; i++) await pc.send(`PUB news 1\r\n${i}\r\nPUB jobs 1\r\n${i}\r\n`);
  await pc.roundTrip();
  const count = (t: string, subj: string) => t.split(`MSG ${subj} `).length - 1;
  await waitFor(() => count(sa.text, "news") === 10 && count(sb.text, "news") === 10, "news x2");
  await waitFor(() => count(sa.text, "jobs") + count(sb.text, "jobs") === 10, "jobs once each");
  // Nothing more arrives (no message crossed twice).
  await pc.roundTrip();
  assert.equal(count(sa.text, "news") + count(sb.text, "news"), 20);
  assert.equal(count(sa.text, "jobs") + count(sb.text, "jobs"), 10);
});

// ---- Configured servers (accounts, auth, permissions): config text, in-process or nats-server ----

/** Starts our server in-process from config text (host and client port filled in). */
function startConf(text: string): Promise<TestServer> {
  return startServer(parseConfigString(text));
}

/** nats-server with a config file; `port` is its client port, written into the file. */
async function startNatsServer(text: string, port = freePort()): Promise<ServerProcess> {
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(conf, `listen: "127.0.0.1:${port}"\n${text}\n`);
  const p = new ServerProcess(["-c", conf], port, {}, true);
  try {
    await p.waitStderr(/Server is ready/);
  } catch (e) {
    await p[Symbol.asyncDispose]();
    throw e;
  }
  return p;
}

Deno.test("a remote binds one local account to the account the hub's user is bound to", async () => {
  await using hub = await startConf(`
    server_name: HUB
    accounts {
      HA { users [ {user: ha, password: p} ] }
      OTHER { users [ {user: other, password: p} ] }
    }
    leafnodes { listen: "127.0.0.1:-1", authorization { users [ {user: lu, password: lp, account: HA} ] } }
  `);
  await using leaf = await startConf(`
    server_name: LEAF
    accounts { LA { users [ {user: la, password: p} ] }, LB { users [ {user: lb, password: p} ] } }
    leafnodes { remotes [ { url: "nats-leaf://lu:lp@127.0.0.1:${leafPort(hub)}", account: LA } ] }
  `);
  await connected(hub, leaf);
  const hubLeaf = [...hub.server!.leafnodes!.conns.values()][0];
  const leafLeaf = [...leaf.server!.leafnodes!.conns.values()][0];
  assert.equal(hubLeaf.account.name, "HA");
  assert.equal(leafLeaf.account.name, "LA");
  assert.equal(leafLeaf.remoteAccount, "HA");
  const auth = (u: string) =>
    `CONNECT {"verbose":false,"pedantic":false,"user":"${u}","pass":"p","protocol":1}\r\n`;
  await using la = await client(leaf.port, auth("la"));
  await using lb = await client(leaf.port, auth("lb"));
  await la.send("SUB x 1\r\n");
  await lb.send("SUB x 1\r\n");
  await la.roundTrip();
  await lb.roundTrip();
  await interest(hub, "x", 1, "HA");
  await using ha = await client(hub.port, auth("ha"));
  await using other = await client(hub.port, auth("other"));
  await other.send("PUB x 5\r\nother\r\n");
  await other.roundTrip();
  await ha.send("PUB x 2\r\nha\r\n");
  await ha.roundTrip();
  await la.waitText((t) => t.includes("ha"), "the HA message on LA");
  assert.equal(la.text, "MSG x 1 2\r\nha\r\n");
  assert.equal(await lb.roundTrip(), "");
  // The other way: LA's messages land in HA only.
  await ha.send("SUB y 1\r\n");
  await other.send("SUB y 1\r\n");
  await ha.roundTrip();
  await other.roundTrip();
  await interest(leaf, "y", 1, "LA");
  await la.send("PUB y 2\r\nla\r\n");
  await ha.waitText((t) => t.includes("la"), "the LA message on HA");
  assert.equal(await other.roundTrip(), "");
});

Deno.test("the hub user's permissions decide what crosses, in both directions", async () => {
  const users = `authorization { users [
    {user: hc, password: p}
    {user: lu, password: lp, permissions: { publish: ["to.hub.>"], subscribe: ["to.leaf.>"] } }
  ] }`;
  await using hub = await startConf(
    `server_name: HUB\n${users}\nleafnodes { listen: "127.0.0.1:-1" }`,
  );
  await using leaf = await startLeaf(leafPort(hub), {}, {
    urls: [`nats-leaf://lu:lp@127.0.0.1:${leafPort(hub)}`],
  });
  await connected(hub, leaf);
  // The hub's answer to CONNECT told the leaf its permissions (import/export as nats-server).
  const spoke = [...leaf.server!.leafnodes!.conns.values()][0];
  assert.deepEqual(spoke.leafPerms?.source, {
    publish: { allow: ["to.hub.>"] },
    subscribe: { allow: ["to.leaf.>"] },
  });
  await using l = await client(leaf.port);
  await l.send("SUB to.leaf.a 1\r\nSUB secret 2\r\n");
  await l.roundTrip();
  await using h = await client(
    hub.port,
    'CONNECT {"verbose":false,"pedantic":false,"user":"hc","pass":"p","protocol":1}\r\n',
  );
  await h.send("SUB to.hub.x 1\r\nSUB other 2\r\n");
  await h.roundTrip();
  await interest(hub, "to.leaf.a");
  await interest(leaf, "to.hub.x");
  // The leaf never asked for what it may not receive, nor learned what it may not send.
  assert.equal(hub.server!.globalAccount.sublist.match("secret").psubs.length, 0);
  assert.equal(leaf.server!.globalAccount.sublist.match("other").psubs.length, 0);
  await h.send("PUB secret 1\r\nS\r\nPUB to.leaf.a 1\r\nA\r\n");
  await h.roundTrip();
  await l.waitText((t) => t.includes("to.leaf.a"), "the allowed message");
  assert.equal(l.text, "MSG to.leaf.a 1 1\r\nA\r\n");
  l.clear();
  await l.send("PUB other 1\r\nO\r\nPUB to.hub.x 1\r\nX\r\n");
  await l.roundTrip();
  await h.waitText((t) => t.includes("to.hub.x"), "the allowed message on the hub");
  assert.equal(h.text, "MSG to.hub.x 1 1\r\nX\r\n");
});

Deno.test("deny_imports and deny_exports keep subjects on their side", async () => {
  await using hub = await startHub();
  await using leaf = await startLeaf(leafPort(hub), {}, {
    denyImports: ["private.>"],
    denyExports: ["internal.>"],
  });
  await connected(hub, leaf);
  await using l = await client(leaf.port);
  await l.send("SUB > 1\r\n");
  await l.roundTrip();
  await using h = await client(hub.port);
  await h.send("SUB internal.x 1\r\nSUB public.x 2\r\n");
  await h.roundTrip();
  await interest(hub, "public.y");
  await interest(leaf, "public.x", 2);
  // The leaf ignored the hub's interest in what it may not export.
  assert.equal(leaf.server!.globalAccount.sublist.match("internal.x").psubs.length, 1);
  await h.send("PUB private.a 1\r\np\r\nPUB public.a 1\r\nq\r\n");
  await h.roundTrip();
  await l.waitText((t) => t.includes("public.a"), "the public message");
  assert.equal(l.text, "MSG public.a 1 1\r\nq\r\n");
  l.clear();
  await l.send("PUB internal.x 1\r\ni\r\nPUB public.x 1\r\nj\r\n");
  await h.waitText((t) => t.includes("public.x"), "the exported message");
  assert.equal(h.text, "MSG public.x 2 1\r\nj\r\n");
});

// ---- The leafnode port's protocol, byte for byte beside nats-server ----

/** Placeholders for what differs per run: ids, nonces, loop subjects, ports, versions. */
function normalize(text: string): string {
  return text
    .replace(/"server_id":"N[A-Z0-9]{55}"/g, '"server_id":"ID"')
    .replace(/"nonce":"[^"]*"/g, '"nonce":"NONCE"')
    .replace(/\$LDS\.[A-Za-z0-9]+/g, "$LDS.X")
    .replace(/"go":"[^"]*"/g, '"go":"GO"')
    .replace(/"port":\d+/g, '"port":P')
    .replace(/"ip":"[^"]*"/g, '"ip":"IP"')
    .replace(/"leafnode_urls":\["[^"]*"\]/g, '"leafnode_urls":["URL"]')
    .replace(/"client_id":\d+/g, '"client_id":N');
}

/**
 * Runs `steps` (send, then wait for the answer to end with `until`, or for the close) on a raw
 * connection to a leafnode port; returns the normalized transcript of what came back.
 */
async function leafSession(
  port: number,
  steps: {
    send: string | ((info: Record<string, unknown>, seen: string) => string);
    until?: string;
  }[],
): Promise<string[]> {
  const [c, info] = await RawClient.connectInfo(port);
  const out: string[] = [normalize(JSON.stringify(Object.keys(info)))];
  try {
    let seen = "";
    for (const step of steps) {
      await c.send(typeof step.send === "string" ? step.send : step.send(info, seen));
      if (step.until === undefined) await c.waitClosed();
      else await c.waitText((t) => t.includes(step.until!), step.until);
      seen = c.text;
      out.push(normalize(c.text));
      c.clear();
    }
  } finally {
    await c.close();
  }
  return out;
}

/** The same session against our server and against nats-server, both given `conf`. */
async function sideBySide(
  conf: string,
  steps: Parameters<typeof leafSession>[1],
): Promise<[string[], string[]]> {
  const text = conf.replace("LEAFPORT", "-1");
  await using ours = await startConf(text);
  const mine = await leafSession(leafPort(ours), steps);
  if (!HAVE_NATS_SERVER) return [mine, mine];
  const lp = freePort();
  await using ns = await startNatsServer(conf.replace("LEAFPORT", String(lp)));
  const theirs = await leafSession(lp, steps);
  void ns;
  return [mine, theirs];
}

const CONNECT_LEAF = (extra = "", name = "RAW") =>
  `CONNECT {"version":"2.9.10","tls_required":false,"server_id":"NTEST","name":"${name}","headers":true${extra}}\r\n`;

Deno.test("a raw leaf sees the INFO, the answer to CONNECT and the hub's interest as from nats-server", async () => {
  const conf =
    `server_name: HUB\nno_system_account: true\nleafnodes { listen: "127.0.0.1:LEAFPORT" }`;
  const [mine, theirs] = await sideBySide(conf, [
    { send: CONNECT_LEAF(), until: "$LDS." },
    { send: "LS+ foo\r\nLS+ bar q 3\r\nLS- bar q\r\nPING\r\n", until: "PONG\r\n" },
  ]);
  assert.deepEqual(mine, theirs);
  assert.match(
    mine[1],
    /^INFO \{.*"connect_info":true.*"remote_account":"\$G"\} \r\nLS\+ \$LDS\.X\r\n$/,
  );
});

Deno.test("a leaf asking for a subject its user may not receive is cut off, as by nats-server", async () => {
  const conf = `server_name: HUB\nno_system_account: true
    authorization { users [ {user: lu, password: lp, permissions: { subscribe: ["ok.>"] } } ] }
    leafnodes { listen: "127.0.0.1:LEAFPORT" }`;
  const [mine, theirs] = await sideBySide(conf, [
    { send: CONNECT_LEAF(',"user":"lu","pass":"lp"'), until: "$LDS." },
    { send: "LS+ ok.a\r\nLS+ ok.*\r\nLS+ secret\r\n" },
  ]);
  assert.deepEqual(mine, theirs);
  assert.equal(mine[2], `-ERR 'Permissions Violation for Subscription to "secret"'\r\n`);
});

Deno.test("a leaf that sends back the hub's own loop subject is refused: Loop detected", async () => {
  const conf =
    `server_name: HUB\nno_system_account: true\nleafnodes { listen: "127.0.0.1:LEAFPORT" }`;
  const lds = (_: unknown, seen: string) => `LS+ ${/\$LDS\.[A-Za-z0-9]+/.exec(seen)![0]}\r\n`;
  const [mine, theirs] = await sideBySide(conf, [
    { send: CONNECT_LEAF(), until: "$LDS." },
    { send: lds },
  ]);
  assert.deepEqual(mine, theirs);
  assert.equal(
    mine[2],
    `-ERR 'Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s'\r\n`,
  );
});

Deno.test("the leafnode port refuses clients, bad credentials and silence as nats-server", async () => {
  const conf = `server_name: HUB\nno_system_account: true
    leafnodes { listen: "127.0.0.1:LEAFPORT", authorization { user: lu, password: lp, timeout: 0.5 } }`;
  for (
    const steps of [
      [{ send: 'CONNECT {"lang":"go","version":"1.0","user":"lu","pass":"lp"}\r\n' }],
      [{ send: CONNECT_LEAF(',"user":"lu","pass":"nope"') }],
      [{ send: "PING\r\n" }],
      [{ send: "" }],
    ]
  ) {
    const [mine, theirs] = await sideBySide(conf, steps);
    assert.deepEqual(mine, theirs);
  }
  const [mine] = await sideBySide(conf, [{ send: "" }]);
  assert.equal(mine[1], "-ERR 'Authentication Timeout'\r\n");
});

// ---- With nats-server 2.9.10 on the other side ----

/** Waits until `n` messages (MSG lines) for `subject` arrived on a raw client. */
function msgs(c: RawClient | string, subject: string): number {
  return (typeof c === "string" ? c : c.text).split(`MSG ${subject} `).length - 1;
}

Deno.test({
  name: "our server as a leaf of a nats-server hub: messages, requests and queues both ways",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const lp = freePort();
    await using ns = await startNatsServer(
      `server_name: NHUB\nleafnodes { listen: "127.0.0.1:${lp}" }`,
    );
    await using leaf = await startLeaf(lp);
    await connected(leaf);
    const nh = await connect({ servers: `127.0.0.1:${ns.port}` });
    const nl = await connect({ servers: `127.0.0.1:${leaf.port}` });
    try {
      nh.subscribe("svc.hub", { callback: (_e, m) => void m.respond(`hub:${m.string()}`) });
      nl.subscribe("svc.leaf", { callback: (_e, m) => void m.respond(`leaf:${m.string()}`) });
      await nh.flush();
      await nl.flush();
      await interest(leaf, "svc.hub");
      await waitFor(async () => {
        try {
          return (await nh.request("svc.leaf", "b", { timeout: 200 })).string() === "leaf:b";
        } catch {
          return false;
        }
      }, "the hub to reach the leaf's service");
      assert.equal((await nl.request("svc.hub", "a", { timeout: 2000 })).string(), "hub:a");
      // A queue group with members on both sides: each message once, locals first.
      let onHub = 0;
      let onLeaf = 0;
      nh.subscribe("q", { queue: "g", callback: () => void onHub++ });
      nl.subscribe("q", { queue: "g", callback: () => void onLeaf++ });
      await nh.flush();
      await nl.flush();
      await interest(leaf, "q");
      for (let i = 0; i < 50; i++) nl.publish("q", "x");
      await nl.flush();
      await waitFor(() => onHub + onLeaf === 50, "50 queue deliveries");
      assert.deepEqual([onHub, onLeaf], [0, 50]);
      for (let i = 0; i < 50; i++) nh.publish("q", "y");
      await nh.flush();
      await waitFor(() => onHub + onLeaf === 100, "100 queue deliveries");
      assert.deepEqual([onHub, onLeaf], [50, 50]);
    } finally {
      await nh.close();
      await nl.close();
    }
  },
});

Deno.test({
  name: "nats-server leaves connected to our hub reach each other and the hub's clients",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    await using hub = await startHub();
    const remoteTo = `leafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${leafPort(hub)}" } ] }`;
    await using a = await startNatsServer(`server_name: NA\n${remoteTo}`);
    await using b = await startNatsServer(`server_name: NB\n${remoteTo}`);
    await waitFor(() => leafs(hub) === 2, "two nats-server leaves on our hub");
    await using ca = await client(a.port);
    await using cb = await client(b.port);
    await using ch = await client(hub.port);
    await ca.send("SUB t 1\r\nSUB w g 2\r\n");
    await cb.send("SUB t 1\r\nSUB w g 2\r\n");
    await ch.send("SUB t 1\r\n");
    await ca.roundTrip();
    await cb.roundTrip();
    await ch.roundTrip();
    await interest(hub, "t", 3);
    await interest(hub, "w", 2);
    // Wait until each leaf knows the other's interest through the hub.
    await waitFor(async () => {
      await ca.send("PUB t 4\r\nping\r\n");
      await ca.roundTrip();
      return msgs(cb, "t") > 0;
    }, "a message from one nats-server leaf to the other");
    cb.clear();
    ch.clear();
    ca.clear();
    for (let i = 0; i < 20; i++) await ch.send("PUB t 1\r\nh\r\nPUB w 1\r\nh\r\n");
    await ch.roundTrip();
    await waitFor(() => msgs(ca, "t") === 20 && msgs(cb, "t") === 20, "20 on each leaf");
    await waitFor(() => msgs(ca, "w") + msgs(cb, "w") === 20, "the group's 20, once each");
    await ca.roundTrip();
    await cb.roundTrip();
    assert.equal(msgs(ca, "w") + msgs(cb, "w"), 0);
  },
});

// ---- TLS ----

const HUB_TLS = `tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem", ` +
  `ca_file: "${CERTS}ca.pem", verify: true, timeout: 2 }`;
const LEAF_TLS =
  `tls { cert_file: "${CERTS}client-cert.pem", key_file: "${CERTS}client-key.pem", ` +
  `ca_file: "${CERTS}ca.pem" }`;

/** Messages flow both ways between a client on `a` and one on `b` (interest on both sides). */
async function flows(a: number, b: number, hubSide: TestServer | null): Promise<void> {
  await using ca = await client(a);
  await using cb = await client(b);
  await ca.send("SUB one 1\r\n");
  await cb.send("SUB two 1\r\n");
  await ca.roundTrip();
  await cb.roundTrip();
  if (hubSide) await interest(hubSide, "one");
  await waitFor(async () => {
    await cb.send("PUB one 2\r\nhi\r\n");
    await cb.roundTrip();
    return msgs(ca, "one") > 0;
  }, "b -> a");
  await waitFor(async () => {
    await ca.send("PUB two 2\r\nho\r\n");
    await ca.roundTrip();
    return msgs(cb, "two") > 0;
  }, "a -> b");
}

Deno.test("TLS leafnode connections: verified both ways, a leaf without a certificate refused", async () => {
  await using hub = await startConf(
    `server_name: HUB\nleafnodes { listen: "127.0.0.1:-1", ${HUB_TLS} }`,
  );
  const url = `nats-leaf://127.0.0.1:${leafPort(hub)}`;
  await using leaf = await startConf(
    `server_name: LEAF\nleafnodes { remotes [ { url: "${url}", ${LEAF_TLS} } ] }`,
  );
  await connected(hub, leaf);
  const spoke = [...leaf.server!.leafnodes!.conns.values()][0];
  const hubSide = [...hub.server!.leafnodes!.conns.values()][0];
  assert.equal(spoke.tlsInfo?.version, "1.3");
  assert.ok(hubSide.tlsInfo?.peer, "the hub saw the leaf's certificate");
  await flows(hub.port, leaf.port, hub);
  // A leaf with only the CA (no certificate of its own) fails the handshake and retries.
  await using bare = await startConf(
    `server_name: BARE\nleafnodes { remotes [ { url: "${url}", tls { ca_file: "${CERTS}ca.pem" } } ] }`,
  );
  await waitFor(
    () => hub.log.lines.some((l) => /TLS leafnode handshake error/.test(l)),
    "the hub to refuse the handshake",
  );
  assert.equal(leafs(bare), 0);
  assert.equal(leafs(hub), 1);
});

Deno.test({
  name: "TLS with nats-server: its leaf on our hub, our leaf on its hub",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    await using hub = await startConf(
      `server_name: HUB\nleafnodes { listen: "127.0.0.1:-1", ${HUB_TLS} }`,
    );
    await using nleaf = await startNatsServer(
      `server_name: NLEAF\nleafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${
        leafPort(hub)
      }", ${LEAF_TLS} } ] }`,
    );
    await connected(hub);
    await flows(hub.port, nleaf.port, hub);

    const lp = freePort();
    await using nhub = await startNatsServer(
      `server_name: NHUB\nleafnodes { listen: "127.0.0.1:${lp}", ${HUB_TLS} }`,
    );
    await using leaf = await startConf(
      `server_name: LEAF\nleafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${lp}", ${LEAF_TLS} } ] }`,
    );
    await connected(leaf);
    await flows(nhub.port, leaf.port, null);
  },
});

// ---- Reconnecting ----

/** Our server as a process (main.ts) with a config file, on the given client port. */
async function spawnConf(text: string, port: number): Promise<ServerProcess> {
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(conf, `listen: "127.0.0.1:${port}"\n${text}\n`);
  const p = new ServerProcess(["-c", conf], port);
  try {
    await p.waitStderr(/Server is ready/);
  } catch (e) {
    await p[Symbol.asyncDispose]();
    throw e;
  }
  return p;
}

/** Publishes `n` messages on `subject` from a new client of `port` until one gets through. */
async function publishOnce(port: number, subject: string, sub: RawClient, n: number) {
  await using p = await client(port);
  // The first message proves the path (interest restored on the far side); then `n` more.
  await waitFor(
    async () => {
      await p.send(`PUB ${subject} 5\r\nprobe\r\n`);
      await p.roundTrip();
      await new Promise((r) => setTimeout(r, 20));
      return sub.text.includes("probe");
    },
    "the path to be back",
    15000,
  );
  await sub.roundTrip();
  sub.clear();
  for (let i = 0; i < n; i++) await p.send(`PUB ${subject} 1\r\n${i % 10}\r\n`);
  await p.roundTrip();
}

for (const hubKind of ["ours", "nats-server"] as const) {
  Deno.test({
    name: `the hub (${hubKind}) killed and restarted: the leaf reconnects, no duplicates`,
    ignore: hubKind === "nats-server" && !HAVE_NATS_SERVER,
    async fn() {
      const port = freePort();
      const lp = freePort();
      const conf = `server_name: HUB\nleafnodes { listen: "127.0.0.1:${lp}" }`;
      const start = () => hubKind === "ours" ? spawnConf(conf, port) : startNatsServer(conf, port);
      let hub = await start();
      try {
        await using leaf = await startLeaf(lp);
        await connected(leaf);
        await using sub = await client(leaf.port);
        await sub.send("SUB events 1\r\n");
        await sub.roundTrip();
        await publishOnce(port, "events", sub, 10);
        await waitFor(() => msgs(sub, "events") === 10, "10 events before the restart");
        hub.signal("SIGKILL");
        await hub.waitExit();
        await waitFor(() => leafs(leaf) === 0, "the leaf to see the hub go");
        hub = await start();
        await waitFor(() => leafs(leaf) === 1, "the leaf to reconnect", 15000);
        sub.clear();
        await publishOnce(port, "events", sub, 25);
        await waitFor(() => msgs(sub, "events") === 25, "25 events after the restart");
        // Everything up to a round trip later: still 25, none twice.
        assert.equal(msgs(await sub.roundTrip(), "events"), 25);
        assert.ok(
          leaf.log.lines.some((l) => l.includes("Leafnode connection closed")),
          "the leaf logged the close",
        );
      } finally {
        await hub[Symbol.asyncDispose]();
      }
    },
  });
}

// ---- Loops ----

for (const other of ["ours", "nats-server"] as const) {
  Deno.test({
    name:
      `two servers that are each other's leaf (with ${other}): the loop is detected and dropped`,
    ignore: other === "nats-server" && !HAVE_NATS_SERVER,
    async fn() {
      const lpA = freePort();
      const lpB = freePort();
      const confFor = (name: string, listen: number, to: number) =>
        `server_name: ${name}\nleafnodes { listen: "127.0.0.1:${listen}", ` +
        `remotes [ { url: "nats-leaf://127.0.0.1:${to}" } ] }`;
      await using a = await startConf(confFor("A", lpA, lpB));
      let b: TestServer | ServerProcess;
      if (other === "ours") b = await startConf(confFor("B", lpB, lpA));
      else b = await startNatsServer(confFor("B", lpB, lpA));
      try {
        const text =
          'Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s';
        const seen = () =>
          a.log.lines.some((l) => l.includes(text)) ||
          ("log" in b && b.log.lines.some((l) => l.includes(text))) ||
          ("stderr" in b && b.stderr.includes(text));
        await waitFor(seen, "a loop to be detected", 10000);
        // Both ends of one connection may see it at once; either way that connection goes, and
        // the side that made it waits 30 s before trying again: past several reconnect
        // intervals (1 s) the count is still one connection each.
        await waitFor(() => leafs(a) === 1, "the looping connection to close");
        await new Promise((r) => setTimeout(r, 2500));
        assert.equal(leafs(a), 1);
      } finally {
        await b[Symbol.asyncDispose]();
      }
    },
  });
}

// ---- Clusters ----

Deno.test("a leaf that is a cluster: each of its servers has its own connection, messages once", async () => {
  await using hub = await startHub();
  const url = `nats-leaf://127.0.0.1:${leafPort(hub)}`;
  const cluster = (routes: string[]) => ({
    cluster: { ...defaultClusterOptions(), name: "L", host: "127.0.0.1", port: -1 },
    routes,
    leafnode: { ...defaultLeafNodeOptions(), remotes: [remote(url)] },
  });
  await using l1 = await startServer({ serverName: "L1", ...cluster([]) });
  await using l2 = await startServer({
    serverName: "L2",
    ...cluster([`nats-route://127.0.0.1:${l1.server!.cluster!.port}`]),
  });
  await waitFor(() => l1.server!.cluster!.byId.size === 1 && leafs(hub) === 2, "routes and leafs");
  await using s2 = await client(l2.port);
  await s2.send("SUB x 1\r\nSUB w g 2\r\n");
  await s2.roundTrip();
  await using s1 = await client(l1.port);
  await s1.send("SUB w g 2\r\n");
  await s1.roundTrip();
  await interest(hub, "x");
  await interest(l1, "x");
  // From the hub: through L2's own connection only.
  await using ph = await client(hub.port);
  for (let i = 0; i < 10; i++) await ph.send("PUB x 1\r\nh\r\n");
  await ph.roundTrip();
  await waitFor(() => msgs(s2, "x") === 10, "10 from the hub");
  // From L1: over the route only, not back through the hub (interest from cluster L is not
  // sent into cluster L).
  await using p1 = await client(l1.port);
  for (let i = 0; i < 10; i++) await p1.send("PUB x 1\r\nl\r\n");
  await p1.roundTrip();
  await waitFor(() => msgs(s2, "x") === 20, "10 more from L1");
  assert.equal(msgs(await s2.roundTrip(), "x"), 20);
  // The queue group spread over L1 and L2: each hub message once.
  for (let i = 0; i < 20; i++) await ph.send("PUB w 1\r\nq\r\n");
  await ph.roundTrip();
  await waitFor(() => msgs(s1, "w") + msgs(s2, "w") === 20, "20 group messages");
  await s1.roundTrip().then((t) =>
    s2.roundTrip().then((u) => assert.equal(msgs(t, "w") + msgs(u, "w"), 20))
  );
});

Deno.test("a hub that is a cluster: interest and messages over routes, leafnode URLs gossiped", async () => {
  const c = (routes: string[]) => ({
    cluster: { ...defaultClusterOptions(), name: "H", host: "127.0.0.1", port: -1 },
    routes,
    leafnode: leafnode(),
  });
  await using h1 = await startServer({ serverName: "H1", ...c([]) });
  const h2 = await startServer({
    serverName: "H2",
    ...c([`nats-route://127.0.0.1:${h1.server!.cluster!.port}`]),
  });
  try {
    await waitFor(() => h1.server!.cluster!.byId.size === 1, "the route");
    await using leaf = await startLeaf(leafPort(h2));
    await connected(leaf);
    // H2's INFO told the leaf about H1's leafnode port too.
    await waitFor(
      () => leaf.server!.leafnodes!.remotes[0].urlsTried().includes(`127.0.0.1:${leafPort(h1)}`),
      "the gossiped URL",
    );
    await using s = await client(leaf.port);
    await s.send("SUB y 1\r\n");
    await s.roundTrip();
    await interest(h1, "y");
    await using p1 = await client(h1.port);
    await p1.send("PUB y 2\r\nok\r\n");
    await s.waitText((t) => t.includes("ok"), "a message from H1 through H2");
    await using r1 = await client(h1.port);
    await r1.send("SUB z 1\r\n");
    await r1.roundTrip();
    await interest(leaf, "z");
    await s.send("PUB z 2\r\nup\r\n");
    await r1.waitText((t) => t.includes("up"), "a message from the leaf to H1");
    // H2 goes away: the leaf moves to H1, which it only knows from gossip.
    await h2[Symbol.asyncDispose]();
    await waitFor(() => leafs(h1) === 1, "the leaf on H1", 10000);
    s.clear();
    await publishOnce(h1.port, "y", s, 5);
    await waitFor(() => msgs(s, "y") === 5, "5 messages after the move");
  } finally {
    await h2[Symbol.asyncDispose]();
  }
});

Deno.test({
  name: "a hub cluster of ours and nats-server: leaf interest and messages cross the route",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    await using h1 = await startServer({
      serverName: "H1",
      cluster: { ...defaultClusterOptions(), name: "H", host: "127.0.0.1", port: -1 },
      leafnode: leafnode(),
    });
    const lp2 = freePort();
    await using h2 = await startNatsServer(
      `server_name: H2\ncluster { name: H, listen: "127.0.0.1:-1", routes [ "nats-route://127.0.0.1:${
        h1.server!.cluster!.port
      }" ] }\nleafnodes { listen: "127.0.0.1:${lp2}" }`,
    );
    await waitFor(() => h1.server!.cluster!.byId.size === 1, "the route to nats-server");
    const route = [...h1.server!.cluster!.routes.values()][0];
    assert.equal(route.lnoc, true);
    await using s1 = await startLeaf(lp2, { serverName: "S1" });
    await using s2 = await startNatsServer(
      `server_name: S2\nleafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${leafPort(h1)}" } ] }`,
    );
    await waitFor(() => leafs(s1) === 1 && leafs(h1) === 1, "both leaves");
    await using c1 = await client(s1.port);
    await using c2 = await client(s2.port);
    await c1.send("SUB a 1\r\n");
    await c2.send("SUB b 1\r\n");
    await c1.roundTrip();
    await c2.roundTrip();
    // S1's interest reached H1 over the route with its origin (LS+ S1 ...).
    await interest(h1, "a");
    const viaRoute = h1.server!.globalAccount.sublist.match("a").psubs[0];
    assert.equal(route.remoteSubs.get(viaRoute.sid)?.origin, "S1");
    await interest(s1, "b");
    // Each side's messages reach the other leaf exactly once (LMSG with origin over the route).
    await using p1 = await client(s1.port);
    await using p2 = await client(s2.port);
    for (let i = 0; i < 10; i++) await p2.send("PUB a 1\r\nx\r\n");
    for (let i = 0; i < 10; i++) await p1.send("PUB b 1\r\ny\r\n");
    await p1.roundTrip();
    await p2.roundTrip();
    await waitFor(() => msgs(c1, "a") === 10 && msgs(c2, "b") === 10, "10 each way");
    assert.equal(msgs(await c1.roundTrip(), "a"), 10);
    assert.equal(msgs(await c2.roundTrip(), "b"), 10);
    void h2;
  },
});

// ---- Monitoring ----

async function getJson(port: number, path: string): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return await r.json();
}

/** /leafz and the leafnode parts of /varz, with what differs per run replaced. */
async function leafMonitoring(httpPort: number): Promise<unknown> {
  const lz = await getJson(httpPort, "/leafz?subs=1");
  const v = await getJson(httpPort, "/varz");
  const leafs = (lz.leafs as Record<string, unknown>[]).map((l) => ({
    ...l,
    port: "P",
    rtt: typeof l.rtt === "string" && /^[\d.]+(µs|ms|s)$/.test(l.rtt) ? "RTT" : l.rtt,
    subscriptions_list: (l.subscriptions_list as string[]).map((x) =>
      x.replace(/^\$LDS\..*/, "$LDS.X")
    ).sort(),
  }));
  const leaf = v.leaf as Record<string, unknown>;
  return {
    keys: Object.keys(lz),
    leafnodes: lz.leafnodes,
    leafs,
    varzLeaf: { ...leaf, port: leaf.port ? "P" : undefined },
    varzLeafnodes: v.leafnodes,
  };
}

Deno.test({
  name: "/leafz and the leaf fields of /varz as nats-server shows them",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const seen: unknown[] = [];
    for (const hubKind of ["ours", "nats-server"]) {
      const lp = freePort();
      const http = freePort();
      const conf =
        `server_name: HUB\nhttp: "127.0.0.1:${http}"\nleafnodes { listen: "127.0.0.1:${lp}" }`;
      const hub = hubKind === "ours" ? await startConf(conf) : await startNatsServer(conf);
      try {
        await using leaf = await startLeaf(lp);
        await connected(leaf);
        await using c = await client(leaf.port);
        await c.send("SUB foo 1\r\nSUB bar q 2\r\n");
        await c.roundTrip();
        await waitFor(async () => {
          const lz = await getJson(http, "/leafz");
          const l = (lz.leafs as { subscriptions: number }[] | null)?.[0];
          return (l?.subscriptions ?? 0) >= 6;
        }, "the leaf's interest in /leafz");
        seen.push(await leafMonitoring(http));
      } finally {
        await hub[Symbol.asyncDispose]();
      }
    }
    assert.deepEqual(seen[0], seen[1]);
    assert.deepEqual((seen[0] as { leafs: unknown[] }).leafs, [{
      account: "$G",
      ip: "127.0.0.1",
      port: "P",
      rtt: "RTT",
      in_msgs: 0,
      out_msgs: 0,
      in_bytes: 0,
      out_bytes: 0,
      // The system account's services every account imports count as interest too.
      subscriptions: 6,
      subscriptions_list: [
        "$LDS.X",
        "$SYS.REQ.ACCOUNT.PING.CONNZ",
        "$SYS.REQ.ACCOUNT.PING.STATZ",
        "$SYS.REQ.SERVER.PING.CONNZ",
        "bar",
        "foo",
      ],
    }]);
  },
});

Deno.test("/varz shows the remotes, their deny lists and the cluster name a leaf-only server takes", async () => {
  await using s = await startConf(`
    server_name: EDGE
    http: "127.0.0.1:-1"
    accounts { A {} }
    leafnodes {
      remotes [
        { urls: ["nats-leaf://u:p@127.0.0.1:1", "nats://127.0.0.1:2"], account: A, deny_imports: ["foo"], deny_exports: ["bar", "baz"] }
        { url: "nats-leaf://127.0.0.1:3", tls { ca_file: "${CERTS}ca.pem" } }
      ]
    }
  `);
  const v = await getJson(s.server!.monitor!.httpPort, "/varz");
  assert.deepEqual(v.leaf, {
    remotes: [
      {
        local_account: "A",
        urls: ["127.0.0.1:1", "127.0.0.1:2"],
        deny: { exports: ["bar", "baz"], imports: ["foo"] },
      },
      { tls_timeout: 2, urls: ["127.0.0.1:3"] },
    ],
  });
  assert.deepEqual(v.cluster, { name: "EDGE" });
  assert.equal(v.leafnodes, 0);
  const lz = await getJson(s.server!.monitor!.httpPort, "/leafz");
  assert.deepEqual([lz.leafnodes, lz.leafs], [0, null]);
});

Deno.test({
  name: "queue weights: a leaf learns each group's members summed over clients and other leaves",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    /** The LS+/LS- lines leaf B receives while members come and go, on a hub at `ports`. */
    async function scenario(port: number, lp: number): Promise<string[]> {
      const out: string[] = [];
      await using m1 = await client(port);
      await using m2 = await client(port);
      await m1.send("SUB work q 1\r\n");
      await m2.send("SUB work q 1\r\n");
      await m1.roundTrip();
      await m2.roundTrip();
      const [a] = await RawClient.connectInfo(lp);
      await using _a = a;
      await a.send(CONNECT_LEAF("", "A"));
      await a.send("LS+ work q 3\r\nPING\r\n");
      await a.waitText((t) => t.includes("PONG"), "A set up");
      const [b] = await RawClient.connectInfo(lp);
      await using _b = b;
      await b.send(CONNECT_LEAF("", "B"));
      await b.send("PING\r\n");
      await b.waitText((t) => t.includes("PONG"), "B set up");
      const lines = () => b.text.split("\r\n").filter((l) => l.startsWith("LS"));
      out.push(lines().filter((l) => l.includes("work")).join("|"));
      const step = async (c: RawClient, send: string, what: string) => {
        b.clear();
        await c.send(send + "PING\r\n");
        await c.waitText((t) => t.includes("PONG"), what);
        c.clear();
        await b.send("PING\r\n");
        await b.waitText((t) => t.includes("PONG") && (t.includes("LS") || what === "none"), what);
        out.push(lines().join("|"));
      };
      await step(a, "LS+ work q 1\r\n", "A down to 1");
      await step(a, "LS- work q\r\n", "A gone");
      await step(m1, "UNSUB 1\r\n", "a client gone");
      await step(m2, "UNSUB 1\r\n", "the last one gone");
      return out;
    }
    const conf = (lp: number) =>
      `server_name: HUB\nno_system_account: true\nleafnodes { listen: "127.0.0.1:${lp}" }`;
    const lp1 = freePort();
    await using ours = await startConf(conf(lp1));
    const mine = await scenario(ours.port, lp1);
    const lp2 = freePort();
    await using ns = await startNatsServer(conf(lp2));
    const theirs = await scenario(ns.port, lp2);
    assert.deepEqual(mine, theirs);
    assert.deepEqual(mine, [
      "LS+ work q 5",
      "LS+ work q 3",
      "LS+ work q 2",
      "LS+ work q 1",
      "LS- work q",
    ]);
  },
});

// ---- nkeys and credentials ----

Deno.test("an nkey user's leaf signs the nonce: accepted, a bad signature refused, as nats-server", async () => {
  const kp = createUser();
  const nkey = kp.getPublicKey();
  const conf = `server_name: HUB\nno_system_account: true
    authorization { users [ { nkey: ${nkey} } ] }
    leafnodes { listen: "127.0.0.1:LEAFPORT" }`;
  const sign = (nonce: string) => {
    const sig = kp.sign(new TextEncoder().encode(nonce));
    return btoa(String.fromCharCode(...sig)).replace(/\+/g, "-").replace(/\//g, "_").replace(
      /=+$/,
      "",
    );
  };
  const good = (info: Record<string, unknown>) =>
    CONNECT_LEAF(`,"nkey":"${nkey}","sig":"${sign(info.nonce as string)}"`);
  const bad = () => CONNECT_LEAF(`,"nkey":"${nkey}","sig":"${sign("not the nonce")}"`);
  const [mine, theirs] = await sideBySide(conf, [{ send: good, until: "$LDS." }]);
  assert.deepEqual(mine, theirs);
  assert.match(mine[1], /"connect_info":true/);
  const [mine2, theirs2] = await sideBySide(conf, [{ send: bad }]);
  assert.deepEqual(mine2, theirs2);
  assert.equal(mine2[1], "-ERR 'Authorization Violation'\r\n");
});

/** A listener that plays a hub's first INFO and returns the CONNECT it gets back. */
function captureConnect(): { port: number; connect: Promise<string> } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const connect = (async () => {
    const c = await l.accept();
    l.close();
    const info = {
      server_id: "NFAKE",
      server_name: "FAKE",
      version: "2.9.10",
      proto: 1,
      go: "go1.19.8",
      host: "127.0.0.1",
      port,
      headers: true,
      auth_required: true,
      max_payload: 1048576,
      client_id: 7,
      nonce: "abcdefghijklmno",
      info_on_connect: true,
      leafnode_urls: [`127.0.0.1:${port}`],
    };
    await c.write(new TextEncoder().encode(`INFO ${JSON.stringify(info)} \r\n`));
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n")) {
      const n = await c.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    c.close();
    return text.slice(0, text.indexOf("\r\n"));
  })();
  return { port, connect };
}

Deno.test({
  name: "a remote with a credentials file sends the JWT and signs the nonce, as nats-server",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const kp = createUser();
    const seed = new TextDecoder().decode(kp.getSeed());
    const creds = await Deno.makeTempFile({ suffix: ".creds" });
    await Deno.writeTextFile(
      creds,
      "-----BEGIN NATS USER JWT-----\neyJhbGciOiJlZDI1NTE5In0.e30.c2ln\n------END NATS USER JWT------\n\n" +
        "************************* IMPORTANT *************************\n\n" +
        `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
    );
    const seen: Record<string, unknown>[] = [];
    for (const kind of ["ours", "nats-server"]) {
      const fake = captureConnect();
      const conf =
        `server_name: EDGE\nleafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${fake.port}", ` +
        `credentials: "${creds}" } ] }`;
      const s = kind === "ours" ? await startConf(conf) : await startNatsServer(conf);
      try {
        const line = await fake.connect;
        assert.match(line, /^CONNECT /);
        const c = JSON.parse(line.slice(8));
        const sig = Uint8Array.from(
          atob(c.sig.replace(/-/g, "+").replace(/_/g, "/")),
          (ch) => ch.charCodeAt(0),
        );
        assert.ok(kp.verify(new TextEncoder().encode("abcdefghijklmno"), sig), `${kind} signed`);
        seen.push({ ...c, server_id: "ID", sig: "SIG" });
      } finally {
        await s[Symbol.asyncDispose]();
      }
    }
    assert.deepEqual(seen[0], seen[1]);
    assert.deepEqual(Object.keys(seen[0]), [
      "version",
      "jwt",
      "sig",
      "tls_required",
      "server_id",
      "name",
      "cluster",
      "headers",
    ]);
  },
});

Deno.test("a reload may change leafnode TLS but nothing else of the leafnode settings", async () => {
  await using hub = await startHub();
  await using leaf = await startLeaf(leafPort(hub));
  await connected(hub, leaf);
  const s = leaf.server!;
  // The remote now names the account it bound ($G), as in nats-server's /varz.
  assert.equal(s.opts.leafnode.remotes[0].localAccount, "$G");
  const same = structuredClone(s.opts);
  same.leafnode.remotes[0].localAccount = "";
  s.reload(same);
  const changed = structuredClone(s.opts);
  changed.leafnode.remotes[0].denyImports = ["x"];
  assert.throws(() => s.reload(changed), /^Error: config reload not supported for LeafNode: /);
  assert.equal(leafs(leaf), 1);
});

// ---- Configuration errors, as `nats-server -t` prints them ----

const BAD_CONFIGS: [string, string][] = [
  [`leafnodes: 3`, "x.conf:1:0: Expected map to define a leafnode, got int64"],
  [
    `leafnodes { port: "x" }`,
    "x.conf:1:12: interface conversion: interface {} is string, not int64",
  ],
  [`leafnodes { listen: "a:b" }`, 'x.conf:1:12: could not parse port "b"'],
  [`leafnodes { foo: 1 }`, 'x.conf:1:12: unknown field "foo"'],
  [`leafnodes { authorization { token: x } }`, 'x.conf:1:28: unknown field "token"'],
  [
    `leafnodes { authorization { user: a, users: [{user: b}] } }`,
    "x.conf:1:12: can not have a single user/pass and a users array",
  ],
  [
    `leafnodes { authorization { users: [{user: b}, {user: b, account: X}] } }`,
    'x.conf:1:12: duplicate user "b" detected in leafnode authorization',
  ],
  [
    `leafnodes { authorization: { users: [ {user: a, permissions: {}} ]} }`,
    'x.conf:1:48: unknown field "permissions"',
  ],
  [`leafnodes { remotes: foo }`, "x.conf:1:12: Expected remotes field to be an array, got string"],
  [
    `leafnodes { remotes: [ 3 ] }`,
    "x.conf:1:23: Expected remote leafnode entry to be a map/struct, got 3",
  ],
  [
    `leafnodes { remotes: [ {url: 3} ] }`,
    "x.conf:1:24: Expected remote leafnode url to be an array or string, got 3",
  ],
  [
    `leafnodes { reconnect: "2s" }`,
    "x.conf:1:12: interface conversion: interface {} is string, not int64",
  ],
  [
    `leafnodes { min_version: "2.7.0" }`,
    "x.conf:1:12: the minimum version should be at least 2.8.0",
  ],
  [
    `leafnodes { remotes: [ {url: "nats://a:1", deny_imports: 3} ] }`,
    "x.conf:1:43: Expected subject permissions to be a subject, or array of subjects, got int64",
  ],
];

Deno.test("leafnodes config errors read as nats-server's, at the same places", async () => {
  for (const [text, want] of BAD_CONFIGS) {
    let got = "";
    try {
      parseConfigString(text, "x.conf");
    } catch (e) {
      got = (e as Error).message;
    }
    assert.equal(got, want, text);
    if (!HAVE_NATS_SERVER) continue;
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/x.conf`, text);
      const out = await new Deno.Command("nats-server", {
        args: ["-t", "-c", "x.conf"],
        cwd: dir,
        stderr: "piped",
        stdout: "null",
      }).output();
      const theirs = new TextDecoder().decode(out.stderr).replace(/^nats-server: /, "").trim();
      assert.equal(theirs, want, `nats-server on ${text}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  // Accounts a leafnode setting names must exist; nats-server checks at start.
  const opts = mergeOptions(
    defaultOptions(),
    parseConfigString(`leafnodes { remotes [ { url: "nats://127.0.0.1:1", account: NOPE } ] }`),
  );
  assert.throws(
    () => validateOptions(opts),
    /^Error: cannot find local account "NOPE" specified in leafnode remote$/,
  );
});

Deno.test("a remote pointed at a client port, or refused by the hub, says so and keeps trying", async () => {
  await using plain = await startServer({ serverName: "PLAIN" });
  await using wrong = await startLeaf(plain.port);
  await waitFor(
    () =>
      wrong.log.lines.filter((l) => l.includes("attempted to connect to wrong port")).length >= 2,
    "two attempts on the wrong port",
  );
  assert.ok(
    wrong.log.lines.some((l) => /Leafnode connection closed: Incorrect Port account: \$G$/.test(l)),
  );
  await using hub = await startHub({}, { username: "lu", password: "lp" });
  await using refused = await startLeaf(leafPort(hub), {}, {
    urls: [`nats-leaf://lu:nope@127.0.0.1:${leafPort(hub)}`],
  });
  await waitFor(
    () =>
      refused.log.lines.filter((l) => l.includes("Leafnode Error 'Authorization Violation'"))
        .length >= 2,
    "two refused attempts",
  );
  assert.ok(hub.log.lines.some((l) => /- lid:\d+ - authentication error$/.test(l)));
  // Refused before it was bound to an account: none named, as nats-server logs it.
  assert.ok(
    hub.log.lines.some((l) =>
      /Leafnode connection closed: Authentication Failure account: $/.test(l)
    ),
  );
  assert.equal(leafs(hub), 0);
});

Deno.test("advertise sets the INFO's address and URL as in nats-server; no_advertise keeps it off routes", async () => {
  const conf = `server_name: HUB\nno_system_account: true
    leafnodes { listen: "127.0.0.1:LEAFPORT", advertise: "leaf.example.com:7777" }`;
  const info = async (port: number) => {
    const [c, i] = await RawClient.connectInfo(port);
    await c.close();
    return { host: i.host, port: i.port, ip: i.ip, leafnode_urls: i.leafnode_urls };
  };
  await using ours = await startConf(conf.replace("LEAFPORT", "-1"));
  const mine = await info(leafPort(ours));
  assert.deepEqual(mine, {
    host: "leaf.example.com",
    port: 7777,
    ip: "leaf.example.com:7777",
    leafnode_urls: ["leaf.example.com:7777"],
  });
  if (HAVE_NATS_SERVER) {
    const lp = freePort();
    await using ns = await startNatsServer(conf.replace("LEAFPORT", String(lp)));
    assert.deepEqual(await info(lp), mine);
    assert.match(ns.stderr, /Advertise address for leafnode is set to leaf.example.com:7777/);
  }
  assert.ok(
    ours.log.lines.some((l) =>
      l.endsWith("Advertise address for leafnode is set to leaf.example.com:7777")
    ),
  );
  // no_advertise: the other servers of the cluster do not pass this one's URL to their leafs.
  const c = (name: string, routes: string[], extra: Partial<LeafNodeOptions>) =>
    startServer({
      serverName: name,
      cluster: { ...defaultClusterOptions(), name: "H", host: "127.0.0.1", port: -1 },
      routes,
      leafnode: leafnode(extra),
    });
  await using h1 = await c("H1", [], { noAdvertise: true });
  await using h2 = await c("H2", [`nats-route://127.0.0.1:${h1.server!.cluster!.port}`], {});
  await waitFor(() => h2.server!.cluster!.byId.size === 1, "the route");
  assert.deepEqual([...h2.server!.leafnodes!.urls.keys()], [`127.0.0.1:${leafPort(h2)}`]);
  assert.deepEqual(
    [...h1.server!.leafnodes!.urls.keys()].sort(),
    [`127.0.0.1:${leafPort(h1)}`, `127.0.0.1:${leafPort(h2)}`].sort(),
  );
});

Deno.test({
  name: "user and password both ways with nats-server",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const auth = `authorization { user: lu, password: lp }`;
    await using hub = await startConf(
      `server_name: HUB\nleafnodes { listen: "127.0.0.1:-1", ${auth} }`,
    );
    await using nleaf = await startNatsServer(
      `server_name: NLEAF\nleafnodes { remotes [ { url: "nats-leaf://lu:lp@127.0.0.1:${
        leafPort(hub)
      }" } ] }`,
    );
    await connected(hub);
    await flows(hub.port, nleaf.port, hub);
    const lp = freePort();
    await using nhub = await startNatsServer(
      `server_name: NHUB\nleafnodes { listen: "127.0.0.1:${lp}", ${auth} }`,
    );
    await using leaf = await startLeaf(lp, {}, { urls: [`nats-leaf://lu:lp@127.0.0.1:${lp}`] });
    await connected(leaf);
    await flows(nhub.port, leaf.port, null);
  },
});

Deno.test("a second connection from the same leaf server replaces the first, as in nats-server", async () => {
  const conf =
    `server_name: HUB\nno_system_account: true\nleafnodes { listen: "127.0.0.1:LEAFPORT" }`;
  const run = async (port: number) => {
    const [a] = await RawClient.connectInfo(port);
    await using _a = a;
    await a.send(CONNECT_LEAF("", "SAME") + "PING\r\n");
    await a.waitText((t) => t.includes("PONG"), "the first connection set up");
    a.clear();
    const [b] = await RawClient.connectInfo(port);
    await using _b = b;
    await b.send(CONNECT_LEAF("", "SAME") + "PING\r\n");
    await b.waitText((t) => t.includes("PONG"), "the second connection set up");
    await a.waitClosed();
    return a.text;
  };
  await using ours = await startConf(conf.replace("LEAFPORT", "-1"));
  const mine = await run(leafPort(ours));
  assert.equal(mine, "-ERR 'Duplicate Remote LeafNode Connection'\r\n");
  await waitFor(
    () => ours.log.lines.some((l) => l.endsWith("Replacing connection from same server")),
    "the warning",
  );
  if (HAVE_NATS_SERVER) {
    const lp = freePort();
    await using ns = await startNatsServer(conf.replace("LEAFPORT", String(lp)));
    assert.equal(await run(lp), mine);
    void ns;
  }
});

Deno.test("min_version refuses an older leaf with nats-server's error", async () => {
  const conf = `server_name: HUB\nno_system_account: true
    leafnodes { listen: "127.0.0.1:LEAFPORT", min_version: "2.8.0" }`;
  const old = CONNECT_LEAF().replace('"version":"2.9.10"', '"version":"2.7.4"');
  const [mine, theirs] = await sideBySide(conf, [{ send: old, until: "-ERR" }]);
  assert.deepEqual(mine, theirs);
  assert.match(
    mine[1],
    /^INFO \{.*"connect_info":true.*\} \r\n-ERR 'connection rejected since minimum version required is "2\.8\.0"'\r\n$/,
  );
});

Deno.test("two remotes to one hub bind two account pairs that stay apart", async () => {
  await using hub = await startConf(`
    server_name: HUB
    accounts { HA { users [ {user: ha, password: p} ] }, HB { users [ {user: hb, password: p} ] } }
    leafnodes { listen: "127.0.0.1:-1", authorization { users [
      {user: la, password: p, account: HA}
      {user: lb, password: p, account: HB}
    ] } }
  `);
  const url = (u: string) => `nats-leaf://${u}:p@127.0.0.1:${leafPort(hub)}`;
  await using leaf = await startConf(`
    server_name: LEAF
    accounts { A { users [ {user: a, password: p} ] }, B { users [ {user: b, password: p} ] } }
    leafnodes { remotes [ { url: "${url("la")}", account: A }, { url: "${
    url("lb")
  }", account: B } ] }
  `);
  await waitFor(() => leafs(hub) === 2 && leafs(leaf) === 2, "both connections");
  const auth = (u: string) =>
    `CONNECT {"verbose":false,"pedantic":false,"user":"${u}","pass":"p","protocol":1}\r\n`;
  await using a = await client(leaf.port, auth("a"));
  await using b = await client(leaf.port, auth("b"));
  await a.send("SUB s 1\r\n");
  await b.send("SUB s 1\r\n");
  await a.roundTrip();
  await b.roundTrip();
  await interest(hub, "s", 1, "HA");
  await interest(hub, "s", 1, "HB");
  await using ha = await client(hub.port, auth("ha"));
  await ha.send("PUB s 2\r\nHA\r\n");
  await ha.roundTrip();
  await a.waitText((t) => t.includes("HA"), "HA's message on A");
  assert.equal(await b.roundTrip(), "");
  const lz = leafzObject(hub.server!, false, "HB");
  assert.equal(lz.leafnodes, 1);
});
