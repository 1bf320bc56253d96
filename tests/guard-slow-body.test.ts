import { afterEach, describe, expect, it, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { inFlight } from "@/lib/server/guard/in-flight";
import { bodyBudget } from "@/lib/server/http/body-budget";
import { setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { jsonPost, useSimulatedReplicate } from "@/tests/support/route-env";

/**
 * Slow and heavy bodies: a body that does not arrive in time is answered 408 and frees its slot;
 * the bytes of bodies the process holds at once are capped by REPLICATE_BODY_BUDGET_BYTES (503).
 */
const { sim } = useSimulatedReplicate();
useGuardEnv();
const URL = "http://app.test/api/ai/replicate";

/** A body that sends `first` and then whatever `push` is given, ending only on `end()`. */
function trickle(first: string, headers: Record<string, string> = {}) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(new TextEncoder().encode(first));
    },
  });
  const request = new Request(URL, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    duplex: "half",
  } as RequestInit);
  return {
    request,
    push: (text: string) => controller.enqueue(new TextEncoder().encode(text)),
    end: () => controller.close(),
  };
}

async function expectProblem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/application\/json/);
  const body = await response.json();
  expect(body).toMatchObject({ title: expect.any(String), detail: expect.any(String), status });
  return body as { title: string; detail: string };
}

afterEach(() => {
  vi.useRealTimers();
});

/** Starts a POST whose body sends `first` and waits, on fake timers (only the body's timer is faked). */
function slowPost(first: string) {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  const body = trickle(first);
  return { ...body, answer: POST(body.request) };
}

describe("a body that does not arrive in time", () => {
  it("is answered 408 problem JSON at REPLICATE_BODY_TIMEOUT_SECONDS (30 s by default) and frees its slot", async () => {
    setGuardEnv({ REPLICATE_MAX_IN_FLIGHT: "1" });
    const slow = slowPost('{"prompt": "a ');
    await vi.advanceTimersByTimeAsync(29_000);
    // A byte now and then does not extend the limit: it counts from the start of the body.
    slow.push("s");
    await vi.advanceTimersByTimeAsync(999);
    expect(inFlight.current).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const body = await expectProblem(await slow.answer, 408);
    expect(body.detail).toMatch(/30 s \(REPLICATE_BODY_TIMEOUT_SECONDS\)/);
    expect(inFlight.current).toBe(0);
    expect(bodyBudget.current).toBe(0);
    expect(sim.requests).toHaveLength(0);
    vi.useRealTimers();
    expect((await POST(jsonPost(URL, { prompt: "next" }))).status).toBe(200);
  });

  it("takes its limit from REPLICATE_BODY_TIMEOUT_SECONDS, and a body on time is read whole", async () => {
    setGuardEnv({ REPLICATE_BODY_TIMEOUT_SECONDS: "5" });
    const onTime = slowPost('{"prompt": ');
    await vi.advanceTimersByTimeAsync(4_000);
    onTime.push('"on time"}');
    onTime.end();
    vi.useRealTimers();
    expect((await onTime.answer).status).toBe(200);

    const late = slowPost('{"prompt": ');
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await expectProblem(await late.answer, 408)).detail).toMatch(/within 5 s/);
  });
});

describe("the process's budget of body bytes (REPLICATE_BODY_BUDGET_BYTES)", () => {
  const MiB = 1024 * 1024;

  it("counts a declared body as its bytes arrive: connections that declare much and send little hold only what they sent", async () => {
    setGuardEnv({ REPLICATE_BODY_BUDGET_BYTES: String(MiB) });
    const declared = { "content-length": String(600 * 1024) };
    const idle = [0, 1, 2].map(() => trickle('{"prompt": "', declared));
    const holding = idle.map((body) => POST(body.request));
    await vi.waitFor(() => expect(bodyBudget.current).toBe(3 * 12));

    expect((await POST(jsonPost(URL, { prompt: "real" }))).status).toBe(200);
    expect(bodyBudget.current).toBe(3 * 12);

    idle[0].push("x".repeat(600 * 1024 - 14) + '"}');
    idle[0].end();
    expect((await holding[0]).status).toBe(200);
    idle[1].push("x".repeat(600 * 1024 - 14));
    await vi.waitFor(() => expect(bodyBudget.current).toBe(600 * 1024 - 2 + 12));
    // Sent, the third body's bytes no longer fit beside the second's: 503 + Retry-After.
    idle[2].push("x".repeat(600 * 1024 - 14));
    const refused = await holding[2];
    expect(refused.headers.get("retry-after")).toBe("2");
    expect((await expectProblem(refused, 503)).detail).toContain("REPLICATE_BODY_BUDGET_BYTES");
    idle[1].push('"}');
    idle[1].end();
    expect((await holding[1]).status).toBe(200);
    expect(bodyBudget.current).toBe(0);
    expect(sim.count("create")).toBe(3);
  });

  it("counts an undeclared body as it arrives and stops reading at the budget", async () => {
    setGuardEnv({ REPLICATE_BODY_BUDGET_BYTES: String(MiB) });
    const big = trickle('{"prompt": "');
    const answer = POST(big.request);
    for (let i = 0; i < 5; i++) big.push("x".repeat(256 * 1024));
    const refused = await answer;
    expect(refused.headers.get("retry-after")).toBe("2");
    await expectProblem(refused, 503);
    expect(bodyBudget.current).toBe(0);
    expect(inFlight.current).toBe(0);
    expect(sim.requests).toHaveLength(0);
  });
});
