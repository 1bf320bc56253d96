// EDIT THIS FILE to do something with each prediction Replicate reports by webhook.
import type { Config } from "@/lib/server/config";
import type { Prediction } from "@/lib/shared/prediction";
import { releaseInputFiles } from "@/lib/server/replicate/file-inputs";
import type { PredictionCost } from "@/lib/server/spend-guard/spend-guard";

/**
 * Called once per verified, new webhook delivery (start and completed events), on whichever
 * instance received it, before the delivery is acknowledged. Keep it quick (well under a second):
 * Replicate waits for the answer, and retries only the final webhook when this throws.
 *
 * Before it is called, the route has already kept a finished prediction where
 * `GET /api/ai/replicate/{id}` on any instance reads it first, and ended the waits for it on every
 * instance (lib/server/replicate/webhooks.ts shareDelivery). A real app also writes it to its own
 * database here, e.g.
 *   await db.prediction.upsert({ where: { id: prediction.id }, update: { ... }, create: { ... } });
 * Slow work belongs after the answer: `afterAnswer()` (lib/server/after-answer.ts), as the route
 * does for the outputs' copies (OUTPUT_STORAGE) and as the input files' deletes below do.
 *
 * `cost` is what an ended prediction cost, as Replicate reports it (`seconds` of model time, and
 * `dollars` with REPLICATE_PRICE_PER_SECOND): already settled against the spend guard's budgets,
 * here for the app's own ledger. Undefined for the `start` event.
 */
export async function onPrediction(prediction: Prediction, config: Config, cost?: PredictionCost): Promise<void> {
  releaseInputFiles(config, prediction);
}
