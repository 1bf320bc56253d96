import { isRecord, type Progress, type RunEvent } from "./route-types";
import { readSseEvents } from "@/lib/shared/sse";
import { noteBudget } from "./budget";

/** One answer of the route: the same body whether it came as JSON or as the SSE `done` event. */
export type RouteAnswer = { httpStatus: number; body: unknown; streamed: boolean; headers?: Headers };

export class StreamEndedEarlyError extends Error {
  constructor() {
    super("The connection closed before the prediction finished.");
    this.name = "StreamEndedEarlyError";
  }
}

/** A JSON (or, from a proxy, any other) answer; the text is kept when it is not JSON so it can be shown. */
export async function readJsonAnswer(response: Response): Promise<RouteAnswer> {
  noteBudget(response.headers);
  return {
    httpStatus: response.status,
    body: parseJsonOrText(await response.text()),
    streamed: false,
    headers: response.headers,
  };
}

/** Hands each event to `onEvent` and answers the `done` event's body; rejects if the stream ends without one. */
export async function readStreamedAnswer(response: Response, onEvent?: (event: RunEvent) => void): Promise<RouteAnswer> {
  noteBudget(response.headers);
  for await (const { event, data } of readSseEvents(response.body!)) {
    const value = parseJsonOrText(data);
    if (event === "done") return { httpStatus: response.status, body: value, streamed: true, headers: response.headers };
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
        ? {
            type: "status",
            id: typeof value.id === "string" ? value.id : "",
            status: value.status,
            ...(typeof value.created_at === "string" ? { createdAt: value.created_at } : {}),
          }
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

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
