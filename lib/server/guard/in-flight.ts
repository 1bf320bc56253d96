import "server-only";
// REPLICATE_MAX_IN_FLIGHT: requests this process serves at once. Past it the answer is 503 with
// Retry-After, before the body is read and before anything reaches Replicate, so a flood costs
// neither memory nor credit. A slot is held until the answer ends: for an event stream, until the
// stream closes or the client leaves.

import { Problem } from "@/lib/server/problem";

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
      throw new Problem(
        503,
        "Server busy",
        `This server is already serving ${max} ${this.what}; try again shortly.`,
        { headers: { "Retry-After": String(BUSY_RETRY_AFTER_SECONDS) } },
      );
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

/** The process's one counter. */
export const inFlight = new InFlightLimit();

/** Webhook deliveries being read and handled; each also holds a slot of `inFlight`. */
export const webhooksInFlight = new InFlightLimit("webhook deliveries at once (REPLICATE_WEBHOOK_MAX_IN_FLIGHT)");
