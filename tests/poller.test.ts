import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { TokenBucket } from "@/lib/server/replicate/token-bucket";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { advance, settle, useFakeClock } from "@/tests/support/fake-clock";
import { systemClock } from "@/lib/server/clock";

const { sim } = useSimulatedReplicate();
useFakeClock();

const run = (prompt: string) => POST(jsonPost("http://localhost/api/ai/replicate", { prompt }));

describe("shared polling", () => {
  it("polls one prediction with GET", async () => {
    const response = await settle(run("[run:60] one"));
    expect(response.status).toBe(200);
    expect(sim.count("list")).toBe(0);
    expect(sim.count("get")).toBeGreaterThan(1);
  });

  it("reads many predictions in flight from the list endpoint, a call for up to 100 of them", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
    const responses = await settle(Promise.all(Array.from({ length: 30 }, (_, i) => run(`[run:${150 + i * 5}] crowd ${i}`))));
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
    const bodies = await Promise.all(responses.map((r) => r.json()));
    expect(bodies.every((b) => b.status === "succeeded" && Array.isArray(b.output))).toBe(true);
    expect(sim.count("list")).toBeGreaterThan(0);
    // The list holds nine foreign predictions to each of ours and its entries have no logs: an
    // ended one is read whole once, so its answer carries its logs.
    expect(bodies.every((b) => typeof b.logs === "string" && b.logs.length > 0)).toBe(true);
    expect(sim.count("get")).toBeLessThanOrEqual(30 + 5);
    // Each prediction polled alone every 10 ms for ~200 ms would be ~600 GETs.
    expect(sim.count("get") + sim.count("list")).toBeLessThan(600 / 4);
  });

  it("lists only its waiters' window: the account's newer predictions cost no pages", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "100", REPLICATE_TIMEOUT_SECONDS: "10" });
    const waiters = Promise.all(Array.from({ length: 8 }, (_, i) => run(`[run:4000] waiter ${i}`)));
    await advance(1500);
    // Newer traffic: 60 quick predictions, each with nine foreign ones (600 newer list entries, 6 pages).
    await settle(Promise.all(Array.from({ length: 60 }, (_, i) => run(`[run:0] newer ${i}`))));
    await advance(250);
    const before = { get: sim.count("get"), list: sim.count("list") };
    const responses = await settle(waiters);
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    // ~23 rounds of 100 ms: one page each finds all eight running; each is read whole once at its end.
    expect(sim.count("list") - before.list).toBeLessThanOrEqual(30);
    expect(sim.count("get") - before.get).toBeLessThanOrEqual(8 + 2);
  });

  it("reads on past its first pages while that costs less than GETting the waiters not yet seen", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "100", REPLICATE_TIMEOUT_SECONDS: "20" });
    // 30 waiters, each followed by 3 quick predictions of the account (and their 27 foreign ones):
    // their window holds about 930 entries, 10 pages, more than the first 4 a round reads.
    const waiters: Promise<Response>[] = [];
    for (let i = 0; i < 30; i += 1) {
      waiters.push(run(`[run:6000] waiter ${i}`));
      await settle(Promise.all(Array.from({ length: 3 }, (_, j) => run(`[run:0] between ${i}.${j}`))));
    }
    await advance(300);
    const before = sim.count("get");
    const responses = await settle(Promise.all(waiters));
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
    // Each read whole once at its end (30), and a few at the window's old end where a GET costs
    // less than the pages to reach them; stopping after the first pages GETs ~120.
    expect(sim.count("get") - before).toBeLessThanOrEqual(60);
  });

  it("keeps polling within its budget, so Replicate's rate limit never answers 429", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "2", REPLICATE_POLL_BUDGET_PER_MINUTE: "960" }); // 80%, as the default is of 3000
    sim.setRateLimits({ createPerMinute: 600, otherPerMinute: 1200, burst: 20 });
    const responses = await settle(Promise.all([run("[run:400] a"), run("[run:400] b")]));
    sim.setRateLimits(false);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(sim.throttled).toBe(0);
    // 2 ms rounds for two predictions would be ~400 GETs; the budget allows ~16 a second plus a burst.
    expect(sim.count("get") + sim.count("list")).toBeLessThan(40);
  });
});

describe("the call budget", () => {
  it("hands out a second's worth at once, then one token per 1/rate", async () => {
    const bucket = new TokenBucket(6000, systemClock); // 100 a second
    const started = Date.now();
    for (let i = 0; i < 100; i += 1) await bucket.take();
    expect(Date.now() - started).toBeLessThan(20);
    await settle(
      (async () => {
        for (let i = 0; i < 5; i += 1) await bucket.take();
      })(),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });
});
