import { prefersAsync, wantsEventStream } from "@/lib/server/http/event-stream";
import { readRequestBody } from "@/lib/server/http/read-request-body";
import { claimCreate, replayPrediction } from "@/lib/server/idempotent-create";
import { outcomeStatus, predictionResponse } from "@/lib/server/replicate/answer";
import { deletingInputFilesAfter as ending, refuseForeignFiles, uploadLargeInputs } from "@/lib/server/replicate/file-inputs";
import { predictionLocation } from "@/lib/server/replicate/prediction-handle";
import type { Prediction } from "@/lib/shared/prediction";
import { createForRun, deadlineOf, followPrediction, runPrediction, startPrediction, type RunOutcome } from "@/lib/server/replicate/run-prediction";
import { streamPrediction, type Runner } from "@/lib/server/replicate/stream-prediction";
import { webhookFields } from "@/lib/server/replicate/webhooks";
import { replicateRoute } from "@/lib/server/route-handler";
import { reserveSpend } from "@/lib/server/spend-guard/spend-guard";
import { inSpan } from "@/lib/server/telemetry";
import { parseOrProblem } from "@/lib/server/validation";
import { requestBodySchema, toModelInput } from "./schema";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// The cap (REPLICATE_TIMEOUT_SECONDS, default 60) plus the cancel and the answer: lib/server/route-duration.ts owns this rule.
export const maxDuration = 65;

/** Validate, map to the model's input, create, wait, answer: the seed's story, made correct. */
export const POST = replicateRoute("POST /api/ai/replicate", async (request, context) => {
  const { config, receivedAt, stats } = context;
  const body = parseOrProblem(requestBodySchema, await inSpan("replicate.body", {}, () => readRequestBody(request, config.maxBodyBytes, requestBodySchema)));
  // An Idempotency-Key seen with this body already answers that prediction instead of a new one.
  const claim = await claimCreate(request, context, body);
  if (claim.kind === "replay") return replayPrediction(request, context, claim);
  // Large file inputs go through the Files API (stopped when the caller leaves or at the cap); they
  // are deleted once the prediction has ended. A Files API URL the caller sent is refused.
  const deadline = deadlineOf(config, receivedAt);
  const modelInput = refuseForeignFiles(config, toModelInput(body));
  // The caller's budgets of model time (REPLICATE_BUDGET_*): an estimate is reserved before anything
  // is uploaded or created (402 when it does not fit), and settled when the prediction ends.
  const spend = (context.spend = await claim.beforeCreate(reserveSpend(request, context)));
  const uploading = () => uploadLargeInputs(config, modelInput, { deadline, stats, signal: request.signal });
  const { input, fileIds } = await claim.beforeCreate(spend.beforeCreate(inSpan("replicate.upload", {}, uploading)));
  const seen = (prediction: Prediction) => void ((context.predictionId = prediction.id), claim.created(prediction.id), spend.seen(prediction));
  const create = <T extends RunOutcome | Prediction>(work: Promise<T>) => claim.track(spend.track(ending(config, fileIds, work)));
  const location = (prediction: Prediction) => predictionLocation(config, prediction.id, context.caller);
  const follow = { deadline, stats, handOver: claim.handOver, onUpdate: seen };

  if (prefersAsync(request)) {
    // Async mode: 202 at once; follow it at Location (or by webhook), which survives reloads.
    const prediction = await create(startPrediction(config, input, { signal: request.signal, receivedAt, stats, extra: webhookFields(config) }));
    seen(prediction);
    return predictionResponse(prediction, 202, { Location: location(prediction), "Preference-Applied": "respond-async" });
  }
  if (wantsEventStream(request)) {
    // Live progress: the create first, not held (the page wants the id at once, and the stream's
    // headers name its handle), then every state it sees sent as Server-Sent Events, then `done`.
    claim.watchLeave(request.signal);
    const created = await create(createForRun(config, input, { signal: request.signal, receivedAt, stats, holdCreate: false }));
    seen(created);
    const run: Runner = ({ signal, onUpdate }) => {
      claim.watchLeave(signal);
      return create(followPrediction(config, created, { ...follow, signal, needsLogs: true, onUpdate: (p) => (seen(p), onUpdate(p)) }));
    };
    return streamPrediction(config, run, request.signal, stats, { location: location(created), deadline });
  }
  claim.watchLeave(request.signal);
  const outcome = await create(runPrediction(config, input, { ...follow, signal: request.signal, receivedAt }));
  const headers = { "Content-Location": location(outcome.prediction) };
  return predictionResponse(outcome.prediction, outcomeStatus(outcome), headers, { deadline });
});
