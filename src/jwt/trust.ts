/**
 * The operator trust chain of nats-server's operator mode: which keys may sign account JWTs
 * (the configured operators, their signing keys, `trusted_keys`), and accepting an account JWT
 * from a resolver only when one of them signed it and it validates (verifyAccountClaims).
 */

import { goFileError } from "../conf/go_format.ts";
import { decodeAccountClaimsSync, decodeOperatorClaimsSync, parseDecoratedJwt } from "./claims.ts";
import type { AccountClaims, OperatorClaims } from "./types.ts";
import { unixNow, validateAccountSync } from "./validate.ts";
import type { Trust } from "./operator_checks.ts";
export {
  operatorVersionError,
  type Trust,
  trustedKeysError,
  trustFromOperators,
} from "./operator_checks.ts";

/** nats-server's account lookup errors (errors.go), as "Account JWT lookup error: ..." logs them. */
export const AccountLookupErrors = {
  missing: "account missing",
  validation: "account validation failed",
  expired: "account expired",
  notAccountKey: "will only fetch valid account keys",
} as const;

/** An account that cannot be used; the message is nats-server's error text. */
export class AccountLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AccountLookupError";
  }
}

/**
 * readOperatorJWT: the `operator:` config value is a file (plain or decorated JWT) or, when no
 * such file can be read and the value starts with "eyJ", the JWT itself. Throws an Error with
 * Go's text for an unreadable file, JwtError for a JWT that does not decode.
 */
export function readOperatorJwtSync(fileOrJwt: string): { jwt: string; claims: OperatorClaims } {
  let contents: string;
  try {
    contents = Deno.readTextFileSync(fileOrJwt);
  } catch (e) {
    if (!fileOrJwt.startsWith("eyJ")) throw new Error(goFileError(fileOrJwt, e));
    contents = fileOrJwt;
  }
  const jwt = parseDecoratedJwt(contents);
  return { jwt, claims: decodeOperatorClaimsSync(jwt) };
}

/** readOperatorJwtSync as a promise. */
export function readOperatorJwt(
  fileOrJwt: string,
): Promise<{ jwt: string; claims: OperatorClaims }> {
  return new Promise((resolve) => resolve(readOperatorJwtSync(fileOrJwt)));
}

/** isTrustedIssuer: a trusted key signed it. */
export function isTrustedIssuer(trust: Trust, issuer: string): boolean {
  return trust.keys.has(issuer);
}

/**
 * verifyAccountClaims (and fetchAccountClaims' subject check when `name` is given): the account
 * JWT decoded, signed by a trusted key and valid now (time checks included). Throws
 * JwtError for a JWT that does not decode and {@link AccountLookupError}
 * ("account validation failed") for an untrusted or invalid one.
 */
export function verifyAccountJwtSync(
  token: string,
  trust: Trust,
  name?: string,
  now = unixNow(),
): AccountClaims {
  const claims = decodeAccountClaimsSync(token);
  if (!isTrustedIssuer(trust, claims.iss)) {
    throw new AccountLookupError(AccountLookupErrors.validation);
  }
  if (validateAccountSync(claims, now).isBlocking(true)) {
    throw new AccountLookupError(AccountLookupErrors.validation);
  }
  if (name !== undefined && claims.sub !== name) {
    throw new AccountLookupError(AccountLookupErrors.validation);
  }
  return claims;
}

/** verifyAccountJwtSync as a promise. */
export function verifyAccountJwt(
  token: string,
  trust: Trust,
  name?: string,
  now = unixNow(),
): Promise<AccountClaims> {
  return new Promise((resolve) => resolve(verifyAccountJwtSync(token, trust, name, now)));
}
