import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { eventStreamResponse, EVENT_STREAM_HEADERS } from "@/lib/server/http/sse-response";
import { readSseEvents, type SseEvent } from "@/lib/shared/sse";
import { jsonPost, setEnv, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";
import { advance, advanceUntil, settle, useFakeClock } from "@/tests/support/fake-clock";

const { sim } = useSimulatedReplicate({ bootMs: 10, runMs: 120 });
useFakeClock();

function stream(body: unknown, signal?: AbortSignal) {
  return POST(jsonPost("http://localhost/api/ai/replicate", body, { signal, headers: { accept: "text/event-stream" } }));
}

async function events(response: Response): Promise<SseEvent[]> {
  const all: SseEvent[] = [];
  for await (const event of readSseEvents(response.body!)) all.push(event);
  return all;
}

const data = (event: SseEvent) => JSON.parse(event.data);

describe("POST with Accept: text/event-stream", () => {
  it("streams status, progress and logs as they change, then one done with the JSON answer's body", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
    const response = await settle(stream({ prompt: "[refiner] a red fox" }));
    expect(response.status).toBe(200);
    for (const [name, value] of Object.entries(EVENT_STREAM_HEADERS)) expect(response.headers.get(name)).toBe(value);
    const all = await settle(events(response));
    const names = all.map((e) => e.event);

    expect(names.filter((n) => n === "done")).toHaveLength(1);
    expect(names.at(-1)).toBe("done");
    const done = data(all.at(-1)!);
    expect(done.status).toBe("succeeded");
    expect(done).toEqual(JSON.parse(JSON.stringify(sim.get(done.id)!.toJSON())));

    const statuses = all.filter((e) => e.event === "status").map((e) => data(e).status);
    expect(statuses[0]).toBe("starting");
    expect(statuses.at(-1)).toBe("succeeded");
    expect(new Set(statuses).size).toBe(statuses.length);

    const progress = all.filter((e) => e.event === "progress").map(data);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.some((p) => p.pass === 2)).toBe(true);
    for (let i = 1; i < progress.length; i += 1) expect(progress[i]).not.toEqual(progress[i - 1]);

    const logs = all
      .filter((e) => e.event === "logs")
      .map(data)
      .join("");
    expect(logs).toBe(done.logs);
    expect(names.indexOf("output")).toBeLessThan(names.indexOf("done"));
  });

  it("answers validation errors as JSON, before any stream", async () => {
    const response = await settle(stream({ prompt: "p", seed: -1 }));
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/json/);
    expect((await settle(response.json())).invalid_fields[0].field).toBe("seed");
    expect(sim.requests).toHaveLength(0);
  });

  it("ends with a done carrying the problem when Replicate fails after the stream started", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "1" });
    sim.failNext("get", "drop", { times: 100 });
    const all = await settle(stream({ prompt: "[never] p" }).then(events));
    expect(all.map((e) => e.event)).toEqual(["status", "done"]);
    expect(data(all[1])).toMatchObject({ title: expect.any(String), status: 502 });
    expect(sim.count("cancel")).toBe(1);
  });

  it("ends with the timeout's prediction at the cap", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "0.2" });
    const all = await settle(stream({ prompt: "[never] p" }).then(events));
    const done = data(all.at(-1)!);
    expect(done.status).toBe("canceled");
    expect(done.error).toMatch(/timed out after 0\.2 s/);
  });

  it("stops polling and cancels the prediction when the browser goes away", async () => {
    const controller = new AbortController();
    const response = await settle(stream({ prompt: "[never] p" }, controller.signal));
    const reader = response.body!.getReader();
    await settle(reader.read());
    await advanceUntil(() => sim.count("get") >= 2);
    await settle(reader.cancel());
    await advanceUntil(() => sim.count("cancel") === 1);
    const gets = sim.count("get");
    await advance(1000); // 200 poll intervals of fake time: any round still scheduled would have run
    expect(sim.count("get")).toBe(gets);
    expect([...sim.predictions.values()][0].status()).toBe("canceled");
  });

  it("streams a language model's tokens from urls.stream as they are made", async () => {
    sim.config.runMs = 300;
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "100" });
    const all = await settle(stream({ prompt: "[text] tell me a story" }).then(events));
    const outputs = all.filter((e) => e.event === "output").map((e) => data(e).output);
    const done = data(all.at(-1)!);
    sim.config.runMs = 120;
    expect(done.status).toBe("succeeded");
    // Polling every 100 ms over 300 ms could show at most ~3 states; the stream shows each token.
    expect(outputs.length).toBeGreaterThan(4);
    expect(outputs.at(-1)).toBe((done.output as string[]).join(""));
    expect(sim.count("stream")).toBe(1);
    expect(JSON.stringify(all)).not.toContain(TOKEN);
  });
});

describe("the event stream itself", () => {
  it("sends a comment line on every keep-alive interval", async () => {
    const response = eventStreamResponse(
      (send) => new Promise((resolve) => setTimeout(() => (send("done", {}), resolve()), 60)),
      {
        keepAliveMs: 10,
      },
    );
    const text = await settle(response.text());
    expect(text.match(/^: keep-alive$/gm)?.length).toBeGreaterThanOrEqual(3);
    expect(text.endsWith("event: done\ndata: {}\n\n")).toBe(true);
  });
});
