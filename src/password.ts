/**
 * Passwords and tokens as nats-server stores them: either plain text or a bcrypt hash, told apart
 * by the shape of the stored string alone (no config flag says which), exactly as nats-server's
 * auth.go does, so a config written for nats-server authenticates the same users here.
 */

import { BCRYPT_WORKER_URL } from "./bcrypt_worker_url.ts";

/** golang.org/x/crypto/bcrypt's bounds; mkpasswd and the server must agree with nats-server. */
export const MIN_COST = 4;
export const MAX_COST = 31;
/** mkpasswd's default: nats-server chose 11 in 2015 as "a little above the common advice of 10". */
export const DEFAULT_COST = 11;

/**
 * nats-server's own test (`^\$2[abxy]\$\d{2}\$`): a plain password that merely starts with `$2a$`
 * must stay plain text, so the cost digits and their `$` are part of the test, not just a prefix.
 * `$2x$` is included because nats-server treats it as bcrypt too; see checkPassword.
 */
const BCRYPT_PREFIX = /^\$2[abxy]\$\d{2}\$/;

const encoder = new TextEncoder();

/** Whether a configured password or token is a bcrypt hash rather than plain text. */
export function isBcrypt(s: string): boolean {
  return BCRYPT_PREFIX.test(s);
}

/**
 * Compares what a client sent with what the config holds. Async because bcrypt at cost 11 takes
 * hundreds of milliseconds in JavaScript: bcryptjs's async API yields to the event loop between
 * rounds, so other connections keep flowing while one client authenticates.
 *
 * Never throws: a malformed stored hash (bad cost, wrong length) is a failed login, as it is for
 * nats-server, not a crash of the connection handler.
 */
export async function checkPassword(given: string, stored: string): Promise<boolean> {
  if (!isBcrypt(stored)) return constantTimeEqual(given, stored);
  // Go's bcrypt ignores the minor version letter when hashing, and so does bcryptjs for a/b/y;
  // bcryptjs rejects `x` outright, so hash as `a` and compare against the same rewrite.
  const normalized = stored[2] === "x" ? "$2a$" + stored.slice(4) : stored;
  return await compareInWorker(given, normalized);
}

/**
 * A worker per check: bcrypt at cost 11 takes ~200 ms of CPU, against ~30 ms to start a worker,
 * and a worker that lives only for its check needs no lifecycle management at shutdown.
 */
function compareInWorker(given: string, stored: string): Promise<boolean> {
  const worker = new Worker(BCRYPT_WORKER_URL, { type: "module" });
  return new Promise<boolean>((resolve) => {
    worker.onmessage = (e: MessageEvent<boolean>) => resolve(e.data === true);
    worker.onerror = (e) => {
      e.preventDefault();
      resolve(false);
    };
    worker.postMessage({ given, stored });
  }).finally(() => worker.terminate());
}

/**
 * Hashes with the `$2a$` prefix that Go's bcrypt writes (bcryptjs 3 writes `$2b$`), so hashes from
 * our mkpasswd look like nats-server's and also verify with older bcrypt libraries. For passwords
 * up to 72 bytes (bcrypt truncates beyond that, in both Go and bcryptjs) `a` and `b` hash alike.
 */
export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  if (!Number.isInteger(cost) || cost < MIN_COST || cost > MAX_COST) {
    throw new RangeError(costErrorText(cost));
  }
  // Imported here, not at the top: only mkpasswd hashes, and bcryptjs brings Node's crypto
  // (about 10 MB of RSS) into every server that imports this module. A full specifier, not
  // deno.json's import map name: mod.ts is also imported by path from other projects, and a
  // project without a deno.json of its own resolves no names from ours.
  // deno-lint-ignore no-import-prefix
  const { default: bcrypt } = await import("npm:bcryptjs@3.0.3");
  const salt = await bcrypt.genSalt(cost);
  return await bcrypt.hash(password, "$2a$" + salt.slice(4));
}

/** Go's bcrypt.InvalidCostError text, so mkpasswd's failure reads as nats-server's does. */
export function costErrorText(cost: number | bigint): string {
  return `crypto/bcrypt: cost ${cost} is outside allowed range (${MIN_COST},${MAX_COST})`;
}

/**
 * Plain-text passwords are compared without an early exit on the first differing byte, so the
 * response time does not reveal how much of a guess was right. Only the length can leak, which
 * bcrypt-free configs accept (nats-server itself compares plain text with `!=`).
 */
function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  // Every byte of the stored value is visited whatever the lengths, and no branch depends on
  // the bytes.
  let diff = x.length ^ y.length;
  for (let i = 0; i < y.length; i++) diff |= (x[i % Math.max(1, x.length)] ?? 0) ^ y[i];
  return diff === 0;
}
