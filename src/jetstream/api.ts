/**
 * The `$JS.API.>` router: one internal subscription in every account (JetStream enabled or
 * not), dispatching by subject to the handlers below and, for CONSUMER.*, to the consumer
 * layer (consumers.ts). Each handler follows nats-server 2.9.10's jetstream_api.go:
 * the same order of checks, the same errors, the same response objects (`type` first, keys in
 * Go's struct order), and every answer counted in the account's API stats and audited on
 * `$JS.EVENT.ADVISORY.API`. Subjects that are not API endpoints get no answer, as there.
 *
 * nats-server reaches its API through a service import into the system account; here the
 * subscription lives in the account itself, so the requester's account is the subscription's.
 */

import type { Account } from "../accounts/account.ts";
import type { Client, ClientSub } from "../client.ts";
import type { PubArg } from "../parser.ts";
import type { Server } from "../server.ts";
import { buildMsg, headersOf, payloadOf, replyOf } from "../message.ts";
import { isValidSubject, subjectsCollide } from "../subjects.ts";
import { type ApiError, jsError, jsErrorUnless } from "./errors.ts";
import { goJson, GoJsonError, type GoJsonValue, isEmptyRequest, parseGoJson } from "../go_json.ts";
import { goTimeNs } from "../go_time.ts";
import {
  decodeMsgDeleteRequest,
  decodeMsgGetRequest,
  decodePurgeRequest,
  decodeRestoreRequest,
  decodeSnapshotRequest,
  decodeStreamInfoRequest,
  decodeStreamListRequest,
} from "./requests.ts";
import { checkStreamConfig, decodeStreamConfig, type RawStreamConfig } from "./stream_config.ts";
import type { Stream } from "./stream.ts";
import { apiAudit, clientInfo } from "./advisories.ts";
import { CONSUMER_HANDLERS, consumerContext, type ConsumerOp } from "./consumers.ts";
import type { JetStream, JsAccount } from "./jetstream.ts";
import { errorText, friendlyBytes, StoreFailed } from "./jetstream.ts";
import { sendSnapshot, snapshotAdvisory, startRestore, takeSnapshot } from "./snapshot.ts";
import { nowNanos } from "./store/base.ts";

const T = "io.nats.jetstream.api.v1.";
const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;
const MAX_SUBJECT_DETAILS = 100_000;

const dec = new TextDecoder();

/** One request being answered. */
class ApiRequest {
  readonly subject: string;
  readonly tokens: string[];
  readonly reply: string;
  readonly body: Uint8Array;
  readonly hdr: Uint8Array | null;

  constructor(
    readonly js: JetStream,
    readonly jsa: JsAccount | null,
    readonly account: Account,
    readonly from: Client,
    src: Uint8Array,
    pa: PubArg,
    tokens: string[],
  ) {
    this.subject = pa.subject;
    this.tokens = tokens;
    this.reply = replyOf(src, pa);
    this.body = payloadOf(src, pa);
    this.hdr = headersOf(src, pa);
  }

  get server(): Server {
    return this.js.server;
  }

  /** The stream name token (STREAM.<op>.<name>). */
  get streamName(): string {
    return this.tokens[4];
  }

  /**
   * Sends a response: counted (as an error when it has one, unless `countError` is false, as
   * for MSG.DELETE's outcomes), replied, audited.
   */
  respond(resp: Record<string, unknown>, countError = true): void {
    const text = goJson(resp, false);
    const isErr = countError && resp.error !== undefined;
    const jsa = this.jsa;
    if (jsa !== null) {
      jsa.apiTotal++;
      this.js.apiTotal++;
      if (isErr) {
        jsa.apiErrors++;
        this.js.apiErrors++;
      }
    }
    this.send(text);
    apiAudit(
      this.server,
      this.account,
      clientInfo(this.server, this.from),
      this.subject,
      dec.decode(this.body),
      text,
      this.js.config.domain,
    );
  }

  /** The reply alone (MSG.GET's success goes out this way: not counted, not audited). */
  send(text: string): void {
    if (this.reply === "") return;
    const m = buildMsg(this.reply, "", null, new TextEncoder().encode(text));
    this.server.publishInternal(this.account, m.buf, m.pa);
  }

  error(type: string, err: ApiError, extra: Record<string, unknown> = {}): void {
    this.respond({ type: T + type, error: err, ...extra });
  }

  /** The account's JetStream, or the "not enabled for account" answer (then null). */
  requireJs(type: string, extra: Record<string, unknown> = {}): JsAccount | null {
    if (this.jsa === null) this.error(type, jsError("JSNotEnabledForAccountErr"), extra);
    return this.jsa;
  }

  /** The body as JSON, or the "invalid JSON" answer (then undefined). */
  json(type: string, extra: Record<string, unknown> = {}): GoJsonValue | undefined {
    try {
      return parseGoJson(this.body);
    } catch {
      this.error(type, jsError("JSInvalidJSONErr"), extra);
      return undefined;
    }
  }

  /** Decodes the body with `decode`, or answers "invalid JSON" (then undefined). */
  decode<R>(
    type: string,
    decode: (v: GoJsonValue) => R,
    extra: Record<string, unknown> = {},
  ): R | undefined {
    const v = this.json(type, extra);
    if (v === undefined) return undefined;
    try {
      return decode(v);
    } catch (e) {
      if (!(e instanceof GoJsonError)) throw e;
      this.error(type, jsError("JSInvalidJSONErr"), extra);
      return undefined;
    }
  }

  stream(jsa: JsAccount, name: string): Stream | undefined {
    return jsa.streams.get(name);
  }
}

type Handler = (r: ApiRequest) => void;

/**
 * Installs the router in `acc`; `jsa` null answers that JetStream is not enabled there. The
 * system account (`infoOnly`) answers nothing but INFO, as nats-server's API does for requests
 * made there directly.
 */
export function installApi(
  js: JetStream,
  acc: Account,
  jsa: JsAccount | null,
  infoOnly = false,
): ClientSub {
  const server = js.server;
  const onRequest = (_sub: ClientSub, from: Client, src: Uint8Array, pa: PubArg): void => {
    if (server.jetstream !== js) return;
    const tokens = pa.subject.split(".");
    const h = infoOnly
      ? (tokens.length === 3 && tokens[2] === "INFO" ? accountInfo : undefined)
      : route(tokens);
    if (h === undefined) return;
    try {
      h(new ApiRequest(js, jsa, acc, from, src, pa, tokens));
    } catch (e) {
      server.log.error(`JetStream API request on "${pa.subject}" failed: ${e}`);
    }
  };
  return server.internalClient(acc).subscribe("$JS.API.>", onRequest);
}

/** The handler for an API subject (nats-server's API subscriptions), or undefined. */
function route(t: string[]): Handler | undefined {
  const n = t.length;
  for (let i = 3; i < n; i++) if (t[i] === "") return undefined;
  switch (t[2]) {
    case "INFO":
      return n === 3 ? accountInfo : undefined;
    case "STREAM":
      switch (t[3]) {
        case "CREATE":
          return n === 5 ? streamCreate : undefined;
        case "UPDATE":
          return n === 5 ? streamUpdate : undefined;
        case "NAMES":
          return n === 4 ? streamNames : undefined;
        case "LIST":
          return n === 4 ? streamList : undefined;
        case "INFO":
          return n === 5 ? streamInfo : undefined;
        case "DELETE":
          return n === 5 ? streamDelete : undefined;
        case "PURGE":
          return n === 5 ? streamPurge : undefined;
        case "SNAPSHOT":
          return n === 5 ? streamSnapshot : undefined;
        case "RESTORE":
          return n === 5 ? streamRestore : undefined;
        case "MSG":
          if (n !== 6) return undefined;
          return t[4] === "DELETE" ? msgDelete : t[4] === "GET" ? msgGet : undefined;
        case "PEER":
          return t[4] === "REMOVE" && n === 6
            ? clusterOnly("stream_remove_peer_response")
            : undefined;
        case "LEADER":
          return t[4] === "STEPDOWN" && n === 6
            ? clusterOnly("stream_leader_stepdown_response")
            : undefined;
        case "TEMPLATE":
          switch (t[4]) {
            case "CREATE":
              return n === 6 ? templateCreate : undefined;
            case "NAMES":
              return n === 5 ? templateNames : undefined;
            case "INFO":
              return n === 6 ? templateInfoOrDelete("stream_template_info_response") : undefined;
            case "DELETE":
              return n === 6 ? templateInfoOrDelete("stream_template_delete_response") : undefined;
          }
      }
      return undefined;
    case "CONSUMER":
      switch (t[3]) {
        case "CREATE":
          return n >= 5 ? consumer("create") : undefined;
        case "DURABLE":
          return t[4] === "CREATE" && n === 7 ? consumer("create") : undefined;
        case "NAMES":
          return n === 5 ? consumer("names") : undefined;
        case "LIST":
          return n === 5 ? consumer("list") : undefined;
        case "INFO":
          return n === 6 ? consumer("info") : undefined;
        case "DELETE":
          return n === 6 ? consumer("delete") : undefined;
        case "LEADER":
          return t[4] === "STEPDOWN" && n === 7
            ? clusterOnly("consumer_leader_stepdown_response")
            : undefined;
      }
  }
  return undefined;
}

// ---- account ------------------------------------------------------------------------------

function accountInfo(r: ApiRequest): void {
  const jsa = r.requireJs("account_info_response");
  if (jsa === null) return;
  r.respond({ type: T + "account_info_response", ...jsa.usage() });
}

// ---- streams ------------------------------------------------------------------------------

/** StreamInfo as create/update/list/info answer it. */
function streamInfo_(s: Stream, withDomain: boolean, details = false): Record<string, unknown> {
  const o: Record<string, unknown> = {
    config: s.config(),
    created: createdJson(s),
    state: s.stateJson(details),
  };
  if (withDomain) {
    const domain = s.jsa.js.config.domain;
    if (domain) o.domain = domain;
    o.mirror = s.mirrorInfo();
    o.sources = s.sourcesInfo();
  }
  return o;
}

function createdJson(s: Stream): string {
  return s.created;
}

function hasPathSeparator(name: string): boolean {
  return name.includes("/") || name.includes("\\");
}

function streamCreate(r: ApiRequest): void {
  const type = "stream_create_response";
  const jsa = r.requireJs(type);
  if (jsa === null) return;
  const cfg = r.decode(type, decodeStreamConfig);
  if (cfg === undefined) return;
  const name = r.streamName;
  if (name !== cfg.name) return r.error(type, jsError("JSStreamMismatchErr"));
  if (hasPathSeparator(name)) {
    return r.error(type, jsError("JSStreamNameContainsPathSeparatorsErr"));
  }
  if (cfg.sealed) {
    return r.error(
      type,
      jsError("JSStreamInvalidConfigF", {
        err: "stream configuration for create can not be sealed",
      }),
    );
  }
  if (cfg.mirrorDirect && cfg.mirror === null) {
    return r.error(
      type,
      jsError("JSStreamInvalidConfigF", {
        err: "stream has no mirror but does have mirror direct",
      }),
    );
  }
  try {
    jsa.precheckLimits(cfg);
  } catch (e) {
    return r.error(type, jsErrorUnless("JSStreamLimitsErrF", e));
  }
  let s: Stream;
  try {
    s = jsa.addStream(cfg);
  } catch (e) {
    let err: unknown = e;
    if (e instanceof StoreFailed) {
      r.server.log.warn(`Stream create failed for '${r.account.name} > ${name}': ${e.message}`);
      err = new Error("error creating store for stream");
    }
    return r.error(type, jsErrorUnless("JSStreamCreateErrF", err));
  }
  r.respond({ type: T + type, ...streamInfo_(s, false), did_create: true });
}

function streamUpdate(r: ApiRequest): void {
  const type = "stream_update_response";
  const jsa = r.requireJs(type);
  if (jsa === null) return;
  const raw = r.decode(type, decodeStreamConfig);
  if (raw === undefined) return;
  let cfg: RawStreamConfig;
  try {
    cfg = checkConfig(jsa, raw);
  } catch (e) {
    return r.error(type, jsErrorUnless("JSStreamInvalidConfigF", e));
  }
  if (r.streamName !== cfg.name) return r.error(type, jsError("JSStreamMismatchErr"));
  const s = r.stream(jsa, r.streamName);
  if (s === undefined) return r.error(type, jsError("JSStreamNotFoundErr"));
  try {
    jsa.updateStream(s, raw);
  } catch (e) {
    return r.error(
      type,
      jsErrorUnless("JSStreamUpdateErrF", jsErrorUnless("JSStreamInvalidConfigF", e)),
    );
  }
  r.respond({ type: T + type, ...streamInfo_(s, true) });
}

function checkConfig(jsa: JsAccount, raw: RawStreamConfig): RawStreamConfig {
  return checkStreamConfig(raw, jsa.configContext());
}

/** The account's streams (whose subjects collide with `filter`, if any), by name. */
function sortedStreams(jsa: JsAccount, filter: string): Stream[] {
  const out: Stream[] = [];
  for (const s of jsa.streams.values()) {
    if (filter === "" || (s.config().subjects ?? []).some((x) => subjectsCollide(filter, x))) {
      out.push(s);
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function pageRequest(r: ApiRequest, type: string, extra: Record<string, unknown>) {
  if (isEmptyRequest(r.body)) return { offset: 0, subject: "" };
  return r.decode(type, decodeStreamListRequest, extra);
}

function streamNames(r: ApiRequest): void {
  const type = "stream_names_response";
  const extra = { total: 0, offset: 0, limit: 0, streams: null };
  const jsa = r.requireJs(type, extra);
  if (jsa === null) return;
  const req = pageRequest(r, type, extra);
  if (req === undefined) return;
  const all = sortedStreams(jsa, req.subject);
  const offset = Math.max(0, Math.min(req.offset, all.length));
  const names = all.slice(offset, offset + NAMES_LIMIT).map((s) => s.name);
  r.respond({
    type: T + type,
    total: all.length,
    offset,
    limit: NAMES_LIMIT,
    streams: names.length > 0 ? names : null,
  });
}

function streamList(r: ApiRequest): void {
  const type = "stream_list_response";
  const extra = { total: 0, offset: 0, limit: 0, streams: [] };
  const jsa = r.requireJs(type, extra);
  if (jsa === null) return;
  const req = pageRequest(r, type, extra);
  if (req === undefined) return;
  const all = sortedStreams(jsa, req.subject);
  const offset = Math.max(0, Math.min(req.offset, all.length));
  r.respond({
    type: T + type,
    total: all.length,
    offset,
    limit: LIST_LIMIT,
    streams: all.slice(offset, offset + LIST_LIMIT).map((s) => streamInfo_(s, true)),
  });
}

function streamInfo(r: ApiRequest): void {
  const type = "stream_info_response";
  const paged = { total: 0, offset: 0, limit: 0 };
  const jsa = r.requireJs(type, paged);
  if (jsa === null) return;
  let req = { offset: 0, details: false, subjects: "" };
  if (!isEmptyRequest(r.body)) {
    const d = r.decode(type, decodeStreamInfoRequest, paged);
    if (d === undefined) return;
    req = d;
  }
  const s = r.stream(jsa, r.streamName);
  if (s === undefined) return r.error(type, jsError("JSStreamNotFoundErr"), paged);
  const info = streamInfo_(s, true, req.details);
  const resp: Record<string, unknown> = { type: T + type, ...paged };
  if (req.subjects !== "") {
    const mss = s.store.subjectsState(req.subjects);
    if (mss.size > 0) {
      const keys = [...mss.keys()].sort();
      const offset = Math.max(0, Math.min(req.offset, keys.length));
      const end = Math.min(offset + MAX_SUBJECT_DETAILS, keys.length);
      if (end > offset) {
        const sd: Record<string, number> = {};
        for (const k of keys.slice(offset, end)) sd[k] = mss.get(k)!.msgs;
        info.state = addSubjects(info.state as Record<string, unknown>, sd);
      }
      resp.total = mss.size;
      resp.offset = offset;
      resp.limit = MAX_SUBJECT_DETAILS;
    }
  }
  r.respond({ ...resp, ...info });
}

/** The state with `subjects` in its place (after num_subjects). */
function addSubjects(
  state: Record<string, unknown>,
  subjects: Record<string, number>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) {
    if (k === "num_deleted" || k === "deleted" || k === "consumer_count") {
      if (!("subjects" in out)) out.subjects = subjects;
    }
    out[k] = v;
  }
  return out;
}

function streamDelete(r: ApiRequest): void {
  const type = "stream_delete_response";
  const jsa = r.requireJs(type);
  if (jsa === null) return;
  if (!isEmptyRequest(r.body)) return r.error(type, jsError("JSNotEmptyRequestErr"));
  const s = r.stream(jsa, r.streamName);
  if (s === undefined) return r.error(type, jsError("JSStreamNotFoundErr"));
  try {
    jsa.deleteStream(s);
  } catch (e) {
    return r.error(type, jsErrorUnless("JSStreamDeleteErrF", e));
  }
  r.respond({ type: T + type, success: true });
}

function streamPurge(r: ApiRequest): void {
  const type = "stream_purge_response";
  const extra = { purged: 0 };
  const jsa = r.requireJs(type, extra);
  if (jsa === null) return;
  let req: { seq: number; subject: string; keep: number } | null = null;
  if (!isEmptyRequest(r.body)) {
    const d = r.decode(type, decodePurgeRequest, extra);
    if (d === undefined) return;
    if (d.seq > 0 && d.keep > 0) return r.error(type, jsError("JSBadRequestErr"), extra);
    req = d;
  }
  const s = r.stream(jsa, r.streamName);
  if (s === undefined) return r.error(type, jsError("JSStreamNotFoundErr"), extra);
  const cfg = s.config();
  if (cfg.sealed) return r.error(type, jsError("JSStreamSealedErr"), extra);
  if (cfg.deny_purge) {
    return r.error(
      type,
      jsError("JSStreamPurgeFailedF", { err: "stream purge not permitted" }),
      extra,
    );
  }
  let purged: number;
  try {
    purged = s.purge(req === null ? null : { subject: req.subject, seq: req.seq, keep: req.keep });
  } catch (e) {
    return r.error(type, jsErrorUnless("JSStreamGeneralErrorF", e), extra);
  }
  r.respond({ type: T + type, success: true, purged });
}

function msgDelete(r: ApiRequest): void {
  const type = "stream_msg_delete_response";
  const jsa = r.requireJs(type);
  if (jsa === null) return;
  if (isEmptyRequest(r.body)) return r.error(type, jsError("JSBadRequestErr"));
  const req = r.decode(type, decodeMsgDeleteRequest);
  if (req === undefined) return;
  const s = r.stream(jsa, r.tokens[5]);
  if (s === undefined) return r.error(type, jsError("JSStreamNotFoundErr"));
  const cfg = s.config();
  if (cfg.sealed) return r.error(type, jsError("JSStreamSealedErr"));
  if (cfg.deny_delete) {
    return r.error(
      type,
      jsError("JSStreamMsgDeleteFailedF", { err: "message delete not permitted" }),
    );
  }
  // nats-server answers the outcome of the removal itself as a success in its API counts.
  let resp: Record<string, unknown>;
  try {
    resp = s.removeMsg(req.seq, !req.noErase)
      ? { type: T + type, success: true }
      : { type: T + type, error: jsError("JSSequenceNotFoundErrF", { seq: req.seq }) };
  } catch (e) {
    resp = { type: T + type, error: jsErrorUnless("JSStreamMsgDeleteFailedF", e) };
  }
  r.respond(resp, false);
}

function msgGet(r: ApiRequest): void {
  const type = "stream_msg_get_response";
  const jsa = r.requireJs(type);
  if (jsa === null) return;
  if (isEmptyRequest(r.body)) return r.error(type, jsError("JSBadRequestErr"));
  const req = r.decode(type, decodeMsgGetRequest);
  if (req === undefined) return;
  if (
    (req.seq > 0 && req.last !== "") || (req.seq === 0 && req.last === "" && req.next === "") ||
    (req.last !== "" && req.next !== "")
  ) {
    return r.error(type, jsError("JSBadRequestErr"));
  }
  const s = r.stream(jsa, r.tokens[5]);
  if (s === undefined) return r.error(type, jsError("JSStreamNotFoundErr"));
  const m = s.loadForGet(req.seq, req.last, req.next);
  if (m === null) return r.error(type, jsError("JSNoMessageFoundErr"));
  const message: Record<string, unknown> = { subject: m.subject, seq: m.seq };
  if (m.hdr.length > 0) message.hdrs = base64(m.hdr);
  if (m.data.length > 0) message.data = base64(m.data);
  message.time = goTimeNs(m.ts);
  r.send(goJson({ type: T + type, message }, false));
}

function base64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Streams whose snapshot is being sent (nats-server allows one at a time per stream). */
const snapshotting = new WeakSet<Stream>();

function streamSnapshot(r: ApiRequest): void {
  const type = "stream_snapshot_response";
  const jsa = r.requireJs(type);
  if (jsa === null) return;
  if (isEmptyRequest(r.body)) return r.error(type, jsError("JSBadRequestErr"));
  const s = r.stream(jsa, r.streamName);
  if (s === undefined) return r.error(type, jsError("JSStreamNotFoundErr"));
  const req = r.decode(type, decodeSnapshotRequest);
  if (req === undefined) return;
  if (!isValidSubject(req.deliverSubject)) {
    return r.error(type, jsError("JSSnapshotDeliverSubjectInvalidErr"));
  }
  const log = r.server.log;
  const what = `stream '${r.account.name} > ${s.name}'`;
  log.notice(`Starting ${req.check ? "health check and " : ""}snapshot for ${what}`);
  const start = nowNanos();
  let archive: Iterator<Uint8Array>;
  try {
    // nats-server's memory store has no snapshot.
    if (s.store.type === "memory") throw new Error("no impl");
    if (snapshotting.has(s)) throw new Error("snapshot in progress");
    archive = takeSnapshot(s, !req.noConsumers);
  } catch (e) {
    log.warn(`Snapshot of ${what} failed: ${errorText(e)}`);
    return r.error(type, jsErrorUnless("JSStreamSnapshotErrF", e));
  }
  r.respond({ type: T + type, config: s.config(), state: s.stateJson() });
  const bytes = s.store.state().bytes;
  const client = clientInfo(r.server, r.from);
  const domain = r.js.config.domain;
  snapshotAdvisory(r.server, r.account, s, client, domain);
  snapshotting.add(s);
  sendSnapshot(r.server, r.account, s.name, archive, req.deliverSubject, req.chunkSize)
    .catch((e) => log.warn(`Snapshot of ${what} failed: ${errorText(e)}`))
    .finally(() => {
      snapshotting.delete(s);
      snapshotAdvisory(r.server, r.account, s, client, domain, start);
      log.notice(`Completed snapshot of ${friendlyBytes(bytes)} for ${what}`);
    });
}

function streamRestore(r: ApiRequest): void {
  const type = "stream_restore_response";
  const extra = { deliver_subject: "" };
  const jsa = r.requireJs(type, extra);
  if (jsa === null) return;
  if (isEmptyRequest(r.body)) return r.error(type, jsError("JSBadRequestErr"), extra);
  const req = r.decode(type, decodeRestoreRequest, extra);
  if (req === undefined) return;
  if (req.name === "") req.name = r.streamName;
  let cfg: RawStreamConfig;
  try {
    cfg = checkConfig(jsa, req);
    jsa.precheckLimits(cfg);
  } catch (e) {
    return r.error(type, jsErrorUnless("JSStreamLimitsErrF", e), extra);
  }
  if (r.stream(jsa, r.streamName) !== undefined) {
    return r.error(type, jsError("JSStreamNameExistRestoreFailedErr"), extra);
  }
  const subject = startRestore(jsa, req, clientInfo(r.server, r.from));
  r.respond({ type: T + type, deliver_subject: subject });
}

function clusterOnly(type: string): Handler {
  return (r) => r.error(type, jsError("JSClusterRequiredErr"));
}

// ---- templates (deprecated; none can exist here) ----------------------------------------

function templateCreate(r: ApiRequest): void {
  const type = "stream_template_create_response";
  const jsa = r.requireJs(type);
  if (jsa === null) return;
  if (r.json(type) === undefined) return;
  r.error(type, jsError("JSStreamTemplateCreateErrF", { err: "not supported by this server" }));
}

function templateNames(r: ApiRequest): void {
  const type = "stream_template_names_response";
  const extra = { total: 0, offset: 0, limit: 0, streams: null };
  const jsa = r.requireJs(type, extra);
  if (jsa === null) return;
  if (!isEmptyRequest(r.body) && r.json(type, extra) === undefined) return;
  r.respond({ type: T + type, total: 0, offset: 0, limit: NAMES_LIMIT, streams: [] });
}

function templateInfoOrDelete(type: string): Handler {
  return (r) => {
    const jsa = r.requireJs(type);
    if (jsa === null) return;
    if (!isEmptyRequest(r.body)) return r.error(type, jsError("JSNotEmptyRequestErr"));
    r.error(type, jsError("JSStreamTemplateNotFoundErr"));
  };
}

// ---- consumers: the consumer layer's handlers (consumers.ts) -------------------------------

const CONSUMER_TYPES: Record<ConsumerOp, string> = {
  create: "consumer_create_response",
  names: "consumer_names_response",
  list: "consumer_list_response",
  info: "consumer_info_response",
  delete: "consumer_delete_response",
};

function consumer(op: ConsumerOp): Handler {
  return (r) => {
    const paged = op === "names" || op === "list";
    const extra = paged ? { total: 0, offset: 0, limit: 0, consumers: [] } : {};
    const jsa = r.requireJs(CONSUMER_TYPES[op], extra);
    if (jsa === null) return;
    const ctx = consumerContext(r.server, jsa, r.js.config.domain);
    const resp = CONSUMER_HANDLERS[op](ctx, r.subject, r.body);
    if (resp !== null) r.respond(resp);
  };
}
