/**
 * Operator mode, as nats-server 2.9.10 runs it: the server trusts operators (their keys and
 * signing keys, plus `trusted_keys`), every client presents a user JWT, and accounts are made
 * from account JWTs found through a resolver (memory, URL or a directory kept in sync over
 * NATS), by public key, when first needed.
 *
 * This object is the server's operator state: the trust, the resolver, the account lookup (an
 * account made once and kept; a JWT held locally is used at once, one asked for elsewhere is
 * waited for), claim updates for resolvers that do not take them themselves, and the start-up
 * work and log lines.
 */

import { Account, DEFAULT_SYSTEM_ACCOUNT } from "../accounts/account.ts";
import { type Client, type ClientSub, ClosedState } from "../client.ts";
import { decodeAccountClaimsSync } from "../jwt/claims.ts";
import {
  AccountLookupError,
  AccountLookupErrors,
  type Trust,
  trustFromOperators,
  verifyAccountJwtSync,
} from "../jwt/trust.ts";
import type { AccountClaims } from "../jwt/types.ts";
import { validateAccountSync } from "../jwt/validate.ts";
import { payloadOf, replyOf } from "../message.ts";
import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import {
  formatGoDuration,
  type MappingOptions,
  type Options,
  type TrustedOperator,
} from "../options.ts";
import type { OperatorClaims } from "../jwt/types.ts";
import type { PubArg } from "../parser.ts";
import type { Server } from "../server.ts";
import { applyAccountClaims, label } from "./account_claims.ts";
import { applyJwtLimits, authenticateJwtClient } from "./client_jwt.ts";
import { authenticateJwtLeaf } from "./leaf_jwt.ts";
import { configureJetStream, lookupStoredAccounts } from "./jetstream.ts";
import type { JetStream } from "../jetstream/jetstream.ts";
import type { Leaf } from "../leafnode/connection.ts";
import { DirResolver } from "./dir_resolver.ts";
import { type AccountResolver, MemoryResolver, UrlResolver } from "./resolver.ts";
import { clearLongTimer, type ClientJwt, newAccountJwt } from "./state.ts";
import { jwtAccountInfo, jwtMappings } from "./accountz.ts";
import { operatorClaimsJson } from "./claims_json.ts";
import { removeAccountImports } from "../accounts/imports.ts";

/** Account JWT updates for resolvers that do not track them: the old subject and the new. */
export const ACCOUNT_UPDATE_SUBJECTS = [
  "$SYS.ACCOUNT.*.CLAIMS.UPDATE",
  "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE",
];

const dec = new TextDecoder();

export class OperatorMode {
  readonly server: Server;
  readonly operators: TrustedOperator[];
  readonly trust: Trust;
  readonly resolver: AccountResolver;
  /** resolver_pinned_accounts, with the system account; null when not set. */
  readonly pinned: ReadonlySet<string> | null;
  /** The system account's public key ("" for none). */
  readonly systemAccountName: string;
  /** Accounts being made (nats-server's tmpAccounts): an import cycle finds them here. */
  readonly building = new Map<string, Account>();
  /** Exporters that some account's import waits for (nats-server's incompleteAccExporterMap). */
  readonly incompleteExporters = new Set<string>();
  /** Logins refused because their account is not pinned (/varz pinned_account_fails). */
  pinnedAccountFails = 0;
  readonly #inflight = new Map<string, Promise<Account>>();
  #subs: ClientSub[] = [];
  #bootstrap: number | undefined;
  #running = false;

  /** The operator state for these options, or null when the server is not in operator mode. */
  static create(server: Server, opts: Options): OperatorMode | null {
    if (opts.trustedOperators.length === 0 && opts.trustedKeys === null) return null;
    return new OperatorMode(server, opts);
  }

  private constructor(server: Server, opts: Options) {
    this.server = server;
    this.operators = opts.trustedOperators;
    this.trust = trustFromOperators(
      opts.trustedOperators.map((o) => o.claims),
      opts.trustedKeys ?? [],
    );
    const r = opts.resolver;
    this.resolver = r === null || r.type === "memory"
      ? new MemoryResolver()
      : r.type === "url"
      ? new UrlResolver(r.url, opts.resolverTls)
      : new DirResolver(r);
    this.systemAccountName = opts.systemAccount;
    if (opts.resolverPinnedAccounts !== null) {
      const pinned = new Set(opts.resolverPinnedAccounts);
      if (opts.systemAccount !== "") pinned.add(opts.systemAccount);
      this.pinned = pinned;
    } else {
      this.pinned = null;
    }
    this.storePreloads(opts);
  }

  /** configureResolver: preloaded JWTs go into the resolver (which must be writable). */
  storePreloads(opts: Options): void {
    if (opts.resolverPreload.length === 0) return;
    if (this.resolver.readOnly) {
      throw new Error(
        "resolver preloads only available for writeable resolver types MEM/DIR/CACHE_DIR",
      );
    }
    for (const [k, v] of opts.resolverPreload) {
      try {
        decodeAccountClaimsSync(v);
      } catch (e) {
        throw new Error(`preload account error for ${JSON.stringify(k)}: ${(e as Error).message}`);
      }
      try {
        this.resolver.store(k, v);
      } catch {
        // nats-server ignores a preload the store refuses
      }
    }
  }

  /**
   * The system account while the server is made: found through the resolver, or (for resolvers
   * that fetch from elsewhere) a stand-in until its JWT arrives, as nats-server bootstraps it.
   * Null when no system account is configured.
   */
  systemAccount(): Account | null {
    const name = this.systemAccountName;
    if (name === "" || name === DEFAULT_SYSTEM_ACCOUNT) return null;
    const existing = this.server.accounts.get(name);
    if (existing) return existing;
    if (this.operators.length === 1 && this.resolver.type !== "memory") {
      try {
        return this.lookupAccountSync(name);
      } catch {
        const acc = new Account(name);
        acc.jwt = newAccountJwt(this.operators[0].claims.iss);
        acc.jwt.signingKeys.set(name, null);
        acc.jwt.claims = placeholderClaims(acc.jwt.issuer, name);
        this.server.accounts.set(name, acc);
        return acc;
      }
    }
    try {
      return this.lookupAccountSync(name);
    } catch (e) {
      throw new Error(`error resolving system account: ${(e as Error).message}`);
    }
  }

  // ---- Start and stop ----

  /** The start-up lines nats-server logs in operator mode, and the preloads' validation. */
  logStartup(): void {
    const log = this.server.log;
    if (this.operators.length > 0) log.notice("Trusted Operators");
    for (const op of this.operators) {
      const c = op.claims;
      log.notice(`  System  : ${JSON.stringify(c.aud ?? "")}`);
      log.notice(`  Operator: ${JSON.stringify(c.name ?? "")}`);
      log.notice(`  Issued  : ${goTimeString((c.iat ?? 0) * 1000)}`);
      log.notice(`  Expires : ${c.exp ? goTimeString(c.exp * 1000) : "Never"}`);
    }
    if (this.operators.length > 0 && this.systemAccountName === "") {
      log.warn("Trusted Operators should utilize a System Account");
    }
    if (this.operators.length > 0) this.checkPreloads(this.server.opts);
  }

  /** checkResolvePreloads: a preload that no longer validates (expired...) is only a warning. */
  checkPreloads(opts: Options): void {
    const log = this.server.log;
    for (const [k, v] of opts.resolverPreload) {
      let claims: AccountClaims;
      try {
        claims = decodeAccountClaimsSync(v);
      } catch {
        log.error(`Preloaded account [${k}] not valid`);
        continue;
      }
      const vr = validateAccountSync(claims);
      if (vr.isBlocking(true)) {
        log.warn(`Account [${k}] has validation issues:`);
        for (const i of vr.issues) log.warn(`  - ${i.description}`);
      }
    }
  }

  /** Once the system account runs: the resolver's subscriptions, updates, bootstrapping. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const events = this.server.events;
    if (events !== null) {
      this.resolver.start(this);
      if (!this.resolver.tracksUpdates) {
        for (const subject of ACCOUNT_UPDATE_SUBJECTS) {
          this.#subs.push(
            events.subscribe(subject, (_s, _c, src, pa) => this.#claimUpdate(src, pa)),
          );
        }
      }
    }
    const sys = this.server.systemAccount;
    if (
      this.operators.length === 1 && sys !== null && sys.name === this.systemAccountName &&
      this.resolver.type !== "memory" && sys.jwt?.jwt === ""
    ) {
      this.server.log.notice("Using bootstrapping system account");
      this.#bootstrap = Number(setInterval(() => this.#fetchSystemAccount(sys), 1000));
      Deno.unrefTimer(this.#bootstrap);
    }
  }

  async #fetchSystemAccount(sys: Account): Promise<void> {
    let jwt: string;
    try {
      jwt = this.resolver.fetchLocal(sys.name) ?? await this.resolver.fetch(sys.name);
      this.updateAccountWithClaimJwt(sys, jwt);
    } catch {
      return;
    }
    if (this.#bootstrap === undefined) return;
    clearInterval(this.#bootstrap);
    this.#bootstrap = undefined;
    this.server.log.notice("System account fetched and updated");
  }

  stop(): void {
    this.#running = false;
    clearInterval(this.#bootstrap);
    this.#bootstrap = undefined;
    for (const s of this.#subs) this.server.events?.client.unsubscribe(s);
    this.#subs = [];
    this.resolver.close();
    for (const acc of this.server.accounts.values()) {
      if (acc.jwt === null) continue;
      clearLongTimer(acc.jwt.expiryTimer);
      acc.jwt.expiryTimer = undefined;
      for (const t of acc.jwt.activationTimers) clearLongTimer(t);
      acc.jwt.activationTimers = [];
    }
  }

  /**
   * A configuration reload: a memory resolver takes the new preloads and its accounts are
   * updated from them (or dropped when gone), as nats-server's reloadAuthorization does; a
   * directory is read again.
   */
  reload(opts: Options): void {
    this.storePreloads(opts);
    if (this.resolver.type === "memory") {
      this.checkPreloads(opts);
      for (const acc of [...this.server.accounts.values()]) {
        if (acc.jwt === null || acc === this.server.systemAccount) continue;
        const jwt = this.resolver.fetchLocal(acc.name);
        let ok = false;
        if (jwt !== null) {
          try {
            verifyAccountJwtSync(jwt, this.trust, acc.name);
            this.updateAccountWithClaimJwt(acc, jwt);
            ok = true;
          } catch {
            // dropped below
          }
        }
        if (!ok) {
          this.server.log.notice(
            `Reloaded: deleting account [${jwt === null ? "removed" : "bad claims"}]: ${
              JSON.stringify(acc.name)
            }`,
          );
          this.server.accounts.delete(acc.name);
        }
      }
    }
    this.resolver.reload();
  }

  // ---- Accounts ----

  /**
   * lookupAccount with what is at hand: a known account, one being made, or one made now from
   * a JWT the resolver holds locally. Throws with nats-server's error text otherwise.
   */
  lookupAccountSync(name: string): Account {
    const acc = this.server.accounts.get(name) ?? this.building.get(name);
    if (acc) {
      if (acc.jwt?.expired) {
        this.server.log.debug(`Requested account [${name}] has expired`);
        const jwt = this.#tooSoon(acc) ? null : this.resolver.fetchLocal(name);
        if (jwt === null) throw new AccountLookupError(AccountLookupErrors.expired);
        try {
          this.updateAccountWithClaimJwt(acc, jwt);
        } catch {
          throw new AccountLookupError(AccountLookupErrors.expired);
        }
      }
      return acc;
    }
    if (!isValidPublicNkey(name, NkeyPrefix.Account)) {
      throw new AccountLookupError(AccountLookupErrors.notAccountKey);
    }
    const start = performance.now();
    const jwt = this.resolver.fetchLocal(name);
    if (jwt === null) throw new NotLocal();
    this.#fetchTook(name, start);
    return this.#build(name, jwt);
  }

  /**
   * lookupAccount: as lookupAccountSync, waiting for the resolver when the JWT is not held here
   * (an account server, the other servers of the cluster). One fetch per account at a time.
   */
  lookupAccount(name: string): Account | Promise<Account> {
    try {
      return this.lookupAccountSync(name);
    } catch (e) {
      if (!(e instanceof NotLocal)) throw e;
    }
    let p = this.#inflight.get(name);
    if (p === undefined) {
      p = this.#fetchAndBuild(name).finally(() => this.#inflight.delete(name));
      this.#inflight.set(name, p);
    }
    return p;
  }

  async #fetchAndBuild(name: string): Promise<Account> {
    const start = performance.now();
    let jwt: string;
    try {
      jwt = await this.resolver.fetch(name);
    } catch (e) {
      this.#fetchTook(name, start);
      this.server.log.warn(`Account fetch failed: ${(e as Error).message}`);
      throw e;
    }
    this.#fetchTook(name, start);
    const known = this.server.accounts.get(name);
    if (known) {
      this.updateAccountWithClaimJwt(known, jwt);
      return known;
    }
    return this.#build(name, jwt);
  }

  #fetchTook(name: string, start: number): void {
    const ms = performance.now() - start;
    const text = `Account [${name}] fetch took ${formatGoDuration(ms)}`;
    if (ms > 1000) this.server.log.warn(text);
    else this.server.log.debug(text);
  }

  /** nats-server refuses to fetch an account again within a second of its last update. */
  #tooSoon(acc: Account): boolean {
    if (acc.jwt && !acc.jwt.incomplete && Date.now() - acc.jwt.updated < 1000) {
      this.server.log.debug(`Requested account update for [${acc.name}] ignored, too soon`);
      return true;
    }
    return false;
  }

  /** fetchAccount: an account made from a trusted, valid JWT, registered with the server. */
  #build(name: string, jwt: string): Account {
    const claims = verifyAccountJwtSync(jwt, this.trust, name);
    const acc = new Account(name);
    acc.jwt = newAccountJwt(claims.iss);
    this.building.set(name, acc);
    try {
      applyAccountClaims(this, acc, claims, jwt);
    } finally {
      this.building.delete(name);
    }
    this.server.accounts.set(name, acc);
    this.server.events?.trackAccounts();
    if (this.server.jetstream !== null) this.configureJetStream(acc, this.server.jetstream);
    return acc;
  }

  /** JetStream for a JWT account after its claims (src/operator/jetstream.ts). */
  configureJetStream(acc: Account, js: JetStream): void {
    configureJetStream(this, acc, js);
  }

  /** Accounts with JetStream directories in `storeDir` are looked up as JetStream starts. */
  lookupStoredAccounts(storeDir: string): void {
    lookupStoredAccounts(this, storeDir);
  }

  /**
   * The exporter an import names: known, being made, or made now from a local JWT; an Error when
   * it cannot be found now (a fetch from elsewhere is started, and the import is completed when
   * it arrives).
   */
  exporter(name: string): Account | Error {
    try {
      return this.lookupAccountSync(name);
    } catch (e) {
      if (!(e instanceof NotLocal)) return e as Error;
      const p = this.lookupAccount(name);
      if (p instanceof Promise) p.catch(() => {});
      return new AccountLookupError(AccountLookupErrors.missing);
    }
  }

  /** updateAccountWithClaimJWT: new claims for a known account, unless they are the same. */
  updateAccountWithClaimJwt(acc: Account, jwt: string): void {
    const st = acc.jwt;
    if (st !== null && st.jwt !== "" && st.jwt === jwt && !st.incomplete) {
      this.server.log.debug(`Requested account update for [${acc.name}], same claims detected`);
      return;
    }
    const claims = verifyAccountJwtSync(jwt, this.trust);
    if (claims.sub !== acc.name) throw new AccountLookupError(AccountLookupErrors.validation);
    applyAccountClaims(this, acc, claims, jwt);
  }

  /** Accounts importing from `name` check their imports again (its exports or keys changed). */
  refreshImportersOf(name: string): void {
    for (const acc of [...this.server.accounts.values()]) {
      const claims = acc.jwt?.claims;
      if (acc.name === name || !claims || acc.jwt!.jwt === "") continue;
      if (!(claims.nats.imports ?? []).some((i) => i?.account === name)) continue;
      applyAccountClaims(this, acc, claims, acc.jwt!.jwt, false);
    }
  }

  /** An exporter arrived: accounts with incomplete imports try again. */
  refreshIncompleteImporters(name: string): void {
    for (const acc of [...this.server.accounts.values()]) {
      const st = acc.jwt;
      if (!st?.incomplete || acc.name === name || st.jwt === "") continue;
      let claims: AccountClaims;
      try {
        claims = verifyAccountJwtSync(st.jwt, this.trust);
      } catch {
        continue;
      }
      applyAccountClaims(this, acc, claims, st.jwt, false);
      if (this.incompleteExporters.delete(name)) {
        this.server.log.error(`Account ${label(acc)} has issues importing account ${name}`);
      }
    }
  }

  /** An account JWT expired: its clients are told and closed (nats-server's expiredTimeout). */
  accountExpired(acc: Account): void {
    if (acc.jwt) acc.jwt.expired = true;
    for (const c of this.connectionsOf(acc)) {
      c.sendErr("Account Authentication Expired");
      this.server.log.debugc(c, "Account Authentication Expired");
      c.close(ClosedState.AuthenticationExpired);
    }
  }

  /**
   * An account's JWT was deleted (nats-server's removeCb): the account takes no more clients or
   * messages, its clients are closed as for an expired account, its imports go.
   */
  accountRemoved(pubKey: string): void {
    const acc = this.server.accounts.get(pubKey);
    if (!acc) return;
    this.server.log.debug(`Disable account ${pubKey} due to remove`);
    acc.limits = { maxConnections: 0, maxSubscriptions: 0, maxPayload: 0, maxLeafnodes: 0 };
    if (acc.jwt) {
      acc.jwt.updated = Date.now();
      clearLongTimer(acc.jwt.expiryTimer);
      acc.jwt.expiryTimer = undefined;
    }
    this.accountExpired(acc);
    removeAccountImports(acc);
    if (acc.jwt) {
      acc.jwt.serviceImports = [];
      acc.jwt.streamImports = [];
      // nats-server's removeCb disables the account's JetStream (its streams stop).
      acc.jwt.jetstream = null;
    }
    if (this.server.jetstream !== null) this.configureJetStream(acc, this.server.jetstream);
  }

  maxAccountConnExceeded(c: Client): void {
    c.sendErr("maximum account active connections exceeded");
    this.server.log.errorc(c, "maximum account active connections exceeded");
    c.close(ClosedState.MaxAccountConnectionsExceeded);
  }

  // ---- Monitoring: the operator parts of /accountz and /varz, here so a plain server never loads
  // them (monitor/ reaches them through Server.operator) ----

  /** /accountz's mappings of an account made from a JWT (accountz.ts). */
  jwtMappings(acc: Account): MappingOptions[] {
    return jwtMappings(acc);
  }

  /** /accountz's entry of an account made from a JWT: `base` with its claims (accountz.ts). */
  jwtAccountInfo(acc: Account, base: Record<string, unknown>): Record<string, unknown> {
    return jwtAccountInfo(this.server, acc, base);
  }

  /** An operator JWT's claims as /varz shows them (claims_json.ts). */
  operatorClaimsJson(c: OperatorClaims): Record<string, unknown> {
    return operatorClaimsJson(c);
  }

  // ---- Clients ----

  /** A JWT client's limits (applyJwtLimits), for Client.applyLimits. */
  clientLimits(c: Client, jwt: ClientJwt): { maxPayload: number; maxSubs: number } {
    return applyJwtLimits(c, jwt);
  }

  /** A client's CONNECT in operator mode (a user JWT and the nonce's signature). */
  authenticate(c: Client): Promise<boolean> {
    return authenticateJwtClient(this, c);
  }

  /** An accepted leafnode's CONNECT in operator mode: the same, bound to the JWT's account. */
  authenticateLeaf(leaf: Leaf): Promise<boolean> {
    return authenticateJwtLeaf(this, leaf);
  }

  /**
   * The connections an account's claims apply to (nats-server's account clients): its clients,
   * then the leafnodes bound to it.
   */
  connectionsOf(acc: Account): Client[] {
    return [...acc.clients, ...(this.server.leafnodes?.byAccount.get(acc) ?? [])];
  }

  // ---- Claim updates (memory and URL resolvers) ----

  /** nats-server's accountClaimUpdate: an update applies to an account already in use. */
  #claimUpdate(src: Uint8Array, pa: PubArg): void {
    const reply = replyOf(src, pa);
    const tk = pa.subject.split(".");
    let pubKey: string;
    if (tk.length === 6) pubKey = tk[3];
    else if (tk.length === 5) pubKey = tk[2];
    else {
      this.server.log.debug(
        `Received account claims update on bad subject ${JSON.stringify(pa.subject)}`,
      );
      return;
    }
    const msg = dec.decode(payloadOf(src, pa));
    if (msg.length === 0) {
      this.respondToUpdate(reply, pubKey, "jwt update error", "request body is empty");
      return;
    }
    let claims: AccountClaims;
    try {
      claims = decodeAccountClaimsSync(msg);
    } catch (e) {
      this.respondToUpdate(reply, pubKey, "jwt update resulted in error", (e as Error).message);
      return;
    }
    if (claims.sub !== pubKey) {
      this.respondToUpdate(
        reply,
        pubKey,
        "jwt update resulted in error",
        "subject does not match jwt content",
      );
      return;
    }
    const acc = this.server.accounts.get(pubKey);
    if (!acc) {
      this.respondToUpdate(reply, pubKey, "jwt update skipped", null);
      return;
    }
    try {
      this.updateAccountWithClaimJwt(acc, msg);
    } catch (e) {
      this.respondToUpdate(reply, pubKey, "jwt update resulted in error", (e as Error).message);
      return;
    }
    this.respondToUpdate(reply, pubKey, "jwt updated", null);
  }

  /**
   * nats-server's respondToUpdate: logged (debug when fine, error otherwise) and answered with
   * `{"data": {account, code: 200, message}}` or `{"error": {account, code: 500, description}}`.
   */
  respondToUpdate(reply: string, account: string, message: string, err: string | null): void {
    const log = this.server.log;
    const what = account === "" ? message : `${message} - ${account}`;
    if (err === null) log.debug(what);
    else log.error(`${what} - ${err}`);
    if (reply === "") return;
    const m: Record<string, unknown> = {};
    if (account !== "") m.account = account;
    if (err === null) {
      m.code = 200;
      m.message = message;
      this.server.events?.send(reply, "", { data: m, server: null });
    } else {
      m.code = 500;
      m.description = `${message} - ${err}`;
      this.server.events?.send(reply, "", { error: m, server: null });
    }
  }
}

/** A JWT the resolver does not hold locally: it has to be fetched. */
class NotLocal extends AccountLookupError {
  constructor() {
    super(AccountLookupErrors.missing);
  }
}

/** The claims of the bootstrapping system account: no limits, signed by the operator. */
function placeholderClaims(issuer: string, name: string): AccountClaims {
  return {
    iss: issuer,
    sub: name,
    nats: {
      type: "account",
      version: 2,
      limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, conn: -1, leaf: -1 },
      signing_keys: [],
      default_permissions: {},
    },
  };
}

/** Go's time.Time String() in the local zone: "2006-01-02 15:04:05 -0700 MST". */
export function goTimeString(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const zone = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" })
    .formatToParts(d).find((p) => p.type === "timeZoneName")?.value ?? "";
  const abbr = /^GMT[+-]/.test(zone) || zone === "GMT" ? (off === 0 ? "UTC" : zone) : zone;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${
    pad(d.getMinutes())
  }:${pad(d.getSeconds())} ${sign}${pad(Math.floor(Math.abs(off) / 60))}${
    pad(Math.abs(off) % 60)
  } ${abbr}`;
}
