/**
 * Account JWTs on disk, as nats-server 2.9.10's DirJWTStore keeps them for the full and cache
 * resolvers: one file `<public key>.jwt` per account directly in the directory (the resolvers do
 * not shard), written 0640 in a 0750 directory, so a directory filled by nats-server (or by hand,
 * or by `nsc`) works here and the other way round.
 *
 * Each tracked JWT has a SHA-256; the store's hash is their XOR, which is what servers of a
 * cluster compare (`$SYS.REQ.CLAIMS.PACK`) to know whether their directories differ. JWTs leave
 * the store when they expire (their own `exp`, or the cache's ttl), checked every minute at most;
 * a cache evicts the least recently used JWT at its limit, a full resolver refuses new ones.
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { decodeGenericSync } from "../jwt/claims.ts";
import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import { goFileError } from "../conf/go_format.ts";

export const JWT_EXTENSION = ".jwt";

/** What `delete` does with a file: not allowed, renamed to `.deleted`, or removed. */
export type DeleteMode = "none" | "rename" | "hard";

export interface DirStoreOptions {
  deleteMode: DeleteMode;
  /** Most JWTs tracked (Infinity: no limit). */
  limit: number;
  /** At the limit: evict the least recently used (cache) or refuse (full). */
  evictOnLimit: boolean;
  /** When set, a JWT lives this long from its last use instead of until its `exp`. */
  ttlMs: number;
}

interface Item {
  hash: Uint8Array;
  /** ms since the epoch; Infinity for never. */
  expiresAt: number;
}

const enc = new TextEncoder();

function sha256(s: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(enc.encode(s)).digest());
}

function xorInto(into: Uint8Array, h: Uint8Array): void {
  for (let i = 0; i < into.length; i++) into[i] ^= h[i];
}

/** The `exp`, `iat`, `jti` and `sub` of any JWT (nats-io/jwt's DecodeGeneric), or null. */
function generic(jwt: string): { exp: number; iat: number; jti: string; sub: string } | null {
  try {
    const c = decodeGenericSync(jwt);
    return { exp: c.exp ?? 0, iat: c.iat ?? 0, jti: c.jti ?? "", sub: c.sub };
  } catch {
    return null;
  }
}

export class DirJwtStore {
  readonly directory: string;
  readonly options: DirStoreOptions;
  /** Tracked JWTs in least recently used order (a use moves one to the end). */
  readonly #items = new Map<string, Item>();
  readonly #hash = new Uint8Array(32);
  #timer: number | undefined;
  /** Called after a JWT was written or changed on disk by this store. */
  changed: ((pubKey: string) => void) | null = null;
  /** Called after a JWT was deleted through {@link delete}. */
  deleted: ((pubKey: string) => void) | null = null;

  constructor(directory: string, options: DirStoreOptions) {
    this.directory = directory;
    this.options = options;
    Deno.mkdirSync(directory, { recursive: true, mode: 0o750 });
    for (const [pubKey, jwt] of this.#walk()) this.#track(pubKey, sha256(jwt), jwt);
    let check = options.ttlMs !== 0 ? options.ttlMs / 2 : 60_000;
    if (check === 0 || check > 60_000) check = 60_000;
    this.#timer = Number(setInterval(() => this.expire(), check));
    Deno.unrefTimer(this.#timer);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Every `*.jwt` file under the directory (nats-server walks subdirectories too). */
  *#walk(dir = this.directory): Generator<[string, string]> {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory) {
        yield* this.#walk(path);
      } else if (e.name.endsWith(JWT_EXTENSION)) {
        try {
          yield [e.name.slice(0, -JWT_EXTENSION.length), Deno.readTextFileSync(path)];
        } catch {
          // unreadable: skipped, as nats-server does
        }
      }
    }
  }

  /** The file of a key; null for something that is not a public nkey. */
  pathForKey(pubKey: string): string | null {
    if (pubKey.length < 2 || !isValidPublicNkey(pubKey)) return null;
    return join(this.directory, pubKey + JWT_EXTENSION);
  }

  /** The JWT stored for `pubKey`; throws with nats-server's text when there is none. */
  load(pubKey: string): string {
    const path = this.pathForKey(pubKey);
    if (path === null) throw new Error("invalid public key");
    let jwt: string;
    try {
      jwt = Deno.readTextFileSync(path);
    } catch (e) {
      throw new Error(goFileError(path, e));
    }
    this.#touch(pubKey);
    return jwt;
  }

  /** Whether a JWT is stored for the key (no use recorded). */
  has(pubKey: string): boolean {
    return this.#items.has(pubKey);
  }

  get size(): number {
    return this.#items.size;
  }

  /** Writes a JWT (nats-server's save): the changed callback runs if the content changed. */
  save(pubKey: string, jwt: string): void {
    const path = this.pathForKey(pubKey);
    if (path === null) throw new Error("invalid public key");
    if (this.#write(path, pubKey, jwt)) this.changed?.(pubKey);
  }

  /**
   * Writes a JWT unless the stored one is the same (same id) or newer (issued later); a JWT for
   * another subject than the file's is refused (nats-server's saveIfNewer).
   */
  saveIfNewer(pubKey: string, jwt: string): void {
    const path = this.pathForKey(pubKey);
    if (path === null) throw new Error("invalid public key");
    let existing: string | null = null;
    try {
      existing = Deno.readTextFileSync(path);
    } catch {
      // no file yet
    }
    if (existing !== null) {
      const next = generic(jwt);
      if (next === null) throw new Error(decodeError(jwt));
      const cur = generic(existing);
      if (cur !== null) {
        if (cur.jti === next.jti) return;
        if (cur.iat > next.iat) return;
        if (next.sub !== pubKey) throw new Error("jwt subject nkey and provided nkey do not match");
        if (cur.sub !== next.sub) throw new Error("subject of existing and new jwt do not match");
      }
    }
    if (this.#write(path, pubKey, jwt)) this.changed?.(pubKey);
  }

  /** Removes an account's JWT as the delete mode says (nats-server's delete). */
  delete(pubKey: string): void {
    if (this.options.deleteMode === "none") throw new Error("store is not set up to for delete");
    const path = this.pathForKey(pubKey) ?? join(this.directory, pubKey + JWT_EXTENSION);
    try {
      if (this.options.deleteMode === "rename") Deno.renameSync(path, path + ".deleted");
      else Deno.removeSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    this.#untrack(pubKey);
    this.deleted?.(pubKey);
  }

  /** The XOR of the tracked JWTs' SHA-256 (32 bytes; zeros for an empty store). */
  hash(): Uint8Array {
    return this.#hash.slice();
  }

  /**
   * Calls `cb` with `pubkey|jwt` lines, at most `max` per call, for the tracked, unexpired JWTs
   * (nats-server's PackWalk).
   */
  packWalk(max: number, cb: (pack: string) => void): void {
    if (max <= 0) throw new Error("bad arguments to PackWalk");
    let batch: string[] = [];
    const now = Date.now();
    for (const [pubKey, jwt] of this.#walk()) {
      if (!this.#items.has(pubKey)) continue;
      const g = generic(jwt);
      if (g !== null && g.exp > 0 && g.exp * 1000 < now) continue;
      batch.push(`${pubKey}|${jwt}`);
      if (batch.length === max) {
        cb(batch.join("\n"));
        batch = [];
      }
    }
    if (batch.length > 0) cb(batch.join("\n"));
  }

  /** Takes the JWTs of a pack (saveIfNewer each); throws on a malformed line. */
  merge(pack: string): void {
    for (const line of pack.split("\n")) {
      if (line === "") continue;
      const split = line.split("|");
      if (split.length !== 2) {
        throw new Error(`line in package didn't contain 2 entries: ${JSON.stringify(line)}`);
      }
      if (!isValidPublicNkey(split[0], NkeyPrefix.Account)) {
        throw new Error("key to merge is not a valid public account key");
      }
      this.saveIfNewer(split[0], split[1]);
    }
  }

  /**
   * Re-reads the directory (a reload): JWTs whose content changed on disk are reported to the
   * changed callback (for a cache, every JWT found is).
   */
  reload(): void {
    const before = new Map(this.#items);
    this.#items.clear();
    this.#hash.fill(0);
    for (const [pubKey, jwt] of this.#walk()) {
      const h = sha256(jwt);
      const old = before.get(pubKey);
      const notify = old === undefined ? this.options.evictOnLimit : !sameBytes(old.hash, h);
      this.#track(pubKey, h, jwt);
      if (notify) this.changed?.(pubKey);
    }
  }

  /** Drops JWTs whose time is up, removing their files. */
  expire(now = Date.now()): void {
    for (const [pubKey, it] of [...this.#items]) {
      if (it.expiresAt > now) continue;
      const path = this.pathForKey(pubKey);
      try {
        if (path !== null) Deno.removeSync(path);
      } catch {
        continue;
      }
      this.#untrack(pubKey);
    }
  }

  /** Writes if the content differs; true when it did. Applies the limit to new keys. */
  #write(path: string, pubKey: string, jwt: string): boolean {
    const h = sha256(jwt);
    const cur = this.#items.get(pubKey);
    if (cur !== undefined) {
      this.#touch(pubKey);
      if (sameBytes(cur.hash, h)) return false;
    } else if (this.#items.size >= this.options.limit) {
      if (!this.options.evictOnLimit) throw new Error("jwt store is full");
      const lru = this.#items.keys().next().value!;
      const lruPath = this.pathForKey(lru);
      if (lruPath !== null) Deno.removeSync(lruPath);
      this.#untrack(lru);
    }
    Deno.writeTextFileSync(path, jwt, { mode: 0o640 });
    this.#track(pubKey, h, jwt);
    return true;
  }

  #expiry(jwt: string): number {
    if (this.options.ttlMs !== 0) return Date.now() + this.options.ttlMs;
    const exp = generic(jwt)?.exp ?? 0;
    return exp === 0 ? Infinity : exp * 1000;
  }

  #track(pubKey: string, hash: Uint8Array, jwt: string): void {
    const cur = this.#items.get(pubKey);
    if (cur !== undefined) {
      xorInto(this.#hash, cur.hash);
      this.#items.delete(pubKey);
    }
    this.#items.set(pubKey, { hash, expiresAt: this.#expiry(jwt) });
    xorInto(this.#hash, hash);
  }

  #untrack(pubKey: string): void {
    const cur = this.#items.get(pubKey);
    if (cur === undefined) return;
    xorInto(this.#hash, cur.hash);
    this.#items.delete(pubKey);
  }

  /** A use: the JWT becomes the most recently used, and a ttl starts again. */
  #touch(pubKey: string): void {
    const it = this.#items.get(pubKey);
    if (it === undefined) return;
    if (this.options.ttlMs !== 0) it.expiresAt = Date.now() + this.options.ttlMs;
    if (this.options.evictOnLimit) {
      this.#items.delete(pubKey);
      this.#items.set(pubKey, it);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The jwt library's error for a JWT that does not decode. */
function decodeError(jwt: string): string {
  try {
    decodeGenericSync(jwt);
    return "invalid jwt";
  } catch (e) {
    return (e as Error).message;
  }
}
