import { afterEach, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

/** A client that leaves, or a cap that is reached, never leaves a prediction running unbounded. */
const { sim, server } = useSimulatedReplicate();
const APP = "http://app.test";

afterEach(() => server.events.removeAllListeners());

/** Aborts `controller` the moment the route's create reaches Replicate: the client leaves mid-create. */
function leaveWhenCreateIsSent(controller: AbortController) {
  server.events.on("request:start", ({ request }) => {
    if (request.method === "POST" && /\/predictions$/.test(new URL(request.url).pathname)) controller.abort();
  });
}

describe("a client that leaves during the create", () => {
  it("is followed by a cancel once the held create answers, and the default hold is short (5 s), well inside 10 s", async () => {
    setEnv({ REPLICATE_SYNC_WAIT_SECONDS: "", REPLICATE_TIMEOUT_SECONDS: "60" });
    sim.config.maxSyncWaitMs = 50;
    const controller = new AbortController();
    leaveWhenCreateIsSent(controller);
    await POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "[never] left mid-create" }, { signal: controller.signal }));
    const create = sim.requests.find((r) => r.kind === "create")!;
    expect(create.headers.prefer).toBe("wait=5");
    expect(sim.count("cancel")).toBe(1);
    expect([...sim.predictions.values()][0].status()).toBe("canceled");
  });
});

describe("async mode", () => {
  it("cancels at once a prediction whose client left before the 202", async () => {
    const controller = new AbortController();
    leaveWhenCreateIsSent(controller);
    await POST(
      jsonPost(
        `${APP}/api/ai/replicate`,
        { prompt: "[never] orphan" },
        { signal: controller.signal, headers: { prefer: "respond-async" } },
      ),
    );
    expect(sim.count("create")).toBe(1);
    expect(sim.count("cancel")).toBe(1);
    expect([...sim.predictions.values()][0].status()).toBe("canceled");
  });

  it("sends Cancel-After from REPLICATE_ASYNC_TIMEOUT_SECONDS (default 1800), so nothing runs unbounded", async () => {
    const start = () => POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "p" }, { headers: { prefer: "respond-async" } }));
    expect((await start()).status).toBe(202);
    setEnv({ REPLICATE_ASYNC_TIMEOUT_SECONDS: "600" });
    expect((await start()).status).toBe(202);
    expect(sim.requests.filter((r) => r.kind === "create").map((r) => r.headers["cancel-after"])).toEqual(["1800s", "600s"]);
    expect(sim.count("cancel")).toBe(0);
  });
});

describe("the cap, when the cancel fails", () => {
  it("does not claim the prediction was canceled", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "0.2" });
    sim.failNext("cancel", "drop", { times: 50 });
    const response = await POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "[never] stuck" }));
    const body = await response.json();
    expect(response.status).toBe(500);
    expect(body.status).not.toBe("canceled");
    expect(body.error).toMatch(/timed out after 0\.2 s; canceling it failed/);
    expect(body.error).not.toMatch(/was canceled/);
  });
});
