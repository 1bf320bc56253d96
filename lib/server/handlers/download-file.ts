import "server-only";
// `GET /api/ai/replicate/download/{handle}/{index}`: one output file of a prediction, as an
// attachment (`<prediction id>-<index>.<ext>`), read by the app from Replicate's file host or the
// kept copy. Named by the prediction's handle, so only its caller gets it (anyone else: 404);
// `index` counts the output's files from 0, in order. One timer, OUTPUT_COPY_TIMEOUT_SECONDS,
// bounds the whole download.

import { currentPrediction } from "../replicate/current-prediction";
import { handleKeyOf, parseHandle } from "../replicate/prediction-handle";
import type { Handler } from "../route-handler";
import { downloadOutput } from "../storage/download-output";
import { invalidFieldsProblem } from "../validation";

export type DownloadParams = { id: string; index: string };

export const downloadFile: Handler<DownloadParams> = async (request, context, params) => {
  const { config } = context;
  const id = (context.predictionId = parseHandle(handleKeyOf(config), params.id, context.caller));
  if (!/^\d{1,4}$/.test(params.index)) {
    throw invalidFieldsProblem("Invalid file index", "The index counts the output's files from 0.", [
      { field: "index", description: "must be a whole number from 0" },
    ]);
  }
  const prediction = await currentPrediction(config, id, { stats: context.stats });
  return downloadOutput(prediction, Number(params.index), {
    signal: request.signal,
    storage: config.engine.outputStorage,
    copy: config.engine.outputCopy(),
  });
};
