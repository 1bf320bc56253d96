// EDIT THIS FILE to do something with each prediction Replicate reports by webhook.
import type { Prediction } from "@/lib/shared/prediction";

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
 */
export async function onPrediction(_prediction: Prediction): Promise<void> {}
