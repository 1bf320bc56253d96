import { getConfig } from "@/lib/config";
import { readJsonBody } from "@/lib/http/read-json-body";
import { toProblem } from "@/lib/problem";
import { outcomeStatus, predictionResponse } from "@/lib/replicate/answer";
import { runPrediction } from "@/lib/replicate/run-prediction";
import { parseOrProblem } from "@/lib/validation";
import { requestBodySchema, toModelInput } from "./schema";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// The default cap (REPLICATE_TIMEOUT_SECONDS=60) plus the cancel and some slack.
export const maxDuration = 75;

/** Validate, map to the model's input, create, wait, answer: the seed's story, made correct. */
export async function POST(request: Request): Promise<Response> {
  const receivedAt = Date.now();
  try {
    const config = getConfig();
    const body = parseOrProblem(requestBodySchema, await readJsonBody(request, config.maxBodyBytes));
    const outcome = await runPrediction(config, toModelInput(body), { signal: request.signal, receivedAt });
    return predictionResponse(outcome.prediction, outcomeStatus(outcome));
  } catch (error) {
    return toProblem(error).toResponse();
  }
}
