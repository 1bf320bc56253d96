import { prefersAsync, wantsEventStream } from "@/lib/server/http/event-stream";
import { readRequestBody } from "@/lib/server/http/read-request-body";
import { claimCreate, replayPrediction } from "@/lib/server/idempotent-create";
import { outcomeStatus, predictionResponse } from "@/lib/server/replicate/answer";
import { deletingInputFilesAfter as ending, uploadLargeInputs } from "@/lib/server/replicate/file-inputs";
import { predictionLocation } from "@/lib/server/replicate/prediction-handle";
import type { Prediction } from "@/lib/shared/prediction";
import { runPrediction, startPrediction, type RunOptions, type RunOutcome } from "@/lib/server/replicate/run-prediction";
import { streamPrediction } from "@/lib/server/replicate/stream-prediction";
import { webhookFields } from "@/lib/server/replicate/webhooks";
import { replicateRoute } from "@/lib/server/route-handler";
import { inSpan } from "@/lib/server/telemetry";
import { parseOrProblem } from "@/lib/server/validation";
import { requestBodySchema, toModelInput } from "./schema";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// The default cap (REPLICATE_TIMEOUT_SECONDS=60) plus the cancel and some slack.
export const maxDuration = 75;

/** Validate, map to the model's input, create, wait, answer: the seed's story, made correct. */
export const POST = replicateRoute("POST /api/ai/replicate", async (request, context) => {
  const { config, receivedAt, stats } = context;
  const body = parseOrProblem(requestBodySchema, await inSpan("replicate.body", {}, () => readRequestBody(request, config.maxBodyBytes, requestBodySchema)));
  // An Idempotency-Key seen with this body already answers that prediction instead of a new one.
  const claim = await claimCreate(request, context, body);
  if (claim.kind === "replay") return replayPrediction(request, context, claim.predictionId);
  // Large file inputs go through the Files API; they are deleted once the prediction has ended.
  const deadline = receivedAt + config.timeoutSeconds * 1000;
  const { input, fileIds } = await claim.track(inSpan("replicate.upload", {}, () => uploadLargeInputs(config, toModelInput(body), { deadline, stats })));
  const seen = (prediction: Prediction) => void ((context.predictionId = prediction.id), claim.created(prediction.id));
  const create = <T extends RunOutcome | Prediction>(work: Promise<T>) => claim.track(ending(config, fileIds, work));
  const run = (signal: AbortSignal, options: Partial<RunOptions> = {}) =>
    create(runPrediction(config, input, { signal, receivedAt, stats, ...options, onUpdate: (p) => (seen(p), options.onUpdate?.(p)) }));

  if (prefersAsync(request)) {
    // Async mode: 202 at once; follow it at Location (or by webhook), which survives reloads.
    const prediction = await create(startPrediction(config, input, { signal: request.signal, receivedAt, stats, extra: webhookFields(config) }));
    seen(prediction);
    const location = predictionLocation(config, prediction.id, context.caller);
    return predictionResponse(prediction, 202, { Location: location, "Preference-Applied": "respond-async" });
  }
  if (wantsEventStream(request)) {
    // Live progress: the same run, every state it sees sent as Server-Sent Events, then `done`.
    // No hold on the create (the page wants the id at once) and every poll carries the logs.
    return streamPrediction(config, ({ signal, onUpdate }) => run(signal, { onUpdate, holdCreate: false, needsLogs: true }), request.signal, stats);
  }
  const outcome = await run(request.signal);
  return predictionResponse(outcome.prediction, outcomeStatus(outcome));
});
