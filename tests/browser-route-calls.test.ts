import { describe, expect, it, vi } from "vitest";
import { StreamEndedEarlyError } from "@/lib/browser/route-answer";
import { DOUBLE_START_MS, idempotencyKeyOf } from "@/lib/browser/prediction-session";
import { postRun, deleteRun, getRun } from "@/lib/browser/route-calls";
import type { RunEvent } from "@/lib/browser/route-types";
import { seedBody } from "@/tests/support/seed-form";

function sseResponse(text: string): Response {
  return new Response(text, { status: 200, headers: { "Content-Type": "text/event-stream; charset=utf-8" } });
}

function fakeFetch(response: Response) {
  return vi.fn<typeof fetch>(async () => response);
}

const RUNNING = { id: "p1", status: "starting", output: null };
const SUCCEEDED = { id: "p1", status: "succeeded", output: ["https://sim/out.png"], metrics: { predict_time: 1.2 } };
const KEY = { Authorization: "Bearer k-123" };

describe("postRun", () => {
  it("POSTs the JSON body in async mode, with the extra headers", async () => {
    const fetch = fakeFetch(Response.json(RUNNING, { status: 202, headers: { Location: "/api/ai/replicate/p1" } }));
    const answer = await postRun(seedBody({ prompt: "a cat", seed: 3 }), { fetch, headers: KEY });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("/api/ai/replicate");
    expect(init?.method).toBe("POST");
    expect(init?.body).toBe('{"prompt":"a cat","seed":3}');
    expect(init?.headers).toMatchObject({ Prefer: "respond-async", "Content-Type": "application/json", ...KEY });
    expect(answer).toMatchObject({ httpStatus: 202, body: RUNNING, streamed: false });
  });

  it("answers a validation error as it came, and keeps a non-JSON answer as text", async () => {
    const problem = {
      title: "Invalid request",
      detail: "x",
      status: 400,
      invalid_fields: [{ field: "seed", description: "too small" }],
    };
    expect(
      await postRun(seedBody({ prompt: "x", seed: -3 }), { fetch: fakeFetch(Response.json(problem, { status: 400 })) }),
    ).toMatchObject({
      httpStatus: 400,
      body: problem,
    });
    expect(
      await postRun(seedBody({ prompt: "x" }), { fetch: fakeFetch(new Response("<html>Bad gateway</html>", { status: 502 })) }),
    ).toMatchObject({
      httpStatus: 502,
      body: "<html>Bad gateway</html>",
    });
  });

  it("passes the abort signal to fetch", async () => {
    const controller = new AbortController();
    const fetch = fakeFetch(Response.json(RUNNING, { status: 202 }));
    await postRun(seedBody({ prompt: "x" }), { signal: controller.signal, fetch });
    expect(fetch.mock.calls[0][1]?.signal).toBe(controller.signal);
  });
});

describe("postRun with an idempotency key", () => {
  it("sends it as a quoted Idempotency-Key", async () => {
    const fetch = fakeFetch(Response.json(RUNNING, { status: 202, headers: { Location: "/api/ai/replicate/p1" } }));
    await postRun(seedBody({ prompt: "a cat" }), { fetch, idempotencyKey: "k-1" });
    expect(fetch.mock.calls[0][1]?.headers).toMatchObject({ "Idempotency-Key": '"k-1"' });
  });

  it("asks again after Retry-After while the first request with the key is still creating", async () => {
    vi.useFakeTimers();
    try {
      const answers = [
        Response.json(
          { title: "Request in progress", detail: "x", status: 409 },
          { status: 409, headers: { "Retry-After": "1" } },
        ),
        Response.json(RUNNING, { status: 202, headers: { Location: "/api/ai/replicate/p1" } }),
      ];
      const fetch = vi.fn<typeof globalThis.fetch>(async () => answers.shift()!);
      const answer = postRun(seedBody({ prompt: "a cat" }), { fetch, idempotencyKey: "k-1" });
      await vi.advanceTimersByTimeAsync(999);
      expect(fetch).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(await answer).toMatchObject({ httpStatus: 202, body: RUNNING });
      expect(fetch).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("shows a 409 as it came without a key (nothing to wait for)", async () => {
    const fetch = fakeFetch(
      Response.json({ title: "Conflict", detail: "x", status: 409 }, { status: 409, headers: { "Retry-After": "1" } }),
    );
    expect(await postRun(seedBody({ prompt: "a cat" }), { fetch })).toMatchObject({ httpStatus: 409 });
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});

describe("idempotencyKeyOf", () => {
  it("gives a plan run again (the retry after the access key) the same key", () => {
    const plan = { kind: "start" as const, body: seedBody({ prompt: "p" }) };
    expect(idempotencyKeyOf(plan, 0)).toBe(idempotencyKeyOf(plan, 60_000));
  });

  it("gives a double click (the same body, within a second) one key, and a later start of it a new one", () => {
    const body = seedBody({ prompt: "double" });
    const first = idempotencyKeyOf({ kind: "start", body }, 100_000);
    expect(idempotencyKeyOf({ kind: "start", body: { ...body } }, 100_000 + DOUBLE_START_MS - 1)).toBe(first);
    expect(idempotencyKeyOf({ kind: "start", body }, 100_000 + 3 * DOUBLE_START_MS)).not.toBe(first);
    expect(idempotencyKeyOf({ kind: "start", body: seedBody({ prompt: "other" }) }, 100_000 + 3 * DOUBLE_START_MS + 1)).not.toBe(
      first,
    );
  });
});

describe("getRun", () => {
  it("asks for the stream of /api/ai/replicate/{handle}, reports attached, then each event, and answers the done event", async () => {
    const events: RunEvent[] = [];
    const fetch = fakeFetch(
      sseResponse(
        ": stream open\n\n" +
          'event: status\ndata: {"id":"p1","status":"processing"}\n\n' +
          'event: progress\ndata: {"percentage":40,"current":12,"total":30,"pass":2}\n\n' +
          'event: logs\ndata: "step 12\\n"\n\n' +
          'event: output\ndata: {"output":"Hello wor"}\n\n' +
          "event: mystery\ndata: {}\n\n" +
          `event: done\ndata: ${JSON.stringify(SUCCEEDED)}\n\n`,
      ),
    );
    const answer = await getRun("p1", { stream: true, fetch, headers: KEY, onEvent: (event) => events.push(event) });
    expect(fetch.mock.calls[0][0]).toBe("/api/ai/replicate/p1");
    expect(fetch.mock.calls[0][1]?.headers).toMatchObject({ Accept: "text/event-stream", ...KEY });
    expect(events).toEqual([
      { type: "attached", handle: "p1" },
      { type: "status", id: "p1", status: "processing" },
      { type: "progress", progress: { percentage: 40, current: 12, total: 30, pass: 2 } },
      { type: "logs", text: "step 12\n" },
      { type: "output", output: "Hello wor" },
    ]);
    expect(answer).toMatchObject({ httpStatus: 200, body: SUCCEEDED, streamed: true });
  });

  it("skips events whose data has the wrong shape", async () => {
    const onEvent = vi.fn();
    await getRun("p1", {
      stream: true,
      onEvent,
      fetch: fakeFetch(
        sseResponse(
          'event: progress\ndata: {"percentage":"40"}\n\nevent: logs\ndata: 42\n\nevent: output\ndata: "no wrapper"\n\nevent: done\ndata: {}\n\n',
        ),
      ),
    });
    expect(onEvent.mock.calls).toEqual([[{ type: "attached", handle: "p1" }]]);
  });

  it("answers JSON (no attached event) when the route does not stream", async () => {
    const onEvent = vi.fn();
    const answer = await getRun("p1", {
      stream: true,
      onEvent,
      fetch: fakeFetch(Response.json(RUNNING, { status: 202, headers: { "Retry-After": "1" } })),
    });
    expect(answer).toMatchObject({ httpStatus: 202, body: RUNNING, streamed: false });
    expect(answer.headers?.get("retry-after")).toBe("1");
    expect(onEvent).not.toHaveBeenCalled();
  });

  it("asks for JSON when not streaming", async () => {
    const fetch = fakeFetch(Response.json(SUCCEEDED));
    await getRun("p1", { stream: false, fetch });
    expect(fetch.mock.calls[0][1]?.headers).toMatchObject({ Accept: "application/json" });
  });

  it("escapes the id into one path segment", async () => {
    const fetch = fakeFetch(Response.json(SUCCEEDED));
    await getRun("../x?y", { stream: false, fetch });
    expect(fetch.mock.calls[0][0]).toBe("/api/ai/replicate/..%2Fx%3Fy");
  });

  it("rejects when the stream closes without a done event", async () => {
    const answer = getRun("p1", {
      stream: true,
      fetch: fakeFetch(sseResponse('event: status\ndata: {"id":"p1","status":"starting"}\n\n')),
    });
    await expect(answer).rejects.toBeInstanceOf(StreamEndedEarlyError);
  });
});

describe("deleteRun", () => {
  it("sends DELETE to /api/ai/replicate/{id} with the extra headers and answers the prediction", async () => {
    const canceled = { id: "p1", status: "canceled" };
    const fetch = fakeFetch(Response.json(canceled));
    const answer = await deleteRun("p1", { fetch, headers: KEY });
    expect(fetch.mock.calls[0][0]).toBe("/api/ai/replicate/p1");
    expect(fetch.mock.calls[0][1]).toMatchObject({ method: "DELETE", headers: KEY });
    expect(answer).toMatchObject({ httpStatus: 200, body: canceled });
  });
});
