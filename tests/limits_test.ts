/**
 * Limits over raw sockets: slow consumers (pending bytes and write deadline), stale connections,
 * max connections, max subscriptions, and ten thousand concurrent connections. The expected bytes
 * are nats-server's (REFERENCE=nats-server runs the same tests against it).
 */

import assert from "node:assert/strict";
import { appSubs, RawClient, REFERENCE, startServer, waitFor } from "./helpers.ts";
import { type ServerProcess, spawnServer } from "./process_helpers.ts";

const CONNECT_QUIET = 'CONNECT {"verbose":false,"pedantic":false}\r\n';
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads from a plain conn until the text received ends with `suffix`; returns the text. */
async function readUntil(conn: Deno.Conn, suffix: string, ms = 5000): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  const deadline = Date.now() + ms;
  while (!text.endsWith(suffix)) {
    if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(suffix)}: ${text}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf),
      new Promise<"t">((r) => (timer = setTimeout(() => r("t"), deadline - Date.now()))),
    ]);
    clearTimeout(timer);
    if (n === "t") continue;
    if (n === null) throw new Error(`EOF before ${JSON.stringify(suffix)}: ${text}`);
    text += dec.decode(buf.subarray(0, n));
  }
  return text;
}

async function writeAll(conn: Deno.Conn, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await conn.write(b.subarray(off));
}

/**
 * A subscriber that, once its SUB is confirmed, never reads again: everything the server sends it
 * piles up in the socket buffers and then in the server's outbound buffer.
 */
async function stuckSubscriber(port: number, subject: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, enc.encode(CONNECT_QUIET + `SUB ${subject} 1\r\nPING\r\n`));
  await readUntil(conn, "PONG\r\n");
  return conn;
}

/** Reads everything left on `conn` until EOF (or reset); fails if the server keeps it open. */
async function readToEof(conn: Deno.Conn, ms = 10000): Promise<number> {
  const buf = new Uint8Array(256 * 1024);
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`still open after ${total} bytes`)), ms);
  });
  const reading = (async () => {
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        total += n;
      }
    } catch {
      // a reset counts as closed
    }
    return total;
  })();
  try {
    return await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `count` messages of `size` bytes on `subject` as one buffer. */
function pubBatch(subject: string, size: number, count: number): Uint8Array {
  const one = enc.encode(`PUB ${subject} ${size}\r\n${"x".repeat(size)}\r\n`);
  const out = new Uint8Array(one.length * count);
  for (let i = 0; i < count; i++) out.set(one, i * one.length);
  return out;
}

Deno.test("a subscriber over max_pending is a slow consumer and is disconnected", async () => {
  // nats-server refuses a max_payload above max_pending. It also stalls a fast producer for up
  // to a second per read while a consumer is between half and all of max_pending, so messages
  // close to max_pending in size get past the limit in a step or two.
  await using s = await startServer({ maxPending: 64 * 1024, maxPayload: 64 * 1024 });
  const sub = await stuckSubscriber(s.port, "firehose");
  const [pub] = await RawClient.connectInfo(s.port);
  await using _p = pub;
  try {
    await pub.send(CONNECT_QUIET);
    // 60 KB messages, ~1 MiB at a time; the kernel buffers take a few MiB before the server's
    // own buffer passes 64 KiB.
    const batch = pubBatch("firehose", 60000, 16);
    for (let i = 0; i < 24; i++) {
      await pub.send(batch);
      if (s.server && s.server.stats.slowConsumers > 0) break;
    }
    // The publisher is not affected (nats-server may have sent it its first PING by now).
    assert.equal((await pub.roundTrip()).replaceAll("PING\r\n", ""), "");
    if (s.server) {
      await waitFor(() => s.server!.stats.slowConsumers >= 1, "slow consumer counted");
      assert.ok(
        s.log.lines.some((l) => l.includes("Slow Consumer Detected: MaxPending of 65536 Exceeded")),
        s.log.lines.join("\n"),
      );
      await waitFor(() => s.server!.clients.size === 1, "subscriber dropped");
      assert.equal(appSubs(s.server), 0);
    }
    // What the kernel had buffered is delivered, then the connection ends (no -ERR: there is no
    // room to send one, as nats-server does it).
    const got = await readToEof(sub);
    assert.ok(got > 64 * 1024, `read ${got} bytes before EOF`);
  } finally {
    sub.close();
  }
});

Deno.test("a write blocked past write_deadline makes a slow consumer", async () => {
  await using s = await startServer({ writeDeadlineMs: 300 });
  const sub = await stuckSubscriber(s.port, "firehose");
  const [pub] = await RawClient.connectInfo(s.port);
  await using _p = pub;
  try {
    await pub.send(CONNECT_QUIET);
    // Enough to fill the socket buffers so that a write blocks; not enough for max_pending (64
    // MiB). The sends are not awaited one by one: the server may push back on the publisher.
    const batch = pubBatch("firehose", 4096, 256);
    const pushing = (async () => {
      for (let i = 0; i < 16; i++) await pub.send(batch);
    })();
    if (s.server) {
      await waitFor(() => s.server!.stats.slowConsumers >= 1, "slow consumer counted", 8000);
      assert.ok(
        s.log.lines.some((l) =>
          l.includes("Slow Consumer Detected: WriteDeadline of 300ms exceeded")
        ),
        s.log.lines.join("\n"),
      );
    } else {
      await pushing;
      await new Promise((r) => setTimeout(r, 1500));
    }
    await pushing;
    assert.equal((await pub.roundTrip()).replaceAll("PING\r\n", ""), "");
    await readToEof(sub);
  } finally {
    sub.close();
  }
});

Deno.test("a client that never answers PING gets 'Stale Connection' and is closed", async () => {
  await using s = await startServer({ pingIntervalMs: 100, maxPingsOut: 2 });
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send(CONNECT_QUIET);
  const t0 = Date.now();
  await c.waitClosed();
  assert.equal(c.text, "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
  const took = Date.now() - t0;
  assert.ok(took >= 200 && took < 2000, `closed after ${took} ms`);
  if (s.server) await waitFor(() => s.server!.clients.size === 0, "client removed");
});

Deno.test("a client that has not sent CONNECT is pinged and closed as stale too", async () => {
  await using s = await startServer({ pingIntervalMs: 100, maxPingsOut: 2 });
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.waitClosed();
  assert.equal(c.text, "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
});

Deno.test("a client that answers PING with PONG stays connected", async () => {
  await using s = await startServer({ pingIntervalMs: 100, maxPingsOut: 2 });
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send(CONNECT_QUIET);
  let pings = 0;
  const until = Date.now() + 800;
  while (Date.now() < until) {
    await c.waitText((t) => t.length >= 6, "PING", 1000);
    assert.equal(c.text, "PING\r\n");
    c.clear();
    pings++;
    await c.send("PONG\r\n");
  }
  assert.ok(pings >= 4, `${pings} pings`);
  assert.ok(!c.eof);
  assert.equal(await c.roundTrip().then((t) => t.replaceAll("PING\r\n", "")), "");
  if (s.server) assert.equal(s.server.clients.size, 1);
});

Deno.test("max_connections: the connection over the limit gets INFO, -ERR, and is closed", async () => {
  await using s = await startServer({ maxConn: 2 });
  const [a] = await RawClient.connectInfo(s.port);
  const [b] = await RawClient.connectInfo(s.port);
  await using _a = a;
  await using _b = b;
  await a.roundTrip();
  await b.roundTrip();
  const c = await RawClient.connect(s.port);
  await using _c = c;
  await c.waitClosed();
  const [info, rest] = [
    c.text.slice(0, c.text.indexOf("\r\n") + 2),
    c.text.slice(
      c.text.indexOf("\r\n") + 2,
    ),
  ];
  assert.match(info, /^INFO \{.*\} \r\n$/);
  assert.equal(JSON.parse(info.slice(5)).max_payload, 1048576);
  assert.equal(rest, "-ERR 'maximum connections exceeded'\r\n");
  if (s.server) {
    assert.ok(s.log.lines.some((l) => l.endsWith("maximum connections exceeded")));
  }
  // The first two are unaffected, and a slot freed is a slot available again.
  assert.equal(await a.roundTrip(), "");
  await b.close();
  if (s.server) await waitFor(() => s.server!.clients.size === 1, "slot freed");
  await waitFor(async () => {
    const [d] = await RawClient.connectInfo(s.port);
    await d.send("PING\r\n");
    await d.waitText((t) => t.includes("\r\n") || d.eof, "answer");
    const ok = d.text === "PONG\r\n";
    await d.close();
    return ok;
  }, "a new connection to be accepted");
});

Deno.test("max_subscriptions: a SUB over the limit gets -ERR, the connection stays", async () => {
  await using s = await startServer({ maxSubs: 2 });
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send(CONNECT_QUIET + "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n");
  assert.equal(await c.roundTrip(), "-ERR 'maximum subscriptions exceeded'\r\n");
  await c.send("PUB a 1\r\nx\r\nPUB c 1\r\ny\r\n");
  assert.equal(await c.roundTrip(), "MSG a 1 1\r\nx\r\n");
  await c.send("UNSUB 1\r\nSUB c 3\r\nPUB c 1\r\nz\r\n");
  assert.equal(await c.roundTrip(), "MSG c 3 1\r\nz\r\n");
  if (s.server) {
    assert.equal(appSubs(s.server), 2);
    assert.ok(s.log.lines.some((l) => l.endsWith("maximum subscriptions exceeded")));
  }
  // The limit is per connection.
  const [d] = await RawClient.connectInfo(s.port);
  await using _d = d;
  await d.send(CONNECT_QUIET + "SUB x 1\r\nSUB y 2\r\n");
  assert.equal(await d.roundTrip(), "");
});

/** The hard limit on open files, as a child process sees it (Deno raises its soft limit). */
async function fileLimit(): Promise<number> {
  const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"] }).output();
  const t = dec.decode(out.stdout).trim();
  return t === "unlimited" ? Infinity : Number(t);
}

const TEN_K = 10_000;

Deno.test({
  name: "ten thousand concurrent connections each get PONG, and a message gets through",
  // Asserting a time bound is the point here; sanitizers stay on.
  fn: async () => {
    const limit = await fileLimit();
    // In one process the server and the clients each hold one descriptor per connection; with
    // a lower limit our server runs as a subprocess so each side needs only ~10k.
    const inProcess = REFERENCE || limit >= 2 * TEN_K + 500;
    if (!inProcess && limit < TEN_K + 500) {
      console.log(`skipped: ulimit -n is ${limit}, below ${TEN_K + 500}`);
      return;
    }
    if (!inProcess) {
      console.log(`ulimit -n is ${limit} (< ${2 * TEN_K + 500}): server runs as a subprocess`);
    }
    const t0 = Date.now();
    await using s = inProcess ? await startServer() : null;
    await using proc: ServerProcess | null = inProcess ? null : await spawnServer();
    const port = s ? s.port : proc!.port;
    const conns: Deno.TcpConn[] = [];
    try {
      const hello = enc.encode(CONNECT_QUIET + "PING\r\n");
      const BATCH = 500;
      for (let i = 0; i < TEN_K; i += BATCH) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(BATCH, TEN_K - i) }, async () => {
            const c = await Deno.connect({ hostname: "127.0.0.1", port });
            conns.push(c);
            await writeAll(c, hello);
            const t = await readUntil(c, "PONG\r\n", 20000);
            assert.match(t, /^INFO \{.*\} \r\nPONG\r\n$/);
            return c;
          }),
        );
        assert.equal(batch.length, Math.min(BATCH, TEN_K - i));
      }
      const opened = Date.now() - t0;
      if (s?.server) assert.equal(s.server.clients.size, TEN_K);
      const sub = conns[0];
      const pub = conns[TEN_K - 1];
      await writeAll(sub, enc.encode("SUB tenk 1\r\nPING\r\n"));
      await readUntil(sub, "PONG\r\n");
      await writeAll(pub, enc.encode("PUB tenk 5\r\nhello\r\nPING\r\n"));
      await readUntil(pub, "PONG\r\n");
      assert.equal(await readUntil(sub, "hello\r\n"), "MSG tenk 1 5\r\nhello\r\n");
      for (const c of conns.splice(0)) c.close();
      if (s?.server) await waitFor(() => s.server!.clients.size === 0, "all closed", 20000);
      const took = Date.now() - t0;
      console.log(`${TEN_K} connections opened in ${opened} ms, done in ${took} ms`);
      assert.ok(took < 45000, `took ${took} ms`);
    } finally {
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    }
    // The server is still fine.
    const [c] = await RawClient.connectInfo(port);
    await using _c = c;
    assert.equal(await c.roundTrip(), "");
  },
});
