/**
 * The memory store: each message object lives in its index slot; all rules come from BaseStore.
 * Header and payload are copied in: the caller's buffers are usually a read buffer that is about
 * to be reused.
 */

import { BaseStore, EMPTY } from "./base.ts";
import { MemoryConsumerStore } from "./consumer.ts";
import {
  type ConsumerStore,
  type ConsumerStoreConfig,
  ErrStoreClosed,
  memStoreMsgSize,
  NO_LIMITS,
  type StoredMsg,
  type StoreLimits,
} from "./types.ts";

export interface MemoryStoreOptions {
  limits?: StoreLimits;
}

export class MemoryStore extends BaseStore {
  readonly type = "memory" as const;
  #meta: unknown = undefined;
  #consumers = new Map<string, MemoryConsumerStore>();

  constructor(opts: MemoryStoreOptions = {}) {
    super(false, opts.limits ?? NO_LIMITS);
  }

  protected msgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
    return memStoreMsgSize(subjectLen, hdrLen, dataLen);
  }

  protected writeMsg(
    seq: number,
    ts: number,
    subject: string,
    hdr: Uint8Array,
    data: Uint8Array,
  ): [number, number, StoredMsg] {
    return [0, 0, {
      seq,
      ts,
      subject,
      hdr: hdr.length === 0 ? EMPTY : hdr.slice(),
      data: data.slice(),
    }];
  }

  protected readMsg(
    _seq: number,
    _subject: string,
    _ts: number,
    _blk: number,
    _off: number,
    obj: StoredMsg | undefined,
  ): StoredMsg | null {
    return obj ?? null;
  }

  protected writeSkip(): void {}

  // The index drops the messages themselves.
  protected dropped(): void {}
  protected bulkDropped(): void {}
  protected writePurge(): void {}

  protected writeCompact(): void {}
  protected writeTruncate(): void {}
  protected endOp(): void {}

  readMeta(): unknown {
    return this.#meta;
  }

  writeMeta(meta: unknown): void {
    this.#meta = structuredClone(meta);
  }

  consumerNames(): string[] {
    return [...this.#consumers.keys()];
  }

  consumerStore(name: string, cfg: ConsumerStoreConfig): ConsumerStore {
    if (this.closed) throw new ErrStoreClosed();
    let cs = this.#consumers.get(name);
    if (cs === undefined) {
      this.consumerCount++;
      cs = new MemoryConsumerStore(name, cfg, () => {
        this.#consumers.delete(name);
        this.consumerCount--;
      });
      this.#consumers.set(name, cs);
    } else cs.updateConfig(cfg);
    return cs;
  }

  flush(): void {}
  sync(): void {}

  override stop(): void {
    if (this.closed) return;
    super.stop();
    for (const cs of [...this.#consumers.values()]) cs.stop();
  }

  delete(): void {
    this.stop();
    this.idx.clear(0);
  }
}
