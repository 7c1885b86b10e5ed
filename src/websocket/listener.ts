/**
 * The websocket listener (`websocket { port }`): accepts TCP connections, runs TLS first when
 * configured (wss), answers the HTTP upgrade itself, and hands the connection to the server as
 * an ordinary client over a WsTransport. Log lines and refusals are nats-server's.
 */

import type { Server } from "../server.ts";
import type { Client } from "../client.ts";
import { addressesOf, hostPort } from "../server.ts";
import { acceptLoop, isWildcardHost, listenTcp, peerOf, type Transport } from "../transport.ts";
import { loadTlsContext, serverHandshake, type TlsContext } from "../tls.ts";
import { DEFAULT_HOST } from "../options.ts";
import {
  checkUpgrade,
  errorResponse,
  HandshakeError,
  type HttpRequest,
  malformedResponse,
  type OriginPolicy,
  originPolicy,
  parseRequest,
  readRequest,
  type Upgrade,
  upgradeResponse,
} from "./handshake.ts";
import { WsTransport } from "./transport.ts";
import { WsClient, type WsListenerView } from "./client.ts";
import type { WebsocketOptions } from "./options.ts";

/**
 * nats-server waits forever for the upgrade request when handshake_timeout is not set; an
 * accepted connection that never upgrades would then be held for good, so we bound it.
 */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

const enc = new TextEncoder();

export class WebsocketListener implements WsListenerView {
  readonly server: Server;
  readonly options: WebsocketOptions;
  readonly host: string;
  /** The port actually bound. */
  port = 0;
  readonly tls: TlsContext | null;
  readonly authOverride: boolean;
  readonly origins: OriginPolicy;
  #listener: Deno.Listener | null = null;
  /** Connections still in their handshake, closed on shutdown. */
  #handshaking = new Set<Deno.Conn>();
  /** Closing websocket transports, so shutdown can wait for their close frames. */
  #closing = new Set<Promise<void>>();

  constructor(server: Server) {
    this.server = server;
    const o = server.opts.websocket;
    this.options = o;
    this.host = o.host === "" ? DEFAULT_HOST : o.host;
    this.tls = o.tls ? loadTlsContext(o.tls) : null;
    this.authOverride = o.username !== "" || o.token !== "" || o.noAuthUser !== "";
    this.origins = originPolicy(o.sameOrigin, o.allowedOrigins, (m) => server.log.error(m));
  }

  get scheme(): string {
    return this.tls ? "wss" : "ws";
  }

  /** Binds and starts accepting; throws with nats-server's fatal text if it cannot listen. */
  start(): void {
    const o = this.options;
    const log = this.server.log;
    try {
      this.#listener = listenTcp(this.host, o.port === -1 ? 0 : o.port).listener;
    } catch (e) {
      // Go's wording for the common case.
      const why = e instanceof Deno.errors.AddrInUse
        ? "bind: address already in use"
        : (e as Error).message;
      throw new Error(
        `Unable to listen for websocket connections: listen tcp ${
          hostPort(this.host, o.port === -1 ? 0 : o.port)
        }: ${why}`,
      );
    }
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    log.notice(`Listening for websocket clients on ${this.scheme}://${this.host}:${this.port}`);
    if (!this.tls) log.warn("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!");
    acceptLoop(this.#listener, "websocket", (m) => log.error(m), (conn) => {
      const s = this.server;
      if (s.lameDuck || !s.running) conn.close();
      else this.#handshake(conn);
    });
  }

  /** Stops accepting (lame duck mode and shutdown). */
  closeListener(): void {
    try {
      this.#listener?.close();
    } catch {
      // already closed
    }
    this.#listener = null;
  }

  /** Stops accepting, drops unfinished handshakes, waits for close frames to go out. */
  async stop(): Promise<void> {
    this.closeListener();
    for (const c of this.#handshaking) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    this.#handshaking.clear();
    await Promise.all(this.#closing);
  }

  /** This server's websocket URL(s), as advertised to websocket clients. */
  ownUrls(): string[] {
    const o = this.options;
    if (o.advertise !== "") return [o.advertise];
    const all = addressesOf(this.host);
    const reachable = isWildcardHost(this.host) && all.length > 1
      ? all.filter((h) => !h.startsWith("127."))
      : all;
    return reachable.map((h) => hostPort(h, this.port));
  }

  /** Ours first, then the other servers' (learned over routes); empty when alone. */
  connectUrls(): string[] {
    const cluster = this.server.cluster;
    if (!cluster || cluster.remoteWsUrls.size === 0) return [];
    const all = new Set(this.ownUrls());
    for (const urls of cluster.remoteWsUrls.values()) for (const u of urls) all.add(u);
    return [...all];
  }

  async #handshake(conn: Deno.Conn): Promise<void> {
    const s = this.server;
    const peer = peerOf(conn);
    const addr = hostPort(peer.host, peer.port);
    this.#handshaking.add(conn);
    const timeoutMs = this.options.handshakeTimeoutMs || DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const timer = setTimeout(() => closeQuietly(conn), timeoutMs);
    let t: Transport = conn;
    let req: HttpRequest | null = null;
    let up: Upgrade;
    try {
      if (this.tls) {
        try {
          // nats-server's /connz shows no TLS details for websocket clients (their TLS runs in
          // its HTTP server), so the session is not recorded on the client either.
          t = await serverHandshake(conn, this.tls);
        } catch (e) {
          // Go's HTTP server logs failed TLS handshakes this way.
          s.log.error(`websocket: http: TLS handshake error from ${addr}: ${(e as Error).message}`);
          throw new HandshakeError(0, "EOF");
        }
      }
      const head = await readRequest(t);
      req = parseRequest(head);
      if (req === null) {
        await writeText(t, malformedResponse(false));
        throw new HandshakeError(0, "EOF");
      }
      if (req.version === "1.1" && !req.headers.has("host")) {
        await writeText(t, malformedResponse(true));
        throw new HandshakeError(0, "EOF");
      }
      up = checkUpgrade(req, {
        compression: this.options.compression,
        jwtCookie: this.options.jwtCookie,
        origins: this.origins,
        tls: this.tls !== null,
      });
      await writeText(t, upgradeResponse(req, up));
    } catch (e) {
      clearTimeout(timer);
      this.#handshaking.delete(conn);
      if (e instanceof HandshakeError && e.message !== "EOF") {
        s.log.error(`${addr} - websocket handshake error: ${e.message}`);
        if (e.status === 431) {
          await writeText(t, tooLargeResponse()).catch(() => {});
        } else if (e.status !== 0) {
          await writeText(t, errorResponse(e.status, req?.version ?? "1.1")).catch(() => {});
        }
      }
      closeQuietly(t);
      return;
    }
    clearTimeout(timer);
    this.#handshaking.delete(conn);
    const leafnodes = s.opts.leafnode.port !== 0 ? s.leafnodes : null;
    if (up.kind === "mqtt" || (up.kind === "leafnode" && leafnodes === null)) {
      s.log.error(
        up.kind === "leafnode"
          ? "Not configured to accept leaf node connections"
          : "Not configured to accept MQTT connections",
      );
      closeQuietly(t);
      return;
    }
    if (s.lameDuck || !s.running) {
      closeQuietly(t);
      return;
    }
    if (leafnodes !== null && up.kind === "leafnode") {
      let leaf: Client | null = null;
      leaf = leafnodes.acceptWebsocket(this.#transport(t, up, () => leaf), peer);
    } else this.#startClient(t, up, peer);
  }

  /** The websocket framing over `t`; `owner` names the connection errors are logged for. */
  #transport(t: Transport, up: Upgrade, owner: () => Client | null): WsTransport {
    const s = this.server;
    return new WsTransport(t, up, {
      maxInflated: s.opts.maxPending,
      closeTimeoutMs: s.opts.writeDeadlineMs,
      onError: (m) => {
        const c = owner();
        if (c) s.log.errorc(c, m);
        else s.log.error(m);
      },
      // The close frame goes out after the connection is done; shutdown waits for it.
      onClosing: (finished) => {
        const done = finished.finally(() => this.#closing.delete(done));
        this.#closing.add(done);
      },
    });
  }

  #startClient(t: Transport, up: Upgrade, peer: ReturnType<typeof peerOf>): void {
    const s = this.server;
    let client: WsClient | null = null;
    const ws = this.#transport(t, up, () => client);
    const c = client = new WsClient(s, ws, peer, s.nextId(), this);
    ws.reasonOf = () => c.closeReason;
    if (s.admitClient(c)) c.run();
  }
}

function closeQuietly(t: Transport): void {
  try {
    t.close();
  } catch {
    // already closed
  }
}

async function writeText(t: Transport, text: string): Promise<void> {
  const b = enc.encode(text);
  let off = 0;
  while (off < b.length) off += await t.write(b.subarray(off));
}

/** Go's answer to request headers past its limit. */
function tooLargeResponse(): string {
  const status = "431 Request Header Fields Too Large";
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Connection: close\r\n\r\n${status}`;
}
