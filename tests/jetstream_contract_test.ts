/**
 * The seam with the consumer layer, exercised with stand-in consumers: the StreamHandle
 * contract (onStored, acked for interest and work-queue retention, purge, stop and delete
 * reaching consumers, interest retention without consumers) and the CONSUMER.* routing through
 * registerConsumerApi (request fields, counted and audited answers, recovery after a restart).
 */

import assert from "node:assert/strict";
import type { ConsumerHandle, StreamHandle } from "../src/jetstream/contract.ts";
import {
  type ConsumerApi,
  type ConsumerApiRequest,
  registerConsumerApi,
} from "../src/jetstream/consumer_api_types.ts";
import type { Stream } from "../src/jetstream/stream.ts";
import { connectTo, runSteps, startJs } from "./jetstream_helpers.ts";
import type { JsServer } from "./jetstream_helpers.ts";

/** A consumer that needs every message it has not acknowledged (optionally filtered). */
class FakeConsumer implements ConsumerHandle {
  acked = new Set<number>();
  events: string[] = [];
  constructor(readonly name: string, readonly stream: StreamHandle, readonly filter = "") {}
  config() {
    return this.filter ? { filter_subject: this.filter } : {};
  }
  info() {
    return { stream_name: this.stream.name, name: this.name, config: this.config() };
  }
  needs(seq: number, subject: string): boolean {
    if (this.filter && !subject.startsWith(this.filter.replace(/[*>]$/, ""))) return false;
    return !this.acked.has(seq);
  }
  ack(seq: number): void {
    this.acked.add(seq);
    this.stream.acked(this, seq);
  }
  purged(firstSeq: number): void {
    this.events.push(`purged ${firstSeq}`);
  }
  stop(): void {
    this.events.push("stop");
  }
  delete(): void {
    this.events.push("delete");
  }
}

async function streamOf(s: JsServer, cfg: Record<string, unknown>): Promise<Stream> {
  const nc = await connectTo(s.port);
  const [out] = await runSteps(nc, [`$JS.API.STREAM.CREATE.${cfg.name} ${JSON.stringify(cfg)}`]);
  assert.ok(out.includes('"did_create":true'), out);
  await nc.close();
  return s.server!.jetstream!.accounts.get("$G")!.streams.get(cfg.name as string)!;
}

async function publish(s: JsServer, ...subjects: string[]): Promise<string[]> {
  const nc = await connectTo(s.port);
  const out = await runSteps(nc, subjects.map((subj) => `${subj} x`));
  await nc.close();
  return out;
}

Deno.test("work-queue retention removes a message once a consumer acknowledges it", async () => {
  await using s = await startJs();
  const st = await streamOf(s, { name: "WQ", subjects: ["wq"], retention: "workqueue" });
  const c = new FakeConsumer("c", st);
  st.consumers.set("c", c);
  const seen: string[] = [];
  const off = st.onStored((seq, subj) => seen.push(`${seq} ${subj}`));
  await publish(s, "wq", "wq", "wq");
  assert.deepEqual(seen, ["1 wq", "2 wq", "3 wq"]);
  off();
  c.ack(2);
  assert.equal(st.store.loadMsg(2), null);
  assert.equal(st.store.state().msgs, 2);
  await publish(s, "wq");
  assert.equal(seen.length, 3, "an unregistered listener hears nothing");
});

Deno.test("interest retention keeps a message until every interested consumer acknowledged", async () => {
  await using s = await startJs();
  const st = await streamOf(s, { name: "IN", subjects: ["in.*"], retention: "interest" });
  // Without consumers nothing is kept, but sequences are used.
  assert.deepEqual(await publish(s, "in.a"), ['in.a -> {"stream":"IN", "seq":1}']);
  assert.equal(st.store.state().msgs, 0);
  const a = new FakeConsumer("a", st);
  const b = new FakeConsumer("b", st, "in.b");
  st.consumers.set("a", a);
  st.consumers.set("b", b);
  await publish(s, "in.a", "in.b");
  assert.equal(st.store.state().msgs, 2);
  a.ack(2); // only a wanted in.a
  assert.equal(st.store.loadMsg(2), null);
  a.ack(3); // b still needs in.b
  assert.notEqual(st.store.loadMsg(3), null);
  b.ack(3);
  assert.equal(st.store.loadMsg(3), null);
  // A filter no consumer matches: skipped like no consumer at all.
  st.consumers.delete("a");
  await publish(s, "in.c");
  assert.equal(st.store.state().lastSeq, 4);
  assert.equal(st.store.state().msgs, 0);
});

Deno.test("limits retention ignores acks; purge, stop and delete reach the consumers", async () => {
  await using s = await startJs();
  const st = await streamOf(s, { name: "LIM", subjects: ["lim"] });
  const c = new FakeConsumer("c", st);
  st.consumers.set("c", c);
  await publish(s, "lim", "lim", "lim");
  c.ack(1);
  assert.equal(st.store.state().msgs, 3);
  const nc = await connectTo(s.port);
  await runSteps(nc, ['$JS.API.STREAM.PURGE.LIM {"keep":1}']);
  assert.deepEqual(c.events, ["purged 3"]);
  const other = await streamOf(s, { name: "OTHER", subjects: ["other"] });
  const d = new FakeConsumer("d", other);
  other.consumers.set("d", d);
  await runSteps(nc, ["$JS.API.STREAM.DELETE.LIM"]);
  assert.deepEqual(c.events, ["purged 3", "delete"]);
  await nc.close();
  await s.stop();
  assert.deepEqual(d.events, ["stop"]);
});

Deno.test("CONSUMER.* requests reach the registered handlers; recovery hands streams back", async () => {
  const calls: string[] = [];
  const recovered: string[] = [];
  const handler = (op: string) => (req: ConsumerApiRequest) => {
    const s = req.stream(req.tokens[4]);
    calls.push(`${op} ${req.subject} ${new TextDecoder().decode(req.body)} stream=${s?.name}`);
    req.respond(
      s === null
        ? {
          type: `io.nats.jetstream.api.v1.consumer_${op}_response`,
          error: { code: 404, err_code: 10059, description: "stream not found" },
        }
        : { type: `io.nats.jetstream.api.v1.consumer_${op}_response`, ok: req.limits.maxConsumers },
    );
  };
  const api: ConsumerApi = {
    create: handler("create"),
    names: handler("names"),
    list: handler("list"),
    info: handler("info"),
    delete: handler("delete"),
    recover: (stream) => recovered.push(stream.name),
  };
  registerConsumerApi(api);
  const dir = await Deno.makeTempDir({ prefix: "js_seam_" });
  try {
    {
      const s = await startJs({}, dir);
      const st = await streamOf(s, { name: "S", subjects: ["s"] });
      st.store.consumerStore("durable", { ackPolicy: "explicit" });
      const nc = await connectTo(s.port);
      const out = await runSteps(nc, [
        '$JS.API.CONSUMER.CREATE.S {"stream_name":"S","config":{}}',
        "$JS.API.CONSUMER.DURABLE.CREATE.S.d",
        "$JS.API.CONSUMER.INFO.S.d",
        "$JS.API.CONSUMER.INFO.X.d",
        "$JS.API.CONSUMER.NAMES.S",
        "$JS.API.CONSUMER.LIST.S",
        "$JS.API.CONSUMER.DELETE.S.d",
        "$JS.API.INFO",
      ]);
      assert.equal(
        out[2],
        '$JS.API.CONSUMER.INFO.S.d -> {"type":"io.nats.jetstream.api.v1.consumer_info_response","ok":-1}',
      );
      assert.ok(out[7].includes('"api":{"total":8,"errors":2}'), out[7]);
      assert.equal(calls.length, 7);
      assert.equal(
        calls[0],
        'create $JS.API.CONSUMER.CREATE.S {"stream_name":"S","config":{}} stream=S',
      );
      await nc.close();
      await s.stop();
    }
    await using s2 = await startJs({}, dir);
    assert.deepEqual(recovered, ["S"]);
    assert.ok(s2.log.lines.includes("[INF]   Recovering 1 consumers for stream - '$G > S'"));
  } finally {
    registerConsumerApi(null);
  }
});
