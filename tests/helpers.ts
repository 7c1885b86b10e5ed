/**
 * Test helpers: in-process servers on random loopback ports, a raw protocol client that reads
 * exact bytes with condition waits (never sleep-and-hope), and a capturing logger.
 */

import {
  defaultOptions,
  mergeOptions,
  type Options,
  type PartialOptions,
  type User,
} from "../src/options.ts";
import { type Logger, Server } from "../src/server.ts";
import { freePort } from "./process_helpers.ts";

export class MemoryLogger implements Logger {
  lines: string[] = [];
  debugEnabled = false;
  traceEnabled = false;
  notice(m: string) {
    this.lines.push(`[INF] ${m}`);
  }
  warn(m: string) {
    this.lines.push(`[WRN] ${m}`);
  }
  error(m: string) {
    this.lines.push(`[ERR] ${m}`);
  }
  fatal(m: string) {
    this.lines.push(`[FTL] ${m}`);
  }
  debug(m: string) {
    if (this.debugEnabled) this.lines.push(`[DBG] ${m}`);
  }
  trace(m: string) {
    if (this.traceEnabled) this.lines.push(`[TRC] ${m}`);
  }
}

export interface TestServer {
  /** Null when the test runs against a real nats-server (REFERENCE=nats-server). */
  server: Server | null;
  port: number;
  log: MemoryLogger;
  opts: Options;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * With REFERENCE=nats-server, protocol tests run against the real nats-server instead, so the
 * expected bytes in them are checked against the reference, not just against our own server.
 */
export const REFERENCE = Deno.env.get("REFERENCE") === "nats-server";

/** Options the reference run can express in a nats-server config file. */
const REF_KEYS: Record<string, (v: unknown) => string> = {
  maxPayload: (v) => `max_payload: ${v}`,
  maxControlLine: (v) => `max_control_line: ${v}`,
  maxConn: (v) => `max_connections: ${v}`,
  maxPending: (v) => `max_pending: ${v}`,
  maxSubs: (v) => `max_subscriptions: ${v}`,
  pingIntervalMs: (v) => `ping_interval: "${v}ms"`,
  maxPingsOut: (v) => `ping_max: ${v}`,
  writeDeadlineMs: (v) => `write_deadline: "${v}ms"`,
  username: (v) => `authorization { user: ${JSON.stringify(v)} }`,
  password: (v) => `authorization { password: ${JSON.stringify(v)} }`,
  authorization: (v) => `authorization { token: ${JSON.stringify(v)} }`,
  authTimeout: (v) => `authorization { timeout: ${v} }`,
  noAuthUser: (v) => `no_auth_user: ${JSON.stringify(v)}`,
  users: (v) => `authorization { users: ${JSON.stringify(usersForConf(v as User[]))} }`,
};

/** Users as a nats-server config block (JSON is valid config syntax). */
function usersForConf(users: User[]): unknown[] {
  return users.map((u) => ({
    ...(u.nkey ? { nkey: u.nkey } : { user: u.username, password: u.password }),
    ...(u.permissions
      ? {
        permissions: {
          publish: u.permissions.publish,
          subscribe: u.permissions.subscribe,
          ...(u.permissions.response
            ? {
              allow_responses: {
                max: u.permissions.response.maxMsgs,
                expires: `${u.permissions.response.expiresMs}ms`,
              },
            }
            : {}),
        },
      }
      : {}),
  }));
}

async function startReference(layer: PartialOptions): Promise<TestServer> {
  const port = freePort();
  const lines = [`listen: "127.0.0.1:${port}"`];
  const auth: string[] = [];
  for (const [k, v] of Object.entries(layer)) {
    const f = REF_KEYS[k];
    if (!f) throw new Error(`reference run cannot express option ${k}`);
    const line = f(v);
    // Several authorization fields share one block in the file.
    const m = line.match(/^authorization \{ (.*) \}$/);
    if (m) auth.push(m[1]);
    else lines.push(line);
  }
  if (auth.length > 0) lines.push(`authorization { ${auth.join("\n")} }`);
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(conf, lines.join("\n") + "\n");
  const child = new Deno.Command("nats-server", {
    args: ["-c", conf],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitListening(port, "nats-server to listen");
  return {
    server: null,
    port,
    log: new MemoryLogger(),
    opts: mergeOptions(defaultOptions(), layer),
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(conf);
    },
  };
}

/** Starts a server on 127.0.0.1 and a random port; `await using` stops it. */
export async function startServer(
  layer: PartialOptions = {},
  logFlags: { debug?: boolean; trace?: boolean } = {},
): Promise<TestServer> {
  if (REFERENCE) return await startReference(layer);
  const opts = mergeOptions(defaultOptions(), { host: "127.0.0.1", port: -1, ...layer });
  const log = new MemoryLogger();
  log.debugEnabled = logFlags.debug ?? false;
  log.traceEnabled = logFlags.trace ?? false;
  const server = await Server.create(opts, log);
  await server.start();
  return {
    server,
    port: server.port,
    log,
    opts,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolves when `cond()` is true, polling; rejects with `what` after `ms`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 5000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export function waitListening(port: number, what: string): Promise<void> {
  return waitFor(async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  }, what);
}

/** A raw protocol connection that accumulates everything the server sends. */
export class RawClient {
  conn: Deno.TcpConn;
  received = new Uint8Array(0);
  eof = false;
  #reading: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.#reading = this.#readLoop();
  }

  static async connect(port: number): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    return new RawClient(conn);
  }

  /** Connects and consumes the INFO line; returns the parsed INFO. */
  static async connectInfo(port: number): Promise<[RawClient, Record<string, unknown>]> {
    const c = await RawClient.connect(port);
    await c.waitText((t) => t.includes("\r\n"), "INFO");
    const line = c.text.slice(0, c.text.indexOf("\r\n"));
    c.clear();
    return [c, JSON.parse(line.slice(5))];
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        const next = new Uint8Array(this.received.length + n);
        next.set(this.received);
        next.set(buf.subarray(0, n), this.received.length);
        this.received = next;
      }
    } catch {
      // reset by peer counts as end of stream
    }
    this.eof = true;
  }

  get text(): string {
    return dec.decode(this.received);
  }

  clear(): void {
    this.received = new Uint8Array(0);
  }

  async send(data: string | Uint8Array): Promise<void> {
    const b = typeof data === "string" ? enc.encode(data) : data;
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }

  waitText(cond: (text: string) => boolean, what: string, ms = 5000): Promise<void> {
    return waitFor(() => cond(this.text), `${what}; got ${JSON.stringify(this.text)}`, ms);
  }

  /** Waits until exactly `expected` has been received (fails early on a mismatch). */
  async expect(expected: string, ms = 5000): Promise<void> {
    await waitFor(
      () => this.text.length >= expected.length || (this.eof && this.text !== expected),
      `${JSON.stringify(expected)}; got ${JSON.stringify(this.text)}`,
      ms,
    );
    if (this.text !== expected) {
      throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(this.text)}`);
    }
    this.clear();
  }

  /** Sends PING and waits for everything up to the PONG: a round trip proves ordering. */
  async roundTrip(ms = 5000): Promise<string> {
    await this.send("PING\r\n");
    await this.waitText((t) => t.endsWith("PONG\r\n"), "PONG", ms);
    const t = this.text.slice(0, -6);
    this.clear();
    return t;
  }

  waitClosed(ms = 5000): Promise<void> {
    return waitFor(() => this.eof, `connection close; got ${JSON.stringify(this.text)}`, ms);
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#reading;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Subscriptions in the global account other than the three imports every account gets from the
 * system account (`$SYS.REQ...`, held locally and, in a cluster, as remote interest too).
 */
export function appSubs(server: Server): number {
  return server.globalAccount.sublist.all().filter((s) => !s.subject.startsWith("$SYS.")).length;
}

/** Whether the reference nats-server is installed (interop tests are skipped without it). */
export const HAVE_NATS_SERVER = await new Deno.Command("nats-server", { args: ["-v"] })
  .output()
  .then((o) => o.success, () => false);

/**
 * Key paths of a JSON value in order ("a", "a.b", "list[].c"), to compare monitoring shapes with
 * nats-server's. Skipped: the data-keyed children of http_req_stats, and `release`, the one field
 * /varz has that nats-server's does not (this server's own version).
 */
export function jsonShape(v: unknown, prefix = ""): string[] {
  if (Array.isArray(v)) {
    // Elements differ by optional fields (and nats-server's order is a Go map's): take the fullest.
    let best: string[] = [];
    for (const x of v) {
      const s = jsonShape(x, prefix + "[]");
      if (s.length > best.length) best = s;
    }
    return best;
  }
  if (v === null || typeof v !== "object") return [];
  const out: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (k === "release") continue;
    out.push(prefix + k);
    if (k === "http_req_stats") continue;
    out.push(...jsonShape(x, prefix + k + "."));
  }
  return out;
}
