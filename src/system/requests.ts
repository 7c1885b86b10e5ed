/**
 * The monitoring endpoints asked over NATS, as nats-server 2.9.10's initEventTracking installs
 * them in the system account:
 *
 * - `$SYS.REQ.SERVER.PING` (STATSZ from every server) and, for each of STATSZ VARZ SUBSZ CONNZ
 *   ROUTEZ GATEWAYZ LEAFZ ACCOUNTZ JSZ HEALTHZ, `$SYS.REQ.SERVER.PING.<NAME>` (every server) and
 *   `$SYS.REQ.SERVER.<id>.<NAME>` (this one);
 * - `$SYS.REQ.ACCOUNT.<acc>.{SUBSZ,CONNZ,LEAFZ,JSZ,INFO,STATZ,CONNS}` and
 *   `$SYS.REQ.ACCOUNT.PING.STATZ`.
 *
 * A request body carries the endpoint's options as nats-server's JSON names them plus the filter
 * options (server_name, cluster, host, tags, domain) that let a server stay silent; the answer is
 * nats-server's ServerAPIResponse `{server, data | error}` with the same data the HTTP endpoint
 * builds (one builder per endpoint, shared with monitor.ts).
 */

import type { Client, ClientSub } from "../client.ts";
import { headersOf, payloadOf, replyOf } from "../message.ts";
import type { PubArg } from "../parser.ts";
import type { Server } from "../server.ts";
import { accountInfo, accountStatz } from "../monitor/accountz.ts";
import { accountz } from "../monitor/accountz.ts";
import { connz, defaultConnzOptions } from "../monitor/connz.ts";
import { QueryError, SkipResponse } from "../monitor/format.ts";
import { gatewayz } from "../monitor/gatewayz.ts";
import { healthz } from "../monitor/healthz.ts";
import { defaultJszOptions, jsz, jszAccount } from "../monitor/jsz.ts";
import { leafz } from "../monitor/leafz.ts";
import { routez } from "../monitor/routez.ts";
import { defaultSubszOptions, subsz } from "../monitor/subsz.ts";
import { varz } from "../monitor/varz.ts";
import type { Compression, SystemEvents } from "./events.ts";
import {
  BOOL,
  GoJsonError,
  INT,
  int64,
  type Schema,
  str as goString,
  STRING,
  STRINGS,
  UINT64,
  unmarshalBody,
} from "../go_json.ts";
import { installDebug } from "./debug.ts";

/** nats-server's EventFilterOptions, part of every request's options. */
export const FILTER_FIELDS: Record<string, Schema> = {
  server_name: STRING,
  cluster: STRING,
  host: STRING,
  tags: STRINGS,
  domain: STRING,
};

interface Filter {
  server_name?: string;
  cluster?: string;
  host?: string;
  tags?: string[];
  domain?: string;
}

/** A request as a handler sees it: what was asked, where to answer, how to encode. */
interface Request {
  subject: string;
  reply: string;
  body: Uint8Array;
  compress: Compression;
}

/** Builds a response's data from the decoded options; throws to answer an error. */
type Respond = (o: Record<string, unknown>, req: Request) => unknown;

interface Endpoint {
  /** The Go options struct, as type errors name it. */
  struct: string;
  fields: Record<string, Schema>;
  respond: Respond;
}

const dec = new TextDecoder();

export function installRequests(ev: SystemEvents): void {
  const s = ev.server;
  const id = s.id;
  const on = (subject: string, h: (req: Request) => void) =>
    ev.subscribe(subject, (_sub: ClientSub, _from: Client, src: Uint8Array, pa: PubArg) => {
      const hdr = headersOf(src, pa);
      h({
        subject: pa.subject,
        reply: replyOf(src, pa),
        body: payloadOf(src, pa).slice(),
        compress: hdr === null ? "" : acceptEncoding(hdr),
      });
    });

  const statszReq = (req: Request) => statszRequest(ev, req);
  on("$SYS.REQ.SERVER.PING", statszReq);
  on(`$SYS.REQ.SERVER.PING.STATSZ`, statszReq);
  on(`$SYS.REQ.SERVER.${id}.STATSZ`, statszReq);
  for (const [name, ep] of Object.entries(serverEndpoints(s))) {
    const h = (req: Request) => zReq(ev, req, ep);
    on(`$SYS.REQ.SERVER.${id}.${name}`, h);
    on(`$SYS.REQ.SERVER.PING.${name}`, h);
  }
  for (const [name, ep] of Object.entries(accountEndpoints(s))) {
    on(`$SYS.REQ.ACCOUNT.*.${name}`, (req) => zReq(ev, req, ep));
  }
  on("$SYS.REQ.ACCOUNT.*.CONNS", (req) => connsRequest(ev, req));
  on("$SYS.REQ.ACCOUNT.PING.STATZ", (req) =>
    zReq(ev, req, {
      struct: "AccountStatzEventOptions",
      fields: ACCSTATZ_FIELDS,
      respond: (o) => {
        const stz = accountStatz(s, statzOptions(o));
        if ((stz.account_statz as unknown[]).length === 0 && o.include_unused !== true) {
          throw new SkipResponse("filtered response");
        }
        return stz;
      },
    }));
  installDebug(ev);
}

// ---- Options as nats-server's JSON names them ----

/** nats-server's ConnzEventOptions (without the filter). */
export const CONNZ_FIELDS: Record<string, Schema> = {
  sort: goString("server.SortOpt"),
  auth: BOOL,
  subscriptions: BOOL,
  subscriptions_detail: BOOL,
  offset: INT,
  limit: INT,
  cid: UINT64,
  mqtt_client: STRING,
  state: int64("server.ConnState"),
  user: STRING,
  acc: STRING,
  filter_subject: STRING,
};

const SUBSZ_FIELDS: Record<string, Schema> = {
  offset: INT,
  limit: INT,
  subscriptions: BOOL,
  account: STRING,
  test: STRING,
};

const ROUTEZ_FIELDS: Record<string, Schema> = {
  subscriptions: BOOL,
  subscriptions_detail: BOOL,
};

const GATEWAYZ_FIELDS: Record<string, Schema> = {
  name: STRING,
  accounts: BOOL,
  account_name: STRING,
};

const LEAFZ_FIELDS: Record<string, Schema> = {
  subscriptions: BOOL,
  account: STRING,
};

const ACCOUNTZ_FIELDS: Record<string, Schema> = { account: STRING };

const ACCSTATZ_FIELDS: Record<string, Schema> = {
  accounts: STRINGS,
  include_unused: BOOL,
};

const JSZ_FIELDS: Record<string, Schema> = {
  account: STRING,
  accounts: BOOL,
  streams: BOOL,
  consumer: BOOL,
  config: BOOL,
  leader_only: BOOL,
  offset: INT,
  limit: INT,
};

const HEALTHZ_FIELDS: Record<string, Schema> = {
  "js-enabled-only": BOOL,
  "js-server-only": BOOL,
};

const str = (v: unknown) => (typeof v === "string" ? v : "");
const bool = (v: unknown) => v === true;
const num = (v: unknown) => (typeof v === "number" ? v : 0);

function connzOptions(o: Record<string, unknown>) {
  const c = defaultConnzOptions();
  c.sort = str(o.sort);
  c.auth = bool(o.auth);
  c.subscriptions = bool(o.subscriptions);
  c.subscriptionsDetail = bool(o.subscriptions_detail);
  c.offset = num(o.offset);
  c.limit = num(o.limit);
  c.cid = num(o.cid);
  c.mqttClient = str(o.mqtt_client);
  c.state = num(o.state);
  c.user = str(o.user);
  c.account = str(o.acc);
  c.filterSubject = str(o.filter_subject);
  return c;
}

function subszOptions(o: Record<string, unknown>) {
  const so = defaultSubszOptions();
  so.offset = num(o.offset);
  so.limit = num(o.limit);
  so.subscriptions = bool(o.subscriptions);
  so.account = str(o.account);
  so.test = str(o.test);
  return so;
}

function jszOptions(o: Record<string, unknown>) {
  const j = defaultJszOptions();
  j.account = str(o.account);
  j.accounts = bool(o.accounts);
  j.streams = bool(o.streams);
  j.consumer = bool(o.consumer);
  j.config = bool(o.config);
  j.leaderOnly = bool(o.leader_only);
  j.offset = num(o.offset);
  j.limit = num(o.limit);
  return j;
}

function statzOptions(o: Record<string, unknown>) {
  return {
    accounts: Array.isArray(o.accounts) ? o.accounts as string[] : [],
    includeUnused: bool(o.include_unused),
  };
}

function serverEndpoints(s: Server): Record<string, Endpoint> {
  return {
    VARZ: { struct: "VarzEventOptions", fields: {}, respond: () => varz(s) },
    SUBSZ: {
      struct: "SubszEventOptions",
      fields: SUBSZ_FIELDS,
      respond: (o) => subsz(s, subszOptions(o)).full,
    },
    CONNZ: {
      struct: "ConnzEventOptions",
      fields: CONNZ_FIELDS,
      respond: (o) => connz(s, connzOptions(o)),
    },
    ROUTEZ: {
      struct: "RoutezEventOptions",
      fields: ROUTEZ_FIELDS,
      respond: (o) =>
        routez(s, {
          subscriptions: bool(o.subscriptions),
          subscriptionsDetail: bool(o.subscriptions_detail),
        }),
    },
    GATEWAYZ: {
      struct: "GatewayzEventOptions",
      fields: GATEWAYZ_FIELDS,
      respond: (o) =>
        gatewayz(s, {
          name: str(o.name),
          accounts: bool(o.accounts),
          accountName: str(o.account_name),
        }),
    },
    LEAFZ: {
      struct: "LeafzEventOptions",
      fields: LEAFZ_FIELDS,
      respond: (o) => leafz(s, { subscriptions: bool(o.subscriptions), account: str(o.account) }),
    },
    ACCOUNTZ: {
      struct: "AccountzEventOptions",
      fields: ACCOUNTZ_FIELDS,
      respond: (o) => accountz(s, { account: str(o.account) }),
    },
    JSZ: { struct: "JszEventOptions", fields: JSZ_FIELDS, respond: (o) => jsz(s, jszOptions(o)) },
    HEALTHZ: {
      struct: "HealthzEventOptions",
      fields: HEALTHZ_FIELDS,
      respond: (o) =>
        healthz(s, {
          jsEnabledOnly: bool(o["js-enabled-only"]),
          jsServerOnly: bool(o["js-server-only"]),
        }),
    },
  };
}

/** The account named by `$SYS.REQ.ACCOUNT.<acc>.<NAME>` (nats-server's extractAccount). */
function accountOf(subject: string): string {
  const tk = subject.split(".");
  if (tk.length !== 5) throw new QueryError(`subject ${JSON.stringify(subject)} is malformed`);
  return tk[3];
}

function accountEndpoints(s: Server): Record<string, Endpoint> {
  return {
    SUBSZ: {
      struct: "SubszEventOptions",
      fields: SUBSZ_FIELDS,
      respond: (o, req) => {
        const so = subszOptions(o);
        so.subscriptions = true;
        so.account = accountOf(req.subject);
        return subsz(s, so).full;
      },
    },
    CONNZ: {
      struct: "ConnzEventOptions",
      fields: CONNZ_FIELDS,
      respond: (o, req) => {
        const c = connzOptions(o);
        c.account = accountOf(req.subject);
        return connz(s, c);
      },
    },
    LEAFZ: {
      struct: "LeafzEventOptions",
      fields: LEAFZ_FIELDS,
      respond: (o, req) =>
        leafz(s, { subscriptions: bool(o.subscriptions), account: accountOf(req.subject) }),
    },
    JSZ: {
      struct: "JszEventOptions",
      fields: JSZ_FIELDS,
      respond: (o, req) => {
        const j = jszOptions(o);
        j.account = accountOf(req.subject);
        return jszAccount(s, j);
      },
    },
    INFO: {
      struct: "AccInfoEventOptions",
      fields: {},
      respond: (_o, req) => accountInfo(s, accountOf(req.subject)),
    },
    // STATZ is a lighter INFO; PING is the all-accounts request, answered on its own subject.
    STATZ: {
      struct: "AccountStatzEventOptions",
      fields: ACCSTATZ_FIELDS,
      respond: (o, req) => {
        const acc = accountOf(req.subject);
        if (acc === "PING") throw new SkipResponse("filtered response");
        const opts = statzOptions(o);
        opts.accounts = [acc];
        const stz = accountStatz(s, opts);
        if ((stz.account_statz as unknown[]).length === 0 && !opts.includeUnused) {
          throw new SkipResponse("filtered response");
        }
        return stz;
      },
    },
  };
}

// ---- Answering ----

/** Whether this server is not among those a request's filter options select (filterRequest). */
function filteredOut(s: Server, f: Filter): boolean {
  if (f.server_name && !s.name.includes(f.server_name)) return true;
  if (f.host && !s.opts.host.includes(f.host)) return true;
  if (f.cluster && !(s.cluster?.name ?? "").includes(f.cluster)) return true;
  if (f.tags && f.tags.length > 0) {
    for (const t of f.tags) if (!s.opts.tags.includes(t.trim().toLowerCase())) return true;
  }
  // No JetStream domain here: a request for one is not for us.
  if (f.domain) return true;
  return false;
}

/** nats-server's zReq: decode options, filter, build, and answer `{server, data | error}`. */
function zReq(ev: SystemEvents, req: Request, ep: Endpoint): void {
  if (req.reply === "") return;
  const o: Record<string, unknown> = {};
  const response: Record<string, unknown> = { server: null };
  if (req.body.length > 0) {
    try {
      unmarshalBody(req.body, ep.struct, { ...ep.fields, ...FILTER_FIELDS }, o);
    } catch (e) {
      response.error = { code: 400, description: (e as Error).message };
      ev.send(req.reply, "", response);
      return;
    }
    if (filteredOut(ev.server, o as Filter)) return;
  }
  try {
    response.data = ep.respond(o, req);
  } catch (e) {
    if (e instanceof SkipResponse) return;
    if (!(e instanceof QueryError) && !(e instanceof GoJsonError)) {
      ev.server.log.error(`Error answering "${req.subject}": ${e}`);
    }
    // nats-server keeps the failed builder's nil result: "data": null before the error.
    response.data = null;
    response.error = { code: 500, description: (e as Error).message };
    ev.send(req.reply, "", response);
    return;
  }
  ev.send(req.reply, "", response, true, req.compress);
}

/** `$SYS.REQ.SERVER.PING` and STATSZ: this server's stats to the reply (or broadcast). */
function statszRequest(ev: SystemEvents, req: Request): void {
  const reply = req.reply !== "" ? req.reply : `$SYS.SERVER.${ev.server.id}.STATSZ`;
  if (req.body.length > 0) {
    const o: Record<string, unknown> = {};
    try {
      unmarshalBody(req.body, "StatszEventOptions", FILTER_FIELDS, o);
    } catch (e) {
      ev.send(reply, "", { server: null, error: { code: 400, description: (e as Error).message } });
      return;
    }
    if (filteredOut(ev.server, o as Filter)) return;
  }
  ev.sendStatsz(reply);
}

/**
 * `$SYS.REQ.ACCOUNT.<acc>.CONNS` from another server tracking an account: our local count, if
 * we have local connections (nats-server's connsRequest). Bad requests are only logged.
 */
function connsRequest(ev: SystemEvents, req: Request): void {
  const tk = req.subject.split(".");
  if (tk.length !== 5) {
    ev.server.log.error("Bad subject account connections request message");
    return;
  }
  let name = tk[3];
  if (req.body.length > 0) {
    try {
      const m = JSON.parse(dec.decode(req.body));
      if (typeof m?.acc === "string") name = m.acc;
      else if (m?.acc !== undefined && m?.acc !== null) throw new Error("acc is not a string");
    } catch (e) {
      ev.server.log.error(
        `Error unmarshalling account connections request message: ${(e as Error).message}`,
      );
      return;
    }
  }
  if (name !== tk[3]) {
    ev.server.log.error("Error unmarshalled account does not match subject");
    return;
  }
  const acc = ev.server.accounts.get(name);
  if (acc && acc.clients.size > 0 && req.reply !== "") ev.sendAccountConns(acc, [req.reply]);
}

/** nats-server's getAcceptEncoding: snappy (or s2) first, then gzip, else identity. */
function acceptEncoding(hdr: Uint8Array): Compression {
  const text = dec.decode(hdr);
  const i = text.indexOf("Accept-Encoding:");
  if (i < 0) return "";
  const end = text.indexOf("\r\n", i);
  const ae = text.slice(i + 16, end < 0 ? undefined : end).trim().toLowerCase();
  if (ae === "") return "";
  if (ae.includes("snappy") || ae.includes("s2")) return "snappy";
  if (ae.includes("gzip")) return "gzip";
  return "identity";
}
