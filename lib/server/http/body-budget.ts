import "server-only";
// REPLICATE_BODY_BUDGET_BYTES: the request body bytes this whole process holds at once, summed
// over every request in flight. A body's bytes are counted as they arrive (what `Content-Length`
// declares is not: a connection that declares much and sends nothing holds nothing) until its
// answer ends, because the parsed copies live that long.
// Past the budget the answer is 503 with Retry-After, so the in-flight cap times the largest body
// can never exhaust the machine's memory.

import { BUSY_RETRY_AFTER_SECONDS } from "../guard/in-flight";
import { Problem } from "../problem";

export class BodyBudget {
  private held = 0;

  /** Counts `bytes` against the budget of `capacity`, or throws 503 when they do not fit. */
  take(bytes: number, capacity: number): void {
    if (this.held + bytes > capacity) {
      throw new Problem(
        503,
        "Server busy",
        `This server is already holding ${capacity} bytes of request bodies (REPLICATE_BODY_BUDGET_BYTES); try again shortly.`,
        { headers: { "Retry-After": String(BUSY_RETRY_AFTER_SECONDS) } },
      );
    }
    this.held += bytes;
  }

  give(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }

  get current(): number {
    return this.held;
  }
}
