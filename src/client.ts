/**
 * One client connection: the read loop that feeds the parser, the handlers for each op, delivery
 * of messages into subscribers' outbound buffers, and the connection's lifecycle. Error texts and
 * which errors close the connection follow nats-server's client.go.
 */

import {
  CLIENT_OP_INDEX,
  OP_CONNECT,
  OP_ERR,
  OP_HMSG,
  OP_HPUB,
  OP_INFO,
  OP_OK,
  OP_PING,
  OP_PONG,
  OP_SUB,
  OP_UNSUB,
  Parser,
  type ParserHost,
  parseSize,
  PubArg,
  splitArgs,
} from "./parser.ts";
import { Outbound } from "./outbound.ts";
import type { PeerAddress, Transport } from "./transport.ts";
import {
  bytesOf,
  isValidLiteralSubject,
  isValidSubject,
  type SublistResult,
  type Subscription,
} from "./sublist.ts";
import type { Server } from "./server.ts";
import type { Account } from "./accounts/account.ts";
import { rewriteMsg } from "./message.ts";
import { formatGoDuration, type Permissions } from "./options.ts";
import type { X509Certificate } from "node:crypto";
import type { DenyFilter } from "./permissions.ts";
import { goQuoteBytes, protoSnippet } from "./goquote.ts";
import { goQuote } from "./conf/go_format.ts";
import { checkClientInfo, type ConnectOptions, decodeConnect } from "./connect.ts";
import { GoJsonError } from "./go_json.ts";

import { type ClientJwt, releaseJwt } from "./operator/state.ts";
import { NO_BYTES } from "./bytes.ts";
import { isJsAck } from "./delivery.ts";

export type { ConnectOptions };

export const CLIENT = 0;
export const ROUTER = 1;
/** A leafnode connection (nats-server's LEAF kind). */
export const LEAF = 4;

/** Why a connection closed, with the texts /connz reports (nats-server's ClosedState). */
export const ClosedState = {
  ClientClosed: "Client Closed",
  AuthenticationTimeout: "Authentication Timeout",
  AuthenticationViolation: "Authentication Failure",
  TLSHandshakeError: "TLS Handshake Failure",
  SlowConsumerPendingBytes: "Slow Consumer (Pending Bytes)",
  SlowConsumerWriteDeadline: "Slow Consumer (Write Deadline)",
  WriteError: "Write Error",
  ReadError: "Read Error",
  ParseError: "Parse Error",
  StaleConnection: "Stale Connection",
  ProtocolViolation: "Protocol Violation",
  BadClientProtocolVersion: "Bad Client Protocol Version",
  MaxPayloadExceeded: "Maximum Message Payload Exceeded",
  MaxControlLineExceeded: "Maximum Control Line Exceeded",
  MaxConnectionsExceeded: "Maximum Connections Exceeded",
  MaxAccountConnectionsExceeded: "Maximum Account Connections Exceeded",
  MaxSubscriptionsExceeded: "Maximum Subscriptions Exceeded",
  ServerShutdown: "Server Shutdown",
  AuthenticationExpired: "Authentication Expired",
  Revocation: "Credentials Revoked",
  NoRespondersRequiresHeaders: "No Responders Requires Headers",
  DuplicateRoute: "Duplicate Route",
  RouteRemoved: "Route Removed",
  WrongPort: "Incorrect Port",
  MissingAccount: "Missing Account",
  DuplicateRemoteLeafnodeConnection: "Duplicate Remote LeafNode Connection",
  MinimumVersionRequired: "Minimum Version Required",
  ClusterNamesIdentical: "Cluster Names Identical",
} as const;
export type ClosedReason = typeof ClosedState[keyof typeof ClosedState];

const enc = new TextEncoder();
const dec = new TextDecoder();
const CRLF = enc.encode("\r\n");
const PONG = enc.encode("PONG\r\n");
const PING = enc.encode("PING\r\n");
const OK = enc.encode("+OK\r\n");
const MSG_ = enc.encode("MSG ");
const HMSG_ = enc.encode("HMSG ");

const MIN_READ = 512;
/** Argument positions of SUB/UNSUB, filled and read in one synchronous call: shared. */
const SUB_ARGS = new Int32Array(10);
const MAX_READ = 64 * 1024;
const SUBJECT_CACHE_SLOTS = 256;

/** Compiled publish/subscribe permission checks for a user. */
export interface PermissionChecker {
  canPublish(subject: string): boolean;
  canSubscribe(subject: string, queue: string): boolean;
  /**
   * The subscribe deny list as a delivery filter, when an allowed subscription on `subject`
   * reaches a denied subject (nats-server then checks each message delivered); else null.
   */
  denyFilterFor(subject: string): DenyFilter | null;
  /** allow_responses: may publish to reply subjects of messages received. */
  response: { maxMsgs: number; expiresMs: number } | null;
}

/** A reply subject this client may answer (allow_responses), with when and how often. */
interface ReplyGrant {
  t: number;
  n: number;
}

const MAX_REPLY_GRANTS = 10000;

export type ClientSub = Subscription<Client>;

export class Client implements ParserHost {
  readonly kind: number = CLIENT;
  /** What a user JWT's allowed_connection_types calls this connection (WEBSOCKET for ws). */
  readonly connectionType: string = "STANDARD";
  readonly opIndex = CLIENT_OP_INDEX;
  readonly pa = new PubArg();
  readonly cid: number;
  readonly server: Server;
  /** Replaced by a TLS transport after the handshake. */
  conn: Transport;
  tlsInfo: { version: string; cipher: string; peer: X509Certificate | null } | null = null;
  readonly peer: PeerAddress;
  readonly start: number;
  readonly out = new Outbound();
  /** Before CONNECT, nats-server treats a connection as verbose and pedantic (telnet users). */
  opts: ConnectOptions = {
    verbose: true,
    pedantic: true,
    echo: true,
    headers: false,
    no_responders: false,
    protocol: 0,
    name: "",
    lang: "",
    version: "",
  };
  connectReceived = false;
  /** Set at the first PONG after CONNECT; async INFOs go only to clients past it. */
  firstPongSent = false;
  /**
   * The account whose subject space this connection lives in: `$G` until authentication says
   * otherwise. Routes carry many accounts and name one per message instead.
   */
  account: Account;
  /** The nonce sent in INFO for an nkey user to sign; "" when no nkey users exist. */
  nonce = "";
  /** Authenticated user name, shown in /connz?auth=1. */
  user = "";
  perms: PermissionChecker | null = null;
  /** Set once a wildcard subscription reaches a subscribe deny subject; see DenyFilter. */
  denyFilter: DenyFilter | null = null;
  /** Operator mode: the user JWT this client logged in with (src/operator/). */
  jwt: ClientJwt | null = null;
  /** Reply subjects granted by allow_responses; null when the user has no such permission. */
  replies: Map<string, ReplyGrant> | null = null;
  permissions: Permissions | undefined;
  readonly subs = new Map<string, ClientSub>();
  closed = false;
  closeReason: ClosedReason | "" = "";
  /** Bytes left unwritten by a slow consumer close, as /connz reports them afterwards. */
  pendingAtClose = 0;
  stop = 0;
  // Stats, as /connz reports them.
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  /**
   * Last activity (ms), for /connz `last_activity` and the ping timer: as in nats-server, the
   * CONNECT, messages and subscriptions received, and messages delivered. PING and PONG are not.
   */
  last: number;
  /** When the peer last sent a PING (ms): it too holds back our PING (nats-server's ping.last). */
  lastPingIn = 0;
  /** Last time output was flushed (ms); quiet connections give buffer memory back. */
  lastOut = 0;
  #outMsgsFlushed = 0;
  pingsOut = 0;
  nextPing: number;
  /** Round-trip time (ms): first the time from accept to CONNECT, then measured by PING/PONG. */
  rtt = 0;
  #rttStart = 0;
  /** performance.now() at accept, for the RTT estimate CONNECT gives (as nats-server). */
  readonly #accepted = performance.now();
  /** When our last PING went out (ms); 0 before the first. */
  pingSentAt = 0;
  flushQueued = false;
  /** Set while an asynchronous step (a bcrypt check) must finish before parsing goes on. */
  paused: Promise<boolean> | null = null;
  maxControlLine: number;
  #maxPayload: number;
  /** 0: unlimited; -1: none allowed (an account limit of 0). */
  maxSubs = 0;
  /** Shared with Route, which reads the message tokens it splits. */
  readonly parser = new Parser();
  #rbuf = new Uint8Array(MIN_READ);
  #shortReads = 0;
  #trace: boolean;
  // Direct-mapped cache from subject bytes to the decoded subject and its sublist result. A
  // slot's bytes are copied once it is hit (a subject that comes back), not when it is filled:
  // a copy costs an ArrayBuffer, and with a subject per message it would never be used.
  #cacheStr: string[] | null = null;
  #cacheBytes: (Uint8Array | undefined)[] | null = null;
  #cacheRes: unknown[] | null = null;
  #cacheGen: Int32Array | null = null;

  constructor(server: Server, conn: Transport, peer: PeerAddress, cid: number) {
    this.server = server;
    this.conn = conn;
    this.peer = peer;
    this.cid = cid;
    this.account = server.globalAccount;
    this.start = Date.now();
    this.last = this.start;
    const o = server.opts;
    this.maxControlLine = o.maxControlLine;
    this.#maxPayload = o.maxPayload;
    this.maxSubs = o.maxSubs;
    // Until CONNECT, the ping timer runs on the full interval, as in nats-server.
    this.nextPing = this.start + o.pingIntervalMs;
    this.#trace = server.log.traceEnabled;
  }

  /**
   * After the first PONG, a client that reads async INFO learns what changed since its INFO:
   * the cluster's connect URLs, or a max_payload its account lowered (nats-server's processPing).
   */
  #firstPong(): void {
    this.firstPongSent = true;
    if (this.opts.protocol < 1) return;
    const s = this.server;
    if (s.connectUrlsUpdated >= this.start || this.#maxPayload !== s.opts.maxPayload) {
      s.sendInfo(this);
    }
  }

  get maxPayload(): number {
    return this.#maxPayload;
  }

  /** Picks up limits and logging flags after a configuration reload. */
  applyOptions(): void {
    const o = this.server.opts;
    this.maxControlLine = o.maxControlLine;
    this.applyLimits();
    this.#trace = this.server.log.traceEnabled;
    this.nextPing = Math.min(this.nextPing, this.server.now + o.pingIntervalMs);
  }

  /**
   * How log lines name this connection: nats-server's connection string, which a client's CONNECT
   * extends with its library's version, language and name (`- "v3.4.0:nats.js"`).
   */
  get logPrefix(): string {
    return (this.#connString ?? this.baseConnString()) + " - ";
  }

  /** The connection string before any CONNECT: the address and the connection id. */
  protected baseConnString(): string {
    return `${this.peer.host}:${this.peer.port} - cid:${this.cid}`;
  }

  #connString: string | null = null;

  /** processConnect's addition to the connection string, as nats-server builds it. */
  #nameConnection(): void {
    const o = this.opts;
    let ncs = o.version ? `v${o.version}` : "";
    if (o.lang) ncs = o.version ? `${ncs}:${o.lang}` : o.lang;
    if (o.name) ncs = o.version || o.lang ? `${ncs}:${o.name}` : o.name;
    if (ncs !== "") {
      this.#connString = `${this.#connString ?? this.baseConnString()} - ${goQuote(ncs)}`;
    }
  }

  /**
   * Runs the connection until it closes. The INFO was already queued by the server. `initial`
   * holds bytes already read from the connection (allow_non_tls peeks at the first ones).
   */
  async run(initial?: Uint8Array): Promise<void> {
    let len = 0;
    let pre = initial?.length ?? 0;
    if (pre > this.#rbuf.length) this.#rbuf = new Uint8Array(pre);
    if (pre > 0) this.#rbuf.set(initial!);
    try {
      while (!this.closed) {
        if (len === this.#rbuf.length) this.#growRead(len, len * 2);
        let n: number | null;
        if (pre > 0) {
          n = pre;
          pre = 0;
        } else {
          n = await this.conn.read(len === 0 ? this.#rbuf : this.#rbuf.subarray(len));
        }
        if (n === null) break;
        if (this.closed) break;
        const total = len + n;
        const now = this.server.now;
        if (!this.connectReceived && this.#refusedBeforeConnect(total)) break;
        const inMsgs = this.inMsgs;
        const consumed = this.parser.parse(this, this.#rbuf, 0, total);
        if (consumed < 0) break;
        if (this.inMsgs !== inMsgs) this.last = now;
        len = total - consumed;
        if (len > 0 && consumed > 0) this.#rbuf.copyWithin(0, consumed, total);
        await this.server.afterRead();
        while (this.paused !== null) {
          const ok = await this.paused;
          this.paused = null;
          if (!ok || this.closed) return;
          const more = this.parser.parse(this, this.#rbuf, 0, len);
          if (more < 0) return;
          if (more > 0) this.#rbuf.copyWithin(0, more, len);
          len -= more;
          await this.server.afterRead();
        }
        this.#adaptRead(total, len);
      }
    } catch (e) {
      if (!this.closed) this.server.log.debugc(this, `Client connection read error: ${e}`);
      this.close(ClosedState.ReadError);
      return;
    }
    if (!this.closed) this.close(ClosedState.ClientClosed);
  }

  /**
   * Grows when a read filled the buffer (counting the bytes kept from the previous read, which
   * is almost always some: a cut op) and for big messages; shrinks back after a few short reads
   * so an idle connection pins only a small buffer.
   */
  #adaptRead(filled: number, kept: number): void {
    const size = this.#rbuf.length;
    const need = this.parser.needed;
    if (need > size) {
      this.#growRead(kept, need);
      return;
    }
    if (filled >= size && size < MAX_READ) {
      this.#growRead(kept, size * 2);
      this.#shortReads = 0;
    } else if (filled < size / 2 && size > MIN_READ) {
      if (++this.#shortReads > 2 && kept <= size / 2 && need <= size / 2) {
        this.#growRead(kept, size / 2);
        this.#shortReads = 0;
      }
    } else {
      this.#shortReads = 0;
    }
  }

  #growRead(kept: number, size: number): void {
    const next = new Uint8Array(size);
    next.set(this.#rbuf.subarray(0, kept));
    this.#rbuf = next;
  }

  // ---- Parser host ----

  processOp(op: number, buf: Uint8Array, start: number, end: number): boolean {
    if (!this.connectReceived && op !== OP_CONNECT && !this.#beforeConnect()) return false;
    switch (op) {
      case OP_PING:
        if (this.#trace) this.traceIn("PING", "");
        this.lastPingIn = this.server.now;
        this.queue(PONG);
        if (this.#trace) this.traceOut("PONG", "");
        if (!this.firstPongSent && this.connectReceived && this.kind === CLIENT) {
          this.#firstPong();
        }
        return true;
      case OP_PONG:
        if (this.#trace) this.traceIn("PONG", "");
        this.pingsOut = 0;
        if (this.#rttStart > 0) {
          this.rtt = performance.now() - this.#rttStart;
          this.#rttStart = 0;
        }
        return true;
      case OP_CONNECT:
        return this.#processConnect(buf, start, end);
      case OP_SUB:
        if (this.#trace) this.traceIn("SUB", dec.decode(buf.subarray(start, end)));
        return this.#processSub(buf, start, end);
      case OP_UNSUB:
        if (this.#trace) this.traceIn("UNSUB", dec.decode(buf.subarray(start, end)));
        return this.#processUnsub(buf, start, end);
      case OP_OK:
        return true;
      case OP_INFO:
        return this.#processInfo(buf, start, end);
      case OP_ERR: {
        const text = dec.decode(buf.subarray(start, end));
        this.server.log.errorc(this, `Client Error ${text}`);
        this.close(ClosedState.ParseError);
        return false;
      }
    }
    return true;
  }

  parseError(buf: Uint8Array, i: number, end: number, state: number): void {
    this.sendErr("Unknown Protocol Operation");
    const snip = protoSnippet(buf, i, end);
    this.server.log.errorc(this, `Client parser ERROR, state=${state}, i=${i}: proto='${snip}...'`);
    this.close(ClosedState.ProtocolViolation);
  }

  controlLineTooLong(buf: Uint8Array, start: number, end: number): void {
    const snip = JSON.stringify(dec.decode(buf.subarray(start, Math.min(end, start + 128))));
    this.sendErr("maximum control line exceeded");
    this.server.log.errorc(
      this,
      `maximum control line exceeded: max_control_line ${this.maxControlLine}, ` +
        `Buffer len ${end - start} (snip: ${snip}...)`,
    );
    this.close(ClosedState.MaxControlLineExceeded);
  }

  processMsgArgs(op: number, buf: Uint8Array, start: number, end: number): boolean {
    if (!this.connectReceived && !this.#beforeConnect()) return false;
    const pa = this.pa;
    if (op === OP_HMSG) return this.#clientHmsg(buf, start);
    const hpub = op === OP_HPUB;
    if (this.#trace) this.traceIn(hpub ? "HPUB" : "PUB", dec.decode(buf.subarray(start, end)));
    if (hpub && !this.opts.headers) {
      this.server.log.errorc(this, "message headers not supported");
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    const parser = this.parser;
    const n = parser.ntokens;
    const args = parser.tokens;
    const name = hpub ? "processHeaderPub" : "processPub";
    const base = hpub ? 3 : 2;
    if (n !== base && n !== base + 1) {
      return this.#protoViolation(`${name} Parse Error: ${quoteBytes(buf, start, end)}`);
    }
    pa.subjectStart = args[0];
    pa.subjectEnd = args[1];
    if (n === base + 1) {
      pa.replyStart = args[2];
      pa.replyEnd = args[3];
    } else {
      pa.replyStart = pa.replyEnd = 0;
    }
    const k = 2 * (n - 1);
    pa.sizeStart = args[k];
    pa.sizeEnd = args[k + 1];
    pa.size = parseSize(buf, pa.sizeStart, pa.sizeEnd);
    if (hpub) {
      pa.hdrStart = args[k - 2];
      pa.hdrEnd = args[k - 1];
      pa.hdr = parseSize(buf, pa.hdrStart, pa.hdrEnd);
      if (pa.hdr < 0) {
        return this.#protoViolation(
          `processHeaderPub Bad or Missing Header Size: ${quoteBytes(buf, start, end)}`,
        );
      }
    } else {
      pa.hdr = -1;
    }
    if (pa.size < 0) {
      const what = hpub ? "Total Size" : "Size";
      return this.#protoViolation(`${name} Bad or Missing ${what}: ${quoteBytes(buf, start, end)}`);
    }
    if (hpub && pa.hdr > pa.size) {
      return this.#protoViolation(
        `processHeaderPub Header Size larger then TotalSize: ${quoteBytes(buf, start, end)}`,
      );
    }
    // A header of size 0 is no header: nats-server delivers such an HPUB as a plain MSG.
    if (pa.hdr === 0) pa.hdr = -1;
    if (pa.size > this.#maxPayload) {
      this.server.log.errorc(
        this,
        `maximum payload exceeded: ${pa.size} vs ${this.#maxPayload}`,
      );
      this.sendErr("Maximum Payload Violation");
      this.close(ClosedState.MaxPayloadExceeded);
      return false;
    }
    this.#lookupSubject(buf, pa.subjectStart, pa.subjectEnd, parser.hash0);
    if (this.opts.pedantic && !isValidLiteralSubject(pa.subject)) {
      this.sendErr("Invalid Publish Subject");
    }
    return true;
  }

  /**
   * HMSG is a route op, but nats-server's parser takes it from a client too: the line is ignored
   * and, its message arguments having been reset, what follows is an empty message to an empty
   * subject (so "HMSG x\r\n\r\n" is answered +OK, anything else is a parse error).
   */
  #clientHmsg(buf: Uint8Array, start: number): boolean {
    const pa = this.pa;
    pa.subjectStart =
      pa.subjectEnd =
      pa.replyStart =
      pa.replyEnd =
        start;
    pa.sizeStart = pa.sizeEnd = start;
    pa.size = 0;
    pa.hdr = -1;
    this.#lookupSubject(buf, start, start, 0x811c9dc5 | 0);
    return true;
  }

  processMsg(_op: number, buf: Uint8Array): void {
    const pa = this.pa;
    if (this.#trace) this.#traceMsg(buf);
    this.inMsgs++;
    this.inBytes += pa.size;
    const acc = this.account;
    // The offsets are into this buffer now (a payload cut by a read moved the message).
    pa.src = buf;
    let src = buf;
    let args = pa;
    // Mappings rewrite the subject before anything else looks at it (permissions included), as
    // nats-server maps at the PUB line. Accounts without mappings pay one null check.
    if (acc.mappings !== null) {
      const subject = pa.subject;
      const mapped = acc.mappings.map(subject, this.server.cluster?.name ?? "");
      if (mapped === "") {
        if (this.opts.verbose) this.sendOK();
        return;
      }
      if (mapped !== null && mapped !== subject) {
        if (this.#trace) this.server.log.tracec(this, `MAPPING ${subject} -> ${mapped}`);
        const m = rewriteMsg(buf, pa, mapped, null);
        src = m.buf;
        args = m.pa;
      }
    }
    if (
      this.perms !== null && !this.perms.canPublish(args.subject) &&
      !this.#mayRespond(args.subject)
    ) {
      const subject = args.subject;
      this.sendErr(`Permissions Violation for Publish to ${JSON.stringify(subject)}`);
      this.server.log.errorc(
        this,
        `Publish Violation - User ${JSON.stringify(this.user)}, Subject ${JSON.stringify(subject)}`,
      );
      return;
    }
    if (args.replyEnd > args.replyStart && isReservedReply(src, args.replyStart, args.replyEnd)) {
      const reply = quoteBytes(src, args.replyStart, args.replyEnd);
      this.sendErr(`Permissions Violation for Publish with Reply of ${reply}`);
      this.server.log.errorc(
        this,
        `Publish Violation - User ${JSON.stringify(this.user)}, Reply ${reply}`,
      );
      return;
    }
    if (this.opts.verbose) this.sendOK();
    const server = this.server;
    const res = args === pa ? this.#cachedMatch() : acc.sublist.match(args.subject);
    const delivered = server.routeMessage(this, acc, res, src, args);
    if (!delivered && args.replyEnd > args.replyStart && this.opts.no_responders) {
      this.#sendNoResponders(src, args);
    }
  }

  /**
   * nats-server judges a connection that must authenticate by its first byte: anything but the C
   * of CONNECT is an authorization violation at once, whatever op it starts, an unknown one
   * included (unless no_auth_user names the user such a connection becomes).
   */
  #refusedBeforeConnect(len: number): boolean {
    if (len === 0 || !this.parser.idle) return false;
    const b = this.#rbuf[0];
    return b !== 67 && b !== 99 && !this.#beforeConnect();
  }

  /**
   * An op other than CONNECT arrived first. Fine without auth (telnet sessions); with auth it is
   * a violation, unless no_auth_user names the user such a connection becomes.
   */
  #beforeConnect(): boolean {
    if (this.kind !== CLIENT || !this.authRequired()) return true;
    if (this.loginNoAuthUser()) {
      this.connectReceived = true;
      return true;
    }
    this.server.authViolation(this);
    return false;
  }

  // Authentication goes through these so that a listener with its own rules (websocket's
  // authorization block) can replace the server's for its connections.

  authRequired(): boolean {
    return this.server.authRequired;
  }

  authenticate(): boolean | Promise<boolean> {
    return this.server.authenticate(this);
  }

  loginNoAuthUser(): boolean {
    return this.server.loginNoAuthUser(this);
  }

  /** The auth timeout for this connection, given the server's. */
  authTimeoutMs(serverMs: number): number {
    return serverMs;
  }

  /** The INFO this connection is sent, from the server's (a listener may adjust it). */
  customizeInfo(info: Record<string, unknown>): Record<string, unknown> {
    return info;
  }

  /** allow_responses: one grant per reply subject received, bounded in count and age. */
  #mayRespond(subject: string): boolean {
    const rp = this.perms?.response;
    const g = this.replies?.get(subject);
    if (!rp || !g) return false;
    g.n++;
    if (
      (rp.maxMsgs > 0 && g.n > rp.maxMsgs) || (rp.expiresMs > 0 && Date.now() - g.t > rp.expiresMs)
    ) {
      this.replies!.delete(subject);
      return false;
    }
    return true;
  }

  /**
   * Moves the connection into an account (authentication decided it). Subscriptions made
   * before (a connection without auth may subscribe before CONNECT) move with it.
   */
  setAccount(acc: Account): boolean {
    if (acc === this.account && (this.kind !== CLIENT || acc.clients.has(this))) return true;
    const maxConns = acc.limits.maxConnections;
    if (this.kind === CLIENT && maxConns >= 0 && acc.clients.size >= maxConns) {
      this.sendErr("maximum account active connections exceeded");
      this.server.log.errorc(this, "maximum account active connections exceeded");
      this.close(ClosedState.MaxAccountConnectionsExceeded);
      return false;
    }
    const subs = this.subs.size === 0 ? [] : [...this.subs.values()];
    for (const sub of subs) this.server.removeSubscription(sub);
    this.account.clients.delete(this);
    this.account = acc;
    if (this.kind === CLIENT) {
      acc.clients.add(this);
      this.server.events?.accountConnsChanged(acc);
    }
    for (const sub of subs) this.server.addSubscription(sub);
    // The subject cache holds results of the old account's sublist.
    this.#cacheGen?.fill(-1);
    this.applyLimits();
    return true;
  }

  /**
   * Payload and subscription limits: the lower of the server's and the account's (nats-server's
   * applyAccountLimits), logged when the server's setting overrides the account's.
   */
  applyLimits(): void {
    const o = this.server.opts;
    const lim = this.account.limits;
    if (this.jwt !== null) {
      // A JWT user's own limits count too (src/operator/client_jwt.ts); a client has a JWT only
      // in operator mode.
      const l = this.server.operator!.clientLimits(this, this.jwt);
      this.#maxPayload = l.maxPayload;
      this.maxSubs = l.maxSubs;
      return;
    }
    this.#maxPayload = o.maxPayload;
    this.maxSubs = o.maxSubs;
    if (lim.maxPayload >= 0 && lim.maxPayload < this.#maxPayload) this.#maxPayload = lim.maxPayload;
    if (lim.maxSubscriptions >= 0 && (this.maxSubs === 0 || lim.maxSubscriptions < this.maxSubs)) {
      this.maxSubs = lim.maxSubscriptions === 0 ? -1 : lim.maxSubscriptions;
    }
  }

  setPermissions(p: PermissionChecker | null): void {
    this.perms = p;
    this.replies = p?.response ? (this.replies ?? new Map()) : null;
    // Rebuilt from the subscriptions the (new) permissions allow, as after a nats-server reload.
    this.denyFilter = null;
    if (p === null) return;
    for (const sub of this.subs.values()) {
      if (this.denyFilter !== null) break;
      if (p.canSubscribe(sub.subject, sub.queue)) this.denyFilter = p.denyFilterFor(sub.subject);
    }
  }

  /** Records a reply subject this client received, for allow_responses. */
  grantReply(src: Uint8Array, start: number, end: number): void {
    const replies = this.replies!;
    if (replies.size >= MAX_REPLY_GRANTS) {
      const oldest = replies.keys().next().value;
      if (oldest !== undefined) replies.delete(oldest);
    }
    replies.set(dec.decode(src.subarray(start, end)), { t: Date.now(), n: 0 });
  }

  // ---- Ops ----

  #processConnect(buf: Uint8Array, start: number, end: number): boolean {
    if (this.#trace) {
      this.traceIn("CONNECT", removePassFromTrace(dec.decode(buf.subarray(start, end))));
    }
    const o = this.opts;
    try {
      decodeConnect(buf.subarray(start, end), o);
    } catch (e) {
      if (!(e instanceof GoJsonError)) throw e;
      this.server.log.errorc(this, e.message);
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    if (this.server.opts.noHeaderSupport) o.headers = false;
    const first = !this.connectReceived;
    this.connectReceived = true;
    if (this.kind === CLIENT) {
      // nats-server estimates the RTT from accept to CONNECT until a PING measures it.
      this.rtt = Math.max(performance.now() - this.#accepted, 1e-6);
      this.#nameConnection();
    }
    this.#connectTimers();
    // Every CONNECT is authenticated, a repeated one too (nats-server closes on bad credentials).
    const auth = this.authenticate();
    if (auth === true) return this.#authorized(first);
    if (auth === false) return false;
    // A bcrypt check is running: hold the rest of this read until it answers.
    this.paused = auth.then((ok) => ok && this.#authorized(first));
    return true;
  }

  /** Authentication passed: the system account hears of a new connection, then CONNECT ends. */
  #authorized(first: boolean): boolean {
    if (first && this.kind === CLIENT) this.server.events?.clientConnected(this);
    return this.#finishConnect();
  }

  /** A client's INFO is decoded as nats-server decodes it (bad JSON closes), then ignored. */
  #processInfo(buf: Uint8Array, start: number, end: number): boolean {
    try {
      checkClientInfo(buf.subarray(start, end));
      return true;
    } catch (e) {
      if (!(e instanceof GoJsonError)) throw e;
      return this.#protoViolation(e.message);
    }
  }

  #finishConnect(): boolean {
    const o = this.opts;
    // Naming an account in CONNECT is refused since nats-server 2.2, even with valid credentials.
    if ((o.account ?? "") !== "" || o.new_account) {
      this.server.authViolation(this);
      return false;
    }
    if (o.protocol < 0 || o.protocol > 1) {
      this.sendErr("invalid client protocol");
      this.server.log.errorc(this, "invalid client protocol");
      this.close(ClosedState.BadClientProtocolVersion);
      return false;
    }
    if (o.no_responders && !o.headers) {
      this.sendErr("no responders requires headers support");
      this.server.log.errorc(this, "no responders requires headers support");
      this.close(ClosedState.NoRespondersRequiresHeaders);
      return false;
    }
    if (o.verbose) this.sendOK();
    return true;
  }

  #processSub(buf: Uint8Array, start: number, end: number): boolean {
    const args = SUB_ARGS;
    const n = splitArgs(buf, start, end, args);
    if (n !== 2 && n !== 3) {
      return this.#protoViolation(`processSub Parse Error: ${quoteBytes(buf, start, end)}`);
    }
    const subject = dec.decode(buf.subarray(args[0], args[1]));
    const queue = n === 3 ? dec.decode(buf.subarray(args[2], args[3])) : "";
    const sidStart = args[2 * (n - 1)];
    const sidEnd = args[2 * (n - 1) + 1];
    const sid = dec.decode(buf.subarray(sidStart, sidEnd));
    this.last = this.server.now;
    if (this.perms !== null && !this.perms.canSubscribe(subject, queue)) {
      const q = queue === "" ? "" : ` using queue ${JSON.stringify(queue)}`;
      this.sendErr(
        `Permissions Violation for Subscription to ${JSON.stringify(subject)}${q}`,
      );
      this.server.log.errorc(
        this,
        `Subscription Violation - User ${JSON.stringify(this.user)}, Subject ${
          JSON.stringify(subject)
        }, SID ${sid}`,
      );
      return true;
    }
    if (this.perms !== null && this.denyFilter === null) {
      this.denyFilter = this.perms.denyFilterFor(subject);
    }
    const maxSubs = this.maxSubs;
    if (maxSubs !== 0 && this.subs.size >= maxSubs && !this.subs.has(sid)) {
      this.sendErr("maximum subscriptions exceeded");
      this.server.log.errorc(this, `maximum subscriptions exceeded`);
      return true;
    }
    // Only the subject is checked (nats-server's sublist insert); any queue name is accepted.
    if (!isValidSubject(subject)) {
      this.sendErr("Invalid Subject");
      return true;
    }
    // A repeated sid is accepted and ignored, as nats-server does.
    if (!this.subs.has(sid)) {
      const sub: ClientSub = {
        client: this,
        subject,
        queue,
        sid,
        sidBytes: bytesOf(buf, sidStart, sidEnd),
        max: 0,
        delivered: 0,
        closed: false,
      };
      this.subs.set(sid, sub);
      this.server.addSubscription(sub);
    }
    if (this.opts.verbose) this.sendOK();
    return true;
  }

  #processUnsub(buf: Uint8Array, start: number, end: number): boolean {
    const args = SUB_ARGS;
    const n = splitArgs(buf, start, end, args);
    if (n !== 1 && n !== 2) {
      return this.#protoViolation(`processUnsub Parse Error: ${quoteBytes(buf, start, end)}`);
    }
    const sid = dec.decode(buf.subarray(args[0], args[1]));
    const max = n === 2 ? parseSize(buf, args[2], args[3]) : -1;
    this.last = this.server.now;
    const sub = this.subs.get(sid);
    if (sub) {
      if (max > 0 && max > sub.delivered) {
        sub.max = max;
      } else {
        this.removeSub(sub);
      }
    }
    if (this.opts.verbose) this.sendOK();
    return true;
  }

  removeSub(sub: ClientSub): void {
    if (sub.closed) return;
    sub.closed = true;
    this.subs.delete(sub.sid);
    this.server.removeSubscription(sub);
  }

  #protoViolation(msg: string): boolean {
    this.server.log.errorc(this, msg);
    this.close(ClosedState.ProtocolViolation);
    return false;
  }

  #sendNoResponders(buf: Uint8Array, pa: PubArg): void {
    const reply = dec.decode(buf.subarray(pa.replyStart, pa.replyEnd));
    const res = this.account.sublist.match(reply);
    for (const sub of res.psubs) {
      if (sub.client === this) {
        this.queue(enc.encode(`HMSG ${reply} ${sub.sid} 16 16\r\nNATS/1.0 503\r\n\r\n\r\n`));
        return;
      }
    }
  }

  // ---- Subject cache ----

  /**
   * Looks the subject up in this connection's cache (DENO-NET.md §6): a hit gives the message
   * its subject string, a miss leaves it to be decoded only if someone asks (see PubArg.subject).
   * Until a slot has been hit, the bytes are compared with the cached string's character codes:
   * equal codes mean the bytes are ASCII and decode to that very string (a byte >= 128 never
   * decodes to its own code).
   */
  #lookupSubject(buf: Uint8Array, start: number, end: number, h: number): void {
    const pa = this.pa;
    this.#subjectHash = h;
    if (isJsAck(buf, start, end)) {
      // Unique per message: caching it would only evict subjects that do come back.
      this.#slot = -1;
      this.#slotHit = false;
      pa.subjectFrom(buf);
      return;
    }
    const slot = (h >>> 0) & (SUBJECT_CACHE_SLOTS - 1);
    this.#slot = slot;
    if (this.#cacheStr === null) {
      this.#cacheStr = new Array(SUBJECT_CACHE_SLOTS).fill("");
      this.#cacheBytes = new Array(SUBJECT_CACHE_SLOTS).fill(undefined);
      this.#cacheRes = new Array(SUBJECT_CACHE_SLOTS).fill(null);
      this.#cacheGen = new Int32Array(SUBJECT_CACHE_SLOTS).fill(-1);
    }
    const len = end - start;
    const cb = this.#cacheBytes![slot];
    let hit = false;
    if (cb !== undefined) {
      if (cb.length === len) {
        let i = 0;
        while (i < len && cb[i] === buf[start + i]) i++;
        hit = i === len;
      }
    } else {
      const cs = this.#cacheStr[slot];
      if (cs.length === len) {
        let i = 0;
        while (i < len && cs.charCodeAt(i) === buf[start + i]) i++;
        // Seen again: worth a copy of its bytes, compared twice as fast as the string's codes.
        if (i === len) {
          hit = true;
          this.#cacheBytes![slot] = buf.slice(start, end);
        }
      }
    }
    if (hit) {
      pa.src = buf;
      pa.subject = this.#cacheStr[slot];
      this.#slotHit = true;
      return;
    }
    pa.subjectFrom(buf);
    this.#slotHit = false;
  }
  #slot = 0;
  #slotHit = false;
  #subjectHash = 0;

  /**
   * The subject list's result for the message in `pa`: from this connection's cache, else from
   * the account's list, searched by the subject's bytes (a subject seen once is never decoded).
   */
  #cachedMatch(): SublistResult<Client> {
    const sl = this.account.sublist;
    const slot = this.#slot;
    const pa = this.pa;
    if (slot < 0) {
      // An ack subject: neither this connection's cache nor the list's keeps it.
      const m = sl.matchBytes(pa.src, pa.subjectStart, pa.subjectEnd, this.#subjectHash, false);
      if (m.subject !== null) pa.subject = m.subject;
      return m.result;
    }
    const gen = sl.generation | 0;
    if (this.#slotHit) {
      if (this.#cacheGen![slot] === gen) return this.#cacheRes![slot] as SublistResult<Client>;
      const res = sl.match(this.#cacheStr![slot]);
      this.#cacheRes![slot] = res;
      this.#cacheGen![slot] = gen;
      return res;
    }
    const m = sl.matchBytes(pa.src, pa.subjectStart, pa.subjectEnd, this.#subjectHash);
    // The list decoded the subject to cache it: this connection keeps it too. Otherwise (a
    // subject the list does not expect to see again) the slot keeps what it had.
    if (m.subject !== null) {
      pa.subject = m.subject;
      this.#cacheStr![slot] = m.subject;
      this.#cacheBytes![slot] = undefined;
      this.#cacheRes![slot] = m.result;
      this.#cacheGen![slot] = gen;
    }
    return m.result;
  }

  // ---- Output ----

  /** Queues protocol bytes and schedules this connection's flush for the end of this turn. */
  queue(bytes: Uint8Array): void {
    if (this.closed) return;
    this.out.append(bytes);
    this.server.scheduleFlush(this);
  }

  sendErr(text: string): void {
    if (this.#trace) this.traceOut("-ERR", text);
    this.queue(enc.encode(`-ERR '${text}'\r\n`));
  }

  sendOK(): void {
    if (this.#trace) this.traceOut("OK", "");
    this.queue(OK);
  }

  sendPing(): void {
    this.pingsOut++;
    this.#rttStart = performance.now();
    this.pingSentAt = this.server.now;
    if (this.#trace) this.traceOut("PING", "");
    this.queue(PING);
  }

  /**
   * Appends a MSG (or HMSG) for `sub` built from the publisher's bytes: subject, reply and size
   * digits are copied from the PUB line, so no string is encoded per message.
   */
  deliver(sub: ClientSub, src: Uint8Array, pa: PubArg, _from?: Client): boolean {
    if (this.closed) return false;
    if (this.denyFilter !== null && this.denyFilter.denies(pa.subject)) return false;
    const out = this.out;
    const subjLen = pa.subjectEnd - pa.subjectStart;
    const replyLen = pa.replyEnd - pa.replyStart;
    const sid = sub.sidBytes;
    const hdr = pa.hdr >= 0;
    if (hdr && !this.opts.headers) {
      return this.#deliverWithoutHeaders(sub, src, pa);
    }
    const hdrLen = hdr ? pa.hdrEnd - pa.hdrStart + 1 : 0;
    const sizeLen = pa.sizeEnd - pa.sizeStart;
    const need = (hdr ? 5 : 4) + subjLen + 1 + sid.length + 1 + (replyLen > 0 ? replyLen + 1 : 0) +
      hdrLen + sizeLen + 2 + pa.size + 2;
    const b = out.reserve(need);
    let p = out.len;
    const prefix = hdr ? HMSG_ : MSG_;
    for (let i = 0; i < prefix.length; i++) b[p++] = prefix[i];
    for (let i = pa.subjectStart; i < pa.subjectEnd; i++) b[p++] = src[i];
    b[p++] = 32;
    for (let i = 0; i < sid.length; i++) b[p++] = sid[i];
    b[p++] = 32;
    if (replyLen > 0) {
      for (let i = pa.replyStart; i < pa.replyEnd; i++) b[p++] = src[i];
      b[p++] = 32;
    }
    if (hdr) {
      for (let i = pa.hdrStart; i < pa.hdrEnd; i++) b[p++] = src[i];
      b[p++] = 32;
    }
    for (let i = pa.sizeStart; i < pa.sizeEnd; i++) b[p++] = src[i];
    b[p++] = 13;
    b[p++] = 10;
    const size = pa.size;
    const ps = pa.payloadStart;
    if (size <= 64) {
      for (let i = 0; i < size; i++) b[p++] = src[ps + i];
    } else {
      b.set(src.subarray(ps, ps + size), p);
      p += size;
    }
    b[p++] = 13;
    b[p++] = 10;
    out.len = p;
    this.outMsgs++;
    this.outBytes += size;
    if (this.replies !== null && replyLen > 0) this.grantReply(src, pa.replyStart, pa.replyEnd);
    if (!this.flushQueued) this.server.scheduleFlush(this);
    if (this.#trace) {
      this.traceOut(
        hdr ? "HMSG" : "MSG",
        dec.decode(src.subarray(pa.subjectStart, pa.subjectEnd)) + " " +
          sub.sid +
          (replyLen > 0 ? " " + dec.decode(src.subarray(pa.replyStart, pa.replyEnd)) : "") +
          (hdr ? " " + pa.hdr : "") + " " + size,
      );
    }
    if (out.pending > this.server.opts.maxPending) {
      this.server.log.noticec(
        this,
        `Slow Consumer Detected: MaxPending of ${this.server.opts.maxPending} Exceeded`,
      );
      this.server.stats.slowConsumers++;
      this.account.slowConsumers++;
      this.close(ClosedState.SlowConsumerPendingBytes);
    }
    return true;
  }

  /** A subscriber that did not ask for headers gets the payload alone, as a MSG. */
  #deliverWithoutHeaders(sub: ClientSub, src: Uint8Array, pa: PubArg): boolean {
    const body = src.subarray(pa.payloadStart + pa.hdr, pa.payloadStart + pa.size);
    const reply = pa.replyEnd > pa.replyStart
      ? " " + dec.decode(src.subarray(pa.replyStart, pa.replyEnd))
      : "";
    this.queue(enc.encode(`MSG ${pa.subject} ${sub.sid}${reply} ${body.length}\r\n`));
    this.out.append(body);
    this.out.append(CRLF);
    this.outMsgs++;
    this.outBytes += body.length;
    if (this.replies !== null && pa.replyEnd > pa.replyStart) {
      this.grantReply(src, pa.replyStart, pa.replyEnd);
    }
    return true;
  }

  /** Starts writing pending output (at most one write in flight). */
  flush(): void {
    this.flushQueued = false;
    if (this.out.len === 0 || this.out.writing) return;
    this.lastOut = this.server.now;
    // Delivering messages counts as activity (nats-server's flushClients sets `last`).
    if (this.outMsgs !== this.#outMsgsFlushed) {
      this.#outMsgsFlushed = this.outMsgs;
      this.last = this.lastOut;
    }
    this.out.flush(this.conn, () => this.server.now, (e) => {
      if (!this.closed) {
        this.server.log.debugc(this, `Error flushing: ${e}`);
        this.close(ClosedState.WriteError);
      }
    });
  }

  /**
   * Back-pressure, as nats-server applies it: a producer waits while this connection has more
   * than half of max_pending queued.
   */
  needsStall(): boolean {
    return this.out.pending > this.server.opts.maxPending / 2;
  }

  // ---- Timers (run from the server's shared tick) ----

  /**
   * CONNECT restarts the ping timer on the short first interval, so RTT is known soon, and takes
   * the time since accept as a first RTT, as nats-server's processConnect does.
   */
  #connectTimers(): void {
    const now = this.server.now;
    this.last = now;
    if (this.kind !== CLIENT) return;
    this.rtt = Math.max(now - this.start, 1e-6);
    this.nextPing = now + firstPingDelay(this.server.opts.pingIntervalMs, CLIENT);
  }

  /**
   * The ping timer fired (nats-server's processPingTimer): a PING goes out unless RTT is known
   * and the connection was active, or was pinged by its peer, within the interval. A peer that
   * left max_pings_out PINGs unanswered is stale and closed.
   */
  pingTimer(now: number): void {
    const o = this.server.opts;
    const log = this.server.log;
    this.nextPing = now + o.pingIntervalMs;
    const kind = this.kind === CLIENT ? "Client" : this.kind === LEAF ? "Leafnode" : "Router";
    log.debugc(this, `${kind} Ping Timer`);
    const needRTT = this.rtt === 0 || now - this.pingSentAt > RTT_MEASUREMENT_INTERVAL_MS;
    if (!needRTT && now - this.last < o.pingIntervalMs) {
      log.debugc(
        this,
        `Delaying PING due to client activity ${roundedSeconds(now - this.last)} ago`,
      );
      return;
    }
    if (!needRTT && now - this.lastPingIn < o.pingIntervalMs) {
      log.debugc(
        this,
        `Delaying PING due to remote ping ${roundedSeconds(now - this.lastPingIn)} ago`,
      );
      return;
    }
    if (this.pingsOut + 1 > o.maxPingsOut) {
      log.debugc(this, "Stale Client Connection - Closing");
      this.queue(enc.encode("-ERR 'Stale Connection'\r\n"));
      this.close(ClosedState.StaleConnection);
      return;
    }
    this.sendPing();
  }

  /**
   * A write has been blocked longer than write_deadline (nats-server's handleWriteTimeout). A
   * client is closed as a slow consumer; a route only when nothing of the write went out. A
   * connection still expected to authenticate is closed without being counted or logged.
   * Returns whether the connection was closed.
   */
  writeDeadlineExceeded(now: number): boolean {
    const server = this.server;
    if (this.kind === CLIENT && !this.connectReceived && server.authRequired) {
      this.close(ClosedState.SlowConsumerWriteDeadline);
      return true;
    }
    server.stats.slowConsumers++;
    this.account.slowConsumers++;
    const attempted = this.out.batch;
    const chunks = Math.max(1, Math.ceil(attempted / CHUNK_SIZE));
    server.log.noticec(
      this,
      `Slow Consumer Detected: WriteDeadline of ${formatGoDuration(server.opts.writeDeadlineMs)} ` +
        `exceeded with ${chunks} chunks of ${attempted} total bytes.`,
    );
    if (this.kind === CLIENT || this.out.inFlight === attempted) {
      this.close(ClosedState.SlowConsumerWriteDeadline);
      return true;
    }
    this.out.writeStart = now;
    return false;
  }

  // ---- Lifecycle ----

  close(reason: ClosedReason): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.stop = Date.now();
    for (const sub of this.subs.values()) {
      sub.closed = true;
      this.server.removeSubscription(sub);
    }
    const slow = reason === ClosedState.SlowConsumerPendingBytes ||
      reason === ClosedState.SlowConsumerWriteDeadline || reason === ClosedState.WriteError;
    // What never went out stays on record for /connz, as nats-server keeps it.
    if (slow) this.pendingAtClose = this.out.pending;
    // The record /connz keeps of this connection is taken here, so all of it is final by now.
    this.server.removeClient(this);
    if (this.jwt !== null) releaseJwt(this.jwt);
    // Write what is queued (e.g. the -ERR that explains the close), then close the socket.
    const finish = (): void => {
      this.out.release();
      this.#rbuf = NO_BYTES;
      this.#cacheStr = this.#cacheRes = this.#cacheBytes = null;
      this.#cacheGen = null;
      try {
        this.conn.close();
      } catch {
        // already closed by the peer
      }
    };
    if (slow || (this.out.len === 0 && !this.out.writing)) {
      finish();
      return;
    }
    // The last bytes (often the -ERR that explains the close) go out first, but a peer that
    // stops reading gets at most the write deadline before the socket is closed anyway.
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      finish();
    };
    const timer = setTimeout(once, this.server.opts.writeDeadlineMs);
    if (this.out.writing) this.out.drained().then(once);
    else this.out.flush(this.conn, () => this.server.now, () => {}).finally(once);
  }

  // ---- Tracing ----

  traceIn(op: string, arg: string): void {
    this.server.log.tracec(this, `<<- [${op}${arg === "" ? "" : " " + arg}]`);
  }

  traceOut(op: string, arg: string): void {
    this.server.log.tracec(this, `->> [${op}${arg === "" ? "" : " " + arg}]`);
  }

  #traceMsg(buf: Uint8Array): void {
    const pa = this.pa;
    const max = this.server.opts.maxTracedMsgLen;
    const body = buf.subarray(pa.payloadStart, pa.payloadStart + pa.size);
    if (max > 0 && body.length > max) {
      const q = JSON.stringify(dec.decode(body.subarray(0, max)));
      this.server.log.tracec(this, `<<- MSG_PAYLOAD: ["${q.slice(1, -1)}..."]`);
    } else {
      this.server.log.tracec(this, `<<- MSG_PAYLOAD: [${JSON.stringify(dec.decode(body))}]`);
    }
  }
}

/** nats-server re-measures RTT at least this often, even on a busy connection. */
const RTT_MEASUREMENT_INTERVAL_MS = 60 * 60 * 1000;
/** The buffer size nats-server reports slow consumer chunks in (its maxBufSize). */
const CHUNK_SIZE = 64 * 1024;

/** Go's time.Duration.Round(time.Second).String() for a span in ms, e.g. "0s", "1m5s". */
function roundedSeconds(ms: number): string {
  return formatGoDuration(Math.round(ms / 1000) * 1000);
}

/**
 * The first PING comes early (2 s for clients, 1 s for routes, as nats-server) so RTT is known
 * soon, with up to 20% jitter so connections made together do not ping together.
 */
export function firstPingDelay(intervalMs: number, kind: number): number {
  const d = Math.min(intervalMs, kind === CLIENT ? 2000 : 1000);
  return d + Math.floor(Math.random() * d / 5);
}

/**
 * Reply subjects clients may not use: service-import replies (`_R_.`), JetStream acks and
 * gateway-routed replies are the server's own (nats-server's isReservedReply).
 */
function isReservedReply(b: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  if (
    n > 3 && b[start] === 95 && b[start + 1] === 82 && b[start + 2] === 95 && b[start + 3] === 46
  ) {
    return true; // _R_.
  }
  return isJsAck(b, start, end) || (n > 5 && startsWith(b, start, GW_REPLY));
}

const GW_REPLY = enc.encode("_GR_.");

function startsWith(b: Uint8Array, start: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (b[start + i] !== prefix[i]) return false;
  return true;
}

/** Go's %q of a byte slice, for log lines. */
export function quoteBytes(buf: Uint8Array, start: number, end: number): string {
  return goQuoteBytes(buf, start, end);
}

/** Hides the password in a traced CONNECT, as nats-server does. */
export function removePassFromTrace(text: string): string {
  return text.replace(/("pass"\s*:\s*")((?:[^"\\]|\\.)*)(")/, "$1[REDACTED]$3");
}
