/**
 * `.creds` files: a user JWT and its nkey seed, each between `-----BEGIN ...-----` and
 * `------END ...------` lines, as `nsc` and the jwt library write them:
 *
 * ```
 * -----BEGIN NATS USER JWT-----
 * eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ...
 * ------END NATS USER JWT------
 *
 * ************************* IMPORTANT *************************
 * NKEY Seed printed below can be used to sign and prove identity.
 * NKEYs are sensitive and should be treated as secrets.
 *
 * -----BEGIN USER NKEY SEED-----
 * SUAIO3FHUX5PNV2LQIIP7TZ3N4L7TX3W53MQGEIVYFIGA635OZCKEYHFLM
 * ------END USER NKEY SEED------
 *
 * *************************************************************
 * ```
 *
 * Two readers exist in nats-server and both are here: the jwt library's (ParseDecoratedJWT /
 * ParseDecoratedNKey, also used for `operator:` files) and the leafnode remote's (`credentials:`
 * of a remote, which then signs the hub's nonce).
 */

import { NkeyPair, NkeyPrefix } from "../nkeys.ts";
import { goQuote } from "../conf/go_format.ts";
import { decodeJwt, decodeUserClaims, DECORATED_BLOCK, parseDecoratedJwt } from "./claims.ts";

export { parseDecoratedJwt };

/** A creds file that cannot be used; the message is nats-server's / the library's text. */
export class CredsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredsError";
  }
}

function blocks(contents: string): string[] {
  return [...contents.matchAll(DECORATED_BLOCK)].map((m) => m[1]);
}

/**
 * jwt.ParseDecoratedNKey: the seed of the second decorated block or, without one, the first
 * line that starts (after spaces) with SO, SA or SU. Operator, account and user seeds all load.
 */
export async function parseDecoratedNkey(contents: string): Promise<NkeyPair> {
  const items = blocks(contents);
  let seed: string | null = null;
  if (items.length > 1) {
    seed = items[1];
  } else {
    for (const line of contents.split("\n")) {
      if (/^\s*S[OAU]/.test(line)) {
        seed = line;
        break;
      }
    }
  }
  if (seed === null) throw new CredsError("no nkey seed found");
  if (!/^S[OAU]/.test(seed)) throw new CredsError("doesn't contain a seed nkey");
  try {
    return await NkeyPair.fromSeed(seed);
  } catch (e) {
    throw new CredsError((e as Error).message);
  }
}

/** jwt.ParseDecoratedUserNKey: as {@link parseDecoratedNkey}, for user seeds only. */
export async function parseDecoratedUserNkey(contents: string): Promise<NkeyPair> {
  const kp = await parseDecoratedNkey(contents);
  if (kp.prefix !== NkeyPrefix.User) throw new CredsError("doesn't contain an user seed nkey");
  return kp;
}

/** leafnode.go's credsRe: laxer about the body, stricter about line ends than the library's. */
const LEAF_CREDS_BLOCK = /\s*(?:(?:-{3,}[^\n]*-{3,}\n)([^\n]+)(?:\n\s*-{3,}[^\n]*-{3,}\n))/g;

/** The user JWT and signing key of a creds file, ready to answer a server's nonce. */
export interface Creds {
  jwt: string;
  key: NkeyPair;
}

/**
 * A creds file as nats-server reads a leafnode remote's `credentials`: the first block is the
 * JWT, the second the seed. Throws {@link CredsError} with the server's texts ("Credentials file
 * malformed", "Credentials file has malformed seed"). The JWT is not decoded here (the server
 * only checks it when loading the config: see {@link checkCredsJwt}).
 */
export async function parseCreds(contents: string): Promise<Creds> {
  const items = [...contents.matchAll(LEAF_CREDS_BLOCK)].map((m) => m[1]);
  if (items.length < 2) throw new CredsError("Credentials file malformed");
  try {
    return { jwt: items[0], key: await NkeyPair.fromSeed(items[1]) };
  } catch {
    throw new CredsError("Credentials file has malformed seed");
  }
}

/** Whether the creds' JWT decodes as a user JWT (the config-time check of a leafnode remote). */
export async function checkCredsJwt(creds: Creds): Promise<boolean> {
  try {
    await decodeUserClaims(creds.jwt);
    return true;
  } catch {
    return false;
  }
}

/** The CONNECT `sig` for a server's INFO nonce, signed with the seed. */
export async function signNonce(seed: string, nonce: string): Promise<string> {
  return await (await NkeyPair.fromSeed(seed)).signNonce(nonce);
}

/**
 * jwt.FormatUserConfig: the creds file text for a user JWT and its user seed, byte for byte as
 * the Go tools write it. Throws JwtError for a JWT that does not decode and {@link CredsError}
 * for another kind of JWT or seed.
 */
export async function formatUserCreds(jwt: string, seed: string): Promise<string> {
  const decoded = await decodeJwt(jwt);
  const kind = decoded.kind === "generic" ? String(decoded.claims.nats?.type ?? "") : decoded.kind;
  if (kind !== "user") {
    throw new CredsError(`${goQuote(kind)} cannot be serialized as a user config`);
  }
  const s = seed.trim();
  if (!s.startsWith("SU")) throw new CredsError("nkey seed is not an user seed");
  return `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n` +
    "************************* IMPORTANT *************************\n" +
    "NKEY Seed printed below can be used to sign and prove identity.\n" +
    "NKEYs are sensitive and should be treated as secrets.\n\n" +
    `-----BEGIN USER NKEY SEED-----\n${s}\n------END USER NKEY SEED------\n\n` +
    "*************************************************************\n";
}
