/**
 * An account made from (and kept up to date with) its account JWT, as nats-server 2.9.10's
 * updateAccountClaimsWithRefresh does: expiry, signing keys (scoped ones too), mappings,
 * exports (token-required, account-token-position, revocations of activations), imports (each
 * checked against its exporter, activation tokens included), limits, revoked users, bearer
 * tokens and default permissions. An update reaches connected clients: limits are applied
 * again, the newest clients over a lowered connection limit are closed, revoked users and
 * users of removed or changed signing keys are disconnected.
 */

import type { Account } from "../accounts/account.ts";
import { addServiceImport, addStreamImport, removeAccountImports } from "../accounts/imports.ts";
import { compileMappings } from "../accounts/mappings.ts";
import { CLIENT, type ClientSub, ClosedState } from "../client.ts";
import { decodeUserClaimsSync } from "../jwt/claims.ts";
import type { AccountClaims, Export, Import, UserScope } from "../jwt/types.ts";
import { isRevoked, permissionsFromJwt } from "../jwt/user_auth.ts";
import type {
  MappingOptions,
  ResponseType,
  ServiceExportOptions,
  StreamExportOptions,
} from "../options.ts";
import { isValidSubject } from "../sublist.ts";
import { addSystemExports, addSystemImports } from "../system/imports.ts";
import { activationValid, importAuthorized } from "./exports.ts";
import { configureJetStream, jetstreamLimitsOf } from "./jetstream.ts";
import { serviceImportError, streamImportError, streamImportTarget } from "./import_checks.ts";
import type { OperatorMode } from "./mode.ts";
import { clearLongTimer, longTimer, newAccountJwt } from "./state.ts";

const NS_PER_MS = 1_000_000;

/**
 * Applies account claims to `acc` (new or existing). `refreshImporters` (nats-server's
 * refreshImportingAccounts) lets accounts whose imports from this one were incomplete retry.
 */
export function applyAccountClaims(
  mode: OperatorMode,
  acc: Account,
  claims: AccountClaims,
  jwt: string,
  refreshImporters = true,
): void {
  const server = mode.server;
  // nats-server has no logger yet while it is made (the system account's claims are applied).
  if (server.running) server.log.debug(`Updating account claims: ${acc.name}/${claims.name ?? ""}`);
  const state = acc.jwt ??= newAccountJwt(claims.iss);
  if (state.issuer === "") state.issuer = claims.iss;
  checkExpiration(mode, acc, claims);
  const old = {
    signingKeys: state.signingKeys,
    streams: JSON.stringify(acc.streamExports),
    services: JSON.stringify(acc.serviceExports),
    revocations: exportRevocations(acc),
  };
  state.claims = claims;

  // Signing keys: the account key itself too, unless its operator insists on signing keys.
  const strict = mode.trust.strictSigningKeys.has(state.issuer);
  const keys = new Map<string, UserScope | null>();
  for (const k of claims.nats.signing_keys) {
    if (typeof k === "string") keys.set(k, null);
    else keys.set(k.key, k);
  }
  if (!strict) keys.set(acc.name, null);
  const alteredScope = new Set<string>();
  let signersChanged = keys.size !== old.signingKeys.size;
  for (const [k, scope] of keys) {
    if (!old.signingKeys.has(k)) signersChanged = true;
    else if (JSON.stringify(scope) !== JSON.stringify(old.signingKeys.get(k))) {
      signersChanged = true;
      alteredScope.add(k);
    }
  }
  state.signingKeys = keys;

  acc.mappings = compileMappings(validMappings(mode, acc, claims));
  setExports(acc, claims.nats.exports ?? []);
  const isSystem = acc.name === mode.systemAccountName;
  if (isSystem) addSystemExports(server, acc);

  // Imports: the old subscriptions go, the system imports and the claims' imports come back.
  removeAccountImports(acc);
  state.serviceImports = [];
  state.streamImports = [];
  for (const t of state.activationTimers) clearLongTimer(t);
  state.activationTimers = [];
  state.invalidImports.clear();
  if (!isSystem) addSystemImports(server, acc);
  const incomplete = setImports(mode, acc, claims.nats.imports ?? []);

  const exportsChanged = JSON.stringify(acc.streamExports) !== old.streams ||
    JSON.stringify(acc.serviceExports) !== old.services ||
    revocationsAdded(old.revocations, exportRevocations(acc));

  const l = claims.nats.limits;
  acc.limits = {
    maxConnections: l.conn ?? 0,
    maxSubscriptions: l.subs ?? 0,
    maxPayload: l.payload ?? 0,
    maxLeafnodes: l.leaf ?? 0,
  };
  state.disallowBearer = l.disallow_bearer ?? false;
  const rev = claims.nats.revocations;
  state.revocations = rev && Object.keys(rev).length > 0 ? { ...rev } : null;
  acc.defaultPermissions = permissionsFromJwt(claims.nats.default_permissions) ?? undefined;
  state.incomplete = incomplete.length > 0;
  for (const i of incomplete) mode.incompleteExporters.add(i.account ?? "");
  state.updated = Date.now();
  state.jwt = jwt;
  state.jetstream = jetstreamLimitsOf(claims);
  // An account in use gets its JetStream now (a new one once it is registered: mode.ts).
  if (server.jetstream !== null && server.accounts.get(acc.name) === acc) {
    configureJetStream(mode, acc, server.jetstream);
  }

  updateClients(mode, acc, claims);
  if (signersChanged) closeChangedSigners(mode, acc, keys, alteredScope);

  // Importers of this account see its new exports and signing keys.
  if (exportsChanged || signersChanged) mode.refreshImportersOf(acc.name);
  if (refreshImporters && mode.incompleteExporters.delete(acc.name)) {
    mode.refreshIncompleteImporters(acc.name);
  }
}

/** checkExpiration: expired now, or a timer that expires the account's clients later. */
function checkExpiration(mode: OperatorMode, acc: Account, claims: AccountClaims): void {
  const state = acc.jwt!;
  clearLongTimer(state.expiryTimer);
  state.expiryTimer = undefined;
  const exp = claims.exp ?? 0;
  if (exp === 0) {
    state.expired = false;
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  if (exp <= now) {
    state.expired = true;
    return;
  }
  state.expired = false;
  state.expiryTimer = longTimer((exp - now) * 1000, () => mode.accountExpired(acc));
}

/** The claims' mappings that compile (nats-server ignores one it cannot add). */
function validMappings(mode: OperatorMode, acc: Account, claims: AccountClaims): MappingOptions[] {
  const out: MappingOptions[] = [];
  for (const [subject, list] of Object.entries(claims.nats.mappings ?? {})) {
    const m: MappingOptions = {
      subject,
      destinations: list.map((w) => ({
        subject: w.subject,
        weight: w.weight || 100,
        ...(w.cluster ? { cluster: w.cluster } : {}),
      })),
    };
    try {
      compileMappings([m]);
      out.push(m);
    } catch (e) {
      mode.server.log.debug(`Error adding mapping to account [${label(acc)}]: ${e}`);
    }
  }
  return out;
}

/** nats-server's traceLabel: the key, with the JWT's name when it has one. */
export function label(acc: Account): string {
  const name = acc.jwt?.claims?.name ?? "";
  return name !== "" ? `${acc.name}/${name}` : acc.name;
}

const RESPONSE_TYPES: Record<string, ResponseType> = {
  Singleton: "Singleton",
  Stream: "Stream",
  Chunked: "Chunked",
};

function setExports(acc: Account, exports: (Export | null)[]): void {
  const streams: StreamExportOptions[] = [];
  const services: ServiceExportOptions[] = [];
  for (const e of exports) {
    if (e === null || !e.subject || !isValidSubject(e.subject)) continue;
    const common = {
      subject: e.subject,
      ...(e.account_token_position ? { accountTokenPosition: e.account_token_position } : {}),
      ...(e.token_req ? { tokenReq: true, accounts: [] } : {}),
      ...(e.revocations && Object.keys(e.revocations).length > 0
        ? { revocations: { ...e.revocations } }
        : {}),
    };
    if (e.type === "stream") {
      if (!streams.some((s) => s.subject === e.subject)) streams.push(common);
      continue;
    }
    const se: ServiceExportOptions = {
      ...common,
      responseType: RESPONSE_TYPES[e.response_type ?? ""] ?? "Singleton",
      responseThresholdMs: (e.response_threshold ?? 0) / NS_PER_MS,
    };
    if (e.service_latency) {
      se.latency = { sampling: e.service_latency.sampling, subject: e.service_latency.results };
    }
    const i = services.findIndex((s) => s.subject === e.subject);
    if (i >= 0) services[i] = se;
    else services.push(se);
  }
  acc.streamExports = streams;
  acc.serviceExports = services;
}

function exportRevocations(acc: Account): Map<string, Record<string, number>> {
  const m = new Map<string, Record<string, number>>();
  for (const e of [...acc.streamExports, ...acc.serviceExports]) {
    if (e.revocations) m.set(e.subject, e.revocations);
  }
  return m;
}

/** A revocation added or moved later: imports of the export must be checked again. */
function revocationsAdded(
  before: Map<string, Record<string, number>>,
  after: Map<string, Record<string, number>>,
): boolean {
  for (const [subject, rev] of after) {
    const old = before.get(subject) ?? {};
    for (const [k, t] of Object.entries(rev)) if (old[k] === undefined || old[k] < t) return true;
  }
  return false;
}

/** Installs the claims' imports; returns those that could not be set up. */
function setImports(mode: OperatorMode, acc: Account, imports: (Import | null)[]): Import[] {
  const server = mode.server;
  const incomplete: Import[] = [];
  for (const i of imports) {
    if (i === null) continue;
    const exporter = mode.exporter(i.account ?? "");
    if (exporter instanceof Error) {
      server.log.error(
        `Can't locate account [${i.account ?? ""}] for import of [${i.subject ?? ""}] ${
          i.type ?? "unknown"
        } (err=${exporter.message})`,
      );
      incomplete.push(i);
      continue;
    }
    let installed: ClientSub | undefined;
    const hooks = {
      activationExpires: (ms: number) => {
        const t = longTimer(ms, () => activationExpired(mode, acc, exporter, i, installed));
        acc.jwt!.activationTimers.push(t);
      },
      error: (msg: string) => server.log.error(msg),
    };
    const subject = i.subject ?? "";
    if (i.type === "stream") {
      const to = i.local_subject || undefined;
      const prefix = to ? undefined : i.to || undefined;
      server.log.debug(
        `Adding stream import ${label(exporter)}:${JSON.stringify(subject)} for ${label(acc)}:${
          JSON.stringify(to ?? i.to ?? "")
        }`,
      );
      const err = !importAuthorized(exporter, acc, subject, i, hooks)
        ? "stream import not authorized"
        : streamImportError(
          acc,
          exporter,
          subject,
          prefix,
          streamImportTarget(subject, prefix, to),
        );
      if (err !== null) {
        server.log.debug(`Error adding stream import to account [${label(acc)}]: ${err}`);
        incomplete.push(i);
        continue;
      }
      addStreamImport(server, acc, exporter, subject, prefix, to);
      installed = acc.importSubs.at(-1);
      acc.jwt!.streamImports.push({
        account: exporter,
        from: subject,
        to: streamImportTarget(subject, prefix, to),
      });
    } else if (i.type === "service") {
      const local = i.local_subject || subject;
      const remote = i.local_subject ? subject : (i.to || subject);
      server.log.debug(
        `Adding service import ${label(exporter)}:${JSON.stringify(local)} for ${label(acc)}:${
          JSON.stringify(remote)
        }`,
      );
      let err: string | null = null;
      if (!isValidSubject(local) || !isValidSubject(remote)) err = "sublist: invalid subject";
      else if (!importAuthorized(exporter, acc, remote, i, hooks)) {
        err = "service import not authorized";
      } else err = serviceImportError(acc, exporter, local);
      if (err !== null) {
        server.log.debug(`Error adding service import to account [${label(acc)}]: ${err}`);
        incomplete.push(i);
        continue;
      }
      addServiceImport(server, acc, exporter, local, remote);
      installed = acc.importSubs.at(-1);
      acc.jwt!.serviceImports.push({ account: exporter, from: local, to: remote });
    }
  }
  return incomplete;
}

/**
 * An import's activation token expired (nats-server's activationExpired): unless the exporter
 * accepts it still (a new token arrived), the import becomes invalid. Its messages stop; a
 * service import keeps its interest, so requests wait unanswered as on nats-server.
 */
function activationExpired(
  mode: OperatorMode,
  acc: Account,
  exporter: Account,
  i: Import,
  sub: ClientSub | undefined,
): void {
  const st = acc.jwt;
  if (!st || st.expired || sub === undefined || sub.closed) return;
  if (activationValid(exporter, acc, i, undefined, null)) return;
  st.invalidImports.add(i);
  const at = acc.importSubs.indexOf(sub);
  sub.client.account.internal?.unsubscribe(sub);
  if (at < 0) return;
  if (i.type === "service") {
    acc.importSubs[at] = mode.server.internalClient(acc).subscribe(sub.subject, () => {});
  } else {
    acc.importSubs.splice(at, 1);
  }
}

/**
 * After new claims: limits applied again to each client (newest first over a lowered connection
 * limit, those beyond it closed), revoked users and disallowed bearer tokens disconnected.
 */
function updateClients(mode: OperatorMode, acc: Account, claims: AccountClaims): void {
  const clients = [...acc.clients];
  const max = acc.limits.maxConnections;
  if (max !== -1 && clients.length > max) clients.sort((a, b) => b.start - a.start);
  // Leafnodes bound to the account are checked too; only clients count toward `conn`.
  const all = [...clients, ...(mode.server.leafnodes?.byAccount.get(acc) ?? [])];
  const checkUsers = claims.nats.revocations !== undefined ||
    (claims.nats.limits.disallow_bearer ?? false);
  for (let i = 0; i < all.length; i++) {
    const c = all[i];
    if (max !== -1 && i >= max && c.kind === CLIENT) {
      mode.maxAccountConnExceeded(c);
      continue;
    }
    c.applyLimits();
    if (!checkUsers || c.jwt === null) continue;
    let bearer: boolean;
    let revoked: boolean;
    try {
      const juc = decodeUserClaimsSync(c.jwt.jwt);
      bearer = juc.nats.bearer_token ?? false;
      revoked = isRevoked(claims.nats.revocations, juc.sub, juc.iat ?? 0);
    } catch (e) {
      mode.server.log.debugc(c, `User JWT not valid: ${(e as Error).message}`);
      mode.server.authViolation(c);
      continue;
    }
    if (bearer && claims.nats.limits.disallow_bearer) {
      mode.server.log.debugc(c, "Bearer User JWT not allowed");
      mode.server.authViolation(c);
    } else if (revoked) {
      c.sendErr("User Authentication Revoked");
      mode.server.log.debugc(c, "User Authentication Revoked");
      c.close(ClosedState.Revocation);
    }
  }
}

/** Users issued by a signing key that is gone, or whose scope changed, are disconnected. */
function closeChangedSigners(
  mode: OperatorMode,
  acc: Account,
  keys: Map<string, UserScope | null>,
  altered: Set<string>,
): void {
  for (const c of mode.connectionsOf(acc)) {
    const sk = c.jwt?.signingKey ?? "";
    if (sk === "") continue;
    if (altered.has(sk) || !keys.has(sk)) c.close(ClosedState.AuthenticationViolation);
  }
}
