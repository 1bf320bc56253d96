/** The results as a table (printed, and in bench/results.md for the README) and as JSON. */
import { writeFileSync } from "node:fs";
import { describeMachine, type MachineInfo } from "./machine";
import type { WayResult } from "./measure";
import type { BenchOptions } from "./options";
import { REPLICATE_SYNC_WINDOW_MS, type Scenario } from "./scenarios";
import { fmt, pct, type TargetVerdict } from "./targets";
import { WAY_LABELS } from "./ways";

export interface BenchReport {
  generatedAt: string;
  machine: MachineInfo;
  options: BenchOptions;
  scenarios: Scenario[];
  results: WayResult[];
  targets: TargetVerdict[];
}

const COLUMNS = [
  "scenario",
  "way",
  "succeeded",
  "upstream req/prediction",
  "429s create/other",
  "new conns",
  "lag median ms",
  "lag p99 ms",
  "round trip median ms",
  "added vs direct ms",
  "round trip / direct",
  "peak RSS MB",
  "event loop p99 ms",
  "CPU ms/prediction",
];

export function resultsTable(report: BenchReport): string {
  const directTrip = report.results.find((r) => r.way === "direct")?.roundTripMs.median ?? null;
  const rows = report.results.map((r) => {
    const scenario = report.scenarios.find((s) => s.id === r.scenario)!;
    const comparable = r.scenario === "instant" && directTrip !== null && r.roundTripMs.median !== null && r.way !== "direct";
    const added = comparable ? fmt(r.roundTripMs.median! - directTrip!, 2) : "";
    const ratio = comparable ? `${fmt(r.roundTripMs.median! / directTrip!, 2)}x` : "";
    return [
      scenario.title,
      WAY_LABELS[r.way],
      `${pct(r.successRate)} of ${r.predictions}`,
      fmt(r.upstream.perPrediction, 2),
      `${r.upstream.throttledCreates}/${r.upstream.throttledOthers}`,
      String(r.upstream.newConnections),
      fmt(r.lagMs.median),
      fmt(r.lagMs.p99),
      r.scenario === "instant" ? fmt(r.roundTripMs.median, 2) : "",
      added,
      ratio,
      r.resources ? fmt(r.resources.peakRssMb, 0) : "",
      r.resources ? fmt(r.resources.eventLoopP99Ms) : "",
      r.resources ? fmt(r.resources.cpuMs / Math.max(1, r.predictions), 2) : "",
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(COLUMNS), line(COLUMNS.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The spend guard's cost: the route with it on against the route without it, same scenario, same run. */
export function spendGuardRatio(report: BenchReport): string {
  const trip = (way: string) => report.results.find((r) => r.way === way && r.scenario === "instant")?.roundTripMs.median ?? null;
  const [plain, guarded] = [trip("route"), trip("route-budget")];
  if (plain === null || guarded === null) return "";
  return `Spend guard (0 s predictions, round trip median): ${fmt(guarded, 2)} ms with it, ${fmt(plain, 2)} ms without: ${fmt(guarded / plain, 3)}x.`;
}

export function targetsList(targets: TargetVerdict[]): string {
  return targets.map((t) => `- ${t.met ? "MET   " : "MISSED"} ${t.target}: ${t.detail}`).join("\n");
}

/** Why some calls failed, per way and scenario (only where any did). */
export function failuresList(report: BenchReport): string {
  return report.results
    .filter((r) => Object.keys(r.failures).length > 0)
    .map((r) => {
      const reasons = Object.entries(r.failures).map(([reason, count]) => `${count}x ${reason}`);
      return `- ${r.scenario} / ${WAY_LABELS[r.way]}: ${reasons.join(", ")}`;
    })
    .join("\n");
}

export function conditions(report: BenchReport): string {
  const o = report.options;
  return [
    `Machine: ${describeMachine(report.machine)}.`,
    `Simulated Replicate on loopback, ${o.latencyMs} ms added to every answer. Each way talks to its own simulator, so every upstream request is attributable.`,
    o.dataUrls
      ? "Data-URL variant (--data-urls): held creates answer image files as data URLs of ~400 KB, as Replicate's sync API did in autumn 2024."
      : "Held creates answer image files as HTTPS URLs, as Replicate does today (the --data-urls variant answers data URLs of ~400 KB).",
    `Past-window scenarios: a ${o.windowMs / 1000} s sync window stands in for Replicate's ${REPLICATE_SYNC_WINDOW_MS / 1000} s one (Prefer: wait is held at most ${o.windowMs / 1000} s).`,
    `Rate-limited crowd: token buckets of ${o.createsPerMinute} creates/min and ${o.othersPerMinute} other calls/min, each holding a burst of ${o.burst}; 429s carry Retry-After.`,
    `Timed predictions' run times are spread evenly over ${o.spreadMs} ms around the nominal one (e.g. 2 s = ${(2000 - o.spreadMs / 2) / 1000} to ${(2000 + o.spreadMs / 2) / 1000} s).`,
    `Lag = answer received by the caller minus the moment the simulator finished the prediction (ms clock: +0.5 ms bias). Failed calls have no lag.`,
    o.quick ? "QUICK RUN (--quick): fewer repetitions and smaller crowds; not the figures for the README." : "",
  ]
    .filter(Boolean)
    .join("\n");
}

export function writeReport(report: BenchReport, jsonPath: string, markdownPath: string): void {
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const failures = failuresList(report);
  const markdown = [
    `# Benchmark results (${report.generatedAt})`,
    "",
    conditions(report),
    "",
    resultsTable(report),
    "",
    "## Targets",
    "",
    targetsList(report.targets),
    ...(failures ? ["", "## Failed calls", "", failures] : []),
    "",
  ].join("\n");
  writeFileSync(markdownPath, markdown);
}
