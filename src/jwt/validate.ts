/**
 * The contents checks of nats-io/jwt v2.3.0 (`Claims.Validate`), which nats-server runs on every
 * JWT it trusts: time checks (expired, not yet valid) and structural ones (subjects, CIDRs, time
 * windows, signing keys, imports and exports...). Issues keep the library's texts and kinds:
 * blocking errors, time checks (blocking where nats-server asks for time checks, which it
 * always does for users and accounts) and warnings.
 */

import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import { goQuote } from "../conf/go_format.ts";
import { decodeActivationClaimsSync } from "./claims.ts";
import { parseCIDR } from "./cidr.ts";
import { atoi, parseServerVersion } from "./operator_checks.ts";
import { loadLocationError, parseClock } from "./time_window.ts";
import type {
  Account,
  AccountClaims,
  ActivationClaims,
  ClaimsData,
  DecodedJwt,
  Export,
  ExportType,
  Import,
  Info,
  OperatorClaims,
  OperatorLimits,
  Permission,
  Permissions,
  TimeRange,
  UserClaims,
  UserLimits,
} from "./types.ts";

export interface ValidationIssue {
  description: string;
  blocking: boolean;
  timeCheck: boolean;
}

/** jwt.ValidationResults. */
export class ValidationResults {
  readonly issues: ValidationIssue[] = [];

  addError(description: string): void {
    this.issues.push({ description, blocking: true, timeCheck: false });
  }

  addTimeCheck(description: string): void {
    this.issues.push({ description, blocking: false, timeCheck: true });
  }

  addWarning(description: string): void {
    this.issues.push({ description, blocking: false, timeCheck: false });
  }

  isBlocking(includeTimeChecks: boolean): boolean {
    return this.issues.some((i) => i.blocking || (includeTimeChecks && i.timeCheck));
  }

  errors(): string[] {
    return this.issues.filter((i) => i.blocking).map((i) => i.description);
  }

  /** Go's `%+v` of the results, as nats-server logs them: `&{Issues:[claim is expired]}`. */
  toString(): string {
    return `&{Issues:[${this.issues.map((i) => i.description).join(" ")}]}`;
  }
}

/** Seconds since the epoch, as Go's time.Now().Unix(). */
export function unixNow(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000);
}

const isAccountKey = (k: string) => isValidPublicNkey(k, NkeyPrefix.Account);
const isOperatorKey = (k: string) => isValidPublicNkey(k, NkeyPrefix.Operator);

/** ExportType's String(): what %q and %s print for it. */
const typeName = (t: ExportType | undefined) => t ?? "unknown";

// Common parts ----------------------------------------------------------------------------------

function validateClaimsData(c: ClaimsData, vr: ValidationResults, now: number): void {
  if ((c.exp ?? 0) > 0 && now > c.exp!) vr.addTimeCheck("claim is expired");
  if ((c.nbf ?? 0) > 0 && c.nbf! > now) vr.addTimeCheck("claim is not yet valid");
}

function validateSubject(s: string, vr: ValidationResults): void {
  if (s === "") vr.addError("subject cannot be empty");
  if (s.includes(" ")) vr.addError(`subject ${goQuote(s)} cannot have spaces`);
}

/** jwt.Subject.HasWildCards. */
export function hasWildCards(s: string): boolean {
  return s.endsWith(".>") || s.includes(".*.") || s.endsWith(".*") || s.startsWith("*.") ||
    s === "*" || s === ">";
}

/** jwt.Subject.IsContainedIn: `s` is inside the (possibly wildcard) subject `other`. */
export function isContainedIn(s: string, other: string): boolean {
  const o = other.split(".");
  const m = s.split(".");
  if (m.length > o.length && o[o.length - 1] !== ">") return false;
  if (m.length < o.length) return false;
  for (let i = 0; i < o.length; i++) {
    if (i === o.length - 1 && o[i] === ">") return true;
    if (o[i] !== m[i] && o[i] !== "*") return false;
  }
  return true;
}

function checkPermission(vr: ValidationResults, subj: string, permitQueue: boolean): void {
  const tk = subj.split(" ");
  if (tk.length === 1) {
    validateSubject(tk[0], vr);
  } else if (tk.length === 2) {
    validateSubject(tk[0], vr);
    validateSubject(tk[1], vr);
    if (!permitQueue) {
      vr.addError(`Permission Subject "${subj}" is not allowed to contain queue`);
    }
  } else {
    vr.addError(`Permission Subject "${subj}" contains too many spaces`);
  }
}

function validatePermission(p: Permission | undefined, vr: ValidationResults, queue: boolean) {
  for (const s of p?.allow ?? []) checkPermission(vr, s, queue);
  for (const s of p?.deny ?? []) checkPermission(vr, s, queue);
}

function validatePermissions(p: Permissions, vr: ValidationResults): void {
  validatePermission(p.sub, vr, true);
  validatePermission(p.pub, vr, false);
}

function validateTimeRange(t: TimeRange, vr: ValidationResults): void {
  if (!t.start) vr.addError("time ranges start must contain a start");
  else if (parseClock(t.start) === null) {
    vr.addError(`start in time range is invalid ${goQuote(t.start)}`);
  }
  if (!t.end) vr.addError("time ranges end must contain an end");
  else if (parseClock(t.end) === null) {
    vr.addError(`end in time range is invalid ${goQuote(t.end)}`);
  }
}

function validateLimits(l: UserLimits, vr: ValidationResults): void {
  for (const cidr of l.src ?? []) {
    if (parseCIDR(cidr) === null) vr.addError(`invalid cidr ${goQuote(cidr)} in user src limits`);
  }
  for (const t of l.times ?? []) validateTimeRange(t, vr);
  if (l.times_location) {
    const err = loadLocationError(l.times_location);
    if (err !== null) vr.addError(`could not parse iana time zone by name: ${err}`);
  }
}

// URLs as Go's url.Parse sees them (just what the checks below depend on) ------------------------

interface GoUrl {
  scheme: string;
  host: string;
  hasUser: boolean;
  path: string;
}

/** A subset of Go's url.Parse: scheme, userinfo, host, path; errors worded as Go's. */
function goUrlParse(raw: string): GoUrl | string {
  const fail = (msg: string) => `parse ${goQuote(raw)}: ${msg}`;
  if ([...raw].some((c) => c < " " || c === "\x7f")) {
    return fail("net/url: invalid control character in URL");
  }
  let rest = raw.split("#")[0];
  let scheme = "";
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) break;
      continue;
    }
    if (c === ":") {
      if (i === 0) return fail("missing protocol scheme");
      scheme = rest.slice(0, i).toLowerCase();
      rest = rest.slice(i + 1);
    }
    break;
  }
  rest = rest.split("?")[0];
  if (scheme !== "" && !rest.startsWith("/")) return { scheme, host: "", hasUser: false, path: "" };
  let host = "";
  let hasUser = false;
  if ((scheme !== "" || !rest.startsWith("///")) && rest.startsWith("//")) {
    const auth = rest.slice(2).split("/")[0];
    rest = rest.slice(2 + auth.length);
    const at = auth.lastIndexOf("@");
    hasUser = at >= 0;
    host = at >= 0 ? auth.slice(at + 1) : auth;
    const colon = host.startsWith("[") ? host.indexOf(":", host.indexOf("]")) : host.indexOf(":");
    if (colon >= 0 && !/^\d*$/.test(host.slice(colon + 1))) {
      return fail(`invalid port ${goQuote(host.slice(colon))} after host`);
    }
  }
  return { scheme, host, hasUser, path: rest };
}

/** url.URL.Hostname(): the host without port or IPv6 brackets. */
function hostname(u: GoUrl): string {
  const h = u.host;
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") < 0 ? undefined : h.indexOf("]"));
  const colon = h.indexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

const MAX_INFO_LENGTH = 8 * 1024;

function validateInfo(i: Info, vr: ValidationResults): void {
  if ((i.description ?? "").length > MAX_INFO_LENGTH) vr.addError("Description is too long");
  if (i.info_url) {
    if (i.info_url.length > MAX_INFO_LENGTH) vr.addError("Info URL is too long");
    const u = goUrlParse(i.info_url);
    if (typeof u === "string") vr.addError(`error parsing info url: ${u}`);
    else if (hostname(u) === "" || u.scheme === "") {
      vr.addError("error parsing info url: no hostname or scheme");
    }
  }
}

// Users -----------------------------------------------------------------------------------------

/** jwt.UserClaims.Validate. */
export function validateUser(u: UserClaims, now = unixNow()): ValidationResults {
  const vr = new ValidationResults();
  validateClaimsData(u, vr, now);
  validatePermissions(u.nats, vr);
  validateLimits(u.nats, vr);
  const ia = u.nats.issuer_account ?? "";
  if (ia !== "" && !isAccountKey(ia)) vr.addError("account_id is not an account public key");
  return vr;
}

// Activations -----------------------------------------------------------------------------------

function validateActivationInto(
  a: ActivationClaims,
  vr: ValidationResults,
  now: number,
  timeChecks: boolean,
): void {
  if (timeChecks) validateClaimsData(a, vr, now);
  if (a.nats.kind !== "stream" && a.nats.kind !== "service") {
    vr.addError(`invalid import type: ${goQuote(typeName(a.nats.kind))}`);
  }
  validateSubject(a.nats.subject ?? "", vr);
  const ia = a.nats.issuer_account ?? "";
  if (ia !== "" && !isAccountKey(ia)) vr.addError("account_id is not an account public key");
}

/** jwt.ActivationClaims.Validate. */
export function validateActivation(a: ActivationClaims, now = unixNow()): ValidationResults {
  const vr = new ValidationResults();
  validateActivationInto(a, vr, now, true);
  return vr;
}

// Accounts --------------------------------------------------------------------------------------

function countTokenWildcards(s: string): number {
  if (s === "*") return 1;
  return s.split(".").filter((t) => t === "*").length;
}

/** jwt.RenamingSubject.ToSubject: `$N` references become `*`. */
function renamingToSubject(s: string): string {
  if (!s.includes("$")) return s;
  return s.split(".").map((t) =>
    t.length > 1 && t[0] === "$" && atoi(t.slice(1)) !== null ? "*" : t
  )
    .join(".");
}

function validateRenamingSubject(s: string, from: string, vr: ValidationResults): void {
  validateSubject(s, vr);
  if (from === "") vr.addError("subject cannot be empty");
  if (s.includes(" ")) vr.addError(`subject ${goQuote(s)} cannot have spaces`);
  const suffix = (x: string) => x === ">" || x.endsWith(".>");
  if (suffix(s) !== suffix(from)) {
    vr.addError("both, renaming subject and subject, need to end or not end in >");
  }
  const fromCnt = countTokenWildcards(from);
  let refCnt = 0;
  for (const tk of s.split(".")) {
    if (tk === "*") refCnt++;
    if (tk.length < 2) continue;
    if (tk[0] === "$") {
      const idx = atoi(tk.slice(1));
      if (idx !== null) {
        if (idx > fromCnt) {
          vr.addError(
            `Reference $${idx} in ${goQuote(s)} reference * in ${goQuote(from)} that do not exist`,
          );
        } else {
          refCnt++;
        }
      }
    }
  }
  if (refCnt !== fromCnt) {
    vr.addError("subject does not contain enough * or reference wildcards $[0-9]");
  }
}

/** jwt.Import.Validate: an import of `account`, its activation token decoded and checked. */
export function validateImport(
  i: Import,
  account: string,
  vr: ValidationResults,
  now = unixNow(),
): void {
  if (i.type !== "service" && i.type !== "stream") {
    vr.addError(`invalid import type: ${goQuote(typeName(i.type))}`);
  }
  if (!i.account) vr.addError("account to import from is not specified");
  if (i.to) vr.addWarning("the field to has been deprecated (use LocalSubject instead)");
  const subject = i.subject ?? "";
  validateSubject(subject, vr);
  if (i.local_subject) {
    validateRenamingSubject(i.local_subject, subject, vr);
    if (i.to) vr.addError("Local Subject replaces To");
  }
  if (i.share && i.type !== "service") {
    vr.addError(
      `sharing information (for latency tracking) is only valid for services: ${goQuote(subject)}`,
    );
  }
  if (!i.token) return;
  let act: ActivationClaims;
  try {
    act = decodeActivationClaimsSync(i.token);
  } catch {
    vr.addError(`import ${goQuote(subject)} contains an invalid activation token`);
    return;
  }
  if (!(act.iss === i.account || act.nats.issuer_account === i.account)) {
    vr.addError(`activation token doesn't match account for import ${goQuote(subject)}`);
  }
  if (act.sub !== account) {
    vr.addError(
      `activation token doesn't match account it is being included in, ${goQuote(subject)}`,
    );
  }
  if (act.nats.kind !== i.type) {
    vr.addError(
      `mismatch between token import type ${typeName(act.nats.kind)} and type of import ${
        typeName(i.type)
      }`,
    );
  }
  validateActivationInto(act, vr, now, false);
  const subj = i.type === "service" && i.to ? i.to : subject;
  if (!isContainedIn(subj, act.nats.subject ?? "")) {
    vr.addError(
      `activation token import subject ${goQuote(act.nats.subject ?? "")} doesn't match import ${
        goQuote(subject)
      }`,
    );
  }
}

function validateImports(a: Account, account: string, vr: ValidationResults, now: number) {
  const toSet = new Set<string>();
  for (const i of a.imports ?? []) {
    if (i === null) {
      vr.addError("null import is not allowed");
      continue;
    }
    if (i.type === "service") {
      let sub = i.to ?? "";
      if (sub === "") sub = renamingToSubject(i.local_subject ?? "");
      if (sub === "") sub = i.subject ?? "";
      for (const k of toSet) {
        if (isContainedIn(sub, k) || isContainedIn(k, sub)) {
          vr.addError(`overlapping subject namespace for ${goQuote(sub)} and ${goQuote(k)}`);
        }
      }
      if (toSet.has(sub)) vr.addError(`overlapping subject namespace for ${goQuote(i.to ?? "")}`);
      toSet.add(sub);
    }
    validateImport(i, account, vr, now);
  }
}

function validateExport(e: Export, vr: ValidationResults): void {
  const service = e.type === "service";
  const rt = e.response_type ?? "";
  if (!service && e.type !== "stream") {
    vr.addError(`invalid export type: ${goQuote(typeName(e.type))}`);
  }
  if (service && !["", "Singleton", "Chunked", "Stream"].includes(rt)) {
    vr.addError(`invalid response type for service: ${goQuote(rt)}`);
  }
  if (e.type === "stream" && rt !== "") {
    vr.addError(`invalid response type for stream: ${goQuote(rt)}`);
  }
  if (e.service_latency) {
    if (!service) vr.addError("latency tracking only permitted for services");
    const { sampling, results } = e.service_latency;
    if (sampling !== 0 && (sampling < 1 || sampling > 100)) {
      vr.addError("sampling percentage needs to be between 1-100");
    }
    validateSubject(results ?? "", vr);
    if (hasWildCards(results ?? "")) vr.addError("results subject can not contain wildcards");
  }
  const threshold = e.response_threshold ?? 0;
  if (threshold < 0) vr.addError("negative response threshold is invalid");
  if (threshold > 0 && !service) vr.addError("response threshold only valid for services");
  const subject = e.subject ?? "";
  validateSubject(subject, vr);
  const pos = e.account_token_position ?? 0;
  if (pos > 0) {
    if (!hasWildCards(subject)) {
      vr.addError(`Account Token Position can only be used with wildcard subjects: ${subject}`);
    } else {
      const tokens = subject.split(".");
      if (pos > tokens.length) {
        vr.addError(`Account Token Position ${pos} exceeds length of subject '${subject}'`);
      } else if (tokens[pos - 1] !== "*") {
        vr.addError(
          `Account Token Position ${pos} matches '${
            tokens[pos - 1]
          }' but must match a * in: ${subject}`,
        );
      }
    }
  }
  validateInfo(e, vr);
}

/** Exports whose subject is inside another export of the same kind. */
function overlappingExports(kind: ExportType, subjects: string[], vr: ValidationResults): void {
  const m = new Map<string, string>();
  subjects.forEach((ns, i) => {
    subjects.forEach((s, j) => {
      if (i !== j && isContainedIn(ns, s) && !m.has(s)) m.set(s, ns);
    });
  });
  for (const [k, v] of m) {
    vr.addError(`${kind} export subject ${goQuote(k)} already exports ${goQuote(v)}`);
  }
}

function validateExports(a: Account, vr: ValidationResults): void {
  const services: string[] = [];
  const streams: string[] = [];
  for (const e of a.exports ?? []) {
    if (e === null) {
      vr.addError("null export is not allowed");
      continue;
    }
    (e.type === "service" ? services : streams).push(e.subject ?? "");
    validateExport(e, vr);
  }
  overlappingExports("service", services, vr);
  overlappingExports("stream", streams, vr);
}

/** The JetStream limits of an account JWT, in the order jwt.OperatorLimits lists them. */
export const JS_KEYS = [
  "mem_storage",
  "disk_storage",
  "streams",
  "consumer",
  "max_ack_pending",
  "mem_max_stream_bytes",
  "disk_max_stream_bytes",
  "max_bytes_required",
] as const;
/** The NATS limits of an account JWT, in the order jwt.OperatorLimits lists them. */
export const NATS_ACCOUNT_KEYS = [
  "subs",
  "data",
  "payload",
  "imports",
  "exports",
  "wildcards",
  "disallow_bearer",
  "conn",
  "leaf",
] as const;

const hasJsLimits = (l: OperatorLimits) => JS_KEYS.some((k) => !!l[k]);

/** OperatorLimits.IsEmpty: nothing set at all. */
export function limitsEmpty(l: OperatorLimits): boolean {
  return !NATS_ACCOUNT_KEYS.some((k) => !!l[k]) && !hasJsLimits(l) &&
    Object.keys(l.tiered_limits ?? {}).length === 0;
}

function validateOperatorLimits(l: OperatorLimits, vr: ValidationResults): void {
  const tiers = Object.keys(l.tiered_limits ?? {});
  if (tiers.length === 0) return;
  if (hasJsLimits(l)) {
    vr.addError("JetStream Limits and tiered JetStream Limits are mutually exclusive");
  }
  if (tiers.includes("")) {
    vr.addError(`Tiered JetStream Limits can not contain a blank "" tier name`);
  }
}

function validateMappings(a: Account, vr: ValidationResults): void {
  for (const [from, list] of Object.entries(a.mappings ?? {})) {
    validateSubject(from, vr);
    let total = 0;
    for (const wm of list) {
      validateSubject(wm.subject ?? "", vr);
      if (hasWildCards(wm.subject ?? "")) {
        vr.addError(
          `Subject ${goQuote(wm.subject)} in weighted mapping ${
            goQuote(from)
          } is not allowed to contains wildcard`,
        );
      }
      total = (total + (wm.weight || 100)) & 0xff;
    }
    if (total > 100) {
      vr.addError(
        `Mapping ${goQuote(from)} exceeds 100% among all of it's weighted to mappings`,
      );
    }
  }
}

/** jwt.AccountClaims.Validate as a promise (see validateAccountSync). */
export function validateAccount(a: AccountClaims, now = unixNow()): Promise<ValidationResults> {
  return new Promise((resolve) => resolve(validateAccountSync(a, now)));
}

/** jwt.AccountClaims.Validate; imports' activation tokens are decoded and signature-checked. */
export function validateAccountSync(a: AccountClaims, now = unixNow()): ValidationResults {
  const vr = new ValidationResults();
  validateClaimsData(a, vr, now);
  const acc = a.nats;
  validateImports(acc, a.sub, vr, now);
  validateExports(acc, vr);
  validateOperatorLimits(acc.limits, vr);
  validatePermissions(acc.default_permissions, vr);
  validateMappings(acc, vr);
  const imports = acc.imports?.length ?? 0;
  const exports = acc.exports ?? [];
  const lim = acc.limits;
  const limImports = lim.imports ?? 0;
  const limExports = lim.exports ?? 0;
  if (!limitsEmpty(lim) && limImports >= 0 && imports > limImports) {
    vr.addError("the account contains more imports than allowed by the operator");
  }
  if (limImports !== -1 && imports > limImports) {
    vr.addError("the account contains more imports than allowed by the operator");
  }
  if (limExports !== -1) {
    if (exports.length > limExports) {
      vr.addError("the account contains more exports than allowed by the operator");
    }
    if (!lim.wildcards) {
      for (const e of exports) {
        if (e !== null && hasWildCards(e.subject ?? "")) {
          vr.addError("the account contains wildcard exports that are not allowed by the operator");
        }
      }
    }
  }
  for (const k of acc.signing_keys) {
    if (typeof k === "string") {
      if (!isAccountKey(k)) vr.addError(`${goQuote(k)} is not a valid account signing key`);
    } else if (!isAccountKey(k.key)) {
      vr.addError(`${k.key} is not an account public key`);
    }
  }
  validateInfo(acc, vr);
  if (isAccountKey(a.iss) && !limitsEmpty(lim)) {
    vr.addWarning("self-signed account JWTs shouldn't contain operator limits");
  }
  return vr;
}

// Operators -------------------------------------------------------------------------------------

function validateOperatorServiceUrl(v: string): string | null {
  const u = goUrlParse(v);
  if (typeof u === "string") return `error parsing operator service url ${goQuote(v)}: ${u}`;
  if (u.hasUser) return `operator service url ${goQuote(v)} - credentials are not supported`;
  if (u.path !== "") return `operator service url ${goQuote(v)} - paths are not supported`;
  if (u.scheme !== "nats" && u.scheme !== "tls") {
    return `operator service url ${
      goQuote(v)
    } - protocol not supported (only 'nats' or 'tls' only)`;
  }
  return null;
}

/** jwt.OperatorClaims.Validate. */
export function validateOperator(o: OperatorClaims, now = unixNow()): ValidationResults {
  const vr = new ValidationResults();
  validateClaimsData(o, vr, now);
  const op = o.nats;
  if (op.account_server_url) {
    const u = goUrlParse(op.account_server_url);
    if (typeof u === "string") vr.addError(`error parsing account server url: ${u}`);
    else if (u.scheme === "") {
      vr.addError(`account server url ${goQuote(op.account_server_url)} requires a protocol`);
    }
  }
  for (const url of op.operator_service_urls ?? []) {
    if (url === "") continue;
    const err = validateOperatorServiceUrl(url);
    if (err !== null) vr.addError(err);
  }
  for (const k of op.signing_keys ?? []) {
    if (!isOperatorKey(k)) vr.addError(`${k} is not an operator public key`);
  }
  if (op.system_account && !isAccountKey(op.system_account)) {
    vr.addError(`${op.system_account} is not an account public key`);
  }
  const ver = parseServerVersion(op.assert_server_version ?? "");
  if (typeof ver === "string") vr.addError(`assert server version error: ${ver}`);
  return vr;
}

/** Claims.Validate for any decoded JWT. */
export function validateClaims(d: DecodedJwt, now = unixNow()): ValidationResults {
  switch (d.kind) {
    case "user":
      return validateUser(d.claims, now);
    case "account":
      return validateAccountSync(d.claims, now);
    case "operator":
      return validateOperator(d.claims, now);
    case "activation":
      return validateActivation(d.claims, now);
    case "generic": {
      const vr = new ValidationResults();
      validateClaimsData(d.claims, vr, now);
      return vr;
    }
  }
}
