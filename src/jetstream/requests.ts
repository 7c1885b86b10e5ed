/**
 * The bodies of JetStream API requests, decoded with Go's rules (go_json.ts) into what the
 * handlers need; a body Go would refuse throws GoJsonError ("invalid JSON" to the client).
 */

import { BOOL, type GoJsonValue, INT, STRING, struct, UINT64, unmarshal } from "../go_json.ts";
import { rawFromDecoded, type RawStreamConfig, STREAM_CONFIG } from "./stream_config.ts";

/** JSApiMsgGetRequest (MSG.GET, DIRECT.GET). */
export interface MsgGetRequest {
  seq: number;
  last: string;
  next: string;
}

const MSG_GET = struct("server.JSApiMsgGetRequest", {
  seq: UINT64,
  last_by_subj: STRING,
  next_by_subj: STRING,
});

export function decodeMsgGetRequest(v: GoJsonValue): MsgGetRequest {
  const r = unmarshal(v, MSG_GET, { seq: 0, last_by_subj: "", next_by_subj: "" });
  return { seq: r.seq, last: r.last_by_subj, next: r.next_by_subj };
}

const MSG_DELETE = struct("server.JSApiMsgDeleteRequest", { seq: UINT64, no_erase: BOOL });

/** JSApiMsgDeleteRequest. */
export function decodeMsgDeleteRequest(v: GoJsonValue): { seq: number; noErase: boolean } {
  const r = unmarshal(v, MSG_DELETE, { seq: 0, no_erase: false });
  return { seq: r.seq, noErase: r.no_erase };
}

const PURGE = struct("server.JSApiStreamPurgeRequest", {
  seq: UINT64,
  filter: STRING,
  keep: UINT64,
});

/** JSApiStreamPurgeRequest. */
export function decodePurgeRequest(
  v: GoJsonValue,
): { seq: number; subject: string; keep: number } {
  const r = unmarshal(v, PURGE, { seq: 0, filter: "", keep: 0 });
  return { seq: r.seq, subject: r.filter, keep: r.keep };
}

const STREAM_INFO = struct("server.JSApiStreamInfoRequest", {
  offset: INT,
  deleted_details: BOOL,
  subjects_filter: STRING,
});

/** JSApiStreamInfoRequest. */
export function decodeStreamInfoRequest(
  v: GoJsonValue,
): { offset: number; details: boolean; subjects: string } {
  const r = unmarshal(v, STREAM_INFO, { offset: 0, deleted_details: false, subjects_filter: "" });
  return { offset: r.offset, details: r.deleted_details, subjects: r.subjects_filter };
}

const STREAM_NAMES = struct("server.JSApiStreamNamesRequest", { offset: INT, subject: STRING });

/** JSApiStreamNamesRequest / JSApiStreamListRequest: a page offset and a subject filter. */
export function decodeStreamListRequest(v: GoJsonValue): { offset: number; subject: string } {
  return unmarshal(v, STREAM_NAMES, { offset: 0, subject: "" });
}

const SNAPSHOT = struct("server.JSApiStreamSnapshotRequest", {
  deliver_subject: STRING,
  no_consumers: BOOL,
  chunk_size: INT,
  jsck: BOOL,
});

/** JSApiStreamSnapshotRequest. */
export interface SnapshotRequest {
  deliverSubject: string;
  noConsumers: boolean;
  chunkSize: number;
  check: boolean;
}

export function decodeSnapshotRequest(v: GoJsonValue): SnapshotRequest {
  const r = unmarshal(v, SNAPSHOT, {
    deliver_subject: "",
    no_consumers: false,
    chunk_size: 0,
    jsck: false,
  });
  return {
    deliverSubject: r.deliver_subject,
    noConsumers: r.no_consumers,
    chunkSize: r.chunk_size,
    check: r.jsck,
  };
}

const RESTORE = struct("server.JSApiStreamRestoreRequest", { config: STREAM_CONFIG });

/** JSApiStreamRestoreRequest: the stream's config (its state is not used, as in nats-server). */
export function decodeRestoreRequest(v: GoJsonValue): RawStreamConfig {
  return rawFromDecoded(unmarshal(v, RESTORE, { config: {} }).config);
}
