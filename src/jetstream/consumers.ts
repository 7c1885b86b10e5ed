/**
 * Where the `$JS.API` router (api.ts) and stream recovery (jetstream.ts) meet the consumer layer
 * (consumer_api.ts): the context the consumer handlers need from a JetStream account, built in
 * one place.
 */

import type { Server } from "../server.ts";
import type { StreamHandle } from "./contract.ts";
import type { JsAccount } from "./jetstream.ts";
import {
  type ConsumerApiContext,
  consumerCreateRequest,
  consumerDeleteRequest,
  consumerInfoRequest,
  consumerListRequest,
  consumerNamesRequest,
  recoverConsumers,
  restoreConsumer,
} from "./consumer_api.ts";
import type { ConsumerMeta } from "./consumer_config.ts";

export type ConsumerOp = "create" | "names" | "list" | "info" | "delete";

/** The CONSUMER.* handlers; null from create means "no reply" (a subject nats-server ignores). */
export const CONSUMER_HANDLERS: Record<
  ConsumerOp,
  (ctx: ConsumerApiContext, subject: string, body: Uint8Array) => Record<string, unknown> | null
> = {
  create: consumerCreateRequest,
  names: consumerNamesRequest,
  list: consumerListRequest,
  info: consumerInfoRequest,
  delete: consumerDeleteRequest,
};

/** What the consumer layer needs from an account's JetStream. */
export function consumerContext(
  server: Server,
  jsa: JsAccount,
  domain: string,
): ConsumerApiContext {
  const o = server.opts;
  return {
    lookupStream: (name) => jsa.streams.get(name),
    limits: {
      maxAckPending: o.jetstreamMaxAckPending,
      maxRequestBatch: o.jetstreamMaxRequestBatch,
      accountMaxAckPending: jsa.limits.maxAckPending > 0 ? jsa.limits.maxAckPending : 0,
      accountMaxConsumers: jsa.limits.maxConsumers,
    },
    domain,
    // A stream fed by a mirror or sources gets subjects from elsewhere: the filter check is
    // skipped, as nats-server skips it for subjects it cannot see.
    sourceSubjects: (s: StreamHandle) => {
      const c = s.config();
      const fed = c.mirror !== undefined && c.mirror !== null ||
        Array.isArray(c.sources) && c.sources.length > 0;
      return { subjects: c.subjects ?? [], external: fed };
    },
    maxPayload: o.maxPayload,
  };
}

/** A file stream came back after a restart: its consumers come back too. */
export function recoverStreamConsumers(server: Server, jsa: JsAccount, stream: StreamHandle) {
  const { lookupStream: _, ...ctx } = consumerContext(server, jsa, jsa.js.config.domain);
  recoverConsumers(stream, ctx);
}

/**
 * A stream restore: one consumer recreated from its config over the state already in the
 * stream's store (left open there). Throws with nats-server's text when it cannot be.
 */
export function restoreStreamConsumer(
  server: Server,
  jsa: JsAccount,
  stream: StreamHandle,
  meta: ConsumerMeta,
): void {
  const { lookupStream: _, ...ctx } = consumerContext(server, jsa, jsa.js.config.domain);
  const o = restoreConsumer(stream, meta.name, meta, ctx);
  if (o === null || o instanceof Error) {
    const why = o === null ? "bad consumer config" : o.message;
    throw new Error(`error restoring consumer [${JSON.stringify(meta.name)}]: ${why}`);
  }
}
