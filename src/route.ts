/**
 * Cluster routes: connections between servers of one cluster, speaking nats-server's route
 * protocol (INFO, CONNECT, RS+/RS- for interest, RMSG/HMSG for messages, PING/PONG) so our servers
 * form a full mesh with each other and with nats-server 2.9 nodes. A route reuses the client
 * connection machinery (read loop, parser, coalesced outbound) and replaces the op handlers.
 *
 * Interest: each server tells its routes which subjects (and queue groups, with a weight) its
 * local clients want; a message crosses a route at most once and never a second hop, which is
 * why the mesh must be full. Gossip: when a server accepts a new route it forwards that server's
 * INFO to its other routes, which then connect to it (implicit routes).
 */

import { decodeDelivery } from "./delivery.ts";
import { HMSG_, LMSG_, RMSG_, sendRoutedMsg } from "./routed_msg.ts";
import { Client, ClosedState, firstPingDelay, quoteBytes, ROUTER } from "./client.ts";
import {
  OP_CONNECT,
  OP_ERR,
  OP_HMSG,
  OP_INFO,
  OP_LMSG,
  OP_LSUB,
  OP_LUNSUB,
  OP_OK,
  OP_PING,
  OP_PONG,
  OP_RSUB,
  OP_RUNSUB,
  parseSize,
  type PubArg,
  ROUTE_OP_INDEX,
} from "./parser.ts";
import { acceptLoop, listenTcp, type PeerAddress, peerOf, type Transport } from "./transport.ts";
import { hostPort } from "./server.ts";
import { protoSnippet } from "./goquote.ts";
import { checkPassword, isBcrypt } from "./password.ts";
import { clientHandshake, loadTlsContext, serverHandshake, type TlsContext } from "./tls.ts";
import type { ClusterOptions } from "./options.ts";
import type { Server } from "./server.ts";
import type { Account } from "./accounts/account.ts";
import { countInterest, RemoteSubs } from "./remote_interest.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const ZERO = enc.encode("0");

/** What a route learned from the remote's INFO. */
export interface RouteInfo {
  server_id: string;
  server_name?: string;
  host?: string;
  port?: number;
  cluster?: string;
  cluster_dynamic?: boolean;
  connect_urls?: string[];
  ws_connect_urls?: string[];
  ip?: string;
  headers?: boolean;
  auth_required?: boolean;
  tls_required?: boolean;
  lnoc?: boolean;
  leafnode_urls?: string[];
}

export class Route extends Client {
  override readonly kind: number = ROUTER;
  override readonly opIndex = ROUTE_OP_INDEX;
  /** The URL we dialed, for solicited routes (reconnect target). */
  readonly url: URL | null;
  readonly solicited: boolean;
  remoteId = "";
  remoteName = "";
  remoteInfo: RouteInfo | null = null;
  /** Remote interest, by "account subject queue" key; leafnodes hear of its changes. */
  readonly remoteSubs = new RemoteSubs(
    this,
    (rs, delta) => this.server.leafnodes?.interestChanged(rs.acc, rs.sub, delta, rs.origin),
  );
  /** The remote understands LS+/LMSG carrying a leafnode cluster's name (nats-server's lnoc). */
  lnoc = false;
  /** The origin cluster of the message being processed ("" unless it came as LMSG). */
  msgOrigin = "";
  /** The account of the last routed message: consecutive messages mostly share one. */
  #lastAcc: Account | null = null;
  /** Stamp of the last message forwarded, so a message crosses this route once. */
  sentStamp = 0;
  /** Queue groups chosen for this route for the message being routed. */
  pendingQueues: string[] = [];
  #queueArgs: string[] = [];

  constructor(
    server: Server,
    conn: Transport,
    peer: PeerAddress,
    rid: number,
    url: URL | null,
  ) {
    super(server, conn, peer, rid);
    this.url = url;
    this.solicited = url !== null;
    this.nextPing = this.start + firstPingDelay(server.opts.pingIntervalMs, ROUTER);
    // Routes are not telnet sessions: no +OK, no pedantic checks.
    this.opts.verbose = false;
    this.opts.pedantic = false;
    this.opts.headers = true;
  }

  override get logPrefix(): string {
    return `${this.peer.host}:${this.peer.port} - rid:${this.cid} - `;
  }

  override processOp(op: number, buf: Uint8Array, start: number, end: number): boolean {
    switch (op) {
      case OP_PING:
      case OP_PONG:
      case OP_OK:
        return super.processOp(op, buf, start, end);
      case OP_CONNECT:
        return this.#processConnect(dec.decode(buf.subarray(start, end)));
      case OP_INFO:
        return this.#processInfo(dec.decode(buf.subarray(start, end)));
      case OP_RSUB:
      case OP_LSUB:
        return this.#processRemoteSub(buf, start, end, true, op === OP_LSUB ? "LS" : "RS");
      case OP_RUNSUB:
      case OP_LUNSUB:
        return this.#processRemoteSub(buf, start, end, false, op === OP_LUNSUB ? "LS" : "RS");
      case OP_ERR:
        this.server.log.errorc(this, `Router Error ${dec.decode(buf.subarray(start, end))}`);
        this.close(ClosedState.ParseError);
        return false;
    }
    return true;
  }

  /** RMSG <account> <subject> [+ <reply> <queues..> | | <queues..> | <reply>] <size>. */
  override processMsgArgs(op: number, buf: Uint8Array, start: number, end: number): boolean {
    const pa = this.pa;
    const lmsg = op === OP_LMSG;
    const hdr = op === OP_HMSG || lmsg;
    if (this.server.log.traceEnabled) {
      this.traceIn(lmsg ? "LMSG" : hdr ? "HMSG" : "RMSG", dec.decode(buf.subarray(start, end)));
    }
    const args = this.parser.tokens;
    let n = this.parser.ntokens;
    this.msgOrigin = "";
    // LMSG <origin cluster> <account> ...: always with a header size; the rest is an HMSG.
    if (lmsg && n > 1 && 2 * n <= args.length) {
      this.msgOrigin = dec.decode(buf.subarray(args[0], args[1]));
      args.copyWithin(0, 2, 2 * n);
      n--;
    }
    const fixed = hdr ? 4 : 3; // account, subject, [hdr], size
    if (n < fixed || 2 * n > args.length) {
      this.server.log.errorc(
        this,
        `processRoutedMsgArgs Parse Error: ${quoteBytes(buf, start, end)}`,
      );
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    pa.accountStart = args[0];
    pa.accountEnd = args[1];
    pa.subjectStart = args[2];
    pa.subjectEnd = args[3];
    pa.replyStart = pa.replyEnd = 0;
    this.#queueArgs = [];
    const last = 2 * (n - 1);
    pa.sizeStart = args[last];
    pa.sizeEnd = args[last + 1];
    pa.size = parseSize(buf, pa.sizeStart, pa.sizeEnd);
    let middleEnd = n - 1;
    if (hdr) {
      pa.hdrStart = args[last - 2];
      pa.hdrEnd = args[last - 1];
      pa.hdr = parseSize(buf, pa.hdrStart, pa.hdrEnd);
      middleEnd = n - 2;
    } else {
      pa.hdr = -1;
    }
    // Tokens between the subject and the sizes: reply and/or queue names.
    if (middleEnd > 2) {
      const first = dec.decode(buf.subarray(args[4], args[5]));
      if (first === "+" || first === "|") {
        let k = 3;
        if (first === "+") {
          pa.replyStart = args[6];
          pa.replyEnd = args[7];
          k = 4;
        }
        for (; k < middleEnd; k++) {
          this.#queueArgs.push(dec.decode(buf.subarray(args[2 * k], args[2 * k + 1])));
        }
      } else if (middleEnd === 3) {
        pa.replyStart = args[4];
        pa.replyEnd = args[5];
      } else {
        this.server.log.errorc(
          this,
          `processRoutedMsgArgs Parse Error: ${quoteBytes(buf, start, end)}`,
        );
        this.close(ClosedState.ProtocolViolation);
        return false;
      }
    }
    if (pa.size < 0 || (hdr && (pa.hdr < 0 || pa.hdr > pa.size))) {
      this.server.log.errorc(
        this,
        `processRoutedMsgArgs Bad or Missing Size: ${quoteBytes(buf, start, end)}`,
      );
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    // An LMSG says 0 for a message without headers.
    if (lmsg && pa.hdr === 0) pa.hdr = -1;
    pa.subject = dec.decode(buf.subarray(pa.subjectStart, pa.subjectEnd));
    return true;
  }

  override processMsg(_op: number, buf: Uint8Array): void {
    const pa = this.pa;
    this.inMsgs++;
    this.inBytes += pa.size;
    const acc = this.#accountOf(buf, pa.accountStart, pa.accountEnd);
    if (acc === null) return;
    const res = acc.sublist.match(pa.subject);
    // A JetStream delivery: routed by its deliver subject, carrying the stream's subject.
    const delivery = pa.replyEnd > pa.replyStart ? decodeDelivery(buf, pa) : null;
    if (delivery !== null) {
      this.server.routeFromRoute(this, acc, res, delivery.buf, delivery.pa, this.#queueArgs);
      return;
    }
    this.server.routeFromRoute(this, acc, res, buf, pa, this.#queueArgs);
  }

  /** The account an RMSG names; unknown accounts are not ours (nats-server drops them too). */
  #accountOf(buf: Uint8Array, start: number, end: number): Account | null {
    const last = this.#lastAcc;
    if (last !== null) {
      const nb = last.nameBytes;
      if (nb.length === end - start) {
        let i = 0;
        while (i < nb.length && nb[i] === buf[start + i]) i++;
        if (i === nb.length) return last;
      }
    }
    const acc = this.server.accounts.get(dec.decode(buf.subarray(start, end))) ?? null;
    if (acc !== null) this.#lastAcc = acc;
    return acc;
  }

  override parseError(buf: Uint8Array, i: number, end: number, state: number): void {
    const snip = protoSnippet(buf, i, end);
    this.server.log.errorc(this, `Router parser ERROR, state=${state}, i=${i}: proto='${snip}...'`);
    this.close(ClosedState.ProtocolViolation);
  }

  #processConnect(text: string): boolean {
    if (this.server.log.traceEnabled) {
      this.traceIn("CONNECT", text.replace(/"pass":"[^"]*"/, '"pass":"[REDACTED]"'));
    }
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(text);
    } catch (e) {
      this.server.log.errorc(this, (e as Error).message);
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    if (typeof o.lang === "string" && o.lang !== "") {
      this.sendErr("Attempted To Connect To Route Port");
      this.server.log.errorc(this, "Attempted To Connect To Route Port");
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    this.connectReceived = true;
    const c = this.server.opts.cluster;
    if (c.username === "") return this.#acceptConnect(o);
    const refuse = (): boolean => {
      this.sendErr("Authorization Violation");
      this.server.log.errorc(this, `authentication error - User "${o.user ?? ""}"`);
      this.close(ClosedState.AuthenticationViolation);
      return false;
    };
    if (o.user !== c.username) return refuse();
    const pass = typeof o.pass === "string" ? o.pass : "";
    if (!isBcrypt(c.password)) return pass === c.password ? this.#acceptConnect(o) : refuse();
    // A bcrypt route password (as in the gnatsd README's sample) is checked off the event loop;
    // parsing of this route waits for the answer.
    this.paused = checkPassword(pass, c.password).then((ok) =>
      !this.closed && (ok ? this.#acceptConnect(o) : refuse())
    );
    return true;
  }

  #acceptConnect(o: Record<string, unknown>): boolean {
    const theirs = typeof o.cluster === "string" ? o.cluster : "";
    if (!this.server.cluster!.agreeName(theirs, o.dynamic === true)) {
      const msg = `Rejecting connection, cluster name "${theirs}" does not match "${
        this.server.cluster!.name
      }"`;
      this.server.log.errorc(this, msg);
      this.sendErr(msg);
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    if (typeof o.name === "string") this.remoteId = o.name;
    this.lnoc = o.lnoc === true;
    return true;
  }

  #processInfo(text: string): boolean {
    let info: RouteInfo;
    try {
      info = JSON.parse(text);
    } catch (e) {
      this.server.log.errorc(this, (e as Error).message);
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    if (this.server.log.traceEnabled) this.traceIn("INFO", text);
    if (info.server_id === this.server.id) {
      this.server.log.debugc(this, "Detected route to self, ignoring");
      this.close(ClosedState.DuplicateRoute);
      return false;
    }
    if (this.remoteInfo !== null) {
      // An INFO about another server (gossip), or an update from this one.
      if (info.server_id !== this.remoteId) this.server.cluster!.implicitRoute(info);
      else this.server.cluster!.updateConnectUrls(this, info);
      return true;
    }
    if (
      info.cluster && !this.server.cluster!.agreeName(info.cluster, info.cluster_dynamic === true)
    ) {
      this.server.log.errorc(
        this,
        `Cluster name "${info.cluster}" does not match "${this.server.cluster!.name}"`,
      );
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    this.remoteInfo = info;
    this.remoteId = info.server_id;
    if (info.lnoc === true) this.lnoc = true;
    this.remoteName = info.server_name ?? "";
    return this.server.cluster!.register(this);
  }

  /**
   * RS+ <account> <subject> [<queue> <weight>] and RS- <account> <subject> [<queue>]; LS+ has
   * the origin (leafnode) cluster first, LS- is an RS- by another name.
   */
  #processRemoteSub(
    buf: Uint8Array,
    start: number,
    end: number,
    add: boolean,
    op: "RS" | "LS",
  ): boolean {
    const text = dec.decode(buf.subarray(start, end));
    if (this.server.log.traceEnabled) this.traceIn(op + (add ? "+" : "-"), text);
    this.last = this.server.now;
    const parts = text.split(/[ \t]+/);
    const origin = op === "LS" && add ? parts.shift() ?? "" : "";
    if (parts.length < 2) {
      this.server.log.errorc(this, `processRemoteSub Parse Error: ${JSON.stringify(text)}`);
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    const acc = this.server.accounts.get(parts[0]);
    if (!acc) {
      this.server.log.debugc(
        this,
        `Unknown account ${JSON.stringify(parts[0])} for subject ${JSON.stringify(parts[1])}`,
      );
      return true;
    }
    const subject = parts[1];
    const queue = parts.length >= 3 ? parts[2] : "";
    const key = queue === "" ? `${parts[0]} ${subject}` : `${parts[0]} ${subject} ${queue}`;
    if (add) {
      const weight = queue === "" ? 1 : Math.max(1, Number(parts[3]) || 1);
      this.remoteSubs.add(acc, key, subject, queue, weight, origin);
    } else {
      this.remoteSubs.remove(key);
    }
    return true;
  }

  /**
   * Appends an RMSG/HMSG for the message in `pa`, naming the queue groups this route serves. A
   * message from a leafnode cluster goes as `LMSG <origin> ...` to a remote that reads it, so no
   * server of the cluster sends it back into that leafnode cluster.
   */
  sendRouted(acc: Account, src: Uint8Array, pa: PubArg, queues: string[], origin = ""): void {
    if (this.closed) return;
    const body = src.subarray(pa.payloadStart, pa.payloadStart + pa.size);
    const size = src.subarray(pa.sizeStart, pa.sizeEnd);
    if (origin !== "" && this.lnoc) {
      // LMSG <origin> <account> ...: always with a header size, 0 without headers.
      const hdr = pa.hdr > 0 ? src.subarray(pa.hdrStart, pa.hdrEnd) : ZERO;
      const from = enc.encode(`${origin} ${acc.name}`);
      sendRoutedMsg(this, LMSG_, from, src, pa, queues, hdr, size, body);
      return;
    }
    if (pa.hdr < 0) sendRoutedMsg(this, RMSG_, acc.nameBytes, src, pa, queues, null, size, body);
    else {
      const hdr = src.subarray(pa.hdrStart, pa.hdrEnd);
      sendRoutedMsg(this, HMSG_, acc.nameBytes, src, pa, queues, hdr, size, body);
    }
  }

  /**
   * Sends interest for a local subscription change: RS+ with the queue weight, or RS-. Interest
   * of a leafnode cluster (`origin`) goes as LS+/LS- to a remote that reads them.
   */
  sendInterest(acc: string, subject: string, queue: string, weight: number, origin = ""): void {
    let line: string;
    const ls = origin !== "" && this.lnoc;
    const plus = ls ? `LS+ ${origin} ${acc} ${subject}` : `RS+ ${acc} ${subject}`;
    const minus = ls ? `LS- ${acc} ${subject}` : `RS- ${acc} ${subject}`;
    if (weight > 0) line = queue === "" ? plus : `${plus} ${queue} ${weight}`;
    else line = queue === "" ? minus : `${minus} ${queue}`;
    if (this.server.log.traceEnabled) this.traceOut(line.slice(0, 3), line.slice(4));
    this.queue(enc.encode(line + "\r\n"));
  }
}

const RECONNECT_MS = 1000;

/**
 * The cluster side of a server: the route listener, solicited and implicit routes, the route
 * registry (one route per remote server), local interest counts sent as RS+/RS-, and the client
 * connect URLs learned from the other servers.
 */
export class Cluster {
  readonly server: Server;
  name: string;
  /** A generated name gives way to a configured (or greater) one, as nats-server negotiates. */
  dynamic: boolean;
  port = 0;
  readonly routes = new Map<number, Route>();
  readonly byId = new Map<string, Route>();
  /** Local interest: "account subject [queue]" -> number of local subscriptions. */
  readonly interest = new Map<string, number>();
  /** Client URLs of the other servers, by server id (for INFO connect_urls). */
  readonly remoteUrls = new Map<string, string[]>();
  /** Websocket URLs of the other servers that have a websocket listener, by server id. */
  readonly remoteWsUrls = new Map<string, string[]>();
  /** Whether any route ever told us client URLs: from then on INFO lists connect_urls. */
  learnedUrls = false;
  #listener: Deno.Listener | null = null;
  #running = false;
  #tls: TlsContext | null;
  /** URLs being dialed, so gossip and configured routes do not dial the same server twice. */
  #dialing = new Set<string>();
  #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(server: Server) {
    this.server = server;
    const c = server.opts.cluster;
    this.dynamic = c.name === "";
    this.name = c.name !== "" ? c.name : randomName();
    this.#tls = c.tls ? loadTlsContext(c.tls) : null;
    // Subscriptions made before the cluster existed (imports, internal services) are interest.
    for (const acc of server.accounts.values()) {
      for (const sub of acc.sublist.all()) {
        if (sub.client.kind !== ROUTER) this.localInterest(acc, sub.subject, sub.queue, 1);
      }
    }
  }

  get opts(): ClusterOptions {
    return this.server.opts.cluster;
  }

  start(): void {
    const c = this.opts;
    const port = c.port === -1 ? 0 : c.port;
    this.#listener = listenTcp(c.host, port).listener;
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#running = true;
    this.server.log.notice(`Cluster name is ${this.name}`);
    if (this.dynamic) {
      this.server.log.warn("Cluster name was dynamically generated, consider setting one");
    }
    this.server.log.notice(`Listening for route connections on ${hostPort(c.host, this.port)}`);
    acceptLoop(this.#listener, "route", (m) => this.server.log.error(m), (conn) => {
      if (this.#running) this.#startRoute(conn, null);
      else conn.close();
    });
    for (const r of this.server.opts.routes) this.solicit(r, true);
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    try {
      this.#listener?.close();
      if (this.#listener) this.server.log.debug("Route accept loop exiting..");
    } catch {
      // already closed
    }
    this.#listener = null;
    const routes = [...this.routes.values()];
    for (const r of routes) r.close(ClosedState.ServerShutdown);
    await Promise.all(routes.map((r) => r.out.drained()));
  }

  /** The INFO this server sends on a route connection. */
  routeInfo(): Record<string, unknown> {
    const s = this.server;
    const o = this.opts;
    const info = s.infoHead(o.host, this.port);
    info.headers = true;
    // cluster_advertise: other servers (and gossip) dial this address instead.
    if (o.advertise !== "") {
      const m = /^(?:nats(?:-route)?:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/.exec(o.advertise);
      if (m) {
        info.host = m[1].replace(/^\[|\]$/g, "");
        if (m[2]) info.port = Number(m[2]);
        info.ip = `nats-route://${hostPort(info.host as string, info.port as number)}/`;
      }
    }
    if (o.username !== "") info.auth_required = true;
    if (this.#tls) {
      info.tls_required = true;
      info.tls_verify = this.#tls.verify;
    }
    info.max_payload = s.opts.maxPayload;
    info.cluster = this.name;
    if (this.dynamic) info.cluster_dynamic = true;
    if (!o.noAdvertise) {
      info.connect_urls = s.ownConnectUrls();
      if (s.websocket) info.ws_connect_urls = s.websocket.ownUrls();
    }
    info.lnoc = true;
    // Our leafnode URL, which the other servers pass on to their leafnodes (gossip).
    const leafUrl = s.leafnodes?.advertisedUrl() ?? "";
    if (leafUrl !== "") info.leafnode_urls = [leafUrl];
    return info;
  }

  /**
   * Dials a route URL, retrying every second (forever for configured routes). Failed attempts
   * are errors on the first try and then every connect_error_reports-th one (every
   * reconnect_error_reports-th once the route had been up, `first` false), debug otherwise, as
   * nats-server reports them.
   */
  solicit(urlText: string, configured: boolean, attempt = 1, first = true): void {
    if (!this.#running) return;
    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      this.server.log.error(`Error parsing route URL ${JSON.stringify(urlText)}`);
      return;
    }
    const key = `${url.hostname}:${url.port}`;
    if (attempt === 1 && this.#dialing.has(key)) return;
    this.#dialing.add(key);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port) || 6222;
    this.server.log.debug(
      `Trying to connect to route on ${hostPort(host, port)} (${hostPort(host, port)})`,
    );
    Deno.connect({ hostname: host, port }).then(
      (conn) => {
        this.#dialing.delete(key);
        if (!this.#running) {
          conn.close();
          return;
        }
        this.#startRoute(conn, url);
      },
      (e) => {
        const retries = this.opts.connectRetries;
        if (!configured && attempt > retries) {
          this.#dialing.delete(key);
          return;
        }
        const o = this.server.opts;
        const every = first ? o.connectErrorReports : o.reconnectErrorReports;
        const msg = `Error trying to connect to route (attempt ${attempt}): ${
          dialError(e, hostPort(host, port))
        }`;
        if (attempt === 1 || (every > 0 && attempt % every === 0)) this.server.log.error(msg);
        else this.server.log.debug(msg);
        const t = setTimeout(() => {
          this.#timers.delete(t);
          this.solicit(urlText, configured, attempt + 1, first);
        }, RECONNECT_MS);
        this.#timers.add(t);
      },
    );
  }

  async #startRoute(conn: Deno.Conn, url: URL | null): Promise<void> {
    if (url) {
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // not TCP
      }
    }
    const s = this.server;
    const r = new Route(s, conn, peerOf(conn), s.nextId(), url);
    this.routes.set(r.cid, r);
    s.log.noticec(r, "Route connection created");
    let transport: Transport = conn;
    if (this.#tls) {
      // Both sides start TLS right away on route connections; INFO goes inside it.
      try {
        transport = url
          ? await clientHandshake(conn, this.#tls, url.hostname)
          : await serverHandshake(conn, this.#tls);
        r.conn = transport;
      } catch (e) {
        s.log.errorc(r, `TLS route handshake error: ${(e as Error).message}`);
        r.close(ClosedState.TLSHandshakeError);
        return;
      }
    }
    if (url) {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      const connect: Record<string, unknown> = {
        echo: true,
        verbose: false,
        pedantic: false,
      };
      if (user !== "") connect.user = user;
      if (pass !== "") connect.pass = pass;
      connect.tls_required = this.#tls !== null;
      connect.headers = true;
      connect.name = s.id;
      connect.cluster = this.name;
      if (this.dynamic) connect.dynamic = true;
      connect.lnoc = true;
      r.queue(enc.encode(`CONNECT ${JSON.stringify(connect)}\r\n`));
      s.log.debugc(r, "Route connect msg sent");
    }
    r.queue(enc.encode(`INFO ${JSON.stringify(this.routeInfo())} \r\n`));
    r.run();
  }

  /** A dynamic cluster name yields to a configured or greater one; otherwise names must match. */
  agreeName(theirs: string, theirsDynamic: boolean): boolean {
    if (theirs === "" || theirs === this.name) return true;
    if (this.dynamic && (!theirsDynamic || this.name < theirs)) {
      this.server.log.debug(`Cluster name updated to ${theirs}`);
      this.name = theirs;
      this.dynamic = theirsDynamic;
      return true;
    }
    return !theirsDynamic ? false : this.name > theirs;
  }

  /** The remote's INFO arrived: keep one route per server, share interest, gossip. */
  register(r: Route): boolean {
    const s = this.server;
    const id = r.remoteId;
    const existing = this.byId.get(id);
    if (existing && existing !== r && !existing.closed) {
      s.log.debugc(r, `Detected duplicate remote route "${id}"`);
      r.close(ClosedState.DuplicateRoute);
      return false;
    }
    this.byId.set(id, r);
    s.log.debugc(r, `Registering remote route "${id}"`);
    for (const [key, count] of this.interest) {
      if (count <= 0) continue;
      const [acc, subject, queue] = key.split(" ");
      r.sendInterest(acc, subject, queue ?? "", queue === undefined ? 1 : count);
    }
    s.log.debugc(r, "Route sent local subscriptions");
    const info = r.remoteInfo!;
    this.updateConnectUrls(r, info);
    if (info.leafnode_urls?.length === 1) s.leafnodes?.addUrl(info.leafnode_urls[0]);
    if (!r.solicited) {
      // Tell the servers we already know about the new one, so the mesh closes.
      const gossip = { ...info };
      if (!gossip.ip) gossip.ip = `nats-route://${hostPort(r.peer.host, info.port ?? 0)}/`;
      const line = enc.encode(`INFO ${JSON.stringify(gossip)} \r\n`);
      for (const other of this.routes.values()) {
        if (other !== r && other.remoteInfo !== null && !other.closed) other.queue(line);
      }
    }
    return true;
  }

  /** Gossip told us about a server: connect to it unless we have (or are) it. */
  implicitRoute(info: RouteInfo): void {
    if (info.server_id === this.server.id || this.byId.has(info.server_id)) return;
    const url = info.ip ?? `nats-route://${hostPort(info.host ?? "", info.port ?? 0)}/`;
    this.server.log.debug(`Connecting to implicit route ${url}`);
    this.solicit(url, false);
  }

  updateConnectUrls(r: Route, info: RouteInfo): void {
    if (this.opts.noAdvertise) return;
    const urls = info.connect_urls ?? [];
    if (urls.length > 0) this.learnedUrls = true;
    this.remoteUrls.set(r.remoteId, urls);
    if (info.ws_connect_urls?.length) this.remoteWsUrls.set(r.remoteId, info.ws_connect_urls);
    else this.remoteWsUrls.delete(r.remoteId);
    this.server.connectUrlsChanged();
  }

  removeRoute(r: Route): void {
    if (!this.routes.delete(r.cid)) return;
    r.remoteSubs.removeAll();
    if (this.byId.get(r.remoteId) === r) {
      this.byId.delete(r.remoteId);
      this.remoteWsUrls.delete(r.remoteId);
      if (this.remoteUrls.delete(r.remoteId)) this.server.connectUrlsChanged();
      const leafUrl = r.remoteInfo?.leafnode_urls;
      if (leafUrl?.length === 1) this.server.leafnodes?.removeUrl(leafUrl[0]);
    }
    this.server.log.noticec(r, `Router connection closed: ${r.closeReason}`);
    // A configured route is redialed for as long as the server runs.
    if (r.url && this.#running && r.closeReason !== ClosedState.DuplicateRoute) {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.solicit(r.url!.href, true, 1, false);
      }, RECONNECT_MS);
      this.#timers.add(t);
    }
  }

  /**
   * A local subscription (a client's, or a leafnode's we are the hub of) came or went: update
   * counts and tell every route. `origin` names the leafnode cluster the interest comes from.
   */
  localInterest(acc: Account, subject: string, queue: string, delta: number, origin = ""): void {
    const key = queue === "" ? `${acc.name} ${subject}` : `${acc.name} ${subject} ${queue}`;
    const n = countInterest(this.interest, key, queue !== "", delta);
    if (n < 0) return;
    for (const r of this.routes.values()) {
      if (r.remoteInfo !== null && !r.closed) r.sendInterest(acc.name, subject, queue, n, origin);
    }
  }
}

/** A failed dial in Go's words ("dial tcp 127.0.0.1:4248: connect: connection refused"). */
function dialError(e: unknown, address: string): string {
  const what = e instanceof Deno.errors.ConnectionRefused
    ? "connect: connection refused"
    : e instanceof Deno.errors.TimedOut
    ? "i/o timeout"
    : (e as Error).message;
  return `dial tcp ${address}: ${what}`;
}

function randomName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}
