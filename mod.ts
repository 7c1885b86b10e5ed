/**
 * A NATS server inside your own Deno process: for test suites that would otherwise spawn the Go
 * binary or a container. Each server listens on 127.0.0.1 and a free port, is configured with the
 * nats-server config file's own keys, and is shut down by `await using` (or `stop()`), leaving
 * nothing open behind it, so Deno's test sanitizers stay quiet. Servers share nothing: start as
 * many as a test needs, or a whole cluster.
 *
 * ```ts
 * import { startServer } from "@nats-server-deno/server";
 * import { connect } from "@nats-io/transport-node";
 *
 * Deno.test("request/reply", async () => {
 *   await using server = await startServer({ authorization: { token: "s3cret" } });
 *   const nc = await connect({ servers: server.url, token: "s3cret" });
 *   nc.subscribe("echo", { callback: (_err, m) => void m.respond(m.data) });
 *   const reply = await nc.request("echo", "hi");
 *   console.log(reply.string()); // "hi"
 *   await nc.close();
 * });
 * ```
 *
 * The server behaves as nats-server 2.9.10 does (INFO `version` says so, since clients gate
 * features on it); `RELEASE_VERSION` is this package's own version.
 *
 * @module
 */

export {
  type ClusterOptions,
  type ConfigObject,
  type ConfigValue,
  EmbedConfigError,
  type LogDestination,
  NatsCluster,
  NatsServer,
  type ServerConfig,
  startCluster,
  type StartOptions,
  startServer,
} from "./src/embed.ts";
export { ConfigError } from "./src/config.ts";
export { StartError } from "./src/server.ts";
export { RELEASE_VERSION } from "./src/version.ts";
/** The nats-server version this server behaves as (INFO and /varz `version`). */
export { VERSION as NATS_SERVER_VERSION } from "./src/options.ts";
