/**
 * Behaviours found by running the official clients' own test suites (nats.js, nats.go) against
 * this server and nats-server 2.9.10 (docs/conformance.md). Each runs on ours and, when it is
 * installed, on nats-server with the same configuration file, and compares raw bytes with the
 * literal nats-server answer (random ids and timestamps masked).
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { HAVE_NATS_SERVER, RawClient, waitFor } from "./helpers.ts";
import { type Running, serve, who } from "./parity_helpers.ts";
import { freePort } from "./process_helpers.ts";

/** Accounts as nats.js's test launcher writes them (jetstreamExportServerConf). */
function crossAccountConf(storeDir: string): string {
  return `
no_auth_user: a
jetstream { store_dir: "${storeDir}" }
accounts {
  JS {
    jetstream: enabled
    users: [{ user: js, password: js }]
    exports: [
      { service: "$JS.API.>", response_type: stream }
      { service: "$JS.ACK.>", response_type: stream }
      { stream: "A.>", accounts: ["A"] }
      { service: "svc" }
    ]
  }
  A {
    users: [{ user: a, password: s3cret }]
    imports: [
      { service: { subject: "$JS.API.>", account: JS }, to: "IPA.>" }
      { service: { subject: "$JS.ACK.>", account: JS } }
      { stream: { subject: "A.>", account: JS } }
      { service: { subject: "svc", account: JS } }
    ]
  }
}`;
}

/** Runs `fn` on ours, then on nats-server when installed, each with its own store directory. */
async function onBoth(conf: (storeDir: string) => string, fn: (r: Running) => Promise<void>) {
  for (const reference of HAVE_NATS_SERVER ? [false, true] : [false]) {
    const dir = await Deno.makeTempDir({ prefix: "conform_" });
    try {
      await using r = await serve(conf(dir), reference);
      await fn(r);
    } catch (e) {
      throw new Error(`${reference ? "nats-server" : "ours"}: ${(e as Error).message}`);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}

/** Masks the parts of JetStream ack replies and service replies that differ from run to run. */
function mask(text: string): string {
  return text
    .replace(/(\$JS\.ACK\.[^ ]+\.\d+\.\d+\.\d+\.)\d+(\.\d+)/g, "$1<ts>$2")
    .replace(/_R_\.[A-Za-z0-9]+\.[A-Za-z0-9]+/g, "_R_.<id>");
}

async function rawAs(port: number, user: string, pass: string): Promise<RawClient> {
  const [c] = await RawClient.connectInfo(port);
  const connect = JSON.stringify({ user, pass, verbose: false, pedantic: false, headers: true });
  await c.send(`CONNECT ${connect}\r\nPING\r\n`);
  await c.expect("PONG\r\n");
  return c;
}

/** A stream S on `s.>` in account JS holding "hello" and "hi", and a consumer made by `add`. */
async function streamWithConsumer(
  port: number,
  add: Parameters<Awaited<ReturnType<typeof jetstreamManager>>["consumers"]["add"]>[1],
): Promise<void> {
  const nc = await connect({ port, user: "js", pass: "js" });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await nc.request("s.a", "hello");
    await nc.request("s.a", "hi");
    await jsm.consumers.add("S", add);
  } finally {
    await nc.close();
  }
}

async function numAckPending(port: number, consumer: string): Promise<number> {
  const nc = await connect({ port, user: "js", pass: "js" });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.consumers.info("S", consumer)).num_ack_pending;
  } finally {
    await nc.close();
  }
}

Deno.test("a pull consumer's messages keep the stream subject and ack reply across a service import, and acks come back", async () => {
  await onBoth(crossAccountConf, async (r) => {
    await streamWithConsumer(r.port, { durable_name: "me", ack_policy: AckPolicy.Explicit });
    await using c = await rawAs(r.port, "a", "s3cret");
    const req = '{"batch":2,"no_wait":true}';
    await c.send(`SUB A.raw 1\r\nPUB IPA.CONSUMER.MSG.NEXT.S.me A.raw ${req.length}\r\n${req}\r\n`);
    await c.waitText((t) => t.includes("\r\nhi\r\n"), `${who(r)}: two messages`);
    const got = c.text;
    c.clear();
    assert.equal(
      mask(got),
      "MSG s.a 1 $JS.ACK.S.me.1.1.1.<ts>.1 5\r\nhello\r\n" +
        "MSG s.a 1 $JS.ACK.S.me.1.2.2.<ts>.0 2\r\nhi\r\n",
    );
    assert.equal(await numAckPending(r.port, "me"), 2);
    // The acks go out in account A on the ack replies, through A's $JS.ACK.> import.
    for (const reply of got.matchAll(/ (\$JS\.ACK\.[^ ]+) /g)) {
      await c.send(`PUB ${reply[1]} 4\r\n+ACK\r\n`);
    }
    await c.roundTrip();
    await waitFor(async () => await numAckPending(r.port, "me") === 0, "acks to land");
  });
});

Deno.test("a push consumer's messages keep the stream subject and ack reply across a stream import", async () => {
  await onBoth(crossAccountConf, async (r) => {
    await streamWithConsumer(r.port, {
      durable_name: "push",
      deliver_subject: "A.push",
      ack_policy: AckPolicy.Explicit,
    });
    await using c = await rawAs(r.port, "a", "s3cret");
    await c.send("SUB A.push 1\r\n");
    await c.waitText((t) => t.includes("\r\nhi\r\n"), `${who(r)}: two messages`);
    assert.equal(
      mask(c.text),
      "MSG s.a 1 $JS.ACK.S.push.1.1.1.<ts>.1 5\r\nhello\r\n" +
        "MSG s.a 1 $JS.ACK.S.push.1.2.2.<ts>.0 2\r\nhi\r\n",
    );
  });
});

Deno.test("a service answer that asks for a reply gets one back through the import", async () => {
  await onBoth(crossAccountConf, async (r) => {
    await using svc = await rawAs(r.port, "js", "js");
    await using a = await rawAs(r.port, "a", "s3cret");
    await svc.send("SUB svc 1\r\nSUB back 2\r\n");
    await svc.roundTrip();
    await a.send("SUB A.r 1\r\nPUB svc A.r 3\r\nask\r\n");
    await svc.waitText((t) => t.includes("\r\nask\r\n"), "request");
    const request = svc.text;
    svc.clear();
    assert.match(request, /^HMSG svc 1 _R_\.[A-Za-z0-9]+\.[A-Za-z0-9]+ \d+ \d+\r\n/);
    const rr = request.split(" ")[3];
    await svc.send(`PUB ${rr} back 6\r\nanswer\r\n`);
    await a.waitText((t) => t.includes("\r\nanswer\r\n"), "answer");
    assert.equal(mask(a.text), "MSG A.r 1 _R_.<id> 6\r\nanswer\r\n");
    const back = a.text.split(" ")[3];
    a.clear();
    await a.send(`PUB ${back} 6\r\nthanks\r\n`);
    await svc.waitText((t) => t.includes("\r\nthanks\r\n"), "reply to the answer");
    assert.equal(svc.text, "MSG back 2 6\r\nthanks\r\n");
  });
});

interface HubAndLeaf {
  hub: Running;
  leaf: Running;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Two servers of one kind (ours, or nats-server) with JetStream in domains HUB and LEAF, the
 * second a leafnode of the first, as nats.js's "kv - mirror cross domain" sets them up; resolves
 * once the leaf reaches the hub's JetStream API.
 */
async function hubAndLeaf(reference: boolean): Promise<HubAndLeaf> {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const lp = freePort();
  const hub = await serve(
    `server_name: HUB\njetstream { domain: HUB, store_dir: "${dirs[0]}" }\n` +
      `leafnodes { listen: "127.0.0.1:${lp}" }`,
    reference,
  );
  const leaf = await serve(
    `server_name: LEAF\njetstream { domain: LEAF, store_dir: "${dirs[1]}" }\n` +
      `leafnodes { remotes: [{ url: "nats-leaf://127.0.0.1:${lp}" }] }`,
    reference,
  );
  const dispose = async () => {
    await leaf[Symbol.asyncDispose]();
    await hub[Symbol.asyncDispose]();
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  };
  try {
    const nc = await connect({ port: leaf.port });
    try {
      await waitFor(async () => {
        try {
          await nc.request("$JS.HUB.API.INFO", "", { timeout: 200 });
          return true;
        } catch {
          return false;
        }
      }, `${who(leaf)}: the hub's JetStream API through the leafnode`);
    } finally {
      await nc.close();
    }
  } catch (e) {
    await dispose();
    throw e;
  }
  return { hub, leaf, [Symbol.asyncDispose]: dispose };
}

Deno.test("a mirror of a stream in another domain fills over a leafnode and follows it", async () => {
  for (const reference of HAVE_NATS_SERVER ? [false, true] : [false]) {
    const name = reference ? "nats-server" : "ours";
    await using s = await hubAndLeaf(reference);
    const hnc = await connect({ port: s.hub.port });
    const lnc = await connect({ port: s.leaf.port });
    try {
      const hjsm = await jetstreamManager(hnc);
      await hjsm.streams.add({ name: "TEST", subjects: ["t.>"] });
      await hnc.request("t.a", "one");
      await hnc.request("t.b", "two");
      const ljsm = await jetstreamManager(lnc);
      await ljsm.streams.add({
        name: "M",
        mirror: { name: "TEST", external: { api: "$JS.HUB.API", deliver: "" } },
      });
      const count = async () => (await ljsm.streams.info("M")).state.messages;
      await waitFor(async () => await count() === 2, `${name}: the mirror to fill`);
      await hnc.request("t.c", "three");
      await waitFor(async () => await count() === 3, `${name}: the mirror to follow`);
      const got: string[] = [];
      for (let seq = 1; seq <= 3; seq++) {
        const m = await ljsm.streams.getMessage("M", { seq });
        got.push(`${m?.seq} ${m?.subject} ${m?.string()}`);
      }
      assert.deepEqual(got, ["1 t.a one", "2 t.b two", "3 t.c three"], name);
      const info = (await ljsm.streams.info("M")).mirror as unknown as Record<string, unknown>;
      assert.deepEqual(Object.keys(info), ["name", "external", "lag", "active"], name);
      assert.deepEqual(info.external, { api: "$JS.HUB.API", deliver: "" }, name);
      // The hub announces its domain's API to the leaf as mappings, and says so.
      const logged = s.hub.proc.stderr.split("\n").map((l) => l.replace(/^.* - lid:\d+ - /, ""))
        .filter((l) => /^Adding (JetStream Domain Mapping|deny)/.test(l)).sort();
      assert.deepEqual(logged, [
        'Adding JetStream Domain Mapping "$JS.HUB.API.$KV.>" -> $KV.> to account "$G"',
        'Adding JetStream Domain Mapping "$JS.HUB.API.$OBJ.>" -> $OBJ.> to account "$G"',
        'Adding JetStream Domain Mapping "$JS.HUB.API.ACCOUNT.>" -> $JS.API.ACCOUNT.> to account "$G"',
        'Adding JetStream Domain Mapping "$JS.HUB.API.CONSUMER.>" -> $JS.API.CONSUMER.> to account "$G"',
        'Adding JetStream Domain Mapping "$JS.HUB.API.DIRECT.>" -> $JS.API.DIRECT.> to account "$G"',
        'Adding JetStream Domain Mapping "$JS.HUB.API.INFO" -> $JS.API.INFO to account "$G"',
        'Adding JetStream Domain Mapping "$JS.HUB.API.META.>" -> $JS.API.META.> to account "$G"',
        'Adding JetStream Domain Mapping "$JS.HUB.API.SERVER.>" -> $JS.API.SERVER.> to account "$G"',
        'Adding JetStream Domain Mapping "$JS.HUB.API.STREAM.>" -> $JS.API.STREAM.> to account "$G"',
        'Adding deny "$JS.HUB.API.>" for outgoing messages to account "$G"',
      ], name);
    } finally {
      await lnc.close();
      await hnc.close();
    }
  }
});

Deno.test("a push consumer delivers across a leafnode with the stream subject and ack reply", async () => {
  for (const reference of HAVE_NATS_SERVER ? [false, true] : [false]) {
    const name = reference ? "nats-server" : "ours";
    await using s = await hubAndLeaf(reference);
    const hnc = await connect({ port: s.hub.port });
    try {
      const jsm = await jetstreamManager(hnc);
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await hnc.request("s.a", "hello");
      await hnc.request("s.a", "hi");
      // The consumer exists first: the interest that starts it comes later, over the leafnode.
      await jsm.consumers.add("S", {
        durable_name: "c",
        deliver_subject: "d.x",
        ack_policy: AckPolicy.Explicit,
      });
      const [c] = await RawClient.connectInfo(s.leaf.port);
      try {
        await c.send(`CONNECT {"verbose":false,"headers":true}\r\nSUB d.x 1\r\n`);
        await c.waitText((t) => t.includes("\r\nhi\r\n"), `${name}: two messages`);
        assert.equal(
          mask(c.text),
          "MSG s.a 1 $JS.ACK.S.c.1.1.1.<ts>.1 5\r\nhello\r\n" +
            "MSG s.a 1 $JS.ACK.S.c.1.2.2.<ts>.0 2\r\nhi\r\n",
          name,
        );
      } finally {
        await c.close();
      }
    } finally {
      await hnc.close();
    }
  }
});

Deno.test("a push consumer's messages imported into another account cross a leafnode with the stream subject and ack reply", async () => {
  for (const reference of HAVE_NATS_SERVER ? [false, true] : [false]) {
    const name = reference ? "nats-server" : "ours";
    const dir = await Deno.makeTempDir({ prefix: "conform_" });
    const lp = freePort();
    try {
      // The hub: account A imports the consumer's deliver subject as a stream; the leaf's
      // connection is bound to A, so the subscriber's interest reaches JS only through the import.
      await using hub = await serve(
        crossAccountConf(dir) +
          `\nleafnodes { listen: "127.0.0.1:${lp}", ` +
          `authorization { users [ {user: la, password: la, account: A} ] } }`,
        reference,
      );
      await using leaf = await serve(
        `server_name: EDGE\nleafnodes { remotes [ { url: "nats-leaf://la:la@127.0.0.1:${lp}" } ] }`,
        reference,
      );
      await streamWithConsumer(hub.port, {
        durable_name: "push",
        deliver_subject: "A.push",
        ack_policy: AckPolicy.Explicit,
      });
      const [c] = await RawClient.connectInfo(leaf.port);
      try {
        await c.send(`CONNECT {"verbose":false,"headers":true}\r\nSUB A.push 1\r\n`);
        await c.waitText((t) => t.includes("\r\nhi\r\n"), `${name}: two messages`);
        assert.equal(
          mask(c.text),
          "MSG s.a 1 $JS.ACK.S.push.1.1.1.<ts>.1 5\r\nhello\r\n" +
            "MSG s.a 1 $JS.ACK.S.push.1.2.2.<ts>.0 2\r\nhi\r\n",
          name,
        );
        // Acks from the leaf reach the consumer through A's $JS.ACK.> import.
        for (const reply of c.text.matchAll(/ (\$JS\.ACK\.[^ ]+) /g)) {
          await c.send(`PUB ${reply[1]} 4\r\n+ACK\r\n`);
        }
        await c.roundTrip();
        await waitFor(async () => await numAckPending(hub.port, "push") === 0, `${name}: acks`);
      } finally {
        await c.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});
