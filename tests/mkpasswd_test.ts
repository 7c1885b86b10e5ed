import assert from "node:assert/strict";
import { genPassword, PASSWORD_ALPHABET, PASSWORD_LENGTH } from "../mkpasswd.ts";
import { checkPassword } from "../src/password.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const dec = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The tool as users run it: a separate process, so exit codes and both streams are real. */
async function mkpasswd(args: string[], stdin?: string): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "mkpasswd.ts", ...args],
    cwd: ROOT,
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

const HASH = (cost: string) => `(\\$2a\\$${cost}\\$[./A-Za-z0-9]{53})`;
const ALPHABET_RE = /^[a-zA-Z0-9!@$#%^&*()]+$/;
const USAGE_DEFAULTS = "  -c int\n    \tThe cost weight, range of 4-31 (default 11)\n" +
  "  -p\tInput password via stdin\n";

Deno.test("genPassword draws 22 characters from mkpasswd.go's alphabet", () => {
  assert.equal(PASSWORD_LENGTH, 22);
  assert.equal(PASSWORD_ALPHABET.length, 72);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const p = genPassword();
    assert.equal(p.length, 22);
    assert.match(p, ALPHABET_RE);
    for (const c of p) seen.add(c);
  }
  // 4400 draws over 72 symbols: all of them show up unless the draw is badly skewed.
  assert.equal(seen.size, 72);
});

Deno.test("mkpasswd with no arguments prints a password and its cost-11 hash", async () => {
  const r = await mkpasswd([]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const m = new RegExp(`^pass: ([a-zA-Z0-9!@$#%^&*()]{22})\\nbcrypt hash: ${HASH("11")}\\n$`)
    .exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(await checkPassword(m[1], m[2]), true);
});

Deno.test("mkpasswd -c 4 hashes at cost 4", async () => {
  const r = await mkpasswd(["-c", "4"]);
  assert.equal(r.code, 0, r.stderr);
  const m = new RegExp(`^pass: (\\S{22})\\nbcrypt hash: ${HASH("04")}\\n$`).exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(await checkPassword(m[1], m[2]), true);
  assert.equal(await checkPassword(m[1] + "x", m[2]), false);
});

Deno.test("mkpasswd accepts Go flag spellings of the cost", async () => {
  for (const args of [["-c=4"], ["--c", "4"], ["--c=0x4"], ["-c", "04"]]) {
    const r = await mkpasswd(args);
    assert.equal(r.code, 0, `${args}: ${r.stderr}`);
    assert.match(r.stdout, /\nbcrypt hash: \$2a\$04\$/, args.join(" "));
  }
});

Deno.test("mkpasswd -p reads the password and its confirmation from piped stdin", async () => {
  const r = await mkpasswd(["-p", "-c", "4"], "T0pS3cr3t\nT0pS3cr3t\n");
  assert.equal(r.code, 0, r.stderr);
  const m = new RegExp(`^Enter Password: \\nReenter Password: \\nbcrypt hash: ${HASH("04")}\\n$`)
    .exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(await checkPassword("T0pS3cr3t", m[1]), true);
});

Deno.test("mkpasswd -p takes a single piped line as its own confirmation", async () => {
  for (const input of ["T0pS3cr3t\n", "T0pS3cr3t", "T0pS3cr3t\r\n"]) {
    const r = await mkpasswd(["-p", "-c", "4"], input);
    assert.equal(r.code, 0, r.stderr);
    const hash = /bcrypt hash: (\S+)\n$/.exec(r.stdout)?.[1] ?? "";
    assert.equal(await checkPassword("T0pS3cr3t", hash), true, JSON.stringify(input));
  }
});

Deno.test("mkpasswd -p keeps spaces and non-ASCII in the password", async () => {
  const r = await mkpasswd(["-p", "-c", "4"], " pässwörd \n pässwörd \n");
  assert.equal(r.code, 0, r.stderr);
  const hash = /bcrypt hash: (\S+)\n$/.exec(r.stdout)?.[1] ?? "";
  assert.equal(await checkPassword(" pässwörd ", hash), true);
});

Deno.test("mkpasswd -p fails when the confirmation differs", async () => {
  const r = await mkpasswd(["-p", "-c", "4"], "T0pS3cr3t\nT0pS3cr3T\n");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "Enter Password: \nReenter Password: ");
  assert.equal(r.stderr, "Error, passwords do not match\n");
});

Deno.test("mkpasswd -p fails on empty input rather than hashing an empty password", async () => {
  const r = await mkpasswd(["-p", "-c", "4"], "");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "Enter Password: ");
  assert.equal(r.stderr, "Error, no password given\n");
});

Deno.test("mkpasswd rejects a cost outside 4..31 before doing anything", async () => {
  for (const cost of ["3", "32", "0", "-1"]) {
    const r = await mkpasswd(["-c", cost]);
    assert.equal(r.code, 1, cost);
    assert.equal(r.stdout, "", cost);
    assert.equal(
      r.stderr,
      `Error producing bcrypt hash: crypto/bcrypt: cost ${cost} is outside allowed range (4,31)\n`,
    );
  }
});

Deno.test("mkpasswd reports flag errors like Go's flag package, exit 2", async () => {
  const cases: [string[], string][] = [
    [["-c", "abc"], 'invalid value "abc" for flag -c: parse error\n'],
    [["-c"], "flag needs an argument: -c\n"],
    [["-x"], "flag provided but not defined: -x\n"],
    [["-p=maybe"], 'invalid boolean value "maybe" for -p: parse error\n'],
  ];
  for (const [args, err] of cases) {
    const r = await mkpasswd(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "Usage: mkpasswd [-p <stdin password>] [-c COST] \n");
    assert.equal(r.stderr, err + USAGE_DEFAULTS);
  }
});

Deno.test("mkpasswd -h prints usage and exits 0", async () => {
  const r = await mkpasswd(["-h"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "Usage: mkpasswd [-p <stdin password>] [-c COST] \n");
  assert.equal(r.stderr, USAGE_DEFAULTS);
});

/** The proof that matters: real nats-server accepts our hash as a configured password. */
const natsServer = await new Deno.Command("nats-server", { args: ["--version"] }).output()
  .then((o) => o.success).catch(() => false);

Deno.test({
  name: "nats-server v2 authenticates with a password hashed by mkpasswd",
  ignore: !natsServer,
  async fn() {
    const r = await mkpasswd(["-p", "-c", "4"], "T0pS3cr3t\nT0pS3cr3t\n");
    const hash = /bcrypt hash: (\S+)\n$/.exec(r.stdout)?.[1] ?? "";
    assert.ok(hash.startsWith("$2a$04$"), r.stdout + r.stderr);

    const dir = await Deno.makeTempDir();
    const conf = `${dir}/auth.conf`;
    await Deno.writeTextFile(
      conf,
      `host: 127.0.0.1\nport: -1\nauthorization { user: a, password: "${hash}" }\n`,
    );
    const server = new Deno.Command("nats-server", {
      args: ["-c", conf],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log = server.stderr.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let seen = "";
      let port = 0;
      while (!port) {
        const { value, done } = await log.read();
        if (done) throw new Error(`nats-server exited: ${seen}`);
        seen += value;
        port = Number(/Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(seen)?.[1]);
      }
      assert.equal(await natsLogin(port, "a", "T0pS3cr3t"), "PONG");
      assert.equal(await natsLogin(port, "a", "wrong"), "-ERR 'Authorization Violation'");
    } finally {
      server.kill("SIGTERM");
      // Drain the log so the stream closes with the process and no resource is left open.
      while (!(await log.read()).done) { /* drain */ }
      await server.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** CONNECT with user/pass then PING; returns the server's first line after INFO. */
async function natsLogin(port: number, user: string, pass: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const connect = JSON.stringify({ verbose: false, pedantic: false, user, pass });
    await conn.write(new TextEncoder().encode(`CONNECT ${connect}\r\nPING\r\n`));
    let text = "";
    const buf = new Uint8Array(4096);
    for (;;) {
      const lines = text.split("\r\n").filter((l) => l && !l.startsWith("INFO "));
      if (lines.length > 0 && text.endsWith("\r\n")) return lines[0];
      const n = await conn.read(buf);
      if (n === null) return text;
      text += dec.decode(buf.subarray(0, n));
    }
  } finally {
    conn.close();
  }
}
