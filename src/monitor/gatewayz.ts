/** /gatewayz and `$SYS.REQ.SERVER.PING.GATEWAYZ`: answered as nats-server without gateways. */

import type { Server } from "../server.ts";
import { nowMs } from "./format.ts";
import { goTime } from "../go_time.ts";

/** nats-server's GatewayzOptions (no gateways here, so they select nothing). */
export interface GatewayzOptions {
  name: string;
  accounts: boolean;
  accountName: string;
}

export function gatewayz(server: Server, _o: GatewayzOptions): Record<string, unknown> {
  return {
    server_id: server.id,
    now: goTime(nowMs()),
    outbound_gateways: {},
    inbound_gateways: {},
  };
}
