import "server-only";
/**
 * Creates are sent at once until Replicate throttles one (429). From then on, for a minute after
 * the last 429, this process sends its creates one slot at a time, at the account's create rate:
 * a throttled create waits out its `Retry-After` in its own slot instead of every waiting create
 * retrying at the same instant and being throttled again. Like the poller, a cache of timing,
 * not state: a new process starts unpaced and learns from the first 429.
 */
const PACED_FOR_MS = 60_000;

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
