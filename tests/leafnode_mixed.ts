/**
 * Servers of either kind for the leafnode tests that mix ours with nats-server 2.9.10: started
 * from config text (client port and a fresh store directory filled in), with their log.
 */

import { MemoryLogger, waitFor } from "./helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";
import { parseConfigString } from "../src/config.ts";
import { defaultOptions, mergeOptions } from "../src/options.ts";
import { Server } from "../src/server.ts";

export type Kind = "ours" | "nats-server";

/** A server of either kind started from config text; `lines()` is its log so far. */
export interface Node {
  kind: Kind;
  port: number;
  server: Server | null;
  lines(): string[];
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts `kind` with `conf` (client port, store directory and a quiet log filled in). */
export async function start(kind: Kind, conf: string): Promise<Node> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "leafjs_" });
  const text = `listen: "127.0.0.1:${port}"\n${conf.replaceAll("STORE", dir)}\n`;
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  if (kind === "ours") {
    const log = new MemoryLogger();
    log.debugEnabled = true;
    const opts = mergeOptions(defaultOptions(), parseConfigString(text));
    const server = await Server.create(opts, log);
    await server.start();
    return {
      kind,
      port: server.port,
      server,
      lines: () => log.lines,
      async [Symbol.asyncDispose]() {
        await server.shutdown();
        await cleanup();
      },
    };
  }
  const file = `${dir}/server.conf`;
  await Deno.writeTextFile(file, text);
  const p = new ServerProcess(["-D", "-c", file], port, {}, true);
  try {
    await p.waitStderr(/Server is ready/);
  } catch (e) {
    await p[Symbol.asyncDispose]();
    throw e;
  }
  return {
    kind,
    port,
    server: null,
    lines: () => p.stderr.split("\n").map((l) => l.replace(/^\[\d+\] [\d/]+ [\d:.]+ /, "")),
    async [Symbol.asyncDispose]() {
      await p[Symbol.asyncDispose]();
      await cleanup();
    },
  };
}

/** Waits until `node` logged a line matching `re`. */
export function logged(node: Node, re: RegExp): Promise<void> {
  return waitFor(() => node.lines().some((l) => re.test(l)), `${node.kind} to log ${re}`);
}
