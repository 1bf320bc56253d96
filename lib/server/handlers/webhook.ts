import "server-only";
// `POST /api/ai/replicate/webhook`: Replicate's webhook deliveries. The signature's headers are
// checked before the body is read and the signature is verified on the raw text before anything
// is parsed (401 otherwise); a repeated `webhook-id` is acknowledged and not processed again. No
// access check here: the signature is the check; the in-flight caps (the engine's and the
// webhooks' own) still run first.

import type { Config } from "../config";
import { releaseInputFiles } from "../replicate/file-inputs";
import { acceptDelivery, forgetDelivery } from "../replicate/webhooks";
import type { Handler } from "../route-handler";
import { keepOutputs } from "../storage/keep-outputs";
import type { Prediction } from "../../shared/prediction";

/**
 * The app's processing of one verified, new delivery (start and completed events), on whichever
 * instance received it: `createReplicateRoutes({ onPrediction })`. What every instance shares (the
 * kept terminal prediction, the end of the waits for it) is shared before it is called.
 */
export type OnPrediction = (prediction: Prediction, config: Config) => Promise<void> | void;

/**
 * What a delivery does when the app gives no `onPrediction`: an ended prediction's uploaded input
 * files are deleted (in the background), a succeeded one's outputs kept (OUTPUT_STORAGE) before
 * the delivery is acknowledged. An app's own `onPrediction` calls it first.
 */
export async function keepDelivered(prediction: Prediction, config: Config): Promise<void> {
  releaseInputFiles(config, prediction);
  await keepOutputs(prediction, { storage: config.engine.outputStorage });
}

export function webhookHandler(onPrediction: OnPrediction = keepDelivered): Handler<Record<string, never>> {
  return async (request, context) => {
    const delivery = await acceptDelivery(context.config, request);
    if (delivery.kind === "new") {
      context.predictionId = delivery.prediction.id;
      try {
        await onPrediction(delivery.prediction, context.config);
      } catch (error) {
        // Not processed: let Replicate's retry of this delivery be processed.
        await forgetDelivery(context.config, request.headers);
        throw error;
      }
    }
    return Response.json({ received: true, repeat: delivery.kind === "repeat" }, { status: 200 });
  };
}
