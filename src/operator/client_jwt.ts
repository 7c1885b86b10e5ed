/**
 * A client in operator mode: its CONNECT decided by authenticateJwtUser (src/jwt/user_auth.ts),
 * then, as nats-server's processClientOrLeafAuthentication and RegisterNkeyUser do, the client
 * joins its account (its connection limit checked), takes the user's permissions and limits, and
 * is closed with "User Authentication Expired" when its JWT expires or its connect window ends.
 *
 * A refusal is logged with nats-server's line and level, then answered "Authorization
 * Violation". The connection's type (Client.connectionType: STANDARD, WEBSOCKET) is what the
 * user JWT's allowed_connection_types is checked against.
 */

import type { Account } from "../accounts/account.ts";
import { type Client, ClosedState } from "../client.ts";
import type { ConnectionType } from "../jwt/types.ts";
import {
  authenticatedJwtLog,
  authenticateJwtUser,
  effectiveClientLimits,
  type JwtAuthAccepted,
} from "../jwt/user_auth.ts";
import { MAX_PAYLOAD_MAX_SIZE, type Permissions } from "../options.ts";
import { subjectMatches } from "../sublist.ts";
import { WsTransport } from "../websocket/transport.ts";
import { compilePermissions } from "../permissions.ts";
import type { OperatorMode } from "./mode.ts";
import { type ClientJwt, longTimer } from "./state.ts";

export async function authenticateJwtClient(mode: OperatorMode, c: Client): Promise<boolean> {
  // A websocket client without a JWT in its CONNECT uses the jwt_cookie's (nats-server's rule).
  if (!c.opts.jwt && c.conn instanceof WsTransport) c.opts.jwt = c.conn.upgrade.cookieJwt;
  const v = await verifyJwtConnect(mode, c, c.connectionType as ConnectionType);
  if (v === null) {
    if (!c.closed) mode.server.authViolation(c);
    return false;
  }
  const { r, acc } = v;
  c.user = r.user.sub;
  c.jwt = jwtSession(c, r);
  // Over the account's connection limit, nats-server logs the refusal twice and stops there.
  if (!c.setAccount(acc)) {
    mode.server.log.errorc(c, "maximum account active connections exceeded");
    return false;
  }
  c.setPermissions(compilePermissions(r.permissions ?? undefined));
  jetstreamDeniedNotice(c, r.permissions, "Client");
  startJwtExpiry(c, r);
  logJwtAuthenticated(c, r, acc, "Client");
  return true;
}

/**
 * What a client's and a leafnode's JWT CONNECT share: the user JWT checked against the trusted
 * operators and its account (looked up, fetched if need be), a refusal logged with nats-server's
 * line and level. Null when refused or closed meanwhile.
 */
export async function verifyJwtConnect(
  mode: OperatorMode,
  c: Client,
  connectionType: ConnectionType,
): Promise<{ r: JwtAuthAccepted; acc: Account } | null> {
  const server = mode.server;
  let account: Account | null = null;
  const r = await authenticateJwtUser(
    {
      jwt: c.opts.jwt,
      sig: c.opts.sig,
      nonce: c.nonce,
      connectionType,
      clientIp: c.peer.host,
    },
    {
      trust: mode.trust,
      pinnedAccounts: mode.pinned ?? undefined,
      lookupAccount: async (name) => {
        account = await mode.lookupAccount(name);
        const claims = account.jwt?.claims;
        if (!claims) throw new Error("account validation failed");
        return claims;
      },
    },
  );
  if (c.closed) return null;
  if (!r.ok) {
    if (r.reason === "account_not_pinned") mode.pinnedAccountFails++;
    if (r.level === "error") server.log.errorc(c, r.log);
    else server.log.debugc(c, r.log);
    return null;
  }
  const acc = account as Account | null;
  if (acc === null) return null;
  for (const d of r.debug) server.log.debugc(c, d);
  return { r, acc };
}

/** The JWT a connection logged in with, as it keeps it (its expiry timer not started yet). */
export function jwtSession(c: Client, r: JwtAuthAccepted): ClientJwt {
  return {
    jwt: c.opts.jwt ?? "",
    claims: r.user,
    signingKey: r.signingKey ?? "",
    limits: { subs: r.limits.subs, payload: r.limits.payload },
    expiryTimer: undefined,
  };
}

/** Closes the connection when its JWT expires or its connect window ends, as nats-server does. */
export function startJwtExpiry(c: Client, r: JwtAuthAccepted): void {
  if (r.expiresInMs === null || c.jwt === null) return;
  c.jwt.expiryTimer = longTimer(r.expiresInMs, () => {
    c.sendErr("User Authentication Expired");
    c.server.log.debugc(c, "User Authentication Expired");
    c.close(ClosedState.AuthenticationExpired);
  });
}

/** nats-server's debug line for a JWT login, naming the account's pointer. */
export function logJwtAuthenticated(
  c: Client,
  r: JwtAuthAccepted,
  acc: Account,
  kind: "Client" | "Leafnode",
): void {
  c.server.log.debugc(
    c,
    `${authenticatedJwtLog(r, kind, acc.mappings !== null)} accused ${accountId(acc)}`,
  );
}

/** nats-server's denyAllJs: the JetStream subjects a user's deny lists are checked against. */
const JS_SUBJECTS = ["$JSC.>", "$NRG.>", "$JS.API.>", "$KV.>", "$OBJ.>"];

/**
 * The notice nats-server gives when a JWT user's deny lists cover JetStream subjects ("Connected
 * Client has JetStream denied on pub: [...] sub: [...]"), matched as its sublist matches them.
 */
export function jetstreamDeniedNotice(
  c: Client,
  perms: Permissions | null,
  kind: "Client" | "Leafnode",
): void {
  if (perms === null) return;
  const denied = (deny: string[] | undefined) =>
    JS_SUBJECTS.filter((s) => (deny ?? []).some((d) => subjectMatches(d.split(" ")[0], s)));
  const pub = denied(perms.publish?.deny);
  const sub = denied(perms.subscribe?.deny);
  if (pub.length === 0 && sub.length === 0) return;
  c.server.log.noticec(
    c,
    `Connected ${kind} has JetStream denied on pub: [${pub.join(" ")}] sub: [${sub.join(" ")}]`,
  );
}

/** What nats-server prints for the account pointer (%p): a stable address-like id. */
const ids = new WeakMap<Account, string>();
let nextId = 0xc000100000;
export function accountId(acc: Account): string {
  let id = ids.get(acc);
  if (id === undefined) {
    id = "0x" + (nextId += 0x1000).toString(16);
    ids.set(acc, id);
  }
  return id;
}

/**
 * applyAccountLimits for a JWT user: the user's limits (or its scoped signing key's template, as
 * it is now), lowered by the account's, then the server's. Returns them the way Client keeps
 * them (maxSubs 0 unlimited, -1 none); a client over the new subscription limit is told and
 * closed shortly after, as nats-server does.
 */
export function applyJwtLimits(c: Client, jwt: ClientJwt): { maxPayload: number; maxSubs: number } {
  const o = c.server.opts;
  let user = jwt.limits;
  if (jwt.signingKey !== "") {
    const scope = c.account.jwt?.signingKeys.get(jwt.signingKey);
    if (scope) user = { subs: scope.template.subs ?? -1, payload: scope.template.payload ?? -1 };
  }
  const lim = c.account.limits;
  const l = effectiveClientLimits(
    user,
    { subs: lim.maxSubscriptions, payload: lim.maxPayload },
    { maxPayload: o.maxPayload, maxSubs: o.maxSubs },
  );
  for (const note of l.notes) c.server.log.errorc(c, note);
  if (l.maxSubs !== -1 && c.subs.size >= l.maxSubs) {
    c.sendErr("maximum subscriptions exceeded");
    c.server.log.errorc(c, "maximum subscriptions exceeded");
    const t = setTimeout(() => c.close(ClosedState.MaxSubscriptionsExceeded), 20);
    Deno.unrefTimer(Number(t));
  }
  return {
    maxPayload: l.maxPayload === -1 ? MAX_PAYLOAD_MAX_SIZE : l.maxPayload,
    maxSubs: l.maxSubs === -1 ? 0 : l.maxSubs === 0 ? -1 : l.maxSubs,
  };
}
