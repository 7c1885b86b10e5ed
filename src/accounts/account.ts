/**
 * An account: an isolated subject space. Every connection belongs to one (clients without auth
 * to the global account `$G`), and routing a message is "match in the publisher's account",
 * so the per-message cost of accounts is one pointer read (client.account), never a lookup.
 * Exports, imports and mappings are what lets messages cross from one account to another; see
 * imports.ts for how they are wired as internal subscriptions.
 */

import { Sublist } from "../sublist.ts";
import type { Client, ClientSub } from "../client.ts";
import type {
  AccountLimits,
  Permissions,
  ResponseType,
  ServiceExportOptions,
  StreamExportOptions,
} from "../options.ts";
import type { InternalClient } from "../internal_client.ts";
import type { AccountJwt } from "../operator/state.ts";

export { DEFAULT_SYSTEM_ACCOUNT, GLOBAL_ACCOUNT } from "../options.ts";

/**
 * Maps a published subject (mapping.ts): null when no mapping applies, "" when the mapping drops
 * the message, else the new subject. `cluster` selects cluster-scoped destinations.
 */
export interface SubjectMapper {
  map(subject: string, cluster?: string): string | null;
}

/**
 * A pending reply of a service import: the exporter's responder answers on `from` (a `_R_.`
 * subject in the exporting account), and the answer goes to `to` in the requester's account.
 */
export interface ResponseImport {
  from: string;
  to: string;
  dest: Account;
  type: ResponseType;
  thresholdMs: number;
  /** Last time this reply was used (ms); stream and chunked replies live while in use. */
  ts: number;
}

/**
 * An account that imports some of this account's subjects as a stream: `rename` gives the
 * subject a message on `subject` (which may hold wildcards) is delivered under there.
 */
export interface StreamImporter {
  importer: Account;
  subject: string;
  rename(subject: string): string;
  /** The import's subscription in this account (closed once the import is gone). */
  sub: ClientSub;
}

/**
 * Told when a subscription is added to or removed from an account: a local one, or interest
 * from a route or leafnode (JetStream push consumers watch these).
 */
export type InterestWatcher = (sub: ClientSub, added: boolean, acc: Account) => void;

export const NO_LIMITS: AccountLimits = {
  maxConnections: -1,
  maxSubscriptions: -1,
  maxPayload: -1,
  maxLeafnodes: -1,
};

const enc = new TextEncoder();
const REPLY_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export class Account {
  readonly name: string;
  /** The name as bytes, written into every RMSG for this account. */
  readonly nameBytes: Uint8Array;
  readonly sublist = new Sublist<Client>();
  /** Local client connections (not routes, not internal clients). */
  readonly clients = new Set<Client>();
  nkey = "";
  limits: AccountLimits = NO_LIMITS;
  defaultPermissions: Permissions | undefined;
  mappings: SubjectMapper | null = null;
  streamExports: StreamExportOptions[] = [];
  serviceExports: ServiceExportOptions[] = [];
  /** Replies of service imports answered by this (exporting) account, by `_R_.` subject. */
  readonly responses = new Map<string, ResponseImport>();
  /** `_R_.xxxxxx.`: the prefix of this account's service replies, made when first needed. */
  replyPrefix = "";
  /** Accounts importing from this one as a stream (push consumers watch their interest). */
  streamImporters: StreamImporter[] = [];
  /** Subscriptions made for this account's imports (some live in the exporters). */
  importSubs: ClientSub[] = [];
  /** The wildcard subscription on replyPrefix + ">" answering this account's service replies. */
  responseSub: ClientSub | null = null;
  /** Holds this account's internal subscriptions (imports, system services); made on demand. */
  internal: InternalClient | null = null;
  /** Watchers of local interest changes; null (no cost) until someone watches. */
  interestWatchers: Set<InterestWatcher> | null = null;
  /** Operator mode: the account JWT this account was made from (src/operator/). */
  jwt: AccountJwt | null = null;
  // Traffic counters, as /accstatz reports them.
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  slowConsumers = 0;
  readonly created = new Date();

  constructor(name: string) {
    this.name = name;
    this.nameBytes = enc.encode(name);
  }

  /** A fresh reply subject under this account's `_R_.` prefix (nats-server's shape). */
  newServiceReply(): string {
    if (this.replyPrefix === "") this.replyPrefix = "_R_." + randomToken(6) + ".";
    return this.replyPrefix + randomToken(6);
  }

  /** Tells the interest watchers, if any, that `sub` came or went. */
  notifyInterest(sub: ClientSub, added: boolean): void {
    if (this.interestWatchers === null) return;
    for (const w of this.interestWatchers) w(sub, added, this);
  }

  /** Subscriptions in this account, local and remote interest alike. */
  get subscriptionCount(): number {
    return this.sublist.count;
  }
}

function randomToken(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = "";
  for (const b of bytes) s += REPLY_DIGITS[b % 62];
  return s;
}
