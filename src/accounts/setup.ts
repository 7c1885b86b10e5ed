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
  const sysName = opts.noSystemAccount ? "" : opts.systemAccount || DEFAULT_SYSTEM_ACCOUNT;
  if (sysName !== "") {
    wanted.add(sysName);
    let sys = server.accounts.get(sysName);
    if (!sys) {
      sys = new Account(sysName);
      server.accounts.set(sysName, sys);
    }
    server.systemAccount = sys;
  } else {
    server.systemAccount = null;
  }
  for (const [name, acc] of server.accounts) {
    if (wanted.has(name)) continue;
    for (const c of [...acc.clients]) c.close(ClosedState.AuthenticationViolation);
    acc.internal?.unsubscribeAll();
    server.accounts.delete(name);
  }
  installImports(server, opts.accounts);
}
