/**
 * The benchmark still runs: `scripts/bench.ts --quick --only ours` completes, prints the table
 * header and a non-zero result for every scenario, JetStream ones included.
 */

const BENCH = new URL("../scripts/bench.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("bench in quick mode completes and reports non-zero rates for our server", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH, "--quick", "--only", "ours"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(28_000),
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
  for (
    const label of [
      "publish-only",
      "1:1 pub/sub",
      "1:5 fan-out",
      "queue group (1 pub, 4 members)",
      "1:1 pub/sub over websocket",
      "request/reply p50",
      "request/reply p99",
    ]
  ) {
    const cell = rows.get(label);
    assert(cell !== undefined, `no row for ${label}${context}`);
    const value = parseFloat(cell);
    assert(Number.isFinite(value) && value > 0, `${label}: expected a non-zero value, got ${cell}`);
  }
  const memory = [...rows.entries()].find(([k]) => k.startsWith("idle memory"));
  assert(memory !== undefined && parseFloat(memory[1]) > 0, `no idle memory result${context}`);
  // JetStream: 8 scenarios at 16 B and 1 KiB.
  const js = [...rows.entries()].filter(([k]) => k.startsWith("JS ") || k.startsWith("KV "));
  assert(js.length === 16, `expected 16 JetStream rows, got ${js.length}${context}`);
  for (const [label, cell] of js) {
    assert(parseFloat(cell) > 0, `${label}: expected a non-zero value, got ${cell}${context}`);
  }
});
