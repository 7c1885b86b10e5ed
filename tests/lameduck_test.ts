/** Lame duck mode: clients are told (INFO ldm), no new ones are accepted, then all are closed. */

import assert from "node:assert/strict";
import { RawClient, startServer, waitFor } from "./helpers.ts";

Deno.test("lame duck mode: INFO with ldm, no new clients, then closed", async () => {
  await using s = await startServer({ lameDuckDurationMs: 300, lameDuckGracePeriodMs: 100 });
  const [c] = await RawClient.connectInfo(s.port);
  await using _c = c;
  await c.send('CONNECT {"verbose":false,"protocol":1}\r\n');
  await c.roundTrip();
  const done = s.server!.enterLameDuckMode();
  await c.waitText((t) => t.includes('"ldm":true'), "ldm INFO");
  // A new connection is refused outright, or closed without an INFO.
  const late = await RawClient.connect(s.port).catch(() => null);
  if (late) {
    await late.waitClosed(1000);
    assert.equal(late.text, "");
    await late.close();
  }
  await c.waitClosed();
  await done;
  assert.equal(s.server!.running, false);
  assert.ok(s.log.lines.some((l) => l.includes("Entering lame duck mode")));
});

Deno.test("shutdown does not hang on a client that stopped reading", async () => {
  await using s = await startServer({ writeDeadlineMs: 1500 });
  // A subscriber that reads its INFO and PONG, then never reads again.
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  await stuck.write(new TextEncoder().encode('CONNECT {"verbose":false}\r\nSUB big 1\r\nPING\r\n'));
  const buf = new Uint8Array(4096);
  let got = "";
  while (!got.includes("PONG")) {
    got += new TextDecoder().decode(buf.subarray(0, (await stuck.read(buf))!));
  }
  const [pub] = await RawClient.connectInfo(s.port);
  await using _p = pub;
  const payload = "x".repeat(64 * 1024);
  let batch = 'CONNECT {"verbose":false}\r\n';
  for (let i = 0; i < 16; i++) batch += `PUB big ${payload.length}\r\n${payload}\r\n`;
  const sending = (async () => {
    for (let i = 0; i < 16; i++) await pub.send(batch);
  })().catch(() => {});
  const c = [...s.server!.clients.values()].find((x) => x.subs.size === 1)!;
  // Wait until the server is blocked writing to the subscriber that does not read.
  await waitFor(() => c.out.writing && c.out.pending > 1024 * 1024, "a backed-up write");
  const t0 = Date.now();
  await s.server!.shutdown();
  assert.ok(Date.now() - t0 < 3000, `shutdown took ${Date.now() - t0} ms`);
  stuck.close();
  await sending;
});
