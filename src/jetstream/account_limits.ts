/**
 * An account's JetStream limits as nats-server 2.9.10 counts them: what they reserve of the
 * server's memory and storage (every tier's, for tiered limits), how much more an update asks for
 * (diffCheckedLimits), and their JSON in account info, tiers included. Tiered limits come from
 * account JWTs (`tiered_limits`); this server's streams are all in tier R1.
 */

import type { Account } from "../accounts/account.ts";
import type { JetStreamAccountLimits } from "../options.ts";
import type { Server } from "../server.ts";

export const ZERO_LIMITS: JetStreamAccountLimits = {
  maxMemory: 0,
  maxStore: 0,
  maxStreams: 0,
  maxConsumers: 0,
  maxAckPending: 0,
  memoryMaxStreamBytes: 0,
  storeMaxStreamBytes: 0,
  maxBytesRequired: false,
};

/** The memory and storage limits reserve: their positive values, summed over tiers. */
export function reservedBy(l: JetStreamAccountLimits): [number, number] {
  let mem = 0;
  let store = 0;
  for (const t of l.tiers ? Object.values(l.tiers) : [l]) {
    if (t.maxMemory > 0) mem += t.maxMemory;
    if (t.maxStore > 0) store += t.maxStore;
  }
  return [mem, store];
}

/**
 * What an update from `from` to `to` reserves more (nats-server's diffCheckedLimits tier by tier,
 * then the positive differences summed, as sufficientResources sums them).
 */
export function growth(from: JetStreamAccountLimits, to: JetStreamAccountLimits): [number, number] {
  const tiers = (l: JetStreamAccountLimits) => l.tiers ?? { "": l };
  const a = tiers(from);
  const b = tiers(to);
  let mem = 0;
  let store = 0;
  for (const t of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const dm = (b[t]?.maxMemory ?? 0) - (a[t]?.maxMemory ?? 0);
    const ds = (b[t]?.maxStore ?? 0) - (a[t]?.maxStore ?? 0);
    if (dm > 0) mem += dm;
    if (ds > 0) store += ds;
  }
  return [mem, store];
}

/** nats-server's JetStreamAccountLimits JSON. */
export function limitsJson(l: JetStreamAccountLimits): Record<string, unknown> {
  return {
    max_memory: l.maxMemory,
    max_storage: l.maxStore,
    max_streams: l.maxStreams,
    max_consumers: l.maxConsumers,
    max_ack_pending: l.maxAckPending,
    memory_max_stream_bytes: l.memoryMaxStreamBytes,
    storage_max_stream_bytes: l.storeMaxStreamBytes,
    max_bytes_required: l.maxBytesRequired,
  };
}

/** What the account uses (all of it in tier R1). */
export interface TierUsage {
  memory: number;
  storage: number;
  streams: number;
  consumers: number;
}

/**
 * Account info's `tiers`: each tier of the limits (in Go's sorted key order) with its usage, and
 * R1 even without limits once streams use it, as nats-server lists it.
 */
export function tiersJson(
  tiers: Record<string, JetStreamAccountLimits>,
  used: TierUsage,
): Record<string, unknown> {
  const names = Object.keys(tiers);
  if (used.streams > 0 && !names.includes("R1")) names.push("R1");
  const none = { memory: 0, storage: 0, streams: 0, consumers: 0 };
  const out: Record<string, unknown> = {};
  for (const t of names.sort()) {
    out[t] = { ...(t === "R1" ? used : none), limits: limitsJson(tiers[t] ?? ZERO_LIMITS) };
  }
  return out;
}

/**
 * The JetStream limits configured for an account (in the config, or in its account JWT), or
 * null (not enabled for it).
 */
export function accountLimits(server: Server, acc: Account): JetStreamAccountLimits | null {
  if (acc.jwt !== null) return acc.jwt.jetstream;
  const a = server.opts.accounts.find((x) => x.name === acc.name);
  return a?.jetstreamLimits ?? null;
}
