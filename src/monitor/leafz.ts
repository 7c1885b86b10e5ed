/** /leafz and `$SYS.REQ.SERVER.PING.LEAFZ`: answered as nats-server without leafnodes. */

import type { Server } from "../server.ts";
import { goTime, nowMs } from "./format.ts";

/** nats-server's LeafzOptions. */
export interface LeafzOptions {
  subscriptions: boolean;
  account: string;
}

export function leafz(server: Server, _o: LeafzOptions): Record<string, unknown> {
  return { server_id: server.id, now: goTime(nowMs()), leafnodes: 0, leafs: null };
}
