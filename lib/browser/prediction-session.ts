import { watchPrediction, type WatchOptions } from "./watch-prediction";
import type { RouteAnswer } from "./route-answer";
import { postRun, deleteRun } from "./route-calls";
import { isPrediction } from "@/lib/shared/prediction";
import type { RunEvent, RunRequestBody } from "./route-types";

/** Run a new prediction, or re-attach to one already running (after a reload). */
export type SessionPlan = { kind: "start"; body: RunRequestBody } | { kind: "attach"; handle: string };

export type SessionEnd = {
  /** The final answer: the route's to the create (when it did not create), to following, or to the cancel. */
  answer: RouteAnswer;
  /** The prediction's handle (what the route's `Location` names), known once the route created it. */
  handle: string | null;
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
  /** The prediction's handle, as soon as it is known (the page keeps it in its URL). */
  onHandle?: (handle: string) => void;
};

/**
 * One run, in async mode so that nothing about it lives in a request: create (the route answers
 * 202 with the prediction's handle in `Location`), then follow by handle. Closing the page only
 * closes the follower; the prediction runs on and the next page re-attaches by handle. Canceling
 * is an explicit DELETE.
 */
export function startPredictionSession(plan: SessionPlan, options: SessionOptions = {}): PredictionSession {
  const stopped = new AbortController();
  const following = new AbortController();
  stopped.signal.addEventListener("abort", () => following.abort(stopped.signal.reason), { once: true });
  let cancelRequested = false;
  const calls = { headers: options.headers, fetch: options.fetch };
  const emit = (event: RunEvent) => !stopped.signal.aborted && options.onEvent?.(event);

  async function run(): Promise<SessionEnd> {
    let handle: string;
    if (plan.kind === "start") {
      // Not aborted by Cancel: a create already sent makes a prediction whose handle we need to cancel it.
      const created = await postRun(plan.body, { ...calls, idempotencyKey: idempotencyKeyOf(plan), signal: stopped.signal });
      const located = handleFromLocation(created.headers?.get("location"));
      if (created.httpStatus !== 202 || !isPrediction(created.body) || !located)
        return { answer: created, handle: null, canceled: false };
      handle = located;
      options.onHandle?.(handle);
      const createdAt = typeof created.body.created_at === "string" ? { createdAt: created.body.created_at } : {};
      emit({ type: "status", id: created.body.id, status: created.body.status, ...createdAt });
    } else {
      handle = plan.handle;
      options.onHandle?.(handle);
    }
    if (!cancelRequested) {
      try {
        const answer = await watchPrediction(handle, { ...options, onEvent: emit, signal: following.signal });
        return { answer, handle, canceled: false };
      } catch (error) {
        if (!cancelRequested || stopped.signal.aborted) throw error;
      }
    }
    // The person asked for it: the DELETE goes out even if the page is being left.
    return { answer: await deleteRun(handle, calls), handle, canceled: true };
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

const planKeys = new WeakMap<SessionPlan, string>();
/** Two starts of the same body this close together are one click too many, not two runs. */
export const DOUBLE_START_MS = 1000;
let lastStart: { body: string; key: string; at: number } | undefined;

/**
 * One Idempotency-Key per run the person started: the same plan run again (the retry once the
 * access key is given) sends the same key, and so does a second start of the same body within
 * DOUBLE_START_MS (a double click), so the route creates that run once.
 */
export function idempotencyKeyOf(plan: SessionPlan, now = Date.now()): string {
  const known = planKeys.get(plan);
  if (known) return known;
  const body = plan.kind === "start" ? JSON.stringify(plan.body) : plan.handle;
  const key = lastStart && lastStart.body === body && now - lastStart.at < DOUBLE_START_MS ? lastStart.key : randomKey();
  lastStart = { body, key, at: now };
  planKeys.set(plan, key);
  return key;
}

/** A UUID; `randomUUID` exists only in secure contexts (https, localhost), `getRandomValues` everywhere. */
function randomKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The handle a `202`'s `Location: /api/ai/replicate/{handle}` names; null without one. */
export function handleFromLocation(location: string | null | undefined): string | null {
  const handle = location?.split("?")[0].split("/").filter(Boolean).at(-1);
  return handle ? decodeURIComponent(handle) : null;
}
