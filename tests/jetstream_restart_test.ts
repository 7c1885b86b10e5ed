/**
 * Streams survive restarts: after a clean shutdown (in-process) their config, creation time,
 * messages, de-duplication window and limits come back; after SIGKILL in the middle of a publish
 * storm (a real process), every message whose publish was acknowledged is there, at the
 * sequence its ack named, in publish order.
 */

import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connectTo, startJs } from "./jetstream_helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";
import { waitFor } from "./helpers.ts";

const dec = new TextDecoder();

Deno.test("a clean restart brings back streams, messages, dedup ids and the created time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "js_restart_" });
  try {
    let created = "";
    {
      const s = await startJs({}, dir);
      const nc = await connectTo(s.port);
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const si = await jsm.streams.add({
        name: "R",
        subjects: ["r.*"],
        max_msgs_per_subject: 2,
        duplicate_window: 60e9,
      });
      created = si.created;
      for (let i = 0; i < 5; i++) await js.publish("r.a", `a${i}`, { msgID: `id${i}` });
      await js.publish("r.b", "b0");
      await jsm.streams.add({ name: "MEM", subjects: ["mem"], storage: "memory" });
      await nc.close();
      await s.stop();
    }
    await using s = await startJs({}, dir);
    assert.ok(
      s.log.lines.includes("[INF]   Starting restore for stream '$G > R'"),
      s.log.lines.join("\n"),
    );
    assert.ok(s.log.lines.includes("[INF]   Restored 3 messages for stream '$G > R'"));
    const nc = await connectTo(s.port);
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const si = await jsm.streams.info("R");
    assert.equal(si.created, created);
    assert.equal(si.config.max_msgs_per_subject, 2);
    assert.deepEqual(
      [si.state.messages, si.state.first_seq, si.state.last_seq],
      [3, 4, 6],
    );
    // The memory stream is gone, as with nats-server.
    const names: string[] = [];
    for await (const n of jsm.streams.names()) names.push(n);
    assert.deepEqual(names, ["R"]);
    // Ids inside the window are still known (rebuilt from the stored messages).
    const dup = await js.publish("r.a", "again", { msgID: "id4" });
    assert.deepEqual([dup.seq, dup.duplicate], [5, true]);
    const fresh = await js.publish("r.a", "new", { msgID: "id9" });
    assert.deepEqual([fresh.seq, fresh.duplicate], [7, false]);
    const m = await jsm.streams.getMessage("R", { last_by_subj: "r.b" });
    assert.equal(dec.decode(m!.data), "b0");
    await nc.close();
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("SIGKILL during a publish storm loses no acknowledged message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "js_kill_" });
  const port = freePort();
  const args = ["-a", "127.0.0.1", "-p", `${port}`, "-js", "-sd", dir];
  try {
    const acked = new Map<number, number>(); // payload counter -> seq
    {
      await using p = new ServerProcess(args, port);
      await p.waitStderr(/Server is ready/);
      const nc = await connectTo(port);
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "STORM", subjects: ["storm.>"] });
      const js = jetstream(nc);
      let next = 0;
      let stop = false;
      // Eight publishers keep acks in flight until the process dies under them.
      const worker = async () => {
        while (!stop) {
          const i = next++;
          try {
            const a = await js.publish(`storm.${i % 7}`, `m${i}`, { timeout: 2000, retries: 0 });
            acked.set(i, a.seq);
          } catch {
            return;
          }
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      await waitFor(() => acked.size >= 10_000, "10000 acks before the kill", 60_000);
      p.signal("SIGKILL");
      await p.status;
      stop = true;
      await Promise.allSettled(workers);
      await nc.close().catch(() => {});
    }
    await using p2 = new ServerProcess(args, port);
    await p2.waitStderr(/Server is ready/);
    const nc = await connectTo(port);
    const jsm = await jetstreamManager(nc);
    const si = await jsm.streams.info("STORM");
    assert.ok(si.state.messages >= acked.size, `${si.state.messages} < ${acked.size}`);
    // Every acknowledged message is where its ack said, and the sequences follow publish order.
    const entries = [...acked.entries()].sort((a, b) => a[0] - b[0]);
    let lastSeq = 0;
    for (const [i, seq] of entries) {
      assert.ok(seq > lastSeq, `message ${i} at ${seq} after ${lastSeq}`);
      lastSeq = seq;
    }
    for (const [i, seq] of entries) {
      const m = await jsm.streams.getMessage("STORM", { seq });
      assert.equal(dec.decode(m!.data), `m${i}`, `seq ${seq}`);
    }
    await nc.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
