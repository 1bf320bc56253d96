// EDIT THIS FILE to do something with each prediction Replicate reports by webhook.
import type { OnPrediction } from "@/lib/server/handlers/webhook";
import { keepDelivered } from "@/lib/server/handlers/webhook";

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
 * `keepDelivered` keeps a succeeded prediction's outputs (OUTPUT_STORAGE) before the delivery is
 * acknowledged (work left running after the answer may be frozen on a serverless platform; each
 * copy is bounded by OUTPUT_COPY_TIMEOUT_SECONDS and a copy that fails never fails the delivery)
 * and deletes an ended prediction's uploaded input files in the background.
 */
export const onPrediction: OnPrediction = async (prediction, config) => {
  await keepDelivered(prediction, config);
};
