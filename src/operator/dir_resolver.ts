/**
 * The NATS-based account resolvers of nats-server 2.9.10 (DirAccResolver, `type: full`, and
 * CacheDirAccResolver, `type: cache`): account JWTs kept in a directory (dir_store.ts), updated
 * by requests in the system account, and shared between the servers of a cluster:
 *
 * - `$SYS.REQ.CLAIMS.UPDATE` and `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE` (and the older
 *   `$SYS.ACCOUNT.<acc>.CLAIMS.UPDATE`) store a new account JWT once it decodes and validates
 *   (a cache stores only JWTs of accounts in use), and the account in use takes it at once;
 * - `$SYS.REQ.CLAIMS.LIST` answers the stored account keys, `$SYS.REQ.CLAIMS.DELETE` removes
 *   accounts (full resolver with allow_delete; the request is a JWT self-signed by the operator
 *   or one of its signing keys, listing `accounts`);
 * - full only: `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.LOOKUP` answers the stored JWT, and
 *   `$SYS.REQ.CLAIMS.PACK` (queue group "responder") answers a server whose directory hash
 *   differs with all its JWTs, `pubkey|jwt` per message then an empty message; every `interval`
 *   each server sends its hash and merges what comes back.
 *
 * A JWT not held locally is asked of the other servers with a CLAIMS.LOOKUP request.
 */

import { decodeAccountClaimsSync, decodeGenericSync } from "../jwt/claims.ts";
import type { AccountClaims } from "../jwt/types.ts";
import { validateAccountSync } from "../jwt/validate.ts";
import { payloadOf, replyOf } from "../message.ts";
import { isValidPublicNkey, NkeyPrefix } from "../nkeys.ts";
import type { ResolverOptions } from "../options.ts";
import type { PubArg } from "../parser.ts";
import type { ClientSub } from "../client.ts";
import { DirJwtStore } from "./dir_store.ts";
import type { OperatorMode } from "./mode.ts";
import type { AccountResolver } from "./resolver.ts";
import { NO_BYTES } from "../bytes.ts";

type DirOptions = Extract<ResolverOptions, { type: "full" | "cache" }>;

const dec = new TextDecoder();
const enc = new TextEncoder();

export class DirResolver implements AccountResolver {
  readonly type: "full" | "cache";
  readonly readOnly = false;
  readonly tracksUpdates = true;
  /** The directory of JWTs. */
  readonly dir: DirJwtStore;
  readonly options: DirOptions;
  #mode: OperatorMode | null = null;
  #subs: ClientSub[] = [];
  #sync: number | undefined;
  #lookups = 0;

  constructor(o: DirOptions) {
    this.type = o.type;
    this.options = o;
    const full = o.type === "full";
    this.dir = new DirJwtStore(o.dir, {
      deleteMode: full ? (o.allowDelete ? "rename" : "none") : "hard",
      limit: full ? (o.limit === 0 ? Infinity : o.limit) : (o.limit <= 0 ? 1000 : o.limit),
      evictOnLimit: !full,
      ttlMs: full ? 0 : o.ttlMs,
    });
  }

  fetchLocal(name: string): string | null {
    try {
      return this.dir.load(name);
    } catch {
      return null;
    }
  }

  /** A JWT held here, else the first answer of another server to a CLAIMS.LOOKUP, stored. */
  fetch(name: string): Promise<string> {
    const local = this.fetchLocal(name);
    if (local !== null) return Promise.resolve(local);
    const mode = this.#mode;
    const events = mode?.server.events;
    if (!mode || !events) return Promise.reject(new Error("eventing shut down"));
    const inbox = `$SYS._INBOX.${mode.server.id}.lookup${++this.#lookups}`;
    return new Promise<string>((resolve, reject) => {
      let sub: ClientSub | null = null;
      const done = () => {
        clearTimeout(timer);
        if (sub) events.client.unsubscribe(sub);
        sub = null;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error("fetching jwt timed out"));
      }, this.options.timeoutMs);
      sub = events.subscribe(inbox, (_s, _c, src, pa) => {
        if (sub === null) return;
        done();
        const jwt = dec.decode(payloadOf(src, pa));
        try {
          this.dir.saveIfNewer(name, jwt);
          resolve(jwt);
        } catch (e) {
          reject(e);
        }
      });
      events.send(`$SYS.REQ.ACCOUNT.${name}.CLAIMS.LOOKUP`, inbox, NO_BYTES, false);
    });
  }

  store(name: string, jwt: string): void {
    this.dir.saveIfNewer(name, jwt);
  }

  start(mode: OperatorMode): void {
    this.#mode = mode;
    const server = mode.server;
    const events = server.events!;
    const full = this.type === "full";
    const ops = mode.operators[0]?.claims;
    const operatorKey = ops?.sub ?? "";
    const strict = ops?.nats.strict_signing_key_usage ?? false;
    this.#operatorKeys = new Set([
      ...(strict || !ops ? [] : [operatorKey]),
      ...(ops?.nats.signing_keys ?? []),
    ]);
    const what = full ? "jwt update" : "jwt update cache";
    this.dir.changed = (pubKey) => {
      const acc = server.accounts.get(pubKey);
      if (!acc) return;
      let jwt: string;
      try {
        jwt = this.dir.load(pubKey);
      } catch (e) {
        server.log.error(`update got error on load: ${(e as Error).message}`);
        return;
      }
      try {
        mode.updateAccountWithClaimJwt(acc, jwt);
      } catch (e) {
        server.log.error(`update resulted in error ${(e as Error).message}`);
        return;
      }
      // nats-server checks the account's JetStream after each update of a full resolver, and
      // warns when the account has none.
      if (full && server.jetstream?.lookup(acc) == null) {
        server.log.warn(
          "error checking for JetStream enabled error JetStream not enabled for account (10039)",
        );
      }
    };
    this.dir.deleted = (pubKey) => mode.accountRemoved(pubKey);
    const on = (subject: string, h: (src: Uint8Array, pa: PubArg) => void, queue = "") =>
      this.#subs.push(events.client.subscribe(subject, (_s, _c, src, pa) => h(src, pa), queue));

    /** Stores a decoded, valid JWT for `pubKey` (and applies it when the account is in use). */
    const save = (reply: string, pubKey: string, claims: AccountClaims, jwt: string) => {
      if (claims.iss === operatorKey && strict) {
        mode.respondToUpdate(
          reply,
          pubKey,
          `${what} resulted in error`,
          "operator requires issuer to be a signing key",
        );
        return;
      }
      if (!full && !server.accounts.has(pubKey)) {
        mode.respondToUpdate(reply, pubKey, "jwt update cache skipped", null);
        return;
      }
      const vr = validateAccountSync(claims);
      if (vr.isBlocking(false)) {
        mode.respondToUpdate(
          reply,
          claims.sub,
          full ? "jwt validation failed" : "jwt update cache validation failed",
          `validation errors: [${vr.errors().join(" ")}]`,
        );
        return;
      }
      try {
        this.dir.save(pubKey, jwt);
      } catch (e) {
        mode.respondToUpdate(reply, pubKey, `${what} resulted in error`, (e as Error).message);
        return;
      }
      mode.respondToUpdate(reply, pubKey, full ? "jwt updated" : "jwt updated cache", null);
    };

    const update = (src: Uint8Array, pa: PubArg) => {
      const reply = replyOf(src, pa);
      const tk = pa.subject.split(".");
      let pubKey: string;
      if (tk.length === 6) pubKey = tk[3];
      else if (tk.length === 5) pubKey = tk[2];
      else {
        server.log.debug(
          `${full ? "jwt update" : "jwt update cache"} skipped due to bad subject ${
            JSON.stringify(pa.subject)
          }`,
        );
        return;
      }
      const jwt = dec.decode(payloadOf(src, pa));
      let claims: AccountClaims;
      try {
        claims = decodeAccountClaimsSync(jwt);
      } catch (e) {
        mode.respondToUpdate(
          reply,
          full ? "n/a" : pubKey,
          `${what} resulted in error`,
          (e as Error).message,
        );
        return;
      }
      if (full) {
        // The full resolver validates before comparing subjects; the cache the other way round.
        const vr = validateAccountSync(claims);
        if (vr.isBlocking(false)) {
          mode.respondToUpdate(
            reply,
            claims.sub,
            "jwt validation failed",
            `validation errors: [${vr.errors().join(" ")}]`,
          );
          return;
        }
      }
      if (claims.sub !== pubKey) {
        mode.respondToUpdate(
          reply,
          pubKey,
          `${what} resulted in error`,
          "subject does not match jwt content",
        );
        return;
      }
      save(reply, pubKey, claims, jwt);
    };
    for (const s of ["$SYS.ACCOUNT.*.CLAIMS.UPDATE", "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE"]) {
      on(s, update);
    }
    on("$SYS.REQ.CLAIMS.UPDATE", (src, pa) => {
      const reply = replyOf(src, pa);
      const jwt = dec.decode(payloadOf(src, pa));
      let claims: AccountClaims;
      try {
        claims = decodeAccountClaimsSync(jwt);
      } catch (e) {
        mode.respondToUpdate(reply, "n/a", `${what} resulted in error`, (e as Error).message);
        return;
      }
      save(reply, claims.sub, claims, jwt);
    });
    if (full) {
      on("$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP", (src, pa) => {
        const reply = replyOf(src, pa);
        const tk = pa.subject.split(".");
        if (reply === "" || tk.length !== 6) return;
        let jwt: string;
        try {
          jwt = this.dir.load(tk[3]);
        } catch (e) {
          server.log.error(`Merging resulted in error: ${(e as Error).message}`);
          return;
        }
        events.send(reply, "", enc.encode(jwt), false);
      });
      on("$SYS.REQ.CLAIMS.PACK", (src, pa) => this.#packRequest(src, pa), "responder");
    }
    on("$SYS.REQ.CLAIMS.LIST", (src, pa) => this.#listRequest(replyOf(src, pa)));
    on("$SYS.REQ.CLAIMS.DELETE", (src, pa) => this.#deleteRequest(src, pa));
    if (full) {
      const packInbox = `$SYS._INBOX.${server.id}.pack`;
      on(packInbox, (src, pa) => this.#packResponse(src, pa));
      const interval = this.options.intervalMs > 0 ? this.options.intervalMs : 60_000;
      this.#sync = Number(setInterval(() => {
        const hash = this.dir.hash();
        server.log.debug(`Checking store state: ${hex(hash)}`);
        events.send("$SYS.REQ.CLAIMS.PACK", packInbox, hash, false);
      }, interval));
      Deno.unrefTimer(this.#sync);
      server.log.notice(`Managing all jwt in exclusive directory ${this.dir.directory}`);
    } else {
      server.log.notice(`Managing some jwt in exclusive directory ${this.dir.directory}`);
    }
  }

  #operatorKeys = new Set<string>();

  /** A server whose directory hash differs gets every JWT, one per message, then an empty one. */
  #packRequest(src: Uint8Array, pa: PubArg): void {
    const mode = this.#mode!;
    const events = mode.server.events!;
    const reply = replyOf(src, pa);
    if (reply === "") return;
    const theirs = payloadOf(src, pa);
    const ours = this.dir.hash();
    if (sameBytes(theirs, ours)) {
      events.send(reply, "", NO_BYTES, false);
      mode.server.log.debug(`pack request matches hash ${hex(ours)}`);
      return;
    }
    try {
      this.dir.packWalk(1, (pack) => events.send(reply, "", enc.encode(pack), false));
    } catch (e) {
      mode.server.log.error(`pack request error: ${(e as Error).message}`);
      return;
    }
    mode.server.log.debug(
      `pack request hash ${hex(theirs)} - finished responding with hash ${hex(ours)}`,
    );
    events.send(reply, "", NO_BYTES, false);
  }

  #packResponse(src: Uint8Array, pa: PubArg): void {
    const log = this.#mode!.server.log;
    const msg = payloadOf(src, pa);
    const before = this.dir.hash();
    if (msg.length === 0) {
      log.debug(`Merging Finished and resulting in: ${hex(before)}`);
      return;
    }
    try {
      this.dir.merge(dec.decode(msg));
    } catch (e) {
      log.error(`Merging resulted in error: ${(e as Error).message}`);
      return;
    }
    log.debug(`Merging succeeded and changed ${hex(before)} to ${hex(this.dir.hash())}`);
  }

  /** `$SYS.REQ.CLAIMS.LIST`: every stored account key, in one message. */
  #listRequest(reply: string): void {
    if (reply === "") return;
    const mode = this.#mode!;
    const ids: string[] = [];
    try {
      this.dir.packWalk(1, (pack) => {
        const tk = pack.split("|");
        if (tk.length === 2) ids.push(tk[0]);
      });
    } catch (e) {
      mode.server.log.error(`list request error: ${(e as Error).message}`);
      return;
    }
    mode.server.log.debug(`list request responded with ${ids.length} account ids`);
    mode.server.events!.send(reply, "", { data: ids, server: null });
  }

  /** `$SYS.REQ.CLAIMS.DELETE` (nats-server's handleDeleteRequest). */
  #deleteRequest(src: Uint8Array, pa: PubArg): void {
    const mode = this.#mode!;
    const reply = replyOf(src, pa);
    const sys = mode.server.systemAccount?.name ?? "";
    let subject = "";
    let err: string | null = null;
    let accounts: string[] = [];
    try {
      const gk = decodeGenericSync(dec.decode(payloadOf(src, pa)));
      subject = gk.sub;
      const list = gk.nats?.accounts;
      if (this.dir.options.deleteMode === "none") err = "delete must be enabled in server config";
      else if (gk.sub !== gk.iss) err = "not self signed";
      else if (!this.#operatorKeys.has(gk.iss)) err = "not trusted";
      else if (list === undefined || !Array.isArray(list)) err = "malformed request";
      else {
        for (const e of list) {
          if (typeof e !== "string" || e === "" || !isValidPublicNkey(e, NkeyPrefix.Account)) {
            err = "malformed request";
            break;
          }
          if (e === sys) {
            err = "not allowed to delete system account";
            break;
          }
        }
        accounts = list as string[];
      }
    } catch (e) {
      err = (e as Error).message;
    }
    if (err !== null) {
      mode.respondToUpdate(reply, "", `delete accounts request by ${subject} failed`, err);
      return;
    }
    const errs: string[] = [];
    let passed = 0;
    for (const a of accounts) {
      try {
        this.dir.delete(a);
        passed++;
      } catch (e) {
        errs.push((e as Error).message);
      }
    }
    if (errs.length === 0) mode.respondToUpdate(reply, "", `deleted ${passed} accounts`, null);
    else {
      mode.respondToUpdate(
        reply,
        "",
        `deleted ${passed} accounts, failed for ${errs.length}`,
        errs.join("\n"),
      );
    }
  }

  reload(): void {
    this.dir.reload();
  }

  close(): void {
    clearInterval(this.#sync);
    this.#sync = undefined;
    const events = this.#mode?.server.events;
    for (const s of this.#subs) events?.client.unsubscribe(s);
    this.#subs = [];
    this.dir.close();
  }
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
