import "server-only";
import type { RunOutcome } from "@/lib/server/replicate/run-prediction";
import { keepOutputs, type KeptPrediction } from "@/lib/server/storage/keep-outputs";
import { CopyFailure } from "@/lib/server/storage/output-source";
import { notePrediction } from "@/lib/server/telemetry";
import { predictionStatusCode, type Prediction } from "@/lib/shared/prediction";

/** The HTTP status of a run's outcome: 200 succeeded, 500 for anything else that ended it. */
export function outcomeStatus(outcome: RunOutcome): number {
  if (outcome.kind === "terminal" || outcome.kind === "detached") return predictionStatusCode(outcome.prediction);
  return 500;
}

export interface AnswerOptions {
  /** Epoch ms (the cap): output copies still running then are stopped and the answer says `outputs_kept: false`. */
  deadline?: number;
}

/**
 * A prediction as JSON; one still running says when to ask again. A succeeded one is answered
 * with its outputs kept first, when output storage is configured (never failing the answer, and
 * never waiting on copies past `deadline`).
 */
export async function predictionResponse(
  prediction: Prediction,
  status: number,
  headers: Record<string, string> = {},
  options: AnswerOptions = {},
): Promise<Response> {
  const retry: Record<string, string> = status === 202 ? { "Retry-After": "1" } : {};
  notePrediction(prediction);
  return Response.json(await keepOutputsBy(prediction, options.deadline), { status, headers: { ...retry, ...headers } });
}

/**
 * `keepOutputs`, its copies stopped at `deadline`: the answer of a request never waits on copies
 * past its cap. What was not copied is copied by the next read of the prediction (its handle).
 */
export async function keepOutputsBy(prediction: Prediction, deadline?: number): Promise<KeptPrediction> {
  if (deadline === undefined) return keepOutputs(prediction);
  const stop = new AbortController();
  const reason = new CopyFailure(
    "the cap (REPLICATE_TIMEOUT_SECONDS) was reached before the outputs were copied; reading the prediction again (its Content-Location) copies what is missing",
  );
  const timer = setTimeout(() => stop.abort(reason), Math.max(0, deadline - Date.now()));
  try {
    return await keepOutputs(prediction, { signal: stop.signal });
  } finally {
    clearTimeout(timer);
  }
}
