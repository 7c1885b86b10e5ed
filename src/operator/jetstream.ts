/**
 * JetStream for accounts made from account JWTs, as nats-server 2.9.10 does it: the JWT's
 * JetStream limits (`mem_storage`, `disk_storage`, `streams`, `consumer`, `max_ack_pending`,
 * `mem_max_stream_bytes`, `disk_max_stream_bytes`, `max_bytes_required`, or `tiered_limits` by
 * tier) enable JetStream for the account when the server runs it; a claims update changes the
 * limits of the running account, enables it, or disables it (its streams stop, their files
 * stay). Accounts with streams on disk are looked up when JetStream starts, so their streams come
 * back.
 */

import type { Account } from "../accounts/account.ts";
import type { JetStream } from "../jetstream/jetstream.ts";
import { ZERO_LIMITS } from "../jetstream/account_limits.ts";
import type { AccountClaims, JetStreamLimits } from "../jwt/types.ts";
import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import type { JetStreamAccountLimits } from "../options.ts";
import { label } from "./account_claims.ts";
import type { OperatorMode } from "./mode.ts";

/** What a JWT's JetStream limits mean (nats-server's toUnlimited: 0 is no limit for these). */
function fromJwt(l: JetStreamLimits): JetStreamAccountLimits {
  const unlimited = (v: number | undefined) => (v ?? 0) > 0 ? v! : -1;
  return {
    maxMemory: l.mem_storage ?? 0,
    maxStore: l.disk_storage ?? 0,
    maxStreams: l.streams ?? 0,
    maxConsumers: l.consumer ?? 0,
    maxAckPending: unlimited(l.max_ack_pending),
    memoryMaxStreamBytes: unlimited(l.mem_max_stream_bytes),
    storeMaxStreamBytes: unlimited(l.disk_max_stream_bytes),
    maxBytesRequired: l.max_bytes_required ?? false,
  };
}

/**
 * The account's JetStream limits from its claims, or null when they do not enable JetStream
 * (jwt's IsJSEnabled: some memory or disk storage, plain or in a tier). Tiered limits keep every
 * tier; the plain fields are the R1 tier's, the one this server's streams use.
 */
export function jetstreamLimitsOf(claims: AccountClaims): JetStreamAccountLimits | null {
  const l = claims.nats.limits;
  const tiered = Object.entries(l.tiered_limits ?? {});
  const enabled = tiered.length > 0
    ? tiered.some(([, t]) => (t.mem_storage ?? 0) !== 0 || (t.disk_storage ?? 0) !== 0)
    : (l.mem_storage ?? 0) !== 0 || (l.disk_storage ?? 0) !== 0;
  if (!enabled) return null;
  if ((l.disk_storage ?? 0) !== 0 || (l.mem_storage ?? 0) !== 0) return fromJwt(l);
  const tiers: Record<string, JetStreamAccountLimits> = {};
  for (const [name, t] of tiered) tiers[name] = fromJwt(t);
  return { ...(tiers.R1 ?? ZERO_LIMITS), tiers };
}

/**
 * configJetStream for a JWT account in use: enabled, updated or disabled after its claims. A
 * failure is logged as nats-server logs it and leaves the account incomplete.
 */
export function configureJetStream(mode: OperatorMode, acc: Account, js: JetStream): void {
  try {
    js.configureAccount(acc);
  } catch (e) {
    mode.server.log.error(
      `Error configuring jetstream for account [${label(acc)}]: ${(e as Error).message}`,
    );
    if (acc.jwt) acc.jwt.incomplete = true;
  }
}

/**
 * configAllJetStreamAccounts' walk of the store directory: each account directory names an
 * account, looked up (here: from a JWT the resolver holds) so its streams are recovered.
 */
export function lookupStoredAccounts(mode: OperatorMode, storeDir: string): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(storeDir)];
  } catch {
    return;
  }
  for (const e of entries) {
    const name = e.name;
    if (!e.isDirectory || mode.server.accounts.has(name)) continue;
    if (!isValidPublicNkey(name, NkeyPrefix.Account)) continue;
    try {
      mode.lookupAccountSync(name);
    } catch {
      // not at hand: it comes back when a client of it logs in
    }
  }
}
