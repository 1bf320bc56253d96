/**
 * Every call a request makes to Replicate is budgeted: DELETEs of one prediction make one cancel
 * per poll interval however many come (on every instance together), count against the caller's
 * rate limit (an allowance of their own) and wait for the account's call budget; and every
 * follower of one prediction, JSON or event stream, shares one read per interval.
 */
import { describe, expect, it, onTestFinished } from "vitest";
import { DELETE, GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { MemoryRateLimitStore } from "@/lib/server/guard/rate-limit";
import { Poller } from "@/lib/server/replicate/poller";
import { startPrediction } from "@/lib/server/replicate/run-prediction";
import { CallBudget } from "@/lib/server/shared-state/call-budget";
import { MemoryLease } from "@/lib/server/shared-state/lease";
import { MemoryPollShare } from "@/lib/server/shared-state/poll-share";
import { readSseEvents } from "@/lib/shared/sse";
import { advance, settle, useFakeClock } from "@/tests/support/fake-clock";
import { setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { handleOf, jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { testConfig } from "@/tests/support/test-engine";

const { sim } = useSimulatedReplicate({ bootMs: 10, runMs: 150 });
useGuardEnv();
useFakeClock();
const APP = "http://app.test";

const startAsync = async (prompt = "[never] p") => {
  const response = await settle(POST(jsonPost(`${APP}/api/ai/replicate`, { prompt }, { headers: { prefer: "respond-async" } })));
  return (await response.json()).id as string;
};
const byId = (handler: typeof GET, id: string, init: RequestInit = {}) =>
  handler(new Request(`${APP}/api/ai/replicate/${handleOf(id)}`, init), { params: Promise.resolve({ id: handleOf(id) }) });
const cancel = (id: string) => byId(DELETE, id, { method: "DELETE" });

describe("DELETE of one prediction", () => {
  it("makes one upstream cancel per poll interval, however many DELETEs come at once or in a row", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "1000" });
    const id = await startAsync();
    const answers = await settle(Promise.all(Array.from({ length: 50 }, () => cancel(id))));
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
    expect(new Set(await Promise.all(answers.map(async (answer) => (await answer.json()).status)))).toEqual(
      new Set(["canceled"]),
    );
    expect(sim.count("cancel")).toBe(1);
    // More within the interval: still that one cancel's answer (and a status read right after shares it too).
    for (let i = 0; i < 5; i += 1) expect((await settle(cancel(id))).status).toBe(200);
    expect((await settle(byId(GET, id))).status).toBe(500);
    expect(sim.count("cancel")).toBe(1);
    expect(sim.count("get")).toBe(0);
    // A poll interval later, the next DELETE may cancel again.
    await advance(1000);
    expect((await settle(cancel(id))).status).toBe(200);
    expect(sim.count("cancel")).toBe(2);
  });

  it("makes one cancel per interval across instances: the others answer from one shared read", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "1000" });
    const config = testConfig();
    const turns = new MemoryRateLimitStore();
    const budget = new CallBudget(new MemoryRateLimitStore(), 2400);
    const share = new MemoryPollShare();
    const instance = (instanceId: string) =>
      new Poller(config, { sharing: { instanceId, lease: new MemoryLease(), share, budget, turns } });
    const [a, b, c] = ["A", "B", "C"].map(instance);
    const created = await settle(startPrediction(config, { prompt: "[never] p" }, { receivedAt: Date.now() }));
    const answers = await settle(
      Promise.all([a, b, c].flatMap((poller) => [poller.cancel(created.id), poller.cancel(created.id)])),
    );
    expect(answers).toHaveLength(6);
    expect(sim.count("cancel")).toBe(1);
    // Each instance that did not cancel read the prediction once for all its DELETEs.
    expect(sim.count("get")).toBe(2);
  });

  it("counts against the caller's rate limit, on an allowance of its own: a client at its limit of creates can still cancel", async () => {
    setGuardEnv({ REPLICATE_RATE_LIMIT: "2/min" });
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
    const first = await startAsync();
    await startAsync();
    expect((await settle(POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "p" })))).status).toBe(429);
    expect((await settle(cancel(first))).status).toBe(200);
    await advance(10);
    expect((await settle(cancel(first))).status).toBe(200);
    await advance(10);
    const refused = await settle(cancel(first));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).not.toBeNull();
    expect(sim.count("cancel")).toBe(2);
  });

  it("waits for the account's call budget like every other call", async () => {
    // 60 calls a minute: one a second, no burst beyond it.
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10", REPLICATE_POLL_BUDGET_PER_MINUTE: "60" });
    const id = await startAsync();
    expect((await settle(byId(GET, id))).status).toBe(202);
    const answer = cancel(id);
    await advance(900);
    expect(sim.count("cancel")).toBe(0);
    expect((await settle(answer)).status).toBe(200);
    expect(sim.count("cancel")).toBe(1);
  });
});

describe("followers of one prediction", () => {
  it("share one read per poll interval, JSON and event stream alike, however many there are", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "100" });
    onTestFinished(sim.override({ imageStreams: false }));
    const id = await startAsync("[run:1000] p");
    const controllers = Array.from({ length: 20 }, () => new AbortController());
    const streams = controllers.map((controller) =>
      byId(GET, id, { headers: { accept: "text/event-stream" }, signal: controller.signal }),
    );
    const ends = streams.map(async (response) => {
      const events = [];
      for await (const event of readSseEvents((await response).body!)) events.push(event);
      return events.at(-1);
    });
    const json = Array.from({ length: 5 }, () => byId(GET, id));
    const [last] = await settle(Promise.all([Promise.all(ends), Promise.all(json)]));
    expect(last.map((event) => event?.event)).toEqual(Array(20).fill("done"));
    // About 1.2 s of following at 100 ms: one GET a round for all 25 followers, not one each.
    expect(sim.count("get")).toBeLessThanOrEqual(16);
    expect(sim.count("get")).toBeGreaterThan(0);
  });
});
