/**
 * The two archive formats of a release, written by hand because each is a few headers around the
 * files: `.tar.gz` (POSIX ustar, gzip from Deno's CompressionStream) and `.zip` (deflate, from the
 * same). Both are deterministic: the same files and `mtime` give the same bytes, so a release can
 * be rebuilt and its SHA256SUMS compared. Owner is root (0/0) and names stay under ustar's 100
 * bytes, which is all a release needs.
 */

import { concatBytes } from "../src/bytes.ts";

export interface ArchiveEntry {
  /** Path inside the archive, `/`-separated; a trailing `/` makes a directory. */
  path: string;
  /** File contents (ignored for a directory). */
  data?: Uint8Array;
  /** Unix permission bits: 0o755 for programs and directories, 0o644 for the rest. */
  mode: number;
}

const enc = new TextEncoder();

// ---- tar --------------------------------------------------------------------------------------

/** A `.tar.gz` of `entries` in the given order, every entry stamped with `mtime` (Unix seconds). */
export async function tarGz(entries: readonly ArchiveEntry[], mtime: number): Promise<Uint8Array> {
  return await compress(tar(entries, mtime), "gzip");
}

export function tar(entries: readonly ArchiveEntry[], mtime: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const dir = e.path.endsWith("/");
    const data = dir ? new Uint8Array(0) : e.data ?? new Uint8Array(0);
    parts.push(tarHeader(e.path, data.length, e.mode, mtime, dir));
    parts.push(data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024)); // two zero blocks end the archive
  return concatBytes(parts);
}

function tarHeader(path: string, size: number, mode: number, mtime: number, dir: boolean) {
  const name = enc.encode(path);
  if (name.length > 100) throw new RangeError(`tar: path longer than 100 bytes: ${path}`);
  const h = new Uint8Array(512);
  h.set(name, 0);
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h[156] = dir ? 0x35 : 0x30; // '5' directory, '0' file
  h.set(enc.encode("ustar\u000000"), 257);
  let sum = 0;
  for (const b of h) sum += b;
  octal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

/** A zero-padded octal number with its NUL, filling `width` bytes. */
function octal(h: Uint8Array, at: number, width: number, n: number): void {
  const s = n.toString(8).padStart(width - 1, "0");
  if (s.length > width - 1) throw new RangeError(`tar: ${n} does not fit ${width} bytes`);
  h.set(enc.encode(s), at);
  h[at + width - 1] = 0;
}

// ---- zip --------------------------------------------------------------------------------------

/** A `.zip` of `entries`, files deflated, Unix modes kept (so `unzip` restores the x bit). */
export async function zip(entries: readonly ArchiveEntry[], mtime: number): Promise<Uint8Array> {
  const [dosTime, dosDate] = dosDateTime(mtime);
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const dir = e.path.endsWith("/");
    const raw = dir ? new Uint8Array(0) : e.data ?? new Uint8Array(0);
    const packed = dir ? raw : await compress(raw, "deflate-raw");
    const name = enc.encode(e.path);
    const crc = crc32(raw);
    const method = dir ? 0 : 8;

    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true); // version needed: 2.0 (deflate)
    local.setUint16(6, 0x0800, true); // names are UTF-8
    local.setUint16(8, method, true);
    local.setUint16(10, dosTime, true);
    local.setUint16(12, dosDate, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, packed.length, true);
    local.setUint32(22, raw.length, true);
    local.setUint16(26, name.length, true);
    local.setUint16(28, 0, true);
    const localBytes = concatBytes([new Uint8Array(local.buffer), name, packed]);

    const cd = new DataView(new ArrayBuffer(46));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, (3 << 8) | 20, true); // made by Unix, spec 2.0: external attrs hold the mode
    cd.setUint16(6, 20, true);
    cd.setUint16(8, 0x0800, true);
    cd.setUint16(10, method, true);
    cd.setUint16(12, dosTime, true);
    cd.setUint16(14, dosDate, true);
    cd.setUint32(16, crc, true);
    cd.setUint32(20, packed.length, true);
    cd.setUint32(24, raw.length, true);
    cd.setUint16(28, name.length, true);
    // extra length, comment length, disk number, internal attributes: all 0
    const type = dir ? 0o040000 : 0o100000;
    cd.setUint32(38, (((type | e.mode) << 16) | (dir ? 0x10 : 0)) >>> 0, true);
    cd.setUint32(42, offset, true);
    central.push(new Uint8Array(cd.buffer), name);

    locals.push(localBytes);
    offset += localBytes.length;
  }
  const cdBytes = concatBytes(central);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, cdBytes.length, true);
  end.setUint32(16, offset, true);
  return concatBytes([...locals, cdBytes, new Uint8Array(end.buffer)]);
}

/** MS-DOS time and date (2-second steps, years from 1980) of a Unix time, in UTC. */
function dosDateTime(unixSeconds: number): [number, number] {
  const d = new Date(Math.max(unixSeconds, 315532800) * 1000); // DOS time starts in 1980
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return [time, date];
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- shared -----------------------------------------------------------------------------------

async function compress(data: Uint8Array, format: CompressionFormat): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Lowercase hex SHA-256, as `sha256sum` prints it. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}
