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
  // An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d; report it as a.b.c.d.
  const host = (a.hostname ?? "").replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
  return { host, port: a.port ?? 0 };
}

/** Whether a host means "every interface". */
export function isWildcardHost(host: string): boolean {
  return host === "0.0.0.0" || host === "" || host === "::";
}

/**
 * The accept queue length Go's net.Listen asks for (and so nats-server): the system's maximum,
 * net.core.somaxconn, capped at 65535. Deno's default is 511: a storm of reconnecting clients
 * overflows that, and every connection the kernel drops waits a 1 s SYN retransmit.
 */
function listenBacklog(): number {
  const path = "/proc/sys/net/core/somaxconn";
  try {
    // Asked first, so a server embedded without read permission never prompts for it.
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return 4096;
    const n = Number(Deno.readTextFileSync(path).trim());
    if (Number.isInteger(n) && n > 0) return Math.min(n, 65535);
  } catch {
    // not Linux, or no permission to read it
  }
  return 4096;
}

/**
 * Listens like Go's net.Listen: a wildcard host ("0.0.0.0") binds every interface, IPv6 included,
 * so "localhost" clients that try ::1 first reach the server as they reach nats-server. Falls back
 * to IPv4 alone where IPv6 is unavailable. Reports whether IPv6 is served too.
 */
export function listenTcp(host: string, port: number): { listener: Deno.Listener; ipv6: boolean } {
  const tcpBacklog = listenBacklog();
  if (isWildcardHost(host)) {
    try {
      return {
        listener: Deno.listen({ hostname: "::", port, transport: "tcp", tcpBacklog }),
        ipv6: true,
      };
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) throw e;
    }
  }
  const listener = Deno.listen({ hostname: host, port, transport: "tcp", tcpBacklog });
  return { listener, ipv6: host.includes(":") };
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
