import "server-only";
// Work that must happen after an answer has been sent (deleting uploaded input files, keeping a
// webhook's outputs) goes through here, never through a loose promise: a serverless host may
// freeze the function the moment its answer is sent, and keeps it alive only for work handed to
// Next's `after()` (the platform's `waitUntil`). Each piece of work is bounded: past `timeoutMs`
// its signal aborts and it is no longer waited for, so the function ends in time.
//
// Outside a request scope (a test calling a handler directly, a script) `after()` throws: the
// work then starts at once and is tracked, and `settleAfterAnswer()` waits for all of it.

import { after } from "next/server";
import { flushLog, logWarning } from "./log";
import { failed, inSpan } from "./telemetry";

export type AfterWork = (signal: AbortSignal) => Promise<unknown>;

export interface AfterOptions {
  /** The bound: the work's signal aborts then, and the work is given up. */
  timeoutMs: number;
}

const tracked = new Set<Promise<void>>();
const EXPIRED = Symbol("expired");

/** Runs `work` once the answer has been sent (or at once, tracked, outside a request scope). */
export function afterAnswer(name: string, work: AfterWork, options: AfterOptions): void {
  const task = () => bounded(name, work, options.timeoutMs);
  try {
    after(task);
    return;
  } catch {
    // Not in a request scope: no platform to hand it to.
  }
  const running = task();
  tracked.add(running);
  void running.finally(() => tracked.delete(running));
}

/**
 * Work already running (a write the answer does not wait for) that the host must not freeze
 * before it ends: `after(promise)` keeps the function alive for it. It must bound itself.
 */
export function keepAlive(name: string, running: Promise<unknown>): void {
  const settled = running
    .then(
      () => undefined,
      (error: unknown) =>
        logWarning("after_answer_failed", `${name}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 1000)),
    )
    .finally(flushLog);
  try {
    after(settled);
    return;
  } catch {
    // Not in a request scope: tracked instead.
  }
  tracked.add(settled);
  void settled.finally(() => tracked.delete(settled));
}

/** Resolves once every piece of work started outside a request scope has ended (tests, scripts). */
export async function settleAfterAnswer(): Promise<void> {
  while (tracked.size > 0) await Promise.all([...tracked]);
}

/** Never rejects: a failure or the bound is logged (one warning line), the answer was sent anyway. */
async function bounded(name: string, work: AfterWork, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<typeof EXPIRED>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`${name} took longer than ${timeoutMs} ms`));
      resolve(EXPIRED);
    }, timeoutMs);
  });
  try {
    await inSpan("replicate.after", { "replicate.after.work": name, "replicate.after.timeout_ms": timeoutMs }, async (span) => {
      const running = work(controller.signal);
      running.catch(() => undefined);
      if ((await Promise.race([running, expired])) === EXPIRED) {
        failed(span, new Error("expired"));
        span.setAttribute("replicate.after.expired", true);
        logWarning("after_answer_expired", `${name}: given up after ${timeoutMs} ms`);
      }
    });
  } catch (error) {
    logWarning(
      "after_answer_failed",
      `${name}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`.slice(0, 1000),
    );
  } finally {
    clearTimeout(timer);
    // Its lines out before the host may freeze the function (log lines wait for the end of the turn).
    flushLog();
  }
}
