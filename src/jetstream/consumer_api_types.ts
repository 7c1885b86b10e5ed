/**
 * The seam between the `$JS.API` router (api.ts, the stream layer) and the consumer layer's
 * CONSUMER.* handlers. The router does what every request shares (account and JetStream checks,
 * counting, the audit advisory, sending the reply); a handler decodes its request, acts on the
 * stream and answers with nats-server's response object. The consumer layer registers its
 * handlers once at load time:
 *
 *   registerConsumerApi({ create, names, list, info, delete: del, recover });
 *
 * Until it does, the router answers as nats-server does for a stream without that consumer.
 * `$JS.API.CONSUMER.MSG.NEXT.*` and `$JS.ACK.>` are not routed here: consumers subscribe to
 * those themselves (internal_client.ts), as nats-server's consumers do.
 */

import type { Account } from "../accounts/account.ts";
import type { Server } from "../server.ts";
import type { JetStreamAccountLimits } from "../options.ts";
import type { StreamHandle } from "./contract.ts";

/** One CONSUMER.* request, as the router hands it over. */
export interface ConsumerApiRequest {
  /** e.g. `$JS.API.CONSUMER.INFO.ORDERS.worker`. */
  readonly subject: string;
  /** The subject's tokens: `["$JS", "API", "CONSUMER", "INFO", "ORDERS", "worker"]`. */
  readonly tokens: readonly string[];
  /** The request payload (JSON, possibly empty), headers excluded; valid during the call. */
  readonly body: Uint8Array;
  readonly account: Account;
  readonly server: Server;
  /** The account's JetStream limits (max_consumers, max_ack_pending, ...). */
  readonly limits: JetStreamAccountLimits;
  /** The JetStream domain ("" when none), for responses and advisories. */
  readonly domain: string;
  /** A stream of the request's account, or null. */
  stream(name: string): StreamHandle | null;
  /**
   * Answers with a nats-server response object (`type` first); one with an `error` member is
   * counted as an API error. Every answer also goes out as a `$JS.EVENT.ADVISORY.API` audit.
   */
  respond(response: Record<string, unknown>): void;
}

export type ConsumerApiHandler = (req: ConsumerApiRequest) => void;

export interface ConsumerApi {
  /** CONSUMER.CREATE.<stream>[.<name>[.<filter>]] and CONSUMER.DURABLE.CREATE.<stream>.<name>. */
  create: ConsumerApiHandler;
  /** CONSUMER.NAMES.<stream>. */
  names: ConsumerApiHandler;
  /** CONSUMER.LIST.<stream>. */
  list: ConsumerApiHandler;
  /** CONSUMER.INFO.<stream>.<consumer>. */
  info: ConsumerApiHandler;
  /** CONSUMER.DELETE.<stream>.<consumer>. */
  delete: ConsumerApiHandler;
  /**
   * A file stream came back after a restart: bring back its consumers from its store
   * (`stream.store.consumerNames()`), registering each in `stream.consumers`.
   */
  recover(stream: StreamHandle): void;
}

let registered: ConsumerApi | null = null;

/** Installs the consumer layer's handlers (null removes them, for tests). */
export function registerConsumerApi(api: ConsumerApi | null): void {
  registered = api;
}

/** The registered consumer handlers, or null. */
export function consumerApi(): ConsumerApi | null {
  return registered;
}
