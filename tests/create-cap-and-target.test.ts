import { describe, expect, it, onTestFinished } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { settleAfterAnswer } from "@/lib/server/after-answer";
import { memorySharedState } from "@/lib/server/shared-state/shared-state";
import { setEngineOptions, setVariables } from "@/tests/support/test-engine";
import { MemorySpendLedger } from "@/lib/server/spend-guard/spend-ledger";
import { advanceUntil, settle, useFakeClock } from "@/tests/support/fake-clock";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate();
useFakeClock();

const post = (headers: Record<string, string> = {}) =>
  POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "a lighthouse" }, { headers }));

describe("the cap is the cap, the create's included", () => {
  it.each([
    ["JSON", {}],
    ["async", { prefer: "respond-async" }],
  ])("answers a %s create still unanswered at the cap as a 504 timeout, within a second of it", async (_mode, headers) => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "3" });
    sim.config.slowMs = 120_000;
    sim.failNext("create", "slow");
    const started = Date.now();
    const response = await settle(post(headers), 10_000);
    expect(Date.now() - started).toBeLessThanOrEqual(3_000 + 1_000);
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({
      title: "Prediction timed out",
      detail: expect.stringMatching(/3 s \(REPLICATE_TIMEOUT_SECONDS\).*Cancel-After/),
      status: 504,
    });
  });
});

describe("a create given up at the cap that answers after all", () => {
  it("is canceled, kept alive past the 504, and its spend reservation settled with the cancel's answer", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "3" });
    const ledger = new MemorySpendLedger();
    setEngineOptions({ stores: { ...memorySharedState(), spend: ledger } });
    setVariables({ REPLICATE_BUDGET_TOTAL: "100s/day" });
    onTestFinished(() => {
      setEngineOptions({});
      setVariables({ REPLICATE_BUDGET_TOTAL: undefined });
    });
    sim.config.slowMs = 10_000;
    onTestFinished(() => void (sim.config.slowMs = 0));
    sim.failNext("create", "slow");
    const response = await settle(post(), 10_000);
    expect(response.status).toBe(504);
    const app = [{ key: "app", limitMs: 100_000, windowMs: 86_400_000 }];
    expect((await ledger.usage(app, Date.now()))[0].usedMs).toBe(10_000);
    await advanceUntil(() => sim.count("cancel") > 0, 30_000);
    await settle(settleAfterAnswer(), 10_000);
    expect([...sim.predictions.values()].at(-1)!.status()).toBe("canceled");
    // Reserved at the default estimate (10 s) before the create; it never started: it costs 0.
    expect((await ledger.usage(app, Date.now()))[0].usedMs).toBe(0);
  });
});

describe("a REPLICATE_MODEL that is not an official model", () => {
  it.each([404, 422] as const)("gets a problem naming the variable and the fix when Replicate answers %d", async (status) => {
    onTestFinished(sim.override({ unofficialModelStatus: status }));
    setEnv({ REPLICATE_MODEL: "someone/custom-model" });
    const response = await settle(post());
    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body.title).toBe("REPLICATE_MODEL is not an official model");
    expect(body.detail).toContain("REPLICATE_MODEL_VERSION=someone/custom-model:<version id>");
  });
});
