/**
 * The `accounts` block, parsed as nats-server 2.9.10's parseAccounts does: both forms (a list of
 * names, or a map of account blocks), each account's users, default permissions, exports,
 * imports and limits, with its error texts and positions.
 *
 * nats-server walks a block's keys in Go's random map order, so where a result depends on the
 * order of keys (`to` before or after `prefix`, a response type before a `stream`), we take the
 * order of the file, which is always one of the orders nats-server may take.
 *
 * Two values are kept as written, for the modules that own them: an account's `mappings`
 * (AccountOptions.mappingsNode) and its `jetstream` (AccountOptions.jetstream). The checks that
 * need every account at once (exporter defined, import authorized, cycles) are in
 * accounts_check.ts, run by config.ts once the whole file is mapped.
 */

import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import {
  type AccountOptions,
  defaultAccountLimits,
  GLOBAL_ACCOUNT,
  type ResponseType,
  type ServiceExportOptions,
  type ServiceImportOptions,
  type StreamExportOptions,
  type StreamImportOptions,
  type User,
} from "../options.ts";
import type { Position } from "./errors.ts";
import type { ConfNode } from "./parser.ts";
import {
  goDuration,
  goQuote,
  goType,
  goValue,
  type Mapper,
  parseUserPermissions,
  parseUsers,
} from "../config.ts";
import { parseAccountJetStream } from "./jetstream.ts";

/** nats-server's DEFAULT_SERVICE_LATENCY_SAMPLING. */
const DEFAULT_LATENCY_SAMPLING = 100;

/** The only reserved name in 2.9.10 (isReservedAccount); `$SYS` may be defined like any other. */
export function isReservedAccount(name: string): boolean {
  return name === GLOBAL_ACCOUNT;
}

/** Parses `accounts` into m.out.accounts, and the accounts' users into m.out.users. */
export function parseAccounts(m: Mapper, node: ConfNode): void {
  const o = m.out;
  o.accounts ??= [];
  if (node.kind === "array") {
    const seen = new Set<string>();
    for (const entry of node.value) {
      // A name that is not a string ends the whole block, as nats-server's panic does.
      const name = m.string(entry);
      if (isReservedAccount(name)) {
        m.error(entry.pos, `${goQuote(name)} is a Reserved Account`);
        continue;
      }
      if (seen.has(name)) {
        m.error(entry.pos, `Duplicate Account Entry: ${name}`);
        continue;
      }
      seen.add(name);
      o.accounts.push(newAccount(name));
    }
    return;
  }
  // Any other kind than a list or a map is silently ignored by nats-server.
  if (node.kind !== "map") return;

  // User names and nkeys are unique across accounts and the authorization block.
  const taken = new Set((o.users ?? []).map(userKey));
  for (const [name, v] of node.value) {
    if (v.usedVariable) continue; // a block-local variable, not an account
    if (v.kind !== "map") {
      m.error(v.pos, "Expected map entries for accounts");
      continue;
    }
    if (isReservedAccount(name)) {
      m.error(v.pos, `${goQuote(name)} is a Reserved Account`);
      continue;
    }
    const acc = newAccount(name);
    o.accounts.push(acc);
    const { users, usersPos } = parseAccount(m, acc, v.value);
    if (users.length === 0 || !usersPos) continue;
    if (o.username) {
      m.error(usersPos, "Can not have a single user/pass and accounts");
      continue;
    }
    if (o.authorization) {
      m.error(usersPos, "Can not have a token and accounts");
      continue;
    }
    // nats-server checks the account's nkey users first, then its password users; we keep the
    // users in the file's order.
    const duplicates = new Set<User>();
    for (const u of [...users.filter((u) => u.nkey), ...users.filter((u) => !u.nkey)]) {
      const key = userKey(u);
      if (taken.has(key)) {
        m.error(usersPos, `Duplicate ${u.nkey ? "nkey" : "user"} ${goQuote(key)} detected`);
        duplicates.add(u);
      }
      taken.add(key);
    }
    for (const u of users) {
      if (duplicates.has(u)) continue;
      if (acc.defaultPermissions) u.permissions ??= acc.defaultPermissions;
      u.account = name;
      (o.users ??= []).push(u);
    }
  }
}

function userKey(u: User): string {
  return u.nkey || u.username;
}

/** An account as a bare name defines it (nats-server's NewAccount). */
export function newAccount(name: string): AccountOptions {
  return {
    name,
    streamExports: [],
    serviceExports: [],
    streamImports: [],
    serviceImports: [],
    mappings: [],
    limits: defaultAccountLimits(),
  };
}

/** One account's block; returns its users for the cross-account checks. */
function parseAccount(
  m: Mapper,
  acc: AccountOptions,
  block: Map<string, ConfNode>,
): { users: User[]; usersPos?: Position } {
  let users: User[] = [];
  let usersPos: Position | undefined;
  for (const [key, v] of block) {
    m.guard(() => {
      switch (key.toLowerCase()) {
        case "nkey":
          if (v.kind !== "string" || !isValidPublicNkey(v.value, NkeyPrefix.Account)) {
            m.error(v.pos, `Not a valid public nkey for an account: ${goQ(v)}`);
            return;
          }
          acc.nkey = v.value;
          return;
        case "imports":
          parseImports(m, acc, v);
          return;
        case "exports":
          parseExports(m, acc, v);
          return;
        case "jetstream":
          acc.jetstream = v;
          acc.jetstreamLimits = parseAccountJetStream(m, v);
          return;
        case "users":
          usersPos = v.pos;
          users = [];
          if (v.kind !== "array") {
            // nats-server hands this one the bare value, so its error has no position.
            m.unplaced(v.pos, `Expected users field to be an array, got ${goValue(v)}`);
            return;
          }
          users = parseUsers(m, v);
          return;
        case "default_permissions":
          acc.defaultPermissions = parseUserPermissions(m, v);
          return;
        case "mappings":
        case "maps":
          acc.mappingsNode = v;
          return;
        case "limits":
          parseLimits(m, acc, v);
          return;
        default:
          if (!v.usedVariable) m.unknown(v.pos, key);
      }
    });
  }
  return { users, usersPos };
}

function parseLimits(m: Mapper, acc: AccountOptions, node: ConfNode): void {
  if (node.kind !== "map") {
    m.abandon(node.pos, `Expected account limits to be a map/struct, got ${goValue(node)}`);
  }
  // Go stores these as int32.
  const int32 = (v: ConfNode) => m.int(v) | 0;
  for (const [key, v] of node.value) {
    switch (key.toLowerCase()) {
      case "max_connections":
      case "max_conn":
        acc.limits.maxConnections = int32(v);
        break;
      case "max_subscriptions":
      case "max_subs":
        acc.limits.maxSubscriptions = int32(v);
        break;
      case "max_payload":
      case "max_pay":
        acc.limits.maxPayload = int32(v);
        break;
      case "max_leafnodes":
      case "max_leafs":
        acc.limits.maxLeafnodes = int32(v);
        break;
      default:
        if (!v.usedVariable) {
          m.error(v.pos, `Unknown field ${goQuote(key)} parsing account limits`);
        }
    }
  }
}

// ---- exports ----

function parseExports(m: Mapper, acc: AccountOptions, node: ConfNode): void {
  if (node.kind !== "array") {
    m.abandon(node.pos, `Exports should be an array, got ${goType(node)}`);
  }
  for (const entry of node.value) {
    m.guard(() => {
      const e = parseExport(m, entry);
      if (e?.stream) acc.streamExports.push(e.stream);
      if (e?.service) acc.serviceExports.push(e.service);
    });
  }
}

/**
 * One export: `{stream: subj}` or `{service: subj}` with `accounts`, response type, threshold,
 * latency and account_token_position, which may come before or after the kind key.
 */
function parseExport(
  m: Mapper,
  node: ConfNode,
): { stream?: StreamExportOptions; service?: ServiceExportOptions } | undefined {
  if (node.kind !== "map") {
    m.error(node.pos, `Export Items should be a map with type entry, got ${goType(node)}`);
    return undefined;
  }
  let stream: StreamExportOptions | undefined;
  let service: ServiceExportOptions | undefined;
  let accounts: string[] | undefined;
  let rt: ResponseType = "Singleton";
  let rtSeen = false;
  let rtPos: Position | undefined;
  let latency: ServiceExportOptions["latency"];
  let latPos: Position | undefined;
  let threshSeen = false;
  let thresholdMs = 0;
  let tokenPos = 0;
  for (const [key, v] of node.value) {
    switch (key.toLowerCase()) {
      case "stream":
        if (service) {
          m.error(v.pos, `Detected stream ${goQ(v)} but already saw a service`);
          break;
        }
        if (rtPos) {
          m.error(rtPos, "Detected response directive on non-service");
          break;
        }
        if (latPos) {
          m.error(latPos, "Detected latency directive on non-service");
          break;
        }
        if (v.kind !== "string") {
          m.error(v.pos, `Expected stream name to be string, got ${goType(v)}`);
          break;
        }
        stream = { subject: v.value };
        if (accounts) stream.accounts = accounts;
        break;
      case "service":
        if (stream) {
          m.error(v.pos, `Detected service ${goQ(v)} but already saw a stream`);
          break;
        }
        if (v.kind !== "string") {
          m.error(v.pos, `Expected service name to be string, got ${goType(v)}`);
          break;
        }
        service = { subject: v.value, responseType: rt, responseThresholdMs: thresholdMs };
        if (accounts) service.accounts = accounts;
        if (latency) service.latency = latency;
        break;
      case "response":
      case "response_type": {
        if (rtSeen) {
          m.error(v.pos, "Duplicate response type definition");
          break;
        }
        rtSeen = true;
        rtPos = v.pos;
        if (v.kind !== "string") {
          m.error(v.pos, `Expected response type to be string, got ${goType(v)}`);
          break;
        }
        const parsed = RESPONSE_TYPES[v.value.toLowerCase()];
        if (!parsed) {
          m.error(v.pos, `Unknown response type: ${goQuote(v.value)}`);
          break;
        }
        rt = parsed;
        if (service) service.responseType = rt;
        if (stream) m.error(v.pos, "Detected response directive on non-service");
        break;
      }
      case "threshold":
      case "response_threshold":
      case "response_max_time":
      case "response_time": {
        if (threshSeen) {
          m.error(v.pos, "Duplicate response threshold detected");
          break;
        }
        threshSeen = true;
        const what = "Expected response threshold to be a parseable time duration";
        if (v.kind !== "string") {
          m.error(v.pos, `${what}, got ${goType(v)}`);
          break;
        }
        const ms = goDuration(v.value);
        if (typeof ms === "string") {
          m.error(v.pos, `${what}, got ${goQuote(v.value)}`);
          break;
        }
        thresholdMs = ms;
        if (service) service.responseThresholdMs = ms;
        if (stream) m.error(v.pos, "Detected response directive on non-service");
        break;
      }
      case "accounts":
        // A wrong type here drops the whole export (nats-server's panic).
        accounts = m.want(v, "array").map((a) => m.string(a));
        if (stream) stream.accounts = accounts;
        else if (service) service.accounts = accounts;
        break;
      case "latency":
        latPos = v.pos;
        latency = parseLatency(m, v);
        if (!latency) break;
        if (stream) {
          m.error(v.pos, "Detected latency directive on non-service");
          break;
        }
        if (service) service.latency = latency;
        break;
      case "account_token_position":
        tokenPos = m.int(v);
        break;
      default:
        if (!v.usedVariable) m.unknown(v.pos, key);
    }
  }
  if (tokenPos !== 0) {
    if (stream) stream.accountTokenPosition = tokenPos;
    if (service) service.accountTokenPosition = tokenPos;
  }
  return { stream, service };
}

const RESPONSE_TYPES: Record<string, ResponseType> = {
  single: "Singleton",
  singleton: "Singleton",
  stream: "Stream",
  chunk: "Chunked",
  chunked: "Chunked",
};

/** `latency: "subject"` or `latency: {sampling, subject}`; undefined after an error. */
function parseLatency(m: Mapper, node: ConfNode): ServiceExportOptions["latency"] {
  if (node.kind === "string") {
    return { sampling: DEFAULT_LATENCY_SAMPLING, subject: node.value };
  }
  if (node.kind !== "map") {
    m.error(
      node.pos,
      `Expected latency entry to be a map/struct or string, got ${goType(node)}`,
    );
    return undefined;
  }
  let sampling = DEFAULT_LATENCY_SAMPLING;
  // nats-server looks these two keys up as written, without folding case.
  const s = node.value.get("sampling");
  if (s) {
    let headers = false;
    if (s.kind === "integer") {
      sampling = s.value;
    } else if (s.kind === "string") {
      if (s.value.trim().toLowerCase() === "headers") {
        headers = true;
        sampling = 0;
      } else {
        const n = goAtoi(s.value.endsWith("%") ? s.value.slice(0, -1) : s.value);
        if (typeof n === "string") {
          m.error(s.pos, `Failed to parse latency sample: ${n}`);
          return undefined;
        }
        sampling = n;
      }
    } else {
      m.error(s.pos, `Expected latency sample to be a string or map/struct, got ${goType(s)}`);
      return undefined;
    }
    if (!headers && (sampling < 1 || sampling > 100)) {
      m.error(s.pos, "bad sampling percentage, should be 1-100");
      return undefined;
    }
  }
  const subject = node.value.get("subject");
  if (!subject) {
    m.error(node.pos, "Latency subject required, but missing");
    return undefined;
  }
  if (subject.kind !== "string") {
    // nats-server names the type of its empty string variable, not the value's.
    m.error(subject.pos, "Expected latency subject to be a string, got string");
    return undefined;
  }
  return { sampling, subject: subject.value };
}

// ---- imports ----

function parseImports(m: Mapper, acc: AccountOptions, node: ConfNode): void {
  if (node.kind !== "array") {
    m.abandon(node.pos, `Imports should be an array, got ${goType(node)}`);
  }
  const serviceSubjects = new Map<string, ServiceImportOptions>();
  for (const entry of node.value) {
    m.guard(() => {
      const i = parseImport(m, entry);
      if (i?.service) {
        const dup = serviceSubjects.get(i.service.to);
        if (dup) {
          m.error(
            entry.pos,
            `Duplicate service import subject ${goQuote(i.service.to)}, previously used in ` +
              `import for account ${goQuote(dup.account)}, subject ${goQuote(dup.subject)}`,
          );
          return;
        }
        serviceSubjects.set(i.service.to, i.service);
        acc.serviceImports.push(i.service);
      }
      if (i?.stream) acc.streamImports.push(i.stream);
    });
  }
}

/** One import: `{stream: {account, subject}, prefix|to}` or `{service: {...}, to, share}`. */
function parseImport(
  m: Mapper,
  node: ConfNode,
): { stream?: StreamImportOptions; service?: ServiceImportOptions } | undefined {
  if (node.kind !== "map") {
    m.error(node.pos, `Import Items should be a map with type entry, got ${goType(node)}`);
    return undefined;
  }
  let stream: StreamImportOptions | undefined;
  let service: ServiceImportOptions | undefined;
  let prefix = "";
  let to = "";
  let share = false;
  for (const [key, v] of node.value) {
    switch (key.toLowerCase()) {
      case "stream":
      case "service": {
        const isStream = key.toLowerCase() === "stream";
        if (isStream ? service : stream) {
          const [saw, other] = isStream ? ["stream", "service"] : ["service", "stream"];
          m.error(v.pos, `Detected ${saw} but already saw a ${other}`);
          break;
        }
        if (v.kind !== "map") {
          const what = isStream ? "Stream" : "Service";
          m.error(v.pos, `${what} entry should be an account map, got ${goType(v)}`);
          break;
        }
        const { account, subject } = parseAccountRef(m, v.value);
        if (account === "" || subject === "") {
          m.error(v.pos, "Expect an account name and a subject");
          break;
        }
        if (isStream) {
          stream = { account, subject };
          if (to !== "") stream.to = to;
          if (prefix !== "") stream.prefix = prefix;
        } else {
          service = { account, subject, to: to !== "" ? to : subject, share };
        }
        break;
      }
      case "prefix":
        prefix = m.string(v);
        if (stream) stream.prefix = prefix;
        break;
      case "to":
        to = m.string(v);
        if (service) service.to = to;
        if (stream) {
          stream.to = to;
          if (stream.prefix) {
            m.error(v.pos, "Stream import can not have a 'prefix' and a 'to' property");
          }
        }
        break;
      case "share":
        share = m.bool(v);
        if (service) service.share = share;
        break;
      default:
        if (!v.usedVariable) m.unknown(v.pos, key);
    }
  }
  return { stream, service };
}

/** `{account: A, subject: s}`; a wrong type empties both, as nats-server's recover does. */
function parseAccountRef(
  m: Mapper,
  block: Map<string, ConfNode>,
): { account: string; subject: string } {
  const ref = { account: "", subject: "" };
  let completed = false;
  m.guard(() => {
    for (const [key, v] of block) {
      switch (key.toLowerCase()) {
        case "account":
          ref.account = m.string(v);
          break;
        case "subject":
          ref.subject = m.string(v);
          break;
        default:
          if (!v.usedVariable) m.unknown(v.pos, key);
      }
    }
    completed = true;
  });
  return completed ? ref : { account: "", subject: "" };
}

// ---- Go formatting ----

/** Go's %q of a config value of any type (only strings are quoted as strings). */
function goQ(node: ConfNode): string {
  if (node.kind === "string") return goQuote(node.value);
  if (node.kind === "integer") return goQuoteRune(node.value);
  return `%!q(${goType(node)}=${goValue(node)})`;
}

/** Go's %q of an integer: a single-quoted character literal. */
function goQuoteRune(n: number): string {
  const valid = Number.isInteger(n) && n >= 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff);
  const c = String.fromCodePoint(valid ? n : 0xfffd);
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  return "'" + goQuote(c).slice(1, -1) + "'";
}

/** Go's strconv.Atoi (64-bit int); returns its error text on failure. */
export function goAtoi(s: string): number | string {
  if (!/^[+-]?[0-9]+$/.test(s)) return `strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`;
  const n = BigInt(s);
  if (n < -(2n ** 63n) || n > 2n ** 63n - 1n) {
    return `strconv.Atoi: parsing ${goQuote(s)}: value out of range`;
  }
  return Number(n);
}
