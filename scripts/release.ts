/**
 * The release task (`deno task release`): for each platform, nats-server and mkpasswd compiled
 * with `deno compile` and archived as `nats-server-deno-<version>-<os>-<arch>.tar.gz` (`.zip` for
 * Windows) with README.md and LICENSE; the portable artifact (scripts/bundle.ts: one JavaScript
 * file per program, for any machine with Deno) archived the same way as `...-portable.tar.gz`;
 * and `SHA256SUMS` over all archives, in `sha256sum -c` format. The version is deno.json's.
 *
 * Everything is built in a staging folder and moved into the output folder only when every step
 * succeeded, so a failure leaves no partial or fake artifact. A real compile downloads the
 * target's runtime (denort); where that is impossible (as on our build machines) deno's own error
 * is passed through and the task exits non-zero.
 *
 * Commands run with the deno that runs this script (Deno.execPath()), so a release is built by the
 * version that was tested; they are printed with `deno` as the program.
 */

import { type ArchiveEntry, sha256Hex, tarGz, zip } from "./archive.ts";
import { bundlePortable, BUNDLES, DenoCommandError, ROOT, runDeno } from "./bundle.ts";
import { RELEASE_NAME, RELEASE_VERSION } from "../src/version.ts";

export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

export type Target = typeof TARGETS[number];

/** Not a `deno compile` target: the bundled JavaScript, for any OS and CPU Deno runs on. */
export const PORTABLE = "portable";

/** nats-server's own release naming (Go's GOOS-GOARCH), so the archives look familiar. */
export const PLATFORM: Readonly<Record<Target, string>> = {
  "x86_64-unknown-linux-gnu": "linux-amd64",
  "aarch64-unknown-linux-gnu": "linux-arm64",
  "x86_64-apple-darwin": "darwin-amd64",
  "aarch64-apple-darwin": "darwin-arm64",
  "x86_64-pc-windows-msvc": "windows-amd64",
};

export interface Program {
  entry: string;
  binary: string;
  /**
   * Granted at compile time, because a compiled server has nobody to answer permission prompts.
   * Listed rather than --allow-all so the binary cannot import remote code; FFI is granted for
   * one call, glibc's malloc_trim after a load (src/malloc_trim.ts).
   * The portable bundle is documented to run with the same list (README).
   */
  permissions: readonly string[];
  /** Modules loaded dynamically (workers) that the compiler cannot see by itself. */
  include?: readonly string[];
  /** V8 flags baked into the binary (see SERVER_V8_FLAGS). */
  v8Flags?: string;
}

/**
 * The V8 flags the server runs with, everywhere it is started as a program: `deno task start`
 * (deno.json), the compiled binaries (baked in here) and the portable bundle (README). Why each:
 * - --expose-gc: once a load stops, the server asks for one full collection (src/idle_gc.ts), so
 *   the heap and RSS a load grew come back within seconds instead of V8's own 10 s or more.
 * - --max-old-space-size=65536: no heap limit short of the machine's memory, as nats-server has
 *   none; V8's default (about 4 GB here) would kill a server holding a load nats-server holds.
 * - --max-semi-space-size=4: a young generation of at most 2 x 4 MB instead of up to 2 x 16 MB,
 *   which the hot path (no per-message allocation) does not need; it cut peak RSS of a burst of
 *   new subjects by about 30 MB with no measurable cost in throughput.
 */
export const SERVER_V8_FLAGS =
  "--v8-flags=--expose-gc,--max-old-space-size=65536,--max-semi-space-size=4";

export const PROGRAMS: readonly Program[] = [
  {
    entry: "main.ts",
    binary: "nats-server",
    permissions: [
      "--allow-net", // client, route and monitoring listeners; soliciting routes
      "--allow-read", // config files (and their includes), certificates
      "--allow-write", // log file, pid file, ports file
      "--allow-env", // $VARIABLE references in config files
      "--allow-sys", // hostname, memory and CPU figures for /varz
      "--allow-run", // --signal: Deno.kill on another server's pid needs it
      "--allow-ffi", // glibc's malloc_trim once a load is over (src/malloc_trim.ts)
    ],
    include: ["src/bcrypt_worker.ts"],
    v8Flags: SERVER_V8_FLAGS,
  },
  // mkpasswd needs no permission at all: stdin, stdout, raw mode and crypto are ungated.
  { entry: "mkpasswd.ts", binary: "mkpasswd", permissions: [] },
];

/**
 * Not a permission: local syslog (`-s`) needs Deno's unstable unix datagrams. Spelled out rather
 * than left to deno.json's `unstable`, which a bundle run from an empty folder would not see.
 */
export const UNSTABLE_FLAGS = ["--unstable-net"];

/** `nats-server-deno-0.1.0-linux-amd64` (the archive's name and its top folder). */
export function archiveBase(target: Target | typeof PORTABLE, version = RELEASE_VERSION): string {
  const platform = target === PORTABLE ? PORTABLE : PLATFORM[target];
  return `${RELEASE_NAME}-${version}-${platform}`;
}

export function archiveName(target: Target | typeof PORTABLE, version = RELEASE_VERSION): string {
  return archiveBase(target, version) + (target.includes("windows") ? ".zip" : ".tar.gz");
}

/** Where the build steps put their outputs, under the output folder. */
export const STAGING = ".build";

function exe(target: string): string {
  return target.includes("windows") ? ".exe" : "";
}

/** The argument vector (after `deno`) that compiles `p` for `target` into `staging`. */
export function compileArgs(target: Target, p: Program, staging: string): string[] {
  return [
    "compile",
    "--target",
    target,
    ...p.permissions,
    ...(p.permissions.length > 0 ? UNSTABLE_FLAGS : []),
    ...(p.v8Flags ? [p.v8Flags] : []),
    ...(p.include ?? []).flatMap((f) => ["--include", f]),
    "--output",
    `${staging}/${target}/${p.binary}${exe(target)}`,
    p.entry,
  ];
}

/** Every compile of the matrix, in build order (each target: server, then mkpasswd). */
export function compileCommands(
  targets: readonly Target[] = TARGETS,
  staging = `dist/${STAGING}`,
): string[][] {
  return targets.flatMap((t) => PROGRAMS.map((p) => compileArgs(t, p, staging)));
}

/** Shell-quoted only where needed, so the printout can be pasted into a shell as is. */
export function formatCommand(args: readonly string[]): string {
  return ["deno", ...args].map((a) =>
    /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`
  )
    .join(" ");
}

/**
 * The build steps, replaceable so tests can run the packaging for real without the network:
 * `compile` must write the binary at the command's `--output` path.
 */
export interface Steps {
  compile(args: string[]): Promise<void>;
  bundle(outDir: string): Promise<void>;
}

export const REAL_STEPS: Steps = {
  compile: (args) => runDeno(args),
  bundle: async (dir) => {
    await bundlePortable(dir);
  },
};

const USAGE = `Usage: deno task release [--dry-run] [--out DIR] [--target TARGET]...

Builds ${RELEASE_NAME} ${RELEASE_VERSION} release archives and SHA256SUMS into DIR (default dist/):
nats-server and mkpasswd compiled for each target, and the portable bundle.

  --dry-run        print the steps, run nothing
  --out DIR        output folder (default dist; relative to the repository root)
  --target TARGET  build only this target (repeatable); default: all of
                   ${[...TARGETS, PORTABLE].join("\n                   ")}
  -h, --help       this text
`;

interface ReleaseArgs {
  dryRun: boolean;
  out: string;
  targets: (Target | typeof PORTABLE)[];
}

function parseArgs(args: string[]): ReleaseArgs | string {
  const out: ReleaseArgs = { dryRun: false, out: "dist", targets: [] };
  const known: string[] = [...TARGETS, PORTABLE];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (name: string) => a === name ? args[++i] : a.slice(name.length + 1);
    if (a === "--dry-run") {
      out.dryRun = true;
    } else if (a === "--target" || a.startsWith("--target=")) {
      const t = value("--target");
      if (t === undefined) return "--target needs a value";
      if (!known.includes(t)) return `unknown target: ${t}`;
      if (!out.targets.includes(t as Target)) out.targets.push(t as Target);
    } else if (a === "--out" || a.startsWith("--out=")) {
      const d = value("--out");
      if (!d) return "--out needs a value";
      out.out = d.replace(/\/+$/, "") || "/";
    } else {
      return `unknown argument: ${a}`;
    }
  }
  if (out.targets.length === 0) out.targets = [...TARGETS, PORTABLE];
  return out;
}

/**
 * The archives' timestamp: SOURCE_DATE_EPOCH when set (the reproducible-builds convention),
 * else the last commit's time, else 0, so rebuilding the same commit gives the same bytes.
 */
async function releaseTime(): Promise<number> {
  const env = Deno.env.get("SOURCE_DATE_EPOCH");
  if (env && /^\d+$/.test(env)) return Number(env);
  try {
    const out = await new Deno.Command("git", {
      args: ["log", "-1", "--format=%ct"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    const t = Number(new TextDecoder().decode(out.stdout).trim());
    if (out.success && Number.isInteger(t) && t > 0) return t;
  } catch {
    // no git: fall through
  }
  return 0;
}

/** Returns the exit status: 0 when every archive was written, else non-zero. */
export async function release(args: string[], steps: Steps = REAL_STEPS): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    console.error(`release: ${parsed}\n\n${USAGE}`);
    return 2;
  }
  const { out, targets } = parsed;
  const staging = `${out}/${STAGING}`;
  const compiled = targets.filter((t): t is Target => t !== PORTABLE);
  const commands = compileCommands(compiled, staging);
  if (parsed.dryRun) {
    for (const c of commands) console.log(formatCommand(c));
    if (targets.includes(PORTABLE)) console.log(`bundle ${staging}/${PORTABLE}`);
    for (const t of targets) console.log(`archive ${out}/${archiveName(t)}`);
    console.log(`checksums ${out}/SHA256SUMS`);
    return 0;
  }

  // Relative paths (entries, --output) are meant from the repository root.
  const outAbs = new URL(out.endsWith("/") ? out : out + "/", ROOT);
  const stagingAbs = new URL(STAGING + "/", outAbs);
  const createdOut = !(await exists(outAbs));
  await Deno.remove(stagingAbs, { recursive: true }).catch(() => {});
  await Deno.mkdir(stagingAbs, { recursive: true });
  const written: string[] = [];
  try {
    for (const c of commands) {
      console.error(`release: ${formatCommand(c)}`);
      await steps.compile(c);
    }
    if (targets.includes(PORTABLE)) {
      console.error(`release: bundling ${BUNDLES.map((b) => b.entry).join(", ")}`);
      await steps.bundle(new URL(PORTABLE + "/", stagingAbs).pathname);
    }
    const mtime = await releaseTime();
    const docs = await Promise.all(
      ["README.md", "LICENSE"].map(async (f) => ({
        name: f,
        data: await Deno.readFile(new URL(f, ROOT)),
      })),
    );
    const sums: string[] = [];
    const archives: Array<[string, Uint8Array]> = [];
    for (const t of targets) {
      const base = archiveBase(t);
      const files = t === PORTABLE
        ? BUNDLES.map((b) => b.file)
        : PROGRAMS.map((p) => p.binary + exe(t));
      const entries: ArchiveEntry[] = [{ path: `${base}/`, mode: 0o755 }];
      for (const f of files) {
        const data = await Deno.readFile(new URL(`${t}/${f}`, stagingAbs));
        entries.push({ path: `${base}/${f}`, data, mode: t === PORTABLE ? 0o644 : 0o755 });
      }
      for (const d of docs) entries.push({ path: `${base}/${d.name}`, data: d.data, mode: 0o644 });
      const name = archiveName(t);
      const bytes = name.endsWith(".zip") ? await zip(entries, mtime) : await tarGz(entries, mtime);
      archives.push([name, bytes]);
      sums.push(`${await sha256Hex(bytes)}  ${name}\n`);
    }
    // Everything is built: only now does anything appear in the output folder.
    for (const [name, bytes] of archives) {
      await Deno.writeFile(new URL(name, outAbs), bytes);
      written.push(name);
    }
    await Deno.writeTextFile(new URL("SHA256SUMS", outAbs), sums.join(""));
    written.push("SHA256SUMS");
    for (const name of written) console.log(`${out}/${name}`);
    return 0;
  } catch (e) {
    for (const name of written) await Deno.remove(new URL(name, outAbs)).catch(() => {});
    const why = e instanceof DenoCommandError ? e.message : `${e instanceof Error ? e.message : e}`;
    console.error(`release: failed, no archive written: ${why}`);
    return e instanceof DenoCommandError && e.code !== 0 ? e.code : 1;
  } finally {
    await Deno.remove(stagingAbs, { recursive: true }).catch(() => {});
    if (createdOut) await Deno.remove(outAbs).catch(() => {}); // only if it is empty
  }
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  Deno.exit(await release(Deno.args));
}
