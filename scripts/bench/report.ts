/**
 * The bench's results: what one run measured (Sample), the rows a scenario shows, the medians
 * over the rounds, and the output, as Markdown tables or as JSON. One printer for every
 * scenario family.
 */

import type { ServerKind } from "./servers.ts";

/** What one run of a scenario on one server measured. */
export interface Sample {
  /** msgs/s for throughput, µs for latency, KiB/conn for memory. */
  value: number;
  /** A second value (reqrep p99). */
  value2?: number;
  /** A third value (churn p99 when value2 is p50). */
  value3?: number;
  /** Server CPU ns per delivered message (throughput scenarios). */
  serverNsPerMsg?: number;
  /** Server CPU use over the run, % of one core. */
  serverCpu?: number;
  /** Bench process (+ agent processes) CPU, % of one core. */
  clientCpu?: number;
  /** Cores used by other processes during the timed part (machine busy minus ours). */
  others?: number;
  /** The server's memory after the load and after it stopped (real-world scenarios). */
  mem?: MemSample;
  /** The Deno runtime's own RSS floor, KiB (empty scenario, our server). */
  floor?: number;
  note?: string;
}

export interface MemSample {
  /** VmRSS KiB when the server was ready, before any load. */
  start: number;
  /** VmHWM: the highest RSS the server reached, KiB. */
  peak: number;
  /** VmRSS KiB right after the load ended. */
  load: number;
  /** VmRSS KiB --settle seconds later. */
  idle: number;
  /** V8 heap used (bytes) when idle; our server only. */
  heapIdle?: number;
  heapTotalIdle?: number;
}

/** One table row: a value picked from each sample, and how ours compares with nats-server. */
export interface Row {
  key: string;
  label: string;
  unit: string;
  fmt: (v: number) => string;
  /** Target ratio ours/nats-server and whether higher is better. */
  target: number;
  higher: boolean;
  pick: (s: Sample) => number | undefined;
}

/** A measured case (a scenario, at one payload size) as the report shows it. */
export interface CaseReport {
  /** The key its samples are filed under in Results. */
  key: string;
  rows: Row[];
  /**
   * A real-world case: the server's memory after the load goes in the memory summary (printed
   * in the memory table when `inTable`), against an idle RSS ratio target if there is one.
   */
  memory?: { inTable: boolean; idleTarget?: number };
}

/** Samples by case key, then by server. */
export type Results = Record<string, Record<ServerKind, Sample[]>>;

export function fmtRate(v: number): string {
  if (!Number.isFinite(v)) return "-";
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}

export function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export const f0 = (v: number) => v.toFixed(0);
export const f1 = (v: number) => v.toFixed(1);
const mib = (kib: number) => (kib / 1024).toFixed(1);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** A rate row (higher is better): the sample's value. */
export function rate(key: string, label: string, unit: string, target: number): Row {
  return { key, label, unit, fmt: fmtRate, target, higher: true, pick: (s) => s.value };
}

/** A latency row (lower is better). */
export function latency(
  key: string,
  label: string,
  target: number,
  pick: (s: Sample) => number | undefined,
  unit = "µs",
): Row {
  return { key, label, unit, fmt: f0, target, higher: false, pick };
}

function targetText(r: Row, ratio: number): string {
  if (!Number.isFinite(r.target)) return "";
  const met = !Number.isFinite(ratio)
    ? ""
    : (r.higher ? ratio >= r.target : ratio <= r.target)
    ? " ✓"
    : " ✗";
  return `${r.higher ? ">=" : "<="} ${r.target.toFixed(1)}x${met}`;
}

/** The progress line of one sample: its rows' values, then CPU, memory and notes. */
export function sampleLine(round: number, c: CaseReport, kind: ServerKind, s: Sample): string {
  const m = s.mem;
  const extra = [
    s.serverCpu !== undefined ? `server ${s.serverCpu.toFixed(0)}% CPU` : "",
    s.serverNsPerMsg !== undefined ? `${s.serverNsPerMsg.toFixed(0)} ns/msg` : "",
    s.clientCpu !== undefined ? `clients ${s.clientCpu.toFixed(0)}% CPU` : "",
    m
      ? `RSS MiB start ${mib(m.start)} peak ${mib(m.peak)} load ${mib(m.load)} idle ${
        mib(m.idle)
      }` +
        (m.heapIdle !== undefined
          ? `, idle heap MB ${mb(m.heapIdle)} used of ${mb(m.heapTotalIdle ?? NaN)}`
          : "")
      : "",
    s.floor !== undefined ? `deno floor ${mib(s.floor)} MiB` : "",
    s.note ?? "",
  ].filter(Boolean).join(", ");
  const main = c.rows.map((r) => `${r.fmt(r.pick(s) ?? NaN)} ${r.unit}`).join(" / ");
  return `  round ${round} ${c.key.padEnd(10)} ${kind.padEnd(11)} ${main}  (${extra})`;
}

/** Everything the report is made of. */
export interface ReportInput {
  /** The machine line (cores, load, versions, payload, run settings). */
  machine: string;
  elapsedSeconds: number;
  /** The servers measured, in column order. */
  kinds: ServerKind[];
  cases: CaseReport[];
  results: Results;
  errors: string[];
  /** The --settle wait, for the memory table's heading. */
  settleMs: number;
}

/** Prints the medians as JSON (rows, memory, every run, errors) or as Markdown tables. */
export function printReport(input: ReportInput, json: boolean): void {
  const { cases, results } = input;
  const table = cases.flatMap((c) =>
    c.rows.map((r) => {
      const pick = (k: ServerKind) => results[c.key][k].map((x) => r.pick(x) ?? NaN);
      const samples = {
        "ours": pick("ours"),
        "base": pick("base"),
        "nats-server": pick("nats-server"),
      };
      const ours = median(samples.ours);
      const ref = median(samples["nats-server"]);
      const base = median(samples.base);
      return {
        key: r.key,
        label: r.label,
        unit: r.unit,
        ours,
        base,
        ref,
        ratio: ours / ref,
        samples,
      };
    })
  );
  const memTable = cases.filter((c) => c.memory !== undefined).map((c) => {
    const med = (k: ServerKind, f: (m: MemSample) => number | undefined) =>
      median(results[c.key][k].map((x) => (x.mem ? f(x.mem) : undefined) ?? NaN));
    const row = (k: ServerKind) => ({
      peak: med(k, (m) => m.peak),
      load: med(k, (m) => m.load),
      idle: med(k, (m) => m.idle),
      heapIdle: med(k, (m) => m.heapIdle),
      heapTotal: med(k, (m) => m.heapTotalIdle),
    });
    return { scenario: c.key, ours: row("ours"), base: row("base"), ref: row("nats-server") };
  });

  if (json) {
    console.log(JSON.stringify(
      {
        machine: input.machine,
        elapsedSeconds: input.elapsedSeconds,
        servers: input.kinds,
        rows: table,
        memory: memTable,
        runs: results,
        errors: input.errors,
      },
      (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
      2,
    ));
    return;
  }

  const hasBase = input.kinds.includes("base");
  const lines = hasBase
    ? [
      "| scenario | ours | base | nats-server | ratio | ours/base | target |",
      "|---|---:|---:|---:|---:|---:|---|",
    ]
    : [
      "| scenario | ours | nats-server | ratio | target |",
      "|---|---:|---:|---:|---|",
    ];
  for (const c of cases) {
    for (const r of c.rows) {
      const t = table.find((x) => x.key === r.key)!;
      const cell = (v: number) => Number.isFinite(v) ? `${r.fmt(v)} ${r.unit}` : "-";
      const x = (v: number) => Number.isFinite(v) ? `${v.toFixed(2)}x` : "-";
      const base = hasBase ? ` ${cell(t.base)} |` : "";
      const vsBase = hasBase ? ` ${x(t.ours / t.base)} |` : "";
      lines.push(
        `| ${r.label} | ${cell(t.ours)} |${base} ${cell(t.ref)} | ${x(t.ratio)} |${vsBase} ${
          targetText(r, t.ratio)
        } |`,
      );
    }
  }
  // Server CPU per delivered message: where the time goes on each side.
  const cpuRows: string[] = [];
  for (const c of cases) {
    const ns = (k: ServerKind) => median(results[c.key][k].map((x) => x.serverNsPerMsg ?? NaN));
    const o = ns("ours");
    const n = ns("nats-server");
    if (Number.isFinite(o) || Number.isFinite(n)) {
      const f = (v: number) => Number.isFinite(v) ? `${v.toFixed(0)} ns` : "-";
      cpuRows.push(
        `| ${c.rows[0].label} | ${f(o)} |${hasBase ? ` ${f(ns("base"))} |` : ""} ${f(n)} |`,
      );
    }
  }
  console.log(lines.join("\n"));
  console.log(
    "\nratio = ours / nats-server (higher is better for rates, lower for µs, ms, MiB and KiB).",
  );
  if (cpuRows.length > 0) {
    console.log(
      `\n| server CPU per delivered message | ours |${
        hasBase ? " base |" : ""
      } nats-server |\n|---|---:|${hasBase ? "---:|" : ""}---:|`,
    );
    console.log(cpuRows.join("\n"));
  }
  const memCases = cases.filter((c) => c.memory?.inTable);
  if (memCases.length > 0) {
    const kinds = input.kinds;
    const head = kinds.map((k) => `${k} RSS peak / load / idle`).join(" | ");
    console.log(
      `\n| server memory (MiB; idle = ${input.settleMs / 1000} s after the load) | ${head} | ` +
        `ours idle V8 heap used / total (MB) | idle RSS ratio | target |`,
    );
    console.log(`|---|${kinds.map(() => "---:").join("|")}|---:|---:|---|`);
    for (const c of memCases) {
      const m = memTable.find((x) => x.scenario === c.key)!;
      const cell = (r: { peak: number; load: number; idle: number }) =>
        Number.isFinite(r.peak) ? `${mib(r.peak)} / ${mib(r.load)} / ${mib(r.idle)}` : "-";
      const byKind = { "ours": m.ours, "base": m.base, "nats-server": m.ref };
      const ratio = m.ours.idle / m.ref.idle;
      const target = c.memory!.idleTarget;
      const met = target === undefined || !Number.isFinite(ratio)
        ? ""
        : ratio <= target
        ? " ✓"
        : " ✗";
      const heap = Number.isFinite(m.ours.heapIdle)
        ? `${mb(m.ours.heapIdle)} / ${mb(m.ours.heapTotal)}`
        : "-";
      console.log(
        `| ${c.rows[0].label} | ${kinds.map((k) => cell(byKind[k])).join(" | ")} | ` +
          `${heap} | ${Number.isFinite(ratio) ? ratio.toFixed(2) + "x" : "-"} | ${
            target === undefined ? "" : `<= ${target.toFixed(1)}x${met}`
          } |`,
      );
    }
  }
  console.log(`\nmachine: ${input.machine}; ${input.elapsedSeconds.toFixed(0)} s total`);
  if (input.errors.length > 0) {
    console.log(`\nerrors:\n${input.errors.map((e) => `- ${e}`).join("\n")}`);
  }
}
