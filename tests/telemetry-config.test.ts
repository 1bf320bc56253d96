/** OpenTelemetry is off unless configured, and configured by the standard OTEL_* variables alone. */
import { describe, expect, it, vi } from "vitest";
import { startTelemetry, telemetryWanted } from "@/lib/server/telemetry-sdk";

describe("when the SDK starts", () => {
  it("not without an OTLP endpoint or an exporter", async () => {
    expect(telemetryWanted({})).toBe(false);
    expect(telemetryWanted({ OTEL_SERVICE_NAME: "shop", OTEL_EXPORTER_OTLP_ENDPOINT: "" })).toBe(false);
    expect(telemetryWanted({ OTEL_TRACES_EXPORTER: "none" })).toBe(false);
    expect(await startTelemetry({})).toBeNull();
  });

  it("with an endpoint (the base one or a signal's), or an exporter named", () => {
    expect(telemetryWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
    expect(telemetryWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://otlp.example/v1/traces" })).toBe(true);
    expect(telemetryWanted({ OTEL_METRICS_EXPORTER: "console" })).toBe(true);
  });

  it("never with OTEL_SDK_DISABLED=true", () => {
    expect(telemetryWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "true" })).toBe(false);
  });

  it("a malformed variable is named, never its value", () => {
    expect(() => telemetryWanted({ OTEL_EXPORTER_OTLP_PROTOCOL: "carrier-pigeon" })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf, http\/json or grpc/,
    );
    let message = "";
    try {
      telemetryWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector-secret-host:4318" });
    } catch (error) {
      message = (error as { detail: string }).detail;
    }
    expect(message).toContain("OTEL_EXPORTER_OTLP_ENDPOINT");
    expect(message).not.toContain("collector-secret-host");
  });

  it("a malformed variable at start leaves telemetry off with one warning, and the app serves", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      expect(
        await startTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_METRIC_EXPORT_INTERVAL: "soon" }),
      ).toBeNull();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/"telemetry_off".*OTEL_METRIC_EXPORT_INTERVAL/);
    } finally {
      warn.mockRestore();
    }
  });
});
