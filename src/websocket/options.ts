/**
 * The `websocket {}` block's settings, defaults and the start-up checks nats-server 2.9.10 makes
 * on them (validateWebsocketOptions), with its error texts.
 */

import type { TlsOptions, User } from "../options.ts";

export interface WebsocketOptions {
  host: string;
  /** 0: no websocket listener; -1: a random port. */
  port: number;
  /** host:port given to websocket clients in INFO connect_urls instead of the listener's. */
  advertise: string;
  /** Overrides the top-level no_auth_user for websocket clients. */
  noAuthUser: string;
  /** Cookie holding a user JWT, used when the CONNECT has none (needs trusted operators). */
  jwtCookie: string;
  // The authorization block: when any of username/token/no_auth_user is set, it replaces the
  // server's single user or token for websocket clients (users lists still apply).
  username: string;
  password: string;
  token: string;
  /** Seconds; 0 keeps the server's auth timeout. */
  authTimeout: number;
  /** Allows a listener without TLS; ignored when a tls block is present. */
  noTls: boolean;
  tls?: TlsOptions;
  sameOrigin: boolean;
  allowedOrigins: string[];
  compression: boolean;
  /** 0: none, as nats-server (we still bound it, see listener.ts). */
  handshakeTimeoutMs: number;
}

export function defaultWebsocketOptions(): WebsocketOptions {
  return {
    host: "",
    port: 0,
    advertise: "",
    noAuthUser: "",
    jwtCookie: "",
    username: "",
    password: "",
    token: "",
    authTimeout: 0,
    noTls: false,
    sameOrigin: false,
    allowedOrigins: [],
    compression: false,
    handshakeTimeoutMs: 0,
  };
}

/** The parts of the server options the websocket checks read. */
interface ServerSide {
  websocket: WebsocketOptions;
  users: User[];
  trustedOperators: unknown[];
  trustedKeys: string[] | null;
}

/** nats-server's validateWebsocketOptions: only when a port is configured. */
export function validateWebsocketOptions(o: ServerSide): void {
  const wo = o.websocket;
  if (wo.port === 0) return;
  if (!wo.tls && !wo.noTls) throw new Error("websocket requires TLS configuration");
  for (const ao of wo.allowedOrigins) {
    const problem = originParseError(ao);
    if (problem !== null) throw new Error(`unable to parse allowed origin: ${problem}`);
  }
  if (wo.noAuthUser !== "") {
    if (o.users.length === 0) {
      throw new Error(`no_auth_user: "${wo.noAuthUser}" present, but users are not defined`);
    }
    if (!o.users.some((u) => !u.nkey && u.username === wo.noAuthUser)) {
      throw new Error(
        `no_auth_user: "${wo.noAuthUser}" not present as user in authorization block or ` +
          `account configuration`,
      );
    }
  }
  if (o.users.length > 0) {
    if (wo.username !== "") {
      throw new Error(
        "websocket authentication username not compatible with presence of users/nkeys",
      );
    }
    if (wo.token !== "") {
      throw new Error("websocket authentication token not compatible with presence of users/nkeys");
    }
  }
  if (wo.jwtCookie !== "" && o.trustedOperators.length === 0 && o.trustedKeys === null) {
    // Only trusted operators can vouch for the JWT a cookie carries.
    throw new Error(
      `trusted operators or trusted keys configuration is required for JWT authentication ` +
        `via cookie "${wo.jwtCookie}"`,
    );
  }
}

/**
 * What Go's url.Parse rejects in an allowed origin (it accepts almost anything): control
 * characters, a bad percent escape, an unclosed IPv6 bracket, a non-numeric port.
 */
export function originParseError(s: string): string | null {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(s)) {
    return `parse ${JSON.stringify(s)}: net/url: invalid control character in URL`;
  }
  const esc = /%(?![0-9a-fA-F]{2})(.{0,2})/.exec(s);
  if (esc) return `parse ${JSON.stringify(s)}: invalid URL escape "%${esc[1]}"`;
  if (s.startsWith(":")) return `parse ${JSON.stringify(s)}: missing protocol scheme`;
  const auth = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(s);
  if (auth) {
    const host = auth[1].slice(auth[1].lastIndexOf("@") + 1);
    if (host.startsWith("[") && !host.includes("]")) {
      return `parse ${JSON.stringify(s)}: missing ']' in host`;
    }
    const port = host.startsWith("[") ? host.slice(host.indexOf("]") + 1) : host;
    const colon = port.lastIndexOf(":");
    if (colon >= 0 && !/^[0-9]*$/.test(port.slice(colon + 1))) {
      return `parse ${JSON.stringify(s)}: invalid port ${
        JSON.stringify(port.slice(colon))
      } after host`;
    }
  }
  return null;
}
