/**
 * TLS for leafnode connections we make: the hub's INFO goes out in clear, then this side starts
 * the handshake (nats-server's leafNodeResumeConnectProcess). A remote's `tls {}` may carry no
 * certificate at all (the hub does not ask for one); with a `ca_file` the hub's chain and host
 * name are checked against it, with `insecure` nothing is, otherwise the system roots decide.
 */

import * as tls from "node:tls";
import type { X509Certificate } from "node:crypto";
import { clientHandshake, parsePemBundle, TlsError, type TlsTransport } from "../tls.ts";
import type { TlsOptions } from "../options.ts";
import type { Transport } from "../transport.ts";

export interface ClientTls {
  context: tls.SecureContext;
  cas: X509Certificate[];
  insecure: boolean;
  timeoutMs: number;
}

function read(path: string, what: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : (e as Error).message;
    throw new TlsError(`error parsing X509 certificate/key pair: open ${path}: ${why} (${what})`);
  }
}

/** Loads a remote's client-side TLS settings (none given: TLS with the system roots). */
export function loadClientTls(o: TlsOptions | undefined, timeoutS: number): ClientTls {
  const cert = o?.certFile ? read(o.certFile, "cert_file") : undefined;
  const key = o?.keyFile ? read(o.keyFile, "key_file") : undefined;
  const ca = o?.caFile ? read(o.caFile, "ca_file") : undefined;
  const cas = ca ? parsePemBundle(ca) : [];
  if (ca && cas.length === 0) {
    throw new TlsError(`failed to parse root ca certificate (${o!.caFile})`);
  }
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ cert, key, ca, minVersion: "TLSv1.2" });
  } catch (e) {
    throw new TlsError(`error parsing X509 certificate/key pair: ${(e as Error).message}`);
  }
  return {
    context,
    cas,
    insecure: o?.insecure ?? false,
    timeoutMs: Math.max(1, (timeoutS > 0 ? timeoutS : 2) * 1000),
  };
}

/** The client side of the handshake toward `host`, with the checks described above. */
export async function leafClientHandshake(
  conn: Transport,
  t: ClientTls,
  host: string,
): Promise<TlsTransport> {
  const ctx = {
    context: t.context,
    verify: false,
    verifyAndMap: false,
    cas: t.insecure ? [] : t.cas,
    timeoutMs: t.timeoutMs,
    cert: "",
    key: "",
  };
  const tr = await clientHandshake(conn as Deno.Conn, ctx, host);
  if (t.insecure) return tr;
  if (t.cas.length === 0 && !tr.socket.authorized) {
    tr.close();
    throw new TlsError(
      `x509: ${tr.socket.authorizationError ?? "certificate signed by unknown authority"}`,
    );
  }
  const peer = tr.socket.getPeerCertificate();
  const problem = tls.checkServerIdentity(host.replace(/^\[|\]$/g, ""), peer);
  if (problem) {
    tr.close();
    throw new TlsError(`x509: ${problem.message}`);
  }
  return tr;
}
