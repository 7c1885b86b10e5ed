/**
 * JetStream across a leafnode connection, as nats-server's addLeafNodeConnection decides it.
 *
 * A JetStream domain is reached through `$JS.<domain>.API.>`: each server with JetStream and a
 * domain maps those subjects to its own `$JS.API.>` in every (non-system) account, and leafnodes
 * announce mapping sources as interest, so a request for domain `leaf` published on the hub
 * crosses to the leaf and is answered there (and the other way round). The plain API
 * (`$JS.API.>`, `$KV.>`, `$OBJ.>`) never crosses in a client account: it would reach both
 * sides' JetStream. When the two sides are not one JetStream (different domains, a side without
 * JetStream and without a domain, no system account) the connection is "not extended"; then
 * requests for our own domain are also kept from leaving (two servers with one domain name).
 *
 * Sharing the system account with the same domain "extends" JetStream over the connection in
 * nats-server (one clustered JetStream spanning both sides); the denies and log lines are
 * nats-server's, but clustered JetStream is not built here.
 */

import type { Server } from "../server.ts";
import type { Leaf } from "./connection.ts";
import { LeafPermissions } from "./perms.ts";
import { applyDomainMappings, domainMappingTable } from "../jetstream/domain.ts";

/** nats-server's denyAllClientJs and denyAllJs. */
export const DENY_CLIENT_JS = ["$JS.API.>", "$KV.>", "$OBJ.>"];
export const DENY_ALL_JS = ["$JSC.>", "$NRG.>", "$JS.API.>", "$KV.>", "$OBJ.>"];

/** nats-server's jsWillExtend hint (`jetstream { extension_hint: will_extend }`). */
const WILL_EXTEND = "will_extend";

function mergeDeny(leaf: Leaf, which: "pub" | "both", subjects: string[]): void {
  leaf.leafPerms ??= new LeafPermissions({});
  leaf.leafPerms.mergeDeny(which, subjects);
}

/** Go's `%+v` of a string slice. */
function goList(list: string[]): string {
  return `[${list.join(" ")}]`;
}

/** Applies the JetStream denies and domain mappings to a leaf connection being registered. */
export function jetstreamRules(s: Server, leaf: Leaf): void {
  const o = s.opts;
  const acc = leaf.account;
  const sys = s.systemAccount;
  const accName = acc.name;
  const q = JSON.stringify;
  const from = leaf.remoteCluster === ""
    ? leaf.remoteServer
    : `${leaf.remoteServer}/${leaf.remoteCluster}`;

  // default_js_domain: an account mapped to the default ("") domain keeps the plain API open,
  // and the system account then cannot extend JetStream.
  let forceSysAccDeny = false;
  const defaults = o.jsAccDefaultDomain;
  if (Object.keys(defaults).length > 0) {
    if (acc === sys) {
      if (Object.values(defaults).includes("")) {
        s.log.noticec(
          leaf,
          "Forcing System Account into non extend mode due to presence of empty default domain",
        );
        forceSysAccDeny = true;
      }
    } else if (Object.hasOwn(defaults, accName) && defaults[accName] === "") {
      s.log.noticec(
        leaf,
        `Skipping deny ${q("$JS.API.>")} for account ${q(accName)} due to default domain`,
      );
      return;
    }
  }

  const domain = o.jetstreamDomain;
  let blockOutgoing = false;
  if (
    domain !== leaf.remoteDomain ||
    (!o.jetstream && domain === "" && o.jetstreamExtHint !== WILL_EXTEND) ||
    sys === null || forceSysAccDeny
  ) {
    if (acc === sys) {
      s.log.noticec(leaf, `System Account Connected from ${from}`);
      s.log.noticec(leaf, `JetStream Not Extended, adding denies ${goList(DENY_ALL_JS)}`);
      mergeDeny(leaf, "both", DENY_ALL_JS);
    } else {
      s.log.noticec(
        leaf,
        `JetStream Not Extended, adding deny ${goList(DENY_CLIENT_JS)} for account ${q(accName)}`,
      );
      mergeDeny(leaf, "both", DENY_CLIENT_JS);
    }
    blockOutgoing = true;
  } else if (acc === sys) {
    s.log.notice(
      `SYSTEM - Extending JetStream domain ${q(leaf.remoteDomain)} as System Account connected ` +
        `from server ${from}`,
    );
  } else {
    // The API of a shared system account goes through it; in a client account it would be
    // answered twice, so it stays on each side.
    s.log.noticec(leaf, `Adding deny ${goList(DENY_CLIENT_JS)} for account ${q(accName)}`);
    mergeDeny(leaf, "both", DENY_CLIENT_JS);
  }

  if (domain !== "" && acc !== sys && o.jetstream) {
    applyDomainMappings(acc, domain);
    for (const [src, dest] of domainMappingTable(domain)) {
      s.log.noticec(
        leaf,
        `Adding JetStream Domain Mapping ${q(src)} -> ${dest} to account ${q(accName)}`,
      );
    }
    if (blockOutgoing) {
      // Requests for our own domain stay here (two sides configured with one domain name).
      const src = `$JS.${domain}.API.>`;
      mergeDeny(leaf, "pub", [src]);
      s.log.noticec(leaf, `Adding deny ${q(src)} for outgoing messages to account ${q(accName)}`);
    }
  }
}
