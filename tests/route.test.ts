import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { jsonPost, setEnv, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";
import { advance, advanceUntil, settle, useFakeClock } from "@/tests/support/fake-clock";

const VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa";
const { sim } = useSimulatedReplicate();
useFakeClock();

function post(body: unknown, init: { signal?: AbortSignal; raw?: string } = {}) {
  return POST(jsonPost("http://localhost/api/ai/replicate", body, init));
}

async function answer(responsePromise: Promise<Response>) {
  const response = await settle(responsePromise);
  const text = await response.text();
  expect(text).not.toContain(TOKEN);
  expect(response.headers.get("content-type")).toMatch(/json/);
  return { status: response.status, body: JSON.parse(text) as Record<string, any>, headers: response.headers };
}

const creates = () => sim.requests.filter((r) => r.kind === "create");

describe("a prediction that ends", () => {
  it("answers 200 with the terminal prediction as Replicate sent it", async () => {
    const { status, body } = await answer(post({ prompt: "a lighthouse", seed: 7 }));
    expect(status).toBe(200);
    expect(body.status).toBe("succeeded");
    expect(body.input).toEqual({ prompt: "a lighthouse", seed: 7 });
    expect(body).toEqual(JSON.parse(JSON.stringify(sim.get(body.id)!.toJSON())));
  });

  it("creates on the configured target: official model, version or deployment", async () => {
    await answer(post({ prompt: "p" }));
    setEnv({ REPLICATE_MODEL: "", REPLICATE_MODEL_VERSION: `acme/sdxl:${VERSION}` });
    await answer(post({ prompt: "p" }));
    setEnv({ REPLICATE_MODEL: "", REPLICATE_DEPLOYMENT: "acme/prod" });
    await answer(post({ prompt: "p" }));
    expect(creates().map((r) => r.path)).toEqual([
      "/v1/models/owner/model/predictions",
      "/v1/predictions",
      "/v1/deployments/acme/prod/predictions",
    ]);
    const versioned = [...sim.predictions.values()].map((p) => p.toJSON()).find((p) => p.model === "acme/sdxl");
    expect(versioned?.version).toBe(VERSION);
  });

  it("polls until done and answers 500 with the prediction when it failed", async () => {
    const { status, body } = await answer(post({ prompt: "[fail] a cat" }));
    expect(status).toBe(500);
    expect(body.status).toBe("failed");
    expect(body.error).toBeTruthy();
    expect(sim.requests.filter((r) => r.kind === "get").length).toBeGreaterThan(0);
  });

  it.each(["canceled", "aborted"] as const)("ends the wait on %s and answers 500", async (terminal) => {
    const pending = answer(post({ prompt: "[never] waits" }));
    // Past the hold it waits on the prediction's stream, for its `done`.
    await advanceUntil(() => sim.count("stream") >= 1);
    sim.finish([...sim.predictions.keys()][0], terminal);
    const { status, body } = await pending;
    expect(status).toBe(500);
    expect(body.status).toBe(terminal);
    expect(sim.count("cancel")).toBe(0);
  });

  it("sends Prefer: wait and Cancel-After, so a short prediction ends in one request", async () => {
    setEnv({ REPLICATE_SYNC_WAIT_SECONDS: "60", REPLICATE_TIMEOUT_SECONDS: "20" });
    const { status } = await answer(post({ prompt: "quick" }));
    expect(status).toBe(200);
    expect(sim.requests.map((r) => r.kind)).toEqual(["create"]);
    const headers = creates()[0].headers;
    // The hold ends a second before the cap, so a cancel can still be sent before it.
    expect(headers.prefer).toBe("wait=19");
    expect(headers["cancel-after"]).toBe("25s");
    expect(headers["user-agent"]).toMatch(/replicate-next-route/);
  });
});

describe("the cap (REPLICATE_TIMEOUT_SECONDS)", () => {
  it("cancels the prediction before answering 500 with the cancel's JSON saying it timed out", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "0.3" });
    const started = Date.now();
    const { status, body } = await answer(post({ prompt: "[never] forever" }));
    const elapsed = Date.now() - started;
    expect(status).toBe(500);
    expect(body.status).toBe("canceled");
    expect(body.error).toMatch(/timed out after 0\.3 s/);
    expect(sim.count("cancel")).toBe(1);
    expect(sim.get(body.id)!.status()).toBe("canceled");
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1300);
  });

  it("does not retry a throttled create whose Retry-After would pass the cap: passes the 429 on", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "1" });
    sim.failNext("create", "429", { retryAfterSeconds: 30 });
    const { status, body, headers } = await answer(post({ prompt: "p" }));
    expect(status).toBe(429);
    expect(body.detail).toMatch(/throttled/);
    expect(body.title).toBeTruthy();
    expect(headers.get("retry-after")).toBe("30");
    expect(creates()).toHaveLength(1);
  });
});

describe("the caller going away", () => {
  it("stops polling and cancels the prediction upstream", async () => {
    const controller = new AbortController();
    const pending = post({ prompt: "[never] abandoned" }, { signal: controller.signal });
    await advanceUntil(() => sim.count("get") >= 2);
    controller.abort();
    await settle(pending);
    expect(sim.count("cancel")).toBe(1);
    const gets = sim.count("get");
    await advance(1000); // 200 poll intervals of fake time: any round still scheduled would have run
    expect(sim.count("get")).toBe(gets);
    expect([...sim.predictions.values()][0].status()).toBe("canceled");
  });

  it("lets a create already sent answer, then cancels it", async () => {
    setEnv({ REPLICATE_SYNC_WAIT_SECONDS: "1" });
    sim.config.maxSyncWaitMs = 100;
    const controller = new AbortController();
    const pending = post({ prompt: "[never] gone during create" }, { signal: controller.signal });
    await advanceUntil(() => sim.predictions.size === 1);
    controller.abort();
    await settle(pending);
    expect(sim.count("create")).toBe(1);
    expect(sim.count("cancel")).toBe(1);
    expect([...sim.predictions.values()][0].status()).toBe("canceled");
  });
});

describe("retries", () => {
  it("retries a create after 429 with Retry-After", async () => {
    sim.failNext("create", "429", { retryAfterSeconds: 0.05 });
    const started = Date.now();
    const { status } = await answer(post({ prompt: "p" }));
    expect(status).toBe(200);
    expect(creates().map((r) => r.status)).toEqual([429, 201]);
    expect(creates()[1].at - creates()[0].at).toBeGreaterThanOrEqual(45);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it.each(["500", "503"] as const)(
    "sends exactly one create when it answers %s, passing Replicate's status on",
    async (fault) => {
      sim.failNext("create", fault);
      const { status, body } = await answer(post({ prompt: "p" }));
      expect(status).toBe(Number(fault));
      expect(body).toMatchObject({ title: expect.any(String), detail: expect.any(String), status: Number(fault) });
      expect(creates()).toHaveLength(1);
    },
  );

  it("sends exactly one create when the socket resets, and answers 502", async () => {
    sim.failNext("create", "drop");
    const { status, body } = await answer(post({ prompt: "p" }));
    expect(status).toBe(502);
    expect(body).toMatchObject({ title: expect.any(String), detail: expect.any(String), status: 502 });
    expect(creates()).toHaveLength(1);
  });

  it.each(["503", "drop", "html200", "truncated"] as const)("retries a GET after %s", async (fault) => {
    sim.failNext("get", fault);
    const { status, body } = await answer(post({ prompt: "p" }));
    expect(status).toBe(200);
    expect(body.status).toBe("succeeded");
    const gets = sim.requests.filter((r) => r.kind === "get");
    expect(gets.length).toBeGreaterThanOrEqual(2);
  });

  it("answers 502 when a GET keeps failing, and cancels what it stops waiting for", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "1" });
    sim.failNext("get", "drop", { times: 50 });
    const { status, body } = await answer(post({ prompt: "[never] p" }));
    expect(status).toBe(502);
    expect(body.status).toBe(502);
    expect(sim.count("get")).toBeGreaterThanOrEqual(3);
    expect(sim.count("cancel")).toBe(1);
  });

  it("retries a cancel after 503", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "0.2" });
    sim.failNext("cancel", "503");
    const { body } = await answer(post({ prompt: "[never] p" }));
    expect(body.status).toBe("canceled");
    expect(sim.requests.filter((r) => r.kind === "cancel").map((r) => r.status)).toEqual([503, 200]);
  });
});

describe("errors", () => {
  it("passes Replicate's error body and status on, as the seed did", async () => {
    setEnv({ REPLICATE_API_TOKEN: "r8_wrong" });
    const { status, body } = await answer(post({ prompt: "p" }));
    expect(status).toBe(401);
    expect(body).toEqual({ title: "Unauthenticated", detail: "You did not pass a valid authentication token", status: 401 });
  });

  it("answers 400 naming each bad field, and never calls Replicate", async () => {
    const { status, body } = await answer(post({ prompt: "", seed: -3, colour: "red" }));
    expect(status).toBe(400);
    expect(body).toMatchObject({ title: expect.any(String), detail: expect.any(String), status: 400 });
    expect(body.invalid_fields.map((f: { field: string }) => f.field).sort()).toEqual(["colour", "prompt", "seed"]);
    const notJson = await answer(post(undefined, { raw: "{prompt:" }));
    expect(notJson.status).toBe(400);
    expect(sim.requests).toHaveLength(0);
  });

  it("answers 413 past the body limit", async () => {
    setEnv({ REPLICATE_MAX_BODY_BYTES: "1000" });
    const { status, body } = await answer(post({ prompt: "x".repeat(2000) }));
    expect(status).toBe(413);
    expect(body.status).toBe(413);
    expect(sim.requests).toHaveLength(0);
  });

  it("answers a configuration error as 500 naming the variable", async () => {
    setEnv({ REPLICATE_MODEL: "" });
    const { status, body } = await answer(post({ prompt: "p" }));
    expect(status).toBe(500);
    expect(body.detail).toContain("REPLICATE_MODEL_VERSION");
    expect(sim.requests).toHaveLength(0);
  });

  it("never sends the token anywhere but the Authorization header", async () => {
    sim.failNext("create", "drop");
    await answer(post({ prompt: "p" }));
    await answer(post({ prompt: "[fail] p" }));
    setEnv({ REPLICATE_API_TOKEN: `${TOKEN}x` });
    await answer(post({ prompt: "p" }));
    for (const request of sim.requests) expect(JSON.stringify(request)).not.toContain(TOKEN);
  });
});
