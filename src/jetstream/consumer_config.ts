/**
 * A consumer's configuration: decoded from a request as nats-server's Go structs decode it,
 * given nats-server's defaults, checked with its errors in its order (checkConsumerCfg), compared
 * on re-create with its update rules, and written back as its JSON (field order, omitempty).
 */

import { isValidSubject, subjectIsLiteral, subjectIsSubsetMatch } from "../subjects.ts";
import type { StreamConfigJson } from "./contract.ts";
import { type ApiError, JSErr } from "./consumer_errors.ts";
import {
  BOOL,
  DURATION,
  DURATIONS,
  goEnum,
  GoJsonError,
  type GoJsonValue,
  INT,
  type Schema,
  STRING,
  struct,
  timePtr,
  UINT64,
  unmarshal,
} from "../go_json.ts";
import { formatGoTime, type GoTime } from "../go_time.ts";
import type { AckPolicy } from "./store/types.ts";

export type DeliverPolicy =
  | "all"
  | "last"
  | "new"
  | "by_start_sequence"
  | "by_start_time"
  | "last_per_subject";
export type ReplayPolicy = "instant" | "original";

/** nats-server's ConsumerConfig; durations in nanoseconds. */
export interface ConsumerConfig {
  durable: string;
  name: string;
  description: string;
  deliverPolicy: DeliverPolicy;
  optStartSeq: number;
  optStartTime: GoTime | null;
  ackPolicy: AckPolicy;
  ackWait: number;
  maxDeliver: number;
  backoff: number[];
  filterSubject: string;
  replayPolicy: ReplayPolicy;
  /** Bits per second. */
  rateLimit: number;
  sampleFreq: string;
  maxWaiting: number;
  maxAckPending: number;
  heartbeat: number;
  flowControl: boolean;
  headersOnly: boolean;
  maxBatch: number;
  maxExpires: number;
  maxBytes: number;
  deliverSubject: string;
  deliverGroup: string;
  inactiveThreshold: number;
  replicas: number;
  memStorage: boolean;
  direct: boolean;
}

export function emptyConsumerConfig(): ConsumerConfig {
  return {
    durable: "",
    name: "",
    description: "",
    deliverPolicy: "all",
    optStartSeq: 0,
    optStartTime: null,
    ackPolicy: "none",
    ackWait: 0,
    maxDeliver: 0,
    backoff: [],
    filterSubject: "",
    replayPolicy: "instant",
    rateLimit: 0,
    sampleFreq: "",
    maxWaiting: 0,
    maxAckPending: 0,
    heartbeat: 0,
    flowControl: false,
    headersOnly: false,
    maxBatch: 0,
    maxExpires: 0,
    maxBytes: 0,
    deliverSubject: "",
    deliverGroup: "",
    inactiveThreshold: 0,
    replicas: 0,
    memStorage: false,
    direct: false,
  };
}

// ---- JSON in ----------------------------------------------------------------------------------

const DELIVER_POLICIES: Record<string, DeliverPolicy> = {
  all: "all",
  undefined: "all",
  last: "last",
  new: "new",
  by_start_sequence: "by_start_sequence",
  by_start_time: "by_start_time",
  last_per_subject: "last_per_subject",
};

/** JSON name -> [config key, Go type], in Go's field order (also the output order). */
const FIELDS: [string, keyof ConsumerConfig, Schema][] = [
  ["durable_name", "durable", STRING],
  ["name", "name", STRING],
  ["description", "description", STRING],
  ["deliver_policy", "deliverPolicy", goEnum(DELIVER_POLICIES)],
  ["opt_start_seq", "optStartSeq", UINT64],
  ["opt_start_time", "optStartTime", timePtr],
  ["ack_policy", "ackPolicy", goEnum({ none: "none", all: "all", explicit: "explicit" })],
  ["ack_wait", "ackWait", DURATION],
  ["max_deliver", "maxDeliver", INT],
  ["backoff", "backoff", DURATIONS],
  ["filter_subject", "filterSubject", STRING],
  ["replay_policy", "replayPolicy", goEnum({ instant: "instant", original: "original" })],
  ["rate_limit_bps", "rateLimit", UINT64],
  ["sample_freq", "sampleFreq", STRING],
  ["max_waiting", "maxWaiting", INT],
  ["max_ack_pending", "maxAckPending", INT],
  ["idle_heartbeat", "heartbeat", DURATION],
  ["flow_control", "flowControl", BOOL],
  ["headers_only", "headersOnly", BOOL],
  ["max_batch", "maxBatch", INT],
  ["max_expires", "maxExpires", DURATION],
  ["max_bytes", "maxBytes", INT],
  ["deliver_subject", "deliverSubject", STRING],
  ["deliver_group", "deliverGroup", STRING],
  ["inactive_threshold", "inactiveThreshold", DURATION],
  ["num_replicas", "replicas", INT],
  ["mem_storage", "memStorage", BOOL],
  ["direct", "direct", BOOL],
];

const CONSUMER_CONFIG = struct(
  "server.ConsumerConfig",
  Object.fromEntries(FIELDS.map(([json, , schema]) => [json, schema])),
);

/** The CreateConsumerRequest: `{"stream_name":..,"config":{..}}`. */
const CREATE_REQUEST = struct("server.CreateConsumerRequest", {
  stream_name: STRING,
  config: CONSUMER_CONFIG,
});

/** A decoded ConsumerConfig (by JSON name) over the empty config: what Go's struct holds. */
function fromDecoded(d: Record<string, unknown>): ConsumerConfig {
  const cfg = emptyConsumerConfig() as unknown as Record<string, unknown>;
  for (const [json, key] of FIELDS) if (Object.hasOwn(d, json)) cfg[key] = d[json];
  return cfg as unknown as ConsumerConfig;
}

/**
 * A ConsumerConfig from its JSON (already parsed), or null when Go would refuse to decode it
 * (a type mismatch, an unknown policy): the API then answers "invalid JSON".
 */
export function decodeConsumerConfig(v: GoJsonValue): ConsumerConfig | null {
  try {
    return fromDecoded(unmarshal(v, CONSUMER_CONFIG));
  } catch (e) {
    if (e instanceof GoJsonError) return null;
    throw e;
  }
}

/** The CreateConsumerRequest; null for "invalid JSON". */
export function decodeCreateRequest(
  v: GoJsonValue,
): { stream: string; config: ConsumerConfig } | null {
  try {
    const r = unmarshal(v, CREATE_REQUEST, { stream_name: "", config: {} });
    return {
      stream: r.stream_name as string,
      config: fromDecoded(r.config as Record<string, unknown>),
    };
  } catch (e) {
    if (e instanceof GoJsonError) return null;
    throw e;
  }
}

// ---- JSON out ---------------------------------------------------------------------------------

/** The config as nats-server marshals it (field order, omitempty). */
export function encodeConsumerConfig(c: ConsumerConfig): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (c.durable !== "") o.durable_name = c.durable;
  if (c.name !== "") o.name = c.name;
  if (c.description !== "") o.description = c.description;
  o.deliver_policy = c.deliverPolicy;
  if (c.optStartSeq !== 0) o.opt_start_seq = c.optStartSeq;
  if (c.optStartTime !== null) o.opt_start_time = formatGoTime(c.optStartTime);
  o.ack_policy = c.ackPolicy;
  if (c.ackWait !== 0) o.ack_wait = c.ackWait;
  if (c.maxDeliver !== 0) o.max_deliver = c.maxDeliver;
  if (c.backoff.length > 0) o.backoff = [...c.backoff];
  if (c.filterSubject !== "") o.filter_subject = c.filterSubject;
  o.replay_policy = c.replayPolicy;
  if (c.rateLimit !== 0) o.rate_limit_bps = c.rateLimit;
  if (c.sampleFreq !== "") o.sample_freq = c.sampleFreq;
  if (c.maxWaiting !== 0) o.max_waiting = c.maxWaiting;
  if (c.maxAckPending !== 0) o.max_ack_pending = c.maxAckPending;
  if (c.heartbeat !== 0) o.idle_heartbeat = c.heartbeat;
  if (c.flowControl) o.flow_control = true;
  if (c.headersOnly) o.headers_only = true;
  if (c.maxBatch !== 0) o.max_batch = c.maxBatch;
  if (c.maxExpires !== 0) o.max_expires = c.maxExpires;
  if (c.maxBytes !== 0) o.max_bytes = c.maxBytes;
  if (c.deliverSubject !== "") o.deliver_subject = c.deliverSubject;
  if (c.deliverGroup !== "") o.deliver_group = c.deliverGroup;
  if (c.inactiveThreshold !== 0) o.inactive_threshold = c.inactiveThreshold;
  o.num_replicas = c.replicas;
  if (c.memStorage) o.mem_storage = true;
  if (c.direct) o.direct = true;
  return o;
}

// ---- defaults and checks ----------------------------------------------------------------------

/** nats-server's JetStream limits that bear on consumers (server `limits {}` and account). */
export interface ConsumerLimits {
  /** Server-wide max_ack_pending (0: none). */
  maxAckPending?: number;
  /** Server-wide max_request_batch (0: none). */
  maxRequestBatch?: number;
  /** The account's max_ack_pending (0: none). */
  accountMaxAckPending?: number;
  /** The account's max consumers per stream (0 or less: none). */
  accountMaxConsumers?: number;
}

export const JS_ACK_WAIT_DEFAULT = 30e9;
export const JS_DEFAULT_MAX_ACK_PENDING = 1000;
export const JS_WAIT_QUEUE_DEFAULT_MAX = 512;
export const JS_DELETE_WAIT_TIME_DEFAULT = 5e9;
export const JS_MAX_NAME_LEN = 255;
export const JS_MAX_DESCRIPTION_LEN = 4 * 1024;

/** setConsumerConfigDefaults. */
export function setConsumerDefaults(c: ConsumerConfig, lim: ConsumerLimits = {}): void {
  if (c.deliverSubject === "" && c.maxWaiting === 0) c.maxWaiting = JS_WAIT_QUEUE_DEFAULT_MAX;
  const acks = c.ackPolicy === "explicit" || c.ackPolicy === "all";
  if (c.ackWait === 0 && acks) c.ackWait = JS_ACK_WAIT_DEFAULT;
  if (c.maxDeliver === 0) c.maxDeliver = -1;
  if (c.backoff.length > 0) c.ackWait = c.backoff[0];
  if (acks && c.maxAckPending === 0) {
    let p = JS_DEFAULT_MAX_ACK_PENDING;
    const srv = lim.maxAckPending ?? 0, acc = lim.accountMaxAckPending ?? 0;
    if (srv > 0 && srv < p) p = srv;
    if (acc > 0 && acc < p) p = acc;
    c.maxAckPending = p;
  }
  const batch = lim.maxRequestBatch ?? 0;
  if (c.deliverSubject === "" && c.maxBatch === 0 && batch > 0) c.maxBatch = batch;
}

/** Go's strconv.Atoi error for the sample frequency, or null when it parses. */
function atoiError(s: string): { n: number; err: string | null } {
  if (!/^[+-]?\d+$/.test(s)) {
    return { n: 0, err: `strconv.Atoi: parsing ${goQuote(s)}: invalid syntax` };
  }
  const n = Number(s);
  if (!Number.isSafeInteger(n) && Math.abs(n) >= 2 ** 63) {
    return { n: 0, err: `strconv.Atoi: parsing ${goQuote(s)}: value out of range` };
  }
  return { n, err: null };
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** The sample frequency in percent (0 when unset); the config is already checked. */
export function sampleFrequency(c: ConsumerConfig): number {
  if (c.sampleFreq === "") return 0;
  return atoiError(c.sampleFreq.replace(/%$/, "")).n;
}

/**
 * checkConsumerCfg: the first problem with a (defaulted) config for this stream, or null.
 * `hasExternalSubjects` skips the filter check for streams fed by mirrors/sources whose subjects
 * are not known here (nats-server does the same for external sources and when recovering).
 */
export function checkConsumerConfig(
  c: ConsumerConfig,
  stream: StreamConfigJson,
  lim: ConsumerLimits,
  opts: { recovering?: boolean; extraSubjects?: string[]; hasExternalSubjects?: boolean } = {},
): ApiError | null {
  const streamReplicas = typeof stream.num_replicas === "number" ? stream.num_replicas : 1;
  if (c.replicas > 0 && c.replicas > streamReplicas) return JSErr.consumerReplicasExceedsStream();
  if (c.replicas < 0) return JSErr.replicasCountCannotBeNegative();
  if (c.backoff.length > 0 && c.maxDeliver <= c.backoff.length) {
    return JSErr.consumerMaxDeliverBackoff();
  }
  if (c.description.length > JS_MAX_DESCRIPTION_LEN) {
    return JSErr.consumerDescriptionTooLong(JS_MAX_DESCRIPTION_LEN);
  }
  const srvMaxBatch = lim.maxRequestBatch ?? 0;
  if (c.deliverSubject !== "") {
    if (!subjectIsLiteral(c.deliverSubject)) return JSErr.consumerDeliverToWildcards();
    if (!isValidSubject(c.deliverSubject)) return JSErr.consumerInvalidDeliverSubject();
    for (const s of stream.subjects ?? []) {
      if (subjectIsSubsetMatch(c.deliverSubject, s)) return JSErr.consumerDeliverCycle();
    }
    if (c.maxWaiting !== 0) return JSErr.consumerPushMaxWaiting();
    if (c.maxAckPending > 0 && c.ackPolicy === "none") {
      return JSErr.consumerMaxPendingAckPolicyRequired();
    }
    if (c.heartbeat > 0 && c.heartbeat < 100e6) return JSErr.consumerSmallHeartbeat();
  } else {
    if (c.ackPolicy === "none" && stream.retention === "workqueue") {
      return JSErr.consumerPullRequiresAck();
    }
    if (c.rateLimit > 0) return JSErr.consumerPullWithRateLimit();
    if (c.maxWaiting < 0) return JSErr.consumerMaxWaitingNegative();
    if (c.heartbeat > 0) return JSErr.consumerHBRequiresPush();
    if (c.flowControl) return JSErr.consumerFCRequiresPush();
    if (c.maxBatch < 0) return JSErr.consumerMaxRequestBatchNegative();
    if (c.maxExpires !== 0 && c.maxExpires < 1e6) return JSErr.consumerMaxRequestExpiresToSmall();
    if (srvMaxBatch > 0 && c.maxBatch > srvMaxBatch) {
      return JSErr.consumerMaxRequestBatchExceeded(srvMaxBatch);
    }
  }
  const srvMaxAck = lim.maxAckPending ?? 0, accMaxAck = lim.accountMaxAckPending ?? 0;
  if (srvMaxAck > 0 && c.maxAckPending > srvMaxAck) {
    return JSErr.consumerMaxPendingAckExcess(srvMaxAck);
  }
  if (accMaxAck > 0 && c.maxAckPending > accMaxAck) {
    return JSErr.consumerMaxPendingAckExcess(accMaxAck);
  }
  if (c.direct) {
    if (c.deliverSubject === "") return JSErr.consumerDirectRequiresPush();
    if (c.durable !== "") return JSErr.consumerDirectRequiresEphemeral();
  }
  if (c.filterSubject !== "") {
    const subjects = [...(stream.subjects ?? []), ...(opts.extraSubjects ?? [])];
    const skip = opts.recovering === true || opts.hasExternalSubjects === true;
    if (!skip && !validFilteredSubject(c.filterSubject, subjects)) {
      return JSErr.consumerFilterNotSubset();
    }
  }
  const badStart = (dp: string, start: string) =>
    JSErr.consumerInvalidPolicy(
      `consumer delivery policy is deliver ${dp}, but optional start ${start} is also set`,
    );
  const notSet = (dp: string, what: string) =>
    JSErr.consumerInvalidPolicy(
      `consumer delivery policy is deliver ${dp}, but optional ${what} is not set`,
    );
  const seq = c.optStartSeq > 0, time = c.optStartTime !== null;
  switch (c.deliverPolicy) {
    case "all":
    case "last":
    case "new":
      if (seq) return badStart(c.deliverPolicy, "sequence");
      if (time) return badStart(c.deliverPolicy, "time");
      break;
    case "last_per_subject":
      if (seq) return badStart("last per subject", "sequence");
      if (time) return badStart("last per subject", "time");
      if (c.filterSubject === "") return notSet("last per subject", "filter subject");
      break;
    case "by_start_sequence":
      if (!seq) return notSet("by start sequence", "start sequence");
      if (time) return badStart("by start sequence", "time");
      break;
    case "by_start_time":
      if (!time) return notSet("by start time", "start time");
      if (seq) return badStart("by start time", "start sequence");
      break;
  }
  if (c.sampleFreq !== "") {
    const { n, err } = atoiError(c.sampleFreq.replace(/%$/, ""));
    if (err !== null) return JSErr.consumerInvalidSampling(err);
    if (n < 0) return JSErr.consumerInvalidSampling("<nil>");
  }
  if (c.flowControl && c.heartbeat === 0) return JSErr.consumerWithFlowControlNeedsHeartbeats();
  if (c.durable !== "" && c.name !== "" && c.name !== c.durable) {
    return JSErr.consumerCreateDurableAndNameMismatch();
  }
  return null;
}

/** validFilteredSubject: the filter is within (or, with wildcards, overlaps) a stream subject. */
export function validFilteredSubject(filter: string, subjects: string[]): boolean {
  if (!isValidSubject(filter)) return false;
  const wc = !subjectIsLiteral(filter);
  for (const s of subjects) {
    if (subjectIsSubsetMatch(filter, s)) return true;
    if (wc && subjectIsSubsetMatch(s, filter)) return true;
  }
  return false;
}

/** Go's reflect.DeepEqual of two configs (opt_start_time compares by value there). */
export function configsEqual(a: ConsumerConfig, b: ConsumerConfig): boolean {
  const ka = encodeConsumerConfig(a), kb = encodeConsumerConfig(b);
  return JSON.stringify(ka) === JSON.stringify(kb) &&
    (a.optStartTime?.ns ?? null) === (b.optStartTime?.ns ?? null);
}

/**
 * checkNewConsumerConfig: what a re-create of an existing consumer may change. Returns an
 * ApiError, or a plain message (the API wraps it as a 500 consumer create error), or null.
 * `deliverSubjectHasInterest` answers for the old deliver subject.
 */
export function checkConsumerUpdate(
  cur: ConsumerConfig,
  next: ConsumerConfig,
  deliverSubjectHasInterest: (subject: string) => boolean,
): ApiError | string | null {
  if (configsEqual(cur, next)) return null;
  if (cur.deliverPolicy !== next.deliverPolicy) return "deliver policy can not be updated";
  if (cur.optStartSeq !== next.optStartSeq) return "start sequence can not be updated";
  // nats-server compares the two *time.Time pointers, which always differ when both are set.
  if (cur.optStartTime !== null || next.optStartTime !== null) {
    return "start time can not be updated";
  }
  if (cur.ackPolicy !== next.ackPolicy) return "ack policy can not be updated";
  if (cur.replayPolicy !== next.replayPolicy) return "replay policy can not be updated";
  if (cur.heartbeat !== next.heartbeat) return "heart beats can not be updated";
  if (cur.flowControl !== next.flowControl) return "flow control can not be updated";
  if (cur.maxWaiting !== next.maxWaiting) return "max waiting can not be updated";
  if (cur.deliverSubject !== next.deliverSubject) {
    if (cur.deliverSubject === "") return "can not update pull consumer to push based";
    if (next.deliverSubject === "") return "can not update push consumer to pull based";
    if (deliverSubjectHasInterest(cur.deliverSubject)) return JSErr.consumerNameExist();
  }
  if (next.backoff.length > 0 && next.maxDeliver <= next.backoff.length) {
    return JSErr.consumerMaxDeliverBackoff();
  }
  return null;
}

/** Stored with the consumer's state: what a restart needs to recreate it (FileConsumerInfo). */
export interface ConsumerMeta {
  created: number;
  name: string;
  config: Record<string, unknown>;
}
