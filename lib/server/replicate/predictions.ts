import "server-only";
// Replicate's predictions resource: create, get, cancel. One function an endpoint, no policy:
// a create's pacing and retries are create-policy.ts's, a GET's or cancel's retry-policy.ts's.

import { keepAlive } from "../after-answer";
import type { Config } from "../config";
import { Problem } from "../problem";
import { callReplicate, type CallStats } from "./transport";
import { capCancelAfterSeconds, clientGone, createRetry, holdSeconds, waitForCreateSlot } from "./create-policy";
import { CallAborted } from "./replicate-errors";
import { logWarning } from "../log";
import { PREDICTION_ID, type Prediction } from "../../shared/prediction";
import { isUnknownStatus, readCreatedPrediction, readPrediction } from "../../shared/replicate-objects";

export interface CreateOptions {
  deadline: number;
  /** Longest `Prefer: wait` hold (s); each attempt holds only what the deadline leaves (`holdSeconds`). 0: none. */
  waitSeconds?: number;
  /**
   * `Cancel-After`: Replicate ends the prediction by itself past it, even if this server dies. A
   * number of seconds, or "cap": at most 5 s past the deadline, whenever the create is sent.
   */
  cancelAfter?: number | "cap";
  /** The caller leaving: stops the slot and retry waits; a create already on the wire is never aborted. */
  signal?: AbortSignal;
  /** Extra fields of the create body (`webhook`, `webhook_events_filter`). */
  extra?: Record<string, unknown>;
  stats?: CallStats;
  /**
   * A create given up at the cap answered after all: the prediction it made, then the cancel's
   * answer (so its spend reservation is bound and settled).
   */
  onLateAnswer?: (prediction: Prediction) => void;
}

/**
 * The create is bounded by the cap like everything else. No attempt is sent at or past the
 * deadline, nor once the caller has left (both answer a problem that created nothing). One still
 * on the wire at the deadline is answered as a 504 at once and left to finish: when its answer
 * comes, the prediction it made is canceled (and its `Cancel-After` ends it anyway).
 */
export async function createPrediction(
  config: Config,
  input: Record<string, unknown>,
  options: CreateOptions,
): Promise<Prediction> {
  const { path, body } = createRequest(config, input);
  const { deadline, signal } = options;
  await waitForCreateSlot(config, deadline, signal);
  // Stops the waits between attempts (a 429's Retry-After), never an attempt on the wire: its
  // prediction would be lost and run on.
  const gate = new AbortController();
  let onWire = false;
  let stopping = false;
  const stop = () => {
    stopping = true;
    if (!onWire) gate.abort();
  };
  signal?.addEventListener("abort", stop, { once: true });
  const call = callReplicate<Prediction>(config, {
    method: "POST",
    path,
    body: { ...body, ...options.extra },
    ...createRetry(config),
    deadline,
    signal: gate.signal,
    beforeAttempt: () => {
      if (signal?.aborted) throw clientGone();
      const now = config.engine.clock.now();
      if (now >= deadline) throw createTimedOut(config, { sent: false });
      onWire = true;
      return attemptHeaders(options, now);
    },
    afterAttempt: () => {
      onWire = false;
      if (stopping) gate.abort();
    },
    // A held create answers after up to N s; past that only a dead connection is waited for.
    timeoutMs: ((options.waitSeconds ?? 0) + 30) * 1000,
    // A readable id is enough: the prediction exists and is billed, so it is followed whatever else the answer lacks.
    accept: (data) => readCreatedPrediction(data) !== null,
    stats: options.stats,
  }).then((answer) => noted(config, answer.data));
  const { clock } = config.engine;
  let cancelTimer = () => {};
  const atCap = new Promise<never>((_, reject) => {
    cancelTimer = clock.startTimer(deadline - clock.now(), () => {
      const sent = onWire;
      stop();
      reject(createTimedOut(config, { sent }));
    });
  });
  try {
    return await Promise.race([call, atCap]);
  } catch (error) {
    if (error instanceof CallAborted) throw signal?.aborted ? clientGone() : createTimedOut(config, { sent: false });
    if (error instanceof Problem && error.status === 504 && !error.nothingCreated) {
      // Given up at the cap while on the wire: whatever it made is canceled once its id is known.
      const late = call.then(async (created) => {
        options.onLateAnswer?.(created);
        const canceled = await cancelPrediction(config, created.id, { deadline: clock.now() + 10_000, timeoutMs: 10_000 });
        options.onLateAnswer?.(canceled);
      });
      // Kept alive past the 504 on hosts that freeze after answering; it bounds itself (the call's timeout, the cancel's 10 s).
      keepAlive(
        "cancel a create given up at the cap",
        late.catch(() => undefined),
      );
    }
    throw explainTarget(config, error);
  } finally {
    cancelTimer();
    signal?.removeEventListener("abort", stop);
  }
}

/** The headers of one create attempt sent at `now`: its hold and Cancel-After shrink as the deadline nears. */
function attemptHeaders(options: CreateOptions, now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  const hold = options.waitSeconds ? holdSeconds(options.waitSeconds, options.deadline, now) : 0;
  if (hold > 0) headers.Prefer = `wait=${hold}`;
  const cancelAfter = options.cancelAfter === "cap" ? capCancelAfterSeconds(options.deadline, now) : options.cancelAfter;
  if (cancelAfter) headers["Cancel-After"] = `${Math.max(5, Math.ceil(cancelAfter))}s`;
  return headers;
}

function createTimedOut(config: Config, { sent }: { sent: boolean }): Problem {
  const cap = `${config.timeoutSeconds} s (REPLICATE_TIMEOUT_SECONDS)`;
  if (!sent) {
    return new Problem(
      504,
      "Prediction timed out",
      `The cap of ${cap} was reached before the create was sent; nothing was created.`,
      {
        nothingCreated: true,
      },
    );
  }
  return new Problem(
    504,
    "Prediction timed out",
    `Replicate did not answer the create within ${cap}. If it made the prediction, it is canceled as soon as its answer arrives, and its Cancel-After ends it anyway.`,
  );
}

/**
 * `POST /models/{owner}/{name}/predictions` runs official models only; for any other model Replicate
 * answers 404 or 422 "The specified version does not exist", which says nothing about the fix.
 */
function explainTarget(config: Config, error: unknown): unknown {
  const target = config.target;
  if (target.kind !== "model" || !(error instanceof Problem)) return error;
  const versionMissing = error.status === 422 && /version does not exist/i.test(error.detail);
  if (error.status !== 404 && !versionMissing) return error;
  const model = `${target.owner}/${target.name}`;
  return new Problem(
    error.status,
    "REPLICATE_MODEL is not an official model",
    `Replicate answered ${error.status} to a create for REPLICATE_MODEL=${model}: that endpoint runs official models only. ` +
      `Set REPLICATE_MODEL_VERSION=${model}:<version id> instead (and unset REPLICATE_MODEL); \`npm run model -- ${model}\` prints it.`,
  );
}

/** The endpoint and body for the configured target: a version, an official model or a deployment. */
export function createRequest(config: Config, input: Record<string, unknown>): { path: string; body: Record<string, unknown> } {
  const target = config.target;
  if (target.kind === "version") return { path: "/predictions", body: { version: target.version, input } };
  const collection = target.kind === "model" ? "models" : "deployments";
  return { path: `/${collection}/${target.owner}/${target.name}/predictions`, body: { input } };
}

export interface IdempotentOptions {
  deadline: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  stats?: CallStats;
}

export function getPrediction(config: Config, id: string, options: IdempotentOptions): Promise<Prediction> {
  return callReplicate<Prediction>(config, {
    method: "GET",
    path: `/predictions/${checkedId(id)}`,
    idempotent: true,
    accept: isReplicatePrediction,
    timeoutMs: 10_000,
    ...options,
  }).then((answer) => noted(config, answer.data));
}

export function cancelPrediction(config: Config, id: string, options: IdempotentOptions): Promise<Prediction> {
  return callReplicate<Prediction>(config, {
    method: "POST",
    path: `/predictions/${checkedId(id)}/cancel`,
    idempotent: true,
    accept: isReplicatePrediction,
    timeoutMs: 10_000,
    ...options,
  }).then((answer) => noted(config, answer.data));
}

/** A readable `id` and `status` (lib/shared/replicate-objects.ts); without them an answer is garbled (retried on GET and cancel). */
export function isReplicatePrediction(data: unknown): data is Prediction {
  return readPrediction(data) !== null;
}

/** A status the route does not know is waited on like a running one, and logged once (per status). */
function noted(config: Config, prediction: Prediction): Prediction {
  if (!isUnknownStatus(prediction.status)) return prediction;
  const status = typeof prediction.status === "string" ? prediction.status.slice(0, 40) : `(${typeof prediction.status})`;
  const logged = config.engine.unknownStatusesLogged;
  if (!logged.has(status) && logged.size < 100) {
    logged.add(status);
    logWarning(
      "unknown_status",
      `Replicate answered a prediction with status ${JSON.stringify(status)}, which this route does not know: it waits on it like a running one, within REPLICATE_TIMEOUT_SECONDS.`,
    );
  }
  return prediction;
}

/** An id goes into a URL only once it is known to be an id: nothing can steer a call elsewhere. */
function checkedId(id: string): string {
  if (!PREDICTION_ID.test(id)) throw new Error(`Not a prediction id: ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}
