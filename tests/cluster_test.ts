/** Clusters: routes between our servers, and between ours and a real nats-server. */

import assert from "node:assert/strict";
import {
  appSubs,
  HAVE_NATS_SERVER,
  RawClient,
  startServer,
  type TestServer,
  waitFor,
} from "./helpers.ts";
import { freePort } from "./process_helpers.ts";

const QUIET = 'CONNECT {"verbose":false,"pedantic":false,"headers":true,"protocol":1}\r\n';

function clusterOf(s: TestServer): number {
  return s.server!.cluster!.port;
}

async function meshed(servers: TestServer[]): Promise<void> {
  await waitFor(
    () => servers.every((s) => s.server!.cluster!.byId.size === servers.length - 1),
    "full mesh",
  );
}

Deno.test("two servers route messages, replies and queue groups both ways", async () => {
  await using a = await startServer({ cluster: { host: "127.0.0.1", port: -1, name: "c1" } });
  await using b = await startServer({
    cluster: { host: "127.0.0.1", port: -1, name: "c1" },
    routes: [`nats-route://127.0.0.1:${clusterOf(a)}`],
  });
  await meshed([a, b]);
  const [sa] = await RawClient.connectInfo(a.port);
  const [sb] = await RawClient.connectInfo(b.port);
  await using _a = sa;
  await using _b = sb;
  await sa.send(QUIET + "SUB foo.* 1\r\nSUB work q 2\r\n");
  await sa.roundTrip();
  await waitFor(() => appSubs(b.server!) === 2, "interest on b");
  await sb.send(
    QUIET + "PUB foo.bar reply 5\r\nhello\r\nHPUB foo.h 12 14\r\nNATS/1.0\r\n\r\nab\r\n",
  );
  await sb.send("PUB work 1\r\nx\r\nPUB work 1\r\ny\r\n");
  await sb.roundTrip();
  await sa.waitText((t) => t.includes("MSG work 2 1\r\ny\r\n"), "routed messages");
  assert.equal(
    sa.text,
    "MSG foo.bar 1 reply 5\r\nhello\r\nHMSG foo.h 1 12 14\r\nNATS/1.0\r\n\r\nab\r\n" +
      "MSG work 2 1\r\nx\r\nMSG work 2 1\r\ny\r\n",
  );
  // Unsubscribe travels too: b stops forwarding.
  sa.clear();
  await sa.send("UNSUB 1\r\n");
  await sa.roundTrip();
  await waitFor(() => appSubs(b.server!) === 1, "RS- on b");
});

Deno.test("a queue group spread over two servers gets each message once", async () => {
  await using a = await startServer({ cluster: { host: "127.0.0.1", port: -1 } });
  await using b = await startServer({
    cluster: { host: "127.0.0.1", port: -1 },
    routes: [`nats://127.0.0.1:${clusterOf(a)}`],
  });
  await meshed([a, b]);
  const [qa] = await RawClient.connectInfo(a.port);
  const [qb] = await RawClient.connectInfo(b.port);
  const [pub] = await RawClient.connectInfo(b.port);
  await using _1 = qa;
  await using _2 = qb;
  await using _3 = pub;
  await qa.send(QUIET + "SUB q g 1\r\n");
  await qa.roundTrip();
  await qb.send(QUIET + "SUB q g 1\r\n");
  await qb.roundTrip();
  await waitFor(() => appSubs(b.server!) === 2, "remote queue interest");
  let batch = QUIET;
  for (let i = 0; i < 100; i++) batch += "PUB q 1\r\nx\r\n";
  await pub.send(batch);
  await pub.roundTrip();
  const count = (c: RawClient) => c.text.split("MSG q 1 1").length - 1;
  // b has a local member, so nats-server's rule is to prefer it: all 100 stay local.
  await waitFor(() => count(qa) + count(qb) === 100, "100 deliveries");
  assert.equal(count(qb), 100);
  assert.equal(count(qa), 0);
});

Deno.test("three servers form a full mesh through gossip", async () => {
  await using seed = await startServer({ cluster: { host: "127.0.0.1", port: -1, name: "g" } });
  const route = [`nats://127.0.0.1:${clusterOf(seed)}`];
  await using b = await startServer({
    cluster: { host: "127.0.0.1", port: -1, name: "g" },
    routes: route,
  });
  await using c = await startServer({
    cluster: { host: "127.0.0.1", port: -1, name: "g" },
    routes: route,
  });
  await meshed([seed, b, c]);
  const [sub] = await RawClient.connectInfo(c.port);
  const [pub] = await RawClient.connectInfo(b.port);
  await using _s = sub;
  await using _p = pub;
  await sub.send(QUIET + "SUB x 1\r\n");
  await sub.roundTrip();
  await waitFor(() => appSubs(b.server!) === 1, "interest reaches b");
  await pub.send(QUIET + "PUB x 2\r\nok\r\n");
  await sub.waitText((t) => t === "MSG x 1 2\r\nok\r\n", "message over the b-c route");
});

Deno.test("route authorization: wrong credentials are refused", async () => {
  await using a = await startServer({
    cluster: { host: "127.0.0.1", port: -1, username: "ruser", password: "rpass" },
  });
  await using bad = await startServer({
    cluster: { host: "127.0.0.1", port: -1 },
    routes: [`nats://ruser:wrong@127.0.0.1:${clusterOf(a)}`],
  });
  await using good = await startServer({
    cluster: { host: "127.0.0.1", port: -1 },
    routes: [`nats://ruser:rpass@127.0.0.1:${clusterOf(a)}`],
  });
  await waitFor(() => good.server!.cluster!.byId.size === 1, "good route");
  await waitFor(
    () => a.log.lines.some((l) => l.includes("authentication error")),
    "refused route logged",
  );
  assert.equal(bad.server!.cluster!.byId.has(a.server!.id), false);
});

Deno.test("our server and nats-server form a cluster", {
  ignore: !HAVE_NATS_SERVER,
}, async () => {
  await using ours = await startServer({ cluster: { host: "127.0.0.1", port: -1, name: "mix" } });
  const port = await freePort();
  const child = new Deno.Command("nats-server", {
    args: [
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "--cluster_name",
      "mix",
      "--cluster",
      "nats://127.0.0.1:-1",
      "--routes",
      `nats://127.0.0.1:${clusterOf(ours)}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitFor(() => ours.server!.cluster!.byId.size === 1, "route to nats-server");
    const [theirs] = await RawClient.connectInfo(port);
    const [mine] = await RawClient.connectInfo(ours.port);
    await using _t = theirs;
    await using _m = mine;
    await theirs.send(QUIET + "SUB a.> 7\r\n");
    await theirs.roundTrip();
    await mine.send(QUIET + "SUB b 8\r\n");
    await mine.roundTrip();
    await waitFor(
      () => ours.server!.globalAccount.sublist.all().some((s) => s.subject === "a.>"),
      "their interest here",
    );
    await mine.send("PUB a.1 r 3\r\none\r\n");
    await theirs.waitText((t) => t === "MSG a.1 7 r 3\r\none\r\n", "ours -> nats-server");
    // Their side learns our interest asynchronously; retry until it routes.
    await waitFor(async () => {
      await theirs.send("PUB b 3\r\ntwo\r\n");
      await new Promise((r) => setTimeout(r, 20));
      return mine.text.includes("MSG b 8 3\r\ntwo\r\n");
    }, "nats-server -> ours");
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
});

Deno.test("/routez lists routes; clients learn the cluster's connect_urls", async () => {
  await using a = await startServer({
    cluster: { host: "127.0.0.1", port: -1, name: "m" },
    httpPort: -1,
  });
  await using b = await startServer({
    cluster: { host: "127.0.0.1", port: -1, name: "m" },
    routes: [`nats://127.0.0.1:${clusterOf(a)}`],
  });
  await meshed([a, b]);
  const [c, info] = await RawClient.connectInfo(b.port);
  await using _c = c;
  assert.equal(info.cluster, "m");
  assert.deepEqual(info.connect_urls, [`127.0.0.1:${b.port}`, `127.0.0.1:${a.port}`]);
  const [sub] = await RawClient.connectInfo(b.port);
  await using _s = sub;
  await sub.send(QUIET + "SUB interest.here 1\r\n");
  await sub.roundTrip();
  await waitFor(() => appSubs(a.server!) === 1, "interest on a");
  const res = await fetch(
    `http://127.0.0.1:${a.server!.monitor!.httpPort}/routez?subs=1`,
  );
  const routez = await res.json();
  assert.equal(routez.num_routes, 1);
  const r = routez.routes[0];
  assert.equal(r.remote_id, b.server!.id);
  assert.equal(r.did_solicit, false);
  // Besides the client's, the route carries the system account's services and imports.
  assert.equal(r.subscriptions, r.subscriptions_list.length);
  const app = r.subscriptions_list.filter((s: string) => !s.startsWith("$SYS."));
  assert.deepEqual(app, ["interest.here"]);
  const varz = await (await fetch(`http://127.0.0.1:${a.server!.monitor!.httpPort}/varz`)).json();
  assert.deepEqual(varz.connect_urls, [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
});

Deno.test("route authorization with a bcrypt password (the README sample's style)", async () => {
  // bcrypt of "T0pS3cr3t" from the original README.
  const hash = "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG";
  await using a = await startServer({
    cluster: { host: "127.0.0.1", port: -1, username: "route_user", password: hash },
  });
  await using b = await startServer({
    cluster: { host: "127.0.0.1", port: -1 },
    routes: [`nats://route_user:T0pS3cr3t@127.0.0.1:${clusterOf(a)}`],
  });
  await meshed([a, b]);
});

Deno.test("cluster_advertise: the route INFO (and so gossip) carries the advertised address", async () => {
  await using a = await startServer({
    cluster: { host: "127.0.0.1", port: -1, advertise: "routes.example.com:7244" },
  });
  const info = a.server!.cluster!.routeInfo();
  assert.equal(info.host, "routes.example.com");
  assert.equal(info.port, 7244);
  assert.equal(info.ip, "nats-route://routes.example.com:7244/");
});
