import { describe, expect, it, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { replicateSettings } from "@/lib/server/config";
import { systemClock } from "@/lib/server/clock";
import { configWithEngine } from "@/lib/server/engine";
import { sharedStateFor } from "@/lib/server/shared-state/shared-state";
import { Problem } from "@/lib/server/problem";
import { SharedStateUnavailable } from "@/lib/server/shared-state/redis-connection";
import { createRetry, planCreateRetry, waitForCreateSlot } from "@/lib/server/replicate/create-policy";
import { MemoryCreatePacing } from "@/lib/server/shared-state/create-pacing";
import { jsonPost, setEnv, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";
import { settle, useFakeClock } from "@/tests/support/fake-clock";

const { sim } = useSimulatedReplicate();
useFakeClock();

const now = 1_700_000_000_000;
const context = (attempt = 1, deadline = now + 120_000) => ({ attempt, now, deadline, random: () => 0.5 });

describe("which creates are retried", () => {
  it("retries a create only after 429", async () => {
    expect(await planCreateRetry({ status: 429 }, context(), new MemoryCreatePacing(600))).not.toBeNull();
    for (const failure of [{ status: 500 }, { status: 503 }, {}, { malformed: true }, { status: 422 }]) {
      expect(await planCreateRetry(failure, context(), new MemoryCreatePacing(600))).toBeNull();
    }
  });

  it("never waits past the deadline", async () => {
    expect(
      await planCreateRetry({ status: 429, retryAfterHeader: "30" }, context(1, now + 29_000), new MemoryCreatePacing(600)),
    ).toBeNull();
    expect(
      await planCreateRetry({ status: 429, retryAfterHeader: "30" }, context(1, now + 31_000), new MemoryCreatePacing(600)),
    ).toBe(30_000);
  });

  it("is not retried when the account's shared pacing cannot be reached: the 429 is answered as it came", async () => {
    const unreachable = {
      reserve: () => Promise.reject(new SharedStateUnavailable()),
      throttled: () => Promise.reject(new SharedStateUnavailable()),
    };
    expect(await planCreateRetry({ status: 429, retryAfterHeader: "1" }, context(), unreachable)).toBeNull();
  });
});

describe("the create pacer", () => {
  it("lets creates through at once until Replicate throttles one", () => {
    const pacer = new MemoryCreatePacing(600);
    expect([pacer.reserve(0), pacer.reserve(0), pacer.reserve(0)]).toEqual([0, 0, 0]);
  });

  it("after a 429, gives each create its own slot at the account's rate, after the Retry-After", () => {
    const pacer = new MemoryCreatePacing(600); // one slot every 100 ms
    pacer.throttled(1000, 0);
    expect([pacer.reserve(0), pacer.reserve(0), pacer.reserve(0)]).toEqual([1000, 1100, 1200]);
    expect(pacer.reserve(5000)).toBe(0);
    expect(pacer.reserve(5000, 5300)).toBe(300);
  });

  it("stops pacing a minute after the last 429", () => {
    const pacer = new MemoryCreatePacing(600);
    pacer.throttled(0, 0);
    expect(pacer.reserve(59_000)).toBe(0 + 0); // the next slot is free by then
    expect(pacer.reserve(59_000)).toBe(100);
    expect(pacer.reserve(61_000)).toBe(0);
    expect(pacer.reserve(61_000)).toBe(0);
  });
});

describe("waiting for a create's slot", () => {
  it("sends at once while unpaced, waits for its slot once throttled, and answers 429 when the slot is past the deadline", async () => {
    const clock = { now: () => now, sleep: vi.fn(async () => {}), startTimer: systemClock.startTimer };
    const config = configWithEngine(
      replicateSettings({ token: TOKEN, target: { kind: "model", owner: "o", name: "m" }, createsPerMinute: 600 }),
      { clock },
    );
    await waitForCreateSlot(config, now + 1000);
    expect(clock.sleep).not.toHaveBeenCalled();
    // Replicate throttles a create and asks for 30 s: that retry takes the slot at +30 s.
    expect(await createRetry(config).retry!({ status: 429, retryAfterHeader: "30" }, context())).toBe(30_000);
    const refused = await waitForCreateSlot(config, now + 10_000).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Problem);
    expect(refused).toMatchObject({ status: 429, headers: { "Retry-After": "31" } });
    await waitForCreateSlot(config, now + 120_000);
    expect(clock.sleep).toHaveBeenCalledWith(30_200, undefined);
  });
});

describe("account-wide pacing that cannot be reached", () => {
  it("lets the create go unpaced (timing, not a guard: Replicate's 429 still paces it)", async () => {
    // Nothing listens on port 1: the shared state's pacing read is refused at once.
    const settings = replicateSettings({ token: TOKEN, target: { kind: "model", owner: "o", name: "m" }, createsPerMinute: 600 });
    const shared = sharedStateFor({ redis: "redis://127.0.0.1:1" });
    const clock = { now: () => now, sleep: vi.fn(async () => {}), startTimer: systemClock.startTimer };
    const config = configWithEngine(settings, { shared: () => shared, clock });
    try {
      await expect(waitForCreateSlot(config, now + 1000)).resolves.toBeUndefined();
      expect(clock.sleep).not.toHaveBeenCalled();
    } finally {
      await shared.close();
    }
  });
});

describe("a crowd of creates past the account's create limit", () => {
  it("succeeds entirely, each throttled create waiting out its Retry-After in its own slot", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "5", REPLICATE_SYNC_WAIT_SECONDS: "5", REPLICATE_CREATES_PER_MINUTE: "6000" });
    sim.config.runMs = 5;
    sim.failNext("create", "429", { times: 10, retryAfterSeconds: 0.05 });
    const responses = await settle(
      Promise.all(
        Array.from({ length: 12 }, (_, i) => POST(jsonPost("http://localhost/api/ai/replicate", { prompt: `crowd ${i}` }))),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(sim.predictions.size).toBe(12);
    const creates = sim.requests.filter((r) => r.kind === "create");
    const throttledAt = Math.min(...creates.filter((r) => r.status === 429).map((r) => r.at));
    const retries = creates
      .filter((r) => r.status === 201 && r.at >= throttledAt + 45)
      .map((r) => r.at)
      .sort((a, b) => a - b);
    // Each retry waited out the Retry-After, then took its own 10 ms slot (6,000 a minute).
    expect(retries.length).toBeGreaterThanOrEqual(8);
    for (let i = 1; i < retries.length; i += 1) expect(retries[i] - retries[i - 1]).toBeGreaterThanOrEqual(7);
  });
});
