/**
 * The checks nats-server 2.9.10 makes once every account of the config is known (the second half
 * of parseAccounts): each export's and import's account is defined, each import is authorized by
 * an export of its exporter, stream and service imports form no cycle, prefixes are literal,
 * wildcard imports make a valid transform, latency tracking can be set up.
 *
 * It is a pure function of the parsed accounts, so `-t`, startup and reload share it. It replays
 * nats-server's sequence on a small model of its accounts: every stream export, then every
 * service export, every stream import, every service import, in the order of the file; later
 * steps see what earlier ones added (a cycle is reported on the import that closes it), and
 * exports of one subject merge as they do there. Where nats-server walks a Go map (exports
 * matched by wildcard, a service import's cycle search), the model walks insertion order.
 */

import type {
  AccountOptions,
  ResponseType,
  ServiceExportOptions,
  ServiceImportOptions,
  StreamExportOptions,
  StreamImportOptions,
} from "../options.ts";
import {
  isSubsetMatch,
  isValidPublishSubject,
  isValidSubject,
  subjectInfo,
  subjectIsLiteral,
  subjectIsSubsetMatch,
  subjectsCollide,
} from "../subjects.ts";
import { goQuote } from "./go_format.ts";

export interface AccountCheckOptions {
  /** `no_system_account`: latency tracking needs the system account. */
  noSystemAccount?: boolean;
  /**
   * nats-server's newTransform(source, destination) verdict: undefined if it compiles, else its
   * error text. Defaults to {@link basicTransformError}; pass the full subject-transform module's
   * check to cover the `{{function()}}` forms too.
   */
  transformError?: (source: string, destination: string) => string | undefined;
}

/** nats-server's MaxAccountCycleSearchDepth. */
const MAX_CYCLE_SEARCH_DEPTH = 1024;

const ERR_INVALID_SUBJECT = "sublist: invalid subject";
const ERR_STREAM_IMPORT_AUTH = "stream import not authorized";
const ERR_SERVICE_IMPORT_AUTH = "service import not authorized";
const ERR_BAD_PREFIX = "stream import prefix can not contain wildcard tokens";
const ERR_STREAM_IMPORT_DUP = "stream import already exists";
const ERR_CYCLE = "import forms a cycle";
const ERR_CYCLE_DEPTH = "search cycle depth exhausted";
const ERR_BAD_PUBLISH_SUBJECT = "invalid publish subject";
const ERR_BAD_SERVICE_TYPE = "bad service response type";
const ERR_BAD_SAMPLING = "bad sampling percentage, should be 1-100";
const ERR_NO_SYS_ACCOUNT = "system account not setup";

/** Who may import an export: public when neither a list nor a token position is set. */
interface ExportAuth {
  approved?: Set<string>;
  accountPos: number;
}

interface ServiceExport {
  auth: ExportAuth;
  respType: ResponseType;
}

interface StreamImport {
  account: string;
  from: string;
  to: string;
}

interface ServiceImport {
  account: string;
  from: string;
  to: string;
}

/** One account as the checks see it; `null` stream export = public (nats-server's nil). */
class Model {
  readonly name: string;
  readonly streamExports = new Map<string, ExportAuth | null>();
  readonly serviceExports = new Map<string, ServiceExport>();
  readonly streamImports: StreamImport[] = [];
  readonly serviceImports = new Map<string, ServiceImport>();

  constructor(name: string) {
    this.name = name;
  }
}

/** Thrown for what is a Go runtime panic in nats-server: it ends the whole pass. */
class Panic extends Error {}

/**
 * Returns nats-server's errors, in its order, as reasons without a position: nats-server reports
 * them all at the `accounts` key.
 */
export function checkAccounts(
  accounts: readonly AccountOptions[],
  options: AccountCheckOptions = {},
): string[] {
  const errors: string[] = [];
  const models = new Map<string, Model>();
  for (const a of accounts) models.set(a.name, new Model(a.name));
  const transformError = options.transformError ?? basicTransformError;
  const c = new Checker(models, transformError);
  try {
    for (const a of accounts) {
      for (const e of a.streamExports) c.streamExport(a.name, e, errors);
    }
    for (const a of accounts) {
      for (const e of a.serviceExports) c.serviceExport(a.name, e, options, errors);
    }
    for (const a of accounts) {
      for (const i of a.streamImports) c.streamImport(a.name, i, errors);
    }
    for (const a of accounts) {
      for (const i of a.serviceImports) c.serviceImport(a.name, i, errors);
    }
  } catch (e) {
    if (!(e instanceof Panic)) throw e;
    errors.push(e.message);
  }
  return errors;
}

class Checker {
  #models: Map<string, Model>;
  #transformError: (source: string, destination: string) => string | undefined;

  constructor(
    models: Map<string, Model>,
    transformError: (source: string, destination: string) => string | undefined,
  ) {
    this.#models = models;
    this.#transformError = transformError;
  }

  #model(name: string): Model {
    return this.#models.get(name)!;
  }

  /** The listed accounts that exist; an empty result means public, as nats-server's nil. */
  #approved(list: string[] | undefined, kind: string, errors: string[]): string[] | null {
    const found: string[] = [];
    for (const name of list ?? []) {
      if (!this.#models.has(name)) {
        errors.push(`${goQuote(name)} account not defined for ${kind}`);
        continue;
      }
      found.push(name);
    }
    return found.length > 0 ? found : null;
  }

  streamExport(owner: string, e: StreamExportOptions, errors: string[]): void {
    const accounts = this.#approved(e.accounts, "stream export", errors);
    const pos = e.accountTokenPosition ?? 0;
    const acc = this.#model(owner);
    let ea = acc.streamExports.get(e.subject) ?? null;
    if (accounts || pos !== 0) {
      ea ??= { accountPos: 0 };
      const err = setExportAuth(ea, e.subject, accounts, pos);
      if (err) {
        errors.push(`Error adding stream export ${goQuote(e.subject)}: ${err}`);
        return;
      }
    }
    acc.streamExports.set(e.subject, ea);
  }

  serviceExport(
    owner: string,
    e: ServiceExportOptions,
    options: AccountCheckOptions,
    errors: string[],
  ): void {
    const accounts = this.#approved(e.accounts, "service export", errors);
    const pos = e.accountTokenPosition ?? 0;
    const acc = this.#model(owner);
    const se = acc.serviceExports.get(e.subject) ??
      { auth: { accountPos: 0 }, respType: "Singleton" };
    if (e.responseType !== "Singleton") se.respType = e.responseType;
    if (accounts || pos !== 0) {
      const err = setExportAuth(se.auth, e.subject, accounts, pos);
      if (err) {
        errors.push(`Error adding service export ${goQuote(e.subject)}: ${err}`);
        return;
      }
    }
    acc.serviceExports.set(e.subject, se);
    // A response threshold cannot fail here: the export was just added.
    if (!e.latency) return;
    if (options.noSystemAccount) {
      errors.push(
        `Error adding service latency sampling for ${goQuote(e.subject)}: ${ERR_NO_SYS_ACCOUNT}`,
      );
      return;
    }
    const err = trackLatency(acc, e.subject, e.latency.subject, e.latency.sampling);
    if (err) {
      errors.push(
        `Error adding service latency sampling for ${goQuote(e.subject)} on subject ${
          goQuote(e.latency.subject)
        }: ${err}`,
      );
    }
  }

  streamImport(owner: string, i: StreamImportOptions, errors: string[]): void {
    const exporter = this.#models.get(i.account);
    if (!exporter) {
      errors.push(`${goQuote(i.account)} account not defined for stream import`);
      return;
    }
    const acc = this.#model(owner);
    const err = i.prefix
      ? this.#addStreamImport(acc, exporter, i.subject, i.prefix)
      : this.#addMappedStreamImport(acc, exporter, i.subject, i.to ?? "");
    if (err) errors.push(`Error adding stream import ${goQuote(i.subject)}: ${err}`);
  }

  #addStreamImport(acc: Model, exporter: Model, from: string, prefix: string): string | undefined {
    if (!streamImportAuthorized(exporter, acc.name, from)) return ERR_STREAM_IMPORT_AUTH;
    if (!subjectIsLiteral(prefix)) return ERR_BAD_PREFIX;
    if (!prefix.endsWith(".")) prefix += ".";
    return this.#addMappedStreamImport(acc, exporter, from, prefix + from);
  }

  #addMappedStreamImport(
    acc: Model,
    exporter: Model,
    from: string,
    to: string,
  ): string | undefined {
    if (!streamImportAuthorized(exporter, acc.name, from)) return ERR_STREAM_IMPORT_AUTH;
    if (to === "") to = from;
    const cycle = this.#streamImportsCycle(exporter, to, new Set([acc.name]));
    if (cycle) return cycle;
    if (!subjectIsLiteral(from) && to !== from) {
      const err = this.#transformError(from, transformTokenize(to));
      if (err !== undefined) {
        return `failed to create mapping transform for stream import subject ${goQuote(from)} to ${
          goQuote(to)
        }: ${err}`;
      }
      to = transformUntokenize(to);
    }
    if (acc.streamImports.some((si) => si.account === exporter.name && si.from === from)) {
      return ERR_STREAM_IMPORT_DUP;
    }
    acc.streamImports.push({ account: exporter.name, from, to });
    return undefined;
  }

  #streamImportsCycle(acc: Model, to: string, visited: Set<string>): string | undefined {
    if (visited.size >= MAX_CYCLE_SEARCH_DEPTH) return ERR_CYCLE_DEPTH;
    if (![...acc.streamExports.keys()].some((subj) => subjectIsSubsetMatch(to, subj))) {
      return undefined;
    }
    for (const si of acc.streamImports) {
      if (!subjectsCollide(to, si.to)) continue;
      if (visited.has(si.account)) return ERR_CYCLE;
      visited.add(acc.name);
      if (subjectIsSubsetMatch(si.to, to)) to = si.to;
      const err = this.#streamImportsCycle(this.#model(si.account), to, visited);
      if (err) return err;
    }
    return undefined;
  }

  serviceImport(owner: string, i: ServiceImportOptions, errors: string[]): void {
    const exporter = this.#models.get(i.account);
    if (!exporter) {
      errors.push(`${goQuote(i.account)} account not defined for service import`);
      return;
    }
    const acc = this.#model(owner);
    const err = this.#addServiceImport(acc, exporter, i.to || i.subject, i.subject);
    if (err) {
      errors.push(`Error adding service import ${goQuote(i.subject)}: ${err}`);
      return;
    }
    // nats-server then sets `share` on the import it just added, found by its remote subject.
    const found = [...acc.serviceImports.values()].some((si) =>
      si.account === exporter.name && si.to === i.subject
    );
    if (!found) {
      errors.push(
        `Error setting service import sharing ${goQuote(i.subject)}: service import not found`,
      );
    }
  }

  /** `from` is the importer's subject, `to` the exporter's. */
  #addServiceImport(acc: Model, dest: Model, from: string, to: string): string | undefined {
    if (to === "") to = from;
    if (!isValidSubject(from) || !isValidSubject(to)) return ERR_INVALID_SUBJECT;
    if (!serviceImportAuthorized(dest, acc.name, to)) return ERR_SERVICE_IMPORT_AUTH;
    const cycle = this.#serviceImportsCycle(dest, from, new Set([acc.name]));
    if (cycle) return cycle;
    const dup = acc.serviceImports.get(from);
    if (dup) {
      return `duplicate service import subject ${goQuote(from)}, previously used in import ` +
        `for account ${goQuote(dup.account)}, subject ${goQuote(dup.to)}`;
    }
    if (!subjectIsLiteral(to) && to !== from) {
      to = transformUntokenize(to);
      const err = this.#transformError(to, transformTokenize(from));
      if (err !== undefined) {
        return `failed to create mapping transform for service import subject ${goQuote(from)} to ${
          goQuote(to)
        }: ${err}`;
      }
      from = transformUntokenize(from);
    }
    acc.serviceImports.set(from, { account: dest.name, from, to });
    return undefined;
  }

  #serviceImportsCycle(acc: Model, from: string, visited: Set<string>): string | undefined {
    if (visited.size >= MAX_CYCLE_SEARCH_DEPTH) return ERR_CYCLE_DEPTH;
    for (const si of acc.serviceImports.values()) {
      if (!subjectsCollide(from, si.to)) continue;
      if (visited.has(si.account)) return ERR_CYCLE;
      visited.add(acc.name);
      if (subjectIsSubsetMatch(si.from, from)) from = si.from;
      const err = this.#serviceImportsCycle(this.#model(si.account), from, visited);
      if (err) return err;
    }
    return undefined;
  }
}

/** nats-server's setExportAuth; a negative token position is its index-out-of-range panic. */
function setExportAuth(
  ea: ExportAuth,
  subject: string,
  accounts: string[] | null,
  pos: number,
): string | undefined {
  if (pos !== 0) {
    const tokens = subject.split(".");
    if (pos < 0) {
      // Go converts it to a uint, so the index wraps past 2^64.
      const index = 2n ** 64n + BigInt(pos) - 1n;
      throw new Panic(`runtime error: index out of range [${index}] with length ${tokens.length}`);
    }
    if (tokens.length < pos || tokens[pos - 1] !== "*") return ERR_INVALID_SUBJECT;
  }
  ea.accountPos = pos;
  if (!accounts) return undefined;
  ea.approved ??= new Set();
  for (const a of accounts) ea.approved.add(a);
  return undefined;
}

function isPublic(ea: ExportAuth): boolean {
  return (ea.approved?.size ?? 0) === 0 && ea.accountPos === 0;
}

/** nats-server's checkAuth; `tokens` is null for an import of the export's exact subject. */
function checkAuth(ea: ExportAuth, importer: string, tokens: string[] | null): boolean {
  if (isPublic(ea)) return true;
  if (ea.accountPos > 0) {
    return tokens !== null && ea.accountPos <= tokens.length &&
      tokens[ea.accountPos - 1] === importer;
  }
  return ea.approved?.has(importer) ?? false;
}

function streamImportAuthorized(exporter: Model, importer: string, subject: string): boolean {
  if (exporter.streamExports.size === 0 || !isValidSubject(subject)) return false;
  if (exporter.streamExports.has(subject)) {
    const ea = exporter.streamExports.get(subject)!;
    return ea === null || checkAuth(ea, importer, null);
  }
  // The first export the import subject falls within decides.
  const tokens = subject.split(".");
  for (const [subj, ea] of exporter.streamExports) {
    if (isSubsetMatch(tokens, subj)) return ea === null || checkAuth(ea, importer, tokens);
  }
  return false;
}

function serviceImportAuthorized(exporter: Model, importer: string, subject: string): boolean {
  if (exporter.serviceExports.size === 0) return false;
  const exact = exporter.serviceExports.get(subject);
  if (exact) return checkAuth(exact.auth, importer, null);
  const tokens = subject.split(".");
  for (const [subj, se] of exporter.serviceExports) {
    if (isSubsetMatch(tokens, subj)) return checkAuth(se.auth, importer, tokens);
  }
  return false;
}

/** nats-server's TrackServiceExportWithSampling, as far as it goes without a running server. */
function trackLatency(
  acc: Model,
  service: string,
  results: string,
  sampling: number,
): string | undefined {
  if (sampling !== 0 && (sampling < 1 || sampling > 100)) return ERR_BAD_SAMPLING;
  if (!isValidPublishSubject(results)) return ERR_BAD_PUBLISH_SUBJECT;
  // Results published on one of the account's own services would loop.
  const tokens = results.split(".");
  for (const subj of acc.serviceExports.keys()) {
    if (subj === results || isSubsetMatch(tokens, subj)) return ERR_BAD_PUBLISH_SUBJECT;
  }
  const se = acc.serviceExports.get(service);
  if (!se) return "service missing";
  if (se.respType !== "Singleton") return ERR_BAD_SERVICE_TYPE;
  return undefined;
}

/** `foo.*.*` -> `foo.$1.$2`: a subject's wildcards as a transform's placeholders. */
export function transformTokenize(subject: string): string {
  let n = 0;
  return subject.split(".").map((t) => t === "*" ? `$${++n}` : t).join(".");
}

/** `foo.$1.$2` -> `foo.*.*`. */
export function transformUntokenize(subject: string): string {
  return subject.split(".").map((t) => /^\$[1-9]/.test(t) ? "*" : t).join(".");
}

const INVALID_DEST = "invalid mapping destination";

/**
 * nats-server's newTransform for the destinations imports produce: `$N` and `{{wildcard(N)}}`
 * placeholders are checked; other `{{function()}}` tokens count as placeholders without their
 * arguments being checked (the subject-transform module does that).
 */
export function basicTransformError(source: string, destination: string): string | undefined {
  const src = subjectInfo(source);
  const dst = subjectInfo(destination);
  if (!src || !dst || dst.pwcs > 0 || src.fwc !== dst.fwc) return "invalid subject";
  if (src.pwcs === 0 && !src.fwc) return undefined;
  let placeholders = 0;
  for (const token of dst.tokens) {
    const indexes = placeholderIndexes(token);
    if (typeof indexes === "string") return indexes;
    if (!indexes) continue;
    placeholders++;
    for (const i of indexes) {
      if (i > src.pwcs) {
        return `${INVALID_DEST}: wildcard index out of range in ${token}: [${i}]`;
      }
    }
  }
  if (placeholders < src.pwcs) {
    return `${INVALID_DEST}: not using all of the token wildcard(s) in ${destination}`;
  }
  return undefined;
}

const OTHER_FUNCTIONS = [
  /\{\{\s*[pP]artition\s*\((.*)\)\s*\}\}/,
  /\{\{\s*[sS]plit[fF]rom[lL]eft\s*\((.*)\)\s*\}\}/,
  /\{\{\s*[sS]plit[fF]rom[rR]ight\s*\((.*)\)\s*\}\}/,
  /\{\{\s*[sS]lice[fF]rom[lL]eft\s*\((.*)\)\s*\}\}/,
  /\{\{\s*[sS]lice[fF]rom[rR]ight\s*\((.*)\)\s*\}\}/,
  /\{\{\s*[sS]plit\s*\((.*)\)\s*\}\}/,
];

/** A destination token's wildcard indexes; undefined for a literal token; a string on error. */
function placeholderIndexes(token: string): number[] | string | undefined {
  if (token.length > 1 && token[0] === "$") {
    const n = Number(token.slice(1));
    return /^[+-]?[0-9]+$/.test(token.slice(1)) && Number.isSafeInteger(n) ? [n] : undefined;
  }
  if (token.length > 4 && token.startsWith("{{") && token.endsWith("}}")) {
    const wildcard = /\{\{\s*[wW]ildcard\s*\((.*)\)\s*\}\}/.exec(token);
    if (!wildcard) {
      if (OTHER_FUNCTIONS.some((re) => re.test(token))) return [];
      return `${INVALID_DEST}: unknown function in ${token}`;
    }
    const args = wildcard[1].split(",");
    if (args.length > 1) {
      return `${INVALID_DEST}: too many arguments passed to the function in ${token}`;
    }
    const arg = args[0].trim();
    if (arg === "") {
      return `${INVALID_DEST}: not enough arguments passed to the function in ${token}`;
    }
    if (!/^[+-]?[0-9]+$/.test(arg)) {
      return `${INVALID_DEST}: function argument is invalid or in the wrong format in ${token}`;
    }
    return [Number(arg)];
  }
  return undefined;
}
