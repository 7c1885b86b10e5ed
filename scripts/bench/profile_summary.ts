/**
 * Summarises a V8 .cpuprofile (from `deno run --cpu-prof`): the top functions by self time.
 *
 *   deno run -A scripts/bench/profile_summary.ts FILE.cpuprofile [TOP] [FROM-TO]
 *
 * FROM-TO (fractions of the profile's duration, e.g. 0.6-1) keeps only the samples taken in
 * that part of the run: the timed phase of a scenario that first fills a stream, say.
 */

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, topArg, windowArg] = Deno.args;
if (!file) {
  console.error("usage: profile_summary.ts FILE.cpuprofile [TOP]");
  Deno.exit(2);
}
const prof = JSON.parse(await Deno.readTextFile(file)) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
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
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(src|scripts)\//, "$1/")}:${f.lineNumber + 1}` : "";
  const key = `${f.functionName || "(anonymous)"} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
}
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25));
console.log(`total ${(total / 1000).toFixed(0)} ms sampled`);
for (const [k, v] of top) {
  console.log(
    `${(100 * v / total).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`,
  );
}
