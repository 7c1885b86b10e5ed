/**
 * JetStream in monitoring, side by side with `nats-server -js`: /jsz with its options, the /varz
 * jetstream block and /healthz, after the same streams and messages on both.
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
import { freePort } from "./process_helpers.ts";

const STEPS: Step[] = [
  '$JS.API.STREAM.CREATE.M1 {"name":"M1","subjects":["m1.*"],"max_bytes":1000000}',
  '$JS.API.STREAM.CREATE.M2 {"name":"M2","subjects":["m2"],"storage":"memory","max_msgs":5}',
  "m1.a hello",
  "m1.b world",
  "m2 x",
  "$JS.API.STREAM.INFO.nope",
];

const QUERIES = [
  "/jsz",
  "/jsz?accounts=true",
  "/jsz?streams=true",
  "/jsz?consumers=true&config=true",
  "/jsz?acc=$G&config=true",
  "/jsz?accounts=true&offset=1",
  "/jsz?accounts=true&limit=1",
  "/jsz?accounts=maybe",
  "/jsz?offset=x",
  "/healthz",
  "/healthz?js-enabled-only=true",
];

/** Memory and storage totals come from the machine and disk: placeholders. */
function scrub(text: string): string {
  return normalize(text)
    .replace(/"max_memory": \d+/g, '"max_memory": <mem>')
    .replace(/"max_storage": \d+/g, '"max_storage": <disk>')
    .replace(/"store_dir": "[^"]*"/g, '"store_dir": <dir>');
}

/** nats-server lists an account's streams in Go map order: sorted here, by name. */
function sortDetails(text: string): string {
  if (!text.includes('"stream_detail"')) return text;
  const v = JSON.parse(text);
  for (const a of v.account_details ?? []) {
    a.stream_detail?.sort((x: { name: string }, y: { name: string }) => x.name < y.name ? -1 : 1);
  }
  // Re-encoded as Go does (the uint64 reservations survive as text).
  return JSON.stringify(v, null, 2);
}

async function collect(s: JsServer, http: number): Promise<string[]> {
  const nc = await connectTo(s.port);
  await runSteps(nc, STEPS);
  await nc.close();
  const out: string[] = [];
  for (const q of QUERIES) {
    const r = await fetch(`http://127.0.0.1:${http}${q}`);
    out.push(`${q} ${r.status} ${scrub(sortDetails(await r.text()))}`);
  }
  const varz = await (await fetch(`http://127.0.0.1:${http}/varz`)).json();
  out.push(`varz.jetstream ${scrub(JSON.stringify(varz.jetstream, null, 2))}`);
  return out;
}

Deno.test("/jsz, /varz jetstream and /healthz: same JSON as nats-server", async () => {
  const http = freePort();
  await using ours = await startJs({ httpPort: http, httpHost: "127.0.0.1" });
  const mine = await collect(ours, http);
  assert.match(mine[0], /"streams": 2/);
  if (!HAVE_NATS_SERVER) return;
  const refHttp = freePort();
  await using ref = await startRefJs("", undefined, ["-m", String(refHttp)]);
  const theirs = await collect(ref, refHttp);
  if (Deno.env.get("JS_DEBUG")) console.log(mine.join("\n"));
  assert.deepEqual(mine, theirs);
});

Deno.test("/jsz and /healthz without JetStream", async () => {
  const http = freePort();
  await using ours = await startJs({ jetstream: false, httpPort: http, httpHost: "127.0.0.1" });
  const jsz = await (await fetch(`http://127.0.0.1:${http}/jsz`)).json();
  assert.equal(jsz.disabled, true);
  const h = await fetch(`http://127.0.0.1:${http}/healthz`);
  assert.equal(h.status, 200);
  await h.body?.cancel();
  assert.equal(ours.server?.jetstream, null);
});
