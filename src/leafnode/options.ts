/**
 * The `leafnodes {}` options (nats-server's LeafNodeOpts and RemoteLeafOpts) and the checks
 * nats-server's validateLeafNode makes before the server starts.
 */

import type { AccountOptions, Options, TlsOptions } from "../options.ts";
import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";

/** nats-server's DEFAULT_LEAF_NODE_RECONNECT. */
export const DEFAULT_LEAF_RECONNECT_MS = 1000;
/** nats-server's DEFAULT_LEAFNODE_PORT: a remote URL without a port dials this one. */
export const DEFAULT_LEAFNODE_PORT = 7422;
/** nats-server's DEFAULT_LEAF_TLS_TIMEOUT, in seconds. */
export const DEFAULT_LEAF_TLS_TIMEOUT_S = 2;

/** A user of the leafnode `authorization {users: [...]}` list: no permissions, one account. */
export interface LeafUser {
  username: string;
  password: string;
  /** Empty: the global account. */
  account: string;
}

/** One entry of `remotes [...]`: a server this one connects to as a leaf. */
export interface RemoteLeafOptions {
  /** As written (trimmed), with nats-server's default port added where none is given. */
  urls: string[];
  /** `account`: the local account the connection binds; empty means `$G`. */
  localAccount: string;
  /** `credentials`: a .creds file (user JWT and seed) used to sign the hub's nonce. */
  credentials: string;
  /** `tls {}`: TLS is required toward this remote (and these are the client-side settings). */
  tls?: TlsOptions;
  /** Seconds; nats-server's default when the tls block gives none. */
  tlsTimeout: number;
  /** `hub: true`: this side acts as the hub on the connection it makes. */
  hub: boolean;
  denyImports: string[];
  denyExports: string[];
  noRandomize: boolean;
  /** `ws_compression`: ask a websocket remote for permessage-deflate. */
  wsCompression?: boolean;
  /** `ws_no_masking`: ask a websocket remote to take unmasked frames. */
  wsNoMasking?: boolean;
}

export interface LeafNodeOptions {
  host: string;
  /** 0: no listener; -1: a random port. */
  port: number;
  username: string;
  password: string;
  /** Seconds; 0 means nats-server's default (TLS timeout + 1 with TLS, else 2). */
  authTimeout: number;
  /** The account leafs authenticated by the single user (or by nothing) bind to. */
  account: string;
  users: LeafUser[];
  tls?: TlsOptions;
  advertise: string;
  noAdvertise: boolean;
  minVersion: string;
  reconnectMs: number;
  remotes: RemoteLeafOptions[];
}

export function defaultLeafNodeOptions(): LeafNodeOptions {
  return {
    host: "0.0.0.0",
    port: 0,
    username: "",
    password: "",
    authTimeout: 0,
    account: "",
    users: [],
    advertise: "",
    noAdvertise: false,
    minVersion: "",
    reconnectMs: DEFAULT_LEAF_RECONNECT_MS,
    remotes: [],
  };
}

/** nats-server's versionComponents: "v2.9.10" -> [2, 9, 10]; missing parts are 0. */
export function versionComponents(version: string): [number, number, number] | null {
  const m = /^v?([0-9]+)\.?([0-9]+)?\.?([0-9]+)?/.exec(version);
  if (!m) return null;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

export function versionAtLeast(version: string, major: number, minor: number, patch: number) {
  const v = versionComponents(version);
  if (v === null) return false;
  return v[0] > major || (v[0] === major && (v[1] > minor || (v[1] === minor && v[2] >= patch)));
}

/** checkLeafMinVersionConfig: the error text, or null when `min_version` is acceptable. */
export function checkMinVersion(mv: string): string | null {
  if (versionComponents(mv) === null) return "invalid leafnode's minimum version: invalid semver";
  if (!versionAtLeast(mv, 2, 8, 0)) return "the minimum version should be at least 2.8.0";
  return null;
}

/**
 * validateLeafNode: every account a leafnode setting names must exist (the global account, the
 * system account and "" always do); with trusted operators, accounts are public account keys
 * and leafnode users are not allowed. Throws with nats-server's text.
 */
export function validateLeafNode(
  ln: LeafNodeOptions,
  accounts: AccountOptions[],
  systemAccount: string,
  noSystemAccount: boolean,
  operators = false,
): void {
  if (operators) validateOperatorLeafNode(ln);
  else {
    const names = new Set(accounts.map((a) => a.name));
    names.add("$G");
    names.add("");
    if (systemAccount === "" && !noSystemAccount) names.add("$SYS");
    const check = (name: string, what: string) => {
      if (!names.has(name)) {
        throw new Error(`cannot find local account "${name}" specified in leafnode ${what}`);
      }
    };
    check(ln.account, "authorization");
    for (const u of ln.users) if (u.account !== "") check(u.account, "authorization");
    for (const r of ln.remotes) check(r.localAccount, "remote");
  }
  for (const r of ln.remotes) {
    const ws = r.urls.map(isWsText);
    if (ws.some((w) => w !== ws[0])) {
      throw new Error(
        "remote leaf node configuration cannot have a mix of websocket and non-websocket urls: " +
          `[${r.urls.map((u) => JSON.stringify(redactUrl(u))).join(" ")}]`,
      );
    }
  }
  if (ln.port !== 0 && ln.minVersion !== "") {
    const problem = checkMinVersion(ln.minVersion);
    if (problem !== null) throw new Error(problem);
  }
}

/** validateLeafNode's operator-mode half. */
function validateOperatorLeafNode(ln: LeafNodeOptions): void {
  if (ln.users.length > 0) {
    throw new Error("operator mode does not allow specifying user in leafnode config");
  }
  for (const r of ln.remotes) {
    if (!isValidPublicNkey(r.localAccount, NkeyPrefix.Account)) {
      throw new Error(
        "operator mode requires account nkeys in remotes. Please add an `account` key to each " +
          "remote in your `leafnodes` section, to assign it to an account. Each account value " +
          "should be a 56 character public key, starting with the letter 'A'",
      );
    }
  }
  if (ln.port !== 0 && ln.account !== "" && !isValidPublicNkey(ln.account, NkeyPrefix.Account)) {
    throw new Error("operator mode and non account nkeys are incompatible");
  }
}

/**
 * A reload may not change the leafnode settings, bar TLS (nats-server refuses the rest, and
 * keeps "" and "$G" as the same remote account). Returns the refusal, or null.
 */
export function leafnodeReloadError(cur: LeafNodeOptions, next: LeafNodeOptions): string | null {
  const comparable = (o: LeafNodeOptions) =>
    JSON.stringify({
      ...o,
      tls: undefined,
      remotes: o.remotes.map((r) => ({
        ...r,
        tls: undefined,
        localAccount: r.localAccount || "$G",
      })),
    });
  if (comparable(cur) === comparable(next)) return null;
  return `config reload not supported for LeafNode: old=${comparable(cur)}, new=${
    comparable(next)
  }`;
}

/**
 * The cluster name known before the cluster starts: the configured one, or, for a server with
 * leafnode remotes and no cluster, its server name (nats-server gives it that stable name).
 */
export function configuredClusterName(o: Options): string {
  if (o.cluster.name !== "") return o.cluster.name;
  return o.leafnode.remotes.length > 0 && o.cluster.port === 0 ? o.serverName : "";
}

/** nats-server's isWSURL, on a URL as configured. */
function isWsText(url: string): boolean {
  return /^ws/i.test(url);
}

/** A URL with its password shown as "xxxxx" (nats-server's redactURLList). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, "$1xxxxx@");
}
