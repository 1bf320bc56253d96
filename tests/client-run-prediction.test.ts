import { describe, expect, it, vi } from "vitest";
import type { RunEvent } from "@/lib/client/route-types";
import { runPrediction, StreamEndedEarlyError } from "@/lib/client/run-prediction";

function sseResponse(text: string): Response {
  return new Response(text, { status: 200, headers: { "Content-Type": "text/event-stream; charset=utf-8" } });
}

function fakeFetch(response: Response) {
  return vi.fn<typeof fetch>(async () => response);
}

const SUCCEEDED = { id: "p1", status: "succeeded", output: ["https://sim/out.png"], metrics: { predict_time: 1.2 } };

describe("runPrediction", () => {
  it("POSTs the JSON body asking for an event stream", async () => {
    const fetch = fakeFetch(Response.json(SUCCEEDED));
    await runPrediction({ body: { prompt: "a cat", seed: 3 }, fetch, headers: { "X-Api-Key": "k" } });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("/api/ai/replicate");
    expect(init?.method).toBe("POST");
    expect(init?.body).toBe('{"prompt":"a cat","seed":3}');
    expect(init?.headers).toMatchObject({ Accept: "text/event-stream", "Content-Type": "application/json", "X-Api-Key": "k" });
  });

  it("hands each event to onEvent in order and answers the done event's body", async () => {
    const events: RunEvent[] = [];
    const answer = await runPrediction({
      body: { prompt: "a cat" },
      onEvent: (event) => events.push(event),
      fetch: fakeFetch(
        sseResponse(
          'event: status\ndata: {"id":"p1","status":"processing"}\n\n' +
            'event: progress\ndata: {"percentage":40,"current":12,"total":30,"pass":2}\n\n' +
            'event: logs\ndata: "step 12\\n"\n\n' +
            'event: output\ndata: {"output":"Hello wor"}\n\n' +
            'event: mystery\ndata: {}\n\n' +
            `event: done\ndata: ${JSON.stringify(SUCCEEDED)}\n\n`,
        ),
      ),
    });
    expect(events).toEqual([
      { type: "status", id: "p1", status: "processing" },
      { type: "progress", progress: { percentage: 40, current: 12, total: 30, pass: 2 } },
      { type: "logs", text: "step 12\n" },
      { type: "output", output: "Hello wor" },
    ]);
    expect(answer).toEqual({ httpStatus: 200, body: SUCCEEDED, streamed: true });
  });

  it("skips events whose data has the wrong shape", async () => {
    const onEvent = vi.fn();
    await runPrediction({
      body: { prompt: "x" },
      onEvent,
      fetch: fakeFetch(sseResponse('event: progress\ndata: {"percentage":"40"}\n\nevent: logs\ndata: 42\n\nevent: output\ndata: "no wrapper"\n\nevent: done\ndata: {}\n\n')),
    });
    expect(onEvent).not.toHaveBeenCalled();
  });

  it("falls back to the JSON answer when the route does not stream", async () => {
    const problem = { title: "Invalid request", detail: "x", status: 400, invalid_fields: [{ field: "seed", description: "too small" }] };
    const onEvent = vi.fn();
    const answer = await runPrediction({ body: { prompt: "x", seed: -3 }, onEvent, fetch: fakeFetch(Response.json(problem, { status: 400 })) });
    expect(answer).toEqual({ httpStatus: 400, body: problem, streamed: false });
    expect(onEvent).not.toHaveBeenCalled();
  });

  it("keeps a non-JSON answer as text", async () => {
    const answer = await runPrediction({ body: { prompt: "x" }, fetch: fakeFetch(new Response("<html>Bad gateway</html>", { status: 502 })) });
    expect(answer).toEqual({ httpStatus: 502, body: "<html>Bad gateway</html>", streamed: false });
  });

  it("rejects when the stream closes without a done event", async () => {
    const answer = runPrediction({ body: { prompt: "x" }, fetch: fakeFetch(sseResponse('event: status\ndata: {"id":"p","status":"starting"}\n\n')) });
    await expect(answer).rejects.toBeInstanceOf(StreamEndedEarlyError);
  });

  it("passes the abort signal to fetch, so Cancel closes the request", async () => {
    const controller = new AbortController();
    const fetch = fakeFetch(Response.json(SUCCEEDED));
    await runPrediction({ body: { prompt: "x" }, signal: controller.signal, fetch });
    expect(fetch.mock.calls[0][1]?.signal).toBe(controller.signal);
  });
});
