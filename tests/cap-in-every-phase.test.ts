/**
 * Leaving costs nothing before the create, and the cap (REPLICATE_TIMEOUT_SECONDS) is the cap in
 * every phase: uploads, slot waits, the held create, its retries, the output copies. Fake time:
 * every wait takes exactly its fake time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { seedPngDataUrl } from "@/dev/simulator/png-image";
import { predictionResponse } from "@/lib/server/replicate/answer";
import { createPrediction } from "@/lib/server/replicate/predictions";
import type { Prediction } from "@/lib/shared/prediction";
import { advanceUntil, settle, useFakeClock } from "@/tests/support/fake-clock";
import { startFilesHost, type FilesHost } from "@/tests/support/output-files-host";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { testConfig } from "@/tests/support/test-engine";

const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 30 });
useFakeClock();

const ROUTE = "http://localhost/api/ai/replicate";
const LARGE = seedPngDataUrl(7, 300 * 1024);
const creates = () => sim.requests.filter((request) => request.kind === "create");
const onlyPrediction = () => {
  const all = [...sim.predictions.values()];
  expect(all).toHaveLength(1);
  return all[0];
};
// Pacing is kept per configuration: a distinct create rate gives a test its own, unpaced.
let rate = 700;
const ownPacing = () => String((rate += 1));

/** Posts, leaving (aborting) once `leaveWhen` holds; resolves to the answer. */
async function leaveWhen(body: unknown, leave: () => boolean, headers: Record<string, string> = {}) {
  const client = new AbortController();
  const answer = POST(jsonPost(ROUTE, body, { signal: client.signal, headers }));
  await advanceUntil(leave, 60_000);
  client.abort();
  return settle(answer, 60_000);
}

describe("leaving costs nothing before the create", () => {
  it("a client gone during a Files API upload gets no create: the upload stops", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60" });
    sim.config.slowMs = 4_000;
    sim.failNext("files", "slow");
    const started = Date.now();
    const response = await leaveWhen({ prompt: "p", image: LARGE }, () => Date.now() - started >= 1_000);
    expect(response.status).toBe(499);
    expect(Date.now() - started).toBeLessThan(1_100);
    await settle(new Promise((resolve) => setTimeout(resolve, 30_000)), 31_000);
    expect(creates()).toHaveLength(0);
    expect(sim.count("cancel")).toBe(0);
  });

  it("a client gone while its create waits out a 429's Retry-After gets no second create", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_CREATES_PER_MINUTE: ownPacing() });
    sim.failNext("create", "429", { retryAfterSeconds: 20 });
    const started = Date.now();
    const response = await leaveWhen({ prompt: "p" }, () => Date.now() - started >= 2_000);
    expect(response.status).toBe(499);
    await settle(new Promise((resolve) => setTimeout(resolve, 30_000)), 31_000);
    expect(creates().map((request) => request.status)).toEqual([429]);
    expect(sim.predictions.size).toBe(0);
  });

  it("a client gone while waiting for its create slot sends none, and its uploaded file is deleted", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_CREATES_PER_MINUTE: ownPacing() });
    // A first request is throttled for 20 s: the account is paced, the next create waits for its slot.
    sim.failNext("create", "429", { retryAfterSeconds: 20 });
    const first = POST(jsonPost(ROUTE, { prompt: "first" }));
    await advanceUntil(() => creates().length === 1);
    const started = Date.now();
    const response = await leaveWhen(
      { prompt: "second", image: LARGE },
      () => sim.files.files.size === 1 && Date.now() - started >= 2_000,
    );
    expect(response.status).toBe(499);
    expect(await settle(first, 60_000)).toMatchObject({ status: 200 });
    // The first's throttled create and its retry: the second sent none.
    expect(creates()).toHaveLength(2);
    await advanceUntil(() => [...sim.files.files.values()][0].deleted);
  });
});

describe("leaving an event stream while its create is on the wire", () => {
  it("is followed by a cancel as soon as the create answers", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60" });
    sim.config.slowMs = 2_000;
    sim.failNext("create", "slow");
    const started = Date.now();
    await leaveWhen({ prompt: "[never] p" }, () => Date.now() - started >= 1_000, { accept: "text/event-stream" });
    await advanceUntil(() => sim.count("cancel") === 1, 10_000);
    expect(Date.now() - started).toBeLessThanOrEqual(2_000 + 1_000);
    expect(onlyPrediction().status()).toBe("canceled");
  });
});

describe("the hold ends early enough to cancel before the cap", () => {
  it.each([
    ["a 60 s hold at a 10 s cap", "10", "60", "wait=9"],
    ["the default hold (5 s) at a 3 s cap", "3", "", "wait=2"],
  ])(
    "%s: the hold ends a second before the cap, and the prediction is canceled at the cap (500, not 504)",
    async (_name, cap, hold, prefer) => {
      setEnv({ REPLICATE_TIMEOUT_SECONDS: cap, REPLICATE_SYNC_WAIT_SECONDS: hold });
      const started = Date.now();
      const response = await settle(POST(jsonPost(ROUTE, { prompt: "[run:30000] p" })), 40_000);
      expect(Date.now() - started).toBeLessThanOrEqual(Number(cap) * 1000 + 1_000);
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({
        status: "canceled",
        error: expect.stringMatching(/timed out after .* and was canceled/),
      });
      expect(creates()[0].headers.prefer).toBe(prefer);
      expect(sim.count("cancel")).toBe(1);
      expect(onlyPrediction().status()).toBe("canceled");
    },
  );

  it("recomputes the hold after a 429's wait: the retried create holds only what is left", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "6", REPLICATE_SYNC_WAIT_SECONDS: "5", REPLICATE_CREATES_PER_MINUTE: ownPacing() });
    sim.failNext("create", "429", { retryAfterSeconds: 3 });
    const response = await settle(POST(jsonPost(ROUTE, { prompt: "[run:30000] p" })), 40_000);
    expect(response.status).toBe(500);
    expect(creates().map((request) => request.headers.prefer)).toEqual(["wait=5", "wait=2"]);
    expect(sim.count("cancel")).toBe(1);
  });
});

describe("no create at or past the deadline, and none outlives the cap by more than 5 s", () => {
  it("sends no create once the deadline has passed, and says nothing was created", async () => {
    const failure = await createPrediction(testConfig(), { prompt: "p" }, { deadline: Date.now() - 1 }).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ status: 504, nothingCreated: true, detail: expect.stringContaining("nothing was created") });
    expect(creates()).toHaveLength(0);
  });

  it("a create sent late carries a Cancel-After that ends at most 5 s past the cap", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "5" });
    sim.config.slowMs = 2_000;
    sim.failNext("files", "slow");
    const response = await settle(POST(jsonPost(ROUTE, { prompt: "p", image: LARGE })), 20_000);
    expect(response.status).toBe(200);
    // Sent 2 s in, 3 s before the cap: 3 + 5 s.
    expect(creates()[0].headers["cancel-after"]).toBe("8s");
  });

  it("a create the cap gave up on (504) is canceled as soon as its answer brings the id", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "3" });
    sim.config.slowMs = 5_000;
    sim.failNext("create", "slow");
    const response = await settle(POST(jsonPost(ROUTE, { prompt: "[never] p" })), 10_000);
    expect(response.status).toBe(504);
    await advanceUntil(() => sim.count("cancel") === 1, 10_000);
    expect(onlyPrediction().status()).toBe("canceled");
    // Had the cancel failed too, Replicate would end it at cap + 5 s.
    expect(creates()[0].headers["cancel-after"]).toBe("8s");
  });
});

describe("uploads and output copies are bounded by the cap", () => {
  it("an upload still running at the cap is given up: 504 at the cap, no create", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "3" });
    sim.config.slowMs = 8_000;
    sim.failNext("files", "slow");
    const started = Date.now();
    const response = await settle(POST(jsonPost(ROUTE, { prompt: "p", image: LARGE })), 20_000);
    expect(Date.now() - started).toBeLessThanOrEqual(3_100);
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ title: "Prediction timed out", detail: expect.stringContaining("`image`") });
    await settle(new Promise((resolve) => setTimeout(resolve, 10_000)), 11_000);
    expect(creates()).toHaveLength(0);
  });

  describe("copies of the outputs", () => {
    let host: FilesHost;
    let dir: string;
    beforeAll(async () => {
      host = await startFilesHost();
      // A file host that never answers.
      host.serve("/hangs.png", () => {});
      dir = mkdtempSync(join(tmpdir(), "cap-copies-"));
    });
    afterAll(async () => {
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    });
    afterEach(() => setEnv({ OUTPUT_STORAGE: "", OUTPUT_STORAGE_DIR: "", OUTPUT_SOURCE_HOSTS: "" }));

    it("never hold the answer past the cap: it says outputs_kept: false and why", async () => {
      setEnv({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: dir, OUTPUT_SOURCE_HOSTS: "127.0.0.1" });
      const prediction = {
        id: "capcopies0001",
        status: "succeeded",
        input: {},
        output: [host.url("/hangs.png")],
        error: null,
        logs: "",
        urls: {},
      } as unknown as Prediction;
      const deadline = Date.now() + 2_000;
      const response = await settle(predictionResponse(testConfig(), prediction, 200, {}, { deadline }), 30_000);
      expect(Date.now()).toBeLessThanOrEqual(deadline + 50);
      expect(await response.json()).toMatchObject({ outputs_kept: false, outputs_kept_error: expect.stringContaining("cap") });
    });
  });
});
