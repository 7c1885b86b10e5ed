/**
 * A stream's configuration as nats-server 2.9.10 accepts it: decoded from the API's JSON with
 * Go's rules (go_json.ts), completed with its defaults and checked with its errors and texts
 * (stream.go checkStreamCfg), and for updates the rules about what may change
 * (configUpdateCheck). The config is kept in its JSON shape, keys in nats-server's order, so
 * that what the API answers, what the store's metadata holds and what consumers read are one
 * object.
 */

import {
  BOOL,
  DURATION,
  goEnum,
  goJson,
  type GoJsonValue,
  INT,
  int32,
  int64,
  list,
  ptr,
  type Schema,
  STRING,
  STRINGS,
  struct,
  timePtr,
  UINT64,
  unmarshal,
} from "../go_json.ts";
import { formatGoTime, type GoTime } from "../go_time.ts";
import { invalidConfig, jsError } from "./errors.ts";
import {
  isValidPublishSubject,
  isValidSubject,
  subjectIsSubsetMatch,
  subjectsCollide,
} from "../subjects.ts";
import { SubjectTransform } from "../accounts/transform.ts";
import { formatGoDuration } from "../options.ts";

export type Retention = "limits" | "interest" | "workqueue";
export type Discard = "old" | "new";
export type Storage = "file" | "memory";

export interface ExternalStreamJson {
  api: string;
  deliver: string;
}

export interface StreamSourceJson {
  name: string;
  opt_start_seq?: number;
  /** RFC 3339, as written back by nats-server. */
  opt_start_time?: string;
  filter_subject?: string;
  external?: ExternalStreamJson;
}

export interface RePublishJson {
  src?: string;
  dest: string;
  headers_only?: boolean;
}

export interface PlacementJson {
  cluster?: string;
  tags?: string[];
}

/** nats-server's StreamConfig JSON; optional members are its `omitempty` ones. */
export interface StreamConfig {
  name: string;
  description?: string;
  subjects?: string[];
  retention: Retention;
  max_consumers: number;
  max_msgs: number;
  max_bytes: number;
  /** Nanoseconds. */
  max_age: number;
  max_msgs_per_subject: number;
  max_msg_size?: number;
  discard: Discard;
  storage: Storage;
  num_replicas: number;
  no_ack?: boolean;
  template_owner?: string;
  /** Nanoseconds. */
  duplicate_window?: number;
  placement?: PlacementJson;
  mirror?: StreamSourceJson;
  sources?: StreamSourceJson[];
  republish?: RePublishJson;
  allow_direct: boolean;
  mirror_direct: boolean;
  discard_new_per_subject?: boolean;
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  [key: string]: unknown;
}

/** A config as decoded, before defaults: Go's zero values for what the request left out. */
export interface RawStreamConfig {
  name: string;
  description: string;
  /** null: not given (Go's nil slice). */
  subjects: string[] | null;
  retention: Retention;
  maxConsumers: number;
  maxMsgs: number;
  maxBytes: number;
  maxAge: number;
  maxMsgsPer: number;
  maxMsgSize: number;
  discard: Discard;
  /** "" until defaulted to file; "any" is a value Go's decoder accepts. */
  storage: Storage | "any" | "";
  replicas: number;
  noAck: boolean;
  template: string;
  duplicates: number;
  placement: PlacementJson | null;
  mirror: StreamSourceJson | null;
  sources: StreamSourceJson[] | null;
  republish: RePublishJson | null;
  allowDirect: boolean;
  mirrorDirect: boolean;
  discardNewPer: boolean;
  sealed: boolean;
  denyDelete: boolean;
  denyPurge: boolean;
  allowRollup: boolean;
}

export function emptyRawConfig(): RawStreamConfig {
  return {
    name: "",
    description: "",
    subjects: null,
    retention: "limits",
    maxConsumers: 0,
    maxMsgs: 0,
    maxBytes: 0,
    maxAge: 0,
    maxMsgsPer: 0,
    maxMsgSize: 0,
    discard: "old",
    storage: "",
    replicas: 0,
    noAck: false,
    template: "",
    duplicates: 0,
    placement: null,
    mirror: null,
    sources: null,
    republish: null,
    allowDirect: false,
    mirrorDirect: false,
    discardNewPer: false,
    sealed: false,
    denyDelete: false,
    denyPurge: false,
    allowRollup: false,
  };
}

const EXTERNAL = ptr(struct("server.ExternalStream", { api: STRING, deliver: STRING }));

const SOURCE = ptr(struct("server.StreamSource", {
  name: STRING,
  opt_start_seq: UINT64,
  opt_start_time: timePtr,
  filter_subject: STRING,
  external: EXTERNAL,
}));

/** A decoded StreamSource as its JSON (omitempty), its start time as Go writes it back. */
function sourceFrom(d: Record<string, unknown>): StreamSourceJson {
  const out: StreamSourceJson = { name: (d.name as string | undefined) ?? "" };
  if (d.opt_start_seq) out.opt_start_seq = d.opt_start_seq as number;
  if (d.opt_start_time) out.opt_start_time = formatGoTime(d.opt_start_time as GoTime);
  if (d.filter_subject) out.filter_subject = d.filter_subject as string;
  const e = d.external as Record<string, string | undefined> | undefined;
  if (e !== undefined) out.external = { api: e.api ?? "", deliver: e.deliver ?? "" };
  return out;
}

const PLACEMENT = ptr(struct("server.Placement", { cluster: STRING, tags: STRINGS }));

/** A decoded Placement as its JSON (omitempty). */
function placementFrom(p: Record<string, unknown>): PlacementJson {
  return {
    ...(p.cluster ? { cluster: p.cluster as string } : {}),
    ...(p.tags && (p.tags as string[]).length > 0 ? { tags: p.tags as string[] } : {}),
  };
}

const REPUBLISH = ptr(
  struct("server.RePublish", { src: STRING, dest: STRING, headers_only: BOOL }),
);

type Decoded = Record<string, unknown>;

/** StreamConfig's fields: JSON name -> [RawStreamConfig key, Go type, decoded -> raw]. */
const FIELDS: [string, keyof RawStreamConfig, Schema, ((v: unknown) => unknown)?][] = [
  ["name", "name", STRING],
  ["description", "description", STRING],
  ["subjects", "subjects", STRINGS],
  [
    "retention",
    "retention",
    goEnum({ limits: "limits", interest: "interest", workqueue: "workqueue" }),
  ],
  ["max_consumers", "maxConsumers", INT],
  ["max_msgs", "maxMsgs", int64()],
  ["max_bytes", "maxBytes", int64()],
  ["max_age", "maxAge", DURATION],
  ["max_msgs_per_subject", "maxMsgsPer", int64()],
  ["max_msg_size", "maxMsgSize", int32()],
  ["discard", "discard", goEnum({ old: "old", new: "new" }, true)],
  ["storage", "storage", goEnum({ file: "file", memory: "memory", any: "any" })],
  ["num_replicas", "replicas", INT],
  ["no_ack", "noAck", BOOL],
  ["template_owner", "template", STRING],
  ["duplicate_window", "duplicates", DURATION],
  ["placement", "placement", PLACEMENT, (p) => placementFrom(p as Decoded)],
  ["mirror", "mirror", SOURCE, (m) => sourceFrom(m as Decoded)],
  // A nil *StreamSource in the list is an unnamed source.
  [
    "sources",
    "sources",
    list("[]*server.StreamSource", SOURCE),
    (l) => (l as (Decoded | null)[]).map((e) => e === null ? { name: "" } : sourceFrom(e)),
  ],
  ["republish", "republish", REPUBLISH, (r) => ({ dest: "", ...(r as Decoded) })],
  ["allow_direct", "allowDirect", BOOL],
  ["mirror_direct", "mirrorDirect", BOOL],
  ["discard_new_per_subject", "discardNewPer", BOOL],
  ["sealed", "sealed", BOOL],
  ["deny_delete", "denyDelete", BOOL],
  ["deny_purge", "denyPurge", BOOL],
  ["allow_rollup_hdrs", "allowRollup", BOOL],
];

/** nats-server's StreamConfig as Go decodes it. */
export const STREAM_CONFIG = struct(
  "server.StreamConfig",
  Object.fromEntries(FIELDS.map(([json, , schema]) => [json, schema])),
);

/** A decoded StreamConfig (by JSON name) over Go's zero values. */
export function rawFromDecoded(d: Decoded): RawStreamConfig {
  const c = emptyRawConfig() as unknown as Record<string, unknown>;
  for (const [json, key, , convert] of FIELDS) {
    if (!Object.hasOwn(d, json)) continue;
    c[key] = convert === undefined ? d[json] : convert(d[json]);
  }
  return c as unknown as RawStreamConfig;
}

/** Decodes a StreamConfig request body; throws GoJsonError where Go's decoder fails. */
export function decodeStreamConfig(v: GoJsonValue): RawStreamConfig {
  return rawFromDecoded(unmarshal(v, STREAM_CONFIG));
}

/** A stored (already checked) config back into the raw form, for re-checking on recovery. */
export function rawFromConfig(cfg: StreamConfig): RawStreamConfig {
  return {
    name: cfg.name,
    description: cfg.description ?? "",
    subjects: cfg.subjects ? [...cfg.subjects] : null,
    retention: cfg.retention,
    maxConsumers: cfg.max_consumers,
    maxMsgs: cfg.max_msgs,
    maxBytes: cfg.max_bytes,
    maxAge: cfg.max_age,
    maxMsgsPer: cfg.max_msgs_per_subject,
    maxMsgSize: cfg.max_msg_size ?? 0,
    discard: cfg.discard,
    storage: cfg.storage,
    replicas: cfg.num_replicas,
    noAck: cfg.no_ack ?? false,
    template: cfg.template_owner ?? "",
    duplicates: cfg.duplicate_window ?? 0,
    placement: cfg.placement ?? null,
    mirror: cfg.mirror ?? null,
    sources: cfg.sources ?? null,
    republish: cfg.republish ? { ...cfg.republish } : null,
    allowDirect: cfg.allow_direct,
    mirrorDirect: cfg.mirror_direct,
    discardNewPer: cfg.discard_new_per_subject ?? false,
    sealed: cfg.sealed,
    denyDelete: cfg.deny_delete,
    denyPurge: cfg.deny_purge,
    allowRollup: cfg.allow_rollup_hdrs,
  };
}

/** The JSON shape, keys in nats-server's order, omitempty members left out. */
export function configJson(c: RawStreamConfig): StreamConfig {
  const o: StreamConfig = {
    name: c.name,
    description: c.description || undefined,
    subjects: c.subjects && c.subjects.length > 0 ? c.subjects : undefined,
    retention: c.retention,
    max_consumers: c.maxConsumers,
    max_msgs: c.maxMsgs,
    max_bytes: c.maxBytes,
    max_age: c.maxAge,
    max_msgs_per_subject: c.maxMsgsPer,
    max_msg_size: c.maxMsgSize || undefined,
    discard: c.discard,
    storage: c.storage as Storage,
    num_replicas: c.replicas,
    no_ack: c.noAck || undefined,
    template_owner: c.template || undefined,
    duplicate_window: c.duplicates || undefined,
    placement: c.placement ?? undefined,
    mirror: c.mirror ?? undefined,
    sources: c.sources && c.sources.length > 0 ? c.sources : undefined,
    republish: c.republish ?? undefined,
    allow_direct: c.allowDirect,
    mirror_direct: c.mirrorDirect,
    discard_new_per_subject: c.discardNewPer || undefined,
    sealed: c.sealed,
    deny_delete: c.denyDelete,
    deny_purge: c.denyPurge,
    allow_rollup_hdrs: c.allowRollup,
  };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** Go's reflect.DeepEqual of two configs, as far as their JSON tells. */
export function sameConfig(a: StreamConfig, b: StreamConfig): boolean {
  return goJson(a, false) === goJson(b, false);
}

/** What the config checks need to know about the account and the server. */
export interface ConfigContext {
  /** Another stream's config in the account, or undefined. */
  lookup(name: string): StreamConfig | undefined;
  /** The account's max_bytes_required and its max stream bytes for this storage (0: none). */
  maxBytesLimits(storage: Storage): { required: boolean; limit: number };
  /** jetstream { limits { duplicate_window } } in nanoseconds, 0 when not set. */
  maxDuplicates: number;
}

const MAX_NAME_LEN = 255;
const MAX_DESCRIPTION_LEN = 4 * 1024;
const MAX_REPLICAS = 5;
const DEFAULT_DUPLICATES = 2 * 60 * 1e9;
const MS100 = 100 * 1e6;

/** nats-server's isValidName (stream, consumer and template names). */
export function isValidName(name: string): boolean {
  return name !== "" && !/[ \t\r\n\f.*>]/.test(name);
}

/** UTF-8 byte length, as Go's len() of a string. */
function byteLen(s: string): number {
  return new TextEncoder().encode(s).length;
}

/**
 * checkStreamCfg: defaults filled in and every rule checked, in nats-server's order. Returns
 * the config as it will run (in raw form, with storage resolved), or throws an ApiError.
 */
export function checkStreamConfig(config: RawStreamConfig, ctx: ConfigContext): RawStreamConfig {
  if (!isValidName(config.name)) {
    throw invalidConfig("stream name is required and can not contain '.', '*', '>'");
  }
  if (byteLen(config.name) > MAX_NAME_LEN) {
    throw invalidConfig(`stream name is too long, maximum allowed is ${MAX_NAME_LEN}`);
  }
  if (byteLen(config.description) > MAX_DESCRIPTION_LEN) {
    throw invalidConfig(
      `stream description is too long, maximum allowed is ${MAX_DESCRIPTION_LEN}`,
    );
  }
  const cfg: RawStreamConfig = {
    ...config,
    subjects: config.subjects ? [...config.subjects] : null,
    republish: config.republish ? { ...config.republish } : null,
  };
  if (cfg.storage === "") cfg.storage = "file";
  if (cfg.replicas === 0) cfg.replicas = 1;
  if (cfg.replicas > MAX_REPLICAS) throw invalidConfig(`maximum replicas is ${MAX_REPLICAS}`);
  if (cfg.replicas < 0) throw jsError("JSReplicasCountCannotBeNegative");
  if (cfg.maxMsgs === 0) cfg.maxMsgs = -1;
  if (cfg.maxMsgsPer === 0) cfg.maxMsgsPer = -1;
  if (cfg.maxBytes === 0) cfg.maxBytes = -1;
  if (cfg.maxMsgSize === 0) cfg.maxMsgSize = -1;
  if (cfg.maxConsumers === 0) cfg.maxConsumers = -1;
  const limDup = ctx.maxDuplicates;
  if (cfg.duplicates === 0 && cfg.mirror === null) {
    let maxWindow = DEFAULT_DUPLICATES;
    if (limDup > 0 && maxWindow > limDup) maxWindow = limDup;
    cfg.duplicates = cfg.maxAge !== 0 && cfg.maxAge < maxWindow ? cfg.maxAge : maxWindow;
  }
  if (cfg.maxAge > 0 && cfg.maxAge < MS100) throw invalidConfig("max age needs to be >= 100ms");
  if (cfg.duplicates < 0) throw invalidConfig("duplicates window can not be negative");
  if (cfg.maxAge !== 0 && cfg.duplicates > cfg.maxAge) {
    throw invalidConfig("duplicates window can not be larger then max age");
  }
  if (limDup > 0 && cfg.duplicates > limDup) {
    throw invalidConfig(
      `duplicates window can not be larger then server limit of ${formatGoDuration(limDup / 1e6)}`,
    );
  }
  if (cfg.duplicates > 0 && cfg.duplicates < MS100) {
    throw invalidConfig("duplicates window needs to be >= 100ms");
  }
  if (cfg.denyPurge && cfg.allowRollup) {
    throw invalidConfig("roll-ups require the purge permission");
  }
  if (cfg.discardNewPer) {
    if (cfg.discard !== "new") {
      throw invalidConfig("discard new per subject requires discard new policy to be set");
    }
    if (cfg.maxMsgsPer <= 0) {
      throw invalidConfig("discard new per subject requires max msgs per subject > 0");
    }
  }

  const filterOverlaps = (filter: string | undefined, subs: string[]) =>
    !filter || subs.length === 0 || subs.some((s) => subjectsCollide(s, filter));
  const streamSubs: string[] = [];
  const deliveryPrefixes: string[] = [];
  const apiPrefixes: string[] = [];
  if (cfg.mirror !== null) {
    if (cfg.subjects && cfg.subjects.length > 0) throw jsError("JSMirrorWithSubjectsErr");
    if (cfg.sources && cfg.sources.length > 0) throw jsError("JSMirrorWithSourcesErr");
    const origin = ctx.lookup(cfg.mirror.name);
    const subs = origin?.subjects ?? [];
    streamSubs.push(...subs);
    if (origin) {
      const max = origin.max_msg_size ?? 0;
      if (cfg.maxMsgSize > 0 && max > 0 && cfg.maxMsgSize < max) {
        throw jsError("JSMirrorMaxMessageSizeTooBigErr");
      }
      if (!filterOverlaps(cfg.mirror.filter_subject, subs)) {
        throw invalidConfig(
          `mirror '${cfg.mirror.name}' filter subject '${
            cfg.mirror.filter_subject ?? ""
          }' does not overlap with any origin stream subject`,
        );
      }
      cfg.mirrorDirect = origin.allow_direct;
    }
    const ext = cfg.mirror.external;
    if (ext?.deliver) deliveryPrefixes.push(ext.deliver);
    if (ext?.api) apiPrefixes.push(ext.api);
  }
  for (const src of cfg.sources ?? []) {
    const origin = ctx.lookup(src.name);
    streamSubs.push(...(origin?.subjects ?? []));
    if (origin) {
      const max = origin.max_msg_size ?? 0;
      if (cfg.maxMsgSize > 0 && max > 0 && cfg.maxMsgSize < max) {
        throw jsError("JSSourceMaxMessageSizeTooBigErr");
      }
      if (!filterOverlaps(src.filter_subject, streamSubs)) {
        throw invalidConfig(
          `source '${src.name}' filter subject '${
            src.filter_subject ?? ""
          }' does not overlap with any origin stream subject`,
        );
      }
    }
    if (src.external?.deliver) deliveryPrefixes.push(src.external.deliver);
    if (src.external?.api) apiPrefixes.push(src.external.api);
  }
  for (const pfx of deliveryPrefixes) {
    if (!isValidPublishSubject(pfx)) {
      throw jsError("JSStreamInvalidExternalDeliverySubjErrF", { prefix: pfx });
    }
    for (const sub of streamSubs) {
      if (subjectsCollide(sub, `${pfx}.${sub}`)) {
        throw jsError("JSStreamExternalDelPrefixOverlapsErrF", { prefix: pfx, subject: sub });
      }
    }
  }
  for (const pfx of apiPrefixes) {
    if (!isValidPublishSubject(pfx)) {
      throw invalidConfig(
        `stream external api prefix ${
          JSON.stringify(pfx)
        } must be a valid subject without wildcards`,
      );
    }
    if (subjectsCollide(pfx, "$JS.API")) {
      throw jsError("JSStreamExternalApiOverlapErrF", { prefix: pfx, subject: "$JS.API" });
    }
  }
  checkCycles(cfg, ctx);

  if (!cfg.subjects || cfg.subjects.length === 0) {
    if (cfg.mirror === null && (cfg.sources ?? []).length === 0) {
      cfg.subjects = [...(cfg.subjects ?? []), cfg.name];
    }
  } else {
    if (cfg.mirror !== null) throw jsError("JSMirrorWithSubjectsErr");
    const seen = new Set<string>();
    for (const subj of cfg.subjects) {
      if (seen.has(subj)) throw invalidConfig("duplicate subjects detected");
      if (subjectIsSubsetMatch(subj, "$JS.API.>")) {
        throw invalidConfig("subjects overlap with jetstream api");
      }
      if (!isValidSubject(subj)) throw invalidConfig("invalid subject");
      seen.add(subj);
    }
  }
  if (
    (!cfg.subjects || cfg.subjects.length === 0) && (cfg.sources ?? []).length === 0 &&
    cfg.mirror === null
  ) {
    throw invalidConfig("stream needs at least one configured subject or be a source/mirror");
  }

  const { required, limit } = ctx.maxBytesLimits(cfg.storage === "memory" ? "memory" : "file");
  if (required && cfg.maxBytes <= 0) throw jsError("JSStreamMaxBytesRequired");
  if (limit > 0 && cfg.maxBytes > limit) throw jsError("JSStreamMaxStreamBytesExceeded");

  const subjects = cfg.subjects ?? [];
  if (subjects.length > 1) {
    for (const subj of subjects) {
      for (const tsubj of subjects) {
        if (tsubj !== subj && subjectsCollide(tsubj, subj)) {
          throw invalidConfig(
            `subject ${JSON.stringify(subj)} overlaps with ${JSON.stringify(tsubj)}`,
          );
        }
      }
    }
  }

  if (cfg.republish !== null) {
    const rp = cfg.republish;
    // Keys in nats-server's order: src (">" when empty), dest, headers_only.
    cfg.republish = { src: rp.src || ">", dest: rp.dest };
    if (rp.headers_only) cfg.republish.headers_only = true;
    const src = cfg.republish.src!;
    if (!subjects.some((s) => subjectsCollide(src, s))) {
      throw invalidConfig(
        "stream configuration for republish source is not valid subset of subjects",
      );
    }
    if (subjects.some((s) => subjectsCollide(cfg.republish!.dest, s))) {
      throw invalidConfig("stream configuration for republish destination forms a cycle");
    }
    if (compileRepublish(cfg.republish) === null) {
      throw invalidConfig("stream configuration for republish not valid");
    }
  }
  return cfg;
}

/** The republish transform, or null when nats-server's newTransform refuses the pair. */
export function compileRepublish(rp: RePublishJson): SubjectTransform | null {
  try {
    return SubjectTransform.compile(rp.src || ">", rp.dest, { validateDestination: false });
  } catch {
    return null;
  }
}

function checkCycles(cfg: RawStreamConfig, ctx: ConfigContext): void {
  type Node = { name: string; sources: StreamSourceJson[]; mirror: StreamSourceJson | null };
  const toVisit: Node[] = [{ name: cfg.name, sources: cfg.sources ?? [], mirror: cfg.mirror }];
  const visited = new Set<string>();
  const fromCfg = (c: StreamConfig): Node => ({
    name: c.name,
    sources: c.sources ?? [],
    mirror: c.mirror ?? null,
  });
  // Bounded by the streams in the account: each is entered once before a repeat is an error.
  while (toVisit.length > 0) {
    const n = toVisit.shift()!;
    visited.add(n.name);
    for (const src of n.sources) {
      if (src.external) continue;
      if (visited.has(src.name)) throw invalidConfig("detected cycle");
      const c = ctx.lookup(src.name);
      if (c) toVisit.push(fromCfg(c));
    }
    const m = n.mirror;
    if (m && !m.external) {
      if (visited.has(m.name)) throw invalidConfig("detected cycle");
      const c = ctx.lookup(m.name);
      if (c) toVisit.push(fromCfg(c));
    }
  }
}

/**
 * configUpdateCheck's rules on what an update may change (the limits checks are the caller's).
 * `next` has been through checkStreamConfig. Returns the config to run with.
 */
export function checkStreamUpdate(old: StreamConfig, next: RawStreamConfig): RawStreamConfig {
  const cfg = { ...next };
  if (cfg.name !== old.name) throw invalidConfig("stream configuration name must match original");
  if (cfg.maxConsumers !== old.max_consumers) {
    throw invalidConfig("stream configuration update can not change MaxConsumers");
  }
  if (cfg.storage !== old.storage) {
    throw invalidConfig("stream configuration update can not change storage type");
  }
  if (cfg.retention !== old.retention) {
    throw invalidConfig("stream configuration update can not change retention policy");
  }
  if (old.template_owner) {
    throw invalidConfig("stream configuration update not allowed on template owned stream");
  }
  if (cfg.template !== "") {
    throw invalidConfig("stream configuration update can not be owned by a template");
  }
  if (!cfg.sealed && old.sealed) {
    throw invalidConfig("stream configuration update can not unseal a sealed stream");
  }
  if (!cfg.denyDelete && old.deny_delete) {
    throw invalidConfig("stream configuration update can not cancel deny message deletes");
  }
  if (!cfg.denyPurge && old.deny_purge) {
    throw invalidConfig("stream configuration update can not cancel deny purge");
  }
  if (goJson(cfg.mirror ?? null, false) !== goJson(old.mirror ?? null, false)) {
    throw jsError("JSStreamMirrorNotUpdatableErr");
  }
  if (goJson(cfg.republish ?? null, false) !== goJson(old.republish ?? null, false)) {
    throw invalidConfig("stream configuration update can not change RePublish");
  }
  if (cfg.discardNewPer) {
    if (cfg.discard !== "new") {
      throw invalidConfig("discard new per subject requires discard new policy to be set");
    }
    if (cfg.maxMsgsPer <= 0) {
      throw invalidConfig("discard new per subject requires max msgs per subject > 0");
    }
  }
  if (cfg.sealed) {
    cfg.maxAge = 0;
    cfg.discard = "new";
    cfg.denyDelete = true;
    cfg.denyPurge = true;
    cfg.allowRollup = false;
  }
  return cfg;
}
