/**
 * Across instances as in one process, on a real Redis: two "instances" in this process, each with
 * its own connections (as two processes would have), sharing one redis-server.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Poller, type PollerParts } from "@/lib/server/replicate/poller";
import { startPrediction } from "@/lib/server/replicate/run-prediction";
import { RedisConnection } from "@/lib/server/shared-state/redis-connection";
import { redisSharedState, type SharedState } from "@/lib/server/shared-state/shared-state";
import { hasRedisServer, useRedisServer } from "@/tests/support/redis-server";
import { setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { testConfig } from "@/tests/support/test-engine";

const redis = useRedisServer();
const { sim } = useSimulatedReplicate({
  bootMs: 5,
  runMs: 60_000,
  webhookFetch: async () => new Response("gone", { status: 503 }),
});
const open: SharedState[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((state) => state.close()));
});
let prefixes = 0;

/** Instances of one account: each its own connections to one Redis, under one key prefix. */
function instances(count: number): { state: SharedState; poller: Poller }[] {
  const keyPrefix = `across-${process.pid}-${(prefixes += 1)}:`;
  const config = testConfig();
  return Array.from({ length: count }, () => {
    const state = redisSharedState(new RedisConnection({ url: redis.url, keyPrefix }));
    open.push(state);
    const parts: PollerParts = {
      events: state.predictionEvents,
      sharing: {
        instanceId: state.instanceId,
        lease: state.lease("poller"),
        share: state.pollShare,
        budget: state.callBudget(2400),
        turns: state.rateLimits,
      },
    };
    return { state, poller: new Poller(config, parts) };
  });
}

describe.skipIf(!hasRedisServer)("on one Redis", () => {
  it("DELETEs on every instance make one upstream cancel per interval between them", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "60000" });
    const [a, b, c] = instances(3);
    const created = await startPrediction(testConfig(), { prompt: "[never] p" }, { receivedAt: Date.now() });
    const answers = await Promise.all(
      [a, b, c].flatMap(({ poller }) => Array.from({ length: 4 }, () => poller.cancel(created.id))),
    );
    expect(answers).toHaveLength(12);
    expect(sim.count("cancel")).toBe(1);
  });

  it("a delivery published on one instance ends a JSON wait on another at once, with no poll", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "60000", REPLICATE_WEBHOOK_URL: "http://app.test" });
    const [waiting, receiving] = instances(2);
    const created = await startPrediction(testConfig(), { prompt: "p" }, { receivedAt: Date.now() });
    const signal = new AbortController().signal;
    let answered: string | undefined;
    const wait = waiting.poller.next(created, { signal, deadline: Date.now() + 120_000 }).then((p) => (answered = p.status));
    // The waiting instance subscribes on its first wait: published until it has heard.
    await vi.waitFor(async () => {
      await receiving.state.predictionEvents.publishEnded({ ...created, status: "succeeded", output: ["done"] });
      expect(answered).toBe("succeeded");
    });
    await wait;
    expect(sim.count("get") + sim.count("list")).toBe(0);
  });
});
