// Next.js calls `register()` once per server instance at start. OpenTelemetry is off unless
// OTEL_EXPORTER_OTLP_ENDPOINT (or another OTEL_* exporter setting) is set: then the SDK exports the
// route's spans (Next's and the engine's, lib/server/telemetry.ts) and metrics over OTLP/HTTP,
// configured by the standard OTEL_* variables alone (docs/configuration.md).
export async function register(): Promise<void> {
  // The routes run on Node.js (`runtime = "nodejs"`); the SDK is Node-only.
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startTelemetry } = await import("./lib/server/telemetry-sdk");
  await startTelemetry();
}
