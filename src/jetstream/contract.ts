/**
 * The seam between JetStream's stream layer (streams, the `$JS.API` router, publish ingest:
 * src/jetstream/stream.ts, api.ts, ...) and its consumer layer (delivery state, acks,
 * redelivery, pull requests, push flow control: src/jetstream/consumer.ts, ...). Both layers are
 * built against these shapes, so each can be tested alone (the consumer layer with a small
 * test stream over a MemoryStore) and wired together without either reaching into the other.
 *
 * JSON shapes (configs, infos) are nats-server 2.9's, snake_case, as on the wire.
 */

import type { Account } from "../accounts/account.ts";
import type { Server } from "../server.ts";
import type { StreamStore } from "./store/types.ts";

/** nats-server's StreamConfig as JSON (only the fields the consumer layer reads are typed). */
export interface StreamConfigJson {
  name: string;
  subjects?: string[];
  retention: "limits" | "interest" | "workqueue";
  storage: "file" | "memory";
  [key: string]: unknown;
}

/** What a consumer needs from the stream it reads. */
export interface StreamHandle {
  readonly name: string;
  readonly account: Account;
  readonly server: Server;
  readonly store: StreamStore;
  config(): StreamConfigJson;
  /**
   * Called after each message is stored (sequence and subject), synchronously, in order. The
   * returned function unregisters. Consumers deliver from the store, not from this call's
   * arguments, so nothing is copied.
   */
  onStored(listener: (seq: number, subject: string) => void): () => void;
  /**
   * Interest and work-queue retention: a consumer tells the stream a message is acknowledged
   * (or no longer of interest to it); the stream removes it when no consumer needs it anymore.
   */
  acked(consumer: ConsumerHandle, seq: number): void;
  /** The consumers of this stream, by name. */
  readonly consumers: Map<string, ConsumerHandle>;
}

/** What the stream layer (and the API router) needs from a consumer. */
export interface ConsumerHandle {
  readonly name: string;
  readonly stream: StreamHandle;
  /** nats-server's ConsumerConfig JSON as the consumer runs with it. */
  config(): Record<string, unknown>;
  /** nats-server's ConsumerInfo JSON (stream_name, name, created, config, delivered, ...). */
  info(): Record<string, unknown>;
  /** Interest retention: whether this consumer still needs the message at `seq`. */
  needs(seq: number, subject: string): boolean;
  /** The stream was purged: pending and ack floors move on (0: everything went). */
  purged(firstSeq: number): void;
  /**
   * One message left the stream (limits, max age, MSG.DELETE, retention): num_pending drops and
   * a delivery still pending for it is terminated, as nats-server does.
   */
  removed(seq: number, subject: string): void;
  /** Stops delivery and timers (server shutdown); state stays in the store. */
  stop(): void;
  /** Stops and removes the consumer's state (CONSUMER.DELETE, stream delete). */
  delete(): void;
}
