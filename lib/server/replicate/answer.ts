import "server-only";
import type { Config } from "../config";
import type { RunOutcome } from "./run-prediction";
import { keepOutputs, type KeptPrediction } from "../storage/keep-outputs";
import { CopyFailure } from "../storage/output-source";
import { notePrediction } from "../telemetry";
import { sentText } from "./transport";
import { predictionStatusCode, type Prediction } from "../../shared/prediction";

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
  config: Config,
  prediction: Prediction,
  status: number,
  headers: Record<string, string> = {},
  options: AnswerOptions = {},
): Promise<Response> {
  const retry: Record<string, string> = status === 202 ? { "Retry-After": "1" } : {};
  notePrediction(prediction);
  const kept = await keepOutputsBy(config, prediction, options.deadline);
  // Replicate's own text when the prediction is passed on as it came, else the JSON of what is
  // answered; a text body, not `Response.json` (Node 20's undici: 13 µs against 33 for a 2.4 KB
  // prediction), once per answer of a crowd.
  const body = sentText(kept) ?? JSON.stringify(kept);
  return new Response(body, { status, headers: { "Content-Type": "application/json", ...retry, ...headers } });
}

/**
 * `keepOutputs`, its copies stopped at `deadline`: the answer of a request never waits on copies
 * past its cap. What was not copied is copied by the next read of the prediction (its handle).
 */
export async function keepOutputsBy(config: Config, prediction: Prediction, deadline?: number): Promise<KeptPrediction> {
  const storage = config.engine.outputStorage;
  // Nothing will be copied (not succeeded, or no storage): the answer as it came, with no span, timer
  // or signal and no copy of it, on every answer.
  if (prediction.status !== "succeeded" || storageIsOff(config)) return prediction;
  if (deadline === undefined) return keepOutputs(prediction, { storage });
  const stop = new AbortController();
  const { clock } = config.engine;
  const cancelTimer = clock.startTimer(deadline - clock.now(), () =>
    stop.abort(
      new CopyFailure(
        "the cap (REPLICATE_TIMEOUT_SECONDS) was reached before the outputs were copied; reading the prediction again (its Content-Location) copies what is missing",
      ),
    ),
  );
  try {
    return await keepOutputs(prediction, { storage, signal: stop.signal });
  } finally {
    cancelTimer();
  }
}

/** Output storage is off (a configuration problem is not "off": keepOutputs answers it). */
function storageIsOff(config: Config): boolean {
  try {
    return config.engine.outputStorage() === null;
  } catch {
    return false;
  }
}
