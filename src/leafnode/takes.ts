/**
 * Whether a routed message goes to a leafnode connection. It is on the server's routing hot path
 * and needed by every server, so it lives apart from the leafnode modules, which only a server
 * with leafnodes configured loads (see Server.start).
 */

import { type Client, LEAF, ROUTER } from "../client.ts";
import type { Route } from "../route.ts";
import type { Leaf } from "./connection.ts";

/** nats-server's isServiceReply: replies of service imports cross to any leafnode. */
function isServiceReply(subject: string): boolean {
  return subject.startsWith("_R_.");
}

/**
 * Whether a message from `from` goes to `leaf` (nats-server's rules): never back where it came
 * from; from a route only to leafnodes we are the hub of (a spoke's hub got it on its own), or
 * when it answers a service import; never into the leafnode cluster it came from; and only on
 * subjects the connection's permissions let us send.
 */
export function leafTakes(from: Client, leaf: Leaf, subject: string): boolean {
  if (leaf === from || leaf.closed || !leaf.registered) return false;
  if (from.kind === ROUTER) {
    if (leaf.isSpoke && !isServiceReply(subject)) return false;
    const origin = (from as Route).msgOrigin;
    if (origin !== "" && origin === leaf.remoteCluster) return false;
  } else if (from.kind === LEAF) {
    const cluster = (from as Leaf).remoteCluster;
    if (cluster !== "" && cluster === leaf.remoteCluster) return false;
  }
  return leaf.leafPerms === null || leaf.leafPerms.canPublish(subject);
}
