/**
 * JetStream domains across leafnodes: a hub and a leaf each with JetStream and a domain reach
 * each other's streams, consumers and KV buckets through `$JS.<domain>.API`, with the official
 * client's `jetstreamManager(nc, { domain })`, in every mix of our server and nats-server 2.9.10;
 * the plain API stays on its side; the log lines and denies are nats-server's.
 */

import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { HAVE_NATS_SERVER, RawClient, waitFor } from "./helpers.ts";
import { freePort } from "./process_helpers.ts";
import { type Kind, logged, type Node, start } from "./leafnode_mixed.ts";
import { parseConfigString } from "../src/config.ts";
import { defaultOptions, mergeOptions, validateOptions } from "../src/options.ts";

/** The line each side logs once it decided what JetStream may cross the connection. */
const DECIDED = /adding deny|Adding deny|adding denies|Skipping deny|Extending JetStream/;

const hubConf = (leafPort: number, js: string) =>
  `server_name: HUB\n${js}\nleafnodes { listen: "127.0.0.1:${leafPort}" }`;
const leafConf = (leafPort: number, js: string, remote = "") =>
  `server_name: LEAF\n${js}\nleafnodes { remotes [ { url: "nats-leaf://${remote}127.0.0.1:${leafPort}"` +
  `${remote === "" ? "" : ", account: SYS"} } ] }`;
const jsDomain = (domain: string) => `jetstream { store_dir: "STORE", domain: ${domain} }`;

/** A hub and a leaf of the given kinds, connected (the leaf logged its JetStream decision). */
async function topology(hubKind: Kind, leafKind: Kind, hubJs: string, leafJs: string) {
  const lp = freePort();
  const hub = await start(hubKind, hubConf(lp, hubJs));
  try {
    const leaf = await start(leafKind, leafConf(lp, leafJs));
    try {
      await logged(hub, DECIDED);
      await logged(leaf, DECIDED);
      return { hub, leaf };
    } catch (e) {
      await leaf[Symbol.asyncDispose]();
      throw e;
    }
  } catch (e) {
    await hub[Symbol.asyncDispose]();
    throw e;
  }
}

/** Retries `fn` until it succeeds: interest crosses the leafnode a little after it connects. */
async function eventually<T>(fn: () => Promise<T>, what: string): Promise<T> {
  let last: unknown;
  let out: T | undefined;
  await waitFor(async () => {
    try {
      out = await fn();
      return true;
    } catch (e) {
      last = e;
      return false;
    }
  }, `${what} (last error: ${last})`);
  return out!;
}

async function withClients(
  a: Node,
  b: Node,
  fn: (na: NatsConnection, nb: NatsConnection) => Promise<void>,
): Promise<void> {
  const na = await connect({ servers: `127.0.0.1:${a.port}` });
  const nb = await connect({ servers: `127.0.0.1:${b.port}` });
  try {
    await fn(na, nb);
  } finally {
    await na.close();
    await nb.close();
  }
}

const MIXES: [Kind, Kind][] = [
  ["ours", "ours"],
  ["ours", "nats-server"],
  ["nats-server", "ours"],
  ["nats-server", "nats-server"],
];

for (const [hubKind, leafKind] of MIXES) {
  Deno.test({
    name: `hub (${hubKind}, domain hub) and leaf (${leafKind}, domain leaf) use each other's ` +
      "streams, consumers and KV through the domain",
    ignore: (hubKind !== "ours" || leafKind !== "ours") && !HAVE_NATS_SERVER,
    async fn() {
      const t = await topology(hubKind, leafKind, jsDomain("hub"), jsDomain("leaf"));
      await using hub = t.hub;
      await using leaf = t.leaf;
      await withClients(hub, leaf, async (nh, nl) => {
        // Each side makes a stream of its own, locally.
        const jsmHub = await jetstreamManager(nh);
        await jsmHub.streams.add({ name: "HUBS", subjects: ["hub.>"] });
        const jsmLeaf = await jetstreamManager(nl);
        await jsmLeaf.streams.add({ name: "LEAFS", subjects: ["leaf.>"] });

        // From the hub, the leaf's domain: account info, streams, a new stream.
        const toLeaf = await eventually(
          () => jetstreamManager(nh, { domain: "leaf", timeout: 1000 }),
          "the leaf's domain from the hub",
        );
        assert.equal((await toLeaf.getAccountInfo()).domain, "leaf");
        assert.deepEqual(await toLeaf.streams.names().next(), ["LEAFS"]);
        await toLeaf.streams.add({ name: "MADE_FROM_HUB", subjects: ["fromhub.>"] });
        assert.deepEqual((await jsmLeaf.streams.names().next()).sort(), ["LEAFS", "MADE_FROM_HUB"]);

        // From the leaf, the hub's domain.
        const toHub = await eventually(
          () => jetstreamManager(nl, { domain: "hub", timeout: 1000 }),
          "the hub's domain from the leaf",
        );
        assert.equal((await toHub.getAccountInfo()).domain, "hub");
        assert.deepEqual(await toHub.streams.names().next(), ["HUBS"]);

        // Without a domain each client sees its own JetStream only.
        assert.deepEqual(await jsmHub.streams.names().next(), ["HUBS"]);
        assert.equal((await jsmLeaf.getAccountInfo()).domain, "leaf");

        // Messages stored on the leaf, read from the hub through a pull consumer (acks cross).
        const jsLeaf = jetstream(nl);
        for (let i = 0; i < 5; i++) await jsLeaf.publish("leaf.orders", `o${i}`);
        await toLeaf.consumers.add("LEAFS", {
          durable_name: "C",
          ack_policy: AckPolicy.Explicit,
        });
        const c = await jetstream(nh, { domain: "leaf" }).consumers.get("LEAFS", "C");
        const got: string[] = [];
        const iter = await c.fetch({ max_messages: 5, expires: 2000 });
        for await (const m of iter) {
          got.push(m.string());
          await m.ackAck();
        }
        assert.deepEqual(got, ["o0", "o1", "o2", "o3", "o4"]);
        const ci = await jsmLeaf.consumers.info("LEAFS", "C");
        assert.equal(ci.num_ack_pending, 0);
        assert.equal(ci.ack_floor.stream_seq, 5);

        // A publish acknowledged by the hub's stream, from a leaf client, through the domain.
        const ack = await jetstream(nl, { domain: "hub" }).publish("hub.x", "from leaf");
        assert.equal(ack.stream, "HUBS");
        assert.equal(ack.domain, "hub");

        // KV in the leaf's domain, written and read from the hub.
        const kv = await new Kvm(jetstream(nh, { domain: "leaf" })).create("cfg");
        await kv.put("color", "blue");
        assert.equal((await kv.get("color"))?.string(), "blue");
        const local = await new Kvm(nl).open("cfg");
        assert.equal((await local.get("color"))?.string(), "blue");
      });
    },
  });
}

// ---- What each side decides and logs, beside nats-server ----

/** The JetStream decisions a server logged for its leaf connection, without addresses. */
function decisions(node: Node): string[] {
  return node.lines()
    .filter((l) => l.startsWith("[INF]"))
    .map((l) => l.replace(/^\[INF\] /, "").replace(/^[\d.:[\]]+ - lid:\d+ - /, ""))
    .filter((l) => /JetStream|deny|System Account/.test(l) && !/^\s|Starting|Shutdown/.test(l))
    .sort();
}

const SCENARIOS: { name: string; hub: string; leaf: string; remote?: string }[] = [
  {
    name: "two domains",
    hub: jsDomain("hub"),
    leaf: jsDomain("leaf"),
  },
  {
    name: "JetStream on both sides without domains",
    hub: `jetstream { store_dir: "STORE" }`,
    leaf: `jetstream { store_dir: "STORE" }`,
  },
  {
    name: "a hub without JetStream",
    hub: "",
    leaf: jsDomain("leaf"),
  },
  {
    name: "the system accounts connected, no JetStream",
    hub: `accounts { SYS { users [ {user: s, password: s} ] } }\nsystem_account: SYS`,
    leaf: `accounts { SYS { users [ {user: s, password: s} ] } }\nsystem_account: SYS`,
    remote: "s:s@",
  },
  {
    name: "default_js_domain naming the default domain",
    hub: `${jsDomain("hub")}\ndefault_js_domain: { $G: "" }`,
    leaf: "",
  },
];

for (const sc of SCENARIOS) {
  Deno.test({
    name: `JetStream over a leafnode (${sc.name}): denies, mappings and log lines as nats-server`,
    ignore: !HAVE_NATS_SERVER,
    async fn() {
      const seen: Record<Kind, { hub: string[]; leaf: string[] }> = {
        ours: { hub: [], leaf: [] },
        "nats-server": { hub: [], leaf: [] },
      };
      for (const kind of ["ours", "nats-server"] as const) {
        const lp = freePort();
        await using hub = await start(kind, hubConf(lp, sc.hub));
        const remote = sc.remote ?? "";
        await using leaf = await start(kind, leafConf(lp, sc.leaf, remote));
        await logged(leaf, DECIDED);
        await logged(hub, DECIDED);
        if (kind === "nats-server") {
          // Its lines come from several goroutines: give the rest of the burst time to arrive
          // (as many lines as ours logged; fewer fails the comparison below, as it should).
          const want = seen.ours;
          await waitFor(
            () =>
              decisions(leaf).length >= want.leaf.length &&
              decisions(hub).length >= want.hub.length,
            "nats-server's log lines",
            3000,
          ).catch(() => {});
        }
        seen[kind] = { hub: decisions(hub), leaf: decisions(leaf) };
      }
      assert.deepEqual(seen.ours, seen["nats-server"]);
    },
  });
}

// ---- Without domains, and default_js_domain ----

for (const [hubKind, leafKind] of MIXES) {
  Deno.test({
    name: `without domains the plain API stays on its side (hub ${hubKind}, leaf ${leafKind})`,
    ignore: (hubKind !== "ours" || leafKind !== "ours") && !HAVE_NATS_SERVER,
    async fn() {
      const js = `jetstream { store_dir: "STORE" }`;
      const t = await topology(hubKind, leafKind, js, js);
      await using hub = t.hub;
      await using leaf = t.leaf;
      await withClients(hub, leaf, async (nh, nl) => {
        const jsmHub = await jetstreamManager(nh);
        const jsmLeaf = await jetstreamManager(nl);
        await jsmHub.streams.add({ name: "ON_HUB", subjects: ["a.>"] });
        await jsmLeaf.streams.add({ name: "ON_LEAF", subjects: ["b.>"] });
        // One answer each, from the local JetStream (the other side's never crosses).
        assert.deepEqual(await jsmHub.streams.names().next(), ["ON_HUB"]);
        assert.deepEqual(await jsmLeaf.streams.names().next(), ["ON_LEAF"]);
        assert.equal((await jsmHub.getAccountInfo()).streams, 1);
      });
    },
  });

  Deno.test({
    name: `default_js_domain sends a leaf's plain API to the hub's domain (hub ${hubKind}, ` +
      `leaf ${leafKind})`,
    ignore: (hubKind !== "ours" || leafKind !== "ours") && !HAVE_NATS_SERVER,
    async fn() {
      const t = await topology(hubKind, leafKind, jsDomain("hub"), "default_js_domain: {$G: hub}");
      await using hub = t.hub;
      await using leaf = t.leaf;
      await withClients(hub, leaf, async (nh, nl) => {
        await (await jetstreamManager(nh)).streams.add({ name: "CENTRAL", subjects: ["c.>"] });
        // A leaf client that knows nothing of domains uses the hub's JetStream.
        const jsm = await eventually(
          () => jetstreamManager(nl, { timeout: 1000 }),
          "JetStream through the default domain",
        );
        assert.equal((await jsm.getAccountInfo()).domain, "hub");
        assert.deepEqual(await jsm.streams.names().next(), ["CENTRAL"]);
        const kv = await new Kvm(nl).create("settings");
        await kv.put("k", "v");
        assert.equal((await (await new Kvm(nh).open("settings")).get("k"))?.string(), "v");
      });
      if (leaf.server !== null) {
        assert.ok(leaf.lines().some((l) => l.includes("temporary backwards compatibility")));
      }
    },
  });
}

// ---- The leafnode port's JetStream fields, byte for byte beside nats-server ----

/** INFO and the hub's interest for a raw leaf with `connect`; LS+ lines sorted (Go map order). */
async function rawSession(kind: Kind, conf: string, connect: string) {
  const lp = freePort();
  await using hub = await start(kind, hubConf(lp, conf));
  const [c, info] = await RawClient.connectInfo(lp);
  try {
    await c.send(connect);
    await c.send("PING\r\n");
    await c.waitText((t) => t.includes("PONG\r\n"), "PONG");
    const lines = c.text.split("\r\n").filter((l) => l.startsWith("LS+"));
    const normalized = lines.map((l) => l.replace(/\$LDS\.[A-Za-z0-9]+/, "$LDS.X")).sort();
    return { keys: Object.keys(info), jetstream: info.jetstream, domain: info.domain, normalized };
  } finally {
    await c.close();
    void hub;
  }
}

Deno.test({
  name: "a raw leaf sees JetStream's INFO fields and the domain's interest as from nats-server",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const connect =
      `CONNECT {"version":"2.9.10","tls_required":false,"server_id":"NTEST","domain":"spoke",` +
      `"name":"RAW","headers":true,"jetstream":true}\r\n`;
    const conf = jsDomain("hub");
    const ours = await rawSession("ours", conf, connect);
    const theirs = await rawSession("nats-server", conf, connect);
    assert.deepEqual(ours, theirs);
    assert.equal(ours.domain, "hub");
    assert.ok(ours.normalized.includes("LS+ $JS.hub.API.STREAM.>"));
  },
});

// ---- Configuration ----

Deno.test({
  name: "default_js_domain and extension_hint: the errors of nats-server",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const cases = [
      "default_js_domain: {A: hub}",
      "default_js_domain: 5",
      "default_js_domain: {$G: 5}",
      "default_js_domain: {$G: hub, $SYS: x}",
      "accounts {A: {jetstream: enabled}}\ndefault_js_domain: {A: hub}",
      "accounts {SYS: {}}\nsystem_account: SYS\ndefault_js_domain: {SYS: x}",
      "jetstream {extension_hint: 5}",
      "server_name: a\njetstream {extension_hint: bad, store_dir: STORE}\ncluster {name: c, port: -1}",
    ];
    const dir = await Deno.makeTempDir();
    try {
      for (const [i, text] of cases.entries()) {
        const conf = text.replace("STORE", dir);
        const file = `${dir}/c${i}.conf`;
        await Deno.writeTextFile(file, conf);
        const out = await new Deno.Command("nats-server", { args: ["-c", file], stderr: "piped" })
          .output();
        const theirs = new TextDecoder().decode(out.stderr).trim().replace(`${file}:`, "");
        let ours = "";
        try {
          validateOptions(mergeOptions(defaultOptions(), parseConfigString(conf, file)));
        } catch (e) {
          ours = (e as Error).message.replace(`${file}:`, "");
        }
        assert.equal(`nats-server: ${ours}`, theirs, text);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ---- Consumer deliveries between servers carry the stream's subject ----

/** A push consumer delivering to `deliver` on the far side; the raw MSG line shows its subject. */
async function pushAcross(jsSide: NatsConnection, far: NatsConnection, domain?: string) {
  const jsm = await jetstreamManager(jsSide);
  await jsm.streams.add({ name: "P", subjects: ["p.>"] });
  await jetstream(jsSide).publish("p.first", "1");
  const got: string[] = [];
  const sub = far.subscribe("deliver.here", {
    callback: (_e, m) => {
      got.push(`${m.subject} ${m.string()} ${m.reply?.startsWith("$JS.ACK.P.PUSH.") ?? false}`);
      m.respond();
    },
  });
  await far.flush();
  const remote = domain === undefined ? jsm : await jetstreamManager(far, { domain });
  await remote.consumers.add("P", {
    durable_name: "PUSH",
    deliver_subject: "deliver.here",
    ack_policy: AckPolicy.Explicit,
  });
  await waitFor(() => got.length === 1, "the push delivery on the far side");
  assert.deepEqual(got, ["p.first 1 true"]);
  await waitFor(
    async () => (await jsm.consumers.info("P", "PUSH")).num_ack_pending === 0,
    "the ack back from the far side",
  );
  sub.unsubscribe();
}

// nats-server runs JetStream in a cluster as clustered JetStream; ours runs it on one server, so
// a client of the other server reaches it over the route (ours only).
Deno.test("consumer deliveries reach a client of another cluster server with the stream's subject", async () => {
  const [ra, rb] = [freePort(), freePort()];
  await using a = await start(
    "ours",
    `server_name: A\njetstream { store_dir: "STORE" }\n` +
      `cluster { name: c, listen: "127.0.0.1:${ra}", routes: ["nats-route://127.0.0.1:${rb}"] }`,
  );
  await using b = await start(
    "ours",
    `server_name: B\ncluster { name: c, listen: "127.0.0.1:${rb}", ` +
      `routes: ["nats-route://127.0.0.1:${ra}"] }`,
  );
  await withClients(a, b, async (na, nb) => {
    await (await jetstreamManager(na)).streams.add({ name: "S", subjects: ["s.>"] });
    await jetstream(na).publish("s.x", "one");
    const jsmB = await eventually(() => jetstreamManager(nb, { timeout: 1000 }), "API via B");
    await jsmB.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit });
    const c = await jetstream(nb).consumers.get("S", "C");
    const got: string[] = [];
    for await (const m of await c.fetch({ max_messages: 1, expires: 2000 })) {
      got.push(`${m.subject} ${m.string()}`);
      await m.ackAck();
    }
    assert.deepEqual(got, ["s.x one"]);
    await pushAcross(na, nb);
  });
});

for (const [aKind, bKind] of MIXES) {
  Deno.test({
    name: `a push consumer delivers across the leafnode with the stream's subject (hub ${aKind}, ` +
      `leaf ${bKind})`,
    ignore: (aKind !== "ours" || bKind !== "ours") && !HAVE_NATS_SERVER,
    async fn() {
      const t = await topology(aKind, bKind, jsDomain("hub"), jsDomain("leaf"));
      await using hub = t.hub;
      await using leaf = t.leaf;
      await withClients(hub, leaf, async (nh, nl) => {
        await eventually(() => jetstreamManager(nl, { domain: "hub", timeout: 1000 }), "the hub");
        await pushAcross(nh, nl, "hub");
      });
    },
  });
}

/** The CONNECT a leaf of `kind` with `conf` sends to a hub that only sends its INFO. */
async function leafConnect(kind: Kind, conf: string): Promise<string> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  await using _leaf = await start(kind, leafConf(port, conf));
  const c = await l.accept();
  l.close();
  try {
    const info = `INFO {"server_id":"NHUB","server_name":"HUB","version":"2.9.10","proto":1,` +
      `"headers":true,"auth_required":true,"max_payload":1048576,"client_id":7,"nonce":"abc",` +
      `"info_on_connect":true,"leafnode_urls":["127.0.0.1:${port}"]} \r\n`;
    await c.write(new TextEncoder().encode(info));
    const buf = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await c.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text.split("\r\n")[0].replace(/"server_id":"N[A-Z0-9]{55}"/, '"server_id":"ID"');
  } finally {
    c.close();
  }
}

Deno.test({
  name: "a leaf's CONNECT names its domain and JetStream as nats-server's does",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    for (const conf of [jsDomain("edge"), `jetstream { store_dir: "STORE" }`, ""]) {
      const ours = await leafConnect("ours", conf);
      const theirs = await leafConnect("nats-server", conf);
      assert.equal(ours, theirs);
    }
    assert.match(await leafConnect("ours", jsDomain("edge")), /"domain":"edge".*"jetstream":true/);
  },
});
