import { isRecord, type Progress, type RunEvent, type RunRequestBody } from "./route-types";
import { readSseEvents } from "./sse";

export const ROUTE_PATH = "/api/ai/replicate";

/** The route's final answer: the same body whether it came as JSON or as the SSE `done` event. */
export type RouteAnswer = { httpStatus: number; body: unknown; streamed: boolean };

export type RunPredictionOptions = {
  body: RunRequestBody;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  /** Extra request headers (e.g. a user's own API key, once the page asks for one). */
  headers?: Record<string, string>;
  endpoint?: string;
  fetch?: typeof fetch;
};

export class StreamEndedEarlyError extends Error {
  constructor() {
    super("The connection closed before the prediction finished.");
    this.name = "StreamEndedEarlyError";
  }
}

/**
 * POSTs the body asking for live events, and falls back to the plain JSON answer when the route
 * answers something else (validation errors are always JSON). Rejects with the fetch's AbortError
 * when `signal` aborts: closing the request is what makes the route cancel upstream.
 */
export async function runPrediction(options: RunPredictionOptions): Promise<RouteAnswer> {
  const fetchImpl = options.fetch ?? fetch;
  const response = await fetchImpl(options.endpoint ?? ROUTE_PATH, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream", ...options.headers },
    body: JSON.stringify(options.body),
    signal: options.signal,
  });
  const contentType = response.headers.get("content-type") ?? "";
  if (contentType.includes("text/event-stream") && response.body) {
    return readStreamedAnswer(response.status, response.body, options.onEvent);
  }
  return { httpStatus: response.status, body: parseJsonOrText(await response.text()), streamed: false };
}

async function readStreamedAnswer(
  httpStatus: number,
  stream: ReadableStream<Uint8Array>,
  onEvent: RunPredictionOptions["onEvent"],
): Promise<RouteAnswer> {
  for await (const { event, data } of readSseEvents(stream)) {
    const value = parseJsonOrText(data);
    if (event === "done") return { httpStatus, body: value, streamed: true };
    const runEvent = toRunEvent(event, value);
    if (runEvent) onEvent?.(runEvent);
  }
  throw new StreamEndedEarlyError();
}

/** Unknown events and malformed data are skipped: a newer route may send more than this page knows. */
export function toRunEvent(event: string, value: unknown): RunEvent | null {
  switch (event) {
    case "status":
      return isRecord(value) && typeof value.status === "string"
        ? { type: "status", id: typeof value.id === "string" ? value.id : "", status: value.status }
        : null;
    case "progress":
      return isProgress(value) ? { type: "progress", progress: value } : null;
    case "logs":
      return typeof value === "string" ? { type: "logs", text: value } : null;
    case "output":
      return isRecord(value) && "output" in value ? { type: "output", output: value.output } : null;
    default:
      return null;
  }
}

function isProgress(value: unknown): value is Progress {
  return (
    isRecord(value) &&
    typeof value.percentage === "number" &&
    typeof value.current === "number" &&
    typeof value.total === "number" &&
    typeof value.pass === "number"
  );
}

/** A proxy or a crashed server may answer HTML or nothing; keep the text so it can be shown. */
function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
