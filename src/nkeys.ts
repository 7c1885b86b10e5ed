/**
 * Server side of NATS nkey authentication: parsing public nkeys, generating the INFO `nonce`
 * challenge, and verifying the client's CONNECT `sig` over it.
 *
 * Formats follow nats-server 2.9.10 (server/nkey.go, server/auth.go) and the Go nkeys library
 * (strkey.go, crc16.go) exactly, so clients built for nats-server work unchanged:
 *
 * - a public nkey is RFC 4648 base32 (upper-case alphabet, no padding) of
 *   `prefix byte ‖ 32-byte ed25519 public key ‖ CRC16 (little endian)`, 35 bytes → 56 chars;
 * - the CRC is CRC-16/XMODEM (polynomial 0x1021, initial value 0), computed over the prefix byte
 *   and the key;
 * - the nonce is 11 random bytes in unpadded URL-safe base64 (15 chars);
 * - the signature is ed25519 over the nonce string's bytes, sent as unpadded URL-safe base64, or
 *   standard padded base64 as a fallback.
 *
 * Only Deno built-ins are used (WebCrypto and node:crypto Ed25519), so the server carries no
 * nkeys dependency.
 */

import type * as nodeCrypto from "node:crypto";
import { nodeBuiltin } from "./node_builtin.ts";

/**
 * The nkey prefix bytes (the first decoded byte, chosen so the base32 text starts with the
 * letter in the comment). Only the public kinds can appear in a CONNECT or a config file.
 */
export const NkeyPrefix = {
  /** 'O...' */
  Operator: 14 << 3,
  /** 'N...' */
  Server: 13 << 3,
  /** 'C...' */
  Cluster: 2 << 3,
  /** 'A...' */
  Account: 0,
  /** 'U...' */
  User: 20 << 3,
} as const;

/** One of the public {@link NkeyPrefix} values. */
export type NkeyPrefixByte = (typeof NkeyPrefix)[keyof typeof NkeyPrefix];

const PUBLIC_PREFIXES: ReadonlySet<number> = new Set(Object.values(NkeyPrefix));

/** Why a public nkey was rejected; lets callers log or branch without parsing the message. */
export type NkeyErrorCode = "encoding" | "length" | "checksum" | "prefix";

/**
 * Thrown by {@link decodePublicNkey}. Messages start with the Go library's wording
 * ("nkeys: invalid checksum", ...) so logs read like nats-server's, with the detail appended.
 */
export class NkeyError extends Error {
  readonly code: NkeyErrorCode;
  constructor(code: NkeyErrorCode, message: string) {
    super(message);
    this.name = "NkeyError";
    this.code = code;
  }
}

/** Length of the raw ed25519 public key carried in an nkey. */
const KEY_LEN = 32;
/** prefix + key + CRC16. */
const PUBLIC_RAW_LEN = 1 + KEY_LEN + 2;
/** Ed25519 signatures are always 64 bytes; anything else cannot verify. */
const SIG_LEN = 64;

/** nats-server's `nonceRawLen`: random bytes behind each nonce. */
export const NONCE_RAW_LEN = 11;
/** nats-server's `nonceLen` = base64.RawURLEncoding.EncodedLen(11). */
export const NONCE_LEN = 15;

// ---------------------------------------------------------------------------------------------
// CRC16

/**
 * The XMODEM table, generated rather than pasted: it is the standard CCITT polynomial 0x1021
 * table, identical entry for entry to `crc16tab` in nkeys/crc16.go (the tests pin a few entries
 * and the standard check value).
 */
const CRC16_TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1;
    t[i] = c & 0xffff;
  }
  return t;
})();

/** CRC-16/XMODEM exactly as nkeys computes it (exported for the tests). */
export function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ b) & 0xff];
  return crc;
}

// ---------------------------------------------------------------------------------------------
// base32 (RFC 4648 standard alphabet, no padding, as Go's base32.StdEncoding.WithPadding(NoPadding))

const B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B32_VALUES: Int8Array = (() => {
  const v = new Int8Array(128).fill(-1);
  for (let i = 0; i < B32_ALPHABET.length; i++) v[B32_ALPHABET.charCodeAt(i)] = i;
  return v;
})();

/**
 * Decodes unpadded base32; null on any character outside the alphabet (lower case and '=' too,
 * as Go rejects them) or a length no byte string encodes to. Stricter than Go in one respect:
 * Go skips CR/LF inside the text, which no legitimate nkey contains.
 */
function base32Decode(s: string): Uint8Array<ArrayBuffer> | null {
  if ([1, 3, 6].includes(s.length % 8)) return null;
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B32_VALUES[c] : -1;
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

// ---------------------------------------------------------------------------------------------
// base64 (Go's RawURLEncoding and StdEncoding)

const B64_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function b64Values(alphabet: string): Int8Array {
  const v = new Int8Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) v[alphabet.charCodeAt(i)] = i;
  return v;
}
const B64_STD_VALUES = b64Values(B64_STD);
const B64_URL_VALUES = b64Values(B64_URL);

/** Unpadded URL-safe base64, Go's base64.RawURLEncoding.EncodeToString. */
export function base64RawUrlEncode(data: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= data.length; i += 3) {
    const n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += B64_URL[n >> 18] + B64_URL[(n >> 12) & 63] + B64_URL[(n >> 6) & 63] + B64_URL[n & 63];
  }
  const rest = data.length - i;
  if (rest === 1) {
    const n = data[i] << 16;
    out += B64_URL[n >> 18] + B64_URL[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (data[i] << 16) | (data[i + 1] << 8);
    out += B64_URL[n >> 18] + B64_URL[(n >> 12) & 63] + B64_URL[(n >> 6) & 63];
  }
  return out;
}

/**
 * Decodes base64 the way Go's decoders accept it: CR and LF are skipped; `padded` (StdEncoding)
 * requires a multiple of 4 with '=' only as the final one or two characters; unpadded
 * (RawURLEncoding) rejects '=' altogether. Like Go's non-strict mode, unused trailing bits are
 * not checked. Returns null where Go returns an error.
 */
function base64Decode(
  input: string,
  values: Int8Array,
  padded: boolean,
): Uint8Array<ArrayBuffer> | null {
  let s = input.replace(/[\r\n]/g, "");
  if (padded) {
    if (s.length % 4 !== 0) return null;
    if (s.endsWith("==")) s = s.slice(0, -2);
    else if (s.endsWith("=")) s = s.slice(0, -1);
  }
  if (s.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? values[c] : -1;
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Go's base64.RawURLEncoding.DecodeString (the encoding of JWT parts); null on an error. */
export function base64RawUrlDecode(s: string): Uint8Array<ArrayBuffer> | null {
  return base64Decode(s, B64_URL_VALUES, false);
}

/**
 * A CONNECT `sig` in auth.go's order: RawURLEncoding first, then StdEncoding as the fallback;
 * null when neither decodes (nats-server's "Signature not valid base64").
 */
export function decodeSig(sig: string): Uint8Array<ArrayBuffer> | null {
  return base64Decode(sig, B64_URL_VALUES, false) ?? base64Decode(sig, B64_STD_VALUES, true);
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * The raw 32-byte ed25519 key inside a public nkey. Checks, in order: base32 text, decoded
 * length (35 bytes), CRC16, then the prefix byte against `expected` (the user prefix unless told
 * otherwise, since users are what CONNECT authenticates). Throws {@link NkeyError}.
 */
export function decodePublicNkey(
  s: string,
  expected: NkeyPrefixByte = NkeyPrefix.User,
): Uint8Array<ArrayBuffer> {
  const { prefix, key } = decodeAnyPublicNkey(s);
  if (prefix !== expected) {
    throw new NkeyError(
      "prefix",
      `nkeys: invalid prefix byte: ${prefixName(prefix)} key, want ${prefixName(expected)}`,
    );
  }
  return key;
}

/**
 * A public nkey of any public kind, as nkeys.FromPublicKey accepts it (JWT issuers are operators,
 * accounts or signing keys of either). Throws {@link NkeyError}.
 */
export function decodeAnyPublicNkey(
  s: string,
): { prefix: NkeyPrefixByte; key: Uint8Array<ArrayBuffer> } {
  const raw = base32Decode(s);
  if (raw === null) {
    throw new NkeyError("encoding", "nkeys: invalid encoded key: not unpadded base32");
  }
  if (raw.length !== PUBLIC_RAW_LEN) {
    throw new NkeyError(
      "length",
      `nkeys: invalid public key: ${raw.length} bytes decoded, want ${PUBLIC_RAW_LEN}`,
    );
  }
  const body = raw.subarray(0, PUBLIC_RAW_LEN - 2);
  const want = raw[PUBLIC_RAW_LEN - 2] | (raw[PUBLIC_RAW_LEN - 1] << 8);
  if (crc16(body) !== want) throw new NkeyError("checksum", "nkeys: invalid checksum");
  if (!PUBLIC_PREFIXES.has(raw[0])) {
    throw new NkeyError("prefix", `nkeys: invalid prefix byte: ${prefixName(raw[0])} key`);
  }
  return { prefix: raw[0] as NkeyPrefixByte, key: raw.slice(1, 1 + KEY_LEN) };
}

/**
 * The error nkeys.FromPublicKey gives for `s`, in the Go library's words, or null when it takes
 * the key (which, as in Go, may still hold a key of the wrong length: it then fails to verify).
 * nats-server logs it for a user JWT whose subject is not a usable key.
 */
export function fromPublicKeyError(s: string): string | null {
  const raw = base32Decode(s);
  if (raw === null) {
    const bad = [...s].findIndex((c) => c.charCodeAt(0) >= 128 || B32_VALUES[c.charCodeAt(0)] < 0);
    return `illegal base32 data at input byte ${bad < 0 ? s.length : bad}`;
  }
  if (raw.length < 4) return "nkeys: invalid encoded key";
  const want = raw[raw.length - 2] | (raw[raw.length - 1] << 8);
  if (crc16(raw.subarray(0, raw.length - 2)) !== want) return "nkeys: invalid checksum";
  if (!PUBLIC_PREFIXES.has(raw[0])) return "nkeys: invalid public key";
  return null;
}

/** Readable kind for error messages ("user", "account", ...). */
function prefixName(b: number): string {
  for (const [name, v] of Object.entries(NkeyPrefix)) if (v === b) return name.toLowerCase();
  return `unknown (0x${b.toString(16).padStart(2, "0")})`;
}

/**
 * Whether `s` is a well-formed public nkey: of kind `prefix` if given, else of any public kind
 * (operator, server, cluster, account, user), as nkeys.IsValidPublicKey.
 */
export function isValidPublicNkey(s: string, prefix?: NkeyPrefixByte): boolean {
  const raw = base32Decode(s);
  if (raw === null || raw.length !== PUBLIC_RAW_LEN) return false;
  const want = raw[PUBLIC_RAW_LEN - 2] | (raw[PUBLIC_RAW_LEN - 1] << 8);
  if (crc16(raw.subarray(0, PUBLIC_RAW_LEN - 2)) !== want) return false;
  return prefix === undefined ? PUBLIC_PREFIXES.has(raw[0]) : raw[0] === prefix;
}

/** Whether `s` is a well-formed public user nkey ("U..."), as nkeys.IsValidPublicUserKey. */
export function isUserNkey(s: string): boolean {
  return isValidPublicNkey(s, NkeyPrefix.User);
}

/**
 * A fresh INFO `nonce`, as nats-server's generateNonce: 11 bytes from the CSPRNG in unpadded
 * URL-safe base64, always 15 characters of [A-Za-z0-9_-]. The client signs these characters
 * (not the decoded bytes), so the shape only matters for clients that inspect it.
 */
export function newNonce(): string {
  return base64RawUrlEncode(crypto.getRandomValues(new Uint8Array(NONCE_RAW_LEN)));
}

const enc = new TextEncoder();

/**
 * Checks a CONNECT `sig` against the nonce this connection was sent and the user `nkey` it
 * claims. The signed message is the nonce string's bytes; the signature is accepted in unpadded
 * URL-safe base64 or, failing that, padded standard base64 (auth.go's fallback). Any malformed
 * input (non-user or corrupt nkey, bad base64, wrong signature length, a point WebCrypto rejects)
 * yields false rather than an exception, because every such case is simply a failed login.
 */
export async function verifyNonceSignature(
  nkey: string,
  nonce: string,
  sig: string,
): Promise<boolean> {
  if (typeof nkey !== "string" || typeof nonce !== "string" || typeof sig !== "string") {
    return false;
  }
  let pub: Uint8Array<ArrayBuffer>;
  try {
    pub = decodePublicNkey(nkey, NkeyPrefix.User);
  } catch {
    return false;
  }
  const sigBytes = decodeSig(sig);
  if (sigBytes === null) return false;
  return await verifyEd25519(pub, enc.encode(nonce), sigBytes);
}

/**
 * Ed25519 verification of `data` by the raw 32-byte `key`; false (never a throw) for a signature
 * of the wrong length or a key WebCrypto rejects, since either is simply a failed check.
 */
export async function verifyEd25519(
  key: Uint8Array<ArrayBuffer>,
  data: Uint8Array<ArrayBuffer>,
  sig: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  if (sig.length !== SIG_LEN) return false;
  try {
    const k = await crypto.subtle.importKey("raw", key, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, k, sig, data);
  } catch {
    return false;
  }
}

/**
 * verifyEd25519, synchronously (node:crypto): JWT signatures are checked where nats-server
 * checks them without waiting (config loading, account lookups from a local store), and a
 * synchronous check keeps those paths simple. Same answers as the WebCrypto one.
 */
export function verifyEd25519Sync(key: Uint8Array, data: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== SIG_LEN || key.length !== KEY_LEN) return false;
  try {
    // node:crypto only when a JWT is checked: a plain server never loads it (node_builtin.ts).
    const { createPublicKey, verify: nodeVerify } = nodeBuiltin<typeof nodeCrypto>("node:crypto");
    const k = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: base64RawUrlEncode(key) },
      format: "jwk",
    });
    return nodeVerify(null, data, k, sig);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Seeds and signing (leafnode remotes with credentials sign a nonce; tests sign as clients do)

/** First 5 bits of a seed's first byte ('S...'); the key kind follows in the next 5 bits. */
const SEED_PREFIX = 18 << 3;
/** Two prefix bytes + 32-byte ed25519 seed + CRC16. */
const SEED_RAW_LEN = 2 + KEY_LEN + 2;

function base32Encode(data: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of data) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32_ALPHABET[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += B32_ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** The text form of a raw public key of kind `prefix`, as nkeys.Encode. */
export function encodePublicNkey(prefix: NkeyPrefixByte, key: Uint8Array): string {
  const raw = new Uint8Array(PUBLIC_RAW_LEN);
  raw[0] = prefix;
  raw.set(key, 1);
  const crc = crc16(raw.subarray(0, PUBLIC_RAW_LEN - 2));
  raw[PUBLIC_RAW_LEN - 2] = crc & 0xff;
  raw[PUBLIC_RAW_LEN - 1] = crc >> 8;
  return base32Encode(raw);
}

/**
 * The kind and raw 32-byte ed25519 seed inside an nkey seed ("SU...", "SA...", "SO..."), as
 * nkeys.DecodeSeed checks it, with the Go library's error texts. Throws {@link NkeyError}.
 */
export function decodeSeed(s: string): { prefix: NkeyPrefixByte; seed: Uint8Array<ArrayBuffer> } {
  const raw = base32Decode(s.trim());
  if (raw === null) throw new NkeyError("encoding", "nkeys: invalid encoded key");
  if (raw.length < 4) throw new NkeyError("encoding", "nkeys: invalid encoded key");
  const want = raw[raw.length - 2] | (raw[raw.length - 1] << 8);
  if (crc16(raw.subarray(0, raw.length - 2)) !== want) {
    throw new NkeyError("checksum", "nkeys: invalid checksum");
  }
  const b1 = raw[0] & 248;
  const b2 = ((raw[0] & 7) << 5) | ((raw[1] & 248) >> 3);
  if (b1 !== SEED_PREFIX || !PUBLIC_PREFIXES.has(b2)) {
    throw new NkeyError("prefix", "nkeys: invalid seed");
  }
  if (raw.length !== SEED_RAW_LEN) throw new NkeyError("length", "nkeys: invalid seed length");
  return { prefix: b2 as NkeyPrefixByte, seed: raw.slice(2, 2 + KEY_LEN) };
}

/** The text seed for a raw 32-byte ed25519 seed of kind `prefix`, as nkeys.EncodeSeed. */
export function encodeSeed(prefix: NkeyPrefixByte, seed: Uint8Array): string {
  const raw = new Uint8Array(SEED_RAW_LEN);
  raw[0] = SEED_PREFIX | (prefix >> 5);
  raw[1] = (prefix & 31) << 3;
  raw.set(seed, 2);
  const crc = crc16(raw.subarray(0, SEED_RAW_LEN - 2));
  raw[SEED_RAW_LEN - 2] = crc & 0xff;
  raw[SEED_RAW_LEN - 1] = crc >> 8;
  return base32Encode(raw);
}

/** PKCS#8 DER header for a raw ed25519 private key (RFC 8410); the 32-byte seed follows it. */
const PKCS8_ED25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
const PKCS8_KEY = [0x04, 0x22, 0x04, 0x20];

/** An nkey that can sign: built from a seed, as nkeys.FromSeed. */
export class NkeyPair {
  readonly prefix: NkeyPrefixByte;
  /** The public nkey ("U...", "A...", "O..."). */
  readonly publicKey: string;
  readonly #key: CryptoKey;

  private constructor(prefix: NkeyPrefixByte, publicKey: string, key: CryptoKey) {
    this.prefix = prefix;
    this.publicKey = publicKey;
    this.#key = key;
  }

  /** Throws {@link NkeyError} for a malformed seed. */
  static async fromSeed(seed: string): Promise<NkeyPair> {
    const { prefix, seed: raw } = decodeSeed(seed);
    const der = new Uint8Array([...PKCS8_ED25519, ...PKCS8_KEY, ...raw]);
    const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", key);
    const pub = base64RawUrlDecode(jwk.x ?? "");
    if (pub === null || pub.length !== KEY_LEN) {
      throw new NkeyError("encoding", "nkeys: invalid seed");
    }
    return new NkeyPair(prefix, encodePublicNkey(prefix, pub), key);
  }

  /** A fresh key of kind `prefix` (tests, tools). */
  static create(prefix: NkeyPrefixByte): Promise<NkeyPair> {
    return NkeyPair.fromSeed(encodeSeed(prefix, crypto.getRandomValues(new Uint8Array(KEY_LEN))));
  }

  async sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, this.#key, data));
  }

  /** The CONNECT `sig` for an INFO nonce: the nonce's characters signed, unpadded URL base64. */
  async signNonce(nonce: string): Promise<string> {
    return base64RawUrlEncode(await this.sign(enc.encode(nonce)));
  }
}
