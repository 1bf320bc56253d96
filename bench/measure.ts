/** Turns the calls of one way in one scenario, and what its simulator saw, into the figures. */
import type { SimulatedReplicate } from "../dev/simulator/simulated-replicate";
import type { Answer } from "./http-client";
import type { ResourceFigures } from "./resources";
import type { Scenario, ScenarioId } from "./scenarios";
import { mean, median, percentile, round } from "./stats";
import type { WayName } from "./ways";

export interface WayResult {
  way: WayName;
  scenario: ScenarioId;
  predictions: number;
  succeeded: number;
  successRate: number;
  upstream: {
    requests: number;
    perPrediction: number;
    /** Upstream requests per prediction that reached the caller succeeded (null when none did). */
    perSuccess: number | null;
    byKind: Record<string, number>;
    throttledCreates: number;
    throttledOthers: number;
    /** Connections the simulator accepted during the scenario (keep-alive keeps this small). */
    newConnections: number;
  };
  /** Answer received by the caller minus the moment the simulator finished the prediction (ms). */
  lagMs: { median: number | null; p99: number | null; mean: number | null };
  /** Request sent to answer received (ms), successful calls only. */
  roundTripMs: { median: number | null; p99: number | null };
  /** First to last create reaching the simulator (ms): how fast the way let the crowd through. */
  createSpreadMs: number | null;
  /** Why calls failed: "HTTP 429", "processing (answered before the end)", ... with counts. */
  failures: Record<string, number>;
  resources?: ResourceFigures;
  /** p99 event-loop delay of the benchmark's own process (caller + simulators) during a crowd. */
  harnessEventLoopP99Ms?: number;
  /** A crowd run in rounds: the p99 lag of each round, in the order they ran (this result is the median one). */
  roundsP99Ms?: (number | null)[];
}

export function evaluate(way: WayName, scenario: Scenario, answers: Answer[], sim: SimulatedReplicate): WayResult {
  const lags: number[] = [];
  const roundTrips: number[] = [];
  const failures: Record<string, number> = {};
  for (const answer of answers) {
    const verdict = judge(answer, sim);
    if ("failure" in verdict) {
      failures[verdict.failure] = (failures[verdict.failure] ?? 0) + 1;
      continue;
    }
    lags.push(verdict.lagMs);
    roundTrips.push(answer.receivedAt - answer.sentAt);
  }

  const byKind: Record<string, number> = {};
  let throttledCreates = 0;
  let throttledOthers = 0;
  for (const request of sim.requests) {
    byKind[request.kind] = (byKind[request.kind] ?? 0) + 1;
    if (request.status === 429) request.kind === "create" ? throttledCreates++ : throttledOthers++;
  }
  const requests = sim.requests.length;
  const succeeded = lags.length;
  return {
    way,
    scenario: scenario.id,
    predictions: answers.length,
    succeeded,
    successRate: answers.length === 0 ? 0 : succeeded / answers.length,
    upstream: {
      requests,
      perPrediction: round(requests / Math.max(1, answers.length), 2)!,
      perSuccess: succeeded === 0 ? null : round(requests / succeeded, 2),
      byKind,
      throttledCreates,
      throttledOthers,
      newConnections: sim.connectionCount,
    },
    lagMs: { median: round(median(lags)), p99: round(percentile(lags, 99)), mean: round(mean(lags)) },
    roundTripMs: { median: round(median(roundTrips), 2), p99: round(percentile(roundTrips, 99), 2) },
    createSpreadMs: spreadOfCreates(sim),
    failures,
  };
}

/** A success is a 200-class answer carrying a succeeded prediction the simulator has finished. */
function judge(answer: Answer, sim: SimulatedReplicate): { lagMs: number } | { failure: string } {
  if (answer.status === 0) return { failure: `no answer: ${answer.body.slice(0, 60)}` };
  let body: { id?: unknown; status?: unknown };
  try {
    body = JSON.parse(answer.body) as typeof body;
  } catch {
    return { failure: `HTTP ${answer.status}, not JSON` };
  }
  if (body.status === "starting" || body.status === "processing") {
    return { failure: `answered while still ${body.status} (HTTP ${answer.status})` };
  }
  if (typeof body.status === "string" && body.status !== "succeeded")
    return { failure: `${body.status} (HTTP ${answer.status})` };
  if (answer.status < 200 || answer.status > 299) return { failure: `HTTP ${answer.status}` };
  const finishedAt = typeof body.id === "string" ? sim.get(body.id)?.finishedAt : null;
  if (finishedAt === null || finishedAt === undefined) return { failure: "unknown prediction" };
  return { lagMs: answer.receivedAt - finishedAt };
}

function spreadOfCreates(sim: SimulatedReplicate): number | null {
  const created = [...sim.predictions.values()].map((prediction) => prediction.plan.createdAt);
  return created.length === 0 ? null : Math.max(...created) - Math.min(...created);
}
