/**
 * A sync request with an `Idempotency-Key` whose connection dropped: a retry with the same key
 * re-attaches to the same prediction (never a 409, then `canceled`); with no retry the prediction
 * is canceled LEAVE_GRACE_MS after the leave. Fake time.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { seedPngDataUrl } from "@/dev/simulator/png-image";
import { settleAfterAnswer } from "@/lib/server/after-answer";
import { LEAVE_GRACE_MS } from "@/lib/server/idempotent-create";
import { advanceUntil, settle, useFakeClock } from "@/tests/support/fake-clock";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 30 });
useFakeClock();

const ROUTE = "http://localhost/api/ai/replicate";
const BODY = { prompt: "[run:6000] a lighthouse" };
const creates = () => sim.requests.filter((request) => request.kind === "create");

function keyed(key: string, signal?: AbortSignal, body: unknown = BODY) {
  return POST(jsonPost(ROUTE, body, { signal, headers: { "idempotency-key": key } }));
}

/** The first request, its client leaving `leaveAtMs` after it was sent. */
async function firstLeavingAt(key: string, leaveAtMs: number, body: unknown = BODY) {
  const client = new AbortController();
  const started = Date.now();
  const first = keyed(key, client.signal, body);
  await advanceUntil(() => Date.now() - started >= leaveAtMs, 60_000);
  client.abort();
  return { first, started };
}

describe("a retry with the same key after a dropped sync connection", () => {
  it("re-attaches when the first request left during its held create: no 409, one create, no cancel", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_SYNC_WAIT_SECONDS: "5" });
    const key = `"${randomUUID()}"`;
    const { first, started } = await firstLeavingAt(key, 1_000);
    await advanceUntil(() => Date.now() - started >= 2_000);
    const retry = await settle(keyed(key), 30_000);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ status: "succeeded", id: [...sim.predictions.keys()][0] });
    await settle(first, 30_000);
    expect(creates()).toHaveLength(1);
    expect(sim.count("cancel")).toBe(0);
  });

  it("re-attaches when the first request left while polling: the prediction is not canceled", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_SYNC_WAIT_SECONDS: "1" });
    const key = `"${randomUUID()}"`;
    const { first, started } = await firstLeavingAt(key, 3_000);
    await advanceUntil(() => Date.now() - started >= 4_000);
    const retry = await settle(keyed(key), 30_000);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ status: "succeeded" });
    await settle(first, 30_000);
    expect(creates()).toHaveLength(1);
    expect(sim.count("cancel")).toBe(0);
  });

  it("re-attaches when the held create answers after the grace from the leave has passed", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_SYNC_WAIT_SECONDS: "20" });
    const key = `"${randomUUID()}"`;
    const { first, started } = await firstLeavingAt(key, 1_000, { prompt: "[run:30000] a lighthouse" });
    await advanceUntil(() => Date.now() - started >= 2_000);
    const retry = await settle(keyed(key, undefined, { prompt: "[run:30000] a lighthouse" }), 90_000);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ status: "succeeded" });
    await settle(first, 30_000);
    expect(creates()).toHaveLength(1);
    expect(sim.count("cancel")).toBe(0);
  });

  it("deletes the uploaded input file once the retry that re-attached sees the prediction end", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_SYNC_WAIT_SECONDS: "1" });
    const key = `"${randomUUID()}"`;
    const body = { ...BODY, image: seedPngDataUrl(7, 300 * 1024) };
    const { first, started } = await firstLeavingAt(key, 3_000, body);
    await advanceUntil(() => Date.now() - started >= 4_000);
    const retry = await settle(keyed(key, undefined, body), 30_000);
    expect(await retry.json()).toMatchObject({ status: "succeeded" });
    await settle(first, 30_000);
    await settle(settleAfterAnswer(), 10_000);
    const files = [...sim.files.files.values()];
    expect(files).toHaveLength(1);
    expect(files[0].deleted).toBe(true);
  });

  it("without a retry, the prediction is canceled once the grace after the leave has passed", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_SYNC_WAIT_SECONDS: "1" });
    const { first, started } = await firstLeavingAt(`"${randomUUID()}"`, 3_000, { prompt: "[never] p" });
    await settle(first, 30_000);
    const cancel = sim.requests.find((request) => request.kind === "cancel")!;
    expect(cancel.at - started).toBeGreaterThanOrEqual(3_000 + LEAVE_GRACE_MS);
    expect(cancel.at - started).toBeLessThanOrEqual(3_000 + LEAVE_GRACE_MS + 1_000);
    expect([...sim.predictions.values()][0].status()).toBe("canceled");
  });

  it("a repeat made while the first request is connected does not keep the prediction alive once both have left", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_SYNC_WAIT_SECONDS: "1" });
    const key = `"${randomUUID()}"`;
    const body = { prompt: "[never] p" };
    const first = new AbortController();
    const second = new AbortController();
    const started = Date.now();
    const answers = [keyed(key, first.signal, body)];
    await advanceUntil(() => Date.now() - started >= 2_000);
    answers.push(keyed(key, second.signal, body));
    await advanceUntil(() => Date.now() - started >= 3_000);
    first.abort();
    second.abort();
    await settle(Promise.all(answers), 30_000);
    await advanceUntil(() => sim.count("cancel") > 0, 30_000).catch(() => undefined);
    expect(creates()).toHaveLength(1);
    expect(sim.count("cancel")).toBeGreaterThanOrEqual(1);
    expect(sim.requests.find((request) => request.kind === "cancel")!.at - started).toBeGreaterThanOrEqual(
      3_000 + LEAVE_GRACE_MS,
    );
  });

  it("a retry that took over after the first request left cancels when it leaves too, after the grace", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_SYNC_WAIT_SECONDS: "1" });
    const key = `"${randomUUID()}"`;
    const body = { prompt: "[never] p" };
    const { first, started } = await firstLeavingAt(key, 2_000, body);
    await advanceUntil(() => Date.now() - started >= 3_000);
    const client = new AbortController();
    const retry = keyed(key, client.signal, body);
    await advanceUntil(() => Date.now() - started >= 10_000, 30_000);
    expect(sim.count("cancel")).toBe(0);
    client.abort();
    await settle(Promise.all([first, retry]), 30_000);
    const cancel = sim.requests.find((request) => request.kind === "cancel")!;
    expect(cancel.at - started).toBeGreaterThanOrEqual(10_000 + LEAVE_GRACE_MS);
    expect([...sim.predictions.values()][0].status()).toBe("canceled");
  });

  it("without a key, leaving still cancels at once", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "60", REPLICATE_SYNC_WAIT_SECONDS: "1" });
    const client = new AbortController();
    const started = Date.now();
    const first = POST(jsonPost(ROUTE, BODY, { signal: client.signal }));
    await advanceUntil(() => Date.now() - started >= 3_000);
    client.abort();
    await settle(first, 30_000);
    expect(sim.requests.find((request) => request.kind === "cancel")!.at - started).toBeLessThanOrEqual(3_000 + 1_000);
  });
});
