import { monitorEventLoopDelay } from "node:perf_hooks";
import type { SimulatorServer } from "../dev/simulator/server";
import { createJsonCaller, type Answer, type JsonCaller } from "./http-client";
import { evaluate, type WayResult } from "./measure";
import { watchResources } from "./resources";
import { runTimeOf, type Scenario } from "./scenarios";
import type { RunningWay, WayName } from "./ways";

/** A way and the simulated Replicate only it talks to, so every upstream request is attributable. */
export interface Lane {
  way: RunningWay;
  simulator: SimulatorServer;
  /**
   * Replaces the way's serving process with a fresh, warmed-up one on the same simulator: each crowd
   * starts from a clean process, so its memory and what the seed leaks per request belong to it alone.
   */
  restart(): Promise<void>;
}

export interface DriveSettings {
  eventLoopDir: string;
  /** No call waits longer than this for its answer. */
  callTimeoutMs: number;
  log: (line: string) => void;
}

// Starts of one way's single predictions are this far apart, ways offset by a third of it, so
// that no two predictions end at the same moment.
const STAGGER_MS = 300;
// After the last answer: time for any trailing upstream call (a cancel, a last poll) to be counted.
const SETTLE_MS = 300;

export async function runScenario(scenario: Scenario, lanes: Map<WayName, Lane>, settings: DriveSettings): Promise<WayResult[]> {
  const chosen = scenario.ways.map((name) => lanes.get(name)!);
  if (scenario.shape === "crowd") return runCrowdRounds(scenario, chosen, settings);
  for (const lane of chosen) prepare(lane.simulator, scenario);
  const caller = createJsonCaller(settings.callTimeoutMs);
  try {
    const answers =
      scenario.shape === "sequential"
        ? await callInTurns(scenario, chosen, caller)
        : await callStaggered(scenario, chosen, caller);
    await sleep(SETTLE_MS);
    return chosen.map((lane, i) => evaluate(lane.way.name, scenario, answers[i], lane.simulator.sim));
  } finally {
    caller.close();
  }
}

/** A few unmeasured calls per way, so that no figure includes loading code on first use. */
export async function warmUp(lanes: Lane[], calls = 3): Promise<void> {
  const caller = createJsonCaller(30_000);
  try {
    for (let i = 0; i < calls; i++) {
      for (const lane of lanes) {
        const answer = await lane.way.call(caller, `warm-up ${i} [run:0]`);
        if (answer.status < 200 || answer.status > 299) {
          throw new Error(`${lane.way.name} failed its warm-up call: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
        }
      }
    }
  } finally {
    caller.close();
  }
}

/** Fresh simulator state (so counts belong to this scenario) with the scenario's window and limits. */
function prepare(simulator: SimulatorServer, scenario: Scenario): void {
  simulator.sim.reset();
  simulator.sim.config.maxSyncWaitMs = scenario.syncWindowMs;
  simulator.sim.setRateLimits(scenario.rateLimits);
}

function prompt(scenario: Scenario, way: WayName, index: number): string {
  return `bench ${scenario.id} ${way} #${index} [run:${runTimeOf(scenario, index)}]`;
}

/** One call at a time, the ways taking turns, so drift in the machine hits all of them alike. */
async function callInTurns(scenario: Scenario, lanes: Lane[], caller: JsonCaller): Promise<Answer[][]> {
  const answers: Answer[][] = lanes.map(() => []);
  for (let i = 0; i < scenario.count; i++) {
    for (const [w, lane] of lanes.entries()) answers[w].push(await lane.way.call(caller, prompt(scenario, lane.way.name, i)));
  }
  return answers;
}

async function callStaggered(scenario: Scenario, lanes: Lane[], caller: JsonCaller): Promise<Answer[][]> {
  return Promise.all(
    lanes.map((lane, w) =>
      Promise.all(
        Array.from({ length: scenario.count }, async (_, i) => {
          await sleep(i * STAGGER_MS + (w * STAGGER_MS) / lanes.length);
          return lane.way.call(caller, prompt(scenario, lane.way.name, i));
        }),
      ),
    ),
  );
}

/**
 * Each way's crowd, `scenario.rounds` times, the ways taking turns in an order that rotates every
 * round (so no way always runs first or last); each way's result is its median round by p99 lag.
 */
async function runCrowdRounds(scenario: Scenario, lanes: Lane[], settings: DriveSettings): Promise<WayResult[]> {
  const rounds = scenario.rounds ?? 1;
  const byWay = lanes.map((): WayResult[] => []);
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < lanes.length; turn++) {
      const w = (turn + round) % lanes.length;
      const label = rounds > 1 ? `, round ${round + 1} of ${rounds}` : "";
      byWay[w].push(await runCrowd(scenario, lanes[w], settings, label));
    }
  }
  return byWay.map((results) => {
    if (results.length === 1) return results[0];
    const p99 = (result: WayResult) => result.lagMs.p99 ?? Number.POSITIVE_INFINITY;
    const median = [...results].sort((a, b) => p99(a) - p99(b))[Math.floor((results.length - 1) / 2)];
    return { ...median, roundsP99Ms: results.map((result) => result.lagMs.p99) };
  });
}

async function runCrowd(scenario: Scenario, lane: Lane, settings: DriveSettings, label = ""): Promise<WayResult> {
  settings.log(`  ${scenario.title}: ${lane.way.name} (fresh process${label})…`);
  await lane.restart();
  prepare(lane.simulator, scenario);
  const caller = createJsonCaller(settings.callTimeoutMs);
  const harness = monitorEventLoopDelay({ resolution: 10 });
  const started = Date.now();
  const resources = lane.way.pid === null ? null : watchResources(lane.way.pid, settings.eventLoopDir);
  harness.enable();
  try {
    const answers = await Promise.all(
      Array.from({ length: scenario.count }, (_, i) => lane.way.call(caller, prompt(scenario, lane.way.name, i))),
    );
    await sleep(SETTLE_MS);
    harness.disable();
    const result = evaluate(lane.way.name, scenario, answers, lane.simulator.sim);
    if (resources) result.resources = await resources.stop();
    result.harnessEventLoopP99Ms = Math.round(harness.percentile(99) / 1e4) / 100;
    settings.log(
      `    done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.succeeded}/${result.predictions} succeeded, ` +
        `creates reached Replicate over ${result.createSpreadMs} ms, benchmark's own event loop p99 ${result.harnessEventLoopP99Ms} ms`,
    );
    return result;
  } finally {
    harness.disable();
    await resources?.stop();
    caller.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
