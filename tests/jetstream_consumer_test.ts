/**
 * JetStream consumers (src/jetstream/consumer*.ts) over real sockets, with a test stream layer
 * (jetstream_test_stream.ts) until the real one is wired: every scenario runs the same raw
 * protocol against our server and against `nats-server -js` (when installed) and the two
 * transcripts must match after ids and times are normalized. Covers config validation errors,
 * pull requests and their status replies, every ack kind, redelivery, max_deliver, backoff,
 * max_ack_pending, push heartbeats and flow control, deliver policies, filters, retention,
 * advisories, restart recovery and inactive cleanup.
 */

import assert from "node:assert/strict";
import { type Msg, type Session, sideBySide } from "./jetstream_harness.ts";

const createStream = (s: Session, cfg: Record<string, unknown>) =>
  s.api(`$JS.API.STREAM.CREATE.${cfg.name}`, { storage: "memory", ...cfg });

const addConsumer = (s: Session, stream: string, config: Record<string, unknown>) =>
  s.api(
    config.durable_name
      ? `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${config.durable_name}`
      : `$JS.API.CONSUMER.CREATE.${stream}`,
    { stream_name: stream, config },
  );

const on = (subject: string) => (m: Msg) => m.subject === subject;
const onPrefix = (prefix: string) => (m: Msg) => m.subject.startsWith(prefix);

Deno.test("consumer create: config errors and defaults as nats-server", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    await createStream(s, { name: "W", subjects: ["w.>"], retention: "workqueue" });
    const bad: [string, unknown][] = [
      ["$JS.API.CONSUMER.CREATE.S", "not json"],
      ["$JS.API.CONSUMER.CREATE.S", ""],
      ["$JS.API.CONSUMER.CREATE.S", { stream_name: "X", config: {} }],
      ["$JS.API.CONSUMER.CREATE.X", { stream_name: "X", config: {} }],
      ["$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { durable_name: "d" } }],
      ["$JS.API.CONSUMER.DURABLE.CREATE.S.d", { stream_name: "S", config: {} }],
      ["$JS.API.CONSUMER.DURABLE.CREATE.S.d", { stream_name: "S", config: { durable_name: "e" } }],
      ["$JS.API.CONSUMER.CREATE.S.c", { stream_name: "S", config: { durable_name: "x" } }],
      ["$JS.API.CONSUMER.CREATE.S.c.s.a", { stream_name: "S", config: { filter_subject: "s.b" } }],
      ["$JS.API.CONSUMER.CREATE.S.a\\b", { stream_name: "S", config: {} }],
      ["$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_policy: "bogus" } }],
      ["$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { ack_wait: "1s" } }],
      ["$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { max_deliver: 1.5 } }],
      ["$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_policy: null } }],
      ["$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: 5 }],
      ["$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { num_replicas: 3 } }],
      ["$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { num_replicas: -1 } }],
    ];
    const cfgErrors: Record<string, unknown>[] = [
      { deliver_subject: "a.*" },
      { deliver_subject: "a..b" },
      { deliver_subject: "s.x" },
      { deliver_subject: "d", max_waiting: 5 },
      { deliver_subject: "d", max_ack_pending: 5 },
      { deliver_subject: "d", idle_heartbeat: 50_000_000 },
      { rate_limit_bps: 100 },
      { max_waiting: -1 },
      { idle_heartbeat: 1_000_000_000 },
      { flow_control: true },
      { max_batch: -1 },
      { max_expires: 100 },
      { backoff: [1e9, 2e9], max_deliver: 2 },
      { description: "x".repeat(4097) },
      { direct: true },
      { deliver_subject: "d", direct: true, durable_name: "dd" },
      { filter_subject: "t.>" },
      { filter_subject: "s..x" },
      { opt_start_seq: 5 },
      { deliver_policy: "last", opt_start_time: "2020-01-01T00:00:00Z" },
      { deliver_policy: "last_per_subject" },
      { deliver_policy: "last_per_subject", filter_subject: "s.a", opt_start_seq: 1 },
      { deliver_policy: "new", opt_start_seq: 1 },
      { deliver_policy: "by_start_sequence" },
      {
        deliver_policy: "by_start_sequence",
        opt_start_seq: 1,
        opt_start_time: "2020-01-01T00:00:00Z",
      },
      { deliver_policy: "by_start_time" },
      { deliver_policy: "by_start_time", opt_start_time: "2020-01-01T00:00:00Z", opt_start_seq: 2 },
      { sample_freq: "abc" },
      { sample_freq: "-5" },
      { sample_freq: "99999999999999999999%" },
      { deliver_subject: "d", flow_control: true },
      { durable_name: "a", name: "b" },
      { name: "a.b" },
      { durable_name: "a*b" },
      { durable_name: "x".repeat(256) },
    ];
    for (const [subject, body] of bad) s.recordJson(await s.api(subject, body));
    for (const config of cfgErrors) {
      const subj = config.durable_name
        ? `$JS.API.CONSUMER.DURABLE.CREATE.S.${config.durable_name}`
        : "$JS.API.CONSUMER.CREATE.S";
      const r = await s.api(subj, { stream_name: "S", config });
      if (r.error === undefined) s.names.set(r.name as string, "EPH");
      s.recordJson(r);
    }
    // Work queue streams.
    for (
      const config of [
        { durable_name: "w0", ack_policy: "none" },
        { durable_name: "w1", ack_policy: "all" },
        { durable_name: "w2", ack_policy: "explicit", deliver_policy: "new" },
        { durable_name: "w3", ack_policy: "explicit" },
        { durable_name: "w4", ack_policy: "explicit" },
        { durable_name: "w5", ack_policy: "explicit", filter_subject: "w.a" },
      ]
    ) {
      s.recordJson(
        await s.api(`$JS.API.CONSUMER.DURABLE.CREATE.W.${config.durable_name}`, {
          stream_name: "W",
          config,
        }),
      );
    }
    // Defaults of each kind, and what a re-create may change.
    for (
      const config of [
        { durable_name: "p1", ack_policy: "explicit" },
        {
          durable_name: "p2",
          ack_policy: "all",
          deliver_subject: "dp2",
          backoff: [1e9, 2e9],
          max_deliver: 5,
        },
        {
          durable_name: "p3",
          ack_policy: "none",
          deliver_subject: "dp3",
          idle_heartbeat: 1e9,
          flow_control: true,
        },
        { durable_name: "p1", ack_policy: "explicit", max_ack_pending: 10, description: "new" },
        { durable_name: "p1", ack_policy: "all" },
        { durable_name: "p1", ack_policy: "explicit", deliver_policy: "last" },
        { durable_name: "p1", ack_policy: "explicit", deliver_subject: "x" },
        {
          durable_name: "p2",
          ack_policy: "all",
          deliver_subject: "dp2b",
          backoff: [1e9, 2e9],
          max_deliver: 5,
        },
        { durable_name: "p2", ack_policy: "all", backoff: [1e9, 2e9], max_deliver: 5 },
        {
          durable_name: "p3",
          ack_policy: "none",
          deliver_subject: "dp3",
          idle_heartbeat: 2e9,
          flow_control: true,
        },
        {
          durable_name: "p3",
          ack_policy: "none",
          deliver_subject: "dp3",
          idle_heartbeat: 1e9,
          flow_control: true,
          replay_policy: "original",
        },
        {
          durable_name: "p4",
          deliver_policy: "by_start_time",
          opt_start_time: "2020-01-02T03:04:05.1234+02:00",
        },
        {
          durable_name: "p4",
          deliver_policy: "by_start_time",
          opt_start_time: "2020-01-02T03:04:05.1234+02:00",
        },
        {
          durable_name: "p4",
          deliver_policy: "by_start_time",
          opt_start_time: "2020-01-02T03:04:05.1234+02:00",
          description: "d",
        },
      ]
    ) {
      s.recordJson(
        await s.api(`$JS.API.CONSUMER.DURABLE.CREATE.S.${config.durable_name}`, {
          stream_name: "S",
          config,
        }),
      );
    }
    // New style with a name and a filter in the subject.
    s.recordJson(
      await s.api("$JS.API.CONSUMER.CREATE.S.named.s.a", {
        stream_name: "S",
        config: { filter_subject: "s.a", inactive_threshold: 60e9 },
      }),
    );
  });
});

Deno.test("consumer info, names, list and delete as nats-server", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    for (const n of ["c", "a", "b"]) await addConsumer(s, "S", { durable_name: n });
    s.recordJson(await s.api("$JS.API.CONSUMER.NAMES.S"));
    s.recordJson(await s.api("$JS.API.CONSUMER.NAMES.S", { offset: 1 }));
    s.recordJson(await s.api("$JS.API.CONSUMER.NAMES.S", { offset: 10 }));
    s.recordJson(await s.api("$JS.API.CONSUMER.NAMES.S", "{bad"));
    s.recordJson(await s.api("$JS.API.CONSUMER.NAMES.S", { offset: "x" }));
    s.recordJson(await s.api("$JS.API.CONSUMER.NAMES.X"));
    s.recordJson(await s.api("$JS.API.CONSUMER.LIST.S", { offset: 2 }));
    s.recordJson(await s.api("$JS.API.CONSUMER.LIST.X"));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.a"));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.a", { x: 1 }));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.a", "{}"));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.z"));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.X.a"));
    s.recordJson(await s.api("$JS.API.CONSUMER.DELETE.S.a", "x"));
    s.recordJson(await s.api("$JS.API.CONSUMER.DELETE.X.a"));
    s.recordJson(await s.api("$JS.API.CONSUMER.DELETE.S.z"));
    await s.sub("$JS.EVENT.ADVISORY.CONSUMER.>");
    s.recordJson(await s.api("$JS.API.CONSUMER.DELETE.S.a"));
    s.record(await s.take(onPrefix("$JS.EVENT.ADVISORY.CONSUMER.DELETED")));
    s.recordJson(await s.api("$JS.API.CONSUMER.NAMES.S"));
  });
});

Deno.test("pull requests: batches, no_wait, expires and every status reply", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    for (const [subj, data] of [["s.a", "one"], ["s.b", "two"], ["s.a", "three"]]) {
      await s.pub(subj, data);
    }
    await addConsumer(s, "S", {
      durable_name: "D",
      ack_policy: "explicit",
      max_batch: 10,
      max_expires: 2e9,
      max_bytes: 1000,
    });
    const next = "$JS.API.CONSUMER.MSG.NEXT.S.D";
    await s.sub("p.>");
    // One message for an empty request.
    await s.pub(next, "", "p.1");
    s.record(await s.take(on("p.1")));
    // A batch with no_wait: what there is, then 408 with what was left.
    await s.pub(next, JSON.stringify({ batch: 5, no_wait: true }), "p.2");
    s.record(await s.take(on("p.2"), 3));
    // Nothing left: 404 for no_wait.
    await s.pub(next, JSON.stringify({ batch: 5, no_wait: true }), "p.3");
    s.record(await s.take(on("p.3")));
    // Expires with nothing to deliver: 408 when it expires.
    await s.pub(next, JSON.stringify({ batch: 2, expires: 100e6 }), "p.4");
    s.record(await s.take(on("p.4")));
    // A message arriving while a request waits goes to it.
    await s.pub(next, JSON.stringify({ batch: 1, expires: 2e9 }), "p.5");
    await s.ping();
    await s.pub("s.c", "four");
    s.record(await s.take(on("p.5")));
    // Bad requests and limits.
    for (
      const [i, body] of [
        "{",
        '{"batch":"x"}',
        '{"batch":1.5}',
        '{"no_wait":1}',
        "{x}",
        '{"batch":1}x',
        JSON.stringify({ batch: 1, idle_heartbeat: 1e9 }),
        JSON.stringify({ batch: 1, idle_heartbeat: 1e9, expires: 1e9 }),
        JSON.stringify({ batch: 11 }),
        JSON.stringify({ batch: 1, expires: 3e9 }),
        JSON.stringify({ batch: 1, max_bytes: 1001 }),
      ].entries()
    ) {
      await s.pub(next, body, `p.bad.${i}`);
      s.record(await s.take(on(`p.bad.${i}`)));
    }
    // A number is a batch size; a message bigger than max_bytes ends the request (409).
    await s.pub("s.big", "x".repeat(200));
    await s.pub(next, JSON.stringify({ batch: 3, max_bytes: 100, expires: 1e9 }), "p.6");
    s.record(await s.take(on("p.6")));
    await s.pub(next, "2", "p.7");
    s.record(await s.take(on("p.7")));
    // The consumer info counters.
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
  });
});

Deno.test("pull requests: max_waiting, requests pending, interest and consumer deleted", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit", max_waiting: 2 });
    const next = "$JS.API.CONSUMER.MSG.NEXT.S.D";
    await s.sub("p.>");
    await s.pub(next, JSON.stringify({ batch: 2, expires: 5e9 }), "p.1");
    await s.pub(next, JSON.stringify({ batch: 2, expires: 5e9 }), "p.2");
    await s.pub(next, JSON.stringify({ batch: 1, expires: 5e9 }), "p.3");
    s.record(await s.take(on("p.3")));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    // One message with two waiting: the first request gets it; no_wait with more wanted: 408.
    await s.pub("s.a", "one");
    s.record(await s.take(on("p.1")));
    await s.pub(next, JSON.stringify({ batch: 1, no_wait: true }), "q.1");
    await s.sub("q.1");
    await s.pub(next, JSON.stringify({ batch: 1, no_wait: true }), "q.1");
    s.record(await s.take(on("q.1")));
    // A request nobody listens to is dropped (not counted as waiting).
    await s.pub(next, JSON.stringify({ batch: 1, expires: 5e9 }), "nobody");
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    // Pull request to a push consumer.
    await addConsumer(s, "S", { durable_name: "P", deliver_subject: "dp" });
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.P", "", "p.push");
    s.record(await s.take(on("p.push")));
    // Deleting the consumer answers the waiting requests.
    await s.api("$JS.API.CONSUMER.DELETE.S.D");
    s.record(await s.take((m) => m.subject === "p.1" || m.subject === "p.2", 2));
  });
});

Deno.test("acks: +ACK, empty, -NAK (with delays), +WPI, +NXT, +TERM and ack replies", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    for (let i = 1; i <= 6; i++) await s.pub(`s.${i}`, `m${i}`);
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit", ack_wait: 30e9 });
    await s.sub("$JS.EVENT.ADVISORY.CONSUMER.>");
    await s.sub("p.>");
    await s.sub("r.>");
    const next = "$JS.API.CONSUMER.MSG.NEXT.S.D";
    await s.pub(next, JSON.stringify({ batch: 6 }), "p.1");
    const got = await s.take(on("p.1"), 6);
    s.record(got);
    const [m1, m2, m3, m4, m5, m6] = got.map((m) => m.reply);
    await s.pub(m2, "+ACK", "r.ack");
    s.record(await s.take(on("r.ack")));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    await s.pub(m1, "");
    await s.ping();
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    // NAK: redelivered at once (to a waiting request).
    await s.pub(m3, "-NAK", "r.nak");
    s.record(await s.take(on("r.nak")));
    s.record(await s.take(onPrefix("$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED")));
    await s.pub(next, "", "p.2");
    const [re3] = await s.take(on("p.2"));
    s.record([re3]);
    // NAK with a delay (JSON and Go duration): not before the delay.
    await s.pub(re3.reply, JSON.stringify({ delay: 150e6 }));
    await s.pub(m4, "-NAK 150ms");
    s.record(await s.take(onPrefix("$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED"), 2));
    await s.pub(next, JSON.stringify({ batch: 2, expires: 3e9 }), "p.3");
    const t0 = Date.now();
    const redelivered = await s.take(on("p.3"), 2);
    assert.ok(Date.now() - t0 >= 100, "NAK delay honoured");
    s.record(redelivered);
    // +WPI keeps it pending; +TERM ends it with an advisory.
    await s.pub(m5, "+WPI", "r.wpi");
    s.record(await s.take(on("r.wpi")));
    await s.pub(m6, "+TERM");
    s.record(await s.take(onPrefix("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED")));
    // +NXT acks and asks for more, to the ack's reply subject.
    await s.pub("s.7", "m7");
    await s.pub("s.8", "m8");
    await s.pub(m5, "+NXT 2", "p.nxt");
    s.record(await s.take(on("p.nxt"), 2));
    // Acks for unknown or already acked messages change nothing.
    await s.pub(m2, "+ACK");
    await s.pub("$JS.ACK.S.D.1.99.99.0.0", "+ACK");
    await s.pub("$JS.ACK.S.D.x", "+ACK", "r.bad");
    s.record(await s.take(on("r.bad")));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
  });
});

Deno.test("ack policy all and none", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    for (let i = 1; i <= 5; i++) await s.pub(`s.${i}`, `m${i}`);
    await addConsumer(s, "S", { durable_name: "A", ack_policy: "all" });
    await addConsumer(s, "S", { durable_name: "N", ack_policy: "none" });
    await s.sub("p.>");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.A", "5", "p.a");
    const got = await s.take(on("p.a"), 5);
    await s.pub(got[2].reply, "+ACK");
    await s.ping();
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.A"));
    await s.pub(got[1].reply, "+ACK");
    await s.pub(got[4].reply, "+ACK");
    await s.ping();
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.A"));
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.N", "3", "p.n");
    s.record(await s.take(on("p.n"), 3));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.N"));
  });
});

Deno.test("redelivery after ack_wait, max_deliver advisory, backoff and max_ack_pending", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    await s.sub("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>");
    await s.sub("d.>");
    await s.pub("s.1", "one");
    await s.pub("s.2", "two");
    await addConsumer(s, "S", {
      durable_name: "R",
      ack_policy: "explicit",
      deliver_subject: "d.r",
      ack_wait: 200e6,
      max_deliver: 3,
    });
    // Two deliveries of each, in order, then the advisory per message.
    s.record(await s.take(on("d.r"), 6, 5000));
    s.record(await s.take(onPrefix("$JS.EVENT.ADVISORY"), 2, 5000));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.R"));
    // Backoff: redeliveries 100ms then 300ms apart.
    await addConsumer(s, "S", {
      durable_name: "B",
      ack_policy: "explicit",
      deliver_subject: "d.b",
      filter_subject: "s.1",
      backoff: [100e6, 300e6],
      max_deliver: 3,
    });
    const t0 = Date.now();
    const b = [...await s.take(on("d.b"), 1), ...await s.take(on("d.b"), 1, 5000)];
    const t1 = Date.now();
    b.push(...await s.take(on("d.b"), 1, 5000));
    const t2 = Date.now();
    assert.ok(t1 - t0 >= 90 && t2 - t1 >= 250, `backoff spacing ${t1 - t0} ${t2 - t1}`);
    s.record(b);
    // max_ack_pending: two in flight, the third waits for an ack.
    for (let i = 3; i <= 5; i++) await s.pub(`s.${i}`, `m${i}`);
    await addConsumer(s, "S", {
      durable_name: "M",
      ack_policy: "explicit",
      deliver_subject: "d.m",
      deliver_policy: "by_start_sequence",
      opt_start_seq: 3,
      max_ack_pending: 2,
    });
    const first = await s.take(on("d.m"), 2);
    s.record(first);
    s.record(await s.drain(on("d.m")));
    await s.pub(first[0].reply, "+ACK");
    s.record(await s.take(on("d.m")));
  });
});

Deno.test("push consumers: idle heartbeats, flow control, groups, headers_only", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    await s.sub("d.>");
    await addConsumer(s, "S", {
      durable_name: "H",
      ack_policy: "none",
      deliver_subject: "d.h",
      idle_heartbeat: 100e6,
      flow_control: true,
    });
    s.record(await s.take(on("d.h"), 1, 3000));
    await s.pub("s.1", "one");
    s.record(await s.take(on("d.h"), 2, 3000));
    // Flow control: past half of the 2 MiB window a request comes; delivery stalls until the
    // reply, and heartbeats meanwhile say so.
    const big = "x".repeat(64 * 1024);
    for (let i = 0; i < 40; i++) await s.pub("s.big", big);
    const isFc = (m: Msg) => m.subject === "d.h" && m.hdr.includes("FlowControl");
    const [fc] = await s.take(isFc, 1, 5000);
    const before = await s.take((m) => m.subject === "d.h" && m.data === big, 17, 5000);
    s.note(`delivered before flow control reply: ${before.length}`);
    const stalled = await s.take((m) => m.subject === "d.h" && m.hdr.includes("Stalled"), 1, 5000);
    s.record([fc, ...stalled]);
    s.record(await s.drain((m) => m.subject === "d.h" && m.data === big));
    await s.pub(fc.reply, "");
    const rest = await s.take((m) => m.subject === "d.h" && m.data === big, 23, 5000);
    s.note(`delivered after: ${rest.length}`);
    // Queue group delivery and headers only.
    await s.hpub("s.h", "NATS/1.0\r\nA: b\r\n\r\n", "payload");
    await s.sub("d.g", "grp");
    await addConsumer(s, "S", {
      durable_name: "G",
      ack_policy: "none",
      deliver_subject: "d.g",
      deliver_group: "grp",
      filter_subject: "s.h",
      headers_only: true,
    });
    s.record(await s.take(on("d.g")));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.G"));
  });
});

Deno.test("deliver policies and filters", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    for (
      const [subj, data] of [["s.a", "1"], ["s.b", "2"], ["s.a", "3"], ["s.c", "4"], ["s.b", "5"]]
    ) {
      await s.pub(subj, data);
    }
    await s.sub("d.>");
    const policies: Record<string, unknown>[] = [
      { deliver_policy: "all", filter_subject: "s.b" },
      { deliver_policy: "last" },
      { deliver_policy: "last", filter_subject: "s.a" },
      { deliver_policy: "new" },
      { deliver_policy: "by_start_sequence", opt_start_seq: 3 },
      { deliver_policy: "by_start_sequence", opt_start_seq: 99 },
      { deliver_policy: "by_start_time", opt_start_time: "2000-01-01T00:00:00Z" },
      { deliver_policy: "last_per_subject", filter_subject: "s.*" },
      { deliver_policy: "all", filter_subject: "s.*" },
    ];
    for (const [i, p] of policies.entries()) {
      await addConsumer(s, "S", { durable_name: `P${i}`, deliver_subject: `d.${i}`, ...p });
    }
    await s.pub("s.a", "6");
    await s.pub("s.x.y", "7");
    const counts = [3, 2, 2, 1, 4, 1, 7, 4, 6];
    for (const [i, n] of counts.entries()) {
      s.record(await s.take(on(`d.${i}`), n));
      s.record(await s.drain(on(`d.${i}`)));
      s.recordJson(await s.api(`$JS.API.CONSUMER.INFO.S.P${i}`));
    }
  });
});
