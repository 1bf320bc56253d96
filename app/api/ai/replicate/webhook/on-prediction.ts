// EDIT THIS FILE to do something with each prediction Replicate reports by webhook.
import type { Config } from "@/lib/server/config";
import type { Prediction } from "@/lib/shared/prediction";
import { releaseInputFiles } from "@/lib/server/replicate/file-inputs";
import { keepOutputs } from "@/lib/server/storage/keep-outputs";
import type { PredictionCost } from "@/lib/server/spend-guard/spend-guard";

/**
 * Called once per verified, new webhook delivery (start and completed events), on whichever
 * instance received it. Keep it quick: Replicate waits for the answer, and retries only the final
 * webhook when this throws.
 *
 * Before it is called, the route has already kept a finished prediction where
 * `GET /api/ai/replicate/{id}` on any instance reads it first, and ended the waits for it on every
 * instance (lib/server/replicate/webhooks.ts shareDelivery). A real app also writes it to its own
 * database here, e.g.
 *   await db.prediction.upsert({ where: { id: prediction.id }, update: { ... }, create: { ... } });
 *
 * A succeeded prediction's outputs are kept (OUTPUT_STORAGE) before the delivery is acknowledged:
 * work left running after the answer may be frozen on a serverless platform. Each copy is bounded
 * by OUTPUT_COPY_TIMEOUT_SECONDS and a copy that fails never fails the delivery (a later GET tries
 * again while Replicate still has the files). An ended prediction's uploaded input files are
 * deleted (in the background; they expire after 24 h anyway).
 *
 * `cost` is what an ended prediction cost, as Replicate reports it (`seconds` of model time, and
 * `dollars` with REPLICATE_PRICE_PER_SECOND): already settled against the spend guard's budgets,
 * here for the app's own ledger. Undefined for the `start` event.
 */
export async function onPrediction(prediction: Prediction, config: Config, cost?: PredictionCost): Promise<void> {
  releaseInputFiles(config, prediction);
  await keepOutputs(prediction);
}
