/**
 * Decoded claims as nats-server's monitoring shows them (/varz `trusted_operators_claim`,
 * /accountz `decoded_jwt`): Go's encoding/json of the jwt library's structs, so fields come in
 * the structs' order, zero values tagged omitempty are left out, and struct-typed fields
 * (limits, default_permissions and its pub/sub) are always there, even empty.
 */

import type {
  AccountClaims,
  ClaimsData,
  Export,
  GenericFields,
  Import,
  Info,
  OperatorClaims,
  Permission,
  Permissions,
  SigningKey,
  UserPermissionLimits,
} from "../jwt/types.ts";
import { JS_KEYS, NATS_ACCOUNT_KEYS } from "../jwt/validate.ts";

type Obj = Record<string, unknown>;

/** Sets `k` when `v` is not Go's zero value (omitempty). */
function put(o: Obj, k: string, v: unknown): void {
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return;
  if (Array.isArray(v) && v.length === 0) return;
  if (typeof v === "object" && !Array.isArray(v) && Object.keys(v as Obj).length === 0) return;
  o[k] = v;
}

function claimsData(c: ClaimsData): Obj {
  const o: Obj = {};
  put(o, "aud", c.aud);
  put(o, "exp", c.exp);
  put(o, "jti", c.jti);
  put(o, "iat", c.iat);
  put(o, "iss", c.iss);
  put(o, "name", c.name);
  put(o, "nbf", c.nbf);
  put(o, "sub", c.sub);
  return o;
}

function info(o: Obj, i: Info): void {
  put(o, "description", i.description);
  put(o, "info_url", i.info_url);
}

function generic(o: Obj, g: GenericFields): void {
  put(o, "tags", g.tags);
  put(o, "type", g.type);
  put(o, "version", g.version);
}

/** jwt.OperatorClaims. */
export function operatorClaimsJson(c: OperatorClaims): Obj {
  const o = claimsData(c);
  const n: Obj = {};
  put(n, "signing_keys", c.nats.signing_keys);
  put(n, "account_server_url", c.nats.account_server_url);
  put(n, "operator_service_urls", c.nats.operator_service_urls);
  put(n, "system_account", c.nats.system_account);
  put(n, "assert_server_version", c.nats.assert_server_version);
  put(n, "strict_signing_key_usage", c.nats.strict_signing_key_usage);
  generic(n, c.nats);
  o.nats = n;
  return o;
}

function permission(p: Permission | undefined): Obj {
  const o: Obj = {};
  put(o, "allow", p?.allow);
  put(o, "deny", p?.deny);
  return o;
}

function permissions(o: Obj, p: Permissions): void {
  o.pub = permission(p.pub);
  o.sub = permission(p.sub);
  if (p.resp) o.resp = { max: p.resp.max, ttl: p.resp.ttl };
}

function userPermissionLimits(u: UserPermissionLimits): Obj {
  const o: Obj = {};
  permissions(o, u);
  put(o, "src", u.src);
  put(o, "times", u.times);
  put(o, "times_location", u.times_location);
  put(o, "subs", u.subs);
  put(o, "data", u.data);
  put(o, "payload", u.payload);
  put(o, "bearer_token", u.bearer_token);
  put(o, "allowed_connection_types", u.allowed_connection_types);
  return o;
}

function signingKey(k: SigningKey): unknown {
  if (typeof k === "string") return k;
  return {
    kind: k.kind,
    key: k.key,
    role: k.role ?? "",
    template: userPermissionLimits(k.template),
  };
}

function importJson(i: Import): Obj {
  const o: Obj = {};
  put(o, "name", i.name);
  put(o, "subject", i.subject);
  put(o, "account", i.account);
  put(o, "token", i.token);
  put(o, "to", i.to);
  put(o, "local_subject", i.local_subject);
  put(o, "type", i.type);
  put(o, "share", i.share);
  return o;
}

export function exportJson(e: Export): Obj {
  const o: Obj = {};
  put(o, "name", e.name);
  put(o, "subject", e.subject);
  put(o, "type", e.type);
  put(o, "token_req", e.token_req);
  put(o, "revocations", e.revocations);
  put(o, "response_type", e.response_type);
  put(o, "response_threshold", e.response_threshold);
  if (e.service_latency) {
    o.service_latency = {
      sampling: e.service_latency.sampling === 0 ? "headers" : e.service_latency.sampling,
      results: e.service_latency.results,
    };
  }
  put(o, "account_token_position", e.account_token_position);
  put(o, "advertise", e.advertise);
  info(o, e);
  return o;
}

const LIMIT_KEYS = [...NATS_ACCOUNT_KEYS, ...JS_KEYS];

/** jwt.AccountClaims. */
export function accountClaimsJson(c: AccountClaims): Obj {
  const o = claimsData(c);
  const a = c.nats;
  const n: Obj = {};
  if (a.imports && a.imports.length > 0) n.imports = a.imports.map((i) => i && importJson(i));
  if (a.exports && a.exports.length > 0) n.exports = a.exports.map((e) => e && exportJson(e));
  const limits: Obj = {};
  const l = a.limits as Record<string, unknown>;
  for (const k of LIMIT_KEYS) put(limits, k, l[k]);
  put(limits, "tiered_limits", a.limits.tiered_limits);
  n.limits = limits;
  if (a.signing_keys.length > 0) n.signing_keys = a.signing_keys.map(signingKey);
  put(n, "revocations", a.revocations);
  const dp: Obj = {};
  permissions(dp, a.default_permissions);
  n.default_permissions = dp;
  put(n, "mappings", a.mappings);
  info(n, a);
  generic(n, a);
  o.nats = n;
  return o;
}
