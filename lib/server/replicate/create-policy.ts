import "server-only";
// The create policy, all of it: when a create may be retried, how it waits for a slot, and how long.
//
// - When: only after a 429. A throttled create was not accepted; after a 5xx or a network error
//   the prediction may exist, and a second create would run (and bill) the model twice.
// - The slot: creates are sent at once until Replicate throttles one. From then on, for a minute
//   after the last 429, this process sends its creates one slot at a time, at the account's create
//   rate (REPLICATE_CREATES_PER_MINUTE): a throttled create waits out its `Retry-After` (or the
//   `~Ns` hint, else backoff) in its own slot, instead of every waiting create retrying at the same
//   instant and being throttled again.
// - How long: as long as the request's deadline allows (at most MAX_CREATE_RETRIES retries). A
//   create whose slot lies past the deadline is not sent: it is answered 429 with `Retry-After`.
//
// The pacer is a cache of timing, not state: a new process starts unpaced and learns from the
// first 429. The clock (`now`, `sleep`) can be injected; it defaults to Date.now and setTimeout.

import type { Config } from "../config";
import { Problem } from "../problem";
import { retryWaitMs, type FailedAttempt, type RetryContext } from "./retry-policy";
import type { ReplicateCall } from "./transport";
import { MemoryCreatePacing, type CreatePacing } from "../shared-state/create-pacing";
import { SharedStateUnavailable } from "../shared-state/redis-connection";

export const MAX_CREATE_RETRIES = 1000;

/** The caller went away before the create was sent: nothing was created, nothing is answered to anyone. */
export function clientGone(): Problem {
  return new Problem(
    499,
    "Client closed request",
    "The client went away before the prediction was created; nothing was created.",
    {
      nothingCreated: true,
    },
  );
}

/**
 * Milliseconds before retrying a failed create (in its own slot), or null when it must not be
 * retried. Shared pacing that cannot be reached means no retry: the 429 is answered as it came.
 */
export async function planCreateRetry(
  failure: FailedAttempt,
  context: RetryContext,
  pacing: CreatePacing,
): Promise<number | null> {
  if (failure.status !== 429 || context.attempt > MAX_CREATE_RETRIES) return null;
  const asked = retryWaitMs(failure, context);
  if (context.now + asked > context.deadline) return null;
  let wait: number;
  try {
    await pacing.throttled(asked, context.now);
    wait = await pacing.reserve(context.now, context.now + asked);
  } catch (error) {
    if (error instanceof SharedStateUnavailable) return null;
    throw error;
  }
  return context.now + wait > context.deadline ? null : wait;
}

/**
 * Waits for this create's slot; throws a 429 Problem when the slot lies past the deadline, and
 * stops (a 499 problem, nothing sent) when `signal` aborts: a caller who left costs no create.
 * Pacing is timing, not a guard of spend: when the account's pacing (REDIS_URL) cannot be reached
 * the create goes unpaced, and Replicate's own 429 still paces it (the guards, rate limit and
 * Idempotency-Key, answer 503 instead).
 */
export async function waitForCreateSlot(config: Config, deadline: number, signal?: AbortSignal): Promise<void> {
  const { clock } = config.engine;
  if (signal?.aborted) throw clientGone();
  const now = clock.now();
  const waitMs = await Promise.resolve(pacingFor(config).reserve(now)).catch((error: unknown) => {
    if (error instanceof SharedStateUnavailable) return 0;
    throw error;
  });
  if (waitMs <= 0) return;
  if (now + waitMs > deadline) {
    const seconds = Math.ceil(waitMs / 1000);
    throw new Problem(429, "Too many predictions", `Replicate is throttling this account's creates; try again in ~${seconds}s.`, {
      headers: { "Retry-After": String(seconds) },
      nothingCreated: true,
    });
  }
  await clock.sleep(waitMs, signal);
  if (signal?.aborted) throw clientGone();
}

/** How long a cancel may take once we have decided to give up: the answer waits for it. */
export const CANCEL_BUDGET_MS = 1_000;
/** A sync create's `Cancel-After` ends the prediction at most this long past the cap. */
export const CANCEL_AFTER_PAST_CAP_SECONDS = 5;

/**
 * The `Prefer: wait` of a create sent at `now`: at most `maxSeconds`, and over early enough that
 * its answer arrives, and a cancel can be sent, before the deadline (whole seconds, rounded down:
 * Replicate takes 1..60). Less than a second left: no hold. Computed for each attempt, so a create
 * retried after a slot wait holds only what is left.
 */
export function holdSeconds(maxSeconds: number, deadline: number, now: number): number {
  const left = Math.floor((deadline - now - CANCEL_BUDGET_MS) / 1000);
  const hold = Math.min(maxSeconds, 60, left);
  return hold >= 1 ? hold : 0;
}

/**
 * The `Cancel-After` of a sync create sent at `now` (whole seconds, Replicate's minimum 5): the
 * prediction ends by itself at most CANCEL_AFTER_PAST_CAP_SECONDS past the deadline, even if this
 * server dies or never learns its id.
 */
export function capCancelAfterSeconds(deadline: number, now: number): number {
  return Math.max(5, Math.floor((deadline - now) / 1000) + CANCEL_AFTER_PAST_CAP_SECONDS);
}

/** The retry part of a create's call: not idempotent, retried only as planCreateRetry says. */
export function createRetry(config: Config): Pick<ReplicateCall, "idempotent" | "retry"> {
  const pacing = pacingFor(config);
  return { idempotent: false, retry: (failure, context) => planCreateRetry(failure, context, pacing) };
}

/**
 * The account's pacing: on Redis one sequence for every instance; in one process a `MemoryCreatePacing`
 * per configuration, as before shared state existed (a changed configuration starts unpaced).
 */
function pacingFor(config: Config): CreatePacing {
  const { engine } = config;
  const state = engine.shared();
  if (engine.createPacing?.state !== state) {
    const pacing =
      state.kind === "redis" ? state.createPacing(config.createsPerMinute) : new MemoryCreatePacing(config.createsPerMinute);
    engine.createPacing = { state, pacing };
  }
  return engine.createPacing.pacing;
}
