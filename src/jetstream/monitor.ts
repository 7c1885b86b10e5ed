/**
 * JetStream in the monitoring endpoints, as nats-server 2.9.10 shows it: /jsz (with its
 * accounts, streams, consumers, config, acc, offset and limit options), the `jetstream` block
 * of /varz and the JetStream part of /healthz. monitor.ts calls these; the JSON is built here
 * with Go's encoding (uint64 values such as an unlimited account's reservation included).
 */

import type { Server } from "../server.ts";
import { nowMs } from "../monitor/format.ts";
import { goTime } from "../go_time.ts";
import type { JszOptions } from "../monitor/jsz.ts";
import type { JsAccount } from "./jetstream.ts";
import { configJsonOf } from "./settings.ts";
import { jsError } from "./errors.ts";

const DEFAULT_LIMIT = 1024;
const U64 = 1n << 64n;

/** A Go uint64 of a value that may be negative (nats-server casts -1 to 2^64-1). */
function uint64(n: number): number | bigint {
  return n >= 0 ? n : U64 + BigInt(n);
}

/** The /varz `jetstream` block: config and stats when JetStream runs, else empty. */
export function jetstreamVarz(server: Server): Record<string, unknown> {
  const js = server.jetstream;
  if (js === null) return {};
  return { config: configJsonOf(js.config), stats: js.usageStats() };
}

/** /healthz's JetStream check: null when healthy (or not configured), else the failure. */
export function jetstreamHealth(server: Server): { status: string; error: string } | null {
  if (!server.opts.jetstream || server.jetstream !== null) return null;
  return { status: "unavailable", error: jsError("JSNotEnabledErr").message };
}

/** Whether an account has JetStream (/accountz `jetstream_enabled`). */
export function jetstreamEnabledFor(server: Server, account: string): boolean {
  return server.jetstream?.accounts.has(account) ?? false;
}

/**
 * nats-server's Jsz for these options (/jsz and `$SYS.REQ.SERVER.PING.JSZ`); the values may
 * hold bigints (uint64), which goJson writes exactly.
 */
export function jszObject(server: Server, o: JszOptions): Record<string, unknown> {
  let accounts = o.accounts;
  let streams = o.streams;
  const consumers = o.consumer;
  const config = o.config;
  const offset = o.offset;
  let limit = o.limit;
  const acc = o.account;
  if (limit === 0) limit = DEFAULT_LIMIT;
  if (consumers) streams = true;
  if (streams) accounts = true;

  const out: Record<string, unknown> = { server_id: server.id, now: goTime(nowMs()) };
  const js = server.jetstream;
  if (js === null) return out;
  out.config = configJsonOf(js.config);
  Object.assign(out, js.usageStats());
  let nStreams = 0;
  let nConsumers = 0;
  let messages = 0;
  let bytes = 0;
  for (const jsa of js.accounts.values()) {
    for (const s of jsa.streams.values()) {
      const st = s.store.state();
      nStreams++;
      messages += st.msgs;
      bytes += st.bytes;
      nConsumers += st.consumers;
    }
  }
  Object.assign(out, { streams: nStreams, consumers: nConsumers, messages, bytes });

  let list = [...js.accounts.values()];
  const match = list.find((a) => a.account.name === acc);
  if (match !== undefined) list = [match];
  else if (accounts) {
    if (offset !== 0) {
      list.sort((a, b) => (a.account.name < b.account.name ? -1 : 1));
      list = offset > list.length ? [] : list.slice(offset);
    }
    if (limit !== 0 && limit < list.length) list = list.slice(0, limit);
  } else list = [];
  if (list.length > 0) {
    out.account_details = list.map((jsa) => accountDetail(jsa, streams, consumers, config));
  }
  return out;
}

function accountDetail(
  jsa: JsAccount,
  withStreams: boolean,
  withConsumers: boolean,
  withConfig: boolean,
): Record<string, unknown> {
  const server = jsa.server;
  const d: Record<string, unknown> = {
    name: jsa.account.name,
    id: jsa.account.name,
    memory: jsa.memUsed,
    storage: jsa.storeUsed,
    reserved_memory: uint64(jsa.limits.maxMemory),
    reserved_storage: uint64(jsa.limits.maxStore),
    accounts: 0,
    ha_assets: 0,
    api: { total: jsa.apiTotal, errors: jsa.apiErrors },
  };
  if (!withStreams) return d;
  const details: Record<string, unknown>[] = [];
  for (const s of jsa.streams.values()) {
    const cluster: Record<string, unknown> = {};
    if (server.cluster) cluster.name = server.cluster.name;
    cluster.leader = server.name;
    const sd: Record<string, unknown> = {
      name: s.name,
      created: s.created,
      cluster,
    };
    if (withConfig) sd.config = s.config();
    sd.state = s.stateJson();
    if (withConsumers && s.consumers.size > 0) {
      sd.consumer_detail = [...s.consumers.values()].map((c) => {
        const info = { ...c.info() };
        if (!withConfig) delete info.config;
        return info;
      });
    }
    sd.mirror = s.mirrorInfo();
    sd.sources = s.sourcesInfo();
    details.push(sd);
  }
  if (details.length > 0) d.stream_detail = details;
  return d;
}
