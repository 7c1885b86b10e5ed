/**
 * What an application does with the official JavaScript clients (@nats-io/jetstream, kv, obj),
 * end to end through the whole stack (API router, streams, consumers, store): the same script
 * runs against our server and against `nats-server -js`, and must report the same things.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { HAVE_NATS_SERVER, type JsServer, startJs, startRefJs } from "./jetstream_helpers.ts";

/** Streams, a durable pull consumer, an ordered consumer, KV and an object store. */
async function app(port: number): Promise<string[]> {
  const out: string[] = [];
  const nc = await connect({ port });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    const js = jetstream(nc);
    for (let i = 0; i < 10; i++) {
      const ack = await js.publish(`orders.${i}`, `o${i}`, { msgID: `id-${i % 8}` });
      out.push(`ack ${ack.seq} dup=${ack.duplicate}`);
    }
    await jsm.consumers.add("ORDERS", { durable_name: "w", ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get("ORDERS", "w");
    const got: string[] = [];
    for await (const m of await c.fetch({ max_messages: 8, expires: 2000 })) {
      got.push(`${m.subject}=${m.string()}#${m.info.streamSequence}/${m.info.deliverySequence}`);
      m.ack();
    }
    out.push(`fetched ${got.join(" ")}`);
    const ci = await jsm.consumers.info("ORDERS", "w");
    out.push(`consumer delivered=${ci.delivered.stream_seq} pending=${ci.num_pending}`);
    const ordered = await js.consumers.get("ORDERS");
    const first = await ordered.next();
    out.push(`ordered ${first?.string()} ${first?.seq}`);

    const kv = await new Kvm(nc).create("cfg", { history: 5 });
    await kv.put("a", "1");
    await kv.put("a", "2");
    await kv.put("b", "x");
    const a = await kv.get("a");
    out.push(`kv a=${a?.string()} rev=${a?.revision}`);
    const hist: string[] = [];
    for await (const e of await kv.history({ key: "a" })) hist.push(e.string());
    out.push(`kv history ${hist.join(",")}`);
    try {
      await kv.create("a", "3");
      out.push("kv create existing: accepted");
    } catch (e) {
      out.push(`kv create existing: ${(e as Error).message}`);
    }
    await kv.update("a", "4", 2);
    await kv.delete("b");
    out.push(`kv b op=${(await kv.get("b"))?.operation}`);
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    out.push(`kv keys ${keys.sort().join(",")}`);

    const os = await new Objm(nc).create("files");
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    await os.putBlob({ name: "blob.bin" }, big);
    const back = await os.getBlob("blob.bin");
    out.push(`obj ${back?.length} same=${back?.every((v, i) => v === big[i])}`);
    const info = await os.info("blob.bin");
    out.push(`obj chunks=${info?.chunks} size=${info?.size}`);
    await os.delete("blob.bin");
    out.push(`obj after delete ${await os.get("blob.bin")}`);
  } finally {
    await nc.close();
  }
  return out;
}

Deno.test("an application using streams, consumers, KV and object store behaves as on nats-server", async () => {
  const run = async (start: () => Promise<JsServer>) => {
    await using s = await start();
    return await app(s.port);
  };
  const ours = await run(() => startJs());
  assert.ok(ours.includes(
    "fetched orders.0=o0#1/1 orders.1=o1#2/2 orders.2=o2#3/3 " +
      "orders.3=o3#4/4 orders.4=o4#5/5 orders.5=o5#6/6 orders.6=o6#7/7 orders.7=o7#8/8",
  ));
  if (HAVE_NATS_SERVER) assert.deepEqual(ours, await run(() => startRefJs()));
});

Deno.test("a KV bucket and a stream survive a restart of our server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "js_restart_" });
  try {
    // stop() keeps the store directory (disposing would remove it).
    const first = await startJs({}, dir);
    const nc1 = await connect({ port: first.port });
    const kv1 = await new Kvm(nc1).create("keep");
    await kv1.put("k", "v1");
    await kv1.put("k", "v2");
    await nc1.close();
    await first.stop();
    const s = await startJs({}, dir);
    const nc = await connect({ port: s.port });
    const kv = await new Kvm(nc).open("keep");
    const e = await kv.get("k");
    assert.equal(e?.string(), "v2");
    assert.equal(e?.revision, 2);
    await nc.close();
    await s.stop();
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
