/**
 * JetStream's stream layer and API, side by side with `nats-server -js`: the same requests and
 * publishes go to both, and the answers (exact JSON, error codes, publish acks, status headers)
 * must be identical once times and ids are normalized. Without nats-server installed, the
 * transcripts are still produced (so nothing crashes) and spot-checked.
 */

import assert from "node:assert/strict";
import {
  connectTo,
  HAVE_NATS_SERVER,
  runSteps,
  sideBySide,
  startJs,
  startRefJs,
  type Step,
} from "./jetstream_helpers.ts";
import { waitFor } from "./helpers.ts";

async function same(name: string, steps: Step[], opts = {}): Promise<string[]> {
  const { ours, ref } = await sideBySide(steps, opts);
  if (Deno.env.get("JS_DEBUG")) console.log(ours.filter((l) => l.includes("ERROR")));
  if (ref !== null) assert.deepEqual(ours, ref, name);
  return ours;
}

Deno.test("stream create, info, names, list, publish, get, delete: same JSON as nats-server", async () => {
  const out = await same("basic", [
    "$JS.API.INFO",
    '$JS.API.STREAM.CREATE.ORDERS {"name":"ORDERS","subjects":["orders.>"]}',
    '$JS.API.STREAM.CREATE.ORDERS {"name":"ORDERS","subjects":["orders.>"]}',
    '$JS.API.STREAM.CREATE.ORDERS {"name":"ORDERS","subjects":["orders.*"]}',
    "$JS.API.STREAM.INFO.ORDERS",
    "$JS.API.STREAM.NAMES",
    '$JS.API.STREAM.NAMES {"subject":"orders.new"}',
    '$JS.API.STREAM.NAMES {"subject":"other"}',
    "$JS.API.STREAM.LIST",
    "orders.new one",
    "orders.new two",
    "orders.old three",
    '$JS.API.STREAM.MSG.GET.ORDERS {"seq":2}',
    '$JS.API.STREAM.MSG.GET.ORDERS {"last_by_subj":"orders.new"}',
    '$JS.API.STREAM.MSG.GET.ORDERS {"next_by_subj":"orders.old","seq":1}',
    '$JS.API.STREAM.MSG.GET.ORDERS {"seq":9}',
    '$JS.API.STREAM.INFO.ORDERS {"subjects_filter":">"}',
    '$JS.API.STREAM.MSG.DELETE.ORDERS {"seq":2}',
    '$JS.API.STREAM.MSG.DELETE.ORDERS {"seq":2}',
    '$JS.API.STREAM.INFO.ORDERS {"deleted_details":true}',
    "$JS.API.INFO",
    "$JS.API.STREAM.DELETE.ORDERS",
    "$JS.API.STREAM.DELETE.ORDERS",
    "$JS.API.STREAM.NAMES",
  ]);
  assert.ok(out[1].includes('"did_create":true'));
});

Deno.test("stream config defaults and every config error: same as nats-server", async () => {
  const c = (name: string, cfg: Record<string, unknown>) =>
    `$JS.API.STREAM.CREATE.${name} ${JSON.stringify({ name, ...cfg })}`;
  await same("config", [
    c("D1", { storage: "memory", max_age: 1e9 }),
    c("D2", { subjects: ["d2"], max_age: 500e6, duplicate_window: 0 }),
    c("D3", {
      subjects: ["d3.*", "d3x"],
      description: "three",
      max_msgs: 10,
      max_bytes: 1000,
      max_msgs_per_subject: 2,
      max_msg_size: 100,
      discard: "new",
      discard_new_per_subject: true,
      retention: "interest",
      no_ack: true,
      allow_direct: true,
      allow_rollup_hdrs: true,
      deny_delete: true,
    }),
    c("D4", { subjects: ["d4"], republish: { dest: "rp.>" } }),
    c("D5", {
      subjects: ["d5.>"],
      republish: { src: "d5.a.*", dest: "rp5.$1", headers_only: true },
    }),
    c("D6", { subjects: ["d6"], placement: { cluster: "" }, num_replicas: 1 }),
    c("D7", { subjects: ["d7"], retention: "workqueue", max_consumers: 5 }),
    c("E1", { subjects: ["e1"], max_age: 50e6 }),
    c("E2", { subjects: ["e2"], duplicate_window: -1 }),
    c("E3", { subjects: ["e3"], max_age: 1e9, duplicate_window: 2e9 }),
    c("E4", { subjects: ["e4"], duplicate_window: 10e6 }),
    c("E5", { subjects: ["e5"], deny_purge: true, allow_rollup_hdrs: true }),
    c("E6", { subjects: ["e6"], discard_new_per_subject: true }),
    c("E7", { subjects: ["e7"], discard: "new", discard_new_per_subject: true }),
    c("E8", { subjects: ["e8", "e8"] }),
    c("E9", { subjects: ["$JS.API.foo"] }),
    c("E10", { subjects: ["a..b"] }),
    c("E11", { subjects: ["e11.*", "e11.x"] }),
    c("E12", { subjects: ["orders.>"] }),
    c("E12b", { subjects: ["d3.x"] }),
    c("E13", { subjects: ["e13"], republish: { src: "zzz", dest: "x" } }),
    c("E14", { subjects: ["e14"], republish: { dest: "e14" } }),
    c("E15", { subjects: ["e15.*"], republish: { src: "e15.*", dest: "x" } }),
    c("E16", { subjects: ["e16"], num_replicas: 3 }),
    c("E17", { subjects: ["e17"], num_replicas: 7 }),
    c("E18", { subjects: ["e18"], num_replicas: -1 }),
    c("E19", { subjects: ["e19"], sealed: true }),
    c("E20", { subjects: ["e20"], mirror_direct: true }),
    c("E21", { subjects: ["e21"], template_owner: "T" }),
    c("E22", { subjects: ["e22"], description: "x".repeat(4097) }),
    { subj: "$JS.API.STREAM.CREATE.a.b", body: '{"name":"a.b"}', timeout: 300 },
    c("a*", {}),
    '$JS.API.STREAM.CREATE.x/y {"name":"x/y"}',
    c("X".repeat(256), {}),
    '$JS.API.STREAM.CREATE.T1 {"name":"T1","retention":"bogus"}',
    '$JS.API.STREAM.CREATE.T1 {"name":"T1","retention":null}',
    '$JS.API.STREAM.CREATE.T1 {"name":"T1","storage":"disk"}',
    '$JS.API.STREAM.CREATE.T1 {"name":"T1","discard":"NEW"}',
    '$JS.API.STREAM.CREATE.T2 {"name":"T2","max_msgs":1.5}',
    '$JS.API.STREAM.CREATE.T2 {"name":"T2","max_msgs":"5"}',
    '$JS.API.STREAM.CREATE.T2 {"name":"T2","max_msgs":1e3}',
    '$JS.API.STREAM.CREATE.T2 {"name":"T2","max_msg_size":3000000000}',
    '$JS.API.STREAM.CREATE.T2 {"name":"T2","subjects":"t2"}',
    '$JS.API.STREAM.CREATE.T2 {"name":"T2","sealed":"no"}',
    '$JS.API.STREAM.CREATE.T3 {"NAME":"T3","Subjects":["t3"],"max_MSGS":3}',
    "$JS.API.STREAM.CREATE.T4 [1,2]",
    "$JS.API.STREAM.CREATE.T4 ",
    '$JS.API.STREAM.CREATE.T4 {"name":"T4"} x',
    '$JS.API.STREAM.CREATE.T5 {"name":"T5","subjects":[null,"t5"]}',
    '$JS.API.STREAM.CREATE.T6 {"name":"T6","unknown_field":true,"subjects":["t6"]}',
    "$JS.API.STREAM.LIST",
  ]);
});

Deno.test("stream update rules: same as nats-server", async () => {
  const u = (cfg: Record<string, unknown>) =>
    `$JS.API.STREAM.UPDATE.U ${JSON.stringify({ name: "U", ...cfg })}`;
  await same("update", [
    '$JS.API.STREAM.CREATE.U {"name":"U","subjects":["u.*"],"max_msgs":10,"deny_delete":true}',
    '$JS.API.STREAM.CREATE.V {"name":"V","subjects":["v"]}',
    "u.a 1",
    "u.b 2",
    u({ subjects: ["u.*", "w"], max_msgs: 1, deny_delete: true }),
    "w 3",
    u({ subjects: ["w"], max_msgs: 5, deny_delete: true }),
    "u.a 4",
    u({ subjects: ["v"], deny_delete: true }),
    u({ subjects: ["w"], storage: "memory", deny_delete: true }),
    u({ subjects: ["w"], retention: "interest", deny_delete: true }),
    u({ subjects: ["w"], max_consumers: 3, deny_delete: true }),
    u({ subjects: ["w"] }),
    u({ subjects: ["w"], deny_delete: true, sealed: true }),
    "w 5",
    u({ subjects: ["w"], deny_delete: true, sealed: false }),
    '$JS.API.STREAM.UPDATE.U {"name":"V","subjects":["v"]}',
    '$JS.API.STREAM.UPDATE.nope {"name":"nope","subjects":["n"]}',
    "$JS.API.STREAM.UPDATE.U x",
    '$JS.API.STREAM.UPDATE.V {"name":"V","subjects":["v"],"republish":{"dest":"r.>"}}',
    '$JS.API.STREAM.UPDATE.V {"name":"V","subjects":["v"],"num_replicas":3}',
    "$JS.API.STREAM.PURGE.U",
    '$JS.API.STREAM.MSG.DELETE.U {"seq":1}',
    "$JS.API.STREAM.INFO.U",
    "$JS.API.STREAM.INFO.V",
  ]);
});

Deno.test("publish acks, dedup and expected headers: same as nats-server", async () => {
  const p = (subj: string, hdrs: Record<string, string>, body = "x") => ({ subj, body, hdrs });
  await same("publish", [
    '$JS.API.STREAM.CREATE.P {"name":"P","subjects":["p.>"],"duplicate_window":60000000000}',
    p("p.a", { "Nats-Msg-Id": "m1" }),
    p("p.a", { "Nats-Msg-Id": "m1" }),
    p("p.b", { "Nats-Msg-Id": "m2" }),
    p("p.a", { "Nats-Expected-Stream": "P" }),
    p("p.a", { "Nats-Expected-Stream": "Q" }),
    p("p.a", { "Nats-Expected-Last-Sequence": "4" }),
    p("p.a", { "Nats-Expected-Last-Sequence": "4" }),
    p("p.a", { "Nats-Expected-Last-Sequence": "abc" }),
    p("p.a", { "Nats-Expected-Last-Subject-Sequence": "5" }),
    p("p.a", { "Nats-Expected-Last-Subject-Sequence": "5" }),
    p("p.new", { "Nats-Expected-Last-Subject-Sequence": "0" }),
    p("p.new2", { "Nats-Expected-Last-Subject-Sequence": "3" }),
    p("p.a", { "Nats-Msg-Id": "m3" }),
    p("p.a", { "Nats-Expected-Last-Msg-Id": "m3" }),
    p("p.a", { "Nats-Expected-Last-Msg-Id": "m3" }),
    p("p.a", { "Nats-Expected-Last-Msg-Id": "", "Nats-Msg-Id": "m4" }),
    p("p.a", { "Nats-Rollup": "sub" }),
    p("p.a", { "Nats-Msg-Id": "m5", "Nats-Expected-Stream": "P", "X-Other": "v" }),
    { subj: "p.a", body: "noreply", noReply: true },
    "$JS.API.STREAM.INFO.P",
    '$JS.API.STREAM.MSG.GET.P {"last_by_subj":"p.a"}',
  ]);
});

Deno.test("rollups, sealed, deny_delete, deny_purge, max_msg_size, no_ack: same as nats-server", async () => {
  const p = (subj: string, hdrs: Record<string, string>, body = "x") => ({ subj, body, hdrs });
  await same("rules", [
    '$JS.API.STREAM.CREATE.R {"name":"R","subjects":["r.*"],"allow_rollup_hdrs":true,"max_msg_size":10}',
    "r.a 1",
    "r.a 2",
    "r.b 3",
    "r.b 4",
    p("r.a", { "Nats-Rollup": "sub" }, "5"),
    "$JS.API.STREAM.INFO.R",
    p("r.b", { "Nats-Rollup": "ALL" }, "6"),
    "$JS.API.STREAM.INFO.R",
    p("r.b", { "Nats-Rollup": "bogus" }, "7"),
    "r.a 0123456789A",
    p("r.a", { "A": "b" }, "0123"),
    '$JS.API.STREAM.CREATE.N {"name":"N","subjects":["n"],"deny_delete":true,"deny_purge":true}',
    "n 1",
    p("n", { "Nats-Rollup": "all" }),
    '$JS.API.STREAM.MSG.DELETE.N {"seq":1}',
    "$JS.API.STREAM.PURGE.N",
    '$JS.API.STREAM.CREATE.NA {"name":"NA","subjects":["na"],"no_ack":true}',
    { subj: "na", body: "x", timeout: 300 },
    '$JS.API.STREAM.UPDATE.R {"name":"R","subjects":["r.*"],"sealed":true,"max_msg_size":10}',
    "r.a 8",
    '$JS.API.STREAM.MSG.DELETE.R {"seq":1}',
    "$JS.API.STREAM.PURGE.R",
    "$JS.API.STREAM.INFO.R",
    "$JS.API.STREAM.DELETE.R",
  ]);
});

Deno.test("limits and discard policies: same as nats-server", async () => {
  await same("limits", [
    '$JS.API.STREAM.CREATE.L1 {"name":"L1","subjects":["l1"],"max_msgs":3}',
    "l1 1",
    "l1 2",
    "l1 3",
    "l1 4",
    "$JS.API.STREAM.INFO.L1",
    '$JS.API.STREAM.CREATE.L2 {"name":"L2","subjects":["l2"],"max_msgs":2,"discard":"new"}',
    "l2 1",
    "l2 2",
    "l2 3",
    '$JS.API.STREAM.CREATE.L3 {"name":"L3","subjects":["l3.*"],"max_msgs_per_subject":1,"discard":"new","discard_new_per_subject":true}',
    "l3.a 1",
    "l3.a 2",
    "l3.b 3",
    '$JS.API.STREAM.CREATE.L4 {"name":"L4","subjects":["l4"],"max_bytes":100,"discard":"new"}',
    "l4 0123456789",
    "l4 0123456789012345678901234567890123456789012345678901234567890123456789",
    "l4 x",
    '$JS.API.STREAM.CREATE.L5 {"name":"L5","subjects":["l5"],"max_bytes":100,"storage":"memory"}',
    "l5 0123456789012345678901234567890123456789",
    "l5 0123456789012345678901234567890123456789",
    "l5 0123456789012345678901234567890123456789",
    "$JS.API.STREAM.INFO.L5",
    '$JS.API.STREAM.CREATE.L6 {"name":"L6","subjects":["l6"],"retention":"interest"}',
    "l6 1",
    "l6 2",
    "$JS.API.STREAM.INFO.L6",
    '$JS.API.STREAM.CREATE.L7 {"name":"L7","subjects":["l7"],"retention":"workqueue"}',
    "l7 1",
    "$JS.API.STREAM.INFO.L7",
    "$JS.API.INFO",
  ]);
});

Deno.test("purge variants and message deletes: same as nats-server", async () => {
  const fill = Array.from({ length: 10 }, (_, i) => `pg.${i % 3} m${i}`);
  await same("purge", [
    '$JS.API.STREAM.CREATE.PG {"name":"PG","subjects":["pg.*"]}',
    ...fill,
    '$JS.API.STREAM.PURGE.PG {"filter":"pg.0"}',
    '$JS.API.STREAM.PURGE.PG {"filter":"pg.1","keep":1}',
    '$JS.API.STREAM.PURGE.PG {"seq":8}',
    '$JS.API.STREAM.PURGE.PG {"seq":8,"keep":1}',
    '$JS.API.STREAM.PURGE.PG {"keep":1}',
    '$JS.API.STREAM.INFO.PG {"deleted_details":true,"subjects_filter":"pg.*"}',
    ...fill,
    '$JS.API.STREAM.MSG.DELETE.PG {"seq":12,"no_erase":true}',
    '$JS.API.STREAM.MSG.DELETE.PG {"seq":13}',
    '$JS.API.STREAM.MSG.DELETE.PG {"seq":1}',
    '$JS.API.STREAM.MSG.DELETE.PG {"seq":"x"}',
    "$JS.API.STREAM.MSG.DELETE.PG x",
    '$JS.API.STREAM.MSG.DELETE.nope {"seq":1}',
    '$JS.API.STREAM.INFO.PG {"deleted_details":true}',
    '$JS.API.STREAM.INFO.PG {"subjects_filter":"pg.1","offset":0}',
    '$JS.API.STREAM.INFO.PG {"subjects_filter":"nomatch"}',
    "$JS.API.STREAM.INFO.PG x",
    '$JS.API.STREAM.MSG.GET.PG {"seq":1,"last_by_subj":"pg.1"}',
    '$JS.API.STREAM.MSG.GET.PG {"last_by_subj":"pg.1","next_by_subj":"pg.1"}',
    '$JS.API.STREAM.MSG.GET.PG {"next_by_subj":"pg.*"}',
    '$JS.API.STREAM.MSG.GET.PG {"next_by_subj":"pg.2","seq":100}',
    "$JS.API.STREAM.MSG.GET.PG x",
    "$JS.API.STREAM.PURGE.PG",
    "$JS.API.STREAM.INFO.PG",
  ]);
});

Deno.test("direct get: same headers and status replies as nats-server", async () => {
  const p = (subj: string, hdrs: Record<string, string>, body = "x") => ({ subj, body, hdrs });
  await same("direct", [
    '$JS.API.STREAM.CREATE.KV {"name":"KV","subjects":["kv.>"],"allow_direct":true,"max_msgs_per_subject":1}',
    "kv.a first",
    "kv.a second",
    p("kv.b", { "H1": "v1" }, "third"),
    '$JS.API.DIRECT.GET.KV {"seq":2}',
    '$JS.API.DIRECT.GET.KV {"seq":1}',
    '$JS.API.DIRECT.GET.KV {"last_by_subj":"kv.b"}',
    '$JS.API.DIRECT.GET.KV {"next_by_subj":"kv.>","seq":3}',
    "$JS.API.DIRECT.GET.KV",
    "$JS.API.DIRECT.GET.KV x",
    "$JS.API.DIRECT.GET.KV {}",
    '$JS.API.DIRECT.GET.KV {"seq":1,"last_by_subj":"kv.a"}',
    "$JS.API.DIRECT.GET.KV.kv.a",
    "$JS.API.DIRECT.GET.KV.kv.zzz",
    "$JS.API.DIRECT.GET.KV.kv.a x",
    { subj: "$JS.API.DIRECT.GET.NOPE", body: '{"seq":1}', timeout: 500 },
    '$JS.API.STREAM.CREATE.ND {"name":"ND","subjects":["nd"]}',
    { subj: "$JS.API.DIRECT.GET.ND", body: '{"seq":1}', timeout: 500 },
    '$JS.API.STREAM.UPDATE.ND {"name":"ND","subjects":["nd"],"allow_direct":true}',
    "nd 1",
    '$JS.API.DIRECT.GET.ND {"seq":1}',
  ]);
});

Deno.test("bad and unknown API requests never crash and answer as nats-server", async () => {
  await same("bad", [
    { subj: "$JS.API.FOO", timeout: 300 },
    { subj: "$JS.API.STREAM.CREATE", timeout: 300 },
    { subj: "$JS.API.STREAM.INFO.a.b", timeout: 300 },
    "$JS.API.STREAM.NAMES [",
    '$JS.API.STREAM.NAMES {"offset":5}',
    '$JS.API.STREAM.NAMES {"offset":"x"}',
    '$JS.API.STREAM.LIST {"subject":5}',
    "$JS.API.STREAM.DELETE.nope",
    "$JS.API.STREAM.PURGE.nope {",
    "$JS.API.STREAM.SNAPSHOT.nope",
    "$JS.API.STREAM.RESTORE.R x",
    "$JS.API.STREAM.LEADER.STEPDOWN.x",
    "$JS.API.STREAM.PEER.REMOVE.x",
    "$JS.API.CONSUMER.LEADER.STEPDOWN.x.y",
    "$JS.API.STREAM.TEMPLATE.NAMES",
    "$JS.API.STREAM.TEMPLATE.INFO.x",
    "$JS.API.STREAM.TEMPLATE.DELETE.x",
    "$JS.API.STREAM.TEMPLATE.DELETE.x {1}",
    "$JS.API.CONSUMER.INFO.nope.c",
    "$JS.API.CONSUMER.NAMES.nope",
    "$JS.API.CONSUMER.LIST.nope",
    "$JS.API.CONSUMER.DELETE.nope.c",
    "$JS.API.INFO",
  ]);
});

Deno.test("an oversized header block is refused: same as nats-server", async () => {
  await same("header", [
    '$JS.API.STREAM.CREATE.H {"name":"H","subjects":["h"]}',
    { subj: "h", body: "x", hdrs: { Big: "y".repeat(70_000) } },
    { subj: "h", body: "x", hdrs: { Small: "y" } },
    "$JS.API.STREAM.INFO.H",
  ]);
});

Deno.test("max_age expires messages on both servers", async () => {
  const check = async (port: number) => {
    const nc = await connectTo(port);
    await runSteps(nc, [
      '$JS.API.STREAM.CREATE.AGE {"name":"AGE","subjects":["age"],"max_age":300000000}',
      "age 1",
      "age 2",
    ]);
    const [info] = await runSteps(nc, ["$JS.API.STREAM.INFO.AGE"]);
    assert.match(info, /"messages":2/);
    await waitFor(
      async () => {
        const [i] = await runSteps(nc, ["$JS.API.STREAM.INFO.AGE"]);
        return i.includes('"messages":0') && i.includes('"first_seq":3');
      },
      "messages to expire",
      5000,
    );
    await nc.close();
  };
  {
    await using s = await startJs();
    await check(s.port);
  }
  if (HAVE_NATS_SERVER) {
    await using r = await startRefJs();
    await check(r.port);
  }
});
