/**
 * The claims of NATS JWTs (nats-io/jwt v2, as nats-server 2.9.10 reads them), with the JSON
 * names of the wire format so a decoded claim can be shown as it was issued (/accountz, tools).
 *
 * Absent fields stay absent: Go's zero value (0, "", false) is what a missing field means, and an
 * absent list is not an empty one (nats-server tells them apart in a few places).
 */

/** Standard JWT fields (jwt.ClaimsData). Times are Unix seconds; 0 or absent means not set. */
export interface ClaimsData {
  aud?: string;
  exp?: number;
  jti?: string;
  iat?: number;
  iss: string;
  name?: string;
  nbf?: number;
  sub: string;
}

/** jwt.GenericFields: inside `nats` in v2 JWTs. */
export interface GenericFields {
  tags?: string[];
  type: string;
  /** 2 for current JWTs; 1 for JWTs migrated from the v1 format. */
  version: number;
}

export interface Permission {
  allow?: string[];
  deny?: string[];
}

/** jwt.ResponsePermission. */
export interface ResponsePermission {
  max: number;
  /** Go time.Duration: nanoseconds. */
  ttl: number;
}

export interface Permissions {
  pub?: Permission;
  sub?: Permission;
  resp?: ResponsePermission;
}

/** A connect-time window, "15:04:05" wall-clock times. */
export interface TimeRange {
  start?: string;
  end?: string;
}

export interface UserLimits {
  /** Source networks (CIDRs) the user may connect from. */
  src?: string[];
  times?: TimeRange[];
  /** IANA zone the times are in; empty means the server's local time. */
  times_location?: string;
}

/** -1 means unlimited; 0 (or absent) in a v2 JWT means zero. */
export interface NatsLimits {
  subs?: number;
  data?: number;
  payload?: number;
}

export interface UserPermissionLimits extends Permissions, UserLimits, NatsLimits {
  bearer_token?: boolean;
  allowed_connection_types?: string[];
}

export interface User extends UserPermissionLimits, GenericFields {
  /** Set when a signing key issued the user: the account the key belongs to. */
  issuer_account?: string;
}

export interface UserClaims extends ClaimsData {
  nats: User;
}

/** A scoped signing key: users it issues get `template` as their permissions and limits. */
export interface UserScope {
  kind: "user_scope";
  key: string;
  role?: string;
  template: UserPermissionLimits;
}

/** An account signing key: a plain key, or a scoped one. */
export type SigningKey = string | UserScope;

export type ExportType = "stream" | "service";

export interface Info {
  description?: string;
  info_url?: string;
}

export interface ServiceLatency {
  /** 1-100 percent, or 0 for "headers". */
  sampling: number;
  results: string;
}

/** Revoked public keys (or "*" for all) with the time before which JWTs are revoked. */
export type RevocationList = Record<string, number>;

export interface Export extends Info {
  name?: string;
  subject?: string;
  /** Absent means unknown (invalid). */
  type?: ExportType;
  token_req?: boolean;
  revocations?: RevocationList;
  response_type?: string;
  /** Go time.Duration: nanoseconds. */
  response_threshold?: number;
  service_latency?: ServiceLatency;
  account_token_position?: number;
  advertise?: boolean;
}

export interface Import {
  name?: string;
  subject?: string;
  account?: string;
  token?: string;
  to?: string;
  local_subject?: string;
  type?: ExportType;
  share?: boolean;
}

export interface AccountLimits {
  imports?: number;
  exports?: number;
  wildcards?: boolean;
  disallow_bearer?: boolean;
  conn?: number;
  leaf?: number;
}

export interface JetStreamLimits {
  mem_storage?: number;
  disk_storage?: number;
  streams?: number;
  consumer?: number;
  max_ack_pending?: number;
  mem_max_stream_bytes?: number;
  disk_max_stream_bytes?: number;
  max_bytes_required?: boolean;
}

export interface OperatorLimits extends NatsLimits, AccountLimits, JetStreamLimits {
  tiered_limits?: Record<string, JetStreamLimits>;
}

export interface WeightedMapping {
  subject: string;
  weight?: number;
  cluster?: string;
}

export interface Account extends Info, GenericFields {
  imports?: (Import | null)[];
  exports?: (Export | null)[];
  limits: OperatorLimits;
  /** Keys in JWT order, one entry per key (a later duplicate replaces an earlier one). */
  signing_keys: SigningKey[];
  revocations?: RevocationList;
  default_permissions: Permissions;
  mappings?: Record<string, WeightedMapping[]>;
}

export interface AccountClaims extends ClaimsData {
  nats: Account;
}

export interface Operator extends GenericFields {
  signing_keys?: string[];
  account_server_url?: string;
  operator_service_urls?: string[];
  system_account?: string;
  assert_server_version?: string;
  strict_signing_key_usage?: boolean;
}

export interface OperatorClaims extends ClaimsData {
  nats: Operator;
}

export interface Activation extends GenericFields {
  subject?: string;
  kind?: ExportType;
  issuer_account?: string;
}

export interface ActivationClaims extends ClaimsData {
  nats: Activation;
}

/** Any other kind: the `nats` object as it came. */
export interface GenericClaims extends ClaimsData {
  nats?: Record<string, unknown>;
}

/** A decoded, signature-checked JWT, by kind. */
export type DecodedJwt =
  | { kind: "operator"; claims: OperatorClaims }
  | { kind: "account"; claims: AccountClaims }
  | { kind: "user"; claims: UserClaims }
  | { kind: "activation"; claims: ActivationClaims }
  | { kind: "generic"; claims: GenericClaims };

/** Connection kinds a user JWT may restrict itself to (allowed_connection_types). */
export const ConnectionType = {
  Standard: "STANDARD",
  Websocket: "WEBSOCKET",
  Leafnode: "LEAFNODE",
  LeafnodeWs: "LEAFNODE_WS",
  Mqtt: "MQTT",
  MqttWs: "MQTT_WS",
} as const;

export type ConnectionType = (typeof ConnectionType)[keyof typeof ConnectionType];
