/**
 * The official Go client (nats.go as Debian packages it), unchanged, against our server: a
 * scenario of stream management, publishing with expectations, async publish, get (direct
 * too), delete and purge (tests/go/jsclient), whose output must equal what it prints against
 * nats-server -js. Skipped where Go or its nats.go package is not installed.
 */

import assert from "node:assert/strict";
import { HAVE_NATS_SERVER, startJs, startRefJs } from "./jetstream_helpers.ts";

const GOPATH = "/usr/share/gocode";
const SRC = new URL("./go/jsclient/", import.meta.url).pathname;

async function haveGo(): Promise<boolean> {
  try {
    await Deno.stat(`${GOPATH}/src/github.com/nats-io/nats.go/js.go`);
    const out = await new Deno.Command("go", { args: ["version"], stdout: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

async function build(dir: string): Promise<string> {
  const bin = `${dir}/jsclient`;
  const out = await new Deno.Command("go", {
    args: ["build", "-o", bin, "."],
    cwd: SRC,
    env: { GO111MODULE: "off", GOPATH, GOCACHE: `${dir}/cache`, HOME: dir },
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return bin;
}

async function run(bin: string, port: number): Promise<string[]> {
  const out = await new Deno.Command(bin, {
    args: [`nats://127.0.0.1:${port}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, text);
  return text.trim().split("\n");
}

Deno.test({
  name: "the Go client's JetStream API works unchanged, as against nats-server",
  ignore: !(await haveGo()),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "js_go_" });
    try {
      const bin = await build(dir);
      await using ours = await startJs();
      const mine = await run(bin, ours.port);
      assert.ok(mine.includes("publish: GO 1 dup=false"), mine.join("\n"));
      if (!HAVE_NATS_SERVER) return;
      await using ref = await startRefJs();
      assert.deepEqual(mine, await run(bin, ref.port));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
