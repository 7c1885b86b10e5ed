/**
 * The release task (`deno task compile`): one `deno compile` per program and target, into
 * dist/<target>/. `--dry-run` prints the commands instead, which is also how the matrix is tested,
 * because a real compile downloads the target's runtime (denort), and that download is not always
 * possible (it is not on our build machines). A real run reports such a failure as it is, with
 * deno's own error and a non-zero exit: there is no fallback that could leave a fake binary.
 *
 * Commands are printed with `deno` as the program; they run with the deno that runs this script
 * (Deno.execPath()), so a release is built by the version that was tested.
 */

export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

export type Target = typeof TARGETS[number];

interface Program {
  entry: string;
  binary: string;
  /**
   * Granted at compile time, because a compiled server has nobody to answer permission prompts.
   * Listed rather than --allow-all so the binary cannot load FFI libraries or import remote code.
   */
  permissions: string[];
  /** Modules loaded dynamically (workers) that the compiler cannot see by itself. */
  include?: string[];
}

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
    ],
    include: ["src/bcrypt_worker.ts"],
  },
  // mkpasswd needs no permission at all: stdin, stdout, raw mode and crypto are ungated.
  { entry: "mkpasswd.ts", binary: "mkpasswd", permissions: [] },
];

/** The argument vectors (after `deno`) for every program and target, in build order. */
export function compileCommands(targets: readonly string[] = TARGETS): string[][] {
  const commands: string[][] = [];
  for (const target of targets) {
    for (const p of PROGRAMS) {
      // deno would append .exe for Windows by itself; spelling it out keeps the printout exact.
      const exe = target.includes("windows") ? ".exe" : "";
      commands.push([
        "compile",
        "--target",
        target,
        ...p.permissions,
        ...(p.include ?? []).flatMap((f) => ["--include", f]),
        "--output",
        `dist/${target}/${p.binary}${exe}`,
        p.entry,
      ]);
    }
  }
  return commands;
}

/** Shell-quoted only where needed, so the printout can be pasted into a shell as is. */
export function formatCommand(args: readonly string[]): string {
  return ["deno", ...args].map((a) =>
    /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`
  )
    .join(" ");
}

const USAGE = `Usage: deno run -A scripts/release.ts [--dry-run] [--target TARGET]...

Compiles nats-server (main.ts) and mkpasswd (mkpasswd.ts) into dist/<target>/.

  --dry-run        print the deno compile commands, run nothing
  --target TARGET  build only this target (repeatable); default: all of
                   ${TARGETS.join("\n                   ")}
  -h, --help       this text
`;

interface ReleaseArgs {
  dryRun: boolean;
  targets: string[];
}

function parseArgs(args: string[]): ReleaseArgs | string {
  const out: ReleaseArgs = { dryRun: false, targets: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--dry-run") {
      out.dryRun = true;
    } else if (a === "--target" || a.startsWith("--target=")) {
      const t = a === "--target" ? args[++i] : a.slice("--target=".length);
      if (t === undefined) return "--target needs a value";
      if (!(TARGETS as readonly string[]).includes(t)) return `unknown target: ${t}`;
      out.targets.push(t);
    } else {
      return `unknown argument: ${a}`;
    }
  }
  if (out.targets.length === 0) out.targets = [...TARGETS];
  return out;
}

/** Returns the exit status: 0 when every binary was built, else the failing compile's status. */
export async function release(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    console.error(`release: ${parsed}\n\n${USAGE}`);
    return 2;
  }
  const commands = compileCommands(parsed.targets);
  if (parsed.dryRun) {
    for (const c of commands) console.log(formatCommand(c));
    return 0;
  }
  // Relative paths in the commands (entries, dist/) are meant from the repository root.
  const root = new URL("..", import.meta.url);
  for (const c of commands) {
    console.log(formatCommand(c));
    let status: Deno.CommandStatus;
    try {
      status = await new Deno.Command(Deno.execPath(), {
        args: c,
        cwd: root,
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn().status;
    } catch (e) {
      console.error(`release: could not run deno: ${e instanceof Error ? e.message : e}`);
      return 1;
    }
    if (!status.success) {
      const why = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
      console.error(`release: failed (${why}): ${formatCommand(c)}`);
      // deno creates the output directory before it fails to fetch its runtime; an empty
      // dist/<target>/ left behind would look like a build that happened. Non-recursive
      // removes: a directory that holds anything stays.
      const dir = c[c.indexOf("--output") + 1].replace(/[^/]+$/, "");
      for (const d of [dir, "dist/"]) await Deno.remove(new URL(d, root)).catch(() => {});
      return status.code || 1;
    }
  }
  console.log(`release: built ${commands.length} binaries in dist/`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await release(Deno.args));
}
