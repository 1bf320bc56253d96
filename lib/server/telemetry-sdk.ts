import "server-only";
// The OpenTelemetry SDK, started by instrumentation.ts: off unless an OTLP endpoint (or an
// exporter) is configured, and then configured by the standard OTEL_* variables alone, which the
// SDK (@opentelemetry/sdk-node) reads itself: OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS,
// OTEL_SERVICE_NAME, OTEL_METRIC_EXPORT_INTERVAL, OTEL_TRACES_SAMPLER... The schema below only
// decides whether to start it and catches a malformed value at start, naming the variable.
// The engine never imports this file: it speaks @opentelemetry/api only (lib/server/telemetry.ts).

import { z } from "zod";
import { optional, parseEnv, type Env } from "./env";
import { logWarning } from "./log";
import { Problem } from "./problem";

const url = z
  .string()
  .trim()
  .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), "must be an http:// or https:// URL");
const exporters = z
  .string()
  .regex(/^\s*(otlp|console|none|prometheus)(\s*,\s*(otlp|console|none|prometheus))*\s*$/, "must list otlp, console or none");

export const telemetryEnvSchema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(url).describe(
    "The OTLP collector's base URL, e.g. `http://localhost:4318`: traces go to `/v1/traces`, metrics to `/v1/metrics`. Unset: no telemetry at all.",
  ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(url).describe(
    "A full URL for traces only (instead of the base URL's `/v1/traces`).",
  ),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: optional(url).describe(
    "A full URL for metrics only (instead of the base URL's `/v1/metrics`).",
  ),
  OTEL_EXPORTER_OTLP_PROTOCOL: optional(
    z.enum(["http/protobuf", "http/json", "grpc"], { error: "must be http/protobuf, http/json or grpc" }),
  ).describe("The OTLP encoding: `http/protobuf` (the SDK's default) or `http/json`; `grpc` also works."),
  OTEL_EXPORTER_OTLP_HEADERS: optional(z.string()).describe(
    "Headers sent to the collector, `key=value,key2=value2`, e.g. `x-honeycomb-team=<key>`. Usually holds an API key: keep it secret.",
  ),
  OTEL_SERVICE_NAME: optional(z.string().trim().min(1)).describe(
    "The service name on every span and metric; unset: `replicate-next-route`.",
  ),
  OTEL_METRIC_EXPORT_INTERVAL: optional(z.coerce.number().int().min(100, "must be at least 100 (ms)")).describe(
    "Milliseconds between two metric exports; unset: the SDK's 60000.",
  ),
  OTEL_TRACES_EXPORTER: optional(exporters).describe(
    "`otlp` (the default once an endpoint is set), `console` or `none` (no traces).",
  ),
  OTEL_METRICS_EXPORTER: optional(exporters).describe(
    "`otlp` (the default once an endpoint is set), `console` or `none` (no metrics).",
  ),
  OTEL_SDK_DISABLED: optional(z.enum(["true", "false"], { error: "must be true or false" })).describe(
    "`true` turns OpenTelemetry off whatever else is set.",
  ),
});

export const DEFAULT_SERVICE_NAME = "replicate-next-route";

/** Whether to start the SDK: something to export to, and not disabled. Throws a problem naming a malformed variable. */
export function telemetryWanted(env: Env): boolean {
  const vars = parseEnv(telemetryEnvSchema, env);
  if (vars.OTEL_SDK_DISABLED === "true") return false;
  const exporterNamed = [vars.OTEL_TRACES_EXPORTER, vars.OTEL_METRICS_EXPORTER].some(
    (list) => list !== undefined && !/^\s*none\s*$/.test(list),
  );
  return Boolean(
    vars.OTEL_EXPORTER_OTLP_ENDPOINT ||
      vars.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ||
      vars.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ||
      exporterNamed,
  );
}

/**
 * Starts the SDK (traces and metrics, OTLP per the variables) when wanted; returns it, or null. A
 * malformed variable leaves telemetry off with one warning naming it: the app still serves.
 */
export async function startTelemetry(env: Env): Promise<{ shutdown(): Promise<void> } | null> {
  try {
    if (!telemetryWanted(env)) return null;
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    logWarning("telemetry_off", `OpenTelemetry is off: ${error.detail}`);
    return null;
  }
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({
    // The variable wins when set (the SDK reads it); this is the default.
    ...(env.OTEL_SERVICE_NAME?.trim() ? {} : { serviceName: DEFAULT_SERVICE_NAME }),
    // No auto-instrumentation: Next makes the route's span, the engine its own (lib/server/telemetry.ts).
    instrumentations: [],
  });
  sdk.start();
  return sdk;
}
