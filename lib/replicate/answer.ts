import type { RunOutcome } from "@/lib/replicate/run-prediction";
import { predictionStatusCode, type Prediction } from "@/lib/replicate/prediction";

/** The HTTP status of a run's outcome: 200 succeeded, 500 for anything else that ended it. */
export function outcomeStatus(outcome: RunOutcome): number {
  return outcome.kind === "terminal" ? predictionStatusCode(outcome.prediction) : 500;
}

export function predictionResponse(prediction: Prediction, status: number, headers?: Record<string, string>): Response {
  return Response.json(prediction, { status, headers });
}
