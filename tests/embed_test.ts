/**
 * The embedding API exactly as a user's test suite would use it: import mod.ts, start servers,
 * connect the official client, and let `await using` clean up. These tests keep Deno's sanitizers
 * on (the default), so a timer, socket or worker left behind by a stopped server fails them.
 */

import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  ConfigError,
  EmbedConfigError,
  NATS_SERVER_VERSION,
  RELEASE_VERSION,
  startCluster,
  StartError,
  startServer,
} from "../mod.ts";
import { waitFor } from "./helpers.ts";

const CERTS = new URL("../configs/certs/", import.meta.url).pathname;

/** Subscribes to `echo` and answers with the request's payload. */
function echo(nc: NatsConnection, subject = "echo"): void {
  nc.subscribe(subject, {
    callback: (_err, m) => {
      m.respond(m.data);
    },
  });
}

Deno.test("startServer listens on a free loopback port, serves the official client, and stops", async () => {
  let url: string;
  {
    await using server = await startServer();
    url = server.url;
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(server.port, 4222);
    assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
    assert.equal(server.running, true);
    assert.equal(server.monitorUrl, undefined);
    assert.equal(server.clusterUrl, undefined);
    assert.ok(server.logs.includes("[INF] Server is ready"), server.logs.join("\n"));
    assert.ok(server.logs.includes(`[INF]   Version:  ${NATS_SERVER_VERSION}`));
    const nc = await connect({ servers: server.url });
    assert.equal(nc.info?.version, "2.9.10");
    assert.equal(nc.info?.server_id, server.id);
    echo(nc);
    assert.equal((await nc.request("echo", "hi")).string(), "hi");
    await nc.close();
  }
  // Disposed: nothing listens there any more.
  await assert.rejects(() => connect({ servers: url, reconnect: false, timeout: 1000 }));
});

Deno.test("two servers in one process share nothing: ids, ports, subjects, logs", async () => {
  // Port 0, -1 or none: each gets a free port of its own.
  await using a = await startServer({ server_name: "a", listen: "127.0.0.1:-1" });
  await using b = await startServer({ server_name: "b", port: 0, debug: true });
  assert.notEqual(a.port, b.port);
  assert.notEqual(a.id, b.id);
  assert.deepEqual([a.name, b.name], ["a", "b"]);
  const na = await connect({ servers: a.url });
  const nb = await connect({ servers: b.url });
  const gotB: string[] = [];
  nb.subscribe("x", {
    callback: (_e, m) => {
      gotB.push(m.string());
    },
  });
  await nb.flush();
  const subA = na.subscribe("x", { max: 1 });
  na.publish("x", "for a only");
  for await (const m of subA) assert.equal(m.string(), "for a only");
  nb.publish("x", "for b");
  await waitFor(() => gotB.length === 1, "b's own message");
  assert.deepEqual(gotB, ["for b"]);
  // Debug lines only where debug was asked for.
  assert.ok(b.logs.some((l) => l.startsWith("[DBG] ") && l.endsWith("Client connection created")));
  assert.ok(!a.logs.some((l) => l.startsWith("[DBG] ")));
  await na.close();
  await nb.close();
});

Deno.test("config keys as in a nats-server config file: auth, limits, monitoring", async () => {
  await using server = await startServer({
    authorization: {
      users: [
        { user: "app", password: "pw", permissions: { publish: ["orders.>"], subscribe: [">"] } },
        // mkpasswd's hash of T0pS3cr3t: checked in the bcrypt worker.
        {
          user: "derek",
          password: "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG",
        },
      ],
    },
    max_payload: 8192,
    http_port: -1,
  });
  assert.match(server.monitorUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
  const varz = await (await fetch(`${server.monitorUrl}/varz`)).json();
  assert.equal(varz.max_payload, 8192);
  assert.equal(varz.release, RELEASE_VERSION);
  assert.equal(varz.auth_required, true);

  await assert.rejects(
    () => connect({ servers: server.url, user: "app", pass: "wrong", reconnect: false }),
    /Authorization Violation/i,
  );
  const derek = await connect({ servers: server.url, user: "derek", pass: "T0pS3cr3t" });
  await derek.flush();
  await derek.close();
  const nc = await connect({ servers: server.url, user: "app", pass: "pw" });
  const sub = nc.subscribe("orders.new", { max: 1 });
  nc.publish("orders.new", "ok");
  for await (const m of sub) assert.equal(m.string(), "ok");
  await nc.close();
});

Deno.test("TLS from the config's tls block", async () => {
  await using server = await startServer({
    tls: { cert_file: `${CERTS}server-cert.pem`, key_file: `${CERTS}server-key.pem` },
  });
  const nc = await connect({ servers: server.url, tls: { caFile: `${CERTS}ca.pem` } });
  assert.equal(nc.info?.tls_required, true);
  echo(nc);
  assert.equal((await nc.request("echo", "secret")).string(), "secret");
  await nc.close();
});

Deno.test("bad configs fail with the config file's errors, and nothing is left running", async () => {
  await assert.rejects(() => startServer({ no_such_key: 1 }), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, 'no_such_key: unknown field "no_such_key"');
    return true;
  });
  await assert.rejects(() => startServer({ port: 0, max_subs: "7" }), {
    name: "ConfigError",
    message: "max_subs: interface conversion: interface {} is string, not int64",
  });
  await assert.rejects(() => startServer({ ping_interval: "soon" }), ConfigError);
  await assert.rejects(() => startServer({ pid_file: "/tmp/x.pid" }), EmbedConfigError);
  await assert.rejects(() => startServer({ max_payload: Infinity }), EmbedConfigError);
  // A taken port is nats-server's start error; the monitor that started first is closed again.
  await using first = await startServer();
  await assert.rejects(
    () => startServer({ port: first.port, http_port: -1 }),
    (e) => e instanceof StartError && /Error listening on port/.test(e.message),
  );
});

Deno.test("log destinations: silent, a function, and the config's level keys", async () => {
  const seen: string[] = [];
  {
    await using server = await startServer({ trace: true }, { log: (l) => seen.push(l) });
    assert.deepEqual(server.logs, []);
    const nc = await connect({ servers: server.url });
    await nc.flush();
    await nc.close();
    await waitFor(() => seen.some((l) => l.startsWith("[TRC] ")), "a trace line");
  }
  assert.equal(seen.at(-1), "[INF] Server Exiting..");
  await using quiet = await startServer({ debug: true }, { log: "silent" });
  assert.deepEqual(quiet.logs, []);
});

Deno.test("log_file in the config logs there in nats-server's format, closed at stop", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/server.log`;
    const server = await startServer({ log_file: file });
    await server.stop();
    const text = await Deno.readTextFile(file);
    assert.match(text, /^\[\d+\] [\d/]+ [\d:.]+ \[INF\] Starting nats-server$/m);
    assert.match(text, /\[INF\] Server Exiting\.\.\n$/);
    assert.deepEqual(server.logs, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startCluster forms a full mesh in one process and routes messages across it", async () => {
  await using cluster = await startCluster(3, { cluster: { name: "embedded" } });
  assert.equal(cluster.servers.length, 3);
  for (const s of cluster.servers) {
    assert.equal(s.routeCount, 2);
    assert.match(s.clusterUrl!, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(s.logs.includes("[INF] Cluster name is embedded"), s.logs.join("\n"));
  }
  const [a, , c] = cluster.servers;
  const na = await connect({ servers: a.url });
  const nc = await connect({ servers: c.url });
  echo(na, "svc");
  await na.flush();
  // The subscription reaches c over the route a moment later: ask until it answers.
  let reply = "";
  await waitFor(async () => {
    try {
      reply = (await nc.request("svc", "across", { timeout: 200 })).string();
      return true;
    } catch {
      return false;
    }
  }, "a reply routed from a to c");
  assert.equal(reply, "across");
  // A client given every URL learns the cluster and fails over when its server stops.
  const multi = await connect({ servers: cluster.urls });
  await multi.flush();
  await multi.close();
  await na.close();
  await nc.close();
});

Deno.test("stop() is idempotent and a stopped cluster releases every server", async () => {
  const cluster = await startCluster(2);
  const [a, b] = cluster.servers;
  await a.stop();
  await a.stop();
  assert.equal(a.running, false);
  await cluster.stop();
  assert.equal(b.running, false);
  await assert.rejects(() => startCluster(0), RangeError);
});

Deno.test("config blocks added to the config file work here too: accounts keep subjects apart", async () => {
  await using server = await startServer({
    accounts: {
      A: { users: [{ user: "a", password: "a" }] },
      B: { users: [{ user: "b", password: "b" }] },
    },
  });
  const a = await connect({ servers: server.url, user: "a", pass: "a" });
  const b = await connect({ servers: server.url, user: "b", pass: "b" });
  const inB: string[] = [];
  b.subscribe("news", {
    callback: (_e, m) => {
      inB.push(m.string());
    },
  });
  await b.flush();
  a.publish("news", "for A only");
  const own = a.subscribe("news", { max: 1 });
  a.publish("news", "A hears A");
  for await (const m of own) assert.equal(m.string(), "A hears A");
  b.publish("news", "B hears B");
  await waitFor(() => inB.length > 0, "B's own message");
  assert.deepEqual(inB, ["B hears B"]);
  await a.close();
  await b.close();
});
