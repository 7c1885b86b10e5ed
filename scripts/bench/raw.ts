/**
 * Raw NATS protocol helpers for the benchmark's load generators: connect, handshake, and the
 * exact frames a publisher sends and a subscriber receives. Identical for every server measured.
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The CONNECT the generators send: no +OK per op, no pedantic checks, as a real client does. */
export const CONNECT = 'CONNECT {"verbose":false,"pedantic":false,"name":"bench"}\r\n';

/** What the generators need from a connection: a TCP conn, or a websocket (see ws.ts). */
export interface Conn {
  read(buf: Uint8Array): Promise<number | null>;
  write(buf: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay(on: boolean): void;
}

export function connectTcp(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/**
 * Connects the NATS way over TLS: reads the clear-text INFO line, then runs the client side of
 * the handshake on the same socket (Deno.startTls), trusting `caPem` for the server certificate.
 */
export async function connectTls(port: number, caPem: string): Promise<Conn> {
  const tcp = await connectTcp(port);
  try {
    tcp.setNoDelay(true);
    await readInfoLine(tcp);
    const tls = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [caPem] });
    return Object.assign(tls, { setNoDelay: (_on: boolean) => {} });
  } catch (e) {
    try {
      tcp.close();
    } catch { /* closed */ }
    throw e;
  }
}

/** Reads byte by byte up to the end of the INFO line, so no byte of the TLS stream is taken. */
async function readInfoLine(conn: Deno.Conn): Promise<void> {
  const one = new Uint8Array(1);
  let n = 0;
  while (true) {
    const r = await conn.read(one);
    if (r === null) throw new Error("connection closed before INFO");
    if (one[0] === 10) return;
    if (++n > 64 * 1024) throw new Error("no end of INFO line");
  }
}

/**
 * Sends `text` followed by PING and reads until the PONG that answers it, so that everything in
 * `text` (CONNECT, SUBs) has been processed by the server. Throws on -ERR or end of stream.
 */
export async function pingPong(conn: Conn, text: string, timeoutMs = 10_000): Promise<void> {
  await writeAll(conn, enc.encode(text + "PING\r\n"));
  const buf = new Uint8Array(4096);
  let seen = "";
  const deadline = Date.now() + timeoutMs;
  while (!seen.includes("PONG\r\n")) {
    if (Date.now() > deadline) throw new Error("timed out waiting for PONG");
    const n = await conn.read(buf);
    if (n === null) throw new Error(`connection closed before PONG: ${JSON.stringify(seen)}`);
    seen += dec.decode(buf.subarray(0, n));
    if (seen.includes("-ERR")) throw new Error(`server error: ${seen.trim()}`);
    // Only the tail matters once INFO has gone by.
    if (seen.length > 8192) seen = seen.slice(-16);
  }
}

/** Writes all of buf: a Deno write may complete partially. */
export async function writeAll(conn: Conn, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) off += await conn.write(off === 0 ? buf : buf.subarray(off));
}

export function payload(size: number): Uint8Array {
  // 'x' never occurs in a MSG header's first byte, which the subscriber checks frame by frame.
  return new Uint8Array(size).fill(0x78);
}

export function pubFrame(subject: string, size: number, reply = ""): Uint8Array {
  return frame(`PUB ${subject}${reply ? " " + reply : ""} ${size}\r\n`, size);
}

export function msgFrame(subject: string, sid: string, size: number): Uint8Array {
  return frame(`MSG ${subject} ${sid} ${size}\r\n`, size);
}

function frame(head: string, size: number): Uint8Array {
  const h = enc.encode(head);
  const f = new Uint8Array(h.length + size + 2);
  f.set(h);
  f.set(payload(size), h.length);
  f[f.length - 2] = 13;
  f[f.length - 1] = 10;
  return f;
}

/**
 * `count` distinct subjects of one length, `prefix` + zero-padded index + `suffix` (e.g.
 * "dev.000042.t"), so every frame built from them has the same size and a subscriber can count
 * frames by length.
 */
export function distinctSubjects(prefix: string, count: number, suffix = ""): string[] {
  const width = String(Math.max(0, count - 1)).length;
  return Array.from({ length: count }, (_, i) => prefix + String(i).padStart(width, "0") + suffix);
}

/** One buffer of PUB frames, one per subject, back to back. */
export function packSubjects(subjects: string[], size: number): Uint8Array {
  const frames = subjects.map((s) => pubFrame(s, size));
  const buf = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of frames) {
    buf.set(f, off);
    off += f.length;
  }
  return buf;
}

/** A buffer of about `target` bytes holding as many whole copies of `frame` as fit (at least 1). */
export function packFrames(f: Uint8Array, target: number): { buf: Uint8Array; count: number } {
  const count = Math.max(1, Math.floor(target / f.length));
  const buf = new Uint8Array(count * f.length);
  for (let i = 0; i < count; i++) buf.set(f, i * f.length);
  return { buf, count };
}

/** Wall-clock milliseconds comparable across Workers and processes (sub-ms resolution). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
