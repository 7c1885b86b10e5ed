import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import {
  createLogger,
  type LogEnv,
  type Logger,
  logTimestamp,
  nowMicros,
  rfc3339,
  syslogMessage,
  syslogStamp,
} from "../src/log.ts";
import { defaultOptions, type Options } from "../src/options.ts";

/** Collects what a logger writes and counts the write calls. */
class Capture {
  chunks: Uint8Array[] = [];
  writeSync(p: Uint8Array): number {
    this.chunks.push(p.slice());
    return p.length;
  }
  get text(): string {
    return this.chunks.map((c) => new TextDecoder().decode(c)).join("");
  }
}

function logger(opts: Partial<Options> = {}, env: LogEnv = {}): [Logger, Capture] {
  const out = new Capture();
  return [createLogger({ ...defaultOptions(), ...opts }, { stderr: out, ...env }), out];
}

const TIME = String.raw`\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6}`;

Deno.test("a line is [pid] date time.micros [LBL] msg, as nats-server writes it", () => {
  const [log, out] = logger();
  log.notice("Starting nats-server");
  log.warn("w");
  log.error("e");
  log.fatal("f");
  log.flush();
  const pid = Deno.pid;
  assert.match(
    out.text,
    new RegExp(
      `^\\[${pid}\\] ${TIME} \\[INF\\] Starting nats-server\\n` +
        `\\[${pid}\\] ${TIME} \\[WRN\\] w\\n` +
        `\\[${pid}\\] ${TIME} \\[ERR\\] e\\n` +
        `\\[${pid}\\] ${TIME} \\[FTL\\] f\\n$`,
    ),
  );
});

Deno.test("the timestamp is local time with microseconds", () => {
  const micros = new Date(2026, 10, 24, 13, 21, 20, 379).getTime() * 1000 + 640;
  assert.equal(logTimestamp(micros), "2026/11/24 13:21:20.379640 ");
  const before = Date.now();
  const now = nowMicros();
  assert.ok(now >= before * 1000 && now < (Date.now() + 1) * 1000);
});

Deno.test("logtime=false drops the timestamp", () => {
  const [log, out] = logger({ logtime: false });
  log.notice("hello");
  log.flush();
  assert.equal(out.text, `[${Deno.pid}] [INF] hello\n`);
});

Deno.test("debug and trace lines only appear when enabled", () => {
  const [off, outOff] = logger({ logtime: false });
  assert.equal(off.debugEnabled, false);
  assert.equal(off.traceEnabled, false);
  off.debug("d");
  off.trace("t");
  off.flush();
  assert.equal(outOff.text, "");

  const [on, outOn] = logger({ logtime: false, debug: true, trace: true });
  assert.equal(on.debugEnabled && on.traceEnabled, true);
  on.debug("d");
  on.trace("t");
  on.flush();
  assert.equal(outOn.text, `[${Deno.pid}] [DBG] d\n[${Deno.pid}] [TRC] t\n`);
});

Deno.test("colored labels are nats-server's when stderr is a terminal", () => {
  const [log, out] = logger({ logtime: false }, { colors: true, pid: 7 });
  log.notice("i");
  log.warn("w");
  log.trace("not shown");
  log.flush();
  assert.equal(out.text, "[7] [\x1b[32mINF\x1b[0m] i\n[7] [\x1b[0;93mWRN\x1b[0m] w\n");
});

Deno.test("lines of one turn are written in one call, after the turn", async () => {
  const [log, out] = logger({ logtime: false }, { pid: 1 });
  log.notice("a");
  log.notice("b\n");
  assert.equal(out.chunks.length, 0);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(out.chunks.length, 1);
  assert.equal(out.text, "[1] [INF] a\n[1] [INF] b\n");
  await log.close();
});

Deno.test("noLog writes nothing", async () => {
  const [log, out] = logger({ noLog: true });
  log.notice("x");
  log.error("y");
  log.reopen();
  await log.close();
  assert.equal(out.text, "");
});

Deno.test("reopen on a stderr logger says it is not a file logger", () => {
  const [log, out] = logger({ logtime: false }, { pid: 1 });
  log.reopen();
  log.flush();
  assert.equal(out.text, "[1] [INF] File log re-open ignored, not a file logger\n");
});

Deno.test("file logging appends, and reopen after a rename starts a new file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/nats.log`;
  await Deno.writeTextFile(path, "old line\n");
  const [log, out] = logger({ logFile: path, logtime: false }, { pid: 3 });
  log.notice("one");
  log.flush();
  assert.equal(await Deno.readTextFile(path), "old line\n[3] [INF] one\n");
  await Deno.rename(path, `${path}.1`);
  log.notice("two, still to the moved file");
  log.reopen();
  log.notice("three");
  await log.close();
  assert.equal(
    await Deno.readTextFile(`${path}.1`),
    "old line\n[3] [INF] one\n[3] [INF] two, still to the moved file\n",
  );
  assert.equal(await Deno.readTextFile(path), "[3] [INF] File log re-opened\n[3] [INF] three\n");
  assert.equal(out.text, "");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("file logging creates the file with timestamps by default", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/new.log`;
  const [log] = logger({ logFile: path });
  log.notice("created");
  await log.close();
  assert.match(
    await Deno.readTextFile(path),
    new RegExp(`^\\[${Deno.pid}\\] ${TIME} \\[INF\\] created\\n$`),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("log_size_limit rotates to a timestamped backup once past the limit", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/r.log`;
  const [log] = logger({ logFile: path, logtime: false, logSizeLimit: 60 }, { pid: 9 });
  log.notice("0123456789012345678901234567890123456789");
  log.flush();
  assert.equal([...Deno.readDirSync(dir)].length, 1);
  log.notice("after");
  await log.close();
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.equal(names.length, 2);
  assert.equal(names[0], "r.log");
  assert.match(names[1], /^r\.log\.\d{4}\.\d{2}\.\d{2}\.\d{2}\.\d{2}\.\d{2}\.\d{9}$/);
  assert.equal(
    await Deno.readTextFile(`${dir}/${names[1]}`),
    "[9] [INF] 0123456789012345678901234567890123456789\n[9] [INF] after\n",
  );
  // nats-server writes its rotation notice directly, with CRLF.
  assert.equal(
    await Deno.readTextFile(path),
    `[9] [INF] Rotated log, backup saved as "${dir}/${names[1]}"\r\n`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a log file already past the limit is rotated at start", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/big.log`;
  await Deno.writeTextFile(path, "x".repeat(200) + "\n");
  const [log] = logger({ logFile: path, logtime: false, logSizeLimit: 100 }, { pid: 4 });
  await log.close();
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.equal(names.length, 2);
  assert.match(
    await Deno.readTextFile(`${dir}/${names[1]}`),
    /\[4\] \[INF\] Rotating logfile...\n$/,
  );
  assert.match(await Deno.readTextFile(path), /^\[4\] \[INF\] Rotated log, backup saved as/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("syslog time formats are Go's time.Stamp and time.RFC3339", () => {
  const d = new Date(2026, 0, 5, 7, 8, 9);
  assert.equal(syslogStamp(d), "Jan  5 07:08:09");
  assert.match(rfc3339(d), /^2026-01-05T07:08:09(Z|[+-]\d{2}:\d{2})$/);
  const o = { local: false, facility: 0, tag: "nats-server", pid: 42, hostname: "h1" };
  assert.equal(
    syslogMessage("ERR", "boom", o, d),
    `<3>${rfc3339(d)} h1 nats-server[42]: boom\n`,
  );
  assert.equal(
    syslogMessage("INF", "hi\n", { ...o, local: true, facility: 24 }, d),
    "<29>Jan  5 07:08:09 nats-server[42]: hi\n",
  );
});

const RFC3339 = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})`;

Deno.test("remote syslog over UDP sends Go log/syslog datagrams", async () => {
  const server = createSocket("udp4");
  const got: string[] = [];
  let wake = () => {};
  server.on("message", (m) => {
    got.push(new TextDecoder().decode(m));
    wake();
  });
  await new Promise<void>((r) => server.bind(0, "127.0.0.1", () => r()));
  const port = server.address().port;
  const [log, out] = logger(
    { remoteSyslog: `udp://127.0.0.1:${port}`, debug: true, trace: true },
    { hostname: "testhost", pid: 4242 },
  );
  log.notice("Server is ready");
  log.warn("w");
  log.error("e");
  log.fatal("f");
  log.debug("d");
  log.trace("t");
  while (got.length < 6) await new Promise<void>((r) => wake = r);
  await log.close();
  server.close();
  const expect = [[5, "Server is ready"], [4, "w"], [3, "e"], [2, "f"], [7, "d"], [5, "t"]];
  expect.forEach(([pri, msg], i) => {
    assert.match(
      got[i],
      new RegExp(`^<${pri}>${RFC3339} testhost nats-server\\[4242\\]: ${msg}\\n$`),
    );
  });
  assert.equal(out.text, "");
});

Deno.test("remote syslog over TCP writes newline-terminated messages", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [log] = logger(
    { remoteSyslog: `tcp://127.0.0.1:${listener.addr.port}` },
    { hostname: "th", pid: 5 },
  );
  log.notice("a");
  log.error("b");
  const conn = await listener.accept();
  let text = "";
  const buf = new Uint8Array(1024);
  while (text.split("\n").length < 3) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  await log.close();
  conn.close();
  listener.close();
  assert.match(
    text,
    new RegExp(
      `^<5>${RFC3339} th nats-server\\[5\\]: a\\n<3>${RFC3339} th nats-server\\[5\\]: b\\n$`,
    ),
  );
});

Deno.test("a remote syslog URL with an unknown scheme is refused as nats-server does", () => {
  assert.throws(() => logger({ remoteSyslog: "foo://h:514" }), {
    message: 'error invalid network type: "foo"',
  });
});

Deno.test("local syslog without a socket falls back to stderr with a warning", async () => {
  const [log, out] = logger(
    { syslog: true, logtime: false },
    { syslogPaths: ["/nonexistent/log"], pid: 2 },
  );
  log.notice("still logged");
  await log.close();
  assert.equal(
    out.text,
    "[2] [WRN] Syslog unavailable (no syslog socket at /nonexistent/log), " +
      "logging to stderr instead\n[2] [INF] still logged\n",
  );
});

type DatagramServer = {
  receive(): Promise<[Uint8Array, unknown]>;
  close(): void;
};
const listenDatagram = (Deno as unknown as {
  listenDatagram?: (o: { transport: "unixpacket"; path: string }) => DatagramServer;
}).listenDatagram;

Deno.test({
  name: "local syslog sends daemon-facility datagrams to the unix socket",
  ignore: typeof listenDatagram !== "function", // needs --unstable-net
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/log`;
    const server = listenDatagram!({ transport: "unixpacket", path });
    const [log, out] = logger({ syslog: true, debug: true }, { syslogPaths: [path], pid: 77 });
    log.notice("hello");
    log.debug("dbg");
    const got: string[] = [];
    for (let i = 0; i < 2; i++) got.push(new TextDecoder().decode((await server.receive())[0]));
    await log.close();
    server.close();
    assert.match(
      got[0],
      /^<29>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} nats-server\[77\]: hello\n$/,
    );
    assert.match(got[1], /^<31>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} nats-server\[77\]: dbg\n$/);
    assert.equal(out.text, "");
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "local syslog without --unstable-net falls back to stderr and says why",
  ignore: typeof listenDatagram === "function",
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/log`;
    const probe = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--unstable-net",
        `Deno.listenDatagram({transport:"unixpacket",path:"${path}"})`,
      ],
    });
    await probe.output(); // leaves a socket file behind once the process exits
    const [log, out] = logger({ syslog: true, logtime: false }, { syslogPaths: [path], pid: 3 });
    await log.close();
    assert.match(out.text, /Deno needs --unstable-net to send datagrams to/);
    await Deno.remove(dir, { recursive: true });
  },
});
