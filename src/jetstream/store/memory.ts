/**
 * The memory store: messages live in a map by sequence; all rules come from BaseStore. The
 * message's header and payload are copied in (the caller's buffers are usually a read buffer
 * that is about to be reused), as one allocation.
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
  #msgs = new Map<number, StoredMsg>();
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
  ): [number, number] {
    const buf = new Uint8Array(hdr.length + data.length);
    buf.set(hdr, 0);
    buf.set(data, hdr.length);
    this.#msgs.set(seq, {
      seq,
      ts,
      subject,
      hdr: hdr.length === 0 ? EMPTY : buf.subarray(0, hdr.length),
      data: buf.subarray(hdr.length),
    });
    return [0, 0];
  }

  protected readMsg(seq: number): StoredMsg | null {
    return this.#msgs.get(seq) ?? null;
  }

  protected writeSkip(): void {}

  protected dropped(seq: number): void {
    this.#msgs.delete(seq);
  }

  protected bulkDropped(seq: number): void {
    this.#msgs.delete(seq);
  }

  protected writePurge(): void {
    this.#msgs.clear();
  }

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

  sync(): void {}

  override stop(): void {
    if (this.closed) return;
    super.stop();
    for (const cs of [...this.#consumers.values()]) cs.stop();
  }

  delete(): void {
    this.stop();
    this.#msgs.clear();
  }
}
