/**
 * The `leafnodes {}` block (alias `leaf`), parsed as nats-server 2.9.10's parseLeafNodes,
 * parseLeafAuthorization, parseLeafUsers and parseRemoteLeafNodes do, with their error texts.
 *
 * A value of the wrong type abandons what nats-server's recover abandons: the rest of the block
 * for a top-level key, the authorization block, or the whole remotes list.
 */

import type { ConfNode } from "./parser.ts";
import {
  goQuote,
  goType,
  goValue,
  type Mapper,
  parseListen,
  parsePermSubjects,
  parseTls,
} from "../config.ts";
import {
  checkMinVersion,
  DEFAULT_LEAF_TLS_TIMEOUT_S,
  DEFAULT_LEAFNODE_PORT,
  defaultLeafNodeOptions,
  type LeafNodeOptions,
  type LeafUser,
  type RemoteLeafOptions,
} from "../leafnode/options.ts";

export function parseLeafNodes(m: Mapper, node: ConfNode): void {
  if (node.kind !== "map") {
    m.abandon(node.pos, `Expected map to define a leafnode, got ${goType(node)}`);
  }
  const ln: LeafNodeOptions = m.out.leafnode ?? defaultLeafNodeOptions();
  m.out.leafnode = ln;
  for (const [key, v] of node.value) {
    switch (key.toLowerCase()) {
      case "listen": {
        // A bad listen value is reported and the rest of the block still read.
        let hp: { host?: string; port: number } | undefined;
        m.guard(() => (hp = parseListen(m, v)));
        if (hp) {
          if (hp.host !== undefined) ln.host = hp.host;
          ln.port = hp.port;
        }
        break;
      }
      case "port":
        ln.port = m.int(v);
        break;
      case "host":
      case "net":
        ln.host = m.string(v);
        break;
      case "authorization":
        m.guard(() => parseLeafAuthorization(m, v, ln));
        break;
      case "remotes":
        // A wrong type inside drops the whole list, as nats-server's recover does.
        m.guard(() => (ln.remotes = parseRemotes(m, v)));
        break;
      case "reconnect":
      case "reconnect_delay":
      case "reconnect_interval":
        ln.reconnectMs = m.int(v) * 1000;
        break;
      case "tls":
        m.guard(() => (ln.tls = parseTls(m, v, true)));
        break;
      case "leafnode_advertise":
      case "advertise":
        ln.advertise = m.string(v);
        break;
      case "no_advertise":
        ln.noAdvertise = m.bool(v);
        break;
      case "min_version":
      case "minimum_version": {
        const version = m.string(v);
        const problem = checkMinVersion(version);
        if (problem !== null) m.error(v.pos, problem);
        else ln.minVersion = version;
        break;
      }
      default:
        if (!v.usedVariable) m.unknown(v.pos, key);
    }
  }
}

function parseLeafAuthorization(m: Mapper, node: ConfNode, ln: LeafNodeOptions): void {
  let user = "";
  let pass = "";
  let timeout = 0;
  let account = "";
  let users: LeafUser[] = [];
  for (const [key, v] of m.want(node, "map")) {
    switch (key.toLowerCase()) {
      case "user":
      case "username":
        user = m.string(v);
        break;
      case "pass":
      case "password":
        pass = m.string(v);
        break;
      case "timeout":
        // A number of seconds; any other type silently means 1, as in nats-server.
        timeout = v.kind === "integer" || v.kind === "float" ? v.value : 1;
        break;
      case "users":
        m.guard(() => (users = parseLeafUsers(m, v)));
        break;
      case "account":
        account = m.string(v);
        break;
      default:
        if (!v.usedVariable) m.unknown(v.pos, key);
    }
  }
  ln.username = user;
  ln.password = pass;
  ln.authTimeout = timeout;
  ln.account = account;
  ln.users = users;
  // validateLeafNodeAuthOptions
  if (users.length === 0) return;
  if (user !== "") {
    m.error(node.pos, "can not have a single user/pass and a users array");
    return;
  }
  const seen = new Set<string>();
  for (const u of users) {
    if (seen.has(u.username)) {
      m.error(node.pos, `duplicate user ${goQuote(u.username)} detected in leafnode authorization`);
      return;
    }
    seen.add(u.username);
  }
}

function parseLeafUsers(m: Mapper, node: ConfNode): LeafUser[] {
  if (node.kind !== "array") {
    m.abandon(node.pos, `Expected users field to be an array, got ${goValue(node)}`);
  }
  const users: LeafUser[] = [];
  for (const entry of node.value) {
    if (entry.kind !== "map") {
      m.error(entry.pos, `Expected user entry to be a map/struct, got ${goValue(entry)}`);
      continue;
    }
    const u: LeafUser = { username: "", password: "", account: "" };
    for (const [key, v] of entry.value) {
      switch (key.toLowerCase()) {
        case "user":
        case "username":
          u.username = m.string(v);
          break;
        case "pass":
        case "password":
          u.password = m.string(v);
          break;
        case "account":
          u.account = m.string(v);
          break;
        default:
          if (!v.usedVariable) m.unknown(v.pos, key);
      }
    }
    users.push(u);
  }
  return users;
}

function parseRemotes(m: Mapper, node: ConfNode): RemoteLeafOptions[] {
  if (node.kind !== "array") {
    m.abandon(node.pos, `Expected remotes field to be an array, got ${goType(node)}`);
  }
  const remotes: RemoteLeafOptions[] = [];
  for (const entry of node.value) {
    if (entry.kind !== "map") {
      m.error(
        entry.pos,
        `Expected remote leafnode entry to be a map/struct, got ${goValue(entry)}`,
      );
      continue;
    }
    const r: RemoteLeafOptions = {
      urls: [],
      localAccount: "",
      credentials: "",
      tlsTimeout: 0,
      hub: false,
      denyImports: [],
      denyExports: [],
      noRandomize: false,
    };
    for (const [key, v] of entry.value) {
      switch (key.toLowerCase()) {
        case "no_randomize":
        case "dont_randomize":
          r.noRandomize = m.bool(v);
          break;
        case "url":
        case "urls":
          if (v.kind === "array") {
            const seen = new Set<string>();
            for (const u of v.value) {
              const text = m.string(u);
              if (seen.has(text)) {
                m.warn(u.pos, text, "Duplicate leafnode entry detected");
                continue;
              }
              seen.add(text);
              const url = remoteUrl(m, u, text);
              if (url !== null) r.urls.push(url);
            }
          } else if (v.kind === "string") {
            const url = remoteUrl(m, v, v.value);
            if (url !== null) r.urls.push(url);
          } else {
            m.error(
              v.pos,
              `Expected remote leafnode url to be an array or string, got ${goValue(v)}`,
            );
          }
          break;
        case "account":
        case "local":
          r.localAccount = m.string(v);
          break;
        case "creds":
        case "credentials":
          r.credentials = expandPath(m.string(v));
          break;
        case "tls":
          m.guard(() => {
            r.tls = parseTls(m, v, true);
            r.tlsTimeout = r.tls.timeout > 0 ? r.tls.timeout : DEFAULT_LEAF_TLS_TIMEOUT_S;
          });
          break;
        case "hub":
          r.hub = m.bool(v);
          break;
        case "deny_imports":
        case "deny_import":
          m.guard(() => (r.denyImports = parsePermSubjects(m, v)));
          break;
        case "deny_exports":
        case "deny_export":
          m.guard(() => (r.denyExports = parsePermSubjects(m, v)));
          break;
        case "ws_compress":
        case "ws_compression":
        case "websocket_compress":
        case "websocket_compression":
          r.wsCompression = m.bool(v);
          break;
        case "ws_no_masking":
        case "websocket_no_masking":
          r.wsNoMasking = m.bool(v);
          break;
        case "jetstream_cluster_migrate":
        case "js_cluster_migrate":
          break;
        default:
          if (!v.usedVariable) m.unknown(v.pos, key);
      }
    }
    remotes.push(r);
  }
  return remotes;
}

/**
 * A remote URL as nats-server keeps it: trimmed, parsed leniently, and given the default leafnode
 * port when it has none (websocket URLs too).
 */
function remoteUrl(m: Mapper, node: ConfNode, text: string): string | null {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    m.error(node.pos, `error parsing leafnode url [${goQuote(trimmed)}]`);
    return null;
  }
  return url.port === "" ? withPort(trimmed, DEFAULT_LEAFNODE_PORT) : trimmed;
}

/** Adds a port after the host part of a URL that has none. */
function withPort(text: string, port: number): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?)(\[[^\]]*\]|[^/:?#]*)(.*)$/i.exec(text);
  if (!m) return text;
  return `${m[1]}${m[2]}:${port}${m[3]}`;
}

/** nats-server's expandPath: $VARS from the environment, then a leading `~`. */
function expandPath(p: string): string {
  let out = p.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, b) => {
    try {
      return Deno.env.get(a ?? b) ?? "";
    } catch {
      return "";
    }
  });
  if (out.startsWith("~")) {
    let home = "";
    try {
      home = Deno.env.get("HOME") ?? "";
    } catch {
      // no env permission
    }
    out = home + out.slice(1);
  }
  return out;
}
