/**
 * A leafnode connection accepted by a hub in operator mode: as nats-server 2.9.10's
 * processClientOrLeafAuthentication does for the LEAF kind, the CONNECT must carry a user JWT
 * and the nonce signed by the user's key (the `credentials` of the other side's remote). The
 * connection type checked against allowed_connection_types is LEAFNODE, or LEAFNODE_WS over
 * websocket. The leaf is bound to the JWT's account, within the account's `leaf` limit (over it:
 * `-ERR 'maximum account active connections exceeded'`, no Authorization Violation), and takes
 * the user's permissions (read the hub's way: what the user may publish is what the leaf may
 * send us), its limits, and its expiry.
 */

import { ConnectionType } from "../jwt/types.ts";
import type { Leaf } from "../leafnode/connection.ts";
import { LeafPermissions } from "../leafnode/perms.ts";
import {
  jetstreamDeniedNotice,
  jwtSession,
  logJwtAuthenticated,
  startJwtExpiry,
  verifyJwtConnect,
} from "./client_jwt.ts";
import type { OperatorMode } from "./mode.ts";

export async function authenticateJwtLeaf(mode: OperatorMode, leaf: Leaf): Promise<boolean> {
  const v = await verifyJwtConnect(
    mode,
    leaf,
    leaf.isWebsocket ? ConnectionType.LeafnodeWs : ConnectionType.Leafnode,
  );
  if (v === null) return false;
  const { r, acc } = v;
  const max = acc.limits.maxLeafnodes;
  if (max >= 0 && leaf.leafnodes.countFor(acc) >= max) {
    // nats-server binds the account first, so the close line names it; the refusal is logged
    // once more when the CONNECT fails.
    leaf.account = acc;
    leaf.bound = true;
    mode.maxAccountConnExceeded(leaf);
    mode.server.log.errorc(leaf, "maximum account active connections exceeded");
    return false;
  }
  leaf.user = r.user.sub;
  leaf.jwt = jwtSession(leaf, r);
  leaf.setAccount(acc);
  leaf.bound = true;
  leaf.leafPerms = r.permissions ? new LeafPermissions(r.permissions, true) : null;
  jetstreamDeniedNotice(leaf, r.permissions, "Leafnode");
  startJwtExpiry(leaf, r);
  logJwtAuthenticated(leaf, r, acc, "Leafnode");
  return true;
}
