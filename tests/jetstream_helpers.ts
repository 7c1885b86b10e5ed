/**
 * Helpers for the JetStream tests: our server with JetStream in-process (a fresh store
 * directory), the reference `nats-server -js` beside it with the same config, and a scripted
 * session that sends the same requests and publishes to both and records every answer with
 * what differs by nature (times, ids, server names) normalized, so the transcripts compare
 * byte for byte: JSON key order, escapes and error texts included.
 */

import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { defaultOptions, mergeOptions, type PartialOptions } from "../src/options.ts";
import { Server } from "../src/server.ts";
import { HAVE_NATS_SERVER, MemoryLogger, waitListening } from "./helpers.ts";
import { freePort } from "./process_helpers.ts";

export { HAVE_NATS_SERVER };

export interface JsServer {
  port: number;
  /** The store directory given to the server (JetStream adds `/jetstream`). */
  dir: string;
  server: Server | null;
  log: MemoryLogger;
  /** Stops the server; the store directory stays until dispose. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Our server with JetStream on 127.0.0.1 and a random port, in a new temporary directory. */
export async function startJs(
  layer: PartialOptions = {},
  dir?: string,
): Promise<JsServer> {
  dir ??= await Deno.makeTempDir({ prefix: "js_ours_" });
  const opts = mergeOptions(defaultOptions(), {
    host: "127.0.0.1",
    port: -1,
    jetstream: true,
    storeDir: dir,
    ...layer,
  });
  const log = new MemoryLogger();
  const server = await Server.create(opts, log);
  await server.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.shutdown();
  };
  return {
    port: server.port,
    dir,
    server,
    log,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir!, { recursive: true }).catch(() => {});
    },
  };
}

/** The reference nats-server with JetStream, configured by `conf` (nats config text). */
export async function startRefJs(
  conf = "",
  dir?: string,
  args: string[] = [],
): Promise<JsServer> {
  dir ??= await Deno.makeTempDir({ prefix: "js_ref_" });
  const port = freePort();
  const file = `${dir}.conf`;
  await Deno.writeTextFile(file, `listen: "127.0.0.1:${port}"\n${conf}\n`);
  const child = new Deno.Command("nats-server", {
    args: ["-c", file, "-js", "-sd", dir, ...args],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitListening(port, "nats-server -js to listen");
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    child.kill("SIGKILL");
    await child.status;
  };
  return {
    port,
    dir,
    server: null,
    log: new MemoryLogger(),
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir!, { recursive: true }).catch(() => {});
      await Deno.remove(file).catch(() => {});
    },
  };
}

const dec = new TextDecoder();

/** One step of a scripted session. */
export interface StepObject {
  /** Subject to send to. */
  subj: string;
  body?: string;
  hdrs?: Record<string, string>;
  /** Publish without waiting for an answer (no reply subject). */
  noReply?: boolean;
  /** Milliseconds to wait for an answer (default 2000). */
  timeout?: number;
}

/** A step: an object, or "subject body" as one string. */
export type Step = string | StepObject;

/**
 * Times, ids and names as placeholders: RFC 3339 times other than Go's zero time, nuids,
 * server ids and names; RTTs left out.
 */
export function normalize(text: string): string {
  return text
    .replace(
      /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g,
      (t) => t.startsWith("0001-01-01") ? t : "<time>",
    )
    .replace(/"id":"[0-9A-Za-z]{22}"/g, '"id":"<nuid>"')
    .replace(/N[A-Z2-7]{55}/g, "<server>")
    // The requester's RTT is known once its first PONG came back: a matter of timing.
    .replace(/"rtt":\d+,/g, "");
}

/** Runs the steps on a connection; one transcript line per step. */
export async function runSteps(nc: NatsConnection, steps: Step[]): Promise<string[]> {
  const out: string[] = [];
  for (const step of steps) {
    const s = typeof step === "string" ? parseStep(step) : step;
    const h = s.hdrs ? natsHeaders() : undefined;
    for (const [k, v] of Object.entries(s.hdrs ?? {})) h!.set(k, v);
    if (s.noReply) {
      nc.publish(s.subj, s.body ?? "", { headers: h });
      await nc.flush();
      out.push(`${s.subj} -> (published)`);
      continue;
    }
    try {
      const m = await nc.request(s.subj, s.body ?? "", { timeout: s.timeout ?? 2000, headers: h });
      let hdr = "";
      if (m.headers) {
        const pairs = [...m.headers.keys()].map((k) => `${k}=${m.headers!.get(k)}`);
        hdr = `[${m.headers.code} ${m.headers.description}${
          pairs.length ? " " + pairs.join(" ") : ""
        }] `;
      }
      out.push(normalize(`${s.subj} -> ${hdr}${dec.decode(m.data)}`));
    } catch (e) {
      out.push(`${s.subj} -> ERROR ${(e as Error).message}`);
    }
  }
  return out;
}

function parseStep(line: string): StepObject {
  const sp = line.indexOf(" ");
  return sp < 0 ? { subj: line } : { subj: line.slice(0, sp), body: line.slice(sp + 1) };
}

/** Connects to a server's port with the official client. */
export function connectTo(port: number): Promise<NatsConnection> {
  return connect({ servers: `127.0.0.1:${port}`, reconnect: false });
}

/**
 * Runs `steps` on our server and on nats-server (both with JetStream and the given config) and
 * returns both transcripts; without nats-server installed, `ref` is null.
 */
export async function sideBySide(
  steps: Step[],
  opts: { layer?: PartialOptions; conf?: string } = {},
): Promise<{ ours: string[]; ref: string[] | null }> {
  await using ours = await startJs(opts.layer ?? {});
  const nc = await connectTo(ours.port);
  const oursOut = await runSteps(nc, steps);
  await nc.close();
  if (!HAVE_NATS_SERVER) return { ours: oursOut, ref: null };
  await using ref = await startRefJs(opts.conf ?? "");
  const rc = await connectTo(ref.port);
  const refOut = await runSteps(rc, steps);
  await rc.close();
  return { ours: oursOut, ref: refOut };
}
