/**
 * Monitoring state that outlives any one listener: the per-path request counts /varz reports and
 * the CPU sampler. It belongs to the server, not to the HTTP listener, because /varz is also asked
 * over NATS (`$SYS.REQ.SERVER.PING.VARZ`) by servers that run no HTTP monitor at all.
 */

import type * as nodeProcess from "node:process";
import { nodeBuiltin } from "../node_builtin.ts";

export class MonitorStats {
  /** Requests per HTTP path, as /varz `http_req_stats`. */
  readonly httpReqStats = new Map<string, number>();
  #pcpu = 0;
  /** CPU used up to the last sample; the first sample counts from the process start. */
  #lastUsage = { user: 0, system: 0 };
  #lastTime = 0;

  countRequest(path: string): void {
    this.httpReqStats.set(path, (this.httpReqStats.get(path) ?? 0) + 1);
  }

  /**
   * CPU use of this process in % of one core, averaged since the previous sample. Sampled on
   * demand, at most once a second (nats-server's pse refreshes once a second too), so no timer
   * runs for it.
   */
  cpu(): number {
    const t = performance.now();
    const elapsedMs = t - this.#lastTime;
    if (elapsedMs < 1000) return this.#pcpu;
    // node:process is loaded by the first sample, not with the server (see node_builtin.ts).
    const usage = nodeBuiltin<typeof nodeProcess>("node:process").cpuUsage();
    const usedMicros = usage.user + usage.system - this.#lastUsage.user - this.#lastUsage.system;
    this.#pcpu = Math.round((usedMicros / 1000 / elapsedMs) * 1000) / 10;
    this.#lastUsage = usage;
    this.#lastTime = t;
    return this.#pcpu;
  }
}
