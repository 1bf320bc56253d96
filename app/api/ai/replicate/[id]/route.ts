import { wantsEventStream } from "@/lib/server/http/event-stream";
import { predictionResponse } from "@/lib/server/replicate/answer";
import { releaseInputFiles } from "@/lib/server/replicate/file-inputs";
import { predictionStatusCode } from "@/lib/shared/prediction";
import { handleKeyOf, parseHandle } from "@/lib/server/replicate/prediction-handle";
import { currentPrediction } from "@/lib/server/replicate/current-prediction";
import { pollerFor } from "@/lib/server/replicate/poller";
import { cancelNotStarted, followPrediction, startDeadline } from "@/lib/server/replicate/run-prediction";
import { streamPrediction } from "@/lib/server/replicate/stream-prediction";
import { replicateRoute } from "@/lib/server/route-handler";
import { settleSpend } from "@/lib/server/spend-guard/spend-guard";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// The cap (REPLICATE_TIMEOUT_SECONDS, default 60) plus the cancel and the answer: lib/server/route-duration.ts owns this rule.
export const maxDuration = 65;

type Params = { id: string };

/**
 * A prediction started in async mode, named by the handle its create answered in `Location`
 * (`{id}.{mac}`: only the caller it was made for gets past `parseHandle`, anyone else gets 404).
 * 200 succeeded, 202 running (Retry-After: 1), 500 failed, canceled or aborted. With
 * `Accept: text/event-stream` it streams until the end (or the cap, then re-attach), and never
 * cancels: a reloaded page re-attaches to the same prediction.
 */
export const GET = replicateRoute<Params>("GET /api/ai/replicate/[id]", async (request, context, params) => {
  const id = (context.predictionId = parseHandle(handleKeyOf(context.config), params.id, context.caller));
  const { config, receivedAt, stats } = context;
  if (wantsEventStream(request)) {
    return streamPrediction(
      config,
      async ({ signal, onUpdate }) =>
        followPrediction(config, await currentPrediction(config, id, { stats }), {
          signal,
          deadline: receivedAt + config.timeoutSeconds * 1000,
          stats,
          needsLogs: true,
          cancelWhenStopped: false,
          onUpdate,
        }).then((outcome) => (releaseInputFiles(config, outcome.prediction), outcome)),
      request.signal,
      stats,
      { deadline: receivedAt + config.timeoutSeconds * 1000 },
    );
  }
  let prediction = await currentPrediction(config, id, { stats });
  // The start watchdog (REPLICATE_START_TIMEOUT_SECONDS) holds for async predictions too, at their next read.
  if (prediction.status === "starting" && Date.now() >= (startDeadline(config, prediction) ?? Infinity)) {
    prediction = (await cancelNotStarted(config, prediction, { stats })).prediction;
  }
  releaseInputFiles(config, prediction);
  // Output copies stop at the cap: the answer fits the route's maxDuration (lib/server/route-duration.ts).
  return predictionResponse(prediction, predictionStatusCode(prediction), {}, { deadline: receivedAt + config.timeoutSeconds * 1000 });
});

/**
 * Cancels the prediction upstream and answers it. However many DELETEs come, one cancel per poll
 * interval reaches Replicate (on all instances together), within the account's call budget.
 */
export const DELETE = replicateRoute<Params>("DELETE /api/ai/replicate/[id]", async (_request, context, params) => {
  const id = (context.predictionId = parseHandle(handleKeyOf(context.config), params.id, context.caller));
  const { config, stats } = context;
  const prediction = await pollerFor(config).cancel(id, { stats });
  await settleSpend(prediction, config);
  return predictionResponse(prediction, 200);
});
