import "server-only";
import { retryAfterMs } from "@/lib/shared/retry-after";
/**
 * When to retry a call to Replicate, and how long to wait first. Pure, so it is tested without
 * a clock; `client.ts` wires it into axios-retry.
 *
 * - A create is retried only after 429: the request was not accepted. After a 5xx or a network
 *   error the prediction may exist, and a second create would run (and bill) the model twice.
 * - GET and cancel are idempotent: retried after network errors, 429 and 5xx.
 * - The wait honours `Retry-After`, else the `~Ns` hint of Replicate's 429 detail, else
 *   exponential backoff with jitter (half fixed, half random); a retry whose wait would pass the deadline is not made.
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
  idempotent: boolean;
  /** 1 for the first retry. */
  attempt: number;
  now: number;
  /** Epoch ms past which no wait may run. */
  deadline: number;
  random?: () => number;
}

export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 8_000;

export function isRetryable(failure: FailedAttempt, idempotent: boolean): boolean {
  if (failure.status === 429) return true;
  if (!idempotent) return false;
  return failure.status === undefined || failure.status >= 500 || failure.malformed === true;
}

/** Milliseconds to wait before retrying, or null when the call must not be retried. */
export function planRetry(failure: FailedAttempt, context: RetryContext): number | null {
  if (!isRetryable(failure, context.idempotent)) return null;
  const hinted = retryAfterMs(failure.retryAfterHeader, context.now) ?? throttleHintMs(failure.detail);
  const wait = hinted ?? backoffMs(context.attempt, context.random ?? Math.random);
  return context.now + wait > context.deadline ? null : wait;
}

/** Replicate's 429 detail: "Request was throttled. Your rate limit resets in ~30s." */
export function throttleHintMs(detail: unknown): number | null {
  if (typeof detail !== "string") return null;
  const match = /~\s*(\d+(?:\.\d+)?)\s*s\b/.exec(detail);
  return match ? Math.round(Number(match[1]) * 1000) : null;
}

export function backoffMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
