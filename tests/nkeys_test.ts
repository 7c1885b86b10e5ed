/**
 * src/nkeys.ts against the reference implementations: keys and signatures come from the nkeys.js
 * library (never from our module), raw keys are cross-derived with node:crypto, and one test runs
 * the real nats-server to prove it accepts exactly the signatures we accept.
 */

import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey } from "node:crypto";
// deno-lint-ignore no-import-prefix -- test-only reference implementation; no deno.json entry
import { createAccount, createUser, type KeyPair } from "npm:@nats-io/nkeys@2.0.3";
import {
  crc16,
  decodePublicNkey,
  isUserNkey,
  isValidPublicNkey,
  newNonce,
  NkeyError,
  NkeyPrefix,
  NONCE_LEN,
  verifyNonceSignature,
} from "../src/nkeys.ts";
import { HAVE_NATS_SERVER, RawClient } from "./helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";

const enc = new TextEncoder();

/** Unpadded URL-safe base64: what nats clients put in CONNECT `sig`. */
function b64url(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Padded standard base64: the fallback nats-server also accepts. */
function b64std(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

function sign(kp: KeyPair, nonce: string): Uint8Array {
  return kp.sign(enc.encode(nonce));
}

/**
 * The raw ed25519 public key of a library key pair, derived independently of both nkeys
 * encodings: the library's raw seed goes through node:crypto (PKCS#8 wrapper → public JWK).
 */
function rawPublicKey(kp: KeyPair): Uint8Array {
  const seed = (kp as unknown as { getRawSeed(): Uint8Array }).getRawSeed();
  const pkcs8 = new Uint8Array([
    ...[0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22],
    ...[0x04, 0x20],
    ...seed,
  ]);
  const priv = createPrivateKey({ key: pkcs8 as unknown as Buffer, format: "der", type: "pkcs8" });
  const x = createPublicKey(priv).export({ format: "jwk" }).x!;
  return Uint8Array.from(atob(x.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
}

/** `s` with character `i` replaced by a different base32 letter. */
function flip(s: string, i: number): string {
  return s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
}

Deno.test("crc16 is nkeys' CRC-16/XMODEM", () => {
  assert.equal(crc16(enc.encode("123456789")), 0x31c3); // the standard XMODEM check value
  assert.equal(crc16(new Uint8Array([1])), 0x1021); // crc16tab[1] in nkeys/crc16.go
  assert.equal(crc16(new Uint8Array([0x80])), 0x9188); // crc16tab[128]
  assert.equal(crc16(new Uint8Array([0xff])), 0x1ef0); // crc16tab[255]
});

Deno.test("newNonce has nats-server's shape: 15 chars of unpadded URL-safe base64 of 11 bytes", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const n = newNonce();
    assert.equal(n.length, NONCE_LEN);
    assert.match(n, /^[A-Za-z0-9_-]{15}$/);
    const bytes = atob(n.replace(/-/g, "+").replace(/_/g, "/") + "=");
    assert.equal(bytes.length, 11);
    seen.add(n);
  }
  assert.equal(seen.size, 200);
});

Deno.test("decodePublicNkey returns the library key's raw ed25519 public key", () => {
  for (let i = 0; i < 20; i++) {
    const kp = createUser();
    const pub = kp.getPublicKey();
    assert.ok(pub.startsWith("U") && pub.length === 56);
    assert.ok(isUserNkey(pub));
    assert.ok(isValidPublicNkey(pub));
    assert.deepEqual(decodePublicNkey(pub), rawPublicKey(kp));
  }
  const acct = createAccount();
  assert.deepEqual(decodePublicNkey(acct.getPublicKey(), NkeyPrefix.Account), rawPublicKey(acct));
});

Deno.test("non-user, corrupt and malformed nkeys are rejected with a typed error", () => {
  const user = createUser().getPublicKey();
  const acct = createAccount().getPublicKey();
  assert.ok(!isUserNkey(acct));
  assert.ok(isValidPublicNkey(acct));
  assert.ok(isValidPublicNkey(acct, NkeyPrefix.Account));
  assert.ok(!isValidPublicNkey(user, NkeyPrefix.Account));
  // A seed is valid nkey text but not a public key of any kind.
  const seed = new TextDecoder().decode(createUser().getSeed());
  assert.ok(seed.startsWith("SU") && !isValidPublicNkey(seed) && !isUserNkey(seed));

  const cases: [string, string, RegExp][] = [
    [acct, "prefix", /invalid prefix byte: account key, want user/],
    [flip(user, 20), "checksum", /invalid checksum/],
    [user.slice(0, 48), "length", /30 bytes decoded, want 35/],
    [user + "AAAAAAAA", "length", /40 bytes decoded, want 35/],
    [user.toLowerCase(), "encoding", /not unpadded base32/],
    [user.slice(0, 55) + "=", "encoding", /not unpadded base32/],
    [user.slice(0, 55) + "1", "encoding", /not unpadded base32/],
    ["", "length", /0 bytes decoded/],
  ];
  for (const [s, code, msg] of cases) {
    assert.ok(!isUserNkey(s), s);
    assert.throws(() => decodePublicNkey(s), (e: unknown) => {
      assert.ok(e instanceof NkeyError, `${s}: ${e}`);
      assert.equal(e.code, code, s);
      assert.match(e.message, msg);
      return true;
    });
  }
});

Deno.test("verifyNonceSignature accepts the library's signature in both base64 flavours", async () => {
  const kp = createUser();
  const nkey = kp.getPublicKey();
  for (let i = 0; i < 20; i++) {
    const nonce = newNonce();
    const sig = sign(kp, nonce);
    assert.equal(sig.length, 64);
    assert.ok(await verifyNonceSignature(nkey, nonce, b64url(sig)));
    assert.ok(await verifyNonceSignature(nkey, nonce, b64std(sig)));
    // Go's decoders skip line breaks inside base64.
    assert.ok(await verifyNonceSignature(nkey, nonce, b64url(sig).replace(/(.{40})/, "$1\r\n")));
  }
});

Deno.test("verifyNonceSignature returns false (never throws) on anything wrong", async () => {
  const kp = createUser();
  const other = createUser();
  const nkey = kp.getPublicKey();
  const nonce = newNonce();
  const sig = sign(kp, nonce);
  const good = b64url(sig);
  assert.ok(await verifyNonceSignature(nkey, nonce, good));

  const tampered = sig.slice();
  tampered[10] ^= 1;
  // S + L: the same signature in a non-canonical form, which Go's ed25519.Verify rejects.
  const malleable = sig.slice();
  let carry = 0;
  const L = [
    ...[0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde],
    ...[0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10],
  ];
  for (let i = 0; i < 32; i++) {
    const v = malleable[32 + i] + L[i] + carry;
    malleable[32 + i] = v & 0xff;
    carry = v >> 8;
  }
  const acct = createAccount();
  const acctNonceSig = b64url(acct.sign(enc.encode(nonce)));
  const falses: [string, string, string, string][] = [
    ["wrong signature (other key signed)", nkey, nonce, b64url(sign(other, nonce))],
    ["wrong key", other.getPublicKey(), nonce, good],
    ["tampered nonce", nkey, nonce.slice(0, -1) + (nonce.endsWith("A") ? "B" : "A"), good],
    ["signature of another nonce", nkey, nonce, b64url(sign(kp, newNonce()))],
    ["tampered signature", nkey, nonce, b64url(tampered)],
    ["non-canonical signature (S+L)", nkey, nonce, b64url(malleable)],
    ["bad base64 character", nkey, nonce, good.slice(0, -1) + "!"],
    ["bad base64 length", nkey, nonce, good + "A"],
    ["url alphabet padded", nkey, nonce, good + "=="],
    ["std base64 without padding", nkey, nonce, b64std(sig).replace(/=+$/, "") + "+"],
    ["truncated signature", nkey, nonce, b64url(sig.subarray(0, 63))],
    ["overlong signature", nkey, nonce, b64url(new Uint8Array([...sig, 0]))],
    ["empty signature", nkey, nonce, ""],
    ["account nkey with its own valid signature", acct.getPublicKey(), nonce, acctNonceSig],
    ["bad checksum", flip(nkey, 30), nonce, good],
    ["garbage nkey", "not an nkey", nonce, good],
    ["empty nkey", "", nonce, good],
  ];
  for (const [what, k, n, s] of falses) {
    // A signature whose URL-safe text has no '-' or '_' is also valid standard base64, so once
    // padded it verifies (as in nats-server): that case only tests something when they appear.
    if (what === "url alphabet padded" && !/[-_]/.test(good)) continue;
    assert.equal(await verifyNonceSignature(k, n, s), false, what);
  }
  // Non-string fields from a hostile CONNECT JSON.
  const anyVerify = verifyNonceSignature as (...a: unknown[]) => Promise<boolean>;
  assert.equal(await anyVerify(null, nonce, good), false);
  assert.equal(await anyVerify(nkey, 42, good), false);
  assert.equal(await anyVerify(nkey, nonce, { sig: good }), false);
});

Deno.test({
  name: "real nats-server accepts exactly the signatures verifyNonceSignature accepts",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const kp = createUser();
    const nkey = kp.getPublicKey();
    const port = freePort();
    const dir = await Deno.makeTempDir();
    const conf = `${dir}/nkeys.conf`;
    await Deno.writeTextFile(
      conf,
      `listen: "127.0.0.1:${port}"\nauthorization { users: [ { nkey: ${nkey} } ] }\n`,
    );
    try {
      await using srv = new ServerProcess(["-c", conf], port, {}, true);
      await srv.waitStderr(/Server is ready/);

      /** Connects, signs INFO's nonce with `signer`, and returns what the server answered. */
      const attempt = async (
        signer: KeyPair,
        encode: (b: Uint8Array) => string,
      ): Promise<{ nonce: string; sig: string; reply: string; ours: boolean }> => {
        const [c, info] = await RawClient.connectInfo(port);
        await using _c = c;
        const nonce = info.nonce as string;
        assert.equal(typeof nonce, "string");
        assert.equal(nonce.length, NONCE_LEN);
        assert.match(nonce, /^[A-Za-z0-9_-]{15}$/);
        const sig = encode(sign(signer, nonce));
        await c.send(`CONNECT {"verbose":false,"nkey":"${nkey}","sig":"${sig}"}\r\nPING\r\n`);
        await c.waitText((t) => t.includes("PONG\r\n") || t.includes("-ERR"), "PONG or -ERR");
        return { nonce, sig, reply: c.text, ours: await verifyNonceSignature(nkey, nonce, sig) };
      };

      // The server accepts the url-safe signature, and so do we, byte for byte the same input.
      const url = await attempt(kp, b64url);
      assert.equal(url.reply, "PONG\r\n");
      assert.equal(
        url.ours,
        true,
        `ours rejected what nats-server accepted: ${JSON.stringify(url)}`,
      );

      // The standard-base64 fallback, likewise.
      const std = await attempt(kp, b64std);
      assert.equal(std.reply, "PONG\r\n");
      assert.equal(std.ours, true);

      // A signature by another key: the server refuses it, and so do we.
      const bad = await attempt(createUser(), b64url);
      assert.match(bad.reply, /^-ERR 'Authorization Violation'\r\n/);
      assert.equal(bad.ours, false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
