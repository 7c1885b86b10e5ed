/** Lame duck mode: clients are told (INFO ldm), no new ones are accepted, then all are closed. */

import assert from "node:assert/strict";
import { RawClient, startServer } from "./helpers.ts";

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
