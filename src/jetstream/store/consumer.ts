/**
 * Consumer delivery/ack state: the rules (ConsumerTracker), shared by the memory consumer store
 * here and the file one (file_consumer.ts), which replays the same calls from its log, so what
 * comes back after a restart is exactly what was there.
 */

import {
  type AckPolicy,
  type ConsumerState,
  type ConsumerStore,
  type ConsumerStoreConfig,
  ErrBadConsumerState,
  ErrNoAckPolicy,
  ErrStoreClosed,
  ErrStoreMsgNotFound,
  type PendingAck,
} from "./types.ts";

/**
 * The lowest pending stream sequence above `sseq` (0: none), walking whichever is shorter: the
 * sequences up to `last`, or the pending entries. In-order acks find it at sseq + 1.
 */
export function nextPending(pending: Map<number, unknown>, sseq: number, last: number): number {
  if (last - sseq <= pending.size) {
    for (let s = sseq + 1; s <= last; s++) if (pending.has(s)) return s;
    return 0;
  }
  let next = 0;
  for (const k of pending.keys()) if (k > sseq && (next === 0 || k < next)) next = k;
  return next;
}

export function emptyConsumerState(): ConsumerState {
  return {
    delivered: { consumer: 0, stream: 0 },
    ackFloor: { consumer: 0, stream: 0 },
    pending: new Map(),
    redelivered: new Map(),
  };
}

export function copyConsumerState(s: ConsumerState): ConsumerState {
  const pending = new Map<number, PendingAck>();
  for (const [k, p] of s.pending) pending.set(k, { sequence: p.sequence, timestamp: p.timestamp });
  return {
    delivered: { ...s.delivered },
    ackFloor: { ...s.ackFloor },
    pending,
    redelivered: new Map(s.redelivered),
  };
}

/**
 * The state and its transitions. Each method returns whether the state changed, so a log only
 * records what matters; errors are thrown before anything changes.
 */
export class ConsumerTracker {
  s: ConsumerState = emptyConsumerState();
  constructor(public ackPolicy: AckPolicy) {}

  setStarting(sseq: number): boolean {
    this.s.delivered.stream = sseq;
    return true;
  }

  delivered(dseq: number, sseq: number, dc: number, ts: number): boolean {
    const s = this.s;
    if (dc !== 1 && this.ackPolicy === "none") throw new ErrNoAckPolicy();
    // A delivery at or below the ack floor is old news (e.g. replayed after a restart).
    if (dseq <= s.ackFloor.consumer) return false;
    if (this.ackPolicy === "none") {
      s.delivered.consumer = dseq;
      s.delivered.stream = sseq;
      s.ackFloor.consumer = dseq;
      s.ackFloor.stream = sseq;
      return true;
    }
    if (sseq <= s.delivered.stream) {
      // A redelivery: the pending entry now refers to this delivery.
      const p = s.pending.get(sseq);
      if (p !== undefined) {
        p.sequence = dseq;
        p.timestamp = ts;
      }
    } else {
      s.pending.set(sseq, { sequence: dseq, timestamp: ts });
    }
    if (dseq > s.delivered.consumer) s.delivered.consumer = dseq;
    if (sseq > s.delivered.stream) s.delivered.stream = sseq;
    if (dc > 1) s.redelivered.set(sseq, dc - 1);
    return true;
  }

  acked(dseq: number, sseq: number): boolean {
    const s = this.s;
    if (this.ackPolicy === "none") throw new ErrNoAckPolicy();
    const p = s.pending.get(sseq);
    if (p === undefined) throw new ErrStoreMsgNotFound();
    if (dseq <= s.ackFloor.consumer) return false;
    if (this.ackPolicy === "all") {
      // Acknowledges everything up to sseq.
      s.ackFloor.consumer = dseq;
      s.ackFloor.stream = sseq;
      for (const k of [...s.pending.keys()]) if (k <= sseq) s.pending.delete(k);
      for (const k of [...s.redelivered.keys()]) if (k <= sseq) s.redelivered.delete(k);
      return true;
    }
    s.pending.delete(sseq);
    s.redelivered.delete(sseq);
    dseq = p.sequence; // the delivery the floor is counted in
    if (s.pending.size === 0) {
      s.ackFloor.consumer = s.delivered.consumer;
      s.ackFloor.stream = s.delivered.stream;
    } else if (dseq === s.ackFloor.consumer + 1) {
      // The floor moves up to just below the oldest message still pending.
      s.ackFloor.consumer = dseq;
      s.ackFloor.stream = sseq;
      const next = nextPending(s.pending, sseq, s.delivered.stream);
      if (next !== 0) {
        const np = s.pending.get(next)!;
        if (np.sequence > 0) {
          s.ackFloor.consumer = np.sequence - 1;
          s.ackFloor.stream = next - 1;
        }
      }
    }
    return true;
  }

  replace(state: ConsumerState): boolean {
    if (state.ackFloor.consumer > state.delivered.consumer) {
      throw new ErrBadConsumerState("bad ack floor for consumer");
    }
    if (state.ackFloor.stream > state.delivered.stream) {
      throw new ErrBadConsumerState("bad ack floor for stream");
    }
    for (const seq of state.pending.keys()) {
      if (seq <= state.ackFloor.stream || seq > state.delivered.stream) {
        throw new ErrBadConsumerState(`bad pending entry, sequence [${seq}] out of range`);
      }
    }
    if (state.delivered.consumer < this.s.delivered.consumer) {
      throw new ErrBadConsumerState("old update ignored");
    }
    this.s = copyConsumerState(state);
    return true;
  }
}

/** Consumer state kept in memory only (memory streams, or consumers asking for it). */
export class MemoryConsumerStore implements ConsumerStore {
  #t: ConsumerTracker;
  #meta: unknown = undefined;
  #closed = false;
  #replaced = false;
  #onClose: () => void;

  constructor(readonly name: string, cfg: ConsumerStoreConfig, onClose: () => void) {
    this.#t = new ConsumerTracker(cfg.ackPolicy);
    this.#onClose = onClose;
  }

  #check(): void {
    if (this.#closed) throw new ErrStoreClosed();
  }

  setStarting(sseq: number): void {
    this.#check();
    this.#t.setStarting(sseq);
  }
  /** True once a whole state was set (a stream restore hands one to the consumer it makes). */
  hasState(): boolean {
    return this.#replaced;
  }
  updateDelivered(dseq: number, sseq: number, dc: number, ts: number): void {
    this.#check();
    this.#t.delivered(dseq, sseq, dc, ts);
  }
  updateAcks(dseq: number, sseq: number): void {
    this.#check();
    this.#t.acked(dseq, sseq);
  }
  update(state: ConsumerState): void {
    this.#check();
    this.#t.replace(state);
    this.#replaced = true;
  }
  updateConfig(cfg: ConsumerStoreConfig): void {
    this.#t.ackPolicy = cfg.ackPolicy;
  }
  state(): ConsumerState {
    this.#check();
    return copyConsumerState(this.#t.s);
  }
  readMeta(): unknown {
    return this.#meta;
  }
  writeMeta(meta: unknown): void {
    this.#meta = structuredClone(meta);
  }
  flush(): void {}
  sync(): void {}
  stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }
  delete(): void {
    this.stop();
  }
}
