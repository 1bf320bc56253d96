import "server-only";
// `GET` and `DELETE /api/ai/replicate/{handle}`: a prediction started in async mode, named by the
// handle its create answered in `Location` (`{id}.{mac}`: only the caller it was made for gets
// past `parseHandle`, anyone else gets 404).

import { wantsEventStream } from "../http/sse-response";
import { predictionResponse } from "../replicate/answer";
import { currentPrediction } from "../replicate/current-prediction";
import { releaseInputFiles } from "../replicate/file-inputs";
import { handleKeyOf, parseHandle } from "../replicate/prediction-handle";
import { pollerFor } from "../replicate/poller";
import { cancelNotStarted, followPrediction, startDeadline } from "../replicate/run-prediction";
import { streamPrediction, type Runner } from "../replicate/stream-prediction";
import type { Handler, RequestContext } from "../route-handler";
import { settleSpend } from "../spend-guard/spend-guard";
import { predictionStatusCode } from "../../shared/prediction";

export type HandleParams = { id: string };

/**
 * 200 succeeded, 202 running (Retry-After: 1), 500 failed, canceled or aborted. With
 * `Accept: text/event-stream` it streams until the end (or the cap, then re-attach), and never
 * cancels: a reloaded page re-attaches to the same prediction.
 */
export const answerPrediction: Handler<HandleParams> = async (request, context, params) => {
  const id = predictionOf(context, params);
  const { config, receivedAt, stats } = context;
  // Output copies stop at the cap: the answer fits the route's maxDuration (lib/server/route-duration.ts).
  const deadline = receivedAt + config.timeoutSeconds * 1000;
  if (wantsEventStream(request)) {
    const follow: Runner = async ({ signal, onUpdate }) => {
      const outcome = await followPrediction(config, await currentPrediction(config, id, { stats }), {
        signal,
        deadline,
        stats,
        needsLogs: true,
        cancelWhenStopped: false,
        onUpdate,
      });
      releaseInputFiles(config, outcome.prediction);
      return outcome;
    };
    return streamPrediction(config, follow, request.signal, stats, { deadline });
  }
  let prediction = await currentPrediction(config, id, { stats });
  // The start watchdog (REPLICATE_START_TIMEOUT_SECONDS) holds for async predictions too, at their next read.
  if (prediction.status === "starting" && config.engine.clock.now() >= (startDeadline(config, prediction) ?? Infinity)) {
    prediction = (await cancelNotStarted(config, prediction, { stats })).prediction;
  }
  releaseInputFiles(config, prediction);
  return predictionResponse(config, prediction, predictionStatusCode(prediction), {}, { deadline });
};

/**
 * Cancels the prediction upstream and answers it. However many DELETEs come, one cancel per poll
 * interval reaches Replicate (on all instances together), within the account's call budget.
 */
export const cancelByHandle: Handler<HandleParams> = async (_request, context, params) => {
  const id = predictionOf(context, params);
  const { config, stats } = context;
  const prediction = await pollerFor(config).cancel(id, { stats });
  await settleSpend(prediction, config);
  return predictionResponse(config, prediction, 200);
};

/** The prediction id the handle names for this caller (404 otherwise); the log line names it. */
function predictionOf(context: RequestContext, params: HandleParams): string {
  return (context.predictionId = parseHandle(handleKeyOf(context.config), params.id, context.caller));
}
