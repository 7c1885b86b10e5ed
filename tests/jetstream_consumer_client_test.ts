/**
 * The official JetStream client (npm @nats-io/jetstream) against our consumers, through the test
 * stream layer: fetch and consume on pull consumers, ordered consumers, push consumers, every ack
 * kind the client sends, and the metadata it parses from the reply subject.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startOurs } from "./jetstream_harness.ts";
import { waitFor } from "./helpers.ts";

async function setup(messages = 0) {
  const t = await startOurs();
  t.js!.addStream({ name: "S", subjects: ["s.>"] });
  const nc = await connect({ servers: `127.0.0.1:${t.port}` });
  const js = jetstream(nc);
  for (let i = 1; i <= messages; i++) await js.publish(`s.${i % 3}`, `m${i}`);
  return {
    t,
    nc,
    js,
    async [Symbol.asyncDispose]() {
      await nc.close();
      await t.close();
    },
  };
}

Deno.test("client: fetch from a durable pull consumer, ack, and read the metadata", async () => {
  await using env = await setup(10);
  const jsm = await jetstreamManager(env.nc, { checkAPI: false });
  await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit });
  const c = await env.js.consumers.get("S", "D");
  const batch = await c.fetch({ max_messages: 4, expires: 2000 });
  const seen: number[] = [];
  for await (const m of batch) {
    seen.push(m.seq);
    assert.equal(m.info.stream, "S");
    assert.equal(m.info.consumer, "D");
    assert.equal(m.info.deliveryCount, 1);
    assert.equal(m.info.pending, 10 - m.seq);
    assert.ok(Math.abs(m.info.timestampNanos / 1e6 - Date.now()) < 60_000);
    assert.ok(await m.ackAck());
  }
  assert.deepEqual(seen, [1, 2, 3, 4]);
  const info = await c.info();
  assert.deepEqual(info.ack_floor, {
    consumer_seq: 4,
    stream_seq: 4,
    last_active: info.ack_floor.last_active,
  });
  assert.equal(info.num_pending, 6);
  // A fetch with nothing left ends at its expiry with what it got.
  const m5 = await c.next({ expires: 1000 });
  assert.equal(m5?.seq, 5);
  m5!.nak();
  const again = await c.next({ expires: 1000 });
  assert.equal(again?.seq, 5);
  assert.equal(again?.info.deliveryCount, 2);
  again!.term();
  await waitFor(async () => (await c.info()).num_ack_pending === 0, "term processed");
});

Deno.test("client: consume with heartbeats delivers everything, including what arrives later", async () => {
  await using env = await setup(50);
  const jsm = await jetstreamManager(env.nc, { checkAPI: false });
  await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit });
  const c = await env.js.consumers.get("S", "C");
  const msgs = await c.consume({ max_messages: 10, idle_heartbeat: 500, expires: 2000 });
  const got: string[] = [];
  const done = (async () => {
    for await (const m of msgs) {
      got.push(m.string());
      m.ack();
      if (got.length === 80) break;
    }
  })();
  await waitFor(() => got.length === 50, "first 50");
  for (let i = 51; i <= 80; i++) await env.js.publish(`s.${i % 3}`, `m${i}`);
  await done;
  assert.deepEqual(got, Array.from({ length: 80 }, (_, i) => `m${i + 1}`));
  await waitFor(async () => (await c.info()).num_ack_pending === 0, "all acked");
});

Deno.test("client: an ordered consumer reads the stream in order", async () => {
  await using env = await setup(30);
  const c = await env.js.consumers.get("S", { deliver_policy: DeliverPolicy.All });
  const msgs = await c.consume();
  const got: number[] = [];
  for await (const m of msgs) {
    got.push(m.seq);
    if (got.length === 30) break;
  }
  assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => i + 1));
  const filtered = await env.js.consumers.get("S", { filter_subjects: "s.1" });
  const f = await filtered.fetch({ max_messages: 10, expires: 1000 });
  const subjects: string[] = [];
  for await (const m of f) subjects.push(m.subject);
  assert.equal(subjects.length, 10);
  assert.ok(subjects.every((s) => s === "s.1"));
});

Deno.test("client: push consumer with flow control and heartbeats", async () => {
  await using env = await setup(20);
  const jsm = await jetstreamManager(env.nc, { checkAPI: false });
  await jsm.consumers.add("S", {
    durable_name: "P",
    ack_policy: AckPolicy.Explicit,
    deliver_subject: "push.p",
    flow_control: true,
    idle_heartbeat: 1_000_000_000,
  });
  const c = await env.js.consumers.getPushConsumer("S", "P");
  const msgs = await c.consume();
  const got: number[] = [];
  for await (const m of msgs) {
    got.push(m.seq);
    m.ack();
    if (got.length === 20) break;
  }
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i + 1));
});
