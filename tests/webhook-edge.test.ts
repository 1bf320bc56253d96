import { createHmac, randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { POST as run } from "@/app/api/ai/replicate/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { GET as outputFile } from "@/app/api/ai/replicate/outputs/[token]/route";
import { ROUTE_KEY, setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { deliveredStore, testEngine } from "@/tests/support/test-engine";

/**
 * The webhook route is open to anyone (its signature is its check), so what it costs an
 * unauthenticated sender is bounded: headers checked before the body is read, a body limit of
 * its own, a cap on deliveries read at once, and the process's in-flight cap.
 */
useSimulatedReplicate();
useGuardEnv();
const SECRET_BYTES = randomBytes(24);
const SECRET = `whsec_${SECRET_BYTES.toString("base64")}`;
const URL = "http://app.test/api/ai/replicate/webhook";

function sign(id: string, timestamp: string, body: string): string {
  return `v1,${createHmac("sha256", SECRET_BYTES).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

function now(): string {
  return String(Math.floor(Date.now() / 1000));
}

/** A delivery whose body is a stream: `pulls` counts how often the route asked it for bytes. */
function delivery(headers: Record<string, string | undefined>, body = "{}") {
  const state = { pulls: 0, finish: () => {} };
  const bytes = new TextEncoder().encode(body);
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        state.pulls += 1;
        if (state.pulls === 1) controller.enqueue(bytes);
        else return new Promise<void>((resolve) => (state.finish = () => (controller.close(), resolve())));
      },
    },
    { highWaterMark: 0 },
  );
  const present = Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const request = new Request(URL, {
    method: "POST",
    headers: { "content-type": "application/json", ...present },
    body: stream,
    duplex: "half",
  } as RequestInit);
  return { request, state };
}

function signedHeaders(body: string, id = `msg_${randomBytes(6).toString("hex")}`, timestamp = now()) {
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": sign(id, timestamp, body) };
}

function prediction(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    status: "succeeded",
    model: "owner/model",
    version: "v",
    input: {},
    output: null,
    error: null,
    logs: "",
    urls: {},
    ...extra,
  };
}

beforeEach(() => {
  setEnv({ REPLICATE_WEBHOOK_SECRET: SECRET });
  setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
  deliveredStore().clear();
});

describe("webhook headers are checked before the body is read", () => {
  // Built when each test runs, not when the file is collected: on a busy machine seconds may pass
  // in between, and a timestamp "301 s ahead" must still be that far ahead when it is checked.
  const good = () => signedHeaders("{}");
  const secondsFromNow = (seconds: number) => String(Math.floor(Date.now() / 1000) + seconds);
  it.each([
    ["no webhook-id", () => ({ ...good(), "webhook-id": undefined })],
    ["no webhook-timestamp", () => ({ ...good(), "webhook-timestamp": undefined })],
    ["no webhook-signature", () => ({ ...good(), "webhook-signature": undefined })],
    ["a webhook-id of 1000 characters", () => ({ ...good(), "webhook-id": "m".repeat(1000) })],
    ["a timestamp that is not a number", () => ({ ...good(), "webhook-timestamp": "yesterday" })],
    ["a timestamp more than 5 minutes old", () => ({ ...good(), "webhook-timestamp": secondsFromNow(-360) })],
    ["a timestamp more than 5 minutes ahead", () => ({ ...good(), "webhook-timestamp": secondsFromNow(360) })],
    ["a signature header without a v1 entry", () => ({ ...good(), "webhook-signature": "v2,abc" })],
    ["a signature entry that is not base64", () => ({ ...good(), "webhook-signature": "v1,***" })],
  ])("refuses %s with 401 problem JSON without reading a byte", async (_case, headers) => {
    const { request, state } = delivery(headers());
    const response = await webhook(request);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ title: "Invalid webhook signature", status: 401 });
    expect(state.pulls).toBe(0);
    expect(testEngine().bodyBudget.current).toBe(0);
  });
});

describe("the webhook body limit (REPLICATE_WEBHOOK_MAX_BODY_BYTES)", () => {
  it("accepts a prediction whose outputs are data URLs of hundreds of KB each, up to 4 MiB by default", async () => {
    const dataUrl = `data:image/png;base64,${"A".repeat(700 * 1024)}`;
    const body = JSON.stringify(prediction("whbig1", { output: [dataUrl, dataUrl, dataUrl, dataUrl] }));
    expect(body.length).toBeGreaterThan(2.5 * 1024 * 1024);
    const response = await webhook(new Request(URL, { method: "POST", headers: signedHeaders(body), body }));
    expect(response.status).toBe(200);
  });

  it("answers 413 naming the variable past the limit, announced or not", async () => {
    setEnv({ REPLICATE_WEBHOOK_SECRET: SECRET, REPLICATE_WEBHOOK_MAX_BODY_BYTES: "2048" });
    const body = JSON.stringify(prediction("whbig2", { logs: "x".repeat(4000) }));
    const announced = await webhook(
      new Request(URL, { method: "POST", headers: { ...signedHeaders(body), "content-length": String(body.length) }, body }),
    );
    expect(announced.status).toBe(413);
    expect((await announced.json()).detail).toContain("REPLICATE_WEBHOOK_MAX_BODY_BYTES");
    const streamed = delivery(signedHeaders(body), body);
    expect((await webhook(streamed.request)).status).toBe(413);
  });
});

describe("webhooks read at once", () => {
  it("are capped by REPLICATE_WEBHOOK_MAX_IN_FLIGHT: 503 problem JSON + Retry-After beyond it, slots freed when they end", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY, REPLICATE_WEBHOOK_MAX_IN_FLIGHT: "2" });
    const slow = [0, 1].map((i) => {
      const body = JSON.stringify(prediction(`whslow${i}`));
      return delivery(signedHeaders(body), body);
    });
    const answers = slow.map(({ request }) => webhook(request));
    await expect.poll(() => testEngine().webhooksInFlight.current).toBe(2);
    const refused = await webhook(delivery(signedHeaders("{}")).request);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect((await refused.json()).detail).toContain("REPLICATE_WEBHOOK_MAX_IN_FLIGHT");
    for (const { state } of slow) state.finish();
    expect((await Promise.all(answers)).map((response) => response.status)).toEqual([200, 200]);
    expect(testEngine().webhooksInFlight.current).toBe(0);
    expect(testEngine().inFlight.current).toBe(0);
  });

  it("count against the process's in-flight cap (REPLICATE_MAX_IN_FLIGHT) too", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY, REPLICATE_MAX_IN_FLIGHT: "1" });
    const body = JSON.stringify(prediction("whslow9"));
    const slow = delivery(signedHeaders(body), body);
    const answer = webhook(slow.request);
    await expect.poll(() => testEngine().inFlight.current).toBe(1);
    const busy = await run(
      jsonPost("http://app.test/api/ai/replicate", { prompt: "p" }, { headers: { authorization: `Bearer ${ROUTE_KEY}` } }),
    );
    expect(busy.status).toBe(503);
    expect((await webhook(delivery(signedHeaders("{}")).request)).status).toBe(503);
    slow.state.finish();
    expect((await answer).status).toBe(200);
    expect(testEngine().inFlight.current).toBe(0);
  });
});

describe("webhook slots against junk", () => {
  afterEach(() => vi.useRealTimers());
  const junkHeaders = () => ({
    "webhook-id": `msg_${randomBytes(6).toString("hex")}`,
    "webhook-timestamp": now(),
    "webhook-signature": `v1,${randomBytes(32).toString("base64")}`,
  });
  const whole = (body: string) =>
    new Request(URL, { method: "POST", headers: { "content-type": "application/json", ...signedHeaders(body) }, body });

  it("a body still arriving after 1 s gives its slot up (408) to a delivery that needs one", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY, REPLICATE_WEBHOOK_MAX_IN_FLIGHT: "2" });
    vi.useFakeTimers({ toFake: ["Date"] });
    // Well-formed headers, a junk signature and one byte of body, then nothing.
    const junk = [0, 1].map(() => delivery(junkHeaders(), "{"));
    const junkAnswers = junk.map(({ request }) => webhook(request));
    await expect.poll(() => testEngine().webhooksInFlight.current).toBe(2);
    const early = JSON.stringify(prediction("whearly"));
    expect((await webhook(whole(early))).status).toBe(503);

    vi.advanceTimersByTime(1000);
    const real = JSON.stringify(prediction("whreal"));
    expect((await webhook(whole(real))).status).toBe(200);
    expect(deliveredStore().freshTerminal("whreal")).toBeDefined();
    const evicted = await junkAnswers[0];
    expect(evicted.status).toBe(408);
    expect(await evicted.json()).toMatchObject({ status: 408, title: "Request timeout" });
    junk[1].state.finish();
    expect((await junkAnswers[1]).status).toBe(401);
    expect(testEngine().webhooksInFlight.current).toBe(0);
    expect(testEngine().inFlight.current).toBe(0);
  });

  it("a delivery whose body has arrived keeps its slot however long it is handled", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY, REPLICATE_WEBHOOK_MAX_IN_FLIGHT: "1" });
    vi.useFakeTimers({ toFake: ["Date"] });
    const body = JSON.stringify(prediction("whslowread"));
    const slow = delivery(signedHeaders(body), body);
    const answer = webhook(slow.request);
    await expect.poll(() => testEngine().webhooksInFlight.current).toBe(1);
    // Its body is whole once the stream ends (the route is reading it: its second pull waits); the
    // route then verifies and handles it.
    await expect.poll(() => slow.state.pulls).toBe(2);
    slow.state.finish();
    expect((await answer).status).toBe(200);
    vi.advanceTimersByTime(5000);
    expect(testEngine().webhooksInFlight.current).toBe(0);
  });
});

describe("the output-file route", () => {
  it("never takes a webhook slot: with every one held, its answers are its own", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY, REPLICATE_WEBHOOK_MAX_IN_FLIGHT: "1" });
    setEnv({ REPLICATE_WEBHOOK_SECRET: SECRET, OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: "/tmp/never-written-i20b" });
    const held = delivery(signedHeaders("{}"), "{");
    const answer = webhook(held.request);
    await expect.poll(() => testEngine().webhooksInFlight.current).toBe(1);
    const token = "not-a-token-this-app-issued";
    const file = await outputFile(new Request(`http://app.test/api/ai/replicate/outputs/${token}`), {
      params: Promise.resolve({ token }),
    });
    expect(file.status).toBe(404);
    expect(testEngine().webhooksInFlight.current).toBe(1);
    held.state.finish();
    await answer;
  });
});
