/**
 * A minimal websocket client for the benchmark's load generators: the upgrade, then a byte
 * stream like a TCP conn's (reads unwrap the server's frames, writes go out as one masked binary
 * frame each). The mask key is zero, so the generator spends nothing on masking while the server
 * still does its full unmasking work: the same load for every server measured.
 */

import type { Conn } from "./raw.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Opens a websocket to 127.0.0.1:port and completes the upgrade. */
export async function connectWs(port: number): Promise<WsConn> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  tcp.setNoDelay(true);
  const req = `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
    "Sec-WebSocket-Version: 13\r\n\r\n";
  await tcp.write(enc.encode(req));
  const buf = new Uint8Array(4096);
  let got = 0;
  while (true) {
    const n = await tcp.read(buf.subarray(got));
    if (n === null) throw new Error("websocket upgrade: connection closed");
    got += n;
    const text = dec.decode(buf.subarray(0, got));
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) continue;
    if (!text.startsWith("HTTP/1.1 101 ")) throw new Error(`websocket upgrade refused: ${text}`);
    const head = enc.encode(text.slice(0, end + 4)).length;
    return new WsConn(tcp, buf.slice(head, got));
  }
}

/** Wraps `payload` in one masked binary frame (zero key: the payload bytes are unchanged). */
export function wsFrame(payload: Uint8Array): Uint8Array {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = new Uint8Array(head + 4 + len);
  out[0] = 0x82;
  if (len < 126) {
    out[1] = 0x80 | len;
  } else if (len < 65536) {
    out[1] = 0x80 | 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  out.set(payload, head + 4);
  return out;
}

export class WsConn implements Conn {
  #tcp: Deno.TcpConn;
  #raw = new Uint8Array(64 * 1024 + 16);
  #pos = 0;
  #end = 0;
  /** Payload bytes left in the frame being read. */
  #rem = 0;

  constructor(tcp: Deno.TcpConn, initial: Uint8Array) {
    this.#tcp = tcp;
    this.#raw.set(initial);
    this.#end = initial.length;
  }

  setNoDelay(on: boolean): void {
    this.#tcp.setNoDelay(on);
  }

  /** Reads payload bytes into buf, skipping frame headers (server frames are never masked). */
  async read(buf: Uint8Array): Promise<number | null> {
    while (true) {
      let out = 0;
      while (this.#pos < this.#end && out < buf.length) {
        if (this.#rem === 0) {
          const avail = this.#end - this.#pos;
          if (avail < 2) break;
          const b1 = this.#raw[this.#pos + 1] & 0x7f;
          const h = b1 < 126 ? 2 : b1 === 126 ? 4 : 10;
          if (avail < h) break;
          const p = this.#pos;
          const op = this.#raw[p] & 0x0f;
          this.#rem = b1 < 126
            ? b1
            : b1 === 126
            ? (this.#raw[p + 2] << 8) | this.#raw[p + 3]
            : Number(new DataView(this.#raw.buffer, p + 2, 8).getBigUint64(0));
          this.#pos += h;
          if (op >= 8) {
            // Control frames (the server's close) are not expected during a run.
            throw new Error(`websocket control frame ${op} from the server`);
          }
          continue;
        }
        const k = Math.min(this.#rem, this.#end - this.#pos, buf.length - out);
        buf.set(this.#raw.subarray(this.#pos, this.#pos + k), out);
        out += k;
        this.#pos += k;
        this.#rem -= k;
      }
      if (out > 0) return out;
      if (this.#pos > 0) {
        this.#raw.copyWithin(0, this.#pos, this.#end);
        this.#end -= this.#pos;
        this.#pos = 0;
      }
      const n = await this.#tcp.read(this.#raw.subarray(this.#end));
      if (n === null) return null;
      this.#end += n;
    }
  }

  /** Writes buf as one frame; reports the whole buf written. */
  async write(buf: Uint8Array): Promise<number> {
    const f = wsFrame(buf);
    let off = 0;
    while (off < f.length) off += await this.#tcp.write(f.subarray(off));
    return buf.length;
  }

  /** Writes an already framed buffer (see wsFrame) as it is. */
  async writeFramed(f: Uint8Array): Promise<void> {
    let off = 0;
    while (off < f.length) off += await this.#tcp.write(f.subarray(off));
  }

  close(): void {
    this.#tcp.close();
  }
}
