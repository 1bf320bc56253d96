import type { SimPrediction } from "./sim-prediction";

/**
 * The only timers the simulator runs: request holds (Prefer: wait, latency, slow faults), open event
 * streams and webhook watchers. All of them go through here so `shutdown()` can end them at once.
 */

/** Why a wait ended ("time" also covers reaching the prediction's scheduled end: callers re-read its state). */
export type WakeReason = "time" | "changed" | "aborted" | "shutdown";

// setTimeout overflows past 2^31-1 ms; longer waits wake early and callers loop.
const MAX_TIMER_MS = 2_147_483_647;

export interface WaitOptions {
  /** Wake early when this prediction's ending changes or is reached. */
  prediction?: SimPrediction;
  /** Wake early when this fires (a client that went away). */
  signal?: AbortSignal | null;
}

export class Scheduler {
  private readonly wakers = new Set<(reason: WakeReason) => void>();

  /** Resolves at `until` (epoch ms), at the prediction's end, on abort or on shutdown, whichever is first. */
  waitUntil(until: number, { prediction, signal }: WaitOptions = {}): Promise<WakeReason> {
    const wakeAt = Math.min(until, prediction ? prediction.ending().at : Infinity);
    const delay = wakeAt - Date.now();
    if (signal?.aborted) return Promise.resolve("aborted");
    if (delay <= 0) return Promise.resolve("time");

    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = (reason: WakeReason) => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        unsubscribe?.();
        signal?.removeEventListener("abort", onAbort);
        resolve(reason);
      };
      const onAbort = () => wake("aborted");
      const unsubscribe = prediction?.onChange(() => wake("changed"));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.wakers.add(wake);
      if (delay !== Infinity) timer = setTimeout(() => wake("time"), Math.min(delay, MAX_TIMER_MS));
    });
  }

  sleep(ms: number, signal?: AbortSignal | null): Promise<WakeReason> {
    return this.waitUntil(Date.now() + ms, { signal });
  }

  /** Wakes every pending wait with "shutdown" (reset, server close). */
  shutdown(): void {
    for (const wake of [...this.wakers]) wake("shutdown");
  }

  get pendingCount(): number {
    return this.wakers.size;
  }
}
