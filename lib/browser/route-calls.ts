import { EVENT_STREAM_TYPE, isEventStream } from "@/lib/shared/event-stream";
import { retryAfterMs } from "@/lib/shared/retry-after";
import { readJsonAnswer, readStreamedAnswer, type RouteAnswer } from "./route-answer";
import { toWireBody } from "./request-body";
import type { RunEvent, RunRequestBody } from "./route-types";

/** The three calls the page makes to the route, each one request. Errors of the network reject. */

export const ROUTE_PATH = "/api/ai/replicate";

export function predictionPath(handle: string): string {
  return `${ROUTE_PATH}/${encodeURIComponent(handle)}`;
}

type CallOptions = {
  /** Sent on every call (the access key's `Authorization`, when the route asks for one). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  fetch?: typeof fetch;
};

/**
 * Creates the prediction in async mode: the route answers 202 with the prediction at once, so the
 * page can keep its id and follow it from any request, including one made after a reload. With an
 * `idempotencyKey`, a repeat of the same run (a double click, a resubmit) answers the prediction the
 * first one created instead of paying for another; while that first request is still creating, the
 * route answers 409 with Retry-After, and the repeat asks again then (a few times).
 */
export async function postRun(
  body: RunRequestBody,
  options: CallOptions & { idempotencyKey?: string } = {},
): Promise<RouteAnswer> {
  const wire = toWireBody(body);
  const keyed: Record<string, string> = options.idempotencyKey ? { "Idempotency-Key": `"${options.idempotencyKey}"` } : {};
  const type: Record<string, string> = wire.contentType ? { "Content-Type": wire.contentType } : {};
  for (let attempt = 1; ; attempt += 1) {
    const response = await (options.fetch ?? fetch)(ROUTE_PATH, {
      method: "POST",
      headers: { ...type, Accept: "application/json", Prefer: "respond-async", ...keyed, ...options.headers },
      body: wire.body,
      signal: options.signal,
    });
    const waitMs = response.status === 409 && options.idempotencyKey ? retryAfterMs(response.headers.get("retry-after")) : null;
    if (waitMs === null || attempt >= IN_PROGRESS_ATTEMPTS) return readJsonAnswer(response);
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, 5_000)));
  }
}

/** Asks of a run whose first request is still creating, before showing the 409. */
const IN_PROGRESS_ATTEMPTS = 4;

/**
 * The prediction's state. With `stream`, its live events until the end (or the route's cap, then
 * a `done` carrying a prediction still running); `onEvent` first gets `attached` when a stream opens.
 * A route that cannot stream answers JSON: 202 while running, 200 or 500 once ended.
 */
export async function getRun(
  handle: string,
  options: CallOptions & { stream: boolean; onEvent?: (event: RunEvent) => void },
): Promise<RouteAnswer> {
  const response = await (options.fetch ?? fetch)(predictionPath(handle), {
    headers: { Accept: options.stream ? EVENT_STREAM_TYPE : "application/json", ...options.headers },
    signal: options.signal,
    cache: "no-store",
  });
  if (!isEventStream(response)) return readJsonAnswer(response);
  options.onEvent?.({ type: "attached", handle });
  return readStreamedAnswer(response, options.onEvent);
}

/** Cancels it upstream; the route answers the prediction as the cancel left it. */
export async function deleteRun(handle: string, options: CallOptions = {}): Promise<RouteAnswer> {
  const response = await (options.fetch ?? fetch)(predictionPath(handle), {
    method: "DELETE",
    headers: { Accept: "application/json", ...options.headers },
    signal: options.signal,
  });
  return readJsonAnswer(response);
}
