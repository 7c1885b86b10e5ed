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
