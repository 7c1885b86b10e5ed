/**
 * The checks of a trusted operator configuration that need no JWT decoding or validation (the
 * keys it trusts, its assert_server_version): validateOptions makes them for every server, so
 * they live apart from the JWT modules, which only a server in operator mode (or reading a
 * config file) loads.
 */

import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import type { OperatorClaims } from "./types.ts";

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

/** jwt.ParseServerVersion: [major, minor, update], or the error text. */
export function parseServerVersion(v: string): [number, number, number] | string {
  if (v === "") return [0, 0, 0];
  const parts = v.split(".");
  if (parts.length !== 3) {
    return "asserted server version must be of the form <major>.<minor>.<update>";
  }
  const nums: number[] = [];
  for (const p of parts) {
    const n = atoi(p);
    if (n === null) return `asserted server version cant parse ${p} to int`;
    nums.push(n);
  }
  if (nums.some((n) => n < 0)) {
    return `asserted server version can'b contain negative values: ${v}`;
  }
  return nums as [number, number, number];
}

/** strconv.Atoi, for `$N` references. */
export function atoi(s: string): number | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const n = Number(s);
  return Math.abs(n) < 2 ** 63 ? n : null;
}
