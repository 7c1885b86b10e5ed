/**
 * Authentication of an accepted leafnode connection, as nats-server's isLeafNodeAuthorized:
 *
 * 1. `leafnodes { authorization { user, pass, account } }`: that one user, bound to that account;
 * 2. `leafnodes { authorization { users: [...] } }`: one of them (by the TLS certificate with
 *    `verify_and_map`), bound to its account;
 * 3. otherwise the server's own users: an nkey user (signature over the INFO nonce), or a user
 *    by name and password (or `no_auth_user`), bound to the user's account with the user's
 *    permissions; a leaf that names no user binds to the leafnode `account` (or `$G`). The
 *    server's token and single user/password are for clients only.
 *
 * Passwords may be bcrypt hashes (checked off the event loop, hence the Promise).
 */

import type { Server } from "../server.ts";
import type { Permissions } from "../options.ts";
import { checkPassword, isBcrypt } from "../password.ts";
import { verifyNonceSignature } from "../nkeys.ts";
import { certIdentities } from "../tls.ts";
import { LeafPermissions } from "./perms.ts";
import type { Leaf } from "./connection.ts";
import type { Account } from "../accounts/account.ts";

type Verdict = boolean | Promise<boolean>;

function passwordMatches(stored: string, given: string, then: (ok: boolean) => Verdict): Verdict {
  if (isBcrypt(stored)) return checkPassword(given, stored).then(then);
  return then(stored === given);
}

export function authenticateLeaf(s: Server, leaf: Leaf): Verdict {
  const ln = s.opts.leafnode;
  const o = leaf.opts;
  const bind = (username: string, password: string, account: string): Verdict => {
    if (username !== (o.user ?? "")) return false;
    return passwordMatches(password, o.pass ?? "", (ok) => ok && bindAccount(s, leaf, account));
  };
  if (ln.username !== "") return bind(ln.username, ln.password, ln.account);
  if (ln.users.length > 0) {
    if (ln.tls?.verifyAndMap) {
      const ids = leaf.tlsInfo?.peer ? certIdentities(leaf.tlsInfo.peer) : [];
      const user = ln.users.find((u) => ids.includes(u.username));
      if (!user) return false;
      if (o.user) {
        s.log.warn(
          `User ${JSON.stringify(o.user)} found in connect proto, but user required from cert`,
        );
      }
      o.user = user.username;
      return bind(user.username, user.password, user.account);
    }
    const user = ln.users.find((u) => u.username === (o.user ?? ""));
    if (!user) return false;
    return bind(user.username, user.password, user.account);
  }
  return serverUsers(s, leaf);
}

/** nats-server's processClientOrLeafAuthentication, for a LEAF connection. */
function serverUsers(s: Server, leaf: Leaf): Verdict {
  const o = leaf.opts;
  if (!s.authRequired) return bindAccount(s, leaf, "");
  // Operator mode: a user JWT and the nonce's signature (src/operator/leaf_jwt.ts).
  if (s.operator !== null) return s.operator.authenticateLeaf(leaf);
  const kinds = s.userKinds;
  if (kinds.nkeys && o.nkey) {
    const u = s.lookupUser(o.nkey, true);
    if (!u) return false;
    const nkey = o.nkey;
    return verifyNonceSignature(nkey, leaf.nonce, o.sig ?? "").then((ok) => {
      if (!ok || leaf.closed) return false;
      leaf.user = nkey;
      return bindUser(s, leaf, u.account.name, u.permissions);
    });
  }
  if (kinds.users) {
    if (s.opts.leafnode.tls?.verifyAndMap) {
      const ids = leaf.tlsInfo?.peer ? certIdentities(leaf.tlsInfo.peer) : [];
      const name = ids.find((id) => s.lookupUser(id) !== undefined);
      if (name === undefined) return false;
      const u = s.lookupUser(name)!;
      leaf.user = name;
      return bindUser(s, leaf, u.account.name, u.permissions);
    }
    // A leaf that came in on the websocket port takes that block's no_auth_user, if it has one.
    const wsNoAuth = leaf.isWebsocket ? s.opts.websocket.noAuthUser : "";
    const noAuth = wsNoAuth !== "" ? wsNoAuth : s.opts.noAuthUser;
    if (noAuth !== "" && !o.user && !o.pass && !o.auth_token) {
      const u = s.lookupUser(noAuth);
      if (u) {
        leaf.user = noAuth;
        return bindUser(s, leaf, u.account.name, u.permissions);
      }
    }
    if (o.user) {
      const u = s.lookupUser(o.user);
      if (!u) return false;
      const name = o.user;
      return passwordMatches(u.password, o.pass ?? "", (ok) => {
        if (!ok || leaf.closed) return false;
        leaf.user = name;
        return bindUser(s, leaf, u.account.name, u.permissions);
      });
    }
  }
  // No credentials asked for, none given: the leafnode account (or the global one).
  return bindAccount(s, leaf, s.opts.leafnode.account);
}

/** RegisterUser: the user's account, and the user's permissions read the hub's way. */
function bindUser(s: Server, leaf: Leaf, account: string, perms: Permissions | undefined) {
  if (!bindTo(leaf, s.accountFor(account))) return false;
  leaf.leafPerms = perms ? new LeafPermissions(perms, true) : null;
  return true;
}

/**
 * registerLeafWithAccount: "" is the global account; an account's leafnode limit applies. In
 * operator mode the account (a public key) is looked up through the resolver.
 */
function bindAccount(s: Server, leaf: Leaf, name: string): Verdict {
  const fail = (why: string) => {
    s.log.error(
      `authentication of user ${
        JSON.stringify(leaf.opts.user ?? "")
      } failed, unable to lookup account ${JSON.stringify(name)}: ${why}`,
    );
    return false;
  };
  let acc = name === "" ? s.globalAccount : s.accounts.get(name);
  if (!acc && s.operator !== null) {
    try {
      const found = s.operator.lookupAccount(name);
      if (!(found instanceof Promise)) acc = found;
      else {
        return found.then(
          (a) => !leaf.closed && bindTo(leaf, a),
          (e) => fail((e as Error).message),
        );
      }
    } catch (e) {
      return fail((e as Error).message);
    }
  }
  if (!acc) return fail("account not found");
  return bindTo(leaf, acc);
}

function bindTo(leaf: Leaf, acc: Account): boolean {
  const max = acc.limits.maxLeafnodes;
  if (max >= 0 && leaf.leafnodes.countFor(acc) >= max) return false;
  leaf.setAccount(acc);
  leaf.bound = true;
  return true;
}
