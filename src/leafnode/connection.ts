/**
 * One leafnode connection, either side of it: accepted on the leafnode port (we are the hub for
 * it) or made for a `remotes` entry (we are the spoke, unless the remote says `hub: true`). It
 * speaks nats-server 2.9's leafnode protocol: INFO/CONNECT, LS+/LS- for interest (queue groups
 * with their weight), LMSG (HMSG with headers) for messages, PING/PONG. Like a route it reuses
 * the client machinery (read loop, parser, coalesced outbound) and replaces the op handlers.
 *
 * A leaf connection is bound to one account: its interest lives in that account's sublist, its
 * messages are routed there, and what it learns is that account's interest (interest.ts).
 */

import {
  Client,
  type ClientSub,
  ClosedState,
  firstPingDelay,
  LEAF,
  removePassFromTrace,
} from "../client.ts";
import {
  LEAF_OP_INDEX,
  OP_CONNECT,
  OP_ERR,
  OP_HMSG,
  OP_INFO,
  OP_LSUB,
  OP_LUNSUB,
  OP_OK,
  OP_PING,
  OP_PONG,
  parseSize,
  type PubArg,
} from "../parser.ts";
import type { Server } from "../server.ts";
import type { Account } from "../accounts/account.ts";
import type { PeerAddress, Transport } from "../transport.ts";
import { formatGoDuration, VERSION } from "../options.ts";
import type { Permissions } from "../options.ts";
import { rewriteMsg } from "../message.ts";
import { RemoteSubs } from "../remote_interest.ts";
import { goJson } from "../go_json.ts";
import { protoSnippet } from "../goquote.ts";
import { LeafPermissions } from "./perms.ts";
import type { RemoteLeaf } from "./solicit.ts";
import type { LeafNodes } from "./leafnodes.ts";
import { authenticateLeaf } from "./auth.ts";
import { versionAtLeast, versionComponents } from "./options.ts";
import { leafClientHandshake } from "./tls.ts";
import { decodeDelivery } from "../delivery.ts";
import { HMSG_, LMSG_, sendRoutedMsg } from "../routed_msg.ts";
import { leafTakes } from "./takes.ts";
import { solicitWebsocket } from "./websocket.ts";
import { WsTransport } from "../websocket/transport.ts";
import { parseCreds } from "../jwt/creds.ts";
import { readCredsFile } from "./solicit.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** nats-server's delays before a spoke tries again after a loop, a refusal or a name clash. */
export const LOOP_DELAY_MS = 30_000;
const INFO_WAIT_MS = 1000;
const CONNECT_PROCESS_MS = 2000;
const MIN_VERSION_WAIT_MS = 5000;

/** nats-server's loop detection subjects: `$LDS.` and a unique token per account and server. */
export const LDS_PREFIX = "$LDS.";

/** The fields of a leafnode CONNECT (nats-server's leafConnectInfo) this side reads. */
export interface LeafConnect {
  version?: string;
  jwt?: string;
  sig?: string;
  user?: string;
  pass?: string;
  nkey?: string;
  auth_token?: string;
  tls_required?: boolean;
  server_id?: string;
  domain?: string;
  name?: string;
  is_hub?: boolean;
  cluster?: string;
  headers?: boolean;
  jetstream?: boolean;
  deny_pub?: string[];
  gateway?: string;
  lang?: string;
}

/** The hub's INFO fields the spoke reads. */
interface LeafInfo {
  server_id: string;
  server_name?: string;
  client_id?: number;
  nonce?: string;
  headers?: boolean;
  tls_required?: boolean;
  cluster?: string;
  domain?: string;
  leafnode_urls?: string[];
  ws_connect_urls?: string[];
  import?: Permissions["publish"];
  export?: Permissions["publish"];
  info_on_connect?: boolean;
  connect_info?: boolean;
  remote_account?: string;
}

function isLiteral(subject: string): boolean {
  for (const t of subject.split(".")) if (t === "*" || t === ">") return false;
  return true;
}

/** Subjects whose interest is never checked against permissions (loop detection, gateways). */
export function isProtocolSubject(subject: string): boolean {
  return subject.startsWith(LDS_PREFIX) || subject.startsWith("$GR.") ||
    subject.startsWith("_GR_.");
}

/** Go's `%s` of a list of byte slices: `[a b c]`. */
function goList(args: string[]): string {
  return `[${args.join(" ")}]`;
}

export class Leaf extends Client {
  override readonly kind: number = LEAF;
  override readonly opIndex = LEAF_OP_INDEX;
  readonly leafnodes: LeafNodes;
  /** The remote this connection was made for; null when accepted. */
  readonly remote: RemoteLeaf | null;
  /** We are the spoke: we solicited it (without `hub: true`), or the other side said is_hub. */
  isSpoke: boolean;
  remoteId = "";
  remoteServer = "";
  remoteCluster = "";
  remoteDomain = "";
  /** The account the other side bound this connection to (from its INFO). */
  remoteAccount = "";
  /**
   * Interest the other side registered (LS+), by "subject" or "subject queue"; routes and the
   * other leafs hear of its changes (LeafNodes.leafInterest).
   */
  readonly leafSubs = new RemoteSubs(
    this,
    (rs, delta) => this.leafnodes.leafInterest(this, rs.sub, delta),
  );
  /** Interest we told the other side about, with its count (nats-server's smap). */
  smap: Map<string, number> | null = null;
  leafPerms: LeafPermissions | null = null;
  /** In the registry (after CONNECT on the hub side, after the hub's answer on the spoke). */
  registered = false;
  /** Bound to its account (from the start when we made it; by authentication on the hub). */
  bound: boolean;
  infoReceived = false;
  /** Stamp of the last message forwarded, so a message crosses this connection once. */
  sentStamp = 0;
  /** Queue groups chosen for this connection for the message being routed. */
  pendingQueues: string[] = [];
  #queueArgs: string[] = [];
  #finished = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    server: Server,
    leafnodes: LeafNodes,
    conn: Transport,
    peer: PeerAddress,
    cid: number,
    remote: RemoteLeaf | null,
  ) {
    super(server, conn, peer, cid);
    this.leafnodes = leafnodes;
    this.remote = remote;
    this.isSpoke = remote !== null && !remote.opts.hub;
    this.bound = remote !== null;
    this.opts.verbose = false;
    this.opts.pedantic = false;
    this.opts.headers = false;
    // No pings until the connection is set up (nats-server starts the timer then).
    this.nextPing = Number.POSITIVE_INFINITY;
    if (remote !== null) {
      this.account = remote.account;
      this.leafPerms = remote.localPermissions();
      // Over websocket the wait starts once the upgrade is done.
      if (!remote.isWebsocket) this.#waitForInfo();
    } else {
      // Leafnodes do not echo: their interest never sees their own messages.
      this.opts.echo = false;
      this.#timer = setTimeout(() => this.#authTimeout(), leafnodes.authTimeoutMs);
    }
  }

  override get logPrefix(): string {
    return `${this.peer.host}:${this.peer.port} - lid${
      this.isWebsocket ? "_ws" : ""
    }:${this.cid} - `;
  }

  /** Whether the connection runs over websocket (accepted on the websocket port, or a ws remote). */
  get isWebsocket(): boolean {
    return this.conn instanceof WsTransport || (this.remote?.isWebsocket ?? false);
  }

  /**
   * A ws:// or wss:// remote: TLS first for wss, then the upgrade on /leafnode; the leafnode
   * protocol then runs in websocket frames. A refusal closes the connection (and the remote dials
   * again), as in nats-server.
   */
  async solicitWebsocket(): Promise<void> {
    const remote = this.remote!;
    const s = this.server;
    if (remote.tlsRequired && !await this.startClientTls()) return;
    try {
      const { ws, negotiated } = await solicitWebsocket(
        this.conn,
        remote.curUrl!,
        {
          compress: remote.opts.wsCompression ?? false,
          noMasking: remote.opts.wsNoMasking ?? false,
        },
        {
          maxInflated: s.opts.maxPending,
          closeTimeoutMs: s.opts.writeDeadlineMs,
          onError: (m) => s.log.errorc(this, m),
        },
        INFO_WAIT_MS,
      );
      if (this.closed) {
        ws.close();
        return;
      }
      ws.reasonOf = () => this.closeReason;
      this.conn = ws;
      this.#waitForInfo();
      s.log.debugc(
        this,
        `Leafnode compression=${negotiated.compress} masking=${negotiated.maskWrites}`,
      );
    } catch (e) {
      if (this.closed) return;
      s.log.errorc(this, `Error soliciting websocket connection: ${(e as Error).message}`);
      this.close(ClosedState.ReadError);
      return;
    }
    this.run();
  }

  /** Leafnodes keep their own CONNECT deadline (the leafnode authorization timeout). */
  override authRequired(): boolean {
    return false;
  }

  canSubscribe(subject: string): boolean {
    return this.leafPerms === null || this.leafPerms.canSubscribe(subject);
  }

  canPublish(subject: string): boolean {
    return this.leafPerms === null || this.leafPerms.canPublish(subject);
  }

  /** The hub's INFO must come soon, or this is not a leafnode port. */
  #waitForInfo(): void {
    this.#timer = setTimeout(() => {
      if (!this.infoReceived && !this.closed) this.close(ClosedState.ReadError);
    }, INFO_WAIT_MS);
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #authTimeout(): void {
    if (this.closed || this.connectReceived) return;
    this.sendErr("Authentication Timeout");
    this.server.log.debugc(this, "Authentication Timeout");
    this.close(ClosedState.AuthenticationTimeout);
  }

  override close(reason: Parameters<Client["close"]>[0]): void {
    this.#clearTimer();
    super.close(reason);
  }

  // ---- Ops ----

  override processOp(op: number, buf: Uint8Array, start: number, end: number): boolean {
    if (this.remote === null && !this.connectReceived && op !== OP_CONNECT) {
      this.leafnodes.authViolation(this);
      return false;
    }
    switch (op) {
      case OP_PING:
      case OP_PONG:
      case OP_OK:
        return super.processOp(op, buf, start, end);
      case OP_CONNECT:
        return this.#processConnect(dec.decode(buf.subarray(start, end)));
      case OP_INFO:
        return this.#processInfo(dec.decode(buf.subarray(start, end)));
      case OP_LSUB:
        return this.#processLeafSub(dec.decode(buf.subarray(start, end)));
      case OP_LUNSUB:
        return this.#processLeafUnsub(dec.decode(buf.subarray(start, end)));
      case OP_ERR: {
        const text = dec.decode(buf.subarray(start, end));
        this.server.log.errorc(this, `Leafnode Error ${text}`);
        this.#processErr(text);
        return !this.closed;
      }
    }
    return true;
  }

  override parseError(buf: Uint8Array, i: number, end: number, state: number): void {
    this.sendErr("Unknown Protocol Operation");
    const snip = protoSnippet(buf, i, end);
    this.server.log.errorc(
      this,
      `Leafnode parser ERROR, state=${state}, i=${i}: proto='${snip}...'`,
    );
    this.close(ClosedState.ProtocolViolation);
  }

  #fail(text: string): false {
    this.server.log.errorc(this, text);
    this.close(ClosedState.ProtocolViolation);
    return false;
  }

  /**
   * LMSG <subject> [reply] <size>, LMSG <subject> (+ <reply> | |) <queue>... <size>, and the same
   * as HMSG with a header size before the size.
   */
  override processMsgArgs(op: number, buf: Uint8Array, start: number, end: number): boolean {
    if (this.remote === null && !this.connectReceived) {
      this.leafnodes.authViolation(this);
      return false;
    }
    const pa = this.pa;
    const hdr = op === OP_HMSG;
    const line = dec.decode(buf.subarray(start, end));
    if (this.server.log.traceEnabled) this.traceIn(hdr ? "HMSG" : "LMSG", line);
    const t = this.parser.tokens;
    const n = this.parser.ntokens;
    const name = hdr ? "processLeafHeaderMsgArgs" : "processLeafMsgArgs";
    const tok = (k: number) => dec.decode(buf.subarray(t[2 * k], t[2 * k + 1]));
    const all = () => Array.from({ length: Math.min(n, t.length / 2) }, (_, k) => tok(k));
    const fixed = hdr ? 3 : 2;
    if (n < fixed || 2 * n > t.length) return this.#fail(`${name} Parse Error: '${goList(all())}'`);
    pa.subjectStart = t[0];
    pa.subjectEnd = t[1];
    pa.replyStart = pa.replyEnd = 0;
    this.#queueArgs = [];
    const last = n - 1;
    pa.sizeStart = t[2 * last];
    pa.sizeEnd = t[2 * last + 1];
    pa.size = parseSize(buf, pa.sizeStart, pa.sizeEnd);
    if (hdr) {
      pa.hdrStart = t[2 * last - 2];
      pa.hdrEnd = t[2 * last - 1];
      pa.hdr = parseSize(buf, pa.hdrStart, pa.hdrEnd);
    } else {
      pa.hdr = -1;
    }
    const middle = n - fixed; // tokens between the subject and the size(s)
    if (middle === 1) {
      pa.replyStart = t[2];
      pa.replyEnd = t[3];
    } else if (middle > 1) {
      const ind = tok(1);
      if (ind !== "+" && ind !== "|") {
        return this.#fail(`${name} Bad or Missing Reply Indicator: '${ind}'`);
      }
      let k = 2;
      if (ind === "+") {
        pa.replyStart = t[4];
        pa.replyEnd = t[5];
        k = 3;
      }
      for (; k < n - (hdr ? 2 : 1); k++) this.#queueArgs.push(tok(k));
    }
    if (hdr && pa.hdr < 0) return this.#fail(`${name} Bad or Missing Header Size: '${line}'`);
    if (pa.size < 0) return this.#fail(`${name} Bad or Missing Size: '${goList(all())}'`);
    if (hdr && pa.hdr > pa.size) {
      return this.#fail(`${name} Header Size larger then TotalSize: '${line}'`);
    }
    pa.subject = tok(0);
    return true;
  }

  override processMsg(_op: number, buf: Uint8Array): void {
    const pa = this.pa;
    if (this.server.log.traceEnabled) {
      const body = dec.decode(buf.subarray(pa.payloadStart, pa.payloadStart + pa.size));
      this.server.log.tracec(this, `<<- MSG_PAYLOAD: [${JSON.stringify(body)}]`);
    }
    this.inMsgs++;
    this.inBytes += pa.size;
    this.last = this.server.now;
    const acc = this.account;
    let src = buf;
    let args: PubArg = pa;
    let queues: string[] | null = this.#queueArgs;
    if (acc.mappings !== null) {
      const mapped = acc.mappings.map(pa.subject, this.server.cluster?.name ?? "");
      if (mapped === "") return;
      if (mapped !== null && mapped !== pa.subject) {
        if (this.server.log.traceEnabled) {
          this.server.log.tracec(this, `<<- [MAPPING ${pa.subject} -> ${mapped}]`);
        }
        const m = rewriteMsg(buf, pa, mapped, null);
        src = m.buf;
        args = m.pa;
        // The mapped subject's interest brought it here: local queue groups may take it.
        if (queues.length === 0) queues = null;
      }
    }
    // A JetStream delivery from the other side: routed by its deliver subject, carrying the
    // stream's subject.
    const delivery = args.replyEnd > args.replyStart ? decodeDelivery(src, args) : null;
    if (delivery !== null) {
      src = delivery.buf;
      args = delivery.pa;
    }
    // Without queue names a leafnode message is for plain subscribers only.
    this.server.routeMessage(this, acc, acc.sublist.match(args.subject), src, args, queues);
  }

  // ---- CONNECT (the hub side) ----

  #processConnect(text: string): boolean {
    if (this.server.log.traceEnabled) this.traceIn("CONNECT", removePassFromTrace(text));
    if (this.remote !== null) return true;
    let proto: LeafConnect;
    try {
      proto = JSON.parse(text);
      if (proto === null || typeof proto !== "object" || Array.isArray(proto)) {
        throw new SyntaxError("json: cannot unmarshal into Go value of type server.ClientOpts");
      }
    } catch (e) {
      return this.#fail((e as Error).message);
    }
    if (this.connectReceived) return true;
    this.connectReceived = true;
    this.#clearTimer();
    const o = this.opts;
    const str = (v: unknown) => (typeof v === "string" ? v : "");
    o.user = str(proto.user);
    o.pass = str(proto.pass);
    o.auth_token = str(proto.auth_token);
    o.nkey = str(proto.nkey);
    o.sig = str(proto.sig);
    o.jwt = str(proto.jwt);
    o.lang = str(proto.lang);
    const auth = authenticateLeaf(this.server, this);
    if (auth === true) return this.#acceptConnect(proto);
    if (auth === false) {
      this.leafnodes.authViolation(this);
      return false;
    }
    this.paused = auth.then((ok) => {
      if (this.closed) return false;
      if (!ok) {
        this.leafnodes.authViolation(this);
        return false;
      }
      return this.#acceptConnect(proto);
    });
    return true;
  }

  /** nats-server's processLeafNodeConnect, once authentication bound the account. */
  #acceptConnect(proto: LeafConnect): boolean {
    const s = this.server;
    if (this.opts.lang !== "") {
      this.sendErr("attempted to connect to leaf node port");
      s.log.errorc(this, "attempted to connect to leaf node port");
      this.close(ClosedState.WrongPort);
      return false;
    }
    const cluster = typeof proto.cluster === "string" ? proto.cluster : "";
    const ours = this.leafnodes.clusterName();
    if (ours !== "" && cluster === ours) {
      this.sendErr("remote leafnode has same cluster name");
      s.log.errorc(this, "remote leafnode has same cluster name");
      this.close(ClosedState.ClusterNamesIdentical);
      return false;
    }
    if (typeof proto.gateway === "string" && proto.gateway !== "") {
      const text = `Rejecting connection from gateway ${
        JSON.stringify(proto.gateway)
      } on the leafnode port`;
      s.log.errorc(this, text);
      this.sendErr(text);
      this.close(ClosedState.ProtocolViolation);
      return false;
    }
    const mv = s.opts.leafnode.minVersion;
    if (mv !== "") {
      const [ma, mi, pa] = versionComponents(mv) ?? [0, 0, 0];
      if (!versionAtLeast(str(proto.version), ma, mi, pa)) {
        // The INFO first, so the other side waits instead of timing out, then the error.
        this.#sendPermsAndAccountInfo();
        const text = `connection rejected since minimum version required is ${JSON.stringify(mv)}`;
        this.sendErr(text);
        s.log.errorc(this, text);
        // Nothing more is read from it; it is closed after nats-server's wait.
        this.paused = this.leafnodes.sleep(MIN_VERSION_WAIT_MS).then(() => {
          this.close(ClosedState.MinimumVersionRequired);
          return false;
        });
        return true;
      }
    }
    this.opts.headers = !s.opts.noHeaderSupport && proto.headers === true;
    this.remoteServer = str(proto.name);
    this.remoteId = str(proto.server_id);
    if (proto.is_hub === true) this.isSpoke = true;
    this.remoteCluster = cluster;
    this.remoteDomain = str(proto.domain);
    if (Array.isArray(proto.deny_pub) && proto.deny_pub.length > 0) {
      this.leafPerms ??= new LeafPermissions({});
      this.leafPerms.mergeDeny("pub", proto.deny_pub.filter((x) => typeof x === "string"));
    }
    this.nextPing = s.now + firstPingDelay(s.opts.pingIntervalMs, LEAF);
    if (!this.leafnodes.register(this, true)) return false;
    this.#sendPermsAndAccountInfo();
    this.leafnodes.initInterest(this);
    return !this.closed;
  }

  /** The INFO answering a CONNECT: the permissions the spoke must apply, and its account. */
  #sendPermsAndAccountInfo(): void {
    const src = this.leafPerms?.source;
    const info = this.leafnodes.info({
      cid: this.cid,
      import: src?.subscribe,
      export: src?.publish,
      connectInfo: true,
      remoteAccount: this.account.name,
    });
    this.queue(enc.encode(info));
  }

  // ---- INFO (the spoke side) ----

  #processInfo(text: string): boolean {
    let info: LeafInfo;
    try {
      info = JSON.parse(text);
    } catch (e) {
      return this.#fail((e as Error).message);
    }
    if (this.server.log.traceEnabled) this.traceIn("INFO", text);
    const remote = this.remote;
    if (remote === null) return true;
    const first = !this.infoReceived;
    if (first) {
      this.infoReceived = true;
      this.#clearTimer();
      // The INFO of a leafnode port has a client id and leafnode URLs; any other port's lacks one.
      if (!info.client_id || info.leafnode_urls === undefined) {
        this.server.log.errorc(this, "attempted to connect to wrong port");
        this.close(ClosedState.WrongPort);
        return false;
      }
      this.nonce = typeof info.nonce === "string" ? info.nonce : "";
      if (info.tls_required === true) remote.tlsRequired = true;
      this.opts.headers = !this.server.opts.noHeaderSupport && info.headers === true;
      this.remoteId = info.server_id;
      this.remoteServer = info.server_name || info.server_id;
      this.remoteDomain = info.domain ?? "";
      this.remoteCluster = info.cluster ?? "";
    }
    const lnUrls = info.leafnode_urls ?? [];
    const wsUrls = info.ws_connect_urls ?? [];
    if (lnUrls.length > 0 || wsUrls.length > 0) {
      remote.updateUrls(remote.isWebsocket ? wsUrls : lnUrls);
    }
    if (info.import || info.export) {
      const perms = new LeafPermissions({ publish: info.export, subscribe: info.import });
      const local = remote.opts;
      if (local.denyExports.length > 0) perms.mergeDeny("pub", local.denyExports);
      if (local.denyImports.length > 0) perms.mergeDeny("sub", local.denyImports);
      this.leafPerms = perms;
    }
    if (info.remote_account) this.remoteAccount = info.remote_account;
    if (!first) {
      if (info.connect_info === true) this.#finishConnect();
      return !this.closed;
    }
    const finishNow = info.connect_info === true || info.info_on_connect !== true;
    const resume = (): boolean => {
      if (this.closed) return false;
      this.#sendConnect().then(
        () => {
          if (this.closed) return;
          this.server.log.debugc(this, "Remote leafnode connect msg sent");
          if (finishNow) {
            this.#finishConnect();
          } else {
            this.#timer = setTimeout(() => {
              if (this.#finished || this.closed) return;
              this.#finished = true;
              this.sendErr("Stale Leaf Node Connection - Closing");
              this.server.log.debugc(this, "Stale Leaf Node Connection - Closing");
              this.close(ClosedState.StaleConnection);
            }, CONNECT_PROCESS_MS);
          }
        },
        (e) => {
          this.server.log.errorc(this, (e as Error).message);
          this.close(ClosedState.WriteError);
        },
      );
      return true;
    };
    // Over websocket, TLS (wss) came before the upgrade.
    if (remote.tlsRequired && !this.isWebsocket) {
      this.paused = this.startClientTls().then((ok) => ok && resume());
      return true;
    }
    return resume();
  }

  /** The client side of TLS toward the remote (after its INFO, or before a wss upgrade). */
  async startClientTls(): Promise<boolean> {
    const remote = this.remote!;
    this.server.log.debugc(this, "Starting TLS leafnode client handshake");
    try {
      const t = await leafClientHandshake(this.conn, remote.clientTls(), remote.tlsHost());
      if (this.closed) {
        t.close();
        return false;
      }
      this.conn = t;
      this.tlsInfo = {
        version: t.protocol.replace(/^TLSv/, ""),
        cipher: t.cipher,
        peer: t.socket.getPeerX509Certificate() ?? null,
      };
      this.server.log.debugc(this, "TLS handshake complete");
      this.server.log.debugc(this, `TLS version ${this.tlsInfo.version}, cipher suite ${t.cipher}`);
      return true;
    } catch (e) {
      this.server.log.errorc(this, `TLS leafnode handshake error: ${(e as Error).message}`);
      this.close(ClosedState.TLSHandshakeError);
      return false;
    }
  }

  /** The CONNECT a spoke sends, with nats-server's fields and their order. */
  async #sendConnect(): Promise<void> {
    const s = this.server;
    const remote = this.remote!;
    const c: Record<string, unknown> = { version: VERSION };
    if (remote.opts.credentials !== "") {
      this.server.log.debugc(
        this,
        `Authenticating with credentials file ${JSON.stringify(remote.opts.credentials)}`,
      );
      const creds = await parseCreds(readCredsFile(remote.opts.credentials));
      c.jwt = creds.jwt;
      c.sig = await creds.key.signNonce(this.nonce);
    } else {
      const [user, pass] = remote.userPass();
      if (user !== "") c.user = user;
      if (pass !== "") c.pass = pass;
    }
    c.tls_required = remote.tlsRequired;
    c.server_id = s.id;
    if (s.opts.jetstreamDomain !== "") c.domain = s.opts.jetstreamDomain;
    c.name = s.name;
    if (remote.opts.hub) c.is_hub = true;
    const cluster = this.leafnodes.clusterName();
    if (cluster !== "") c.cluster = cluster;
    if (this.opts.headers) c.headers = true;
    if (s.jetstream?.lookup(this.account)) c.jetstream = true;
    if (remote.opts.denyImports.length > 0) c.deny_pub = remote.opts.denyImports;
    const text = goJson(c, false);
    if (s.log.traceEnabled) this.traceOut("CONNECT", removePassFromTrace(text));
    this.queue(enc.encode(`CONNECT ${text}\r\n`));
  }

  /** The hub answered our CONNECT: register, and tell it our interest. */
  #finishConnect(): void {
    if (this.#finished || this.closed) return;
    this.#finished = true;
    this.#clearTimer();
    const acc = this.account;
    const max = acc.limits.maxLeafnodes;
    if (max >= 0 && this.leafnodes.countFor(acc) >= max) {
      this.sendErr("maximum account active connections exceeded");
      this.server.log.errorc(this, "maximum account active connections exceeded");
      this.close(ClosedState.MaxAccountConnectionsExceeded);
      return;
    }
    if (!this.leafnodes.register(this, false)) return;
    this.leafnodes.initInterest(this);
    const s = this.server;
    this.nextPing = s.now + firstPingDelay(s.opts.pingIntervalMs, LEAF);
  }

  // ---- -ERR ----

  #processErr(text: string): void {
    if (text.includes("remote leafnode has same cluster name")) {
      this.remote?.setConnectDelay(LOOP_DELAY_MS);
      this.server.log.errorc(
        this,
        `Leafnode connection dropped with same cluster name error. Delaying attempt to reconnect for ${
          formatGoDuration(LOOP_DELAY_MS)
        }`,
      );
      return;
    }
    if (text.includes("Loop detected")) this.loopDetected(false);
  }

  /** nats-server's handleLeafNodeLoop: a spoke waits 30 s before it tries again. */
  loopDetected(sendErr: boolean): void {
    this.remote?.setConnectDelay(LOOP_DELAY_MS);
    const text = `Loop detected for leafnode account=${
      JSON.stringify(this.account.name)
    }. Delaying attempt to reconnect for ${formatGoDuration(LOOP_DELAY_MS)}`;
    if (sendErr) this.sendErr(text);
    this.server.log.errorc(this, text);
    this.close(ClosedState.ProtocolViolation);
  }

  /**
   * The other side wants what we may not send it. A spoke ignores it (the hub told it its
   * permissions, so it keeps quiet); the hub closes the connection and the spoke waits 30 s.
   */
  #permViolation(pub: boolean, subject: string): boolean {
    if (this.isSpoke) return true;
    this.remote?.setConnectDelay(LOOP_DELAY_MS);
    const action = pub ? "Publish" : "Subscription";
    this.sendErr(`Permissions Violation for ${action} to ${JSON.stringify(subject)}`);
    this.server.log.errorc(
      this,
      `${action} Violation on ${JSON.stringify(subject)} - Check other side configuration`,
    );
    this.close(ClosedState.ProtocolViolation);
    return false;
  }

  // ---- Interest ----

  /** LS+ <subject> [<queue> <weight>]. */
  #processLeafSub(text: string): boolean {
    if (this.server.log.traceEnabled) this.traceIn("LS+", text);
    const args = text.split(/[ \t]+/).filter((a) => a !== "");
    if (args.length !== 1 && args.length !== 3) {
      return this.#fail(`processLeafSub Parse Error: '${text}'`);
    }
    const [subject, queue = ""] = args;
    const weight = queue === ""
      ? 1
      : Math.max(1, parseSize(enc.encode(args[2]), 0, args[2].length));
    const acc = this.account;
    if (subject.startsWith(LDS_PREFIX) && subject === this.leafnodes.lds(acc)) {
      this.loopDetected(true);
      return false;
    }
    if (!isProtocolSubject(subject) && isLiteral(subject) && !this.canPublish(subject)) {
      const ok = this.#permViolation(false, subject);
      this.server.log.debugc(
        this,
        `Permissions Violation for Subscription to ${JSON.stringify(subject)}`,
      );
      return ok;
    }
    const key = queue === "" ? subject : `${subject} ${queue}`;
    // The server's, the account's and a JWT user's limit (Client.applyLimits; -1: none at all).
    const maxSubs = this.maxSubs;
    if (!this.leafSubs.has(key) && maxSubs !== 0 && this.leafSubs.size >= maxSubs) {
      this.server.log.errorc(this, "maximum subscriptions exceeded");
      this.sendErr("maximum subscriptions exceeded");
      return true;
    }
    this.leafSubs.add(acc, key, subject, queue, weight, this.remoteCluster);
    return true;
  }

  /** LS- <subject> [<queue>]. */
  #processLeafUnsub(text: string): boolean {
    if (this.server.log.traceEnabled) this.traceIn("LS-", text);
    this.leafSubs.remove(text.split(/[ \t]+/).filter((a) => a !== "").join(" "));
    return true;
  }

  /** Tells the other side an interest count changed: LS+ (with a queue's weight) or LS-. */
  sendLeafSub(key: string, n: number): void {
    if (this.isSpoke && !isProtocolSubject(key)) {
      const subject = key.split(" ")[0];
      if (!this.canSubscribe(subject)) return;
    }
    this.queue(enc.encode(this.leafSubLine(key, n) + "\r\n"));
  }

  /** The LS+/LS- line for a key, traced. */
  leafSubLine(key: string, n: number): string {
    let line: string;
    if (n > 0) line = key.includes(" ") ? `LS+ ${key} ${n}` : `LS+ ${key}`;
    else line = `LS- ${key}`;
    if (this.server.log.traceEnabled) this.traceOut(line.slice(0, 3), line.slice(4));
    return line;
  }

  // ---- Messages out ----

  /**
   * Appends an LMSG (HMSG with headers) for the message in `pa`, naming the queue groups this
   * connection serves. A side that does not read headers gets the payload alone.
   */
  sendRouted(_acc: Account, src: Uint8Array, pa: PubArg, queues: string[], _origin = ""): void {
    if (this.closed) return;
    const body = src.subarray(pa.payloadStart, pa.payloadStart + pa.size);
    const size = src.subarray(pa.sizeStart, pa.sizeEnd);
    if (pa.hdr <= 0) sendRoutedMsg(this, LMSG_, null, src, pa, queues, null, size, body);
    else if (this.opts.headers) {
      const hdr = src.subarray(pa.hdrStart, pa.hdrEnd);
      sendRoutedMsg(this, HMSG_, null, src, pa, queues, hdr, size, body);
    } else {
      const payload = body.subarray(pa.hdr);
      const n = enc.encode(String(payload.length));
      sendRoutedMsg(this, LMSG_, null, src, pa, queues, null, n, payload);
    }
  }

  /** A delivery outside the forwarding paths still goes out as a leafnode message. */
  override deliver(_sub: ClientSub, src: Uint8Array, pa: PubArg, from?: Client): boolean {
    if (this.closed || (from !== undefined && !leafTakes(from, this, pa.subject))) return false;
    this.sendRouted(this.account, src, pa, [], "");
    return true;
  }
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}
