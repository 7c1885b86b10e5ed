/**
 * The websocket parts of /varz, as nats-server reports them: the `websocket` options block
 * (every field omitted when empty, handshake_timeout in nanoseconds).
 */

import type { WebsocketListener } from "./listener.ts";
import type { WebsocketOptions } from "./options.ts";

/** The `websocket` object of /varz; `{}` when there is no websocket listener. */
export function websocketVarz(
  o: WebsocketOptions,
  l: WebsocketListener | null,
): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  const host = l ? l.host : o.host;
  if (host !== "") v.host = host;
  const port = l ? l.port : o.port;
  if (port !== 0) v.port = port;
  if (o.advertise !== "") v.advertise = o.advertise;
  if (o.noAuthUser !== "") v.no_auth_user = o.noAuthUser;
  if (o.jwtCookie !== "") v.jwt_cookie = o.jwtCookie;
  if (o.handshakeTimeoutMs > 0) v.handshake_timeout = o.handshakeTimeoutMs * 1_000_000;
  if (o.authTimeout > 0) v.auth_timeout = o.authTimeout;
  if (o.noTls) v.no_tls = true;
  if (o.tls?.verifyAndMap) v.tls_map = true;
  if (o.sameOrigin) v.same_origin = true;
  if (o.allowedOrigins.length > 0) v.allowed_origins = [...o.allowedOrigins];
  if (o.compression) v.compression = true;
  return v;
}
