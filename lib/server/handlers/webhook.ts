import "server-only";
// `POST /api/ai/replicate/webhook`: Replicate's webhook deliveries, acknowledged at once. The
// signature's headers are checked before the body is read and the signature is verified on the raw
// text before anything is parsed (401 otherwise); a repeated `webhook-id` is acknowledged and not
// processed again. A new delivery is recorded (every instance's waits and status reads see it),
// its end settles its spend reservation, and it is handed to `onPrediction` before the 2xx; a
// succeeded prediction's outputs are copied after it (bounded; a repeat delivery or a later read
// keeps what a copy missed). No access check here: the signature is the check; the in-flight caps
// (the engine's and the webhooks' own) still run first.

import type { Config } from "../config";
import { releaseInputFiles } from "../replicate/file-inputs";
import { acceptDelivery, forgetDelivery } from "../replicate/webhooks";
import type { Handler } from "../route-handler";
import { settleSpend, type PredictionCost } from "../spend-guard/spend-guard";
import { keepOutputsAfterAnswer } from "../storage/keep-outputs";
import { inSpan } from "../telemetry";
import type { Prediction } from "../../shared/prediction";

/**
 * The app's processing of one verified, new delivery (start and completed events), on whichever
 * instance received it: `createReplicateRoutes({ onPrediction })`. What every instance shares (the
 * kept terminal prediction, the end of the waits for it) is shared before it is called; `cost` is
 * what an ended prediction cost, already settled against the spend guard's budgets.
 */
export type OnPrediction = (prediction: Prediction, config: Config, cost?: PredictionCost) => Promise<void> | void;

/** Without an app's own `onPrediction`: an ended prediction's uploaded input files are deleted (after the answer). */
const releaseDelivered: OnPrediction = (prediction, config) => releaseInputFiles(config, prediction);

export function webhookHandler(onPrediction: OnPrediction = releaseDelivered): Handler<Record<string, never>> {
  return async (request, context) => {
    const { config } = context;
    const delivery = await inSpan("replicate.webhook.verify", {}, () => acceptDelivery(config, request));
    context.predictionId = delivery.prediction.id;
    if (delivery.kind === "new") {
      try {
        const cost = await settleSpend(delivery.prediction, config);
        await onPrediction(delivery.prediction, config, cost);
      } catch (error) {
        // Not processed: let Replicate's retry of this delivery be processed.
        await forgetDelivery(config, request.headers);
        throw error;
      }
    }
    keepOutputsAfterAnswer(delivery.prediction, { storage: config.engine.outputStorage });
    return Response.json({ received: true, repeat: delivery.kind === "repeat" }, { status: 200 });
  };
}
