/**
 * A stream: its store, its subscriptions on its subjects, and the ingest of each message as
 * nats-server 2.9.10's processJetStreamMsg does it: expected-stream / last-sequence /
 * last-subject-sequence / last-msg-id headers, de-duplication by Nats-Msg-Id within the
 * duplicate window, rollups, size and resource limits, interest retention without consumers,
 * the store's own limits and discard policy, republish, then the publish ack.
 *
 * Ingest runs synchronously in the internal subscription's handler, once the published message
 * has been routed (internal_client.ts), on the bytes of the publisher's buffer: a message without
 * headers costs a store write and the ack, nothing else. A file store writes the records of one
 * turn of the event loop together (group commit), so the replies wait, in publish order, until
 * the end of the turn (a microtask): the store is flushed once, then every reply goes out, and an
 * ack is sent only for a message that is in the file. Memory streams answer the same way. The consumer layer plugs in through the
 * StreamHandle contract (contract.ts): consumers register in `consumers`, hear about new
 * messages from `onStored` and report acknowledgements through `acked`.
 */

import type { Account } from "../accounts/account.ts";
import type { Client, ClientSub } from "../client.ts";
import type { PubArg } from "../parser.ts";
import type { Server } from "../server.ts";
import type { SubjectTransform } from "../accounts/transform.ts";
import { buildMsg, headersOf, payloadOf, replyOf } from "../message.ts";
import { subjectIsSubsetMatch } from "../subjects.ts";
import type { ConsumerHandle, StreamHandle } from "./contract.ts";
import {
  ErrMaxBytes,
  ErrMaxMsgs,
  ErrMaxMsgsPerSubject,
  ErrMsgTooLarge,
  ErrStoreClosed,
  type StoredMsg,
  StoreError,
  type StoreLimits,
  type StreamState,
  type StreamStore,
} from "./store/types.ts";
import { nowNanos } from "./store/base.ts";
import { type ApiError, jsError, jsErrorUnless } from "./errors.ts";
import { appendHeaders, getHeader, removeHeader, statusHeader } from "./headers.ts";
import { goJson, parseGoJson } from "../go_json.ts";
import { goTimeNs } from "../go_time.ts";
import { decodeMsgGetRequest } from "./requests.ts";
import { compileRepublish, type StreamConfig, type StreamSourceJson } from "./stream_config.ts";
import { type Feed, newFeed } from "./sourcing.ts";
import { streamAction } from "./advisories.ts";
import type { JsAccount } from "./jetstream.ts";
import { asciiBytes, fastMsg, MsgScratch } from "./reply.ts";

/** The publish headers nats-server reads (stream.go). */
export const MSG_ID = "Nats-Msg-Id";
const EXPECTED_STREAM = "Nats-Expected-Stream";
const EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence";
const EXPECTED_LAST_SUBJ_SEQ = "Nats-Expected-Last-Subject-Sequence";
const EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id";
const ROLLUP = "Nats-Rollup";
/** Added by service imports; nats-server strips it before storing. */
const CLIENT_INFO = "Nats-Request-Info";
const MAX_HEADER = 65535;
/** Direct get listens in this queue group, as nats-server's (mirrors may join it). */
const DIRECT_GROUP = "_sys_";

const enc = new TextEncoder();
/** Where publish acks are laid out, one at a time (see MsgScratch). */
const ackScratch = new MsgScratch();

/** nats-server's parseInt64: digits only, else -1. */
function parseInt64(s: string): number {
  if (s === "" || !/^[0-9]+$/.test(s)) return -1;
  return Number(s);
}

/** A reply to a publish waiting for the store's group write: an ack (body null) or as given. */
interface QueuedReply {
  reply: string;
  seq: number;
  body: string | null;
}

interface DedupEntry {
  id: string;
  seq: number;
  ts: number;
}

/** The store limits a config asks for. */
export function storeLimits(cfg: StreamConfig): StoreLimits {
  return {
    maxMsgs: cfg.max_msgs,
    maxBytes: cfg.max_bytes,
    maxAge: cfg.max_age,
    maxMsgsPerSubject: cfg.max_msgs_per_subject,
    discard: cfg.discard,
    discardNewPerSubject: cfg.discard_new_per_subject ?? false,
  };
}

/** nats-server's StreamState JSON. */
export function stateJson(
  st: StreamState,
  deleted: number[] | null,
  subjects?: Record<string, number>,
): Record<string, unknown> {
  const o: Record<string, unknown> = {
    messages: st.msgs,
    bytes: st.bytes,
    first_seq: st.firstSeq,
    first_ts: goTimeNs(st.firstTs),
    last_seq: st.lastSeq,
    last_ts: goTimeNs(st.lastTs),
  };
  if (st.numSubjects > 0) o.num_subjects = st.numSubjects;
  if (subjects) o.subjects = subjects;
  const numDeleted = deleted ? deleted.length : st.numDeleted;
  if (numDeleted > 0) o.num_deleted = numDeleted;
  if (deleted && deleted.length > 0) o.deleted = deleted;
  o.consumer_count = st.consumers;
  return o;
}

export class Stream implements StreamHandle {
  readonly name: string;
  readonly account: Account;
  readonly server: Server;
  readonly store: StreamStore;
  readonly jsa: JsAccount;
  readonly consumers = new Map<string, ConsumerHandle>();
  /** When it was created, as the API writes it (RFC 3339 with nanoseconds). */
  created: string;
  #cfg: StreamConfig;
  #subs: ClientSub[] = [];
  #directSubs: ClientSub[] = [];
  #active = false;
  #closed = false;
  #listeners: ((seq: number, subject: string) => void)[] = [];
  #republish: SubjectTransform | null = null;
  /** `{"stream":"NAME", "seq":` (with the domain when there is one), as nats-server writes it. */
  #ackPrefix = "";
  #ackPrefixBytes: Uint8Array = new Uint8Array(0);
  /** Replies to publishes, sent after the store's write (see the header). */
  #replies: QueuedReply[] = [];
  #commitQueued = false;
  // De-duplication: ids by insertion order for expiry, and the lookup map.
  #dd = new Map<string, DedupEntry>();
  #ddOrder: DedupEntry[] = [];
  #ddHead = 0;
  #ddTimer: ReturnType<typeof setTimeout> | undefined;
  #ddLoaded: boolean;
  #lastMsgId = "";
  /** The mirror, or the sources, this stream takes messages from. */
  #feeds: Feed[] = [];

  constructor(jsa: JsAccount, cfg: StreamConfig, store: StreamStore, created: string) {
    this.jsa = jsa;
    this.account = jsa.account;
    this.server = jsa.js.server;
    this.name = cfg.name;
    this.store = store;
    this.created = created;
    this.#cfg = cfg;
    this.#setConfigDerived();
    // A stream recovered with messages rebuilds its de-duplication table on first use.
    this.#ddLoaded = store.state().msgs === 0;
    store.onStorageUpdate((msgs, bytes, seq, subject) => {
      jsa.updateUsage(cfg.storage, bytes);
      if (msgs === -1 && seq > 0 && this.consumers.size > 0) {
        for (const c of this.consumers.values()) c.removed(seq, subject);
      }
    });
  }

  config(): StreamConfig {
    return this.#cfg;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #setConfigDerived(): void {
    const cfg = this.#cfg;
    this.#republish = cfg.republish ? compileRepublish(cfg.republish) : null;
    const domain = this.jsa.js.config.domain;
    this.#ackPrefix = domain
      ? `{"stream":${JSON.stringify(cfg.name)}, "domain":${JSON.stringify(domain)}, "seq":`
      : `{"stream":${JSON.stringify(cfg.name)}, "seq":`;
    this.#ackPrefixBytes = asciiBytes(this.#ackPrefix);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Subscribes to the stream's subjects (and direct get): the stream starts taking messages. */
  start(): void {
    if (this.#active) return;
    const ic = this.server.internalClient(this.account);
    for (const subj of this.#cfg.subjects ?? []) {
      this.#subs.push(ic.subscribe(subj, this.#onMsg));
    }
    if (this.#cfg.allow_direct) this.#subscribeDirect();
    this.#active = true;
    const cfg = this.#cfg;
    if (cfg.mirror) this.#feeds = [newFeed(this, cfg.mirror, "mirror")];
    else this.#feeds = (cfg.sources ?? []).map((src) => newFeed(this, src, "source"));
    for (const f of this.#feeds) f.start();
  }

  /** A stream was created in the account: feeds waiting for it as their origin attach. */
  originAppeared(origin: Stream): void {
    for (const f of this.#feeds) if (f.name === origin.name) f.attach(origin);
  }

  /** A stream of the account was deleted: feeds reading from it wait for another. */
  originGone(name: string): void {
    for (const f of this.#feeds) if (f.name === name) f.originGone();
  }

  /** StreamInfo's `mirror`, or undefined. */
  mirrorInfo(): Record<string, unknown> | undefined {
    const f = this.#feeds[0];
    return f?.kind === "mirror" ? f.info() : undefined;
  }

  /** StreamInfo's `sources`, or undefined when there are none. */
  sourcesInfo(): Record<string, unknown>[] | undefined {
    if (this.#feeds.length === 0 || this.#feeds[0].kind === "mirror") return undefined;
    return this.#feeds.map((f) => f.info());
  }

  #subscribeDirect(): void {
    if (this.#directSubs.length > 0) return;
    const ic = this.server.internalClient(this.account);
    this.#directSubs.push(
      ic.subscribe(`$JS.API.DIRECT.GET.${this.name}`, this.#onDirectGet, DIRECT_GROUP),
      ic.subscribe(`$JS.API.DIRECT.GET.${this.name}.>`, this.#onDirectLastBySubject, DIRECT_GROUP),
    );
  }

  #unsubscribeDirect(): void {
    const ic = this.account.internal;
    for (const s of this.#directSubs) ic?.unsubscribe(s);
    this.#directSubs = [];
  }

  #unsubscribeAll(): void {
    for (const f of this.#feeds) f.stop();
    this.#feeds = [];
    const ic = this.account.internal;
    for (const s of this.#subs) ic?.unsubscribe(s);
    this.#subs = [];
    this.#unsubscribeDirect();
    this.#active = false;
  }

  /** Server shutdown: consumers stop, files close, everything stays. */
  stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.consumers.values()) c.stop();
    this.#unsubscribeAll();
    clearTimeout(this.#ddTimer);
    this.store.stop();
  }

  /** STREAM.DELETE: consumers and data go, then the delete advisory. */
  delete(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Consumers leave the map first, so their deletes skip per-message interest cleanup.
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    for (const c of consumers) c.delete();
    this.#unsubscribeAll();
    clearTimeout(this.#ddTimer);
    streamAction(this.server, this.account, this.name, "delete", this.jsa.js.config.domain);
    this.store.delete();
  }

  // ---- contract for consumers ---------------------------------------------------------------

  onStored(listener: (seq: number, subject: string) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  acked(consumer: ConsumerHandle, seq: number): void {
    const retention = this.#cfg.retention;
    if (retention === "limits" || this.#closed) return;
    if (seq < this.store.state().firstSeq) return;
    if (retention === "interest" && this.#otherInterest(seq, consumer)) return;
    try {
      this.store.removeMsg(seq);
    } catch {
      // past the end (an ack overtaking its message) or already gone: nothing to remove
    }
  }

  /** nats-server's checkInterest: does a consumer other than `except` still need `seq`? */
  #otherInterest(seq: number, except: ConsumerHandle): boolean {
    if (this.consumers.size <= 1) return false;
    const m = this.store.loadMsg(seq);
    if (m === null) return false;
    for (const c of this.consumers.values()) {
      if (c !== except && c.needs(seq, m.subject)) return true;
    }
    return false;
  }

  // ---- config updates -----------------------------------------------------------------------

  /** Applies an already checked config: subjects, direct get, limits, metadata, advisory. */
  update(cfg: StreamConfig): void {
    const old = this.#cfg;
    const ic = this.server.internalClient(this.account);
    const keep = new Set(old.subjects ?? []);
    const next = new Set(cfg.subjects ?? []);
    for (const sub of [...this.#subs]) {
      if (!next.has(sub.subject)) {
        ic.unsubscribe(sub);
        this.#subs = this.#subs.filter((s) => s !== sub);
      }
    }
    for (const subj of next) if (!keep.has(subj)) this.#subs.push(ic.subscribe(subj, this.#onMsg));
    if (cfg.duplicate_window !== old.duplicate_window) this.#scheduleDedupPurge(0);
    if (cfg.num_replicas === 1) {
      if (cfg.allow_direct) this.#subscribeDirect();
      else this.#unsubscribeDirect();
    }
    this.#cfg = cfg;
    this.#updateSources(cfg.sources ?? []);
    this.#setConfigDerived();
    streamAction(this.server, this.account, this.name, "modify", this.jsa.js.config.domain);
    this.store.updateLimits(storeLimits(cfg));
    this.store.writeMeta(this.meta());
  }

  /** Sources added start, removed ones stop, a changed filter resumes with the new one. */
  #updateSources(sources: StreamSourceJson[]): void {
    if (this.#cfg.mirror) return;
    const next: Feed[] = [];
    for (const src of sources) {
      const cur = this.#feeds.find((f) => f.name === src.name);
      if (cur !== undefined && goJson(cur.spec, false) === goJson(src, false)) {
        next.push(cur);
        continue;
      }
      cur?.stop();
      const f = newFeed(this, src, "source");
      next.push(f);
      f.start();
    }
    for (const f of this.#feeds) if (!next.includes(f)) f.stop();
    this.#feeds = next;
  }

  /** What the store keeps with the stream (nats-server's FileStreamInfo: created, config). */
  meta(): { created: string; config: StreamConfig } {
    return { created: this.created, config: this.#cfg };
  }

  // ---- API operations -----------------------------------------------------------------------

  /** STREAM.PURGE: the store's purge, then consumers move their floors. */
  purge(opts: { subject?: string; seq?: number; keep?: number } | null): number {
    if (this.#closed) throw new Error("invalid stream");
    if (this.#cfg.sealed) throw new Error("sealed stream");
    const purged = this.store.purge(opts ?? undefined);
    const st = this.store.state();
    let fseq = st.firstSeq;
    const filter = opts?.subject ?? "";
    if (filter !== "") fseq = this.store.filteredState(st.firstSeq, filter).first;
    for (const c of this.consumers.values()) {
      const f = String(c.config().filter_subject ?? "");
      if (filter !== "" && f !== "" && filter !== f && !subjectIsSubsetMatch(filter, f)) continue;
      c.purged(fseq);
    }
    return purged;
  }

  /** STREAM.MSG.DELETE: whether a message was there. */
  removeMsg(seq: number, erase: boolean): boolean {
    if (this.#closed) throw new Error("invalid stream");
    return erase ? this.store.eraseMsg(seq) : this.store.removeMsg(seq);
  }

  /** Stream state as STREAM.INFO shows it (deleted sequences listed when asked). */
  stateJson(details = false): Record<string, unknown> {
    if (this.#closed) {
      return stateJson({
        msgs: 0,
        bytes: 0,
        firstSeq: 0,
        firstTs: 0,
        lastSeq: 0,
        lastTs: 0,
        numSubjects: 0,
        numDeleted: 0,
        consumers: 0,
      }, null);
    }
    return stateJson(this.store.state(), details ? this.store.deleted() : null);
  }

  // ---- ingest -------------------------------------------------------------------------------

  #onMsg = (_sub: ClientSub, _from: Client, src: Uint8Array, pa: PubArg): void => {
    if (!this.#active) return;
    const reply = pa.replyEnd > pa.replyStart ? replyOf(src, pa) : "";
    if (this.#cfg.sealed) {
      if (reply !== "") this.#sendError(reply, jsError("JSStreamSealedErr"));
      return;
    }
    this.processMsg(pa.subject, reply, headersOf(src, pa), payloadOf(src, pa));
  };

  /** processJetStreamMsg: checks, store, ack. `hdr` and `data` are only read during the call. */
  processMsg(subject: string, reply: string, hdr: Uint8Array | null, data: Uint8Array): void {
    if (this.#closed) return;
    const cfg = this.#cfg;
    const canRespond = reply !== "" && !cfg.no_ack;
    let msgId = "";
    let rollup = "";
    if (hdr !== null && hdr.length > 0) {
      hdr = removeHeader(hdr, CLIENT_INFO);
    }
    if (hdr !== null && hdr.length > 0) {
      const expStream = getHeader(hdr, EXPECTED_STREAM);
      if (expStream !== "" && expStream !== cfg.name) {
        if (canRespond) this.#sendError(reply, jsError("JSStreamNotMatchErr"));
        return;
      }
      msgId = getHeader(hdr, MSG_ID);
      if (msgId !== "") {
        const dde = this.#checkMsgId(msgId);
        if (dde !== undefined) {
          if (canRespond) this.#answer(reply, `${this.#ackPrefix}${dde.seq},"duplicate": true}`);
          return;
        }
      }
      const subjSeqText = getHeader(hdr, EXPECTED_LAST_SUBJ_SEQ);
      if (subjSeqText !== "") {
        const want = parseInt64(subjSeqText);
        const last = this.store.loadLastMsg(subject);
        const fseq = last?.seq ?? 0;
        if ((last === null && want !== 0) || fseq !== want) {
          if (canRespond) {
            this.#sendError(reply, jsError("JSStreamWrongLastSequenceErrF", { seq: fseq }));
          }
          return;
        }
      }
      const lastSeqText = getHeader(hdr, EXPECTED_LAST_SEQ);
      if (lastSeqText !== "") {
        const lseq = this.store.state().lastSeq;
        if (parseInt64(lastSeqText) !== lseq) {
          if (canRespond) {
            this.#sendError(reply, jsError("JSStreamWrongLastSequenceErrF", { seq: lseq }));
          }
          return;
        }
      }
      const lastMsgId = getHeader(hdr, EXPECTED_LAST_MSG_ID);
      if (lastMsgId !== "") {
        if (this.#lastMsgId === "" && !this.#ddLoaded) this.#rebuildDedup();
        if (lastMsgId !== this.#lastMsgId) {
          if (canRespond) {
            this.#sendError(reply, jsError("JSStreamWrongLastMsgIDErrF", { id: this.#lastMsgId }));
          }
          return;
        }
      }
      rollup = getHeader(hdr, ROLLUP).toLowerCase();
      if (rollup !== "") {
        if (!cfg.allow_rollup_hdrs || cfg.deny_purge) {
          if (canRespond) {
            this.#sendError(
              reply,
              jsError("JSStreamRollupFailedF", { err: "rollup not permitted" }),
            );
          }
          return;
        }
        // nats-server drops a message with another value without answering.
        if (rollup !== "sub" && rollup !== "all") return;
      }
    }
    const hdrLen = hdr === null ? 0 : hdr.length;
    const maxMsgSize = cfg.max_msg_size ?? -1;
    if (maxMsgSize >= 0 && hdrLen + data.length > maxMsgSize) {
      if (canRespond) this.#sendError(reply, jsError("JSStreamMessageExceedsMaximumErr"));
      return;
    }
    if (hdrLen > MAX_HEADER) {
      if (canRespond) this.#sendError(reply, jsError("JSStreamHeaderExceedsMaximumErr"));
      return;
    }
    const js = this.jsa.js;
    if (js.limitsExceeded(cfg.storage)) {
      js.resourcesExceeded();
      if (canRespond) this.#sendError(reply, jsError("JSInsufficientResourcesErr"));
      return;
    }
    if (cfg.retention === "interest" && !this.#anyInterest(subject)) {
      const seq = this.store.skipMsg();
      this.#lastMsgId = msgId;
      // nats-server records the id with sequence 0 here, and answers duplicates with it.
      if (msgId !== "") this.#storeMsgId({ id: msgId, seq: 0, ts: 0 });
      if (canRespond) this.#ack(reply, seq);
      return;
    }

    let tsubj: string | null = null;
    let tlseq = 0;
    if (this.#republish !== null) {
      tsubj = this.#republish.apply(subject);
      if (tsubj !== null) tlseq = this.store.loadLastMsg(subject)?.seq ?? 0;
    }

    let seq: number;
    try {
      seq = this.store.storeMsg(subject, hdr, data);
    } catch (e) {
      this.#storeFailed(e);
      if (canRespond) this.#sendError(reply, jsErrorUnless("JSStreamStoreFailedF", e));
      return;
    }
    const accErr = this.jsa.limitsExceeded(cfg.storage);
    if (accErr !== null) {
      this.server.log.warn(
        `JetStream resource limits exceeded for account: ${JSON.stringify(this.account.name)}`,
      );
      if (canRespond) this.#sendError(reply, accErr);
      try {
        this.store.removeMsg(seq);
      } catch {
        // gone already
      }
      return;
    }
    this.#lastMsgId = msgId;
    if (msgId !== "") this.#storeMsgId({ id: msgId, seq, ts: nowNanos() });

    if (rollup === "sub") this.purge({ subject, keep: 1 });
    else if (rollup === "all") this.purge({ keep: 1 });

    if (tsubj !== null) this.#sendRepublish(tsubj, subject, seq, tlseq, hdr, data);
    if (canRespond) this.#ack(reply, seq);
    const ls = this.#listeners;
    for (let i = 0; i < ls.length; i++) ls[i](seq, subject);
  }

  /**
   * A message from the origin of this mirror, kept at the origin's sequence (skipping what the
   * origin no longer has) and with its time.
   */
  storeMirrored(m: StoredMsg): void {
    if (this.#closed) return;
    const store = this.store;
    const st = store.state();
    if (m.seq <= st.lastSeq) return;
    if (m.seq > st.lastSeq + 1) {
      if (st.msgs === 0) store.compact(m.seq);
      else for (let s = st.lastSeq + 1; s < m.seq; s++) store.skipMsg();
    }
    const cfg = this.#cfg;
    const js = this.jsa.js;
    if (js.limitsExceeded(cfg.storage)) {
      js.resourcesExceeded();
      return;
    }
    let seq: number;
    try {
      seq = store.storeMsg(m.subject, m.hdr.length > 0 ? m.hdr : null, m.data, m.ts);
    } catch (e) {
      this.#storeFailed(e);
      return;
    }
    if (this.jsa.limitsExceeded(cfg.storage) !== null) {
      try {
        store.removeMsg(seq);
      } catch {
        // gone already
      }
      return;
    }
    const ls = this.#listeners;
    for (let i = 0; i < ls.length; i++) ls[i](seq, m.subject);
  }

  /** Interest retention: is there a consumer (whose filter matches) to keep the message for? */
  #anyInterest(subject: string): boolean {
    if (this.consumers.size === 0) return false;
    for (const c of this.consumers.values()) {
      const f = c.config().filter_subject;
      if (typeof f !== "string" || f === "" || subjectIsSubsetMatch(subject, f)) return true;
    }
    return false;
  }

  #storeFailed(e: unknown): void {
    const log = this.server.log;
    const what = `JetStream failed to store a msg on stream '${this.account.name} > ${this.name}'`;
    if (
      e instanceof ErrMaxMsgs || e instanceof ErrMaxBytes || e instanceof ErrMaxMsgsPerSubject ||
      e instanceof ErrMsgTooLarge
    ) {
      log.debug(`${what}: ${(e as Error).message}`);
    } else if (!(e instanceof ErrStoreClosed)) {
      log.error(`${what}: ${e instanceof StoreError ? e.message : String(e)}`);
    }
  }

  #sendRepublish(
    dest: string,
    subject: string,
    seq: number,
    lastSeq: number,
    hdr: Uint8Array | null,
    data: Uint8Array,
  ): void {
    const headersOnly = this.#cfg.republish?.headers_only ?? false;
    const pairs: [string, string][] = [
      ["Nats-Stream", this.name],
      ["Nats-Subject", subject],
      ["Nats-Sequence", String(seq)],
      ["Nats-Last-Sequence", String(lastSeq)],
    ];
    if (headersOnly) pairs.push(["Nats-Msg-Size", String(data.length)]);
    const h = appendHeaders(hdr !== null && hdr.length > 0 ? hdr : null, pairs);
    const m = buildMsg(dest, "", h, headersOnly ? new Uint8Array(0) : data);
    this.server.publishInternal(this.account, m.buf, m.pa);
  }

  #send(reply: string, body: string | Uint8Array, hdr: Uint8Array | null = null): void {
    const m = fastMsg(reply, "", hdr, typeof body === "string" ? enc.encode(body) : body);
    this.server.publishInternal(this.account, m.buf, m.pa);
  }

  /** An error publish ack: `{"error":{...},"stream":"NAME","seq":0}`. */
  #sendError(reply: string, err: ApiError): void {
    this.#answer(reply, goJson({ error: err, stream: this.name, seq: 0 }, false));
  }

  /** The publish ack of a message stored at `seq`. */
  #ack(reply: string, seq: number): void {
    this.#queue({ reply, seq, body: null });
  }

  /** Any other answer to a publish (errors, duplicates), in order with the acks. */
  #answer(reply: string, body: string): void {
    this.#queue({ reply, seq: 0, body });
  }

  /** Runs in #commit only (a microtask of its own): the scratch is free there. */
  #sendAck(reply: string, seq: number): void {
    const m = ackScratch.numbered(reply, this.#ackPrefixBytes, seq, 0x7d); // "}"
    this.server.publishInternal(this.account, m.buf, m.pa);
  }

  #queue(r: QueuedReply): void {
    this.#replies.push(r);
    if (!this.#commitQueued) {
      this.#commitQueued = true;
      queueMicrotask(this.#commit);
    }
  }

  /** End of the turn: the store's records are written, then the replies go (acks only if so). */
  #commit = (): void => {
    this.#commitQueued = false;
    const q = this.#replies;
    if (q.length === 0) return;
    this.#replies = [];
    let failed: unknown = null;
    try {
      this.store.flush();
    } catch (e) {
      failed = e;
      this.#storeFailed(e);
    }
    for (let i = 0; i < q.length; i++) {
      const r = q[i];
      if (r.body !== null) this.#send(r.reply, r.body);
      else if (failed === null) this.#sendAck(r.reply, r.seq);
      else {
        this.#send(
          r.reply,
          goJson({
            error: jsErrorUnless("JSStreamStoreFailedF", failed),
            stream: this.name,
            seq: 0,
          }, false),
        );
      }
    }
  };

  // ---- de-duplication -----------------------------------------------------------------------

  #checkMsgId(id: string): DedupEntry | undefined {
    if (!this.#ddLoaded) this.#rebuildDedup();
    return this.#dd.get(id);
  }

  #storeMsgId(e: DedupEntry): void {
    this.#dd.set(e.id, e);
    this.#ddOrder.push(e);
    if (this.#ddTimer === undefined) this.#scheduleDedupPurge(this.#window());
  }

  #window(): number {
    return (this.#cfg.duplicate_window ?? 0) / 1e6;
  }

  #scheduleDedupPurge(ms: number): void {
    clearTimeout(this.#ddTimer);
    this.#ddTimer = setTimeout(() => this.#purgeMsgIds(), Math.max(0, ms));
    Deno.unrefTimer(this.#ddTimer);
  }

  /** Drops ids older than the window; re-arms for the next one to expire (50 ms at least). */
  #purgeMsgIds(): void {
    this.#ddTimer = undefined;
    if (this.#closed) return;
    const now = nowNanos();
    const window = this.#cfg.duplicate_window ?? 0;
    const order = this.#ddOrder;
    let i = this.#ddHead;
    let next = -1;
    for (; i < order.length; i++) {
      const e = order[i];
      if (now - e.ts >= window) {
        if (this.#dd.get(e.id) === e) this.#dd.delete(e.id);
      } else {
        next = (window - (now - e.ts)) / 1e6;
        break;
      }
    }
    this.#ddHead = i;
    if (this.#ddHead > 1024 && this.#ddHead * 2 > order.length) {
      this.#ddOrder = order.slice(this.#ddHead);
      this.#ddHead = 0;
    }
    if (this.#dd.size > 0) this.#scheduleDedupPurge(Math.max(50, next));
    else {
      this.#ddOrder = [];
      this.#ddHead = 0;
    }
  }

  /** After a restart: the ids of messages still inside the window, read back from the store. */
  #rebuildDedup(): void {
    this.#ddLoaded = true;
    const window = this.#cfg.duplicate_window ?? 0;
    const st = this.store.state();
    if (st.msgs === 0) return;
    const start = this.store.seqFromTime(nowNanos() - window);
    for (let seq = start; seq <= st.lastSeq; seq++) {
      const m = this.store.loadMsg(seq);
      if (m === null) continue;
      const id = m.hdr.length > 0 ? getHeader(m.hdr, MSG_ID) : "";
      if (id !== "") this.#storeMsgId({ id, seq: m.seq, ts: m.ts });
      if (seq === st.lastSeq) this.#lastMsgId = id;
    }
  }

  // ---- direct get ---------------------------------------------------------------------------

  #onDirectGet = (_sub: ClientSub, _from: Client, src: Uint8Array, pa: PubArg): void => {
    const reply = replyOf(src, pa);
    if (reply === "") return;
    const body = payloadOf(src, pa);
    if (body.length === 0) return this.#directStatus(reply, "408 Empty Request");
    let seq = 0;
    let last = "";
    let next = "";
    try {
      const req = decodeMsgGetRequest(parseGoJson(body));
      ({ seq, last, next } = req);
    } catch {
      return this.#directStatus(reply, "408 Malformed Request");
    }
    if (seq === 0 && last === "" && next === "") {
      return this.#directStatus(reply, "408 Empty Request");
    }
    if ((seq > 0 && last !== "") || (last !== "" && next !== "")) {
      return this.#directStatus(reply, "408 Bad Request");
    }
    this.#directReply(reply, seq, last, next);
  };

  #onDirectLastBySubject = (_sub: ClientSub, _from: Client, src: Uint8Array, pa: PubArg): void => {
    const reply = replyOf(src, pa);
    if (reply === "") return;
    if (payloadOf(src, pa).length !== 0) return this.#directStatus(reply, "408 Bad Request");
    // The key is everything after the fifth token ($JS.API.DIRECT.GET.<stream>.).
    const subject = pa.subject;
    let dots = 0;
    let key = "";
    for (let i = 0; i < subject.length; i++) {
      if (subject[i] === "." && ++dots === 5) {
        key = subject.slice(i + 1);
        break;
      }
    }
    if (key === "") return this.#directStatus(reply, "408 Bad Request");
    this.#directReply(reply, 0, key, "");
  };

  #directStatus(reply: string, status: string): void {
    this.#send(reply, new Uint8Array(0), statusHeader(status));
  }

  #directReply(reply: string, seq: number, last: string, next: string): void {
    const m = this.loadForGet(seq, last, next);
    if (m === null) return this.#directStatus(reply, "404 Message Not Found");
    const hdr = appendHeaders(m.hdr.length > 0 ? m.hdr : null, [
      ["Nats-Stream", this.name],
      ["Nats-Subject", m.subject],
      ["Nats-Sequence", String(m.seq)],
      ["Nats-Time-Stamp", goTimeNs(m.ts)],
    ]);
    this.#send(reply, m.data, hdr);
  }

  /** MSG.GET and DIRECT.GET: by sequence, next by subject from a sequence, or last by subject. */
  loadForGet(seq: number, last: string, next: string) {
    if (seq > 0 && next === "") return this.store.loadMsg(seq);
    if (next !== "") return this.store.loadNextMsg(next, seq);
    return this.store.loadLastMsg(last);
  }
}
