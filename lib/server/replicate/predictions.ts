import "server-only";
import type { Config } from "@/lib/server/config";
import { Problem } from "@/lib/server/problem";
import { callReplicate, type CallStats } from "@/lib/server/replicate/transport";
import { CreatePacer } from "@/lib/server/replicate/create-pacer";
import { isPrediction, PREDICTION_ID, type Prediction } from "@/lib/shared/prediction";

/** Replicate's predictions resource: create, get, cancel. One function an endpoint, no policy. */

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
  const pacer = createPacerFor(config);
  await waitForSlot(pacer.reserve(), options.deadline);
  const headers: Record<string, string> = {};
  if (options.waitSeconds) headers.Prefer = `wait=${options.waitSeconds}`;
  if (options.cancelAfterSeconds) headers["Cancel-After"] = `${Math.max(5, Math.ceil(options.cancelAfterSeconds))}s`;
  return callReplicate<Prediction>(config, {
    method: "POST",
    path,
    body: { ...body, ...options.extra },
    headers,
    idempotent: false,
    deadline: options.deadline,
    // A held create answers after up to N s; past that only a dead connection is waited for.
    timeoutMs: ((options.waitSeconds ?? 0) + 30) * 1000,
    accept: isPrediction,
    stats: options.stats,
    // A throttled create was not accepted: retry it in the next free slot, until the deadline.
    retries: 1000,
    onThrottled: (plannedMs) => {
      pacer.throttled(plannedMs);
      return pacer.reserve(Date.now(), Date.now() + plannedMs);
    },
  }).then((answer) => answer.data);
}

async function waitForSlot(waitMs: number, deadline: number): Promise<void> {
  if (waitMs <= 0) return;
  if (Date.now() + waitMs > deadline) {
    const seconds = Math.ceil(waitMs / 1000);
    throw new Problem(429, "Too many predictions", `Replicate is throttling this account's creates; try again in ~${seconds}s.`, {
      headers: { "Retry-After": String(seconds) },
    });
  }
  await new Promise((resolve) => setTimeout(resolve, waitMs));
}

const pacers = new WeakMap<Config, CreatePacer>();

function createPacerFor(config: Config): CreatePacer {
  let pacer = pacers.get(config);
  if (!pacer) pacers.set(config, (pacer = new CreatePacer(config.createsPerMinute)));
  return pacer;
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
