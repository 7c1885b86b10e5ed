/**
 * The JetStream scenarios, bench side: their names and table labels, how many operations a run
 * makes, the stream each one runs on, the agent command that drives it (the generators are in
 * js.ts) and the timed run itself. Each run creates its stream and deletes it afterwards.
 */

import { type AgentMode, type Msg, timedRun } from "./agent.ts";
import { JsApi, JsConn } from "./js.ts";
import type { RunningServer } from "./servers.ts";

export const JS_SCENARIOS = [
  "js-pub-sync-file",
  "js-pub-sync-mem",
  "js-pub-async-file",
  "js-pub-async-mem",
  "js-consume-file",
  "js-consume-mem",
  "js-kv-put",
  "js-kv-get",
] as const;
export type JsScenario = typeof JS_SCENARIOS[number];

/** Table label and unit of each scenario (the payload size is appended per row). */
export const JS_LABELS: Record<JsScenario, [string, string]> = {
  "js-pub-sync-file": ["JS publish, sync (1 in flight), file", "msgs/s"],
  "js-pub-sync-mem": ["JS publish, sync (1 in flight), memory", "msgs/s"],
  "js-pub-async-file": ["JS publish, async (1000 in flight), file", "msgs/s"],
  "js-pub-async-mem": ["JS publish, async (1000 in flight), memory", "msgs/s"],
  "js-consume-file": ["JS pull consume + ack, file", "msgs/s"],
  "js-consume-mem": ["JS pull consume + ack, memory", "msgs/s"],
  "js-kv-put": ["KV put (1 in flight)", "ops/s"],
  "js-kv-get": ["KV get, direct (1 in flight)", "ops/s"],
};

/**
 * JetStream operations per run (~2-5 s each here): synchronous ones (one round trip each) are
 * latency bound, asynchronous publish and consume are not.
 */
export function jsMsgsFor(s: JsScenario, size: number, quick: boolean): number {
  const base: Record<JsScenario, number> = {
    "js-pub-sync-file": 40_000,
    "js-pub-sync-mem": 40_000,
    "js-pub-async-file": 400_000,
    "js-pub-async-mem": 400_000,
    "js-consume-file": 300_000,
    "js-consume-mem": 300_000,
    "js-kv-put": 40_000,
    "js-kv-get": 40_000,
  };
  // Bigger payloads move fewer messages per second when the rate is not bound by round trips.
  const oneInFlight = s.startsWith("js-pub-sync") || s.startsWith("js-kv");
  const n = base[s] * (size > 256 && !oneInFlight ? 0.5 : 1) * (quick ? 0.1 : 1);
  return Math.max(1000, Math.round(n));
}

/** The stream a JetStream scenario uses: BENCH on bench.js.>, or a KV bucket as kv.create makes it. */
function streamConfig(s: JsScenario): Record<string, unknown> {
  if (s === "js-kv-put" || s === "js-kv-get") {
    return {
      name: "KV_bench",
      subjects: ["$KV.bench.>"],
      retention: "limits",
      max_msgs_per_subject: 1,
      max_msg_size: -1,
      storage: "file",
      discard: "new",
      allow_direct: true,
      allow_rollup_hdrs: true,
      num_replicas: 1,
    };
  }
  return {
    name: "BENCH",
    subjects: ["bench.js.>"],
    retention: "limits",
    storage: s.endsWith("-mem") ? "memory" : "file",
    num_replicas: 1,
  };
}

/** Keys a KV scenario cycles through. */
const KV_KEYS = 1000;

/** The agent command of a JetStream scenario (see js.ts). */
function agentCommand(srv: RunningServer, s: JsScenario, size: number, count: number): Msg {
  const port = srv.port;
  const pub = { cmd: "requests", port, subject: "bench.js.foo", size, count, expect: "ack" };
  switch (s) {
    case "js-pub-sync-file":
    case "js-pub-sync-mem":
      return { ...pub, window: 1 };
    case "js-pub-async-file":
    case "js-pub-async-mem":
      return { ...pub, window: 1000 };
    case "js-kv-put":
      return { ...pub, subject: "$KV.bench.k", keys: KV_KEYS, window: 1 };
    case "js-kv-get":
      return {
        cmd: "requests",
        port,
        subject: "$JS.API.DIRECT.GET.KV_bench.$KV.bench.k",
        keys: KV_KEYS,
        size: 0,
        count,
        window: 1,
        expect: "msg",
        prefill: { subject: "$KV.bench.k", keys: KV_KEYS, size },
      };
    case "js-consume-file":
    case "js-consume-mem":
      return {
        cmd: "consume",
        port,
        stream: "BENCH",
        consumer: "C",
        count,
        batch: 500,
        prefill: { subject: "bench.js.foo", size },
      };
  }
}

/** What one JetStream run measured. */
export interface JsSample {
  /** Operations per second. */
  value: number;
  serverNsPerMsg: number;
  serverCpu: number;
  clientCpu: number;
  /** Cores other processes used during the timed part. */
  others: number;
  note: string;
}

/** One JetStream run: a fresh stream, one agent, the stream deleted afterwards. */
export async function jsRun(
  srv: RunningServer,
  s: JsScenario,
  size: number,
  count: number,
  agents: AgentMode,
): Promise<JsSample> {
  const conn = await JsConn.open(srv.port);
  const api = new JsApi(conn);
  const cfg = streamConfig(s);
  try {
    await api.request(`$JS.API.STREAM.DELETE.${cfg.name}`);
    await api.ok(`$JS.API.STREAM.CREATE.${cfg.name}`, cfg);
    const cmd = agentCommand(srv, s, size, count);
    const run = await timedRun(agents, srv.pid, cmd, { readyMs: 300_000, doneMs: 300_000 });
    const d = run.done;
    if (d.errors > 0) throw new Error(`${d.errors} failed replies, first: ${d.firstError}`);
    const secs = (d.t1 - d.t0) / 1000;
    let note = `${count} ops in ${secs.toFixed(2)} s`;
    if (d.tLast !== undefined) {
      note += `, last message after ${((d.tLast - d.t0) / 1000).toFixed(2)} s`;
    }
    return {
      value: count / secs,
      serverNsPerMsg: run.serverCpu * 1e9 / count,
      serverCpu: 100 * run.serverCpu / run.wall,
      clientCpu: 100 * run.clientCpu / run.wall,
      others: run.others,
      note,
    };
  } finally {
    await api.request(`$JS.API.STREAM.DELETE.${cfg.name}`).catch(() => {});
    await conn.closed();
  }
}
