/**
 * JetStream on one server: the server-wide state (config, reservations, usage, API counters)
 * and each enabled account's (its streams, limits and usage), with nats-server 2.9.10's rules
 * for enabling (which accounts get JetStream), its startup and shutdown log lines, its limits
 * checks, and the recovery of file streams from the store directory at start.
 *
 * Layout on disk, as nats-server's: `<store_dir>/jetstream/<account>/streams/<stream>/`.
 * Memory streams are not kept across restarts (nor are they by nats-server).
 */

import { statfsSync } from "node:fs";
import type { Account } from "../accounts/account.ts";
import type { ClientSub } from "../client.ts";
import type { JetStreamAccountLimits } from "../options.ts";
import { unlimitedJetStreamAccount } from "../options.ts";
import type { Server } from "../server.ts";
import { subjectsCollide } from "../subjects.ts";
import { type ApiError, jsError } from "./errors.ts";
import {
  FileStore,
  MemoryStore,
  NO_LIMITS,
  type StoreLimits,
  type StreamStore,
} from "./store/mod.ts";
import { nowNanos } from "./store/base.ts";
import { goTimeNs, parseRfc3339 } from "../go_time.ts";
import {
  checkStreamConfig,
  checkStreamUpdate,
  type ConfigContext,
  configJson,
  rawFromConfig,
  type RawStreamConfig,
  sameConfig,
  type Storage,
  type StreamConfig,
} from "./stream_config.ts";
import { storeLimits, Stream } from "./stream.ts";
import { streamAction } from "./advisories.ts";
import { installApi } from "./api.ts";
import { recoverStreamConsumers } from "./consumers.ts";
import { applyDomainMappings } from "./domain.ts";
import {
  accountLimits,
  growth,
  limitsJson,
  reservedBy,
  tiersJson,
  ZERO_LIMITS,
} from "./account_limits.ts";
import type { JetStreamConfig } from "./settings.ts";

export const JS_STORE_DIR = "jetstream";
const STREAMS_DIR = "streams";
/** Where restores are staged (nats-server's snapsDir). */
const SNAPSHOTS_DIR = "__snapshots__";
/** nats-server's JetStreamMaxMemDefault, when the machine's memory cannot be read. */
const MAX_MEM_DEFAULT = 256 * 1024 * 1024;
/** nats-server's JetStreamMaxStoreDefault (1 TB), when the disk cannot be asked. */
const MAX_STORE_DEFAULT = 1024 ** 4;

/** nats-server's friendlyBytes: "512 B", "1.50 KB", "17.66 GB". */
export function friendlyBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const exp = Math.floor(Math.log(bytes) / Math.log(1024));
  return `${(bytes / 1024 ** exp).toFixed(2)} ${"KMGTPE"[exp - 1]}B`;
}

/** nats-server's comma: 1234567 as "1,234,567". */
export function comma(n: number): string {
  return n.toLocaleString("en-US");
}

function tempDir(): string {
  return Deno.env.get("TMPDIR") || "/tmp";
}

/** 75% of the space available to us on the disk holding `dir` (nats-server's diskAvailable). */
function diskAvailable(dir: string): number {
  try {
    Deno.mkdirSync(dir, { recursive: true });
    const st = statfsSync(dir);
    return Math.floor((st.bavail * st.bsize) / 4) * 3;
  } catch {
    return MAX_STORE_DEFAULT;
  }
}

function systemMemory(): number {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return 0;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes a directory if it is empty (os.Remove). */
function removeIfEmpty(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // not empty, or gone
  }
}

export class JetStream {
  readonly server: Server;
  readonly config: JetStreamConfig;
  readonly accounts = new Map<string, JsAccount>();
  /** Accounts answering API requests without JetStream (nats-server's "not enabled"). */
  readonly #apiOnly = new Map<Account, ClientSub>();
  memReserved = 0;
  storeReserved = 0;
  memUsed = 0;
  storeUsed = 0;
  apiTotal = 0;
  apiErrors = 0;
  started = new Date();
  #lastResourceError = 0;

  private constructor(server: Server, config: JetStreamConfig) {
    this.server = server;
    this.config = config;
  }

  /**
   * nats-server's EnableJetStream: the config (dynamic limits from the machine where none are
   * set), the store directory, the banner, then every account that has JetStream and the
   * streams it had. Throws with nats-server's reason; the caller makes it fatal.
   */
  static enable(server: Server): JetStream {
    const o = server.opts;
    const log = server.log;
    log.notice("Starting JetStream");
    let cfg: JetStreamConfig;
    if (o.jetstreamMaxMemory <= 0 || o.jetstreamMaxStore <= 0) {
      const storeDir = o.storeDir
        ? `${o.storeDir.replace(/\/+$/, "")}/${JS_STORE_DIR}`
        : `${tempDir()}/nats/${JS_STORE_DIR}`;
      const sysMem = systemMemory();
      cfg = {
        storeDir,
        maxStore: o.jetstreamMaxStore >= 0 ? o.jetstreamMaxStore : diskAvailable(storeDir),
        maxMemory: o.jetstreamMaxMemory >= 0
          ? o.jetstreamMaxMemory
          : sysMem > 0
          ? Math.floor(sysMem / 4) * 3
          : MAX_MEM_DEFAULT,
        domain: o.jetstreamDomain,
        compressOk: false,
      };
      log.debug(
        `JetStream creating dynamic configuration - ${friendlyBytes(cfg.maxMemory)} memory, ${
          friendlyBytes(cfg.maxStore)
        } disk`,
      );
    } else {
      cfg = {
        storeDir: o.storeDir
          ? `${o.storeDir.replace(/\/+$/, "")}/${JS_STORE_DIR}`
          : `${tempDir()}/${JS_STORE_DIR}`,
        maxMemory: o.jetstreamMaxMemory,
        maxStore: o.jetstreamMaxStore,
        domain: o.jetstreamDomain,
        compressOk: true,
      };
    }
    const js = new JetStream(server, cfg);
    js.#prepareStoreDir();
    if (server.systemAccount !== null && accountLimits(server, server.systemAccount)) {
      throw new Error("Not allowed to enable JetStream on the system account");
    }
    const banner = [
      "    _ ___ _____ ___ _____ ___ ___   _   __  __",
      " _ | | __|_   _/ __|_   _| _ \\ __| /_\\ |  \\/  |",
      "| || | _|  | | \\__ \\ | | |   / _| / _ \\| |\\/| |",
      " \\__/|___| |_| |___/ |_| |_|_\\___/_/ \\_\\_|  |_|",
      "",
      "         https://docs.nats.io/jetstream",
      "",
      "---------------- JETSTREAM ----------------",
      `  Max Memory:      ${friendlyBytes(cfg.maxMemory)}`,
      `  Max Storage:     ${friendlyBytes(cfg.maxStore)}`,
      `  Store Directory: "${cfg.storeDir}"`,
    ];
    if (cfg.domain) banner.push(`  Domain:          ${cfg.domain}`);
    banner.push("-------------------------------------------");
    for (const l of banner) log.notice(l);
    log.debug("  Exports:");
    log.debug("     $JS.API.>");
    if (o.cluster.port !== 0) {
      log.warn(
        "JetStream clustering is not supported by this server: JetStream runs on this server alone",
      );
    }
    js.#enableAccounts();
    js.started = new Date();
    return js;
  }

  #prepareStoreDir(): void {
    const dir = this.config.storeDir;
    let st: Deno.FileInfo | null = null;
    try {
      st = Deno.statSync(dir);
    } catch (e) {
      // Only a missing directory is created; anything else (a file on the path) is refused.
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error("storage directory is not a directory");
      }
      try {
        Deno.mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new Error(`could not create storage directory - ${(e as Error).message}`);
      }
      return;
    }
    if (!st.isDirectory) throw new Error("storage directory is not a directory");
    try {
      const tmp = Deno.makeTempFileSync({ dir, prefix: "_test_" });
      Deno.removeSync(tmp);
    } catch {
      throw new Error("storage directory is not writable");
    }
  }

  /** nats-server's enableJetStreamAccounts. */
  #enableAccounts(): void {
    const s = this.server;
    if (s.systemAccount !== null) this.#installApiOnly(s.systemAccount, true);
    // In operator mode, accounts with streams on disk are looked up now so their streams come
    // back (those whose JWT is at hand; others come back when first used).
    if (s.operator !== null) s.operator.lookupStoredAccounts(this.config.storeDir);
    if (this.#globalOnly()) {
      this.enableAccount(s.globalAccount, unlimitedJetStreamAccount());
      return;
    }
    // Empty account directories left behind are tidied up (not the system account's).
    try {
      for (const e of Deno.readDirSync(this.config.storeDir)) {
        if (e.name === s.systemAccount?.name) continue;
        const accDir = `${this.config.storeDir}/${e.name}`;
        removeIfEmpty(`${accDir}/${STREAMS_DIR}`);
        removeIfEmpty(accDir);
      }
    } catch {
      // nothing there yet
    }
    try {
      for (const acc of s.accounts.values()) {
        const limits = accountLimits(s, acc);
        if (acc.jwt !== null && acc !== s.systemAccount) s.operator?.configureJetStream(acc, this);
        else if (limits) this.enableAccount(acc, limits);
        else if (acc !== s.systemAccount) this.#installApiOnly(acc);
      }
    } catch (e) {
      throw new Error(
        `Error enabling jetstream on configured accounts: ${(e as Error).message}`,
      );
    }
  }

  /** No accounts configured beyond `$G` and the system account: `$G` gets JetStream. */
  #globalOnly(): boolean {
    const s = this.server;
    if (s.operator !== null) return false;
    for (const a of s.accounts.values()) {
      if (a !== s.globalAccount && a !== s.systemAccount) return false;
    }
    return true;
  }

  #installApiOnly(acc: Account, infoOnly = false): void {
    if (this.#apiOnly.has(acc)) return;
    this.#apiOnly.set(acc, installApi(this, acc, null, infoOnly));
    if (!infoOnly) applyDomainMappings(acc, this.config.domain);
  }

  #removeApiOnly(acc: Account): void {
    const sub = this.#apiOnly.get(acc);
    if (sub === undefined) return;
    acc.internal?.unsubscribe(sub);
    this.#apiOnly.delete(acc);
  }

  /** Account.EnableJetStream: limits checked against the server, API installed, streams back. */
  enableAccount(acc: Account, limits: JetStreamAccountLimits): JsAccount {
    const s = this.server;
    if (acc === s.systemAccount) {
      throw new Error("jetstream can not be enabled on the system account");
    }
    this.#sufficientResources(...reservedBy(limits));
    this.#removeApiOnly(acc);
    const jsa = new JsAccount(this, acc, limits);
    this.accounts.set(acc.name, jsa);
    jsa.apiSub = installApi(this, acc, jsa);
    applyDomainMappings(acc, this.config.domain);
    s.log.debug(`Enabled JetStream for account ${JSON.stringify(acc.name)}`);
    if (limits.tiers === undefined) {
      s.log.debug(`  Max Memory:      ${friendlyBytes(limits.maxMemory)}`);
      s.log.debug(`  Max Storage:     ${friendlyBytes(limits.maxStore)}`);
    } else {
      for (const [t, l] of Object.entries(limits.tiers)) {
        s.log.debug(`  Tier: ${t}`);
        s.log.debug(`    Max Memory:      ${friendlyBytes(l.maxMemory)}`);
        s.log.debug(`    Max Storage:     ${friendlyBytes(l.maxStore)}`);
      }
    }
    jsa.recover();
    return jsa;
  }

  /**
   * nats-server's configJetStream for an account whose limits may have changed (an account JWT
   * update): JetStream enabled, its limits updated (the growth checked against what the server
   * has left), or disabled (its streams stop, their files stay) with the API answering "not
   * enabled". Throws what nats-server reports.
   */
  configureAccount(acc: Account): void {
    const s = this.server;
    const limits = accountLimits(s, acc);
    const jsa = this.lookup(acc);
    if (limits !== null && jsa !== null) {
      this.#sufficientResources(...growth(jsa.limits, limits));
      jsa.limits = limits;
    } else if (limits !== null) {
      this.enableAccount(acc, limits);
    } else if (acc !== s.systemAccount) {
      if (jsa !== null) {
        jsa.stop();
        this.accounts.delete(acc.name);
      }
      this.#installApiOnly(acc);
    }
  }

  /** Standalone: the account's limits (or their growth) must fit in what the server has left. */
  #sufficientResources(mem: number, store: number): void {
    if (this.memReserved + mem > this.config.maxMemory) {
      throw jsError("JSMemoryResourcesExceededErr");
    }
    if (this.storeReserved + store > this.config.maxStore) {
      throw jsError("JSStorageResourcesExceededErr");
    }
    let memReserved = 0;
    let storeReserved = 0;
    for (const jsa of this.accounts.values()) {
      if (jsa.account.jwt?.expired) continue;
      const [m, st] = reservedBy(jsa.limits);
      memReserved += m;
      storeReserved += st;
    }
    if (memReserved + mem > this.config.maxMemory) throw jsError("JSMemoryResourcesExceededErr");
    if (storeReserved + store > this.config.maxStore) {
      throw jsError("JSStorageResourcesExceededErr");
    }
  }

  /** The account's JetStream, or null. */
  lookup(acc: Account): JsAccount | null {
    const jsa = this.accounts.get(acc.name);
    return jsa !== undefined && jsa.account === acc ? jsa : null;
  }

  /** Is the server past its own memory or storage limit? */
  limitsExceeded(storage: Storage): boolean {
    return storage === "memory"
      ? this.memUsed > this.config.maxMemory
      : this.storeUsed > this.config.maxStore;
  }

  /** Logged at most every 10 s, as nats-server's resourcesExeededError. */
  resourcesExceeded(): void {
    const now = Date.now();
    if (now - this.#lastResourceError > 10_000) {
      this.server.log.error("JetStream resource limits exceeded for server");
      this.#lastResourceError = now;
    }
  }

  reserve(cfg: StreamConfig, sign = 1): void {
    if (cfg.max_bytes <= 0) return;
    if (cfg.storage === "memory") this.memReserved += sign * cfg.max_bytes;
    else this.storeReserved += sign * cfg.max_bytes;
  }

  /** checkBytesLimits: `addBytes` more (per replica) against the account and the server. */
  checkBytesLimits(
    selected: JetStreamAccountLimits,
    addBytes: number,
    storage: Storage | "any" | "",
    replicas: number,
    currentRes: number,
    maxBytesOffset: number,
  ): void {
    if (replicas < 1) replicas = 1;
    if (addBytes < 0) addBytes = 1;
    const total = addBytes * replicas + maxBytesOffset;
    if (storage === "memory") {
      if (selected.maxMemory >= 0 && currentRes + total > selected.maxMemory) {
        throw jsError("JSMemoryResourcesExceededErr");
      }
      if (this.memReserved + addBytes > this.config.maxMemory) {
        throw jsError("JSMemoryResourcesExceededErr");
      }
    } else if (storage === "file") {
      if (selected.maxStore >= 0 && currentRes + total > selected.maxStore) {
        throw jsError("JSStorageResourcesExceededErr");
      }
      if (this.storeReserved + addBytes > this.config.maxStore) {
        throw jsError("JSStorageResourcesExceededErr");
      }
    }
  }

  /** nats-server's usageStats (/varz, /jsz). */
  usageStats(): Record<string, unknown> {
    return {
      memory: this.memUsed,
      storage: this.storeUsed,
      reserved_memory: this.memReserved,
      reserved_storage: this.storeReserved,
      accounts: this.accounts.size,
      ha_assets: 0,
      api: { total: this.apiTotal, errors: this.apiErrors },
    };
  }

  /**
   * After a configuration reload (accounts rebuilt, their mappings reset): accounts that came
   * or went, JetStream enabled or disabled for an account, new limits, domain mappings again.
   */
  reconfigure(): void {
    const s = this.server;
    for (const [name, jsa] of this.accounts) {
      if (s.accounts.get(name) !== jsa.account) {
        jsa.stop();
        this.accounts.delete(name);
      }
    }
    for (const acc of [...this.#apiOnly.keys()]) {
      if (s.accounts.get(acc.name) !== acc) this.#apiOnly.delete(acc);
    }
    if (s.systemAccount !== null) this.#installApiOnly(s.systemAccount, true);
    const globalOnly = this.#globalOnly();
    for (const acc of s.accounts.values()) {
      if (acc === s.systemAccount) continue;
      const jsa = this.lookup(acc);
      const limits = globalOnly && acc === s.globalAccount
        ? (jsa?.limits ?? unlimitedJetStreamAccount())
        : accountLimits(s, acc);
      if (limits !== null && jsa !== null) jsa.limits = limits;
      else if (limits !== null) {
        try {
          this.enableAccount(acc, limits);
        } catch (e) {
          s.log.error(`Error enabling JetStream for account ${acc.name}: ${errorText(e)}`);
        }
      } else if (jsa !== null) {
        jsa.stop();
        this.accounts.delete(acc.name);
        this.#installApiOnly(acc);
      } else this.#installApiOnly(acc);
      applyDomainMappings(acc, this.config.domain);
    }
  }

  /** Server shutdown: every stream stops (its files stay), the API goes away. */
  shutdown(): void {
    const log = this.server.log;
    log.notice("Initiating JetStream Shutdown...");
    for (const jsa of this.accounts.values()) jsa.stop();
    for (const acc of [...this.#apiOnly.keys()]) this.#removeApiOnly(acc);
    this.accounts.clear();
    log.notice("JetStream Shutdown");
  }
}

/** One account's JetStream: its streams, limits, usage and API counters. */
export class JsAccount {
  readonly js: JetStream;
  readonly account: Account;
  limits: JetStreamAccountLimits;
  readonly streams = new Map<string, Stream>();
  readonly storeDir: string;
  apiSub: ClientSub | null = null;
  memUsed = 0;
  storeUsed = 0;
  apiTotal = 0;
  apiErrors = 0;

  constructor(js: JetStream, account: Account, limits: JetStreamAccountLimits) {
    this.js = js;
    this.account = account;
    this.limits = limits;
    this.storeDir = `${js.config.storeDir}/${account.name}`;
  }

  get server(): Server {
    return this.js.server;
  }

  updateUsage(storage: Storage, delta: number): void {
    if (delta === 0) return;
    if (storage === "memory") {
      this.memUsed += delta;
      this.js.memUsed += delta;
    } else {
      this.storeUsed += delta;
      this.js.storeUsed += delta;
    }
  }

  /** nats-server's jsa.limitsExceeded after a store: the error to answer, or null. */
  limitsExceeded(storage: Storage): ApiError | null {
    const l = this.limits;
    if (storage === "memory") {
      const total = this.memUsed;
      if (
        (l.memoryMaxStreamBytes > 0 && total > l.memoryMaxStreamBytes) ||
        (l.maxMemory >= 0 && total > l.maxMemory)
      ) return jsError("JSAccountResourcesExceededErr");
    } else {
      const total = this.storeUsed;
      if (
        (l.storeMaxStreamBytes > 0 && total > l.storeMaxStreamBytes) ||
        (l.maxStore >= 0 && total > l.maxStore)
      ) return jsError("JSAccountResourcesExceededErr");
    }
    return null;
  }

  /** What stream config checks ask of the account. */
  configContext(): ConfigContext {
    const l = this.limits;
    return {
      lookup: (name) => this.streams.get(name)?.config(),
      maxBytesLimits: (storage) => ({
        required: l.maxBytesRequired,
        limit: storage === "memory" ? l.memoryMaxStreamBytes : l.storeMaxStreamBytes,
      }),
      maxDuplicates: this.js.server.opts.jetstreamMaxDuplicatesMs * 1e6,
    };
  }

  /** MaxBytes reserved by the account's other streams of this storage (tieredReservation). */
  #reserved(name: string, storage: string): number {
    let r = 0;
    for (const s of this.streams.values()) {
      const c = s.config();
      if (c.max_bytes > 0 && c.storage === storage && c.name !== name) {
        r += c.num_replicas * c.max_bytes;
      }
    }
    return r;
  }

  /** jsNonClusteredStreamLimitsCheck, run on the request's config before defaults. */
  precheckLimits(raw: RawStreamConfig): void {
    const l = this.limits;
    // Tiered limits: this server's streams are R1; a request's replicas name its tier.
    if (l.tiers !== undefined && l.tiers[`R${raw.replicas}`] === undefined) {
      throw jsError("JSNoLimitsErr");
    }
    if (l.maxStreams > 0 && this.streams.size >= l.maxStreams) {
      throw jsError("JSMaximumStreamsLimitErr");
    }
    this.#checkLimits(raw, this.#reserved(raw.name, raw.storage), 0);
  }

  /** checkAllLimits: max consumers, then bytes against the account and the server. */
  #checkLimits(c: RawStreamConfig, currentRes: number, offset: number): void {
    const l = this.limits;
    if (c.maxConsumers > 0 && l.maxConsumers > 0 && c.maxConsumers > l.maxConsumers) {
      throw jsError("JSMaximumConsumersLimitErr");
    }
    this.js.checkBytesLimits(l, c.maxBytes, c.storage, c.replicas, currentRes, offset);
  }

  subjectsOverlap(subjects: string[], self: Stream | null): boolean {
    for (const s of this.streams.values()) {
      if (s === self) continue;
      for (const subj of s.config().subjects ?? []) {
        for (const t of subjects) if (subjectsCollide(t, subj)) return true;
      }
    }
    return false;
  }

  /**
   * Account.addStream: defaults and checks, an identical existing stream returned as is, limits,
   * subject overlap, the store, the subscriptions, the create advisory. Throws ApiError (or a
   * plain Error for failures nats-server reports as text).
   */
  addStream(raw: RawStreamConfig, recovered?: { store: StreamStore; created: string }): Stream {
    const checked = checkStreamConfig(raw, this.configContext());
    if (checked.replicas > 1) throw jsError("JSStreamReplicasNotSupportedErr");
    const cfg = configJson(checked);
    const existing = this.streams.get(cfg.name);
    if (existing !== undefined) {
      if (sameConfig(existing.config(), cfg)) return existing;
      throw jsError("JSStreamNameExistErr");
    }
    this.#checkLimits(checked, this.#reserved(cfg.name, cfg.storage), 0);
    if (cfg.template_owner) throw new Error("stream not owned by template");
    if (this.subjectsOverlap(cfg.subjects ?? [], null)) throw jsError("JSStreamSubjectOverlapErr");
    let store: StreamStore;
    if (recovered) {
      store = recovered.store;
      store.updateLimits(storeLimits(cfg));
    } else store = this.newStore(cfg, storeLimits(cfg));
    const stream = new Stream(this, cfg, store, recovered?.created ?? goTimeNs(nowNanos()));
    if (!recovered) store.writeMeta(stream.meta());
    this.streams.set(cfg.name, stream);
    // What a recovered store holds counts as usage from the start.
    const st = store.state();
    if (st.bytes > 0) this.updateUsage(cfg.storage, st.bytes);
    stream.start();
    this.js.reserve(cfg);
    streamAction(this.server, this.account, cfg.name, "create", this.js.config.domain);
    for (const s of this.streams.values()) if (s !== stream) s.originAppeared(stream);
    return stream;
  }

  /** A new, empty store for a stream of this config (a file stream's in its directory). */
  newStore(cfg: StreamConfig, limits: StoreLimits): StreamStore {
    try {
      if (cfg.storage === "memory") return new MemoryStore({ limits });
      const dir = `${this.storeDir}/${STREAMS_DIR}/${cfg.name}`;
      return new FileStore({ dir, limits, logger: this.server.log });
    } catch (e) {
      throw new StoreFailed(e);
    }
  }

  /**
   * A store to restore a stream into, out of the way of the account's streams until it is
   * whole (a file stream's in `<account>/__snapshots__/`, as nats-server stages restores; a
   * memory stream's is the store it keeps). Throws StoreFailed.
   */
  stagingStore(cfg: StreamConfig): StreamStore {
    try {
      if (cfg.storage === "memory") return new MemoryStore({ limits: NO_LIMITS });
      const dir = `${this.storeDir}/${SNAPSHOTS_DIR}/snap-${crypto.randomUUID()}`;
      return new FileStore({ dir, limits: NO_LIMITS, logger: this.server.log });
    } catch (e) {
      throw new StoreFailed(e);
    }
  }

  /**
   * A whole staged store moved into the stream's place (whatever an earlier stream of that name
   * left there goes first), and opened there. Throws StoreFailed.
   */
  adoptStaged(cfg: StreamConfig, staged: StreamStore): StreamStore {
    if (!(staged instanceof FileStore)) return staged;
    try {
      staged.stop();
      const dir = `${this.storeDir}/${STREAMS_DIR}/${cfg.name}`;
      if (exists(dir)) Deno.removeSync(dir, { recursive: true });
      Deno.mkdirSync(`${this.storeDir}/${STREAMS_DIR}`, { recursive: true });
      Deno.renameSync(staged.dir, dir);
      removeIfEmpty(`${this.storeDir}/${SNAPSHOTS_DIR}`);
      return new FileStore({ dir, limits: NO_LIMITS, logger: this.server.log });
    } catch (e) {
      throw new StoreFailed(e);
    }
  }

  /** A staged store given up: its data goes. */
  dropStaged(staged: StreamStore): void {
    try {
      staged.delete();
    } catch {
      // nothing more to do
    }
    if (staged instanceof FileStore) {
      removeIfEmpty(`${this.storeDir}/${SNAPSHOTS_DIR}`);
      removeIfEmpty(this.storeDir);
    }
  }

  /** A stream's update (configUpdateCheck, overlap, then applied). Returns the new config. */
  updateStream(stream: Stream, raw: RawStreamConfig): StreamConfig {
    const old = stream.config();
    const checked = checkStreamUpdate(old, checkStreamConfig(raw, this.configContext()));
    // Only the growth of max_bytes is reserved; a smaller value reserves nothing more.
    const maxBytesDiff = Math.max(0, checked.maxBytes - old.max_bytes);
    let offset = 0;
    if (old.max_bytes > 0 && checked.replicas > old.num_replicas) {
      offset = old.max_bytes * (checked.replicas - old.num_replicas);
    }
    const reserved = this.#reserved(old.name, checked.storage) + old.num_replicas * old.max_bytes;
    this.#checkLimits({ ...checked, maxBytes: maxBytesDiff }, reserved, offset);
    const cfg = configJson(checked);
    if (this.subjectsOverlap(cfg.subjects ?? [], stream)) {
      throw jsError("JSStreamSubjectOverlapErr");
    }
    stream.update(cfg);
    const diff = cfg.max_bytes - old.max_bytes;
    if (diff > 0) this.js.reserve({ ...cfg, max_bytes: diff });
    else if (diff < 0) this.js.reserve({ ...old, max_bytes: -diff }, -1);
    return cfg;
  }

  deleteStream(stream: Stream): void {
    this.streams.delete(stream.name);
    for (const s of this.streams.values()) s.originGone(stream.name);
    const st = stream.store.state();
    stream.delete();
    if (st.bytes > 0) this.updateUsage(stream.config().storage, -st.bytes);
    this.js.reserve(stream.config(), -1);
    removeIfEmpty(`${this.storeDir}/${STREAMS_DIR}`);
    removeIfEmpty(this.storeDir);
  }

  /** nats-server's JetStreamUsage as the account info response carries it. */
  usage(): Record<string, unknown> {
    let consumers = 0;
    for (const s of this.streams.values()) consumers += s.consumers.size;
    const l = this.limits;
    const used = {
      memory: this.memUsed,
      storage: this.storeUsed,
      streams: this.streams.size,
      consumers,
    };
    const o: Record<string, unknown> = {
      ...used,
      limits: limitsJson(l.tiers === undefined ? l : ZERO_LIMITS),
    };
    if (this.js.config.domain) o.domain = this.js.config.domain;
    o.api = { total: this.apiTotal, errors: this.apiErrors };
    if (l.tiers !== undefined) o.tiers = tiersJson(l.tiers, used);
    return o;
  }

  /** The file streams this account had, brought back (then their consumers). */
  recover(): void {
    const log = this.server.log;
    // A restore cut short by a stop leaves its staged store behind: it is of no use now.
    const staged = `${this.storeDir}/${SNAPSHOTS_DIR}`;
    if (exists(staged)) {
      try {
        Deno.removeSync(staged, { recursive: true });
      } catch (e) {
        log.warn(`Could not remove unfinished restores in ${JSON.stringify(staged)}: ${e}`);
      }
    }
    const sdir = `${this.storeDir}/${STREAMS_DIR}`;
    if (!exists(sdir)) {
      // Only a writability check, as nats-server's: nothing is left behind.
      try {
        Deno.mkdirSync(sdir, { recursive: true });
      } catch (e) {
        throw new Error(`could not create storage streams directory - ${(e as Error).message}`);
      }
      removeIfEmpty(sdir);
      removeIfEmpty(this.storeDir);
      return;
    }
    log.debug(`Recovering JetStream state for account ${JSON.stringify(this.account.name)}`);
    const recovered: Stream[] = [];
    const names = [...Deno.readDirSync(sdir)].filter((e) => e.isDirectory).map((e) => e.name);
    names.sort();
    for (const name of names) {
      const s = this.#recoverStream(`${sdir}/${name}`);
      if (s !== null) recovered.push(s);
    }
    for (const s of recovered) {
      const n = s.store.consumerNames().length;
      if (n === 0) continue;
      log.notice(
        `  Recovering ${n} consumers for stream - '${this.account.name} > ${s.name}'`,
      );
      recoverStreamConsumers(this.server, this, s);
    }
    log.debug(`JetStream state for account ${JSON.stringify(this.account.name)} recovered`);
  }

  #recoverStream(dir: string): Stream | null {
    const log = this.server.log;
    const metafile = `${dir}/meta.json`;
    if (!exists(metafile)) {
      log.warn(`  Missing stream metafile for ${JSON.stringify(metafile)}`);
      return null;
    }
    let store: FileStore;
    try {
      store = new FileStore({ dir, limits: NO_LIMITS, logger: log });
    } catch (e) {
      log.warn(`  Error reading metafile ${JSON.stringify(metafile)}: ${(e as Error).message}`);
      return null;
    }
    let meta: { created?: string; config?: StreamConfig } | undefined;
    try {
      meta = store.readMeta() as typeof meta;
    } catch (e) {
      log.warn(`  Error reading metafile ${JSON.stringify(metafile)}: ${(e as Error).message}`);
    }
    if (!meta?.config || typeof meta.config.name !== "string") {
      if (meta) log.warn(`  Error unmarshalling stream metafile ${JSON.stringify(metafile)}`);
      store.stop();
      return null;
    }
    const cfg = meta.config;
    log.notice(`  Starting restore for stream '${this.account.name} > ${cfg.name}'`);
    // Kept as written: the text round-trips exactly, a nanosecond double would not.
    const created = meta.created && parseRfc3339(meta.created) !== null
      ? meta.created
      : goTimeNs(nowNanos());
    let stream: Stream;
    try {
      stream = this.addStream(rawFromConfig(cfg), { store, created });
    } catch (e) {
      log.warn(`  Error recreating stream ${JSON.stringify(cfg.name)}: ${errorText(e)}`);
      store.stop();
      return null;
    }
    log.notice(
      `  Restored ${
        comma(store.state().msgs)
      } messages for stream '${this.account.name} > ${stream.name}'`,
    );
    return stream;
  }

  /** Server shutdown (or JetStream disabled for the account): streams stop, the API goes. */
  stop(): void {
    for (const s of this.streams.values()) s.stop();
    this.streams.clear();
    if (this.apiSub) this.account.internal?.unsubscribe(this.apiSub);
    this.apiSub = null;
  }
}

/** A store that could not be created (nats-server's JSStreamStoreFailedF). */
export class StoreFailed extends Error {
  override name = "StoreFailed";
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** An error as nats-server's %v prints it: an ApiError with its code. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
