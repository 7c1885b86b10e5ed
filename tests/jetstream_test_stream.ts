/**
 * Tests only: a minimal stream (StreamHandle over a MemoryStore or FileStore) and a minimal
 * `$JS.API` router, so the consumer layer can be exercised alone, over real sockets, with raw
 * clients and the official client, before the real stream layer is wired in. The stream stores
 * what is published on its subjects (answering with a publish ack), tells consumers about new,
 * removed and purged messages, and applies interest / work-queue retention on acks.
 */

import type { Account } from "../src/accounts/account.ts";
import type { Server } from "../src/server.ts";
import { buildMsg, headersOf, payloadOf, replyOf, utf8 } from "../src/message.ts";
import type { ConsumerHandle, StreamConfigJson, StreamHandle } from "../src/jetstream/contract.ts";
import { FileStore, MemoryStore, NO_LIMITS, type StreamStore } from "../src/jetstream/store/mod.ts";
import {
  type ConsumerApiContext,
  consumerCreateRequest,
  consumerDeleteRequest,
  consumerInfoRequest,
  consumerListRequest,
  consumerNamesRequest,
  recoverConsumers,
} from "../src/jetstream/consumer_api.ts";
import { goJson } from "../src/go_json.ts";
import { goTimeNs } from "../src/go_time.ts";
import { nowNanos } from "../src/jetstream/store/base.ts";
import type { ClientSub } from "../src/client.ts";
import type { InternalClient } from "../src/internal_client.ts";

export class TestStream implements StreamHandle {
  readonly consumers = new Map<string, ConsumerHandle>();
  readonly created = nowNanos();
  #listeners = new Set<(seq: number, subject: string) => void>();
  #subs: ClientSub[] = [];
  #ic: InternalClient;

  constructor(
    readonly server: Server,
    readonly account: Account,
    readonly cfg: StreamConfigJson,
    readonly store: StreamStore,
  ) {
    this.#ic = server.internalClient(account);
    store.onStorageUpdate((md, _bd, seq, subject) => {
      if (md === -1 && seq > 0) {
        for (const c of this.consumers.values()) {
          (c as { removed?: (s: number, subj: string) => void }).removed?.(seq, subject);
        }
      }
    });
    for (const subject of cfg.subjects ?? []) {
      this.#subs.push(this.#ic.subscribe(subject, (_s, _f, src, pa) => {
        const seq = this.publish(pa.subject, headersOf(src, pa), payloadOf(src, pa));
        const reply = replyOf(src, pa);
        if (reply !== "") {
          const m = buildMsg(reply, "", null, utf8(goJson({ stream: this.name, seq }, false)));
          server.publishInternal(account, m.buf, m.pa);
        }
      }));
    }
  }

  get name(): string {
    return this.cfg.name;
  }

  config(): StreamConfigJson {
    return this.cfg;
  }

  onStored(listener: (seq: number, subject: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(subject: string, hdr: Uint8Array | null, data: Uint8Array): number {
    const seq = this.store.storeMsg(subject, hdr, data);
    for (const l of this.#listeners) l(seq, subject);
    return seq;
  }

  acked(consumer: ConsumerHandle, seq: number): void {
    const r = this.cfg.retention;
    if (r === "limits" || seq < this.store.state().firstSeq) return;
    let remove = r === "workqueue";
    if (r === "interest") {
      const m = this.store.loadMsg(seq);
      if (m === null) return;
      remove = true;
      for (const o of this.consumers.values()) {
        if (o !== consumer && o.needs(seq, m.subject)) remove = false;
      }
    }
    if (remove) {
      try {
        this.store.removeMsg(seq);
      } catch { /* gone */ }
    }
  }

  purge(): number {
    const n = this.store.purge();
    for (const c of this.consumers.values()) c.purged(this.store.state().firstSeq);
    return n;
  }

  stop(): void {
    for (const s of this.#subs) this.#ic.unsubscribe(s);
    for (const c of [...this.consumers.values()]) c.stop();
    this.store.stop();
  }

  delete(): void {
    for (const s of this.#subs) this.#ic.unsubscribe(s);
    const all = [...this.consumers.values()];
    this.consumers.clear();
    for (const c of all) c.delete();
    this.store.delete();
  }
}

/** `$JS.API` for tests: STREAM.CREATE/INFO/DELETE/PURGE (minimal) and the consumer API. */
export class TestJetStream {
  readonly streams = new Map<string, TestStream>();
  #subs: ClientSub[] = [];
  readonly ctx: ConsumerApiContext;

  constructor(readonly server: Server, readonly account: Account, readonly storeDir = "") {
    this.ctx = { lookupStream: (name) => this.streams.get(name) };
    const ic = server.internalClient(account);
    this.#subs.push(ic.subscribe("$JS.API.>", (_s, _f, src, pa) => {
      const reply = replyOf(src, pa);
      if (reply === "") return;
      const res = this.handle(pa.subject, payloadOf(src, pa));
      if (res === null) return;
      const m = buildMsg(reply, "", null, utf8(goJson(res, false)));
      server.publishInternal(account, m.buf, m.pa);
    }));
  }

  addStream(cfg: Partial<StreamConfigJson> & { name: string }): TestStream {
    const full: StreamConfigJson = {
      retention: "limits",
      storage: this.storeDir === "" ? "memory" : "file",
      subjects: [cfg.name],
      max_consumers: -1,
      num_replicas: 1,
      ...cfg,
    };
    const limits = {
      ...NO_LIMITS,
      maxMsgs: typeof full.max_msgs === "number" ? full.max_msgs : -1,
    };
    const store = full.storage === "file"
      ? new FileStore({ dir: `${this.storeDir}/${full.name}`, limits })
      : new MemoryStore({ limits });
    const s = new TestStream(this.server, this.account, full, store);
    this.streams.set(full.name, s);
    recoverConsumers(s, this.ctx);
    return s;
  }

  handle(subject: string, body: Uint8Array): Record<string, unknown> | null {
    const t = subject.split(".");
    const op = t.slice(2, 4).join(".");
    const text = new TextDecoder().decode(body);
    switch (op) {
      case "STREAM.CREATE": {
        const cfg = JSON.parse(text);
        if (cfg.subjects === undefined) cfg.subjects = [cfg.name];
        const s = this.addStream(cfg);
        return {
          type: "io.nats.jetstream.api.v1.stream_create_response",
          ...this.#streamInfo(s),
          did_create: true,
        };
      }
      case "STREAM.INFO": {
        const s = this.streams.get(t[4]);
        if (s === undefined) {
          return {
            type: "io.nats.jetstream.api.v1.stream_info_response",
            error: { code: 404, err_code: 10059, description: "stream not found" },
          };
        }
        return { type: "io.nats.jetstream.api.v1.stream_info_response", ...this.#streamInfo(s) };
      }
      case "STREAM.DELETE": {
        const s = this.streams.get(t[4]);
        s?.delete();
        this.streams.delete(t[4]);
        return { type: "io.nats.jetstream.api.v1.stream_delete_response", success: true };
      }
      case "STREAM.PURGE": {
        const s = this.streams.get(t[4]);
        const purged = s?.purge() ?? 0;
        return { type: "io.nats.jetstream.api.v1.stream_purge_response", success: true, purged };
      }
      case "CONSUMER.CREATE":
      case "CONSUMER.DURABLE":
        return consumerCreateRequest(this.ctx, subject, body);
      case "CONSUMER.INFO":
        return consumerInfoRequest(this.ctx, subject, body);
      case "CONSUMER.DELETE":
        return consumerDeleteRequest(this.ctx, subject, body);
      case "CONSUMER.NAMES":
        return consumerNamesRequest(this.ctx, subject, body);
      case "CONSUMER.LIST":
        return consumerListRequest(this.ctx, subject, body);
      case "INFO":
        return {
          type: "io.nats.jetstream.api.v1.account_info_response",
          memory: 0,
          storage: 0,
          streams: this.streams.size,
          consumers: 0,
          limits: { max_memory: -1, max_storage: -1, max_streams: -1, max_consumers: -1 },
          api: { total: 0, errors: 0 },
        };
    }
    // CONSUMER.MSG.NEXT goes to the consumer's own subscription; nothing else is known here.
    return null;
  }

  #streamInfo(s: TestStream): Record<string, unknown> {
    const st = s.store.state();
    return {
      config: s.cfg,
      created: goTimeNs(s.created),
      state: {
        messages: st.msgs,
        bytes: st.bytes,
        first_seq: st.firstSeq,
        first_ts: goTimeNs(st.firstTs),
        last_seq: st.lastSeq,
        last_ts: goTimeNs(st.lastTs),
        consumer_count: s.consumers.size,
      },
    };
  }

  /** Server shutdown: streams and consumers stop, state stays. */
  stop(): void {
    const ic = this.server.internalClient(this.account);
    for (const s of this.#subs) ic.unsubscribe(s);
    for (const s of this.streams.values()) s.stop();
    this.streams.clear();
  }
}
