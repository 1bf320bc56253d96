import { afterEach, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { DEFAULT_WEBHOOK_SECRET } from "@/dev/simulator/webhooks";
import { advance, settle, useFakeClock } from "@/tests/support/fake-clock";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

/**
 * With webhooks on, the delivery carries the whole prediction: a prediction the list shows ended is
 * left to its webhook until a round and a half after its end before it is read, so it is not paid
 * for twice. A webhook that does not come in that time is no reason to wait longer: the
 * prediction is then read. A lost delivery so costs about two rounds, never the fallback's five.
 */
const APP = "http://app.test";
const ROUNDS_MS = 100;
/** How late the simulator's webhooks reach the route (fake ms); Infinity: never. */
let webhookDelayMs = 0;
const { sim } = useSimulatedReplicate({
  runMs: 400,
  webhookFetch: async (url, init) => {
    if (webhookDelayMs === Infinity) return new Response("gone", { status: 503 });
    await new Promise((resolve) => setTimeout(resolve, webhookDelayMs));
    return webhook(new Request(String(url), init));
  },
});
useFakeClock();
afterEach(() => advance(ROUNDS_MS * 4));

/**
 * Six at once: enough for the poller to read the list endpoint. They end at 400 to 475 ms, just
 * before the first round that polls them (a wait webhooks will end is polled once in two rounds).
 */
async function sixPastTheirHold() {
  setEnv({
    REPLICATE_WEBHOOK_URL: APP,
    REPLICATE_WEBHOOK_SECRET: DEFAULT_WEBHOOK_SECRET,
    REPLICATE_POLL_INTERVAL_MS: String(ROUNDS_MS),
    REPLICATE_SYNC_WAIT_SECONDS: "0",
  });
  const responses = await settle(
    Promise.all(
      Array.from({ length: 6 }, (_, i) => POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: `[run:${400 + i * 15}] p${i}` }))),
    ),
  );
  return Promise.all(responses.map((response) => response.json() as Promise<{ status: string; logs?: string }>));
}

describe("with webhooks on, a prediction the list shows ended", () => {
  it("is answered by its webhook, arriving a round late, and never read again", async () => {
    webhookDelayMs = ROUNDS_MS;
    const bodies = await sixPastTheirHold();
    expect(bodies.map((body) => body.status)).toEqual(Array(6).fill("succeeded"));
    expect(sim.count("list")).toBeGreaterThan(0);
    expect(sim.count("get")).toBe(0);
  });

  it("is read, whole, once its webhook is a round and a half late", async () => {
    webhookDelayMs = Infinity;
    const bodies = await sixPastTheirHold();
    expect(bodies.map((body) => body.status)).toEqual(Array(6).fill("succeeded"));
    for (const body of bodies) expect(body.logs).toContain("100%");
    expect(sim.count("get")).toBe(6);
  });
});

describe("a lost delivery", () => {
  it.each([1, 6])("costs about two rounds after the end, not more (%s at once)", async (count) => {
    webhookDelayMs = Infinity;
    setEnv({
      REPLICATE_WEBHOOK_URL: APP,
      REPLICATE_WEBHOOK_SECRET: DEFAULT_WEBHOOK_SECRET,
      REPLICATE_POLL_INTERVAL_MS: String(ROUNDS_MS),
      REPLICATE_SYNC_WAIT_SECONDS: "0",
    });
    const answeredAt: number[] = [];
    const posts = Array.from({ length: count }, (_, i) =>
      POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: `[run:${1000 + i * 37}] lost ${i}` })).then(async (response) => {
        answeredAt[i] = Date.now();
        return (await response.json()) as { id: string; status: string };
      }),
    );
    const bodies = await settle(Promise.all(posts));
    expect(bodies.map((body) => body.status)).toEqual(Array(count).fill("succeeded"));
    const lags = bodies.map((body, i) => answeredAt[i] - sim.get(body.id)!.finishedAt!);
    for (const lag of lags) expect(lag).toBeLessThanOrEqual(2.5 * ROUNDS_MS);
  });
});
