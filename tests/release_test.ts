/**
 * The release task: its matrix and plan (--dry-run), its archives built for real with the compile
 * step injected (the packaging, names, contents, modes and checksums are all real; only the
 * binaries are stand-ins, since deno compile needs the network), and its failure path: a compile
 * that fails leaves no archive behind and passes deno's reason on.
 */

import assert from "node:assert/strict";
import {
  archiveName,
  compileCommands,
  formatCommand,
  PLATFORM,
  PORTABLE,
  release,
  type Steps,
  TARGETS,
} from "../scripts/release.ts";
import { crc32, sha256Hex, tar, tarGz, zip } from "../scripts/archive.ts";
import { DenoCommandError } from "../scripts/bundle.ts";
import { RELEASE_VERSION } from "../src/version.ts";
import { ROOT } from "./process_helpers.ts";

const dec = new TextDecoder();
const V = RELEASE_VERSION;

async function run(cmd: string, args: string[], cwd = ROOT) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const releaseCli = (args: string[]) =>
  run(Deno.execPath(), ["run", "-A", "scripts/release.ts", ...args]);

const SERVER_FLAGS = "--allow-net --allow-read --allow-write --allow-env --allow-sys " +
  "--allow-run --allow-ffi --unstable-net " +
  "--v8-flags=--expose-gc,--max-old-space-size=65536,--max-semi-space-size=4 " +
  "--include src/bcrypt_worker.ts";

/** Written out in full on purpose: this is the release as a reviewer should read it. */
const PLAN = [
  `deno compile --target x86_64-unknown-linux-gnu ${SERVER_FLAGS} --output dist/.build/x86_64-unknown-linux-gnu/nats-server main.ts`,
  "deno compile --target x86_64-unknown-linux-gnu --output dist/.build/x86_64-unknown-linux-gnu/mkpasswd mkpasswd.ts",
  `deno compile --target aarch64-unknown-linux-gnu ${SERVER_FLAGS} --output dist/.build/aarch64-unknown-linux-gnu/nats-server main.ts`,
  "deno compile --target aarch64-unknown-linux-gnu --output dist/.build/aarch64-unknown-linux-gnu/mkpasswd mkpasswd.ts",
  `deno compile --target x86_64-apple-darwin ${SERVER_FLAGS} --output dist/.build/x86_64-apple-darwin/nats-server main.ts`,
  "deno compile --target x86_64-apple-darwin --output dist/.build/x86_64-apple-darwin/mkpasswd mkpasswd.ts",
  `deno compile --target aarch64-apple-darwin ${SERVER_FLAGS} --output dist/.build/aarch64-apple-darwin/nats-server main.ts`,
  "deno compile --target aarch64-apple-darwin --output dist/.build/aarch64-apple-darwin/mkpasswd mkpasswd.ts",
  `deno compile --target x86_64-pc-windows-msvc ${SERVER_FLAGS} --output dist/.build/x86_64-pc-windows-msvc/nats-server.exe main.ts`,
  "deno compile --target x86_64-pc-windows-msvc --output dist/.build/x86_64-pc-windows-msvc/mkpasswd.exe mkpasswd.ts",
  "bundle dist/.build/portable",
  `archive dist/nats-server-deno-${V}-linux-amd64.tar.gz`,
  `archive dist/nats-server-deno-${V}-linux-arm64.tar.gz`,
  `archive dist/nats-server-deno-${V}-darwin-amd64.tar.gz`,
  `archive dist/nats-server-deno-${V}-darwin-arm64.tar.gz`,
  `archive dist/nats-server-deno-${V}-windows-amd64.zip`,
  `archive dist/nats-server-deno-${V}-portable.tar.gz`,
  "checksums dist/SHA256SUMS",
];

Deno.test("release --dry-run prints the whole plan: compiles, bundle, archives, checksums", async () => {
  const r = await releaseCli(["--dry-run"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, PLAN.join("\n") + "\n");
});

Deno.test("release --dry-run --target limits the build to those targets", async () => {
  const r = await releaseCli(["--dry-run", "--target", "aarch64-apple-darwin"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [...PLAN.slice(6, 8), PLAN[14], PLAN[17]].join("\n") + "\n");
  const r2 = await releaseCli(["--target=portable", "--dry-run"]);
  assert.equal(r2.stdout, [PLAN[10], PLAN[16], PLAN[17]].join("\n") + "\n");
});

Deno.test("release refuses unknown targets and arguments with exit 2", async () => {
  for (const args of [["--dry-run", "--target", "riscv64-unknown-linux-gnu"], ["--fast"]]) {
    const r = await releaseCli(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^release: unknown (target|argument): /);
  }
});

Deno.test("five compile targets, named as nats-server names its archives", () => {
  assert.deepEqual([...TARGETS], [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
  assert.deepEqual(TARGETS.map((t) => archiveName(t)), [
    `nats-server-deno-${V}-linux-amd64.tar.gz`,
    `nats-server-deno-${V}-linux-arm64.tar.gz`,
    `nats-server-deno-${V}-darwin-amd64.tar.gz`,
    `nats-server-deno-${V}-darwin-arm64.tar.gz`,
    `nats-server-deno-${V}-windows-amd64.zip`,
  ]);
  assert.equal(archiveName(PORTABLE), `nats-server-deno-${V}-portable.tar.gz`);
  assert.equal(Object.keys(PLATFORM).length, 5);
  assert.deepEqual(compileCommands().map(formatCommand), PLAN.slice(0, 10));
});

/** A compile step that writes a recognisable stand-in binary where deno compile would. */
function fakeSteps(log: string[][], failAt = -1): Steps {
  return {
    compile: async (args) => {
      log.push(args);
      if (log.length - 1 === failAt) {
        throw new DenoCommandError(args, 1, "error: no runtime for you (injected failure)");
      }
      const out = args[args.indexOf("--output") + 1];
      // Relative outputs are meant from the repository root, as deno compile runs there.
      const file = new URL(out, new URL("..", import.meta.url));
      await Deno.mkdir(new URL(".", file), { recursive: true });
      await Deno.writeTextFile(file, `binary ${args[2]} ${args.at(-1)}`);
    },
    bundle: async (dir) => {
      log.push(["bundle", dir]);
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(`${dir}/nats-server.js`, "bundle main.ts");
      await Deno.writeTextFile(`${dir}/mkpasswd.js`, "bundle mkpasswd.ts");
    },
  };
}

/** `tar -tvzf`'s "mode owner size name" per entry, dates left out. */
async function tarListing(path: string): Promise<string[]> {
  const r = await run("tar", ["-tvzf", path]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").map((l) => {
    const f = l.split(/\s+/);
    return `${f[0]} ${f[1]} ${f[2]} ${f[5]}`;
  });
}

Deno.test("release packages every target for real (compile injected): names, contents, sums", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "release-" });
  try {
    const out = `${tmp}/out`;
    const log: string[][] = [];
    assert.equal(await release(["--out", out], fakeSteps(log)), 0);
    assert.deepEqual(log, [
      ...compileCommands(TARGETS, `${out}/.build`),
      ["bundle", `${out}/.build/portable/`],
    ]);
    const names = [...TARGETS.map((t) => archiveName(t)), archiveName(PORTABLE)];
    const present = [];
    for await (const e of Deno.readDir(out)) present.push(e.name);
    assert.deepEqual(present.sort(), [...names, "SHA256SUMS"].sort());

    // SHA256SUMS: one line per archive, in build order, in sha256sum's own format.
    const sums = await Deno.readTextFile(`${out}/SHA256SUMS`);
    const expected = [];
    for (const n of names) {
      expected.push(`${await sha256Hex(await Deno.readFile(`${out}/${n}`))}  ${n}`);
    }
    assert.equal(sums, expected.join("\n") + "\n");
    const check = await run("sha256sum", ["-c", "SHA256SUMS"], out).catch(() => null);
    if (check) assert.equal(check.stdout, names.map((n) => `${n}: OK\n`).join(""));

    const readme = (await Deno.stat(`${ROOT}README.md`)).size;
    const license = (await Deno.stat(`${ROOT}LICENSE`)).size;
    const base = `nats-server-deno-${V}-linux-arm64`;
    assert.deepEqual(await tarListing(`${out}/${base}.tar.gz`), [
      `drwxr-xr-x 0/0 0 ${base}/`,
      `-rwxr-xr-x 0/0 ${"binary aarch64-unknown-linux-gnu main.ts".length} ${base}/nats-server`,
      `-rwxr-xr-x 0/0 ${"binary aarch64-unknown-linux-gnu mkpasswd.ts".length} ${base}/mkpasswd`,
      `-rw-r--r-- 0/0 ${readme} ${base}/README.md`,
      `-rw-r--r-- 0/0 ${license} ${base}/LICENSE`,
    ]);
    const pbase = `nats-server-deno-${V}-portable`;
    assert.deepEqual(await tarListing(`${out}/${pbase}.tar.gz`), [
      `drwxr-xr-x 0/0 0 ${pbase}/`,
      `-rw-r--r-- 0/0 14 ${pbase}/nats-server.js`,
      `-rw-r--r-- 0/0 18 ${pbase}/mkpasswd.js`,
      `-rw-r--r-- 0/0 ${readme} ${pbase}/README.md`,
      `-rw-r--r-- 0/0 ${license} ${pbase}/LICENSE`,
    ]);

    // Unpacked, each file is what the build made.
    const x = `${tmp}/x`;
    await Deno.mkdir(x);
    assert.equal((await run("tar", ["-xzf", `${out}/${base}.tar.gz`, "-C", x])).code, 0);
    assert.equal(
      await Deno.readTextFile(`${x}/${base}/nats-server`),
      "binary aarch64-unknown-linux-gnu main.ts",
    );
    assert.deepEqual(
      await Deno.readFile(`${x}/${base}/LICENSE`),
      await Deno.readFile(`${ROOT}LICENSE`),
    );

    // The Windows zip, read by an independent implementation (unzip, else Python's zipfile).
    const wbase = `nats-server-deno-${V}-windows-amd64`;
    const wx = `${tmp}/wx`;
    await Deno.mkdir(wx);
    const unz = await run("unzip", ["-q", `${out}/${wbase}.zip`, "-d", wx]).catch(() =>
      run("python3", ["-m", "zipfile", "-e", `${out}/${wbase}.zip`, wx])
    );
    assert.equal(unz.code, 0, unz.stderr);
    assert.equal(
      await Deno.readTextFile(`${wx}/${wbase}/mkpasswd.exe`),
      "binary x86_64-pc-windows-msvc mkpasswd.ts",
    );
    assert.equal(
      await Deno.readTextFile(`${wx}/${wbase}/README.md`),
      await Deno.readTextFile(`${ROOT}README.md`),
    );

    // Deterministic: the same inputs give byte-identical archives.
    const out2 = `${tmp}/out2`;
    assert.equal(await release(["--out", out2], fakeSteps([])), 0);
    assert.equal(await Deno.readTextFile(`${out2}/SHA256SUMS`), sums);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a failing compile leaves no archive, no staging folder, and what was there before", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "release-" });
  try {
    // An output folder the release creates is removed again.
    const fresh = `${tmp}/fresh`;
    const log: string[][] = [];
    assert.equal(await release(["--out", fresh], fakeSteps(log, 3)), 1);
    assert.equal(log.length, 4);
    await assert.rejects(() => Deno.stat(fresh), Deno.errors.NotFound);
    // One that existed keeps exactly what it held.
    const kept = `${tmp}/kept`;
    await Deno.mkdir(kept);
    await Deno.writeTextFile(`${kept}/notes.txt`, "mine");
    assert.equal(await release(["--out", kept], fakeSteps([], 9)), 1);
    const left = [];
    for await (const e of Deno.readDir(kept)) left.push(e.name);
    assert.deepEqual(left, ["notes.txt"]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a real compile: archives where deno can fetch its runtime, else deno's reason and nothing", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "release-" });
  try {
    const out = `${tmp}/out`;
    const r = await releaseCli(["--target", "x86_64-unknown-linux-gnu", "--out", out]);
    if (r.code === 0) {
      const name = archiveName("x86_64-unknown-linux-gnu");
      assert.equal(r.stdout, `${out}/${name}\n${out}/SHA256SUMS\n`);
    } else {
      // This build machine has no network: deno's own explanation reaches the user.
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /release: failed, no archive written: deno compile --target /);
      assert.match(r.stderr, /\nerror: /);
      assert.match(r.stderr, /denort|runtime|base binary/i);
      assert.doesNotMatch(r.stderr, /Stack backtrace/);
      await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("archive writers: tar headers, gzip and zip are deterministic and standard", async () => {
  const files = [
    { path: "d/", mode: 0o755 },
    { path: "d/a", data: new TextEncoder().encode("x".repeat(1000)), mode: 0o755 },
  ];
  const t = tar(files, 1_700_000_000);
  assert.equal(t.length, 512 + 512 + 1024 + 1024); // two headers, one padded file, end blocks
  assert.equal(dec.decode(t.subarray(257, 262)), "ustar");
  assert.deepEqual(await tarGz(files, 1), await tarGz(files, 1));
  assert.deepEqual(await zip(files, 1), await zip(files, 1));
  assert.notDeepEqual(await zip(files, 1), await zip(files, 1_700_000_000));
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926); // the CRC-32 check value
});
