import { createHmac, randomBytes } from "node:crypto";
import { http, HttpResponse } from "msw";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DELETE, GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { seedPngDataUrl } from "@/dev/simulator/png-image";
import { Problem } from "@/lib/server/problem";
import { parseBudgetRule } from "@/lib/server/spend-guard/budget-rule";
import { parseSpendConfig } from "@/lib/server/spend-guard/spend-config";
import { costOf } from "@/lib/server/spend-guard/spend-guard";
import { memorySharedState } from "@/lib/server/shared-state/shared-state";
import { MemorySpendLedger } from "@/lib/server/spend-guard/spend-ledger";
import { advance, settle, useFakeClock } from "@/tests/support/fake-clock";
import { setGuardEnv } from "@/tests/support/guard-env";
import { BASE, handleOf, jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { setEngineOptions, setVariables } from "@/tests/support/test-engine";

/**
 * The spend guard on fake time, in one process: budgets of model time reserved before the create
 * (and the uploads), refused with a 402 when spent, settled with the simulator's predict times.
 */
const { sim, server } = useSimulatedReplicate({ bootMs: 0, runMs: 1200 });
useFakeClock(new Date("2026-01-01T10:00:00Z"));
const ROUTE = "http://localhost/api/ai/replicate";
const SPEND_DEFAULTS = {
  REPLICATE_BUDGET_PER_CALLER: "",
  REPLICATE_BUDGET_TOTAL: "",
  REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS: "1",
  REPLICATE_PRICE_PER_SECOND: "",
  REPLICATE_START_TIMEOUT_SECONDS: "",
};
const setSpendEnv = (overrides: Partial<Record<keyof typeof SPEND_DEFAULTS, string>> = {}) => {
  setVariables({ ...SPEND_DEFAULTS, ...overrides });
};

let ledger: MemorySpendLedger;
beforeEach(() => {
  setGuardEnv();
  setSpendEnv();
  setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_POLL_INTERVAL_MS: "100" });
  ledger = new MemorySpendLedger();
  // The engine's stores with this test's ledger in them (what an app passes as `stores`).
  setEngineOptions({ stores: { ...memorySharedState(), spend: ledger } });
});
afterEach(() => {
  setSpendEnv();
});

const post = (body: Record<string, unknown> = { prompt: "p" }, headers: Record<string, string> = {}) =>
  settle(POST(jsonPost(ROUTE, body, { headers })), 60_000);
const creates = () => sim.count("create");
const remaining = (response: Response, policy = "caller") => {
  const match = new RegExp(`"${policy}";r=(\\d+);t=(\\d+)`).exec(response.headers.get("RateLimit") ?? "");
  return match ? { r: Number(match[1]), t: Number(match[2]) } : null;
};

describe("REPLICATE_BUDGET_PER_CALLER and REPLICATE_BUDGET_TOTAL", () => {
  it.each([
    ["300s/day", 300_000, 86_400_000],
    ["3600s/hour", 3_600_000, 3_600_000],
    ["1.5s/minute", 1500, 60_000],
    [" 20 s / Day ", 20_000, 86_400_000],
  ])("read %s", (text, limitMs, windowMs) => {
    expect(parseBudgetRule(text)).toMatchObject({ limitMs, windowMs });
  });

  it.each(["300", "300/day", "300s/week", "0s/day", "-1s/day", "300m/day"])(
    "refuse %s with a 500 naming the variable",
    (text) => {
      expect(parseBudgetRule(text)).toBeNull();
      for (const name of ["REPLICATE_BUDGET_PER_CALLER", "REPLICATE_BUDGET_TOTAL"]) {
        try {
          parseSpendConfig({ [name]: text });
          expect.unreachable();
        } catch (error) {
          expect(error).toBeInstanceOf(Problem);
          expect((error as Problem).detail).toContain(name);
        }
      }
    },
  );

  it("malformed, answer every route a 500 naming the variable, and leak no in-flight slot", async () => {
    const prediction = await (await post()).json();
    setGuardEnv({ REPLICATE_MAX_IN_FLIGHT: "2" });
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "300/day" });
    const handle = handleOf(prediction.id);
    const segment = { params: Promise.resolve({ id: handle }) };
    for (let i = 0; i < 4; i += 1) {
      for (const answer of [
        await settle(GET(new Request(`${ROUTE}/${handle}`), segment)),
        await settle(DELETE(new Request(`${ROUTE}/${handle}`, { method: "DELETE" }), segment)),
        await post(),
      ]) {
        expect(answer.status).toBe(500);
        expect((await answer.json()).detail).toContain("REPLICATE_BUDGET_PER_CALLER");
      }
    }
    setSpendEnv();
    expect((await settle(GET(new Request(`${ROUTE}/${handle}`), segment))).status).toBe(200);
  });

  it("are off by default: no reservation, no RateLimit header, the estimate defaults to 10 s", async () => {
    expect(parseSpendConfig({})).toEqual({
      perCaller: undefined,
      total: undefined,
      defaultEstimateMs: 10_000,
      pricePerSecond: undefined,
    });
    const response = await post();
    expect(response.status).toBe(200);
    expect(response.headers.get("RateLimit")).toBeNull();
    expect(await ledger.usage([{ key: "app", limitMs: 1, windowMs: 86_400_000 }], Date.now())).toEqual([
      expect.objectContaining({ usedMs: 0 }),
    ]);
  });
});

describe("reserve, then settle", () => {
  it("answers 402 at the right moment, with nothing created: the estimate follows the model's settled predict times", async () => {
    // 3 s a day; each prediction runs 1.2 s. The first is reserved at the 1 s default, then each
    // at the median of the settled ones (1.2 s): 1.2 + 1.2 fit, a third 1.2 (3.6 s) does not.
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "3s/day" });
    const first = await post();
    expect(first.status).toBe(200);
    expect(((await first.json()) as { metrics: { predict_time: number } }).metrics.predict_time).toBeCloseTo(1.2, 1);
    expect(first.headers.get("RateLimit-Policy")).toBe('"caller";q=3;qu="model-seconds";w=86400');
    // Settled at what Replicate reported: 3 - 1.2 = 1.8 left (whole seconds: 1), renewing at midnight UTC.
    expect(remaining(first)).toMatchObject({ r: 1, t: expect.closeTo(14 * 3600, -1) });
    expect((await post()).status).toBe(200);
    expect(creates()).toBe(2);

    const refused = await post();
    expect(refused.status).toBe(402);
    expect(Number(refused.headers.get("Retry-After"))).toBeCloseTo(14 * 3600, -1);
    expect(remaining(refused)).toMatchObject({ r: 0 });
    const body = (await refused.json()) as { title: string; detail: string; status: number; budget: Record<string, unknown> };
    expect(body).toMatchObject({
      title: "Budget spent",
      status: 402,
      budget: { scope: "caller", limit_seconds: 3, remaining_seconds: expect.closeTo(0.6, 1) },
    });
    expect(body.detail).toMatch(
      /used 2\.4 of 3 model-seconds today .*0\.6 s are left .*estimated at 1\.2 s.*renews at 2026-01-02T00:00:00\.000Z/,
    );
    expect(creates()).toBe(2);
  });

  it("refuses before any upload: a large image is not sent to the Files API when the budget is spent", async () => {
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "1s/day" });
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_POLL_INTERVAL_MS: "100", REPLICATE_INLINE_MAX_BYTES: "1024" });
    expect((await post({ prompt: "first" })).status).toBe(200);
    const refused = await post({ prompt: "large", image: seedPngDataUrl(7, 20 * 1024) });
    expect(refused.status).toBe(402);
    expect(sim.count("files")).toBe(0);
    expect(creates()).toBe(1);
  });

  it("counts the whole app's budget across callers, and says which budget is spent", async () => {
    setSpendEnv({ REPLICATE_BUDGET_TOTAL: "2s/hour", REPLICATE_BUDGET_PER_CALLER: "100s/day" });
    setGuardEnv({ TRUST_PROXY: "1" });
    const from = (address: string) => ({ "x-forwarded-for": address });
    expect((await post({ prompt: "a" }, from("198.51.100.1"))).status).toBe(200);
    const second = await post({ prompt: "b" }, from("198.51.100.2"));
    expect(second.status).toBe(402);
    expect(((await second.json()) as { detail: string }).detail).toMatch(
      /^This app has used 1\.2 of 2 model-seconds this hour \(REPLICATE_BUDGET_TOTAL=2s\/hour\)/,
    );
    expect(second.headers.get("RateLimit")).toMatch(/^"caller";r=100;t=50\d\d\d, "app";r=0;t=3\d\d\d$/);
  });

  it("renews when the window ends", async () => {
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "1s/minute" });
    expect((await post()).status).toBe(200);
    const refused = await post();
    expect(refused.status).toBe(402);
    await advance(Number(refused.headers.get("Retry-After")) * 1000);
    expect((await post()).status).toBe(200);
    expect(creates()).toBe(2);
  });

  it("costs nothing for an idempotent replay", async () => {
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "2s/day" });
    const key = { "idempotency-key": "b3c7f0f6-6f0e-4d8e-9d55-0a0b1c2d3e4f" };
    const first = await post({ prompt: "same" }, key);
    const again = await post({ prompt: "same" }, key);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(creates()).toBe(1);
    // 2 - 1.2 = 0.8 left after both: the replay reserved nothing.
    const [usage] = await ledger.usage([{ key: "caller:ip:unknown", limitMs: 2000, windowMs: 86_400_000 }], Date.now());
    expect(usage.usedMs).toBeCloseTo(1200, -1);
  });

  it("reserves nothing for a request refused before the create (a Files API URL of another caller)", async () => {
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "5s/day" });
    expect((await post({ prompt: "p", image: `${BASE}/files/someone-elses` })).status).toBe(400);
    const [usage] = await ledger.usage([{ key: "caller:ip:unknown", limitMs: 5000, windowMs: 86_400_000 }], Date.now());
    expect(usage.usedMs).toBe(0);
  });

  it("gives the reservation back when nothing was created (Replicate refused the create)", async () => {
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "5s/day" });
    server.use(
      http.post(`${BASE}/models/owner/model/predictions`, () =>
        HttpResponse.json({ title: "Invalid input", detail: "prompt is too long", status: 422 }, { status: 422 }),
      ),
    );
    expect((await post()).status).toBe(422);
    const [usage] = await ledger.usage([{ key: "caller:ip:unknown", limitMs: 5000, windowMs: 86_400_000 }], Date.now());
    expect(usage.usedMs).toBe(0);
  });

  it("settles an async prediction when a later GET sees it end; the reservation stands until then", async () => {
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "10s/day", REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS: "5" });
    const started = await post({ prompt: "async" }, { prefer: "respond-async" });
    expect(started.status).toBe(202);
    expect(remaining(started)).toMatchObject({ r: 5 });
    const { id } = (await started.json()) as { id: string };
    await advance(2000);
    const handle = handleOf(id);
    const read = await settle(GET(new Request(`${ROUTE}/${handle}`), { params: Promise.resolve({ id: handle }) }));
    expect(read.status).toBe(200);
    // Settled at 1.2 s: 8.8 left.
    expect(remaining(read)).toMatchObject({ r: 8 });
    // A second read settles nothing twice.
    const again = await settle(GET(new Request(`${ROUTE}/${handle}`), { params: Promise.resolve({ id: handle }) }));
    expect(remaining(again)).toMatchObject({ r: 8 });
  });

  it("names the budget in a live stream's headers too, as it stood when the stream began", async () => {
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "10s/day", REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS: "3" });
    const response = await post({ prompt: "live" }, { accept: "text/event-stream" });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(remaining(response)).toMatchObject({ r: 7 });
    expect(await settle(response.text())).toContain("event: done");
    // The stream's own follow settled it at 1.2 s.
    const [usage] = await ledger.usage([{ key: "caller:ip:unknown", limitMs: 10_000, windowMs: 86_400_000 }], Date.now());
    expect(usage.usedMs).toBeCloseTo(1200, -1);
  });

  it("settles with the cancel's answer when the wait fails and the prediction is canceled", async () => {
    setSpendEnv({ REPLICATE_BUDGET_TOTAL: "100s/day" });
    sim.failNext("get", "drop", { times: 200 });
    sim.failNext("list", "drop", { times: 200 });
    const response = await post({ prompt: "[never] p" });
    expect(response.status).toBe(502);
    expect(sim.count("cancel")).toBe(1);
    // Reserved at 1 s; settled with what the canceled prediction ran (Replicate's predict_time).
    const [canceled] = [...sim.predictions.values()];
    const ran = Math.round(canceled.toJSON().metrics!.predict_time * 1000);
    expect(ran).toBeGreaterThan(1000);
    const app = [{ key: "app", limitMs: 100_000, windowMs: 86_400_000 }];
    expect((await ledger.usage(app, Date.now()))[0].usedMs).toBe(ran);
  });

  it("settles a canceled prediction that never started at 0", async () => {
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "10s/day", REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS: "4" });
    sim.config.bootMs = 60_000;
    const started = await post({ prompt: "never starts" }, { prefer: "respond-async" });
    const { id } = (await started.json()) as { id: string };
    const handle = handleOf(id);
    const canceled = await settle(
      DELETE(new Request(`${ROUTE}/${handle}`, { method: "DELETE" }), { params: Promise.resolve({ id: handle }) }),
    );
    expect(((await canceled.json()) as { status: string }).status).toBe("canceled");
    expect(remaining(canceled)).toMatchObject({ r: 10 });
  });
});

describe("a prediction that settles after its reservation's window ended", () => {
  it("is charged in full to the window it settles in; one settling in its window is corrected there", async () => {
    const DAY = 86_400_000;
    const budget = [{ key: "caller:x", limitMs: 10_000, windowMs: DAY }];
    const dayEnd = Math.ceil(Date.now() / DAY) * DAY;
    await ledger.reserve("r1", budget, 2000, dayEnd - 1000);
    await ledger.bind("r1", "late", dayEnd - 1000);
    await ledger.reserve("r2", budget, 2000, dayEnd - 1000);
    await ledger.bind("r2", "on-time", dayEnd - 1000);
    expect(await ledger.settle("on-time", 500, dayEnd - 500)).toBe(2000);
    expect((await ledger.usage(budget, dayEnd - 500))[0].usedMs).toBe(2500);
    expect(await ledger.settle("late", 3000, dayEnd + 5000)).toBe(2000);
    expect((await ledger.usage(budget, dayEnd + 5000))[0].usedMs).toBe(3000);
  });
});

describe("a prediction whose end is seen before its create's answer bound the reservation", () => {
  it("is settled by the bind, with the cost seen first", async () => {
    const budget = [{ key: "caller:x", limitMs: 10_000, windowMs: 86_400_000 }];
    const now = Date.now();
    await ledger.reserve("r1", budget, 2000, now);
    expect(await ledger.settle("early1", 3000, now + 10)).toBeNull();
    await ledger.bind("r1", "early1", now + 20);
    expect((await ledger.usage(budget, now + 30))[0].usedMs).toBe(3000);
    // Settled once: a later settlement finds nothing.
    expect(await ledger.settle("early1", 3000, now + 40)).toBeNull();
    expect((await ledger.usage(budget, now + 50))[0].usedMs).toBe(3000);
  });
});

describe("what a prediction cost", () => {
  const ended = {
    id: "p1",
    status: "succeeded" as const,
    started_at: "2026-01-01T00:00:00Z",
    completed_at: "2026-01-01T00:00:03Z",
  };
  it("is Replicate's predict_time, in dollars too with a price; 0 for one that never started", () => {
    expect(costOf({ ...ended, metrics: { predict_time: 2.5 } }, { defaultEstimateMs: 1, pricePerSecond: 0.001 })).toEqual({
      seconds: 2.5,
      dollars: 0.0025,
    });
    expect(costOf({ id: "p2", status: "aborted" }, { defaultEstimateMs: 1 })).toEqual({ seconds: 0 });
    expect(costOf({ id: "p3", status: "canceled", started_at: null }, { defaultEstimateMs: 1 })).toEqual({ seconds: 0 });
    expect(costOf({ ...ended, metrics: null }, { defaultEstimateMs: 1 })).toEqual({ seconds: 3 });
    expect(costOf({ id: "p4", status: "processing" }, { defaultEstimateMs: 1 })).toBeUndefined();
  });

  it("reaches onPrediction with a webhook's end, which settles the reservation on whichever instance it arrives", async () => {
    const secretBytes = randomBytes(24);
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_WEBHOOK_SECRET: `whsec_${secretBytes.toString("base64")}` });
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "10s/day", REPLICATE_PRICE_PER_SECOND: "0.5" });
    await ledger.reserve("r1", [{ key: "caller:ip:unknown", limitMs: 10_000, windowMs: 86_400_000 }], 5000, Date.now());
    await ledger.bind("r1", "whsettled1", Date.now());
    const onPrediction = await import("@/app/api/ai/replicate/webhook/on-prediction");
    const spy = vi.spyOn(onPrediction, "onPrediction");
    const body = JSON.stringify({
      id: "whsettled1",
      status: "succeeded",
      input: {},
      output: null,
      metrics: { predict_time: 2 },
      urls: {},
    });
    const id = "msg_spend";
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = `v1,${createHmac("sha256", secretBytes).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
    const delivered = await webhook(
      new Request(`${ROUTE}/webhook`, {
        method: "POST",
        headers: { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature },
        body,
      }),
    );
    expect(delivered.status).toBe(200);
    const [usage] = await ledger.usage([{ key: "caller:ip:unknown", limitMs: 10_000, windowMs: 86_400_000 }], Date.now());
    expect(usage.usedMs).toBe(2000);
    expect(spy.mock.calls[0]?.[2]).toEqual({ seconds: 2, dollars: 1 });
  });
});

describe("the start watchdog (REPLICATE_START_TIMEOUT_SECONDS)", () => {
  it("cancels a prediction still starting after the timeout and answers 504 saying the model did not start in time", async () => {
    setSpendEnv({ REPLICATE_BUDGET_PER_CALLER: "10s/day", REPLICATE_START_TIMEOUT_SECONDS: "3" });
    sim.config.bootMs = 30_000;
    const startedAt = Date.now();
    const response = await post({ prompt: "cold" });
    expect(response.status).toBe(504);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(3000);
    expect(Date.now() - startedAt).toBeLessThan(4000);
    const body = (await response.json()) as { title: string; detail: string };
    expect(body.title).toBe("Model did not start in time");
    expect(body.detail).toContain("REPLICATE_START_TIMEOUT_SECONDS");
    expect(sim.count("cancel")).toBe(1);
    expect([...sim.predictions.values()][0].status()).toBe("canceled");
    // It never started: it cost nothing.
    expect(remaining(response)).toMatchObject({ r: 10 });
  });

  it("holds for an async prediction too: the first read past the timeout cancels it and answers 504", async () => {
    setSpendEnv({ REPLICATE_START_TIMEOUT_SECONDS: "3" });
    sim.config.bootMs = 30_000;
    const started = await post({ prompt: "cold, async" }, { prefer: "respond-async" });
    const handle = handleOf(((await started.json()) as { id: string }).id);
    const read = () => settle(GET(new Request(`${ROUTE}/${handle}`), { params: Promise.resolve({ id: handle }) }));
    expect((await read()).status).toBe(202);
    await advance(3000);
    const late = await read();
    expect(late.status).toBe(504);
    expect(((await late.json()) as { title: string }).title).toBe("Model did not start in time");
    expect(sim.count("cancel")).toBe(1);
  });

  it("leaves a prediction that starts in time alone", async () => {
    setSpendEnv({ REPLICATE_START_TIMEOUT_SECONDS: "3" });
    sim.config.bootMs = 2000;
    expect((await post({ prompt: "warm enough" })).status).toBe(200);
    expect(sim.count("cancel")).toBe(0);
  });
});
