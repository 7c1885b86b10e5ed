/**
 * What is kept of a closed client connection for /connz?state=closed: the fields /connz reports,
 * copied at close, so the Client itself (its parser, buffers, socket and everything they hold,
 * ~12 KB each) can be collected. nats-server keeps max_closed_clients (10,000 by default) of
 * these, so what one of them holds is multiplied by that.
 */

import type { ClientJwt } from "../operator/state.ts";
import type { Client } from "../client.ts";
import type { PeerAddress } from "../transport.ts";

/** The subscription fields /connz lists (nats-server's SubDetail), owner included. */
export interface SubView {
  readonly subject: string;
  readonly queue: string;
  readonly sid: string;
  readonly delivered: number;
  readonly max: number;
  readonly client: { readonly cid: number; readonly account: { readonly name: string } };
}

/** The connection fields /connz reports: an open Client has them, and so does a closed record. */
export interface ConnView {
  readonly cid: number;
  readonly clientType?: string;
  readonly peer: PeerAddress;
  readonly start: number;
  readonly last: number;
  readonly stop: number;
  readonly closeReason: string;
  readonly rtt: number;
  readonly pendingAtClose: number;
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly inBytes: number;
  readonly outBytes: number;
  readonly subs: ReadonlyMap<string, SubView>;
  readonly opts: {
    readonly name?: string;
    readonly lang?: string;
    readonly version?: string;
    readonly user?: string;
    readonly nkey?: string;
    readonly auth_token?: string;
  };
  readonly user: string;
  readonly tlsInfo: { readonly version: string; readonly cipher: string } | null;
  readonly account: { readonly name: string };
  readonly out: { readonly pending: number };
  /** Operator mode: the user JWT it logged in with (/connz shows its jwt, issuer, tags). */
  readonly jwt: ClientJwt | null;
}

const NO_SUBS: ReadonlyMap<string, SubView> = new Map();
const NOTHING_PENDING = { pending: 0 } as const;

/** A closed client reduced to what /connz shows of it. */
export function closedConn(c: Client): ConnView {
  const account = { name: c.account.name };
  const owner = { cid: c.cid, account };
  let subs = NO_SUBS;
  if (c.subs.size > 0) {
    const m = new Map<string, SubView>();
    for (const [sid, s] of c.subs) {
      m.set(sid, {
        subject: s.subject,
        queue: s.queue,
        sid: s.sid,
        delivered: s.delivered,
        max: s.max,
        client: owner,
      });
    }
    subs = m;
  }
  const o = c.opts;
  const opts: { -readonly [K in keyof ConnView["opts"]]: ConnView["opts"][K] } = {};
  if (o.name) opts.name = o.name;
  if (o.lang) opts.lang = o.lang;
  if (o.version) opts.version = o.version;
  if (o.user) opts.user = o.user;
  if (o.nkey) opts.nkey = o.nkey;
  if (o.auth_token) opts.auth_token = o.auth_token;
  const clientType = (c as { clientType?: string }).clientType;
  return {
    cid: c.cid,
    ...(clientType !== undefined ? { clientType } : {}),
    peer: { host: c.peer.host, port: c.peer.port },
    start: c.start,
    last: c.last,
    stop: c.stop,
    closeReason: c.closeReason,
    rtt: c.rtt,
    pendingAtClose: c.pendingAtClose,
    inMsgs: c.inMsgs,
    outMsgs: c.outMsgs,
    inBytes: c.inBytes,
    outBytes: c.outBytes,
    subs,
    opts,
    user: c.user,
    tlsInfo: c.tlsInfo ? { version: c.tlsInfo.version, cipher: c.tlsInfo.cipher } : null,
    account,
    out: NOTHING_PENDING,
    jwt: c.jwt,
  };
}
