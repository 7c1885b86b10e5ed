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
 *   the stream create response (or the error). Nothing of the stream exists until the whole
 *   archive has been read and checked; a failure part way removes what was made.
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
import { goJson, goTimeNs, parseRfc3339 } from "./json.ts";
import { nuid, publishAdvisory, typedEvent } from "./advisories.ts";
import {
  type Archive,
  archiveChunks,
  type ArchiveConsumer,
  type ArchiveMsg,
  decodeArchive,
} from "./snapshot_archive.ts";
import { checkStreamConfig, configJson, type RawStreamConfig } from "./stream_config.ts";
import type { Stream } from "./stream.ts";
import { nowNanos } from "./store/base.ts";
import { type AckPolicy, NO_LIMITS, type StreamStore } from "./store/types.ts";

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
  const chunks: Uint8Array[] = [];
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
    if (reply === "" && err === null) return;
    let resp: Record<string, unknown>;
    let stream: Stream | null = null;
    if (err === null) {
      try {
        stream = restoreStream(jsa, cfg, concat(chunks, total));
      } catch (e) {
        err = e;
      }
    } else log.warn(String((err as Error).message ?? err));
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
    if (stream === null) {
      resp = { type, error: jsErrorUnless("JSStreamRestoreErrF", err) };
      // (sic) nats-server names the stream before the account here.
      log.warn(`Restore failed for ${friendlyBytes(total)} for stream '${name} > ${acc.name}'`);
    } else {
      resp = { type, config: stream.config(), created: stream.created, state: stream.stateJson() };
      log.notice(`Completed restore of ${friendlyBytes(total)} for stream '${name} > ${acc.name}'`);
    }
    if (reply !== "") {
      const m = buildMsg(reply, "", null, enc.encode(goJson(resp)));
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
      return finish(null, reply);
    }
    total += data.length;
    // nats-server stages to a file and checks `used > max + total` (which never trips); the
    // chunks are held in memory here, so an archive larger than the free store is refused
    // (its messages could not be stored anyway: an archive is never larger than its data).
    if (js.storeUsed + total > js.config.maxStore) {
      js.resourcesExceeded();
      return finish(jsError("JSInsufficientResourcesErr"), reply);
    }
    chunks.push(data.slice());
    armIdle();
    const m = buildMsg(reply, "", null, new Uint8Array(0));
    server.publishInternal(acc, m.buf, m.pa);
  });
  armIdle();
  return subject;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Builds the stream from an archive: everything is decoded and checked first; then a new store
 * is filled (messages at their sequences and times, consumers with their state) and the stream
 * is created over it with the request's config (the new identity, as nats-server), as a stream
 * recovered at startup is; its limits apply once it is whole. Any failure removes it all.
 */
export function restoreStream(jsa: JsAccount, raw: RawStreamConfig, bytes: Uint8Array): Stream {
  const a = decodeArchive(bytes, raw.name);
  if (jsa.streams.has(raw.name)) throw jsError("JSStreamNameExistRestoreFailedErr");
  const created = knownTime(a.created) !== null ? a.created : goTimeNs(nowNanos());
  const cfg = configJson(checkStreamConfig(raw, jsa.configContext()));
  const store = jsa.newStore(cfg, NO_LIMITS, true);
  let stream: Stream | null = null;
  try {
    const metas = fill(store, a);
    store.writeMeta({ created, config: cfg });
    store.flush();
    stream = jsa.addStream(raw, { store, created });
    store.writeMeta(stream.meta());
    for (const meta of metas) restoreStreamConsumer(jsa.server, jsa, stream, meta);
    return stream;
  } catch (e) {
    try {
      if (stream !== null) jsa.deleteStream(stream);
      else store.delete();
    } catch {
      // already failing: the first error is the one to report
    }
    throw e;
  }
}

/**
 * The archive's messages and consumer states into an empty store. The consumer stores stay
 * open with their state, for the consumers to take up; returns their configs.
 */
function fill(store: StreamStore, a: Archive): ConsumerMeta[] {
  if (a.firstSeq > 1) store.compact(a.firstSeq);
  // Sequences with no message in between are skipped; the last keeps the stream's last time.
  let next = store.state().lastSeq + 1;
  for (const m of a.msgs) {
    for (; next < m.seq; next++) store.skipMsg();
    store.storeMsg(m.subject, m.hdr.length > 0 ? m.hdr : null, m.data, m.ts);
    next++;
  }
  for (; next <= a.lastSeq; next++) {
    store.skipMsg(next === a.lastSeq && a.lastTs > 0 ? a.lastTs : undefined);
  }
  const metas: ConsumerMeta[] = [];
  for (const c of a.consumers) {
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
    metas.push(meta);
  }
  return metas;
}

/** A time from an archive, or null when absent or Go's zero time (then "now" is taken). */
function knownTime(s: string): number | null {
  if (s === "" || s.startsWith("0001-01-01")) return null;
  return parseRfc3339(s);
}
