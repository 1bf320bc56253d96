import "server-only";
// The seed's story, made correct: create (held with `Prefer: wait` so short predictions end in
// one request), poll until a terminal status, and when the caller goes away or the cap is reached,
// stop and cancel upstream. A create already sent is never aborted: its id would be lost and the
// prediction would run on, billed; we let it answer, then cancel.

import type { Clock } from "../clock";
import type { Config } from "../config";
import type { CallStats } from "./transport";
import { CallAborted } from "./replicate-errors";
import { isTerminal, type Prediction } from "../../shared/prediction";
import { pollerFor } from "./poller";
import { CANCEL_BUDGET_MS } from "./create-policy";
import { cancelPrediction, createPrediction } from "./predictions";
import { SYNC_WEBHOOK_EVENTS, webhookFields } from "./webhooks";
import { Problem } from "../problem";
import { settleSpend } from "../spend-guard/spend-guard";
import { inCancel, inCreate, inWait, noteStarted, noteWaitEnd, waitVia } from "../telemetry";

export type RunOutcome =
  /** succeeded, failed, canceled or aborted upstream */
  | { kind: "terminal"; prediction: Prediction }
  /** the cap was reached: the prediction was canceled, `error` says so */
  | { kind: "timed-out"; prediction: Prediction }
  /** the caller went away: the prediction was canceled */
  | { kind: "client-gone"; prediction: Prediction }
  /** following stopped (cap or caller gone) and the prediction runs on, as asked: re-attach later */
  | { kind: "detached"; prediction: Prediction };

export interface RunOptions {
  /** Aborts when the caller goes away (`request.signal`). */
  signal?: AbortSignal;
  /** Epoch ms at which the request arrived: the cap counts from here. */
  receivedAt: number;
  /** Every state seen, create answer included (for live progress). */
  onUpdate?: (prediction: Prediction) => void;
  stats?: CallStats;
  /** Hold the create with `Prefer: wait` (default). A live stream wants the id at once instead. */
  holdCreate?: boolean;
  /** Every poll must carry the logs (live progress), so it is a GET, not the list endpoint. */
  needsLogs?: boolean;
  /** Cancel the prediction when we stop waiting for it (default). Re-attached followers do not. */
  cancelWhenStopped?: boolean;
  /**
   * The caller left: asked before the cancel; true when someone else now follows the prediction
   * (a retry with the same Idempotency-Key), which then is not canceled.
   */
  handOver?: (deadline: number) => Promise<boolean>;
}

export async function runPrediction(config: Config, input: Record<string, unknown>, options: RunOptions): Promise<RunOutcome> {
  const created = await createForRun(config, input, options);
  return followPrediction(config, created, { ...options, deadline: deadlineOf(config, options.receivedAt) });
}

/**
 * The create of a run, alone: a caller who wants the id before following it (a live stream names
 * it in its headers) follows it with `followPrediction`. A caller gone before it is sent costs
 * no create (a 499 problem).
 */
export async function createForRun(
  config: Config,
  input: Record<string, unknown>,
  options: Pick<RunOptions, "signal" | "receivedAt" | "stats" | "holdCreate" | "onUpdate">,
): Promise<Prediction> {
  const waitSeconds = options.holdCreate === false ? 0 : config.syncWaitSeconds;
  return inCreate(waitSeconds, () =>
    createPrediction(config, input, {
      deadline: deadlineOf(config, options.receivedAt),
      // The hold ends early enough to cancel before the cap; Cancel-After ends it at most 5 s past the cap.
      waitSeconds,
      cancelAfter: "cap",
      signal: options.signal,
      // With a public origin the end arrives by webhook (on any instance), not at the next poll.
      extra: webhookFields(config, SYNC_WEBHOOK_EVENTS),
      stats: options.stats,
      onLateAnswer: options.onUpdate,
    }),
  );
}

/** Epoch ms of the cap of a request received at `receivedAt`. */
export function deadlineOf(config: Config, receivedAt: number): number {
  return receivedAt + config.timeoutSeconds * 1000;
}

/**
 * Async mode: create and answer at once; nobody waits in-process, so the create carries
 * `Cancel-After` (REPLICATE_ASYNC_TIMEOUT_SECONDS) and Replicate ends it by itself past that. A
 * client that left before the create answered will never learn the id: that prediction is
 * canceled at once instead of running on, billed, for nobody.
 */
export async function startPrediction(
  config: Config,
  input: Record<string, unknown>,
  options: { signal?: AbortSignal; receivedAt: number; stats?: CallStats; extra?: Record<string, unknown> },
): Promise<Prediction> {
  const created = await inCreate(0, () =>
    createPrediction(config, input, {
      deadline: deadlineOf(config, options.receivedAt),
      cancelAfter: config.asyncTimeoutSeconds,
      signal: options.signal,
      extra: options.extra,
      stats: options.stats,
    }),
  );
  noteStarted(created);
  if (!options.signal?.aborted) return created;
  return (await cancelQuietly(config, created.id, options.stats)) ?? created;
}

/**
 * Poll a created prediction until it ends, the cap passes or the caller leaves. An end seen here
 * settles its spend reservation (lib/server/spend-guard).
 */
export async function followPrediction(config: Config, created: Prediction, options: FollowOptions): Promise<RunOutcome> {
  const outcome = await follow(config, created, options);
  noteWaitEnd(outcome.kind, outcome.prediction);
  await settleSpend(outcome.prediction, config);
  return outcome;
}

type FollowOptions = Omit<RunOptions, "receivedAt"> & { deadline: number };

async function follow(config: Config, created: Prediction, options: FollowOptions): Promise<RunOutcome> {
  // Ended already (a held create answered the end, the common case inside the hold): nothing to
  // wait on, so no stop signal, timer or listener is made and undone, once per answer of a crowd.
  if (isTerminal(created)) {
    options.onUpdate?.(created);
    return { kind: "terminal", prediction: created };
  }
  const { deadline, stats } = options;
  const clientSignal = options.signal ?? new AbortController().signal;
  const poller = pollerFor(config);
  const stop = stopSignal(config.engine.clock, clientSignal, deadline);
  const startBy = startDeadline(config, created);
  let current = created;
  let notStarted = false;
  options.onUpdate?.(current);
  try {
    while (!isTerminal(current) && !stop.signal.aborted) {
      // The start watchdog (REPLICATE_START_TIMEOUT_SECONDS): a wait while it is `starting` ends at startBy.
      const watched = startBy !== undefined && current.status === "starting";
      if (watched && config.engine.clock.now() >= startBy) {
        notStarted = true;
        break;
      }
      // A JSON wait (it needs no logs each round: no live view) never shows partial output, its
      // answer is the ended prediction's: not kept while it waits, so a stale held answer's data
      // URLs (hundreds of KB each) are freed at once.
      if (!options.needsLogs) current = withoutOutput(current);
      const waited = current;
      const wait = watched ? stopSignal(config.engine.clock, stop.signal, startBy) : { signal: stop.signal, dispose: () => {} };
      try {
        current = await inWait(waitVia(config, waited, options.needsLogs), stats?.polls ?? 0, () =>
          poller.next(waited, { signal: wait.signal, deadline, stats, needsLogs: options.needsLogs }),
        );
      } catch (error) {
        if (!(watched && error instanceof CallAborted && !stop.signal.aborted)) throw error;
        notStarted = true;
        break;
      } finally {
        wait.dispose();
      }
      if (stats) stats.polls = (stats.polls ?? 0) + 1;
      options.onUpdate?.(current);
    }
  } catch (error) {
    if (!(error instanceof CallAborted)) {
      // We stop waiting for it: it must not run on, billed, with nobody to read its output.
      if (options.cancelWhenStopped !== false) await cancelAndSettle(config, current.id, stats);
      throw error;
    }
  } finally {
    stop.dispose();
  }
  if (notStarted) return cancelNotStarted(config, current, options);
  if (isTerminal(current)) return { kind: "terminal", prediction: current };
  if (options.cancelWhenStopped === false) return { kind: "detached", prediction: current };
  if (clientSignal.aborted && options.handOver && (await options.handOver(deadline)))
    return { kind: "detached", prediction: current };
  const canceled = await cancelQuietly(config, current.id, stats);
  // It may have ended on its own in the meantime: then that is the answer.
  if (canceled && isTerminal(canceled) && canceled.status !== "canceled") return { kind: "terminal", prediction: canceled };
  if (clientSignal.aborted) return { kind: "client-gone", prediction: canceled ?? current };
  const error = canceled
    ? `Prediction timed out after ${config.timeoutSeconds} s and was canceled.`
    : `Prediction timed out after ${config.timeoutSeconds} s; canceling it failed, so Replicate ends it at its Cancel-After.`;
  return { kind: "timed-out", prediction: { ...(canceled ?? current), error } };
}

/**
 * Epoch ms by which a prediction must have left `starting` (REPLICATE_START_TIMEOUT_SECONDS),
 * counted from its `created_at` (never later than now), or undefined when the watchdog is off.
 */
export function startDeadline(config: Config, created: Prediction): number | undefined {
  if (config.startTimeoutSeconds === undefined) return undefined;
  const createdAt = Date.parse(created.created_at ?? "");
  const now = config.engine.clock.now();
  const since = Number.isFinite(createdAt) ? Math.min(createdAt, now) : now;
  return since + config.startTimeoutSeconds * 1000;
}

/**
 * The start watchdog fired: the prediction is canceled (Replicate does not bill a public model's
 * prediction that never started) and the answer is a 504 problem saying the model did not start
 * in time. One that started (or ended) in the meantime is followed no further: its cancel's answer
 * is settled, and a prediction that ended on its own is the answer.
 */
export async function cancelNotStarted(
  config: Config,
  current: Prediction,
  options: Pick<RunOptions, "onUpdate" | "stats">,
): Promise<RunOutcome> {
  const canceled = await cancelQuietly(config, current.id, options.stats);
  if (canceled) options.onUpdate?.(canceled);
  if (canceled && isTerminal(canceled) && canceled.status !== "canceled") return { kind: "terminal", prediction: canceled };
  if (canceled) await settleSpend(canceled, config);
  const seconds = config.startTimeoutSeconds;
  const what = canceled
    ? "It was canceled before it started: Replicate does not bill a public model for that."
    : "Canceling it failed: Replicate ends it at its Cancel-After.";
  throw new Problem(
    504,
    "Model did not start in time",
    `The model did not start within ${seconds} s (REPLICATE_START_TIMEOUT_SECONDS): it is probably booting a machine (a cold start). ${what} Try again in a minute.`,
    { extra: { prediction_id: current.id } },
  );
}

/**
 * Aborts when the caller leaves or the deadline passes. Hand-made rather than `AbortSignal.any`
 * + `AbortSignal.timeout`, whose timers and listeners would outlive every finished request.
 */
function stopSignal(clock: Clock, clientSignal: AbortSignal, deadline: number): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const cancelTimer = clock.startTimer(deadline - clock.now(), abort);
  if (clientSignal.aborted) controller.abort();
  clientSignal.addEventListener("abort", abort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      cancelTimer();
      clientSignal.removeEventListener("abort", abort);
    },
  };
}

function withoutOutput(prediction: Prediction): Prediction {
  return prediction.output == null ? prediction : { ...prediction, output: null };
}

/** Cancels a prediction nobody follows any more; its answer (the end) settles the spend reservation. */
export async function cancelAndSettle(config: Config, id: string, stats?: CallStats): Promise<void> {
  const canceled = await cancelQuietly(config, id, stats);
  if (canceled && isTerminal(canceled)) await settleSpend(canceled, config);
}

async function cancelQuietly(config: Config, id: string, stats?: CallStats): Promise<Prediction | undefined> {
  try {
    return await inCancel(id, () =>
      cancelPrediction(config, id, {
        deadline: config.engine.clock.now() + CANCEL_BUDGET_MS,
        timeoutMs: CANCEL_BUDGET_MS,
        stats,
      }),
    );
  } catch {
    return undefined;
  }
}
