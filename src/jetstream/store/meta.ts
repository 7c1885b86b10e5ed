/**
 * Small files replaced whole (stream and consumer metadata, consumer state snapshots): written
 * to a temporary name, fsynced, renamed over the old one, and the directory fsynced, so a crash
 * leaves either the old or the new file, never half of one. JSON metadata carries a CRC-32 line
 * so that a damaged file is reported rather than half-parsed.
 */

import { crc32 } from "node:zlib";
import { StoreCorruptError, StoreIoError } from "./types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** fsync a directory so that a rename or a new file in it survives a power cut. */
export function syncDir(dir: string): void {
  try {
    const d = Deno.openSync(dir, { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the data files are synced regardless.
  }
}

/** syncDir off the main thread (nothing waits for it). */
export function syncDirInBackground(dir: string): void {
  Deno.open(dir, { read: true }).then(async (d) => {
    try {
      await d.sync();
    } finally {
      d.close();
    }
  }).catch(() => {
    // As syncDir: some file systems refuse it, and a directory removed meanwhile is fine.
  });
}

export function atomicWriteFile(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp`;
  try {
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      let n = 0;
      while (n < bytes.length) n += f.writeSync(bytes.subarray(n));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, path);
  } catch (e) {
    throw new StoreIoError(path, "write", e);
  }
  syncDir(path.slice(0, Math.max(0, path.lastIndexOf("/"))) || ".");
}

/** Writes `value` as JSON with its checksum, atomically. */
export function writeJsonFile(path: string, value: unknown): void {
  const json = JSON.stringify(value);
  const body = enc.encode(json);
  const sum = crc32(body).toString(16).padStart(8, "0");
  atomicWriteFile(path, enc.encode(`${sum}\n${json}`));
}

/** The value written by writeJsonFile, or undefined when there is no file. */
export function readJsonFile(path: string): unknown {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new StoreIoError(path, "read", e);
  }
  const text = dec.decode(bytes);
  const nl = text.indexOf("\n");
  const json = nl < 0 ? "" : text.slice(nl + 1);
  const sum = crc32(enc.encode(json)).toString(16).padStart(8, "0");
  if (nl !== 8 || text.slice(0, 8) !== sum) throw new StoreCorruptError(path, "checksum mismatch");
  try {
    return JSON.parse(json);
  } catch {
    throw new StoreCorruptError(path, "not JSON");
  }
}
