import "server-only";
import type { RunOutcome } from "@/lib/server/replicate/run-prediction";
import { keepOutputs } from "@/lib/server/storage/keep-outputs";
import { notePrediction } from "@/lib/server/telemetry";
import { predictionStatusCode, type Prediction } from "@/lib/shared/prediction";

/** The HTTP status of a run's outcome: 200 succeeded, 500 for anything else that ended it. */
export function outcomeStatus(outcome: RunOutcome): number {
  if (outcome.kind === "terminal" || outcome.kind === "detached") return predictionStatusCode(outcome.prediction);
  return 500;
}

/**
 * A prediction as JSON; one still running says when to ask again. A succeeded one is answered
 * with its outputs kept first, when output storage is configured (never failing the answer).
 */
export async function predictionResponse(prediction: Prediction, status: number, headers: Record<string, string> = {}): Promise<Response> {
  const retry: Record<string, string> = status === 202 ? { "Retry-After": "1" } : {};
  notePrediction(prediction);
  return Response.json(await keepOutputs(prediction), { status, headers: { ...retry, ...headers } });
}
