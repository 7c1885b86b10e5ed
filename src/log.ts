/**
 * Logging as nats-server does it, so that log scrapers written for it keep working:
 * `[pid] 2006/01/02 15:04:05.000000 [INF] message` on stderr (Go's log.LstdFlags|Lmicroseconds
 * after a pid prefix), or to a file, or syslog lines as Go's log/syslog writes them.
 *
 * Text lines are buffered and written with one synchronous write per turn of the event loop, so a
 * burst of trace lines costs one syscall, and `flush()` (also run on the `unload` event) leaves
 * nothing behind at exit.
 */

import type * as dgram from "node:dgram";
import { nodeBuiltin } from "./node_builtin.ts";
import type { Options } from "./options.ts";

export type Level = "INF" | "WRN" | "ERR" | "FTL" | "DBG" | "TRC";

/** Where a logger's lines go. Text sinks add pid, time and label; syslog sinks a priority. */
export interface LogSink {
  write(level: Level, msg: string): void;
  flush(): void;
  close(): Promise<void>;
  /** Reopens a log file after it was moved away (SIGUSR1); false when not a file sink. */
  reopen?(): boolean;
}

export class Logger {
  /** Checked by callers before building a debug line, so a disabled level costs one test. */
  debugEnabled: boolean;
  /** Checked by callers before building a trace line, so a disabled level costs one test. */
  traceEnabled: boolean;
  #sink: LogSink;

  constructor(sink: LogSink, debug = false, trace = false) {
    this.#sink = sink;
    this.debugEnabled = debug;
    this.traceEnabled = trace;
  }

  notice(msg: string): void {
    this.#sink.write("INF", msg);
  }
  warn(msg: string): void {
    this.#sink.write("WRN", msg);
  }
  error(msg: string): void {
    this.#sink.write("ERR", msg);
  }
  /**
   * Logs at [FTL] and flushes. nats-server exits(1) right after a fatal line on stderr or a
   * file; that is left to the caller, so a library user or a test is not killed by its logger.
   */
  fatal(msg: string): void {
    this.#sink.write("FTL", msg);
    this.#sink.flush();
  }
  debug(msg: string): void {
    if (this.debugEnabled) this.#sink.write("DBG", msg);
  }
  trace(msg: string): void {
    if (this.traceEnabled) this.#sink.write("TRC", msg);
  }

  /** SIGUSR1: reopen the log file so that rotation by `mv` works, with nats-server's notices. */
  reopen(): void {
    if (this.#sink.reopen?.()) this.notice("File log re-opened");
    else this.notice("File log re-open ignored, not a file logger");
  }

  flush(): void {
    this.#sink.flush();
  }

  close(): Promise<void> {
    return this.#sink.close();
  }
}

/** A writer with Deno's synchronous write shape: Deno.stderr, a Deno.FsFile, or a test double. */
export interface SyncWriter {
  writeSync(p: Uint8Array): number;
}

/** Things a test (or an embedder) may replace; the defaults are the real process's. */
export interface LogEnv {
  stderr?: SyncWriter;
  /** Colored labels, as nats-server uses when stderr is a terminal. */
  colors?: boolean;
  /** Local syslog sockets, tried in order (Go's log/syslog list). */
  syslogPaths?: string[];
  hostname?: string;
  tag?: string;
  pid?: number;
}

export const DEFAULT_SYSLOG_PATHS = ["/dev/log", "/var/run/syslog", "/var/run/log"];

/**
 * The logger nats-server's ConfigureLogger would pick: no log, else a file, else remote syslog,
 * else local syslog, else stderr. A local syslog that cannot be reached falls back to stderr with
 * a warning (nats-server would exit). A bad remote syslog URL throws.
 */
export function createLogger(opts: Options, env: LogEnv = {}): Logger {
  const pid = env.pid ?? Deno.pid;
  const stderr = env.stderr ?? Deno.stderr;
  let sink: LogSink;
  if (opts.noLog) {
    sink = nullSink;
  } else if (opts.logFile !== "") {
    sink = new FileSink(opts.logFile, pid, opts.logtime, opts.logSizeLimit);
  } else if (opts.remoteSyslog !== "") {
    sink = remoteSyslogSink(opts.remoteSyslog, env, pid, stderr);
  } else if (opts.syslog) {
    sink = localSyslogSink(env, pid, stderr, opts.logtime);
  } else {
    const colors = env.colors ?? (env.stderr ? false : Deno.stderr.isTerminal());
    sink = new TextSink(stderr, textFormat(pid, opts.logtime, colors));
  }
  const logger = new Logger(sink, opts.debug, opts.trace);
  if (sink instanceof FileSink && sink.overLimit()) logger.notice("Rotating logfile...");
  return logger;
}

const nullSink: LogSink = { write() {}, flush() {}, close: () => Promise.resolve() };

// ---- text lines -------------------------------------------------------------------------------

type Formatter = (level: Level, msg: string) => string;

const PLAIN: Record<Level, string> = {
  INF: "[INF] ",
  WRN: "[WRN] ",
  ERR: "[ERR] ",
  FTL: "[FTL] ",
  DBG: "[DBG] ",
  TRC: "[TRC] ",
};
const COLOR_CODES: Record<Level, string> = {
  INF: "32",
  WRN: "0;93",
  ERR: "31",
  FTL: "31",
  DBG: "36",
  TRC: "33",
};
const COLORED = Object.fromEntries(
  Object.entries(COLOR_CODES).map(([l, c]) => [l, `[\x1b[${c}m${l}\x1b[0m] `]),
) as Record<Level, string>;

export function textFormat(pid: number, logtime: boolean, colors: boolean): Formatter {
  const prefix = `[${pid}] `;
  const labels = colors ? COLORED : PLAIN;
  // Go's log.Logger adds the newline only when the message lacks one.
  const nl = (msg: string) => msg.endsWith("\n") ? "" : "\n";
  if (!logtime) return (level, msg) => prefix + labels[level] + msg + nl(msg);
  return (level, msg) => prefix + logTimestamp() + labels[level] + msg + nl(msg);
}

const pad2 = (n: number) => (n < 10 ? "0" : "") + n;
let clockAnchor = performance.timeOrigin;
let cachedSecond = -1;
let cachedSecondText = "";

/**
 * Wall-clock time in microseconds: JS dates stop at milliseconds, so the sub-millisecond part
 * comes from the monotonic clock, nudged back into Date.now()'s millisecond when they drift apart.
 */
export function nowMicros(): number {
  const wall = Date.now();
  let t = clockAnchor + performance.now();
  if (t < wall) {
    clockAnchor += wall - t;
    t = wall;
  } else if (t >= wall + 1) {
    clockAnchor -= t - wall - 0.999;
    t = wall + 0.999;
  }
  return Math.floor(t * 1000);
}

/** `2006/01/02 15:04:05.000000 ` in local time; the seconds part is cached. */
export function logTimestamp(micros = nowMicros()): string {
  const sec = Math.floor(micros / 1e6);
  if (sec !== cachedSecond) {
    const d = new Date(sec * 1000);
    cachedSecond = sec;
    cachedSecondText = `${d.getFullYear()}/${pad2(d.getMonth() + 1)}/${pad2(d.getDate())} ` +
      `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.`;
  }
  return cachedSecondText + String(micros % 1e6).padStart(6, "0") + " ";
}

const encoder = new TextEncoder();
/** Past this many buffered characters, write now rather than wait for the timer. */
const MAX_BUFFERED = 64 * 1024;

function writeAll(w: SyncWriter, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

/** Lines to a synchronous writer, batched per event-loop turn. */
class TextSink implements LogSink {
  protected out: SyncWriter;
  #format: Formatter;
  #buf: string[] = [];
  #chars = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onUnload = () => this.flush();

  constructor(out: SyncWriter, format: Formatter) {
    this.out = out;
    this.#format = format;
    globalThis.addEventListener("unload", this.#onUnload);
  }

  write(level: Level, msg: string): void {
    const line = this.#format(level, msg);
    this.#buf.push(line);
    this.#chars += line.length;
    if (this.#chars >= MAX_BUFFERED) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#buf.length === 0) return;
    const text = this.#buf.length === 1 ? this.#buf[0] : this.#buf.join("");
    this.#buf = [];
    this.#chars = 0;
    this.written(this.writeOut(encoder.encode(text)));
  }

  protected writeOut(bytes: Uint8Array): number {
    try {
      writeAll(this.out, bytes);
    } catch {
      // A closed stderr or a full disk must not take the server down with it.
    }
    return bytes.length;
  }

  /** Hook for the file sink's size accounting. */
  protected written(_n: number): void {}

  close(): Promise<void> {
    this.flush();
    globalThis.removeEventListener("unload", this.#onUnload);
    return Promise.resolve();
  }
}

/** `-l FILE`: appends (creating it), reopens on demand, and rotates past `log_size_limit`. */
class FileSink extends TextSink {
  #path: string;
  #file: Deno.FsFile;
  #size: number;
  #limit: number;
  #pidPrefix: string;
  #logtime: boolean;

  constructor(path: string, pid: number, logtime: boolean, limit: number) {
    const file = openLog(path);
    super(file, textFormat(pid, logtime, false));
    this.#path = path;
    this.#file = file;
    this.#size = file.statSync().size;
    this.#limit = limit;
    this.#pidPrefix = `[${pid}] `;
    this.#logtime = logtime;
  }

  overLimit(): boolean {
    return this.#limit > 0 && this.#size > this.#limit;
  }

  protected override written(n: number): void {
    this.#size += n;
    if (this.overLimit()) this.#rotate();
  }

  /** As nats-server: move the file aside with a timestamp suffix and start a new one. */
  #rotate(): void {
    const micros = nowMicros();
    const d = new Date(Math.floor(micros / 1000));
    const bak = `${this.#path}.${d.getFullYear()}.${pad2(d.getMonth() + 1)}.` +
      `${pad2(d.getDate())}.${pad2(d.getHours())}.${pad2(d.getMinutes())}.` +
      `${pad2(d.getSeconds())}.${String((micros % 1e6) * 1000).padStart(9, "0")}`;
    try {
      this.#file.close();
      Deno.renameSync(this.#path, bak);
    } catch (e) {
      this.#limit *= 2;
      this.#direct(
        "ERR",
        `Unable to close logfile for rotation (${e}), ` +
          `will attempt next rotation at size ${this.#limit}`,
      );
      return;
    }
    this.#swap(openLog(this.#path));
    this.#size = this.#direct("INF", `Rotated log, backup saved as ${JSON.stringify(bak)}`);
  }

  /** nats-server writes its own rotation notices with CRLF, around the normal logger. */
  #direct(level: Level, msg: string): number {
    const time = this.#logtime ? logTimestamp() : "";
    return this.writeOut(encoder.encode(`${this.#pidPrefix}${time}${PLAIN[level]}${msg}\r\n`));
  }

  #swap(file: Deno.FsFile): void {
    this.#file = file;
    this.out = file;
  }

  reopen(): boolean {
    this.flush();
    try {
      this.#file.close();
    } catch {
      // Already closed by a failed rotation.
    }
    this.#swap(openLog(this.#path));
    this.#size = this.#file.statSync().size;
    return true;
  }

  override async close(): Promise<void> {
    await super.close();
    try {
      this.#file.close();
    } catch {
      // Closing twice is harmless.
    }
  }
}

function openLog(path: string): Deno.FsFile {
  return Deno.openSync(path, { append: true, create: true, mode: 0o660 });
}

// ---- syslog -----------------------------------------------------------------------------------

/** Syslog severities nats-server's SysLogger uses per level; traces go out as notices. */
const SEVERITY: Record<Level, number> = { INF: 5, WRN: 4, ERR: 3, FTL: 2, DBG: 7, TRC: 5 };
const LOG_DAEMON = 3 << 3;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Go's time.Stamp, `Jan _2 15:04:05`, used for the local syslog socket. */
export function syslogStamp(d = new Date()): string {
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Go's time.RFC3339 in local time, `2006-01-02T15:04:05Z07:00`, used for remote syslog. */
export function rfc3339(d = new Date()): string {
  const off = -d.getTimezoneOffset();
  const zone = off === 0
    ? "Z"
    : `${off < 0 ? "-" : "+"}${pad2(Math.floor(Math.abs(off) / 60))}:${pad2(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}${zone}`;
}

/** One syslog message as Go's log/syslog formats it for a local or a network connection. */
export function syslogMessage(
  level: Level,
  msg: string,
  o: { local: boolean; facility: number; tag: string; pid: number; hostname: string },
  now = new Date(),
): string {
  const pri = o.facility | SEVERITY[level];
  const nl = msg.endsWith("\n") ? "" : "\n";
  if (o.local) return `<${pri}>${syslogStamp(now)} ${o.tag}[${o.pid}]: ${msg}${nl}`;
  return `<${pri}>${rfc3339(now)} ${o.hostname} ${o.tag}[${o.pid}]: ${msg}${nl}`;
}

/** Sends whole messages; async transports queue while connecting and report errors once. */
interface Transport {
  send(bytes: Uint8Array): void;
  close(): Promise<void>;
}

class SyslogSink implements LogSink {
  #transport: Transport;
  #format: (level: Level, msg: string) => string;
  constructor(transport: Transport, format: (level: Level, msg: string) => string) {
    this.#transport = transport;
    this.#format = format;
  }
  write(level: Level, msg: string): void {
    this.#transport.send(encoder.encode(this.#format(level, msg)));
  }
  flush(): void {}
  close(): Promise<void> {
    return this.#transport.close();
  }
}

function hostnameOf(env: LogEnv): string {
  if (env.hostname) return env.hostname;
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

function warnTo(stderr: SyncWriter, pid: number, msg: string): void {
  writeAll(stderr, encoder.encode(textFormat(pid, true, false)("WRN", msg)));
}

/** `-r udp://host:514`, `tcp://host:port` or `unix:///path`, with nats-server's priorities. */
function remoteSyslogSink(url: string, env: LogEnv, pid: number, stderr: SyncWriter): LogSink {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)/.exec(url);
  const scheme = m?.[1].toLowerCase() ?? "";
  const tag = env.tag ?? "nats-server";
  const onError = (e: unknown) => warnTo(stderr, pid, `Error writing to syslog ${url}: ${e}`);
  let transport: Transport;
  let local = false;
  if (scheme === "udp" || scheme === "tcp") {
    const hp = /^\[?([^\]]*)\]?:(\d+)$/.exec(m![2] ?? "");
    if (!hp) throw new Error(`error connecting to syslog: "dial ${scheme} ${m![2]}: bad address"`);
    const [host, port] = [hp[1], Number(hp[2])];
    transport = scheme === "udp"
      ? udpTransport(host, port, onError)
      : streamTransport({ hostname: host, port, transport: "tcp" }, onError);
  } else if (scheme === "unix") {
    local = true;
    transport = streamTransport({ path: m![3], transport: "unix" }, onError);
  } else {
    throw new Error(`error invalid network type: ${JSON.stringify(scheme)}`);
  }
  const o = { local, facility: 0, tag, pid, hostname: hostnameOf(env) };
  return new SyslogSink(transport, (level, msg) => syslogMessage(level, msg, o));
}

/** `-s`: the local syslog daemon's socket, as Go's syslog.New(LOG_DAEMON|LOG_NOTICE, tag). */
function localSyslogSink(env: LogEnv, pid: number, stderr: SyncWriter, logtime: boolean) {
  const paths = env.syslogPaths ?? DEFAULT_SYSLOG_PATHS;
  const o = { local: true, facility: LOG_DAEMON, tag: env.tag ?? "nats-server", pid, hostname: "" };
  const format = (level: Level, msg: string) => syslogMessage(level, msg, o);
  const onError = (e: unknown) => warnTo(stderr, pid, `Error writing to syslog: ${e}`);
  const path = paths.find(isSocket);
  let why = `no syslog socket at ${paths.join(", ")}`;
  if (path) {
    const dgram = unixDatagramTransport(path, onError);
    if (dgram) return new SyslogSink(dgram, format);
    why = `Deno needs --unstable-net to send datagrams to ${path}`;
  }
  const fallback = new TextSink(stderr, textFormat(pid, logtime, false));
  fallback.write("WRN", `Syslog unavailable (${why}), logging to stderr instead`);
  return fallback;
}

function isSocket(path: string): boolean {
  try {
    return Deno.statSync(path).isSocket === true;
  } catch {
    return false;
  }
}

/** The parts of Deno's unstable datagram API we use, typed here so `deno check` needs no flag. */
interface DatagramConn {
  send(p: Uint8Array, addr: { transport: "unixpacket"; path: string }): Promise<number>;
  close(): void;
}
type ListenDatagram = (o: { transport: "unixpacket"; path: string }) => DatagramConn;

/**
 * Unix datagrams need Deno.listenDatagram (`--unstable-net`; Deno calls SOCK_DGRAM "unixpacket")
 * bound to a path of our own, since Deno cannot send from an unbound socket; node:dgram has no
 * unix sockets. Returns undefined when the API is not there.
 */
function unixDatagramTransport(
  path: string,
  onError: (e: unknown) => void,
): Transport | undefined {
  const listen = (Deno as unknown as { listenDatagram?: ListenDatagram }).listenDatagram;
  if (typeof listen !== "function") return undefined;
  const dir = Deno.makeTempDirSync({ prefix: "nats-syslog-" });
  const conn = listen({ transport: "unixpacket", path: `${dir}/client.sock` });
  let chain = Promise.resolve();
  let failed = false;
  return {
    send(bytes) {
      chain = chain.then(() => conn.send(bytes, { transport: "unixpacket", path })).then(
        () => {},
        (e) => {
          if (!failed) onError(e);
          failed = true;
        },
      );
    },
    async close() {
      await chain;
      conn.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/**
 * One datagram in flight at a time: Deno's node:dgram may reorder back-to-back sends, and syslog
 * lines must keep their order. Unref'd so that the socket alone does not keep the process alive.
 */
function udpTransport(host: string, port: number, onError: (e: unknown) => void): Transport {
  const { createSocket } = nodeBuiltin<typeof dgram>("node:dgram");
  const sock: dgram.Socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  sock.unref();
  let chain = Promise.resolve();
  let failed = false;
  return {
    send(bytes) {
      chain = chain.then(() =>
        new Promise<void>((resolve) =>
          sock.send(bytes, port, host, (err) => {
            if (err && !failed) onError(err);
            failed ||= !!err;
            resolve();
          })
        )
      );
    },
    async close() {
      await chain;
      await new Promise<void>((r) => sock.close(() => r()));
    },
  };
}

/**
 * TCP or unix stream: connects in the background, queues until then, writes in order, and
 * reconnects once on a write error as Go's syslog writer does.
 */
function streamTransport(
  addr: Deno.ConnectOptions | Deno.UnixConnectOptions,
  onError: (e: unknown) => void,
): Transport {
  const connect = () => {
    const p = Deno.connect(addr as Deno.ConnectOptions);
    p.catch(() => {}); // Reported by the write that needs it, not as an unhandled rejection.
    return p;
  };
  let conn: Promise<Deno.Conn> = connect();
  let chain = Promise.resolve();
  let failed = false;
  const writeConn = async (c: Deno.Conn, b: Uint8Array) => {
    for (let off = 0; off < b.length;) off += await c.write(b.subarray(off));
  };
  return {
    send(bytes) {
      chain = chain.then(async () => {
        try {
          await writeConn(await conn, bytes);
        } catch {
          conn.then((c) => c.close(), () => {});
          conn = connect();
          await writeConn(await conn, bytes);
        }
      }).catch((e) => {
        if (!failed) onError(e);
        failed = true;
      });
    },
    async close() {
      await chain;
      try {
        (await conn).close();
      } catch {
        // Never connected.
      }
    },
  };
}
