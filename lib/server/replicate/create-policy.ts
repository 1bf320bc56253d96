import "server-only";
import type { Config } from "@/lib/server/config";
import { Problem } from "@/lib/server/problem";
import { retryWaitMs, type FailedAttempt, type RetryContext } from "@/lib/server/replicate/retry-policy";
import type { ReplicateCall } from "@/lib/server/replicate/transport";

/**
 * The create policy, all of it: when a create may be retried, how it waits for a slot, and how long.
 *
 * - When: only after a 429. A throttled create was not accepted; after a 5xx or a network error
 *   the prediction may exist, and a second create would run (and bill) the model twice.
 * - The slot: creates are sent at once until Replicate throttles one. From then on, for a minute
 *   after the last 429, this process sends its creates one slot at a time, at the account's create
 *   rate (REPLICATE_CREATES_PER_MINUTE): a throttled create waits out its `Retry-After` (or the
 *   `~Ns` hint, else backoff) in its own slot, instead of every waiting create retrying at the same
 *   instant and being throttled again.
 * - How long: as long as the request's deadline allows (at most MAX_CREATE_RETRIES retries). A
 *   create whose slot lies past the deadline is not sent: it is answered 429 with `Retry-After`.
 *
 * The pacer is a cache of timing, not state: a new process starts unpaced and learns from the
 * first 429. The clock (`now`, `sleep`) can be injected; it defaults to Date.now and setTimeout.
 */

const PACED_FOR_MS = 60_000;
export const MAX_CREATE_RETRIES = 1000;

export interface Clock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class CreatePacer {
  private pacedUntil = 0;
  private nextSlot = 0;

  constructor(private readonly perMinute: number) {}

  /** Milliseconds to wait before sending a create, not earlier than `notBefore`; reserves that slot. */
  reserve(now = Date.now(), notBefore = now): number {
    if (now >= this.pacedUntil && notBefore <= now) return 0;
    const slot = Math.max(now, notBefore, this.nextSlot);
    this.nextSlot = slot + 60_000 / this.perMinute;
    return slot - now;
  }

  /** Replicate throttled a create and asked for `retryAfterMs`: pace from now on. */
  throttled(retryAfterMs: number, now = Date.now()): void {
    this.pacedUntil = now + PACED_FOR_MS;
    this.nextSlot = Math.max(this.nextSlot, now + retryAfterMs);
  }
}

/** Milliseconds before retrying a failed create (in its own slot), or null when it must not be retried. */
export function planCreateRetry(failure: FailedAttempt, context: RetryContext, pacer: CreatePacer): number | null {
  if (failure.status !== 429 || context.attempt > MAX_CREATE_RETRIES) return null;
  const asked = retryWaitMs(failure, context);
  if (context.now + asked > context.deadline) return null;
  pacer.throttled(asked, context.now);
  const wait = pacer.reserve(context.now, context.now + asked);
  return context.now + wait > context.deadline ? null : wait;
}

/** Waits for this create's slot; throws a 429 Problem when the slot lies past the deadline. */
export async function waitForCreateSlot(config: Config, deadline: number, clock: Clock = systemClock): Promise<void> {
  const now = clock.now();
  const waitMs = createPacerFor(config).reserve(now);
  if (waitMs <= 0) return;
  if (now + waitMs > deadline) {
    const seconds = Math.ceil(waitMs / 1000);
    throw new Problem(429, "Too many predictions", `Replicate is throttling this account's creates; try again in ~${seconds}s.`, {
      headers: { "Retry-After": String(seconds) },
    });
  }
  await clock.sleep(waitMs);
}

/** The retry part of a create's call: not idempotent, retried only as planCreateRetry says. */
export function createRetry(config: Config): Pick<ReplicateCall, "idempotent" | "retry"> {
  const pacer = createPacerFor(config);
  return { idempotent: false, retry: (failure, context) => planCreateRetry(failure, context, pacer) };
}

const pacers = new WeakMap<Config, CreatePacer>();

function createPacerFor(config: Config): CreatePacer {
  let pacer = pacers.get(config);
  if (!pacer) pacers.set(config, (pacer = new CreatePacer(config.createsPerMinute)));
  return pacer;
}
