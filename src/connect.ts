/**
 * CONNECT's JSON, decoded the way nats-server decodes it: Go's encoding/json unmarshalling into
 * its ClientOpts struct. That is not what JSON.parse does, and clients can tell:
 * - keys match field names case-insensitively ("Verbose" sets verbose), the last one wins;
 * - `null` (the whole argument or one field) leaves the current value as it is;
 * - a value of the wrong type ("verbose":"false", "protocol":1.5) is an error that closes the
 *   connection, as is any syntax error, each with Go's message text (nats-server logs it);
 * - fields missing from the JSON keep their current value (CONNECT {} stays verbose).
 * The whole input is checked for syntax before any field is looked at, as Go does, so a syntax
 * error anywhere wins over a type error.
 */

import {
  BOOL,
  custom,
  decodeValue,
  INT,
  int32,
  list,
  parseGoJson,
  ptr,
  type Schema,
  STRING,
  STRINGS,
  struct,
  uint,
  UINT64,
  unmarshal,
} from "./go_json.ts";

/** The fields of CONNECT a client connection keeps (nats-server's ClientOpts). */
export interface ConnectOptions {
  verbose: boolean;
  pedantic: boolean;
  echo: boolean;
  headers: boolean;
  no_responders: boolean;
  protocol: number;
  name: string;
  lang: string;
  version: string;
  user?: string;
  pass?: string;
  auth_token?: string;
  tls_required?: boolean;
  jwt?: string;
  nkey?: string;
  sig?: string;
  /** Asking for an account in CONNECT is refused by nats-server 2.9 (authorization violation). */
  account?: string;
  new_account?: boolean;
}

/** A field Go decodes (and errors on) that nothing here keeps: checked, not stored. */
const checked = (schema: Schema): Schema =>
  custom((v, ctx) => {
    decodeValue(v, schema, ctx);
    return undefined;
  });

/** *SubjectPermission: a pointer to a struct of two []string (allow, deny). */
const SUBJECT_PERMISSION = checked(
  ptr(struct("server.SubjectPermission", { allow: STRINGS, deny: STRINGS })),
);

/** nats-server's ClientOpts. */
const CLIENT_OPTS = struct("server.ClientOpts", {
  echo: BOOL,
  verbose: BOOL,
  pedantic: BOOL,
  tls_required: BOOL,
  nkey: STRING,
  jwt: STRING,
  sig: STRING,
  auth_token: STRING,
  user: STRING,
  pass: STRING,
  name: STRING,
  lang: STRING,
  version: STRING,
  protocol: INT,
  account: STRING,
  new_account: BOOL,
  headers: BOOL,
  no_responders: BOOL,
  import: SUBJECT_PERMISSION,
  export: SUBJECT_PERMISSION,
});

/** []uint8 is []byte: Go takes a base64 string too (not checked here) or an array of bytes. */
const BYTES = custom((v, ctx) =>
  typeof v === "string" ? undefined : decodeValue(v, list("[]uint8", uint("uint8", 8)), ctx)
);

/** nats-server's Info: a client may send INFO; it is decoded (and then ignored). */
const INFO = struct("server.Info", {
  server_id: STRING,
  server_name: STRING,
  version: STRING,
  git_commit: STRING,
  go: STRING,
  host: STRING,
  proto: INT,
  port: INT,
  headers: BOOL,
  auth_required: BOOL,
  tls_required: BOOL,
  tls_verify: BOOL,
  tls_available: BOOL,
  max_payload: int32(),
  jetstream: BOOL,
  ip: STRING,
  client_id: UINT64,
  client_ip: STRING,
  nonce: STRING,
  cluster: STRING,
  cluster_dynamic: BOOL,
  domain: STRING,
  connect_urls: STRINGS,
  ws_connect_urls: STRINGS,
  ldm: BOOL,
  import: SUBJECT_PERMISSION,
  export: SUBJECT_PERMISSION,
  lnoc: BOOL,
  info_on_connect: BOOL,
  connect_info: BOOL,
  gateway: STRING,
  gateway_urls: STRINGS,
  gateway_url: STRING,
  gateway_cmd: uint("uint8", 8),
  gateway_cmd_payload: BYTES,
  gateway_nrp: BOOL,
  gateway_iom: BOOL,
  leafnode_urls: STRINGS,
  remote_account: STRING,
});

/**
 * Decodes a CONNECT argument into `into`, changing only the fields the JSON sets. Throws
 * GoJsonError with Go's text for input nats-server refuses.
 */
export function decodeConnect(buf: Uint8Array, into: ConnectOptions): void {
  unmarshal(parseGoJson(buf), CLIENT_OPTS, into);
}

/** Checks an INFO a client sent as nats-server decodes it; throws GoJsonError. */
export function checkClientInfo(buf: Uint8Array): void {
  unmarshal(parseGoJson(buf), INFO, {});
}
