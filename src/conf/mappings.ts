/**
 * The `mappings` (alias `maps`) block, at top level or in an account, read as nats-server 2.9.10
 * reads it (parseAccountMappings): `foo: bar`, `"foo.*": "bar.$1"`, a single
 * `{destination, weight, cluster}` entry or a list of them, weights as `50%`, `"50"` or `50`.
 *
 * nats-server reports a list or entry that fails its mapping checks through a recovered Go
 * panic (its message formats the value as a string), which also abandons the rest of the block;
 * we print the same text at the same position and stop at the same point. Where nats-server's
 * order is Go's random map order (keys of the block, fields of an entry) ours is the file's.
 */

import {
  isValidMappingSource,
  type MapDestination,
  Mapping,
  type MappingDefinition,
} from "../accounts/mapping.ts";
import { SubjectMappingError } from "../accounts/transform.ts";
import { ConfigError, type Position } from "./errors.ts";
import { goConversionError, goQuote, goValue } from "./go_format.ts";
import type { ConfNode } from "./parser.ts";

export type { MapDestination, MappingDefinition };

export interface MappingsConfig {
  /** The mappings that passed every check, in file order. */
  definitions: MappingDefinition[];
  /** nats-server's errors with file:line:col; the config is invalid when there is any. */
  errors: ConfigError[];
}

/** A Go panic in nats-server's parser: recorded at the last token it read, ends the block. */
class Panic extends Error {
  constructor(readonly pos: Position, reason: string) {
    super(reason);
  }
}

/**
 * Reads the value of a `mappings`/`maps` key (the node the config parser gives for it).
 * Never throws; the caller adds `errors` to the config's errors.
 */
export function parseMappings(node: ConfNode): MappingsConfig {
  const out: MappingsConfig = { definitions: [], errors: [] };
  const error = (pos: Position, reason: string) => out.errors.push(ConfigError.at(pos, reason));
  if (node.kind !== "map") {
    error(node.pos, goConversionError(node, "map"));
    return out;
  }
  try {
    for (const [subject, value] of node.value) {
      if (!isValidMappingSource(subject)) {
        error(node.pos, `Subject ${goQuote(subject)} is not a valid subject`);
        continue;
      }
      if (value.kind === "string") {
        const destinations = [{ subject: value.value, weight: 100 }];
        try {
          Mapping.compile(subject, destinations);
        } catch (e) {
          if (!(e instanceof SubjectMappingError)) throw e;
          error(
            value.pos,
            `Error adding mapping for ${goQuote(subject)} to ${
              goQuote(value.value)
            } : ${e.message}`,
          );
          continue;
        }
        out.definitions.push({ subject, destinations });
        continue;
      }
      // A list of entries, or one entry (any other value is refused by parseDestination).
      const entries = value.kind === "array" ? value.value : [value];
      let last: ConfNode = value; // nats-server's last token read, where a panic is reported
      const destinations: MapDestination[] = [];
      for (const entry of entries) {
        last = entry;
        const d = parseDestination(entry, last.pos, error);
        if (d) destinations.push(d);
      }
      if (value.kind !== "array" && destinations.length === 0) continue;
      try {
        Mapping.compile(subject, destinations);
      } catch (e) {
        if (!(e instanceof SubjectMappingError)) throw e;
        // nats-server's message formats the list or entry with a string conversion: it panics.
        throw new Panic(last.pos, goConversionError(value, "string"));
      }
      out.definitions.push({ subject, destinations });
    }
  } catch (e) {
    if (!(e instanceof Panic)) throw e;
    error(e.pos, e.message);
  }
  return out;
}

/** One `{destination, weight, cluster}` entry (parseAccountMapDest); null after an error. */
function parseDestination(
  node: ConfNode,
  panicPos: Position,
  error: (pos: Position, reason: string) => void,
): MapDestination | null {
  if (node.kind !== "map") {
    error(node.pos, "Expected an entry for the mapping destination");
    return null;
  }
  const d: MapDestination = { subject: "", weight: 0 };
  let weightSet = false;
  const str = (v: ConfNode): string => {
    if (v.kind !== "string") throw new Panic(panicPos, goConversionError(v, "string"));
    return v.value;
  };
  for (const [key, v] of node.value) {
    switch (key.toLowerCase()) {
      case "dest":
      case "destination":
        d.subject = str(v);
        break;
      case "weight": {
        let w: number;
        if (v.kind === "string") {
          const text = v.value.endsWith("%") ? v.value.slice(0, -1) : v.value;
          const n = goAtoi(text);
          if (n === null) {
            error(v.pos, `Invalid weight ${goQuote(text)} for mapping destination`);
            return null;
          }
          w = n;
        } else if (v.kind === "integer") {
          w = v.value;
        } else {
          error(v.pos, `Unknown entry type for weight of ${goValue(v)}\n`);
          return null;
        }
        if (w > 100 || w < 0) {
          error(v.pos, `Invalid weight ${w} for mapping destination`);
          return null;
        }
        d.weight = w;
        weightSet = true;
        break;
      }
      case "cluster":
        d.cluster = str(v);
        break;
      default:
        error(v.pos, `Unknown field ${goQuote(key)} for mapping destination`);
        return null;
    }
  }
  if (!weightSet) {
    error(node.pos, `Missing weight for mapping destination ${goQuote(d.subject)}`);
    return null;
  }
  return d;
}

/** Go's strconv.Atoi on 64 bits (no trimming); null where it fails. */
function goAtoi(s: string): number | null {
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  const n = BigInt(s);
  return n < -(2n ** 63n) || n >= 2n ** 63n ? null : Number(n);
}
