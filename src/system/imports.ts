/**
 * What the system account shares with every other account, as nats-server's
 * addSystemAccountExports and registerSystemImports set up: the system account exports
 * `$SYS.REQ.ACCOUNT.*.CONNZ` and `$SYS.REQ.ACCOUNT.*.STATZ` (streamed responses),
 * `$SYS.DEBUG.SUBSCRIBERS` and, in a cluster, `$JS.API.>`; each other account imports
 *
 * - `$SYS.REQ.SERVER.PING.CONNZ` and `$SYS.REQ.ACCOUNT.PING.CONNZ` as `$SYS.REQ.ACCOUNT.<acc>.CONNZ`
 * - `$SYS.REQ.ACCOUNT.PING.STATZ` as `$SYS.REQ.ACCOUNT.<acc>.STATZ`
 *
 * so a user of any account can ask every server for its own account's connections and stats
 * while seeing nothing else of the system account.
 */

import type { Account } from "../accounts/account.ts";
import { addServiceImport } from "../accounts/imports.ts";
import type { ServiceExportOptions, ServiceImportOptions } from "../options.ts";
import type { Server } from "../server.ts";
import { subjectMatches } from "../sublist.ts";

const SYSTEM_EXPORTS: ServiceExportOptions[] = [
  { subject: "$SYS.REQ.ACCOUNT.*.CONNZ", responseType: "Stream", responseThresholdMs: 0 },
  { subject: "$SYS.REQ.ACCOUNT.*.STATZ", responseType: "Stream", responseThresholdMs: 0 },
  { subject: "$SYS.DEBUG.SUBSCRIBERS", responseType: "Singleton", responseThresholdMs: 0 },
];

/** JetStream's API, which nats-server exports from the system account unless standalone. */
const JS_API_EXPORT: ServiceExportOptions = {
  subject: "$JS.API.>",
  responseType: "Singleton",
  responseThresholdMs: 0,
};

/** The system exports not already covered by a configured export (configured ones win). */
function missingExports(
  server: Server,
  configured: ServiceExportOptions[],
): ServiceExportOptions[] {
  const all = server.opts.cluster.port !== 0 ? [...SYSTEM_EXPORTS, JS_API_EXPORT] : SYSTEM_EXPORTS;
  return all.filter((se) =>
    !configured.some((c) => c.subject === se.subject || subjectMatches(c.subject, se.subject))
  );
}

/** The service imports an account gets from the system account (none for the system account). */
export function systemImports(server: Server, acc: Account): ServiceImportOptions[] {
  const sys = server.systemAccount;
  if (!sys || acc === sys) return [];
  const conf = server.opts.accounts.find((a) => a.name === acc.name)?.serviceImports ?? [];
  const imports = [
    ["$SYS.REQ.ACCOUNT.PING.CONNZ", `$SYS.REQ.ACCOUNT.${acc.name}.CONNZ`],
    ["$SYS.REQ.SERVER.PING.CONNZ", `$SYS.REQ.ACCOUNT.${acc.name}.CONNZ`],
    ["$SYS.REQ.ACCOUNT.PING.STATZ", `$SYS.REQ.ACCOUNT.${acc.name}.STATZ`],
  ];
  return imports
    // An account that imports the same local subject itself keeps its own import.
    .filter(([local]) => !conf.some((si) => (si.to || si.subject) === local))
    .map(([local, remote]) => ({ account: sys.name, subject: remote, to: local, share: false }));
}

/**
 * Adds the system exports to the system account and the system imports to every other account.
 * Runs after the configured imports are installed, at start and on reload. Accounts made from
 * account JWTs get theirs when their claims are applied (src/operator/account_claims.ts).
 */
export function installSystemImports(server: Server): void {
  const sys = server.systemAccount;
  if (!sys) return;
  addSystemExports(server, sys);
  for (const acc of server.accounts.values()) {
    if (acc.jwt === null) addSystemImports(server, acc);
  }
}

/** The system exports the system account lacks (nats-server's addSystemAccountExports). */
export function addSystemExports(server: Server, sys: Account): void {
  sys.serviceExports = [...sys.serviceExports, ...missingExports(server, sys.serviceExports)];
}

/** One account's imports of the system services (nats-server's registerSystemImports). */
export function addSystemImports(server: Server, acc: Account): void {
  const sys = server.systemAccount;
  if (!sys) return;
  for (const si of systemImports(server, acc)) {
    addServiceImport(server, acc, sys, si.to, si.subject);
  }
}
