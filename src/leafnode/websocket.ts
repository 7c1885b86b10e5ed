/**
 * Leafnode connections over websocket, the side that makes them: a remote whose URLs are
 * `ws://` or `wss://` sends the HTTP upgrade on the path `/leafnode` (which tells the accepting
 * server this is a leafnode, not a client), after TLS for `wss`, the way nats-server's
 * leafNodeSolicitWSConnection writes it; then the leafnode protocol runs in websocket frames,
 * masked unless the other side accepted `Nats-No-Masking`, compressed when both agreed.
 */

import { acceptKey, type Upgrade } from "../websocket/handshake.ts";
import { WsTransport } from "../websocket/transport.ts";
import type { Transport } from "../transport.ts";
import { goQuote } from "../conf/go_format.ts";

/** nats-server's leafNodeWSPath. */
export const LEAF_WS_PATH = "/leafnode";
const PMC_REQUEST = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
const MAX_RESPONSE = 4096;

const enc = new TextEncoder();
const dec = new TextDecoder();

export function isWsUrl(u: URL): boolean {
  return u.protocol.toLowerCase().startsWith("ws");
}

export function isWssUrl(u: URL): boolean {
  return u.protocol.toLowerCase().startsWith("wss");
}

/** A refused or failed upgrade, with nats-server's text ("invalid websocket connection"...). */
export class WsSolicitError extends Error {
  override name = "WsSolicitError";
}

/** What the other side agreed to. */
export interface WsNegotiated {
  compress: boolean;
  maskWrites: boolean;
}

/**
 * The request Go's http.Request.Write sends for nats-server: Host and User-Agent first, then
 * the headers sorted by name (as Go keeps them: `Sec-WebSocket-Key` as set, the added ones
 * canonicalized).
 */
export function upgradeRequest(
  u: URL,
  key: string,
  compress: boolean,
  noMasking: boolean,
): string {
  // nats-server appends the URL's path without its leading slash.
  const path = LEAF_WS_PATH + u.pathname.replace(/^\//, "");
  const headers: [string, string][] = [
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", "13"],
    ["Upgrade", "websocket"],
  ];
  if (compress) headers.push(["Sec-Websocket-Extensions", PMC_REQUEST]);
  if (noMasking) headers.push(["Nats-No-Masking", "true"]);
  headers.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const host = `${u.hostname}:${wsPort(u)}`;
  let out = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: Go-http-client/1.1\r\n`;
  for (const [k, v] of headers) out += `${k}: ${v}\r\n`;
  return out + "\r\n";
}

/**
 * The port of a remote URL. The config always writes one, but URL parsing drops a ws URL's
 * default port (80, or 443 for wss).
 */
export function wsPort(u: URL): number {
  if (u.port !== "") return Number(u.port);
  return isWssUrl(u) ? 443 : 80;
}

/** A transport that hands out bytes read past the HTTP response before reading more. */
class Prefixed implements Transport {
  #pre: Uint8Array | null;
  constructor(readonly inner: Transport, pre: Uint8Array) {
    this.#pre = pre.length > 0 ? pre : null;
  }

  read(buf: Uint8Array): Promise<number | null> {
    const pre = this.#pre;
    if (pre === null) return this.inner.read(buf);
    const n = Math.min(buf.length, pre.length);
    buf.set(pre.subarray(0, n));
    this.#pre = n === pre.length ? null : pre.subarray(n);
    return Promise.resolve(n);
  }

  write(buf: Uint8Array): Promise<number> {
    return this.inner.write(buf);
  }

  close(): void {
    this.inner.close();
  }
}

/** Reads the response head; returns it and whatever came after it. */
async function readResponse(t: Transport): Promise<{ head: string; rest: Uint8Array }> {
  const buf = new Uint8Array(MAX_RESPONSE);
  let len = 0;
  while (true) {
    if (len === buf.length) throw new WsSolicitError("net/http: response headers too large");
    const n = await t.read(buf.subarray(len));
    if (n === null) throw new WsSolicitError(len === 0 ? "EOF" : "unexpected EOF");
    const from = Math.max(0, len - 3);
    len += n;
    for (let i = from; i + 3 < len; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
        return { head: dec.decode(buf.subarray(0, i)), rest: buf.slice(i + 4, len) };
      }
    }
  }
}

/** Whether a header's comma-separated tokens hold `value` (case-insensitive). */
function has(headers: Map<string, string>, name: string, value: string): boolean {
  return (headers.get(name) ?? "").split(",").some((t) =>
    t.trim().toLowerCase() === value.toLowerCase()
  );
}

/**
 * nats-server's wsPMCExtensionSupport for a response: whether permessage-deflate was accepted,
 * and whether both sides' context takeover is off (the only mode either server speaks).
 */
function deflateAccepted(headers: Map<string, string>): [boolean, boolean] {
  const value = headers.get("sec-websocket-extensions");
  if (value === undefined) return [false, false];
  for (const ext of value.split(",")) {
    const params = ext.split(";").map((p) => p.trim().toLowerCase());
    if (params[0] !== "permessage-deflate") continue;
    const noCtx = params.includes("server_no_context_takeover") &&
      params.includes("client_no_context_takeover");
    return [true, noCtx];
  }
  return [false, false];
}

/**
 * Sends the upgrade on `conn` (already TLS for wss) and checks the answer. Returns the websocket
 * transport the leafnode protocol runs on, and what was negotiated.
 */
export async function solicitWebsocket(
  conn: Transport,
  u: URL,
  wanted: { compress: boolean; noMasking: boolean },
  transportOptions: {
    maxInflated: number;
    closeTimeoutMs: number;
    onError: (m: string) => void;
  },
  timeoutMs: number,
): Promise<{ ws: WsTransport; negotiated: WsNegotiated }> {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const req = enc.encode(upgradeRequest(u, key, wanted.compress, wanted.noMasking));
  let off = 0;
  while (off < req.length) off += await conn.write(req.subarray(off));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WsSolicitError("i/o timeout")), timeoutMs);
  });
  let head: string;
  let rest: Uint8Array;
  try {
    ({ head, rest } = await Promise.race([readResponse(conn), timeout]));
  } finally {
    clearTimeout(timer);
  }
  const lines = head.split("\r\n");
  const status = /^HTTP\/\d\.\d (\d{3})(?: .*)?$/.exec(lines[0]);
  if (!status) throw new WsSolicitError(`malformed HTTP response ${goQuote(lines[0])}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new WsSolicitError(`malformed MIME header line: ${line}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  if (
    status[1] !== "101" || !has(headers, "upgrade", "websocket") ||
    !has(headers, "connection", "upgrade") ||
    headers.get("sec-websocket-accept") !== acceptKey(key)
  ) {
    throw new WsSolicitError("invalid websocket connection");
  }
  let compress = wanted.compress;
  if (compress) {
    const [accepted, noCtx] = deflateAccepted(headers);
    if (!accepted) compress = false;
    else if (!noCtx) throw new WsSolicitError("compression negotiation error");
  }
  const maskWrites = !wanted.noMasking || headers.get("nats-no-masking") !== "true";
  const upgrade: Upgrade = {
    compress,
    // What the other side sends is never masked (it is the server).
    noMasking: true,
    browser: false,
    noCompressedFragments: false,
    cookieJwt: "",
    clientIp: "",
    kind: "leafnode",
  };
  const ws = new WsTransport(new Prefixed(conn, rest), upgrade, {
    ...transportOptions,
    maskWrites,
  });
  return { ws, negotiated: { compress, maskWrites } };
}
