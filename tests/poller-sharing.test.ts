/**
 * Polling once per account: pollers of two "instances" in one process, sharing the in-process
 * implementations of the share, the lease, the budget and the events (on Redis these are the same
 * interfaces; tests/e2e/multi-instance.e2e.test.ts runs real instances). Instance B is configured
 * with a base URL nothing answers, so any wait of B's that ends well was answered by A's rounds.
 */
import { beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import type { Config } from "@/lib/server/config";
import { MemoryRateLimitStore } from "@/lib/server/guard/rate-limit";
import { Poller, type PollerParts } from "@/lib/server/replicate/poller";
import { startPrediction } from "@/lib/server/replicate/run-prediction";
import { CallBudget } from "@/lib/server/shared-state/call-budget";
import { MemoryLease } from "@/lib/server/shared-state/lease";
import { MemoryPollShare } from "@/lib/server/shared-state/poll-share";
import { MemoryPredictionEvents } from "@/lib/server/shared-state/webhook-state";
import { isTerminal, type Prediction } from "@/lib/shared/prediction";
import { advance, settle } from "@/tests/support/fake-clock";
import { setEnv, until, useSimulatedReplicate } from "@/tests/support/route-env";
import { testConfig } from "@/tests/support/test-engine";

// Webhooks, where a test turns them on, never arrive: the polling is what these tests are about.
const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 60, webhookFetch: async () => new Response("gone", { status: 503 }) });
// Polling is what these share: predictions without a stream to wait on (the poller would read that instead).
beforeEach(() => sim.override({ imageStreams: false }));

function account() {
  return {
    share: new MemoryPollShare(),
    lease: new MemoryLease(),
    budget: new CallBudget(new MemoryRateLimitStore(), 2400),
    events: new MemoryPredictionEvents(),
    turns: new MemoryRateLimitStore(),
  };
}

function instance(config: Config, instanceId: string, shared: ReturnType<typeof account>): Poller {
  const parts: PollerParts = {
    events: shared.events,
    sharing: { instanceId, lease: shared.lease, share: shared.share, budget: shared.budget, turns: shared.turns },
  };
  return new Poller(config, parts);
}

/** What followPrediction does with a poller: ask for the next state until a terminal one. */
async function follow(poller: Poller, created: Prediction, signal = new AbortController().signal): Promise<Prediction> {
  let current = created;
  while (!isTerminal(current)) current = await poller.next(current, { signal, deadline: Date.now() + 5000 });
  return current;
}

async function created(config: Config, count: number, prompt = "[run:80] p"): Promise<Prediction[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => startPrediction(config, { prompt: `${prompt} ${i}` }, { receivedAt: Date.now() })),
  );
}

function useFakeTime() {
  vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
  onTestFinished(() => void vi.useRealTimers());
}

/** 10 ms rounds, and instance A holding the poller's lease for the whole test. */
async function holderA() {
  setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
  const config = testConfig();
  const shared = account();
  await shared.lease.hold("A", 60_000);
  return { config, shared, a: instance(config, "A", shared) };
}

describe("one poller for the account", () => {
  it("answers another instance's waits from the holder's rounds: that instance never calls Replicate", async () => {
    const { config, shared, a } = await holderA();
    const b = instance({ ...config, baseUrl: "http://127.0.0.1:1/v1" }, "B", shared);
    const [mine, theirs] = [await created(config, 2, "[run:400] p"), await created(config, 6, "[run:400] p")];
    const aEnds = Promise.all(mine.map((p) => follow(a, p)));
    // B's next states (starting -> processing) arrive in A's round messages: had B polled, its
    // calls to a port nothing listens on would have failed these.
    const signal = new AbortController();
    const bNext = await Promise.all(theirs.map((p) => b.next(p, { signal: signal.signal, deadline: Date.now() + 5000 })));
    expect(bNext.map((p) => [p.id, p.status])).toEqual(theirs.map((p) => [p.id, "processing"]));
    expect((await aEnds).map((p) => p.status)).toEqual(["succeeded", "succeeded"]);
    // Eight in flight are read from the list endpoint: one call a round reports on all of them.
    expect(sim.count("list")).toBeGreaterThan(0);
  });

  it("leaves a prediction the list shows ended to the instance that waits for it, read whole", async () => {
    const { config, shared, a } = await holderA();
    const b = instance(config, "B", shared);
    const [mine, theirs] = [await created(config, 4, "[run:300] p"), await created(config, 1, "[run:60] p")];
    const aEnds = Promise.all(mine.map((p) => follow(a, p)));
    const ended = await follow(b, theirs[0]);
    expect(ended.status).toBe("succeeded");
    // Read by a GET (the list's entries have no logs), not handed over as a list entry.
    expect(ended.logs).toBeTruthy();
    await aEnds;
  });

  it("is given up by a holder with nothing left to wait for, so another instance takes it at its next round", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
    const config = testConfig();
    const shared = account();
    const a = instance(config, "A", shared);
    await follow(a, (await created(config, 1, "[run:20] p"))[0]);
    await until(() => !a.polling);
    expect(await shared.lease.hold("B", 1000)).toBe(true);
  });

  it("is taken over by another instance when its holder stops renewing the lease", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
    const config = testConfig();
    const shared = account();
    const running = await created(config, 5, "[run:250] p");
    // A holder that died right after taking the lease: it never polls and never renews.
    await shared.lease.hold("dead", 60);
    const holds: boolean[] = [];
    const hold = shared.lease.hold.bind(shared.lease);
    shared.lease.hold = async (...args) => {
      const held = await hold(...args);
      holds.push(held);
      return held;
    };
    const b = instance(config, "B", shared);
    const ends = await Promise.all(running.map((p) => follow(b, p)));
    expect(ends.map((p) => p.status)).toEqual(Array(5).fill("succeeded"));
    // B's first rounds found the lease held; once it expired, B held it and polled.
    expect(holds[0]).toBe(false);
    expect(holds).toContain(true);
  });
});

describe("with webhooks on", () => {
  it("has the holder poll another instance's wait once in two rounds, not every round", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10", REPLICATE_WEBHOOK_URL: "http://app.test" });
    const config = testConfig();
    const shared = account();
    const handedOver: number[] = [];
    const publish = shared.share.publishWaiting.bind(shared.share);
    shared.share.publishWaiting = async (instanceId, entries, ...rest) => {
      if (instanceId === "B" && entries.some((entry) => entry.due !== false)) handedOver.push(Date.now());
      return publish(instanceId, entries, ...rest);
    };
    const [forA, forB] = await created(config, 2, "[never] p");
    const a = instance(config, "A", shared);
    const b = instance(config, "B", shared);
    // Fake time: 30 rounds of 10 ms are 30 rounds however busy the machine is.
    useFakeTime();
    const stop = new AbortController();
    const waits = [follow(a, forA, stop.signal), follow(b, forB, stop.signal)].map((wait) => wait.catch(() => undefined));
    await advance(300);
    stop.abort();
    await settle(Promise.all(waits));
    // Its webhook will end it: due about every second or third round (due until a holder's round
    // that read it is heard), not at each of the 30.
    expect(handedOver.length).toBeGreaterThanOrEqual(8);
    expect(handedOver.length).toBeLessThanOrEqual(16);
  });

  it("leaves its own predictions the list shows ended to their webhooks, then reads each once, its rounds unbroken", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10", REPLICATE_WEBHOOK_URL: "http://app.test" });
    const config = testConfig();
    const shared = account();
    // Four: the holder reads the list, which shows them ended before their first due round.
    const running = await created(config, 4, "[run:20] p");
    const a = instance(config, "A", shared);
    const failures: unknown[] = [];
    const onRejection = (error: unknown) => failures.push(error);
    process.on("unhandledRejection", onRejection);
    onTestFinished(() => void process.off("unhandledRejection", onRejection));
    useFakeTime();
    const ends = await settle(Promise.all(running.map((prediction) => follow(a, prediction))), 2_000);
    expect(ends.map((prediction) => prediction.status)).toEqual(Array(4).fill("succeeded"));
    expect(failures).toEqual([]);
    // Their webhooks never came: each was read whole once, after its grace.
    expect(sim.count("get")).toBe(4);
  });

  it.each([0.2, 2.5])(
    "answers another instance's wait whose webhook is lost, from the holder's rounds (B starts %s rounds after A)",
    async (offset) => {
      const ROUND = 1000;
      setEnv({
        REPLICATE_POLL_INTERVAL_MS: String(ROUND),
        REPLICATE_WEBHOOK_URL: "http://app.test",
        REPLICATE_TIMEOUT_SECONDS: "120",
      });
      const config = testConfig();
      const shared = account();
      const [forA] = await created(config, 1, "[never] a");
      const [forB] = await created(config, 1, "[run:3000] b");
      const a = instance(config, "A", shared);
      const b = instance(config, "B", shared);
      useFakeTime();
      const stop = new AbortController();
      const aWait = follow(a, forA, stop.signal).catch(() => undefined);
      await advance(offset * ROUND);
      let answeredAt = 0;
      const bWait = follow(b, forB, stop.signal).then((prediction) => ((answeredAt = Date.now()), prediction));
      await advance(15 * ROUND);
      stop.abort();
      const [ended] = await settle(Promise.all([bWait, aWait]));
      expect(ended.status).toBe("succeeded");
      // Due two rounds after it began (or its last poll), then a grace of a round and a half after
      // its end for the webhook that never comes: about two rounds after the end.
      expect(answeredAt - sim.get(forB.id)!.finishedAt!).toBeLessThanOrEqual(3 * ROUND);
    },
  );
});

describe("a webhook's end", () => {
  it("answers the waiter at once, on whichever instance waits, before any poll", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "60000" });
    const config = testConfig();
    const shared = account();
    const b = instance(config, "B", shared);
    const [running] = await created(config, 1, "[never] p");
    const waiting = b.next(running, { signal: new AbortController().signal, deadline: Date.now() + 5000 });
    const ended = { ...running, status: "succeeded", output: ["from-the-webhook"] } as Prediction;
    await shared.events.publishEnded(ended);
    expect(await waiting).toEqual(ended);
    expect(sim.count("get") + sim.count("list")).toBe(0);
  });

  it("spares the holder a poll of another instance's published wait that the webhook already ended", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10", REPLICATE_WEBHOOK_URL: "http://app.test" });
    const config = testConfig();
    const shared = account();
    const [forA, forB] = await created(config, 2, "[never] p");
    const a = instance(config, "A", shared);
    useFakeTime();
    const stop = new AbortController();
    const aWait = follow(a, forA, stop.signal).catch(() => undefined);
    await advance(15);
    // B's wait, published due, then ended by its webhook (B has not published again yet: its entry is stale).
    await shared.share.publishWaiting(
      "B",
      [{ id: forB.id, createdAt: forB.created_at!, status: forB.status, due: true }],
      60_000,
      Date.now(),
    );
    await shared.events.publishEnded({ ...forB, status: "succeeded" } as Prediction);
    await advance(100);
    stop.abort();
    await settle(aWait);
    expect(sim.requests.filter((request) => request.path.includes(forB.id))).toEqual([]);
  });

  it("spares the holder a read it was about to make when the webhook comes while the round waits for budget", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10", REPLICATE_WEBHOOK_URL: "http://app.test" });
    const config = testConfig();
    // One call a second for the account.
    const shared = { ...account(), budget: new CallBudget(new MemoryRateLimitStore(), 60) };
    const [forA, forB] = await created(config, 2, "[never] p");
    const a = instance(config, "A", shared);
    useFakeTime();
    await shared.share.publishWaiting(
      "B",
      [{ id: forB.id, createdAt: forB.created_at!, status: forB.status, due: true }],
      60_000,
      Date.now(),
    );
    // This second's call is spent: the round's reads wait about a second for their turn.
    expect((await shared.budget.tryTake(Date.now())).allowed).toBe(true);
    const stop = new AbortController();
    const aWait = follow(a, forA, stop.signal).catch(() => undefined);
    await advance(20);
    // B's webhook comes while the round waits.
    expect(sim.requests.filter((request) => request.path.includes(forB.id))).toEqual([]);
    await shared.events.publishEnded({ ...forB, status: "succeeded" } as Prediction);
    await advance(2500);
    stop.abort();
    await settle(aWait);
    expect(sim.requests.filter((request) => request.path.includes(forB.id))).toEqual([]);
    expect(sim.requests.filter((request) => request.path.includes(forA.id)).length).toBeGreaterThanOrEqual(1);
  });

  it("still reads the holder's own wait that began after its webhook was reported (the delivery found no waiter)", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10", REPLICATE_WEBHOOK_URL: "http://app.test" });
    const config = testConfig();
    const shared = account();
    const [prediction] = await created(config, 1, "[run:0] p");
    const [other] = await created(config, 1, "[never] p");
    await until(() => sim.get(prediction.id)?.status() === "succeeded");
    const a = instance(config, "A", shared);
    useFakeTime();
    // A waits already (it hears webhooks); the webhook of another prediction comes before anyone
    // here waits for that one (a held create answered just before the end).
    const stop = new AbortController();
    const otherWait = follow(a, other, stop.signal).catch(() => undefined);
    await advance(15);
    await shared.events.publishEnded({ ...prediction, status: "succeeded" } as Prediction);
    let answer: Prediction | undefined;
    const waiting = follow(a, prediction).then((fresh) => (answer = fresh));
    await advance(200);
    expect(answer?.status).toBe("succeeded");
    await waiting;
    stop.abort();
    await settle(otherWait);
  });

  it("reaches the waiters of a single process too (no Redis: the in-process events)", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "60000" });
    const config = testConfig();
    const events = new MemoryPredictionEvents();
    const poller = new Poller(config, { events });
    const [running] = await created(config, 1, "[never] p");
    const waiting = poller.next(running, { signal: new AbortController().signal, deadline: Date.now() + 5000 });
    await events.publishEnded({ ...running, status: "canceled" } as Prediction);
    expect((await waiting).status).toBe("canceled");
    expect(poller.inFlight).toBe(0);
  });
});
