/**
 * Helpers for tests that run the real command line (`deno run -A main.ts ...`, or nats-server
 * itself with REFERENCE=nats-server) as a subprocess: a free loopback port, a child whose stdout
 * and stderr are collected as they arrive, and waits on what it printed. The child is always
 * killed when the handle is disposed.
 */

import { REFERENCE, waitFor } from "./helpers.ts";

/** The repository root, so `main.ts` resolves whatever directory the tests run from. */
export const ROOT = new URL("..", import.meta.url).pathname;

const dec = new TextDecoder();

/** Our command line, or (`reference`) the real nats-server binary with the same arguments. */
function command(args: string[], reference: boolean): [string, string[]] {
  return reference ? ["nats-server", args] : [Deno.execPath(), ["run", "-A", "main.ts", ...args]];
}

/** Ports already handed out by this test process (see freePort). */
const handedOut = new Set<number>();

/**
 * A loopback port nothing listens on now, never one this process handed out before: the kernel
 * may give a port it just closed again, and two ports asked for one server's listeners (client
 * and leafnode, say) must differ.
 */
export function freePort(): number {
  for (;;) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export class ServerProcess {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  stdout = "";
  stderr = "";
  #pumps: Promise<void>[];
  #status: Deno.CommandStatus | null = null;
  readonly status: Promise<Deno.CommandStatus>;

  /** `reference`: run nats-server itself instead of main.ts (spawnServer sets it from REFERENCE). */
  constructor(args: string[], port: number, env: Record<string, string> = {}, reference = false) {
    this.port = port;
    const [cmd, argv] = command(args, reference);
    this.child = new Deno.Command(cmd, {
      args: argv,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    this.#pumps = [
      this.#pump(this.child.stdout, (t) => (this.stdout += t)),
      this.#pump(this.child.stderr, (t) => (this.stderr += t)),
    ];
    this.status = this.child.status.then((s) => (this.#status = s));
  }

  async #pump(stream: ReadableStream<Uint8Array>, add: (t: string) => void): Promise<void> {
    const d = new TextDecoder();
    for await (const chunk of stream) add(d.decode(chunk, { stream: true }));
  }

  /** The exit status once the process has exited, else null. */
  get exited(): Deno.CommandStatus | null {
    return this.#status;
  }

  /** Waits until the process printed something matching `re` on stderr. */
  waitStderr(re: RegExp, ms = 10000): Promise<void> {
    return waitFor(
      () => re.test(this.stderr) || this.#status !== null,
      `${re} on stderr; got ${JSON.stringify(this.stderr)}`,
      ms,
    ).then(() => {
      if (!re.test(this.stderr)) {
        throw new Error(`process exited (${this.#status?.code}) before ${re}: ${this.stderr}`);
      }
    });
  }

  signal(sig: Deno.Signal): void {
    try {
      this.child.kill(sig);
    } catch {
      // already exited
    }
  }

  /** Waits for the exit (after a signal, say); fails after `ms`. */
  async waitExit(ms = 10000): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const st = await Promise.race([
        this.status,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new Error(`no exit within ${ms} ms: ${this.stderr}`)), ms);
        }),
      ]);
      await Promise.all(this.#pumps);
      return st;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#status === null) this.signal("SIGKILL");
    await this.status;
    await Promise.all(this.#pumps);
  }
}

/**
 * Runs `deno run -A main.ts args` (or nats-server) to completion (for -h, -v, bad flags) and
 * returns its output. A process still running after `ms` is killed and reported as `timedOut`.
 */
export async function runMain(
  args: string[],
  ms = 10000,
): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  const [cmd, argv] = command(args, REFERENCE);
  const child = new Deno.Command(cmd, {
    args: argv,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, ms);
  try {
    const out = await child.output();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Starts `main.ts -a 127.0.0.1 -p <free port> ...args` and waits for "Server is ready". */
export async function spawnServer(args: string[] = []): Promise<ServerProcess> {
  const port = freePort();
  const p = new ServerProcess(["-a", "127.0.0.1", "-p", `${port}`, ...args], port, {}, REFERENCE);
  try {
    if (!args.includes("-l") && !args.includes("--log")) await p.waitStderr(/Server is ready/);
    else {
      await waitFor(
        async () => {
          try {
            (await Deno.connect({ hostname: "127.0.0.1", port })).close();
            return true;
          } catch {
            return p.exited !== null;
          }
        },
        "server to listen",
        10000,
      );
    }
  } catch (e) {
    await p[Symbol.asyncDispose]();
    throw e;
  }
  return p;
}
