/**
 * The real command line as a subprocess: log format and destinations, debug and trace flags, pid
 * and ports files, signals, usage, version and errors. With REFERENCE=nats-server the same tests
 * run the real nats-server binary, which is what the expectations were checked against.
 */

import assert from "node:assert/strict";
import { RawClient, REFERENCE, waitFor } from "./helpers.ts";
import { runMain, spawnServer } from "./process_helpers.ts";
import { RELEASE_VERSION } from "../src/version.ts";

/** `[pid] YYYY/MM/DD HH:MM:SS.micro [LVL] msg`, Go's log.LstdFlags|Lmicroseconds after a pid. */
function logLine(pid: number, level: string, msg: string): RegExp {
  const esc = msg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `^\\[${pid}\\] \\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6} \\[${level}\\] ${esc}$`,
    "m",
  );
}

/** Connects, publishes `PUB foo 2` and waits for the round trip. */
async function publishFoo(port: number): Promise<void> {
  const [c] = await RawClient.connectInfo(port);
  await using _c = c;
  await c.send('CONNECT {"verbose":false}\r\nPUB foo 2\r\nhi\r\n');
  assert.equal(await c.roundTrip(), "");
}

Deno.test("startup lines, -DV tracing and SIGINT shutdown, on stderr in nats-server's format", async () => {
  await using p = await spawnServer(["-DV"]);
  const pid = p.child.pid;
  assert.match(p.stderr, logLine(pid, "INF", "Starting nats-server"));
  assert.match(p.stderr, logLine(pid, "INF", "  Version:  2.9.10"));
  if (!REFERENCE) {
    const release = `  Release:  nats-server-deno ${RELEASE_VERSION} (deno ${Deno.version.deno})`;
    assert.match(p.stderr, logLine(pid, "INF", release));
  }
  assert.match(
    p.stderr,
    logLine(pid, "INF", `Listening for client connections on 127.0.0.1:${p.port}`),
  );
  assert.match(p.stderr, logLine(pid, "INF", "Server is ready"));
  const lines = p.stderr.trim().split("\n");
  assert.match(lines[0], logLine(pid, "INF", "Starting nats-server"));
  await publishFoo(p.port);
  const trace = /^\[\d+\] [\d/]+ [\d:.]+ \[TRC\] 127\.0\.0\.1:\d+ - cid:\d+ - <<- \[PUB foo 2\]$/m;
  await p.waitStderr(trace);
  assert.match(p.stderr, /\[TRC\] 127\.0\.0\.1:\d+ - cid:\d+ - <<- MSG_PAYLOAD: \["hi"\]$/m);
  assert.match(p.stderr, /\[DBG\] 127\.0\.0\.1:\d+ - cid:\d+ - Client connection created$/m);
  assert.equal(p.stdout, "");
  p.signal("SIGINT");
  const st = await p.waitExit();
  assert.equal(st.code, 0);
  assert.match(p.stderr, logLine(pid, "DBG", 'Trapped "interrupt" signal'));
  assert.match(p.stderr, logLine(pid, "INF", "Initiating Shutdown..."));
  assert.match(p.stderr, logLine(pid, "INF", "Server Exiting.."));
});

Deno.test("-T=false drops timestamps; -D debugs without tracing; -V traces without debug", async () => {
  const [noTime, debug, trace] = await Promise.all([
    spawnServer(["-T=false"]),
    spawnServer(["-D"]),
    spawnServer(["-V"]),
  ]);
  await using _n = noTime;
  await using _d = debug;
  await using _t = trace;
  const pid = noTime.child.pid;
  assert.match(noTime.stderr, new RegExp(`^\\[${pid}\\] \\[INF\\] Starting nats-server$`, "m"));
  assert.match(noTime.stderr, new RegExp(`^\\[${pid}\\] \\[INF\\] Server is ready$`, "m"));
  assert.doesNotMatch(noTime.stderr, /\d\d:\d\d:\d\d/);
  await Promise.all([debug.port, trace.port].map(publishFoo));
  await debug.waitStderr(/\[DBG\] .* - Client connection created$/m);
  await trace.waitStderr(/\[TRC\] .* - <<- \[PUB foo 2\]$/m);
  // Give the debug-only server time to have traced, had it been going to.
  await trace.waitStderr(/\[TRC\] .* - <<- MSG_PAYLOAD: \["hi"\]$/m);
  await new Promise((r) => setTimeout(r, 100));
  assert.doesNotMatch(debug.stderr, /\[TRC\]/);
  assert.doesNotMatch(trace.stderr, /\[DBG\]/);
});

Deno.test("-l logs to a file, -P writes the pid, --ports_file_dir the ports; USR1 and TERM", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = `${dir}/nats.log`;
    const pidFile = `${dir}/nats.pid`;
    await using p = await spawnServer(["-l", log, "-P", pidFile, "--ports_file_dir", dir]);
    const pid = p.child.pid;
    const portsFile = `${dir}/nats-server_${pid}.ports`;
    await waitFor(async () => {
      try {
        return (await Deno.readTextFile(log)).includes("Server is ready") &&
          (await Deno.readTextFile(pidFile)) !== "" &&
          (await Deno.readTextFile(portsFile)) !== "";
      } catch {
        return false;
      }
    }, "log, pid and ports files");
    const text = await Deno.readTextFile(log);
    assert.match(text, logLine(pid, "INF", "Starting nats-server"));
    assert.match(
      text,
      logLine(pid, "INF", `Listening for client connections on 127.0.0.1:${p.port}`),
    );
    assert.doesNotMatch(p.stderr, /\[INF\]/, "with -l nothing is logged to stderr");
    assert.equal(await Deno.readTextFile(pidFile), `${pid}`);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(portsFile)), {
      nats: [`nats://127.0.0.1:${p.port}`],
    });
    // Log rotation: move the file away, SIGUSR1, and a new file is opened at the same path.
    await Deno.rename(log, `${log}.1`);
    p.signal("SIGUSR1");
    await waitFor(async () => {
      try {
        return (await Deno.readTextFile(log)).includes("File log re-opened");
      } catch {
        return false;
      }
    }, "a new log file");
    assert.match(await Deno.readTextFile(log), logLine(pid, "INF", "File log re-opened"));
    assert.doesNotMatch(await Deno.readTextFile(`${log}.1`), /re-opened/);
    p.signal("SIGTERM");
    const st = await p.waitExit();
    // nats-server 2.9.10 exits 1 on SIGTERM (0 on SIGINT); it removes the ports file.
    assert.equal(st.code, 1, "exit code after SIGTERM");
    await assert.rejects(() => Deno.stat(portsFile), Deno.errors.NotFound);
    const after = await Deno.readTextFile(log);
    assert.match(after, logLine(pid, "INF", "Initiating Shutdown..."));
    assert.match(after, logLine(pid, "INF", "Server Exiting.."));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-h prints the usage on stdout and exits 0", async () => {
  const r = await runMain(["-h"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\nUsage: nats-server \[options\]\n/);
  for (
    const flag of ["-a, --addr", "-p, --port", "-c, --config", "-l, --log", "-DV", "--help_tls"]
  ) {
    assert.ok(r.stdout.includes(flag), flag);
  }
});

Deno.test("-v prints nats-server's version line, then this server's release", async () => {
  const r = await runMain(["-v"]);
  assert.equal(r.code, 0);
  const ours = `nats-server-deno: v${RELEASE_VERSION} (deno ${Deno.version.deno})\n`;
  assert.equal(r.stdout, "nats-server: v2.9.10\n" + (REFERENCE ? "" : ours));
});

Deno.test("an unknown flag prints the error and the usage, and exits non-zero", async () => {
  const r = await runMain(["--no_such_flag"]);
  assert.equal(r.stderr, "flag provided but not defined: -no_such_flag\n");
  assert.match(r.stdout, /Usage: nats-server \[options\]/);
  // nats-server 2.9.10 itself exits 0 here (its usage function exits before Go's flag package
  // can); we exit 2 as Go programs using flag.ExitOnError do.
  if (!REFERENCE) assert.notEqual(r.code, 0);
});

Deno.test("-c with a missing file fails with exit code 1", async () => {
  const r = await runMain(["-c", "/nonexistent/nats.conf"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "nats-server: open /nonexistent/nats.conf: no such file or directory\n");
});

Deno.test("a config with max_payload above max_pending is refused", async () => {
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  try {
    await Deno.writeTextFile(conf, "max_pending: 65536\n");
    const r = await runMain(["-c", conf, "-a", "127.0.0.1", "-p", "-1"], 3000);
    assert.ok(!r.timedOut, `the server started instead of refusing: ${r.stderr}`);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "nats-server: max_payload (1048576) cannot be higher than max_pending (65536)\n",
    );
  } finally {
    await Deno.remove(conf);
  }
});
