/**
 * The `jetstream` config blocks as nats-server 2.9.10 parses them (opts.go parseJetStream,
 * parseJetStreamLimits, parseJetStreamForAccount), with its error texts and positions: a value
 * of the wrong type in the server block is Go's recovered panic, reported at the top-level
 * `jetstream` key (that parser keeps no token of its own); sizes are integers or "<n>K|M|G|T".
 */

import type { ConfNode } from "./parser.ts";
import type { Position } from "./errors.ts";
import { goConversionError, goQuote, goType, goValue } from "./go_format.ts";
import { goDuration, type Mapper } from "../config.ts";
import { type JetStreamAccountLimits, unlimitedJetStreamAccount } from "../options.ts";

/** nats-server's getStorageSize: an int64 or a string "<n>K|M|G|T" (powers of 1024). */
function storageSize(node: ConfNode): number | string {
  if (node.kind === "integer") return node.value;
  if (node.kind !== "string") return "must be int64 or string";
  const s = node.value;
  if (s === "") return 0;
  const suffix = s.slice(-1);
  const prefix = s.slice(0, -1);
  if (!/^[+-]?[0-9]+$/.test(prefix)) {
    return `strconv.ParseInt: parsing ${goQuote(prefix)}: invalid syntax`;
  }
  const shift: Record<string, number> = { K: 10, M: 20, G: 30, T: 40 };
  if (shift[suffix] === undefined) return "sizes defined as strings must end in K, M, G, T";
  return Number(prefix) * 2 ** shift[suffix];
}

/**
 * Top-level `default_js_domain { <account>: <domain> }`. A wrong type is reported at the key, as
 * nats-server's recovered panic is.
 */
export function parseDefaultJsDomain(m: Mapper, node: ConfNode): Record<string, string> {
  if (node.kind !== "map") {
    m.abandon(node.pos, `error default_js_domain config: unsupported type ${goType(node)}`);
  }
  const out: Record<string, string> = {};
  for (const [account, v] of node.value) {
    if (v.kind !== "string") m.abandon(node.pos, goConversionError(v, "string"));
    out[account] = v.value;
  }
  return out;
}

/** Top-level `jetstream: <bool | "enabled" | "disabled" | {...}>`. */
export function parseJetStream(m: Mapper, node: ConfNode): void {
  const o = m.out;
  const top = node.pos;
  const want = <K extends "string" | "integer" | "bool">(v: ConfNode, kind: K) => {
    if (v.kind !== kind) m.abandon(top, goConversionError(v, kind));
    return v.value as K extends "string" ? string : K extends "integer" ? number : boolean;
  };
  if (node.kind === "bool") {
    o.jetstream = node.value;
    return;
  }
  if (node.kind === "string") {
    const v = node.value.toLowerCase();
    if (v === "enabled" || v === "enable") o.jetstream = true;
    else if (v === "disabled" || v === "disable") o.jetstream = false;
    else {
      m.abandon(
        node.pos,
        `Expected 'enabled' or 'disabled' for string value, got '${node.value}'`,
      );
    }
    return;
  }
  if (node.kind !== "map") {
    m.abandon(node.pos, `Expected map, bool or string to define JetStream, got ${goType(node)}`);
  }
  let enable = true;
  for (const [key, v] of node.value) {
    const k = key.toLowerCase();
    switch (k) {
      case "store":
      case "store_dir":
      case "storedir":
        if (o.storeDir) m.abandon(v.pos, "Duplicate 'store_dir' configuration");
        o.storeDir = want(v, "string");
        break;
      case "max_memory_store":
      case "max_mem_store":
      case "max_mem": {
        const s = storageSize(v);
        if (typeof s === "string") m.abandon(v.pos, `max_mem_store ${s}`);
        o.jetstreamMaxMemory = s;
        break;
      }
      case "max_file_store":
      case "max_file": {
        const s = storageSize(v);
        if (typeof s === "string") m.abandon(v.pos, `max_file_store ${s}`);
        o.jetstreamMaxStore = s;
        break;
      }
      case "domain":
        o.jetstreamDomain = want(v, "string");
        break;
      case "enable":
      case "enabled":
        enable = want(v, "bool");
        break;
      case "key":
      case "ek":
      case "encryption_key":
        // Ignoring it would store in clear what the config asks to encrypt.
        want(v, "string");
        m.unsupported(v.pos, key);
        break;
      case "cipher": {
        const c = want(v, "string").toLowerCase();
        if (!["chacha", "chachapoly", "aes"].includes(c)) {
          m.abandon(v.pos, `Unknown cipher type: ${goQuote(v.value as string)}`);
        }
        break;
      }
      case "extension_hint":
        o.jetstreamExtHint = want(v, "string");
        break;
      case "unique_tag":
        want(v, "string");
        break;
      case "limits":
        parseLimits(m, v, top);
        break;
      case "max_outstanding_catchup": {
        const s = storageSize(v);
        if (typeof s === "string") m.abandon(v.pos, `${k} ${s}`);
        break;
      }
      default:
        if (!v.usedVariable) m.unknown(v.pos, key);
    }
  }
  o.jetstream = enable;
}

/** `jetstream { limits { ... } }`: server-wide API limits. */
function parseLimits(m: Mapper, node: ConfNode, top: Position): void {
  if (node.kind !== "map") {
    m.abandon(node.pos, `Expected a map to define JetStreamLimits, got ${goType(node)}`);
  }
  for (const [key, v] of node.value) {
    switch (key.toLowerCase()) {
      case "max_ack_pending":
      case "max_ha_assets":
      case "max_request_batch":
        if (v.kind !== "integer") m.abandon(top, goConversionError(v, "integer"));
        if (key.toLowerCase() === "max_ack_pending") m.out.jetstreamMaxAckPending = v.value;
        if (key.toLowerCase() === "max_request_batch") m.out.jetstreamMaxRequestBatch = v.value;
        break;
      case "duplicate_window": {
        if (v.kind !== "string") m.abandon(top, goConversionError(v, "string"));
        const d = goDuration(v.value);
        // nats-server appends this one without a position and keeps going.
        if (typeof d === "string") m.unplaced(v.pos, d);
        else m.out.jetstreamMaxDuplicatesMs = d;
        break;
      }
      default:
        if (!v.usedVariable) m.unknown(v.pos, key);
    }
  }
}

/**
 * An account's `jetstream`: true / "enabled" (unlimited), false / "disabled", or a map of
 * limits. Returns the limits, null for disabled, or undefined after an error. nats-server hands
 * this parser the bare value, so errors about the value itself carry no position.
 */
export function parseAccountJetStream(
  m: Mapper,
  node: ConfNode,
): JetStreamAccountLimits | null | undefined {
  if (node.kind === "bool") return node.value ? unlimitedJetStreamAccount() : null;
  if (node.kind === "string") {
    const v = node.value.toLowerCase();
    if (v === "enabled" || v === "enable") return unlimitedJetStreamAccount();
    if (v === "disabled" || v === "disable") return null;
    m.unplaced(
      node.pos,
      `Expected 'enabled' or 'disabled' for string value, got '${node.value}'`,
    );
    return undefined;
  }
  if (node.kind !== "map") {
    m.unplaced(node.pos, `Expected map, bool or string to define JetStream, got ${goType(node)}`);
    return undefined;
  }
  const lim = unlimitedJetStreamAccount();
  // The first bad value ends the block (nats-server returns there); the account goes on.
  for (const [key, v] of node.value) {
    const k = key.toLowerCase();
    let size = 0;
    if (SIZE_KEYS.has(k)) {
      if (v.kind !== "integer") {
        m.error(v.pos, `Expected a parseable size for ${goQuote(key)}, got ${goValue(v)}`);
        return undefined;
      }
      size = v.value;
    }
    switch (k) {
      case "max_memory":
      case "max_mem":
      case "mem":
      case "memory":
        lim.maxMemory = size;
        break;
      case "max_store":
      case "max_file":
      case "max_disk":
      case "store":
      case "disk":
        lim.maxStore = size;
        break;
      case "max_streams":
      case "streams":
        lim.maxStreams = size;
        break;
      case "max_consumers":
      case "consumers":
        lim.maxConsumers = size;
        break;
      case "max_bytes_required":
      case "max_stream_bytes":
      case "max_bytes":
        if (v.kind !== "bool") {
          m.error(v.pos, `Expected a parseable bool for ${goQuote(key)}, got ${goValue(v)}`);
          return undefined;
        }
        lim.maxBytesRequired = v.value;
        break;
      case "mem_max_stream_bytes":
      case "memory_max_stream_bytes":
        lim.memoryMaxStreamBytes = size;
        break;
      case "disk_max_stream_bytes":
      case "store_max_stream_bytes":
        lim.storeMaxStreamBytes = size;
        break;
      case "max_ack_pending":
        lim.maxAckPending = size;
        break;
      default:
        if (!v.usedVariable) m.unknown(v.pos, key);
    }
  }
  return lim;
}

const SIZE_KEYS = new Set([
  "max_memory",
  "max_mem",
  "mem",
  "memory",
  "max_store",
  "max_file",
  "max_disk",
  "store",
  "disk",
  "max_streams",
  "streams",
  "max_consumers",
  "consumers",
  "mem_max_stream_bytes",
  "memory_max_stream_bytes",
  "disk_max_stream_bytes",
  "store_max_stream_bytes",
  "max_ack_pending",
]);
