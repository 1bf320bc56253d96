import "server-only";
import type { Config } from "@/lib/server/config";
import { Problem } from "@/lib/server/problem";
import { callReplicate, type CallStats } from "@/lib/server/replicate/transport";
import { createRetry, waitForCreateSlot } from "@/lib/server/replicate/create-policy";
import { logWarning } from "@/lib/server/log";
import { PREDICTION_ID, type Prediction } from "@/lib/shared/prediction";
import { isUnknownStatus, readCreatedPrediction, readPrediction } from "@/lib/shared/replicate-objects";

/**
 * Replicate's predictions resource: create, get, cancel. One function an endpoint, no policy:
 * a create's pacing and retries are create-policy.ts's, a GET's or cancel's retry-policy.ts's.
 */

export interface CreateOptions {
  deadline: number;
  /** `Prefer: wait=N`; 0 or undefined sends no Prefer header. */
  waitSeconds?: number;
  /** `Cancel-After`: Replicate ends the prediction by itself past it, even if this server dies. */
  cancelAfterSeconds?: number;
  /** Extra fields of the create body (`webhook`, `webhook_events_filter`). */
  extra?: Record<string, unknown>;
  stats?: CallStats;
}

/**
 * The create is bounded by the cap like everything else: one still unanswered at the deadline is
 * given up (its `Cancel-After` ends the prediction upstream, if Replicate made one) and answered
 * as a 504 problem, within moments of the cap.
 */
export async function createPrediction(config: Config, input: Record<string, unknown>, options: CreateOptions): Promise<Prediction> {
  const { path, body } = createRequest(config, input);
  await waitForCreateSlot(config, options.deadline);
  const headers: Record<string, string> = {};
  if (options.waitSeconds) headers.Prefer = `wait=${options.waitSeconds}`;
  if (options.cancelAfterSeconds) headers["Cancel-After"] = `${Math.max(5, Math.ceil(options.cancelAfterSeconds))}s`;
  const atCap = new AbortController();
  const timer = setTimeout(() => atCap.abort(), Math.max(0, options.deadline - Date.now()));
  try {
    const answer = await callReplicate<Prediction>(config, {
      method: "POST",
      path,
      body: { ...body, ...options.extra },
      headers,
      ...createRetry(config),
      deadline: options.deadline,
      signal: atCap.signal,
      // A held create answers after up to N s; past that only a dead connection is waited for.
      timeoutMs: ((options.waitSeconds ?? 0) + 30) * 1000,
      // A readable id is enough: the prediction exists and is billed, so it is followed whatever else the answer lacks.
      accept: (data) => readCreatedPrediction(data) !== null,
      stats: options.stats,
    });
    return noted(config, answer.data);
  } catch (error) {
    if (atCap.signal.aborted) throw createTimedOut(config, options.cancelAfterSeconds);
    throw explainTarget(config, error);
  } finally {
    clearTimeout(timer);
  }
}

function createTimedOut(config: Config, cancelAfterSeconds: number | undefined): Problem {
  const after = cancelAfterSeconds ? ` If Replicate made the prediction, its Cancel-After (${Math.ceil(cancelAfterSeconds)} s) ends it.` : "";
  return new Problem(504, "Prediction timed out", `Replicate did not answer the create within ${config.timeoutSeconds} s (REPLICATE_TIMEOUT_SECONDS).${after}`);
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

const statusesLogged = new WeakMap<Config, Set<string>>();

/** A status the route does not know is waited on like a running one, and logged once (per status). */
function noted(config: Config, prediction: Prediction): Prediction {
  if (!isUnknownStatus(prediction.status)) return prediction;
  const status = typeof prediction.status === "string" ? prediction.status.slice(0, 40) : `(${typeof prediction.status})`;
  let logged = statusesLogged.get(config);
  if (!logged) statusesLogged.set(config, (logged = new Set()));
  if (!logged.has(status) && logged.size < 100) {
    logged.add(status);
    logWarning("unknown_status", `Replicate answered a prediction with status ${JSON.stringify(status)}, which this route does not know: it waits on it like a running one, within REPLICATE_TIMEOUT_SECONDS.`);
  }
  return prediction;
}

/** An id goes into a URL only once it is known to be an id: nothing can steer a call elsewhere. */
function checkedId(id: string): string {
  if (!PREDICTION_ID.test(id)) throw new Error(`Not a prediction id: ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}
