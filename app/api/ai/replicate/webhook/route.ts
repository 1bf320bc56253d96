import { acceptDelivery, forgetDelivery } from "@/lib/server/replicate/webhooks";
import { replicateRoute } from "@/lib/server/route-handler";
import { settleSpend } from "@/lib/server/spend-guard/spend-guard";
import { onPrediction } from "./on-prediction";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * Replicate's webhook deliveries. The signature's headers are checked before the body is read and
 * the signature is verified on the raw text before anything is parsed (401 otherwise); a repeated
 * `webhook-id` is acknowledged and not processed again. No access check here: the signature is the
 * check; the in-flight caps (the process's and the webhooks' own) still run first.
 */
export const POST = replicateRoute(
  "POST /api/ai/replicate/webhook",
  async (request, context) => {
    const delivery = await acceptDelivery(context.config, request);
    if (delivery.kind === "new") {
      context.predictionId = delivery.prediction.id;
      try {
        // What every instance shares (ends the waits for it) acceptDelivery has shared; now the app's own processing.
        // An end settles the prediction's spend reservation (lib/server/spend-guard), on whichever instance it arrives.
        const cost = await settleSpend(delivery.prediction, context.config);
        await onPrediction(delivery.prediction, context.config, cost);
      } catch (error) {
        // Not processed: let Replicate's retry of this delivery be processed.
        await forgetDelivery(request.headers);
        throw error;
      }
    }
    return Response.json({ received: true, repeat: delivery.kind === "repeat" }, { status: 200 });
  },
  { access: "signature" },
);
