/** /healthz and `$SYS.REQ.SERVER.PING.HEALTHZ`: nats-server's HealthStatus. */

import type { Server } from "../server.ts";
import { jetstreamHealth } from "../jetstream/monitor.ts";

/** nats-server's HealthzOptions. */
export interface HealthzOptions {
  jsEnabledOnly: boolean;
  jsServerOnly: boolean;
}

export function healthz(server: Server, _o: HealthzOptions): Record<string, unknown> {
  if (!server.running) return { status: "error", error: "server is not running" };
  return jetstreamHealth(server) ?? { status: "ok" };
}
