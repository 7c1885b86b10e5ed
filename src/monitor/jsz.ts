/**
 * /jsz and `$SYS.REQ.SERVER.PING.JSZ` / `$SYS.REQ.ACCOUNT.<acc>.JSZ`: JetStream's own builder
 * (src/jetstream/monitor.ts) when it runs, else nats-server's answer with JetStream disabled.
 */

import type { Server } from "../server.ts";
import { jszObject } from "../jetstream/monitor.ts";
import { nowMs, QueryError, SkipResponse } from "./format.ts";
import { goTime } from "../go_time.ts";

/** nats-server's JSzOptions. */
export interface JszOptions {
  account: string;
  accounts: boolean;
  streams: boolean;
  consumer: boolean;
  config: boolean;
  leaderOnly: boolean;
  offset: number;
  limit: number;
}

export function defaultJszOptions(): JszOptions {
  return {
    account: "",
    accounts: false,
    streams: false,
    consumer: false,
    config: false,
    leaderOnly: false,
    offset: 0,
    limit: 0,
  };
}

export function jsz(server: Server, o: JszOptions): Record<string, unknown> {
  if (server.jetstream !== null) return jszObject(server, o);
  // Without JetStream, only a leader may answer and there is none.
  if (o.leaderOnly) throw new SkipResponse("filtered response: not leader");
  return {
    server_id: server.id,
    now: goTime(nowMs()),
    disabled: true,
    config: { max_memory: 0, max_storage: 0 },
    memory: 0,
    storage: 0,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts: 0,
    ha_assets: 0,
    api: { total: 0, errors: 0 },
    streams: 0,
    consumers: 0,
    messages: 0,
    bytes: 0,
  };
}

/** One account's JetStream detail (`$SYS.REQ.ACCOUNT.<acc>.JSZ`). */
export function jszAccount(_server: Server, _o: JszOptions): Record<string, unknown> {
  throw new QueryError("jetstream not enabled");
}
