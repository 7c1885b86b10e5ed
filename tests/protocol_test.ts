/** Client protocol over raw sockets, asserting the exact bytes nats-server sends. */

import assert from "node:assert/strict";
import { appSubs, RawClient, REFERENCE, startServer } from "./helpers.ts";

const CONNECT_QUIET = 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n';

Deno.test("INFO carries nats-server's fields in order", async () => {
  await using s = await startServer();
  const [c, info] = await RawClient.connectInfo(s.port);
  await using _c = c;
  assert.deepEqual(Object.keys(info), [
    "server_id",
    "server_name",
    "version",
    "proto",
    "go",
    "host",
    "port",
    "headers",
    "max_payload",
    "client_id",
    "client_ip",
  ]);
  if (REFERENCE) return;
  assert.equal(info.version, "2.9.10");
  assert.equal(info.proto, 1);
  assert.equal(info.port, s.port);
  assert.equal(info.headers, true);
  assert.equal(info.max_payload, 1048576);
  assert.equal(info.client_ip, "127.0.0.1");
  assert.match(info.server_id as string, /^N[A-Z2-7]{55}$/);
});

Deno.test("a telnet session before CONNECT is verbose and pedantic", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send("SUB foo 1\r\n");
  await c.expect("+OK\r\n");
  await c.send("PUB foo 5\r\nhello\r\n");
  await c.expect("+OK\r\nMSG foo 1 5\r\nhello\r\n");
  await c.send("PING\r\n");
  await c.expect("PONG\r\n");
  await c.send("sub * 2\r\n");
  await c.expect("+OK\r\n");
  await c.send("PUB foo.bar 1\r\nx\r\n");
  await c.expect("+OK\r\n");
  await c.send("PUB foo.* 1\r\nx\r\n");
  await c.expect("-ERR 'Invalid Publish Subject'\r\n+OK\r\n");
});

Deno.test("ops are case-insensitive and arguments split on spaces and tabs", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send("sub foo\tq\t 9\r\npub\tfoo  1\r\nx\r\n");
  await c.expect("+OK\r\n+OK\r\nMSG foo 9 1\r\nx\r\n");
});

Deno.test("unknown op gets -ERR and the connection closes", async () => {
  await using s = await startServer();
  for (const bad of ["FOO\r\n", "UNSUB\r\n", "MSG foo 1 1\r\n", "PUB foo 2\r\nabc\r\n"]) {
    const [c] = await RawClient.connectInfo(s.port);
    await using _c = c;
    await c.send(bad);
    await c.waitClosed();
    assert.equal(c.text, "-ERR 'Unknown Protocol Operation'\r\n", bad);
  }
});

Deno.test("argument errors close the connection without -ERR", async () => {
  await using s = await startServer();
  const cases: [string, string][] = [
    ["PUB foo\r\n", 'processPub Parse Error: "foo"'],
    ["PUB foo bar baz qux\r\n", 'processPub Parse Error: "foo bar baz qux"'],
    ["PUB foo -1\r\n", 'processPub Bad or Missing Size: "foo -1"'],
    ["SUB foo\r\n", 'processSub Parse Error: "foo"'],
    ["CONNECT {bad}\r\n", ""],
    ["HPUB foo 12 14\r\nNATS/1.0\r\n\r\nab\r\n", "message headers not supported"],
  ];
  for (const [bad, logged] of cases) {
    const [c] = await RawClient.connectInfo(s.port);
    await using _c = c;
    await c.send(bad);
    await c.waitClosed();
    assert.equal(c.text, "", bad);
    if (logged && s.server) assert.ok(s.log.lines.some((l) => l.endsWith(logged)), logged);
  }
});

Deno.test("payload and control line limits", async () => {
  await using s = await startServer({ maxPayload: 10, maxControlLine: 64 });
  {
    const [c] = await RawClient.connectInfo(s.port);
    await using _c = c;
    await c.send("PUB foo 11\r\n");
    await c.waitClosed();
    assert.equal(c.text, "-ERR 'Maximum Payload Violation'\r\n");
  }
  {
    const [c] = await RawClient.connectInfo(s.port);
    await using _c = c;
    await c.send(`PUB ${"a".repeat(100)} 1\r\n`);
    await c.waitClosed();
    assert.equal(c.text, "-ERR 'maximum control line exceeded'\r\n");
  }
  {
    // A control line that never ends is caught before its newline arrives.
    const [c] = await RawClient.connectInfo(s.port);
    await using _c = c;
    await c.send(`SUB ${"a".repeat(100)}`);
    await c.waitClosed();
    assert.equal(c.text, "-ERR 'maximum control line exceeded'\r\n");
  }
});

Deno.test("CONNECT errors: protocol version and no_responders without headers", async () => {
  await using s = await startServer();
  const cases: [string, string][] = [
    ['CONNECT {"protocol":5}\r\n', "-ERR 'invalid client protocol'\r\n"],
    ['CONNECT {"no_responders":true}\r\n', "-ERR 'no responders requires headers support'\r\n"],
  ];
  for (const [bad, want] of cases) {
    const [c] = await RawClient.connectInfo(s.port);
    await using _c = c;
    await c.send(bad);
    await c.waitClosed();
    assert.equal(c.text, want);
  }
});

Deno.test("subject validation on SUB, even without pedantic", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send(CONNECT_QUIET + "SUB foo..bar 1\r\nSUB foo.>.bar 2\r\nSUB a*.b 3\r\n");
  assert.equal(await c.roundTrip(), "-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\n");
});

Deno.test("wildcards, reply subjects and queue groups", async () => {
  await using s = await startServer();
  const [sub] = await RawClient.connectInfo(s.port);
  const [pub] = await RawClient.connectInfo(s.port);
  await using _s = sub;
  await using _p = pub;
  await sub.send(CONNECT_QUIET + "SUB foo.* 1\r\nSUB foo.> 2\r\nSUB > 3\r\nSUB foo.bar.baz 4\r\n");
  await sub.roundTrip();
  await pub.send(CONNECT_QUIET + "PUB foo.bar reply.x 2\r\nhi\r\nPUB foo.bar.baz 0\r\n\r\n");
  await pub.roundTrip();
  await sub.waitText((t) => t.split("MSG").length - 1 === 6, "6 messages");
  const lines = sub.text.split("\r\n").filter((l) => l.startsWith("MSG")).sort();
  assert.deepEqual(lines, [
    "MSG foo.bar 1 reply.x 2",
    "MSG foo.bar 2 reply.x 2",
    "MSG foo.bar 3 reply.x 2",
    "MSG foo.bar.baz 2 0",
    "MSG foo.bar.baz 3 0",
    "MSG foo.bar.baz 4 0",
  ]);
});

Deno.test("queue groups: each message to exactly one member of each group", async () => {
  await using s = await startServer();
  const members: RawClient[] = [];
  for (let i = 0; i < 3; i++) {
    const [c] = await RawClient.connectInfo(s.port);
    await c.send(CONNECT_QUIET + `SUB q.test workers ${i}\r\nSUB q.test other ${i + 10}\r\n`);
    await c.roundTrip();
    members.push(c);
  }
  const [pub] = await RawClient.connectInfo(s.port);
  await using _p = pub;
  const N = 300;
  let batch = CONNECT_QUIET;
  for (let i = 0; i < N; i++) batch += "PUB q.test 1\r\nx\r\n";
  await pub.send(batch);
  await pub.roundTrip();
  const count = (c: RawClient, sids: number[]) =>
    c.text.split("\r\n").filter((l) => sids.some((s) => l === `MSG q.test ${s} 1`)).length;
  await Promise.all(
    members.map((c) => c.roundTrip().then((t) => (c.received = new TextEncoder().encode(t)))),
  );
  const workers = members.map((c, i) => count(c, [i]));
  const other = members.map((c, i) => count(c, [i + 10]));
  assert.equal(workers.reduce((a, b) => a + b), N);
  assert.equal(other.reduce((a, b) => a + b), N);
  for (const w of workers) assert.ok(w > 30, `distribution ${workers}`);
  for (const c of members) await c.close();
});

Deno.test("auto-unsubscribe after max messages", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send(CONNECT_QUIET + "SUB foo 1\r\nUNSUB 1 2\r\n");
  await c.send("PUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n");
  assert.equal(await c.roundTrip(), "MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\n");
  if (s.server) assert.equal(appSubs(s.server), 0);
  await c.send("SUB bar 2\r\nPUB bar 1\r\nx\r\nUNSUB 2 1\r\nPUB bar 1\r\ny\r\n");
  assert.equal(await c.roundTrip(), "MSG bar 2 1\r\nx\r\n");
});

Deno.test("echo=false suppresses a client's own messages", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send('CONNECT {"verbose":false,"echo":false}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\n');
  assert.equal(await c.roundTrip(), "");
});

Deno.test("headers: HPUB delivered as HMSG, and as MSG to a client without headers", async () => {
  await using s = await startServer();
  const [h] = await RawClient.connectInfo(s.port);
  const [plain] = await RawClient.connectInfo(s.port);
  await using _h = h;
  await using _p = plain;
  await h.send(CONNECT_QUIET + "SUB foo 1\r\n");
  await h.roundTrip();
  await plain.send('CONNECT {"verbose":false}\r\nSUB foo 2\r\n');
  await plain.roundTrip();
  await h.send("HPUB foo r 12 14\r\nNATS/1.0\r\n\r\nab\r\n");
  assert.equal(await h.roundTrip(), "HMSG foo 1 r 12 14\r\nNATS/1.0\r\n\r\nab\r\n");
  assert.equal(await plain.roundTrip(), "MSG foo 2 r 2\r\nab\r\n");
});

Deno.test("no_responders: a request nobody hears gets a 503 status", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send(
    'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\n' +
      "SUB r 5\r\nHPUB nobody r 12 14\r\nNATS/1.0\r\n\r\nab\r\nPUB nobody r 0\r\n\r\n",
  );
  assert.equal(
    await c.roundTrip(),
    "HMSG r 5 16 16\r\nNATS/1.0 503\r\n\r\n\r\nHMSG r 5 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
  );
});

Deno.test("a client -ERR closes it; +OK and INFO from a client are ignored", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send("+OK\r\nINFO {}\r\nPING foo\r\n");
  await c.expect("PONG\r\n");
  await c.send("-ERR 'x'\r\n");
  await c.waitClosed();
  if (s.server) assert.ok(s.log.lines.some((l) => l.endsWith("Client Error 'x'")));
});

Deno.test("a stream split at every byte parses the same as whole", async () => {
  await using s = await startServer();
  const stream = 'CONNECT {"verbose":true,"pedantic":false,"headers":true}\r\n' +
    "SUB foo 1\r\nSUB bar q 2\r\nPUB foo reply 5\r\nhello\r\nHPUB bar 12 15\r\nNATS/1.0\r\n\r\nabc\r\n" +
    "UNSUB 1\r\nPUB foo 1\r\nz\r\nPING\r\n";
  const [whole] = await RawClient.connectInfo(s.port);
  await whole.send(stream);
  await whole.waitText((t) => t.endsWith("PONG\r\n"), "PONG");
  const expected = whole.text;
  await whole.close();
  assert.equal(
    expected,
    "+OK\r\n+OK\r\n+OK\r\n+OK\r\nMSG foo 1 reply 5\r\nhello\r\n+OK\r\n" +
      "HMSG bar 2 12 15\r\nNATS/1.0\r\n\r\nabc\r\n+OK\r\n+OK\r\nPONG\r\n",
  );
  const bytes = new TextEncoder().encode(stream);
  for (let cut = 1; cut < bytes.length; cut++) {
    const [c] = await RawClient.connectInfo(s.port);
    await c.send(bytes.subarray(0, cut));
    await new Promise((r) => setTimeout(r, 0));
    await c.send(bytes.subarray(cut));
    await c.waitText((t) => t.endsWith("PONG\r\n"), `PONG at cut ${cut}`);
    assert.equal(c.text, expected, `cut at ${cut}`);
    await c.close();
  }
});

Deno.test("CONNECT keeps what it leaves out: CONNECT {} stays verbose and pedantic", async () => {
  await using s = await startServer();
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send("CONNECT {}\r\nSUB x 1\r\nPUB x.* 1\r\nx\r\n");
  assert.equal(await c.roundTrip(), "+OK\r\n+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\n");
  await c.send('CONNECT {"verbose":false}\r\nSUB y 2\r\nCONNECT {"echo":false}\r\nSUB y 3\r\n');
  assert.equal(await c.roundTrip(), "");
});

Deno.test("a wildcard host serves IPv4 and IPv6 (as Go's listener does)", {
  ignore: REFERENCE,
}, async () => {
  await using s = await startServer({ host: "0.0.0.0" });
  for (const [hostname, ip] of [["127.0.0.1", "127.0.0.1"], ["::1", "::1"]]) {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname, port: s.port });
    } catch (e) {
      if (hostname === "::1") return; // no IPv6 on this machine
      throw e;
    }
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    const info = JSON.parse(new TextDecoder().decode(buf.subarray(5, n!)).trim());
    assert.equal(info.client_ip, ip);
    conn.close();
  }
});
