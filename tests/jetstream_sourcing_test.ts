/**
 * Mirrors and sources (same account), side by side with `nats-server -js`: what lands in the
 * mirror (origin sequences, filter, start sequence), what a sourcing stream holds (new
 * sequences, the Nats-Stream-Source tag), a missing origin reported then picked up, and the
 * stream info's mirror / sources blocks; after a restart a source resumes where it was.
 */

import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  connectTo,
  HAVE_NATS_SERVER,
  type JsServer,
  normalize,
  runSteps,
  startJs,
  startRefJs,
} from "./jetstream_helpers.ts";
import { waitFor } from "./helpers.ts";

/** Waits until the stream holds `msgs` messages; returns its info, normalized. */
async function until(nc: NatsConnection, stream: string, msgs: number): Promise<string> {
  let last = "";
  await waitFor(async () => {
    [last] = await runSteps(nc, [`$JS.API.STREAM.INFO.${stream}`]);
    return last.includes(`"messages":${msgs},`);
  }, `${stream} to hold ${msgs} messages: ${last}`);
  return scrub(last);
}

/** Activity times vary by nature. */
function scrub(text: string): string {
  return normalize(text).replace(/"active":\d+/g, '"active":<ns>');
}

async function scenario(s: JsServer): Promise<string[]> {
  const nc = await connectTo(s.port);
  const out: string[] = [];
  const step = async (...steps: string[]) => out.push(...(await runSteps(nc, steps)).map(scrub));
  await step(
    '$JS.API.STREAM.CREATE.O {"name":"O","subjects":["o.*"]}',
    "o.a 1",
    "o.b 2",
    "o.a 3",
    "o.b 4",
    "o.a 5",
    '$JS.API.STREAM.MSG.DELETE.O {"seq":2}',
    '$JS.API.STREAM.CREATE.M {"name":"M","mirror":{"name":"O"}}',
  );
  out.push(await until(nc, "M", 4));
  await step("o.b 6", "o.a 7");
  out.push(await until(nc, "M", 6));
  await step(
    '$JS.API.STREAM.MSG.GET.M {"seq":7}',
    '$JS.API.STREAM.CREATE.F {"name":"F","mirror":{"name":"O","filter_subject":"o.a","opt_start_seq":3}}',
  );
  out.push(await until(nc, "F", 3));
  await step(
    '$JS.API.STREAM.CREATE.S {"name":"S","subjects":["s"],"sources":[{"name":"O","filter_subject":"o.b"}]}',
  );
  out.push(await until(nc, "S", 2));
  await step("s own", '$JS.API.STREAM.MSG.GET.S {"seq":1}', '$JS.API.STREAM.MSG.GET.S {"seq":3}');
  await step('$JS.API.STREAM.CREATE.W {"name":"W","mirror":{"name":"LATER"}}');
  // The missing origin shows as an error once the mirror tried to reach it.
  let info = "";
  await waitFor(async () => {
    [info] = await runSteps(nc, ["$JS.API.STREAM.INFO.W"]);
    return info.includes('"error"');
  }, "the mirror's error");
  out.push(scrub(info));
  await step('$JS.API.STREAM.CREATE.LATER {"name":"LATER","subjects":["later"]}', "later x");
  out.push(await until(nc, "W", 1));
  await step(
    '$JS.API.STREAM.CREATE.BAD {"name":"BAD","subjects":["x"],"mirror":{"name":"O"}}',
    '$JS.API.STREAM.CREATE.BAD {"name":"BAD","mirror":{"name":"O"},"sources":[{"name":"O"}]}',
    '$JS.API.STREAM.CREATE.BAD {"name":"BAD","mirror":{"name":"O","filter_subject":"zzz"}}',
    '$JS.API.STREAM.UPDATE.M {"name":"M","mirror":{"name":"LATER"}}',
  );
  await nc.close();
  return out;
}

Deno.test("mirrors and sources: same streams and info as nats-server", async () => {
  await using ours = await startJs();
  const mine = await scenario(ours);
  if (Deno.env.get("JS_DEBUG")) console.log(mine.join("\n"));
  assert.ok(mine.some((l) => l.includes('"mirror":{"name":"O","lag":0,"active":<ns>}')));
  if (!HAVE_NATS_SERVER) return;
  await using ref = await startRefJs();
  assert.deepEqual(mine, await scenario(ref));
});

Deno.test("a source resumes after a restart where it left off", async () => {
  const dir = await Deno.makeTempDir({ prefix: "js_src_" });
  try {
    {
      const s = await startJs({}, dir);
      const nc = await connectTo(s.port);
      await runSteps(nc, [
        '$JS.API.STREAM.CREATE.O {"name":"O","subjects":["o"]}',
        "o 1",
        "o 2",
        '$JS.API.STREAM.CREATE.S {"name":"S","sources":[{"name":"O"}]}',
      ]);
      await until(nc, "S", 2);
      await nc.close();
      await s.stop();
    }
    await using s = await startJs({}, dir);
    const nc = await connectTo(s.port);
    await runSteps(nc, ["o 3"]);
    const info = await until(nc, "S", 3);
    assert.match(info, /"last_seq":3/);
    const [m] = await runSteps(nc, ['$JS.API.STREAM.MSG.GET.S {"seq":3}']);
    const hdrs = atob(JSON.parse(m.slice(m.indexOf("{"))).message.hdrs);
    assert.equal(hdrs, "NATS/1.0\r\nNats-Stream-Source: O 3\r\n\r\n");
    await nc.close();
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
