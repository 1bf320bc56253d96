/** A token bucket refilling continuously: `perMinute` tokens a minute, at most `capacity` saved up. */

// Refill is fractional; without a tolerance 0.15 * 6 = 0.8999999999999999 would cost a whole extra second.
const EPSILON = 1e-9;

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perMinute: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = Date.now();
  }

  /** Takes one token, or tells how many whole seconds until one is available. */
  take(): { ok: true } | { ok: false; retryAfterSeconds: number } {
    this.refill();
    if (this.tokens >= 1 - EPSILON) {
      this.tokens = Math.max(0, this.tokens - 1);
      return { ok: true };
    }
    const perSecond = this.perMinute / 60;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / perSecond - EPSILON)) };
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 60_000) * this.perMinute);
    this.updatedAt = now;
  }
}
