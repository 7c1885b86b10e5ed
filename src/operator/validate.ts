/**
 * nats-server 2.9.10's validateTrustedOperators: what an operator-mode configuration may not
 * combine, checked before the server is made, with nats-server's error texts.
 */

import {
  operatorVersionError,
  trustedKeysError,
  trustFromOperators,
} from "../jwt/operator_checks.ts";
import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import { type Options, VERSION } from "../options.ts";

/** Throws nats-server's error for an operator configuration it would refuse. */
export function validateOperatorOptions(o: Options): void {
  const ops = o.trustedOperators;
  if (ops.length === 0) return;
  if (o.resolver === null) {
    throw new Error("operators require an account resolver to be configured");
  }
  if (o.accounts.length > 0) {
    throw new Error("operators do not allow Accounts to be configured directly");
  }
  if (o.users.length > 0) throw new Error("operators do not allow users to be configured directly");
  if ((o.trustedKeys?.length ?? 0) > 0) {
    throw new Error("conflicting options for 'TrustedKeys' and 'TrustedOperators'");
  }
  if (o.systemAccount !== "") {
    const named = ops.filter((op) => op.claims.nats.system_account);
    if (named.length > 0 && !ops.some((op) => op.claims.nats.system_account === o.systemAccount)) {
      throw new Error("system_account in config and operator JWT must be identical");
    }
  } else if (!ops[0].claims.nats.system_account) {
    if (o.resolver.type === "full" || o.resolver.type === "cache") {
      throw new Error(
        "using nats based account resolver - the system account needs to be specified in " +
          "configuration or the operator jwt",
      );
    }
  }
  for (const op of ops) {
    const err = operatorVersionError(op.claims, VERSION);
    if (err !== null) throw new Error(err);
  }
  const keysErr = trustedKeysError(trustFromOperators(ops.map((op) => op.claims)));
  if (keysErr !== null) throw new Error(keysErr);
  for (const k of o.resolverPinnedAccounts ?? []) {
    if (!isValidPublicNkey(k, NkeyPrefix.Account)) {
      throw new Error(`pinned account key ${JSON.stringify(k)} is not a valid public account nkey`);
    }
  }
}

/** A reload may change the resolver's settings, not add or remove it (nats-server's rule). */
export function checkResolverReload(cur: Options, next: Options): void {
  if ((cur.resolver === null) !== (next.resolver === null)) {
    throw new Error("config reload does not support moving to or from an account resolver");
  }
}
