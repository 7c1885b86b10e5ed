/**
 * The little of the tar format stream snapshots need: regular files in ustar headers (what
 * nats-server's archives hold, PAX extended headers included for long names), read and written
 * whole in memory. A header with a bad checksum, a file running past the end, or a missing
 * end-of-archive marker is an error: a truncated archive never reads as a shorter one.
 */

import { ByteQueue } from "./byte_queue.ts";
import { concatBytes } from "../bytes.ts";

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class TarError extends Error {
  override name = "TarError";
}

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

function octal(b: Uint8Array, at: number, len: number): number {
  const s = dec.decode(b.subarray(at, at + len)).replace(/\0.*$/s, "").trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError("archive/tar: invalid tar header");
  return parseInt(s, 8);
}

function cstring(b: Uint8Array, at: number, len: number): string {
  const f = b.subarray(at, at + len);
  const z = f.indexOf(0);
  return dec.decode(z < 0 ? f : f.subarray(0, z));
}

/** The PAX records of an extended header (`<len> <key>=<value>\n` each). */
function paxRecords(data: Uint8Array): Map<string, string> {
  const m = new Map<string, string>();
  const s = dec.decode(data);
  let i = 0;
  while (i < s.length) {
    const sp = s.indexOf(" ", i);
    const len = parseInt(s.slice(i, sp), 10);
    if (sp < 0 || !(len > 0)) throw new TarError("archive/tar: invalid tar header");
    const rec = s.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    if (eq < 0) throw new TarError("archive/tar: invalid tar header");
    m.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return m;
}

/** Entries larger than this are refused rather than gathered in memory. */
const MAX_ENTRY = 256 * 1024 * 1024;

/**
 * Reads an archive a piece at a time: `push` returns the regular files it completed; `end`
 * throws unless the end-of-archive marker was seen (what follows the marker is ignored).
 */
export class TarReader {
  readonly #q = new ByteQueue();
  #pax: Map<string, string> | null = null;
  /** The header of the entry whose data is awaited. */
  #entry: { name: string; type: string; size: number } | null = null;
  #zeroBlocks = 0;
  #ended = false;

  push(b: Uint8Array): TarEntry[] {
    if (this.#ended) return [];
    const q = this.#q;
    q.push(b);
    const out: TarEntry[] = [];
    for (;;) {
      if (this.#entry === null) {
        if (q.length < BLOCK) break;
        const h = q.take(BLOCK);
        if (h.every((x) => x === 0)) {
          // The end marker is two zero blocks.
          if (++this.#zeroBlocks === 2) {
            this.#ended = true;
            break;
          }
          continue;
        }
        if (this.#zeroBlocks > 0) throw new TarError("archive/tar: invalid tar header");
        this.#entry = this.#header(h);
        continue;
      }
      const e = this.#entry;
      const padded = Math.ceil(e.size / BLOCK) * BLOCK;
      if (q.length < padded) break;
      const data = q.take(padded).subarray(0, e.size);
      this.#entry = null;
      if (e.type === "x") {
        this.#pax = paxRecords(data);
        continue;
      }
      this.#pax = null;
      if (e.type === "g") continue;
      if (e.type !== "0" && e.type !== "\0") throw new UnexpectedEntry(e.name, e.type);
      out.push({ name: e.name, data });
    }
    return out;
  }

  end(): void {
    if (!this.#ended) throw new TarError("unexpected EOF");
  }

  #header(h: Uint8Array): { name: string; type: string; size: number } {
    let sum = 0;
    for (let k = 0; k < BLOCK; k++) sum += k >= 148 && k < 156 ? 32 : h[k];
    if (octal(h, 148, 8) !== sum) throw new TarError("archive/tar: invalid tar header");
    const type = String.fromCharCode(h[156]);
    let size = octal(h, 124, 12);
    let name = cstring(h, 0, 100);
    const prefix = cstring(h, 345, 155);
    if (prefix !== "") name = `${prefix}/${name}`;
    const pax = this.#pax;
    if (pax !== null) {
      name = pax.get("path") ?? name;
      const ps = pax.get("size");
      if (ps !== undefined) size = Number(ps);
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new TarError("archive/tar: invalid tar header");
    }
    if (size > MAX_ENTRY) {
      throw new TarError(`archive/tar: entry ${JSON.stringify(name)} too large`);
    }
    return { name, type, size };
  }
}

/** Reads every regular file of a whole archive. */
export function readTar(buf: Uint8Array): TarEntry[] {
  const r = new TarReader();
  const out = r.push(buf);
  r.end();
  return out;
}

/** An entry that is not a regular file (nats-server refuses these as "unexpected content"). */
export class UnexpectedEntry extends TarError {
  override name = "UnexpectedEntry";
  constructor(readonly path: string, readonly type: string) {
    super(`unexpected tar entry ${JSON.stringify(path)} of type ${JSON.stringify(type)}`);
  }
}

function putOctal(h: Uint8Array, at: number, len: number, v: number): void {
  h.set(enc.encode(v.toString(8).padStart(len - 1, "0")), at);
}

/**
 * One file as tar blocks (a PAX header first when its name is over 100 bytes): what a writer
 * sends for it, without the end-of-archive marker (tarEnd).
 */
export function tarEntry(f: TarEntry, mtimeSec: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  const header = (name: string, size: number, type: string) => {
    const h = new Uint8Array(BLOCK);
    h.set(enc.encode(name).subarray(0, 100), 0);
    putOctal(h, 100, 8, 0o600);
    putOctal(h, 108, 8, 0);
    putOctal(h, 116, 8, 0);
    putOctal(h, 124, 12, size);
    putOctal(h, 136, 12, mtimeSec);
    h[156] = type.charCodeAt(0);
    h.set(enc.encode("ustar\x0000"), 257);
    h.set(enc.encode("nats"), 265);
    h.set(enc.encode("nats"), 297);
    h.fill(32, 148, 156);
    let sum = 0;
    for (const x of h) sum += x;
    h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    parts.push(h);
  };
  const body = (data: Uint8Array) => {
    parts.push(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(new Uint8Array(pad));
  };
  if (enc.encode(f.name).length > 100) {
    const kv = ` path=${f.name}\n`;
    let len = enc.encode(kv).length;
    len += String(len).length;
    if (String(len).length !== String(len - String(len).length).length) len++;
    const rec = enc.encode(`${len}${kv}`);
    header("PaxHeaders/" + f.name.slice(0, 80), rec.length, "x");
    body(rec);
  }
  header(f.name, f.data.length, "0");
  body(f.data);
  return parts;
}

/** The end-of-archive marker: two zero blocks. */
export function tarEnd(): Uint8Array {
  return new Uint8Array(2 * BLOCK);
}

/** Writes the files as a whole ustar archive. */
export function writeTar(files: TarEntry[], mtimeSec: number): Uint8Array {
  const parts = files.flatMap((f) => tarEntry(f, mtimeSec));
  parts.push(tarEnd());
  return concatBytes(parts);
}
