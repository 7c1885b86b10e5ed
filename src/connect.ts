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
  bool,
  custom,
  decodeValue,
  int32,
  int64,
  list,
  parseGoJson,
  ptr,
  type Schema,
  str,
  struct,
  uint,
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

const STRINGS = list("[]string", str());

/** *SubjectPermission: a pointer to a struct of two []string (allow, deny). */
const SUBJECT_PERMISSION = checked(
  ptr(struct("server.SubjectPermission", { allow: STRINGS, deny: STRINGS })),
);

const INT = int64("int");

/** nats-server's ClientOpts. */
const CLIENT_OPTS = struct("server.ClientOpts", {
  echo: bool,
  verbose: bool,
  pedantic: bool,
  tls_required: bool,
  nkey: str(),
  jwt: str(),
  sig: str(),
  auth_token: str(),
  user: str(),
  pass: str(),
  name: str(),
  lang: str(),
  version: str(),
  protocol: INT,
  account: str(),
  new_account: bool,
  headers: bool,
  no_responders: bool,
  import: SUBJECT_PERMISSION,
  export: SUBJECT_PERMISSION,
});

const S = str();

/** []uint8 is []byte: Go takes a base64 string too (not checked here) or an array of bytes. */
const BYTES = custom((v, ctx) =>
  typeof v === "string" ? undefined : decodeValue(v, list("[]uint8", uint("uint8", 8)), ctx)
);

/** nats-server's Info: a client may send INFO; it is decoded (and then ignored). */
const INFO = struct("server.Info", {
  server_id: S,
  server_name: S,
  version: S,
  git_commit: S,
  go: S,
  host: S,
  proto: INT,
  port: INT,
  headers: bool,
  auth_required: bool,
  tls_required: bool,
  tls_verify: bool,
  tls_available: bool,
  max_payload: int32(),
  jetstream: bool,
  ip: S,
  client_id: uint("uint64", 64),
  client_ip: S,
  nonce: S,
  cluster: S,
  cluster_dynamic: bool,
  domain: S,
  connect_urls: STRINGS,
  ws_connect_urls: STRINGS,
  ldm: bool,
  import: SUBJECT_PERMISSION,
  export: SUBJECT_PERMISSION,
  lnoc: bool,
  info_on_connect: bool,
  connect_info: bool,
  gateway: S,
  gateway_urls: STRINGS,
  gateway_url: S,
  gateway_cmd: uint("uint8", 8),
  gateway_cmd_payload: BYTES,
  gateway_nrp: bool,
  gateway_iom: bool,
  leafnode_urls: STRINGS,
  remote_account: S,
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
