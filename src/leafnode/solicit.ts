/**
 * A `remotes` entry: the URLs of the server (or cluster) to connect to as a leaf, and the loop
 * that dials them, as nats-server's connectToRemoteLeafNode: one URL after the other (shuffled
 * unless `no_randomize`), every `reconnect` interval (1 s by default) for as long as the server
 * runs, after an extra delay when the hub refused us (a loop, permissions, the same cluster
 * name: 30 s). The hub's INFO may add URLs of its cluster (gossip), tried before ours.
 */

import type { Account } from "../accounts/account.ts";
import type { RemoteLeafOptions } from "./options.ts";
import { DEFAULT_LEAFNODE_PORT } from "./options.ts";
import { LeafPermissions } from "./perms.ts";
import { type ClientTls, loadClientTls } from "./tls.ts";
import type { LeafNodes } from "./leafnodes.ts";
import { isWssUrl, isWsUrl, wsPort } from "./websocket.ts";

/** Go's net.Dial error text for the common failures, so logs read like nats-server's. */
function dialError(e: unknown, hostPort: string): string {
  if (e instanceof Deno.errors.ConnectionRefused) {
    return `dial tcp ${hostPort}: connect: connection refused`;
  }
  if (e instanceof Deno.errors.TimedOut) return `dial tcp ${hostPort}: i/o timeout`;
  return `dial tcp ${hostPort}: ${(e as Error).message}`;
}

/** A remote's creds file, with Go's error text when it cannot be read. */
export function readCredsFile(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : (e as Error).message;
    throw new Error(`open ${path}: ${why}`);
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

export class RemoteLeaf {
  readonly leafnodes: LeafNodes;
  readonly opts: RemoteLeafOptions;
  /** The local account; in operator mode looked up again at each connect. */
  account: Account;
  /** TLS toward this remote: configured, or asked for by the hub's INFO. */
  tlsRequired: boolean;
  /** The URLs are ws:// or wss:// (all of them: the config check makes sure). */
  readonly isWebsocket: boolean;
  curUrl: URL | null = null;
  #configured: URL[];
  #urls: URL[];
  #tlsName = "";
  #username = "";
  #password = "";
  #connectDelay = 0;
  #clientTls: ClientTls | null = null;

  constructor(leafnodes: LeafNodes, opts: RemoteLeafOptions, account: Account) {
    this.leafnodes = leafnodes;
    this.opts = opts;
    this.account = account;
    this.#configured = opts.urls.map((u) => new URL(u));
    // A wss URL means TLS even without a tls block.
    this.tlsRequired = opts.tls !== undefined || this.#configured.some(isWssUrl);
    this.isWebsocket = this.#configured.length > 0 && isWsUrl(this.#configured[0]);
    this.#urls = [...this.#configured];
    if (!opts.noRandomize) {
      for (let i = this.#urls.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [this.#urls[i], this.#urls[j]] = [this.#urls[j], this.#urls[i]];
      }
    }
    for (const u of this.#urls) {
      this.#saveTlsName(u);
      if (this.#username === "" && u.username !== "") {
        this.#username = decodeURIComponent(u.username);
        this.#password = decodeURIComponent(u.password);
      }
    }
  }

  /** The URLs as nats-server lists them in /varz (host:port, no credentials). */
  get urlHosts(): string[] {
    return this.#configured.map((u) => `${u.hostname}:${portOf(u)}`);
  }

  /** A host name (not an IP) from the URLs, to check the hub's certificate against. */
  #saveTlsName(u: URL): void {
    const host = u.hostname.replace(/^\[|\]$/g, "");
    if (this.#tlsName === "" && !isIp(host)) this.#tlsName = host;
  }

  /** deny_imports and deny_exports, as the permissions of the connection we make. */
  localPermissions(): LeafPermissions | null {
    const o = this.opts;
    if (o.denyImports.length === 0 && o.denyExports.length === 0) return null;
    return new LeafPermissions({
      publish: o.denyExports.length > 0 ? { deny: [...o.denyExports] } : undefined,
      subscribe: o.denyImports.length > 0 ? { deny: [...o.denyImports] } : undefined,
    });
  }

  /** The next URL to try: the one just used goes to the back of the list. */
  pickNextUrl(): URL {
    const urls = this.#urls;
    if (this.curUrl !== null && urls.length > 1 && sameHost(this.curUrl, urls[0])) {
      urls.push(urls.shift()!);
    }
    this.curUrl = urls[0];
    return this.curUrl;
  }

  /**
   * The hub's INFO lists its cluster's leafnode URLs (websocket ones for a websocket remote):
   * those first, then the configured ones.
   */
  updateUrls(hostPorts: string[]): void {
    const scheme = !this.isWebsocket ? "nats-leaf" : this.tlsRequired ? "wss" : "ws";
    const next: URL[] = [];
    for (const hp of hostPorts) {
      let u: URL;
      try {
        u = new URL(`${scheme}://${hp}`);
      } catch {
        this.leafnodes.server.log.error(`Error parsing url ${JSON.stringify(hp)}`);
        continue;
      }
      if (this.#configured.some((c) => sameHost(c, u))) continue;
      next.push(u);
      this.#saveTlsName(u);
    }
    this.#urls = [...next, ...this.#configured];
  }

  /** The URLs the next attempts go through (host:port), gossiped ones first. */
  urlsTried(): string[] {
    return this.#urls.map((u) => `${u.hostname}:${portOf(u)}`);
  }

  /** Credentials from the URL in use, or from any configured URL that had some. */
  userPass(): [string, string] {
    const u = this.curUrl;
    if (u !== null && u.username !== "") {
      return [decodeURIComponent(u.username), decodeURIComponent(u.password)];
    }
    return [this.#username, this.#password];
  }

  tlsHost(): string {
    return this.#tlsName !== "" ? this.#tlsName : (this.curUrl?.hostname ?? "");
  }

  clientTls(): ClientTls {
    this.#clientTls ??= loadClientTls(this.opts.tls, this.opts.tlsTimeout);
    return this.#clientTls;
  }

  setConnectDelay(ms: number): void {
    this.#connectDelay = ms;
  }

  /** Dials until a connection is made (then the leafnode takes over) or the server stops. */
  async connect(firstConnect: boolean): Promise<void> {
    const ln = this.leafnodes;
    const log = ln.server.log;
    if (this.#urls.length === 0) {
      log.debug("Empty remote leafnode definition, nothing to connect");
      return;
    }
    if (this.#connectDelay > 0) {
      const d = this.#connectDelay;
      this.#connectDelay = 0;
      if (!await ln.sleep(d)) return;
    }
    let attempts = 0;
    while (ln.running) {
      const u = this.pickNextUrl();
      const host = u.hostname.replace(/^\[|\]$/g, "");
      const port = portOf(u);
      const hostPort = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
      log.debug(`Trying to connect as leafnode to remote server on ${JSON.stringify(hostPort)}`);
      let conn: Deno.TcpConn;
      try {
        conn = await Deno.connect({ hostname: host, port });
      } catch (e) {
        attempts++;
        const text = `Error trying to connect as leafnode to remote server ${
          JSON.stringify(hostPort)
        } (attempt ${attempts}): ${dialError(e, hostPort)}`;
        if (this.#shouldReport(firstConnect, attempts)) log.error(text);
        else log.debug(text);
        if (!await ln.sleep(ln.server.opts.leafnode.reconnectMs)) return;
        continue;
      }
      if (!ln.running) {
        conn.close();
        return;
      }
      try {
        conn.setNoDelay(true);
      } catch {
        // not TCP
      }
      ln.createLeaf(conn, this);
      return;
    }
  }

  /** After the connection closed: wait the reconnect interval, then dial again. */
  async reconnect(): Promise<void> {
    const ln = this.leafnodes;
    if (!await ln.sleep(ln.server.opts.leafnode.reconnectMs)) return;
    await this.connect(false);
  }

  /** nats-server's shouldReportConnectErr: the first failure, then every Nth. */
  #shouldReport(first: boolean, attempts: number): boolean {
    const o = this.leafnodes.server.opts;
    const every = first ? o.connectErrorReports : o.reconnectErrorReports;
    return attempts === 1 || (every > 0 && attempts % every === 0);
  }
}

function sameHost(a: URL, b: URL): boolean {
  return a.hostname === b.hostname && portOf(a) === portOf(b);
}

/** A URL's port; one without (a ws URL's default port is dropped by URL parsing) its scheme's. */
export function portOf(u: URL): number {
  if (u.port !== "") return Number(u.port);
  return isWsUrl(u) ? wsPort(u) : DEFAULT_LEAFNODE_PORT;
}
