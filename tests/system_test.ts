/**
 * The system account: events (CONNECT, DISCONNECT, CONNS, STATSZ, AUTH.ERR, SHUTDOWN) and the
 * `$SYS.REQ` services, seen through the official client as a system-account user, each compared
 * field by field (names and order) with nats-server 2.9.10 running an equivalent config side by
 * side; what other accounts can and cannot see; the system account options; a cluster of ours.
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { connect, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { HAVE_NATS_SERVER, REFERENCE, startServer, waitFor } from "./helpers.ts";
import { defaultOptions, mergeOptions, type PartialOptions } from "../src/options.ts";
import { Server } from "../src/server.ts";
import { jsonShape, MemoryLogger } from "./helpers.ts";
import { crc32c } from "../src/system/snappy.ts";
import { account, ACCOUNTS, ACCOUNTS_CONF } from "./accounts_fixture.ts";
import { freePort } from "./process_helpers.ts";

const ignore = REFERENCE;
const refIgnore = REFERENCE || !HAVE_NATS_SERVER;
const dec = new TextDecoder();
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

/** One server under test: ours in-process, or nats-server as a child process. */
interface Target {
  port: number;
  httpPort: number;
  id: string;
  stop(): Promise<void>;
}

async function ours(layer: PartialOptions = {}): Promise<Target & { server: Server }> {
  const s = await startServer({ ...ACCOUNTS, httpHost: "127.0.0.1", httpPort: -1, ...layer });
  return {
    server: s.server!,
    port: s.port,
    httpPort: s.server!.monitor?.httpPort ?? 0,
    id: s.server!.id,
    stop: () => s[Symbol.asyncDispose](),
  };
}

async function reference(conf = ACCOUNTS_CONF): Promise<Target> {
  const port = freePort();
  const httpPort = freePort();
  const file = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(
    file,
    `listen: "127.0.0.1:${port}"\nhttp: "127.0.0.1:${httpPort}"\n${conf}`,
  );
  const child = new Deno.Command("nats-server", {
    args: ["-c", file],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let id = "";
  await waitFor(async () => {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/varz`);
      id = (await r.json()).server_id;
      return true;
    } catch {
      return false;
    }
  }, "nats-server to start");
  return {
    port,
    httpPort,
    id,
    async stop() {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(file);
    },
  };
}

function user(
  t: Target,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<NatsConnection> {
  return connect({ port: t.port, user: name, pass: name, name: `${name}-conn`, ...extra });
}

// deno-lint-ignore no-explicit-any
function json(m: Msg): any {
  return JSON.parse(dec.decode(m.data));
}

// deno-lint-ignore no-explicit-any
async function ask(nc: NatsConnection, subject: string, body = ""): Promise<any> {
  return json(await nc.request(subject, body, { timeout: 2000 }));
}

// ---- Events ----

/** A client of account A comes and goes with known traffic; the events it causes, by subject. */
async function connectionEvents(t: Target): Promise<Map<string, unknown[]>> {
  const sys = await user(t, "sys");
  const events = new Map<string, unknown[]>();
  const subs = [sys.subscribe("$SYS.ACCOUNT.>"), sys.subscribe("$SYS.SERVER.ACCOUNT.>")];
  const done = Promise.all(subs.map(async (sub) => {
    for await (const m of sub) {
      const list = events.get(m.subject) ?? [];
      list.push(json(m));
      events.set(m.subject, list);
    }
  }));
  await sys.flush();
  const a = await user(t, "a");
  a.publish("foo", "hello");
  a.publish("foo", "world");
  await a.flush();
  await a.close();
  await waitFor(() => events.has("$SYS.ACCOUNT.A.DISCONNECT"), "the DISCONNECT event");
  // The old CONNS subject goes out just before DISCONNECT; a round trip makes sure it is here.
  await sys.flush();
  for (const sub of subs) sub.unsubscribe();
  await done;
  await sys.close();
  return events;
}

Deno.test({
  name: "CONNECT, DISCONNECT and CONNS events carry nats-server's fields and the traffic",
  ignore,
  async fn() {
    const t = await ours();
    try {
      const ev = await connectionEvents(t);
      // deno-lint-ignore no-explicit-any
      const [connect] = ev.get("$SYS.ACCOUNT.A.CONNECT") as any[];
      assert.deepEqual(Object.keys(connect), ["type", "id", "timestamp", "server", "client"]);
      assert.equal(connect.type, "io.nats.server.advisory.v1.client_connect");
      assert.match(connect.id, /^[0-9A-Za-z]{22}$/);
      assert.match(connect.timestamp, TIME);
      assert.deepEqual(Object.keys(connect.server), [
        "name",
        "host",
        "id",
        "ver",
        "seq",
        "jetstream",
        "time",
      ]);
      assert.deepEqual(
        [connect.server.name, connect.server.host, connect.server.id, connect.server.ver],
        ["srv1", "127.0.0.1", t.id, "2.9.10"],
      );
      assert.deepEqual(Object.keys(connect.client), [
        "start",
        "host",
        "id",
        "acc",
        "user",
        "name",
        "lang",
        "ver",
        "kind",
        "client_type",
      ]);
      assert.deepEqual(
        [connect.client.acc, connect.client.user, connect.client.name, connect.client.kind],
        ["A", "a", "a-conn", "Client"],
      );
      assert.equal(connect.client.client_type, "nats");
      // deno-lint-ignore no-explicit-any
      const [disc] = ev.get("$SYS.ACCOUNT.A.DISCONNECT") as any[];
      assert.deepEqual(Object.keys(disc), [
        "type",
        "id",
        "timestamp",
        "server",
        "client",
        "sent",
        "received",
        "reason",
      ]);
      assert.equal(disc.type, "io.nats.server.advisory.v1.client_disconnect");
      assert.equal(disc.client.id, connect.client.id);
      assert.equal(disc.client.stop, disc.timestamp);
      // What the client sent: its two 5-byte messages (and the PINGs are not messages).
      assert.deepEqual(disc.sent, { msgs: 2, bytes: 10 });
      assert.deepEqual(disc.received, { msgs: 0, bytes: 0 });
      assert.equal(disc.reason, "Client Closed");
      assert.ok(disc.server.seq > connect.server.seq);
      // The account's connection count, on the new subject and the old one, up then down.
      for (const subject of ["$SYS.ACCOUNT.A.SERVER.CONNS", "$SYS.SERVER.ACCOUNT.A.CONNS"]) {
        // deno-lint-ignore no-explicit-any
        const counts = (ev.get(subject) as any[] | undefined) ?? [];
        assert.deepEqual(counts.map((c) => c.conns), [1, 0], subject);
        assert.deepEqual(Object.keys(counts[0]), [
          "type",
          "id",
          "timestamp",
          "server",
          "acc",
          "conns",
          "leafnodes",
          "total_conns",
          "sent",
          "received",
          "slow_consumers",
        ]);
        assert.equal(counts[0].type, "io.nats.server.advisory.v1.account_connections");
      }
      // Every client starts in $G: nats-server counts it there once, never down again.
      assert.ok((ev.get("$SYS.ACCOUNT.$G.SERVER.CONNS") ?? []).length >= 1);
      assert.equal(ev.has("$SYS.ACCOUNT.$G.CONNECT"), false);
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "events have nats-server's shape, side by side",
  ignore: refIgnore,
  async fn() {
    const mine = await ours();
    const ref = await reference();
    try {
      const got = await connectionEvents(mine);
      const want = await connectionEvents(ref);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [subject, list] of want) {
        assert.deepEqual(jsonShape(got.get(subject)![0]), jsonShape(list[0]), subject);
      }
    } finally {
      await mine.stop();
      await ref.stop();
    }
  },
});

Deno.test({
  name: "STATSZ goes out 250 ms after start, then at doubling intervals, with nats-server's shape",
  ignore,
  async fn() {
    const t = await ours();
    try {
      const sys = await user(t, "sys");
      const got: { at: number; m: Msg }[] = [];
      const sub = sys.subscribe(`$SYS.SERVER.${t.id}.STATSZ`);
      (async () => {
        for await (const m of sub) got.push({ at: Date.now(), m });
      })();
      await waitFor(() => got.length >= 2, "two STATSZ events", 5000);
      const gap = got[1].at - got[0].at;
      assert.ok(gap >= 350, `second STATSZ came ${gap} ms after the first`);
      const st = json(got[0].m);
      assert.deepEqual(Object.keys(st), ["server", "statsz"]);
      assert.deepEqual(Object.keys(st.statsz), [
        "start",
        "mem",
        "cores",
        "cpu",
        "connections",
        "total_connections",
        "active_accounts",
        "subscriptions",
        "sent",
        "received",
        "slow_consumers",
        "active_servers",
      ]);
      assert.equal(st.statsz.connections, 1);
      assert.equal(st.statsz.active_servers, 1);
      // The system account (its own services) and the sys user's.
      assert.equal(st.statsz.active_accounts, 1);
      await sys.close();
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "a failed login is reported on $SYS.SERVER.<id>.CLIENT.AUTH.ERR",
  ignore,
  async fn() {
    const t = await ours();
    try {
      const sys = await user(t, "sys");
      const sub = sys.subscribe(`$SYS.SERVER.${t.id}.CLIENT.AUTH.ERR`, { max: 1 });
      await sys.flush();
      await assert.rejects(() => connect({ port: t.port, user: "a", pass: "wrong" }));
      for await (const m of sub) {
        const e = json(m);
        assert.equal(e.type, "io.nats.server.advisory.v1.client_disconnect");
        assert.equal(e.reason, "Authentication Failure");
        assert.deepEqual([e.client.acc, e.client.user], ["$G", "a"]);
      }
      await sys.close();
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "shutdown announces $SYS.SERVER.<id>.SHUTDOWN with the server block",
  ignore,
  async fn() {
    const t = await ours();
    const sys = await user(t, "sys");
    const got: Msg[] = [];
    const sub = sys.subscribe(`$SYS.SERVER.${t.id}.SHUTDOWN`);
    (async () => {
      for await (const m of sub) got.push(m);
    })();
    await sys.flush();
    await t.stop();
    await waitFor(() => got.length === 1, "the SHUTDOWN event");
    const si = json(got[0]);
    assert.deepEqual(Object.keys(si), ["name", "host", "id", "ver", "seq", "jetstream", "time"]);
    assert.equal(si.id, t.id);
    await sys.close().catch(() => {});
  },
});

// ---- Requests ----

/** Every request nats-server 2.9.10 answers, with a body where the options matter. */
function requests(id: string): [string, string][] {
  const out: [string, string][] = [["$SYS.REQ.SERVER.PING", ""]];
  const names = [
    "STATSZ",
    "VARZ",
    "SUBSZ",
    "CONNZ",
    "ROUTEZ",
    "GATEWAYZ",
    "LEAFZ",
    "ACCOUNTZ",
    "JSZ",
    "HEALTHZ",
  ];
  for (const n of names) {
    out.push([`$SYS.REQ.SERVER.PING.${n}`, ""]);
    out.push([`$SYS.REQ.SERVER.${id}.${n}`, ""]);
  }
  out.push(
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"subscriptions":true,"auth":true}'],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"subscriptions_detail":true,"acc":"A"}'],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"state":1,"auth":true}'],
    ["$SYS.REQ.SERVER.PING.SUBSZ", '{"subscriptions":true,"account":"A","test":"svc.x"}'],
    ["$SYS.REQ.SERVER.PING.ROUTEZ", '{"subscriptions":true}'],
    ["$SYS.REQ.SERVER.PING.ACCOUNTZ", '{"account":"A"}'],
    ["$SYS.REQ.SERVER.PING.ACCOUNTZ", '{"account":"B"}'],
    ["$SYS.REQ.SERVER.PING.ACCOUNTZ", '{"account":"SYS"}'],
    ["$SYS.REQ.SERVER.PING.ACCOUNTZ", '{"account":"$G"}'],
    ["$SYS.REQ.SERVER.PING.JSZ", '{"accounts":true}'],
    ["$SYS.REQ.ACCOUNT.A.SUBSZ", ""],
    ["$SYS.REQ.ACCOUNT.A.CONNZ", ""],
    ["$SYS.REQ.ACCOUNT.A.LEAFZ", ""],
    ["$SYS.REQ.ACCOUNT.A.JSZ", ""],
    ["$SYS.REQ.ACCOUNT.A.INFO", ""],
    ["$SYS.REQ.ACCOUNT.A.STATZ", ""],
    ["$SYS.REQ.ACCOUNT.B.STATZ", '{"include_unused":true}'],
    ["$SYS.REQ.ACCOUNT.SYS.CONNS", ""],
    ["$SYS.REQ.ACCOUNT.PING.STATZ", ""],
    ["$SYS.REQ.ACCOUNT.PING.STATZ", '{"include_unused":true}'],
    ["$SYS.REQ.ACCOUNT.PING.CONNZ", ""],
    ["$SYS.REQ.ACCOUNT.ZZ.INFO", ""],
    ["$SYS.REQ.SERVER.PING.ACCOUNTZ", '{"account":"ZZ"}'],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"sort":"bogus"}'],
    ["$SYS.REQ.SERVER.PING.VARZ", "{bad"],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"limit":"x"}'],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"limit":1.5}'],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"cid":-1}'],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"sort":1}'],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"state":"open"}'],
    ["$SYS.REQ.SERVER.PING.CONNZ", "[1]"],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"limit":1}x'],
    ["$SYS.REQ.SERVER.PING.CONNZ", '{"limit":'],
    ["$SYS.REQ.SERVER.PING.STATSZ", '{"tags":1}'],
    ["$SYS.REQ.SERVER.PING", "{x"],
    ["$SYS.REQ.SERVER.PING.SUBSZ", '{"test":"a.*"}'],
  );
  return out;
}

/** The answers to every request, in order, from a server with known clients. */
async function answers(t: Target): Promise<unknown[]> {
  const sys = await user(t, "sys");
  const a = await user(t, "a");
  a.subscribe("svc.>");
  await a.flush();
  const b = await user(t, "b");
  const gone = await user(t, "b");
  await gone.close();
  const out: unknown[] = [];
  try {
    for (const [subject, body] of requests(t.id)) {
      try {
        out.push(await ask(sys, subject, body));
      } catch (e) {
        out.push({ failed: String(e) });
      }
    }
  } finally {
    await Promise.all([sys.close(), a.close(), b.close()]);
  }
  return out;
}

Deno.test({
  name:
    "every $SYS.REQ endpoint answers as nats-server: same fields in the same order, same errors",
  ignore: refIgnore,
  async fn() {
    const mine = await ours();
    const ref = await reference();
    try {
      const list = requests("<id>");
      const got = await answers(mine);
      const want = await answers(ref);
      for (let i = 0; i < list.length; i++) {
        const what = list[i].join(" ");
        // deno-lint-ignore no-explicit-any
        const g = got[i] as any;
        // deno-lint-ignore no-explicit-any
        const w = want[i] as any;
        assert.deepEqual(jsonShape(g), jsonShape(w), what);
        // Error texts are nats-server's, word for word.
        assert.deepEqual(g?.error, w?.error, what);
        if (w?.failed) assert.equal(g.failed, w.failed, what);
      }
    } finally {
      await mine.stop();
      await ref.stop();
    }
  },
});

Deno.test({
  name: "requests: the server block, filters that silence a server, and the options a body carries",
  ignore,
  async fn() {
    const t = await ours({ tags: ["eu", "ssd"] });
    try {
      const sys = await user(t, "sys");
      const v = await ask(sys, "$SYS.REQ.SERVER.PING.VARZ");
      assert.deepEqual(Object.keys(v), ["server", "data"]);
      assert.deepEqual(Object.keys(v.server), [
        "name",
        "host",
        "id",
        "ver",
        "tags",
        "seq",
        "jetstream",
        "time",
      ]);
      assert.deepEqual(v.server.tags, ["eu", "ssd"]);
      assert.equal(v.data.server_id, t.id);
      assert.equal(v.data.system_account, "SYS");
      // Filters: a request for other servers gets no answer from this one. Requests are answered
      // in order, so once the matching request is answered, the filtered one would have been.
      const inbox = sys.subscribe("filtered.>");
      let filteredAnswers = 0;
      (async () => {
        for await (const _ of inbox) filteredAnswers++;
      })();
      for (
        const f of [
          { server_name: "nope" },
          { host: "10.9.9.9" },
          { cluster: "c" },
          { tags: ["eu", "hdd"] },
          { domain: "hub" },
        ]
      ) {
        sys.publish("$SYS.REQ.SERVER.PING.VARZ", JSON.stringify(f), { reply: "filtered.x" });
      }
      const ok = await ask(sys, "$SYS.REQ.SERVER.PING.VARZ", '{"server_name":"srv","tags":["EU"]}');
      assert.equal(ok.data.server_name, "srv1");
      assert.equal(filteredAnswers, 0);
      // Options: connz for one account, with subscriptions.
      const a = await user(t, "a");
      a.subscribe("x.y");
      await a.flush();
      const cz = await ask(
        sys,
        `$SYS.REQ.SERVER.${t.id}.CONNZ`,
        '{"acc":"A","subscriptions":true,"auth":true}',
      );
      assert.equal(cz.data.num_connections, 1);
      const conn = cz.data.connections[0];
      assert.deepEqual([conn.authorized_user, conn.account], ["a", "A"]);
      assert.ok(conn.subscriptions_list.includes("x.y"));
      const az = await ask(sys, "$SYS.REQ.ACCOUNT.A.SUBSZ");
      assert.ok(az.data.subscriptions_list.some((s: { subject: string }) => s.subject === "x.y"));
      // Compression on request.
      const gz = await sys.request("$SYS.REQ.SERVER.PING.HEALTHZ", "", {
        timeout: 2000,
        headers: (() => {
          const h = headers();
          h.set("Accept-Encoding", "gzip");
          return h;
        })(),
      });
      assert.equal(gz.headers?.get("Content-Encoding"), "gzip");
      const body = JSON.parse(dec.decode(gunzipSync(gz.data)));
      assert.deepEqual(body.data, { status: "ok" });
      const sn = await sys.request("$SYS.REQ.SERVER.PING.HEALTHZ", "", {
        timeout: 2000,
        headers: (() => {
          const h = headers();
          h.set("Accept-Encoding", "snappy");
          return h;
        })(),
      });
      assert.equal(sn.headers?.get("Content-Encoding"), "snappy");
      assert.deepEqual(JSON.parse(dec.decode(unsnappy(sn.data))).data, { status: "ok" });
      await Promise.all([sys.close(), a.close()]);
    } finally {
      await t.stop();
    }
  },
});

/** Reads a snappy framed stream made of uncompressed chunks, checking each chunk's CRC. */
function unsnappy(b: Uint8Array): Uint8Array {
  assert.deepEqual([...b.subarray(0, 10)], [0xff, 6, 0, 0, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
  const parts: Uint8Array[] = [];
  let p = 10;
  while (p < b.length) {
    assert.equal(b[p], 1, "an uncompressed chunk");
    const len = b[p + 1] | (b[p + 2] << 8) | (b[p + 3] << 16);
    const crc = new DataView(b.buffer, b.byteOffset).getUint32(p + 4, true);
    const data = b.subarray(p + 8, p + 4 + len);
    const c = crc32c(data);
    assert.equal(crc, ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
    parts.push(data);
    p += 4 + len;
  }
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

// ---- Other accounts ----

Deno.test({
  name: "other accounts see no $SYS traffic, but may ask for their own CONNZ and STATZ",
  ignore,
  async fn() {
    const t = await ours();
    try {
      const other = await user(t, "a");
      // Nothing of the system account but the three imports is reachable from A.
      for (
        const s of ["$SYS.REQ.SERVER.PING", "$SYS.REQ.SERVER.PING.VARZ", "$SYS.REQ.ACCOUNT.A.INFO"]
      ) {
        await assert.rejects(() => other.request(s, "", { timeout: 2000 }), /no responders/, s);
      }
      const a = await user(t, "a");
      const seen: string[] = [];
      const sub = a.subscribe("$SYS.>");
      (async () => {
        for await (const m of sub) seen.push(m.subject);
      })();
      await a.flush();
      const b = await user(t, "b");
      await b.close();
      const sys = await user(t, "sys");
      await ask(sys, "$SYS.REQ.SERVER.PING");
      await sys.close();
      // Through those imports: its own connections and numbers only.
      const cz = await ask(other, "$SYS.REQ.SERVER.PING.CONNZ");
      assert.equal(cz.data.num_connections, 2);
      const stz = await ask(other, "$SYS.REQ.ACCOUNT.PING.STATZ");
      assert.deepEqual(stz.data.account_statz.map((s: { acc: string }) => s.acc), ["A"]);
      const cz2 = await ask(other, "$SYS.REQ.ACCOUNT.PING.CONNZ", '{"auth":true}');
      assert.deepEqual(
        cz2.data.connections.map((c: { account: string }) => c.account),
        ["A", "A"],
      );
      await a.flush();
      // A's subscriber saw A's own requests, never an event of the system account.
      assert.deepEqual(
        [...new Set(seen)].sort(),
        [
          "$SYS.REQ.ACCOUNT.PING.CONNZ",
          "$SYS.REQ.ACCOUNT.PING.STATZ",
          "$SYS.REQ.SERVER.PING.CONNZ",
        ],
      );
      await Promise.all([a.close(), other.close()]);
    } finally {
      await t.stop();
    }
  },
});

// ---- The system account options ----

Deno.test({
  name: "system_account picks the account; $SYS by name is picked alone; an unknown one is refused",
  ignore,
  fn() {
    const log = new MemoryLogger();
    const opts = (layer: PartialOptions) =>
      mergeOptions(defaultOptions(), { host: "127.0.0.1", port: -1, ...layer });
    assert.throws(
      () => new Server(opts({ systemAccount: "NOPE" }), log),
      /^Error: error resolving system account: account missing$/,
    );
    assert.equal(new Server(opts({}), log).systemAccount?.name, "$SYS");
    assert.equal(new Server(opts({ noSystemAccount: true }), log).systemAccount, null);
    assert.equal(
      new Server(opts({ ...ACCOUNTS, noSystemAccount: true }), log).systemAccount?.name,
      "SYS",
    );
    const named = new Server(opts({ accounts: [account("$SYS"), account("A")] }), log);
    assert.equal(named.systemAccount?.name, "$SYS");
    assert.equal([...named.accounts.keys()].filter((n) => n === "$SYS").length, 1);
  },
});

Deno.test({
  name: "without a system account there are no events and no $SYS services",
  ignore,
  async fn() {
    const t = await ours({ systemAccount: "", noSystemAccount: true });
    try {
      assert.equal(t.server.events, null);
      const sys = await user(t, "sys");
      await assert.rejects(
        () => sys.request("$SYS.REQ.SERVER.PING", "", { timeout: 2000 }),
        /no responders/,
      );
      const az = await (await fetch(`http://127.0.0.1:${t.httpPort}/accountz`)).json();
      assert.equal(az.system_account, undefined);
      assert.deepEqual(az.accounts, ["$G", "A", "B", "SYS"]);
      await sys.close();
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "a config whose only account is the system one still lets clients in without credentials",
  ignore,
  async fn() {
    await using s = await startServer({
      accounts: [account("SYS")],
      users: [{ username: "s", password: "s", account: "SYS" }],
      systemAccount: "SYS",
    });
    // INFO still asks for auth, as nats-server's does, yet a bare CONNECT gets in (into $G).
    const nc = await connect({ port: s.port });
    await nc.flush();
    const sys = await connect({ port: s.port, user: "s", pass: "s" });
    const cz = await ask(sys, "$SYS.REQ.SERVER.PING.CONNZ", '{"auth":true,"acc":"$G"}');
    assert.equal(cz.data.num_connections, 1);
    assert.match(cz.data.connections[0].authorized_user, /^nats-[0-9A-Za-z]{8}$/);
    await Promise.all([nc.close(), sys.close()]);
    // With a second account, credentials are required again.
    await using s2 = await startServer({ ...ACCOUNTS });
    await assert.rejects(() => connect({ port: s2.port }));
  },
});

// ---- A cluster of ours ----

Deno.test({
  name: "in a cluster, every server answers $SYS.REQ.SERVER.PING and counts the other as active",
  ignore,
  async fn() {
    const cluster = { host: "127.0.0.1", port: -1, name: "sysc" };
    const a = await ours({
      serverName: "n1",
      cluster: { ...defaultOptions().cluster, ...cluster },
    });
    const b = await ours({
      serverName: "n2",
      cluster: { ...defaultOptions().cluster, ...cluster },
      routes: [`nats://127.0.0.1:${a.server.cluster!.port}`],
    });
    try {
      await waitFor(
        () => a.server.cluster!.routes.size === 1 && b.server.cluster!.routes.size === 1,
        "the route",
      );
      const sys = await user(a, "sys");
      // Both servers learn of each other from STATSZ events.
      await waitFor(async () => {
        const r = await ask(sys, `$SYS.REQ.SERVER.${a.id}.STATSZ`);
        return r.statsz.active_servers === 2;
      }, "active_servers 2");
      const pongs = (await collectReplies(sys, "$SYS.REQ.SERVER.PING", "", 2)).map(json);
      assert.deepEqual(pongs.map((p) => p.server.name).sort(), ["n1", "n2"]);
      for (const p of pongs) {
        assert.equal(p.server.cluster, "sysc");
        assert.equal(p.statsz.routes.length, 1);
      }
      // An account's own CONNZ, asked on one server, answered by both through the import.
      const ua = await user(a, "a");
      const ub = await user(b, "a");
      const conns = (await collectReplies(ua, "$SYS.REQ.SERVER.PING.CONNZ", "", 2)).map(json);
      assert.deepEqual(conns.map((c) => c.data.num_connections), [1, 1]);
      assert.deepEqual(conns.map((c) => c.server.name).sort(), ["n1", "n2"]);
      // A client of B on n2 shows up as a CONNECT event to the system user on n1.
      const events = sys.subscribe("$SYS.ACCOUNT.B.CONNECT", { max: 1 });
      await sys.flush();
      await waitFor(
        () =>
          b.server.accounts.get("SYS")!.sublist.match("$SYS.ACCOUNT.B.CONNECT").psubs.length > 0,
        "interest on n2",
      );
      const nb = await user(b, "b");
      for await (const m of events) assert.equal(json(m).server.name, "n2");
      await Promise.all([sys.close(), ua.close(), ub.close(), nb.close()]);
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

/** Sends one request and gathers `n` replies (several servers answer a PING). */
async function collectReplies(
  nc: NatsConnection,
  subject: string,
  body: string,
  n: number,
): Promise<Msg[]> {
  const inbox = `_INBOX.${crypto.randomUUID().replaceAll("-", "")}`;
  const got: Msg[] = [];
  const sub = nc.subscribe(inbox, { max: n });
  const done = (async () => {
    for await (const m of sub) got.push(m);
  })();
  nc.publish(subject, body, { reply: inbox });
  await Promise.race([
    done,
    new Promise((_, rej) => setTimeout(() => rej(new Error(`${got.length}/${n} replies`)), 5000)),
  ]);
  return got;
}

// ---- $SYS.DEBUG.SUBSCRIBERS ----

// nats-server 2.9.10 adds this export at run time, so a config import of it is refused ("service
// import not authorized"); system account users ask it directly, about their own account.
async function subscriberCounts(t: Target): Promise<number[]> {
  const s = await user(t, "sys");
  s.subscribe("foo");
  s.subscribe("foo", { queue: "q" });
  s.subscribe("foo.*");
  s.subscribe("bar", { queue: "q" });
  const asker = await user(t, "sys");
  await s.flush();
  const out: number[] = [];
  for (const q of ["foo", "foo q", "foo.x", "foo.*", "bar q", "bar r", "nothing"]) {
    out.push(Number(dec.decode((await asker.request("$SYS.DEBUG.SUBSCRIBERS", q)).data)));
  }
  await Promise.all([s.close(), asker.close()]);
  return out;
}

Deno.test({
  name: "$SYS.DEBUG.SUBSCRIBERS counts subscribers as nats-server does",
  ignore: refIgnore,
  async fn() {
    const mine = await ours();
    const ref = await reference();
    try {
      const want = await subscriberCounts(ref);
      assert.deepEqual(await subscriberCounts(mine), want);
    } finally {
      await mine.stop();
      await ref.stop();
    }
  },
});

Deno.test({
  name: "$SYS.DEBUG.SUBSCRIBERS sums the subscribers of every server in a cluster",
  ignore,
  async fn() {
    const cluster = { ...defaultOptions().cluster, host: "127.0.0.1", port: -1, name: "dbg" };
    const a = await ours({ serverName: "n1", cluster });
    const b = await ours({
      serverName: "n2",
      cluster,
      routes: [`nats://127.0.0.1:${a.server.cluster!.port}`],
    });
    try {
      await waitFor(() => a.server.cluster!.routes.size === 1, "the route");
      const remote = await user(b, "sys");
      remote.subscribe("foo");
      await remote.flush();
      // n1 learns from n2's CONNS event that n2 has clients in the system account.
      await waitFor(() => (a.server.events!.remoteConns.get("SYS")?.size ?? 0) === 1, "CONNS");
      const local = await user(a, "sys");
      local.subscribe("foo");
      const n = await local.request("$SYS.DEBUG.SUBSCRIBERS", "foo");
      assert.equal(dec.decode(n.data), "2");
      await Promise.all([remote.close(), local.close()]);
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name: "reload refuses to change the system account, as nats-server",
  ignore,
  async fn() {
    const t = await ours();
    try {
      const next = mergeOptions(t.server.opts, { systemAccount: "A" });
      assert.throws(
        () => t.server.reload(next),
        /^Error: config reload not supported for SystemAccount: old=SYS, new=A$/,
      );
      assert.equal(t.server.systemAccount?.name, "SYS");
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "in a mixed cluster with nats-server, both answer PINGs, track each other and share events",
  ignore: refIgnore,
  async fn() {
    const mine = await ours({
      serverName: "ours",
      cluster: { ...defaultOptions().cluster, host: "127.0.0.1", port: -1, name: "mix" },
    });
    const conf = ACCOUNTS_CONF.replace("server_name: srv1", "server_name: theirs") +
      `cluster { name: mix, listen: "127.0.0.1:-1", routes: ["nats://127.0.0.1:${
        mine.server.cluster!.port
      }"] }\n`;
    const ref = await reference(conf);
    try {
      await waitFor(() => mine.server.cluster!.byId.size === 1, "the route to nats-server");
      const sys = await user(mine, "sys");
      // Each learns of the other from STATSZ: nats-server counts us, we count it. Its
      // subscriptions reach us a moment after the route is up: until then a request to it has
      // no responders, and is asked again.
      await waitFor(
        async () => {
          const [m, r] = await Promise.all([
            ask(sys, `$SYS.REQ.SERVER.${mine.id}.STATSZ`),
            ask(sys, `$SYS.REQ.SERVER.${ref.id}.STATSZ`),
          ]).catch(() => [null, null]);
          return m?.statsz.active_servers === 2 && r?.statsz.active_servers === 2;
        },
        "both servers active on both",
        10000,
      );
      const pongs = (await collectReplies(sys, "$SYS.REQ.SERVER.PING", "", 2)).map(json);
      assert.deepEqual(pongs.map((p) => p.server.name).sort(), ["ours", "theirs"]);
      // Clustered, the system account exports JetStream's API too.
      const exports = (id: string) =>
        ask(sys, `$SYS.REQ.SERVER.${id}.ACCOUNTZ`, '{"account":"SYS"}').then((r) =>
          r.data.account_detail.exports.map((e: { subject: string }) => e.subject).sort()
        );
      assert.deepEqual(await exports(mine.id), await exports(ref.id));
      // An account's CONNZ asked on nats-server is answered by both, through its import.
      const theirA = await user(ref, "a");
      const ourA = await user(mine, "a");
      const conns = (await collectReplies(theirA, "$SYS.REQ.SERVER.PING.CONNZ", "", 2)).map(json);
      assert.deepEqual(conns.map((c) => c.server.name).sort(), ["ours", "theirs"]);
      assert.deepEqual(conns.map((c) => c.data.num_connections), [1, 1]);
      // A CONNECT on our side reaches a system user on theirs.
      const theirSys = await user(ref, "sys");
      const ev = theirSys.subscribe("$SYS.ACCOUNT.B.CONNECT", { max: 1 });
      await theirSys.flush();
      await waitFor(
        () =>
          mine.server.accounts.get("SYS")!.sublist.match("$SYS.ACCOUNT.B.CONNECT").psubs.length > 0,
        "their interest on our side",
      );
      const b = await user(mine, "b");
      for await (const m of ev) assert.equal(json(m).server.name, "ours");
      await Promise.all([sys.close(), theirA.close(), ourA.close(), theirSys.close(), b.close()]);
    } finally {
      await ref.stop();
      await mine.stop();
    }
  },
});
