/**
 * What operator mode keeps on an account made from an account JWT and on a client that logged
 * in with a user JWT (Account.jwt, Client.jwt). Connections and accounts of a server that is not
 * in operator mode carry null there and pay nothing else.
 */

import type { AccountClaims, Import, UserClaims, UserScope } from "../jwt/types.ts";
import type { JetStreamAccountLimits } from "../options.ts";
import type { InstalledImport } from "./import_checks.ts";

/** An account backed by an account JWT (nats-server's claimJWT and the fields it sets). */
export interface AccountJwt {
  /** The JWT as received (empty for the bootstrapping system account placeholder). */
  jwt: string;
  claims: AccountClaims | null;
  /** Who signed the account JWT: the operator or one of its signing keys. */
  issuer: string;
  /** Keys that may issue users: the signing keys and (unless strict) the account key itself. */
  signingKeys: Map<string, UserScope | null>;
  /** Revoked user keys (or "*") with the time before which their JWTs are revoked. */
  revocations: Record<string, number> | null;
  disallowBearer: boolean;
  expired: boolean;
  expiryTimer: number | undefined;
  /** Some import could not be set up yet (its exporter missing or not allowing it). */
  incomplete: boolean;
  /** When the claims were last applied (ms), as /accountz's update_time shows. */
  updated: number;
  /** Activation token expiries pending for this account's imports. */
  activationTimers: number[];
  /** Imports whose activation expired (shown invalid in /accountz). */
  invalidImports: Set<Import>;
  /** The claims' imports installed now (import_checks.ts searches them for cycles). */
  serviceImports: InstalledImport[];
  streamImports: InstalledImport[];
  /** The JWT's JetStream limits; null when they do not enable JetStream. */
  jetstream: JetStreamAccountLimits | null;
}

/** A client logged in with a user JWT. */
export interface ClientJwt {
  jwt: string;
  /** The user claims, with a scoped signing key's template in place of the user's own limits. */
  claims: UserClaims;
  /** The signing key that issued the user (when not the account key): nats-server's SigningKey. */
  signingKey: string;
  /** The user's own limits; -1 unlimited. */
  limits: { subs: number; payload: number };
  /** Closes the connection when the JWT expires or its connect window ends. */
  expiryTimer: number | undefined;
}

/** A fresh AccountJwt for claims issued by `issuer`. */
export function newAccountJwt(issuer: string): AccountJwt {
  return {
    jwt: "",
    claims: null,
    issuer,
    signingKeys: new Map(),
    revocations: null,
    disallowBearer: false,
    expired: false,
    expiryTimer: undefined,
    incomplete: false,
    updated: Date.now(),
    activationTimers: [],
    invalidImports: new Set(),
    serviceImports: [],
    streamImports: [],
    jetstream: null,
  };
}

/** setTimeout for delays beyond what timers hold (about 24.8 days), and unref'd. */
export function longTimer(ms: number, f: () => void): number {
  const MAX = 2 ** 31 - 1;
  let id: number;
  if (ms > MAX) {
    id = Number(setTimeout(() => {
      const next = longTimer(ms - MAX, f);
      ids.set(id, next);
    }, MAX));
  } else {
    id = Number(setTimeout(f, Math.max(0, ms)));
  }
  Deno.unrefTimer(id);
  return id;
}

/** Long timers that were re-armed: the first id stands for the current one. */
const ids = new Map<number, number>();

export function clearLongTimer(id: number | undefined): void {
  if (id === undefined) return;
  let cur: number | undefined = id;
  while (cur !== undefined) {
    clearTimeout(cur);
    const next = ids.get(cur);
    ids.delete(cur);
    cur = next;
  }
}

/** The client closed: its expiry timer goes. */
export function releaseJwt(jwt: ClientJwt): void {
  clearLongTimer(jwt.expiryTimer);
  jwt.expiryTimer = undefined;
}
