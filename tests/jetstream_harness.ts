/**
 * Tests only: runs one raw-protocol JetStream scenario against our server (with the test stream
 * layer) and against `nats-server -js` when it is installed, and returns both transcripts with
 * what legitimately differs (ids, times, generated names) normalized away, so a test asserts
 * the two are equal byte for byte otherwise.
 */

import assert from "node:assert/strict";
import { HAVE_NATS_SERVER, RawClient, startServer, type TestServer, waitFor } from "./helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";
import { TestJetStream } from "./jetstream_test_stream.ts";

export { HAVE_NATS_SERVER };

/** One parsed MSG/HMSG. */
export interface Msg {
  subject: string;
  sid: string;
  reply: string;
  hdr: string;
  data: string;
  /** Total size as sent (headers + payload). */
  size: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function summary(msgs: Msg[]): string {
  return msgs.slice(0, 20).map((m) =>
    `${m.subject}/${m.sid} ${m.reply} ${m.hdr.split("\r\n")[0]} ${m.data.slice(0, 40)}`
  )
    .join("; ") + (msgs.length > 20 ? ` ... (${msgs.length})` : "");
}

/** A raw client session that parses what arrives into messages. */
export class Session {
  msgs: Msg[] = [];
  #buf = new Uint8Array(0);
  #inbox = 0;
  #sid = 100;
  /** Names the scenario learned (ephemeral consumer names...), normalized in the transcript. */
  names = new Map<string, string>();
  lines: string[] = [];

  constructor(readonly c: RawClient, readonly target: string) {}

  static async open(port: number, target: string): Promise<Session> {
    const [c] = await RawClient.connectInfo(port);
    const s = new Session(c, target);
    await c.send('CONNECT {"verbose":false,"headers":true,"no_responders":true,"protocol":1}\r\n');
    await s.ping();
    return s;
  }

  /** Moves what arrived into `msgs`. */
  #pump(): void {
    const r = this.c.received;
    if (r.length === 0) return;
    const b = new Uint8Array(this.#buf.length + r.length);
    b.set(this.#buf);
    b.set(r, this.#buf.length);
    this.c.clear();
    let p = 0;
    while (true) {
      const eol = b.indexOf(10, p);
      if (eol < 0) break;
      const line = dec.decode(b.subarray(p, eol - 1));
      const args = line.split(" ").filter((x) => x !== "");
      const op = args[0]?.toUpperCase();
      if (op === "MSG" || op === "HMSG") {
        const hdrLen = op === "HMSG" ? Number(args[args.length - 2]) : 0;
        const size = Number(args[args.length - 1]);
        if (b.length < eol + 1 + size + 2) break;
        const body = b.subarray(eol + 1, eol + 1 + size);
        const nfix = op === "HMSG" ? 6 : 5;
        this.msgs.push({
          subject: args[1],
          sid: args[2],
          reply: args.length === nfix ? args[3] : "",
          hdr: dec.decode(body.subarray(0, hdrLen)),
          data: dec.decode(body.subarray(hdrLen)),
          size,
        });
        p = eol + 1 + size + 2;
      } else {
        p = eol + 1;
      }
    }
    this.#buf = b.slice(p);
  }

  async send(text: string): Promise<void> {
    await this.c.send(text);
  }

  async pub(subject: string, payload = "", reply = ""): Promise<void> {
    const p = enc.encode(payload);
    await this.c.send(`PUB ${subject} ${reply} ${p.length}\r\n${payload}\r\n`);
  }

  async hpub(subject: string, hdr: string, payload = "", reply = ""): Promise<void> {
    const h = enc.encode(hdr), p = enc.encode(payload);
    await this.c.send(
      `HPUB ${subject} ${reply} ${h.length} ${h.length + p.length}\r\n${hdr}${payload}\r\n`,
    );
  }

  async sub(subject: string, queue = ""): Promise<string> {
    const sid = String(++this.#sid);
    await this.c.send(`SUB ${subject} ${queue} ${sid}\r\n`);
    return sid;
  }

  async unsub(sid: string): Promise<void> {
    await this.c.send(`UNSUB ${sid}\r\n`);
  }

  /** A PING round trip: everything sent before has been processed. */
  async ping(): Promise<void> {
    await this.c.send("PING\r\n");
    await waitFor(() => this.c.text.includes("PONG\r\n"), `PONG (${this.target})`);
    const t = this.c.text;
    const i = t.indexOf("PONG\r\n");
    // Keep what is not the PONG (messages may surround it).
    const rest = enc.encode(t.slice(0, i) + t.slice(i + 6));
    this.c.clear();
    this.c.received = rest;
    this.#pump();
  }

  /** Waits until `n` messages match and takes them (in arrival order). */
  async take(pred: (m: Msg) => boolean, n = 1, ms = 5000): Promise<Msg[]> {
    try {
      await waitFor(
        () => {
          this.#pump();
          return this.msgs.filter(pred).length >= n;
        },
        "messages",
        ms,
      );
    } catch {
      const have = this.msgs.filter(pred).length;
      throw new Error(
        `timed out waiting for ${n} message(s) (${have} match) on ${this.target}; have ${
          summary(this.msgs)
        }`,
      );
    }
    const out: Msg[] = [];
    this.msgs = this.msgs.filter((m) => {
      if (out.length < n && pred(m)) {
        out.push(m);
        return false;
      }
      return true;
    });
    return out;
  }

  /** Takes every message matching now (after a round trip). */
  async drain(pred: (m: Msg) => boolean): Promise<Msg[]> {
    await this.ping();
    const out = this.msgs.filter(pred);
    this.msgs = this.msgs.filter((m) => !pred(m));
    return out;
  }

  /** A JetStream API request; returns the response JSON (and records it). */
  async api(subject: string, body: unknown = ""): Promise<Record<string, unknown>> {
    const inbox = `_INBOX.api.${++this.#inbox}`;
    const sid = await this.sub(inbox);
    await this.pub(subject, typeof body === "string" ? body : JSON.stringify(body), inbox);
    const [m] = await this.take((x) => x.subject === inbox);
    await this.unsub(sid);
    return JSON.parse(m.data);
  }

  /** Records a line in the transcript. */
  note(line: string): void {
    this.lines.push(line);
  }

  /** Records messages, normalized. */
  record(msgs: Msg[]): void {
    for (const m of msgs) this.lines.push(this.normalize(m));
  }

  /** Records an API response, normalized. */
  recordJson(v: unknown): void {
    this.lines.push(this.normalizeText(JSON.stringify(v)));
  }

  normalizeText(s: string): string {
    s = s.replace(/"(id|timestamp|created|last_active)":"[^"]*"/g, '"$1":"X"');
    s = s.replace(/"ack_time":\d+/g, '"ack_time":0');
    s = s.replace(/(\$JS\.FC\.[^.\s|\\]+\.[^.\s|\\]+)\.[A-Za-z0-9]{4}/g, "$1.FC");
    for (const [name, label] of this.names) s = s.split(name).join(label);
    return s;
  }

  normalize(m: Msg): string {
    let reply = m.reply;
    const t = reply.split(".");
    if (t.length === 9 && t[0] === "$JS" && t[1] === "ACK") {
      t[7] = "TS";
      reply = t.join(".");
    }
    const json = m.data.startsWith("{");
    const size = json ? "" : ` ${m.size}`;
    return this.normalizeText(
      `${m.hdr ? "HMSG" : "MSG"} ${m.subject} ${reply}${size}|${
        m.hdr.replaceAll("\r\n", "\\r\\n")
      }|${m.data}`,
    );
  }

  async close(): Promise<void> {
    await this.c.close();
  }
}

/** A server a scenario runs against. */
export interface Target {
  name: string;
  port: number;
  js: TestJetStream | null;
  close(): Promise<void>;
}

export async function startOurs(storeDir = ""): Promise<Target & { ts: TestServer }> {
  const ts = await startServer();
  const js = new TestJetStream(ts.server!, ts.server!.globalAccount, storeDir);
  return {
    name: "ours",
    port: ts.port,
    js,
    ts,
    async close() {
      js.stop();
      await ts[Symbol.asyncDispose]();
    },
  };
}

export async function startReference(): Promise<Target> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "nsjs-" });
  const p = new ServerProcess(
    ["-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(port)],
    port,
    {},
    true,
  );
  await p.waitStderr(/Server is ready/);
  return {
    name: "nats-server",
    port,
    js: null,
    async close() {
      await p[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Runs `scenario` on our server and, when installed, on nats-server; asserts the normalized
 * transcripts are equal and returns ours.
 */
export async function sideBySide(
  scenario: (s: Session, t: Target) => Promise<void>,
): Promise<string[]> {
  const run = async (t: Target) => {
    const s = await Session.open(t.port, t.name);
    try {
      await scenario(s, t);
      return s.lines;
    } catch (e) {
      const log = (t as Partial<{ ts: TestServer }>).ts?.log.lines ?? [];
      throw new Error(
        `${t.name}: ${(e as Error).message}\nlast lines: ${s.lines.slice(-3).join("\n")}\nlog: ${
          log.join("\n")
        }`,
      );
    } finally {
      await s.close();
      await t.close();
    }
  };
  const ours = await run(await startOurs());
  if (Deno.env.get("JS_TRANSCRIPT")) console.log(ours.join("\n"));
  if (HAVE_NATS_SERVER) {
    const ref = await run(await startReference());
    assert.deepEqual(ours, ref);
  }
  return ours;
}
