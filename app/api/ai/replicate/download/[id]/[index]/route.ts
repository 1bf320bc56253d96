import { currentPrediction } from "@/lib/server/replicate/current-prediction";
import { handleKeyOf, parseHandle } from "@/lib/server/replicate/prediction-handle";
import { replicateRoute } from "@/lib/server/route-handler";
import { downloadOutput } from "@/lib/server/storage/download-output";
import { invalidFieldsProblem } from "@/lib/server/validation";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// One timer, OUTPUT_COPY_TIMEOUT_SECONDS (60 by default), bounds the whole download; plus the answer.
export const maxDuration = 65;

type Params = { id: string; index: string };

/**
 * One output file of a prediction, as an attachment (`<prediction id>-<index>.<ext>`), read by the
 * app from Replicate's file host or the kept copy. Named by the prediction's handle, so only its
 * caller gets it (anyone else: 404); `index` counts the output's files from 0, in order.
 */
export const GET = replicateRoute<Params>("GET /api/ai/replicate/download/[id]/[index]", async (request, context, params) => {
  const id = (context.predictionId = parseHandle(handleKeyOf(context.config), params.id, context.caller));
  if (!/^\d{1,4}$/.test(params.index)) {
    throw invalidFieldsProblem("Invalid file index", "The index counts the output's files from 0.", [{ field: "index", description: "must be a whole number from 0" }]);
  }
  const prediction = await currentPrediction(context.config, id, { stats: context.stats });
  return downloadOutput(prediction, Number(params.index), { signal: request.signal });
});
