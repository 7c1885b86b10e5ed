/**
 * The bodies of JetStream API requests, decoded with Go's rules (json.ts) into what the
 * handlers need; a body Go would refuse throws JsonDecodeError ("invalid JSON" to the client).
 */

import {
  decodeBool,
  decodeInt,
  decodeString,
  decodeStruct,
  decodeUint,
  type JsonValue,
} from "./json.ts";
import { decodeStreamConfig, type RawStreamConfig } from "./stream_config.ts";

/** JSApiMsgGetRequest (MSG.GET, DIRECT.GET). */
export interface MsgGetRequest {
  seq: number;
  last: string;
  next: string;
}

export function decodeMsgGetRequest(v: JsonValue): MsgGetRequest {
  const r: MsgGetRequest = { seq: 0, last: "", next: "" };
  decodeStruct(v, "JSApiMsgGetRequest", {
    seq: (x) => (r.seq = decodeUint(x) ?? r.seq),
    last_by_subj: (x) => (r.last = decodeString(x) ?? r.last),
    next_by_subj: (x) => (r.next = decodeString(x) ?? r.next),
  });
  return r;
}

/** JSApiMsgDeleteRequest. */
export function decodeMsgDeleteRequest(v: JsonValue): { seq: number; noErase: boolean } {
  const r = { seq: 0, noErase: false };
  decodeStruct(v, "JSApiMsgDeleteRequest", {
    seq: (x) => (r.seq = decodeUint(x) ?? r.seq),
    no_erase: (x) => (r.noErase = decodeBool(x) ?? r.noErase),
  });
  return r;
}

/** JSApiStreamPurgeRequest. */
export function decodePurgeRequest(v: JsonValue): { seq: number; subject: string; keep: number } {
  const r = { seq: 0, subject: "", keep: 0 };
  decodeStruct(v, "JSApiStreamPurgeRequest", {
    seq: (x) => (r.seq = decodeUint(x) ?? r.seq),
    filter: (x) => (r.subject = decodeString(x) ?? r.subject),
    keep: (x) => (r.keep = decodeUint(x) ?? r.keep),
  });
  return r;
}

/** JSApiStreamInfoRequest. */
export function decodeStreamInfoRequest(
  v: JsonValue,
): { offset: number; details: boolean; subjects: string } {
  const r = { offset: 0, details: false, subjects: "" };
  decodeStruct(v, "JSApiStreamInfoRequest", {
    offset: (x) => (r.offset = decodeInt(x) ?? r.offset),
    deleted_details: (x) => (r.details = decodeBool(x) ?? r.details),
    subjects_filter: (x) => (r.subjects = decodeString(x) ?? r.subjects),
  });
  return r;
}

/** JSApiStreamNamesRequest / JSApiStreamListRequest: a page offset and a subject filter. */
export function decodeStreamListRequest(v: JsonValue): { offset: number; subject: string } {
  const r = { offset: 0, subject: "" };
  decodeStruct(v, "JSApiStreamNamesRequest", {
    offset: (x) => (r.offset = decodeInt(x) ?? r.offset),
    subject: (x) => (r.subject = decodeString(x) ?? r.subject),
  });
  return r;
}

/** JSApiStreamSnapshotRequest. */
export interface SnapshotRequest {
  deliverSubject: string;
  noConsumers: boolean;
  chunkSize: number;
  check: boolean;
}

export function decodeSnapshotRequest(v: JsonValue): SnapshotRequest {
  const r: SnapshotRequest = { deliverSubject: "", noConsumers: false, chunkSize: 0, check: false };
  decodeStruct(v, "JSApiStreamSnapshotRequest", {
    deliver_subject: (x) => (r.deliverSubject = decodeString(x) ?? r.deliverSubject),
    no_consumers: (x) => (r.noConsumers = decodeBool(x) ?? r.noConsumers),
    chunk_size: (x) => (r.chunkSize = decodeInt(x) ?? r.chunkSize),
    jsck: (x) => (r.check = decodeBool(x) ?? r.check),
  });
  return r;
}

/** JSApiStreamRestoreRequest: the stream's config (its state is not used, as in nats-server). */
export function decodeRestoreRequest(v: JsonValue): RawStreamConfig {
  let cfg: RawStreamConfig | null = null;
  decodeStruct(v, "JSApiStreamRestoreRequest", {
    config: (x) => (cfg = decodeStreamConfig(x)),
  });
  return cfg ?? decodeStreamConfig(null);
}
