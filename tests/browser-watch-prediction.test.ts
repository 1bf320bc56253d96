import { describe, expect, it, vi } from "vitest";
import { watchPrediction } from "@/lib/browser/watch-prediction";
import { startPredictionSession } from "@/lib/browser/prediction-session";
import type { RunEvent } from "@/lib/browser/route-types";
import { seedBody } from "@/tests/support/seed-form";

/** A fake route: each request takes the next answer scripted for its method. */
type Answer = (init: RequestInit) => Response;
function fakeRoute(script: Partial<Record<"GET" | "POST" | "DELETE", Answer[]>>) {
  const calls: { method: string; url: string; init: RequestInit }[] = [];
  const fetch = vi.fn<typeof globalThis.fetch>(async (url, init = {}) => {
    const method = init.method ?? "GET";
    calls.push({ method, url: String(url), init });
    const next = script[method as keyof typeof script]?.shift();
    if (!next) throw new Error(`unexpected ${method} ${String(url)}`);
    return next(init);
  });
  return { fetch, calls, methods: () => calls.map((call) => call.method) };
}

const sse =
  (...events: [string, unknown][]): Answer =>
  () =>
    new Response(events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join(""), {
      headers: { "Content-Type": "text/event-stream" },
    });

/** A stream that sends its events, then stays open until the request is aborted. */
const openStream =
  (...events: [string, unknown][]): Answer =>
  (init) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const [event, data] of events)
            controller.enqueue(new TextEncoder().encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
          init.signal?.addEventListener("abort", () => controller.error(new DOMException("aborted", "AbortError")));
        },
      }),
      { headers: { "Content-Type": "text/event-stream" } },
    );

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Answer =>
  () =>
    Response.json(body, { status, headers });
const networkError: Answer = () => {
  throw new TypeError("Failed to fetch");
};

const prediction = (status: string, fields: Record<string, unknown> = {}) => ({
  id: "p1",
  status,
  output: null,
  logs: "",
  ...fields,
});
const SUCCEEDED = prediction("succeeded", { output: ["https://sim/out.png"] });
const noWait = async (_ms: number) => {};

describe("watchPrediction", () => {
  it("re-attaches when the stream ends at the route's cap with the prediction still running", async () => {
    const route = fakeRoute({
      GET: [
        sse(["status", { id: "p1", status: "processing" }], ["logs", "step 1\n"], ["done", prediction("processing")]),
        sse(["logs", "step 1\nstep 2\n"], ["done", SUCCEEDED]),
      ],
    });
    const events: RunEvent[] = [];
    const answer = await watchPrediction("p1.mac", { fetch: route.fetch, onEvent: (event) => events.push(event), sleep: noWait });
    expect(answer).toMatchObject({ body: SUCCEEDED, streamed: true });
    expect(route.methods()).toEqual(["GET", "GET"]);
    expect(events.map((event) => event.type)).toEqual(["attached", "status", "logs", "attached", "logs"]);
  });

  it("polls the JSON answer at the pace of Retry-After when the route does not stream, with the stream's events", async () => {
    const logs = "Using seed: 1\n 40%|####      | 12/30 [00:01<00:02, 9.1it/s]";
    const route = fakeRoute({
      GET: [
        json(202, prediction("starting"), { "Retry-After": "1" }),
        json(202, prediction("processing", { logs })),
        json(200, SUCCEEDED),
      ],
    });
    const sleep = vi.fn(noWait);
    const events: RunEvent[] = [];
    const answer = await watchPrediction("p1.mac", {
      fetch: route.fetch,
      sleep,
      pollIntervalMs: 700,
      onEvent: (event) => events.push(event),
    });
    expect(answer).toMatchObject({ httpStatus: 200, body: SUCCEEDED, streamed: false });
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([1000, 700]);
    expect(route.calls.map((call) => (call.init.headers as Record<string, string>).Accept)).toEqual([
      "text/event-stream",
      "application/json",
      "application/json",
    ]);
    expect(events).toEqual([
      { type: "attached", handle: "p1.mac" },
      { type: "status", id: "p1", status: "starting" },
      { type: "status", id: "p1", status: "processing" },
      { type: "logs", text: logs },
      { type: "progress", progress: { percentage: 40, current: 12, total: 30, pass: 1 } },
    ]);
  });

  it("retries a lost connection, and gives up after maxRetries failures in a row", async () => {
    // 4 failures, never 3 in a row: an event in between proves the connection worked again.
    const recovered = fakeRoute({
      GET: [
        networkError,
        sse(["status", { id: "p1", status: "processing" }]),
        networkError,
        networkError,
        sse(["done", SUCCEEDED]),
      ],
    });
    expect(await watchPrediction("p1.mac", { fetch: recovered.fetch, sleep: noWait, maxRetries: 3 })).toMatchObject({
      body: SUCCEEDED,
    });

    const lost = fakeRoute({ GET: [networkError, sse(), networkError] });
    await expect(watchPrediction("p1.mac", { fetch: lost.fetch, sleep: noWait, maxRetries: 2 })).rejects.toThrow(
      "Failed to fetch",
    );
    expect(lost.calls).toHaveLength(3);
  });

  it("retries 429 and 5xx problems after their Retry-After, and answers any other problem at once", async () => {
    const busy = { title: "Service unavailable", detail: "busy", status: 503 };
    const unauthorized = { title: "Unauthorized", detail: "key", status: 401 };
    const route = fakeRoute({ GET: [json(503, busy, { "Retry-After": "2" }), sse(["done", busy]), json(401, unauthorized)] });
    const sleep = vi.fn(noWait);
    const answer = await watchPrediction("p1.mac", { fetch: route.fetch, sleep, pollIntervalMs: 10 });
    expect(answer).toMatchObject({ httpStatus: 401, body: unauthorized });
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([2000, 10]);
  });

  it("stops waiting as soon as its signal aborts", async () => {
    const route = fakeRoute({ GET: [json(202, prediction("processing"))] });
    const controller = new AbortController();
    const followed = watchPrediction("p1.mac", { fetch: route.fetch, signal: controller.signal, pollIntervalMs: 60_000 });
    await vi.waitFor(() => expect(route.calls).toHaveLength(1));
    controller.abort();
    await expect(followed).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("startPredictionSession", () => {
  const KEY = { Authorization: "Bearer k-123" };

  it("creates in async mode, names the handle its Location gives, then follows it by handle with the same headers", async () => {
    const route = fakeRoute({
      POST: [json(202, prediction("starting"), { Location: "/api/ai/replicate/p1.mac" })],
      GET: [sse(["done", SUCCEEDED])],
    });
    const onHandle = vi.fn();
    const events: RunEvent[] = [];
    const session = startPredictionSession(
      { kind: "start", body: seedBody({ prompt: "a cat" }) },
      { fetch: route.fetch, headers: KEY, onHandle, onEvent: (event) => events.push(event) },
    );
    expect(await session.ended).toMatchObject({ handle: "p1.mac", canceled: false, answer: { body: SUCCEEDED } });
    expect(onHandle).toHaveBeenCalledWith("p1.mac");
    expect(events.slice(0, 2)).toEqual([
      { type: "status", id: "p1", status: "starting" },
      { type: "attached", handle: "p1.mac" },
    ]);
    expect(route.calls.map((call) => `${call.method} ${call.url}`)).toEqual([
      "POST /api/ai/replicate",
      "GET /api/ai/replicate/p1.mac",
    ]);
    for (const call of route.calls) expect(call.init.headers).toMatchObject(KEY);
  });

  it("ends with the create's answer when the route did not create (a 400, a 401)", async () => {
    const problem = { title: "Invalid request", status: 400, invalid_fields: [{ field: "prompt", description: "required" }] };
    const route = fakeRoute({ POST: [json(400, problem)] });
    const session = startPredictionSession({ kind: "start", body: seedBody({ prompt: "" }) }, { fetch: route.fetch });
    expect(await session.ended).toMatchObject({ handle: null, canceled: false, answer: { httpStatus: 400, body: problem } });
    expect(route.methods()).toEqual(["POST"]);
  });

  it("re-attaches to a prediction by handle without creating one", async () => {
    const route = fakeRoute({ GET: [sse(["done", SUCCEEDED])] });
    const onHandle = vi.fn();
    const session = startPredictionSession({ kind: "attach", handle: "p1.mac" }, { fetch: route.fetch, onHandle });
    expect(await session.ended).toMatchObject({ handle: "p1.mac", answer: { body: SUCCEEDED } });
    expect(route.methods()).toEqual(["GET"]);
    expect(onHandle).toHaveBeenCalledWith("p1.mac");
  });

  it("cancels with a DELETE: the stream is closed first, the answer is the DELETE's", async () => {
    const canceled = prediction("canceled");
    const route = fakeRoute({ GET: [openStream(["status", { id: "p1", status: "processing" }])], DELETE: [json(200, canceled)] });
    const session = startPredictionSession({ kind: "attach", handle: "p1.mac" }, { fetch: route.fetch, headers: KEY });
    await vi.waitFor(() => expect(route.calls).toHaveLength(1));
    session.cancel();
    expect(await session.ended).toMatchObject({ canceled: true, handle: "p1.mac", answer: { body: canceled } });
    expect(route.calls[0].init.signal?.aborted).toBe(true);
    expect(route.calls[1]).toMatchObject({ method: "DELETE", url: "/api/ai/replicate/p1.mac", init: { headers: KEY } });
  });

  it("lets a create already sent answer when Cancel comes first, then deletes what it created", async () => {
    let answerCreate: (response: Response) => void = () => {};
    const created = new Promise<Response>((resolve) => (answerCreate = resolve));
    const calls: string[] = [];
    const fetch = vi.fn<typeof globalThis.fetch>(async (url, init) => {
      calls.push(`${init?.method ?? "GET"} ${String(url)}`);
      if (init?.method === "POST") return created;
      return Response.json(prediction("canceled"));
    });
    const session = startPredictionSession({ kind: "start", body: seedBody({ prompt: "a cat" }) }, { fetch });
    session.cancel();
    answerCreate(Response.json(prediction("starting"), { status: 202, headers: { Location: "/api/ai/replicate/p1.mac" } }));
    expect(await session.ended).toMatchObject({ canceled: true, handle: "p1.mac" });
    expect(calls).toEqual(["POST /api/ai/replicate", "DELETE /api/ai/replicate/p1.mac"]);
  });

  it("stops without canceling when the page goes away, and reports nothing more", async () => {
    const route = fakeRoute({ GET: [openStream(["status", { id: "p1", status: "processing" }])] });
    const onEvent = vi.fn();
    const session = startPredictionSession({ kind: "attach", handle: "p1.mac" }, { fetch: route.fetch, onEvent });
    await vi.waitFor(() => expect(onEvent).toHaveBeenCalledTimes(2));
    session.stop();
    await expect(session.ended).rejects.toMatchObject({ name: "AbortError" });
    expect(route.methods()).toEqual(["GET"]);
  });
});
