/**
 * Deciding a client's CONNECT in operator mode, step for step as nats-server 2.9.10's
 * processClientOrLeafAuthentication does for a JWT user: the user JWT decodes and validates;
 * its connection type is allowed; its account is found, trusted and knows the JWT's issuer
 * (the account key or one of its signing keys; a scoped key's template replaces the user's
 * permissions and limits); the account has not expired and allows bearer tokens if one is
 * used; the nonce signature verifies (not for bearer tokens); the user is not revoked; the
 * client's address is in `src`; now is inside a `times` window.
 *
 * A refusal carries the line nats-server logs (the client only sees "Authorization
 * Violation"); an acceptance carries what the server applies to the connection.
 */

import { decodeAnyPublicNkey, decodeSig, fromPublicKeyError, verifyEd25519 } from "../nkeys.ts";
import { goQuote } from "../conf/go_format.ts";
import type { Permissions as ServerPermissions, SubjectPermission } from "../options.ts";
import { decodeUserClaims, signingKeyScope } from "./claims.ts";
import { cidrContains, parseCIDR, parseIP } from "./cidr.ts";
import { expandPermissionTemplate, TemplateError } from "./permission_template.ts";
import { checkTimeWindows } from "./time_window.ts";
import { isTrustedIssuer, type Trust } from "./trust.ts";
import type {
  AccountClaims,
  ConnectionType,
  Permission,
  Permissions,
  UserClaims,
  UserPermissionLimits,
  UserScope,
} from "./types.ts";
import { ConnectionType as CT } from "./types.ts";
import { unixNow, validateUser } from "./validate.ts";

/** Finds a trusted, verified account by public key; throws an Error whose message is logged. */
export type AccountLookup = (account: string) => Promise<AccountClaims> | AccountClaims;

export interface JwtAuthRequest {
  /** CONNECT `jwt`. */
  jwt?: string;
  /** CONNECT `sig`: the INFO nonce signed with the user's key. */
  sig?: string;
  /** The nonce this connection was sent in INFO. */
  nonce: string;
  /** What kind of connection this is (STANDARD for a plain client). */
  connectionType: ConnectionType;
  /** The client's IP as the server reports it (IPv4-mapped addresses as IPv4). */
  clientIp: string;
  /** Epoch ms; tests pass a fixed time. */
  now?: number;
}

export interface JwtAuthConfig {
  trust: Trust;
  lookupAccount: AccountLookup;
  /** resolver_pinned_accounts: when set, only these accounts (and the system account) log in. */
  pinnedAccounts?: ReadonlySet<string>;
}

/** Why a JWT user was refused; one per log line of nats-server's auth path. */
export type JwtAuthRefusal =
  | "jwt_required"
  | "jwt_invalid"
  | "jwt_no_longer_valid"
  | "connection_type_unknown"
  | "connection_type"
  | "account_not_pinned"
  | "account_lookup"
  | "account_untrusted"
  | "issuer_unknown"
  | "scope_invalid"
  | "template_invalid"
  | "account_expired"
  | "bearer_disallowed"
  | "signature_missing"
  | "signature_base64"
  | "user_nkey_invalid"
  | "signature"
  | "revoked"
  | "source_network"
  | "time_window";

export interface JwtAuthRefused {
  ok: false;
  reason: JwtAuthRefusal;
  /** nats-server's log text for it (after the "cid:N - " prefix). */
  log: string;
  /** The level nats-server logs it at (Debugf or Errorf). */
  level: "debug" | "error";
}

/** nats-server's defaults for a response permission given without max or ttl. */
const DEFAULT_RESPONSE_MAX_MSGS = 1;
const DEFAULT_RESPONSE_EXPIRATION_MS = 2 * 60 * 1000;

export interface JwtAuthAccepted {
  ok: true;
  /** The user claims, with a scoped signing key's template in place of the user's own fields. */
  user: UserClaims;
  account: AccountClaims;
  /** The account the user belongs to: issuer_account, else the JWT's issuer. */
  accountKey: string;
  /** The signing key that issued the user, when it was not the account key itself. */
  signingKey: string | null;
  /** The scope the user was issued under, if a scoped signing key issued it. */
  scope: UserScope | null;
  /** Effective permissions (the user's, else the account's default_permissions); null: none. */
  permissions: ServerPermissions | null;
  /** The user's own limits (-1 unlimited; absent counts as 0 as in nats-server). */
  limits: { subs: number; payload: number; data: number };
  /** Connection types the user may use (empty: all). */
  allowedConnectionTypes: ReadonlySet<string>;
  bearer: boolean;
  /**
   * When to close the connection with "User Authentication Expired": ms from now (JWT expiry or
   * the end of the current time window, whichever is first); null for never.
   */
  expiresInMs: number | null;
  /** Lines nats-server logs at debug level although it accepts (unknown connection types). */
  debug: string[];
}

export type JwtAuthResult = JwtAuthAccepted | JwtAuthRefused;

const KNOWN_CONNECTION_TYPES: ReadonlySet<string> = new Set(Object.values(CT));

/** convertAllowedConnectionTypes: the known types (upper-cased), and the error for the rest. */
export function convertAllowedConnectionTypes(
  types: readonly string[] | undefined,
): { allowed: Set<string>; error: string | null } {
  const allowed = new Set<string>();
  const unknown: string[] = [];
  for (const t of types ?? []) {
    const u = t.toUpperCase();
    if (KNOWN_CONNECTION_TYPES.has(u)) allowed.add(u);
    else unknown.push(u);
  }
  const error = unknown.length === 0
    ? null
    : `invalid connection types [${unknown.map((u) => JSON.stringify(u)).join(" ")}]`;
  return { allowed, error };
}

/** nats-server's isRevoked: revoked by key or by "*" at or after the JWT's issue time. */
export function isRevoked(
  revocations: Record<string, number> | undefined,
  subject: string,
  issuedAt: number,
): boolean {
  if (!revocations) return false;
  const byKey = revocations[subject];
  if (byKey !== undefined && byKey >= issuedAt) return true;
  const all = revocations["*"];
  return all !== undefined && all >= issuedAt;
}

/** validateSrc: no `src` allows all; otherwise the client IP must be in one of the networks. */
export function sourceAllowed(src: string[] | undefined, clientIp: string): boolean {
  if (!src || src.length === 0) return true;
  if (clientIp === "") return false;
  const ip = parseIP(clientIp);
  if (ip === null) return false;
  for (const cidr of src) {
    const net = parseCIDR(cidr);
    if (net === null) return false;
    if (cidrContains(net, ip)) return true;
  }
  return false;
}

/** jwt.UserClaims.HasEmptyPermissions: reflect.DeepEqual with the zero value. */
function hasEmptyPermissions(u: UserPermissionLimits): boolean {
  const emptyPermission = (p: Permission | undefined) =>
    p === undefined || (p.allow === undefined && p.deny === undefined);
  return emptyPermission(u.pub) && emptyPermission(u.sub) && u.resp === undefined &&
    u.src === undefined && u.times === undefined && !u.times_location && !u.subs && !u.data &&
    !u.payload && !u.bearer_token && u.allowed_connection_types === undefined;
}

const USER_PERMISSION_LIMIT_KEYS = [
  "pub",
  "sub",
  "resp",
  "src",
  "times",
  "times_location",
  "subs",
  "data",
  "payload",
  "bearer_token",
  "allowed_connection_types",
] as const;

/** The user claims with their UserPermissionLimits replaced (juc.UserPermissionLimits = ...). */
function withPermissionLimits(u: UserClaims, lim: UserPermissionLimits): UserClaims {
  const nats = { ...u.nats };
  for (const k of USER_PERMISSION_LIMIT_KEYS) delete nats[k];
  return { ...u, nats: { ...nats, ...lim } };
}

function subjectPermission(p: Permission | undefined): SubjectPermission | undefined {
  if ((p?.allow?.length ?? 0) === 0 && (p?.deny?.length ?? 0) === 0) return undefined;
  const out: SubjectPermission = {};
  if (p!.allow !== undefined) out.allow = [...p!.allow];
  if (p!.deny !== undefined) out.deny = [...p!.deny];
  return out;
}

/**
 * buildPermissionsFromJwt: JWT permissions in the server's shape, or null when there are none.
 * A response permission turns off the blanket publish allow and gets nats-server's defaults
 * (1 response, 2 minutes) for a zero max or ttl.
 */
export function permissionsFromJwt(p: Permissions | undefined): ServerPermissions | null {
  if (!p) return null;
  const out: ServerPermissions = {};
  const publish = subjectPermission(p.pub);
  const subscribe = subjectPermission(p.sub);
  if (publish) out.publish = publish;
  if (subscribe) out.subscribe = subscribe;
  if (p.resp) {
    out.response = {
      maxMsgs: p.resp.max === 0 ? DEFAULT_RESPONSE_MAX_MSGS : p.resp.max,
      expiresMs: p.resp.ttl === 0 ? DEFAULT_RESPONSE_EXPIRATION_MS : p.resp.ttl / 1e6,
    };
    out.publish ??= {};
    out.publish.allow ??= [];
  }
  return out.publish || out.subscribe || out.response ? out : null;
}

const enc = new TextEncoder();

const refuse = (
  reason: JwtAuthRefusal,
  log: string,
  level: "debug" | "error" = "debug",
): JwtAuthRefused => ({ ok: false, reason, log, level });

/**
 * The operator-mode CONNECT check for one client. Never throws: every failure (including a
 * lookup that throws) is a refusal with nats-server's log line.
 */
export async function authenticateJwtUser(
  req: JwtAuthRequest,
  config: JwtAuthConfig,
): Promise<JwtAuthResult> {
  const nowMs = req.now ?? Date.now();
  const now = unixNow(nowMs);
  if (!req.jwt) return refuse("jwt_required", "Authentication requires a user JWT");
  let juc: UserClaims;
  try {
    juc = await decodeUserClaims(req.jwt);
  } catch (e) {
    return refuse("jwt_invalid", `User JWT not valid: ${(e as Error).message}`);
  }
  const vr = validateUser(juc, now);
  if (vr.isBlocking(true)) return refuse("jwt_no_longer_valid", `User JWT no longer valid: ${vr}`);

  const debug: string[] = [];
  const types = convertAllowedConnectionTypes(juc.nats.allowed_connection_types);
  if (types.error !== null) {
    if (types.allowed.size === 0) return refuse("connection_type_unknown", types.error);
    debug.push(types.error);
  }
  if (types.allowed.size > 0 && !types.allowed.has(req.connectionType)) {
    return refuse("connection_type", "Connection type not allowed");
  }

  const issuer = juc.nats.issuer_account || juc.iss;
  if (config.pinnedAccounts && !config.pinnedAccounts.has(issuer)) {
    return refuse(
      "account_not_pinned",
      `Account ${issuer} not listed as operator pinned account`,
    );
  }
  let account: AccountClaims;
  try {
    account = await config.lookupAccount(issuer);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return refuse("account_lookup", `Account JWT lookup error: ${msg}`);
  }
  if (!isTrustedIssuer(config.trust, account.iss)) {
    return refuse("account_untrusted", "Account JWT not signed by trusted operator");
  }

  // hasIssuer: the account's signing keys, plus the account key unless its operator is strict.
  const strict = config.trust.strictSigningKeys.has(account.iss);
  const scope = !strict && juc.iss === account.sub ? null : signingKeyScope(account, juc.iss);
  if (scope === undefined) return refuse("issuer_unknown", "User JWT issuer is not known");
  if (scope !== null) {
    if (!hasEmptyPermissions(juc.nats)) {
      return refuse(
        "scope_invalid",
        "User JWT is not valid: scoped users require no permissions or limits set",
      );
    }
    try {
      juc = withPermissionLimits(
        juc,
        expandPermissionTemplate(scope.template, {
          userName: juc.name ?? "",
          userKey: juc.sub,
          userTags: juc.nats.tags ?? [],
          accountName: account.name ?? "",
          accountKey: juc.nats.issuer_account ?? "",
          accountTags: account.nats.tags ?? [],
        }),
      );
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      return refuse("template_invalid", "User JWT generated invalid permissions");
    }
  }
  if ((account.exp ?? 0) > 0 && account.exp! <= now) {
    return refuse("account_expired", "Account JWT has expired");
  }
  const bearer = !!juc.nats.bearer_token;
  if (bearer && account.nats.limits.disallow_bearer) {
    return refuse("bearer_disallowed", "Account does not allow bearer token");
  }
  if (!bearer) {
    if (!req.sig) return refuse("signature_missing", "Signature missing");
    const sig = decodeSig(req.sig);
    if (sig === null) return refuse("signature_base64", "Signature not valid base64");
    const keyError = fromPublicKeyError(juc.sub);
    if (keyError !== null) return refuse("user_nkey_invalid", `User nkey not valid: ${keyError}`);
    let key: Uint8Array<ArrayBuffer> | null = null;
    try {
      key = decodeAnyPublicNkey(juc.sub).key;
    } catch {
      // A key of the wrong length: Go would accept it here and fail the verification.
    }
    if (key === null || !(await verifyEd25519(key, enc.encode(req.nonce), sig))) {
      return refuse("signature", "Signature not verified");
    }
  }
  if (isRevoked(account.nats.revocations, juc.sub, juc.iat ?? 0)) {
    return refuse("revoked", "User authentication revoked");
  }
  if (!sourceAllowed(juc.nats.src, req.clientIp)) {
    return refuse("source_network", `Bad src Ip ${req.clientIp}`, "error");
  }
  const window = checkTimeWindows(juc.nats.times, juc.nats.times_location, new Date(nowMs));
  if (!window.allowed) return refuse("time_window", "Outside connect times", "error");

  const permissions = permissionsFromJwt(juc.nats) ??
    permissionsFromJwt(account.nats.default_permissions);
  return {
    ok: true,
    user: juc,
    account,
    accountKey: issuer,
    signingKey: juc.nats.issuer_account ? juc.iss : null,
    scope,
    permissions,
    limits: {
      subs: juc.nats.subs ?? 0,
      payload: juc.nats.payload ?? 0,
      data: juc.nats.data ?? 0,
    },
    allowedConnectionTypes: types.allowed,
    bearer,
    expiresInMs: expiresIn(juc.exp ?? 0, window.validForMs, now),
    debug,
  };
}

/** Go's %q of a []string: `["a" "b"]`. */
const quoteList = (l: readonly string[] | undefined) => `[${(l ?? []).map(goQuote).join(" ")}]`;

/**
 * The debug line nats-server logs for an accepted JWT user, up to "has mappings <bool>" (it
 * ends with " accused <account pointer>", which has no meaning here). `kind` is the connection
 * kind as nats-server names it ("Client", "Leafnode").
 */
export function authenticatedJwtLog(r: JwtAuthAccepted, kind = "Client", hasMappings = false) {
  const u = r.user;
  const a = r.account;
  return `Authenticated JWT: ${kind} ${goQuote(u.sub)} (claim-name: ${goQuote(u.name ?? "")}, ` +
    `claim-tags: ${quoteList(u.nats.tags)}) signed with ${goQuote(u.iss)} by Account ` +
    `${goQuote(r.accountKey)} (claim-name: ${goQuote(a.name ?? "")}, claim-tags: ${
      quoteList(a.nats.tags)
    }) signed with ${goQuote(a.iss)} has mappings ${hasMappings}`;
}

/** setExpiration: the JWT's exp (whole seconds from now) or the window's end, the earlier. */
function expiresIn(exp: number, validForMs: number, now: number): number | null {
  if (exp === 0) return validForMs !== 0 ? validForMs : null;
  const expiresAt = exp > now ? (exp - now) * 1000 : 0;
  return validForMs !== 0 && validForMs < expiresAt ? validForMs : expiresAt;
}

/**
 * applyAccountLimits' arithmetic for max payload and max subscriptions: the user's limit (or the
 * scoped template's), lowered by the account's, then by the server's (0 in the server options
 * means unlimited). -1 is unlimited. `notes` are the errors nats-server logs when the server
 * lowered a limit the account or user had set.
 */
export function effectiveClientLimits(
  user: { subs: number; payload: number },
  account: { subs?: number; payload?: number },
  server: { maxPayload: number; maxSubs: number },
): { maxPayload: number; maxSubs: number; notes: string[] } {
  const min = (v: number, limit: number): [number, boolean] => {
    if (v !== -1) return limit !== -1 && limit < v ? [limit, true] : [v, false];
    return limit !== -1 ? [limit, true] : [v, false];
  };
  let [pay] = min(user.payload, account.payload ?? 0);
  let [subs] = min(user.subs, account.subs ?? 0);
  const notes: string[] = [];
  const sPay = server.maxPayload === 0 ? -1 : server.maxPayload;
  const sSubs = server.maxSubs === 0 ? -1 : server.maxSubs;
  let changed: boolean;
  const payWasUnlimited = pay === -1;
  [pay, changed] = min(pay, sPay);
  if (changed && !payWasUnlimited) {
    notes.push(
      `Max Payload set to ${server.maxPayload} from server overrides account or user config`,
    );
  }
  const subsWereUnlimited = subs === -1;
  [subs, changed] = min(subs, sSubs);
  if (changed && !subsWereUnlimited) {
    notes.push(
      `Max Subscriptions set to ${server.maxSubs} from server overrides account or user config`,
    );
  }
  return { maxPayload: pay, maxSubs: subs, notes };
}
