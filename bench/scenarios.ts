/** What the benchmark asks of every way, in order. */
import type { RateLimits } from "../dev/simulator/simulated-replicate";
import type { BenchOptions } from "./options";
import type { WayName } from "./ways";

export type ScenarioId = "instant" | "short" | "long" | "past-window" | "crowd" | "crowd-limited" | "scale-out";

export interface Scenario {
  id: ScenarioId;
  title: string;
  runMs: number;
  /** Run times are spread evenly over this many ms around runMs (0 for the instant scenario). */
  spreadMs: number;
  /** The simulator's cap on a `Prefer: wait` hold for this scenario. */
  syncWindowMs: number;
  rateLimits: false | RateLimits;
  /**
   * sequential: one call at a time, ways interleaved (latency to the millisecond);
   * staggered: each way's calls start a little apart, ways side by side (long single predictions);
   * crowd: all calls at once, one way at a time.
   */
  shape: "sequential" | "staggered" | "crowd";
  count: number;
  /** Crowds only: rounds per way, the ways taking turns; each way is reported by its median round. */
  rounds?: number;
  ways: WayName[];
}

export const REPLICATE_SYNC_WINDOW_MS = 60_000;
const CALLING_WAYS: WayName[] = ["route", "official", "seed"];

export function benchScenarios(options: BenchOptions): Scenario[] {
  const inWindow = { syncWindowMs: REPLICATE_SYNC_WINDOW_MS, rateLimits: false as const };
  const pastWindow = { syncWindowMs: options.windowMs, rateLimits: false as const };
  const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
  return [
    {
      id: "instant",
      title: "0 s",
      runMs: 0,
      spreadMs: 0,
      ...inWindow,
      shape: "sequential",
      count: options.instantReps,
      // The route with the spend guard on beside it: what the guard adds to a round trip.
      ways: ["direct", "floor", ...CALLING_WAYS, "route-budget"],
    },
    // A direct held call beside them: the lag the same answer has with nothing in between.
    {
      id: "short",
      title: seconds(options.shortRunMs),
      runMs: options.shortRunMs,
      spreadMs: options.spreadMs,
      ...inWindow,
      shape: "staggered",
      count: options.singleReps,
      ways: ["direct", ...CALLING_WAYS],
    },
    {
      id: "long",
      title: seconds(options.longRunMs),
      runMs: options.longRunMs,
      spreadMs: options.spreadMs,
      ...inWindow,
      shape: "staggered",
      count: options.singleReps,
      ways: CALLING_WAYS,
    },
    {
      id: "past-window",
      title: `${seconds(options.pastWindowRunMs)}, past window`,
      runMs: options.pastWindowRunMs,
      spreadMs: options.spreadMs,
      ...pastWindow,
      shape: "staggered",
      count: options.singleReps,
      ways: CALLING_WAYS,
    },
    {
      id: "crowd",
      title: `crowd ${options.crowdSize} x ${seconds(options.crowdRunMs)}`,
      runMs: options.crowdRunMs,
      spreadMs: options.spreadMs,
      ...inWindow,
      shape: "crowd",
      count: options.crowdSize,
      rounds: options.crowdRounds,
      // The floor holds its creates too: what the framework alone costs with a crowd in flight.
      ways: ["floor", ...CALLING_WAYS],
    },
    {
      id: "crowd-limited",
      title: `crowd ${options.crowdSize} x ${seconds(options.pastWindowRunMs)}, past window, rate-limited`,
      runMs: options.pastWindowRunMs,
      spreadMs: options.spreadMs,
      ...pastWindow,
      rateLimits: { createPerMinute: options.createsPerMinute, otherPerMinute: options.othersPerMinute, burst: options.burst },
      shape: "crowd",
      count: options.crowdSize,
      ways: CALLING_WAYS,
    },
  ];
}

const GOLDEN_RATIO_FRACTION = 0.6180339887;

/**
 * The run time of the index-th prediction: spread evenly over the scenario's spread, in an order
 * unrelated to the index (golden-ratio sequence), so in a crowd the first sent are not the first done.
 */
export function runTimeOf(scenario: Scenario, index: number): number {
  if (scenario.spreadMs === 0) return scenario.runMs;
  const phase = (index * GOLDEN_RATIO_FRACTION) % 1;
  return Math.round(scenario.runMs + (phase - 0.5) * scenario.spreadMs);
}
