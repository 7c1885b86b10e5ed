/**
 * The system account's events, as nats-server 2.9 publishes them (events.go):
 *
 * - `$SYS.ACCOUNT.<acc>.CONNECT` / `.DISCONNECT` when a client of an account other than `$G`
 *   authenticates or closes;
 * - `$SYS.ACCOUNT.<acc>.SERVER.CONNS` (and the older `$SYS.SERVER.ACCOUNT.<acc>.CONNS`) when an
 *   account's connection count changes, repeated every 30 s while it has connections;
 * - `$SYS.SERVER.<id>.STATSZ` 250 ms after start, then at doubling intervals up to every 30 s;
 * - `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` when a client fails authentication;
 * - `$SYS.SERVER.<id>.SHUTDOWN` when the server shuts down.
 *
 * It also tracks the other servers of the cluster from their STATSZ and SHUTDOWN events (the
 * `active_servers` count) and their accounts' connection counts.
 *
 * Events are built when they happen (so they carry the numbers of that moment) but published
 * from a queue drained in a microtask, like nats-server's send loop: a connection may close in
 * the middle of routing a message, and publishing must not start a routing pass inside another.
 * The server block (with its sequence number and time) is filled when the message goes out. An
 * event nobody listens to (no subscriber but our own tracking) is not built at all, so connects
 * and closes on a server nobody watches stay cheap.
 */

import type * as zlib from "node:zlib";
import { nodeBuiltin } from "../node_builtin.ts";
import type { Account } from "../accounts/account.ts";
import { GLOBAL_ACCOUNT } from "../accounts/account.ts";
import type { Client, ClientSub } from "../client.ts";
import { InternalClient, SYSTEM } from "../internal_client.ts";
import { buildMsg, payloadOf } from "../message.ts";
import { VERSION } from "../options.ts";
import type { PubArg } from "../parser.ts";
import type { Server } from "../server.ts";
import { accountStat } from "../monitor/accountz.ts";
import { issuerKey, rawAuthUser } from "../monitor/connz.ts";
import { nowMs } from "../monitor/format.ts";
import { goJson } from "../go_json.ts";
import { goTime } from "../go_time.ts";
import { Nuid } from "./nuid.ts";
import { snappyFrame } from "./snappy.ts";
import { statsz } from "./statsz.ts";

export const CONNECT_EVENT = "io.nats.server.advisory.v1.client_connect";
export const DISCONNECT_EVENT = "io.nats.server.advisory.v1.client_disconnect";
export const ACCOUNT_CONNS_EVENT = "io.nats.server.advisory.v1.account_connections";

/** nats-server's eventsHBInterval, and the orphan rules derived from it. */
const EVENTS_HB_MS = 30_000;
const ORPHAN_MAX_MS = 5 * EVENTS_HB_MS;
const CHECK_ORPHANS_MS = 3 * EVENTS_HB_MS;
const FIRST_STATSZ_MS = 250;

/** How a response body is encoded, as the request's Accept-Encoding asked. */
export type Compression = "" | "gzip" | "snappy" | "identity";

interface Outgoing {
  subject: string;
  reply: string;
  /**
   * A JSON value (objects get their `server` block filled when sent when `si` is set), or raw
   * bytes sent as they are.
   */
  msg: unknown;
  si: boolean;
  compress: Compression;
}

/** What we know of another server, from its events. */
interface RemoteServer {
  seq: number;
  ltime: number;
}

type Timer = ReturnType<typeof setTimeout>;

const enc = new TextEncoder();
const dec = new TextDecoder();

export class SystemEvents {
  readonly server: Server;
  readonly account: Account;
  /** The server's own system client: publishes events and answers requests, never hears itself. */
  readonly client: InternalClient;
  readonly ids = new Nuid();
  /** Other servers, by id, from their STATSZ events. */
  readonly remotes = new Map<string, RemoteServer>();
  /** Other servers' connection counts per account name, by server id. */
  readonly remoteConns = new Map<string, Map<string, number>>();
  #seq = 0;
  #out: Outgoing[] = [];
  #scheduled = false;
  #running = false;
  #statszMs = FIRST_STATSZ_MS;
  #statszTimer: Timer | undefined;
  #sweepTimer: Timer | undefined;
  /**
   * Per account, the heartbeat timer and when it is due: a change pushes the due time back
   * without re-arming the timer (re-arming costs ~2 µs in Deno, once per connection in a
   * reconnect storm); a timer that fires early re-arms for the rest.
   */
  #connsTimers = new Map<Account, { timer: Timer | undefined; due: number }>();

  constructor(server: Server, account: Account) {
    this.server = server;
    this.account = account;
    this.client = new InternalClient(server, account, SYSTEM);
    // nats-server's system client publishes without echo: it never receives its own events.
    this.client.opts.echo = false;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Subscribes the tracking and request handlers and starts the timers. */
  start(install: (ev: SystemEvents) => void): void {
    if (this.#running) return;
    this.#running = true;
    const id = this.server.id;
    this.subscribe("$SYS.SERVER.*.STATSZ", (_s, _f, src, pa) => this.#remoteStatsz(src, pa));
    this.subscribe("$SYS.SERVER.*.SHUTDOWN", (_s, _f, src, pa) => this.#remoteShutdown(src, pa));
    this.subscribe("$SYS.SERVER.ACCOUNT.*.CONNS", (_s, _f, src, pa) => this.#remoteConns(src, pa));
    this.subscribe(`$SYS._INBOX_.${id}`, (_s, _f, src, pa) => this.#remoteConns(src, pa));
    install(this);
    this.#statszTimer = this.#timer(() => this.#heartbeatStatsz(), this.#statszMs);
    this.#sweepTimer = this.#timer(() => this.#sweepRemotes(), CHECK_ORPHANS_MS);
    this.trackAccounts();
  }

  /** Announces SHUTDOWN (in place: the process may exit next) and stops everything. */
  stop(): void {
    if (!this.#running) return;
    this.#drain();
    const subject = `$SYS.SERVER.${this.server.id}.SHUTDOWN`;
    this.#publish({ subject, reply: "", msg: this.serverInfo(), si: false, compress: "" });
    this.#running = false;
    clearTimeout(this.#statszTimer);
    clearTimeout(this.#sweepTimer);
    for (const t of this.#connsTimers.values()) clearTimeout(t.timer);
    this.#connsTimers.clear();
    this.#out = [];
    this.client.unsubscribeAll();
  }

  subscribe(
    subject: string,
    handler: (sub: ClientSub, from: Client, src: Uint8Array, pa: PubArg) => void,
  ): ClientSub {
    return this.client.subscribe(subject, handler);
  }

  #timer(f: () => void, ms: number): Timer {
    const t = setTimeout(f, ms);
    Deno.unrefTimer(Number(t));
    return t;
  }

  // ---- Sending ----

  /** This server as events name it (nats-server's ServerInfo), with the next sequence number. */
  serverInfo(): Record<string, unknown> {
    const s = this.server;
    const si: Record<string, unknown> = { name: s.name, host: s.opts.host, id: s.id };
    if (s.cluster) si.cluster = s.cluster.name;
    si.ver = VERSION;
    if (s.opts.tags.length > 0) si.tags = s.opts.tags;
    si.seq = ++this.#seq;
    si.jetstream = false;
    si.time = goTime(nowMs());
    return si;
  }

  /**
   * Queues a message from the system client. With `si`, `msg.server` is (re)filled with this
   * server's block when it goes out; put a `server: null` where the field belongs in the order.
   */
  send(subject: string, reply: string, msg: unknown, si = true, compress: Compression = ""): void {
    if (!this.#running) return;
    this.#out.push({ subject, reply, msg, si, compress });
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#drain());
    }
  }

  #drain(): void {
    this.#scheduled = false;
    const list = this.#out;
    this.#out = [];
    for (const m of list) this.#publish(m);
  }

  #publish(m: Outgoing): void {
    if (m.si && m.msg !== null && typeof m.msg === "object") {
      (m.msg as Record<string, unknown>).server = this.serverInfo();
    }
    // Raw bytes go out as they are (JWTs, account packs); anything else as Go's JSON.
    let payload: Uint8Array = m.msg instanceof Uint8Array
      ? m.msg
      : enc.encode(goJson(m.msg, false));
    let hdr: Uint8Array | null = null;
    if (m.compress !== "" && payload.length > 0) {
      if (m.compress === "gzip") {
        payload = new Uint8Array(nodeBuiltin<typeof zlib>("node:zlib").gzipSync(payload));
      } else if (m.compress === "snappy") payload = snappyFrame(payload);
      hdr = enc.encode(`NATS/1.0\r\nContent-Encoding: ${m.compress}\r\n\r\n`);
    }
    const msg = buildMsg(m.subject, m.reply, hdr, payload);
    try {
      this.server.publishInternal(this.account, msg.buf, msg.pa, this.client);
    } catch (e) {
      this.server.log.error(`Error sending system message on "${m.subject}": ${e}`);
    }
  }

  /** Whether anyone but this server's own tracking would receive a message on `subject`. */
  hasInterest(subject: string): boolean {
    const r = this.account.sublist.match(subject);
    for (const s of r.psubs) if (!s.closed && s.client !== this.client) return true;
    for (const g of r.qsubs) {
      for (const s of g) if (!s.closed && s.client !== this.client) return true;
    }
    return false;
  }

  // ---- Connection events ----

  /** A client authenticated (nats-server's accountConnectEvent; `$G` clients are not reported). */
  clientConnected(c: Client): void {
    const acc = c.account;
    if (acc.name === GLOBAL_ACCOUNT || !this.#running) return;
    const subject = `$SYS.ACCOUNT.${acc.name}.CONNECT`;
    if (!this.hasInterest(subject)) return;
    this.send(subject, "", {
      type: CONNECT_EVENT,
      id: this.ids.next(),
      timestamp: goTime(nowMs()),
      server: null,
      client: clientInfo(c, false),
    });
  }

  /** A client closed (nats-server's accountDisconnectEvent). */
  clientDisconnected(c: Client): void {
    const acc = c.account;
    if (acc.name === GLOBAL_ACCOUNT || !this.#running) return;
    const subject = `$SYS.ACCOUNT.${acc.name}.DISCONNECT`;
    if (!this.hasInterest(subject)) return;
    this.send(subject, "", disconnectMsg(this.ids.next(), c, c.stop, c.closeReason));
  }

  /** A client failed authentication: `$SYS.SERVER.<id>.CLIENT.AUTH.ERR`. */
  authFailed(c: Client): void {
    if (!this.#running) return;
    const subject = `$SYS.SERVER.${this.server.id}.CLIENT.AUTH.ERR`;
    if (!this.hasInterest(subject)) return;
    this.send(subject, "", disconnectMsg(this.ids.next(), c, nowMs(), "Authentication Failure"));
  }

  /**
   * An account's connection count changed (nats-server's accConnsUpdate): the count goes out on
   * both CONNS subjects, and again every 30 s while the account has connections.
   */
  accountConnsChanged(acc: Account): void {
    if (!this.#running) return;
    this.sendAccountConns(acc, [
      `$SYS.SERVER.ACCOUNT.${acc.name}.CONNS`,
      `$SYS.ACCOUNT.${acc.name}.SERVER.CONNS`,
    ]);
  }

  #armConnsTimer(acc: Account, ms: number): void {
    const entry: { timer: Timer | undefined; due: number } = {
      timer: undefined,
      due: Date.now() + ms,
    };
    const fire = () => {
      const left = entry.due - Date.now();
      if (left > 0) {
        entry.timer = this.#timer(fire, left);
        return;
      }
      this.#connsTimers.delete(acc);
      this.accountConnsChanged(acc);
    };
    entry.timer = this.#timer(fire, ms);
    this.#connsTimers.set(acc, entry);
  }

  /** nats-server's sendAccConnsUpdate: the account's numbers to each subject, and the heartbeat. */
  sendAccountConns(acc: Account, subjects: string[]): void {
    const t = this.#connsTimers.get(acc);
    const leafnodes = this.server.leafnodes?.countFor(acc) ?? 0;
    if (acc.clients.size + leafnodes === 0) {
      if (t !== undefined) clearTimeout(t.timer);
      this.#connsTimers.delete(acc);
    } else if (t !== undefined) {
      t.due = Date.now() + EVENTS_HB_MS;
    } else {
      this.#armConnsTimer(acc, EVENTS_HB_MS);
    }
    const wanted = subjects.filter((s) => this.hasInterest(s));
    if (wanted.length === 0) return;
    const id = this.ids.next();
    const timestamp = goTime(nowMs());
    const stat = accountStat(acc, leafnodes);
    for (const subject of wanted) {
      this.send(subject, "", {
        type: ACCOUNT_CONNS_EVENT,
        id,
        timestamp,
        server: null,
        ...stat,
      });
    }
  }

  /**
   * Asks the other servers for their connection counts of every account (nats-server's
   * enableAccountTracking), answered to `$SYS._INBOX_.<our id>`.
   */
  trackAccounts(): void {
    if (!this.#running) return;
    for (const acc of this.server.accounts.values()) {
      const subject = `$SYS.REQ.ACCOUNT.${acc.name}.CONNS`;
      if (!this.hasInterest(subject)) continue;
      this.send(subject, `$SYS._INBOX_.${this.server.id}`, { server: null, acc: acc.name });
    }
  }

  // ---- Server stats ----

  /** Sends this server's STATSZ to `subject` (the broadcast subject, or a request's reply). */
  sendStatsz(subject: string): void {
    if (!this.hasInterest(subject)) return;
    this.send(subject, "", statsz(this.server, this));
  }

  /** The number of servers known through events: this one and the remote ones. */
  get activeServers(): number {
    return 1 + this.remotes.size;
  }

  #heartbeatStatsz(): void {
    if (!this.#running) return;
    // Quick at first, then backing off to the heartbeat interval.
    this.#statszMs = Math.min(this.#statszMs * 2, EVENTS_HB_MS);
    this.#statszTimer = this.#timer(() => this.#heartbeatStatsz(), this.#statszMs);
    this.sendStatsz(`$SYS.SERVER.${this.server.id}.STATSZ`);
  }

  // ---- Other servers ----

  #remoteStatsz(src: Uint8Array, pa: PubArg): void {
    const m = parseJson(payloadOf(src, pa));
    const si = m?.server as Record<string, unknown> | undefined;
    if (!si || typeof si.id !== "string" || si.id === this.server.id) return;
    this.#updateRemote(si);
  }

  #updateRemote(si: Record<string, unknown>): void {
    const id = si.id as string;
    const seq = typeof si.seq === "number" ? si.seq : 0;
    const known = this.remotes.get(id);
    if (!known) {
      this.remotes.set(id, { seq, ltime: Date.now() });
      // A new server: announce ourselves to it.
      this.sendStatsz(`$SYS.SERVER.${this.server.id}.STATSZ`);
      return;
    }
    if (seq <= known.seq) {
      this.server.log.error(`Received out of order remote server update from: "${id}"`);
      return;
    }
    known.seq = seq;
    known.ltime = Date.now();
  }

  #remoteShutdown(src: Uint8Array, pa: PubArg): void {
    const id = pa.subject.split(".")[2];
    if (payloadOf(src, pa).length === 0) {
      this.server.log.error(
        `Remote server sent invalid (empty) shutdown message to "${pa.subject}"`,
      );
      return;
    }
    this.#forgetRemote(id);
  }

  #forgetRemote(id: string): void {
    this.remotes.delete(id);
    for (const m of this.remoteConns.values()) m.delete(id);
  }

  #sweepRemotes(): void {
    if (!this.#running) return;
    const now = Date.now();
    for (const [id, r] of this.remotes) {
      if (now - r.ltime > ORPHAN_MAX_MS) {
        this.server.log.debug(`Detected orphan remote server: "${id}"`);
        this.#forgetRemote(id);
      }
    }
    this.#sweepTimer = this.#timer(() => this.#sweepRemotes(), CHECK_ORPHANS_MS);
  }

  #remoteConns(src: Uint8Array, pa: PubArg): void {
    const m = parseJson(payloadOf(src, pa));
    const si = m?.server as Record<string, unknown> | undefined;
    if (!m || !si || typeof m.acc !== "string" || typeof si.id !== "string") return;
    if (!this.server.accounts.has(m.acc) || si.id === this.server.id) return;
    let byServer = this.remoteConns.get(m.acc);
    if (!byServer) this.remoteConns.set(m.acc, byServer = new Map());
    const conns = typeof m.total_conns === "number" ? m.total_conns : 0;
    if (conns > 0) byServer.set(si.id, conns);
    else byServer.delete(si.id);
    this.#updateRemote(si);
  }
}

function parseJson(b: Uint8Array): Record<string, unknown> | null {
  try {
    const v = JSON.parse(dec.decode(b));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** A duration in ms as Go's time.Duration JSON (integer ns), trimmed as nats-server's getRTT. */
function rttNanos(ms: number): number {
  if (!(ms > 0)) return 0;
  let ns = Math.round(ms * 1e6);
  if (ns > 1e3 && ns < 1e6) ns = Math.floor(ns / 1e3) * 1e3;
  return ns;
}

/** nats-server's ClientInfo for connect and disconnect events. */
export function clientInfo(c: Client, closed: boolean, stop = 0): Record<string, unknown> {
  const o = c.opts;
  const ci: Record<string, unknown> = {
    start: goTime(c.start),
    host: c.peer.host,
    id: c.cid,
    acc: c.account.name,
  };
  const user = rawAuthUser(c);
  if (user) ci.user = user;
  if (o.name) ci.name = o.name;
  if (o.lang) ci.lang = o.lang;
  if (o.version) ci.ver = o.version;
  if (closed) {
    const rtt = rttNanos(c.rtt);
    if (rtt > 0) ci.rtt = rtt;
    ci.stop = goTime(stop);
  }
  const issuer = issuerKey(c);
  if (issuer) ci.issuer_key = issuer;
  ci.kind = "Client";
  ci.client_type = "nats";
  return ci;
}

/** nats-server's DisconnectEventMsg (also the body of an AUTH.ERR event). */
function disconnectMsg(
  id: string,
  c: Client,
  stop: number,
  reason: string,
): Record<string, unknown> {
  const t = goTime(stop);
  return {
    type: DISCONNECT_EVENT,
    id,
    timestamp: t,
    server: null,
    client: clientInfo(c, true, stop),
    sent: { msgs: c.inMsgs, bytes: c.inBytes },
    received: { msgs: c.outMsgs, bytes: c.outBytes },
    reason,
  };
}
