/**
 * OpenTelemetry end to end: `next start` with only the standard OTEL_* variables set exports
 * OTLP/HTTP to a small receiver in this test. A run's spans arrive under one trace whose id is the
 * request log line's `trace_id`: Next's own route span, the engine's request span under it, and
 * the phases under that; the metrics arrive too. A webhook delivery's outputs are kept by Next's
 * `after()` once it has been answered. No browser: two POSTs, a few seconds.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureProductionBuild, freePort, simulatedReplicateEnv, startNextServer, type NextServer } from "@/dev/app-harness";
import { startSimulatorServer, type SimulatorServer } from "@/dev/simulator/server";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

const skipped = process.env.E2E_SKIP === "1";

describe.skipIf(skipped)("next start exports OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set", () => {
  let simulator: SimulatorServer;
  let app: NextServer;
  let receiver: Server;
  const spans: OtlpSpan[] = [];
  const metricNames = new Set<string>();
  const resourceNames = new Set<string>();
  let outputs: string;

  beforeAll(async () => {
    ensureProductionBuild((line) => console.log(`[e2e telemetry] ${line}`));
    simulator = await startSimulatorServer({ runMs: 300, bootMs: 50 });
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
        for (const resource of body.resourceSpans ?? []) {
          for (const attribute of resource.resource?.attributes ?? [])
            if (attribute.key === "service.name") resourceNames.add(attribute.value.stringValue);
          for (const scope of resource.scopeSpans ?? []) spans.push(...scope.spans);
        }
        for (const resource of body.resourceMetrics ?? [])
          for (const scope of resource.scopeMetrics ?? []) for (const metric of scope.metrics) metricNames.add(metric.name);
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const port = await freePort();
    outputs = mkdtempSync(join(tmpdir(), "e2e-telemetry-"));
    app = await startNextServer({
      port,
      env: simulatedReplicateEnv(simulator.baseUrl, {
        REPLICATE_POLL_INTERVAL_MS: "100",
        ROUTE_API_KEY: "",
        // Deliveries come back to this app; their outputs are kept after the answer (Next's after()).
        REPLICATE_WEBHOOK_URL: `http://127.0.0.1:${port}`,
        REPLICATE_WEBHOOK_SECRET: "",
        OUTPUT_STORAGE: "fs",
        OUTPUT_STORAGE_DIR: outputs,
        REPLICATE_RATE_LIMIT: "",
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "replicate-e2e",
        OTEL_METRIC_EXPORT_INTERVAL: "500",
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_LOGS_EXPORTER: "none",
      }),
    });
  }, 240_000);

  afterAll(async () => {
    await app?.stop();
    await simulator?.close();
    await new Promise((resolve) => receiver?.close(resolve));
    if (outputs) rmSync(outputs, { recursive: true, force: true });
  });

  it("a run's spans share the log line's trace id: Next's route span, the request's under it, the phases under that", async () => {
    const response = await fetch(`${app.origin}/api/ai/replicate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "traced", seed: 4 }),
    });
    expect(response.status).toBe(200);
    const { id } = await response.json();

    const line = await eventually(
      () =>
        app
          .output()
          .split("\n")
          .filter(
            (text) =>
              text.includes('"event":"request"') && text.includes('"route":"POST /api/ai/replicate"') && text.includes(id),
          )
          .map((text) => JSON.parse(text.slice(text.indexOf("{"))))[0],
    );
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const request = await eventually(() =>
      spans.find((span) => span.name === "replicate.request" && span.traceId === line.trace_id),
    );
    await eventually(
      () => spans.some((span) => span.name === "replicate.create" && span.parentSpanId === request.spanId) || undefined,
    );
    const attribute = (span: OtlpSpan, key: string) => span.attributes?.find((a) => a.key === key)?.value;
    expect(attribute(request, "replicate.prediction.id")).toEqual({ stringValue: id });
    expect(attribute(request, "replicate.prediction.status")).toEqual({ stringValue: "succeeded" });
    // Next's own span for the route is the request span's parent, in the same trace.
    const parent = spans.find((span) => span.spanId === request.parentSpanId);
    expect(parent).toMatchObject({ name: "executing api route (app) /api/ai/replicate", traceId: line.trace_id });
    // The create was held (Prefer: wait) until the end: no wait after it.
    const phases = spans.filter((span) => span.parentSpanId === request.spanId).map((span) => span.name);
    expect(phases).toEqual(
      expect.arrayContaining(["replicate.guard", "replicate.body", "replicate.create", "replicate.outputs.keep"]),
    );
    expect(resourceNames).toContain("replicate-e2e");
    await eventually(
      () => (metricNames.has("replicate.predictions") && metricNames.has("replicate.upstream.calls")) || undefined,
    );
  });

  it("a webhook is answered first; Next's after() then keeps its outputs, traced under the delivery's request", async () => {
    const response = await fetch(`${app.origin}/api/ai/replicate`, {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "respond-async" },
      body: JSON.stringify({ prompt: "kept after the answer", seed: 5 }),
    });
    expect(response.status).toBe(202);
    const { id } = await response.json();
    await eventually(() => existsSync(join(outputs, id, "manifest.json")) || undefined);
    // The completed delivery's request: its signature verified, then (after the answer) the copies.
    const after = await eventually(() =>
      spans.find(
        (span) => span.name === "replicate.after" && attributeOf(spans, span.parentSpanId, "replicate.prediction.id") === id,
      ),
    );
    expect(spans.some((span) => span.name === "replicate.webhook.verify" && span.parentSpanId === after.parentSpanId)).toBe(true);
    // Run by after(): it started once the request had been answered (its span had ended), not before.
    const request = spans.find((span) => span.spanId === after.parentSpanId)!;
    expect(BigInt(after.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(request.endTimeUnixNano));
    const keep = await eventually(() =>
      spans.find((span) => span.name === "replicate.outputs.keep" && span.parentSpanId === after.spanId),
    );
    expect(keep.attributes?.find((a) => a.key === "replicate.outputs.kept")?.value).toEqual({ boolValue: true });
  });
});

function attributeOf(spans: OtlpSpan[], spanId: string | undefined, key: string): unknown {
  const value = spans.find((span) => span.spanId === spanId)?.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue;
}

/** Polls `read` every 50 ms for up to 10 s until it returns something. */
async function eventually<T>(read: () => T | undefined): Promise<T> {
  for (let tries = 0; tries < 200; tries += 1) {
    const value = read();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("not seen within 10 s");
}
