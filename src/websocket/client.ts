/**
 * A client connected over websocket: the same Client (parser, auth, permissions, limits,
 * outbound buffer) on a WsTransport, with what nats-server does differently for such clients:
 * the "wid:" log prefix, the websocket block's authorization override, and an INFO whose
 * connect_urls list the cluster's websocket listeners.
 */

import { Client } from "../client.ts";
import type { Server } from "../server.ts";
import type { PeerAddress } from "../transport.ts";
import { checkPassword, isBcrypt } from "../password.ts";
import type { WsTransport } from "./transport.ts";
import type { WebsocketOptions } from "./options.ts";

/** What a websocket client needs from its listener. */
export interface WsListenerView {
  readonly options: WebsocketOptions;
  /** The websocket block sets its own user, token or no_auth_user (nats-server's authOverride). */
  readonly authOverride: boolean;
  /** The cluster's websocket URLs for INFO connect_urls; empty leaves the field out. */
  connectUrls(): string[];
}

export class WsClient extends Client {
  /** /connz "type". */
  readonly clientType = "websocket";
  override readonly connectionType: string = "WEBSOCKET";
  readonly ws: WsTransport;
  readonly listener: WsListenerView;

  constructor(server: Server, ws: WsTransport, peer: PeerAddress, cid: number, l: WsListenerView) {
    super(server, ws, peer, cid);
    this.ws = ws;
    this.listener = l;
  }

  /** nats-server's: "wid" for websocket clients, X-Forwarded-For in front of the address. */
  protected override baseConnString(): string {
    const fwd = this.ws.upgrade.clientIp;
    const ip = fwd === "" ? "" : (fwd.includes(":") ? `[${fwd}]/` : `${fwd}/`);
    return `${ip}${this.peer.host}:${this.peer.port} - wid:${this.cid}`;
  }

  override authRequired(): boolean {
    return this.server.authRequired || this.listener.authOverride;
  }

  override authTimeoutMs(serverMs: number): number {
    const t = this.listener.options.authTimeout;
    return t > 0 ? t * 1000 : serverMs;
  }

  override loginNoAuthUser(): boolean {
    if (!this.listener.authOverride) return super.loginNoAuthUser();
    return this.server.loginNoAuthUser(this, this.listener.options.noAuthUser);
  }

  /**
   * With an override, the websocket block's user, token or no_auth_user replace the server's
   * single user and token; configured users (and nkeys) still log in as themselves.
   */
  override authenticate(): boolean | Promise<boolean> {
    if (!this.listener.authOverride) return super.authenticate();
    const co = this.opts;
    const wo = this.listener.options;
    const users = this.server.opts.users;
    if (co.nkey) return super.authenticate();
    const user = co.user ?? "";
    if (users.length > 0) {
      const noCredentials = user === "" && (co.pass ?? "") === "" && (co.auth_token ?? "") === "";
      if (noCredentials && this.loginNoAuthUser()) return true;
      if (user !== "") {
        if (users.some((u) => !u.nkey && u.username === user)) return super.authenticate();
        return this.#refuse();
      }
    }
    if (wo.token !== "") return this.#check(co.auth_token ?? "", wo.token, co.auth_token ?? "");
    if (wo.username !== "" && user === wo.username) {
      return this.#check(co.pass ?? "", wo.password, user);
    }
    return this.#refuse();
  }

  #check(given: string, stored: string, who: string): boolean | Promise<boolean> {
    const done = (ok: boolean): boolean => {
      if (this.closed) return false;
      if (!ok) return this.#refuse();
      // /connz auth=1 shows what nats-server shows: the user name, or the token.
      this.user = who;
      this.setPermissions(null);
      return true;
    };
    if (isBcrypt(stored)) return checkPassword(given, stored).then(done);
    return done(given === stored);
  }

  #refuse(): false {
    this.server.authViolation(this);
    return false;
  }

  /**
   * nats-server gives websocket clients the INFO of the client listener, with auth_required
   * also set by the override and connect_urls naming websocket listeners (ours and the
   * cluster's) instead of the client ones.
   */
  override customizeInfo(info: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const urls = this.listener.connectUrls();
    const auth = info.auth_required === true || this.listener.authOverride;
    for (const [k, v] of Object.entries(info)) {
      if (k === "auth_required" || k === "connect_urls") continue;
      out[k] = v;
      if (k === "headers" && auth) out.auth_required = true;
      if (k === "cluster" && urls.length > 0) out.connect_urls = urls;
    }
    return out;
  }
}
