import "server-only";
import { retryAfterMs } from "../../shared/retry-after";

/**
 * When to retry an idempotent call to Replicate (GET, cancel), and how long any retry waits.
 * Pure, so it is tested without a clock; transport.ts asks it through each call's planner. A
 * create has its own rule, in create-policy.ts.
 *
 * - GET and cancel are retried after network errors, 429, 5xx and garbled 2xx answers, at most
 *   MAX_RETRIES times.
 * - The wait honours `Retry-After`, else the `~Ns` hint of Replicate's 429 detail, else
 *   exponential backoff with jitter (half fixed, half random); a retry whose wait would pass the
 *   deadline is not made.
 */

export interface FailedAttempt {
  /** HTTP status, or undefined when no answer came (refused, reset, timed out, garbled). */
  status?: number;
  retryAfterHeader?: string | null;
  detail?: unknown;
  /** The answer came with a 2xx status but was not a prediction (an HTML page, truncated JSON). */
  malformed?: boolean;
}

export interface RetryContext {
  /** 1 for the first retry. */
  attempt: number;
  now: number;
  /** Epoch ms past which no wait may run. */
  deadline: number;
  random?: () => number;
}

export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 8_000;
/** Retries of a GET or cancel. */
export const MAX_RETRIES = 5;

/** Milliseconds to wait before retrying a GET or cancel, or null when it must not be retried. */
export function planRetry(failure: FailedAttempt, context: RetryContext): number | null {
  const retryable = failure.status === 429 || failure.status === undefined || failure.status >= 500 || failure.malformed === true;
  if (!retryable || context.attempt > MAX_RETRIES) return null;
  const wait = retryWaitMs(failure, context);
  return context.now + wait > context.deadline ? null : wait;
}

/** The wait the failure asks for (Retry-After, else Replicate's `~Ns` hint), else backoff. */
export function retryWaitMs(failure: FailedAttempt, context: RetryContext): number {
  const hinted = retryAfterMs(failure.retryAfterHeader, context.now) ?? throttleHintMs(failure.detail);
  return hinted ?? backoffMs(context.attempt, context.random ?? Math.random);
}

/**
 * The wait Replicate's 429 detail states, in either of its wordings: "Request was throttled. Your
 * rate limit resets in ~30s." and "Request was throttled. Expected available in 1 second."
 */
export function throttleHintMs(detail: unknown): number | null {
  if (typeof detail !== "string") return null;
  const match =
    /~\s*(\d+(?:\.\d+)?)\s*s\b/.exec(detail) ?? /available in\s+(\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)\b/i.exec(detail);
  return match ? Math.round(Number(match[1]) * 1000) : null;
}

export function backoffMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
