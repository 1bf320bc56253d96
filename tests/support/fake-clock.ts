import { afterEach, beforeEach, vi } from "vitest";

/**
 * Fake time for tests that run the route against the in-process simulator: Date, setTimeout and
 * setInterval are vitest's fakes, so every wait (poll rounds, Retry-After, pacing slots, the
 * simulator's run times) takes exactly its fake time however busy the machine is. setImmediate
 * and I/O stay real; `step` lets them run between two fake milliseconds.
 */

const FAKED = ["Date", "setTimeout", "clearTimeout", "setInterval", "clearInterval"] as const;

export function useFakeClock(start = new Date("2026-01-01T00:00:00Z")) {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: [...FAKED], now: start });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

/** One fake millisecond, then a real turn of the event loop for I/O and msw. */
async function step(ms = 1): Promise<void> {
  // A test that timed out has restored real timers: its driving loop must end, not run on.
  if (!vi.isFakeTimers()) throw new Error("the fake clock was uninstalled while a test still drove it");
  await vi.advanceTimersByTimeAsync(ms);
  await new Promise((resolve) => setImmediate(resolve));
}

/** Advances fake time until `promise` settles (at most `maxMs` fake ms), and returns it. */
export async function settle<T>(promise: Promise<T>, maxMs = 30_000): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let elapsed = 0; !done; elapsed += 1) {
    if (elapsed > maxMs) throw new Error(`not settled after ${maxMs} fake ms`);
    await step();
  }
  return promise;
}

/** Advances fake time until `condition` holds (at most `maxMs` fake ms). */
export async function advanceUntil(condition: () => boolean, maxMs = 10_000): Promise<void> {
  for (let elapsed = 0; !condition(); elapsed += 1) {
    if (elapsed > maxMs) throw new Error(`condition not met after ${maxMs} fake ms`);
    await step();
  }
}

/** Lets `ms` fake milliseconds pass, a millisecond at a time, with I/O running in between. */
export async function advance(ms: number): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += 1) await step();
}

/** Resolves when `condition` holds, checking on each turn of the event loop (no timers: they may be fake). */
export async function turnsUntil(condition: () => boolean): Promise<void> {
  for (let turn = 0; !condition(); turn += 1) {
    if (turn > 100_000) throw new Error("condition not met");
    await new Promise((resolve) => setImmediate(resolve));
  }
}
