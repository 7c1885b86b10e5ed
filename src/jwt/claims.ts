/**
 * Decoding NATS JWTs as nats-server 2.9.10 does (nats-io/jwt v2.3.0 `Decode`): three base64url
 * parts, a header of type JWT with alg `ed25519-nkey` (or the v1 `ed25519`), claims read into the
 * shape of their kind (v1 JWTs migrated to v2), the ed25519 signature checked against the
 * issuer's nkey, and the issuer's kind checked against what may sign that kind of claim.
 *
 * Steps run in the library's order and fail with its error texts, because nats-server logs them
 * ("User JWT not valid: claim failed V2 signature verification").
 */

import {
  base64RawUrlDecode,
  decodeAnyPublicNkey,
  isValidPublicNkey,
  NkeyPrefix,
  type NkeyPrefixByte,
  verifyEd25519Sync,
} from "../nkeys.ts";
import { goQuote } from "../conf/go_format.ts";
import {
  AbortDecode,
  asMap,
  BOOL,
  custom,
  type DecodeContext,
  DURATION,
  GoJsonError,
  type GoJsonValue,
  GoNumber,
  GoObject,
  INT,
  int64,
  jsonKind,
  list,
  map,
  parseGoJson,
  ptr,
  type Schema,
  str,
  struct,
  type StructSchema,
  uint,
  unmarshal,
} from "../go_json.ts";
import type {
  AccountClaims,
  ActivationClaims,
  DecodedJwt,
  GenericClaims,
  OperatorClaims,
  SigningKey,
  UserClaims,
  UserScope,
} from "./types.ts";

/** A JWT that does not decode; the message is the jwt library's text. */
export class JwtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JwtError";
  }
}

/** jwt.libVersion: the newest claims format this decoder reads. */
export const LIB_VERSION = 2;

// Field schemas (Go type names as the json errors print them) ----------------------------------

const claimsData = {
  aud: str(),
  exp: int64(),
  jti: str(),
  iat: int64(),
  iss: str(),
  name: str(),
  nbf: int64(),
  sub: str(),
};

const genericFields = {
  tags: list("jwt.TagList", str()),
  type: str("jwt.ClaimType"),
  version: INT,
};

const stringList = () => list("jwt.StringList", str());
const permission = struct("jwt.Permission", { allow: stringList(), deny: stringList() });
const responsePermission = ptr(
  struct("jwt.ResponsePermission", { max: INT, ttl: DURATION }),
);
const timeRange = struct("jwt.TimeRange", { start: str(), end: str() });

/** jwt.CIDRList: a JSON array of strings, or one comma-separated string (lower-cased). */
const cidrList = custom((v, ctx) => {
  if (v === null) return undefined;
  if (Array.isArray(v) && v.every((e) => typeof e === "string" || e === null)) {
    return v.map((e) => e ?? "");
  }
  if (typeof v === "string") {
    const out: string[] = [];
    for (const part of v.toLowerCase().split(",")) {
      const t = part.trim().toLowerCase();
      if (t !== "" && !out.includes(t)) out.push(t);
    }
    return out;
  }
  throw AbortDecode.type(ctx, jsonKind(v), "string");
});

/** jwt.ExportType: "stream" or "service"; anything else (even null) is an error. */
const exportType = custom((v, ctx) => {
  if (v !== null && typeof v !== "string") throw AbortDecode.type(ctx, jsonKind(v), "string");
  const t = v ?? "";
  if (t === "stream" || t === "service") return t;
  throw AbortDecode.text(`unknown export type ${goQuote(t)}`);
});

/** jwt.SamplingRate: a percentage, or "headers" (0). */
const samplingRate = custom((v, ctx) => {
  if (typeof v === "string" && v.toLowerCase() === "headers") return 0;
  if (v === null) return 0;
  if (v instanceof GoNumber) {
    const n = Number(v.raw);
    if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return n;
    throw AbortDecode.type(ctx, `number ${v.raw}`, "int");
  }
  throw AbortDecode.type(ctx, jsonKind(v), "int");
});

/** jwt.ScopeType: only "user_scope" exists. */
const scopeType = custom((v, ctx) => {
  if (v !== null && typeof v !== "string") throw AbortDecode.type(ctx, jsonKind(v), "string");
  if (v === "user_scope") return v;
  throw AbortDecode.text(`unknown scope type "unknown"`);
});

const userPermissionLimits = {
  pub: permission,
  sub: permission,
  resp: responsePermission,
  src: cidrList,
  times: list("[]jwt.TimeRange", timeRange),
  times_location: str(),
  subs: int64(),
  data: int64(),
  payload: int64(),
  bearer_token: BOOL,
  allowed_connection_types: stringList(),
};

const userScope = struct("jwt.UserScope", {
  kind: scopeType,
  key: str(),
  role: str(),
  template: struct("jwt.UserPermissionLimits", userPermissionLimits),
});

/** Go's %q of an interface{} value from a decoded JSON map. */
function goQuoteAny(v: GoJsonValue | undefined): string {
  if (v === undefined || v === null) return "%!q(<nil>)";
  if (typeof v === "string") return goQuote(v);
  if (typeof v === "boolean") return `%!q(bool=${v})`;
  if (v instanceof GoNumber) return `%!q(float64=${Number(v.raw)})`;
  return `%!q(${Array.isArray(v) ? "[]interface {}" : "map[string]interface {}"}=...)`;
}

/**
 * Numbers as Go sees them after a round trip through interface{} (float64) and json.Marshal:
 * SigningKeys.UnmarshalJSON re-encodes each scope object before decoding it.
 */
function asFloats(v: GoJsonValue): GoJsonValue {
  if (v instanceof GoNumber) return new GoNumber(String(Number(v.raw)));
  if (Array.isArray(v)) return v.map(asFloats);
  if (v instanceof GoObject) return new GoObject([...asMap(v)].map(([k, e]) => [k, asFloats(e)]));
  return v;
}

/**
 * jwt.SigningKeys: an array of plain keys (strings) and scoped keys (objects with
 * kind "user_scope"); other elements are ignored. A scope's decode error is reported with the
 * signing_keys field as its place, as Go re-words it.
 */
const signingKeys = custom((v, ctx: DecodeContext) => {
  if (v === null) return [];
  if (!Array.isArray(v)) throw AbortDecode.type(ctx, jsonKind(v), "[]interface {}");
  const keys = new Map<string, SigningKey>();
  for (const e of v) {
    if (typeof e === "string") {
      keys.set(e, e);
    } else if (e instanceof GoObject) {
      const m = asMap(e);
      if (m.get("kind") !== "user_scope") {
        throw AbortDecode.text(`unknown signing key scope ${goQuoteAny(m.get("type"))}`);
      }
      let scope: UserScope;
      try {
        scope = unmarshal(asFloats(e), userScope, {
          kind: "user_scope",
          key: "",
          role: "",
          template: { subs: -1, data: -1, payload: -1 },
        }) as unknown as UserScope;
      } catch (err) {
        if (err instanceof GoJsonError && err.mismatch) {
          throw AbortDecode.type(ctx, err.mismatch.value, err.mismatch.go);
        }
        if (err instanceof GoJsonError) throw AbortDecode.text(err.message);
        throw err;
      }
      keys.set(scope.key, scope);
    }
  }
  return [...keys.values()];
});

const revocations = map("jwt.RevocationList", int64());
const info = { description: str(), info_url: str() };

const exportSchema = ptr(struct("jwt.Export", {
  name: str(),
  subject: str("jwt.Subject"),
  type: exportType,
  token_req: BOOL,
  revocations,
  response_type: str("jwt.ResponseType"),
  response_threshold: DURATION,
  service_latency: ptr(
    struct("jwt.ServiceLatency", { sampling: samplingRate, results: str("jwt.Subject") }),
  ),
  account_token_position: uint("uint", 64),
  advertise: BOOL,
  ...info,
}));

const importSchema = ptr(struct("jwt.Import", {
  name: str(),
  subject: str("jwt.Subject"),
  account: str(),
  token: str(),
  to: str("jwt.Subject"),
  local_subject: str("jwt.RenamingSubject"),
  type: exportType,
  share: BOOL,
}));

const natsLimits = { subs: int64(), data: int64(), payload: int64() };
const accountLimits = {
  imports: int64(),
  exports: int64(),
  wildcards: BOOL,
  disallow_bearer: BOOL,
  conn: int64(),
  leaf: int64(),
};
const jetStreamLimits = {
  mem_storage: int64(),
  disk_storage: int64(),
  streams: int64(),
  consumer: int64(),
  max_ack_pending: int64(),
  mem_max_stream_bytes: int64(),
  disk_max_stream_bytes: int64(),
  max_bytes_required: BOOL,
};

const permissions = struct("jwt.Permissions", {
  pub: permission,
  sub: permission,
  resp: responsePermission,
});

const accountSchema = struct("jwt.AccountClaims", {
  ...claimsData,
  nats: struct("jwt.Account", {
    imports: list("jwt.Imports", importSchema),
    exports: list("jwt.Exports", exportSchema),
    limits: struct("jwt.OperatorLimits", {
      ...natsLimits,
      ...accountLimits,
      ...jetStreamLimits,
      tiered_limits: map(
        "jwt.JetStreamTieredLimits",
        struct("jwt.JetStreamLimits", jetStreamLimits),
      ),
    }),
    signing_keys: signingKeys,
    revocations,
    default_permissions: permissions,
    mappings: map(
      "jwt.Mapping",
      list(
        "[]jwt.WeightedMapping",
        struct("jwt.WeightedMapping", {
          subject: str("jwt.Subject"),
          weight: uint("uint8", 8),
          cluster: str(),
        }),
      ),
    ),
    ...info,
    ...genericFields,
  }),
});

const userSchema = struct("jwt.UserClaims", {
  ...claimsData,
  nats: struct("jwt.User", {
    ...userPermissionLimits,
    issuer_account: str(),
    ...genericFields,
  }),
});

const operatorSchema = struct("jwt.OperatorClaims", {
  ...claimsData,
  nats: struct("jwt.Operator", {
    signing_keys: stringList(),
    account_server_url: str(),
    operator_service_urls: stringList(),
    system_account: str(),
    assert_server_version: str(),
    strict_signing_key_usage: BOOL,
    ...genericFields,
  }),
});

const activationSchema = struct("jwt.ActivationClaims", {
  ...claimsData,
  nats: struct("jwt.Activation", {
    subject: str("jwt.Subject"),
    kind: exportType,
    issuer_account: str(),
    ...genericFields,
  }),
});

/** interface{}: any JSON, numbers as float64. */
const anyValue: Schema = custom((v) => asPlain(v));

function asPlain(v: GoJsonValue): unknown {
  if (v instanceof GoNumber) return Number(v.raw);
  if (Array.isArray(v)) return v.map(asPlain);
  if (v instanceof GoObject) {
    return Object.fromEntries([...asMap(v)].map(([k, e]) => [k, asPlain(e)]));
  }
  return v;
}

const genericSchema = struct("jwt.GenericClaims", {
  ...claimsData,
  nats: map("map[string]interface {}", anyValue),
});

const identifierSchema = struct("jwt.identifier", {
  type: str("jwt.ClaimType"),
  nats: struct("jwt.GenericFields", genericFields),
});

// v1 formats: `type`, `tags` and `issuer_account` at the top level --------------------------------

const v1Deleted = {
  tags: list("jwt.TagList", str()),
  type: str("jwt.ClaimType"),
  issuer_account: str(),
};

const v1UserSchema = struct("jwt.v1UserClaims", {
  ...claimsData,
  ...v1Deleted,
  nats: struct("jwt.v1User", {
    pub: permission,
    sub: permission,
    resp: responsePermission,
    src: cidrList,
    times: list("[]jwt.TimeRange", timeRange),
    times_location: str(),
    ...natsLimits,
    bearer_token: BOOL,
    max: int64(),
  }),
});

const v1AccountSchema = struct("jwt.v1AccountClaims", {
  ...claimsData,
  ...v1Deleted,
  nats: struct("jwt.v1NatsAccount", {
    imports: list("jwt.Imports", importSchema),
    exports: list("jwt.Exports", exportSchema),
    limits: struct("struct { jwt.NatsLimits; jwt.AccountLimits }", {
      ...natsLimits,
      ...accountLimits,
    }),
    signing_keys: stringList(),
    revocations,
  }),
});

const v1OperatorSchema = struct("jwt.v1OperatorClaims", {
  ...claimsData,
  ...v1Deleted,
  nats: struct("jwt.v1NatsOperator", {
    signing_keys: stringList(),
    account_server_url: str(),
    operator_service_urls: stringList(),
    system_account: str(),
  }),
});

const v1ActivationSchema = struct("jwt.v1ActivationClaims", {
  ...claimsData,
  ...v1Deleted,
  nats: struct("jwt.v1NatsActivation", {
    subject: str("jwt.Subject"),
    type: exportType,
    max: int64(),
    payload: int64(),
    src: str(),
    times: list("[]jwt.TimeRange", timeRange),
  }),
});

// Loading ---------------------------------------------------------------------------------------

type Raw = Record<string, unknown>;

function load(data: GoJsonValue, schema: StructSchema, defaults: Raw = {}): Raw {
  try {
    return unmarshal(data, schema, defaults);
  } catch (e) {
    if (e instanceof GoJsonError) throw new JwtError(e.message);
    throw e;
  }
}

/** The base claims (iss, sub, ...) out of a loaded document, absent ones left out. */
function base(doc: Raw): Raw {
  const out: Raw = {};
  for (const k of Object.keys(claimsData)) if (doc[k] !== undefined) out[k] = doc[k];
  out.iss ??= "";
  out.sub ??= "";
  return out;
}

function nats(doc: Raw): Raw {
  return (doc.nats as Raw | undefined) ?? {};
}

/** Fields moved from the top level into `nats` by the v1 → v2 migration. */
function migrated(doc: Raw, withIssuerAccount: boolean): Raw {
  const out: Raw = { type: doc.type ?? "", version: 1 };
  if (doc.tags !== undefined) out.tags = doc.tags;
  if (withIssuerAccount && doc.issuer_account !== undefined) {
    out.issuer_account = doc.issuer_account;
  }
  return out;
}

function pick(from: Raw, keys: string[]): Raw {
  const out: Raw = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

function unsupportedVersion(version: number): JwtError {
  return new JwtError(
    `library supports version ${LIB_VERSION} or less - received ${version}`,
  );
}

function loadUser(data: GoJsonValue, version: number): UserClaims {
  if (version === 2) {
    const doc = load(data, userSchema);
    return { ...base(doc), nats: { type: "", version: 0, ...nats(doc) } } as UserClaims;
  }
  if (version !== 1) throw unsupportedVersion(version);
  const doc = load(data, v1UserSchema, { nats: { subs: -1, data: -1, payload: -1, max: -1 } });
  const v1 = nats(doc);
  const user = {
    ...pick(v1, ["pub", "sub", "resp", "src", "times", "times_location", "subs", "data"]),
    ...pick(v1, ["payload", "bearer_token"]),
    ...migrated(doc, true),
  };
  return { ...base(doc), nats: user } as unknown as UserClaims;
}

const JS_LIMIT_KEYS = Object.keys(jetStreamLimits);

function loadAccount(data: GoJsonValue, version: number): AccountClaims {
  if (version === 2) {
    const doc = load(data, accountSchema, { nats: { signing_keys: [] } });
    const acc = { type: "", version: 0, limits: {}, default_permissions: {}, ...nats(doc) };
    const limits = acc.limits as Raw;
    const tiered = limits.tiered_limits as Raw | undefined;
    if (tiered && Object.keys(tiered).length > 0) {
      for (const k of JS_LIMIT_KEYS) delete limits[k];
    }
    return { ...base(doc), nats: acc } as unknown as AccountClaims;
  }
  if (version !== 1) throw unsupportedVersion(version);
  const doc = load(data, v1AccountSchema);
  const v1 = nats(doc);
  const keys = [...new Set((v1.signing_keys as string[] | undefined) ?? [])];
  const acc = {
    ...pick(v1, ["imports", "exports", "revocations"]),
    limits: v1.limits ?? {},
    signing_keys: keys,
    default_permissions: {},
    ...migrated(doc, false),
  };
  return { ...base(doc), nats: acc } as unknown as AccountClaims;
}

function loadOperator(data: GoJsonValue, version: number): OperatorClaims {
  if (version === 2) {
    const doc = load(data, operatorSchema);
    return { ...base(doc), nats: { type: "", version: 0, ...nats(doc) } } as OperatorClaims;
  }
  if (version !== 1) throw unsupportedVersion(version);
  const doc = load(data, v1OperatorSchema);
  const v1 = nats(doc);
  const op = {
    ...pick(v1, ["signing_keys", "account_server_url", "operator_service_urls"]),
    ...pick(v1, ["system_account"]),
    ...migrated(doc, false),
  };
  return { ...base(doc), nats: op } as unknown as OperatorClaims;
}

function loadActivation(data: GoJsonValue, version: number): ActivationClaims {
  if (version === 2) {
    const doc = load(data, activationSchema);
    return { ...base(doc), nats: { type: "", version: 0, ...nats(doc) } } as ActivationClaims;
  }
  if (version !== 1) throw unsupportedVersion(version);
  const doc = load(data, v1ActivationSchema, { nats: { max: -1, payload: -1 } });
  const v1 = nats(doc);
  const act = {
    ...pick(v1, ["subject"]),
    ...(v1.type !== undefined ? { kind: v1.type } : {}),
    ...migrated(doc, true),
  };
  return { ...base(doc), nats: act } as unknown as ActivationClaims;
}

/** loadClaims: the kind and format version from `type` / `nats.type|version`, then the claims. */
function loadClaims(data: GoJsonValue): { version: number; decoded: DecodedJwt } {
  const id = load(data, identifierSchema);
  const idNats = (id.nats as Raw | undefined) ?? {};
  const topType = (id.type as string | undefined) ?? "";
  const kind = topType !== "" ? topType : ((idNats.type as string | undefined) ?? "");
  const version = topType !== "" ? 1 : ((idNats.version as number | undefined) ?? 0);
  if (version > LIB_VERSION) throw new JwtError("JWT was generated by a newer version ");
  switch (kind) {
    case "operator":
      return { version, decoded: { kind, claims: loadOperator(data, version) } };
    case "account":
      return { version, decoded: { kind, claims: loadAccount(data, version) } };
    case "user":
      return { version, decoded: { kind, claims: loadUser(data, version) } };
    case "activation":
      return { version, decoded: { kind, claims: loadActivation(data, version) } };
    case "cluster":
      throw new JwtError("ClusterClaims are not supported");
    case "server":
      throw new JwtError("ServerClaims are not supported");
    default: {
      const doc = load(data, genericSchema);
      const claims = base(doc) as unknown as GenericClaims;
      if (doc.nats !== undefined) claims.nats = doc.nats as Record<string, unknown>;
      return { version: -1, decoded: { kind: "generic", claims } };
    }
  }
}

// Header and encoding ---------------------------------------------------------------------------

const headerSchema = struct("jwt.Header", { typ: str(), alg: str() });

/** jwt.AlgorithmNkeyOld / AlgorithmNkey. */
export const ALG_V1 = "ed25519";
export const ALG_V2 = "ed25519-nkey";

const B64URL = /^[A-Za-z0-9_-]$/;

/**
 * Go's base64.RawURLEncoding.DecodeString with its error text: CR and LF are skipped; any other
 * character outside the alphabet, or a length that leaves a single character over, is "illegal
 * base64 data at input byte N".
 */
export function decodeBase64Url(s: string): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\r" || c === "\n") continue;
    if (!B64URL.test(c)) throw new JwtError(`illegal base64 data at input byte ${i}`);
    n++;
  }
  if (n % 4 === 1) throw new JwtError(`illegal base64 data at input byte ${s.length - 1}`);
  return base64RawUrlDecode(s)!;
}

function parseJson(bytes: Uint8Array): GoJsonValue {
  try {
    return parseGoJson(bytes);
  } catch (e) {
    if (e instanceof GoJsonError) throw new JwtError(e.message);
    throw e;
  }
}

/** jwt.Header.Valid: typ "JWT" (any case); alg "ed25519" or "ed25519-nkey" (any case). */
function checkHeader(part: string): string {
  const h = load(parseJson(decodeBase64Url(part)), headerSchema);
  const typ = (h.typ as string | undefined) ?? "";
  const alg = (h.alg as string | undefined) ?? "";
  if (typ.toUpperCase() !== "JWT") throw new JwtError(`not supported type ${goQuote(typ)}`);
  const a = alg.toLowerCase();
  if (a !== ALG_V1 && a !== ALG_V2) throw new JwtError(`unexpected ${goQuote(alg)} algorithm`);
  return alg;
}

/** Who may issue each kind (ExpectedPrefixes), in the library's order for its error text. */
const ISSUER_KINDS: Record<DecodedJwt["kind"], { prefix: NkeyPrefixByte; name: string }[] | null> =
  {
    operator: [{ prefix: NkeyPrefix.Operator, name: "operator" }],
    account: [
      { prefix: NkeyPrefix.Account, name: "account" },
      { prefix: NkeyPrefix.Operator, name: "operator" },
    ],
    user: [{ prefix: NkeyPrefix.Account, name: "account" }],
    activation: [
      { prefix: NkeyPrefix.Account, name: "account" },
      { prefix: NkeyPrefix.Operator, name: "operator" },
    ],
    generic: null,
  };

const enc = new TextEncoder();

/** Whether `sig` over `payload` verifies with the public nkey `issuer` (any public kind). */
function issuerSigned(issuer: string, payload: string, sig: Uint8Array<ArrayBuffer>): boolean {
  let key: Uint8Array<ArrayBuffer>;
  try {
    key = decodeAnyPublicNkey(issuer).key;
  } catch {
    return false;
  }
  return verifyEd25519Sync(key, enc.encode(payload), sig);
}

/**
 * jwt.Decode: the claims of `token` with their signature checked, or a {@link JwtError} with the
 * library's text. Does not check times or contents: see validate.ts for that. Synchronous, as
 * in nats-server: config loading and lookups in a local store decode without waiting.
 */
export function decodeJwtSync(token: string): DecodedJwt {
  const chunks = token.split(".");
  if (chunks.length !== 3) throw new JwtError("expected 3 chunks");
  checkHeader(chunks[0]);
  const data = parseJson(decodeBase64Url(chunks[1]));
  const { version, decoded } = loadClaims(data);
  const sig = decodeBase64Url(chunks[2]);
  const issuer = decoded.claims.iss;
  if (version <= 1) {
    if (!issuerSigned(issuer, chunks[1], sig)) {
      throw new JwtError("claim failed V1 signature verification");
    }
  } else if (!issuerSigned(issuer, `${chunks[0]}.${chunks[1]}`, sig)) {
    throw new JwtError("claim failed V2 signature verification");
  }
  const kinds = ISSUER_KINDS[decoded.kind];
  if (kinds !== null && !kinds.some((k) => isValidPublicNkey(issuer, k.prefix))) {
    throw new JwtError(
      `unable to validate expected prefixes - [${kinds.map((k) => k.name).join(" ")}]`,
    );
  }
  return decoded;
}

/**
 * jwt.DecodeGeneric: the standard claims and the `nats` object of a JWT of any kind, its
 * signature checked as its header's algorithm says (v1: the payload; v2: header and payload).
 * nats-server reads stored JWTs (which one is newer) and delete requests this way.
 */
export function decodeGenericSync(token: string): GenericClaims {
  const chunks = token.split(".");
  if (chunks.length !== 3) throw new JwtError("expected 3 chunks");
  const alg = checkHeader(chunks[0]);
  const doc = load(parseJson(decodeBase64Url(chunks[1])), genericSchema);
  const claims = base(doc) as unknown as GenericClaims;
  if (doc.nats !== undefined) claims.nats = doc.nats as Record<string, unknown>;
  const sig = decodeBase64Url(chunks[2]);
  if (alg === ALG_V1) {
    if (!issuerSigned(claims.iss, chunks[1], sig)) {
      throw new JwtError("claim failed V1 signature verification");
    }
  } else if (!issuerSigned(claims.iss, `${chunks[0]}.${chunks[1]}`, sig)) {
    throw new JwtError("claim failed V2 signature verification");
  }
  return claims;
}

interface ClaimsByKind {
  operator: OperatorClaims;
  account: AccountClaims;
  user: UserClaims;
  activation: ActivationClaims;
  generic: GenericClaims;
}

function decodeKindSync<K extends DecodedJwt["kind"]>(token: string, kind: K): ClaimsByKind[K] {
  const d = decodeJwtSync(token);
  if (d.kind !== kind) throw new JwtError(`not ${kind} claim`);
  return d.claims as ClaimsByKind[K];
}

/** decodeJwtSync as a promise (a decode failure rejects). */
export function decodeJwt(token: string): Promise<DecodedJwt> {
  return new Promise((resolve) => resolve(decodeJwtSync(token)));
}

/** jwt.DecodeUserClaims: "not user claim" for a valid JWT of another kind. */
export function decodeUserClaimsSync(token: string): UserClaims {
  return decodeKindSync(token, "user");
}

/** jwt.DecodeAccountClaims. */
export function decodeAccountClaimsSync(token: string): AccountClaims {
  return decodeKindSync(token, "account");
}

/** jwt.DecodeOperatorClaims. */
export function decodeOperatorClaimsSync(token: string): OperatorClaims {
  return decodeKindSync(token, "operator");
}

/** jwt.DecodeActivationClaims. */
export function decodeActivationClaimsSync(token: string): ActivationClaims {
  return decodeKindSync(token, "activation");
}

/** decodeUserClaimsSync as a promise. */
export function decodeUserClaims(token: string): Promise<UserClaims> {
  return new Promise((resolve) => resolve(decodeUserClaimsSync(token)));
}

/** decodeAccountClaimsSync as a promise. */
export function decodeAccountClaims(token: string): Promise<AccountClaims> {
  return new Promise((resolve) => resolve(decodeAccountClaimsSync(token)));
}

/** decodeOperatorClaimsSync as a promise. */
export function decodeOperatorClaims(token: string): Promise<OperatorClaims> {
  return new Promise((resolve) => resolve(decodeOperatorClaimsSync(token)));
}

/** decodeActivationClaimsSync as a promise. */
export function decodeActivationClaims(token: string): Promise<ActivationClaims> {
  return new Promise((resolve) => resolve(decodeActivationClaimsSync(token)));
}

// Decorated text (creds files, operator JWT files) -------------------------------------------------

/**
 * jwt's userConfigRE: a `---...---` line, a body of [\w-.=] characters, a closing `---...---`
 * line. Go's `.` stops only at \n, hence [^\n].
 */
export const DECORATED_BLOCK =
  /\s*(?:(?:-{3,}[^\n]*-{3,}\r?\n)([\w\-.=]+)(?:\r?\n-{3,}[^\n]*-{3,}(\r?\n|$)))/g;

/**
 * jwt.ParseDecoratedJWT: the first decorated block's body, or the whole text when there is no
 * decorated block (a bare JWT). nats-server reads `operator:` files this way.
 */
export function parseDecoratedJwt(contents: string): string {
  for (const m of contents.matchAll(DECORATED_BLOCK)) return m[1];
  return contents;
}

// Signing keys ------------------------------------------------------------------------------------

/** The scope of `key` among an account's signing keys: null for a plain key, undefined if absent. */
export function signingKeyScope(
  account: AccountClaims,
  key: string,
): UserScope | null | undefined {
  for (const k of account.nats.signing_keys) {
    if (typeof k === "string" ? k === key : k.key === key) return typeof k === "string" ? null : k;
  }
  return undefined;
}

/** jwt.OperatorClaims.DidSign: issued by the operator itself (unless strict) or its signing key. */
export function operatorDidSign(op: OperatorClaims, claims: { iss: string; sub: string }): boolean {
  if (claims.iss === op.sub) {
    return !op.nats.strict_signing_key_usage || claims.sub === op.sub;
  }
  return (op.nats.signing_keys ?? []).includes(claims.iss);
}
