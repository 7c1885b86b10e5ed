/**
 * Mirrors and sources between streams of one account. nats-server feeds them through an
 * internal push consumer on the origin stream; here the origin is in the same process, so a
 * feed reads the origin's store directly and follows its new messages through onStored (the
 * consumer contract), with the same results:
 *
 * - a mirror keeps the origin's sequences (gaps become skipped sequences) and timestamps;
 * - a source appends to the target with new sequences, tagging each message with
 *   `Nats-Stream-Source: <origin> <origin seq>`, from which it resumes after a restart;
 * - both honour `filter_subject`, `opt_start_seq` and `opt_start_time`, and report
 *   `{name, lag, active, error}` in stream info. A missing origin is an error in that info
 *   until the origin appears.
 *
 * Catching up is done in slices of BATCH messages per turn of the event loop, so a large origin
 * never stalls the server. Origins reached through an API prefix (`external`: another account
 * or domain) are fed by external_feed.ts.
 */

import type { StoredMsg } from "./store/types.ts";
import { nowNanos } from "./store/base.ts";
import { type ApiError, jsError } from "./errors.ts";
import { parseRfc3339 } from "../go_time.ts";
import { appendHeaders, getHeader, removeHeader } from "./headers.ts";
import type { StreamSourceJson } from "./stream_config.ts";
import type { Stream } from "./stream.ts";
import { ExternalFeed } from "./external_feed.ts";

export const STREAM_SOURCE = "Nats-Stream-Source";
const BATCH = 4096;

/** A mirror or source: of a stream of this account, or an external one. */
export type Feed = LocalFeed | ExternalFeed;

export function newFeed(target: Stream, spec: StreamSourceJson, kind: "mirror" | "source"): Feed {
  return spec.external ? new ExternalFeed(target, spec, kind) : new LocalFeed(target, spec, kind);
}

/** One mirror, or one source of a stream, whose origin is in the same account. */
export class LocalFeed {
  readonly kind: "mirror" | "source";
  readonly spec: StreamSourceJson;
  readonly #target: Stream;
  #origin: Stream | null = null;
  #off: (() => void) | null = null;
  /** The next origin sequence to look at. */
  #next = 1;
  /** The last origin sequence taken. */
  #sseq = 0;
  /** When the origin was attached or last gave a message, ns; 0 when never. */
  #lastNs = 0;
  #err: ApiError | null = null;
  #scheduled: ReturnType<typeof setTimeout> | undefined;
  #pumping = false;
  #stopped = false;

  constructor(target: Stream, spec: StreamSourceJson, kind: "mirror" | "source") {
    this.#target = target;
    this.spec = spec;
    this.kind = kind;
  }

  get name(): string {
    return this.spec.name;
  }

  /**
   * Attaches to the origin if it exists, else records the error and waits for it. Like the
   * consumer nats-server sets up, this happens after the request that created the stream has
   * been answered.
   */
  start(): void {
    this.#scheduled = setTimeout(() => {
      this.#scheduled = undefined;
      const origin = this.#target.jsa.streams.get(this.spec.name);
      if (origin === undefined || origin.closed) this.#err = jsError("JSStreamNotFoundErr");
      else this.attach(origin);
    }, 0);
  }

  /** The origin exists (again): resume after what was taken. */
  attach(origin: Stream): void {
    if (this.#stopped || this.#origin === origin || this.#target.closed) return;
    this.#detach();
    this.#origin = origin;
    this.#err = null;
    this.#lastNs = nowNanos();
    this.#next = this.#startSeq(origin);
    this.#off = origin.onStored(() => this.#schedule(true));
    this.#pump();
  }

  /** The origin went away (deleted): wait for another one of that name. */
  originGone(): void {
    this.#detach();
    this.#err = jsError("JSStreamNotFoundErr");
  }

  stop(): void {
    this.#stopped = true;
    this.#detach();
  }

  #detach(): void {
    this.#off?.();
    this.#off = null;
    this.#origin = null;
    clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
  }

  /** nats-server's start position: after what the target holds, else the configured start. */
  #startSeq(origin: Stream): number {
    const st = this.#target.store.state();
    if (this.kind === "mirror") {
      if (st.msgs > 0 || st.firstSeq > 0 || st.lastSeq > 0) return st.lastSeq + 1;
    } else {
      const taken = this.#sseq > 0 ? this.#sseq : this.#lastTaken();
      if (taken > 0) return taken + 1;
    }
    if ((this.spec.opt_start_seq ?? 0) > 0) return this.spec.opt_start_seq!;
    if (this.spec.opt_start_time) {
      const t = parseRfc3339(this.spec.opt_start_time);
      if (t !== null) return origin.store.seqFromTime(t.ns);
    }
    return 1;
  }

  /** A source's last origin sequence, from the newest message tagged with it. */
  #lastTaken(): number {
    const store = this.#target.store;
    const st = store.state();
    if (st.msgs === 0) return 0;
    for (let seq = st.lastSeq; seq >= st.firstSeq; seq--) {
      const m = store.loadMsg(seq);
      if (m === null || m.hdr.length === 0) continue;
      const tag = getHeader(m.hdr, STREAM_SOURCE).split(" ");
      if (tag.length === 2 && tag[0] === this.spec.name) return Number(tag[1]) || 0;
    }
    return 0;
  }

  #schedule(fromListener: boolean): void {
    if (this.#pumping || this.#scheduled !== undefined) return;
    // A new message is taken at once; a backlog continues on the next turn.
    if (fromListener) this.#pump();
    else this.#scheduled = setTimeout(() => this.#pump(), 0);
  }

  #pump(): void {
    this.#scheduled = undefined;
    const origin = this.#origin;
    if (origin === null || this.#stopped || this.#target.closed || origin.closed) return;
    this.#pumping = true;
    try {
      const filter = this.spec.filter_subject ?? "";
      let n = 0;
      for (; n < BATCH; n++) {
        const m = origin.store.loadNextMsg(filter, this.#next);
        if (m === null) break;
        this.#next = m.seq + 1;
        this.#take(m);
      }
      if (n === BATCH) this.#schedule(false);
    } finally {
      this.#pumping = false;
    }
  }

  #take(m: StoredMsg): void {
    this.#sseq = m.seq;
    this.#lastNs = nowNanos();
    if (this.kind === "mirror") {
      this.#target.storeMirrored(m);
      return;
    }
    let hdr: Uint8Array | null = m.hdr.length > 0 ? m.hdr : null;
    if (hdr !== null) hdr = removeHeader(hdr, STREAM_SOURCE);
    hdr = appendHeaders(hdr, [[STREAM_SOURCE, `${this.spec.name} ${m.seq}`]]);
    this.#target.processMsg(m.subject, "", hdr, m.data);
  }

  /** nats-server's StreamSourceInfo JSON. */
  info(): Record<string, unknown> {
    const o: Record<string, unknown> = { name: this.spec.name };
    const origin = this.#origin;
    let lag = 0;
    if (origin !== null && !origin.closed) {
      lag = origin.store.filteredState(this.#next, this.spec.filter_subject ?? "").msgs;
    }
    o.lag = lag;
    o.active = this.#lastNs === 0 ? -1 : Math.max(0, Math.round(nowNanos() - this.#lastNs));
    if (this.#err !== null) o.error = this.#err;
    return o;
  }
}
