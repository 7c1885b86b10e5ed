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

/**
 * Accepts connections until the listener is closed. Other accept errors (e.g. out of file
 * descriptors) are logged and retried after a pause that doubles up to 1 s, as nats-server's
 * accept loop backs off, so a persistent error cannot spin the CPU.
 */
export async function acceptLoop(
  listener: Deno.Listener,
  what: string,
  logError: (msg: string) => void,
  handle: (conn: Deno.Conn) => void,
): Promise<void> {
  let pause = 10;
  while (true) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (e) {
      if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
      logError(`Error accepting ${what} connection: ${e}`);
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 1000);
      continue;
    }
    pause = 10;
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // not a TCP connection
    }
    handle(conn);
  }
}
