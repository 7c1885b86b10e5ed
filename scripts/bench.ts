/**
 * Benchmark: our server against the reference nats-server, same machine, same client code.
 *
 *   deno task bench [flags]        (deno run -A scripts/bench.ts)
 *   deno task bench:js [flags]     (the same with --scenario js: the JetStream family only)
 *
 * Scenarios (names for --scenario), in three families (a family's name selects all of it).
 *
 * core: on one server per round, shared:
 *   memory   server RSS per idle connection: VmRSS before and after opening 10,000 raw
 *            connections that each sent `CONNECT {}\r\nPING\r\n` and got PONG; KiB/conn.
 *   pub      publish-only: one raw publisher; rate = messages sent / time until the PONG that
 *            follows the last PUB (which proves the server processed them all).
 *   pubsub   1:1 pub/sub: one raw publisher, one raw subscriber.
 *   fanout   1:5 fan-out: one publisher, five subscriber connections on the subject; the rate is
 *            deliveries/s (5 per message).
 *   queue    one publisher, one queue group of 4 members; each message is delivered once.
 *   wspubsub 1:1 pub/sub with both clients on the websocket listener (no TLS, no compression):
 *            each publisher write is one masked binary frame, the subscriber unwraps frames.
 *   reqrep   request/reply latency on the real client (npm @nats-io/transport-node): a responder
 *            and a requester doing sequential requests; p50 and p99 in µs. The client's shared
 *            inbox gives every request its own reply subject (`_INBOX.<id>.<n>`).
 *   reqraw   the same on raw connections (no client library in the way): the server's own
 *            turnaround, twice per request, plus the loopback's; p50 and p99 in µs.
 *
 * realworld: real-world shapes, each on a fresh server (so what a load leaves behind is its
 * own), with the server's memory read at the end of the load and again --settle seconds after it
 * stopped: RSS, peak RSS (VmHWM) and, for our server, the V8 heap (through the inspector):
 *   empty      RSS of the server with no configuration and no connection; beside it the floor
 *              of the Deno runtime itself (`deno run` of a script that only waits).
 *   hicard     high-cardinality publish: --distinct subjects (dev.<n>.t), each published in
 *              turn, --passes times over; no subscriber.
 *   hicardwc   the same to one wildcard subscriber (dev.>); deliveries/s.
 *   hicardsubs the same with one subscription per subject (--distinct SUBs on one connection).
 *   reqnew     request/reply with a fresh inbox subscription per request (the client's noMux:
 *              SUB, PUB with reply, MSG, auto-unsubscribe): the subject tree changes twice per
 *              request; p50 and p99 in µs.
 *   churn      connection churn: --storms storms of --churn connections started together, each
 *              connecting, sending CONNECT + PING, waiting for PONG and closing; connections/s
 *              and connect-to-PONG latency.
 *   tlspubsub  1:1 pub/sub with both clients on TLS (configs/certs, Deno's rustls client).
 *   tlschurn   connection churn over TLS (clear INFO, handshake, CONNECT, PING/PONG, close):
 *              handshakes/s; --tls-churn connections per storm.
 *   idlesubs   RSS per idle connection holding one subscription (2,000 connections).
 *
 * js: JetStream, on one JetStream-enabled server per round, shared (scripts/bench/js_scenarios.ts
 * and the raw protocol generators of scripts/bench/js.ts); each at 16 B and 1 KiB (--js-sizes).
 * A name also selects every scenario it prefixes: `js-pub`, `js-pub-async`, `js-consume`.
 *   js-pub-sync-file, js-pub-sync-mem     publish one message at a time to a file (memory)
 *            stream: PUB with a reply inbox, wait for the `{"stream":..,"seq":..}` ack, next.
 *   js-pub-async-file, js-pub-async-mem   the same with 1000 publishes waiting for their ack.
 *   js-consume-file, js-consume-mem       a stream of N messages (published first, untimed) is
 *            drained by a durable pull consumer with explicit acks: requests of 500 messages,
 *            the next one sent when half of what was asked has come (as the clients' consume()
 *            refills), a +ACK published to each message's reply subject; the run ends when
 *            CONSUMER.INFO shows every message acknowledged.
 *   js-kv-put    KV put, one at a time: publish with ack to $KV.bench.k<i> (1000 keys in turn)
 *            on a bucket made as the KV client's create makes it (history 1, file, direct get).
 *   js-kv-get    KV get, one at a time: $JS.API.DIRECT.GET.KV_bench.$KV.bench.k<i> on a filled
 *            bucket, as the clients do when the bucket allows direct get.
 *
 * JetStream durability, the same on both sides: each server gets `jetstream { store_dir: ... }`
 * with a fresh directory in the OS temp dir (one filesystem) and keeps its default sync policy.
 * nats-server 2.9 writes each message to its block file when it stores it (one write call per
 * message) and fsyncs every 2 minutes (its fixed sync interval); ours writes the records of one
 * turn of its event loop with one write call, before it sends their acks, and fsyncs every 2
 * minutes. Neither fsyncs per message; on both, an acknowledged message survives the server
 * process being killed (not a power cut). Consumer state: nats-server writes it at most every
 * 100 ms, after the fact; ours writes each delivery and ack in the same turn's write. Each run
 * creates its stream and deletes it afterwards.
 *
 * Our server runs with the flags of its checkout's `deno task start` (the V8 flags it ships with).
 *
 * Method. Throughput is driven by a raw protocol generator: PUB frames packed back to back into
 * 64 KiB buffers, written with Deno's native conn.write in a loop. Subscribers are raw sockets
 * that count MSG frames by length (every frame has the same size) and check one byte per frame
 * plus one whole frame per read. Subscriber rate = messages received / time from the first to the
 * last message received (summed over the subscribers, first-to-last over all of them). The
 * publisher and the subscribers run in separate agents (child processes by default, or Web
 * Workers with --agents worker) so they do not queue behind each other. For each round the
 * servers are started fresh; every scenario then runs on each server, one after the other (ours
 * first in odd rounds, nats-server first in even ones, so a noisy period hits both alike); a run
 * during which other processes used 0.3 core or more is repeated (--retries); the table shows
 * the median over the rounds.
 *
 * Flags:
 *   --quick            small runs (a few hundred thousand messages, 1,000 idle conns, 1 round)
 *   --only ours|nats-server   measure one server only (default: both when nats-server is on PATH)
 *   --rounds N         rounds to take the median of (default 3; 1 with --quick)
 *   --scenario NAMES   comma-separated scenario names, family names (core, realworld, js) or
 *                      js-* prefixes (default: all)
 *   --size N           payload bytes (default 16)
 *   --js-sizes LIST    payload bytes of the JetStream scenarios (default 16,1024)
 *   --msgs N           messages per throughput run (default: per scenario, ~2-5 s each)
 *   --conns N          idle connections for the memory scenario (default 10000)
 *   --requests N       sequential requests for reqrep (default 5000)
 *   --agents process|worker   where the generators run: child processes (default) or Workers
 *   --ours-dir PATH    run our server's main.ts from another checkout (A/B of two versions)
 *   --base-dir PATH    also run our server from another checkout, as a third column "base"
 *                      (A/B in the same run: ours, base and nats-server alternate per scenario)
 *   --distinct N       subjects for the hicard scenarios (default 200000)
 *   --passes N         times the hicard publisher goes over its subjects (default 5)
 *   --churn N          connections per churn storm (default 5000); --storms N storms (default 3)
 *   --tls-churn N      connections per TLS churn storm (default 1000)
 *   --settle SECONDS   wait after a load before the "idle" memory reading (default 5)
 *   --heap-snapshot DIR  after each real-world scenario, write our server's V8 heap snapshot
 *                      (idle, after --settle) into DIR, for Chrome DevTools' Memory tab
 *   --cpu-prof DIR     run our server with --cpu-prof, writing a .cpuprofile per server into DIR
 *                      (summarise with scripts/bench/profile_summary.ts)
 *   --gate SECONDS     before each run, wait up to this long for the machine to be quiet (other
 *                      processes using < 0.3 core); default 4, 0 with --quick (0 = off)
 *   --retries N        repeat a run up to N more times when other processes used >= 0.3 core
 *                      before or during it, keeping the least disturbed; default 2, 0 with --quick
 *   --json             print the results as JSON instead of the Markdown table
 *   --verbose          progress lines on stderr for every run (always on unless --json)
 */

import { parseArgs } from "node:util";
import * as os from "node:os";
import { connectTcp, pingPong, wallMs } from "./bench/raw.ts";
import { heapSnapshot, type HeapUsage, heapUsage } from "./bench/inspector.ts";
import { type AgentMode, clientCpu, type Msg, timedRun, withAgents } from "./bench/agent.ts";
import { killAll, killOnSignals, reap, sleep, timeout, track } from "./bench/children.ts";
import {
  BUSY_CORES,
  cpuSeconds,
  machineJiffies,
  othersBetween,
  rssKiB,
  statusKiB,
  waitQuiet,
} from "./bench/procfs.ts";
import {
  CERTS,
  hasNatsServer,
  runFlagsOf,
  type RunningServer,
  type ServerKind,
  type ServerSetup,
  startServer,
} from "./bench/servers.ts";
import {
  type CaseReport,
  f1,
  fmtRate,
  latency,
  printReport,
  rate,
  type Results,
  type Row,
  type Sample,
  sampleLine,
} from "./bench/report.ts";
import {
  JS_LABELS,
  JS_SCENARIOS,
  jsMsgsFor,
  jsRun,
  type JsScenario,
} from "./bench/js_scenarios.ts";

/** Scenarios that share one server per round. */
const CORE_SCENARIOS = [
  "memory",
  "pub",
  "pubsub",
  "fanout",
  "queue",
  "wspubsub",
  "reqrep",
  "reqraw",
] as const;
/** Scenarios that each get a fresh server, and whose memory is read after the load. */
const REALWORLD_SCENARIOS = [
  "empty",
  "hicard",
  "hicardwc",
  "hicardsubs",
  "reqnew",
  "churn",
  "tlspubsub",
  "tlschurn",
  "idlesubs",
] as const;
type CoreScenario = typeof CORE_SCENARIOS[number];
type RealWorldScenario = typeof REALWORLD_SCENARIOS[number];
type ScenarioName = CoreScenario | RealWorldScenario | JsScenario;

/** The families, in the order they run; a family's name selects all its scenarios. */
const FAMILIES = {
  core: CORE_SCENARIOS,
  realworld: REALWORLD_SCENARIOS,
  js: JS_SCENARIOS,
} as const;
type Family = keyof typeof FAMILIES;
const ALL_SCENARIOS: ScenarioName[] = Object.values(FAMILIES).flat();

function familyOf(s: ScenarioName): Family {
  for (const [f, names] of Object.entries(FAMILIES)) {
    if ((names as readonly string[]).includes(s)) return f as Family;
  }
  throw new Error(`no family for ${s}`);
}

function isJs(s: ScenarioName): s is JsScenario {
  return familyOf(s) === "js";
}

function isRealWorld(s: ScenarioName): s is RealWorldScenario {
  return familyOf(s) === "realworld";
}

// ---------------------------------------------------------------- flags

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    rounds: { type: "string" },
    scenario: { type: "string" },
    size: { type: "string", default: "16" },
    "js-sizes": { type: "string", default: "16,1024" },
    msgs: { type: "string" },
    conns: { type: "string" },
    requests: { type: "string" },
    agents: { type: "string", default: "process" },
    "ours-dir": { type: "string" },
    "base-dir": { type: "string" },
    distinct: { type: "string" },
    passes: { type: "string" },
    churn: { type: "string" },
    storms: { type: "string" },
    "tls-churn": { type: "string" },
    settle: { type: "string" },
    "heap-snapshot": { type: "string" },
    "cpu-prof": { type: "string" },
    gate: { type: "string" },
    retries: { type: "string" },
    json: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (flags.help) {
  const src = await Deno.readTextFile(new URL(import.meta.url));
  console.log(src.slice(src.indexOf("/**") + 3, src.indexOf("*/")).replace(/^ \*( |$)/gm, ""));
  Deno.exit(0);
}

function intFlag(v: string | undefined, def: number, name: string): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) die(`--${name} needs a non-negative integer, got ${v}`);
  return n;
}

function die(msg: string): never {
  console.error(`bench: ${msg}`);
  Deno.exit(2);
}

/**
 * The scenarios --scenario names, in the order of ALL_SCENARIOS: each name is a scenario, a
 * family, or a prefix of scenario names up to a dash (`js-pub` selects js-pub-sync-file ...).
 */
function selectScenarios(arg: string | undefined): ScenarioName[] {
  if (arg === undefined) return ALL_SCENARIOS;
  const names = arg.split(",");
  const selects = (name: string, s: ScenarioName) =>
    s === name || s.startsWith(`${name}-`) || (name in FAMILIES && familyOf(s) === name);
  for (const name of names) {
    if (!ALL_SCENARIOS.some((s) => selects(name, s))) {
      die(
        `unknown scenario ${name} (known: ${ALL_SCENARIOS.join(", ")}; families: ` +
          `${Object.keys(FAMILIES).join(", ")}; or a prefix such as js-pub)`,
      );
    }
  }
  return ALL_SCENARIOS.filter((s) => names.some((name) => selects(name, s)));
}

const QUICK = flags.quick;
const SIZE = intFlag(flags.size, 16, "size");
const ROUNDS = Math.max(1, intFlag(flags.rounds, QUICK ? 1 : 3, "rounds"));
const CONNS = intFlag(flags.conns, QUICK ? 1000 : 10_000, "conns");
const REQUESTS = Math.max(1, intFlag(flags.requests, QUICK ? 500 : 5000, "requests"));
const AGENTS = flags.agents as AgentMode;
if (AGENTS !== "worker" && AGENTS !== "process") die("--agents is worker or process");
const SCENARIOS = selectScenarios(flags.scenario);
const JS_SIZES = flags["js-sizes"].split(",").map((v) => intFlag(v, 16, "js-sizes"));
const VERBOSE = !flags.json || flags.verbose;
const DISTINCT = Math.max(1, intFlag(flags.distinct, QUICK ? 20_000 : 200_000, "distinct"));
const PASSES = Math.max(1, intFlag(flags.passes, QUICK ? 1 : 5, "passes"));
const CHURN = Math.max(1, intFlag(flags.churn, QUICK ? 300 : 5000, "churn"));
const STORMS = Math.max(1, intFlag(flags.storms, QUICK ? 1 : 3, "storms"));
const TLS_CHURN = Math.max(1, intFlag(flags["tls-churn"], QUICK ? 100 : 1000, "tls-churn"));
const SETTLE_MS = 1000 * intFlag(flags.settle, QUICK ? 1 : 5, "settle");
const HEAP_DIR = flags["heap-snapshot"];
const IDLE_SUB_CONNS = QUICK ? 500 : 2000;
const GATE_MS = 1000 * intFlag(flags.gate, QUICK ? 0 : 4, "gate");
const RETRIES = intFlag(flags.retries, QUICK ? 0 : 2, "retries");

/** One measured row group: a scenario at one payload size (JetStream ones run at several). */
interface Case {
  /** The scenario's name, or `<name>/<size>` for a JetStream one. */
  key: string;
  scenario: ScenarioName;
  size: number;
}
const CASES: Case[] = SCENARIOS.flatMap((s): Case[] =>
  isJs(s)
    ? JS_SIZES.map((size) => ({ key: `${s}/${size}`, scenario: s, size }))
    : [{ key: s, scenario: s, size: SIZE }]
);

/**
 * Messages per run, sized so one run takes about 2-5 s on this class of machine (2 cores shared
 * by server and clients). Smaller payloads move more messages per second, so scale by frame size.
 */
function msgsFor(c: Case): number {
  if (flags.msgs !== undefined) return intFlag(flags.msgs, 0, "msgs");
  if (isJs(c.scenario)) return jsMsgsFor(c.scenario, c.size, QUICK);
  const scale = Math.min(1, 48 / (32 + SIZE));
  const base: Record<string, number> = QUICK
    ? {
      pub: 400_000,
      pubsub: 300_000,
      fanout: 100_000,
      queue: 300_000,
      wspubsub: 300_000,
      tlspubsub: 300_000,
    }
    : {
      pub: 40_000_000,
      pubsub: 16_000_000,
      fanout: 6_000_000,
      queue: 12_000_000,
      wspubsub: 12_000_000,
      tlspubsub: 8_000_000,
    };
  return Math.max(1000, Math.round(base[c.scenario] * scale));
}

let KINDS: ServerKind[];
if (flags.only === undefined) {
  KINDS = hasNatsServer() ? ["ours", "nats-server"] : ["ours"];
} else if (flags.only === "ours" || flags.only === "nats-server") {
  KINDS = [flags.only];
} else {
  die("--only is ours or nats-server");
}
if (flags["base-dir"] !== undefined) KINDS.splice(KINDS.indexOf("ours") + 1, 0, "base");

const ROOT = new URL("..", import.meta.url);
/** Our servers: main.ts of this checkout (or --ours-dir), and of --base-dir as "base". */
const OURS = {
  oursDir: flags["ours-dir"] ?? ROOT.pathname,
  baseDir: flags["base-dir"],
  cpuProfDir: flags["cpu-prof"],
};
const CA_PEM = Deno.readTextFileSync(`${CERTS}ca.pem`);

function progress(line: string): void {
  if (VERBOSE) console.error(line);
}

killOnSignals();

// ---------------------------------------------------------------- scenarios

const WRITE_SIZE = 64 * 1024;
const READ_SIZE = 64 * 1024;
/** One throughput run: `subs` subscriber connections (split over subAgents agents). */
interface LoadShape {
  ws?: boolean;
  tls?: boolean;
  /** Distinct subjects (hicard*): the publisher cycles through them. */
  distinct?: { prefix: string; count: number; suffix: string };
  /** How the subscriber covers the distinct subjects: none, one wildcard, or one per subject. */
  distinctSubs?: "wildcard" | "each";
  /** Messages to publish, when not the scenario's default. */
  count?: number;
}

async function throughput(
  srv: RunningServer,
  c: Case,
  subs: { subject: string; queue?: string }[],
  deliveriesPerMsg: number,
  shape: LoadShape = {},
): Promise<Sample> {
  const ws = shape.ws ?? false;
  const tls = shape.tls ? CA_PEM : undefined;
  const port = ws ? srv.wsPort : srv.port;
  const count = shape.count ?? msgsFor(c);
  const expected = count * deliveriesPerMsg;
  const distinctSub = shape.distinct && shape.distinctSubs
    ? { ...shape.distinct, perSubject: shape.distinctSubs === "each" }
    : undefined;
  const subAgents = subs.length > 0 || distinctSub ? 1 : 0;
  return await withAgents(AGENTS, 1 + subAgents, async ([pub, ...subAgentsList]) => {
    for (const a of subAgentsList) {
      a.send({
        cmd: "sub",
        port,
        size: SIZE,
        subs,
        readSize: READ_SIZE,
        ws,
        tls,
        distinct: distinctSub,
      });
    }
    for (const a of subAgentsList) await a.expect("ready", 180_000);
    pub.send({
      cmd: "pub",
      port,
      subject: "bench.foo",
      size: SIZE,
      count,
      writeSize: WRITE_SIZE,
      ws,
      tls,
      distinct: shape.distinct,
    });
    await pub.expect("ready", 30_000);
    const cpu0 = cpuSeconds(srv.pid);
    const client0 = clientCpu(AGENTS, [pub, ...subAgentsList]);
    const j0 = machineJiffies();
    const w0 = wallMs();
    pub.send({ cmd: "go" });
    let subStat: Msg | null = null;
    if (subAgentsList.length > 0) {
      // Poll the subscribers until they have everything; stall = no progress for 10 s.
      let lastCount = -1;
      let lastProgress = Date.now();
      while (true) {
        await sleep(50);
        let total = 0;
        let first = Infinity;
        let last = 0;
        for (const a of subAgentsList) {
          a.send({ cmd: "stat" });
          const s = await a.expect("stat", 10_000);
          if (s.error) throw new Error(`subscriber: ${s.error}`);
          total += s.count;
          if (s.first) first = Math.min(first, s.first);
          last = Math.max(last, s.last);
        }
        if (total >= expected) {
          subStat = { count: total, first, last };
          break;
        }
        if (total !== lastCount) {
          lastCount = total;
          lastProgress = Date.now();
        } else if (Date.now() - lastProgress > 10_000) {
          throw new Error(`subscribers stalled at ${total} of ${expected} messages`);
        }
      }
    }
    const done = await pub.expect("done", 120_000);
    const w1 = wallMs();
    const j1 = machineJiffies();
    const cpu = cpuSeconds(srv.pid) - cpu0;
    const clientUsed = clientCpu(AGENTS, [pub, ...subAgentsList]) - client0;
    let total = 0;
    let reads = 0;
    let bytes = 0;
    for (const a of subAgentsList) {
      a.send({ cmd: "stop" });
      const s = await a.expect("done", 10_000);
      if (s.error) throw new Error(`subscriber: ${s.error}`);
      total += s.count;
      reads += s.reads;
      bytes += s.bytes;
    }
    if (subAgentsList.length > 0 && total !== expected) {
      throw new Error(`subscribers got ${total} messages, expected exactly ${expected}`);
    }
    let rate: number;
    let note: string;
    if (subStat) {
      rate = subStat.count / ((subStat.last - subStat.first) / 1000);
      const pubRate = count / ((done.tWritten - done.t0) / 1000);
      note = `pub wrote at ${fmtRate(pubRate)}/s, sub reads avg ${
        (bytes / Math.max(1, reads) / 1024).toFixed(1)
      } KiB`;
    } else {
      rate = count / ((done.tPong - done.t0) / 1000);
      note = `writes done after ${((done.tWritten - done.t0) / 1000).toFixed(2)} s`;
    }
    const wall = (w1 - w0) / 1000;
    return {
      value: rate,
      serverNsPerMsg: cpu * 1e9 / Math.max(expected, count),
      serverCpu: 100 * cpu / wall,
      clientCpu: 100 * clientUsed / wall,
      others: othersBetween(j0, j1, (cpu + clientUsed) / wall),
      note,
    };
  });
}

async function reqrep(srv: RunningServer, noMux = false, raw = false): Promise<Sample> {
  const cmd = {
    cmd: raw ? "reqraw" : "reqrep",
    port: srv.port,
    size: SIZE,
    count: REQUESTS,
    warmup: Math.min(500, REQUESTS),
    noMux,
  };
  const run = await timedRun(AGENTS, srv.pid, cmd, { readyMs: 30_000, doneMs: 120_000 });
  const d = run.done;
  return {
    value: d.p50,
    value2: d.p99,
    serverCpu: 100 * run.serverCpu / run.wall,
    others: run.others,
    note: `mean ${d.mean.toFixed(0)} µs over ${d.n}`,
  };
}

/** RSS per idle connection; with `withSub`, each connection holds one subscription. */
async function memory(srv: RunningServer, count = CONNS, withSub = false): Promise<Sample> {
  const conns: Deno.TcpConn[] = [];
  const BATCH = 500;
  try {
    await sleep(300);
    const before = rssKiB(srv.pid);
    while (conns.length < count) {
      const n = Math.min(BATCH, count - conns.length);
      const batch = await Promise.all(Array.from({ length: n }, async () => {
        const c = await connectTcp(srv.port);
        const i = conns.length;
        conns.push(c);
        const sub = withSub ? `SUB idle.${i} 1\r\n` : "";
        await pingPong(c, "CONNECT {}\r\n" + sub, 30_000);
        return c;
      }));
      void batch;
    }
    await sleep(1000);
    const after = rssKiB(srv.pid);
    return {
      value: (after - before) / count,
      note: `RSS ${(before / 1024).toFixed(1)} -> ${(after / 1024).toFixed(1)} MiB`,
    };
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  }
}

async function churnRun(srv: RunningServer, conns: number, tls: boolean): Promise<Sample> {
  const cmd = {
    cmd: "churn",
    port: srv.port,
    conns,
    storms: STORMS,
    concurrency: 0,
    tls: tls ? CA_PEM : undefined,
  };
  const run = await timedRun(AGENTS, srv.pid, cmd, { readyMs: 30_000, doneMs: 600_000 });
  const d = run.done;
  const cpu = run.serverCpu;
  return {
    value: d.rate,
    value2: d.p50,
    value3: d.p99,
    serverCpu: 100 * cpu / run.wall,
    others: run.others,
    note: `${d.n} conns in ${STORMS} storms: ${
      (d.storms as number[]).map((ms) => (ms / 1000).toFixed(2)).join(", ")
    } s; server ${(1e6 * cpu / d.n).toFixed(0)} µs CPU/conn`,
  };
}

/** The Deno runtime's own RSS floor: `deno run` (with our flags) of a script that only waits. */
async function denoFloorKiB(): Promise<number> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    'console.log("up");\nsetInterval(() => {}, 1 << 30);\n',
  );
  const child = track(
    new Deno.Command(Deno.execPath(), {
      args: ["run", ...runFlagsOf(OURS.oursDir), script],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn(),
  );
  try {
    const reader = child.stdout.getReader();
    await Promise.race([reader.read(), timeout(30_000, "deno floor script")]);
    reader.releaseLock();
    await sleep(SETTLE_MS);
    return rssKiB(child.pid);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await reap(child, 3000);
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(script).catch(() => {});
  }
}

const HICARD = { prefix: "dev.", count: DISTINCT, suffix: ".t" };

async function runScenario(srv: RunningServer, c: Case): Promise<Sample> {
  const s = c.scenario;
  if (isJs(s)) return await jsRun(srv, s, c.size, msgsFor(c), AGENTS);
  const one = { subject: "bench.foo" };
  const hicardCount = DISTINCT * PASSES;
  switch (s) {
    case "pub":
      return await throughput(srv, c, [], 1);
    case "pubsub":
      return await throughput(srv, c, [one], 1);
    case "fanout":
      return await throughput(srv, c, [one, one, one, one, one], 5);
    case "queue": {
      const q = { subject: "bench.foo", queue: "workers" };
      return await throughput(srv, c, [q, q, q, q], 1);
    }
    case "wspubsub":
      return await throughput(srv, c, [one], 1, { ws: true });
    case "reqrep":
      return await reqrep(srv);
    case "reqraw":
      return await reqrep(srv, false, true);
    case "memory":
      return await memory(srv);
    case "empty": {
      await sleep(SETTLE_MS);
      const rss = rssKiB(srv.pid);
      return { value: rss / 1024 };
    }
    case "hicard":
      return await throughput(srv, c, [], 1, { distinct: HICARD, count: hicardCount });
    case "hicardwc":
      return await throughput(srv, c, [], 1, {
        distinct: HICARD,
        distinctSubs: "wildcard",
        count: hicardCount,
      });
    case "hicardsubs":
      return await throughput(srv, c, [], 1, {
        distinct: HICARD,
        distinctSubs: "each",
        count: hicardCount,
      });
    case "reqnew":
      return await reqrep(srv, true);
    case "churn":
      return await churnRun(srv, CHURN, false);
    case "tlspubsub":
      return await throughput(srv, c, [one], 1, { tls: true });
    case "tlschurn":
      return await churnRun(srv, TLS_CHURN, true);
    case "idlesubs":
      return await memory(srv, IDLE_SUB_CONNS, true);
  }
}

/** Our server's V8 heap through its inspector, or undefined (nats-server, or no inspector). */
async function heapOf(srv: RunningServer): Promise<HeapUsage | undefined> {
  if (srv.inspectPort === 0) return undefined;
  try {
    return await heapUsage(srv.inspectPort);
  } catch (e) {
    progress(`  (heap of ${srv.kind} not read: ${(e as Error).message})`);
    return undefined;
  }
}

/**
 * A real-world scenario on a fresh server: the load, then the server's memory at once and again
 * after --settle seconds without load (what it gives back).
 */
async function runIsolated(kind: ServerKind, c: Case, round: number): Promise<Sample> {
  const s = c.scenario;
  const srv = await startServer(kind, OURS, {
    tls: s === "tlspubsub" || s === "tlschurn",
    bare: s === "empty",
    inspect: true,
  });
  try {
    await sleep(300);
    const start = rssKiB(srv.pid);
    const sample = await runScenario(srv, c);
    const load = rssKiB(srv.pid);
    const peak = statusKiB(srv.pid, "VmHWM");
    await sleep(s === "empty" ? 0 : SETTLE_MS);
    // The heap is read last: an inspector session itself costs the process a few MiB of RSS.
    const idle = rssKiB(srv.pid);
    const heap = await heapOf(srv);
    sample.mem = { start, peak, load, idle, heapIdle: heap?.used, heapTotalIdle: heap?.total };
    if (s === "empty" && kind === "ours") sample.floor = await denoFloorKiB();
    if (HEAP_DIR && srv.inspectPort !== 0) {
      await Deno.mkdir(HEAP_DIR, { recursive: true });
      await heapSnapshot(srv.inspectPort, `${HEAP_DIR}/${kind}-${s}-r${round}.heapsnapshot`);
    }
    return sample;
  } finally {
    await srv.stop();
  }
}

// ---------------------------------------------------------------- rows

const HICARD_LABEL = `${DISTINCT / 1000}k subjects x ${PASSES}`;

const ROWS: Record<CoreScenario | RealWorldScenario, Row[]> = {
  memory: [{
    key: "memory",
    label: `idle memory (${CONNS} conns)`,
    unit: "KiB/conn",
    fmt: f1,
    target: 0.8,
    higher: false,
    pick: (s) => s.value,
  }],
  pub: [rate("pub", "publish-only", "msgs/s", 1.0)],
  pubsub: [rate("pubsub", "1:1 pub/sub", "msgs/s", 1.5)],
  fanout: [rate("fanout", "1:5 fan-out", "deliveries/s", 1.0)],
  queue: [rate("queue", "queue group (1 pub, 4 members)", "msgs/s", 1.0)],
  wspubsub: [rate("wspubsub", "1:1 pub/sub over websocket", "msgs/s", 1.0)],
  reqrep: [
    latency("reqrep.p50", "request/reply p50", 0.8, (s) => s.value),
    latency("reqrep.p99", "request/reply p99", NaN, (s) => s.value2),
  ],
  reqraw: [
    latency("reqraw.p50", "request/reply p50, raw protocol", 0.8, (s) => s.value),
    latency("reqraw.p99", "request/reply p99, raw protocol", NaN, (s) => s.value2),
  ],
  empty: [{
    key: "empty",
    label: "empty server RSS",
    unit: "MiB",
    fmt: f1,
    target: NaN,
    higher: false,
    pick: (s) => s.value,
  }, {
    key: "empty.floor",
    label: "Deno runtime floor (empty script)",
    unit: "MiB",
    fmt: f1,
    target: NaN,
    higher: false,
    pick: (s) => s.floor === undefined ? undefined : s.floor / 1024,
  }],
  hicard: [rate("hicard", `high-cardinality publish (${HICARD_LABEL})`, "msgs/s", 1.5)],
  hicardwc: [
    rate("hicardwc", `high-cardinality, wildcard sub (${HICARD_LABEL})`, "msgs/s", 1.5),
  ],
  hicardsubs: [
    rate("hicardsubs", `high-cardinality, sub per subject (${HICARD_LABEL})`, "msgs/s", 1.5),
  ],
  reqnew: [
    latency("reqnew.p50", "request/reply, new inbox per request p50", 0.8, (s) => s.value),
    latency("reqnew.p99", "request/reply, new inbox per request p99", NaN, (s) => s.value2),
  ],
  churn: [
    rate("churn", `connection churn (${STORMS} x ${CHURN} at once)`, "conns/s", 1.0),
    latency("churn.p50", "connection churn, connect-to-PONG p50", NaN, (s) => s.value2, "ms"),
    latency("churn.p99", "connection churn, connect-to-PONG p99", NaN, (s) => s.value3, "ms"),
  ],
  tlspubsub: [rate("tlspubsub", "1:1 pub/sub over TLS", "msgs/s", 1.2)],
  tlschurn: [
    rate("tlschurn", `TLS connection churn (${STORMS} x ${TLS_CHURN})`, "handshakes/s", 1.0),
    latency("tlschurn.p99", "TLS connection churn, p99", NaN, (s) => s.value3, "ms"),
  ],
  idlesubs: [{
    key: "idlesubs",
    label: `idle memory, 1 sub each (${IDLE_SUB_CONNS} conns)`,
    unit: "KiB/conn",
    fmt: f1,
    target: 0.8,
    higher: false,
    pick: (s) => s.value,
  }],
};

function sizeText(n: number): string {
  return n >= 1024 && n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`;
}

/** The table rows of a case: a JetStream scenario's carry its payload size. */
function rowsFor(c: Case): Row[] {
  if (!isJs(c.scenario)) return ROWS[c.scenario];
  const [label, unit] = JS_LABELS[c.scenario];
  return [rate(c.key, `${label}, ${sizeText(c.size)}`, unit, 1.0)];
}

/** Memory targets (ours/nats-server RSS once the load has stopped), per the goals. */
const IDLE_RSS_TARGET: Partial<Record<RealWorldScenario, number>> = {
  hicard: 2,
  hicardwc: 2,
  hicardsubs: 2,
  churn: 2,
};

/** How the report shows a case: its rows, and for a real-world one its memory. */
function caseReport(c: Case): CaseReport {
  const s = c.scenario;
  return {
    key: c.key,
    rows: rowsFor(c),
    memory: isRealWorld(s) ? { inTable: s !== "empty", idleTarget: IDLE_RSS_TARGET[s] } : undefined,
  };
}

// ---------------------------------------------------------------- main

function versionOf(cmd: string, args: string[]): string {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
    return new TextDecoder().decode(out.stdout).trim().split("\n")[0];
  } catch {
    return "?";
  }
}

/**
 * One measurement, repeated (up to RETRIES more times) when other processes used BUSY_CORES or
 * more before or during it; the least disturbed attempt is kept. `srv` is the shared server of
 * the round, or null for a real-world scenario (a fresh server per attempt).
 */
async function measureOnce(
  round: number,
  c: Case,
  srv: RunningServer | null,
  kind: ServerKind,
): Promise<Sample> {
  let best: Sample | null = null;
  let bestNoise = Infinity;
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    const before = await waitQuiet(GATE_MS);
    const sample = srv ? await runScenario(srv, c) : await runIsolated(kind, c, round);
    const noise = Math.max(Number.isFinite(before) ? before : 0, sample.others ?? 0);
    if (noise < bestNoise) {
      best = sample;
      bestNoise = noise;
    }
    if (noise < BUSY_CORES) break;
  }
  if (bestNoise >= BUSY_CORES) {
    best!.note = `${best!.note ?? ""}; machine busy: ${bestNoise.toFixed(1)} cores`;
  }
  return best!;
}

/** Measures a case on one server, recording the sample or the error. */
async function measure(
  results: Results,
  errors: string[],
  round: number,
  c: Case,
  srv: RunningServer | null,
  kind: ServerKind,
): Promise<void> {
  try {
    const sample = await measureOnce(round, c, srv, kind);
    results[c.key][kind].push(sample);
    progress(sampleLine(round, caseReport(c), kind, sample));
  } catch (e) {
    const msg = `round ${round} ${c.key} on ${kind}: ${(e as Error).message}`;
    errors.push(msg);
    progress(`  ${msg}`);
    if (srv && /exited|closed|refused|reset/i.test((e as Error).message)) {
      progress(`  server log tail:\n${srv.tail().slice(-1000)}`);
    }
  }
}

/** Runs cases on one shared server of each kind, started fresh with `setup`. */
async function sharedRound(
  results: Results,
  errors: string[],
  round: number,
  cases: Case[],
  kinds: ServerKind[],
  setup: ServerSetup,
): Promise<void> {
  if (cases.length === 0) return;
  const servers: RunningServer[] = [];
  try {
    for (const k of kinds) servers.push(await startServer(k, OURS, setup));
    for (const c of cases) {
      for (const srv of servers) await measure(results, errors, round, c, srv, srv.kind);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function main(): Promise<void> {
  const results: Results = {};
  const errors: string[] = [];
  for (const c of CASES) results[c.key] = { "ours": [], "base": [], "nats-server": [] };
  const t0 = Date.now();
  const cpus = os.cpus();
  const machine = `${cpus.length} cores (${cpus[0]?.model.trim() ?? "?"}), ` +
    `load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}, deno ${Deno.version.deno}, ` +
    (KINDS.includes("nats-server") ? `${versionOf("nats-server", ["--version"])}, ` : "") +
    `payload ${SIZE} B` +
    (CASES.some((c) => isJs(c.scenario)) ? ` (JetStream ${JS_SIZES.join(", ")} B)` : "") +
    `, agents ${AGENTS}, ${ROUNDS} round${ROUNDS > 1 ? "s" : ""} (median), ` +
    `ours runs with: deno run ${runFlagsOf(OURS.oursDir).join(" ")}` +
    (KINDS.includes("base") ? `; base: ${flags["base-dir"]}` : "");
  progress(`bench: ${machine}`);

  const core = CASES.filter((c) => familyOf(c.scenario) === "core");
  const js = CASES.filter((c) => isJs(c.scenario));
  const realWorld = CASES.filter((c) => isRealWorld(c.scenario));
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which server goes first, so a trend in the machine's load hits both alike.
    const kinds = round % 2 === 1 ? KINDS : [...KINDS].reverse();
    await sharedRound(results, errors, round, core, kinds, {});
    await sharedRound(results, errors, round, js, kinds, { jetstream: true });
    for (const c of realWorld) {
      for (const k of kinds) await measure(results, errors, round, c, null, k);
    }
  }

  printReport({
    machine,
    elapsedSeconds: (Date.now() - t0) / 1000,
    kinds: KINDS,
    cases: CASES.map(caseReport),
    results,
    errors,
    settleMs: SETTLE_MS,
  }, flags.json);
  killAll();
  Deno.exit(errors.length > 0 ? 1 : 0);
}

try {
  await main();
} catch (e) {
  killAll();
  console.error(`bench: ${(e as Error).stack ?? e}`);
  Deno.exit(1);
}
