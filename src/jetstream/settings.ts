/**
 * What the server knows of JetStream without loading it: the configuration's JSON (/varz shows it
 * whether or not JetStream runs) and the node hash the startup log prints. The JetStream modules
 * themselves are loaded only by a server that enables JetStream (Server.start), so a server
 * without it does not pay their memory.
 */

export interface JetStreamConfig {
  maxMemory: number;
  maxStore: number;
  storeDir: string;
  domain: string;
  /** Set when both limits were configured, as nats-server's Start() passes it through. */
  compressOk: boolean;
}

/** nats-server's JetStreamConfig JSON (/varz, /jsz). */
export function configJsonOf(c: JetStreamConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { max_memory: c.maxMemory, max_storage: c.maxStore };
  if (c.storeDir) o.store_dir = c.storeDir;
  if (c.domain) o.domain = c.domain;
  if (c.compressOk) o.compress_ok = true;
  return o;
}

const HASH_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * nats-server's getHash: 8 base-62 digits of the name's SHA-256 (the log's "Node:", the system
 * account's `$SYS._INBOX.<hash>`). WebCrypto's digest, not node:crypto's: loading Deno's Node
 * layer for it would cost every server a few MB of memory (see node_builtin.ts).
 */
export async function getHash(name: string): Promise<string> {
  const b = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name)),
  );
  let s = "";
  for (let i = 0; i < 8; i++) s += HASH_DIGITS[b[i] % 62];
  return s;
}
