/**
 * One benchmark agent: a raw publisher, a raw subscriber (one or more connections counting MSG
 * frames), a request/reply pair on the real NATS client, or a connection churner (churn.ts). It runs either as a Web Worker (a
 * thread of the bench process) or as a child process (`deno run -A worker.ts --child`), and
 * talks to the bench over JSON messages: postMessage in a Worker, one JSON object per line on
 * stdin/stdout in a child process. The same code drives every server measured.
 *
 * Messages in: {cmd:"pub"|"sub"|"reqrep"|"reqraw"|"churn", ...}, then {cmd:"go"} (pub, reqrep,
 * reqraw, churn), {cmd:"stat"} and {cmd:"stop"} (sub). JetStream roles (js.ts):
 * {cmd:"requests"|"consume", ...}, then {cmd:"go"}. Messages out: {ev:"ready"}, {ev:"done", ...},
 * {ev:"stat", ...}, {ev:"error", message}.
 */

import {
  type Conn,
  CONNECT,
  connectTcp,
  connectTls,
  distinctSubjects,
  msgFrame,
  packFrames,
  packSubjects,
  payload,
  pingPong,
  pubFrame,
  wallMs,
  writeAll,
} from "./raw.ts";
import { connectWs, type WsConn, wsFrame } from "./ws.ts";
import { churn, type ChurnCmd } from "./churn.ts";
import { type ConsumeCmd, JsApi, JsConn, type RequestsCmd, runConsume, runRequests } from "./js.ts";

// deno-lint-ignore no-explicit-any
type Msg = Record<string, any>;

export interface PubCmd {
  cmd: "pub";
  port: number;
  subject: string;
  size: number;
  count: number;
  /** Bytes per write: PUB frames packed back to back. */
  writeSize: number;
  /** Over websocket: each write is one frame (port is then the websocket port). */
  ws?: boolean;
  /** Over TLS: the CA certificate (PEM) the server's certificate is checked against. */
  tls?: string;
  /** Many subjects instead of `subject`: each of them in turn, `count` messages in all. */
  distinct?: Distinct;
}

/** `count` distinct subjects of one length (see distinctSubjects). */
export interface Distinct {
  prefix: string;
  count: number;
  suffix: string;
}

export interface SubCmd {
  cmd: "sub";
  port: number;
  size: number;
  /** One connection per entry, each with sid 1. */
  subs: { subject: string; queue?: string }[];
  readSize: number;
  ws?: boolean;
  tls?: string;
  /**
   * One connection for many subjects published with `distinct`: a wildcard subscription on
   * `prefix>` (perSubject false), or one subscription per subject, sid = the subject's index.
   */
  distinct?: Distinct & { perSubject: boolean };
}

export interface ReqRepCmd {
  cmd: "reqrep";
  port: number;
  size: number;
  count: number;
  warmup: number;
  /** A new inbox subscription for every request instead of the client's shared one. */
  noMux?: boolean;
}

// ---- channel to the bench: Worker messages or stdin/stdout lines ----

const isChild = Deno.args.includes("--child");
const enc = new TextEncoder();
let onCmd: (m: Msg) => void = () => {};

function send(m: Msg): void {
  if (isChild) {
    Deno.stdout.writeSync(enc.encode(JSON.stringify(m) + "\n"));
  } else {
    // deno-lint-ignore no-explicit-any
    (globalThis as any).postMessage(m);
  }
}

async function readStdinLines(): Promise<void> {
  const dec = new TextDecoder();
  const buf = new Uint8Array(4096);
  let text = "";
  while (true) {
    const n = await Deno.stdin.read(buf);
    if (n === null) Deno.exit(0); // the bench went away
    text += dec.decode(buf.subarray(0, n), { stream: true });
    let nl;
    while ((nl = text.indexOf("\n")) >= 0) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (line.trim() !== "") onCmd(JSON.parse(line));
    }
  }
}

function fail(e: unknown): void {
  send({ ev: "error", message: e instanceof Error ? e.message : String(e) });
}

// ---- roles ----

/** Waits for the next command; the roles are strictly sequential conversations. */
function nextCmd(): Promise<Msg> {
  return new Promise((resolve) => onCmd = resolve);
}

function open(port: number, ws: boolean | undefined, tls?: string): Promise<Conn> {
  if (tls !== undefined) return connectTls(port, tls);
  return ws ? connectWs(port) : connectTcp(port);
}

async function publisher(c: PubCmd): Promise<void> {
  const conn = await open(c.port, c.ws, c.tls);
  conn.setNoDelay(true);
  await pingPong(conn, CONNECT);
  if (c.distinct) return await publishDistinct(conn, c, c.distinct);
  const frame = pubFrame(c.subject, c.size);
  const { buf, count: perBuf } = packFrames(frame, c.writeSize);
  // Over websocket the frame around each write is built once, not per write.
  const framed = c.ws ? wsFrame(buf) : buf;
  const write = c.ws
    ? (b: Uint8Array) => (conn as WsConn).writeFramed(b)
    : (b: Uint8Array) => writeAll(conn, b);
  send({ ev: "ready" });
  await nextCmd(); // go
  const t0 = wallMs();
  let left = c.count;
  while (left >= perBuf) {
    await write(framed);
    left -= perBuf;
  }
  if (left > 0) await writeAll(conn, buf.subarray(0, left * frame.length));
  const tWritten = wallMs();
  // The PONG proves the server has processed every PUB before it.
  await pingPong(conn, "", 120_000);
  const tPong = wallMs();
  conn.close();
  send({ ev: "done", t0, tWritten, tPong, sent: c.count });
}

/**
 * Publishes `count` messages cycling through the distinct subjects: one buffer holds a PUB for
 * each subject, written in slices of writeSize (ops cut between writes, as a real stream cuts
 * them).
 */
async function publishDistinct(conn: Conn, c: PubCmd, d: Distinct): Promise<void> {
  const all = packSubjects(distinctSubjects(d.prefix, d.count, d.suffix), c.size);
  const frameLen = all.length / d.count;
  send({ ev: "ready" });
  await nextCmd(); // go
  const t0 = wallMs();
  let left = c.count;
  while (left > 0) {
    const n = Math.min(left, d.count);
    const end = n * frameLen;
    for (let off = 0; off < end; off += c.writeSize) {
      await writeAll(conn, all.subarray(off, Math.min(end, off + c.writeSize)));
    }
    left -= n;
  }
  const tWritten = wallMs();
  await pingPong(conn, "", 120_000);
  const tPong = wallMs();
  conn.close();
  send({ ev: "done", t0, tWritten, tPong, sent: c.count });
}

interface SubState {
  first: number;
  last: number;
  error: string;
  stopping: boolean;
}

interface SubConn {
  conn: Conn;
  count: number;
  reads: number;
  bytes: number;
  /** Bytes of an incomplete frame or line kept at the front of the read buffer. */
  carry: number;
}

async function subscriber(c: SubCmd): Promise<void> {
  const state: SubState = { first: 0, last: 0, error: "", stopping: false };
  const conns: SubConn[] = [];
  const frames: Uint8Array[] = [];
  for (const s of c.subs) {
    const conn = await open(c.port, c.ws, c.tls);
    conn.setNoDelay(true);
    const sub = s.queue ? `SUB ${s.subject} ${s.queue} 1\r\n` : `SUB ${s.subject} 1\r\n`;
    await pingPong(conn, CONNECT + sub);
    conns.push({ conn, count: 0, reads: 0, bytes: 0, carry: 0 });
    frames.push(msgFrame(s.subject, "1", c.size));
  }
  const d = c.distinct;
  if (d) {
    // Frames differ by subject (and sid), not by length: only the length and the ends are
    // checked, not the whole frame.
    const subjects = distinctSubjects(d.prefix, d.count, d.suffix);
    const conn = await open(c.port, c.ws, c.tls);
    conn.setNoDelay(true);
    const lines = d.perSubject
      ? subjects.map((s, i) => `SUB ${s} ${String(i).padStart(subjects[0].length, "0")}\r\n`)
      : [`SUB ${d.prefix}> 1\r\n`];
    await pingPong(conn, CONNECT + lines.join(""), 120_000);
    conns.push({ conn, count: 0, reads: 0, bytes: 0, carry: 0 });
    const sid = d.perSubject ? "0".repeat(subjects[0].length) : "1";
    frames.push(msgFrame(subjects[0], sid, c.size));
  }
  const loops = conns.map((sc, i) => readLoop(sc, frames[i], c.readSize, state, d !== undefined));
  const stat = () => {
    let count = 0, reads = 0, bytes = 0;
    for (const sc of conns) {
      count += sc.count;
      reads += sc.reads;
      bytes += sc.bytes;
    }
    const per = conns.map((sc) => sc.count);
    return { count, per, reads, bytes, first: state.first, last: state.last, error: state.error };
  };
  send({ ev: "ready" });
  while (true) {
    const m = await nextCmd();
    if (m.cmd === "stat") {
      send({ ev: "stat", ...stat() });
    } else if (m.cmd === "stop") {
      state.stopping = true;
      for (const sc of conns) {
        try {
          sc.conn.close();
        } catch { /* already closed */ }
      }
      await Promise.allSettled(loops);
      const s = stat();
      if (!s.error && conns.some((sc) => sc.carry !== 0)) {
        s.error = "a connection ended inside a frame";
      }
      send({ ev: "done", ...s });
      return;
    }
  }
}

const PONG = new TextEncoder().encode("PONG\r\n");

/**
 * Counts MSG frames. Every MSG on a connection has the same length (one subject, sid 1, one
 * size), so a frame is recognised by its first byte ('M'; payloads are all 'x') and skipped
 * whole after checking its last byte; one frame per read is compared in full. Anything else is
 * a control line: PING is answered (nats-server pings a quiet client after a second), +OK and
 * PONG are skipped, -ERR or garbage ends the run with an error.
 */
async function readLoop(
  sc: SubConn,
  frame: Uint8Array,
  readSize: number,
  state: SubState,
  loose = false,
): Promise<void> {
  const buf = new Uint8Array(readSize);
  const fl = frame.length;
  const dec = new TextDecoder();
  while (true) {
    let n: number | null;
    try {
      n = await sc.conn.read(sc.carry === 0 ? buf : buf.subarray(sc.carry));
    } catch (e) {
      if (!state.stopping && !state.error) state.error = `read failed: ${e}`;
      return;
    }
    if (n === null) {
      if (!state.stopping && !state.error) state.error = "server closed the connection";
      return;
    }
    const t = wallMs();
    if (state.first === 0) state.first = t;
    state.last = t;
    sc.reads++;
    sc.bytes += n;
    const total = sc.carry + n;
    let i = 0;
    let checked = false;
    let count = 0;
    while (i < total) {
      if (buf[i] === 77) {
        if (i + fl > total) break;
        if (buf[i + fl - 1] !== 10) return badFrame(state, buf, i, total);
        if (loose) {
          if (buf[i + 1] !== 83 || buf[i + fl - 2] !== 13) return badFrame(state, buf, i, total);
        } else if (!checked) {
          for (let k = 0; k < fl; k++) {
            if (buf[i + k] !== frame[k]) return badFrame(state, buf, i, total);
          }
          checked = true;
        }
        count++;
        i += fl;
        continue;
      }
      const nl = buf.indexOf(10, i);
      if (nl < 0 || nl >= total) {
        if (total - i > 4096) return badFrame(state, buf, i, total);
        break;
      }
      const line = dec.decode(buf.subarray(i, nl + 1));
      if (line === "PING\r\n") {
        await writeAll(sc.conn, PONG);
      } else if (line !== "+OK\r\n" && line !== "PONG\r\n" && !line.startsWith("INFO ")) {
        return badFrame(state, buf, i, total);
      }
      i = nl + 1;
    }
    sc.count += count;
    sc.carry = total - i;
    if (sc.carry > 0) buf.copyWithin(0, i, total);
  }
}

function badFrame(state: SubState, buf: Uint8Array, i: number, n: number): void {
  if (state.error) return;
  const text = new TextDecoder().decode(buf.subarray(Math.max(0, i - 8), Math.min(n, i + 64)));
  state.error = `unexpected bytes where a MSG frame should start: ${JSON.stringify(text)}`;
}

async function reqrep(c: ReqRepCmd): Promise<void> {
  const { connect } = await import("@nats-io/transport-node");
  const servers = `127.0.0.1:${c.port}`;
  const responder = await connect({ servers, name: "bench-responder" });
  const requester = await connect({ servers, name: "bench-requester" });
  responder.subscribe("bench.rr", {
    callback: (_e, m) => {
      m.respond(m.data);
    },
  });
  await responder.flush();
  const data = payload(c.size);
  send({ ev: "ready" });
  await nextCmd(); // go
  const lat: number[] = [];
  const opts = { timeout: 5000, noMux: c.noMux === true };
  for (let i = 0; i < c.warmup + c.count; i++) {
    const t = performance.now();
    await requester.request("bench.rr", data, opts);
    if (i >= c.warmup) lat.push(performance.now() - t);
  }
  await requester.close();
  await responder.close();
  lat.sort((a, b) => a - b);
  const pick = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] * 1000;
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length * 1000;
  send({ ev: "done", p50: pick(0.5), p99: pick(0.99), mean, n: lat.length });
}

/**
 * Request/reply on raw connections (no client library): a responder answering each request and
 * a requester sending the next one on the answer, each request with its own reply subject. What
 * it measures is the server's turnaround, twice per request, plus the loopback's.
 */
async function reqraw(c: ReqRepCmd): Promise<void> {
  const responder = await connectTcp(c.port);
  const requester = await connectTcp(c.port);
  responder.setNoDelay(true);
  requester.setNoDelay(true);
  await pingPong(responder, CONNECT + "SUB bench.rr 1\r\n");
  await pingPong(requester, CONNECT + "SUB _INBOX.bench.* 1\r\n");
  const data = new TextDecoder().decode(payload(c.size));
  let stop = false;
  // The responder answers every request it reads (requests are sequential: one per read).
  const answering = (async () => {
    const buf = new Uint8Array(64 * 1024);
    const dec = new TextDecoder();
    while (!stop) {
      const n = await responder.read(buf).catch(() => null);
      if (n === null) return;
      const text = dec.decode(buf.subarray(0, n));
      const m = /MSG bench\.rr 1 (\S+) /.exec(text);
      if (m) await writeAll(responder, enc.encode(`PUB ${m[1]} ${c.size}\r\n${data}\r\n`));
    }
  })();
  send({ ev: "ready" });
  await nextCmd(); // go
  const lat: number[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (let i = 0; i < c.warmup + c.count; i++) {
    const t = performance.now();
    await writeAll(
      requester,
      enc.encode(`PUB bench.rr _INBOX.bench.${i} ${c.size}\r\n${data}\r\n`),
    );
    // The reply is one MSG frame of a known length (a server PING would come on its own).
    const want = `MSG _INBOX.bench.${i} 1 ${c.size}\r\n`.length + c.size + 2;
    let got = 0;
    while (got < want) {
      const n = await requester.read(buf);
      if (n === null) throw new Error("requester: connection closed");
      if (buf[0] === 80 && buf[1] === 73) {
        await writeAll(requester, enc.encode("PONG\r\n"));
        continue;
      }
      got += n;
    }
    if (i >= c.warmup) lat.push(performance.now() - t);
  }
  stop = true;
  requester.close();
  responder.close();
  await answering;
  lat.sort((a, b) => a - b);
  const pick = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] * 1000;
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length * 1000;
  send({ ev: "done", p50: pick(0.5), p99: pick(0.99), mean, n: lat.length });
}

/** JetStream requests (publish with ack, KV put/get): prefill, ready, go, done. */
async function jsRequests(c: RequestsCmd): Promise<void> {
  const conn = await JsConn.open(c.port);
  try {
    if (c.prefill) {
      const p = c.prefill;
      const r = await runRequests(conn, { ...p, expect: "ack" }, p.keys, 1000, 3);
      if (r.errors > 0) throw new Error(`prefill: ${r.firstError}`);
    }
    send({ ev: "ready" });
    await nextCmd(); // go
    const r = await runRequests(conn, c, c.count, c.window, 4);
    send({ ev: "done", ...r });
  } finally {
    await conn.closed();
  }
}

/** JetStream pull consume: prefill the stream, ready, go, done once every ack is processed. */
async function jsConsume(c: ConsumeCmd): Promise<void> {
  const conn = await JsConn.open(c.port);
  try {
    const api = new JsApi(conn);
    if (c.prefill) {
      const op = { subject: c.prefill.subject, size: c.prefill.size, expect: "ack" as const };
      const r = await runRequests(conn, op, c.count, 1000, 3);
      if (r.errors > 0) throw new Error(`prefill: ${r.firstError}`);
    }
    await api.ok(`$JS.API.CONSUMER.DURABLE.CREATE.${c.stream}.${c.consumer}`, {
      stream_name: c.stream,
      config: { durable_name: c.consumer, ack_policy: "explicit", deliver_policy: "all" },
    });
    send({ ev: "ready" });
    await nextCmd(); // go
    const r = await runConsume(conn, api, c);
    send({ ev: "done", ...r });
  } finally {
    await conn.closed();
  }
}

async function run(m: Msg): Promise<void> {
  try {
    if (m.cmd === "pub") await publisher(m as PubCmd);
    else if (m.cmd === "requests") await jsRequests(m as RequestsCmd);
    else if (m.cmd === "consume") await jsConsume(m as ConsumeCmd);
    else if (m.cmd === "sub") await subscriber(m as SubCmd);
    else if (m.cmd === "reqrep") await reqrep(m as ReqRepCmd);
    else if (m.cmd === "reqraw") await reqraw(m as ReqRepCmd);
    else if (m.cmd === "churn") await churn(m as ChurnCmd, send, nextCmd);
    else throw new Error(`unknown command ${m.cmd}`);
  } catch (e) {
    fail(e);
  }
}

onCmd = (m) => void run(m);
if (isChild) {
  readStdinLines();
} else {
  // deno-lint-ignore no-explicit-any
  (globalThis as any).onmessage = (e: MessageEvent) => onCmd(e.data);
}
