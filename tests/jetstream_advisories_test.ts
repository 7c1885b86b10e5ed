/**
 * JetStream advisories, side by side with `nats-server -js`: stream created / updated / deleted
 * and the API audit of every request, with the same subjects and JSON.
 */

import assert from "node:assert/strict";
import {
  connectTo,
  HAVE_NATS_SERVER,
  type JsServer,
  normalize,
  runSteps,
  startJs,
  startRefJs,
  type Step,
} from "./jetstream_helpers.ts";
import { waitFor } from "./helpers.ts";

const dec = new TextDecoder();

const STEPS: Step[] = [
  '$JS.API.STREAM.CREATE.A {"name":"A","subjects":["a.>"]}',
  '$JS.API.STREAM.UPDATE.A {"name":"A","subjects":["a.>","b"]}',
  "a.x payload",
  '$JS.API.STREAM.MSG.GET.A {"seq":1}',
  '$JS.API.STREAM.MSG.GET.A {"seq":7}',
  "$JS.API.STREAM.INFO.nope",
  "$JS.API.STREAM.DELETE.A",
];

/** Events seen while the steps run (sorted: nats-server sends them from several queues). */
async function events(s: JsServer): Promise<string[]> {
  const nc = await connectTo(s.port);
  const seen: string[] = [];
  const sub = nc.subscribe("$JS.EVENT.>", {
    callback: (_e, m) => {
      seen.push(normalize(`${m.subject} ${dec.decode(m.data)}`));
    },
  });
  await nc.flush();
  const other = await connectTo(s.port);
  await runSteps(other, STEPS);
  await waitFor(() => seen.length >= 8, "8 advisories");
  await other.close();
  sub.unsubscribe();
  await nc.close();
  return seen.sort();
}

Deno.test("stream action and API audit advisories: same as nats-server", async () => {
  await using ours = await startJs();
  const mine = await events(ours);
  assert.ok(mine.some((l) => l.startsWith("$JS.EVENT.ADVISORY.STREAM.CREATED.A ")));
  if (!HAVE_NATS_SERVER) return;
  await using ref = await startRefJs();
  assert.deepEqual(mine, await events(ref));
});
