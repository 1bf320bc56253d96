import { afterEach, describe, expect, it } from "vitest";
import { parseRateRule, type RateRule } from "@/lib/server/guard/rate-rule";
import { STORE_FRESH_MS } from "@/lib/server/shared-state/memory-deliveries";
import { PACED_CHECK_MS } from "@/lib/server/shared-state/create-pacing";
import { CREATING_TTL_MS, IDEMPOTENCY_TTL_MS, idempotencyKey } from "@/lib/server/shared-state/idempotency";
import { RedisConnection } from "@/lib/server/shared-state/redis-connection";
import { memorySharedState, redisSharedState, type SharedState } from "@/lib/server/shared-state/shared-state";
import type { Prediction } from "@/lib/shared/prediction";
import { hasRedisServer, useRedisServer } from "@/tests/support/redis-server";
import { until } from "@/tests/support/route-env";

/**
 * One table of the shared pieces' rules, run against the in-process implementation and against a
 * real Redis. "Instances" are separate SharedState objects: for Redis each has its own
 * connection (so concurrent calls really race on the server); in process they are one object,
 * as every request of one process shares it.
 */
const redis = useRedisServer();
let prefixes = 0;

type Instances = () => SharedState[];
const made: SharedState[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((state) => state.close()));
});

const inProcess: Instances = () => {
  const state = memorySharedState();
  return [state, state, state];
};
const onRedis: Instances = () => {
  // A fresh prefix a test: tests never see each other's keys on the one server.
  const keyPrefix = `test-${process.pid}-${(prefixes += 1)}:`;
  const states = [0, 1, 2].map(() => redisSharedState(new RedisConnection({ url: redis.url, keyPrefix })));
  made.push(...states);
  return states;
};

const implementations: [string, Instances][] = [["in process", inProcess]];
if (hasRedisServer) implementations.push(["on Redis", onRedis]);

const T0 = 1_800_000_000_000;
const rule = (text: string) => parseRateRule(text) as RateRule;
let ids = 0;
const prediction = (status: Prediction["status"]): Prediction =>
  ({
    id: `pred${process.pid}x${(ids += 1)}`,
    status,
    input: {},
    output: null,
    error: null,
    logs: "",
    created_at: "",
    urls: {},
  }) as unknown as Prediction;

describe.each(implementations)("shared state %s", (_name, instances) => {
  describe("per-client rate limit", () => {
    it("3/min across three instances allows 3 in total, then one each 20 s, telling when", async () => {
      const [a, b, c] = instances();
      const perMinute = rule("3/min");
      const answers = [];
      for (const state of [a, b, c, a]) answers.push(await state.rateLimits.take("id:x", perMinute, T0));
      expect(answers).toEqual([
        { allowed: true },
        { allowed: true },
        { allowed: true },
        { allowed: false, retryAfterMs: 20_000 },
      ]);
      expect((await b.rateLimits.take("id:x", perMinute, T0 + 19_999)).allowed).toBe(false);
      expect(await c.rateLimits.take("id:x", perMinute, T0 + 20_000)).toEqual({ allowed: true });
      expect((await a.rateLimits.take("id:x", perMinute, T0 + 20_000)).allowed).toBe(false);
      expect(await a.rateLimits.take("id:other", perMinute, T0)).toEqual({ allowed: true });
    });

    it("allows exactly the limit when instances take at the same moment", async () => {
      const states = instances();
      const takes = states.flatMap((state) =>
        Array.from({ length: 4 }, () => state.rateLimits.take("id:race", rule("3/min"), T0)),
      );
      const answers = await Promise.all(takes);
      expect(answers.filter((answer) => answer.allowed)).toHaveLength(3);
    });
  });

  describe("the account's call budget", () => {
    it("keeps the polls of all instances within the budget in any minute, smoothly", async () => {
      const budgets = instances().map((state) => state.callBudget(120));
      let allowed = 0;
      let inFirstSecond = 0;
      for (let t = 0; t < 60_000; t += 100) {
        for (const budget of budgets) {
          if (!(await budget.tryTake(T0 + t)).allowed) continue;
          allowed += 1;
          if (t < 1000) inFirstSecond += 1;
        }
      }
      // 120 a minute plus a burst of 2 (a second's worth), not a minute's worth at once.
      expect(allowed).toBeGreaterThanOrEqual(120);
      expect(allowed).toBeLessThanOrEqual(122);
      expect(inFirstSecond).toBeLessThanOrEqual(4);
    });

    it("tells how long until the next call is due", async () => {
      const [a, b] = instances().map((state) => state.callBudget(60));
      expect((await a.tryTake(T0)).allowed).toBe(true);
      expect(await b.tryTake(T0 + 250)).toEqual({ allowed: false, retryAfterMs: 750 });
    });
  });

  describe("account-wide create pacing", () => {
    it("sends at once until a 429, then one slot at a time from its Retry-After, for a minute", async () => {
      const [a, b] = instances().map((state) => state.createPacing(120));
      expect(await a.reserve(T0)).toBe(0);
      await b.throttled(5000, T0);
      expect(await b.reserve(T0)).toBe(5000);
      // Another instance learns of the 429 within PACED_CHECK_MS (an unpaced create costs no round trip).
      expect(await a.reserve(T0 + PACED_CHECK_MS)).toBe(5500 - PACED_CHECK_MS);
      expect(await a.reserve(T0 + 1000, T0 + 9000)).toBe(8000);
      // A minute after the 429, with every reserved slot past, creates go at once again.
      expect(await b.reserve(T0 + 60_001)).toBe(0);
    });

    it("never gives two instances the same slot", async () => {
      const pacings = instances().map((state) => state.createPacing(600));
      await pacings[0].throttled(1000, T0);
      const waits = await Promise.all(pacings.flatMap((pacing) => [pacing.reserve(T0), pacing.reserve(T0), pacing.reserve(T0)]));
      expect(new Set(waits).size).toBe(9);
      expect([...waits].sort((x, y) => x - y)).toEqual(Array.from({ length: 9 }, (_, i) => 1000 + i * 100));
    });
  });

  describe("webhook-id dedupe", () => {
    it("processes a retried webhook once in total, whichever instance it lands on", async () => {
      const [a, b, c] = instances();
      const firsts = await Promise.all([a, b, c, a, b, c].map((state) => state.deliveryIds.firstTime(`msg_${ids}_1`)));
      expect(firsts.filter(Boolean)).toHaveLength(1);
    });

    it("processes a delivery again once it is forgotten (its processing failed)", async () => {
      const [a, b] = instances();
      expect(await a.deliveryIds.firstTime("msg_forgotten")).toBe(true);
      await a.deliveryIds.forget("msg_forgotten");
      expect(await b.deliveryIds.firstTime("msg_forgotten")).toBe(true);
      expect(await a.deliveryIds.firstTime("msg_forgotten")).toBe(false);
    });
  });

  describe("delivered predictions", () => {
    it("answers on any instance a terminal prediction delivered to another, while fresh", async () => {
      const [a, b] = instances();
      const done = prediction("succeeded");
      await a.deliveredPredictions.put(done, T0);
      expect(await b.deliveredPredictions.freshTerminal(done.id, T0 + STORE_FRESH_MS)).toEqual(done);
      expect(await b.deliveredPredictions.freshTerminal(done.id, T0 + STORE_FRESH_MS + 1)).toBeUndefined();
    });

    it("answers nothing for a prediction still running or never delivered", async () => {
      const [a, b] = instances();
      const running = prediction("processing");
      await a.deliveredPredictions.put(running, T0);
      expect(await b.deliveredPredictions.freshTerminal(running.id, T0)).toBeUndefined();
      expect(await b.deliveredPredictions.freshTerminal("neverdelivered1", T0)).toBeUndefined();
    });
  });

  describe("the prediction-ended channel", () => {
    it("ends a wait on one instance when another receives the webhook; unsubscribed listeners hear nothing", async () => {
      const [a, b] = instances();
      const heard: Prediction[] = [];
      const dropped: Prediction[] = [];
      let arrived!: () => void;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      const stopDropped = await b.predictionEvents.onEnded((p) => dropped.push(p));
      const stop = await b.predictionEvents.onEnded((p) => {
        heard.push(p);
        arrived();
      });
      await stopDropped();
      const done = prediction("failed");
      await a.predictionEvents.publishEnded(done);
      await arrival;
      expect(heard).toEqual([done]);
      // Both listeners are called for the same message in turn: had the dropped one stayed, it would have it by now.
      expect(dropped).toEqual([]);
      await stop();
    });
  });

  describe("idempotency records", () => {
    const key = () => idempotencyKey("id:caller", `key-${(ids += 1)}`);

    it("owns a new key; the same key is in progress, then answers its prediction; another body is refused", async () => {
      const [a, b] = instances();
      const k = key();
      expect(await a.idempotency.begin(k, "h1", T0)).toEqual({ kind: "new" });
      expect(await b.idempotency.begin(k, "h1", T0 + 10)).toEqual({ kind: "in-progress", retryAfterMs: 1000, left: false });
      expect(await b.idempotency.begin(k, "h2", T0 + 10)).toEqual({ kind: "different-body" });
      await a.idempotency.complete(k, "pred123", T0 + 20);
      expect(await b.idempotency.begin(k, "h1", T0 + 30)).toEqual({ kind: "created", predictionId: "pred123" });
      expect(await b.idempotency.begin(k, "h2", T0 + 30)).toEqual({ kind: "different-body" });
      // Abandoning a finished record keeps it: its prediction exists.
      await b.idempotency.abandon(k);
      expect(await a.idempotency.begin(k, "h1", T0 + IDEMPOTENCY_TTL_MS)).toEqual({ kind: "created", predictionId: "pred123" });
      expect(await a.idempotency.begin(k, "h2", T0 + 20 + IDEMPOTENCY_TTL_MS)).toEqual({ kind: "new" });
    });

    it("frees a key whose create failed before any prediction existed, or whose creator vanished", async () => {
      const [a, b] = instances();
      const abandoned = key();
      expect((await a.idempotency.begin(abandoned, "h", T0)).kind).toBe("new");
      await a.idempotency.abandon(abandoned);
      expect((await b.idempotency.begin(abandoned, "h", T0)).kind).toBe("new");
      const orphan = key();
      expect((await a.idempotency.begin(orphan, "h", T0)).kind).toBe("new");
      expect((await b.idempotency.begin(orphan, "h", T0 + CREATING_TTL_MS - 1)).kind).toBe("in-progress");
      expect((await b.idempotency.begin(orphan, "h", T0 + CREATING_TTL_MS)).kind).toBe("new");
    });

    it("tells another instance that the creating request's client left, and the creator that a repeat attached", async () => {
      const [a, b] = instances();
      const k = key();
      expect(await a.idempotency.begin(k, "h", T0)).toEqual({ kind: "new" });
      await a.idempotency.leave(k);
      expect(await b.idempotency.begin(k, "h", T0 + 10)).toEqual({ kind: "in-progress", retryAfterMs: 1000, left: true });
      await a.idempotency.complete(k, "pred456", T0 + 20);
      expect(await a.idempotency.attached(k)).toBe(false);
      await b.idempotency.attach(k);
      expect(await a.idempotency.attached(k)).toBe(true);
      // Followers count: the creator need not cancel while one follows; the last to leave knows it is last.
      await a.idempotency.attach(k);
      expect(await b.idempotency.detach(k)).toEqual({ followers: 1, left: true });
      expect(await a.idempotency.attached(k)).toBe(true);
      expect(await a.idempotency.detach(k)).toEqual({ followers: 0, left: true });
      expect(await a.idempotency.attached(k)).toBe(false);
      expect(await b.idempotency.detach(k)).toEqual({ followers: 0, left: true });
      // Marks never bring back a record that is gone.
      const gone = key();
      await b.idempotency.leave(gone);
      expect(await a.idempotency.begin(gone, "h", T0)).toEqual({ kind: "new" });
    });

    it("lets exactly one of many simultaneous requests with one key create", async () => {
      const states = instances();
      const k = key();
      const answers = await Promise.all(states.flatMap((state) => [1, 2, 3].map(() => state.idempotency.begin(k, "h", T0))));
      expect(answers.filter((answer) => answer.kind === "new")).toHaveLength(1);
      expect(answers.filter((answer) => answer.kind === "in-progress")).toHaveLength(8);
    });
  });

  describe("the poller's lease", () => {
    it("has one holder; another takes over once the holder stops renewing, and the old one then stops", async () => {
      const [a, b] = instances();
      const [leaseA, leaseB] = [a.lease("poller"), b.lease("poller")];
      expect(await leaseA.hold("A", 2000, T0)).toBe(true);
      expect(await leaseB.hold("B", 2000, T0 + 500)).toBe(false);
      expect(await leaseA.hold("A", 2000, T0 + 1000)).toBe(true);
      expect(await leaseB.hold("B", 2000, T0 + 2999)).toBe(false);
      // A froze after its renewal at +1000: at +3000 its lease is over.
      expect(await leaseB.hold("B", 2000, T0 + 3000)).toBe(true);
      expect(await leaseA.hold("A", 2000, T0 + 3001)).toBe(false);
    });

    it("is released only by its holder", async () => {
      const [a, b] = instances();
      const [leaseA, leaseB] = [a.lease("poller"), b.lease("poller")];
      expect(await leaseA.hold("A", 10_000, T0)).toBe(true);
      await leaseB.release("B");
      expect(await leaseB.hold("B", 10_000, T0 + 1)).toBe(false);
      await leaseA.release("A");
      expect(await leaseB.hold("B", 10_000, T0 + 2)).toBe(true);
    });

    it("lets exactly one of many simultaneous candidates hold it", async () => {
      const states = instances();
      const holds = await Promise.all(
        states.flatMap((state, i) => [0, 1].map((j) => state.lease("race").hold(`h${i}${j}`, 5000, T0))),
      );
      expect(holds.filter(Boolean)).toHaveLength(1);
    });
  });

  describe("the pollers' share", () => {
    const entry = (id: string, status = "starting") => ({ id, createdAt: "2027-01-15T08:00:00.000Z", status });

    it("holds what every live instance waits for, each id once, replaced at each renewal", async () => {
      const [a, b] = instances();
      await a.pollShare.publishWaiting("A", [entry("p1"), entry("p2")], 3000, T0);
      await b.pollShare.publishWaiting("B", [entry("p2"), entry("p3", "processing")], 3000, T0);
      const all = await a.pollShare.allWaiting(T0 + 10);
      expect(all.map((each) => each.id).sort()).toEqual(["p1", "p2", "p3"]);
      expect(all.find((each) => each.id === "p3")).toEqual(entry("p3", "processing"));
      await a.pollShare.publishWaiting("A", [entry("p1", "processing")], 3000, T0 + 1000);
      expect((await b.pollShare.allWaiting(T0 + 1010)).map((each) => `${each.id}:${each.status}`).sort()).toEqual([
        "p1:processing",
        "p2:starting",
        "p3:processing",
      ]);
    });

    it("forgets an instance that stopped renewing (died or froze)", async () => {
      const [a, b] = instances();
      await a.pollShare.publishWaiting("A", [entry("p1")], 3000, T0);
      await b.pollShare.publishWaiting("B", [entry("p2")], 3000, T0 + 2000);
      expect((await b.pollShare.allWaiting(T0 + 3000)).map((each) => each.id)).toEqual(["p2"]);
      await b.pollShare.publishWaiting("B", [], 3000, T0 + 3000);
      expect(await a.pollShare.allWaiting(T0 + 3001)).toEqual([]);
    });

    it("brings a holder's round to every instance", async () => {
      const [a, b, c] = instances();
      const heard: string[] = [];
      const stops = await Promise.all(
        [b, c].map((state, i) =>
          state.pollShare.onRound((round) => heard.push(`${i}:${round.holder}:${round.changed.map((p) => p.id)}`)),
        ),
      );
      const ended = prediction("succeeded");
      await a.pollShare.publishRound({ holder: "A", at: T0, changed: [ended] });
      await until(() => heard.length === 2);
      expect(heard.sort()).toEqual([`0:A:${ended.id}`, `1:A:${ended.id}`]);
      await Promise.all(stops.map((stop) => stop()));
    });
  });
});
