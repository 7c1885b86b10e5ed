/**
 * The leafnode side of a server: the leafnode listener (nats-server's startLeafNodeAcceptLoop),
 * the remotes it connects to (solicit.ts), the registry of leaf connections by account, the INFO
 * it sends (with the leafnode URLs of its cluster, learned from routes: gossip), and the hooks
 * the server calls when interest changes (interest.ts).
 */

import { type ClientSub, ClosedState } from "../client.ts";
import type { Server } from "../server.ts";
import { hostPort, StartError } from "../server.ts";
import type { Account } from "../accounts/account.ts";
import type { SubjectPermission } from "../options.ts";
import { acceptLoop, isWildcardHost, listenTcp, type PeerAddress, peerOf } from "../transport.ts";
import type { WsTransport } from "../websocket/transport.ts";
import { loadTlsContext, serverHandshake, type TlsContext } from "../tls.ts";
import { newNonce } from "../nkeys.ts";
import { goJson } from "../go_json.ts";
import { LDS_PREFIX, Leaf } from "./connection.ts";
import { readCredsFile, RemoteLeaf } from "./solicit.ts";
import { parseCreds } from "../jwt/creds.ts";
import { decodeUserClaims } from "../jwt/claims.ts";
import { initialInterest, updateLeafs } from "./interest.ts";
import { jetstreamRules } from "./jetstream.ts";
import { configuredClusterName, type LeafNodeOptions } from "./options.ts";
import { label } from "../operator/account_claims.ts";

const enc = new TextEncoder();

const NUID = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A 22-character token like nats-server's nuid.Next(). */
function nuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  let s = "";
  for (const b of bytes) s += NUID[b % 62];
  return s;
}

/** Extra fields of one INFO: per connection (client id, nonce) or the answer to a CONNECT. */
export interface InfoExtras {
  cid?: number;
  nonce?: string;
  import?: SubjectPermission;
  export?: SubjectPermission;
  connectInfo?: boolean;
  remoteAccount?: string;
}

export class LeafNodes {
  readonly server: Server;
  /** Every leaf connection, set up or not (for pings, deadlines and shutdown). */
  readonly conns = new Map<number, Leaf>();
  /** Registered leaf connections by account (nats-server's acc.lleafs). */
  readonly byAccount = new Map<Account, Set<Leaf>>();
  readonly remotes: RemoteLeaf[] = [];
  /** Leafnode URLs of this server's cluster, with a count (nats-server's leafURLsMap). */
  readonly urls = new Map<string, number>();
  readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** The bound port (0 without a listener). */
  port = 0;
  tls: TlsContext | null;
  running = false;
  #listener: Deno.Listener | null = null;
  #infoHost = "";
  #infoPort = 0;
  /** host:port leafs reach us at (nats-server's leafNodeInfo.IP). */
  #ip = "";
  #lds = new Map<Account, string>();
  #sleepers = new Set<() => void>();

  constructor(server: Server) {
    this.server = server;
    const o = this.opts;
    this.tls = o.port !== 0 && o.tls ? loadTlsContext(o.tls) : null;
  }

  get opts(): LeafNodeOptions {
    return this.server.opts.leafnode;
  }

  /** Seconds to CONNECT: the configured timeout, else TLS timeout + 1 with TLS, else 2. */
  get authTimeoutMs(): number {
    const o = this.opts;
    if (o.authTimeout > 0) return o.authTimeout * 1000;
    return this.tls ? (o.tls!.timeout + 1) * 1000 : 2000;
  }

  start(): void {
    const o = this.opts;
    const s = this.server;
    this.running = true;
    if (o.port !== 0) {
      try {
        this.#listener = listenTcp(o.host, o.port === -1 ? 0 : o.port).listener;
      } catch (e) {
        this.running = false;
        throw new StartError(
          `Error listening on leafnode port: ${o.port} - ${(e as Error).message}`,
        );
      }
      this.port = (this.#listener.addr as Deno.NetAddr).port;
      s.log.notice(`Listening for leafnode connections on ${hostPort(o.host, this.port)}`);
      this.#setInfoHostPort();
      this.urls.set(this.#ip, 1);
      const insecure = o.tls?.insecure || o.remotes.some((r) => r.tls?.insecure);
      if ((this.tls && o.tls?.insecure) || insecure) {
        s.log.warn(
          "TLS certificate chain and hostname of solicited leafnodes will not be verified. " +
            "DO NOT USE IN PRODUCTION!",
        );
      }
      acceptLoop(this.#listener, "leafnode", (m) => s.log.error(m), (conn) => {
        if (this.running) this.#accept(conn);
        else conn.close();
      });
    }
    for (const r of o.remotes) {
      const acc = s.accounts.get(r.localAccount || "$G") ?? s.globalAccount;
      const remote = new RemoteLeaf(this, r, acc);
      // Certificates are read now: a bad file stops the start, as it stops nats-server.
      if (r.tls) {
        try {
          remote.clientTls();
        } catch (e) {
          throw new StartError((e as Error).message);
        }
      }
      this.remotes.push(remote);
    }
    for (const remote of this.remotes) {
      if (remote.account === s.systemAccount) {
        if (remote.opts.denyExports.length > 0) {
          s.log.notice("Remote for System Account uses restricted export permissions");
        }
        if (remote.opts.denyImports.length > 0) {
          s.log.notice("Remote for System Account uses restricted import permissions");
        }
      }
      if (remote.opts.credentials !== "") checkCredentials(s, remote);
      remote.connect(true);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of this.#sleepers) wake();
    this.#sleepers.clear();
    try {
      this.#listener?.close();
    } catch {
      // already closed
    }
    const all = [...this.conns.values()];
    for (const l of all) l.close(ClosedState.ServerShutdown);
    await Promise.all(all.map((l) => l.out.drained()));
  }

  /** Waits, unless the server stops first; resolves whether to go on. */
  sleep(ms: number): Promise<boolean> {
    if (!this.running) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.timers.delete(t);
        this.#sleepers.delete(wake);
        resolve(this.running);
      };
      const t = setTimeout(wake, ms);
      this.timers.add(t);
      this.#sleepers.add(wake);
    });
  }

  /** The INFO host and port: the advertise address, or the listener's (a wildcard resolved). */
  #setInfoHostPort(): void {
    const o = this.opts;
    if (o.advertise !== "") {
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(o.advertise);
      this.#infoHost = m ? m[1].replace(/^\[|\]$/g, "") : o.advertise;
      this.#infoPort = m?.[2] ? Number(m[2]) : this.port;
    } else {
      this.#infoHost = o.host;
      this.#infoPort = this.port;
      if (isWildcardHost(o.host)) {
        const ip = firstGlobalIp();
        if (ip === null) {
          this.server.log.error(
            `Could not find any non-local IP for leafnode's listen specification ${
              JSON.stringify(o.host)
            }`,
          );
        } else this.#infoHost = ip;
      }
    }
    this.#ip = hostPort(this.#infoHost, this.#infoPort);
    if (o.advertise !== "") {
      this.server.log.notice(`Advertise address for leafnode is set to ${this.#ip}`);
    }
  }

  /** Our leafnode URL for route INFOs ("" without a listener or with no_advertise). */
  advertisedUrl(): string {
    return this.#listener !== null && !this.opts.noAdvertise ? this.#ip : "";
  }

  /**
   * The cluster name leafnodes see: the cluster's, or, for a server with remotes and no cluster,
   * its server name (nats-server gives such a server that stable name).
   */
  clusterName(): string {
    return this.server.cluster?.name ?? configuredClusterName(this.server.opts);
  }

  /** The leafnode INFO, with nats-server's fields in its order. */
  info(x: InfoExtras = {}): string {
    const s = this.server;
    const info = s.infoHead(this.#infoHost, this.#infoPort);
    info.headers = !s.opts.noHeaderSupport;
    info.auth_required = true;
    if (this.tls) {
      info.tls_required = true;
      if (this.tls.verify) info.tls_verify = true;
    }
    info.max_payload = s.opts.maxPayload;
    if (s.opts.jetstream) info.jetstream = true;
    info.ip = this.#ip;
    if (x.cid) info.client_id = x.cid;
    if (x.nonce) info.nonce = x.nonce;
    const cluster = this.clusterName();
    if (cluster !== "") info.cluster = cluster;
    if (s.opts.jetstreamDomain !== "") info.domain = s.opts.jetstreamDomain;
    // The other servers' websocket URLs (learned over routes), for websocket remotes.
    const wsUrls = [...(s.cluster?.remoteWsUrls.values() ?? [])].flat();
    if (wsUrls.length > 0) info.ws_connect_urls = wsUrls;
    if (x.import) info.import = x.import;
    if (x.export) info.export = x.export;
    info.info_on_connect = true;
    if (x.connectInfo) info.connect_info = true;
    info.leafnode_urls = [...this.urls.keys()];
    if (x.remoteAccount) info.remote_account = x.remoteAccount;
    return `INFO ${goJson(info, false)} \r\n`;
  }

  /** A route told us another server's leafnode URL: leafs learn where else they may connect. */
  addUrl(url: string): void {
    const n = this.urls.get(url) ?? 0;
    this.urls.set(url, n + 1);
    if (n === 0) this.#sendAsyncInfo();
  }

  removeUrl(url: string): void {
    const n = this.urls.get(url) ?? 0;
    if (n <= 0 || !this.running) return;
    if (n === 1) {
      this.urls.delete(url);
      this.#sendAsyncInfo();
    } else this.urls.set(url, n - 1);
  }

  #sendAsyncInfo(): void {
    if (this.#listener === null) return;
    const line = enc.encode(this.info());
    for (const l of this.conns.values()) {
      if (l.registered && !l.closed && l.remote === null) l.queue(line);
    }
  }

  // ---- Connections ----

  #accept(conn: Deno.Conn): void {
    const s = this.server;
    const leaf = new Leaf(s, this, conn, peerOf(conn), s.nextId(), null);
    this.conns.set(leaf.cid, leaf);
    s.log.noticec(leaf, "Leafnode connection created ");
    leaf.nonce = newNonce();
    leaf.queue(enc.encode(this.info({ cid: leaf.cid, nonce: leaf.nonce })));
    if (this.tls) this.#startTls(leaf, conn, this.tls);
    else leaf.run();
  }

  /** INFO went out in clear; then the leaf starts the TLS handshake. */
  async #startTls(leaf: Leaf, conn: Deno.Conn, ctx: TlsContext): Promise<void> {
    const s = this.server;
    leaf.flush();
    await leaf.out.drained();
    if (leaf.closed) return;
    s.log.debugc(leaf, "Starting TLS leafnode server handshake");
    try {
      const t = await serverHandshake(conn, ctx);
      if (leaf.closed) {
        t.close();
        return;
      }
      leaf.conn = t;
      leaf.tlsInfo = {
        version: t.protocol.replace(/^TLSv/, ""),
        cipher: t.cipher,
        peer: t.socket.getPeerX509Certificate() ?? null,
      };
      s.log.debugc(leaf, "TLS handshake complete");
      s.log.debugc(leaf, `TLS version ${leaf.tlsInfo.version}, cipher suite ${t.cipher}`);
    } catch (e) {
      s.log.errorc(leaf, `TLS leafnode handshake error: ${(e as Error).message}`);
      leaf.close(ClosedState.TLSHandshakeError);
      return;
    }
    leaf.run();
  }

  /**
   * A remote's dial succeeded: the connection waits for the hub's INFO. In operator mode the
   * remote's account is looked up first (through the resolver); without it the connection is
   * dropped and dialed again, as nats-server does.
   */
  createLeaf(conn: Deno.Conn, remote: RemoteLeaf): void {
    const s = this.server;
    if (s.operator !== null) {
      const name = remote.opts.localAccount;
      const fail = (e: unknown) => {
        conn.close();
        s.log.error(
          `Unable to lookup account ${name} for solicited leafnode connection: ${
            (e as Error).message
          }`,
        );
        remote.reconnect();
      };
      try {
        const found = s.operator.lookupAccount(name);
        if (found instanceof Promise) {
          found.then((acc) => {
            remote.account = acc;
            if (this.running) this.#newLeaf(conn, remote);
            else conn.close();
          }, fail);
          return;
        }
        remote.account = found;
      } catch (e) {
        return fail(e);
      }
    }
    this.#newLeaf(conn, remote);
  }

  #newLeaf(conn: Deno.Conn, remote: RemoteLeaf): void {
    const s = this.server;
    // nats-server names the global account in the remote's settings once it binds (/varz).
    if (remote.opts.localAccount === "") remote.opts.localAccount = remote.account.name;
    const leaf = new Leaf(s, this, conn, peerOf(conn), s.nextId(), remote);
    this.conns.set(leaf.cid, leaf);
    s.log.noticec(leaf, `Leafnode connection created for account: ${label(remote.account)} `);
    if (remote.isWebsocket) leaf.solicitWebsocket();
    else leaf.run();
  }

  /**
   * A leafnode upgrade (path /leafnode) on the websocket port: the same as an accepted leafnode
   * connection, with TLS (wss) already done by the websocket listener.
   */
  acceptWebsocket(ws: WsTransport, peer: PeerAddress): Leaf {
    const s = this.server;
    const leaf = new Leaf(s, this, ws, peer, s.nextId(), null);
    ws.reasonOf = () => leaf.closeReason;
    this.conns.set(leaf.cid, leaf);
    s.log.noticec(leaf, "Leafnode connection created ");
    s.log.debugc(leaf, `Leafnode compression=${ws.upgrade.compress}`);
    leaf.nonce = newNonce();
    leaf.queue(enc.encode(this.info({ cid: leaf.cid, nonce: leaf.nonce })));
    leaf.run();
    return leaf;
  }

  /**
   * Adds a set-up connection to the registry. The hub side replaces an older connection from
   * the same server, cluster and account (a stale one, or a second one by mistake).
   */
  register(leaf: Leaf, checkDup: boolean): boolean {
    const s = this.server;
    const acc = leaf.account;
    if (checkDup && leaf.remoteServer !== "") {
      for (const old of this.byAccount.get(acc) ?? []) {
        if (
          old !== leaf && old.remote === null && old.remoteServer === leaf.remoteServer &&
          old.remoteCluster === leaf.remoteCluster
        ) {
          old.sendErr("Duplicate Remote LeafNode Connection");
          s.log.errorc(old, "Duplicate Remote LeafNode Connection");
          old.close(ClosedState.DuplicateRemoteLeafnodeConnection);
          s.log.warn(`${leaf.logPrefix}Replacing connection from same server`);
          break;
        }
      }
    }
    leaf.registered = true;
    let set = this.byAccount.get(acc);
    if (!set) {
      set = new Set();
      this.byAccount.set(acc, set);
    }
    set.add(leaf);
    // Account connection counts include leafnodes (nats-server's account CONNS events).
    if (acc !== s.globalAccount) s.events?.accountConnsChanged(acc);
    jetstreamRules(s, leaf);
    return !leaf.closed;
  }

  /** The connection closed: its interest goes, and a remote dials again. */
  removeLeaf(leaf: Leaf): void {
    if (!this.conns.delete(leaf.cid)) return;
    const s = this.server;
    const set = this.byAccount.get(leaf.account);
    set?.delete(leaf);
    if (set?.size === 0) this.byAccount.delete(leaf.account);
    const acc = leaf.account;
    leaf.leafSubs.removeAll();
    leaf.smap = null;
    if (leaf.registered && acc !== s.globalAccount) s.events?.accountConnsChanged(acc);
    const name = leaf.bound ? label(acc) : "";
    s.log.noticec(leaf, `Leafnode connection closed: ${leaf.closeReason} account: ${name}`);
    if (leaf.remote !== null && this.running) leaf.remote.reconnect();
  }

  /** Registered leaf connections bound to `acc`. */
  countFor(acc: Account): number {
    return this.byAccount.get(acc)?.size ?? 0;
  }

  get registeredCount(): number {
    let n = 0;
    for (const set of this.byAccount.values()) n += set.size;
    return n;
  }

  // ---- Interest ----

  /** The account's loop detection subject, made on first use. */
  lds(acc: Account): string {
    let s = this.#lds.get(acc);
    if (s === undefined) {
      s = LDS_PREFIX + nuid();
      this.#lds.set(acc, s);
    }
    return s;
  }

  initInterest(leaf: Leaf): void {
    initialInterest(leaf, this.lds(leaf.account));
  }

  /**
   * Interest in `acc` changed (a client's, an internal one's, a route's): the account's leafs
   * are told. `origin` is the leafnode cluster the interest came from.
   */
  interestChanged(acc: Account, sub: ClientSub, delta: number, origin: string): void {
    const leafs = this.byAccount.get(acc);
    if (leafs !== undefined) updateLeafs(leafs, sub, delta, origin);
  }

  /**
   * A leaf connection's own interest changed: routes learn it when we are that leaf's hub (a
   * spoke's hub gets it from each server of the spoke's cluster), other leafs always do.
   */
  leafInterest(leaf: Leaf, sub: ClientSub, delta: number): void {
    const acc = leaf.account;
    if (!leaf.isSpoke) {
      this.server.cluster?.localInterest(acc, sub.subject, sub.queue, delta, leaf.remoteCluster);
    }
    this.interestChanged(acc, sub, delta, leaf.remoteCluster);
  }

  // ---- Authentication failures ----

  /** nats-server's authViolation, with the log line its kind of auth configuration gives. */
  authViolation(leaf: Leaf): void {
    const s = this.server;
    const kinds = s.userKinds;
    let text = "authentication error";
    if (kinds.nkeys) text += ` - Nkey ${JSON.stringify(leaf.opts.nkey ?? "")}`;
    else if (kinds.users) text += ` - User ${JSON.stringify(leaf.opts.user ?? "")}`;
    s.log.errorc(leaf, text);
    leaf.sendErr("Authorization Violation");
    leaf.close(ClosedState.AuthenticationViolation);
  }
}

/**
 * nats-server's look at a remote's creds file before the first connect: what is wrong with it is
 * logged (the connect still tries), and restricted permissions get a notice.
 */
async function checkCredentials(s: Server, remote: RemoteLeaf): Promise<void> {
  const file = remote.opts.credentials;
  const q = JSON.stringify(file);
  let text: string;
  try {
    text = readCredsFile(file);
  } catch (e) {
    s.log.error(`Error reading LeafNode Remote Credentials file ${q}: ${(e as Error).message}`);
    return;
  }
  let creds;
  try {
    creds = await parseCreds(text);
  } catch (e) {
    const malformedSeed = (e as Error).message.includes("seed");
    s.log.error(
      `LeafNode Remote Credentials file ${q} ${malformedSeed ? "has malformed seed" : "malformed"}`,
    );
    return;
  }
  let claims;
  try {
    claims = await decodeUserClaims(creds.jwt);
  } catch {
    s.log.error(`LeafNode Remote Credentials file ${q} has malformed user jwt`);
    return;
  }
  const p = claims.nats;
  const empty = (x?: { allow?: string[]; deny?: string[] }) =>
    (x?.allow?.length ?? 0) === 0 && (x?.deny?.length ?? 0) === 0;
  if (!empty(p.pub) || !empty(p.sub) || p.resp !== undefined) {
    if (remote.account === s.systemAccount) {
      s.log.notice(
        `LeafNode Remote for System Account uses credentials file ${q} with restricted permissions`,
      );
    } else {
      s.log.notice(
        `LeafNode Remote for Account ${remote.opts.localAccount} uses credentials file ${q} ` +
          "with restricted permissions",
      );
    }
  }
}

/** The first global unicast address of this machine (nats-server's getNonLocalIPsIfHostIsIPAny). */
function firstGlobalIp(): string | null {
  try {
    for (const ni of Deno.networkInterfaces()) {
      const a = ni.address;
      if (ni.family === "IPv4" && !a.startsWith("127.") && !a.startsWith("169.254.")) return a;
      if (ni.family === "IPv6" && a !== "::1" && !a.toLowerCase().startsWith("fe80")) return a;
    }
  } catch {
    // no permission to list interfaces
  }
  return null;
}
