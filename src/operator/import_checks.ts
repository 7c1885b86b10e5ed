/**
 * The checks nats-server 2.9.10 makes on an account JWT's import before it installs it, beyond
 * the exporter's authorization (exports.ts): a stream import's prefix is literal; no import closes
 * a cycle between accounts (a request or message would go round forever); one local subject has
 * one service import, and one exporter's subject one stream import. The error texts are
 * nats-server's; the caller logs them and leaves the import out (the account is incomplete).
 *
 * The cycle search walks the imports each JWT account has installed (AccountJwt.serviceImports
 * and streamImports), as nats-server's checkServiceImportsForCycles and
 * checkStreamImportsForCycles walk its accounts' import maps.
 */

import type { Account } from "../accounts/account.ts";
import { subjectIsLiteral, subjectIsSubsetMatch, subjectsCollide } from "../subjects.ts";

/** An installed import: the exporting account, its subject (`from`) and ours (`to`). */
export interface InstalledImport {
  account: Account;
  from: string;
  to: string;
}

/** nats-server's MaxAccountCycleSearchDepth. */
const MAX_CYCLE_SEARCH_DEPTH = 1024;

const ERR_CYCLE = "import forms a cycle";
const ERR_CYCLE_DEPTH = "search cycle depth exhausted";

/**
 * Why the service import of `to` (in `exporter`) onto `from` (in `importer`) cannot be added,
 * or null. Service imports are kept by their local subject, so `from` here is the importer's.
 */
export function serviceImportError(
  importer: Account,
  exporter: Account,
  from: string,
): string | null {
  const cycle = serviceCycle(exporter, from, new Set([importer.name]));
  if (cycle !== null) return cycle;
  const dup = importer.jwt?.serviceImports.find((si) => si.from === from);
  if (dup) {
    return `duplicate service import subject ${JSON.stringify(from)}, previously used in import ` +
      `for account ${JSON.stringify(dup.account.name)}, subject ${JSON.stringify(dup.to)}`;
  }
  return null;
}

/** checkServiceImportsForCycles. */
function serviceCycle(acc: Account, from: string, visited: Set<string>): string | null {
  if (visited.size >= MAX_CYCLE_SEARCH_DEPTH) return ERR_CYCLE_DEPTH;
  for (const si of acc.jwt?.serviceImports ?? []) {
    if (!subjectsCollide(from, si.to)) continue;
    if (visited.has(si.account.name)) return ERR_CYCLE;
    visited.add(acc.name);
    if (subjectIsSubsetMatch(si.from, from)) from = si.from;
    const err = serviceCycle(si.account, from, visited);
    if (err !== null) return err;
  }
  return null;
}

/**
 * Why the stream import of `from` (in `exporter`) cannot be added to `importer`, or null.
 * `prefix` is the import's `to` prefix (when no local subject is given), `to` the subject the
 * messages get in the importer.
 */
export function streamImportError(
  importer: Account,
  exporter: Account,
  from: string,
  prefix: string | undefined,
  to: string,
): string | null {
  if (prefix !== undefined && !subjectIsLiteral(prefix)) {
    return "stream import prefix can not contain wildcard tokens";
  }
  const cycle = streamCycle(exporter, to, new Set([importer.name]));
  if (cycle !== null) return cycle;
  const st = importer.jwt;
  if (st?.streamImports.some((si) => si.account === exporter && si.from === from)) {
    return "stream import already exists";
  }
  return null;
}

/** checkStreamImportsForCycles: only where `acc` exports what arrives. */
function streamCycle(acc: Account, to: string, visited: Set<string>): string | null {
  if (visited.size >= MAX_CYCLE_SEARCH_DEPTH) return ERR_CYCLE_DEPTH;
  if (!acc.streamExports.some((e) => subjectIsSubsetMatch(to, e.subject))) return null;
  for (const si of acc.jwt?.streamImports ?? []) {
    if (!subjectsCollide(to, si.to)) continue;
    if (visited.has(si.account.name)) return ERR_CYCLE;
    visited.add(acc.name);
    if (subjectIsSubsetMatch(si.to, to)) to = si.to;
    const err = streamCycle(si.account, to, visited);
    if (err !== null) return err;
  }
  return null;
}

/** The subject a stream import's messages get: the local subject, or prefix + subject. */
export function streamImportTarget(subject: string, prefix?: string, local?: string): string {
  if (local) return local;
  if (!prefix) return subject;
  return prefix.endsWith(".") ? prefix + subject : `${prefix}.${subject}`;
}
