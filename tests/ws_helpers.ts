/**
 * WebSocket test helpers: a server with a websocket listener (ours in-process, or nats-server as
 * a child process with the same config text), and a raw websocket client that does the upgrade
 * by hand, sends frames byte by byte as a test wants them (masked or not, split, coalesced) and
 * decodes every frame the server sends, inflating compressed ones.
 */

import { constants as zlib, deflateRawSync, inflateRawSync } from "node:zlib";
import { defaultOptions, mergeOptions } from "../src/options.ts";
import { parseConfigString } from "../src/config.ts";
import { Server } from "../src/server.ts";
import { MemoryLogger, waitFor } from "./helpers.ts";
import { freePort } from "./process_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export const CERTS = new URL("../configs/certs/", import.meta.url).pathname;

export interface WsServer {
  /** "ours" or "nats-server". */
  name: string;
  server: Server | null;
  port: number;
  wsPort: number;
  httpPort: number;
  log: MemoryLogger;
  /** nats-server's stderr (its log), or our log lines. */
  logText(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Our server from config text (`websocket { ... }` inside it); the client and websocket
 * listeners on 127.0.0.1 with random ports, monitoring too when `http` is true.
 */
export async function startOurs(conf: string, http = false): Promise<WsServer> {
  const text = `listen: "127.0.0.1:-1"\n${http ? 'http: "127.0.0.1:-1"\n' : ""}${conf}`;
  const opts = mergeOptions(defaultOptions(), parseConfigString(text, "ws.conf"));
  const log = new MemoryLogger();
  const server = await Server.create(opts, log);
  await server.start();
  await Promise.resolve();
  return {
    name: "ours",
    server,
    port: server.port,
    wsPort: server.websocket!.port,
    httpPort: server.monitor?.httpPort ?? 0,
    log,
    logText: () => log.lines.join("\n"),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/**
 * nats-server with the same config. `conf` must put the websocket listener on `WS_PORT` (the
 * text is substituted with a free port, as nats-server prints no port we could read back).
 */
export async function startNatsServer(conf: string, http = false): Promise<WsServer> {
  const port = freePort();
  const wsPort = freePort();
  const httpPort = http ? freePort() : 0;
  const text = `listen: "127.0.0.1:${port}"\n${http ? `http: "127.0.0.1:${httpPort}"\n` : ""}` +
    conf.replaceAll("-1 #WS", String(wsPort));
  const file = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(file, text);
  const child = new Deno.Command("nats-server", {
    args: ["-c", file],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const pump = (async () => {
    for await (const chunk of child.stderr) stderr += dec.decode(chunk, { stream: true });
  })();
  await waitFor(() => stderr.includes("Server is ready"), "nats-server to start", 10_000);
  return {
    name: "nats-server",
    server: null,
    port,
    wsPort,
    httpPort,
    log: new MemoryLogger(),
    logText: () => stderr,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await pump;
      await Deno.remove(file);
    },
  };
}

/** Both servers where nats-server is installed, else ours alone. */
export async function bothServers(
  conf: string,
  haveNatsServer: boolean,
  http = false,
): Promise<WsServer[]> {
  const out = [await startOurs(conf, http)];
  if (haveNatsServer) out.push(await startNatsServer(conf, http));
  return out;
}

export interface Frame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  /** The payload, inflated when the frame was compressed. */
  payload: Uint8Array;
  /** The payload size on the wire. */
  wireLength: number;
}

export interface FrameOptions {
  fin?: boolean;
  mask?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
}

/** A client frame (masked unless told otherwise). */
export function frame(opcode: number, payload: Uint8Array | string, o: FrameOptions = {}) {
  const data = typeof payload === "string" ? enc.encode(payload) : payload;
  const mask = o.mask ?? true;
  const head: number[] = [
    ((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | (o.rsv2 ? 0x20 : 0) | opcode,
  ];
  const m = mask ? 0x80 : 0;
  const len = data.length;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
  else {head.push(
      m | 127,
      0,
      0,
      0,
      0,
      (len >>> 24) & 255,
      (len >> 16) & 255,
      (len >> 8) & 255,
      len & 255,
    );}
  const key = [0x37, 0xfa, 0x21, 0x3d];
  if (mask) head.push(...key);
  const out = new Uint8Array(head.length + len);
  out.set(head);
  for (let i = 0; i < len; i++) out[head.length + i] = mask ? data[i] ^ key[i & 3] : data[i];
  return out;
}

/** Compressed the way permessage-deflate wants it (sync flush, tail removed). */
export function deflate(text: string): Uint8Array {
  const z = deflateRawSync(enc.encode(text), { finishFlush: zlib.Z_SYNC_FLUSH });
  return new Uint8Array(z.subarray(0, z.length - 4));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The close frame payload: status and reason. */
export function closeOf(f: Frame): { code: number; reason: string } {
  return { code: (f.payload[0] << 8) | f.payload[1], reason: dec.decode(f.payload.subarray(2)) };
}

export interface WsOpenOptions {
  headers?: Record<string, string>;
  path?: string;
  /** wss: TLS first, trusting the test CA. */
  tls?: boolean;
  /** Raw request text instead of the generated one. */
  request?: string;
}

/** A raw websocket client: the HTTP response, then every frame the server sends, decoded. */
export class WsRaw {
  conn: Deno.Conn;
  raw = new Uint8Array(0);
  /** The HTTP response head (up to the blank line), once received. */
  response = "";
  frames: Frame[] = [];
  eof = false;
  #pos = 0;
  #carry = "";
  #reading: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.#reading = this.#readLoop();
  }

  /** Connects and sends the upgrade request; does not wait for the answer. */
  static async connect(port: number, o: WsOpenOptions = {}): Promise<WsRaw> {
    const conn = o.tls
      ? await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [await Deno.readTextFile(CERTS + "ca.pem")],
      })
      : await Deno.connect({ hostname: "127.0.0.1", port });
    const c = new WsRaw(conn);
    const headers: Record<string, string> = {
      Host: `127.0.0.1:${port}`,
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version": "13",
      ...o.headers,
    };
    const request = o.request ??
      `GET ${o.path ?? "/"} HTTP/1.1\r\n` +
        Object.entries(headers).filter(([, v]) => v !== "").map(([k, v]) => `${k}: ${v}\r\n`)
          .join("") +
        "\r\n";
    await c.send(request);
    return c;
  }

  /** Connects, upgrades, and returns the client with the INFO frame read. */
  static async open(
    port: number,
    o: WsOpenOptions = {},
  ): Promise<[WsRaw, Record<string, unknown>]> {
    const c = await WsRaw.connect(port, o);
    await c.waitFrames(1, "INFO");
    const text = c.takeText();
    if (!text.startsWith("INFO ")) throw new Error(`expected INFO, got ${JSON.stringify(text)}`);
    const eol = text.indexOf("\r\n");
    // Whatever followed the INFO in the same frames stays for the next takeText.
    c.#carry = text.slice(eol + 2);
    return [c, JSON.parse(text.slice(5, eol))];
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        const next = new Uint8Array(this.raw.length + n);
        next.set(this.raw);
        next.set(buf.subarray(0, n), this.raw.length);
        this.raw = next;
        this.#parse();
      }
    } catch {
      // reset by the peer counts as the end
    }
    this.eof = true;
  }

  #parse(): void {
    const b = this.raw;
    if (this.response === "") {
      const end = dec.decode(b).indexOf("\r\n\r\n");
      if (end < 0) return;
      this.response = dec.decode(b.subarray(0, end + 4));
      this.#pos = enc.encode(this.response).length;
    }
    while (this.#pos + 2 <= b.length) {
      const p = this.#pos;
      let len = b[p + 1] & 0x7f;
      let h = 2;
      if (len === 126) {
        if (p + 4 > b.length) return;
        len = (b[p + 2] << 8) | b[p + 3];
        h = 4;
      } else if (len === 127) {
        if (p + 10 > b.length) return;
        len = Number(new DataView(b.buffer, b.byteOffset + p + 2, 8).getBigUint64(0));
        h = 10;
      }
      if (p + h + len > b.length) return;
      const rsv1 = (b[p] & 0x40) !== 0;
      let payload = b.slice(p + h, p + h + len);
      if (rsv1) {
        payload = new Uint8Array(
          inflateRawSync(concat(payload, new Uint8Array([0, 0, 255, 255])), {
            finishFlush: zlib.Z_SYNC_FLUSH,
          }),
        );
      }
      this.frames.push({
        fin: (b[p] & 0x80) !== 0,
        rsv1,
        opcode: b[p] & 0x0f,
        payload,
        wireLength: len,
      });
      this.#pos = p + h + len;
    }
  }

  async send(data: string | Uint8Array): Promise<void> {
    const b = typeof data === "string" ? enc.encode(data) : data;
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }

  /** Sends NATS protocol text in one masked binary frame. */
  sendText(text: string): Promise<void> {
    return this.send(frame(2, text));
  }

  waitFrames(n: number, what: string, ms = 5000): Promise<void> {
    return waitFor(
      () => this.frames.length >= n,
      `${what}: ${n} frame(s); got ${this.frames.length}, response ${
        JSON.stringify(this.response)
      }`,
      ms,
    );
  }

  /** The data frames' payloads so far, as text, consumed. */
  takeText(): string {
    const data = this.frames.filter((f) => f.opcode === 2 || f.opcode === 0);
    this.frames = this.frames.filter((f) => !(f.opcode === 2 || f.opcode === 0));
    const carry = this.#carry;
    this.#carry = "";
    return carry + data.map((f) => dec.decode(f.payload)).join("");
  }

  /** Waits until the data received so far ends with `suffix`; returns it all, consumed. */
  async textUntil(suffix: string, ms = 5000): Promise<string> {
    let acc = "";
    await waitFor(
      () => {
        acc += this.takeText();
        return acc.endsWith(suffix);
      },
      `text ending ${JSON.stringify(suffix)}; got ${JSON.stringify(acc)}`,
      ms,
    );
    return acc;
  }

  /** Sends PING and returns everything received before the PONG. */
  async roundTrip(ms = 5000): Promise<string> {
    await this.sendText("PING\r\n");
    return (await this.textUntil("PONG\r\n", ms)).slice(0, -6);
  }

  /** The first close frame (waiting for it). */
  async closeFrame(ms = 5000): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.frames.some((f) => f.opcode === 8), "a close frame", ms);
    return closeOf(this.frames.find((f) => f.opcode === 8)!);
  }

  waitClosed(ms = 5000): Promise<void> {
    return waitFor(() => this.eof, "the connection to close", ms);
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
