/**
 * The bench side of a load generator (worker.ts): an agent in a Web Worker or a child process,
 * spoken to with JSON messages, so that publishers and subscribers do not queue behind each
 * other or behind the bench.
 */

import { cpuSeconds, machineJiffies, othersBetween } from "./procfs.ts";
import { wallMs } from "./raw.ts";
import { reap, timeout, track } from "./children.ts";

// deno-lint-ignore no-explicit-any
export type Msg = Record<string, any>;

/** Where agents run: Web Workers (threads of the bench process) or child processes. */
export type AgentMode = "worker" | "process";

const WORKER_URL = new URL("./worker.ts", import.meta.url);
const ROOT = new URL("../..", import.meta.url).pathname;

/** A load generator in a Worker or a child process, spoken to with JSON messages. */
export class Agent {
  #inbox: Msg[] = [];
  #waiters: ((m: Msg) => void)[] = [];
  #worker?: Worker;
  #child?: Deno.ChildProcess;
  #stdin?: WritableStreamDefaultWriter<Uint8Array>;
  pid: number | "self" = "self";

  constructor(mode: AgentMode) {
    if (mode === "worker") {
      this.#worker = new Worker(WORKER_URL, { type: "module" });
      this.#worker.onmessage = (e) => this.#deliver(e.data);
      this.#worker.onerror = (e) => {
        e.preventDefault();
        this.#deliver({ ev: "error", message: e.message });
      };
    } else {
      const child = track(
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", WORKER_URL.pathname, "--child"],
          cwd: ROOT,
          stdin: "piped",
          stdout: "piped",
          stderr: "inherit",
        }).spawn(),
      );
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

/** Runs `f` with `n` fresh agents, closing them afterwards. */
export async function withAgents<T>(
  mode: AgentMode,
  n: number,
  f: (a: Agent[]) => Promise<T>,
): Promise<T> {
  const agents = Array.from({ length: n }, () => new Agent(mode));
  try {
    return await f(agents);
  } finally {
    await Promise.all(agents.map((a) => a.close()));
  }
}

/** CPU seconds the agents have used (Workers: the whole bench process). */
export function clientCpu(mode: AgentMode, agents: Agent[]): number {
  if (mode === "worker") return cpuSeconds("self");
  return agents.reduce((s, a) => s + cpuSeconds(a.pid), 0);
}

/** What one timed agent run used, beside the agent's "done" message. */
export interface TimedRun {
  /** The agent's {ev:"done", ...} message. */
  done: Msg;
  /** Seconds from "go" to "done". */
  wall: number;
  /** CPU seconds the server used meanwhile. */
  serverCpu: number;
  /** CPU seconds the agent used meanwhile (Workers: the bench process). */
  clientCpu: number;
  /** Cores the rest of the machine used meanwhile. */
  others: number;
}

/**
 * The common shape of a one-agent scenario: send `cmd`, wait for "ready" (setup, untimed), send
 * "go" and time until "done", reading the server's and the agent's CPU around it.
 */
export async function timedRun(
  mode: AgentMode,
  serverPid: number,
  cmd: Msg,
  waits: { readyMs: number; doneMs: number },
): Promise<TimedRun> {
  return await withAgents(mode, 1, async ([a]) => {
    a.send(cmd);
    await a.expect("ready", waits.readyMs);
    const cpu0 = cpuSeconds(serverPid);
    const client0 = clientCpu(mode, [a]);
    const j0 = machineJiffies();
    const w0 = wallMs();
    a.send({ cmd: "go" });
    const done = await a.expect("done", waits.doneMs);
    const wall = (wallMs() - w0) / 1000;
    const j1 = machineJiffies();
    const serverCpu = cpuSeconds(serverPid) - cpu0;
    const clientUsed = clientCpu(mode, [a]) - client0;
    const others = othersBetween(j0, j1, (serverCpu + clientUsed) / wall);
    return { done, wall, serverCpu, clientCpu: clientUsed, others };
  });
}
