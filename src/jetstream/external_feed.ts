/**
 * A mirror or source whose origin is reached through an API prefix (`external`, e.g. another
 * JetStream domain over a leafnode, or another account): the origin is not in this process, so
 * the feed does what nats-server does for every mirror and source: it asks the origin's API for
 * a push consumer (direct, no acks, flow control, 1 s idle heartbeats) delivering to a private
 * subject, takes each message at the origin sequence its ack reply carries, answers flow
 * control, and sets the consumer up again after what it holds when it sees a gap or hears
 * nothing for three heartbeats, or when the origin's answer was an error (retried every 2 s).
 */

import type { Client, ClientSub } from "../client.ts";
import { buildMsg, headersOf, payloadOf, replyOf, utf8 } from "../message.ts";
import type { PubArg } from "../parser.ts";
import { appendHeaders, getHeader, removeHeader } from "./headers.ts";
import { nuid } from "./nuid.ts";
import { parseRfc3339 } from "../go_time.ts";
import { nowNanos } from "./store/base.ts";
import type { StreamSourceJson } from "./stream_config.ts";
import type { Stream } from "./stream.ts";
import { Timer } from "./timer.ts";

const HEARTBEAT_MS = 1000;
const RETRY_MS = 2000;
const STREAM_SOURCE = "Nats-Stream-Source";
const dec = new TextDecoder();

export class ExternalFeed {
  readonly kind: "mirror" | "source";
  readonly spec: StreamSourceJson;
  readonly #target: Stream;
  #deliverSub: ClientSub | null = null;
  #replySub: ClientSub | null = null;
  /** The origin's consumer feeding us, once created. */
  #cname = "";
  /** Last origin stream and consumer sequences taken. */
  #sseq = 0;
  #dseq = 0;
  #lag = 0;
  /** When a message or heartbeat last came (ms), or the setup was sent. */
  #lastMs = 0;
  /** When a message was last taken, ns; 0 when never. */
  #lastNs = 0;
  #err: Record<string, unknown> | null = null;
  #stopped = false;
  readonly #health = new Timer(() => this.#checkHealth());

  constructor(target: Stream, spec: StreamSourceJson, kind: "mirror" | "source") {
    this.#target = target;
    this.spec = spec;
    this.kind = kind;
  }

  get name(): string {
    return this.spec.name;
  }

  start(): void {
    this.#health.reset(0);
  }

  /** Local streams appearing or going do not concern an external origin. */
  attach(_origin: Stream): void {}
  originGone(): void {}

  stop(): void {
    this.#stopped = true;
    this.#health.stop();
    this.#cancel();
  }

  #api(): string {
    return (this.spec.external?.api ?? "$JS.API").replace(/\.$/, "");
  }

  /** Drops the current consumer (asking the origin to delete it) and our subscriptions. */
  #cancel(): void {
    const ic = this.#target.account.internal;
    if (this.#deliverSub !== null) ic?.unsubscribe(this.#deliverSub);
    if (this.#replySub !== null) ic?.unsubscribe(this.#replySub);
    this.#deliverSub = this.#replySub = null;
    if (this.#cname !== "") {
      this.#publish(`${this.#api()}.CONSUMER.DELETE.${this.name}.${this.#cname}`, "", "");
      this.#cname = "";
    }
  }

  #publish(subject: string, reply: string, body: string, hdr: Uint8Array | null = null): void {
    const m = buildMsg(subject, reply, hdr, utf8(body));
    this.#target.server.publishInternal(this.#target.account, m.buf, m.pa);
  }

  /** Creates the origin's consumer, starting after what we hold (nats-server's request). */
  #setup(): void {
    if (this.#stopped || this.#target.closed) return;
    this.#cancel();
    const ext = this.spec.external;
    const deliver = ext?.deliver
      ? `${ext.deliver}.M.${nuid.next()}`.replaceAll("..", ".")
      : `$JS.M.${nuid.next()}`;
    const reply = `$JSC.R.${nuid.next()}`;
    const ic = this.#target.server.internalClient(this.#target.account);
    this.#replySub = ic.subscribe(reply, (_s, _f, src, pa) => this.#onCreated(src, pa));
    this.#deliverSub = ic.subscribe(deliver, (_s, from, src, pa) => this.#onMsg(from, src, pa));
    const start = this.#startSeq();
    const config: Record<string, unknown> = {
      deliver_subject: deliver,
      deliver_policy: "all",
      ack_policy: "none",
      ack_wait: 22 * 3600 * 1e9,
      max_deliver: 1,
      idle_heartbeat: HEARTBEAT_MS * 1e6,
      flow_control: true,
      direct: true,
    };
    if (start.seq > 0) {
      config.deliver_policy = "by_start_sequence";
      config.opt_start_seq = start.seq;
    } else if (start.time !== undefined) {
      config.deliver_policy = "by_start_time";
      config.opt_start_time = start.time;
    }
    if (this.spec.filter_subject) config.filter_subject = this.spec.filter_subject;
    this.#dseq = 0;
    this.#lastMs = Date.now();
    const req = JSON.stringify({ stream_name: this.name, config });
    this.#publish(`${this.#api()}.CONSUMER.CREATE.${this.name}`, reply, req);
    this.#health.reset(RETRY_MS);
  }

  /** After what the target holds, else the configured start (sequence or time). */
  #startSeq(): { seq: number; time?: string } {
    const st = this.#target.store.state();
    if (this.kind === "mirror") {
      if (st.msgs > 0 || st.firstSeq > 0 || st.lastSeq > 0) return { seq: st.lastSeq + 1 };
    } else {
      const taken = this.#sseq > 0 ? this.#sseq : this.#lastTaken();
      if (taken > 0) return { seq: taken + 1 };
    }
    if ((this.spec.opt_start_seq ?? 0) > 0) return { seq: this.spec.opt_start_seq! };
    const t = this.spec.opt_start_time;
    if (t && parseRfc3339(t) !== null) return { seq: 0, time: t };
    return { seq: 0 };
  }

  #lastTaken(): number {
    const store = this.#target.store;
    const st = store.state();
    for (let seq = st.lastSeq; seq >= st.firstSeq && seq > 0; seq--) {
      const m = store.loadMsg(seq);
      if (m === null || m.hdr.length === 0) continue;
      const tag = getHeader(m.hdr, STREAM_SOURCE).split(" ");
      if (tag.length === 2 && tag[0] === this.name) return Number(tag[1]) || 0;
    }
    return 0;
  }

  #onCreated(src: Uint8Array, pa: PubArg): void {
    if (this.#stopped) return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(dec.decode(payloadOf(src, pa)));
    } catch {
      r = { error: { code: 400, err_code: 10025, description: "invalid JSON" } };
    }
    if (r.error !== undefined || typeof r.name !== "string") {
      this.#err = (r.error as Record<string, unknown>) ?? null;
      this.#target.server.log.warn(
        `JetStream error response for create ${this.kind} consumer: ${JSON.stringify(r.error)}`,
      );
      this.#health.reset(RETRY_MS);
      return;
    }
    this.#err = null;
    this.#cname = r.name;
    this.#lastMs = Date.now();
    this.#health.reset(HEARTBEAT_MS);
  }

  #onMsg(_from: Client, src: Uint8Array, pa: PubArg): void {
    if (this.#stopped || this.#target.closed) return;
    this.#lastMs = Date.now();
    const hdr = headersOf(src, pa);
    const reply = replyOf(src, pa);
    if (hdr !== null && isStatus100(hdr)) {
      // Flow control asks for an empty answer; a heartbeat tells what we should have had.
      if (reply !== "") this.#publish(reply, "", "");
      else {
        const last = Number(getHeader(hdr, "Nats-Last-Consumer"));
        if (last > 0 && last !== this.#dseq) this.#setup();
        else {
          const stalled = getHeader(hdr, "Nats-Consumer-Stalled");
          if (stalled !== "") this.#publish(stalled, "", "");
        }
      }
      return;
    }
    // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>
    const t = reply.split(".");
    if (t.length < 9 || t[0] !== "$JS" || t[1] !== "ACK") return;
    const sseq = Number(t[t.length - 4]);
    const dseq = Number(t[t.length - 3]);
    const ts = Number(t[t.length - 2]);
    if (dseq !== this.#dseq + 1) {
      this.#setup();
      return;
    }
    this.#dseq = dseq;
    this.#lag = Number(t[t.length - 1]) || 0;
    if (sseq <= this.#sseq && this.kind === "source") return;
    this.#sseq = sseq;
    this.#lastNs = nowNanos();
    const subject = dec.decode(src.subarray(pa.subjectStart, pa.subjectEnd));
    const data = payloadOf(src, pa).slice();
    if (this.kind === "mirror") {
      this.#target.storeMirrored({
        seq: sseq,
        ts,
        subject,
        hdr: hdr === null ? new Uint8Array(0) : hdr.slice(),
        data,
      });
      return;
    }
    let h: Uint8Array | null = hdr === null ? null : removeHeader(hdr, STREAM_SOURCE);
    h = appendHeaders(h, [[STREAM_SOURCE, `${this.name} ${sseq}`]]);
    this.#target.processMsg(subject, "", h, data);
  }

  /** No consumer yet, or silence for three heartbeats: set it up (again). */
  #checkHealth(): void {
    if (this.#stopped || this.#target.closed) return;
    if (this.#cname === "" || Date.now() - this.#lastMs > 3 * HEARTBEAT_MS) {
      this.#setup();
      return;
    }
    this.#health.reset(HEARTBEAT_MS);
  }

  /** nats-server's StreamSourceInfo JSON. */
  info(): Record<string, unknown> {
    const o: Record<string, unknown> = { name: this.name };
    if (this.spec.external) o.external = this.spec.external;
    o.lag = this.#lag;
    o.active = this.#lastNs === 0 ? -1 : Math.max(0, Math.round(nowNanos() - this.#lastNs));
    if (this.#err !== null) o.error = this.#err;
    return o;
  }
}

function isStatus100(hdr: Uint8Array): boolean {
  // "NATS/1.0 100"
  return hdr.length >= 12 && hdr[9] === 0x31 && hdr[10] === 0x30 && hdr[11] === 0x30;
}
