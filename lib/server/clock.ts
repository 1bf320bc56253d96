import "server-only";
// The engine's one way to read the time and to wait: every module that waits or reads the clock
// takes it from its engine (`config.engine.clock`), so a test or an app passes one object in
// `createReplicateRoutes({ clock })` and every cap, poll round, budget and pacing slot follows it.
// Stores that count time take `now` as an argument, given by their caller from this clock.

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` (at once for 0 or less), or early once `signal` aborts: the caller checks it. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `onTimeout` after `ms` (a deadline's timer); returns its cancel. */
  startTimer(ms: number, onTimeout: () => void): () => void;
}

/** The process's own time: Date.now and setTimeout (which a test's fake timers replace). */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
    }),
  startTimer: (ms, onTimeout) => {
    const timer = setTimeout(onTimeout, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};
