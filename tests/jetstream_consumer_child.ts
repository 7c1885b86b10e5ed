/**
 * Child process for the consumer SIGKILL test in jetstream_consumer_test.ts: a server on the
 * given port with the test stream layer over a file store in `dir` (stream S on `s.>`), which
 * recovers the stream and its consumers when the directory already holds them. It prints
 * "ready" once listening and runs until killed.
 *
 *   deno run -A tests/jetstream_consumer_child.ts <dir> <port>
 */

import { defaultOptions, mergeOptions } from "../src/options.ts";
import { type Logger, Server } from "../src/server.ts";
import { TestJetStream } from "./jetstream_test_stream.ts";

const [dir, port] = Deno.args;
const quiet: Logger = {
  debugEnabled: false,
  traceEnabled: false,
  notice() {},
  warn() {},
  error: (m) => console.error(m),
  fatal: (m) => console.error(m),
  debug() {},
  trace() {},
};
const server = await Server.create(
  mergeOptions(defaultOptions(), { host: "127.0.0.1", port: Number(port) }),
  quiet,
);
await server.start();
const js = new TestJetStream(server, server.globalAccount, dir);
js.addStream({ name: "S", subjects: ["s.>"], storage: "file" });
console.log("ready");
