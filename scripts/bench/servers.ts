/**
 * The servers the bench measures: ours (main.ts of a checkout, with the flags of its
 * `deno task start`), a second checkout of ours ("base", for an A/B in one run) and the reference
 * nats-server, each started fresh on free ports with the configuration a scenario needs.
 */

import { reap, timeout, track } from "./children.ts";

export type ServerKind = "ours" | "base" | "nats-server";

/** The test certificates (configs/certs) the TLS scenarios use. */
export const CERTS = new URL("../../configs/certs/", import.meta.url).pathname;

export interface RunningServer {
  kind: ServerKind;
  port: number;
  /** The websocket listener (every server gets one, no TLS, for the wspubsub scenario). */
  wsPort: number;
  pid: number;
  /** The V8 inspector's port (our server, real-world scenarios), else 0. */
  inspectPort: number;
  tail: () => string;
  stop(): Promise<void>;
}

export interface ServerSetup {
  /** TLS on the client port (configs/certs/server-*.pem). */
  tls?: boolean;
  /** No configuration file at all (the empty scenario). */
  bare?: boolean;
  /** Our server with the V8 inspector on, to read its heap. */
  inspect?: boolean;
  /**
   * JetStream on, with a fresh store directory in the OS temp dir (one filesystem for every
   * server) and each server's default sync policy; removed when the server stops.
   */
  jetstream?: boolean;
}

/** Where each of our servers runs from, and how. */
export interface OurServers {
  /** The checkout whose main.ts is "ours". */
  oursDir: string;
  /** The checkout whose main.ts is "base" (--base-dir). */
  baseDir?: string;
  /** Run our servers with --cpu-prof, writing into this directory. */
  cpuProfDir?: string;
}

/** True when nats-server is on PATH. */
export function hasNatsServer(): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/nats-server`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/**
 * The `deno run` flags a checkout starts its server with: those of its `deno task start`
 * (V8 heap flags among them), so the bench measures the server as it ships.
 */
export function runFlagsOf(dir: string): string[] {
  try {
    const cfg = JSON.parse(Deno.readTextFileSync(`${dir}/deno.json`));
    const words = String(cfg.tasks?.start ?? "").split(/\s+/);
    const run = words.indexOf("run");
    const main = words.indexOf("main.ts");
    if (run >= 0 && main > run) return words.slice(run + 1, main);
  } catch { /* no deno.json: the defaults */ }
  return ["-A"];
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts a server and waits until it logs "Server is ready". */
export async function startServer(
  kind: ServerKind,
  ours: OurServers,
  setup: ServerSetup = {},
): Promise<RunningServer> {
  const port = freePort();
  const wsPort = freePort();
  const inspectPort = setup.inspect && kind !== "nats-server" ? freePort() : 0;
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  const storeDir = setup.jetstream ? await Deno.makeTempDir({ prefix: `bench-js-${kind}-` }) : "";
  await Deno.writeTextFile(
    conf,
    `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n` +
      (setup.tls
        ? `tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem", ` +
          `timeout: 5 }\n`
        : "") +
      (storeDir ? `jetstream { store_dir: ${JSON.stringify(storeDir)} }\n` : ""),
  );
  const confArgs = setup.bare ? [] : ["-c", conf];
  const dir = kind === "base" ? ours.baseDir! : ours.oursDir;
  const cmd = kind !== "nats-server"
    ? new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...(ours.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${ours.cpuProfDir}`] : []),
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
  const child = track(cmd.spawn());
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
  exited.catch(() => {});
  const cleanFiles = async () => {
    await Deno.remove(conf).catch(() => {});
    if (storeDir !== "") await Deno.remove(storeDir, { recursive: true }).catch(() => {});
  };
  try {
    await Promise.race([readyP, exited, timeout(30_000, `${kind} did not get ready`)]);
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await reap(child, 3000);
    await cleanFiles();
    throw e;
  }
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
      await cleanFiles();
    },
  };
}
