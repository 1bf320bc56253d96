import "server-only";
import type { Config } from "@/lib/server/config";
import { callReplicate, type CallStats } from "@/lib/server/replicate/transport";
import { createRetry, waitForCreateSlot } from "@/lib/server/replicate/create-policy";
import { isPrediction, PREDICTION_ID, type Prediction } from "@/lib/shared/prediction";

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

export async function createPrediction(config: Config, input: Record<string, unknown>, options: CreateOptions): Promise<Prediction> {
  const { path, body } = createRequest(config, input);
  await waitForCreateSlot(config, options.deadline);
  const headers: Record<string, string> = {};
  if (options.waitSeconds) headers.Prefer = `wait=${options.waitSeconds}`;
  if (options.cancelAfterSeconds) headers["Cancel-After"] = `${Math.max(5, Math.ceil(options.cancelAfterSeconds))}s`;
  return callReplicate<Prediction>(config, {
    method: "POST",
    path,
    body: { ...body, ...options.extra },
    headers,
    ...createRetry(config),
    deadline: options.deadline,
    // A held create answers after up to N s; past that only a dead connection is waited for.
    timeoutMs: ((options.waitSeconds ?? 0) + 30) * 1000,
    accept: isPrediction,
    stats: options.stats,
  }).then((answer) => answer.data);
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
    accept: isPrediction,
    timeoutMs: 10_000,
    ...options,
  }).then((answer) => answer.data);
}

export function cancelPrediction(config: Config, id: string, options: IdempotentOptions): Promise<Prediction> {
  return callReplicate<Prediction>(config, {
    method: "POST",
    path: `/predictions/${checkedId(id)}/cancel`,
    idempotent: true,
    accept: isPrediction,
    timeoutMs: 10_000,
    ...options,
  }).then((answer) => answer.data);
}

/** An id goes into a URL only once it is known to be an id: nothing can steer a call elsewhere. */
function checkedId(id: string): string {
  if (!PREDICTION_ID.test(id)) throw new Error(`Not a prediction id: ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}
