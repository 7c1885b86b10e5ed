/**
 * /accountz's account detail for an account made from an account JWT, as nats-server 2.9.10's
 * accountInfo shows it: expiry and completeness from the claims, the exports and imports the
 * claims set up, and the JWT itself with its issuer, name, tags, decoded claims, validation
 * issues and revoked users.
 */

import type { Account } from "../accounts/account.ts";
import type { Import } from "../jwt/types.ts";
import { decodeAccountClaimsSync } from "../jwt/claims.ts";
import { validateAccountSync } from "../jwt/validate.ts";
import { goTime } from "../go_time.ts";
import type { MappingOptions, ServiceExportOptions, ServiceImportOptions } from "../options.ts";
import type { Server } from "../server.ts";
import { systemImports } from "../system/imports.ts";
import { accountClaimsJson } from "./claims_json.ts";

type Obj = Record<string, unknown>;

/** The claims' mappings as MappingOptions (for accountz's mapping view). */
export function jwtMappings(acc: Account): MappingOptions[] {
  const m = acc.jwt?.claims?.nats.mappings ?? {};
  return Object.entries(m).map(([subject, list]) => ({
    subject,
    destinations: list.map((w) => ({
      subject: w.subject,
      weight: w.weight || 100,
      ...(w.cluster ? { cluster: w.cluster } : {}),
    })),
  }));
}

const revocationTimes = (r: Record<string, number> | null | undefined) =>
  r && Object.keys(r).length > 0
    ? Object.fromEntries(Object.entries(r).map(([k, t]) => [k, goTime(t * 1000)]))
    : undefined;

function responseTypeName(se: ServiceExportOptions): string {
  return se.responseType === "Stream" ? "Streamed" : se.responseType;
}

/**
 * Re-lays `base` (the detail monitor/accountz.ts built) in nats-server's field order with the
 * JWT account's own values.
 */
export function jwtAccountInfo(server: Server, acc: Account, base: Obj): Obj {
  const st = acc.jwt!;
  const out: Obj = { account_name: acc.name, update_time: goTime(st.updated) };
  if (base.is_system) out.is_system = true;
  out.expired = st.expired;
  out.complete = !st.incomplete;
  for (const k of ["jetstream_enabled", "leafnode_connections", "client_connections"]) {
    out[k] = base[k];
  }
  out.subscriptions = base.subscriptions;
  if (base.mappings) out.mappings = base.mappings;
  const exports = exportsOf(acc);
  if (exports.length > 0) out.exports = exports;
  const imports = importsOf(server, acc);
  if (imports.length > 0) out.imports = imports;
  if (st.jwt !== "") out.jwt = st.jwt;
  if (st.issuer !== "") out.issuer_key = st.issuer;
  const claims = st.jwt !== "" ? safeDecode(st.jwt) : null;
  if (claims?.name) out.name_tag = claims.name;
  if (claims?.nats.tags && claims.nats.tags.length > 0) out.tags = claims.nats.tags;
  if (claims) {
    out.decoded_jwt = accountClaimsJson(claims);
    const vr = validateAccountSync(claims);
    if (vr.issues.length > 0) {
      out.validation_result_jwt = vr.issues.map((i) => ({
        description: i.description,
        blocking: i.blocking,
        time_check: i.timeCheck,
      }));
    }
  }
  const revoked = revocationTimes(st.revocations);
  if (revoked) out.revoked_user = revoked;
  out.sublist_stats = base.sublist_stats;
  if (base.responses) out.responses = base.responses;
  return out;
}

function safeDecode(jwt: string) {
  try {
    return decodeAccountClaimsSync(jwt);
  } catch {
    return null;
  }
}

function exportsOf(acc: Account): Obj[] {
  const out: Obj[] = [];
  for (const se of acc.serviceExports) {
    const e: Obj = { subject: se.subject, type: "service" };
    if (se.tokenReq) e.token_req = true;
    e.response_type = responseTypeName(se);
    if (se.latency) {
      e.service_latency = {
        sampling: se.latency.sampling === 0 ? "headers" : se.latency.sampling,
        results: se.latency.subject,
      };
    }
    const rev = revocationTimes(se.revocations);
    if (rev) e.revoked_activations = rev;
    out.push(e);
  }
  for (const st of acc.streamExports) {
    const e: Obj = { subject: st.subject, type: "stream" };
    if (st.tokenReq) e.token_req = true;
    const rev = revocationTimes(st.revocations);
    if (rev) e.revoked_activations = rev;
    out.push(e);
  }
  return out;
}

function importsOf(server: Server, acc: Account): Obj[] {
  const out: Obj[] = [];
  const flags = { invalid: false, share: false, tracking: false };
  const active = (i: Import) =>
    !acc.jwt!.invalidImports.has(i) && (!acc.jwt!.incomplete || isInstalled(server, acc, i));
  for (const i of acc.jwt!.claims?.nats.imports ?? []) {
    if (i === null || i.type !== "stream") continue;
    const subject = i.subject ?? "";
    let local = subject;
    if (i.local_subject) local = i.local_subject;
    else if (i.to) local = i.to.endsWith(".") ? i.to + subject : `${i.to}.${subject}`;
    out.push({
      subject,
      account: i.account ?? "",
      local_subject: local,
      type: "stream",
      ...flags,
      invalid: !active(i),
    });
  }
  const services: [ServiceImportOptions, boolean][] = [];
  for (const i of acc.jwt!.claims?.nats.imports ?? []) {
    if (i === null || i.type !== "service") continue;
    const local = i.local_subject || i.subject || "";
    const remote = i.local_subject ? (i.subject ?? "") : (i.to || i.subject || "");
    services.push([
      { account: i.account ?? "", subject: remote, to: local, share: !!i.share },
      !active(i),
    ]);
  }
  for (const si of systemImports(server, acc)) services.push([si, false]);
  for (const [si, invalid] of services) {
    out.push({
      subject: si.to || si.subject,
      account: si.account,
      to: si.subject,
      type: "service",
      ...flags,
      invalid,
      share: si.share,
    });
  }
  return out;
}

/** Whether an import's subscription is in place (its exporter allowed it). */
function isInstalled(server: Server, acc: Account, i: Import): boolean {
  const exporter = server.accounts.get(i.account ?? "");
  if (!exporter) return false;
  const subject = i.type === "service" ? (i.local_subject || i.subject) : i.subject;
  return acc.importSubs.some((s) =>
    s.subject === subject && (s.client.account === exporter || s.client.account === acc)
  );
}
