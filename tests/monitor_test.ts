/**
 * Monitoring endpoints: exact JSON from known traffic, every query parameter, paging and sorting,
 * closed connections, JSONP, nats-server's error texts, HTTPS, /metrics, and (when nats-server is
 * installed) field names and order checked against the real server.
 */

import assert from "node:assert/strict";
import { RawClient, REFERENCE, startServer, type TestServer, waitFor } from "./helpers.ts";
import { defaultOptions, defaultTlsOptions, mergeOptions } from "../src/options.ts";
import { Server } from "../src/server.ts";
import { MAX_LIST_SIZE, startMonitoring } from "../src/monitor.ts";
import { goDuration, myUptime, rttString } from "../src/monitor/format.ts";
import { goJson } from "../src/go_json.ts";
import { goTime } from "../src/go_time.ts";
import { jsonShape, MemoryLogger } from "./helpers.ts";
import { RELEASE_VERSION } from "../src/version.ts";
import { ACCOUNTS, ACCOUNTS_CONF } from "./accounts_fixture.ts";
import { freePort } from "./process_helpers.ts";

const ignore = REFERENCE;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const UPTIME = /^(\d+y)?(\d+d)?(\d+h)?(\d+m)?\d+s$/;
const CERTS = new URL("../configs/certs/", import.meta.url).pathname;

interface Got {
  status: number;
  type: string;
  text: string;
}

/**
 * A server with monitoring. The exact cids and counts below assume no system account (its
 * internal clients and subscriptions shift them); system_test.ts covers monitoring with one.
 */
async function monitored(layer: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  return await startServer({
    httpHost: "127.0.0.1",
    httpPort: -1,
    noSystemAccount: true,
    ...layer,
  });
}

function mport(s: TestServer): number {
  return s.server!.monitor!.httpPort;
}

async function get(s: TestServer | number, path: string): Promise<Got> {
  const port = typeof s === "number" ? s : mport(s);
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() };
}

// deno-lint-ignore no-explicit-any
async function json(s: TestServer | number, path: string): Promise<any> {
  const g = await get(s, path);
  assert.equal(g.status, 200, `${path}: ${g.text}`);
  assert.equal(g.type, "application/json");
  return JSON.parse(g.text);
}

function connectOp(name: string): string {
  return `CONNECT {"verbose":false,"pedantic":false,"name":"${name}","lang":"deno","version":"1.0"}\r\n`;
}

async function client(port: number, name: string, ops = "", connect = true): Promise<RawClient> {
  const [c] = await RawClient.connectInfo(port);
  await c.send((connect ? connectOp(name) : "") + ops);
  await c.roundTrip();
  return c;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/**
 * Known traffic: sub1 (cid 1) subscribes to foo; sub2 (cid 2) to foo and to bar in queue q; pub
 * (cid 3) publishes 10 messages of 5 bytes to foo. Each subscriber gets all 10.
 */
async function traffic(
  s: TestServer,
): Promise<{ sub1: RawClient; sub2: RawClient; pub: RawClient }> {
  const sub1 = await client(s.port, "sub1", "SUB foo 1\r\n");
  await pause(20);
  const sub2 = await client(s.port, "sub2", "SUB foo 1\r\nSUB bar q 2\r\n");
  await pause(20);
  const pub = await client(s.port, "pub", "PUB foo 5\r\nhello\r\n".repeat(10));
  for (const c of [sub1, sub2]) {
    await c.waitText((t) => count(t, "MSG foo 1 5\r\nhello\r\n") === 10, "10 messages");
  }
  return { sub1, sub2, pub };
}

async function closeAll(...cs: RawClient[]): Promise<void> {
  for (const c of cs) await c.close();
}

// ---- Formatting ----

Deno.test("times, uptimes and durations format as nats-server's Go does", () => {
  assert.equal(goTime(Date.UTC(2026, 0, 2, 3, 4, 5, 60)), "2026-01-02T03:04:05.06Z");
  assert.equal(goTime(Date.UTC(2026, 0, 2, 3, 4, 5)), "2026-01-02T03:04:05Z");
  assert.equal(goTime(Date.UTC(2026, 0, 2, 3, 4, 5, 1) + 0.25), "2026-01-02T03:04:05.00125Z");
  assert.equal(myUptime(0), "0s");
  assert.equal(myUptime(62_999), "1m2s");
  assert.equal(myUptime(3_600_000), "1h0m0s");
  assert.equal(myUptime((2 * 86400 + 3 * 3600 + 4 * 60 + 5) * 1000), "2d3h4m5s");
  assert.equal(myUptime((366 * 86400 + 1) * 1000), "1y1d0h0m1s");
  assert.equal(goDuration(0), "0s");
  assert.equal(goDuration(500), "500ns");
  assert.equal(goDuration(235_000), "235µs");
  assert.equal(goDuration(1_500), "1.5µs");
  assert.equal(goDuration(1_737_055), "1.737055ms");
  assert.equal(goDuration(1_500_000_000), "1.5s");
  assert.equal(goDuration(62_000_000_000), "1m2s");
  assert.equal(goDuration(3_723_000_000_000), "1h2m3s");
  assert.equal(rttString(0), "0s");
  assert.equal(rttString(0.2351234), "235µs");
  assert.equal(rttString(1.737055), "1.737055ms");
  assert.equal(goJson({ s: "a>b<c&d" }, false), '{"s":"a\\u003eb\\u003cc\\u0026d"}');
});

// ---- /varz ----

/**
 * /varz as nats-server orders it, plus one field of ours: `release` (this server's own version
 * from deno.json, beside the nats-server `version` it emulates). OUR_VARZ_FIELDS lists it so the
 * comparison with the real nats-server below drops exactly that and nothing else.
 */
const OUR_VARZ_FIELDS = ["release"];
const VARZ_KEYS = [
  "server_id",
  "server_name",
  "version",
  "proto",
  "go",
  "release",
  "host",
  "port",
  "max_connections",
  "ping_interval",
  "ping_max",
  "http_host",
  "http_port",
  "http_base_path",
  "https_port",
  "auth_timeout",
  "max_control_line",
  "max_payload",
  "max_pending",
  "cluster",
  "gateway",
  "leaf",
  "mqtt",
  "websocket",
  "jetstream",
  "tls_timeout",
  "write_deadline",
  "start",
  "now",
  "uptime",
  "mem",
  "cores",
  "gomaxprocs",
  "cpu",
  "connections",
  "total_connections",
  "routes",
  "remotes",
  "leafnodes",
  "in_msgs",
  "out_msgs",
  "in_bytes",
  "out_bytes",
  "slow_consumers",
  "subscriptions",
  "http_req_stats",
  "config_load_time",
  "system_account",
];

Deno.test({
  name: "/varz reports nats-server's fields in order with exact counts from known traffic",
  ignore,
  async fn() {
    await using s = await monitored({ pingIntervalMs: 30_000, maxPayload: 4096 });
    assert.ok(s.log.lines.includes(`[INF] Starting http monitor on 127.0.0.1:${mport(s)}`));
    const { sub1, sub2, pub } = await traffic(s);
    const v = await json(s, "/varz");
    // Without a system account, nats-server leaves system_account out.
    assert.deepEqual(Object.keys(v), VARZ_KEYS.filter((k) => k !== "system_account"));
    const srv = s.server!;
    assert.equal(v.server_id, srv.id);
    assert.equal(v.server_name, srv.name);
    assert.equal(v.version, "2.9.10");
    assert.equal(v.release, RELEASE_VERSION);
    assert.equal(v.proto, 1);
    assert.equal(v.host, "127.0.0.1");
    assert.equal(v.port, s.port);
    assert.equal(v.max_connections, 65536);
    assert.equal(v.ping_interval, 30_000_000_000);
    assert.equal(v.ping_max, 2);
    assert.equal(v.http_host, "127.0.0.1");
    assert.equal(v.http_port, -1); // as nats-server: the configured value
    assert.equal(v.http_base_path, "");
    assert.equal(v.https_port, 0);
    assert.equal(v.auth_timeout, 2);
    assert.equal(v.max_control_line, 4096);
    assert.equal(v.max_payload, 4096);
    assert.equal(v.max_pending, 67108864);
    for (const k of ["cluster", "gateway", "leaf", "mqtt", "websocket", "jetstream"]) {
      assert.deepEqual(v[k], {}, k);
    }
    assert.equal(v.tls_timeout, 2);
    assert.equal(v.write_deadline, 10_000_000_000);
    assert.match(v.start, TIME);
    assert.match(v.now, TIME);
    assert.match(v.config_load_time, TIME);
    assert.ok(Date.parse(v.now) >= Date.parse(v.start));
    assert.match(v.uptime, UPTIME);
    assert.ok(v.mem > 1_000_000);
    assert.equal(v.cores, navigator.hardwareConcurrency);
    assert.equal(typeof v.cpu, "number");
    assert.equal(v.connections, 3);
    assert.equal(v.total_connections, 3);
    assert.equal(v.routes, 0);
    assert.equal(v.remotes, 0);
    assert.equal(v.leafnodes, 0);
    assert.equal(v.in_msgs, 10);
    assert.equal(v.in_bytes, 50);
    assert.equal(v.out_msgs, 20);
    assert.equal(v.out_bytes, 100);
    assert.equal(v.slow_consumers, 0);
    assert.equal(v.subscriptions, 3);
    assert.deepEqual(v.http_req_stats, { "/varz": 1 });
    assert.equal(v.system_account, undefined);

    await get(s, "/connz");
    await get(s, "/connz?sort=nope"); // counted: the error comes after the parameters decode
    await get(s, "/connz?limit=x"); // not counted, as nats-server
    await get(s, "/subscriptionsz");
    await get(s, "/");
    const v2 = await json(s, "/varz");
    assert.deepEqual(v2.http_req_stats, { "/": 1, "/connz": 2, "/subsz": 1, "/varz": 2 });
    await closeAll(sub1, sub2, pub);
  },
});

Deno.test({
  name: "/varz reports auth, limits and the cluster block from the options",
  ignore,
  async fn() {
    await using s = await monitored({
      username: "u",
      password: "p",
      authTimeout: 1.5,
      maxSubs: 7,
      cluster: { ...defaultOptions().cluster, name: "c1", host: "127.0.0.1", port: -1 },
      routes: ["nats-route://a:b@127.0.0.1:7001", "nats://127.0.0.1:7002"],
    });
    const v = await json(s, "/varz");
    assert.equal(v.auth_required, true);
    assert.equal(v.max_subscriptions, 7);
    assert.equal(v.auth_timeout, 1.5);
    assert.deepEqual(Object.keys(v).filter((k) => !OUR_VARZ_FIELDS.includes(k)).slice(7, 11), [
      "auth_required",
      "max_connections",
      "max_subscriptions",
      "ping_interval",
    ]);
    assert.deepEqual(v.cluster, {
      name: "c1",
      addr: "127.0.0.1",
      cluster_port: s.server!.cluster!.port,
      auth_timeout: 2,
      urls: ["127.0.0.1:7001", "127.0.0.1:7002"],
      tls_timeout: 2,
    });
  },
});

// ---- /connz ----

const CONN_KEYS = [
  "cid",
  "kind",
  "type",
  "ip",
  "port",
  "start",
  "last_activity",
  "rtt",
  "uptime",
  "idle",
  "pending_bytes",
  "in_msgs",
  "out_msgs",
  "in_bytes",
  "out_bytes",
  "subscriptions",
  "name",
  "lang",
  "version",
];

Deno.test({
  name: "/connz lists connections with their counts, paging and default limit",
  ignore,
  async fn() {
    await using s = await monitored();
    const { sub1, sub2, pub } = await traffic(s);
    const c = await json(s, "/connz");
    assert.deepEqual(Object.keys(c), [
      "server_id",
      "now",
      "num_connections",
      "total",
      "offset",
      "limit",
      "connections",
    ]);
    assert.equal(c.server_id, s.server!.id);
    assert.match(c.now, TIME);
    assert.equal(c.num_connections, 3);
    assert.equal(c.total, 3);
    assert.equal(c.offset, 0);
    assert.equal(c.limit, 1024);
    const [a, b, p] = c.connections;
    assert.deepEqual(Object.keys(a), CONN_KEYS);
    assert.deepEqual([a.cid, b.cid, p.cid], [1, 2, 3]);
    assert.deepEqual([a.name, b.name, p.name], ["sub1", "sub2", "pub"]);
    assert.equal(a.kind, "Client");
    assert.equal(a.type, "nats");
    assert.equal(a.ip, "127.0.0.1");
    assert.equal(typeof a.port, "number");
    assert.equal(a.lang, "deno");
    assert.equal(a.version, "1.0");
    assert.match(a.start, TIME);
    assert.match(a.last_activity, TIME);
    assert.match(a.uptime, UPTIME);
    assert.match(a.idle, UPTIME);
    assert.match(a.rtt, /^(0s|[\d.]+(ns|µs|ms|s))$/);
    assert.deepEqual(
      [a.subscriptions, a.in_msgs, a.in_bytes, a.out_msgs, a.out_bytes, a.pending_bytes],
      [1, 0, 0, 10, 50, 0],
    );
    assert.deepEqual(
      [b.subscriptions, b.in_msgs, b.in_bytes, b.out_msgs, b.out_bytes],
      [2, 0, 0, 10, 50],
    );
    assert.deepEqual(
      [p.subscriptions, p.in_msgs, p.in_bytes, p.out_msgs, p.out_bytes],
      [0, 10, 50, 0, 0],
    );
    assert.equal("subscriptions_list" in a, false);

    const page = await json(s, "/connz?limit=1&offset=1");
    assert.deepEqual([page.num_connections, page.total, page.offset, page.limit], [1, 3, 1, 1]);
    assert.equal(page.connections[0].cid, 2);
    const past = await json(s, "/connz?offset=10");
    assert.deepEqual([past.num_connections, past.total, past.connections], [0, 3, []]);
    const neg = await json(s, "/connz?offset=-3&limit=-5");
    assert.deepEqual([neg.offset, neg.limit, neg.num_connections], [0, 1024, 3]);
    const capped = await json(s, "/connz?limit=99999999");
    assert.equal(capped.limit, MAX_LIST_SIZE);
    await closeAll(sub1, sub2, pub);
  },
});

Deno.test({
  name: "/connz sorts by every nats-server option",
  ignore,
  async fn() {
    await using s = await monitored();
    const { sub1, sub2, pub } = await traffic(s);
    const order = async (sort: string) =>
      (await json(s, `/connz?sort=${sort}`)).connections.map((c: { cid: number }) => c.cid);
    assert.deepEqual(await order("cid"), [1, 2, 3]);
    assert.deepEqual(await order("start"), [1, 2, 3]);
    assert.deepEqual(await order("subs"), [2, 1, 3]);
    assert.deepEqual(await order("pending"), [1, 2, 3]);
    assert.deepEqual(await order("msgs_to"), [1, 2, 3]);
    assert.deepEqual(await order("msgs_from"), [3, 1, 2]);
    assert.deepEqual(await order("bytes_to"), [1, 2, 3]);
    assert.deepEqual(await order("bytes_from"), [3, 1, 2]);
    // Deliveries count as activity (as in nats-server), so the subscribers' last activity ties
    // with the publisher's or follows it: check the order, not the cids.
    for (const [sort, dir] of [["last", -1], ["idle", 1]] as const) {
      const byLast = (await json(s, `/connz?sort=${sort}`)).connections.map(
        (c: { last_activity: string }) => Date.parse(c.last_activity),
      );
      assert.deepEqual(byLast, [...byLast].sort((x: number, y: number) => dir * (x - y)), sort);
    }
    assert.deepEqual(await order("uptime"), [3, 2, 1]);
    await closeAll(sub1, sub2, pub);
  },
});

Deno.test({
  name: "/connz shows subscriptions as a list or in detail, and one connection by cid",
  ignore,
  async fn() {
    await using s = await monitored();
    const { sub1, sub2, pub } = await traffic(s);
    const list = await json(s, "/connz?subs=1");
    assert.deepEqual(list.connections[1].subscriptions_list, ["foo", "bar"]);
    assert.equal("subscriptions_list" in list.connections[2], false); // no subs: omitted
    assert.deepEqual(Object.keys(list.connections[0]), [...CONN_KEYS, "subscriptions_list"]);
    const det = await json(s, "/connz?subs=detail");
    assert.deepEqual(det.connections[1].subscriptions_list_detail, [
      { subject: "foo", sid: "1", msgs: 10, cid: 2 },
      { subject: "bar", qgroup: "q", sid: "2", msgs: 0, cid: 2 },
    ]);
    assert.equal(
      (await json(s, "/connz?subs=DETAIL")).connections[0].subscriptions_list_detail
        .length,
      1,
    );
    assert.equal(
      "subscriptions_list" in (await json(s, "/connz?subs=false")).connections[0],
      false,
    );
    const one = await json(s, "/connz?cid=2");
    assert.deepEqual([one.num_connections, one.total, one.limit], [1, 3, 1]);
    assert.equal(one.connections[0].name, "sub2");
    const none = await json(s, "/connz?cid=42");
    assert.deepEqual([none.num_connections, none.connections], [0, []]);
    const mqtt = await json(s, "/connz?mqtt_client=x");
    assert.deepEqual([mqtt.num_connections, mqtt.total], [0, 3]);
    await sub2.send("UNSUB 2 5\r\n");
    await sub2.roundTrip();
    const max = await json(s, "/connz?cid=2&subs=detail");
    assert.deepEqual(max.connections[0].subscriptions_list_detail[1], {
      subject: "bar",
      qgroup: "q",
      sid: "2",
      msgs: 0,
      max: 5,
      cid: 2,
    });
    await closeAll(sub1, sub2, pub);
  },
});

Deno.test({
  name: "/connz?auth=1 shows the authorized user and user= filters by it",
  ignore,
  async fn() {
    await using s = await monitored({
      users: [{ username: "alice", password: "a" }, { username: "bob", password: "b" }],
    });
    const conn = (u: string, p: string) =>
      `CONNECT {"verbose":false,"pedantic":false,"user":"${u}","pass":"${p}"}\r\n`;
    const a = await client(s.port, "", conn("alice", "a"), false);
    const b = await client(s.port, "", conn("bob", "b"), false);
    const plain = await json(s, "/connz");
    assert.equal("authorized_user" in plain.connections[0], false);
    const auth = await json(s, "/connz?auth=true");
    assert.deepEqual(auth.connections.map((c: { authorized_user: string }) => c.authorized_user), [
      "alice",
      "bob",
    ]);
    const bob = await json(s, "/connz?auth=1&user=bob");
    assert.deepEqual([bob.num_connections, bob.total], [1, 2]);
    assert.equal(bob.connections[0].authorized_user, "bob");
    assert.equal((await json(s, "/varz")).auth_required, true);
    await closeAll(a, b);
  },
});

Deno.test({
  name: "/connz?state=closed lists closed connections with stop and reason",
  ignore,
  async fn() {
    await using s = await monitored();
    const { sub1, sub2, pub } = await traffic(s);
    await pub.close();
    await waitFor(() => s.server!.clients.size === 2, "pub to close");
    await pause(20);
    const [bad] = await RawClient.connectInfo(s.port);
    await bad.send(connectOp("bad") + "FOO\r\n");
    await bad.waitClosed();
    await waitFor(() => s.server!.closedClients.length === 2, "two closed connections");

    const closed = await json(s, "/connz?state=closed&subs=1");
    assert.deepEqual([closed.num_connections, closed.total], [2, 2]);
    const [p, x] = closed.connections;
    assert.deepEqual(Object.keys(p).slice(0, 10), [
      "cid",
      "kind",
      "type",
      "ip",
      "port",
      "start",
      "last_activity",
      "stop",
      "reason",
      "rtt",
    ]);
    assert.equal(p.cid, 3);
    assert.equal(p.reason, "Client Closed");
    assert.match(p.stop, TIME);
    assert.deepEqual([p.in_msgs, p.in_bytes], [10, 50]);
    assert.equal(x.cid, 4);
    assert.equal(x.reason, "Protocol Violation");
    assert.ok(Date.parse(x.stop) >= Date.parse(p.stop));

    const byStop = await json(s, "/connz?state=closed&sort=stop");
    assert.deepEqual(byStop.connections.map((c: { cid: number }) => c.cid), [4, 3]);
    const byReason = await json(s, "/connz?state=closed&sort=reason");
    assert.deepEqual(byReason.connections.map((c: { reason: string }) => c.reason), [
      "Client Closed",
      "Protocol Violation",
    ]);
    const all = await json(s, "/connz?state=all");
    assert.deepEqual([all.num_connections, all.total], [4, 4]);
    assert.deepEqual(all.connections.map((c: { cid: number }) => c.cid), [1, 2, 3, 4]);
    assert.equal("stop" in all.connections[0], false);
    const open = await json(s, "/connz?state=OPEN");
    assert.deepEqual([open.num_connections, open.total], [2, 2]);
    const one = await json(s, "/connz?state=closed&cid=3");
    assert.equal(one.connections[0].reason, "Client Closed");
    // nats-server's quirk: with state=any, a cid is looked up among closed connections only.
    const anyOpen = await json(s, "/connz?state=any&cid=1");
    assert.deepEqual([anyOpen.num_connections, anyOpen.total, anyOpen.connections], [0, 4, []]);
    const anyClosed = await json(s, "/connz?state=any&cid=3");
    assert.equal(anyClosed.connections[0].cid, 3);
    await closeAll(sub1, sub2, bad);
  },
});

// ---- Bad parameters ----

Deno.test({
  name: "bad query values answer 400 with nats-server's texts",
  ignore,
  async fn() {
    await using s = await monitored();
    const cases: [string, string][] = [
      ["/connz?sort=x", "invalid sorting option: x"],
      ["/connz?sort=stop", "sort by stop only valid on closed connections"],
      ["/connz?sort=reason&state=all", "sort by reason only valid on closed connections"],
      ["/connz?state=foo", "Error decoding state for foo"],
      [
        "/connz?limit=abc",
        `Error decoding int for 'limit': strconv.Atoi: parsing "abc": invalid syntax`,
      ],
      [
        "/connz?offset=1.5",
        `Error decoding int for 'offset': strconv.Atoi: parsing "1.5": invalid syntax`,
      ],
      [
        "/connz?limit=99999999999999999999",
        `Error decoding int for 'limit': strconv.Atoi: parsing "99999999999999999999": value out of range`,
      ],
      [
        "/connz?subs=maybe",
        `Error decoding boolean for 'subs': strconv.ParseBool: parsing "maybe": invalid syntax`,
      ],
      [
        "/connz?auth=yes",
        `Error decoding boolean for 'auth': strconv.ParseBool: parsing "yes": invalid syntax`,
      ],
      [
        "/connz?cid=-1",
        `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "-1": invalid syntax`,
      ],
      [
        "/subsz?test=foo.*",
        "invalid test subject, must be valid publish subject: foo.*",
      ],
      [
        "/subsz?limit=x",
        `Error decoding int for 'limit': strconv.Atoi: parsing "x": invalid syntax`,
      ],
      [
        "/routez?subs=x",
        `Error decoding boolean for 'subs': strconv.ParseBool: parsing "x": invalid syntax`,
      ],
      [
        "/leafz?subs=2",
        `Error decoding boolean for 'subs': strconv.ParseBool: parsing "2": invalid syntax`,
      ],
      [
        "/gatewayz?accs=y",
        `Error decoding boolean for 'accs': strconv.ParseBool: parsing "y": invalid syntax`,
      ],
      [
        "/jsz?limit=z",
        `Error decoding int for 'limit': strconv.Atoi: parsing "z": invalid syntax`,
      ],
      [
        "/healthz?js-enabled-only=x",
        `Error decoding boolean for 'js-enabled-only': strconv.ParseBool: parsing "x": invalid syntax`,
      ],
      ["/accountz?acc=nope", "Account nope does not exist"],
      ["/varz?callback=alert(1)//", "invalid callback name: alert(1)//"],
    ];
    for (const [path, text] of cases) {
      const g = await get(s, path);
      assert.equal(g.status, 400, path);
      assert.equal(g.text, text, path);
      assert.equal(g.type, "text/plain; charset=utf-8", path);
    }
    const nf = await get(s, "/nope");
    assert.deepEqual([nf.status, nf.text], [404, "404 page not found\n"]);
    assert.equal((await get(s, "/varz/")).status, 404);
    // Still serving after all of that.
    assert.equal((await json(s, "/healthz")).status, "ok");
  },
});

// ---- JSONP ----

Deno.test({
  name: "?callback= wraps every JSON endpoint as JSONP",
  ignore,
  async fn() {
    await using s = await monitored();
    for (
      const path of [
        "/varz",
        "/connz",
        "/routez",
        "/subsz",
        "/gatewayz",
        "/leafz",
        "/accountz",
        "/accstatz",
        "/jsz",
        "/healthz",
      ]
    ) {
      const g = await get(s, `${path}?callback=cb`);
      assert.equal(g.status, 200, path);
      assert.equal(g.type, "application/javascript", path);
      assert.ok(g.text.startsWith("cb(") && g.text.endsWith(")"), path);
      JSON.parse(g.text.slice(3, -1));
    }
    const ns = await get(s, "/varz?callback=jQuery.cb_1");
    assert.ok(ns.text.startsWith('jQuery.cb_1({\n  "server_id"'));
    const plain = await get(s, "/varz?callback=");
    assert.equal(plain.type, "application/json");
  },
});

// ---- /subsz ----

Deno.test({
  name: "/subsz reports sublist stats, and lists, filters and pages subscriptions",
  ignore,
  async fn() {
    await using s = await monitored();
    const { sub1, sub2, pub } = await traffic(s);
    const sl = s.server!.globalAccount.sublist;
    const st = await json(s, "/subsz");
    assert.deepEqual(Object.keys(st), [
      "num_subscriptions",
      "num_cache",
      "num_inserts",
      "num_removes",
      "num_matches",
      "cache_hit_rate",
      "max_fanout",
      "avg_fanout",
    ]);
    assert.equal(st.num_subscriptions, 3);
    assert.equal(st.num_inserts, 3);
    assert.equal(st.num_removes, 0);
    assert.equal(st.num_cache, sl.cacheSize);
    assert.ok(st.num_cache >= 1);
    assert.equal(st.num_matches, sl.matches);
    assert.equal(st.cache_hit_rate, sl.matches ? sl.cacheHits / sl.matches : 0);
    if ("cacheFanout" in sl) {
      assert.equal(st.max_fanout, 2);
      assert.equal(st.avg_fanout, 2);
    }
    assert.deepEqual(await json(s, "/subscriptionsz"), await json(s, "/subsz"));

    const all = await json(s, "/subsz?subs=1");
    assert.deepEqual(Object.keys(all), [
      "server_id",
      "now",
      ...Object.keys(st),
      "total",
      "offset",
      "limit",
      "subscriptions_list",
    ]);
    assert.deepEqual([all.total, all.offset, all.limit], [3, 0, 1024]);
    const key = (d: { cid: number; sid: string }) => `${d.cid}/${d.sid}`;
    assert.deepEqual(all.subscriptions_list.map(key).sort(), ["1/1", "2/1", "2/2"]);
    const bar = await json(s, "/subsz?subs=1&test=bar");
    assert.deepEqual(bar.subscriptions_list, [
      { account: "$G", subject: "bar", qgroup: "q", sid: "2", msgs: 0, cid: 2 },
    ]);
    const foo = await json(s, "/subsz?subs=1&test=foo");
    assert.deepEqual(foo.subscriptions_list.map(key).sort(), ["1/1", "2/1"]);
    assert.equal(foo.subscriptions_list[0].msgs, 10);
    const page = await json(s, "/subsz?subs=1&offset=1&limit=1");
    // nats-server's quirk: total is the size of the page.
    assert.deepEqual([page.total, page.offset, page.limit], [1, 1, 1]);
    assert.equal(page.subscriptions_list.length, 1);
    // Nothing to list: only the stats, as nats-server.
    assert.deepEqual(
      Object.keys(await json(s, "/subsz?subs=1&test=nothing.here")),
      Object.keys(st),
    );
    assert.deepEqual(Object.keys(await json(s, "/subsz?subs=1&offset=5")), Object.keys(st));
    assert.equal((await json(s, "/subsz?acc=other")).num_subscriptions, 0);
    await closeAll(sub1, sub2, pub);
  },
});

// ---- The other endpoints ----

Deno.test({
  name: "/routez, /gatewayz, /leafz, /accountz, /accstatz, /jsz and /healthz answer as nats-server",
  ignore,
  async fn() {
    await using s = await monitored({ noSystemAccount: false });
    const id = s.server!.id;
    const rz = await json(s, "/routez?subs=1");
    assert.deepEqual(Object.keys(rz), ["server_id", "now", "num_routes", "routes"]);
    assert.deepEqual([rz.server_id, rz.num_routes, rz.routes], [id, 0, []]);
    assert.equal((await json(s, "/routez?subs=detail")).num_routes, 0);
    const gw = await json(s, "/gatewayz");
    assert.deepEqual(Object.keys(gw), [
      "server_id",
      "now",
      "outbound_gateways",
      "inbound_gateways",
    ]);
    assert.deepEqual([gw.outbound_gateways, gw.inbound_gateways], [{}, {}]);
    const lf = await json(s, "/leafz");
    assert.deepEqual([lf.server_id, lf.leafnodes, lf.leafs], [id, 0, null]);
    const az = await json(s, "/accountz");
    assert.deepEqual([az.system_account, az.accounts], ["$SYS", ["$G", "$SYS"]]);
    const c = await client(s.port, "x", "SUB a 1\r\n");
    const g = await json(s, "/accountz?acc=$G");
    assert.equal(g.account_detail.account_name, "$G");
    assert.equal(g.account_detail.client_connections, 1);
    // The client's and the three imports every account gets from the system account.
    assert.equal(g.account_detail.subscriptions, 4);
    assert.equal(g.account_detail.sublist_stats.num_subscriptions, 4);
    const sys = await json(s, "/accountz?acc=$SYS");
    assert.equal(sys.account_detail.is_system, true);
    const stz = await json(s, "/accstatz");
    assert.deepEqual(stz.account_statz, [{
      acc: "$G",
      conns: 1,
      leafnodes: 0,
      total_conns: 1,
      sent: { msgs: 0, bytes: 0 },
      received: { msgs: 0, bytes: 0 },
      slow_consumers: 0,
    }]);
    assert.equal((await json(s, "/accstatz?unused=1")).account_statz.length, 2);
    const js = await json(s, "/jsz?accounts=1");
    assert.equal(js.disabled, true);
    assert.deepEqual(js.config, { max_memory: 0, max_storage: 0 });
    assert.deepEqual(js.api, { total: 0, errors: 0 });
    const hz = await get(s, "/healthz");
    assert.deepEqual([hz.status, hz.text, hz.type], [200, '{"status":"ok"}', "application/json"]);
    await c.close();
  },
});

Deno.test({
  name: "/ is the HTML index of the endpoints, and http_base_path moves them all",
  ignore,
  async fn() {
    await using s = await monitored();
    const root = await get(s, "/");
    assert.equal(root.status, 200);
    assert.equal(root.type, "text/html; charset=utf-8");
    for (const p of ["varz", "connz", "routez", "subsz", "healthz", "dashboard", "metrics"]) {
      assert.ok(root.text.includes(`<a href=./${p}`), p);
    }
    assert.ok(root.text.includes("v2.9.10"));

    await using b = await monitored({ httpBasePath: "/mon/" });
    const v = await json(b, "/mon/varz");
    assert.equal(v.http_base_path, "/mon");
    assert.equal((await get(b, "/varz")).status, 404);
    assert.equal((await get(b, "/mon/")).status, 404);
    const idx = await get(b, "/mon");
    assert.ok(idx.text.includes("<a href=./mon/connz>"));
    assert.equal((await json(b, "/mon/connz")).num_connections, 0);
    assert.equal((await get(b, "/mon/dashboard")).status, 200);
  },
});

// ---- /metrics ----

Deno.test({
  name: "/metrics exposes the counters in Prometheus text format",
  ignore,
  async fn() {
    await using s = await monitored();
    const { sub1, sub2, pub } = await traffic(s);
    const g = await get(s, "/metrics");
    assert.equal(g.status, 200);
    assert.equal(g.type, "text/plain; version=0.0.4; charset=utf-8");
    const values = new Map<string, number>();
    for (const line of g.text.trimEnd().split("\n")) {
      if (line.startsWith("#")) {
        assert.match(line, /^# (HELP|TYPE) [a-z_]+ .+$/);
        continue;
      }
      const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
      assert.ok(m, line);
      if (m[1] !== "gnatsd_varz_http_req_stats") values.set(m[1], Number(m[3]));
    }
    const id = s.server!.id;
    assert.ok(g.text.includes(`gnatsd_varz_connections{server_id="${id}"} 3\n`));
    assert.equal(values.get("gnatsd_varz_servers"), 1);
    assert.equal(values.get("gnatsd_varz_connections"), 3);
    assert.equal(values.get("gnatsd_varz_total_connections"), 3);
    assert.equal(values.get("gnatsd_varz_in_msgs"), 10);
    assert.equal(values.get("gnatsd_varz_out_msgs"), 20);
    assert.equal(values.get("gnatsd_varz_in_bytes"), 50);
    assert.equal(values.get("gnatsd_varz_out_bytes"), 100);
    assert.equal(values.get("gnatsd_varz_slow_consumers"), 0);
    assert.equal(values.get("gnatsd_varz_routes"), 0);
    assert.equal(values.get("gnatsd_varz_subscriptions"), 3);
    assert.ok(values.get("gnatsd_varz_mem")! > 0);
    assert.ok(values.get("gnatsd_varz_cpu")! >= 0);
    assert.ok(g.text.includes("# TYPE gnatsd_varz_in_msgs counter\n"));
    assert.ok(g.text.includes(`gnatsd_varz_http_req_stats{server_id="${id}",path="/metrics"} 1`));
    await closeAll(sub1, sub2, pub);
  },
});

// ---- HTTPS, listener errors, shutdown ----

Deno.test({
  name: "https_port serves the endpoints over TLS with the configured certificate",
  ignore,
  async fn() {
    const tlsConfig = {
      ...defaultTlsOptions(),
      certFile: CERTS + "server-cert.pem",
      keyFile: CERTS + "server-key.pem",
    };
    await using s = await startServer({ httpHost: "127.0.0.1", httpsPort: -1, tlsConfig });
    const mon = s.server!.monitor!;
    assert.equal(mon.httpPort, 0);
    assert.ok(mon.httpsPort > 0);
    assert.ok(s.log.lines.includes(`[INF] Starting https monitor on 127.0.0.1:${mon.httpsPort}`));
    const http = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(CERTS + "ca.pem")] });
    try {
      const r = await fetch(`https://localhost:${mon.httpsPort}/varz`, { client: http });
      const v = await r.json();
      assert.equal(r.status, 200);
      assert.equal(v.https_port, -1);
      assert.equal(v.http_port, 0);
      assert.equal(v.server_id, s.server!.id);
      // A client that does not trust the CA is refused.
      await assert.rejects(() => fetch(`https://localhost:${mon.httpsPort}/varz`));
    } finally {
      http.close();
    }
  },
});

Deno.test("monitoring refuses both ports, HTTPS without a certificate, and a busy port", () => {
  const log = new MemoryLogger();
  const server = (layer: Parameters<typeof mergeOptions>[1]) =>
    new Server(mergeOptions(defaultOptions(), { httpHost: "127.0.0.1", ...layer }), log);
  assert.throws(
    () => startMonitoring(server({ httpPort: 8222, httpsPort: 8223 })),
    { message: "can't specify both HTTP (8222) and HTTPs (8223) ports" },
  );
  assert.throws(
    () => startMonitoring(server({ httpsPort: -1 })),
    { message: "TLS cert and key required for HTTPS" },
  );
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (busy.addr as Deno.NetAddr).port;
    assert.throws(
      () => startMonitoring(server({ httpPort: port })),
      (e: Error) => e.message.startsWith("can't listen to the monitor port: "),
    );
  } finally {
    busy.close();
  }
});

Deno.test({
  name: "shutdown closes the monitoring port",
  ignore,
  async fn() {
    const s = await monitored();
    const port = mport(s);
    assert.equal((await json(port, "/healthz")).status, "ok");
    await s[Symbol.asyncDispose]();
    await assert.rejects(() => fetch(`http://127.0.0.1:${port}/healthz`));
  },
});

// ---- Against the real nats-server ----

async function natsServerInstalled(): Promise<boolean> {
  try {
    const out = await new Deno.Command("nats-server", { args: ["--version"], stdout: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "field names and order match the real nats-server",
  ignore: REFERENCE || !(await natsServerInstalled()),
  async fn() {
    const port = freePort();
    const http = freePort();
    const child = new Deno.Command("nats-server", {
      args: ["-a", "127.0.0.1", "-p", String(port), "-m", String(http)],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitFor(async () => {
        try {
          await (await fetch(`http://127.0.0.1:${http}/healthz`)).body?.cancel();
          return true;
        } catch {
          return false;
        }
      }, "nats-server monitoring");
      await using s = await monitored({ noSystemAccount: false });
      const ops = "SUB foo 1\r\nSUB bar q 2\r\nUNSUB 2 5\r\nPUB foo 5\r\nhello\r\n";
      const theirs = await client(port, "c1", ops);
      const ours = await client(s.port, "c1", ops);
      for (
        const path of [
          "/varz",
          "/connz?subs=detail",
          "/connz?subs=1",
          "/routez",
          "/subsz",
          "/subsz?subs=1&test=bar",
          "/gatewayz",
          "/leafz",
          "/accountz",
          "/accstatz",
          "/jsz",
          "/healthz",
        ]
      ) {
        const want = jsonShape(await json(http, path));
        let got = jsonShape(await json(s, path));
        if (path === "/varz") got = got.filter((k) => !OUR_VARZ_FIELDS.includes(k));
        assert.deepEqual(got, want, path);
      }
      await closeAll(theirs, ours);
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});

Deno.test({
  name: "with several accounts, field names, order and errors match the real nats-server",
  ignore: REFERENCE || !(await natsServerInstalled()),
  async fn() {
    const port = freePort();
    const http = freePort();
    const conf = await Deno.makeTempFile({ suffix: ".conf" });
    await Deno.writeTextFile(
      conf,
      `listen: "127.0.0.1:${port}"\nhttp: "127.0.0.1:${http}"\n${ACCOUNTS_CONF}`,
    );
    const child = new Deno.Command("nats-server", {
      args: ["-c", conf],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitFor(async () => {
        try {
          await (await fetch(`http://127.0.0.1:${http}/healthz`)).body?.cancel();
          return true;
        } catch {
          return false;
        }
      }, "nats-server monitoring");
      await using s = await monitored({ ...ACCOUNTS, noSystemAccount: false });
      // The same clients on both: a in A (subscribed to the service), b in B, one closed b.
      const login = (u: string, ops = "") =>
        `CONNECT {"verbose":false,"pedantic":false,"user":"${u}","pass":"${u}","name":"${u}",` +
        `"lang":"deno","version":"1.0"}\r\n${ops}`;
      const clients: RawClient[] = [];
      for (const p of [port, s.port]) {
        for (const [u, ops] of [["a", "SUB svc.> 1\r\n"], ["b", "SUB st.x 1\r\n"], ["b", ""]]) {
          const [c] = await RawClient.connectInfo(p);
          await c.send(login(u, ops));
          await c.roundTrip();
          clients.push(c);
        }
      }
      // The last b of each server goes away, to be listed as closed.
      await clients[2].close();
      await clients[5].close();
      await waitFor(() => s.server!.closedClients.length === 1, "the closed connection");
      for (
        const path of [
          "/varz",
          "/accountz",
          "/accountz?acc=A",
          "/accountz?acc=B",
          "/accountz?acc=SYS",
          "/accountz?acc=$G",
          "/accstatz",
          "/accstatz?unused=1",
          "/connz?auth=1&subs=detail",
          "/connz?acc=A",
          "/connz?acc=B&state=all&auth=1&subs=detail",
          "/connz?acc=ZZ",
          "/connz?acc=$G&state=closed",
          "/subsz?acc=B&subs=1",
          "/subsz?subs=1",
          "/subsz?acc=A",
        ]
      ) {
        const want = jsonShape(await json(http, path));
        const got = jsonShape(await json(s, path));
        assert.deepEqual(got, want, path);
      }
      const theirs = await get(http, "/accountz?acc=ZZ");
      const mine = await get(s, "/accountz?acc=ZZ");
      assert.deepEqual([mine.status, mine.text], [theirs.status, theirs.text]);
      await closeAll(...clients);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(conf);
    }
  },
});
