/**
 * A JetStream domain (`jetstream { domain: hub }`): clients may address the API as
 * `$JS.hub.API.>` (and KV / object store as `$JS.hub.API.$KV.>` / `$OBJ.>`). nats-server adds
 * account mappings from those subjects to the plain ones in every account that imports the API;
 * so do we, in front of the account's configured mappings (which win for the same subjects).
 * The mapper lists its sources like any account's mappings: leafnodes announce them as interest,
 * which is how a domain is reached across a leafnode connection.
 */

import type { Account, SubjectMapper } from "../accounts/account.ts";
import { Mapping, Mappings } from "../accounts/mapping.ts";

/** Mapped tails, as nats-server's generateJSMappingTable. */
const PREFIXES = ["STREAM.", "CONSUMER.", "DIRECT.", "META.", "SERVER.", "ACCOUNT."];

/** nats-server's generateJSMappingTable: [source, destination] pairs (in a fixed order). */
export function domainMappingTable(domain: string): [string, string][] {
  const p = `$JS.${domain}.API.`;
  return [
    [p + "INFO", "$JS.API.INFO"],
    ...PREFIXES.map((x): [string, string] => [`${p}${x}>`, `$JS.API.${x}>`]),
    [p + "$KV.>", "$KV.>"],
    [p + "$OBJ.>", "$OBJ.>"],
  ];
}

/** The plain subject for a domain-qualified one, or null. */
export function domainSubject(prefix: string, subject: string): string | null {
  if (!subject.startsWith(prefix)) return null;
  const rest = subject.slice(prefix.length);
  if (rest === "INFO") return "$JS.API.INFO";
  for (const p of PREFIXES) if (rest.startsWith(p)) return "$JS.API." + rest;
  if (rest.startsWith("$KV.") || rest.startsWith("$OBJ.")) return rest;
  return null;
}

/** Puts the domain mappings in front of (under) the account's own. Idempotent. */
export function applyDomainMappings(acc: Account, domain: string): void {
  if (domain === "" || acc.mappings instanceof DomainMapper) return;
  acc.mappings = new DomainMapper(domain, acc.mappings);
}

class DomainMapper implements SubjectMapper, Iterable<{ source: string }> {
  readonly prefix: string;

  constructor(readonly domain: string, readonly base: SubjectMapper | null) {
    this.prefix = `$JS.${domain}.API.`;
  }

  map(subject: string, cluster?: string): string | null {
    const mapped = this.base?.map(subject, cluster) ?? null;
    if (mapped !== null) return mapped;
    // Every other publish pays one character comparison.
    return subject.charCodeAt(0) === 0x24 ? domainSubject(this.prefix, subject) : null;
  }

  /** The configured mappings' sources, then the domain's. */
  *[Symbol.iterator](): Iterator<{ source: string }> {
    const seen = new Set<string>();
    const base = this.base as Partial<Iterable<{ source: string }>> | null;
    if (base !== null && typeof base[Symbol.iterator] === "function") {
      for (const m of base as Iterable<{ source: string }>) {
        seen.add(m.source);
        yield m;
      }
    }
    for (const [source] of domainMappingTable(this.domain)) {
      if (!seen.has(source)) yield { source };
    }
  }
}

/** `default_js_domain`: the plain API subjects mapped to `domain` (the table reversed). */
export function defaultDomainMappings(acc: Account, domain: string): void {
  const list = acc.mappings instanceof Mappings ? acc.mappings : new Mappings();
  for (const [src, dest] of domainMappingTable(domain)) list.add(Mapping.simple(dest, src));
  acc.mappings = list;
}
