/**
 * The parser fuzzed over a live server: random bytes, mutated valid streams (bit flips,
 * truncation, duplication, splicing of valid ops), random splits into writes, many connections at
 * once. After each round the server must still answer a fresh client's PING, must have dropped
 * every connection the fuzzer closed, and must hold no more memory than its limits allow.
 *
 * The PRNG is seeded: the seed is printed, and FUZZ_SEED=<n> replays a run.
 */

import assert from "node:assert/strict";
import { appSubs, RawClient, startServer, type TestServer, waitFor } from "./helpers.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fuzz seed: ${SEED} (FUZZ_SEED=${SEED} to replay)`);

const enc = new TextEncoder();

/** mulberry32: small, fast, and good enough to drive a fuzzer reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Op names with random letter case; arguments separated by runs of spaces and tabs. */
function opName(rng: Rng, name: string): string {
  return [...name].map((ch) => rng.chance(0.3) ? ch.toLowerCase() : ch).join("");
}
function sep(rng: Rng): string {
  return rng.chance(0.8) ? " " : rng.pick(["\t", "  ", " \t ", "\t\t"]);
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** Random bytes biased toward the protocol's own alphabet, so the parser gets past op names. */
function protocolishBytes(rng: Rng, n: number): Uint8Array {
  const alphabet = enc.encode('PUBSUNHMGINOCTE+-OKRpubsunhmgin \t\r\n0123456789.*>{}":');
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.chance(0.8) ? rng.pick([...alphabet]) : rng.int(256);
  return b;
}

/**
 * A valid op stream for one connection whose output is deterministic: every subject is matched
 * by at most one subscription (literal subjects and disjoint wildcard namespaces), no queue
 * groups, and the stream ends with a marker message to itself.
 */
function validStream(rng: Rng, prefix: string, ops: number): { ops: Uint8Array[] } {
  const literal = ["a", "b", "c", "d"].map((s) => `${prefix}.${s}`);
  const wild: [string, string[]][] = [
    [`${prefix}w.*`, [`${prefix}w.x`, `${prefix}w.y`]],
    [`${prefix}g.>`, [`${prefix}g.x`, `${prefix}g.x.y.z`]],
  ];
  const subscribed = new Map<string, number>();
  let nextSid = 1;
  const out: Uint8Array[] = [
    enc.encode(
      `${opName(rng, "CONNECT")} {"verbose":${rng.chance(0.3)},"pedantic":false,"headers":true}` +
        "\r\n",
    ),
  ];
  for (let i = 0; i < ops; i++) {
    const r = rng.int(10);
    if (r < 2) {
      const subj = rng.chance(0.6) ? rng.pick(literal) : rng.pick(wild)[0];
      if (subscribed.has(subj)) continue;
      const sid = nextSid++;
      subscribed.set(subj, sid);
      out.push(enc.encode(`${opName(rng, "SUB")}${sep(rng)}${subj}${sep(rng)}${sid}\r\n`));
    } else if (r < 3 && subscribed.size > 0) {
      const [subj, sid] = rng.pick([...subscribed.entries()]);
      subscribed.delete(subj);
      out.push(enc.encode(`${opName(rng, "UNSUB")}${sep(rng)}${sid}\r\n`));
    } else if (r < 8) {
      const subj = rng.chance(0.6) ? rng.pick(literal) : rng.pick(rng.pick(wild)[1]);
      const reply = rng.chance(0.3) ? `${sep(rng)}_INBOX.${rng.int(1000)}` : "";
      const payload = rng.chance(0.1)
        ? randomBytes(rng, rng.int(70000))
        : protocolishBytes(rng, rng.int(200));
      if (rng.chance(0.7)) {
        out.push(enc.encode(`${opName(rng, "PUB")}${sep(rng)}${subj}${reply}${sep(rng)}`));
        out.push(enc.encode(`${payload.length}\r\n`), payload, enc.encode("\r\n"));
      } else {
        const hdr = enc.encode(`NATS/1.0\r\nX-K: ${rng.int(1e6)}\r\n\r\n`);
        out.push(
          enc.encode(`${opName(rng, "HPUB")}${sep(rng)}${subj}${reply}${sep(rng)}`),
          enc.encode(`${hdr.length}${sep(rng)}${hdr.length + payload.length}\r\n`),
          hdr,
          payload,
          enc.encode("\r\n"),
        );
      }
    } else if (r < 9) {
      out.push(enc.encode(`${opName(rng, "PING")}\r\n`));
    } else {
      out.push(enc.encode(rng.pick(["PONG\r\n", "+OK\r\n", "pong\r\n"])));
    }
  }
  // A marker message to itself ends the stream: its arrival means everything before it was
  // processed (intermediate PONGs cannot tell).
  out.push(enc.encode(`SUB ${prefix}.end 99999\r\nPUB ${prefix}.end 3\r\nEND\r\n`));
  return { ops: out };
}

/** Applies 1 to 4 random mutations. */
function mutate(rng: Rng, input: Uint8Array, spliceFrom: Uint8Array[]): Uint8Array {
  let b = input;
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(6)) {
      case 0: { // bit flip
        if (b.length === 0) break;
        b = b.slice();
        const i = rng.int(b.length);
        b[i] ^= 1 << rng.int(8);
        break;
      }
      case 1: // truncation
        b = b.subarray(0, at);
        break;
      case 2: { // duplication of a range
        const len = rng.int(Math.min(200, b.length - at) + 1);
        b = concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      case 3: // splice a valid op in at a random byte
        b = concat([b.subarray(0, at), rng.pick(spliceFrom), b.subarray(at)]);
        break;
      case 4: { // delete a range
        const len = rng.int(50);
        b = concat([b.subarray(0, at), b.subarray(at + len)]);
        break;
      }
      default: // random bytes in
        b = concat([b.subarray(0, at), randomBytes(rng, 1 + rng.int(16)), b.subarray(at)]);
    }
  }
  return b;
}

/** Writes `data` in random pieces, sometimes yielding to the event loop between them. */
async function sendSplit(c: RawClient, rng: Rng, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = rng.chance(0.2) ? data.length - off : 1 + rng.int(Math.min(300, data.length - off));
    await c.send(data.subarray(off, off + n));
    off += n;
    if (rng.chance(0.3)) await new Promise((r) => setTimeout(r, 0));
  }
}

/** A fresh client must get PONG for PING, quickly. */
async function assertAlive(s: TestServer, what: string): Promise<void> {
  const [c] = await RawClient.connectInfo(s.port);
  try {
    await c.send("PING\r\n");
    await c.waitText((t) => t === "PONG\r\n", `server alive after ${what}`, 3000);
  } finally {
    await c.close();
  }
}

/** Sends one fuzz case on its own connection and closes it, whatever the server answered. */
async function fuzzCase(s: TestServer, rng: Rng, data: Uint8Array): Promise<void> {
  const c = await RawClient.connect(s.port);
  try {
    await sendSplit(c, rng, data);
    // Give the server a moment to act on what it got before we hang up.
    if (rng.chance(0.5)) await new Promise((r) => setTimeout(r, 1));
  } catch {
    // the server may close (and reset) a connection it finds invalid
  } finally {
    await c.close();
  }
}

async function assertNoLeftovers(s: TestServer, what: string): Promise<void> {
  if (!s.server) return;
  await waitFor(
    () => s.server!.clients.size === 0,
    `every fuzz connection dropped after ${what} (${s.server.clients.size} left)`,
  );
  assert.equal(appSubs(s.server), 0, `subscriptions left after ${what}`);
}

const CONCURRENCY = 12;

async function rounds(
  s: TestServer,
  rng: Rng,
  name: string,
  count: number,
  make: (i: number) => Uint8Array,
): Promise<void> {
  for (let i = 0; i < count; i += CONCURRENCY) {
    const cases = Array.from({ length: Math.min(CONCURRENCY, count - i) }, (_, k) => make(i + k));
    // Each connection gets its own PRNG for splits, so concurrency does not change the cases.
    await Promise.all(cases.map((d, k) => fuzzCase(s, prng(rng.int(2 ** 31) + k), d)));
    await assertAlive(s, `${name} cases ${i}..${i + cases.length - 1} (seed ${SEED})`);
  }
  await assertNoLeftovers(s, name);
}

Deno.test(`random bytes do not crash or hang the server (seed ${SEED})`, async () => {
  await using s = await startServer({ maxPayload: 64 * 1024 });
  const rng = prng(SEED);
  await rounds(s, rng, "random bytes", 240, () => {
    const n = 1 + rng.int(2048);
    return rng.chance(0.5) ? randomBytes(rng, n) : protocolishBytes(rng, n);
  });
});

Deno.test(`mutated valid streams do not crash or hang the server (seed ${SEED})`, async () => {
  await using s = await startServer({ maxPayload: 128 * 1024 });
  const rng = prng(SEED + 1);
  await rounds(s, rng, "mutated streams", 360, (i) => {
    const { ops } = validStream(rng, `m${i}`, 5 + rng.int(25));
    return mutate(rng, concat(ops), ops);
  });
});

Deno.test(`a valid stream split at random gives the same bytes as whole (seed ${SEED})`, async () => {
  await using s = await startServer({ maxPayload: 128 * 1024 });
  const rng = prng(SEED + 2);
  for (let round = 0; round < 8; round++) {
    const streams = Array.from(
      { length: CONCURRENCY },
      (_, k) => concat(validStream(rng, `v${round}_${k}`, 10 + rng.int(30)).ops),
    );
    const results = await Promise.all(streams.map(async (data, k) => {
      const splitRng = prng(rng.int(2 ** 31) + k);
      const prefix = `v${round}_${k}`;
      const marker = `MSG ${prefix}.end 99999 3\r\nEND\r\n`;
      // The whole stream first, then the split one: they use the same subjects.
      const outputs: string[] = [];
      for (const split of [false, true]) {
        const c = await RawClient.connect(s.port);
        try {
          await c.waitText((t) => t.includes("\r\n"), "INFO");
          c.clear();
          if (split) await sendSplit(c, splitRng, data);
          else await c.send(data);
          const what = `end marker (seed ${SEED}, round ${round}, #${k})`;
          await c.waitText((t) => t.includes(marker) || c.eof, what);
          outputs.push(c.eof ? c.text : await c.roundTrip());
        } finally {
          await c.close();
        }
      }
      return [outputs[0], outputs[1], data] as const;
    }));
    for (const [whole, split, data] of results) {
      assert.ok(!whole.includes("-ERR"), `valid stream got an error: ${whole.slice(0, 300)}`);
      if (whole !== split) {
        const at = [...whole].findIndex((ch, i) => split[i] !== ch);
        assert.fail(
          `split stream differs at ${at} (seed ${SEED}, round ${round}, ${data.length} bytes): ` +
            `whole ${JSON.stringify(whole.slice(at, at + 80))}, ` +
            `split ${JSON.stringify(split.slice(at, at + 80))}`,
        );
      }
    }
    await assertAlive(s, `split round ${round}`);
  }
  await assertNoLeftovers(s, "split streams");
});

Deno.test("many connections at once sending garbage and valid ops", async () => {
  await using s = await startServer({ maxPayload: 64 * 1024 });
  const rng = prng(SEED + 3);
  // One well-behaved subscriber keeps working throughout.
  const [sub] = await RawClient.connectInfo(s.port);
  await using _sub = sub;
  await sub.send('CONNECT {"verbose":false}\r\nSUB steady 1\r\n');
  await sub.roundTrip();
  for (let round = 0; round < 4; round++) {
    const cases = Array.from({ length: 100 }, (_, i) => {
      const { ops } = validStream(rng, `many${round}_${i}`, 5 + rng.int(10));
      return rng.chance(0.5) ? concat(ops) : mutate(rng, concat(ops), ops);
    });
    await Promise.all(cases.map((d, k) => fuzzCase(s, prng(rng.int(2 ** 31) + k), d)));
    const [pub] = await RawClient.connectInfo(s.port);
    await pub.send(`CONNECT {"verbose":false}\r\nPUB steady 1\r\n${round}\r\n`);
    await pub.roundTrip();
    await pub.close();
    assert.equal(await sub.roundTrip(), `MSG steady 1 1\r\n${round}\r\n`);
  }
  await sub.close();
  await assertNoLeftovers(s, "many connections");
});

/** External memory (ArrayBuffers) of this process, where an in-process server keeps its buffers. */
function externalBytes(): number {
  return Deno.memoryUsage().external;
}

Deno.test("an endless control line is cut at max_control_line", async () => {
  await using s = await startServer({ maxControlLine: 1024 });
  for (const start of ["SUB ", "PUB foo.", "CONNECT {", "UNSUB ", "INFO {", "-ERR '"]) {
    const [c] = await RawClient.connectInfo(s.port);
    await using _c = c;
    let sent = 0;
    try {
      await c.send(start);
      while (!c.eof && sent < 1024 * 1024) {
        await c.send("a".repeat(256));
        sent += 256;
        await new Promise((r) => setTimeout(r, 0));
      }
    } catch {
      // reset once the server closed
    }
    await c.waitClosed();
    assert.equal(c.text, "-ERR 'maximum control line exceeded'\r\n", start);
    assert.ok(sent < 256 * 1024, `${start}: the server took ${sent} bytes before closing`);
  }
  await assertAlive(s, "endless control lines");
});

Deno.test("bytes after PING with no newline are not buffered without bound", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  // nats-server ignores what follows PING (and PONG, +OK) up to the newline without keeping it.
  const chunk = enc.encode("x".repeat(64 * 1024));
  const before = externalBytes();
  let peak = 0;
  await c.send("PING");
  for (let i = 0; i < 256 && !c.eof; i++) {
    await c.send(chunk);
    if (i % 32 === 31) {
      await new Promise((r) => setTimeout(r, 10));
      peak = Math.max(peak, externalBytes() - before);
    }
  }
  await c.send("\r\nPING\r\n");
  await c.waitText((t) => t === "PONG\r\nPONG\r\n" || c.eof, "two PONGs");
  assert.equal(c.text, "PONG\r\nPONG\r\n");
  if (s.server) {
    assert.ok(peak < 8 * 1024 * 1024, `16 MiB after PING held ${peak >> 20} MiB in the server`);
  }
});

Deno.test("spaces before a PUB's arguments are not buffered without bound", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send('CONNECT {"verbose":false}\r\nSUB foo 1\r\nPUB');
  const chunk = enc.encode(" ".repeat(64 * 1024));
  const before = externalBytes();
  let peak = 0;
  for (let i = 0; i < 128 && !c.eof; i++) {
    await c.send(chunk);
    if (i % 32 === 31) {
      await new Promise((r) => setTimeout(r, 10));
      peak = Math.max(peak, externalBytes() - before);
    }
  }
  await c.send("foo 2\r\nhi\r\n");
  assert.equal(await c.roundTrip(), "MSG foo 1 2\r\nhi\r\n");
  if (s.server) {
    assert.ok(peak < 4 * 1024 * 1024, `8 MiB of spaces held ${peak >> 20} MiB in the server`);
  }
});

Deno.test("a PUB announcing 1 MB and trickling its payload is bounded by max_payload", async () => {
  await using s = await startServer();
  const [sub] = await RawClient.connectInfo(s.port);
  await using _sub = sub;
  await sub.send('CONNECT {"verbose":false}\r\nSUB big 1\r\n');
  await sub.roundTrip();
  const MB = 1024 * 1024;
  const rng = prng(SEED + 4);
  const payload = randomBytes(rng, MB);
  // The whole payload, in 16 KiB pieces with pauses: delivered intact.
  {
    const [c] = await RawClient.connectInfo(s.port);
    await using _c = c;
    await c.send(`CONNECT {"verbose":false}\r\nPUB big ${MB}\r\n`);
    for (let off = 0; off < MB; off += 16 * 1024) {
      await c.send(payload.subarray(off, off + 16 * 1024));
      if (off % (128 * 1024) === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await c.send("\r\n");
    assert.equal(await c.roundTrip(), "");
    const head = enc.encode(`MSG big 1 ${MB}\r\n`);
    await sub.waitText(() => sub.received.length >= head.length + MB + 2, "the 1 MB message");
    assert.deepEqual(sub.received.subarray(0, head.length), head);
    assert.ok(
      sub.received.subarray(head.length, head.length + MB).every((b, i) => b === payload[i]),
      "payload intact",
    );
    assert.equal(sub.received.length, head.length + MB + 2);
    sub.clear();
  }
  // More than announced: the server stops at max_payload + CRLF and closes, it does not keep
  // reading into its buffer.
  {
    const [c] = await RawClient.connectInfo(s.port);
    await using _c = c;
    await c.send(`CONNECT {"verbose":false}\r\nPUB big ${MB}\r\n`);
    let sent = 0;
    try {
      while (!c.eof && sent < 4 * MB) {
        await c.send(payload.subarray(0, 64 * 1024));
        sent += 64 * 1024;
        if (sent % (256 * 1024) === 0) await new Promise((r) => setTimeout(r, 1));
      }
    } catch {
      // reset by the server
    }
    await c.waitClosed();
    assert.equal(c.text, "-ERR 'Unknown Protocol Operation'\r\n");
    assert.ok(sent < 3 * MB, `the server took ${sent} bytes before closing`);
  }
  assert.equal(await sub.roundTrip(), "");
  await assertAlive(s, "trickled payloads");
});
