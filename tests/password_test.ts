import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import {
  checkPassword,
  costErrorText,
  DEFAULT_COST,
  hashPassword,
  isBcrypt,
  MAX_COST,
  MIN_COST,
} from "../src/password.ts";

/** From the gnatsd README's sample config: `./util/mkpassword -p T0pS3cr3t`. */
const README_HASH = "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG";

Deno.test("isBcrypt accepts the prefixes nats-server treats as bcrypt", () => {
  assert.equal(isBcrypt(README_HASH), true);
  assert.equal(isBcrypt("$2b$04$abcdefghijklmnopqrstuv"), true);
  assert.equal(isBcrypt("$2y$10$abcdefghijklmnopqrstuv"), true);
  assert.equal(isBcrypt("$2x$10$abcdefghijklmnopqrstuv"), true);
});

Deno.test("isBcrypt keeps plain passwords that only look like hashes plain", () => {
  for (
    const s of [
      "",
      "T0pS3cr3t",
      "$2a$",
      "$2a$1$x",
      "$2a$xx$abc",
      "$2c$10$abc",
      "$1$10$abc",
      " $2a$10$",
    ]
  ) {
    assert.equal(isBcrypt(s), false, s);
  }
});

Deno.test("checkPassword compares plain text exactly", async () => {
  assert.equal(await checkPassword("s3cr3t", "s3cr3t"), true);
  assert.equal(await checkPassword("s3cr3t", "s3cr3T"), false);
  assert.equal(await checkPassword("s3cr3t", "s3cr3t "), false);
  assert.equal(await checkPassword("", "s3cr3t"), false);
  assert.equal(await checkPassword("", ""), true);
  assert.equal(await checkPassword("pässwörd", "pässwörd"), true);
  assert.equal(await checkPassword("pässwörd", "passwörd"), false);
});

Deno.test("checkPassword verifies the gnatsd README's hash of T0pS3cr3t", async () => {
  assert.equal(await checkPassword("T0pS3cr3t", README_HASH), true);
  assert.equal(await checkPassword("T0pS3cr3T", README_HASH), false);
  // A client that sends the hash itself must not get in: the stored hash is not plain text.
  assert.equal(await checkPassword(README_HASH, README_HASH), false);
});

Deno.test("checkPassword verifies $2a$, $2b$, $2y$ and $2x$ spellings of one hash", async () => {
  const a = await hashPassword("T0pS3cr3t", 4);
  const tail = a.slice(4);
  for (const prefix of ["$2a$", "$2b$", "$2y$", "$2x$"]) {
    assert.equal(await checkPassword("T0pS3cr3t", prefix + tail), true, prefix);
    assert.equal(await checkPassword("wrong", prefix + tail), false, prefix);
  }
});

Deno.test("checkPassword verifies a hash made by bcryptjs's own $2b$ salt", async () => {
  const b = await bcrypt.hash("s3cr3t", 4);
  assert.ok(b.startsWith("$2b$04$"));
  assert.equal(await checkPassword("s3cr3t", b), true);
  assert.equal(await checkPassword("s3cr3", b), false);
});

Deno.test("checkPassword fails, not throws, on a malformed stored hash", async () => {
  const good = await hashPassword("x", 4);
  assert.equal(await checkPassword("x", good.slice(0, -1)), false);
  assert.equal(await checkPassword("x", "$2a$99$" + good.slice(7)), false);
  assert.equal(await checkPassword("x", "$2a$04$"), false);
});

Deno.test("hashPassword writes $2a$ with the requested cost", async () => {
  const h = await hashPassword("T0pS3cr3t", 4);
  assert.match(h, /^\$2a\$04\$[./A-Za-z0-9]{53}$/);
  assert.equal(await checkPassword("T0pS3cr3t", h), true);
  assert.notEqual(await hashPassword("T0pS3cr3t", 4), h, "each hash gets a fresh salt");
});

Deno.test("hashPassword rejects costs outside 4..31 with Go's bcrypt text", async () => {
  assert.deepEqual([MIN_COST, MAX_COST, DEFAULT_COST], [4, 31, 11]);
  for (const cost of [3, 32, 0, -1, 4.5]) {
    await assert.rejects(hashPassword("x", cost), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.equal(e.message, costErrorText(cost));
      return true;
    });
  }
  assert.equal(costErrorText(32), "crypto/bcrypt: cost 32 is outside allowed range (4,31)");
});
