import { watchPrediction, type WatchOptions } from "./watch-prediction";
import type { RouteAnswer } from "./route-answer";
import { postRun, deleteRun } from "./route-calls";
import { isPrediction } from "@/lib/shared/prediction";
import type { RunEvent, RunRequestBody } from "./route-types";

/** Run a new prediction, or re-attach to one already running (after a reload). */
export type SessionPlan = { kind: "start"; body: RunRequestBody } | { kind: "attach"; id: string };

export type SessionEnd = {
  /** The final answer: the route's to the create (when it did not create), to following, or to the cancel. */
  answer: RouteAnswer;
  /** Known once the route created the prediction. */
  predictionId: string | null;
  /** The answer is the DELETE's: the person canceled. */
  canceled: boolean;
};

export type PredictionSession = {
  ended: Promise<SessionEnd>;
  /** Cancel upstream: stop following, then DELETE. Asked for before the id is known, it waits for the id. */
  cancel(): void;
  /** Stop every request without canceling (the page goes away): the prediction runs on. */
  stop(): void;
};

export type SessionOptions = Omit<WatchOptions, "signal"> & {
  /** The prediction's id, as soon as it is known (the page keeps it in its URL). */
  onPredictionId?: (id: string) => void;
};

/**
 * One run, in async mode so that nothing about it lives in a request: create (the route answers
 * 202 with the id), then follow by id. Closing the page only closes the follower; the prediction
 * runs on and the next page re-attaches by id. Canceling is an explicit DELETE.
 */
export function startPredictionSession(plan: SessionPlan, options: SessionOptions = {}): PredictionSession {
  const stopped = new AbortController();
  const following = new AbortController();
  stopped.signal.addEventListener("abort", () => following.abort(stopped.signal.reason), { once: true });
  let cancelRequested = false;
  const calls = { headers: options.headers, fetch: options.fetch };
  const emit = (event: RunEvent) => !stopped.signal.aborted && options.onEvent?.(event);

  async function run(): Promise<SessionEnd> {
    let id: string;
    if (plan.kind === "start") {
      // Not aborted by Cancel: a create already sent makes a prediction whose id we need to cancel it.
      const created = await postRun(plan.body, { ...calls, signal: stopped.signal });
      if (created.httpStatus !== 202 || !isPrediction(created.body)) return { answer: created, predictionId: null, canceled: false };
      id = created.body.id;
      options.onPredictionId?.(id);
      emit({ type: "status", id, status: created.body.status });
    } else {
      id = plan.id;
      options.onPredictionId?.(id);
    }
    if (!cancelRequested) {
      try {
        const answer = await watchPrediction(id, { ...options, onEvent: emit, signal: following.signal });
        return { answer, predictionId: id, canceled: false };
      } catch (error) {
        if (!cancelRequested || stopped.signal.aborted) throw error;
      }
    }
    // The person asked for it: the DELETE goes out even if the page is being left.
    return { answer: await deleteRun(id, calls), predictionId: id, canceled: true };
  }

  return {
    ended: run(),
    cancel() {
      cancelRequested = true;
      following.abort();
    },
    stop() {
      stopped.abort();
    },
  };
}
