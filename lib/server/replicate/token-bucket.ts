import "server-only";
import type { Clock } from "../clock";
import { CallAborted } from "./replicate-errors";

/** The poller's call budget: calls a minute, refilled continuously; `take` waits for a token rather than drawing a 429. */

export class TokenBucket {
  private tokens: number;
  private updated: number;
  private readonly perMs: number;
  private readonly capacity: number;

  constructor(
    perMinute: number,
    private readonly clock: Clock,
  ) {
    this.updated = clock.now();
    this.perMs = perMinute / 60_000;
    // A second's worth of burst: enough for a round, never a minute's worth at once.
    this.capacity = Math.max(1, perMinute / 60);
    this.tokens = this.capacity;
  }

  /** A token now if one is there (for optional calls), without waiting. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  async take(signal?: AbortSignal): Promise<void> {
    while (!this.tryTake()) {
      if (signal?.aborted) throw new CallAborted();
      await this.clock.sleep(Math.ceil((1 - this.tokens) / this.perMs), signal);
    }
  }

  private refill(): void {
    const now = this.clock.now();
    // A clock stepped back (NTP, or a test's fake clock) refills nothing; it never drains.
    this.tokens = Math.min(this.capacity, this.tokens + Math.max(0, now - this.updated) * this.perMs);
    this.updated = now;
  }
}
