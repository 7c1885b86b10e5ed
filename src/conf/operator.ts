/**
 * The operator-mode keys of a config file, parsed as nats-server 2.9.10's processConfigFileLine
 * does: `operator` (and its aliases), `trusted_keys`, `resolver`, `resolver_preload`,
 * `resolver_pinned_accounts` and `resolver_tls`, with nats-server's texts and positions.
 *
 * As in nats-server, some of this work happens while the file is read: operator JWTs are read
 * and decoded, preloaded account JWTs decoded, and a directory resolver's directory created.
 * The checks that need the whole configuration (operators with accounts or users, the system
 * account) run when the server is made (src/operator/validate.ts).
 */

import type * as nodePath from "node:path";
import { nodeBuiltin } from "../node_builtin.ts";
import { decodeAccountClaimsSync } from "../jwt/claims.ts";
import { readOperatorJwtSync } from "../jwt/trust.ts";
import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import type { ResolverOptions, TrustedOperator } from "../options.ts";
import type { ConfMap, ConfNode } from "./parser.ts";
import { goQuote, goType } from "./go_format.ts";
import { formatGoDuration, goDuration, isParsableUrl, type Mapper, parseTls } from "../config.ts";

/** nats-server's DEFAULT_ACCOUNT_FETCH_TIMEOUT. */
export const DEFAULT_ACCOUNT_FETCH_TIMEOUT_MS = 1900;

const OPERATOR_KEYS = new Set([
  "operator",
  "operators",
  "roots",
  "root",
  "root_operators",
  "root_operator",
]);
const RESOLVER_KEYS = new Set(["resolver", "account_resolver", "accounts_resolver"]);

/** Handles one top-level key if it is an operator-mode key; false otherwise. */
export function parseOperatorKey(m: Mapper, k: string, node: ConfNode): boolean {
  if (OPERATOR_KEYS.has(k)) parseOperators(m, node);
  else if (RESOLVER_KEYS.has(k)) parseResolver(m, node);
  else if (k === "resolver_tls") m.out.resolverTls = parseTls(m, node, true);
  else if (k === "resolver_preload") parsePreload(m, node);
  else if (k === "resolver_pinned_accounts") parsePinned(m, node);
  else if (k === "trusted" || k === "trusted_keys") parseTrustedKeys(m, node);
  else return false;
  return true;
}

function parseOperators(m: Mapper, node: ConfNode): void {
  const o = m.out;
  // A list in a config file is []interface{}, which nats-server does not take here.
  const files: string[] = [];
  if (node.kind === "string") files.push(node.value);
  else m.error(node.pos, `error parsing operators: unsupported type ${goType(node)}`);
  const operators: TrustedOperator[] = [];
  for (const f of files) {
    try {
      operators.push(readOperatorJwtSync(f));
    } catch (e) {
      m.error(node.pos, `error parsing operator JWT: ${(e as Error).message}`);
    }
  }
  o.trustedOperators = operators;
  if (operators.length !== 1) return;
  const op = operators[0].claims.nats;
  // A resolver given in the config wins over the operator's account server.
  if (o.resolver === undefined || o.resolver === null) {
    const url = (op.account_server_url ?? "").trim();
    // nsc pushes accounts under "/accounts" of the account server.
    if (isParsableUrl(url)) o.resolver = { type: "url", url: `${url}/accounts` };
  }
  if (!o.systemAccount) o.systemAccount = op.system_account ?? "";
}

const MEMORY_RESOLVER = /(MEM|MEMORY)\s*/i;
const URL_RESOLVER = /(?:URL){1}(?:\({1}\s*"?([^\s"]*)"?\s*\){1})?\s*/i;

function parseResolver(m: Mapper, node: ConfNode): void {
  const o = m.out;
  let resolver: ResolverOptions | null = null;
  if (node.kind === "string") {
    // Clear what the operator's account server set, so a bad value is not silently ignored.
    o.resolver = null;
    const v = node.value;
    const url = URL_RESOLVER.exec(v);
    if (MEMORY_RESOLVER.test(v)) {
      resolver = { type: "memory" };
    } else if (url) {
      const u = (url[1] ?? "").trim();
      if (!isParsableUrl(u)) {
        m.abandon(node.pos, `error parsing account resolver url [${goQuote(u)}]`);
      }
      resolver = { type: "url", url: u };
    }
  } else if (node.kind === "map") {
    resolver = parseDirResolver(m, node.value, node);
  } else {
    m.abandon(node.pos, `error parsing operator resolver, wrong type ${goType(node)}`);
  }
  o.resolver = resolver;
  if (resolver === null) {
    m.error(
      node.pos,
      "error parsing account resolver, should be MEM or " +
        ' URL("url") or a map containing dir and type state=[FULL|CACHE])',
    );
  }
}

/**
 * `resolver { type, dir, ... }`. The keys are read by their exact (lower-case) names and others
 * are ignored, as nats-server does; all errors point at the block.
 */
function parseDirResolver(m: Mapper, v: ConfMap, node: ConfNode): ResolverOptions | null {
  const get = (k: string) => v.get(k);
  const dirNode = get("dir");
  const dir = dirNode ? m.string(dirNode) : "";
  const typeNode = get("type");
  const type = typeNode ? m.string(typeNode).toUpperCase() : "";
  const delNode = get("allow_delete");
  const allowDelete = delNode ? m.bool(delNode) : false;
  const limitNode = get("limit");
  const limit = limitNode ? m.int(limitNode) : 0;
  // ttl, then interval, then timeout: the first bad duration stops the others.
  let err: string | null = null;
  const duration = (k: string): number => {
    const n = get(k);
    if (!n || err !== null) return 0;
    const ms = goDuration(m.string(n));
    if (typeof ms === "string") {
      err = ms;
      return 0;
    }
    return ms;
  };
  const ttlMs = duration("ttl");
  const intervalMs = duration("interval");
  const timeoutGiven = get("timeout") !== undefined && err === null;
  const timeoutMs = duration("timeout");
  if (err !== null) m.abandon(node.pos, err);
  if (dir === "") m.abandon(node.pos, "dir has no value and needs to point to a directory");
  const abs = nodeBuiltin<typeof nodePath>("node:path").resolve(dir);
  const info = statOrNull(abs);
  if (info && (!info.isDirectory || ((info.mode ?? 0o777) & 0o200) === 0)) {
    m.abandon(node.pos, "dir needs to point to an accessible directory");
  }
  if (type === "CACHE") {
    if (intervalMs !== 0) m.error(node.pos, "CACHE does not accept sync");
    if (allowDelete) m.error(node.pos, "CACHE does not accept allow_delete");
  } else if (type === "FULL") {
    if (ttlMs !== 0) m.error(node.pos, "FULL does not accept ttl");
  } else {
    return null;
  }
  if (!info) {
    try {
      Deno.mkdirSync(abs, { recursive: true, mode: 0o750 });
    } catch (e) {
      m.abandon(node.pos, `mkdir ${dir}: ${goErrno(e)}`);
    }
  }
  if (timeoutGiven && timeoutMs <= 0) {
    m.abandon(node.pos, `Fetch timeout ${formatGoDuration(timeoutMs)} is too smal`);
  }
  return {
    type: type === "FULL" ? "full" : "cache",
    dir: abs,
    limit,
    ttlMs,
    intervalMs,
    allowDelete,
    timeoutMs: timeoutGiven ? timeoutMs : DEFAULT_ACCOUNT_FETCH_TIMEOUT_MS,
  };
}

function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch {
    return null;
  }
}

/** The errno text of a failed file operation, as Go prints it. */
function goErrno(e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.AlreadyExists) return "file exists";
  return (e as Error).message;
}

function parsePreload(m: Mapper, node: ConfNode): void {
  if (node.kind !== "map") {
    m.abandon(node.pos, "preload should be a map of account_public_key:account_jwt");
  }
  const out: [string, string][] = [];
  for (const [key, val] of node.value) {
    if (val.kind !== "string") {
      m.error(val.pos, "preload map value should be a string JWT");
      continue;
    }
    // An account JWT that does not decode is a config error; expiry and the like only warn later.
    try {
      decodeAccountClaimsSync(val.value);
    } catch {
      m.error(val.pos, "invalid account JWT");
      continue;
    }
    out.push([key, val.value]);
  }
  m.out.resolverPreload = out;
}

function parsePinned(m: Mapper, node: ConfNode): void {
  if (node.kind === "string") {
    m.out.resolverPinnedAccounts = [node.value];
    return;
  }
  if (node.kind !== "array") {
    m.abandon(
      node.pos,
      `error parsing resolver_pinned_accounts: unsupported type ${goType(node)}`,
    );
  }
  const keys: string[] = [];
  for (const e of node.value) {
    if (e.kind === "string") keys.push(e.value);
    else {
      m.error(
        e.pos,
        `error parsing resolver_pinned_accounts: unsupported type in array ${goType(e)}`,
      );
    }
  }
  m.out.resolverPinnedAccounts = keys;
}

function parseTrustedKeys(m: Mapper, node: ConfNode): void {
  let keys: string[] = [];
  // nats-server reports bad keys of a list at its last element.
  let pos = node.pos;
  if (node.kind === "string") keys = [node.value];
  else if (node.kind === "array") {
    for (const e of node.value) {
      pos = e.pos;
      if (e.kind === "string") keys.push(e.value);
      else m.error(e.pos, `error parsing trusted: unsupported type in array ${goType(e)}`);
    }
  } else {
    m.error(node.pos, `error parsing trusted: unsupported type ${goType(node)}`);
  }
  m.out.trustedKeys = keys;
  for (const k of keys) {
    if (!isValidPublicNkey(k, NkeyPrefix.Operator)) {
      m.error(pos, `trust key ${goQuote(k)} required to be a valid public operator nkey`);
    }
  }
}
