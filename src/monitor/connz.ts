/**
 * /connz and `$SYS.REQ.SERVER.<id>.CONNZ` / `$SYS.REQ.ACCOUNT.<acc>.CONNZ`: client connections,
 * open and recently closed, built as nats-server's Connz() builds them (its filters, its sort
 * orders, its paging, and its quirks: a cid lookup with state=all searches closed connections
 * only, and an unknown account answers an empty server_id with null connections).
 */

import type { Server } from "../server.ts";
import type { ConnView } from "./closed.ts";
import { GLOBAL_ACCOUNT } from "../accounts/account.ts";
import { myUptime, nowMs, QueryError, rttString } from "./format.ts";
import { goTime } from "../go_time.ts";
import { DEFAULT_LIST_SIZE, MAX_LIST_SIZE, subDetails, subList } from "./subs.ts";

/** nats-server's ConnState: 0 open, 1 closed, 2 all (other values select nothing). */
export const CONN_OPEN = 0;
export const CONN_CLOSED = 1;
export const CONN_ALL = 2;

/** nats-server's ConnzOptions. */
export interface ConnzOptions {
  sort: string;
  auth: boolean;
  subscriptions: boolean;
  subscriptionsDetail: boolean;
  offset: number;
  limit: number;
  cid: number;
  mqttClient: string;
  state: number;
  user: string;
  account: string;
  filterSubject: string;
}

export function defaultConnzOptions(): ConnzOptions {
  return {
    sort: "",
    auth: false,
    subscriptions: false,
    subscriptionsDetail: false,
    offset: 0,
    limit: 0,
    cid: 0,
    mqttClient: "",
    state: CONN_OPEN,
    user: "",
    account: "",
    filterSubject: "",
  };
}

const SORT_OPTIONS = new Set([
  "",
  "cid",
  "start",
  "subs",
  "pending",
  "msgs_to",
  "msgs_from",
  "bytes_to",
  "bytes_from",
  "last",
  "idle",
  "uptime",
  "stop",
  "reason",
]);

/** One row of /connz before rendering: sorting and paging work on these. */
interface ConnRow {
  c: ConnView;
  closed: boolean;
}

export function connz(server: Server, o: ConnzOptions): Record<string, unknown> {
  const sort = o.sort === "" ? "cid" : o.sort;
  if (!SORT_OPTIONS.has(o.sort)) throw new QueryError(`invalid sorting option: ${o.sort}`);
  const offset = Math.max(0, o.offset);
  let limit = o.limit <= 0 ? DEFAULT_LIST_SIZE : o.limit;
  const state = o.state;
  if (sort === "stop" && state !== CONN_CLOSED) {
    throw new QueryError("sort by stop only valid on closed connections");
  }
  if (sort === "reason" && state !== CONN_CLOSED) {
    throw new QueryError("sort by reason only valid on closed connections");
  }
  const cid = o.cid > 0 ? o.cid : 0;
  if (cid > 0) limit = 1;
  limit = Math.min(limit, MAX_LIST_SIZE);
  let filter = "";
  if (o.filterSubject !== "" && o.filterSubject !== ">") {
    if (o.account === "") {
      throw new QueryError("filter by subject only valid with account filtering");
    }
    filter = o.filterSubject;
  }
  const now = nowMs();
  const out: Record<string, unknown> = {
    server_id: "",
    now: goTime(now),
    num_connections: 0,
    total: 0,
    offset,
    limit,
    connections: null,
  };
  let open: Iterable<ConnView> = server.clients.values();
  let openCount = server.clients.size;
  if (o.account !== "") {
    const acc = server.accounts.get(o.account);
    if (!acc) return out;
    open = acc.clients;
    openCount = acc.clients.size;
  }
  out.server_id = server.id;

  let closed: ConnView[] = [];
  let total = 0;
  if (state === CONN_OPEN || state === CONN_ALL) total += openCount;
  if (state === CONN_CLOSED || state === CONN_ALL) {
    closed = server.closedClients;
    if (o.account !== "") closed = closed.filter((c) => closedAccount(c) === o.account);
    total += closed.length;
  }
  out.total = total;

  const rows: ConnRow[] = [];
  if (cid > 0) {
    if (state === CONN_CLOSED || state === CONN_ALL) {
      const c = closed.find((c) => c.cid === cid);
      if (c) rows.push({ c, closed: true });
    } else if (state === CONN_OPEN) {
      const c = server.clients.get(cid);
      if (c) rows.push({ c, closed: false });
    }
  } else {
    if (state === CONN_OPEN || state === CONN_ALL) {
      for (const c of open) {
        if (o.user !== "" && connectUser(c) !== o.user) continue;
        // No MQTT clients here: a filter on an MQTT client id matches nothing.
        if (o.mqttClient !== "") continue;
        if (
          filter !== "" && ![...c.subs.values()].some((s) => subjectsCollide(filter, s.subject))
        ) {
          continue;
        }
        rows.push({ c, closed: false });
      }
    }
    for (const c of closed) {
      if (o.user !== "" && connectUser(c) !== o.user) continue;
      if (o.mqttClient !== "") continue;
      rows.push({ c, closed: true });
    }
  }
  if (rows.length === 0) {
    out.connections = [];
    return out;
  }
  sortConns(rows, sort, now);
  const minoff = Math.min(offset, rows.length);
  const maxoff = Math.min(offset + limit, rows.length);
  const page = rows.slice(minoff, maxoff).map((r) => connInfo(r, now, o));
  out.num_connections = page.length;
  out.connections = page;
  return out;
}

/**
 * The user a connection presented, as nats-server's getRawAuthUser: its nkey, its user name (or
 * the no_auth_user it was given), else its token.
 */
export function rawAuthUser(c: ConnView): string {
  const o = c.opts;
  return o.nkey || o.user || c.user || o.auth_token || "";
}

/** The CONNECT user name (or the no_auth_user given), nats-server's opts.Username. */
function connectUser(c: ConnView): string {
  if (c.opts.user) return c.opts.user;
  return c.user !== "" && c.user === c.opts.nkey ? "" : c.user;
}

/** A closed connection's account as nats-server keeps it: "" for the global account. */
function closedAccount(c: ConnView): string {
  return c.account.name === GLOBAL_ACCOUNT ? "" : c.account.name;
}

/** nats-server's issuerForClient: an nkey user's account (config users have no issuer). */
export function issuerKey(c: ConnView): string {
  if (c.jwt !== null) return c.jwt.signingKey || c.account.name;
  return c.user !== "" && c.user === c.opts.nkey ? c.account.name : "";
}

/** Whether two subjects (wildcards allowed) can match a common subject (SubjectsCollide). */
export function subjectsCollide(a: string, b: string): boolean {
  if (a === b) return true;
  const ta = a.split(".");
  const tb = b.split(".");
  if (
    (ta.length < tb.length && !ta.includes(">")) || (tb.length < ta.length && !tb.includes(">"))
  ) {
    return false;
  }
  const stop = Math.min(ta.length, tb.length);
  for (let i = 0; i < stop; i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === "*" || x === ">" || y === "*" || y === ">") continue;
    if (x !== y) return false;
  }
  return true;
}

function stopOf(r: ConnRow, now: number): number {
  return r.closed && r.c.stop > 0 ? r.c.stop : now;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts as nats-server: by cid (and start) ascending, uptime and reason ascending, others descending. */
function sortConns(rows: ConnRow[], sort: string, now: number): void {
  const by = (key: (r: ConnRow) => number, desc = true) =>
    rows.sort((a, b) => (desc ? key(b) - key(a) : key(a) - key(b)) || a.c.cid - b.c.cid);
  switch (sort) {
    case "cid":
    case "start":
      return void by((r) => r.c.cid, false);
    case "subs":
      return void by((r) => r.c.subs.size);
    case "pending":
      return void by((r) => r.c.out.pending);
    case "msgs_to":
      return void by((r) => r.c.outMsgs);
    case "msgs_from":
      return void by((r) => r.c.inMsgs);
    case "bytes_to":
      return void by((r) => r.c.outBytes);
    case "bytes_from":
      return void by((r) => r.c.inBytes);
    case "last":
      return void by((r) => r.c.last);
    case "idle":
      return void by((r) => stopOf(r, now) - r.c.last);
    case "uptime":
      return void by((r) => stopOf(r, now) - r.c.start, false);
    case "stop":
      return void by((r) => r.c.stop);
    case "reason":
      rows.sort((a, b) => cmp(a.c.closeReason, b.c.closeReason) || a.c.cid - b.c.cid);
      return;
  }
}

function connInfo(r: ConnRow, now: number, o: ConnzOptions): Record<string, unknown> {
  const c = r.c;
  const end = stopOf(r, now);
  const ci: Record<string, unknown> = {
    cid: c.cid,
    kind: "Client",
    type: c.clientType ?? "nats",
    ip: c.peer.port !== 0 ? c.peer.host : "",
    port: c.peer.port,
    start: goTime(c.start),
    last_activity: goTime(c.last),
  };
  if (r.closed) {
    ci.stop = goTime(c.stop);
    ci.reason = c.closeReason;
  }
  ci.rtt = rttString(c.rtt);
  ci.uptime = myUptime(end - c.start);
  ci.idle = myUptime(end - c.last);
  ci.pending_bytes = r.closed ? c.pendingAtClose : c.out.pending;
  ci.in_msgs = c.inMsgs;
  ci.out_msgs = c.outMsgs;
  ci.in_bytes = c.inBytes;
  ci.out_bytes = c.outBytes;
  ci.subscriptions = c.subs.size;
  const co = c.opts;
  if (co.name) ci.name = co.name;
  if (co.lang) ci.lang = co.lang;
  if (co.version) ci.version = co.version;
  if (c.tlsInfo) {
    ci.tls_version = c.tlsInfo.version;
    ci.tls_cipher_suite = c.tlsInfo.cipher;
  }
  if (o.auth) {
    // Closed connections keep only the CONNECT user; the account is named unless global.
    const user = r.closed ? connectUser(c) : rawAuthUser(c);
    if (user !== "") ci.authorized_user = user;
    if (c.account.name !== GLOBAL_ACCOUNT) ci.account = c.account.name;
  }
  if (c.subs.size > 0) {
    // nats-server keeps a closed connection's subscriptions with their account.
    if (o.subscriptionsDetail) ci.subscriptions_list_detail = subDetails(c.subs.values(), r.closed);
    else if (o.subscriptions) ci.subscriptions_list = subList(c.subs.values());
  }
  if (o.auth && c.jwt !== null) ci.jwt = c.jwt.jwt;
  // A closed connection keeps its issuer whether or not auth was asked (nats-server's quirk).
  if (o.auth || r.closed) {
    const issuer = issuerKey(c);
    if (issuer !== "") ci.issuer_key = issuer;
  }
  // A JWT user's name and tags (nats-server's nameTag and tags).
  if ((o.auth || r.closed) && c.jwt !== null) {
    if (c.jwt.claims.name) ci.name_tag = c.jwt.claims.name;
    if ((c.jwt.claims.nats.tags?.length ?? 0) > 0) ci.tags = c.jwt.claims.nats.tags;
  }
  return ci;
}
