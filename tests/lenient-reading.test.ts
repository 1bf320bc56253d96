import { http, HttpResponse } from "msw";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { BASE, jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { settle, useFakeClock } from "@/tests/support/fake-clock";

/**
 * The route reads what it uses and passes the rest on: an answer that lacks, nulls or changes a
 * field the route does not use is followed and answered as sent, never a 502, never canceled.
 */
const { sim, server } = useSimulatedReplicate();
useFakeClock();
afterEach(() => vi.restoreAllMocks());

const run = (prompt: string) => POST(jsonPost("http://localhost/api/ai/replicate", { prompt }));

/** Every prediction answer (create, GET, cancel, list entry) goes through `change` on its way to the route. */
function rewriteAnswers(change: (prediction: Record<string, any>) => Record<string, any>) {
  const rewrite = async ({ request }: { request: Request }) => {
    const answer = (await sim.handle(request)) as Response;
    const body = await answer.json();
    const changed = Array.isArray(body.results)
      ? { ...body, results: body.results.map(change) }
      : "id" in body
        ? change(body)
        : body;
    return HttpResponse.json(changed, { status: answer.status, headers: answer.headers });
  };
  server.use(
    http.post(`${BASE}/models/*`, rewrite),
    http.get(`${BASE}/predictions/*`, rewrite),
    http.post(`${BASE}/predictions/*`, rewrite),
    http.get(`${BASE}/predictions`, rewrite),
  );
}

describe("fields the route does not use", () => {
  it("a prediction without model, with null urls.stream and metrics.predict_time and a new source is answered 200, as sent", async () => {
    rewriteAnswers(({ model, ...prediction }) => ({
      ...prediction,
      urls: { ...prediction.urls, stream: null, web: 7 },
      metrics: { predict_time: null },
      source: "playground",
      created_at: "yesterday",
    }));
    const response = await settle(run("[run:60] a lighthouse"));
    const body = await response.json();
    expect(response.status).toBe(200);
    expect(body.status).toBe("succeeded");
    expect(body).not.toHaveProperty("model");
    expect(body.source).toBe("playground");
    expect(sim.count("cancel")).toBe(0);
    expect(sim.count("create")).toBe(1);
  });

  it("a create answered with its id alone is followed to its end, never canceled", async () => {
    server.use(
      http.post(`${BASE}/models/*`, async ({ request }) => {
        const created = await ((await sim.handle(request)) as Response).json();
        return HttpResponse.json({ id: created.id }, { status: 201 });
      }),
    );
    const response = await settle(run("[run:60] bare"));
    expect(response.status).toBe(200);
    expect((await response.json()).status).toBe("succeeded");
    expect(sim.count("cancel")).toBe(0);
  });

  it("a status the route does not know is waited on like a running one, within the cap, and logged once", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    let queued = 0;
    rewriteAnswers((prediction) =>
      prediction.status === "starting" && queued++ < 6 ? { ...prediction, status: "queued" } : prediction,
    );
    const [first, second] = await settle(Promise.all([run("[run:60] one"), run("[run:60] two")]));
    expect([first.status, second.status]).toEqual([200, 200]);
    const logged = warn.mock.calls.map(([line]) => String(line)).filter((line) => line.includes("unknown_status"));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("queued");
  });

  it("a prediction that stays in an unknown status is canceled at the cap like a running one", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "2" });
    rewriteAnswers((prediction) => (prediction.status === "canceled" ? prediction : { ...prediction, status: "queued" }));
    const response = await settle(run("[run:60000] long"));
    expect(response.status).toBe(500);
    expect((await response.json()).error).toMatch(/timed out/);
    expect(sim.count("cancel")).toBe(1);
  });
});

describe("a list page", () => {
  it("drops only its unreadable entries: the others are read from it, the page is not retried", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
    // No streams: the rounds alone follow these predictions.
    onTestFinished(sim.override({ imageStreams: false }));
    server.use(
      http.get(`${BASE}/predictions`, async ({ request }) => {
        const page = await ((await sim.handle(request)) as Response).json();
        return HttpResponse.json({
          ...page,
          results: [{ id: 7 }, { garbage: true }, ...page.results.map(({ model, ...entry }: any) => entry)],
        });
      }),
    );
    const started = Date.now();
    const responses = await settle(Promise.all(Array.from({ length: 20 }, (_, i) => run(`[run:${150 + i * 5}] crowd ${i}`))));
    const took = Date.now() - started;
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const lists = sim.count("list");
    expect(lists).toBeGreaterThan(0);
    // Rounds of 10 fake ms went on reading the page: no retries of a "garbled" page with backoff
    // (that took seconds of fake time for runs of 150 to 245 ms).
    expect(took).toBeLessThan(1000);
    // Every waiter read from the list: one GET each once ended (for its logs), not one a round.
    expect(sim.count("get")).toBeLessThanOrEqual(20 + 5);
  });
});
