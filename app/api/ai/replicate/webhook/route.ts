import { acceptDelivery, forgetDelivery } from "@/lib/server/replicate/webhooks";
import { replicateRoute } from "@/lib/server/route-handler";
import { settleSpend } from "@/lib/server/spend-guard/spend-guard";
import { keepOutputsAfterAnswer } from "@/lib/server/storage/keep-outputs";
import { inSpan } from "@/lib/server/telemetry";
import { onPrediction } from "./on-prediction";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// The work after the answer (the outputs' copies) is bounded by OUTPUT_COPY_TIMEOUT_SECONDS (60 s by
// default); a serverless host runs it within this limit. Raise both together.
export const maxDuration = 75;

/**
 * Replicate's webhook deliveries, acknowledged at once. The signature's headers are checked before
 * the body is read and the signature is verified on the raw text before anything is parsed (401
 * otherwise); a repeated `webhook-id` is acknowledged and not processed again. A new delivery is
 * recorded (every instance's waits and status reads see it) and handed to `onPrediction` before the
 * 2xx; a succeeded prediction's outputs are copied after it (bounded; a repeat delivery or a later
 * read keeps what a copy missed). No access check here: the signature is the check; the in-flight
 * caps (the process's and the webhooks' own) still run first.
 */
export const POST = replicateRoute(
  "POST /api/ai/replicate/webhook",
  async (request, context) => {
    const delivery = await inSpan("replicate.webhook.verify", {}, () => acceptDelivery(context.config, request));
    context.predictionId = delivery.prediction.id;
    if (delivery.kind === "new") {
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
    keepOutputsAfterAnswer(delivery.prediction);
    return Response.json({ received: true, repeat: delivery.kind === "repeat" }, { status: 200 });
  },
  { access: "signature" },
);
