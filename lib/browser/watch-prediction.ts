// Follows one prediction from the page through the route (`GET /api/ai/replicate/{id}`, streamed
// or polled; `fetch` and `sleep` are injectable). No server module behind it: polled predictions
// become the very events the route's stream would have sent, with the route's own tracker.
import type { Prediction as ReplicatePrediction } from "@/lib/shared/prediction";
import { predictionEventTracker } from "@/lib/shared/prediction-events";
import { retryAfterMs } from "@/lib/shared/retry-after";
import { StreamEndedEarlyError, toRunEvent, type RouteAnswer } from "./route-answer";
import { getRun } from "./route-calls";
import { isPrediction, isTerminal, type Prediction } from "@/lib/shared/prediction";
import { isProblemBody } from "@/lib/shared/problem-body";
import type { RunEvent } from "./route-types";

export type WatchOptions = {
  headers?: Record<string, string>;
  /** Aborts following; it never cancels the prediction (that is a DELETE). */
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  fetch?: typeof fetch;
  /** Between two polls when the route answers JSON and names no `Retry-After`, and between retries. */
  pollIntervalMs?: number;
  /** Failures in a row (connection lost, 429, 502-504) tolerated before the last one is the answer. */
  maxRetries?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

/**
 * Follows a prediction until it ends and answers its final answer. Streams its events; when the
 * stream reaches the route's cap (a `done` carrying a prediction still running) it re-attaches at
 * once. A route that answers JSON instead is polled. A lost connection or a passing 429/5xx is
 * retried a few times: the prediction runs on upstream whatever happens to this page's requests.
 */
export async function watchPrediction(handle: string, options: WatchOptions = {}): Promise<RouteAnswer> {
  const { signal } = options;
  const wait = options.sleep ?? sleep;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const maxRetries = options.maxRetries ?? 3;
  let failures = 0;
  let polling: ReturnType<typeof predictionEventTracker> | null = null;
  const onEvent = (event: RunEvent) => {
    // News from the route proves the connection works again; a stream that opens and breaks does not.
    if (event.type !== "attached") failures = 0;
    options.onEvent?.(event);
  };

  for (;;) {
    let answer: RouteAnswer;
    try {
      answer = await getRun(handle, { ...options, stream: polling === null, onEvent });
    } catch (error) {
      if (signal?.aborted || !isConnectionLost(error) || failures >= maxRetries) throw error;
      failures += 1;
      await wait(pollIntervalMs, signal);
      continue;
    }
    const { body } = answer;
    if (isPrediction(body) && !isTerminal(body)) {
      failures = 0;
      if (answer.streamed) continue;
      if (polling === null) {
        polling = predictionEventTracker();
        onEvent({ type: "attached", handle });
      }
      emitChanges(polling, body, onEvent);
      await wait(retryAfterMs(answer.headers?.get("retry-after")) ?? pollIntervalMs, signal);
      continue;
    }
    if (isTransientProblem(body) && failures < maxRetries) {
      failures += 1;
      await wait(retryAfterMs(answer.headers?.get("retry-after")) ?? pollIntervalMs, signal);
      continue;
    }
    return answer;
  }
}

function emitChanges(
  track: ReturnType<typeof predictionEventTracker>,
  prediction: Prediction,
  onEvent: (event: RunEvent) => void,
) {
  for (const { event, data } of track(prediction as ReplicatePrediction)) {
    const runEvent = toRunEvent(event, data);
    if (runEvent) onEvent(runEvent);
  }
}

/** The request failed or its stream broke off (fetch reports both as TypeError). */
function isConnectionLost(error: unknown): boolean {
  return error instanceof StreamEndedEarlyError || error instanceof TypeError;
}

function isTransientProblem(body: unknown): boolean {
  return isProblemBody(body) && TRANSIENT_STATUSES.has(body.status);
}

/** setTimeout as a promise that rejects with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
