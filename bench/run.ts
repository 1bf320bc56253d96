/**
 * `npm run bench`: what a prediction costs through this project's route, side by side with the
 * official `replicate` client, the seed's loop (the baseline) and a bare Next.js floor, all against
 * the simulated Replicate on loopback. Prints the table and the targets, writes bench/results.json,
 * bench/results.md and docs/bench-chart.svg (a --quick or partial run writes to bench/.work instead).
 * `npm run bench -- --help` lists the options.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ensureProductionBuild, freePort } from "../dev/app-harness";
import { startSimulatorServer, type SimulatorServer } from "../dev/simulator/server";
import { buildApps } from "./build";
import { renderChart } from "./chart";
import { runScenario, warmUp, type Lane } from "./drive";
import { machineInfo } from "./machine";
import type { WayResult } from "./measure";
import { parseOptions, type BenchOptions } from "./options";
import { stopAllServices } from "./processes";
import { conditions, failuresList, resultsTable, spendGuardRatio, targetsList, writeReport, type BenchReport } from "./report";
import { runScaleOut, SCALE_OUT_ID, scaleOutTable, judgeScaleOut, type ScaleOutResult } from "./scale-out";
import { benchScenarios, type Scenario } from "./scenarios";
import { judgeTargets } from "./targets";
import { startWay, type WayName } from "./ways";
import { outputFiles, WORK_DIR } from "./output-files";
import { PROJECT_ROOT } from "./ways/way";

const ALL_WAYS: WayName[] = ["direct", "floor", "route", "route-budget", "official", "seed"];
const startedAt = Date.now();
const simulators: SimulatorServer[] = [];

function log(line: string): void {
  console.log(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${line}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const scaleOutOnly = options.onlyScenarios.length > 0 && options.onlyScenarios.every((id) => id === SCALE_OUT_ID);
  const withScaleOut = options.onlyScenarios.length === 0 || options.onlyScenarios.includes(SCALE_OUT_ID);
  if (scaleOutOnly) {
    // Only the app is needed (not the floor app), built when older than its sources.
    if (options.build) ensureProductionBuild(log);
    return void (await scaleOut(options));
  }
  buildApps(options.build, log);

  const eventLoopDir = path.join(WORK_DIR, "event-loop");
  rmSync(eventLoopDir, { recursive: true, force: true });
  mkdirSync(eventLoopDir, { recursive: true });

  const capSeconds = routeCapSeconds(options);
  const scenarios = chosenScenarios(options);
  const ways = ALL_WAYS.filter((name) => scenarios.some((scenario) => scenario.ways.includes(name)));
  log(`Starting ${ways.length} simulated Replicates and the ways that call them…`);
  const lanes = new Map<WayName, Lane>(
    await Promise.all(
      ways.map(async (name): Promise<[WayName, Lane]> => {
        const simulator = await startSimulatorServer({
          bootMs: 0,
          runMs: 0,
          latencyMs: options.latencyMs,
          foreignTraffic: options.foreignPerOwn > 0 ? { perOwn: options.foreignPerOwn } : false,
          syncDataUrls: options.dataUrls,
        });
        simulators.push(simulator);
        const launch = async () =>
          startWay(name, { simBaseUrl: simulator.baseUrl, port: await freePort(), eventLoopDir, capSeconds });
        const lane: Lane = {
          way: await launch(),
          simulator,
          restart: async () => {
            await lane.way.stop();
            lane.way = await launch();
            await warmUp([lane]);
          },
        };
        return [name, lane];
      }),
    ),
  );
  await warmUp([...lanes.values()]);

  const results: WayResult[] = [];
  const settings = { eventLoopDir, callTimeoutMs: (capSeconds + 30) * 1000, log };
  for (const scenario of scenarios) {
    log(`Scenario ${scenario.title} (${scenario.count} per way, ${scenario.ways.join(", ")})`);
    results.push(...(await runScenario(scenario, lanes, settings)));
  }
  await stopEverything();

  const report: BenchReport = {
    generatedAt: new Date().toISOString(),
    machine: machineInfo(),
    options,
    scenarios,
    results,
    targets: judgeTargets(results),
  };
  const failures = failuresList(report);
  console.log(
    `\n${conditions(report)}\n\n${resultsTable(report)}\n\n${spendGuardRatio(report)}\n\nTargets (this project's route):\n${targetsList(report.targets)}`,
  );
  if (failures) console.log(`\nFailed calls:\n${failures}`);

  const files = outputFiles(options);
  writeReport(report, files.json, files.markdown);
  mkdirSync(path.dirname(files.chart), { recursive: true });
  const subtitle = `${options.quick ? "QUICK RUN: " : ""}${report.machine.cores} cores, ${report.machine.cpuModel}, Node ${report.machine.node}`;
  writeFileSync(files.chart, renderChart(scenarios, results, subtitle));
  log(`Wrote ${[files.json, files.markdown, files.chart].map((file) => path.relative(PROJECT_ROOT, file)).join(", ")}.`);
  if (withScaleOut) await scaleOut(options);
}

/** The scale-out scenario (three instances, with and without Redis): printed, and written beside the other results. */
async function scaleOut(options: BenchOptions): Promise<ScaleOutResult[]> {
  log(`Scenario scale-out (${options.scaleOutCount} predictions of ${options.scaleOutRunMs / 1000} s on three instances)`);
  const results = await runScaleOut(options, log);
  const targets = judgeScaleOut(results);
  const table = scaleOutTable(results);
  console.log(`\n${table}\n\nTargets (scale-out):\n${targetsList(targets)}`);
  const file = outputFiles(options).scaleOut;
  mkdirSync(path.dirname(file), { recursive: true });
  const machine = machineInfo();
  writeFileSync(
    file,
    `${options.quick ? "QUICK RUN: " : ""}${options.dataUrls ? "Data-URL variant (--data-urls): " : ""}${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}\n\n${table}\n\n${targetsList(targets)}\n`,
  );
  writeFileSync(
    file.replace(/\.md$/, ".json"),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), machine, options, results, targets }, null, 2)}\n`,
  );
  log(`Wrote ${path.relative(PROJECT_ROOT, file)}.`);
  return results;
}

/** The scenarios to run, each with only the ways asked for (--only, --ways). */
function chosenScenarios(options: BenchOptions): Scenario[] {
  const known = benchScenarios(options);
  for (const id of options.onlyScenarios.filter((only) => only !== SCALE_OUT_ID)) {
    if (!known.some((scenario) => scenario.id === id)) throw new Error(`--only: no scenario "${id}"`);
  }
  for (const name of options.onlyWays) {
    if (!(ALL_WAYS as string[]).includes(name)) throw new Error(`--ways: no way "${name}"`);
  }
  return known
    .filter(
      (scenario) =>
        options.onlyScenarios.filter((only) => only !== SCALE_OUT_ID).length === 0 || options.onlyScenarios.includes(scenario.id),
    )
    .map((scenario) => ({
      ...scenario,
      ways: scenario.ways.filter((name) => options.onlyWays.length === 0 || options.onlyWays.includes(name)),
    }))
    .filter((scenario) => scenario.ways.length > 0);
}

/**
 * The route's REPLICATE_TIMEOUT_SECONDS: twice what the rate-limited crowd needs (the creates over
 * the burst wait for tokens at Replicate's rate), so the cap never cuts a fair run short, yet a
 * hung run still ends.
 */
function routeCapSeconds(options: BenchOptions): number {
  const queuedCreates = Math.max(0, options.crowdSize - options.burst);
  const needed = queuedCreates / (options.createsPerMinute / 60) + options.pastWindowRunMs / 1000;
  return Math.ceil(needed * 2 + 30);
}

async function stopEverything(): Promise<void> {
  await stopAllServices();
  await Promise.all(simulators.splice(0).map((simulator) => simulator.close()));
}

let stopping = false;
async function abort(reason: string, code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.error(`\n${reason}: stopping everything the benchmark started…`);
    await stopEverything().catch(() => {});
  }
  process.exit(code);
}

process.once("SIGINT", () => void abort("Interrupted", 130));
process.once("SIGTERM", () => void abort("Terminated", 143));

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    void abort("Failed", 1);
  },
);
