/**
 * Builds the server's accounts from the options, at start and on reload. An account that stays
 * configured keeps its object (its sublist, clients and routes' interest stay put); settings,
 * exports, mappings and imports are re-applied. Accounts that disappear lose their clients.
 */

import { Account, DEFAULT_SYSTEM_ACCOUNT, GLOBAL_ACCOUNT, NO_LIMITS } from "./account.ts";
import { installImports, removeImports } from "./imports.ts";
import { compileMappings } from "./mappings.ts";
import type { Options } from "../options.ts";
import type { Server } from "../server.ts";
import { ClosedState } from "../client.ts";
import { installSystemImports } from "../system/imports.ts";
import { defaultDomainMappings } from "../jetstream/domain.ts";

export function configureAccounts(server: Server, opts: Options): void {
  removeImports(server);
  const wanted = new Set<string>([GLOBAL_ACCOUNT]);
  for (const a of opts.accounts) {
    wanted.add(a.name);
    let acc = server.accounts.get(a.name);
    if (!acc) {
      acc = new Account(a.name);
      server.accounts.set(a.name, acc);
    }
    acc.nkey = a.nkey ?? "";
    acc.limits = a.limits ?? NO_LIMITS;
    acc.defaultPermissions = a.defaultPermissions;
    acc.streamExports = a.streamExports;
    acc.serviceExports = a.serviceExports;
    acc.mappings = compileMappings(a.mappings);
  }
  server.globalAccount.mappings = compileMappings(opts.mappings);
  applyDefaultDomains(server, opts);
  configureSystemAccount(server, opts, wanted);
  for (const [name, acc] of server.accounts) {
    // Accounts made from account JWTs are kept: their claims, not the config, govern them.
    if (wanted.has(name) || acc.jwt !== null) continue;
    for (const c of [...acc.clients]) c.close(ClosedState.AuthenticationViolation);
    acc.internal?.unsubscribeAll();
    server.accounts.delete(name);
  }
  installImports(server, opts.accounts);
  installSystemImports(server);
}

/**
 * `default_js_domain`: an account without JetStream of its own sends the plain JetStream API to
 * that domain (nats-server's registerAccount adds the reversed domain mappings).
 */
function applyDefaultDomains(server: Server, opts: Options): void {
  for (const [name, domain] of Object.entries(opts.jsAccDefaultDomain)) {
    const acc = server.accounts.get(name);
    const jsEnabled = opts.accounts.some((a) => a.name === name && a.jetstreamLimits);
    if (acc && !jsEnabled && domain !== "") defaultDomainMappings(acc, domain);
  }
}

/**
 * The system account, as nats-server picks it: `system_account` names a configured account (an
 * error if there is none by that name); else a configured account named `$SYS`; else, unless
 * `no_system_account`, a `$SYS` account of its own.
 */
function configureSystemAccount(server: Server, opts: Options, wanted: Set<string>): void {
  if (server.operator !== null) {
    // Operator mode: the system account is an account JWT, found through the resolver. Without
    // one, nats-server still makes a `$SYS` account, which it cannot trust as the system account.
    server.systemAccount = server.systemAccount ?? server.operator.systemAccount();
    if (server.systemAccount === null && !opts.noSystemAccount) {
      wanted.add(DEFAULT_SYSTEM_ACCOUNT);
      if (!server.accounts.has(DEFAULT_SYSTEM_ACCOUNT)) {
        server.accounts.set(DEFAULT_SYSTEM_ACCOUNT, new Account(DEFAULT_SYSTEM_ACCOUNT));
      }
    }
    server.sysOnlyNoAuthUser = "";
    return;
  }
  let name = opts.systemAccount;
  if (name === "" && opts.accounts.some((a) => a.name === DEFAULT_SYSTEM_ACCOUNT)) {
    name = DEFAULT_SYSTEM_ACCOUNT;
  }
  const explicit = name !== "";
  if (explicit && !server.accounts.has(name)) {
    throw new Error("error resolving system account: account missing");
  }
  if (!explicit && !opts.noSystemAccount) name = DEFAULT_SYSTEM_ACCOUNT;
  if (name === "") {
    server.systemAccount = null;
    return;
  }
  wanted.add(name);
  let sys = server.accounts.get(name);
  if (!sys) {
    sys = new Account(name);
    server.accounts.set(name, sys);
  }
  server.systemAccount = sys;
  // A config whose only account is the system one (there to give it users) keeps connections
  // without credentials working: nats-server gives them a generated no_auth_user in `$G`.
  const others = new Set(opts.accounts.map((a) => a.name));
  others.delete(GLOBAL_ACCOUNT);
  if (explicit && others.size === 1 && opts.noAuthUser === "") {
    server.sysOnlyNoAuthUser ||= `nats-${randomDigits(8)}`;
  } else {
    server.sysOnlyNoAuthUser = "";
  }
}

function randomDigits(n: number): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let s = "";
  for (const b of crypto.getRandomValues(new Uint8Array(n))) s += alphabet[b % 62];
  return s;
}
