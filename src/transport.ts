/**
 * One byte-stream shape for every connection: a plain Deno TCP conn satisfies it directly, and a
 * TLS session (node:tls over the accepted socket, see tls.ts) is adapted to it, so the protocol
 * code never knows which it is talking to.
 */
export interface Transport {
  /** Reads into buf; resolves to the byte count, or null at end of stream. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Writes some prefix of buf; resolves to how many bytes were written. */
  write(buf: Uint8Array): Promise<number>;
  close(): void;
}

export interface PeerAddress {
  host: string;
  port: number;
}

/** The remote address of a Deno connection, for logs, INFO's client_ip and /connz. */
export function peerOf(conn: Deno.Conn): PeerAddress {
  const a = conn.remoteAddr as Deno.NetAddr;
  return { host: a.hostname ?? "", port: a.port ?? 0 };
}
