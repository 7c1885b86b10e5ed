/** /leafz and `$SYS.REQ.SERVER.PING.LEAFZ`: the leafnode connections (src/leafnode/monitor.ts). */

import type { Server } from "../server.ts";
import { leafzObject } from "../leafnode/monitor.ts";

/** nats-server's LeafzOptions. */
export interface LeafzOptions {
  subscriptions: boolean;
  account: string;
}

export function leafz(server: Server, o: LeafzOptions): Record<string, unknown> {
  return leafzObject(server, o.subscriptions, o.account);
}
