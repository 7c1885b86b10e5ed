/**
 * The official JavaScript JetStream client (`@nats-io/jetstream`), unchanged, against our
 * server: the stream manager (add, update, info, list, names, find, delete, purge, getMessage,
 * deleteMessage, direct get, account info) and publishing with msgID and expectations. The same
 * scenario runs against nats-server -js and the outcomes must be the same.
 */

import assert from "node:assert/strict";
import {
  jetstream,
  JetStreamApiError,
  jetstreamManager,
  type StreamInfo,
} from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { connectTo, HAVE_NATS_SERVER, startJs, startRefJs } from "./jetstream_helpers.ts";

const dec = new TextDecoder();

function brief(si: StreamInfo): unknown {
  return { config: si.config, state: { ...si.state, first_ts: "", last_ts: "" } };
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof JetStreamApiError) {
      return { error: e.name, code: e.code, status: e.status, message: e.message };
    }
    return { error: (e as Error).name, message: (e as Error).message };
  }
}

/** The scenario; returns what the client saw at each step. */
async function scenario(port: number): Promise<unknown[]> {
  const nc = await connectTo(port);
  const out: unknown[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const ai = await jsm.getAccountInfo();
    out.push({ streams: ai.streams, limits: ai.limits });

    out.push(brief(await jsm.streams.add({ name: "ORDERS", subjects: ["orders.*"] })));
    out.push(brief(await jsm.streams.add({ name: "KV", subjects: ["kv.>"], allow_direct: true })));
    out.push(await outcome(jsm.streams.add({ name: "BAD", subjects: ["orders.new"] })));

    const a1 = await js.publish("orders.new", "one", { msgID: "id-1" });
    const a2 = await js.publish("orders.new", "one again", { msgID: "id-1" });
    const a3 = await js.publish("orders.paid", "two", { expect: { lastSequence: 1 } });
    out.push([a1, a2, a3].map((a) => ({ stream: a.stream, seq: a.seq, dup: a.duplicate })));
    out.push(await outcome(js.publish("orders.new", "x", { expect: { lastSequence: 1 } })));
    out.push(await outcome(js.publish("orders.new", "x", { expect: { streamName: "KV" } })));
    out.push(await outcome(js.publish("orders.new", "x", { expect: { lastMsgID: "nope" } })));
    const a4 = await js.publish("orders.new", "x", {
      expect: { lastSubjectSequence: 1, lastMsgID: "" },
    });
    out.push(a4.seq);
    const h = headers();
    h.set("Custom", "yes");
    await js.publish("kv.k1", "v1", { headers: h });
    await js.publish("kv.k1", "v2");

    const m = await jsm.streams.getMessage("ORDERS", { seq: 2 });
    out.push({ subject: m?.subject, seq: m?.seq, data: m ? dec.decode(m.data) : null });
    const last = await jsm.streams.getMessage("KV", { last_by_subj: "kv.k1" });
    out.push({ seq: last?.seq, data: last ? dec.decode(last.data) : null });
    out.push(await outcome(jsm.streams.getMessage("ORDERS", { seq: 99 })));
    const d = await jsm.direct.getMessage("KV", { seq: 1 });
    out.push({ seq: d?.seq, subject: d?.subject, custom: d?.header.get("Custom") });
    const dl = await jsm.direct.getMessage("KV", { last_by_subj: "kv.k1" });
    out.push({ seq: dl?.seq, data: dl ? dec.decode(dl.data) : null });

    out.push(await jsm.streams.deleteMessage("ORDERS", 1));
    out.push(await jsm.streams.deleteMessage("ORDERS", 2, false));
    out.push(await outcome(jsm.streams.deleteMessage("ORDERS", 1)));

    const upd = await jsm.streams.update("ORDERS", { subjects: ["orders.*", "refunds"] });
    out.push(upd.config.subjects);
    out.push(await outcome(jsm.streams.update("ORDERS", { storage: "memory" } as never)));

    const names: string[] = [];
    for await (const n of jsm.streams.names()) names.push(n);
    out.push(names.sort());
    const listed: string[] = [];
    for await (const si of jsm.streams.list()) listed.push(si.config.name);
    out.push(listed.sort());
    out.push(await jsm.streams.find("refunds"));
    out.push(await outcome(jsm.streams.find("nothing")));

    out.push(brief(await jsm.streams.info("ORDERS", { deleted_details: true })));
    out.push(await jsm.streams.purge("ORDERS", { filter: "orders.new" }));
    out.push(await jsm.streams.purge("ORDERS"));
    out.push(await outcome(jsm.streams.info("NOPE")));
    out.push(await jsm.streams.delete("KV"));
    out.push(await outcome(jsm.streams.delete("KV")));
    const ai2 = await jsm.getAccountInfo();
    out.push({ streams: ai2.streams, api: ai2.api });
  } finally {
    await nc.close();
  }
  return out;
}

Deno.test("@nats-io/jetstream manages streams and publishes with expectations", async () => {
  await using ours = await startJs();
  const mine = await scenario(ours.port);
  assert.deepEqual(mine[4], [
    { stream: "ORDERS", seq: 1, dup: false },
    { stream: "ORDERS", seq: 1, dup: true },
    { stream: "ORDERS", seq: 2, dup: false },
  ]);
  if (Deno.env.get("JS_DEBUG")) console.log(JSON.stringify(mine));
  if (!HAVE_NATS_SERVER) return;
  await using ref = await startRefJs();
  assert.deepEqual(mine, await scenario(ref.port));
});

/** KV operations that need no consumer: put, get (direct), update with revision, create, delete, purge, status. */
async function kvScenario(port: number): Promise<unknown[]> {
  const nc = await connectTo(port);
  try {
    const kv = await new Kvm(nc).create("bucket", { history: 3 });
    const out: unknown[] = [];
    out.push(await kv.put("a", "1"));
    out.push(await kv.put("a", "2"));
    const e = await kv.get("a");
    out.push([e?.revision, e?.string(), e?.operation]);
    out.push(await kv.update("a", "3", 2));
    out.push(await outcome(kv.update("a", "4", 2)));
    out.push(await outcome(kv.create("a", "x")));
    out.push(await kv.create("b", "x"));
    await kv.delete("a");
    const d = await kv.get("a");
    out.push([d?.revision, d?.operation]);
    await kv.purge("b");
    const p = await kv.get("b");
    out.push([p?.revision, p?.operation]);
    out.push(await kv.get("never"));
    const st = await kv.status();
    out.push([st.values, st.history, st.bucket, st.storage]);
    return out;
  } finally {
    await nc.close();
  }
}

Deno.test("@nats-io/kv: put, get, update, create, delete, purge and status", async () => {
  await using ours = await startJs();
  const mine = await kvScenario(ours.port);
  assert.deepEqual(mine.slice(0, 3), [1, 2, [2, "2", "PUT"]]);
  if (!HAVE_NATS_SERVER) return;
  await using ref = await startRefJs();
  assert.deepEqual(mine, await kvScenario(ref.port));
});
