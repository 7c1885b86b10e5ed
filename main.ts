/**
 * The nats-server command: command line -> Options -> Server, then signals and exit codes as
 * nats-server has them (SIGINT/SIGTERM shut down, SIGUSR1 reopens the log file, SIGHUP reloads).
 */

import {
  applyFlags,
  FlagError,
  type FlagResult,
  parseFlags,
  SIGNALS,
  TLS_USAGE,
  USAGE,
  versionString,
} from "./src/flags.ts";
import { createLogger } from "./src/log.ts";
import { defaultOptions, mergeOptions, type Options } from "./src/options.ts";
import { Server } from "./src/server.ts";

/**
 * The ports file is named after the executable, as nats-server names it: the compiled binary's
 * own name, or "nats-server" when run as a script under `deno`.
 */
function executableName(): string {
  const base = Deno.execPath().split(/[\\/]/).pop()!.replace(/\.exe$/, "");
  return base === "deno" ? "nats-server" : base;
}

function die(msg: string, code = 1): never {
  console.error(`nats-server: ${msg}`);
  Deno.exit(code);
}

/**
 * Builds the options: defaults < config file < flags, as nats-server layers them. Config
 * warnings (deprecated forms, features this server ignores) go to `warnings`. The config file
 * parser (src/config.ts, src/conf/, and the JWT modules it needs for `operator`) is loaded only
 * when there is a file to read: a server run with flags alone does not pay its memory.
 */
export async function resolveOptions(
  flags: FlagResult,
  warnings: string[] = [],
): Promise<Options> {
  let opts = defaultOptions();
  if (flags.configFile !== "") {
    const { loadConfig } = await import("./src/config.ts");
    const loaded = loadConfig(flags.configFile);
    for (const w of loaded.warnings) warnings.push(w.message);
    opts = mergeOptions(opts, loaded.options);
    opts.configFile = flags.configFile;
  }
  return applyFlags(opts, flags);
}

async function sendSignal(command: string, pidArg: string): Promise<void> {
  const sig = SIGNALS[command];
  if (!sig) die(`unknown signal "${command}"`);
  let pidText = pidArg;
  if (pidArg === "") die("no pid given: use --signal " + command + "=<pid or pid file>");
  if (!/^\d+$/.test(pidArg)) {
    try {
      pidText = (await Deno.readTextFile(pidArg)).trim();
    } catch (e) {
      die(`could not read pid file ${pidArg}: ${(e as Error).message}`);
    }
  }
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) die(`invalid pid: ${JSON.stringify(pidText)}`);
  try {
    Deno.kill(pid, sig);
  } catch (e) {
    die(`signal failed: ${(e as Error).message}`);
  }
}

async function main(): Promise<void> {
  let flags: FlagResult;
  try {
    flags = parseFlags(Deno.args);
  } catch (e) {
    if (e instanceof FlagError) {
      if (e.usage) {
        console.error(e.message);
        console.log(USAGE);
        Deno.exit(e.exitCode);
      }
      die(e.message, e.exitCode);
    }
    throw e;
  }
  switch (flags.action.kind) {
    case "help":
      console.log(USAGE);
      return;
    case "version":
      console.log(versionString());
      return;
    case "help_tls":
      console.log(TLS_USAGE);
      return;
    case "signal":
      await sendSignal(flags.action.command, flags.action.pid);
      return;
  }

  let opts: Options;
  const warnings: string[] = [];
  try {
    opts = await resolveOptions(flags, warnings);
  } catch (e) {
    die((e as Error).message);
  }
  // Like nats-server: warnings are printed and the server starts, but `-t` fails on them.
  for (const w of warnings) console.error(w);
  if (flags.action.kind === "check_config") {
    if (warnings.length > 0) Deno.exit(1);
    console.error(`nats-server: configuration file ${opts.configFile} is valid`);
    return;
  }

  let logger = createLogger(opts);
  for (const w of flags.warnings) logger.warn(w);
  let server: Server;
  try {
    server = await Server.create(opts, logger);
  } catch (e) {
    await logger.close();
    die((e as Error).message);
  }
  // Signals are trapped before the server says it is ready, so a signal sent the moment the log
  // shows "Server is ready" is never the default action (which kills the process).
  let stopping = false;
  let portsFile = "";
  const stop = async (name: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    logger.debug(`Trapped "${name}" signal`);
    logger.notice("Initiating Shutdown...");
    await server.shutdown();
    for (const f of [opts.pidFile, portsFile]) {
      if (f !== "") await Deno.remove(f).catch(() => {});
    }
    await logger.close();
    Deno.exit(code);
  };
  if (!opts.noSigs) {
    Deno.addSignalListener("SIGINT", () => stop("interrupt"));
    // nats-server exits 1 after a SIGTERM shutdown and 0 after SIGINT.
    Deno.addSignalListener("SIGTERM", () => stop("terminated", 1));
    Deno.addSignalListener("SIGUSR1", () => logger.reopen());
    Deno.addSignalListener("SIGUSR2", async () => {
      await server.enterLameDuckMode();
      await stop("lame duck");
    });
    Deno.addSignalListener("SIGHUP", async () => {
      // A reload that fails leaves everything as it was, the logger included.
      let fresh: ReturnType<typeof createLogger> | null = null;
      try {
        const warnings: string[] = [];
        const next = await resolveOptions(flags, warnings);
        for (const w of warnings) logger.warn(w);
        fresh = createLogger(next);
        server.reload(next, fresh);
      } catch (e) {
        fresh?.close();
        logger.error(`Failed to reload server configuration: ${(e as Error).message}`);
        return;
      }
      const old = logger;
      logger = fresh;
      old.close();
    });
  }
  // The pid file exists before the listeners, as nats-server writes it early in its start.
  if (opts.pidFile !== "") await Deno.writeTextFile(opts.pidFile, `${Deno.pid}`);
  try {
    await server.start();
  } catch (e) {
    logger.fatal((e as Error).message);
    await logger.close();
    Deno.exit(1);
  }

  if (opts.portsFileDir !== "") {
    portsFile = `${opts.portsFileDir}/${executableName()}_${Deno.pid}.ports`;
    await Deno.writeTextFile(portsFile, JSON.stringify(server.portsInfo()));
  }
  await server.done();
}

if (import.meta.main) await main();
