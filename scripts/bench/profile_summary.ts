/**
 * Summarises a V8 .cpuprofile (from `deno run --cpu-prof`): the top functions by self time, or
 * with --inclusive by total time (the samples in which the function is anywhere on the stack),
 * which shows what a whole path such as accepting a connection costs.
 *
 *   deno run -A scripts/bench/profile_summary.ts FILE.cpuprofile [TOP] [FROM-TO] [--inclusive]
 *
 * FROM-TO (fractions of the profile's duration, e.g. 0.6-1) keeps only the samples taken in
 * that part of the run: the timed phase of a scenario that first fills a stream, say.
 */

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const args = Deno.args.filter((a) => a !== "--inclusive");
const inclusive = args.length !== Deno.args.length;
const [file, topArg, windowArg] = args;
if (!file) {
  console.error("usage: profile_summary.ts FILE.cpuprofile [TOP] [FROM-TO] [--inclusive]");
  Deno.exit(2);
}
const prof = JSON.parse(await Deno.readTextFile(file)) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function keyOf(n: Node): string {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(src|scripts)\//, "$1/")}:${f.lineNumber + 1}` : "";
  return `${f.functionName || "(anonymous)"} ${where}`.trim();
}

const time = new Map<string, number>();
let total = 0;
const duration = prof.timeDeltas.reduce((a, b) => a + b, 0);
const [from, to] = (windowArg ?? "0-1").split("-").map((v) => Number(v) * duration);
let at = 0;
for (let i = 0; i < prof.samples.length; i++) {
  at += prof.timeDeltas[i] ?? 0;
  if (at < from || at > to) continue;
  const n = byId.get(prof.samples[i]);
  if (!n) continue;
  const dt = prof.timeDeltas[i] ?? 0;
  total += dt;
  if (!inclusive) {
    const key = keyOf(n);
    time.set(key, (time.get(key) ?? 0) + dt);
    continue;
  }
  // Each function once per sample, however often it recurs on the stack.
  const seen = new Set<string>();
  for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
    const key = keyOf(byId.get(id)!);
    if (seen.has(key) || key === "(root)") continue;
    seen.add(key);
    time.set(key, (time.get(key) ?? 0) + dt);
  }
}
const top = [...time.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25));
console.log(`total ${(total / 1000).toFixed(0)} ms sampled (${inclusive ? "inclusive" : "self"})`);
for (const [k, v] of top) {
  console.log(
    `${(100 * v / total).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`,
  );
}
