/**
 * The operator trust chain of nats-server's operator mode: which keys may sign account JWTs
 * (the configured operators, their signing keys, `trusted_keys`), and accepting an account JWT
 * from a resolver only when one of them signed it and it validates (verifyAccountClaims).
 */

import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import { goFileError } from "../conf/go_format.ts";
import { decodeAccountClaimsSync, decodeOperatorClaimsSync, parseDecoratedJwt } from "./claims.ts";
import type { AccountClaims, OperatorClaims } from "./types.ts";
import { parseServerVersion, unixNow, validateAccountSync } from "./validate.ts";

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

/** What the server trusts: nats-server's trustedKeys and strictSigningKeyUsage. */
export interface Trust {
  /** Keys whose account JWTs are accepted. */
  keys: ReadonlySet<string>;
  /**
   * Signing keys of operators with strict_signing_key_usage: accounts they issue may not sign
   * users with the account's own key, only with the account's signing keys.
   */
  strictSigningKeys: ReadonlySet<string>;
}

/**
 * The trust of a server configured with `operator:` JWTs and/or `trusted_keys`, expanded as
 * validateTrustedOperators and processTrustedKeys do: each operator's own key (unless it asks for
 * strict signing key usage) and its signing keys.
 */
export function trustFromOperators(operators: OperatorClaims[], trustedKeys: string[] = []): Trust {
  const keys = new Set(trustedKeys);
  const strict = new Set<string>();
  for (const op of operators) {
    if (!op.nats.strict_signing_key_usage) keys.add(op.sub);
    for (const k of op.nats.signing_keys ?? []) {
      keys.add(k);
      if (op.nats.strict_signing_key_usage) strict.add(k);
    }
  }
  return { keys, strictSigningKeys: strict };
}

/** The first key that is not an operator public key, as a config error text, or null. */
export function trustedKeysError(trust: Trust): string | null {
  for (const k of trust.keys) {
    if (!isValidPublicNkey(k, NkeyPrefix.Operator)) {
      return `trusted Keys "${k}" are required to be a valid public operator nkey`;
    }
  }
  return null;
}

/**
 * An operator's assert_server_version against ours ("2.9.10"), as validateTrustedOperators
 * checks it at startup; the config error text, or null when the server is new enough.
 */
export function operatorVersionError(op: OperatorClaims, serverVersion: string): string | null {
  const want = op.nats.assert_server_version ?? "";
  const v = parseServerVersion(want);
  if (typeof v === "string") {
    return `operator ${op.sub} expects version ${want} got error instead: ${v}`;
  }
  const have = parseServerVersion(serverVersion.split("-")[0].split(".RC")[0].split(".beta")[0]);
  const [sMajor, sMinor, sUpdate] = typeof have === "string" ? [0, 0, 0] : have;
  const [major, minor, update] = v;
  if (major > sMajor) {
    return `operator ${op.sub} expected major version ${major} > server major version ${sMajor}`;
  }
  if (major < sMajor) return null;
  if (minor > sMinor) {
    return `operator ${op.sub} expected minor version ${minor} > server minor version ${sMinor}`;
  }
  if (minor < sMinor) return null;
  if (update > sUpdate) {
    return `operator ${op.sub} expected update version ${update} > server update version ${sUpdate}`;
  }
  return null;
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
