/**
 * A JetStream domain (`jetstream { domain: hub }`): clients may address the API as
 * `$JS.hub.API.>` (and KV / object store as `$JS.hub.API.$KV.>` / `$OBJ.>`). nats-server adds
 * account mappings from those subjects to the plain ones in every account that imports the API;
 * so do we, in front of the account's configured mappings (which win for the same subjects).
 */

import type { Account, SubjectMapper } from "../accounts/account.ts";

/** Mapped tails, as nats-server's generateJSMappingTable. */
const PREFIXES = ["STREAM.", "CONSUMER.", "DIRECT.", "META.", "SERVER.", "ACCOUNT."];

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
  acc.mappings = new DomainMapper(`$JS.${domain}.API.`, acc.mappings);
}

/**
 * The domain's mappings as nats-server's generateJSMappingTable lists them (source, destination):
 * what a leafnode connection announces and logs ("Adding JetStream Domain Mapping").
 */
export function domainMappingTable(domain: string): [string, string][] {
  const pre = `$JS.${domain}.API.`;
  return [
    [`${pre}INFO`, "$JS.API.INFO"],
    ...PREFIXES.map((p): [string, string] => [`${pre}${p}>`, `$JS.API.${p}>`]),
    [`${pre}$KV.>`, "$KV.>"],
    [`${pre}$OBJ.>`, "$OBJ.>"],
  ];
}

/**
 * Iterable like the account's own mappings (`source` of each), so leafnode connections announce
 * interest in the domain's subjects as nats-server does for every mapping.
 */
class DomainMapper implements SubjectMapper {
  readonly #sources: { source: string }[];

  constructor(readonly prefix: string, readonly base: SubjectMapper | null) {
    const domain = prefix.slice(4, -5);
    this.#sources = domainMappingTable(domain).map(([source]) => ({ source }));
  }

  *[Symbol.iterator](): Iterator<{ source: string }> {
    yield* this.#sources;
    const base = this.base as unknown as Iterable<{ source: string }> | null;
    if (base !== null && typeof base[Symbol.iterator] === "function") yield* base;
  }

  map(subject: string, cluster?: string): string | null {
    const mapped = this.base?.map(subject, cluster) ?? null;
    if (mapped !== null) return mapped;
    // Every other publish pays one character comparison.
    return subject.charCodeAt(0) === 0x24 ? domainSubject(this.prefix, subject) : null;
  }
}
