/**
 * The official NATS client (nats.js v3, `@nats-io/transport-node`) against the server: what a
 * real application does must work unchanged. Every test closes its connections and stops its
 * server; with REFERENCE=nats-server the same tests run against the real nats-server.
 */

import assert from "node:assert/strict";
import {
  ClosedConnectionError,
  connect,
  headers,
  type Msg,
  type NatsConnection,
  RequestError,
} from "@nats-io/transport-node";
import { appSubs, startServer, type TestServer, waitFor } from "./helpers.ts";

/** A client that gives up at once if the server is gone, so a failing test does not hang. */
function connectTo(s: TestServer, opts: Record<string, unknown> = {}): Promise<NatsConnection> {
  return connect({ servers: `127.0.0.1:${s.port}`, reconnect: false, ...opts });
}

/** Collects `n` messages from an iterator subscription, failing after `ms`. */
async function collect(
  sub: AsyncIterable<Msg>,
  n: number,
  ms = 5000,
): Promise<Msg[]> {
  const got: Msg[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${got.length}/${n} messages`)), ms);
  });
  const reading = (async () => {
    for await (const m of sub) {
      got.push(m);
      if (got.length === n) break;
    }
    return got;
  })();
  try {
    return await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("the client connects and sees nats-server's INFO", async () => {
  await using s = await startServer();
  const nc = await connectTo(s, { name: "info-test" });
  try {
    const info = nc.info!;
    assert.equal(info.version, "2.9.10");
    assert.equal(info.proto, 1);
    assert.equal(info.headers, true);
    assert.equal(info.max_payload, 1048576);
    assert.match(info.server_id, /^N[A-Z2-7]{55}$/);
    assert.equal(nc.getServer(), `127.0.0.1:${s.port}`);
    const rtt = await nc.rtt();
    assert.ok(rtt >= 0 && rtt < 1000, `rtt ${rtt}`);
    if (s.server) {
      await waitFor(() => s.server!.clients.size === 1, "one client");
      const c = [...s.server.clients.values()][0];
      assert.equal(c.opts.name, "info-test");
      assert.equal(c.opts.lang, "nats.js");
      assert.equal(c.opts.headers, true);
      assert.equal(c.opts.no_responders, true);
    }
  } finally {
    await nc.close();
  }
  assert.equal(await nc.closed(), undefined);
  if (s.server) await waitFor(() => s.server!.clients.size === 0, "client removed");
});

Deno.test("publish and subscribe keep order and payload bytes", async () => {
  await using s = await startServer();
  const sub = await connectTo(s);
  const pub = await connectTo(s);
  try {
    const N = 500;
    const it = sub.subscribe("orders.new");
    await sub.flush();
    const payload = (i: number) => new Uint8Array([i & 0xff, 0, 13, 10, 255, (i >> 8) & 0xff]);
    for (let i = 0; i < N; i++) pub.publish("orders.new", payload(i));
    pub.publish("orders.other", "not for us");
    await pub.flush();
    const got = await collect(it, N);
    got.forEach((m, i) => {
      assert.equal(m.subject, "orders.new");
      assert.deepEqual(new Uint8Array(m.data), payload(i));
    });
  } finally {
    await sub.close();
    await pub.close();
  }
});

Deno.test("empty and near-max_payload messages arrive intact", async () => {
  await using s = await startServer();
  const sub = await connectTo(s);
  const pub = await connectTo(s);
  try {
    const big = new Uint8Array(1024 * 1024 - 100).map((_, i) => i % 251);
    const it = sub.subscribe("sizes");
    await sub.flush();
    pub.publish("sizes");
    pub.publish("sizes", big);
    const [empty, large] = await collect(it, 2);
    assert.equal(empty.data.length, 0);
    assert.deepEqual(new Uint8Array(large.data), big);
  } finally {
    await sub.close();
    await pub.close();
  }
});

Deno.test("a payload over max_payload is refused by the client from INFO", async () => {
  await using s = await startServer({ maxPayload: 1024 });
  const nc = await connectTo(s);
  try {
    assert.equal(nc.info!.max_payload, 1024);
    assert.throws(() => nc.publish("foo", new Uint8Array(1025)), /payload|max/i);
    nc.publish("foo", new Uint8Array(1024));
    await nc.flush();
  } finally {
    await nc.close();
  }
});

Deno.test("request/reply, with headers on both legs", async () => {
  await using s = await startServer();
  const responder = await connectTo(s);
  const requester = await connectTo(s);
  try {
    responder.subscribe("svc.echo", {
      callback: (err, m) => {
        assert.equal(err, null);
        const h = headers();
        h.set("X-Seen", m.headers?.get("X-Id") ?? "none");
        m.respond(`echo:${m.string()}`, { headers: h });
      },
    });
    await responder.flush();
    for (let i = 0; i < 20; i++) {
      const h = headers();
      h.set("X-Id", `${i}`);
      const r = await requester.request("svc.echo", `hi ${i}`, { timeout: 2000, headers: h });
      assert.equal(r.string(), `echo:hi ${i}`);
      assert.equal(r.headers?.get("X-Seen"), `${i}`);
    }
    // Many requests in flight at once share the client's mux inbox.
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => requester.request("svc.echo", `${i}`)),
    );
    assert.deepEqual(replies.map((r) => r.string()), replies.map((_, i) => `echo:${i}`));
  } finally {
    await responder.close();
    await requester.close();
  }
});

Deno.test("a request nobody listens to fails fast with no responders (503)", async () => {
  await using s = await startServer();
  const nc = await connectTo(s);
  try {
    const t0 = Date.now();
    const err = await nc.request("nobody.home", "x", { timeout: 5000 }).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof RequestError, `got ${err}`);
    assert.ok(err.isNoResponders(), `not a no-responders error: ${err.message}`);
    assert.match(err.message, /no responders: 'nobody.home'/);
    assert.ok(Date.now() - t0 < 2000, "the 503 came from the server, not the timeout");
    // The connection is still fine afterwards.
    const sub = nc.subscribe("nobody.home", {
      callback: (_e, m) => {
        m.respond("here");
      },
    });
    await nc.flush();
    assert.equal((await nc.request("nobody.home")).string(), "here");
    sub.unsubscribe();
  } finally {
    await nc.close();
  }
});

Deno.test("a request that is not answered in time times out", async () => {
  await using s = await startServer();
  const nc = await connectTo(s);
  try {
    nc.subscribe("slow.svc", { callback: () => {} });
    await nc.flush();
    const err = await nc.request("slow.svc", "x", { timeout: 200 }).then(() => null, (e) => e);
    assert.ok(err instanceof Error, `got ${err}`);
    assert.match(`${err.name} ${err.message} ${err.cause}`, /timeout/i);
  } finally {
    await nc.close();
  }
});

Deno.test("headers round trip: multiple values, case, and empty payload", async () => {
  await using s = await startServer();
  const nc = await connectTo(s);
  try {
    const it = nc.subscribe("h.test");
    await nc.flush();
    const h = headers();
    h.set("Content-Type", "application/json");
    h.append("X-Multi", "one");
    h.append("X-Multi", "two");
    h.set("x-lower", "v: with colon");
    nc.publish("h.test", '{"a":1}', { headers: h });
    const h2 = headers();
    h2.set("Only", "header");
    nc.publish("h.test", undefined, { headers: h2 });
    nc.publish("h.test", "no headers");
    const [m1, m2, m3] = await collect(it, 3);
    assert.equal(m1.string(), '{"a":1}');
    assert.equal(m1.headers?.get("Content-Type"), "application/json");
    assert.deepEqual(m1.headers?.values("X-Multi"), ["one", "two"]);
    assert.equal(m1.headers?.get("x-lower"), "v: with colon");
    assert.equal(m2.data.length, 0);
    assert.equal(m2.headers?.get("Only"), "header");
    assert.equal(m3.headers, undefined);
    assert.equal(m3.string(), "no headers");
  } finally {
    await nc.close();
  }
});

Deno.test("queue groups: one member of a group gets each message", async () => {
  await using s = await startServer();
  const members = await Promise.all([0, 1, 2].map(() => connectTo(s)));
  const watcher = await connectTo(s);
  const pub = await connectTo(s);
  try {
    const counts = [0, 0, 0];
    members.forEach((nc, i) =>
      nc.subscribe("jobs.*", {
        queue: "workers",
        callback: () => {
          counts[i]++;
        },
      })
    );
    let watched = 0;
    watcher.subscribe("jobs.>", {
      callback: () => {
        watched++;
      },
    });
    await Promise.all([...members, watcher].map((nc) => nc.flush()));
    const N = 600;
    for (let i = 0; i < N; i++) pub.publish(`jobs.${i % 7}`, `${i}`);
    await pub.flush();
    await waitFor(
      () => watched === N && counts[0] + counts[1] + counts[2] === N,
      `all ${N} delivered; watcher ${watched}, members ${counts}`,
    );
    for (const c of counts) assert.ok(c > 60, `unbalanced ${counts}`);
    // A member leaving the group: the others take all of its share.
    await members[0].close();
    const before = [...counts];
    for (let i = 0; i < 100; i++) pub.publish("jobs.x", "y");
    await pub.flush();
    await waitFor(
      () => counts[1] + counts[2] - before[1] - before[2] === 100,
      `remaining members get all 100: ${counts}`,
    );
    assert.equal(counts[0], before[0]);
  } finally {
    for (const nc of [...members, watcher, pub]) if (!nc.isClosed()) await nc.close();
  }
});

Deno.test("wildcard subscriptions: * matches one token, > the rest", async () => {
  await using s = await startServer();
  const nc = await connectTo(s);
  try {
    const seen: Record<string, string[]> = { star: [], gt: [], all: [], mid: [] };
    const on = (k: string) => (_e: unknown, m: Msg) => {
      seen[k].push(m.subject);
    };
    nc.subscribe("a.*", { callback: on("star") });
    nc.subscribe("a.>", { callback: on("gt") });
    nc.subscribe(">", { callback: on("all") });
    nc.subscribe("a.*.c", { callback: on("mid") });
    await nc.flush();
    for (const subj of ["a", "a.b", "a.b.c", "a.x.c.d", "b.c"]) nc.publish(subj);
    await nc.flush();
    await waitFor(() => seen.all.length === 5, "5 on >");
    assert.deepEqual(seen.star, ["a.b"]);
    assert.deepEqual(seen.gt, ["a.b", "a.b.c", "a.x.c.d"]);
    assert.deepEqual(seen.all, ["a", "a.b", "a.b.c", "a.x.c.d", "b.c"]);
    assert.deepEqual(seen.mid, ["a.b.c"]);
  } finally {
    await nc.close();
  }
});

Deno.test("auto-unsubscribe: a subscription with max 3 ends after 3 messages", async () => {
  await using s = await startServer();
  const nc = await connectTo(s);
  try {
    const sub = nc.subscribe("limited", { max: 3 });
    await nc.flush();
    for (let i = 0; i < 5; i++) nc.publish("limited", `${i}`);
    await nc.flush();
    const got: string[] = [];
    for await (const m of sub) got.push(m.string()); // the iterator ends by itself
    assert.deepEqual(got, ["0", "1", "2"]);
    assert.equal(sub.getProcessed(), 3);
    assert.ok(sub.isClosed());
    if (s.server) assert.equal(appSubs(s.server), 0);
    // The server stopped delivering too: a new subscription on the same subject gets only new
    // messages, and nothing more arrives for the old sid.
    const sub2 = nc.subscribe("limited", { max: 1 });
    nc.publish("limited", "fresh");
    const [m] = await collect(sub2, 1);
    assert.equal(m.string(), "fresh");
  } finally {
    await nc.close();
  }
});

Deno.test("unsubscribe(n) on a live subscription counts what was already delivered", async () => {
  await using s = await startServer();
  const nc = await connectTo(s);
  try {
    let n = 0;
    const sub = nc.subscribe("later", {
      callback: () => {
        n++;
      },
    });
    nc.publish("later");
    nc.publish("later");
    await nc.flush();
    await waitFor(() => n === 2, "2 messages");
    sub.unsubscribe(4);
    for (let i = 0; i < 10; i++) nc.publish("later");
    await nc.flush();
    await waitFor(() => sub.isClosed(), "sub closed");
    assert.equal(n, 4);
    if (s.server) assert.equal(appSubs(s.server), 0);
  } finally {
    await nc.close();
  }
});

Deno.test("drain delivers what is in flight, then closes", async () => {
  await using s = await startServer();
  const nc = await connectTo(s);
  const pub = await connectTo(s);
  try {
    const N = 1000;
    let got = 0;
    nc.subscribe("drain.me", {
      callback: () => {
        got++;
      },
    });
    await nc.flush();
    for (let i = 0; i < N; i++) pub.publish("drain.me", "x");
    await pub.flush();
    await nc.drain();
    assert.equal(got, N);
    assert.ok(nc.isClosed());
    await nc.closed();
    if (s.server) await waitFor(() => s.server!.clients.size === 1, "drained client gone");
    // Subscription drain keeps the connection.
    const sub = pub.subscribe("sub.drain");
    await pub.flush();
    pub.publish("sub.drain", "1");
    pub.publish("sub.drain", "2");
    await pub.flush();
    await sub.drain();
    const rest: string[] = [];
    for await (const m of sub) rest.push(m.string());
    assert.deepEqual(rest, ["1", "2"]);
    assert.ok(!pub.isClosed());
    if (s.server) {
      await waitFor(() => appSubs(s.server!) === 0, "no subscriptions left");
    }
  } finally {
    if (!nc.isClosed()) await nc.close();
    await pub.close();
  }
});

// nats.js close() does not flush what is still buffered (the same against nats-server), so the
// publish is flushed first; what is checked is the server side of the close.
Deno.test("close: the server drops the client and the client then refuses use", async () => {
  await using s = await startServer();
  const sub = await connectTo(s);
  const nc = await connectTo(s);
  try {
    const it = sub.subscribe("last.words");
    await sub.flush();
    nc.publish("last.words", "bye");
    await nc.flush();
    await nc.close();
    if (s.server) await waitFor(() => s.server!.clients.size === 1, "closed client removed");
    const [m] = await collect(it, 1);
    assert.equal(m.string(), "bye");
    assert.throws(() => nc.publish("x"), ClosedConnectionError);
    await assert.rejects(() => nc.flush(), ClosedConnectionError);
  } finally {
    if (!nc.isClosed()) await nc.close();
    await sub.close();
  }
});

Deno.test("flush is a round trip: after it the server has processed every publish", async () => {
  await using s = await startServer();
  const nc = await connectTo(s);
  try {
    const it = nc.subscribe("count.me");
    await nc.flush();
    for (let i = 0; i < 2000; i++) nc.publish("count.me", "x");
    await nc.flush();
    if (s.server) assert.equal(s.server.stats.inMsgs, 2000);
    const got = await collect(it, 2000);
    assert.equal(got.length, 2000);
    assert.equal(nc.stats().outMsgs, 2000);
    assert.equal(nc.stats().inMsgs, 2000);
  } finally {
    await nc.close();
  }
});

Deno.test("noEcho keeps a client's own messages from coming back", async () => {
  await using s = await startServer();
  const nc = await connectTo(s, { noEcho: true });
  const other = await connectTo(s);
  try {
    const it = nc.subscribe("echo.test");
    await nc.flush();
    nc.publish("echo.test", "mine");
    await nc.flush();
    other.publish("echo.test", "theirs");
    await other.flush();
    const [m] = await collect(it, 1);
    assert.equal(m.string(), "theirs");
  } finally {
    await nc.close();
    await other.close();
  }
});

Deno.test("a server shutdown closes the client's connection", async () => {
  const s = await startServer();
  const nc = await connectTo(s);
  try {
    await nc.flush();
    const closed = nc.closed();
    await s[Symbol.asyncDispose]();
    await Promise.race([
      closed,
      new Promise((_, rej) => setTimeout(() => rej(new Error("client not closed")), 5000)),
    ]);
    assert.ok(nc.isClosed());
  } finally {
    if (!nc.isClosed()) await nc.close();
  }
});
