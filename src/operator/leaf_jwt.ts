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

import type { Account } from "../accounts/account.ts";
import { ClosedState } from "../client.ts";
import { ConnectionType } from "../jwt/types.ts";
import { authenticatedJwtLog, authenticateJwtUser } from "../jwt/user_auth.ts";
import type { Leaf } from "../leafnode/connection.ts";
import { LeafPermissions } from "../leafnode/perms.ts";
import { accountId, jetstreamDeniedNotice } from "./client_jwt.ts";
import type { OperatorMode } from "./mode.ts";
import { longTimer } from "./state.ts";

export async function authenticateJwtLeaf(mode: OperatorMode, leaf: Leaf): Promise<boolean> {
  const server = mode.server;
  const co = leaf.opts;
  let account: Account | null = null;
  const r = await authenticateJwtUser(
    {
      jwt: co.jwt,
      sig: co.sig,
      nonce: leaf.nonce,
      connectionType: leaf.isWebsocket ? ConnectionType.LeafnodeWs : ConnectionType.Leafnode,
      clientIp: leaf.peer.host,
    },
    {
      trust: mode.trust,
      pinnedAccounts: mode.pinned ?? undefined,
      lookupAccount: async (name) => {
        account = await mode.lookupAccount(name);
        const claims = account.jwt?.claims;
        if (!claims) throw new Error("account validation failed");
        return claims;
      },
    },
  );
  if (leaf.closed) return false;
  if (!r.ok) {
    if (r.reason === "account_not_pinned") mode.pinnedAccountFails++;
    if (r.level === "error") server.log.errorc(leaf, r.log);
    else server.log.debugc(leaf, r.log);
    return false;
  }
  const acc = account as Account | null;
  if (acc === null) return false;
  for (const d of r.debug) server.log.debugc(leaf, d);
  const max = acc.limits.maxLeafnodes;
  if (max >= 0 && leaf.leafnodes.countFor(acc) >= max) {
    // nats-server binds the account first, so the close line names it; the refusal is logged
    // once more when the CONNECT fails.
    leaf.account = acc;
    leaf.bound = true;
    mode.maxAccountConnExceeded(leaf);
    server.log.errorc(leaf, "maximum account active connections exceeded");
    return false;
  }
  leaf.user = r.user.sub;
  leaf.jwt = {
    jwt: co.jwt ?? "",
    claims: r.user,
    signingKey: r.signingKey ?? "",
    limits: { subs: r.limits.subs, payload: r.limits.payload },
    expiryTimer: undefined,
  };
  leaf.setAccount(acc);
  leaf.bound = true;
  leaf.leafPerms = r.permissions ? new LeafPermissions(r.permissions, true) : null;
  jetstreamDeniedNotice(leaf, r.permissions, "Leafnode");
  if (r.expiresInMs !== null) {
    leaf.jwt.expiryTimer = longTimer(r.expiresInMs, () => {
      leaf.sendErr("User Authentication Expired");
      server.log.debugc(leaf, "User Authentication Expired");
      leaf.close(ClosedState.AuthenticationExpired);
    });
  }
  server.log.debugc(
    leaf,
    `${authenticatedJwtLog(r, "Leafnode", acc.mappings !== null)} accused ${accountId(acc)}`,
  );
  return true;
}
