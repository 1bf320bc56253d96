/**
 * The scale-out scenario: three `next start` instances of the app behind a round-robin proxy, one
 * account (one simulated Replicate), a crowd of sync requests that outlive the 5 s sync window,
 * arriving at a steady rate (by default 100 a second, so all 600 are in flight together as the
 * first end; `--scale-arrive-ms 0` sends them in one instant, which on two cores measures the
 * machine: 600 held creates answering at once with their stale data-URL outputs).
 * Run twice: with Redis and webhooks (the shared state of issue 13), and without Redis (each
 * process on its own, polling only: what N instances did before). Figures: upstream calls per
 * prediction, the account's polling calls against REPLICATE_POLL_BUDGET_PER_MINUTE (busiest
 * minute and busiest second), completion lag median and p99.
 */
import type { ChildProcess } from "node:child_process";
import { startCluster, type Cluster } from "../dev/multi-instance";
import { freeRedisPort, hasRedisServer, startRedisServer } from "../dev/redis-server";
import { createJsonCaller } from "./http-client";
import { evaluate, type WayResult } from "./measure";
import type { BenchOptions } from "./options";
import { REPLICATE_SYNC_WINDOW_MS, runTimeOf, type Scenario } from "./scenarios";
import { median, percentile } from "./stats";
import { fmt, pct, type TargetVerdict } from "./targets";
import { nodeFlags } from "./ways/way";

export const SCALE_OUT_ID = "scale-out";
const INSTANCES = 3;
/** The route's default REPLICATE_POLL_BUDGET_PER_MINUTE: the account's, or (without Redis) each process's. */
const POLL_BUDGET_PER_MINUTE = 2400;
const SETTLE_MS = 1500;

export type ScaleOutVariant = "redis + webhooks" | "no Redis, polling";

export interface ScaleOutResult {
  variant: ScaleOutVariant;
  result: WayResult;
  /** Non-create calls (polls) the account made in its busiest 60 s, and in its busiest second × 60. */
  pollCallsBusiestMinute: number;
  pollCallsPeakPerMinute: number;
  budgetPerMinute: number;
}

export function scaleOutScenario(options: BenchOptions): Scenario {
  return {
    id: SCALE_OUT_ID,
    title:
      `scale-out: ${options.scaleOutCount} x ${options.scaleOutRunMs / 1000} s (± ${options.scaleOutSpreadMs / 2000} s) on ${INSTANCES} instances, ` +
      `arriving over ${options.scaleOutArriveMs / 1000} s`,
    runMs: options.scaleOutRunMs,
    spreadMs: options.scaleOutSpreadMs,
    syncWindowMs: REPLICATE_SYNC_WINDOW_MS,
    rateLimits: false,
    shape: "crowd",
    count: options.scaleOutCount,
    ways: ["route"],
  };
}

export async function runScaleOut(options: BenchOptions, log: (line: string) => void): Promise<ScaleOutResult[]> {
  const scenario = scaleOutScenario(options);
  const results: ScaleOutResult[] = [];
  if (hasRedisServer) {
    const port = await freeRedisPort();
    const redis = await startRedisServer(port);
    try {
      results.push(await runVariant("redis + webhooks", scenario, options, log, `redis://127.0.0.1:${port}`));
    } finally {
      await stopProcess(redis);
    }
  } else {
    log("  scale-out with Redis skipped: redis-server is not on PATH (Debian: apt-get install redis-server).");
  }
  results.push(await runVariant("no Redis, polling", scenario, options, log));
  return results;
}

async function runVariant(
  variant: ScaleOutVariant,
  scenario: Scenario,
  options: BenchOptions,
  log: (line: string) => void,
  redisUrl?: string,
): Promise<ScaleOutResult> {
  log(`  ${scenario.title}, ${variant}: starting ${INSTANCES} instances…`);
  // The balancer in front of the webhooks: each delivery to the next instance in turn. Done in the
  // simulator's fetch rather than through the proxy, which would share this process's event loop
  // with the simulator and the callers (a real balancer is a machine of its own).
  let turn = 0;
  const balancedFetch: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    return fetch(`${cluster.instances[turn++ % INSTANCES].origin}${url.pathname}${url.search}`, init);
  };
  const cluster: Cluster = await startCluster({
    instances: INSTANCES,
    redisUrl,
    webhooks: redisUrl !== undefined,
    simulator: {
      latencyMs: options.latencyMs,
      webhookFetch: balancedFetch,
      // The account's other traffic (the website, other apps) in the list pages, as in the other scenarios.
      foreignTraffic: options.foreignPerOwn > 0 ? { perOwn: options.foreignPerOwn } : false,
      syncDataUrls: options.dataUrls,
    },
    nodeArgs: nodeFlags(),
    env: {
      REPLICATE_POLL_BUDGET_PER_MINUTE: String(POLL_BUDGET_PER_MINUTE),
      REPLICATE_TIMEOUT_SECONDS: "60",
      // 200 predictions ending per instance within seconds: the default 32 webhooks at once would
      // turn the rest away (503, retried by Replicate seconds later).
      REPLICATE_WEBHOOK_MAX_IN_FLIGHT: "256",
    },
  });
  const caller = createJsonCaller(90_000);
  try {
    await warmUp(cluster, caller);
    cluster.simulator.sim.reset();
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: scenario.count }, async (_, i) => {
        // Arriving at a steady rate over arriveMs (all of them in flight together once the last is in).
        await new Promise((resolve) => setTimeout(resolve, (i * options.scaleOutArriveMs) / scenario.count));
        // Spread round-robin by the caller (as a balancer would), so the proxy carries only the webhooks.
        return caller.post(`${cluster.instances[i % INSTANCES].origin}/api/ai/replicate`, {
          prompt: `bench scale-out #${i} [run:${runTimeOf(scenario, i)}]`,
        });
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const result = evaluate("route", scenario, answers, cluster.simulator.sim);
    const polls = cluster.simulator.sim.requests.filter((request) => request.kind !== "create").map((request) => request.at);
    const deliveries = cluster.simulator.sim.webhookDeliveries.filter((delivery) => delivery.event === "completed");
    const statuses: Record<string, number> = {};
    for (const delivery of deliveries) statuses[String(delivery.status)] = (statuses[String(delivery.status)] ?? 0) + 1;
    const firstTries = deliveries.filter((delivery) => delivery.attempt === 1);
    const sinceEnd = (at: number, id: string) => at - (cluster.simulator.sim.get(id)?.finishedAt ?? at);
    const sent = firstTries.map((delivery) => sinceEnd(delivery.sentAt, delivery.predictionId));
    const acknowledged = firstTries.map((delivery) => sinceEnd(delivery.at, delivery.predictionId));
    if (deliveries.length > 0) {
      log(
        `    webhooks: ${JSON.stringify(statuses)}; after the end, sent ${fmt(median(sent))} ms (median), ${fmt(percentile(sent, 99))} ms (p99); ` +
          `acknowledged ${fmt(median(acknowledged))} ms, ${fmt(percentile(acknowledged, 99))} ms`,
      );
    }
    log(
      `    done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.succeeded}/${result.predictions} succeeded, ` +
        `${result.upstream.perPrediction} upstream calls a prediction, lag median ${fmt(result.lagMs.median)} ms, p99 ${fmt(result.lagMs.p99)} ms`,
    );
    return {
      variant,
      result,
      pollCallsBusiestMinute: busiestWindow(polls, 60_000),
      pollCallsPeakPerMinute: busiestWindow(polls, 1_000) * 60,
      budgetPerMinute: POLL_BUDGET_PER_MINUTE,
    };
  } finally {
    caller.close();
    await cluster.stop();
  }
}

/** Unmeasured calls on every instance, so no figure includes loading code on first use. */
async function warmUp(cluster: Cluster, caller: ReturnType<typeof createJsonCaller>): Promise<void> {
  for (const instance of cluster.instances) {
    for (let i = 0; i < 3; i += 1) {
      const answer = await caller.post(`${instance.origin}/api/ai/replicate`, { prompt: `warm-up ${i} [run:0]` });
      if (answer.status !== 200) throw new Error(`scale-out warm-up failed: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
    }
  }
}

/** The most timestamps in any window of `ms` (sliding). */
export function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let start = 0, end = 0; end < sorted.length; end += 1) {
    while (sorted[end] - sorted[start] >= ms) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

export function scaleOutTable(results: ScaleOutResult[]): string {
  const columns = [
    "variant",
    "succeeded",
    "upstream calls/prediction",
    "polls busiest minute",
    "polls peak second x 60",
    "budget/min",
    "lag median ms",
    "lag p99 ms",
  ];
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const rows = results.map(({ variant, result, pollCallsBusiestMinute, pollCallsPeakPerMinute, budgetPerMinute }) => [
    variant,
    `${pct(result.successRate)} of ${result.predictions}`,
    fmt(result.upstream.perPrediction, 2),
    String(pollCallsBusiestMinute),
    String(pollCallsPeakPerMinute),
    variant === "no Redis, polling" ? `${budgetPerMinute} per instance` : `${budgetPerMinute} for the account`,
    fmt(result.lagMs.median),
    fmt(result.lagMs.p99),
  ]);
  return [line(columns), line(columns.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The targets for the shared run: ≤ 1.2 calls a prediction, lag median < 20 ms and p99 < 150 ms, budget kept. */
export function judgeScaleOut(results: ScaleOutResult[]): TargetVerdict[] {
  const shared = results.find((entry) => entry.variant === "redis + webhooks");
  if (!shared) return [];
  const { result } = shared;
  // The budget is a smooth rate with a second's worth of burst.
  const burst = shared.budgetPerMinute / 60;
  return [
    {
      target: "Scale-out with Redis and webhooks: all succeed, at most 1.2 upstream calls per prediction",
      met: result.successRate === 1 && result.upstream.perPrediction <= 1.2,
      detail: `${pct(result.successRate)} succeeded, ${fmt(result.upstream.perPrediction, 2)} calls/prediction (${JSON.stringify(result.upstream.byKind)})`,
    },
    {
      target: "Scale-out with Redis and webhooks: completion lag median < 20 ms, p99 < 150 ms",
      met: (result.lagMs.median ?? Infinity) < 20 && (result.lagMs.p99 ?? Infinity) < 150,
      detail: `median ${fmt(result.lagMs.median)} ms, p99 ${fmt(result.lagMs.p99)} ms`,
    },
    {
      target: "Scale-out with Redis: the account's polls never exceed REPLICATE_POLL_BUDGET_PER_MINUTE in any minute",
      met: shared.pollCallsBusiestMinute <= shared.budgetPerMinute + burst,
      detail: `busiest minute ${shared.pollCallsBusiestMinute} calls, busiest second ${shared.pollCallsPeakPerMinute / 60} calls, budget ${shared.budgetPerMinute}/min`,
    },
  ];
}
