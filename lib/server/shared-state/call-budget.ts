import "server-only";
import type { RateDecision, RateLimitStore } from "../guard/rate-limit";
import type { RateRule } from "../guard/rate-rule";
import { CallAborted } from "../replicate/replicate-errors";
import type { Clock } from "../clock";

/**
 * The account's budget of calls a minute (REPLICATE_POLL_BUDGET_PER_MINUTE), shared by every
 * instance: a smooth rate with a second's worth of burst, like `TokenBucket`, kept as a GCRA in a
 * `RateLimitStore` under one account-wide key. With the Redis store, the polls of all instances
 * together stay within the budget: in any minute at most `perMinute` plus the burst.
 */
export class CallBudget {
  private readonly rule: RateRule;

  constructor(
    private readonly store: RateLimitStore,
    readonly perMinute: number,
    private readonly key = "account:poll-budget",
  ) {
    // A second's worth of burst: enough for a round, never a minute's worth at once.
    const burst = Math.max(1, Math.floor(perMinute / 60));
    this.rule = { limit: burst, windowMs: (burst * 60_000) / perMinute, text: `${perMinute}/min` };
  }

  /** One call now if the budget has one (for optional calls); else when the next one is due. */
  tryTake(now: number): Promise<RateDecision> {
    return Promise.resolve(this.store.take(this.key, this.rule, now));
  }

  /** Waits for a call's worth of budget, or throws `CallAborted` once `signal` aborts. */
  async take(clock: Clock, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw new CallAborted();
      const decision = await this.tryTake(clock.now());
      if (decision.allowed) return;
      await clock.sleep(Math.ceil(decision.retryAfterMs), signal);
    }
  }
}
