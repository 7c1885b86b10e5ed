/**
 * A JetStream consumer: which stream messages it delivers next, what is delivered and not yet
 * acknowledged, redelivery after ack_wait / NAK / backoff, pull requests waiting for messages,
 * push delivery with flow control and idle heartbeats, and its state kept in a ConsumerStore so
 * a restart resumes where it stopped. The rules are nats-server 2.9.10's (consumer.go); the
 * field names below follow it (sseq: next stream sequence to look at, dseq: next delivery
 * sequence, adflr/asflr: ack floors) so the two read side by side.
 *
 * Delivery runs in bursts: a new message, request, ack or interest change schedules one
 * gathering pass (a microtask), which delivers what it can and yields (setImmediate) after a
 * budget so sockets get flushed. Timers are per consumer and few (ack wait, heartbeat, pull
 * expiry, inactivity, paced delivery), never per message.
 */

import type { Account, InterestWatcher } from "../accounts/account.ts";
import { subjectMatches } from "../sublist.ts";
import type { ClientSub } from "../client.ts";
import type { Client } from "../client.ts";
import { payloadOf, replyOf, utf8 } from "../message.ts";
import type { PubArg } from "../parser.ts";
import { clearImmediate, setImmediate } from "node:timers";
import { ACK_PREFIX_LEN, AckKind, ackKind, ackPrefix, ackReply, parseAckSubject } from "./ack.ts";
import {
  type ConsumerConfig,
  type ConsumerMeta,
  encodeConsumerConfig,
  JS_DELETE_WAIT_TIME_DEFAULT,
  sampleFrequency,
} from "./consumer_config.ts";
import {
  type EventTarget,
  sendAckMetric,
  sendActionAdvisory,
  sendDeliveryAdvisory,
  sendMaxDeliveriesAdvisory,
} from "./consumer_events.ts";
import type { ConsumerHandle, StreamHandle } from "./contract.ts";
import { DURATION, GoJsonError, parseGoJson, struct, unmarshal } from "../go_json.ts";
import { goTimeNs } from "../go_time.ts";
import { PullRequests } from "./pull_request.ts";
import { ackReplyLength, emptyMsg, fastMsg, MsgScratch } from "./reply.ts";
import { nextPending } from "./store/consumer.ts";
import { compileFilter, type SubjectMatcher } from "./store/filter.ts";
import { nowNanos } from "./store/base.ts";
import { turnNanos } from "./clock.ts";
import type { ConsumerState, ConsumerStore, PendingAck, StoredMsg } from "./store/types.ts";
import { Timer } from "./timer.ts";
import { goDuration as parseGoDuration } from "../config.ts";
import { NO_BYTES } from "../bytes.ts";

/** Flow control: the most bytes in flight (nats-server's JsFlowControlMaxPending). */
const FC_MAX_PENDING = 32 * 1024 * 1024;
/** A gathering pass yields after this much, so outbound buffers get written between passes. */
const BUDGET_MSGS = 512;
const BUDGET_BYTES = 4 * 1024 * 1024;

/** Where deliveries are laid out, one at a time (see MsgScratch). */
const scratch = new MsgScratch();
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Why no message could be taken. */
type Miss = "none" | "maxAckPending";

interface Taken {
  msg: StoredMsg;
  dc: number;
}

/** A message held back by replay timing or the rate limit, delivered when its time comes. */
interface Held {
  msg: StoredMsg;
  dc: number;
  dsubj: string;
  /** The reply subject is ackReply(prefix, dc, msg.seq, <dseq at delivery>, msg.ts, pending). */
  pending: number;
  /** Its length. */
  rlen: number;
  hdr: Uint8Array;
  data: Uint8Array;
}

/** Last-per-subject start: the newest sequence of each subject, then resume at `resume`. */
interface SkipList {
  resume: number;
  seqs: number[];
  i: number;
}

export interface ConsumerOptions {
  /** The JetStream domain (in advisories). */
  domain?: string;
  /** Created time in ns (a recovered consumer keeps its original one). */
  created?: number;
  /** Sample ack metrics this often in percent (from sample_freq). */
  sampleFreq?: number;
  /** A burst size for rate_limit_bps: the stream's max_msg_size, else max_payload. */
  rateBurst?: number;
}

export class Consumer implements ConsumerHandle {
  readonly name: string;
  readonly stream: StreamHandle;
  cfg: ConsumerConfig;
  readonly created: number;
  readonly store: ConsumerStore;

  // Delivery state (nats-server's names).
  #sseq = 1;
  #dseq = 1;
  #adflr = 0;
  #asflr = 0;
  #pending = new Map<number, PendingAck>();
  #rdc = new Map<number, number>();
  /** nats-server makes its redelivery map on first use; some reports differ before that. */
  #rdcMade = false;
  #rdq: number[] = [];
  #rdqi = new Set<number>();
  #npc = 0;
  #npcm = 0;
  #lss: SkipList | null = null;
  #maxdc: number;
  #maxp: number;
  #sfreq: number;
  #filter: SubjectMatcher;
  #retention: string;

  // Push.
  #dsubj: string;
  #active = true;
  #pbytes = 0;
  #maxpb = 0;
  #pblimit = 0;
  #fcid = "";
  #fcsz = 0;
  #lastDelivery = 0;

  // Pull.
  #waiting: PullRequests | null = null;

  // Activity (ns), for info.
  #ldt = 0;
  #lat = 0;

  // Replay and rate limit.
  #replay = false;
  #lseq = 0;
  #lts = 0;
  #held: Held | null = null;
  #rate: { bytesPerMs: number; burst: number; tokens: number; at: number } | null = null;

  #dthresh = 0;
  #closed = false;
  #started = false;
  #scheduled = false;
  #immediate: ReturnType<typeof setImmediate> | null = null;
  #gathering = false;

  #ackTimer = new Timer(() => this.#checkPending());
  #hbTimer = new Timer(() => this.#heartbeatDue());
  #waitTimer = new Timer(() => {
    this.#processWaiting(true);
    this.#signal();
  });
  #deleteTimer = new Timer(() => this.#deleteNotActive());
  #resumeTimer = new Timer(() => this.#signal());

  #subs: ClientSub[] = [];
  #unlisten: (() => void) | null = null;
  #interestWatch: InterestWatcher | null = null;
  /** The accounts #interestWatch is registered in. */
  #watched: Account[] = [];
  #events: EventTarget;
  #ackPre: string;
  #ackPreBytes: Uint8Array;
  #fcPre: string;

  constructor(
    stream: StreamHandle,
    name: string,
    cfg: ConsumerConfig,
    store: ConsumerStore,
    opts: ConsumerOptions = {},
  ) {
    this.stream = stream;
    this.name = name;
    this.cfg = cfg;
    this.store = store;
    this.created = opts.created ?? nowNanos();
    this.#dsubj = cfg.deliverSubject;
    this.#maxdc = cfg.maxDeliver;
    this.#maxp = cfg.maxAckPending;
    this.#sfreq = opts.sampleFreq ?? sampleFrequency(cfg);
    this.#filter = compileFilter(cfg.filterSubject);
    this.#retention = stream.config().retention;
    this.#ackPre = ackPrefix(stream.name, name);
    this.#ackPreBytes = utf8(this.#ackPre);
    this.#fcPre = `$JS.FC.${stream.name}.${name}.`;
    this.#events = {
      server: stream.server,
      account: stream.account,
      stream: stream.name,
      consumer: name,
      domain: opts.domain ?? "",
    };
    if (this.isPull) {
      this.#waiting = new PullRequests(cfg.maxWaiting, {
        status: (subject, hdr) => this.#send(subject, "", utf8(hdr)),
        heartbeat: (subject) => this.#sendIdleHeartbeat(subject),
      });
    }
    if (store.hasState()) this.#applyState(store.state());
    else this.#selectStartingSeqNo();
    this.#updateInactiveThreshold(cfg);
    if (cfg.rateLimit !== 0) this.#setRateLimit(cfg.rateLimit, opts.rateBurst ?? 1024 * 1024);
  }

  get isPull(): boolean {
    return this.cfg.deliverSubject === "";
  }

  get isPush(): boolean {
    return this.cfg.deliverSubject !== "";
  }

  get isDurable(): boolean {
    return this.cfg.durable !== "";
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The subject pull requests go to. */
  get nextSubject(): string {
    return `$JS.API.CONSUMER.MSG.NEXT.${this.stream.name}.${this.name}`;
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /**
   * Starts delivery: subscribes to acks, pull requests and flow control replies, watches the
   * deliver subject's interest, listens to the stream, and sends the created advisory.
   */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const ic = this.stream.server.internalClient(this.stream.account);
    this.#checkRedelivered(this.stream.store.state().lastSeq);
    this.#streamNumPending();
    this.#subs.push(
      ic.subscribe(`${this.#ackPre}*.*.*.*.*`, (s, f, src, pa) => this.#onAck(s, f, src, pa)),
    );
    this.#subs.push(ic.subscribe(this.nextSubject, (_s, _f, src, pa) => {
      const reply = replyOf(src, pa);
      if (reply !== "") this.processNextRequest(reply, payloadOf(src, pa));
    }));
    if (this.cfg.flowControl) {
      this.#setMaxPendingBytes(FC_MAX_PENDING);
      this.#subs.push(
        ic.subscribe(`${this.#fcPre}*`, (_s, _f, _src, pa) => this.#onFlowControl(pa.subject)),
      );
    }
    if (this.isPush) {
      this.#active = this.#hasDeliveryInterest();
      this.#watchInterest();
      if (this.cfg.heartbeat > 0) this.#hbTimer.reset(this.cfg.heartbeat / 1e6);
    }
    if (this.#dthresh > 0 && (this.isPull || !this.#active)) this.#deleteTimer.reset(this.#dthresh);
    if (this.cfg.replayPolicy !== "instant") {
      this.#replay = true;
      this.#lseq = this.stream.store.state().lastSeq;
    }
    this.#unlisten = this.stream.onStored((seq, subject) => this.#onStored(seq, subject));
    sendActionAdvisory(this.#events, "create");
    this.#signal();
  }

  /** Stops delivery and timers (server shutdown); the state stays in the store. */
  stop(): void {
    this.#shutdown(false, false);
  }

  /** CONSUMER.DELETE: the deleted advisory, 409 to waiting pulls, state removed. */
  delete(): void {
    this.#shutdown(true, true);
  }

  /** Deleted without an advisory (a create that failed half way). */
  deleteQuietly(): void {
    this.#shutdown(true, false);
  }

  #shutdown(deleting: boolean, advisory: boolean): void {
    if (this.#closed) return;
    if (deleting && advisory) {
      sendActionAdvisory(this.#events, "delete");
    }
    if (deleting) this.#waiting?.release();
    this.#closed = true;
    this.#active = false;
    const ic = this.stream.server.internalClient(this.stream.account);
    for (const s of this.#subs) ic.unsubscribe(s);
    this.#subs = [];
    this.#unlisten?.();
    this.#unlisten = null;
    this.#unwatchInterest();
    for (
      const t of [
        this.#ackTimer,
        this.#hbTimer,
        this.#waitTimer,
        this.#deleteTimer,
        this.#resumeTimer,
      ]
    ) {
      t.stop();
    }
    if (this.#immediate !== null) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    this.#held = null;
    this.#waiting = null;
    const listed = this.stream.consumers.get(this.name) === this;
    if (listed) this.stream.consumers.delete(this.name);
    // Interest retention: what only this consumer held goes once it is deleted.
    if (deleting && listed && this.#retention === "interest") this.#dropUninterested();
    try {
      if (deleting) this.store.delete();
      else this.store.stop();
    } catch (e) {
      this.#log(`consumer store: ${e}`);
    }
  }

  #dropUninterested(): void {
    const st = this.stream.store;
    const state = st.state();
    let start = this.#asflr;
    if (start < state.firstSeq) start = state.firstSeq;
    const others = [...this.stream.consumers.values()];
    const remove: number[] = [];
    for (let seq = start; seq <= state.lastSeq; seq++) {
      let subject = "";
      if (others.length > 0) {
        const m = st.loadMsg(seq);
        if (m === null) continue;
        subject = m.subject;
      }
      if (!others.some((o) => o.needs(seq, subject))) remove.push(seq);
    }
    for (const seq of remove) {
      try {
        st.removeMsg(seq);
      } catch { /* already gone */ }
    }
  }

  #log(m: string): void {
    this.stream.server.log.error(
      `JetStream consumer '${this.stream.account.name} > ${this.stream.name} > ${this.name}': ${m}`,
    );
  }

  // ---- state ----------------------------------------------------------------------------------

  #applyState(s: ConsumerState): void {
    if (this.#sseq <= s.delivered.stream) this.#sseq = s.delivered.stream + 1;
    this.#dseq = s.delivered.consumer + 1;
    this.#adflr = s.ackFloor.consumer;
    this.#asflr = s.ackFloor.stream;
    this.#pending = s.pending;
    this.#rdc = s.redelivered;
    this.#rdcMade = s.redelivered.size > 0;
    if (this.#pending.size > 0 && !this.#ackTimer.active) {
      // Check sooner than ack_wait after a restart, spread out (as nats-server does).
      let delay = 500 + Math.floor(Math.random() * 1000);
      if (this.cfg.ackWait / 1e6 < delay) delay = this.#ackWaitMs(0);
      this.#ackTimer.reset(delay);
    }
  }

  #checkRedelivered(lastSeq: number): void {
    let changed = false;
    for (const sseq of [...this.#rdc.keys()]) {
      if (sseq < this.#asflr || (lastSeq > 0 && sseq > lastSeq)) {
        this.#rdc.delete(sseq);
        this.#removeFromRedeliverQueue(sseq);
        changed = true;
      }
    }
    if (changed) this.#writeStoreState();
  }

  #writeStoreState(): void {
    try {
      this.store.update({
        delivered: { consumer: this.#dseq - 1, stream: this.#sseq - 1 },
        ackFloor: { consumer: this.#adflr, stream: this.#asflr },
        pending: this.#pending,
        redelivered: this.#rdc,
      });
    } catch (e) {
      this.#log(`writing state: ${e}`);
    }
  }

  #selectStartingSeqNo(): void {
    const st = this.stream.store;
    const state = st.state();
    const c = this.cfg;
    if (c.optStartSeq === 0) {
      switch (c.deliverPolicy) {
        case "all":
          this.#sseq = state.firstSeq;
          break;
        case "last":
          this.#sseq = state.lastSeq;
          if (c.filterSubject !== "") this.#sseq = st.filteredState(1, c.filterSubject).last;
          break;
        case "last_per_subject": {
          const subjects = st.subjectsState(c.filterSubject);
          if (subjects.size > 0) {
            const seqs = [...subjects.values()].map((s) => s.last).sort((a, b) => a - b);
            this.#lss = { resume: state.lastSeq, seqs, i: 0 };
            this.#sseq = seqs[0];
          } else this.#sseq = state.lastSeq;
          break;
        }
        case "by_start_time":
          this.#sseq = st.seqFromTime(c.optStartTime!.ns);
          break;
        default:
          this.#sseq = state.lastSeq + 1;
      }
    } else this.#sseq = c.optStartSeq;
    if (state.firstSeq === 0) this.#sseq = 1;
    else if (this.#sseq < state.firstSeq) this.#sseq = state.firstSeq;
    else if (this.#sseq > state.lastSeq) this.#sseq = state.lastSeq + 1;
    this.#dseq = 1;
    this.#adflr = 0;
    this.#asflr = this.#sseq - 1;
    if (this.#sseq > 0) {
      try {
        this.store.setStarting(this.#sseq - 1);
      } catch (e) {
        this.#log(`setting start: ${e}`);
      }
    }
  }

  #updateInactiveThreshold(cfg: ConsumerConfig): void {
    const jitter = () => 100 + Math.floor(Math.random() * 900);
    if (!this.isDurable && cfg.inactiveThreshold <= 0) {
      this.#dthresh = JS_DELETE_WAIT_TIME_DEFAULT / 1e6 + jitter();
      cfg.inactiveThreshold = JS_DELETE_WAIT_TIME_DEFAULT;
    } else if (cfg.inactiveThreshold > 0) {
      this.#dthresh = cfg.inactiveThreshold / 1e6 + (this.isPull ? jitter() : 0);
    } else this.#dthresh = 0;
  }

  /** A recovered ephemeral (recreated as durable under its name) becomes ephemeral again. */
  switchToEphemeral(): void {
    this.cfg.durable = "";
    this.#updateInactiveThreshold(this.cfg);
    this.#updateDeliveryInterest(this.#hasDeliveryInterest());
    this.writeMeta();
  }

  writeMeta(): void {
    const meta: ConsumerMeta = {
      created: this.created,
      name: this.name,
      config: encodeConsumerConfig(this.cfg),
    };
    try {
      this.store.writeMeta(meta);
    } catch (e) {
      this.#log(`writing config: ${e}`);
    }
  }

  // ---- config updates -------------------------------------------------------------------------

  /** Applies an allowed update (checked by checkConsumerUpdate) of a re-created consumer. */
  updateConfig(cfg: ConsumerConfig): void {
    try {
      this.store.updateConfig({ ackPolicy: cfg.ackPolicy, memoryStorage: cfg.memStorage });
    } catch { /* store closed: nothing to update */ }
    const old = this.cfg;
    if (cfg.deliverSubject !== old.deliverSubject) this.#updateDeliverSubject(cfg.deliverSubject);
    if (cfg.maxAckPending !== old.maxAckPending) {
      this.#maxp = cfg.maxAckPending;
      this.#signal();
    }
    if (cfg.ackWait !== old.ackWait && this.#ackTimer.active) this.#ackTimer.reset(100);
    if (cfg.rateLimit !== old.rateLimit) {
      this.#setRateLimit(cfg.rateLimit, this.#rate?.burst ?? 1024 * 1024);
    }
    if (cfg.sampleFreq !== old.sampleFreq) this.#sfreq = sampleFrequency(cfg);
    if (cfg.maxDeliver !== old.maxDeliver) this.#maxdc = cfg.maxDeliver;
    if (cfg.filterSubject !== old.filterSubject) this.#filter = compileFilter(cfg.filterSubject);
    if (cfg.inactiveThreshold !== old.inactiveThreshold) {
      this.#updateInactiveThreshold(cfg);
      this.#deleteTimer.stop();
      if (this.#dthresh > 0) this.#deleteTimer.reset(this.#dthresh);
    }
    this.cfg = cfg;
    this.writeMeta();
  }

  #updateDeliverSubject(subject: string): void {
    if (this.#closed || this.isPull || this.cfg.deliverSubject === subject) return;
    if (this.#pending.size > 0) this.#forceExpirePending();
    this.#dsubj = subject;
    this.cfg.deliverSubject = subject;
    this.#unwatchInterest();
    this.#watchInterest();
    this.#updateDeliveryInterest(this.#hasDeliveryInterest());
  }

  #forceExpirePending(): void {
    const expired = [...this.#pending.keys()].filter((s) => !this.#rdqi.has(s)).sort((a, b) =>
      a - b
    );
    if (expired.length > 0) {
      this.#addToRedeliverQueue(expired);
      const now = nowNanos();
      const off = now - this.#pending.get(expired[0])!.timestamp;
      for (const seq of expired) {
        const p = this.#pending.get(seq);
        if (p !== undefined) p.timestamp += off;
      }
      this.#ackTimer.reset(this.#ackWaitMs(0));
    }
    this.#signal();
  }

  #setRateLimit(bps: number, burst: number): void {
    if (bps === 0) {
      this.#rate = null;
      return;
    }
    const bytesPerMs = Math.floor(bps / 8) / 1000;
    this.#rate = { bytesPerMs, burst, tokens: burst, at: Date.now() };
  }

  // ---- interest (push) ------------------------------------------------------------------------

  /**
   * Push delivery runs while someone subscribes to exactly the deliver subject (in the deliver
   * group, when there is one): nats-server's interest notifications are keyed by the literal
   * subject, so a wildcard subscriber alone does not start delivery.
   */
  #hasDeliveryInterest(): boolean {
    if (this.isPull || this.#dsubj === "") return false;
    const group = this.cfg.deliverGroup;
    return this.#deliveryTargets().some(({ acc, subject }) => {
      const r = acc.sublist.match(subject);
      if (group === "") return r.psubs.some((sub) => sub.subject === subject);
      return r.qsubs.some((g) => g.length > 0 && g[0].subject === subject && g[0].queue === group);
    });
  }

  /**
   * Where a subscription to the deliver subject counts: this account, and each account that
   * imports it as a stream, under the subject it arrives as there (nats-server carries such a
   * subscription into the exporting account as a literal shadow subscription).
   */
  #deliveryTargets(): { acc: Account; subject: string }[] {
    const acc = this.stream.account;
    const targets = [{ acc, subject: this.#dsubj }];
    for (const si of acc.streamImporters) {
      if (!si.sub.closed && subjectMatches(si.subject, this.#dsubj)) {
        targets.push({ acc: si.importer, subject: si.rename(this.#dsubj) });
      }
    }
    return targets;
  }

  /** Anyone at all on the deliver subject (wildcards count). */
  #hasAnyInterest(): boolean {
    const r = this.stream.account.sublist.match(this.#dsubj);
    return r.psubs.length + r.qsubs.length > 0;
  }

  #watchInterest(): void {
    const targets = this.#deliveryTargets();
    const watch: InterestWatcher = (sub, added, acc) => {
      if (this.#closed || sub.queue !== this.cfg.deliverGroup) return;
      if (!targets.some((t) => t.acc === acc && t.subject === sub.subject)) return;
      // Settle after the subscription change is complete (it may be one of several).
      queueMicrotask(() => {
        if (this.#closed) return;
        if (added) {
          if (!this.#active) this.#updateDeliveryInterest(true);
        } else if (!this.#hasDeliveryInterest()) this.#updateDeliveryInterest(false);
      });
    };
    this.#interestWatch = watch;
    this.#watched = targets.map((t) => t.acc);
    for (const acc of this.#watched) {
      acc.interestWatchers ??= new Set();
      acc.interestWatchers.add(watch);
    }
  }

  #unwatchInterest(): void {
    for (const acc of this.#watched) {
      if (this.#interestWatch !== null) acc.interestWatchers?.delete(this.#interestWatch);
      if (acc.interestWatchers?.size === 0) acc.interestWatchers = null;
    }
    this.#watched = [];
    this.#interestWatch = null;
  }

  /** updateDeliveryInterest: push delivery resumes or pauses; an idle push consumer may go. */
  #updateDeliveryInterest(interest: boolean): void {
    if (this.#closed || this.isPull) return;
    const wasActive = this.#active;
    this.#active = interest;
    if (interest && !wasActive) this.#signal();
    if (this.#deleteTimer.active && this.#dthresh > 0 && !interest) return;
    this.#deleteTimer.stop();
    if (!interest && this.#dthresh > 0) this.#deleteTimer.reset(this.#dthresh);
  }

  #deleteNotActive(): void {
    if (this.#closed) return;
    if (this.isPush) {
      if (this.#active) return;
    } else {
      const w = this.#waiting!;
      const elapsed = Date.now() - w.last;
      if (elapsed <= this.cfg.inactiveThreshold / 1e6) {
        this.#deleteTimer.reset(this.#dthresh - elapsed);
        return;
      }
      this.#processWaiting(true);
      if (w.length > 0) {
        this.#deleteTimer.reset(this.#dthresh);
        return;
      }
    }
    this.delete();
  }

  // ---- the stream -----------------------------------------------------------------------------

  #onStored(seq: number, subject: string): void {
    if (this.#closed || !this.#filter(subject)) return;
    if (seq > this.#npcm) this.#npc++;
    if (seq < this.#sseq) return;
    if ((this.isPush && this.#active) || (this.isPull && this.#waiting!.length > 0)) {
      this.#signal();
    }
  }

  /** A message left the stream (limits, delete): num pending drops; a pending one is terminated. */
  removed(seq: number, subject: string): void {
    if (this.#closed) return;
    if (seq > this.#npcm && seq >= this.#sseq && this.#filter(subject)) this.#npc--;
    const p = this.#pending.get(seq);
    if (p === undefined) return;
    // The terminated advisory's count, as nats-server reports it (0 once any redelivery happened).
    const dc = this.#rdcMade ? this.#rdc.get(seq) ?? 0 : 1;
    queueMicrotask(() => {
      if (!this.#closed) this.#processTerm(seq, p.sequence, dc);
    });
  }

  /** The stream was purged up to `firstSeq` (0: everything): pending and floors move on. */
  purged(firstSeq: number): void {
    if (this.#closed) return;
    const sseq = firstSeq === 0 ? this.stream.store.state().lastSeq + 1 : firstSeq;
    if (this.#sseq < sseq) this.#sseq = sseq;
    if (this.#asflr < sseq) {
      this.#asflr = sseq - 1;
      if (this.#dseq > 0) this.#adflr = this.#dseq - 1;
    }
    this.#pending = new Map();
    if (this.#rdq.length > 0) {
      const rdq = this.#rdq;
      this.#rdq = [];
      this.#rdqi = new Set();
      this.#addToRedeliverQueue(rdq.filter((s) => s >= this.#sseq));
    }
    if (this.#lss !== null && this.#sseq >= this.#lss.resume) this.#lss = null;
    this.#streamNumPending();
    this.#writeStoreState();
    this.#signal();
  }

  /** needAck: interest retention asks whether this consumer still needs `seq`. */
  needs(seq: number, subject: string): boolean {
    if (this.#closed) return false;
    if (this.#isFiltered()) {
      if (subject === "") {
        const m = this.stream.store.loadMsg(seq);
        if (m === null) return false;
        subject = m.subject;
      }
      if (!this.#filter(subject)) return false;
    }
    if (seq <= this.#asflr) return false;
    if (this.cfg.ackPolicy !== "explicit") return true;
    return seq >= this.#sseq || this.#pending.has(seq);
  }

  #isFiltered(): boolean {
    if (this.cfg.filterSubject === "") return false;
    const subjects = this.stream.config().subjects ?? [];
    if (subjects.length === 1) return this.cfg.filterSubject !== subjects[0];
    return true;
  }

  // ---- num pending ----------------------------------------------------------------------------

  #numPending(): number {
    if (this.#npcm === 0) this.#streamNumPending();
    return this.#npc < 0 ? 0 : this.#npc;
  }

  #streamNumPending(): number {
    const st = this.stream.store;
    if (this.cfg.deliverPolicy === "last_per_subject") {
      this.#npc = 0;
      this.#npcm = 0;
      for (const ss of st.subjectsState(this.cfg.filterSubject).values()) {
        if (this.#sseq <= ss.last) {
          this.#npc++;
          if (ss.last > this.#npcm) this.#npcm = ss.last;
        }
      }
    } else {
      const ss = st.filteredState(this.#sseq, this.cfg.filterSubject);
      this.#npc = ss.msgs;
      this.#npcm = ss.last;
    }
    return this.#npc;
  }

  // ---- info -----------------------------------------------------------------------------------

  config(): Record<string, unknown> {
    return encodeConsumerConfig(this.cfg);
  }

  info(): Record<string, unknown> {
    const delivered: Record<string, unknown> = {
      consumer_seq: this.#dseq - 1,
      stream_seq: this.#sseq - 1,
    };
    if (this.#ldt !== 0) delivered.last_active = goTimeNs(this.#ldt);
    const ackFloor: Record<string, unknown> = {
      consumer_seq: this.#adflr,
      stream_seq: this.#asflr,
    };
    if (this.#lat !== 0) ackFloor.last_active = goTimeNs(this.#lat);
    let numWaiting = 0;
    if (this.isPull && !this.#closed) {
      this.#processWaiting(false);
      numWaiting = this.#waiting!.length;
    }
    const info: Record<string, unknown> = {
      stream_name: this.stream.name,
      name: this.name,
      created: goTimeNs(this.created),
      config: this.config(),
      delivered,
      ack_floor: ackFloor,
      num_ack_pending: this.#pending.size,
      num_redelivered: this.#rdc.size,
      num_waiting: numWaiting,
      num_pending: this.#closed ? 0 : this.#streamNumPending(),
    };
    if (this.isPush && this.#active) info.push_bound = true;
    return info;
  }

  // ---- delivery -------------------------------------------------------------------------------

  #signal(): void {
    if (this.#scheduled || this.#closed || !this.#started) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#gather());
  }

  #gather(fromImmediate = false): void {
    if (fromImmediate) this.#immediate = null;
    else this.#scheduled = false;
    if (this.#closed || this.#gathering) return;
    this.#gathering = true;
    try {
      this.#gatherPass();
    } catch (e) {
      this.#log(`delivery: ${e instanceof Error ? e.stack : e}`);
    } finally {
      this.#gathering = false;
    }
  }

  #gatherPass(): void {
    let msgs = 0, bytes = 0;
    let miss: Miss = "none";
    // One clock reading per pass: the pass is short (bounded by the budget).
    let now = 0, nowMs = 0;
    while (!this.#closed) {
      if (msgs >= BUDGET_MSGS || bytes >= BUDGET_BYTES) {
        // Let the event loop write what was queued, then go on.
        this.#immediate ??= setImmediate(() => this.#gather(true));
        return;
      }
      if (this.isPush) {
        if (!this.#active || (this.#maxpb > 0 && this.#pbytes > this.#maxpb)) break;
      } else if (this.#waiting!.length === 0) break;

      let held = this.#held;
      if (held === null) {
        const r = this.#prepareNext();
        if (r === "none" || r === "maxAckPending") {
          miss = r;
          break;
        }
        if (r === "retry") continue;
        held = r;
      }
      // Paced delivery: replay at the original spacing, or the rate limit.
      const wait = this.#paceDelay(held);
      if (wait > 0) {
        this.#held = held;
        this.#resumeTimer.reset(wait);
        return;
      }
      this.#held = null;
      this.#lts = held.msg.ts;
      if (this.#rate !== null) this.#takeTokens(held);
      if (now === 0) {
        now = nowNanos();
        nowMs = Date.now();
      }
      bytes += this.#deliverMsg(held, now, nowMs);
      msgs++;
    }
    this.#waitForMsgs(miss);
  }

  /** Takes the next message and its destination, or says why not ("retry": look again). */
  #prepareNext(): Held | "none" | "maxAckPending" | "retry" {
    const savedSseq = this.#sseq, savedLss = this.#lss, savedLssI = this.#lss?.i ?? 0;
    const savedNpc = this.#npc;
    const r = this.#getNextMsg();
    if (typeof r === "string") return r;
    const { msg, dc } = r;
    if (dc === 1 && this.#npcm > 0) this.#npc--;
    const pending = this.#numPending();
    const rlen = ackReplyLength(this.#ackPreBytes.length, dc, msg.seq, this.#dseq, msg.ts, pending);
    let hdr = msg.hdr, data = msg.data;
    if (this.cfg.headersOnly) {
      hdr = headersOnly(hdr, data.length);
      data = NO_BYTES;
    }
    const sz = byteLen(msg.subject) + rlen + hdr.length + data.length;
    let dsubj: string;
    if (this.isPush) dsubj = this.#dsubj;
    else {
      const wr = this.#waiting!.next(sz);
      if (wr === null) {
        // Nobody to send it to after all: put it back.
        if (dc > 1) {
          const n = (this.#rdc.get(msg.seq) ?? 1) - 1;
          if (n <= 0) this.#rdc.delete(msg.seq);
          else this.#rdc.set(msg.seq, n);
          this.#rdq.unshift(msg.seq);
          this.#rdqi.add(msg.seq);
        } else {
          this.#sseq = savedSseq;
          this.#lss = savedLss;
          if (this.#lss !== null) this.#lss.i = savedLssI;
          this.#npc = savedNpc;
        }
        return "none";
      }
      dsubj = wr.reply;
      if (wr.n > 0 && wr.hb > 0) wr.hbt = Date.now() + wr.hb;
    }
    return { msg, dc, dsubj, pending, rlen, hdr, data };
  }

  #paceDelay(h: Held): number {
    let wait = 0;
    if (this.#replay && this.#lts > 0) {
      const d = (h.msg.ts - this.#lts) / 1e6;
      if (d > 1) wait = d - (Date.now() - this.#lastDelivery);
    }
    if (this.#rate !== null) {
      const r = this.#rate;
      const now = Date.now();
      r.tokens = Math.min(r.burst, r.tokens + (now - r.at) * r.bytesPerMs);
      r.at = now;
      const need = byteLen(h.msg.subject) + h.rlen + h.hdr.length + h.data.length;
      if (r.tokens < need && r.bytesPerMs > 0) {
        wait = Math.max(wait, (need - r.tokens) / r.bytesPerMs);
      }
    }
    return wait > 0.5 ? Math.ceil(wait) : 0;
  }

  #takeTokens(h: Held): void {
    const r = this.#rate!;
    r.tokens -= byteLen(h.msg.subject) + h.rlen + h.hdr.length + h.data.length;
  }

  #waitForMsgs(miss: Miss): void {
    if (this.#replay && this.#sseq > this.#lseq) this.#replay = false;
    if (this.isPull) {
      // One-shot (no_wait) requests end here unless only max ack pending holds them back.
      const { fexp } = this.#processWaiting(miss !== "maxAckPending");
      if (fexp > 0) this.#waitTimer.reset(Math.max(1, fexp - Date.now()));
      else this.#waitTimer.stop();
    }
  }

  #getNextMsg(): Taken | Miss {
    const st = this.stream.store;
    let seq = this.#sseq, dc = 1;
    while (this.#rdq.length > 0) {
      seq = this.#rdq.shift()!;
      this.#rdqi.delete(seq);
      dc = this.#incDeliveryCount(seq);
      if (this.#maxdc > 0 && dc > this.#maxdc) {
        if (dc === this.#maxdc + 1) {
          sendMaxDeliveriesAdvisory(this.#events, seq, dc - 1);
        }
        this.#pending.delete(seq);
        continue;
      }
      const msg = st.loadMsg(seq);
      if (msg !== null) return { msg, dc };
      // Gone from the stream meanwhile: nothing to redeliver.
      this.#pending.delete(seq);
      this.#rdc.delete(seq);
    }
    seq = this.#sseq;
    dc = 1;
    if (this.#maxp > 0 && this.#pending.size >= this.#maxp) return "maxAckPending";
    const lss = this.#lss;
    if (lss !== null && lss.i < lss.seqs.length) {
      seq = lss.seqs[lss.i++];
      if (lss.i >= lss.seqs.length) {
        this.#sseq = lss.resume;
        this.#lss = null;
      }
    }
    const msg = st.loadNextMsg(this.cfg.filterSubject, seq);
    if (msg === null) {
      const last = st.state().lastSeq;
      if (last >= this.#sseq) this.#sseq = last + 1;
      return "none";
    }
    if (msg.seq >= this.#sseq) this.#sseq = msg.seq + 1;
    return { msg, dc };
  }

  #incDeliveryCount(sseq: number): number {
    const n = (this.#rdc.get(sseq) ?? 0) + 1;
    this.#rdc.set(sseq, n);
    this.#rdcMade = true;
    return n + 1;
  }

  /** Sends one message; returns its size for the pass budget. */
  #deliverMsg(h: Held, now: number, nowMs: number): number {
    const dseq = this.#dseq++;
    const { msg, dc, dsubj } = h;
    const psz = dsubj.length + h.rlen + h.hdr.length + h.data.length;
    if (this.#maxpb > 0) this.#pbytes += psz;
    const ap = this.cfg.ackPolicy;
    if (ap === "explicit" || ap === "all") this.#trackPending(msg.seq, dseq, now);
    else {
      this.#adflr = dseq;
      this.#asflr = msg.seq;
    }
    if (this.isPull && this.#dthresh > 0) this.#waiting!.last = nowMs;
    try {
      this.store.updateDelivered(dseq, msg.seq, dc, msg.ts);
    } catch (e) {
      this.#log(`storing delivery: ${e}`);
    }
    this.#ldt = now;
    this.#lastDelivery = nowMs;
    const hdr = h.hdr.length > 0 ? h.hdr : null;
    // Deliveries run in a pass of their own (a microtask or immediate), so the scratch is free.
    let m = scratch.delivery(
      dsubj,
      msg.subject,
      this.#ackPreBytes,
      dc,
      msg.seq,
      dseq,
      msg.ts,
      h.pending,
      hdr,
      h.data,
    );
    if (m === null) {
      m = fastMsg(
        msg.subject,
        ackReply(this.#ackPre, dc, msg.seq, dseq, msg.ts, h.pending),
        hdr,
        h.data,
      );
      m.pa.subject = dsubj;
    }
    const delivered = this.stream.server.publishInternal(this.stream.account, m.buf, m.pa);
    if (!delivered) this.#didNotDeliver(msg.seq);
    if (this.#maxpb > 0 && this.#needFlowControl(psz)) this.#sendFlowControl();
    if (ap === "none" && this.#retention !== "limits") this.stream.acked(this, msg.seq);
    return psz;
  }

  #trackPending(sseq: number, dseq: number, now: number): void {
    if (!this.#ackTimer.active) this.#ackTimer.reset(this.#ackWaitMs(0));
    const p = this.#pending.get(sseq);
    if (p !== undefined) p.timestamp = now;
    else this.#pending.set(sseq, { sequence: dseq, timestamp: now });
  }

  #didNotDeliver(seq: number): void {
    if (this.isPush) {
      this.#active = false;
      if (!this.#hasAnyInterest()) this.#updateDeliveryInterest(false);
    } else if (this.#pending.has(seq) && !this.#rdqi.has(seq)) {
      this.#addToRedeliverQueue([seq]);
      this.#signal();
    }
  }

  // ---- redelivery -----------------------------------------------------------------------------

  #ackWaitMs(nextNs: number): number {
    return (nextNs > 0 ? nextNs : this.cfg.ackWait) / 1e6 + 1;
  }

  #addToRedeliverQueue(seqs: number[]): void {
    for (const s of seqs) {
      this.#rdq.push(s);
      this.#rdqi.add(s);
    }
  }

  #removeFromRedeliverQueue(seq: number): void {
    if (!this.#rdqi.delete(seq)) return;
    const i = this.#rdq.indexOf(seq);
    if (i >= 0) this.#rdq.splice(i, 1);
  }

  /** checkPending: what ack_wait (or backoff) has expired is queued for redelivery, in order. */
  #checkPending(): void {
    if (this.#closed) return;
    const now = nowNanos();
    const ttl = this.cfg.ackWait;
    const bo = this.cfg.backoff;
    let next = bo.length > 0 ? bo[bo.length - 1] : this.cfg.ackWait;
    const fseq = this.stream.store.state().firstSeq;
    let changed = false;
    const expired: number[] = [];
    for (const [seq, p] of this.#pending) {
      if (seq < fseq) {
        this.#pending.delete(seq);
        this.#rdc.delete(seq);
        this.#removeFromRedeliverQueue(seq);
        changed = true;
        continue;
      }
      const elapsed = now - p.timestamp;
      let deadline = ttl;
      if (bo.length > 0) {
        let dc = this.#rdc.get(seq) ?? 0;
        let nbi = dc + 1;
        if (dc + 1 >= bo.length) {
          dc = bo.length - 1;
          nbi = dc;
        }
        deadline = bo[dc];
        if (bo[nbi] < next) next = bo[nbi];
      }
      if (elapsed >= deadline) {
        if (!this.#rdqi.has(seq)) expired.push(seq);
      } else if (deadline - elapsed < next) next = deadline - elapsed;
    }
    if (expired.length > 0) {
      expired.sort((a, b) => a - b);
      this.#addToRedeliverQueue(expired);
      // Redelivery restarts the clock; keep their order with an increasing offset.
      const off = now - this.#pending.get(expired[0])!.timestamp;
      for (const seq of expired) {
        const p = this.#pending.get(seq);
        if (p !== undefined) p.timestamp += off;
      }
      this.#signal();
    }
    if (this.#pending.size > 0) this.#ackTimer.reset(this.#ackWaitMs(next));
    else this.#ackTimer.stop();
    if (changed) this.#writeStoreState();
  }

  // ---- acks -----------------------------------------------------------------------------------

  #onAck(_sub: ClientSub, _from: Client, src: Uint8Array, pa: PubArg): void {
    if (this.#closed) return;
    const reply = replyOf(src, pa);
    const msg = payloadOf(src, pa);
    // The subscription (`<ack prefix>*.*.*.*.*`) vouches for the prefix.
    this.processAck(pa.subject, reply, msg, this.#ackPre.length);
  }

  /** An acknowledgement on `$JS.ACK...` (`reply` asks for a confirmation). */
  processAck(subject: string, reply: string, msg: Uint8Array, prefixLen = 0): void {
    const info = parseAckSubject(subject, prefixLen);
    const sseq = info?.sseq ?? 0, dseq = info?.dseq ?? 0, dc = info?.dc ?? 0;
    let skipAckReply = sseq === 0;
    switch (ackKind(msg)) {
      case AckKind.Ack:
        this.#processAckMsg(sseq, dseq, dc, true);
        break;
      case AckKind.Next:
        this.#processAckMsg(sseq, dseq, dc, true);
        this.processNextRequest(reply, msg.subarray(ACK_PREFIX_LEN));
        skipAckReply = true;
        break;
      case AckKind.Nak:
        this.#processNak(sseq, dseq, dc, msg);
        break;
      case AckKind.Progress:
        this.#progressUpdate(sseq);
        break;
      case AckKind.Term:
        this.#processTerm(sseq, dseq, dc);
        break;
    }
    if (reply !== "" && !skipAckReply) {
      // The confirmation promises the ack is stored: its record is written first.
      try {
        this.store.flush();
      } catch (e) {
        this.#log(`storing ack: ${e}`);
      }
      const m = emptyMsg(reply);
      this.stream.server.publishInternal(this.stream.account, m.buf, m.pa);
    }
    // Any ack activity keeps a consumer with an inactivity threshold alive.
    if (this.cfg.inactiveThreshold > 0 && !this.#closed) {
      if (this.isPush && this.#deleteTimer.active) this.#deleteTimer.reset(this.#dthresh);
      else if (this.isPull) this.#waiting!.last = Date.now();
    }
  }

  #processAckMsg(sseq: number, dseq: number, dc: number, doSample: boolean): void {
    if (this.#closed) return;
    let sagap = 0;
    let needSignal = false;
    switch (this.cfg.ackPolicy) {
      case "explicit": {
        const p = this.#pending.get(sseq);
        if (p !== undefined) {
          if (doSample) this.#sampleAck(sseq, dseq, dc, p);
          if (this.#maxp > 0 && this.#pending.size >= this.#maxp) needSignal = true;
          this.#pending.delete(sseq);
          dseq = p.sequence;
        }
        if (this.#pending.size === 0) {
          this.#adflr = this.#dseq - 1;
          this.#asflr = this.#sseq - 1;
        } else if (dseq === this.#adflr + 1) {
          this.#adflr = dseq;
          this.#asflr = sseq;
          const ss = nextPending(this.#pending, sseq, this.#sseq - 1);
          const np = ss === 0 ? undefined : this.#pending.get(ss);
          if (np !== undefined && np.sequence > 0) {
            this.#adflr = np.sequence - 1;
            this.#asflr = ss - 1;
          }
        }
        this.#rdc.delete(sseq);
        this.#removeFromRedeliverQueue(sseq);
        break;
      }
      case "all": {
        if (dseq <= this.#adflr || sseq <= this.#asflr) return;
        if (this.#maxp > 0 && this.#pending.size >= this.#maxp) needSignal = true;
        sagap = sseq - this.#asflr;
        this.#adflr = dseq;
        this.#asflr = sseq;
        if (sagap <= this.#pending.size + this.#rdc.size + this.#rdq.length) {
          for (let seq = sseq; seq > sseq - sagap; seq--) {
            this.#pending.delete(seq);
            this.#rdc.delete(seq);
            this.#removeFromRedeliverQueue(seq);
          }
        } else {
          // A wide gap: walk what is tracked instead of every sequence in it.
          const floor = sseq - sagap;
          for (const seq of [...this.#pending.keys()]) {
            if (seq <= sseq && seq > floor) this.#pending.delete(seq);
          }
          for (const seq of [...this.#rdc.keys()]) {
            if (seq <= sseq && seq > floor) this.#rdc.delete(seq);
          }
          for (const seq of [...this.#rdq]) {
            if (seq <= sseq && seq > floor) this.#removeFromRedeliverQueue(seq);
          }
        }
        break;
      }
      default:
        return;
    }
    try {
      this.store.updateAcks(dseq, sseq);
    } catch { /* not pending in the store: nothing to record */ }
    this.#lat = turnNanos();
    if (this.#retention !== "limits") {
      if (sagap > 1) {
        for (let seq = sseq; seq > sseq - sagap; seq--) this.stream.acked(this, seq);
      } else this.stream.acked(this, sseq);
    }
    if (needSignal) this.#signal();
  }

  #sampleAck(sseq: number, dseq: number, dc: number, p: PendingAck): void {
    const f = this.#sfreq;
    if (f <= 0) return;
    if (f < 100 && Math.floor(Math.random() * 100) > f) return;
    sendAckMetric(this.#events, dseq, sseq, nowNanos() - p.timestamp, dc);
  }

  #processNak(sseq: number, dseq: number, dc: number, nak: Uint8Array): void {
    if (dseq <= this.#adflr || dseq > this.#dseq) return;
    if (this.#pending.size > 0 && !this.#pending.has(sseq)) return;
    sendDeliveryAdvisory(this.#events, "nak", dseq, sseq, dc);
    if (nak.length > ACK_PREFIX_LEN) {
      const arg = dec.decode(nak.subarray(ACK_PREFIX_LEN)).trim();
      if (arg.length > 0) {
        const delay = parseNakDelay(arg);
        if (delay === null) {
          this.stream.server.log.warn(
            `JetStream consumer '${this.stream.account.name} > ${this.stream.name} > ${this.name}' ` +
              `bad NAK delay value: ${JSON.stringify(arg)}`,
          );
        } else {
          this.#removeFromRedeliverQueue(sseq);
          const p = this.#pending.get(sseq);
          if (p !== undefined) {
            p.timestamp = nowNanos() - this.cfg.ackWait + delay;
            try {
              this.store.updateDelivered(p.sequence, sseq, dc, p.timestamp);
            } catch (e) {
              this.#log(`storing delivery: ${e}`);
            }
            if (this.#ackTimer.active) this.#ackTimer.reset(10);
          }
          return;
        }
      }
    }
    if (!this.#rdqi.has(sseq)) this.#addToRedeliverQueue([sseq]);
    this.#signal();
  }

  #processTerm(sseq: number, dseq: number, dc: number): void {
    this.#processAckMsg(sseq, dseq, dc, false);
    if (this.#closed) return;
    sendDeliveryAdvisory(this.#events, "terminated", dseq, sseq, dc);
  }

  #progressUpdate(seq: number): void {
    const p = this.#pending.get(seq);
    if (p === undefined) return;
    p.timestamp = nowNanos();
    try {
      this.store.updateDelivered(p.sequence, seq, 1, p.timestamp);
    } catch (e) {
      this.#log(`storing progress: ${e}`);
    }
  }

  // ---- push: flow control and heartbeats ------------------------------------------------------

  #setMaxPendingBytes(limit: number): void {
    this.#pblimit = limit;
    this.#maxpb = Math.max(1, Math.floor(limit / 16));
  }

  #needFlowControl(sz: number): boolean {
    if (this.#maxpb === 0) return false;
    if (this.#fcid === "" && this.#pbytes > this.#maxpb / 2) return true;
    if (this.#fcid !== "" && this.#pbytes - this.#fcsz >= this.#maxpb) this.#fcsz += sz;
    return false;
  }

  #sendFlowControl(): void {
    if (!this.isPush) return;
    const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let id = "";
    for (let i = 0; i < 4; i++) id += digits[Math.floor(Math.random() * 62)];
    this.#fcsz = this.#pbytes;
    this.#fcid = this.#fcPre + id;
    this.#send(
      this.cfg.deliverSubject,
      this.#fcid,
      utf8("NATS/1.0 100 FlowControl Request\r\n\r\n"),
    );
  }

  #onFlowControl(subject: string): void {
    if (this.#closed || subject !== this.#fcid) return;
    if (this.#maxpb < this.#pblimit) this.#maxpb = Math.min(this.#maxpb * 2, this.#pblimit);
    this.#pbytes = Math.max(0, this.#pbytes - this.#fcsz);
    this.#fcid = "";
    this.#fcsz = 0;
    this.#signal();
  }

  #heartbeatDue(): void {
    if (this.#closed) return;
    const hbd = this.cfg.heartbeat / 1e6;
    const idle = Date.now() - this.#lastDelivery;
    if (idle + 1 < hbd) {
      this.#hbTimer.reset(hbd - idle);
      return;
    }
    if (this.#active) this.#sendIdleHeartbeat(this.#dsubj);
    this.#hbTimer.reset(hbd);
  }

  #sendIdleHeartbeat(subject: string): void {
    let h = `NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: ${this.#dseq - 1}\r\n` +
      `Nats-Last-Stream: ${this.#sseq - 1}\r\n`;
    if (this.#fcid !== "") h += `Nats-Consumer-Stalled: ${this.#fcid}\r\n`;
    this.#send(subject, "", utf8(h + "\r\n"));
  }

  // ---- pull -----------------------------------------------------------------------------------

  /** A pull request (`$JS.API.CONSUMER.MSG.NEXT...` or `+NXT`): messages go to `reply`. */
  processNextRequest(reply: string, body: Uint8Array): void {
    if (this.#closed) return;
    if (this.#waiting === null) {
      this.#send(reply, "", utf8("NATS/1.0 409 Consumer is push based\r\n\r\n"));
      return;
    }
    const c = this.cfg;
    const limits = { maxBatch: c.maxBatch, maxExpires: c.maxExpires, maxBytes: c.maxBytes };
    const available = () => this.#numPending() + this.#rdq.length;
    if (this.#waiting.add(this.stream.account, reply, body, limits, available)) this.#signal();
  }

  #processWaiting(eos: boolean): { brp: number; fexp: number } {
    return this.#waiting?.process(eos) ?? { brp: 0, fexp: 0 };
  }

  // ---- sending --------------------------------------------------------------------------------

  /** Publishes a message the consumer makes (status, flow control, ack confirmations). */
  #send(subject: string, reply: string, hdr: Uint8Array | null): boolean {
    const m = fastMsg(subject, reply, hdr, NO_BYTES);
    return this.stream.server.publishInternal(this.stream.account, m.buf, m.pa);
  }
}

// ---- helpers ----------------------------------------------------------------------------------

/** headers_only: the headers plus `Nats-Msg-Size`, no payload. */
function headersOnly(hdr: Uint8Array, size: number): Uint8Array {
  const line = enc.encode(`Nats-Msg-Size: ${size}\r\n\r\n`);
  const base = hdr.length === 0 ? enc.encode("NATS/1.0\r\n") : hdr.subarray(0, hdr.length - 2);
  const out = new Uint8Array(base.length + line.length);
  out.set(base);
  out.set(line, base.length);
  return out;
}

function byteLen(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return enc.encode(s).length;
  return s.length;
}

/** ConsumerNakOptions: `{"delay": ns}`. */
const NAK_OPTIONS = struct("server.ConsumerNakOptions", { delay: DURATION });

/** A NAK delay: `{"delay": ns}` or a Go duration ("1s"); null when it parses as neither. */
function parseNakDelay(arg: string): number | null {
  if (arg[0] === "{") {
    try {
      return unmarshal(parseGoJson(arg), NAK_OPTIONS, { delay: 0 }).delay;
    } catch (e) {
      if (e instanceof GoJsonError) return null;
      throw e;
    }
  }
  const ms = parseGoDuration(arg);
  return typeof ms === "number" ? ms * 1e6 : null;
}
