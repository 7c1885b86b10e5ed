/**
 * Side-by-side runs for parity tests: the same configuration file given to our server and, when
 * it is installed, to nats-server, each as a subprocess with its log collected, and raw-socket
 * exchanges whose bytes the tests compare with the literal nats-server answer.
 */

import { HAVE_NATS_SERVER, RawClient, waitFor } from "./helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";

export interface Running {
  port: number;
  proc: ServerProcess;
  /** The configuration file both servers were given. */
  confPath: string;
  /** Whether this is nats-server itself. */
  reference: boolean;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a server (ours, or nats-server with `reference`) from `conf` plus a listen line on a free
 * loopback port; resolves once it logged "Server is ready".
 */
export async function serve(
  conf: string,
  reference: boolean,
  args: string[] = [],
): Promise<Running> {
  const port = freePort();
  const confPath = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(confPath, `listen: "127.0.0.1:${port}"\n${conf}\n`);
  const proc = new ServerProcess(["-c", confPath, ...args], port, {}, reference);
  const dispose = async () => {
    await proc[Symbol.asyncDispose]();
    await Deno.remove(confPath).catch(() => {});
  };
  try {
    await proc.waitStderr(/Server is ready/);
  } catch (e) {
    await dispose();
    throw e;
  }
  return { port, proc, confPath, reference, [Symbol.asyncDispose]: dispose };
}

/** Ours always; nats-server too when installed. Dispose of each. */
export async function serveBoth(conf: string, args: string[] = []): Promise<Running[]> {
  const both = [serve(conf, false, args)];
  if (HAVE_NATS_SERVER) both.push(serve(conf, true, args));
  return await Promise.all(both);
}

export function who(r: Running): string {
  return r.reference ? "nats-server" : "ours";
}

/**
 * Connects, reads the INFO, sends `data`, and returns what came back once the server answered a
 * final PING (PONG) or closed the connection (then "<EOF>" is appended).
 */
export async function exchange(port: number, data: string | Uint8Array): Promise<string> {
  const [c] = await RawClient.connectInfo(port);
  try {
    await c.send(data);
    await c.waitText((t) => c.eof || t.endsWith("PONG\r\n"), "PONG or close");
    return c.text + (c.eof ? "<EOF>" : "");
  } finally {
    await c.close();
  }
}

/** Log lines of a server without the timestamp and the connection's address prefix. */
export function logLines(r: Running): string[] {
  return r.proc.stderr.split("\n").map((l) =>
    l.replace(/^\[\d+\] [\d/]+ [\d:.]+ /, "").replace(
      /\d+\.\d+\.\d+\.\d+:\d+ - (cid|rid):\d+ - /,
      "",
    )
  );
}

/** Waits until the server logged a line equal to `line` (as logLines shows it). */
export async function waitLog(r: Running, line: string, ms = 5000): Promise<void> {
  await waitFor(
    () => logLines(r).includes(line),
    `${who(r)} to log ${JSON.stringify(line)}; got:\n${logLines(r).slice(-10).join("\n")}`,
    ms,
  );
}
