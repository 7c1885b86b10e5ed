/**
 * Imports move messages between accounts, as internal subscriptions (internal_client.ts):
 *
 * - A stream import is a subscription in the exporting account on the imported subject; each
 *   message is re-delivered, under its new subject (prefix or `to`), to the importer's local
 *   subscribers. Local only: every server holding the import receives the exporter's messages
 *   through the exporter's interest and serves its own importers, so nothing is routed twice.
 * - A service import is a subscription in the importing account on the local subject; a request
 *   is re-published in the exporting account (routes included) with its reply replaced by a
 *   fresh `_R_.` subject of the exporter. The exporter holds one wildcard subscription on its
 *   `_R_.xxxx.>` prefix; an answer there is looked up and delivered to the requester's original
 *   reply in the importing account, and nowhere else. Singleton replies end after one answer;
 *   stream and chunked replies live until unused for the export's response threshold.
 * Requests arriving over routes do not trigger service imports: the server the requester is
 * connected to has already moved them (nats-server's rule), while answers may come from anywhere.
 */

import type { Account, ResponseImport } from "./account.ts";
import type { Client, ClientSub } from "../client.ts";
import { ROUTER } from "../client.ts";
import type { Server } from "../server.ts";
import type { AccountOptions, ResponseType, ServiceExportOptions } from "../options.ts";
import type { PubArg } from "../parser.ts";
import { replyOf } from "../message.ts";
import { rerouteMsg } from "../delivery.ts";
import { subjectMatches } from "../sublist.ts";
import { SubjectTransform } from "./transform.ts";

/** nats-server's default response threshold for service exports. */
export const DEFAULT_RESPONSE_THRESHOLD_MS = 2 * 60 * 1000;

const REQUEST_INFO = "Nats-Request-Info";
const JS_ACK_PREFIX = "$JS.ACK.";

/** Installs every account's imports (after all accounts and exports exist). */
export function installImports(server: Server, configured: AccountOptions[]): void {
  for (const a of configured) {
    const acc = server.accounts.get(a.name);
    if (!acc) continue;
    for (const si of a.streamImports) {
      const exp = server.accounts.get(si.account);
      if (exp) addStreamImport(server, acc, exp, si.subject, si.prefix, si.to);
    }
    for (const si of a.serviceImports) {
      const exp = server.accounts.get(si.account);
      if (exp) addServiceImport(server, acc, exp, si.to || si.subject, si.subject);
    }
  }
}

/**
 * Removes the import subscriptions configured accounts hold (in themselves and in exporters).
 * Accounts made from account JWTs keep theirs: their claims own them.
 */
export function removeImports(server: Server): void {
  for (const acc of server.accounts.values()) {
    if (acc.jwt === null) removeAccountImports(acc);
  }
}

/** Removes one account's import subscriptions (and its place among the exporters' importers). */
export function removeAccountImports(acc: Account): void {
  for (const sub of acc.importSubs) {
    const exporter = sub.client.account;
    if (exporter.streamImporters.length > 0) {
      exporter.streamImporters = exporter.streamImporters.filter((si) => si.sub !== sub);
    }
    if (exporter.internal) exporter.internal.unsubscribe(sub);
  }
  acc.importSubs = [];
}

export function addStreamImport(
  server: Server,
  importer: Account,
  exporter: Account,
  subject: string,
  prefix: string | undefined,
  to: string | undefined,
): void {
  let rename: (s: string) => string = (s) => s;
  if (prefix) rename = (s) => `${prefix}.${s}`;
  else if (to && to !== subject) {
    const tr = transformFor(subject, to);
    rename = (s) => tr?.apply(s) ?? to;
  }
  const handler = (_sub: ClientSub, from: Client, src: Uint8Array, pa: PubArg): void => {
    const subj = rename(pa.subject);
    const m = rerouteMsg(src, pa, subj, null);
    server.routeLocal(from, importer, importer.sublist.match(subj), m.buf, m.pa, null);
  };
  const sub = server.internalClient(exporter).subscribe(subject, handler);
  importer.importSubs.push(sub);
  exporter.streamImporters.push({ importer, subject, rename, sub });
}

export function addServiceImport(
  server: Server,
  importer: Account,
  exporter: Account,
  local: string,
  remote: string,
): void {
  let target: (s: string) => string = () => remote;
  if (local !== remote && /(^|\.)[*>](\.|$)/.test(local)) {
    const tr = transformFor(local, remote);
    target = (s) => tr?.apply(s) ?? remote;
  } else if (local === remote && /(^|\.)[*>](\.|$)/.test(local)) {
    target = (s) => s;
  }
  const handler = (_sub: ClientSub, from: Client, src: Uint8Array, pa: PubArg): void => {
    if (from.kind === ROUTER) return;
    let subject = target(pa.subject);
    const mapped = exporter.mappings?.map(subject, server.cluster?.name ?? "");
    if (mapped) subject = mapped;
    const se = serviceExportFor(exporter, subject);
    const reply = replyOf(src, pa);
    const ri = responseImport(
      server,
      exporter,
      importer,
      reply,
      (se?.responseType ?? "Singleton") as ResponseType,
      se?.responseThresholdMs || DEFAULT_RESPONSE_THRESHOLD_MS,
    );
    const nrr = ri?.from ?? reply;
    // The responder learns who asks (account and RTT), as nats-server's Nats-Request-Info.
    const info: Record<string, unknown> = { acc: from.account.name };
    if (from.rtt > 0) info.rtt = Math.round(from.rtt * 1e6);
    const m = rerouteMsg(src, pa, subject, nrr, [REQUEST_INFO, JSON.stringify(info)]);
    const delivered = server.routeIn(from, exporter, exporter.sublist.match(subject), m.buf, m.pa);
    if (!delivered && ri) exporter.responses.delete(ri.from);
  };
  const sub = server.internalClient(importer).subscribe(local, handler);
  importer.importSubs.push(sub);
}

/**
 * Maps `reply` (in `dest`) to a fresh `_R_.` reply of `acc`, so an answer published in `acc`
 * reaches it. None for no reply, and none for a JetStream ack reply (`$JS.ACK.`): those pass
 * unchanged, the importing account reaching the stream's account through its `$JS.ACK.>`
 * import (nats-server's exception, which keeps pull consumers working across accounts).
 */
function responseImport(
  server: Server,
  acc: Account,
  dest: Account,
  reply: string,
  type: ResponseType,
  thresholdMs: number,
): ResponseImport | null {
  if (reply === "" || reply.startsWith(JS_ACK_PREFIX)) return null;
  const from = acc.newServiceReply();
  ensureResponseSub(server, acc);
  const ri = { from, to: reply, dest, type, thresholdMs, ts: Date.now() };
  acc.responses.set(from, ri);
  return ri;
}

/** The exporter's one subscription for all replies to its service imports. */
function ensureResponseSub(server: Server, exporter: Account): void {
  if (exporter.responseSub !== null && !exporter.responseSub.closed) return;
  const handler = (_sub: ClientSub, from: Client, src: Uint8Array, pa: PubArg): void => {
    const ri = exporter.responses.get(pa.subject);
    if (!ri) return;
    // An answer that itself asks for a reply gets one back through the same import.
    const back = responseImport(
      server,
      ri.dest,
      exporter,
      replyOf(src, pa),
      ri.type,
      ri.thresholdMs,
    );
    const m = rerouteMsg(src, pa, ri.to, back?.from ?? replyOf(src, pa));
    const delivered = server.routeIn(from, ri.dest, ri.dest.sublist.match(ri.to), m.buf, m.pa);
    // An empty message ends a stream or chunked reply, as nats-server reads it.
    if (!delivered || ri.type === "Singleton" || pa.size === 0) exporter.responses.delete(ri.from);
    else ri.ts = Date.now();
  };
  exporter.responseSub = server.internalClient(exporter).subscribe(
    exporter.replyPrefix + ">",
    handler,
  );
}

/** Drops service replies nobody answered (or kept using) within their threshold. */
export function expireResponses(acc: Account, now: number): void {
  for (const [k, ri] of acc.responses) {
    if (now - ri.ts > ri.thresholdMs) acc.responses.delete(k);
  }
}

function serviceExportFor(exporter: Account, subject: string): ServiceExportOptions | undefined {
  for (const se of exporter.serviceExports) {
    if (se.subject === subject || subjectMatches(se.subject, subject)) return se;
  }
  return undefined;
}

/**
 * A transform from a wildcard source to a destination that has wildcards in the same order:
 * the n-th wildcard of the destination takes the token of the n-th wildcard of the source.
 */
function transformFor(src: string, dest: string): SubjectTransform | null {
  let n = 0;
  const d = dest.split(".").map((t) => (t === "*" ? `$${++n}` : t)).join(".");
  try {
    return SubjectTransform.compile(src, d, { validateDestination: false });
  } catch {
    return null;
  }
}
