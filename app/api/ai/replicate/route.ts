import { prefersAsync, wantsEventStream } from "@/lib/http/event-stream";
import { readJsonBody } from "@/lib/http/read-json-body";
import { outcomeStatus, predictionResponse } from "@/lib/replicate/answer";
import { createPrediction } from "@/lib/replicate/predictions";
import { runPrediction } from "@/lib/replicate/run-prediction";
import { streamPrediction } from "@/lib/replicate/stream-prediction";
import { webhookFields } from "@/lib/replicate/webhooks";
import { replicateRoute } from "@/lib/route-handler";
import { parseOrProblem } from "@/lib/validation";
import { requestBodySchema, toModelInput } from "./schema";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// The default cap (REPLICATE_TIMEOUT_SECONDS=60) plus the cancel and some slack.
export const maxDuration = 75;

/** Validate, map to the model's input, create, wait, answer: the seed's story, made correct. */
export const POST = replicateRoute("POST /api/ai/replicate", async (request, context) => {
  const { config, receivedAt, stats } = context;
  const body = parseOrProblem(requestBodySchema, await readJsonBody(request, config.maxBodyBytes));
  const input = toModelInput(body);
  const onUpdate = (prediction: { id: string }) => void (context.predictionId = prediction.id);

  if (prefersAsync(request)) {
    // Async mode: 202 at once; follow it at Location (or by webhook), which survives reloads.
    const prediction = await createPrediction(config, input, { deadline: receivedAt + 10_000, extra: webhookFields(config), stats });
    onUpdate(prediction);
    const location = `/api/ai/replicate/${prediction.id}`;
    return predictionResponse(prediction, 202, { Location: location, "Preference-Applied": "respond-async" });
  }
  if (wantsEventStream(request)) {
    // Live progress: the same run, every state it sees sent as Server-Sent Events, then `done`.
    return streamPrediction(
      config,
      ({ signal, onUpdate: send }) =>
        runPrediction(config, input, {
          signal,
          receivedAt,
          stats,
          holdCreate: false,
          needsLogs: true,
          onUpdate: (prediction) => (onUpdate(prediction), send(prediction)),
        }),
      request.signal,
    );
  }
  const outcome = await runPrediction(config, input, { signal: request.signal, receivedAt, stats, onUpdate });
  return predictionResponse(outcome.prediction, outcomeStatus(outcome));
});
