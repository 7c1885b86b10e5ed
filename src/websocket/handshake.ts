/**
 * The HTTP upgrade that turns an accepted connection into a websocket (RFC 6455 §4.2), checked
 * the way nats-server's wsUpgrade checks it, answered with the bytes Go's HTTP server writes: the
 * same status lines, headers and bodies for refusals, the same 101 response on success.
 */

import type * as crypto from "node:crypto";
import type * as net from "node:net";
import { nodeBuiltin } from "../node_builtin.ts";
import type { Transport } from "../transport.ts";
import { splitHostPort } from "../config.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Request headers larger than this are refused (Go allows 1 MiB; one connection, one buffer). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** An HTTP request head: header names are lower-cased, each with all of its values. */
export interface HttpRequest {
  method: string;
  target: string;
  version: string;
  headers: Map<string, string[]>;
}

/** What the upgrade negotiated, for the connection that follows. */
export interface Upgrade {
  compress: boolean;
  /** The client asked (Nats-No-Masking) to send unmasked frames. */
  noMasking: boolean;
  /** A browser (User-Agent "Mozilla/..."): frames are kept to 4 KiB. */
  browser: boolean;
  /** Safari: compressed messages are never split into several frames. */
  noCompressedFragments: boolean;
  /** The JWT cookie's value, when jwt_cookie names a cookie the request has. */
  cookieJwt: string;
  /** X-Forwarded-For, when it is an IP address: shown in log lines. */
  clientIp: string;
  /** Who the connection is for, by URL path (nats-server routes /leafnode and /mqtt apart). */
  kind: "client" | "leafnode" | "mqtt";
}

/** A refused upgrade: the HTTP status to answer with and the reason to log. */
export class HandshakeError extends Error {
  override name = "HandshakeError";
  /** 0: close without answering (nats-server can no longer answer at that point). */
  readonly status: number;
  constructor(status: number, reason: string) {
    super(reason);
    this.status = status;
  }
}

export interface OriginPolicy {
  sameOrigin: boolean;
  /** Allowed origins by lower-cased host. */
  allowed: Map<string, { scheme: string; port: string }>;
}

export interface UpgradeSettings {
  compression: boolean;
  jwtCookie: string;
  origins: OriginPolicy;
  /** The listener is wss (the default port of a same-origin check is then 443). */
  tls: boolean;
}

const dec = new TextDecoder();

/**
 * Reads a request head (up to the blank line) from a fresh connection. Bytes after it mean the
 * client did not wait for the 101: nats-server refuses that.
 */
export async function readRequest(conn: Transport): Promise<string> {
  let buf = new Uint8Array(1024);
  let len = 0;
  while (true) {
    if (len === buf.length) {
      if (buf.length >= MAX_REQUEST_BYTES) {
        throw new HandshakeError(431, "request header fields too large");
      }
      const next = new Uint8Array(buf.length * 2);
      next.set(buf);
      buf = next;
    }
    const n = await conn.read(buf.subarray(len));
    if (n === null) throw new HandshakeError(0, "EOF");
    const from = Math.max(0, len - 3);
    len += n;
    for (let i = from; i + 3 < len; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
        if (i + 4 < len) {
          throw new HandshakeError(0, "client sent data before handshake is complete");
        }
        return dec.decode(buf.subarray(0, i));
      }
    }
  }
}

/** Parses a request head; null when it is not HTTP (Go answers a plain 400). */
export function parseRequest(head: string): HttpRequest | null {
  const lines = head.split("\r\n");
  const m = /^([A-Za-z]+) (\S+) HTTP\/(\d\.\d)$/.exec(lines[0]);
  if (!m) return null;
  const headers = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) return null;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const list = headers.get(name);
    if (list) list.push(value);
    else headers.set(name, [value]);
  }
  return { method: m[1], target: m[2], version: m[3], headers };
}

function header(req: HttpRequest, name: string): string {
  return req.headers.get(name)?.[0] ?? "";
}

/** Whether a comma-separated header has `value` among its tokens (case-insensitive). */
function headerHas(req: HttpRequest, name: string, value: string): boolean {
  const want = value.toLowerCase();
  for (const v of req.headers.get(name) ?? []) {
    for (const t of v.split(",")) {
      if (t.trim().toLowerCase() === want) return true;
    }
  }
  return false;
}

/** Checks an upgrade request; throws HandshakeError with nats-server's status and reason. */
export function checkUpgrade(req: HttpRequest, s: UpgradeSettings): Upgrade {
  if (req.method !== "GET") throw new HandshakeError(405, "request method must be GET");
  if (header(req, "host") === "") throw new HandshakeError(400, "'Host' missing in request");
  if (!headerHas(req, "upgrade", "websocket")) {
    throw new HandshakeError(400, "invalid value for header 'Upgrade'");
  }
  if (!headerHas(req, "connection", "upgrade")) {
    throw new HandshakeError(400, "invalid value for header 'Connection'");
  }
  if (header(req, "sec-websocket-key") === "") throw new HandshakeError(400, "key missing");
  if (!headerHas(req, "sec-websocket-version", "13")) {
    throw new HandshakeError(400, "invalid version");
  }
  const originProblem = checkOrigin(req, s.origins, s.tls);
  if (originProblem !== null) {
    throw new HandshakeError(403, `origin not allowed: ${originProblem}`);
  }
  // Sec-WebSocket-Protocol is not answered: NATS defines no subprotocol (nats-server ignores it).
  const compress = s.compression && offersDeflate(req);
  const ua = header(req, "user-agent");
  const browser = ua.startsWith("Mozilla/");
  const forwarded = header(req, "x-forwarded-for");
  const path = req.target.replace(/^[a-z]+:\/\/[^/]*/i, "");
  return {
    compress,
    noMasking: header(req, "nats-no-masking") === "true",
    browser,
    noCompressedFragments: browser && compress && ua.includes("Version/") &&
      ua.includes("Safari/"),
    cookieJwt: s.jwtCookie === "" ? "" : cookie(req, s.jwtCookie),
    clientIp: nodeBuiltin<typeof net>("node:net").isIP(forwarded) !== 0 ? forwarded : "",
    kind: path.startsWith("/leafnode") ? "leafnode" : path.startsWith("/mqtt") ? "mqtt" : "client",
  };
}

/** Whether the client offers permessage-deflate (its parameters do not matter: see accept). */
function offersDeflate(req: HttpRequest): boolean {
  for (const v of req.headers.get("sec-websocket-extensions") ?? []) {
    for (const ext of v.split(",")) {
      for (const p of ext.split(";")) {
        if (p.trim().toLowerCase() === "permessage-deflate") return true;
      }
    }
  }
  return false;
}

function cookie(req: HttpRequest, name: string): string {
  for (const v of req.headers.get("cookie") ?? []) {
    for (const part of v.split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === name) {
        return part.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
      }
    }
  }
  return "";
}

/**
 * nats-server's checkOrigin: any origin when neither same_origin nor allowed_origins is set, or
 * when the request has no Origin (a non-browser client can send anything anyway). Returns the
 * reason for a refusal, or null.
 */
export function checkOrigin(req: HttpRequest, p: OriginPolicy, tls: boolean): string | null {
  if (!p.sameOrigin && p.allowed.size === 0) return null;
  let origin = header(req, "origin");
  if (origin === "") origin = header(req, "sec-websocket-origin");
  if (origin === "") return null;
  const u = parseRequestUri(origin);
  if (typeof u === "string") return u;
  const o = hostAndPort(u.scheme === "https", u.host);
  if (typeof o === "string") return o;
  if (p.sameOrigin) {
    const r = hostAndPort(tls, header(req, "host"));
    if (typeof r === "string") return r;
    if (o.host !== r.host || o.port !== r.port) return "not same origin";
  }
  if (p.allowed.size > 0) {
    const ao = p.allowed.get(o.host);
    if (!ao || ao.scheme !== u.scheme || ao.port !== o.port) return "not in the allowed list";
  }
  return null;
}

/** Builds the allowed-origins table; entries that do not parse are reported and skipped. */
export function originPolicy(
  sameOrigin: boolean,
  origins: string[],
  report: (msg: string) => void,
): OriginPolicy {
  const allowed = new Map<string, { scheme: string; port: string }>();
  for (const ao of origins) {
    const u = parseRequestUri(ao);
    if (typeof u === "string") {
      report(`error parsing allowed origin: ${u}`);
      continue;
    }
    const hp = hostAndPort(u.scheme === "https", u.host);
    if (typeof hp === "string") continue;
    allowed.set(hp.host, { scheme: u.scheme, port: hp.port });
  }
  return { sameOrigin, allowed };
}

/** The scheme and host:port of a URL the way Go's url.ParseRequestURI reads them. */
function parseRequestUri(s: string): { scheme: string; host: string } | string {
  const q = JSON.stringify(s);
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(s);
  if (!m) {
    if (s.startsWith("/")) return { scheme: "", host: "" };
    return `parse ${q}: invalid URI for request`;
  }
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  if (!rest.startsWith("//")) return { scheme, host: "" };
  const authority = rest.slice(2).split(/[/?#]/)[0];
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    if (end < 0) return `parse ${q}: missing ']' in host`;
    const after = host.slice(end + 1);
    if (after !== "" && !/^:[0-9]*$/.test(after)) {
      return `parse ${q}: invalid port ${JSON.stringify(after)} after host`;
    }
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0 && !/^[0-9]*$/.test(host.slice(colon + 1))) {
      return `parse ${q}: invalid port ${JSON.stringify(host.slice(colon))} after host`;
    }
  }
  return { scheme, host };
}

/** Host (lower-cased) and port, the port defaulting to the scheme's (Go's wsGetHostAndPort). */
function hostAndPort(tls: boolean, hostport: string): { host: string; port: string } | string {
  const hp = splitHostPort(hostport);
  if (hp) return { host: hp.host.toLowerCase(), port: hp.port };
  const bare = hostport.startsWith("[") && hostport.endsWith("]")
    ? hostport.slice(1, -1)
    : hostport;
  if (hostport.includes(":") && !(hostport.startsWith("[") && hostport.endsWith("]"))) {
    return `address ${hostport}: too many colons in address`;
  }
  return { host: bare.toLowerCase(), port: tls ? "443" : "80" };
}

/** Sec-WebSocket-Accept for a client key. */
export function acceptKey(key: string): string {
  const { createHash } = nodeBuiltin<typeof crypto>("node:crypto");
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** The 101 response, headers in nats-server's order. */
export function upgradeResponse(req: HttpRequest, up: Upgrade): string {
  let out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${acceptKey(header(req, "sec-websocket-key"))}\r\n`;
  // Always without context takeover: each message is compressed on its own (RFC 7692 §7.1.1).
  if (up.compress) {
    out += "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; " +
      "client_no_context_takeover\r\n";
  }
  if (up.noMasking) out += "Nats-No-Masking: true\r\n";
  return out + "\r\n";
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
};

/** A refusal, as Go's http.Error writes it from nats-server's handler. */
export function errorResponse(status: number, httpVersion: string): string {
  const text = STATUS_TEXT[status] ?? "Bad Request";
  const body = text + "\n";
  return `HTTP/${httpVersion === "1.0" ? "1.0" : "1.1"} ${status} ${text}\r\n` +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    "Sec-Websocket-Version: 13\r\n" +
    "X-Content-Type-Options: nosniff\r\n" +
    `Date: ${new Date().toUTCString()}\r\n` +
    `Content-Length: ${body.length}\r\n\r\n` + body;
}

/** What Go's HTTP server answers, before any handler, to a request it cannot parse. */
export function malformedResponse(missingHost: boolean): string {
  const status = missingHost ? "400 Bad Request: missing required Host header" : "400 Bad Request";
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Connection: close\r\n\r\n${status}`;
}
