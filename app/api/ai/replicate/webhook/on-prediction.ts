// EDIT THIS FILE to do something with each prediction Replicate reports by webhook.
import type { Prediction } from "@/lib/shared/prediction";
import { predictionStore } from "@/lib/server/replicate/prediction-store";

/**
 * Called once per verified, new webhook delivery (start and completed events). Keep it quick:
 * Replicate waits for the answer, and retries only the final webhook when this throws.
 *
 * The default keeps it in a bounded in-memory store that `GET /api/ai/replicate/{id}` reads first.
 * A real app writes it to its own database here instead, e.g.
 *   await db.prediction.upsert({ where: { id: prediction.id }, update: { ... }, create: { ... } });
 */
export async function onPrediction(prediction: Prediction): Promise<void> {
  predictionStore.put(prediction);
}
