/**
 * The portable artifact as a user gets it: `deno task release --target portable` builds the
 * archive and SHA256SUMS, the checksum is verified, the archive is unpacked into an empty folder
 * (no source tree, no deno.json, no node_modules) and the server runs from there under exactly
 * the permissions the release bakes into the compiled binaries, serving TLS clients with bcrypt
 * passwords (the worker inlined into the bundle), monitoring, a log file and a pid file.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { waitFor } from "./helpers.ts";
import { freePort, ROOT } from "./process_helpers.ts";
import { archiveName, PORTABLE, PROGRAMS, UNSTABLE_FLAGS } from "../scripts/release.ts";
import { sha256Hex } from "../scripts/archive.ts";
import { RELEASE_VERSION } from "../src/version.ts";

const CERTS = `${ROOT}configs/certs/`;
const dec = new TextDecoder();

async function run(cmd: string, args: string[], cwd: string, stdin?: string) {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Builds the portable release into a temp folder and unpacks it into an empty one. */
async function unpackedRelease(tmp: string): Promise<string> {
  const out = `${tmp}/release`;
  const r = await run(Deno.execPath(), [
    "run",
    "-A",
    "scripts/release.ts",
    "--target",
    PORTABLE,
    "--out",
    out,
  ], ROOT);
  assert.equal(r.code, 0, r.stderr);
  const name = archiveName(PORTABLE);
  assert.equal(r.stdout, `${out}/${name}\n${out}/SHA256SUMS\n`);
  const sums = await Deno.readTextFile(`${out}/SHA256SUMS`);
  const archive = await Deno.readFile(`${out}/${name}`);
  assert.equal(sums, `${await sha256Hex(archive)}  ${name}\n`);
  const check = await run("sha256sum", ["-c", "SHA256SUMS"], out).catch(() => null);
  if (check) assert.equal(check.stdout, `${name}: OK\n`, check.stderr);

  const empty = `${tmp}/empty`;
  await Deno.mkdir(empty);
  const x = await run("tar", ["-xzf", `${out}/${name}`, "-C", empty], empty);
  assert.equal(x.code, 0, x.stderr);
  const dir = `${empty}/nats-server-deno-${RELEASE_VERSION}-portable`;
  const files = [];
  for await (const e of Deno.readDir(dir)) files.push(e.name);
  assert.deepEqual(files.sort(), ["LICENSE", "README.md", "mkpasswd.js", "nats-server.js"]);
  return dir;
}

Deno.test("the portable release runs from an empty folder with the baked-in permissions", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "portable-" });
  let child: Deno.ChildProcess | null = null;
  try {
    const dir = await unpackedRelease(tmp);
    // The config and its certificates live beside the bundle, as a user would keep them.
    for (const f of ["server-cert.pem", "server-key.pem"]) {
      await Deno.copyFile(`${CERTS}${f}`, `${dir}/${f}`);
    }
    const [port, http] = [freePort(), freePort()];
    await Deno.writeTextFile(
      `${dir}/server.conf`,
      `listen: 127.0.0.1:${port}
http: 127.0.0.1:${http}
tls { cert_file: "./server-cert.pem", key_file: "./server-key.pem" }
authorization {
  user: derek
  password: $2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG
}
log_file: "./server.log"
pid_file: "./server.pid"
`,
    );
    const server = PROGRAMS.find((p) => p.binary === "nats-server")!;
    child = new Deno.Command(Deno.execPath(), {
      // --no-remote --no-npm: the bundle must need nothing but itself.
      args: [
        "run",
        "--no-remote",
        "--no-npm",
        ...server.permissions,
        ...UNSTABLE_FLAGS,
        "nats-server.js",
        "-c",
        "server.conf",
      ],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pid = child.pid;
    const log = () => Deno.readTextFile(`${dir}/server.log`).catch(() => "");
    let exited = false;
    child.status.then(() => (exited = true));
    await waitFor(
      async () => exited || (await log()).includes("[INF] Server is ready"),
      "Server is ready",
      10_000,
    );
    assert.ok(!exited, "the server exited");
    assert.equal(await Deno.readTextFile(`${dir}/server.pid`), String(pid));
    assert.match(await log(), new RegExp(`Release:  nats-server-deno ${RELEASE_VERSION} `));

    // A TLS client with a bcrypt password: the bcrypt worker runs from inside the bundle.
    const nc = await connect({
      servers: `tls://localhost:${port}`,
      tls: { caFile: `${CERTS}ca.pem` },
      user: "derek",
      pass: "T0pS3cr3t",
    });
    const sub = nc.subscribe("portable", { max: 1 });
    nc.publish("portable", "from an empty folder");
    for await (const m of sub) assert.equal(m.string(), "from an empty folder");

    const varz = await (await fetch(`http://127.0.0.1:${http}/varz`)).json();
    assert.equal(varz.version, "2.9.10");
    assert.equal(varz.release, RELEASE_VERSION);
    assert.equal(varz.connections, 1);
    assert.equal(varz.tls_required, true);
    await nc.close();

    child.kill("SIGINT");
    const exit = await child.output();
    child = null;
    assert.equal(exit.code, 0, dec.decode(exit.stderr));
    assert.match(await log(), /\[INF\] Server Exiting\.\.\n$/);
    await assert.rejects(() => Deno.stat(`${dir}/server.pid`), Deno.errors.NotFound);

    // mkpasswd.js needs no permission at all.
    const mk = await run(
      Deno.execPath(),
      ["run", "--no-remote", "--no-npm", "mkpasswd.js", "-p", "-c", "4"],
      dir,
      "s3cret\n",
    );
    assert.equal(mk.code, 0, mk.stderr);
    assert.match(mk.stdout, /^bcrypt hash: \$2a\$04\$[./A-Za-z0-9]{53}\n$/m);
  } finally {
    if (child) {
      try {
        child.kill("SIGKILL");
      } catch {
        // it had exited: its output says why
      }
      const out = await child.output();
      console.error(dec.decode(out.stderr));
    }
    await Deno.remove(tmp, { recursive: true });
  }
});
