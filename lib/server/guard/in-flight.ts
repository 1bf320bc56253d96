import "server-only";
// REPLICATE_MAX_IN_FLIGHT: requests this process serves at once. Past it the answer is 503 with
// Retry-After, before the body is read and before anything reaches Replicate, so a flood costs
// neither memory nor credit. A slot is held until the answer ends: for an event stream, until the
// stream closes or the client leaves.

import { Problem } from "../problem";

export type Release = () => void;

/** Predictions usually end within seconds: a client asked to come back in 2 s finds a slot. */
export const BUSY_RETRY_AFTER_SECONDS = 2;

export class InFlightLimit {
  private count = 0;

  /** `what` is what is counted and the variable that sets its cap, for the 503's detail. */
  constructor(private readonly what = "requests at once (REPLICATE_MAX_IN_FLIGHT)") {}

  /** Takes a slot, or throws 503. The returned release is safe to call more than once. */
  acquire(max: number): Release {
    if (this.count >= max) {
      throw new Problem(503, "Server busy", `This server is already serving ${max} ${this.what}; try again shortly.`, {
        headers: { "Retry-After": String(BUSY_RETRY_AFTER_SECONDS) },
      });
    }
    this.count += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count -= 1;
    };
  }

  get current(): number {
    return this.count;
  }
}

/** A delivery's body, as far as its slot needs to know it. */
export interface SlowBody {
  /** Ends the read of a body not yet arrived whole; false once it has been read. */
  cutOff(problem: Problem): boolean;
}

/**
 * Replicate sends a delivery's few KB at once: a body still arriving this long after its request
 * came is not Replicate's, and gives its slot up to a delivery that needs one.
 */
export const SLOW_DELIVERY_MS = 1000;

/**
 * REPLICATE_WEBHOOK_MAX_IN_FLIGHT: webhook deliveries read and handled at once, so a flood of
 * unsigned ones holds at most that many slots (and that many bodies). The signature can only be
 * checked once the body is whole, so a sender of junk that trickles its bodies could otherwise
 * keep every slot for the body time limit, renewably, and real deliveries out past Replicate's
 * retries: when the slots are full, a new delivery takes the slot of the oldest one whose body is
 * still arriving after SLOW_DELIVERY_MS (answered 408). A delivery whose body has arrived keeps
 * its slot until it is answered.
 */
export class WebhookSlots {
  private readonly holders = new Set<{ since: number; body: SlowBody }>();

  constructor(private readonly clock: () => number = () => Date.now()) {}

  /** Takes a slot for a delivery, or throws 503. The returned release is safe to call more than once. */
  acquire(max: number, body: SlowBody): Release {
    const now = this.clock();
    if (this.holders.size >= max && !this.evictSlow(now)) {
      throw new Problem(
        503,
        "Server busy",
        `This server is already serving ${max} webhook deliveries at once (REPLICATE_WEBHOOK_MAX_IN_FLIGHT); try again shortly.`,
        { headers: { "Retry-After": String(BUSY_RETRY_AFTER_SECONDS) } },
      );
    }
    const holder = { since: now, body };
    this.holders.add(holder);
    return () => void this.holders.delete(holder);
  }

  get current(): number {
    return this.holders.size;
  }

  /** Frees the slot of the oldest delivery still trickling its body, if one is slow enough. */
  private evictSlow(now: number): boolean {
    // A Set iterates in insertion order: oldest first.
    for (const holder of this.holders) {
      if (now - holder.since < SLOW_DELIVERY_MS) return false;
      const problem = new Problem(
        408,
        "Request timeout",
        `The delivery's body was still arriving after ${SLOW_DELIVERY_MS / 1000} s while other deliveries waited; send it again.`,
      );
      if (holder.body.cutOff(problem)) {
        this.holders.delete(holder);
        return true;
      }
    }
    return false;
  }
}
