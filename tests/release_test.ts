import assert from "node:assert/strict";
import { compileCommands, formatCommand, TARGETS } from "../scripts/release.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function release(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/release.ts", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const SERVER_PERMS =
  "--allow-net --allow-read --allow-write --allow-env --allow-sys --allow-run --include src/bcrypt_worker.ts";

/** Written out in full on purpose: this is the release matrix as a reviewer should read it. */
const EXPECTED = [
  `deno compile --target x86_64-unknown-linux-gnu ${SERVER_PERMS} --output dist/x86_64-unknown-linux-gnu/nats-server main.ts`,
  "deno compile --target x86_64-unknown-linux-gnu --output dist/x86_64-unknown-linux-gnu/mkpasswd mkpasswd.ts",
  `deno compile --target aarch64-unknown-linux-gnu ${SERVER_PERMS} --output dist/aarch64-unknown-linux-gnu/nats-server main.ts`,
  "deno compile --target aarch64-unknown-linux-gnu --output dist/aarch64-unknown-linux-gnu/mkpasswd mkpasswd.ts",
  `deno compile --target x86_64-apple-darwin ${SERVER_PERMS} --output dist/x86_64-apple-darwin/nats-server main.ts`,
  "deno compile --target x86_64-apple-darwin --output dist/x86_64-apple-darwin/mkpasswd mkpasswd.ts",
  `deno compile --target aarch64-apple-darwin ${SERVER_PERMS} --output dist/aarch64-apple-darwin/nats-server main.ts`,
  "deno compile --target aarch64-apple-darwin --output dist/aarch64-apple-darwin/mkpasswd mkpasswd.ts",
  `deno compile --target x86_64-pc-windows-msvc ${SERVER_PERMS} --output dist/x86_64-pc-windows-msvc/nats-server.exe main.ts`,
  "deno compile --target x86_64-pc-windows-msvc --output dist/x86_64-pc-windows-msvc/mkpasswd.exe mkpasswd.ts",
];

Deno.test("release --dry-run prints every deno compile command of the matrix", async () => {
  const r = await release(["--dry-run"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, EXPECTED.join("\n") + "\n");
});

Deno.test("release --dry-run --target limits the build to that target", async () => {
  const r = await release(["--dry-run", "--target", "aarch64-apple-darwin"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, EXPECTED.slice(6, 8).join("\n") + "\n");
  const r2 = await release(["--target=x86_64-pc-windows-msvc", "--dry-run"]);
  assert.equal(r2.stdout, EXPECTED.slice(8).join("\n") + "\n");
});

Deno.test("release refuses unknown targets and arguments with exit 2", async () => {
  for (const args of [["--dry-run", "--target", "riscv64-unknown-linux-gnu"], ["--fast"]]) {
    const r = await release(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^release: unknown (target|argument): /);
  }
});

Deno.test("release builds five targets, each with both binaries", () => {
  assert.deepEqual([...TARGETS], [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
  assert.deepEqual(compileCommands().map(formatCommand), EXPECTED);
});

Deno.test("formatCommand quotes only what a shell would split or expand", () => {
  assert.equal(
    formatCommand(["compile", "--output", "dist/a b/x"]),
    "deno compile --output 'dist/a b/x'",
  );
  assert.equal(formatCommand(["it's"]), "deno 'it'\\''s'");
  assert.equal(formatCommand(["$HOME"]), "deno '$HOME'");
});
