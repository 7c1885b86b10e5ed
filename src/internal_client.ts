/**
 * In-process clients with no socket: the one mechanism behind every server-side subscriber
 * (service and stream imports, service replies, the system account's services, and JetStream's
 * API when it lands). Their subscriptions live in the sublist like any other, so interest
 * propagates over routes as usual; a delivery calls a handler instead of filling an outbound
 * buffer. Handlers run after the publishing message has been fully routed (Server.deferInternal),
 * so a handler may publish in turn without disturbing the routing in progress.
 */

import { Client, type ClientSub } from "./client.ts";
import type { PubArg } from "./parser.ts";
import type { Server } from "./server.ts";
import type { Account } from "./accounts/account.ts";
import { bytesOf } from "./sublist.ts";
import type { Transport } from "./transport.ts";

/** nats-server's connection kinds for internal clients. */
export const SYSTEM = 3;
export const ACCOUNT = 6;

/**
 * Called with the message as it was routed: `from` is the publishing connection (a route for
 * messages from other servers), `src`/`pa` the bytes and arguments (valid during the call only).
 */
export type InternalHandler = (
  sub: ClientSub,
  from: Client,
  src: Uint8Array,
  pa: PubArg,
) => void;

const NO_CONN: Transport = {
  read: () => Promise.resolve(null),
  write: (b) => Promise.resolve(b.length),
  close: () => {},
};

let sidCounter = 0;
const enc = new TextEncoder();

export class InternalClient extends Client {
  override readonly kind: number;
  readonly #handlers = new Map<ClientSub, InternalHandler>();

  constructor(server: Server, account: Account, kind = ACCOUNT) {
    super(server, NO_CONN, { host: "", port: 0 }, server.nextId());
    this.kind = kind;
    this.account = account;
    this.connectReceived = true;
    this.opts.verbose = false;
    this.opts.pedantic = false;
    this.opts.headers = true;
  }

  /** Subscribes in this client's account; the handler runs for each message. */
  subscribe(subject: string, handler: InternalHandler, queue = ""): ClientSub {
    const sid = String(++sidCounter);
    const sub: ClientSub = {
      client: this,
      subject,
      queue,
      sid,
      sidBytes: bytesOf(enc.encode(sid)),
      max: 0,
      delivered: 0,
      closed: false,
    };
    this.subs.set(sid, sub);
    this.#handlers.set(sub, handler);
    this.server.addSubscription(sub);
    return sub;
  }

  unsubscribe(sub: ClientSub): void {
    this.#handlers.delete(sub);
    this.removeSub(sub);
  }

  /** Drops every subscription (the account is going away or being rebuilt). */
  unsubscribeAll(): void {
    for (const sub of [...this.subs.values()]) this.unsubscribe(sub);
  }

  override deliver(sub: ClientSub, src: Uint8Array, pa: PubArg, from?: Client): boolean {
    const h = this.#handlers.get(sub);
    if (h === undefined || from === undefined) return false;
    this.server.deferInternal(h, sub, from, src, pa);
    return true;
  }

  override queue(_bytes: Uint8Array): void {
    // Nothing is ever written to an internal client.
  }
}
