/**
 * Benchmark: our server against the reference nats-server, same machine, same client code.
 *
 *   deno task bench [flags]        (deno run -A scripts/bench.ts)
 *
 * Scenarios (names for --scenario). On one server per round, shared:
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
 * Real-world shapes, each on a fresh server (so what a load leaves behind is its own), with the
 * server's memory read at the end of the load and again --settle seconds after it stopped: RSS,
 * peak RSS (VmHWM) and, for our server, the V8 heap (through the inspector):
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
 * Our server runs with the flags of its checkout's `deno task start` (the V8 flags it ships with).
 *
 * Method. Throughput is driven by a raw protocol generator: PUB frames packed back to back into
 * 64 KiB buffers, written with Deno's native conn.write in a loop. Subscribers are raw sockets
 * that count MSG frames by length (every frame has the same size) and check one byte per frame
 * plus one whole frame per read. Subscriber rate = messages received / time from the first to the
 * last message received (summed over the subscribers, first-to-last over all of them). The
 * publisher and the subscribers run in separate agents (Web Workers by default, or child
 * processes with --agents process) so they do not queue behind each other. For each round both
 * servers are started fresh; every scenario then runs on ours, then on nats-server (alternating,
 * so a noisy period hits both); the table shows the median over the rounds.
 *
 * Flags:
 *   --quick            small runs (a few hundred thousand messages, 1,000 idle conns, 1 round)
 *   --only ours|nats-server   measure one server only (default: both when nats-server is on PATH)
 *   --rounds N         rounds to take the median of (default 3; 1 with --quick)
 *   --scenario NAMES   comma-separated subset of the scenario names above (default: all)
 *   --size N           payload bytes (default 16)
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
 *   --json             print the results as JSON instead of the Markdown table
 *   --verbose          progress lines on stderr for every run (always on unless --json)
 */

import { parseArgs } from "node:util";
import * as os from "node:os";
import { connectTcp, pingPong, wallMs } from "./bench/raw.ts";
import { heapSnapshot, type HeapUsage, heapUsage } from "./bench/inspector.ts";

type ServerKind = "ours" | "base" | "nats-server";
const SHARED_SCENARIOS = [
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
const ISOLATED_SCENARIOS = [
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
type SharedScenario = typeof SHARED_SCENARIOS[number];
type IsolatedScenario = typeof ISOLATED_SCENARIOS[number];
type ScenarioName = SharedScenario | IsolatedScenario;
const ALL_SCENARIOS: ScenarioName[] = [...SHARED_SCENARIOS, ...ISOLATED_SCENARIOS];

function isIsolated(s: ScenarioName): s is IsolatedScenario {
  return (ISOLATED_SCENARIOS as readonly string[]).includes(s);
}

// deno-lint-ignore no-explicit-any
type Msg = Record<string, any>;

// ---------------------------------------------------------------- flags

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    rounds: { type: "string" },
    scenario: { type: "string" },
    size: { type: "string", default: "16" },
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

const QUICK = flags.quick;
const SIZE = intFlag(flags.size, 16, "size");
const ROUNDS = Math.max(1, intFlag(flags.rounds, QUICK ? 1 : 3, "rounds"));
const CONNS = intFlag(flags.conns, QUICK ? 1000 : 10_000, "conns");
const REQUESTS = Math.max(1, intFlag(flags.requests, QUICK ? 500 : 5000, "requests"));
const AGENTS = flags.agents;
if (AGENTS !== "worker" && AGENTS !== "process") die("--agents is worker or process");
const SCENARIOS: ScenarioName[] = flags.scenario
  ? flags.scenario.split(",").map((s) => {
    if (!ALL_SCENARIOS.includes(s as ScenarioName)) {
      die(`unknown scenario ${s} (known: ${ALL_SCENARIOS.join(", ")})`);
    }
    return s as ScenarioName;
  })
  : ALL_SCENARIOS;
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

/**
 * Messages per run, sized so one run takes about 2-5 s on this class of machine (2 cores shared
 * by server and clients). Smaller payloads move more messages per second, so scale by frame size.
 */
function msgsFor(s: ScenarioName): number {
  if (flags.msgs !== undefined) return intFlag(flags.msgs, 0, "msgs");
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
  return Math.max(1000, Math.round(base[s] * scale));
}

function hasNatsServer(): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/nats-server`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
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
/** Where our server's main.ts is run from (another checkout can be compared with --ours-dir). */
const OURS_DIR = flags["ours-dir"] ?? ROOT.pathname;
const CERTS = new URL("../configs/certs/", import.meta.url).pathname;
const CA_PEM = Deno.readTextFileSync(`${CERTS}ca.pem`);

/**
 * The `deno run` flags a checkout starts its server with: those of its `deno task start`
 * (V8 heap flags among them), so the bench measures the server as it ships.
 */
function runFlagsOf(dir: string): string[] {
  try {
    const cfg = JSON.parse(Deno.readTextFileSync(`${dir}/deno.json`));
    const words = String(cfg.tasks?.start ?? "").split(/\s+/);
    const run = words.indexOf("run");
    const main = words.indexOf("main.ts");
    if (run >= 0 && main > run) return words.slice(run + 1, main);
  } catch { /* no deno.json: the defaults */ }
  return ["-A"];
}
const WORKER_URL = new URL("./bench/worker.ts", import.meta.url);

function progress(line: string): void {
  if (VERBOSE) console.error(line);
}

// ---------------------------------------------------------------- processes

const children = new Set<Deno.ChildProcess>();

function cleanup(): void {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch { /* gone */ }
  }
}
Deno.addSignalListener("SIGINT", () => {
  cleanup();
  Deno.exit(130);
});
Deno.addSignalListener("SIGTERM", () => {
  cleanup();
  Deno.exit(143);
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

interface RunningServer {
  kind: ServerKind;
  port: number;
  /** The websocket listener (both servers get one, no TLS, for the wspubsub scenario). */
  wsPort: number;
  pid: number;
  /** The V8 inspector's port (our server, real-world scenarios), else 0. */
  inspectPort: number;
  tail: () => string;
  stop(): Promise<void>;
}

interface ServerSetup {
  /** TLS on the client port (configs/certs/server-*.pem). */
  tls?: boolean;
  /** No configuration file at all (the empty scenario). */
  bare?: boolean;
  /** Our server with the V8 inspector on, to read its heap. */
  inspect?: boolean;
}

async function startServer(kind: ServerKind, setup: ServerSetup = {}): Promise<RunningServer> {
  const port = freePort();
  const wsPort = freePort();
  const inspectPort = setup.inspect && kind !== "nats-server" ? freePort() : 0;
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(
    conf,
    `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n` +
      (setup.tls
        ? `tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem", ` +
          `timeout: 5 }\n`
        : ""),
  );
  const confArgs = setup.bare ? [] : ["-c", conf];
  const dir = kind === "base" ? flags["base-dir"]! : OURS_DIR;
  const cmd = kind !== "nats-server"
    ? new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...(flags["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${flags["cpu-prof"]}`] : []),
        ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
        ...runFlagsOf(dir),
        "main.ts",
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        ...confArgs,
      ],
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    })
    : new Deno.Command("nats-server", {
      args: ["-a", "127.0.0.1", "-p", String(port), ...confArgs],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    });
  const child = cmd.spawn();
  children.add(child);
  let log = "";
  let ready!: () => void;
  const readyP = new Promise<void>((r) => ready = r);
  // Keep draining stderr for the server's whole life so its logging never blocks.
  (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      log = (log + dec.decode(chunk, { stream: true })).slice(-8192);
      if (log.includes("Server is ready")) ready();
    }
  })().catch(() => {});
  const exited = child.status.then((s) => {
    throw new Error(`${kind} exited (code ${s.code}) before it was ready:\n${log}`);
  });
  await Promise.race([readyP, exited, timeout(30_000, `${kind} did not get ready`)]);
  exited.catch(() => {});
  return {
    kind,
    port,
    wsPort,
    pid: child.pid,
    inspectPort,
    tail: () => log,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await reap(child, 3000);
      await Deno.remove(conf).catch(() => {});
    },
  };
}

/** Waits up to `ms` for a child asked to stop, then kills it; forgets it either way. */
async function reap(child: Deno.ChildProcess, ms: number): Promise<void> {
  const done = await Promise.race([child.status.then(() => true), sleep(ms).then(() => false)]);
  if (!done) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
  children.delete(child);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, rej) => {
    const t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms);
    Deno.unrefTimer(t);
  });
}

/** User+system CPU seconds of a process (Linux /proc; fields 14 and 15 in clock ticks). */
function cpuSeconds(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineJiffies(): { busy: number; total: number } {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/**
 * Waits (at most GATE_MS) until other work on the machine uses less than 0.3 core, measured over
 * 250 ms windows while our servers are idle, so that noisy periods are skipped rather than
 * measured. Returns the cores in use by others at the last check.
 */
async function waitQuiet(): Promise<number> {
  if (GATE_MS <= 0) return NaN;
  const cores = os.cpus().length;
  const until = Date.now() + GATE_MS;
  let used = NaN;
  do {
    const a = machineJiffies();
    await sleep(250);
    const b = machineJiffies();
    used = b.total > a.total ? cores * (b.busy - a.busy) / (b.total - a.total) : 0;
    if (used < 0.3) break;
  } while (Date.now() < until);
  return used;
}

function statusKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = status.match(new RegExp(`${field}:\\s+(\\d+)\\s+kB`));
  if (!m) throw new Error(`no ${field}`);
  return Number(m[1]);
}

function rssKiB(pid: number): number {
  return statusKiB(pid, "VmRSS");
}

// ---------------------------------------------------------------- agents

/** A load generator in a Worker or a child process, spoken to with JSON messages. */
class Agent {
  #inbox: Msg[] = [];
  #waiters: ((m: Msg) => void)[] = [];
  #worker?: Worker;
  #child?: Deno.ChildProcess;
  #stdin?: WritableStreamDefaultWriter<Uint8Array>;
  pid: number | "self" = "self";

  constructor() {
    if (AGENTS === "worker") {
      this.#worker = new Worker(WORKER_URL, { type: "module" });
      this.#worker.onmessage = (e) => this.#deliver(e.data);
      this.#worker.onerror = (e) => {
        e.preventDefault();
        this.#deliver({ ev: "error", message: e.message });
      };
    } else {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", WORKER_URL.pathname, "--child"],
        cwd: ROOT,
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      children.add(child);
      this.#child = child;
      this.pid = child.pid;
      this.#stdin = child.stdin.getWriter();
      (async () => {
        const dec = new TextDecoder();
        let text = "";
        for await (const chunk of child.stdout) {
          text += dec.decode(chunk, { stream: true });
          let nl;
          while ((nl = text.indexOf("\n")) >= 0) {
            const line = text.slice(0, nl);
            text = text.slice(nl + 1);
            if (line.trim()) this.#deliver(JSON.parse(line));
          }
        }
        this.#deliver({ ev: "error", message: "agent process exited" });
      })().catch((e) => this.#deliver({ ev: "error", message: String(e) }));
    }
  }

  #deliver(m: Msg): void {
    const w = this.#waiters.shift();
    if (w) w(m);
    else this.#inbox.push(m);
  }

  send(m: Msg): void {
    if (this.#worker) this.#worker.postMessage(m);
    else void this.#stdin!.write(new TextEncoder().encode(JSON.stringify(m) + "\n"));
  }

  /** The next message; an {ev:"error"} becomes a thrown Error. */
  async next(ms = 60_000, what = "agent reply"): Promise<Msg> {
    const m = this.#inbox.shift() ??
      await Promise.race([
        new Promise<Msg>((r) => this.#waiters.push(r)),
        timeout(ms, what),
      ]);
    if (m.ev === "error") throw new Error(m.message);
    return m;
  }

  async expect(ev: string, ms?: number): Promise<Msg> {
    const m = await this.next(ms, `agent ${ev}`);
    if (m.ev !== ev) throw new Error(`agent sent ${m.ev}, expected ${ev}`);
    return m;
  }

  async close(): Promise<void> {
    if (this.#worker) {
      this.#worker.terminate();
      return;
    }
    const child = this.#child!;
    try {
      await this.#stdin!.close();
    } catch { /* closed */ }
    await reap(child, 2000);
  }
}

async function withAgents<T>(n: number, f: (a: Agent[]) => Promise<T>): Promise<T> {
  const agents = Array.from({ length: n }, () => new Agent());
  try {
    return await f(agents);
  } finally {
    await Promise.all(agents.map((a) => a.close()));
  }
}

// ---------------------------------------------------------------- scenarios

interface Sample {
  /** msgs/s for throughput, µs for latency, KiB/conn for memory. */
  value: number;
  /** A second value (reqrep p99). */
  value2?: number;
  /** Server CPU ns per delivered message (throughput scenarios). */
  serverNsPerMsg?: number;
  /** Server CPU use over the run, % of one core. */
  serverCpu?: number;
  /** Bench process (+ agent processes) CPU, % of one core. */
  clientCpu?: number;
  /** A third value (churn p99 when value2 is p50). */
  value3?: number;
  /** The server's memory after the load and after it stopped (real-world scenarios). */
  mem?: MemSample;
  /** The Deno runtime's own RSS floor, KiB (empty scenario, our server). */
  floor?: number;
  note?: string;
}

interface MemSample {
  /** VmRSS KiB when the server was ready, before any load. */
  start: number;
  /** VmHWM: the highest RSS the server reached, KiB. */
  peak: number;
  /** VmRSS KiB right after the load ended. */
  load: number;
  /** VmRSS KiB --settle seconds later. */
  idle: number;
  /** V8 heap used (bytes) when idle; our server only. */
  heapIdle?: number;
  heapTotalIdle?: number;
}

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
  scenario: ScenarioName,
  subs: { subject: string; queue?: string }[],
  deliveriesPerMsg: number,
  shape: LoadShape = {},
): Promise<Sample> {
  const ws = shape.ws ?? false;
  const tls = shape.tls ? CA_PEM : undefined;
  const port = ws ? srv.wsPort : srv.port;
  const count = shape.count ?? msgsFor(scenario);
  const expected = count * deliveriesPerMsg;
  const distinctSub = shape.distinct && shape.distinctSubs
    ? { ...shape.distinct, perSubject: shape.distinctSubs === "each" }
    : undefined;
  const subAgents = subs.length > 0 || distinctSub ? 1 : 0;
  return await withAgents(1 + subAgents, async ([pub, ...subAgentsList]) => {
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
    const client0 = clientCpu([pub, ...subAgentsList]);
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
    const cpu = cpuSeconds(srv.pid) - cpu0;
    const clientUsed = clientCpu([pub, ...subAgentsList]) - client0;
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
      note,
    };
  });
}

function clientCpu(agents: Agent[]): number {
  if (AGENTS === "worker") return cpuSeconds("self");
  return agents.reduce((s, a) => s + cpuSeconds(a.pid), 0);
}

async function reqrep(srv: RunningServer, noMux = false, raw = false): Promise<Sample> {
  return await withAgents(1, async ([a]) => {
    a.send({
      cmd: raw ? "reqraw" : "reqrep",
      port: srv.port,
      size: SIZE,
      count: REQUESTS,
      warmup: Math.min(500, REQUESTS),
      noMux,
    });
    await a.expect("ready", 30_000);
    const cpu0 = cpuSeconds(srv.pid);
    const w0 = wallMs();
    a.send({ cmd: "go" });
    const d = await a.expect("done", 120_000);
    const wall = (wallMs() - w0) / 1000;
    const cpu = cpuSeconds(srv.pid) - cpu0;
    return {
      value: d.p50,
      value2: d.p99,
      serverCpu: 100 * cpu / wall,
      note: `mean ${d.mean.toFixed(0)} µs over ${d.n}`,
    };
  });
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
  return await withAgents(1, async ([a]) => {
    a.send({
      cmd: "churn",
      port: srv.port,
      conns,
      storms: STORMS,
      concurrency: 0,
      tls: tls ? CA_PEM : undefined,
    });
    await a.expect("ready", 30_000);
    const cpu0 = cpuSeconds(srv.pid);
    const w0 = wallMs();
    a.send({ cmd: "go" });
    const d = await a.expect("done", 600_000);
    const wall = (wallMs() - w0) / 1000;
    const cpu = cpuSeconds(srv.pid) - cpu0;
    return {
      value: d.rate,
      value2: d.p50,
      value3: d.p99,
      serverCpu: 100 * cpu / wall,
      note: `${d.n} conns in ${STORMS} storms: ${
        (d.storms as number[]).map((ms) => (ms / 1000).toFixed(2)).join(", ")
      } s; server ${(1e6 * cpu / d.n).toFixed(0)} µs CPU/conn`,
    };
  });
}

/** The Deno runtime's own RSS floor: `deno run` (with our flags) of a script that only waits. */
async function denoFloorKiB(): Promise<number> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    'console.log("up");\nsetInterval(() => {}, 1 << 30);\n',
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...runFlagsOf(OURS_DIR), script],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  children.add(child);
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

async function runScenario(srv: RunningServer, s: ScenarioName): Promise<Sample> {
  const one = { subject: "bench.foo" };
  const hicardCount = DISTINCT * PASSES;
  switch (s) {
    case "pub":
      return await throughput(srv, s, [], 1);
    case "pubsub":
      return await throughput(srv, s, [one], 1);
    case "fanout":
      return await throughput(srv, s, [one, one, one, one, one], 5);
    case "queue": {
      const q = { subject: "bench.foo", queue: "workers" };
      return await throughput(srv, s, [q, q, q, q], 1);
    }
    case "wspubsub":
      return await throughput(srv, s, [one], 1, { ws: true });
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
      return await throughput(srv, s, [], 1, { distinct: HICARD, count: hicardCount });
    case "hicardwc":
      return await throughput(srv, s, [], 1, {
        distinct: HICARD,
        distinctSubs: "wildcard",
        count: hicardCount,
      });
    case "hicardsubs":
      return await throughput(srv, s, [], 1, {
        distinct: HICARD,
        distinctSubs: "each",
        count: hicardCount,
      });
    case "reqnew":
      return await reqrep(srv, true);
    case "churn":
      return await churnRun(srv, CHURN, false);
    case "tlspubsub":
      return await throughput(srv, s, [one], 1, { tls: true });
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
async function runIsolated(kind: ServerKind, s: IsolatedScenario, round: number): Promise<Sample> {
  const srv = await startServer(kind, {
    tls: s === "tlspubsub" || s === "tlschurn",
    bare: s === "empty",
    inspect: true,
  });
  try {
    await sleep(300);
    const start = rssKiB(srv.pid);
    const sample = await runScenario(srv, s);
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

// ---------------------------------------------------------------- formatting

function fmtRate(v: number): string {
  if (!Number.isFinite(v)) return "-";
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}

function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

interface Row {
  key: string;
  label: string;
  unit: string;
  fmt: (v: number) => string;
  /** Target ratio ours/nats-server and whether higher is better. */
  target: number;
  higher: boolean;
  pick: (s: Sample) => number | undefined;
}

const f0 = (v: number) => v.toFixed(0);
const f1 = (v: number) => v.toFixed(1);

function rate(key: string, label: string, unit: string, target: number): Row {
  return { key, label, unit, fmt: fmtRate, target, higher: true, pick: (s) => s.value };
}

function latency(
  key: string,
  label: string,
  target: number,
  pick: (s: Sample) => number | undefined,
  unit = "µs",
): Row {
  return { key, label, unit, fmt: f0, target, higher: false, pick };
}

const HICARD_LABEL = `${DISTINCT / 1000}k subjects x ${PASSES}`;

const ROWS: Record<ScenarioName, Row[]> = {
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

/** Memory targets (ours/nats-server RSS once the load has stopped), per the issue's goals. */
const IDLE_RSS_TARGET: Partial<Record<IsolatedScenario, number>> = {
  hicard: 2,
  hicardwc: 2,
  hicardsubs: 2,
  churn: 2,
};

function targetText(r: Row, ratio: number): string {
  if (!Number.isFinite(r.target)) return "";
  const met = !Number.isFinite(ratio)
    ? ""
    : (r.higher ? ratio >= r.target : ratio <= r.target)
    ? " ✓"
    : " ✗";
  return `${r.higher ? ">=" : "<="} ${r.target.toFixed(1)}x${met}`;
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

type Results = Record<string, Record<ServerKind, Sample[]>>;

function logSample(round: number, s: ScenarioName, kind: ServerKind, sample: Sample): void {
  const m = sample.mem;
  const extra = [
    sample.serverCpu !== undefined ? `server ${sample.serverCpu.toFixed(0)}% CPU` : "",
    sample.serverNsPerMsg !== undefined ? `${sample.serverNsPerMsg.toFixed(0)} ns/msg` : "",
    sample.clientCpu !== undefined ? `clients ${sample.clientCpu.toFixed(0)}% CPU` : "",
    m
      ? `RSS MiB start ${mib(m.start)} peak ${mib(m.peak)} load ${mib(m.load)} idle ${
        mib(m.idle)
      }` +
        (m.heapIdle !== undefined
          ? `, idle heap MB ${mb(m.heapIdle)} used of ${mb(m.heapTotalIdle ?? NaN)}`
          : "")
      : "",
    sample.floor !== undefined ? `deno floor ${mib(sample.floor)} MiB` : "",
    sample.note ?? "",
  ].filter(Boolean).join(", ");
  const main = ROWS[s].map((r) => `${r.fmt(r.pick(sample) ?? NaN)} ${r.unit}`).join(" / ");
  progress(`  round ${round} ${s.padEnd(10)} ${kind.padEnd(11)} ${main}  (${extra})`);
}

const mib = (kib: number) => (kib / 1024).toFixed(1);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

async function measure(
  results: Results,
  errors: string[],
  round: number,
  s: ScenarioName,
  srv: RunningServer | null,
  kind: ServerKind,
): Promise<void> {
  try {
    const others = await waitQuiet();
    const sample = srv
      ? await runScenario(srv, s)
      : await runIsolated(kind, s as IsolatedScenario, round);
    if (others >= 0.3) {
      sample.note = `${sample.note ?? ""}; machine busy: ${others.toFixed(1)} cores`;
    }
    results[s][kind].push(sample);
    logSample(round, s, kind, sample);
  } catch (e) {
    const msg = `round ${round} ${s} on ${kind}: ${(e as Error).message}`;
    errors.push(msg);
    progress(`  ${msg}`);
    if (srv && /exited|closed|refused|reset/i.test((e as Error).message)) {
      progress(`  server log tail:\n${srv.tail().slice(-1000)}`);
    }
  }
}

async function main(): Promise<void> {
  const results: Results = {};
  const errors: string[] = [];
  for (const s of SCENARIOS) results[s] = { "ours": [], "base": [], "nats-server": [] };
  const t0 = Date.now();
  const cpus = os.cpus();
  const machine = `${cpus.length} cores (${cpus[0]?.model.trim() ?? "?"}), ` +
    `load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}, deno ${Deno.version.deno}, ` +
    (KINDS.includes("nats-server") ? `${versionOf("nats-server", ["--version"])}, ` : "") +
    `payload ${SIZE} B, agents ${AGENTS}, ${ROUNDS} round${ROUNDS > 1 ? "s" : ""} (median), ` +
    `ours runs with: deno run ${runFlagsOf(OURS_DIR).join(" ")}` +
    (KINDS.includes("base") ? `; base: ${flags["base-dir"]}` : "");
  progress(`bench: ${machine}`);

  const shared = SCENARIOS.filter((s) => !isIsolated(s));
  const isolated = SCENARIOS.filter(isIsolated);
  for (let round = 1; round <= ROUNDS; round++) {
    if (shared.length > 0) {
      const servers: RunningServer[] = [];
      try {
        for (const k of KINDS) servers.push(await startServer(k));
        for (const s of shared) {
          for (const srv of servers) await measure(results, errors, round, s, srv, srv.kind);
        }
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    }
    for (const s of isolated) {
      for (const k of KINDS) await measure(results, errors, round, s, null, k);
    }
  }

  const table: {
    key: string;
    label: string;
    unit: string;
    ours: number;
    base: number;
    ref: number;
    ratio: number;
    samples: Record<ServerKind, number[]>;
  }[] = [];
  for (const s of SCENARIOS) {
    for (const r of ROWS[s]) {
      const pick = (k: ServerKind) => results[s][k].map((x) => r.pick(x) ?? NaN);
      const samples = {
        "ours": pick("ours"),
        "base": pick("base"),
        "nats-server": pick("nats-server"),
      };
      const ours = median(samples.ours);
      const ref = median(samples["nats-server"]);
      table.push({
        key: r.key,
        label: r.label,
        unit: r.unit,
        ours,
        base: median(samples.base),
        ref,
        ratio: ours / ref,
        samples,
      });
    }
  }
  const memTable = isolated.map((s) => {
    const med = (k: ServerKind, f: (m: MemSample) => number | undefined) =>
      median(results[s][k].map((x) => (x.mem ? f(x.mem) : undefined) ?? NaN));
    const row = (k: ServerKind) => ({
      peak: med(k, (m) => m.peak),
      load: med(k, (m) => m.load),
      idle: med(k, (m) => m.idle),
      heapIdle: med(k, (m) => m.heapIdle),
      heapTotal: med(k, (m) => m.heapTotalIdle),
    });
    return { scenario: s, ours: row("ours"), base: row("base"), ref: row("nats-server") };
  });
  const elapsed = (Date.now() - t0) / 1000;
  const hasBase = KINDS.includes("base");

  if (flags.json) {
    console.log(JSON.stringify(
      {
        machine,
        elapsedSeconds: elapsed,
        servers: KINDS,
        rows: table,
        memory: memTable,
        runs: results,
        errors,
      },
      (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
      2,
    ));
  } else {
    const lines = hasBase
      ? [
        "| scenario | ours | base | nats-server | ratio | ours/base | target |",
        "|---|---:|---:|---:|---:|---:|---|",
      ]
      : [
        "| scenario | ours | nats-server | ratio | target |",
        "|---|---:|---:|---:|---|",
      ];
    for (const s of SCENARIOS) {
      for (const r of ROWS[s]) {
        const t = table.find((x) => x.key === r.key)!;
        const cell = (v: number) => Number.isFinite(v) ? `${r.fmt(v)} ${r.unit}` : "-";
        const x = (v: number) => Number.isFinite(v) ? `${v.toFixed(2)}x` : "-";
        const base = hasBase ? ` ${cell(t.base)} |` : "";
        const vsBase = hasBase ? ` ${x(t.ours / t.base)} |` : "";
        lines.push(
          `| ${r.label} | ${cell(t.ours)} |${base} ${cell(t.ref)} | ${x(t.ratio)} |${vsBase} ${
            targetText(r, t.ratio)
          } |`,
        );
      }
    }
    // Server CPU per delivered message: where the time goes on each side.
    const cpuRows: string[] = [];
    for (const s of SCENARIOS) {
      const ns = (k: ServerKind) => median(results[s][k].map((x) => x.serverNsPerMsg ?? NaN));
      const o = ns("ours");
      const n = ns("nats-server");
      if (Number.isFinite(o) || Number.isFinite(n)) {
        const f = (v: number) => Number.isFinite(v) ? `${v.toFixed(0)} ns` : "-";
        cpuRows.push(
          `| ${ROWS[s][0].label} | ${f(o)} |${hasBase ? ` ${f(ns("base"))} |` : ""} ${f(n)} |`,
        );
      }
    }
    console.log(lines.join("\n"));
    console.log(
      "\nratio = ours / nats-server (higher is better for rates, lower for µs, ms, MiB and KiB).",
    );
    if (cpuRows.length > 0) {
      console.log(
        `\n| server CPU per delivered message | ours |${
          hasBase ? " base |" : ""
        } nats-server |\n|---|---:|${hasBase ? "---:|" : ""}---:|`,
      );
      console.log(cpuRows.join("\n"));
    }
    const memRows = memTable.filter((m) => m.scenario !== "empty");
    if (memRows.length > 0) {
      const kinds = KINDS;
      const head = kinds.map((k) => `${k} RSS peak / load / idle`).join(" | ");
      console.log(
        `\n| server memory (MiB; idle = ${SETTLE_MS / 1000} s after the load) | ${head} | ` +
          `ours idle V8 heap used / total (MB) | idle RSS ratio | target |`,
      );
      console.log(`|---|${kinds.map(() => "---:").join("|")}|---:|---:|---|`);
      for (const m of memRows) {
        const cell = (r: { peak: number; load: number; idle: number }) =>
          Number.isFinite(r.peak) ? `${mib(r.peak)} / ${mib(r.load)} / ${mib(r.idle)}` : "-";
        const byKind = { "ours": m.ours, "base": m.base, "nats-server": m.ref };
        const ratio = m.ours.idle / m.ref.idle;
        const target = IDLE_RSS_TARGET[m.scenario];
        const met = target === undefined || !Number.isFinite(ratio)
          ? ""
          : ratio <= target
          ? " ✓"
          : " ✗";
        const heap = Number.isFinite(m.ours.heapIdle)
          ? `${mb(m.ours.heapIdle)} / ${mb(m.ours.heapTotal)}`
          : "-";
        console.log(
          `| ${ROWS[m.scenario][0].label} | ${kinds.map((k) => cell(byKind[k])).join(" | ")} | ` +
            `${heap} | ${Number.isFinite(ratio) ? ratio.toFixed(2) + "x" : "-"} | ${
              target === undefined ? "" : `<= ${target.toFixed(1)}x${met}`
            } |`,
        );
      }
    }
    console.log(`\nmachine: ${machine}; ${elapsed.toFixed(0)} s total`);
    if (errors.length > 0) console.log(`\nerrors:\n${errors.map((e) => `- ${e}`).join("\n")}`);
  }
  cleanup();
  Deno.exit(errors.length > 0 ? 1 : 0);
}

try {
  await main();
} catch (e) {
  cleanup();
  console.error(`bench: ${(e as Error).stack ?? e}`);
  Deno.exit(1);
}
