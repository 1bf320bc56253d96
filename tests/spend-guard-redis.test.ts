/**
 * The spend guard across instances, on a real Redis: ledgers on separate connections (as two
 * instances have) racing for one budget, and the route counting its creates with REDIS_URL set.
 * The two-process race is in shared-state-redis.test.ts ("two processes racing on one Redis").
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { RedisConnection } from "@/lib/server/shared-state/redis-connection";
import { RedisSpendLedger } from "@/lib/server/spend-guard/redis-spend-ledger";
import { setGuardEnv } from "@/tests/support/guard-env";
import { hasRedisServer, useRedisServer } from "@/tests/support/redis-server";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { setVariables, testEngine } from "@/tests/support/test-engine";

const redis = useRedisServer();
const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 300 });
const T0 = 1_800_000_000_000;
const DAY = 86_400_000;
let prefixes = 0;
const connections: RedisConnection[] = [];
afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
});

/** `count` ledgers of one app on one Redis, each its own connection. */
function ledgers(count: number): RedisSpendLedger[] {
  const keyPrefix = `spend-${process.pid}-${(prefixes += 1)}:`;
  return Array.from({ length: count }, () => {
    const connection = new RedisConnection({ url: redis.url, keyPrefix });
    connections.push(connection);
    return new RedisSpendLedger(connection);
  });
}

describe.skipIf(!hasRedisServer)("two instances on one Redis", () => {
  it("never reserve more than the budget at once, whatever the interleaving of reservations and settlements", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20_000 }),
        fc.array(
          fc.record({
            instance: fc.integer({ min: 0, max: 1 }),
            amountMs: fc.integer({ min: 1, max: 5000 }),
            delayed: fc.boolean(),
            // Settled by the other instance, at a cost up to the estimate (null: still running).
            costShare: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        async (limitMs, requests) => {
          const [a, b] = ledgers(2);
          const budget = [
            { key: "caller:x", limitMs, windowMs: DAY },
            { key: "app", limitMs: limitMs + 1000, windowMs: DAY },
          ];
          const decisions = await Promise.all(
            requests.map(async ({ instance, amountMs, delayed, costShare }, i) => {
              if (delayed) await new Promise((resolve) => setImmediate(resolve));
              const [mine, other] = instance === 0 ? [a, b] : [b, a];
              const decision = await mine.reserve(`r${i}`, budget, amountMs, T0);
              if (!decision.ok || costShare === null) return { decision, countedMs: amountMs };
              await mine.bind(`r${i}`, `p${i}`, T0);
              const costMs = Math.floor(amountMs * costShare);
              expect(await other.settle(`p${i}`, costMs, T0)).toBe(amountMs);
              return { decision, countedMs: costMs };
            }),
          );
          const reserved = decisions.filter(({ decision }) => decision.ok).reduce((sum, { countedMs }) => sum + countedMs, 0);
          expect(reserved).toBeLessThanOrEqual(limitMs);
          const [caller, app] = await a.usage(budget, T0);
          expect(caller.usedMs).toBe(reserved);
          expect(app.usedMs).toBe(reserved);
          // A refusal counted nothing and saw a budget it did not fit in.
          for (const [i, { decision }] of decisions.entries()) {
            if (!decision.ok)
              expect(decision.usage[decision.refused].usedMs + requests[i].amountMs).toBeGreaterThan(
                budget[decision.refused].limitMs,
              );
          }
          await Promise.all(connections.splice(0).map((connection) => connection.close()));
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);

  it("settle a prediction once when both see it end, returning the difference", async () => {
    const [a, b] = ledgers(2);
    const budget = [{ key: "caller:x", limitMs: 10_000, windowMs: DAY }];
    expect((await a.reserve("r1", budget, 4000, T0)).ok).toBe(true);
    await a.bind("r1", "pred1", T0);
    const settled = await Promise.all([a.settle("pred1", 1500, T0 + 10), b.settle("pred1", 1500, T0 + 10)]);
    expect(settled.sort()).toEqual([4000, null]);
    expect((await b.usage(budget, T0 + 20))[0].usedMs).toBe(1500);
    // Released reservations give everything back; a window's end forgets them.
    expect((await b.reserve("r2", budget, 2000, T0)).ok).toBe(true);
    await a.release("r2", T0);
    expect((await a.usage(budget, T0))[0].usedMs).toBe(1500);
    expect((await a.usage(budget, T0 + DAY))[0].usedMs).toBe(0);
  });

  it("charge a prediction settled after its window ended in full to the window it settles in", async () => {
    const [a, b] = ledgers(2);
    const windowStart = Math.floor(T0 / DAY) * DAY;
    const budget = [
      { key: "caller:x", limitMs: 10_000, windowMs: DAY },
      { key: "app", limitMs: 20_000, windowMs: 60 * DAY },
    ];
    expect((await a.reserve("r1", budget, 2000, windowStart + DAY - 1000)).ok).toBe(true);
    await a.bind("r1", "pred1", windowStart + DAY - 1000);
    expect(await b.settle("pred1", 3000, windowStart + DAY + 5000)).toBe(2000);
    const usage = await a.usage(budget, windowStart + DAY + 6000);
    // The day's counter is a new one: the full 3 s; the 60-day window still runs: 2 s corrected to 3 s.
    expect(usage.map((each) => each.usedMs)).toEqual([3000, 3000]);
  });

  it("settle at the bind a prediction whose end another instance saw first", async () => {
    const [a, b] = ledgers(2);
    const budget = [{ key: "caller:x", limitMs: 10_000, windowMs: DAY }];
    expect((await a.reserve("r1", budget, 2000, T0)).ok).toBe(true);
    expect(await b.settle("early1", 3000, T0 + 10)).toBeNull();
    await a.bind("r1", "early1", T0 + 20);
    expect((await b.usage(budget, T0 + 30))[0].usedMs).toBe(3000);
    expect(await b.settle("early1", 3000, T0 + 40)).toBeNull();
    expect((await a.usage(budget, T0 + 50))[0].usedMs).toBe(3000);
  });

  it("keep the model's recent predict times for the estimate, newest first, the last five", async () => {
    const [a, b] = ledgers(2);
    for (const ms of [100, 200, 300, 400, 500, 600]) await [a, b][ms % 2].recordCost("model:o/m", ms);
    expect(await a.recentCosts("model:o/m")).toEqual([600, 500, 400, 300, 200]);
  });
});

describe.skipIf(!hasRedisServer)("the route with REDIS_URL", () => {
  beforeEach(() => {
    setGuardEnv();
    setVariables({ REPLICATE_BUDGET_TOTAL: "", REPLICATE_PRICE_PER_SECOND: "", REPLICATE_START_TIMEOUT_SECONDS: "" });
  });
  afterEach(async () => {
    await testEngine().shared().close();
    setVariables({
      REDIS_URL: "",
      REDIS_KEY_PREFIX: "",
      REPLICATE_BUDGET_PER_CALLER: "",
      REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS: "",
    });
  });

  it("creates no more predictions than the budget holds when requests arrive at once", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "30", REPLICATE_POLL_INTERVAL_MS: "20" });
    setVariables({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `spend-route-${process.pid}-${(prefixes += 1)}:`,
      REPLICATE_BUDGET_PER_CALLER: "3s/day",
      REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS: "1",
    });
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => POST(jsonPost("http://localhost/api/ai/replicate", { prompt: `p${i}` }))),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 200, 402, 402, 402, 402, 402]);
    expect(sim.count("create")).toBe(3);
  }, 30_000);

  it("fails closed with a 503 when Redis does not answer: nothing is created", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "30" });
    setVariables({ REDIS_URL: "redis://127.0.0.1:1", REPLICATE_BUDGET_PER_CALLER: "3s/day" });
    const answer = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }));
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as { title: string }).title).toBe("Shared state unavailable");
    expect(sim.count("create")).toBe(0);
  }, 30_000);
});
