/**
 * Accounts as monitoring shows them: /accountz (the list, or one account's detail, also asked as
 * `$SYS.REQ.SERVER.PING.ACCOUNTZ` and `$SYS.REQ.ACCOUNT.<acc>.INFO`) and /accstatz (per-account
 * connection and traffic counts, also `$SYS.REQ.ACCOUNT.<acc>.STATZ`), with nats-server's field
 * names, order and quirks (a pending response's `type` is Go's bare enum number, 2).
 */

import { jetstreamEnabledFor } from "../jetstream/monitor.ts";
import type { Account } from "../accounts/account.ts";
import { GLOBAL_ACCOUNT } from "../accounts/account.ts";
import type { MappingOptions, ResponseType, ServiceExportOptions } from "../options.ts";
import type { Server } from "../server.ts";
import { systemImports } from "../system/imports.ts";
import { nowMs, QueryError } from "./format.ts";
import { goTime } from "../go_time.ts";
import { sublistStats } from "./subs.ts";

export interface AccountzOptions {
  account: string;
}

export function accountz(server: Server, o: AccountzOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { server_id: server.id, now: goTime(nowMs()) };
  if (server.systemAccount) out.system_account = server.systemAccount.name;
  if (o.account === "") out.accounts = [...server.accounts.keys()];
  else out.account_detail = accountInfo(server, o.account);
  return out;
}

/** nats-server's response type names (config says `stream`, monitoring says `Streamed`). */
function responseTypeName(t: ResponseType): string {
  return t === "Stream" ? "Streamed" : t;
}

function latencyOf(se: ServiceExportOptions | undefined): Record<string, unknown> | undefined {
  if (!se?.latency) return undefined;
  return { sampling: se.latency.sampling, results: se.latency.subject };
}

/** One account's detail (AccountInfo); throws nats-server's error for an unknown account. */
export function accountInfo(server: Server, name: string): Record<string, unknown> {
  const acc = server.accounts.get(name);
  if (!acc) throw new QueryError(`Account ${name} does not exist`);
  const conf = server.opts.accounts.find((a) => a.name === name);
  const info: Record<string, unknown> = {
    account_name: name,
    update_time: goTime(acc.created.getTime()),
  };
  if (acc === server.systemAccount) info.is_system = true;
  info.expired = false;
  info.complete = true;
  info.jetstream_enabled = jetstreamEnabledFor(server, name);
  info.leafnode_connections = server.leafnodes?.countFor(acc) ?? 0;
  info.client_connections = acc.clients.size;
  info.subscriptions = acc.sublist.count;
  const mappings = mappingsOf(
    acc.jwt
      ? server.operator!.jwtMappings(acc)
      : name === GLOBAL_ACCOUNT
      ? [...server.opts.mappings, ...(conf?.mappings ?? [])]
      : conf?.mappings,
  );
  if (mappings) info.mappings = mappings;
  const exports = exportsOf(acc);
  if (exports.length > 0) info.exports = exports;
  const imports = importsOf(server, acc);
  if (imports.length > 0) info.imports = imports;
  info.sublist_stats = sublistStats([acc.sublist]);
  if (acc.responses.size > 0) {
    const responses: Record<string, unknown> = {};
    for (const [subject, ri] of acc.responses) {
      responses[subject] = {
        subject,
        account: ri.dest.name,
        to: ri.to,
        // Go marshals map values without their pointer methods: the export type's bare number.
        type: 2,
        invalid: false,
        share: false,
        tracking: false,
      };
    }
    info.responses = responses;
  }
  // Accounts made from account JWTs show their claims (src/operator/accountz.ts).
  return acc.jwt ? server.operator!.jwtAccountInfo(acc, info) : info;
}

function exportsOf(acc: Account): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const se of acc.serviceExports) {
    const e: Record<string, unknown> = {
      subject: se.subject,
      type: "service",
      response_type: responseTypeName(se.responseType),
    };
    const lat = latencyOf(se);
    if (lat) e.service_latency = lat;
    if (se.accounts && se.accounts.length > 0) e.approved_accounts = [...se.accounts];
    out.push(e);
  }
  for (const st of acc.streamExports) {
    const e: Record<string, unknown> = { subject: st.subject, type: "stream" };
    if (st.accounts && st.accounts.length > 0) e.approved_accounts = [...st.accounts];
    out.push(e);
  }
  return out;
}

function importsOf(server: Server, acc: Account): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const conf = server.opts.accounts.find((a) => a.name === acc.name);
  const flags = { invalid: false, share: false, tracking: false };
  for (const si of conf?.streamImports ?? []) {
    let local = si.subject;
    if (si.prefix) {
      local = si.prefix.endsWith(".") ? si.prefix + si.subject : `${si.prefix}.${si.subject}`;
    } else if (si.to) local = si.to;
    out.push({
      subject: si.subject,
      account: si.account,
      local_subject: local,
      type: "stream",
      ...flags,
    });
  }
  const services = [...(conf?.serviceImports ?? []), ...systemImports(server, acc)];
  for (const si of services) {
    const imp: Record<string, unknown> = {
      subject: si.to || si.subject,
      account: si.account,
      to: si.subject,
      type: "service",
      ...flags,
      share: si.share,
    };
    const exporter = server.accounts.get(si.account);
    const lat = latencyOf(exporter?.serviceExports.find((e) => e.subject === si.subject));
    if (lat) imp.latency = lat;
    out.push(imp);
  }
  return out;
}

/**
 * Mappings as nats-server keeps them: destinations short of 100% get the source itself for the
 * rest (unless it is listed), sorted by weight, weights made cumulative; cluster-scoped ones
 * after the others.
 */
function mappingsOf(list: MappingOptions[] | undefined): Record<string, unknown> | null {
  if (!list || list.length === 0) return null;
  const out: Record<string, unknown> = {};
  for (const m of list) {
    const plain = m.destinations.filter((d) => !d.cluster);
    const dests = weighted(m.subject, plain).map((d) => ({ subject: d.subject, weight: d.weight }));
    const clusters = new Map<string, { subject: string; weight: number }[]>();
    for (const d of m.destinations) {
      if (!d.cluster) continue;
      const l = clusters.get(d.cluster) ?? [];
      l.push(d);
      clusters.set(d.cluster, l);
    }
    const all: Record<string, unknown>[] = [...dests];
    for (const [cluster, ds] of clusters) {
      for (const d of weighted(m.subject, ds)) all.push({ ...d, cluster });
    }
    out[m.subject] = all;
  }
  return out;
}

function weighted(
  src: string,
  dests: { subject: string; weight: number }[],
): { subject: string; weight: number }[] {
  const out = dests.map((d) => ({ subject: d.subject, weight: d.weight }));
  const total = out.reduce((n, d) => n + d.weight, 0);
  if (total !== 100 && !out.some((d) => d.subject === src)) {
    let n = 0;
    const self = src.split(".").map((t) => (t === "*" ? `$${++n}` : t)).join(".");
    out.push({ subject: self, weight: out.length === 0 ? 100 : 100 - total });
  }
  out.sort((a, b) => a.weight - b.weight);
  let acc = 0;
  for (const d of out) {
    d.weight += acc;
    acc = d.weight;
  }
  return out;
}

export interface AccountStatzOptions {
  accounts: string[];
  includeUnused: boolean;
}

/** One account's numbers (nats-server's AccountStat), shared with the CONNS events. */
export function accountStat(acc: Account, leafnodes = 0): Record<string, unknown> {
  const conns = acc.clients.size;
  return {
    acc: acc.name,
    conns,
    leafnodes,
    total_conns: conns + leafnodes,
    sent: { msgs: acc.outMsgs, bytes: acc.outBytes },
    received: { msgs: acc.inMsgs, bytes: acc.inBytes },
    slow_consumers: acc.slowConsumers,
  };
}

export function accountStatz(server: Server, o: AccountStatzOptions): Record<string, unknown> {
  const list: Record<string, unknown>[] = [];
  const pick = (acc: Account | undefined) => {
    const leafs = acc ? server.leafnodes?.countFor(acc) ?? 0 : 0;
    if (acc && (o.includeUnused || acc.clients.size > 0)) list.push(accountStat(acc, leafs));
  };
  if (o.accounts.length === 0) { for (const acc of server.accounts.values()) pick(acc); }
  else for (const name of o.accounts) pick(server.accounts.get(name));
  return { server_id: server.id, now: goTime(nowMs()), account_statz: list };
}
