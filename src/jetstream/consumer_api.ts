/**
 * The consumer half of the JetStream API: CONSUMER.CREATE / DURABLE.CREATE (nats-server 2.9's
 * subject forms), INFO, NAMES, LIST, DELETE, and pull requests; plus addConsumer (the create and
 * re-create rules) and recoverConsumers (restart). Handlers take the request subject and body and
 * return the response object, already in nats-server's field order; the `$JS.API` router sends
 * it (as compact JSON with Go's escaping: go_json.ts goJson).
 */

import { createHash } from "node:crypto";
import { Consumer } from "./consumer.ts";
import {
  checkConsumerConfig,
  checkConsumerUpdate,
  type ConsumerConfig,
  type ConsumerLimits,
  type ConsumerMeta,
  decodeConsumerConfig,
  decodeCreateRequest,
  JS_MAX_NAME_LEN,
  setConsumerDefaults,
} from "./consumer_config.ts";
import { ApiError, JSErr } from "./consumer_errors.ts";
import type { StreamHandle } from "./contract.ts";
import {
  GoJsonError,
  type GoJsonValue,
  INT,
  isEmptyRequest,
  parseGoJson,
  struct,
  unmarshal,
} from "../go_json.ts";
import { subjectIsSubsetMatch } from "../subjects.ts";

export const CONSUMER_CREATE_RESPONSE = "io.nats.jetstream.api.v1.consumer_create_response";
export const CONSUMER_INFO_RESPONSE = "io.nats.jetstream.api.v1.consumer_info_response";
export const CONSUMER_DELETE_RESPONSE = "io.nats.jetstream.api.v1.consumer_delete_response";
export const CONSUMER_NAMES_RESPONSE = "io.nats.jetstream.api.v1.consumer_names_response";
export const CONSUMER_LIST_RESPONSE = "io.nats.jetstream.api.v1.consumer_list_response";

/** JSApiNamesLimit and JSApiListLimit. */
export const NAMES_LIMIT = 1024;
export const LIST_LIMIT = 256;

/** What the handlers need from the JetStream account the request is for. */
export interface ConsumerApiContext {
  /** The stream of that name in the requesting account. */
  lookupStream(name: string): StreamHandle | undefined;
  limits?: ConsumerLimits;
  /** The JetStream domain (in advisories). */
  domain?: string;
  /**
   * Subjects a stream gets from its mirror or sources (for filter_subject checks); `external`
   * when some are not known here (the check is then skipped, as nats-server does).
   */
  sourceSubjects?(stream: StreamHandle): { subjects: string[]; external: boolean };
  /** The burst of rate_limit_bps: the stream's max_msg_size, else the account's max payload. */
  maxPayload?: number;
}

/** Options of addConsumer beyond the context. */
export interface AddConsumerOptions {
  recovering?: boolean;
  created?: number;
}

const enc = new TextEncoder();
const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** nats-server's createConsumerName: 8 base-62 characters from a hash of a fresh nuid. */
export function createConsumerName(): string {
  const b = createHash("sha256").update(crypto.randomUUID()).digest();
  let s = "";
  for (let i = 0; i < 8; i++) s += DIGITS[b[i] % 62];
  return s;
}

/** nats-server's isValidName (stream and consumer names). */
export function isValidName(name: string): boolean {
  return name !== "" && !/[ \t\r\n\f.*>]/.test(name);
}

function errorResponse(type: string, err: ApiError): Record<string, unknown> {
  return { type, error: err.toJSON() };
}

function partitionUnique(stream: StreamHandle, filter: string): boolean {
  for (const o of stream.consumers.values()) {
    const f = (o.config().filter_subject as string | undefined) ?? "";
    if (f === "") return false;
    if (subjectIsSubsetMatch(filter, f) || subjectIsSubsetMatch(f, filter)) return false;
  }
  return true;
}

/**
 * addConsumer: creates a consumer on `stream` (defaults, checks, name, store, start), or
 * applies an allowed update to the existing one of that name. The config is consumed.
 */
export function addConsumer(
  stream: StreamHandle,
  config: ConsumerConfig,
  ctx: Omit<ConsumerApiContext, "lookupStream"> = {},
  opts: AddConsumerOptions = {},
): Consumer | ApiError {
  const scfg = stream.config();
  const lim = ctx.limits ?? {};
  setConsumerDefaults(config, lim);
  const src = ctx.sourceSubjects?.(stream) ??
    { subjects: [], external: scfg.mirror != null || Array.isArray(scfg.sources) };
  const bad = checkConsumerConfig(config, scfg, lim, {
    recovering: opts.recovering,
    extraSubjects: src.subjects,
    hasExternalSubjects: src.external,
  });
  if (bad !== null) return bad;

  const cName = config.durable !== "" ? config.durable : config.name;
  if (cName !== "") {
    const eo = stream.consumers.get(cName);
    if (eo !== undefined) {
      if (!(eo instanceof Consumer)) return JSErr.consumerNameExist();
      const refused = checkConsumerUpdate(eo.cfg, config, (subject) => {
        const r = stream.account.sublist.match(subject);
        return r.psubs.length + r.qsubs.length > 0;
      });
      if (refused instanceof ApiError) return refused;
      if (refused !== null) return JSErr.consumerCreate(refused);
      eo.updateConfig(config);
      return eo;
    }
  }

  let maxc = typeof scfg.max_consumers === "number" ? scfg.max_consumers : -1;
  const accMax = lim.accountMaxConsumers ?? 0;
  if (maxc <= 0 || (accMax > 0 && accMax < maxc)) maxc = accMax;
  if (maxc > 0) {
    let n = 0;
    for (const o of stream.consumers.values()) if (o.config().direct !== true) n++;
    if (n >= maxc) return JSErr.maximumConsumersLimit();
  }

  if (scfg.retention === "workqueue" && !config.direct) {
    if (config.ackPolicy !== "explicit") return JSErr.consumerWQRequiresExplicitAck();
    if (stream.consumers.size > 0) {
      if (config.filterSubject === "") return JSErr.consumerWQMultipleUnfiltered();
      if (!partitionUnique(stream, config.filterSubject)) {
        if (!opts.recovering) return JSErr.consumerWQConsumerNotUnique();
        stream.server.log.warn(
          `Consumer "${scfg.name}" > "${cName}" has a filter subject that overlaps with other ` +
            `consumers, which is not allowed for a stream with WorkQueue policy, it should be ` +
            `administratively deleted`,
        );
      }
    }
    if (config.deliverPolicy !== "all") return JSErr.consumerWQConsumerNotDeliverAll();
  }

  let name: string;
  if (config.durable !== "") {
    if (enc.encode(config.durable).length > JS_MAX_NAME_LEN) {
      return JSErr.consumerNameTooLong(JS_MAX_NAME_LEN);
    }
    name = config.durable;
  } else if (config.name !== "") name = config.name;
  else {
    do name = createConsumerName(); while (stream.consumers.has(name));
  }
  if (!isValidName(name)) return JSErr.consumerBadDurableName();

  let store;
  try {
    // Direct consumers (a mirror's or source's own) keep nothing on disk, as in nats-server.
    store = stream.store.consumerStore(name, {
      ackPolicy: config.ackPolicy,
      memoryStorage: config.memStorage || config.direct,
    });
  } catch (e) {
    return JSErr.consumerStoreFailed(e instanceof Error ? e.message : String(e));
  }
  const burst = typeof scfg.max_msg_size === "number" && scfg.max_msg_size > 0
    ? scfg.max_msg_size
    : ctx.maxPayload ?? stream.server.opts.maxPayload;
  const o = new Consumer(stream, name, config, store, {
    domain: ctx.domain,
    created: opts.created,
    rateBurst: burst,
  });
  o.writeMeta();
  stream.consumers.set(name, o);
  o.start();
  return o;
}

// ---- request handlers -------------------------------------------------------------------------

function parse(body: Uint8Array | string): GoJsonValue | undefined {
  try {
    return parseGoJson(body);
  } catch (e) {
    if (e instanceof GoJsonError) return undefined;
    throw e;
  }
}

/**
 * `$JS.API.CONSUMER.CREATE.<stream>[.<consumer>[.<filter>]]` and `DURABLE.CREATE.<s>.<c>`.
 * Null for the subjects nats-server does not listen on (no reply at all).
 */
export function consumerCreateRequest(
  ctx: ConsumerApiContext,
  subject: string,
  body: Uint8Array | string,
): Record<string, unknown> | null {
  const t = subject.split(".");
  const n = t.length;
  const durable = t[3] === "DURABLE";
  if (durable ? n !== 7 || t[4] !== "CREATE" : n < 5 || t[3] !== "CREATE") return null;
  const fail = (e: ApiError) => errorResponse(CONSUMER_CREATE_RESPONSE, e);
  const v = parse(body);
  const req = v === undefined ? null : decodeCreateRequest(v);
  if (req === null) return fail(JSErr.invalidJSON());
  let streamName: string, consumerName = "", filter = "";
  let kind: "ephemeral" | "durable" | "new";
  if (n === 5) {
    kind = "ephemeral";
    streamName = t[4];
  } else {
    if (durable) {
      kind = "durable";
      streamName = t[5];
      consumerName = t[6];
    } else {
      kind = "new";
      streamName = t[4];
      consumerName = t[5];
    }
    if (n > 7) filter = t.slice(6).join(".");
  }
  if (streamName !== req.stream) return fail(JSErr.streamMismatch());
  if (consumerName !== "" && /[\\/]/.test(consumerName)) {
    return fail(JSErr.consumerNameContainsPathSeparators());
  }
  const cfg = req.config;
  if (kind === "durable") {
    if (cfg.durable === "") return fail(JSErr.consumerDurableNameNotSet());
    if (consumerName !== cfg.durable) return fail(JSErr.consumerDurableNameNotMatchSubject());
  }
  if (kind === "new") {
    if (cfg.durable !== "" && consumerName !== cfg.durable) {
      return fail(JSErr.consumerDurableNameNotMatchSubject());
    }
    cfg.name = consumerName;
  }
  if (kind === "ephemeral" && cfg.durable !== "") {
    return fail(JSErr.consumerEphemeralWithDurableName());
  }
  if (filter !== "" && cfg.filterSubject !== filter) {
    return fail(JSErr.consumerCreateFilterSubjectMismatch());
  }
  if (cfg.replicas > 1) return fail(JSErr.streamReplicasNotSupported());
  const stream = ctx.lookupStream(req.stream);
  if (stream === undefined) return fail(JSErr.streamNotFound());
  const o = addConsumer(stream, cfg, ctx);
  if (o instanceof ApiError) return fail(o);
  return { type: CONSUMER_CREATE_RESPONSE, ...o.info() };
}

/** `$JS.API.CONSUMER.INFO.<stream>.<consumer>`. */
export function consumerInfoRequest(
  ctx: ConsumerApiContext,
  subject: string,
  body: Uint8Array | string,
): Record<string, unknown> {
  const fail = (e: ApiError) => errorResponse(CONSUMER_INFO_RESPONSE, e);
  const t = subject.split(".");
  if (!isEmptyRequest(body)) return fail(JSErr.notEmptyRequest());
  const stream = ctx.lookupStream(t[4] ?? "");
  if (stream === undefined) return fail(JSErr.streamNotFound());
  const o = stream.consumers.get(t[5] ?? "");
  if (o === undefined) return fail(JSErr.consumerNotFound());
  return { type: CONSUMER_INFO_RESPONSE, ...o.info() };
}

/** `$JS.API.CONSUMER.DELETE.<stream>.<consumer>`. */
export function consumerDeleteRequest(
  ctx: ConsumerApiContext,
  subject: string,
  body: Uint8Array | string,
): Record<string, unknown> {
  const fail = (e: ApiError) => errorResponse(CONSUMER_DELETE_RESPONSE, e);
  if (!isEmptyRequest(body)) return fail(JSErr.notEmptyRequest());
  const t = subject.split(".");
  const stream = ctx.lookupStream(t[4] ?? "");
  if (stream === undefined) return fail(JSErr.streamNotFound());
  const o = stream.consumers.get(t[5] ?? "");
  if (o === undefined) return fail(JSErr.consumerNotFound());
  try {
    o.delete();
  } catch (e) {
    return fail(JSErr.streamGeneral(e instanceof Error ? e.message : String(e)));
  }
  return { type: CONSUMER_DELETE_RESPONSE, success: true };
}

/** JSApiConsumersRequest: a page offset. */
const PAGE_REQUEST = struct("server.JSApiConsumersRequest", { offset: INT });

/** The offset of a paged request; null for invalid JSON. */
function pageOffset(body: Uint8Array | string): number | null {
  if (isEmptyRequest(body)) return 0;
  const v = parse(body);
  if (v === undefined) return null;
  try {
    // A negative offset would make nats-server panic; it is read as 0 here.
    return Math.max(0, unmarshal(v, PAGE_REQUEST, { offset: 0 }).offset);
  } catch (e) {
    if (e instanceof GoJsonError) return null;
    throw e;
  }
}

function sortedNames(stream: StreamHandle): string[] {
  const names: string[] = [];
  for (const [name, o] of stream.consumers) if (o.config().direct !== true) names.push(name);
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `$JS.API.CONSUMER.NAMES.<stream>`. */
export function consumerNamesRequest(
  ctx: ConsumerApiContext,
  subject: string,
  body: Uint8Array | string,
): Record<string, unknown> {
  const fail = (e: ApiError) => ({
    ...errorResponse(CONSUMER_NAMES_RESPONSE, e),
    total: 0,
    offset: 0,
    limit: 0,
    consumers: [],
  });
  let offset = pageOffset(body);
  if (offset === null) return fail(JSErr.invalidJSON());
  const stream = ctx.lookupStream(subject.split(".")[4] ?? "");
  if (stream === undefined) return fail(JSErr.streamNotFound());
  const names = sortedNames(stream);
  if (offset > names.length) offset = names.length;
  return {
    type: CONSUMER_NAMES_RESPONSE,
    total: names.length,
    offset,
    limit: NAMES_LIMIT,
    consumers: names.slice(offset, offset + NAMES_LIMIT),
  };
}

/** `$JS.API.CONSUMER.LIST.<stream>`. */
export function consumerListRequest(
  ctx: ConsumerApiContext,
  subject: string,
  body: Uint8Array | string,
): Record<string, unknown> {
  const fail = (e: ApiError) => ({
    ...errorResponse(CONSUMER_LIST_RESPONSE, e),
    total: 0,
    offset: 0,
    limit: 0,
    consumers: [],
  });
  let offset = pageOffset(body);
  if (offset === null) return fail(JSErr.invalidJSON());
  const stream = ctx.lookupStream(subject.split(".")[4] ?? "");
  if (stream === undefined) return fail(JSErr.streamNotFound());
  const names = sortedNames(stream);
  if (offset > names.length) offset = names.length;
  const consumers = names.slice(offset, offset + LIST_LIMIT).map((n) =>
    stream.consumers.get(n)!.info()
  );
  return {
    type: CONSUMER_LIST_RESPONSE,
    total: names.length,
    offset,
    limit: LIST_LIMIT,
    consumers,
  };
}

/** A pull request for `consumer` (what `$JS.API.CONSUMER.MSG.NEXT...` carries). */
export function nextMessages(consumer: Consumer, body: Uint8Array, reply: string): void {
  consumer.processNextRequest(reply, body);
}

// ---- restart ----------------------------------------------------------------------------------

/**
 * Recreates the consumers whose state the stream's store kept (a file stream after a restart),
 * with their delivered and ack state; ephemerals come back as ephemerals (and go if nobody
 * returns within their inactive threshold). Returns those recovered.
 */
export function recoverConsumers(
  stream: StreamHandle,
  ctx: Omit<ConsumerApiContext, "lookupStream"> = {},
): Consumer[] {
  const log = stream.server.log;
  const out: Consumer[] = [];
  for (const name of stream.store.consumerNames()) {
    if (stream.consumers.has(name)) continue;
    let meta: ConsumerMeta | undefined;
    try {
      // Opened once to read its config, then again by addConsumer with the right ack policy.
      const cs = stream.store.consumerStore(name, { ackPolicy: "explicit" });
      meta = cs.readMeta() as ConsumerMeta | undefined;
      cs.stop();
    } catch (e) {
      log.warn(`    Error reading consumer ${JSON.stringify(name)}: ${e}`);
      continue;
    }
    if (meta === undefined) {
      log.warn(`    Missing or bad consumer metafile for ${JSON.stringify(name)}`);
      continue;
    }
    const o = restoreConsumer(stream, name, meta, ctx);
    if (o === null) {
      log.warn(`    Missing or bad consumer metafile for ${JSON.stringify(name)}`);
      continue;
    }
    if (o instanceof ApiError) {
      log.warn(`    Error adding consumer ${JSON.stringify(name)}: ${o.message}`);
      continue;
    }
    out.push(o);
  }
  return out;
}

/**
 * Recreates one consumer from its stored config (`meta`) over the state its store holds (a
 * restart, a stream restore); an ephemeral comes back as an ephemeral. Null when the config
 * cannot be read.
 */
export function restoreConsumer(
  stream: StreamHandle,
  name: string,
  meta: ConsumerMeta,
  ctx: Omit<ConsumerApiContext, "lookupStream"> = {},
): Consumer | ApiError | null {
  const parsed = meta.config === undefined ? undefined : parse(JSON.stringify(meta.config));
  const cfg = parsed === undefined ? null : decodeConsumerConfig(parsed);
  if (cfg === null) return null;
  const ephemeral = cfg.durable === "";
  if (ephemeral) cfg.durable = name;
  const o = addConsumer(stream, cfg, ctx, { recovering: true, created: meta.created });
  if (o instanceof ApiError) return o;
  if (ephemeral) o.switchToEphemeral();
  return o;
}
