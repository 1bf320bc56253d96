/**
 * OpenTelemetry (lib/server/telemetry.ts) with an in-memory exporter: each run is one request span
 * whose children are its phases, with the prediction's attributes and the request's counts, never
 * the token, the input or the output; the metrics count outcomes and upstream calls; the request's
 * log line carries the spans' trace id.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { context, metrics, trace, type Attributes } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { MetricReader, MeterProvider, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { keepOutputs } from "@/lib/server/storage/keep-outputs";
import { createOutputStorage, parseStorageConfig } from "@/lib/server/storage/storage-config";
import { endpointOf } from "@/lib/server/telemetry";
import { advanceUntil, settle, useFakeClock } from "@/tests/support/fake-clock";
import { BASE, jsonPost, setEnv, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";

class TestReader extends MetricReader {
  protected async onShutdown() {}
  protected async onForceFlush() {}
}

const exporter = new InMemorySpanExporter();
const reader = new TestReader();
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
});
afterAll(() => {
  trace.disable();
  metrics.disable();
  context.disable();
});

const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 40 });
useFakeClock();
const URL_ = "http://app.test/api/ai/replicate";
const PROMPT = "a secret prompt 7c1e";
let logLines: string[];

beforeEach(() => {
  exporter.reset();
  logLines = [];
  vi.spyOn(console, "log").mockImplementation((line: string) => void logLines.push(line));
  return () => vi.restoreAllMocks();
});

const post = (headers: Record<string, string> = {}, signal?: AbortSignal, prompt = PROMPT) =>
  POST(jsonPost(URL_, { prompt, seed: 1 }, { headers, signal }));

function spans(): ReadableSpan[] {
  return exporter.getFinishedSpans();
}
function requestSpan(): ReadableSpan {
  const found = spans().filter(
    (span) => span.name === "replicate.request" && span.attributes["replicate.route"] === "POST /api/ai/replicate",
  );
  expect(found).toHaveLength(1);
  return found[0];
}
function children(parent: ReadableSpan, name?: string): ReadableSpan[] {
  return spans().filter(
    (span) => span.parentSpanContext?.spanId === parent.spanContext().spanId && (name === undefined || span.name === name),
  );
}
function requestLine(): Record<string, unknown> {
  const lines = logLines.filter((line) => line.includes('"event":"request"')).map((line) => JSON.parse(line));
  expect(lines).toHaveLength(1);
  return lines[0];
}
/** No attribute of any span holds the token, the prompt or an output file. */
function expectNothingSecret(): void {
  const values = JSON.stringify(spans().map((span) => span.attributes));
  expect(values).not.toContain(TOKEN);
  expect(values).not.toContain(PROMPT);
  expect(values).not.toContain("data:image");
}
async function metric(name: string): Promise<{ attributes: Attributes; value: unknown }[]> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  const found = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
  return (found?.dataPoints ?? []).map((point) => ({ attributes: point.attributes, value: point.value }));
}
async function counted(name: string, attributes: Attributes): Promise<number> {
  const points = await metric(name);
  return points
    .filter((point) => Object.entries(attributes).every(([k, v]) => point.attributes[k] === v))
    .reduce((sum, point) => sum + Number(point.value), 0);
}

describe("a JSON run", () => {
  it("is one request span with guard, body, upload, create and wait children, the prediction's attributes and counts", async () => {
    const response = await settle(post());
    const body = await response.json();
    expect(response.status).toBe(200);
    const root = requestSpan();
    for (const phase of ["replicate.guard", "replicate.body", "replicate.upload", "replicate.create"])
      expect(children(root, phase)).toHaveLength(1);
    const waits = children(root, "replicate.wait");
    expect(waits.length).toBeGreaterThanOrEqual(1);
    // The simulated model's predictions have a stream: a JSON wait learns the end from it.
    expect(waits.map((wait) => wait.attributes["replicate.wait.via"])).toEqual(waits.map(() => "stream"));
    expect(children(root, "replicate.create")[0].attributes).toMatchObject({
      "replicate.prediction.id": body.id,
      "replicate.create.hold_s": 0,
    });
    expect(root.attributes).toMatchObject({
      "replicate.prediction.id": body.id,
      "replicate.prediction.status": "succeeded",
      "replicate.model": "owner/model",
      "replicate.outcome": "terminal",
      "replicate.upstream.calls": sim.requests.length,
      "replicate.upstream.retries": 0,
      "replicate.upstream.throttled": 0,
      "http.response.status_code": 200,
    });
    expect(root.attributes["replicate.predict_time_s"]).toEqual(expect.any(Number));
    expect(root.attributes["replicate.bound"]).toBeUndefined();
    // No output storage configured: nothing to keep, no span for it.
    expect(spans().filter((span) => span.name === "replicate.outputs.keep")).toEqual([]);
    expect(spans().every((span) => span.spanContext().traceId === root.spanContext().traceId)).toBe(true);
    expectNothingSecret();
  });

  it("the log line's trace_id is the exported spans' (32 hex)", async () => {
    await settle(post());
    const line = requestLine();
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(line.trace_id).toBe(requestSpan().spanContext().traceId);
  });

  it("counts 429s on the request and by endpoint, and predictions by outcome", async () => {
    const before = await counted("replicate.upstream.throttled", { endpoint: "POST /models/{owner}/{name}/predictions" });
    const succeeded = await counted("replicate.predictions", { outcome: "succeeded" });
    sim.failNext("create", "429", { retryAfterSeconds: 1 });
    await settle(post());
    expect(requestSpan().attributes).toMatchObject({ "replicate.upstream.throttled": 1, "replicate.upstream.retries": 1 });
    expect(requestLine()).toMatchObject({ throttled: 1 });
    expect(await counted("replicate.upstream.throttled", { endpoint: "POST /models/{owner}/{name}/predictions" })).toBe(
      before + 1,
    );
    expect(await counted("replicate.predictions", { outcome: "succeeded" })).toBe(succeeded + 1);
    expect(await counted("replicate.upstream.calls", { endpoint: "GET /predictions/{id}", status: "200" })).toBeGreaterThan(0);
    expect(await counted("replicate.waits.in_flight", {})).toBe(0);
    expect((await metric("replicate.answer.lag")).length).toBeGreaterThan(0);
  });
});

describe("a stream run", () => {
  it("ends its request span when the stream ends; its waits poll (for the logs) under it", async () => {
    const response = await settle(post({ accept: "text/event-stream" }));
    await settle(response.text());
    const root = requestSpan();
    expect(root.attributes).toMatchObject({ "replicate.prediction.status": "succeeded", "replicate.outcome": "terminal" });
    expect(children(root, "replicate.create")[0].attributes["replicate.create.hold_s"]).toBe(0);
    const waits = children(root, "replicate.wait");
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits.every((wait) => wait.attributes["replicate.wait.via"] === "poll")).toBe(true);
    expect(requestLine()).toMatchObject({ stream: true, trace_id: root.spanContext().traceId });
    expectNothingSecret();
  });
});

describe("an async run", () => {
  it("creates without a hold and answers 202: the request span has the started prediction", async () => {
    const started = await counted("replicate.predictions", { outcome: "started" });
    const response = await settle(post({ prefer: "respond-async" }));
    expect(response.status).toBe(202);
    const { id } = await response.json();
    const root = requestSpan();
    expect(children(root, "replicate.create")).toHaveLength(1);
    expect(children(root, "replicate.wait")).toHaveLength(0);
    expect(root.attributes).toMatchObject({ "replicate.prediction.id": id, "http.response.status_code": 202 });
    expect(await counted("replicate.predictions", { outcome: "started" })).toBe(started + 1);
  });
});

describe("the bounds", () => {
  it("a timeout: the cap ended it (replicate.bound = cap), a cancel span, an error span", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "0.3" });
    const response = await settle(post({}, undefined, "[never] forever"));
    expect(response.status).toBe(500);
    const root = requestSpan();
    expect(root.attributes).toMatchObject({
      "replicate.bound": "cap",
      "replicate.outcome": "timed-out",
      "replicate.prediction.status": "canceled",
    });
    expect(children(root, "replicate.cancel")).toHaveLength(1);
    expect(root.status.code).toBe(2);
    expect(await counted("replicate.predictions", { outcome: "timed-out" })).toBeGreaterThanOrEqual(1);
  });

  it("a leave: the caller went away (replicate.bound = left), and the prediction was canceled", async () => {
    const controller = new AbortController();
    const pending = post({}, controller.signal, "[never] abandoned");
    await advanceUntil(() => sim.count("get") >= 1);
    controller.abort();
    await settle(pending);
    const root = requestSpan();
    expect(root.attributes).toMatchObject({ "replicate.bound": "left", "replicate.outcome": "client-gone" });
    expect(children(root, "replicate.cancel")[0].attributes["replicate.prediction.status"]).toBe("canceled");
  });
});

describe("output copies", () => {
  it("are a replicate.outputs.keep span, and their bytes are counted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-kept-"));
    try {
      const storage = createOutputStorage(
        parseStorageConfig({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: dir, REPLICATE_API_TOKEN: TOKEN }),
      )!;
      const bytes = Buffer.from("a kept output, 31 bytes long...");
      const before = await counted("replicate.outputs.kept.bytes", {});
      const prediction = {
        id: "keptbytes0001abc",
        status: "succeeded" as const,
        output: [`data:text/plain;base64,${bytes.toString("base64")}`],
      };
      const kept = await keepOutputs(prediction, { storage });
      expect(kept.outputs_kept).toBe(true);
      expect(await counted("replicate.outputs.kept.bytes", {})).toBe(before + bytes.length);
      const [span] = spans().filter((s) => s.name === "replicate.outputs.keep");
      expect(span.attributes).toMatchObject({ "replicate.prediction.id": prediction.id, "replicate.outputs.kept": true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("endpoint names", () => {
  it("name the resource, never an id", () => {
    expect(endpointOf("GET", `${BASE}/predictions/abc123?x=1`, BASE)).toBe("GET /predictions/{id}");
    expect(endpointOf("POST", `${BASE}/predictions/abc123/cancel`, BASE)).toBe("POST /predictions/{id}/cancel");
    expect(endpointOf("POST", `${BASE}/models/acme/painter/predictions`, BASE)).toBe("POST /models/{owner}/{name}/predictions");
    expect(endpointOf("DELETE", `${BASE}/files/file_9`, BASE)).toBe("DELETE /files/{id}");
    expect(endpointOf("GET", "https://stream.example/v1/streams/abc", BASE)).toBe("GET stream");
  });
});
