/**
 * Stream snapshot and restore, as nats-server 2.9.10 runs them (jetstream_api.go):
 *
 * - SNAPSHOT: the archive (snapshot_archive.ts) is made as it is sent, a block at a time, from
 *   the stream's bounds and consumer states at the request; it goes to the request's deliver
 *   subject in chunks (chunk_size, 128 KiB by default), each with a reply subject `$JS.SNAPSHOT.ACK.<stream>.<id>.<size>.<index>` the client
 *   acks; past 8 MiB unacknowledged the sender waits for an ack (10 ms at most per chunk, as
 *   nats-server), stops when the receiver goes away, and ends with an empty message.
 * - RESTORE: the client sends chunks (each a request) to `$JS.SNAPSHOT.RESTORE.<stream>.<id>`;
 *   each is acked with an empty reply; an empty message ends the transfer, and its reply gets
 *   the stream create response (or the error). The archive is read as it comes, into a staged
 *   store out of the account's way; the stream exists only once all of it was read and checked,
 *   and a failure at any point removes what was staged.
 */

import type { Account } from "../accounts/account.ts";
import type { ClientSub } from "../client.ts";
import type { Server } from "../server.ts";
import { buildMsg, payloadOf, replyOf } from "../message.ts";
import { Consumer } from "./consumer.ts";
import { restoreStreamConsumer } from "./consumers.ts";
import type { ConsumerMeta } from "./consumer_config.ts";
import { jsError, jsErrorUnless } from "./errors.ts";
import { errorText, friendlyBytes, type JsAccount } from "./jetstream.ts";
import { goJson } from "../go_json.ts";
import { goTimeNs, parseRfc3339 } from "../go_time.ts";
import { nuid, publishAdvisory, typedEvent } from "./advisories.ts";
import {
  type Archive,
  archiveChunks,
  type ArchiveConsumer,
  ArchiveError,
  type ArchiveHead,
  type ArchiveMsg,
  ArchiveReader,
} from "./snapshot_archive.ts";
import {
  checkStreamConfig,
  configJson,
  type RawStreamConfig,
  type StreamConfig,
} from "./stream_config.ts";
import type { Stream } from "./stream.ts";
import { nowNanos } from "./store/base.ts";
import type { AckPolicy, StreamStore } from "./store/types.ts";

const DEFAULT_CHUNK = 128 * 1024;
const WINDOW = 8 * 1024 * 1024;
const ACK_WAIT_MS = 10;
const INTEREST_WAIT_MS = 2000;
const RESTORE_IDLE_MS = 5000;
const ADV = "$JS.EVENT.ADVISORY.STREAM";

const enc = new TextEncoder();

// ---- snapshot ---------------------------------------------------------------------------------

/**
 * The stream's archive (messages, and consumers unless left out) as it stands now, produced a
 * piece at a time as it is sent: its bounds, configs and consumer states are taken now, its
 * messages (up to the current last sequence) block by block. A message removed meanwhile is
 * left out (its sequence becomes a deleted one), as nats-server's snapshot goes on beside
 * changes to the stream.
 */
export function takeSnapshot(stream: Stream, includeConsumers: boolean): Iterator<Uint8Array> {
  const store = stream.store;
  const st = store.state();
  const consumers: ArchiveConsumer[] = [];
  if (includeConsumers) {
    for (const c of stream.consumers.values()) {
      if (!(c instanceof Consumer)) continue;
      consumers.push({
        name: c.name,
        created: goTimeNs(c.created),
        config: c.config(),
        state: c.store.state(),
      });
    }
  }
  function* msgs(): Generator<ArchiveMsg> {
    for (let seq = st.firstSeq; seq <= st.lastSeq;) {
      const m = store.loadNextMsg("", seq);
      if (m === null || m.seq > st.lastSeq) return;
      yield { seq: m.seq, ts: m.ts, subject: m.subject, hdr: m.hdr, data: m.data };
      seq = m.seq + 1;
    }
  }
  const a: Archive = {
    created: stream.created,
    config: stream.config(),
    firstSeq: st.firstSeq,
    lastSeq: st.lastSeq,
    lastTs: st.lastTs,
    msgs: msgs(),
    consumers,
  };
  return archiveChunks(a, nowNanos());
}

/**
 * Sends an archive to `deliver` with nats-server's chunking and flow control, and the empty
 * message that ends it (also when the archive cannot be finished: the receiver then holds a
 * truncated archive, which a restore refuses). Returns the bytes sent.
 */
export async function sendSnapshot(
  server: Server,
  acc: Account,
  stream: string,
  archive: Iterator<Uint8Array>,
  deliver: string,
  chunkSize: number,
): Promise<number> {
  if (chunkSize <= 0) chunkSize = DEFAULT_CHUNK;
  const hasInterest = () => {
    const r = acc.sublist.match(deliver);
    return r.psubs.length + r.qsubs.length > 0;
  };
  // Allow some time for the receiver's interest to show up.
  for (let waited = 0; !hasInterest() && waited < INTEREST_WAIT_MS; waited += 10) {
    await sleep(10);
  }
  let out = 0;
  let sent = 0;
  let wake: (() => void) | null = null;
  const ackSubj = `$JS.SNAPSHOT.ACK.${stream}.${nuid()}`;
  const internal = server.internalClient(acc);
  // An ack's subject is the chunk's reply subject: ...<id>.<size>.<index>.
  const ackSub: ClientSub = internal.subscribe(`${ackSubj}.>`, (_s, _f, _src, pa) => {
    const size = Number(pa.subject.split(".")[5]);
    out -= Number.isFinite(size) ? size : 0;
    if (out < WINDOW && wake !== null) wake();
  });
  const publish = (subject: string, reply: string, data: Uint8Array) => {
    const m = buildMsg(subject, reply, null, data);
    server.publishInternal(acc, m.buf, m.pa);
  };
  // The archive's pieces cut into chunks of chunkSize (the last may be shorter).
  let piece: Uint8Array = new Uint8Array(0);
  let done = false;
  const nextChunk = (): Uint8Array | null => {
    const parts: Uint8Array[] = [];
    let len = 0;
    while (len < chunkSize) {
      if (piece.length === 0) {
        if (done) break;
        const r = archive.next();
        if (r.done) {
          done = true;
          break;
        }
        piece = r.value;
        continue;
      }
      const take = piece.subarray(0, chunkSize - len);
      piece = piece.subarray(take.length);
      parts.push(take);
      len += take.length;
    }
    if (len === 0) return null;
    if (parts.length === 1) return parts[0];
    const chunk = new Uint8Array(len);
    let o = 0;
    for (const p of parts) {
      chunk.set(p, o);
      o += p.length;
    }
    return chunk;
  };
  try {
    for (let index = 1;; index++) {
      let chunk: Uint8Array | null;
      try {
        chunk = nextChunk();
      } catch (e) {
        server.log.warn(`Snapshot of stream '${acc.name} > ${stream}' failed: ${errorText(e)}`);
        break;
      }
      if (chunk === null) break;
      if (out > WINDOW) {
        if (!hasInterest()) break;
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            wake = null;
            resolve();
          }, ACK_WAIT_MS);
          wake = () => {
            clearTimeout(t);
            wake = null;
            resolve();
          };
        });
        if (!hasInterest()) break;
      } else if (index % 16 === 0) await sleep(0); // let the outbound buffers drain
      publish(deliver, `${ackSubj}.${chunk.length}.${index}`, chunk);
      out += chunk.length;
      sent += chunk.length;
    }
  } finally {
    internal.unsubscribe(ackSub);
  }
  // The end: an empty message.
  publish(deliver, "", new Uint8Array(0));
  return sent;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The snapshot create advisory (without `start`) or the complete advisory (with it). */
export function snapshotAdvisory(
  server: Server,
  acc: Account,
  stream: Stream,
  client: Record<string, unknown>,
  domain: string,
  start?: number,
): void {
  if (start === undefined) {
    publishAdvisory(server, acc, `${ADV}.SNAPSHOT_CREATE.${stream.name}`, {
      ...typedEvent("io.nats.jetstream.advisory.v1.snapshot_create"),
      stream: stream.name,
      state: stream.stateJson(),
      client,
      domain: domain || undefined,
    });
    return;
  }
  publishAdvisory(server, acc, `${ADV}.SNAPSHOT_COMPLETE.${stream.name}`, {
    ...typedEvent("io.nats.jetstream.advisory.v1.snapshot_complete"),
    stream: stream.name,
    start: goTimeNs(start),
    end: goTimeNs(nowNanos()),
    client,
    domain: domain || undefined,
  });
}

// ---- restore ----------------------------------------------------------------------------------

/**
 * One restore in progress: collects the chunks sent to its subject, then builds the stream.
 * Returns the subject the client sends to.
 */
export function startRestore(
  jsa: JsAccount,
  cfg: RawStreamConfig,
  client: Record<string, unknown>,
): string {
  const server = jsa.server;
  const acc = jsa.account;
  const js = jsa.js;
  const log = server.log;
  const name = cfg.name;
  const domain = js.config.domain;
  const subject = `$JS.SNAPSHOT.RESTORE.${name}.${nuid()}`;
  const internal = server.internalClient(acc);
  const work = new Restore(jsa, cfg);
  // The first error in the archive; reported when the transfer ends, as nats-server does.
  let failed: unknown = null;
  let total = 0;
  let finished = false;
  const start = nowNanos();
  log.notice(`Starting restore for stream '${acc.name} > ${name}'`);
  publishAdvisory(server, acc, `${ADV}.RESTORE_CREATE.${name}`, {
    ...typedEvent("io.nats.jetstream.advisory.v1.restore_create"),
    stream: name,
    client,
    domain: domain || undefined,
  });

  let idle: ReturnType<typeof setTimeout> | undefined;
  const finish = (err: unknown, reply: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(idle);
    internal.unsubscribe(sub);
    if (reply === "" && err === null) {
      work.abort();
      return;
    }
    let stream: Stream | null = null;
    if (err === null) {
      try {
        stream = work.finish();
      } catch (e) {
        err = e;
      }
    } else {
      work.abort();
      log.warn(String((err as Error).message ?? err));
    }
    const end = nowNanos();
    publishAdvisory(server, acc, `${ADV}.RESTORE_COMPLETE.${name}`, {
      ...typedEvent("io.nats.jetstream.advisory.v1.restore_complete"),
      stream: name,
      start: goTimeNs(start),
      end: goTimeNs(end),
      bytes: total,
      client,
      domain: domain || undefined,
    });
    const type = "io.nats.jetstream.api.v1.stream_create_response";
    let resp: Record<string, unknown>;
    if (stream === null) {
      resp = { type, error: jsErrorUnless("JSStreamRestoreErrF", err) };
      // (sic) nats-server names the stream before the account here.
      log.warn(`Restore failed for ${friendlyBytes(total)} for stream '${name} > ${acc.name}'`);
    } else {
      resp = { type, config: stream.config(), created: stream.created, state: stream.stateJson() };
      log.notice(`Completed restore of ${friendlyBytes(total)} for stream '${name} > ${acc.name}'`);
    }
    if (reply !== "") {
      const m = buildMsg(reply, "", null, enc.encode(goJson(resp, false)));
      server.publishInternal(acc, m.buf, m.pa);
    }
  };
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      if (finished) return;
      log.warn(`restore for stream '${acc.name} > ${name}' is stalled`);
      finish(null, "");
    }, RESTORE_IDLE_MS);
    Deno.unrefTimer(Number(idle));
  };
  const sub = internal.subscribe(subject, (_s, _from, src, pa) => {
    if (finished) return;
    const reply = replyOf(src, pa);
    if (reply === "") {
      return finish(
        new Error(
          `restore for stream '${acc.name} > ${name}' requires reply subject for each chunk`,
        ),
        "",
      );
    }
    const data = payloadOf(src, pa);
    if (data.length === 0) {
      log.debug(`Finished staging restore for stream '${acc.name} > ${name}'`);
      return finish(failed, reply);
    }
    total += data.length;
    if (js.storeUsed + total > js.config.maxStore) {
      js.resourcesExceeded();
      return finish(jsError("JSInsufficientResourcesErr"), reply);
    }
    if (failed === null) {
      try {
        // A copy: the payload is the connection's read buffer, valid during this call only.
        work.push(data.slice());
      } catch (e) {
        failed = e;
        work.abort();
      }
    }
    armIdle();
    const m = buildMsg(reply, "", null, new Uint8Array(0));
    server.publishInternal(acc, m.buf, m.pa);
  });
  armIdle();
  return subject;
}

/**
 * One restore's work: the archive read as it arrives (ArchiveReader), its messages and
 * consumer states written into a staged store; at the end the store takes the stream's place
 * and the stream is made over it, with the request's config (the new identity, as
 * nats-server), as a stream recovered at startup is (its limits apply once it is whole). A
 * failure at any point removes everything made.
 */
class Restore {
  readonly #reader: ArchiveReader;
  #store: StreamStore | null = null;
  #cfg: StreamConfig | null = null;
  #created = "";
  /** The next sequence the store gives; 0 before the first message. */
  #next = 0;

  constructor(readonly jsa: JsAccount, readonly raw: RawStreamConfig) {
    this.#reader = new ArchiveReader(raw.name, {
      head: (h) => this.#head(h),
      msg: (m) => this.#msg(m),
    });
  }

  push(bytes: Uint8Array): void {
    this.#reader.push(bytes);
  }

  #head(h: ArchiveHead): void {
    if (this.#store !== null) throw new ArchiveError("unexpected content");
    this.#created = knownTime(h.created) !== null ? h.created : goTimeNs(nowNanos());
    this.#cfg = configJson(checkStreamConfig(this.raw, this.jsa.configContext()));
    this.#store = this.jsa.stagingStore(this.#cfg);
  }

  #msg(m: ArchiveMsg): void {
    const store = this.#store!;
    if (this.#next === 0) {
      if (m.seq > 1) store.compact(m.seq);
      this.#next = m.seq;
    }
    // Sequences with no message in between are skipped.
    for (; this.#next < m.seq; this.#next++) store.skipMsg();
    store.storeMsg(m.subject, m.hdr.length > 0 ? m.hdr : null, m.data, m.ts);
    this.#next++;
  }

  finish(): Stream {
    const jsa = this.jsa;
    let stream: Stream | null = null;
    try {
      const tail = this.#reader.end();
      const store = this.#store!;
      const cfg = this.#cfg!;
      if (this.#next === 0) {
        if (tail.firstSeq > 1) store.compact(tail.firstSeq);
        this.#next = store.state().lastSeq + 1;
      }
      // The last sequence keeps the stream's last time when its message was removed.
      for (; this.#next <= tail.lastSeq; this.#next++) {
        store.skipMsg(this.#next === tail.lastSeq && tail.lastTs > 0 ? tail.lastTs : undefined);
      }
      const metas = tail.consumers.map((c) => consumerState(store, c));
      if (jsa.streams.has(cfg.name)) throw jsError("JSStreamNameExistRestoreFailedErr");
      store.writeMeta({ created: this.#created, config: cfg });
      store.flush();
      const placed = jsa.adoptStaged(cfg, store);
      this.#store = placed;
      stream = jsa.addStream(this.raw, { store: placed, created: this.#created });
      this.#store = null;
      placed.writeMeta(stream.meta());
      for (const meta of metas) restoreStreamConsumer(jsa.server, jsa, stream, meta);
      return stream;
    } catch (e) {
      if (stream !== null) {
        try {
          jsa.deleteStream(stream);
        } catch {
          // already failing: the first error is the one to report
        }
      }
      this.abort();
      throw e;
    }
  }

  /** Gives up: whatever was staged goes. */
  abort(): void {
    if (this.#store !== null) this.jsa.dropStaged(this.#store);
    this.#store = null;
  }
}

/**
 * A consumer's state and config written into the restored stream's store, which keeps its
 * consumer store open for the consumer to take up; returns its config as the consumer layer
 * stores it.
 */
function consumerState(store: StreamStore, c: ArchiveConsumer): ConsumerMeta {
  const ack = c.config.ack_policy;
  const ackPolicy: AckPolicy = ack === "none" || ack === "all" ? ack : "explicit";
  const cs = store.consumerStore(c.name, { ackPolicy });
  const meta: ConsumerMeta = {
    created: knownTime(c.created) ?? nowNanos(),
    name: c.name,
    config: c.config,
  };
  cs.writeMeta(meta);
  cs.update(c.state);
  cs.flush();
  return meta;
}

/** A time from an archive, or null when absent or Go's zero time (then "now" is taken). */
function knownTime(s: string): number | null {
  if (s === "" || s.startsWith("0001-01-01")) return null;
  return parseRfc3339(s)?.ns ?? null;
}
