import { describe, expect, it } from "vitest";
import { DELETE } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { parseGuardConfig } from "@/lib/server/config";
import { setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { handleOf, jsonPost, until, useSimulatedReplicate } from "@/tests/support/route-env";
import { testEngine } from "@/tests/support/test-engine";

const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 20 });
useGuardEnv();
const APP = "http://app.test";

function post(prompt: string, init: { signal?: AbortSignal; headers?: Record<string, string>; raw?: string } = {}) {
  return POST(jsonPost(`${APP}/api/ai/replicate`, { prompt }, init));
}

const stream = (prompt: string) => post(prompt, { headers: { accept: "text/event-stream" } });

describe("REPLICATE_MAX_IN_FLIGHT", () => {
  it("defaults to 1000 and refuses nonsense, naming the variable", () => {
    expect(parseGuardConfig({}).maxInFlight).toBe(1000);
    expect(() => parseGuardConfig({ REPLICATE_MAX_IN_FLIGHT: "0" })).toThrow(/REPLICATE_MAX_IN_FLIGHT/);
    expect(() => parseGuardConfig({ REPLICATE_MAX_IN_FLIGHT: "lots" })).toThrow(/REPLICATE_MAX_IN_FLIGHT/);
  });

  it("answers 503 with Retry-After past the cap, before anything reaches Replicate", async () => {
    setGuardEnv({ REPLICATE_MAX_IN_FLIGHT: "2" });
    const callers = [new AbortController(), new AbortController()];
    const running = callers.map((caller, i) => post(`[never] ${i}`, { signal: caller.signal }));
    await until(() => sim.predictions.size === 2);
    expect(testEngine().inFlight.current).toBe(2);

    const refused = await post("one too many");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect(await refused.json()).toMatchObject({
      title: "Server busy",
      status: 503,
      detail: expect.stringContaining("REPLICATE_MAX_IN_FLIGHT"),
    });
    expect(sim.count("create")).toBe(2);

    for (const caller of callers) caller.abort();
    await Promise.all(running);
    expect(testEngine().inFlight.current).toBe(0);
    expect((await post("room again")).status).toBe(200);
  });

  it("frees the slot when the handler fails or refuses the body", async () => {
    setGuardEnv({ REPLICATE_MAX_IN_FLIGHT: "1" });
    expect((await post("", {})).status).toBe(400);
    sim.failNext("create", "drop");
    expect((await post("p")).status).toBe(502);
    expect(testEngine().inFlight.current).toBe(0);
    expect((await post("p")).status).toBe(200);
  });

  it("holds a stream's slot until the stream has been read to its end", async () => {
    setGuardEnv({ REPLICATE_MAX_IN_FLIGHT: "1" });
    const response = await stream("[run:60] streamed");
    expect(response.status).toBe(200);
    expect(testEngine().inFlight.current).toBe(1);
    expect((await post("meanwhile")).status).toBe(503);
    await response.text();
    expect(testEngine().inFlight.current).toBe(0);
  });

  it("frees a stream's slot when the client leaves, and the prediction is canceled", async () => {
    setGuardEnv({ REPLICATE_MAX_IN_FLIGHT: "1" });
    const response = await stream("[never] left behind");
    const reader = response.body!.getReader();
    await reader.read();
    await until(() => sim.predictions.size === 1);
    expect(testEngine().inFlight.current).toBe(1);
    await reader.cancel();
    expect(testEngine().inFlight.current).toBe(0);
    await until(() => sim.count("cancel") === 1);
    expect([...sim.predictions.values()][0].canceledVia).toBe("cancel");
  });

  it("never refuses a cancel: DELETE takes no slot", async () => {
    setGuardEnv({ REPLICATE_MAX_IN_FLIGHT: "1" });
    const caller = new AbortController();
    const running = post("[never] busy", { signal: caller.signal });
    await until(() => sim.predictions.size === 1);
    const id = handleOf([...sim.predictions.keys()][0]);
    const canceled = await DELETE(new Request(`${APP}/api/ai/replicate/${id}`, { method: "DELETE" }), {
      params: Promise.resolve({ id }),
    });
    expect(canceled.status).toBe(200);
    expect((await canceled.json()).status).toBe("canceled");
    caller.abort();
    await running;
  });
});
