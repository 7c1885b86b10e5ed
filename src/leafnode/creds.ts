/**
 * A remote's `credentials` file (a user JWT and the user's nkey seed, as `nsc` writes them): the
 * soliciting side sends the JWT and signs the hub's INFO nonce with the seed, as nats-server's
 * sendLeafConnect does. The JWT itself is not checked here; the hub decides.
 */

import { crc16 } from "../nkeys.ts";

/** nats-server's credsRe: the contents of the two "-----...-----" framed blocks. */
const CREDS_RE = /\s*(?:(?:[-]{3,}[^\n]*[-]{3,}\n)(.+)(?:\n\s*[-]{3,}[^\n]*[-]{3,}\n))/g;

export class CredsError extends Error {
  override name = "CredsError";
}

export interface Creds {
  jwt: string;
  seed: string;
}

/** Reads a creds file: throws CredsError with nats-server's texts. */
export function readCreds(path: string): Creds {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : (e as Error).message;
    throw new CredsError(`open ${path}: ${why}`);
  }
  const items = [...text.matchAll(CREDS_RE)].map((m) => m[1].trim());
  if (items.length < 2) throw new CredsError("Credentials file malformed");
  return { jwt: items[0], seed: items[1] };
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32Decode(s: string): Uint8Array | null {
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const ch of s) {
    const v = B32.indexOf(ch);
    if (v < 0) return null;
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** The raw 32-byte ed25519 seed inside an nkey seed ("SU..."), or null when malformed. */
export function decodeSeed(seed: string): Uint8Array | null {
  const raw = base32Decode(seed);
  if (raw === null || raw.length !== 36) return null;
  const want = raw[34] | (raw[35] << 8);
  if (crc16(raw.subarray(0, 34)) !== want) return null;
  // The first byte's top five bits say "seed" (18 << 3).
  if ((raw[0] & 0xf8) !== 18 << 3) return null;
  return raw.slice(2, 34);
}

const PKCS8_ED25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/** Signs `nonce` (its characters, as nats-server's clients sign it) in unpadded URL base64. */
export async function signNonce(seed: string, nonce: string): Promise<string> {
  const raw = decodeSeed(seed);
  if (raw === null) throw new CredsError("Credentials file has malformed seed");
  const der = new Uint8Array([...PKCS8_ED25519, 0x04, 0x22, 0x04, 0x20, ...raw]);
  const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "Ed25519" }, key, new TextEncoder().encode(nonce)),
  );
  let b64 = btoa(String.fromCharCode(...sig));
  b64 = b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return b64;
}
