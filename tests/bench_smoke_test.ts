/**
 * The benchmark still runs: `scripts/bench.ts --quick --only ours` completes, prints the table
 * header and a non-zero result for every scenario (one run per family: the shared-server
 * scenarios, the real-world ones, each on a fresh server, and the JetStream ones through the
 * `deno task bench:js` alias).
 */

const BENCH = new URL("../scripts/bench.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/**
 * Runs the bench (or, with `task`, that deno task of deno.json); returns the table rows
 * (label -> our cell) and the output for messages.
 */
async function bench(args: string[], ms: number, task?: string) {
  const run = task === undefined ? ["run", "-A", BENCH] : ["task", "--quiet", task];
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...run, "--quick", "--only", "ours", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(ms),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const context = `\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-2000)}`;
  assert(out.success, `bench exited with ${out.code}${context}`);
  assert(stdout.includes("| scenario | ours | nats-server | ratio |"), `no table header${context}`);
  const rows = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4 || cells[1] === "scenario" || cells[1].startsWith("---")) continue;
    rows.set(cells[1], cells[2]);
  }
  return { rows, stdout, context };
}

function assertPositive(rows: Map<string, string>, label: string, context: string): void {
  const cell = [...rows.entries()].find(([k]) => k.startsWith(label))?.[1];
  assert(cell !== undefined, `no row for ${label}${context}`);
  const value = parseFloat(cell);
  assert(Number.isFinite(value) && value > 0, `${label}: expected a non-zero value, got ${cell}`);
}

Deno.test("bench in quick mode completes and reports non-zero rates for our server", async () => {
  const { rows, context } = await bench(
    ["--scenario", "memory,pub,pubsub,fanout,queue,wspubsub,reqrep,reqraw"],
    28_000,
  );
  for (
    const label of [
      "publish-only",
      "1:1 pub/sub",
      "1:5 fan-out",
      "queue group (1 pub, 4 members)",
      "1:1 pub/sub over websocket",
      "request/reply p50",
      "request/reply p99",
      "request/reply p50, raw protocol",
      "idle memory (",
    ]
  ) {
    assertPositive(rows, label, context);
  }
});

Deno.test("bench's real-world scenarios complete, with the server's memory after each", async () => {
  const { rows, stdout, context } = await bench([
    "--scenario",
    "empty,hicard,hicardwc,hicardsubs,reqnew,churn,tlspubsub,tlschurn,idlesubs",
    "--settle",
    "0",
  ], 60_000);
  for (
    const label of [
      "empty server RSS",
      "Deno runtime floor",
      "high-cardinality publish",
      "high-cardinality, wildcard sub",
      "high-cardinality, sub per subject",
      "request/reply, new inbox per request p50",
      "connection churn (",
      "connection churn, connect-to-PONG p99",
      "1:1 pub/sub over TLS",
      "TLS connection churn (",
      "idle memory, 1 sub each",
    ]
  ) {
    assertPositive(rows, label, context);
  }
  assert(stdout.includes("| server memory (MiB"), `no memory table${context}`);
});

Deno.test("bench:js runs the JetStream family at both payload sizes, and nothing else", async () => {
  const { rows, context } = await bench([], 60_000, "bench:js");
  for (const size of ["16 B", "1 KiB"]) {
    for (
      const label of [
        "JS publish, sync (1 in flight), file",
        "JS publish, sync (1 in flight), memory",
        "JS publish, async (1000 in flight), file",
        "JS publish, async (1000 in flight), memory",
        "JS pull consume + ack, file",
        "JS pull consume + ack, memory",
        "KV put (1 in flight)",
        "KV get, direct (1 in flight)",
      ]
    ) {
      assertPositive(rows, `${label}, ${size}`, context);
    }
  }
  assert(!rows.has("publish-only"), `a core scenario ran under bench:js${context}`);
});

Deno.test("bench selects JetStream scenarios by name prefix beside the others", async () => {
  const { rows, context } = await bench(
    ["--scenario", "pub,js-pub-async", "--js-sizes", "16"],
    30_000,
  );
  assertPositive(rows, "publish-only", context);
  assertPositive(rows, "JS publish, async (1000 in flight), file, 16 B", context);
  assertPositive(rows, "JS publish, async (1000 in flight), memory, 16 B", context);
  assert(!rows.has("JS publish, sync (1 in flight), file, 16 B"), `js-pub-sync ran${context}`);
});
