import { http, HttpResponse } from "msw";
import { describe, expect, it, onTestFinished } from "vitest";
import { GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { advance, settle, useFakeClock } from "@/tests/support/fake-clock";
import { BASE, handleOf, jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

/** Polls follow the clock, not only the logs; status reads share one call per interval. */
const { sim, server } = useSimulatedReplicate();
useFakeClock();

const STALLED_LOGS = "Using seed: 1\n  50%|█████     | 5/10 [00:01<00:01, 100.00it/s]";

/** Every GET of a prediction answers it still processing, its tqdm bar stopped at 5/10 at 100 it/s. */
function stallEveryPrediction() {
  let gets = 0;
  server.use(
    http.get(`${BASE}/predictions/:id`, ({ params }) => {
      gets += 1;
      return HttpResponse.json({
        id: params.id,
        model: "owner/model",
        version: "hidden",
        status: "processing",
        input: { prompt: "stalls" },
        logs: STALLED_LOGS,
        output: null,
        created_at: "2026-01-01T00:00:00.000Z",
        urls: { get: `${BASE}/predictions/${params.id}`, cancel: `${BASE}/predictions/${params.id}/cancel` },
      });
    }),
  );
  return () => gets;
}

describe("a progress bar that stalls", () => {
  it("gets at most one targeted poll for its step, then the round rate: no poll storm", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "1000", REPLICATE_TIMEOUT_SECONDS: "10" });
    // No stream to wait on: the logs and the clock are all the poller has.
    onTestFinished(sim.override({ imageStreams: false }));
    const gets = stallEveryPrediction();
    const answered = POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "[never] stalls" }));
    await advance(5_000);
    // 5 rounds in 5 s, plus one targeted poll for the one step the bar showed.
    expect(gets()).toBeGreaterThanOrEqual(4);
    expect(gets()).toBeLessThanOrEqual(5 + 1);
    await settle(answered);
  });
});

describe("status reads (GET /api/ai/replicate/{handle})", () => {
  it("share one upstream call per poll interval however many ask at once", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "1000" });
    const started = await settle(
      POST(
        jsonPost("http://localhost/api/ai/replicate", { prompt: "[never] watched" }, { headers: { prefer: "respond-async" } }),
      ),
    );
    const id = ((await started.json()) as { id: string }).id;
    const handle = handleOf(id);
    const read = () =>
      GET(new Request(`http://localhost/api/ai/replicate/${handle}`), { params: Promise.resolve({ id: handle }) });
    const first = await settle(Promise.all(Array.from({ length: 50 }, read)));
    expect(first.map((response) => response.status)).toEqual(Array(50).fill(202));
    expect(sim.count("get")).toBe(1);
    await advance(1_000);
    await settle(Promise.all(Array.from({ length: 50 }, read)));
    expect(sim.count("get")).toBe(2);
  });
});
