import "server-only";
// Structured logs: one JSON line per request and nothing else on the hot path. Every line goes
// through `redact`, so the token (or the route key, or the webhook secret) cannot reach the log
// even from the message of an unexpected error.

import { secretValues } from "@/lib/server/config";

export interface RequestLine {
  /** The request's OpenTelemetry trace id (32 hex), as exported; absent when nothing traces. */
  trace_id?: string;
  route: string;
  method: string;
  status: number;
  duration_ms: number;
  /** The prediction the request was about, once known. */
  prediction_id?: string;
  /** Poll rounds waited through. */
  polls: number;
  retries: number;
  /** HTTP requests sent to Replicate, retries included. */
  upstream_requests: number;
  /** 429 answers among them. */
  throttled?: number;
  /** Event-stream answers are logged when the stream ends; `duration_ms` covers the stream. */
  stream?: true;
  /** The cause of an unexpected error (its answer said only "Internal error"). */
  error?: string;
}

export function logRequest(line: RequestLine): void {
  write(line.status >= 500 ? "error" : "info", { event: "request", ...line });
}

/** A one-off operational warning (e.g. the route is open), same format. */
export function logWarning(event: string, message: string): void {
  write("warn", { event, message });
}

type Level = "info" | "warn" | "error";

function write(level: Level, fields: Record<string, unknown>): void {
  const line = redact(JSON.stringify({ time: new Date().toISOString(), level, ...fields }), secretValues());
  console[level === "info" ? "log" : level](line);
}

/** Every occurrence of each secret, as written and as JSON would escape it, replaced. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    result = result.split(secret).join("[redacted]");
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) result = result.split(escaped).join("[redacted]");
  }
  return result;
}
