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
import { type Msg, Session, sideBySide, startOurs } from "./jetstream_harness.ts";
import { freePort, ROOT } from "./process_helpers.ts";

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
/** Deliveries keep the stored subject: they are told apart by subscription. */
const bySid = (sid: string) => (m: Msg) => m.sid === sid;
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
    const req = async (inbox: string, body: string, n: number, ms?: number) => {
      const sid = await s.sub(inbox);
      await s.pub(next, body, inbox);
      s.record(await s.take(bySid(sid), n, ms));
      return sid;
    };
    // One message for an empty request.
    await req("p.1", "", 1);
    // A batch with no_wait: what there is, then 408 with what was left.
    await req("p.2", JSON.stringify({ batch: 5, no_wait: true }), 3);
    // Nothing left: 404 for no_wait.
    await req("p.3", JSON.stringify({ batch: 5, no_wait: true }), 1);
    // Expires with nothing to deliver: 408 when it expires.
    await req("p.4", JSON.stringify({ batch: 2, expires: 100e6 }), 1);
    // A message arriving while a request waits goes to it.
    const p5 = await s.sub("p.5");
    await s.pub(next, JSON.stringify({ batch: 1, expires: 2e9 }), "p.5");
    await s.ping();
    await s.pub("s.c", "four");
    s.record(await s.take(bySid(p5)));
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
    ) await req(`p.bad.${i}`, body, 1);
    // A message bigger than max_bytes ends the request (409); a number is a batch size.
    await s.pub("s.big", "x".repeat(200));
    await req("p.6", JSON.stringify({ batch: 3, max_bytes: 100, expires: 1e9 }), 1);
    await req("p.7", "2", 1);
    // The consumer info counters.
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
  });
});

Deno.test("pull requests: max_waiting, requests pending, interest and consumer deleted", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit", max_waiting: 2 });
    const next = "$JS.API.CONSUMER.MSG.NEXT.S.D";
    const p1 = await s.sub("p.1"), p2 = await s.sub("p.2"), p3 = await s.sub("p.3");
    await s.pub(next, JSON.stringify({ batch: 2, expires: 5e9 }), "p.1");
    await s.pub(next, JSON.stringify({ batch: 2, expires: 5e9 }), "p.2");
    await s.pub(next, JSON.stringify({ batch: 1, expires: 5e9 }), "p.3");
    s.record(await s.take(bySid(p3)));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    // One message with two waiting: the first request gets it; no_wait wanting more: 408.
    await s.pub("s.a", "one");
    s.record(await s.take(bySid(p1)));
    const q1 = await s.sub("q.1");
    await s.pub(next, JSON.stringify({ batch: 1, no_wait: true }), "q.1");
    s.record(await s.take(bySid(q1)));
    // A request nobody listens to is dropped (not counted as waiting).
    await s.pub(next, JSON.stringify({ batch: 1, expires: 5e9 }), "nobody");
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    // Pull request to a push consumer.
    await addConsumer(s, "S", { durable_name: "P", deliver_subject: "dp" });
    const pp = await s.sub("p.push");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.P", "", "p.push");
    s.record(await s.take(bySid(pp)));
    // Deleting the consumer answers the waiting requests.
    await s.api("$JS.API.CONSUMER.DELETE.S.D");
    s.record(await s.take((m) => m.sid === p1 || m.sid === p2, 2));
  });
});

Deno.test("acks: +ACK, empty, -NAK (with delays), +WPI, +NXT, +TERM and ack replies", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    for (let i = 1; i <= 6; i++) await s.pub(`s.${i}`, `m${i}`);
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit", ack_wait: 30e9 });
    const adv = await s.sub("$JS.EVENT.ADVISORY.CONSUMER.>");
    const p = await s.sub("p.>");
    const r = await s.sub("r.>");
    const next = "$JS.API.CONSUMER.MSG.NEXT.S.D";
    await s.pub(next, JSON.stringify({ batch: 6 }), "p.1");
    const got = await s.take(bySid(p), 6);
    s.record(got);
    const [m1, m2, m3, m4, m5, m6] = got.map((m) => m.reply);
    await s.pub(m2, "+ACK", "r.ack");
    s.record(await s.take(bySid(r)));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    await s.pub(m1, "");
    await s.ping();
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    // NAK: redelivered at once (to the next request).
    await s.pub(m3, "-NAK", "r.nak");
    s.record(await s.take(bySid(r)));
    s.record(await s.take(bySid(adv)));
    await s.pub(next, "", "p.2");
    const [re3] = await s.take(bySid(p));
    s.record([re3]);
    // NAK with a delay (JSON and Go duration): not before the delay.
    await s.pub(re3.reply, JSON.stringify({ delay: 150e6 }).replace(/^/, "-NAK "));
    await s.pub(m4, "-NAK 150ms");
    s.record(await s.take(bySid(adv), 2));
    const t0 = Date.now();
    await s.pub(next, JSON.stringify({ batch: 2, expires: 3e9 }), "p.3");
    const redelivered = await s.take(bySid(p), 2);
    assert.ok(Date.now() - t0 >= 100, "NAK delay honoured");
    s.record(redelivered);
    // +WPI keeps it pending; +TERM ends it with an advisory.
    await s.pub(m5, "+WPI", "r.wpi");
    s.record(await s.take(bySid(r)));
    await s.pub(m6, "+TERM");
    s.record(await s.take(bySid(adv)));
    // +NXT acks and asks for more, to the ack's reply subject.
    await s.pub("s.7", "m7");
    await s.pub("s.8", "m8");
    await s.pub(m5, "+NXT 2", "p.nxt");
    s.record(await s.take(bySid(p), 2));
    // Acks for unknown or already acked messages change nothing; a bad ack subject neither.
    await s.pub(m2, "+ACK");
    await s.pub("$JS.ACK.S.D.1.99.99.0.0", "+ACK");
    await s.ping();
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
  });
});

Deno.test("ack policy all and none", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    for (let i = 1; i <= 5; i++) await s.pub(`s.${i}`, `m${i}`);
    await addConsumer(s, "S", { durable_name: "A", ack_policy: "all" });
    await addConsumer(s, "S", { durable_name: "N", ack_policy: "none" });
    const pa = await s.sub("p.a"), pn = await s.sub("p.n");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.A", "5", "p.a");
    const got = await s.take(bySid(pa), 5);
    await s.pub(got[2].reply, "+ACK");
    await s.ping();
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.A"));
    await s.pub(got[1].reply, "+ACK");
    await s.pub(got[4].reply, "+ACK");
    await s.ping();
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.A"));
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.N", "3", "p.n");
    s.record(await s.take(bySid(pn), 3));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.N"));
  });
});

Deno.test("redelivery after ack_wait, max_deliver advisory, backoff and max_ack_pending", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    const adv = await s.sub("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>");
    const dr = await s.sub("d.r"), db = await s.sub("d.b"), dm = await s.sub("d.m");
    await s.pub("s.1", "one");
    await s.pub("s.2", "two");
    await addConsumer(s, "S", {
      durable_name: "R",
      ack_policy: "explicit",
      deliver_subject: "d.r",
      ack_wait: 200e6,
      max_deliver: 3,
    });
    // Three deliveries of each, in order, then the advisory per message.
    s.record(await s.take(bySid(dr), 6, 5000));
    s.record(await s.take(bySid(adv), 2, 5000));
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
    const b = await s.take(bySid(db), 1);
    const t0 = Date.now();
    b.push(...await s.take(bySid(db), 1, 5000));
    const t1 = Date.now();
    b.push(...await s.take(bySid(db), 1, 5000));
    const t2 = Date.now();
    assert.ok(t1 - t0 >= 80 && t2 - t1 >= 250, `backoff spacing ${t1 - t0} ${t2 - t1}`);
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
    const first = await s.take(bySid(dm), 2);
    s.record(first);
    s.record(await s.drain(bySid(dm)));
    await s.pub(first[0].reply, "+ACK");
    s.record(await s.take(bySid(dm)));
  });
});

Deno.test("push consumers: idle heartbeats, flow control, groups, headers_only", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    const dh = await s.sub("d.h");
    await addConsumer(s, "S", {
      durable_name: "H",
      ack_policy: "none",
      deliver_subject: "d.h",
      idle_heartbeat: 100e6,
      flow_control: true,
    });
    s.record(await s.take(bySid(dh), 1, 3000));
    await s.pub("s.1", "one");
    s.record(await s.take(bySid(dh), 2, 3000));
    // Flow control: past half of the 2 MiB window a request comes; delivery stalls until the
    // reply, and heartbeats meanwhile say so.
    const big = "x".repeat(64 * 1024);
    for (let i = 0; i < 40; i++) await s.pub("s.big", big);
    const isFc = (m: Msg) => m.sid === dh && m.hdr.includes("FlowControl");
    const [fc] = await s.take(isFc, 1, 5000);
    const isBig = (m: Msg) => m.sid === dh && m.data === big;
    const stalled = await s.take((m) => m.sid === dh && m.hdr.includes("Stalled"), 1, 5000);
    const before = await s.drain(isBig);
    s.note(`delivered before flow control reply: ${before.length}`);
    s.record([fc, ...stalled]);
    await s.pub(fc.reply, "");
    const rest = await s.take(isBig, 40 - before.length, 5000);
    s.note(`delivered after: ${rest.length}`);
    // Queue group delivery and headers only.
    await s.hpub("s.h", "NATS/1.0\r\nA: b\r\n\r\n", "payload");
    const dg = await s.sub("d.g", "grp");
    await addConsumer(s, "S", {
      durable_name: "G",
      ack_policy: "none",
      deliver_subject: "d.g",
      deliver_group: "grp",
      filter_subject: "s.h",
      headers_only: true,
    });
    s.record(await s.take(bySid(dg)));
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
    const sids: string[] = [];
    for (const [i, p] of policies.entries()) {
      sids.push(await s.sub(`d.${i}`));
      await addConsumer(s, "S", { durable_name: `P${i}`, deliver_subject: `d.${i}`, ...p });
    }
    await s.pub("s.a", "6");
    await s.pub("s.x.y", "7");
    const counts = [2, 2, 2, 2, 5, 2, 7, 4, 6];
    for (const [i, n] of counts.entries()) {
      s.record(await s.take(bySid(sids[i]), n));
      s.record(await s.drain(bySid(sids[i])));
      s.recordJson(await s.api(`$JS.API.CONSUMER.INFO.S.P${i}`));
    }
  });
});

const streamMsgs = async (s: Session, stream: string) =>
  ((await s.api(`$JS.API.STREAM.INFO.${stream}`)).state as Record<string, unknown>).messages;

Deno.test("retention: work queue removes acked messages, interest waits for every consumer", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "W", subjects: ["w.>"], retention: "workqueue" });
    await createStream(s, { name: "I", subjects: ["i.>"], retention: "interest" });
    await addConsumer(s, "W", { durable_name: "A", ack_policy: "explicit", filter_subject: "w.a" });
    await addConsumer(s, "W", { durable_name: "B", ack_policy: "explicit", filter_subject: "w.b" });
    await addConsumer(s, "I", { durable_name: "X", ack_policy: "explicit" });
    await addConsumer(s, "I", { durable_name: "Y", ack_policy: "all" });
    await addConsumer(s, "I", { durable_name: "Z", ack_policy: "explicit", filter_subject: "i.z" });
    for (const subj of ["w.a", "w.b", "w.a", "i.1", "i.2", "i.z"]) await s.pub(subj, subj);
    const p = await s.sub("p.>");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.W.A", "5", "p.a");
    const a = await s.take(bySid(p), 2);
    await s.pub(a[0].reply, "+ACK");
    await s.ping();
    s.note(`work queue after one ack: ${await streamMsgs(s, "W")}`);
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.I.X", "3", "p.x");
    const x = await s.take(bySid(p), 3);
    for (const m of x) await s.pub(m.reply, "+ACK");
    await s.ping();
    s.note(`interest after X acked all: ${await streamMsgs(s, "I")}`);
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.I.Y", "3", "p.y");
    const y = await s.take(bySid(p), 3);
    await s.pub(y[1].reply, "+ACK");
    await s.ping();
    s.note(`interest after Y acked two: ${await streamMsgs(s, "I")}`);
    // Deleting the consumer that still wants i.z lets it go.
    await s.api("$JS.API.CONSUMER.DELETE.I.Z");
    s.note(`interest after Z deleted: ${await streamMsgs(s, "I")}`);
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.I.Y"));
  });
});

Deno.test("a pending message removed from the stream is terminated; purge moves the floors", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"], max_msgs: 2 });
    const adv = await s.sub("$JS.EVENT.ADVISORY.CONSUMER.>");
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit" });
    s.record(await s.take(bySid(adv)));
    await s.pub("s.1", "1");
    await s.pub("s.2", "2");
    const p = await s.sub("p.>");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", "2", "p.1");
    s.record(await s.take(bySid(p), 2));
    await s.pub("s.3", "3");
    s.record(await s.take(bySid(adv)));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    await s.api("$JS.API.STREAM.PURGE.S");
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
    await s.pub("s.4", "4");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", "1", "p.2");
    s.record(await s.take(bySid(p)));
  });
});

Deno.test("requests pending: a no_wait request behind others wanting more", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit", max_ack_pending: 1 });
    const next = "$JS.API.CONSUMER.MSG.NEXT.S.D";
    const p = await s.sub("p.>");
    await s.pub(next, JSON.stringify({ batch: 3, expires: 5e9 }), "p.1");
    await s.pub("s.1", "1");
    await s.pub("s.2", "2");
    s.record(await s.take(bySid(p)));
    await s.pub(next, JSON.stringify({ batch: 1, no_wait: true }), "p.2");
    s.record(await s.take(bySid(p)));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
  });
});

Deno.test("ephemerals go after their inactive threshold, with the deleted advisory", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    const adv = await s.sub("$JS.EVENT.ADVISORY.CONSUMER.DELETED.>");
    const push = await s.api("$JS.API.CONSUMER.CREATE.S.push", {
      stream_name: "S",
      config: { deliver_subject: "nobody.here", inactive_threshold: 200e6 },
    });
    const pull = await s.api("$JS.API.CONSUMER.CREATE.S.pull", {
      stream_name: "S",
      config: { inactive_threshold: 200e6, ack_policy: "explicit" },
    });
    s.recordJson(push);
    s.recordJson(pull);
    const gone = await s.take(bySid(adv), 2, 5000);
    s.record(gone.sort((a, b) => a.subject < b.subject ? -1 : 1));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.pull"));
    // A push ephemeral whose subscriber stays is kept; once it leaves, the consumer goes.
    const sid = await s.sub("d.kept");
    await s.api("$JS.API.CONSUMER.CREATE.S.kept", {
      stream_name: "S",
      config: { deliver_subject: "d.kept", inactive_threshold: 200e6 },
    });
    await new Promise((r) => setTimeout(r, 400));
    s.recordJson((await s.api("$JS.API.CONSUMER.INFO.S.kept")).push_bound ?? null);
    await s.unsub(sid);
    s.record(await s.take(bySid(adv), 1, 5000));
  });
});

Deno.test("ack metrics with sample_freq", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"] });
    const met = await s.sub("$JS.EVENT.METRIC.>");
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit", sample_freq: "100%" });
    await s.pub("s.1", "1");
    const p = await s.sub("p.>");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", "", "p.1");
    const [m] = await s.take(bySid(p));
    await s.pub(m.reply, "+ACK");
    s.record(await s.take(bySid(met)));
    s.record(await s.drain(on("nothing")));
  });
});

// ---- ours only: restarts ----------------------------------------------------------------------

Deno.test("file consumers come back after a restart with their state; ephemerals stay ephemeral", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jsc-" });
  try {
    let t = await startOurs(dir);
    let s = await Session.open(t.port, "ours");
    await s.api("$JS.API.STREAM.CREATE.S", { name: "S", subjects: ["s.>"], storage: "file" });
    for (let i = 1; i <= 10; i++) await s.pub(`s.${i}`, `m${i}`);
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit", ack_wait: 300e6 });
    const eph = await s.api("$JS.API.CONSUMER.CREATE.S", {
      stream_name: "S",
      config: { ack_policy: "explicit", inactive_threshold: 60e9 },
    });
    const p = await s.sub("p.>");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", "6", "p.1");
    const got = await s.take(bySid(p), 6);
    for (const i of [0, 1, 2, 4]) await s.pub(got[i].reply, "+ACK", "r.1");
    await s.sub("r.1");
    await s.ping();
    const before = await s.api("$JS.API.CONSUMER.INFO.S.D");
    await s.close();
    await t.close();

    t = await startOurs(dir);
    t.js!.addStream({ name: "S", subjects: ["s.>"], storage: "file" });
    s = await Session.open(t.port, "ours");
    const after = await s.api("$JS.API.CONSUMER.INFO.S.D");
    assert.equal(after.error, undefined, JSON.stringify(after));
    for (const k of ["delivered", "ack_floor", "num_ack_pending", "num_pending", "created"]) {
      const strip = (v: unknown) => JSON.stringify(v).replace(/,"last_active":"[^"]*"/, "");
      assert.equal(strip(after[k]), strip(before[k]), k);
    }
    assert.deepEqual(after.delivered, { consumer_seq: 6, stream_seq: 6 });
    assert.deepEqual(after.ack_floor, { consumer_seq: 3, stream_seq: 3 });
    const ei = await s.api(`$JS.API.CONSUMER.INFO.S.${eph.name}`);
    assert.equal((ei.config as Record<string, unknown>).durable_name, undefined);
    assert.equal((ei.config as Record<string, unknown>).inactive_threshold, 60e9);
    // New messages first, then the unacked 4 and 6 come again (second delivery).
    const p2 = await s.sub("p.>");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", JSON.stringify({ batch: 6, expires: 5e9 }), "p.2");
    const again = await s.take(bySid(p2), 6, 6000);
    assert.deepEqual(again.map((m) => m.data), ["m7", "m8", "m9", "m10", "m4", "m6"]);
    assert.deepEqual(again.slice(4).map((m) => m.reply.split(".")[4]), ["2", "2"]);
    await s.close();
    await t.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a consumer killed with SIGKILL resumes with every acknowledged ack and delivery", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jsc-kill-" });
  const port = freePort();
  const spawn = async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tests/jetstream_consumer_child.ts", dir, String(port)],
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("child exited");
      out += value;
    }
    reader.releaseLock();
    return child;
  };
  let child = await spawn();
  try {
    let s = await Session.open(port, "child");
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit", ack_wait: 500e6 });
    const acks = await s.sub("acks");
    for (let i = 1; i <= 200; i++) await s.pub(`s.${i % 5}`, `m${i}`, "acks");
    await s.take(bySid(acks), 200);
    const p = await s.sub("p.>");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", "100", "p.1");
    const got = await s.take(bySid(p), 100);
    // Acks confirmed by their reply are on disk; the kill follows the last confirmation.
    const r = await s.sub("r.>");
    for (let i = 0; i < 60; i++) await s.pub(got[i].reply, "+ACK", `r.${i}`);
    await s.take(bySid(r), 60);
    child.kill("SIGKILL");
    await child.status;
    await s.close();

    child = await spawn();
    s = await Session.open(port, "child");
    const info = await s.api("$JS.API.CONSUMER.INFO.S.D");
    assert.deepEqual(info.delivered, { consumer_seq: 100, stream_seq: 100 });
    assert.deepEqual(info.ack_floor, { consumer_seq: 60, stream_seq: 60 });
    assert.equal(info.num_ack_pending, 40);
    assert.equal(info.num_pending, 100);
    const p2 = await s.sub("p.>");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", "10", "p.2");
    const fresh = await s.take(bySid(p2), 10);
    assert.deepEqual(fresh.map((m) => m.data), Array.from({ length: 10 }, (_, i) => `m${101 + i}`));
    // The rest: 90 new ones and, once ack_wait has passed, the 40 unacked ones again.
    await s.pub(
      "$JS.API.CONSUMER.MSG.NEXT.S.D",
      JSON.stringify({ batch: 130, expires: 8e9 }),
      "p.3",
    );
    const rest = await s.take(bySid(p2), 130, 9000);
    const redo = rest.filter((m) => m.reply.split(".")[4] === "2").map((m) => m.data);
    assert.deepEqual(redo, Array.from({ length: 40 }, (_, i) => `m${61 + i}`));
    const more = rest.filter((m) => m.reply.split(".")[4] === "1").map((m) => m.data);
    assert.deepEqual(more, Array.from({ length: 90 }, (_, i) => `m${111 + i}`));
    await s.close();
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay original keeps the stream's spacing; rate_limit_bps paces delivery", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"], max_msg_size: 1000 });
    for (let i = 1; i <= 3; i++) {
      await s.pub(`s.${i}`, `m${i}`);
      await s.ping();
      await new Promise((r) => setTimeout(r, 150));
    }
    const d = await s.sub("d.r");
    await addConsumer(s, "S", {
      durable_name: "R",
      deliver_subject: "d.r",
      replay_policy: "original",
    });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      s.record(await s.take(bySid(d)));
      times.push(Date.now());
    }
    assert.ok(times[1] - times[0] >= 100 && times[2] - times[1] >= 100, `replay ${times}`);
    // Caught up: what arrives now comes at once.
    await s.pub("s.4", "m4");
    s.record(await s.take(bySid(d)));
    // 4000 bits/s = 500 bytes/s with a 1000 byte burst: ~400 bytes each, the 4th waits.
    const body = "x".repeat(380);
    for (let i = 0; i < 4; i++) await s.pub("s.rate", body);
    const r = await s.sub("d.rate");
    const t0 = Date.now();
    await addConsumer(s, "S", {
      durable_name: "L",
      deliver_subject: "d.rate",
      filter_subject: "s.rate",
      rate_limit_bps: 4000,
    });
    await s.take(bySid(r), 2);
    const t1 = Date.now();
    await s.take(bySid(r), 2, 5000);
    const t2 = Date.now();
    assert.ok(t1 - t0 < 400 && t2 - t0 >= 700, `rate limit ${t1 - t0} ${t2 - t0}`);
  });
});

Deno.test("push interest: delivery pauses without subscribers and resumes when one comes", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"], max_consumers: 2 });
    await s.pub("s.1", "1");
    await addConsumer(s, "S", {
      durable_name: "P",
      ack_policy: "explicit",
      deliver_subject: "d.p",
      ack_wait: 300e6,
    });
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.P"));
    let d = await s.sub("d.p");
    s.record(await s.take(bySid(d)));
    await s.unsub(d);
    await s.ping();
    await s.pub("s.2", "2");
    await s.ping();
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.P"));
    // A wildcard subscriber alone does not restart delivery (nats-server watches the literal
    // subject); the deliver subject itself does, and the unacked first one comes again.
    const w = await s.sub("d.*");
    await new Promise((r) => setTimeout(r, 100));
    s.record(await s.drain(bySid(w)));
    d = await s.sub("d.p");
    s.record(await s.take(bySid(d), 1));
    s.record(await s.take(bySid(d), 1, 3000));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.P"));
    // The deliver subject cannot move while someone listens on it; max_consumers holds.
    s.recordJson(
      await s.api("$JS.API.CONSUMER.DURABLE.CREATE.S.P", {
        stream_name: "S",
        config: {
          durable_name: "P",
          ack_policy: "explicit",
          deliver_subject: "d.q",
          ack_wait: 300e6,
        },
      }),
    );
    await addConsumer(s, "S", { durable_name: "Q" });
    s.recordJson(await addConsumer(s, "S", { durable_name: "R" }));
  });
});

Deno.test("terminated advisories for removed messages after a redelivery (nats-server's counts)", async () => {
  await sideBySide(async (s) => {
    await createStream(s, { name: "S", subjects: ["s.>"], max_msgs: 3 });
    const adv = await s.sub("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>");
    await addConsumer(s, "S", { durable_name: "D", ack_policy: "explicit", ack_wait: 200e6 });
    for (let i = 1; i <= 3; i++) await s.pub(`s.${i}`, `${i}`);
    const p = await s.sub("p.>");
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", "3", "p.1");
    const got = await s.take(bySid(p), 3);
    await s.pub(got[1].reply, "+ACK");
    await s.pub(got[2].reply, "+ACK");
    // s.1 comes again (delivered twice).
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", JSON.stringify({ batch: 1, expires: 3e9 }), "p.2");
    s.record(await s.take(bySid(p), 1, 3000));
    // s.4 pushes s.1 (pending, delivered twice) out; s.7 pushes s.4 (pending, delivered once).
    await s.pub("s.4", "4");
    s.record(await s.take(bySid(adv)));
    await s.pub("$JS.API.CONSUMER.MSG.NEXT.S.D", "1", "p.3");
    s.record(await s.take(bySid(p)));
    for (let i = 5; i <= 7; i++) await s.pub(`s.${i}`, `${i}`);
    s.record(await s.take(bySid(adv)));
    s.recordJson(await s.api("$JS.API.CONSUMER.INFO.S.D"));
  });
});
