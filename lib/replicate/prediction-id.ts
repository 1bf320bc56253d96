import { Problem } from "@/lib/problem";
import { PREDICTION_ID } from "@/lib/replicate/prediction";

/** A client-sent id, checked before it goes into any URL: nothing can steer a call elsewhere. */
export function parsePredictionId(id: string): string {
  if (PREDICTION_ID.test(id)) return id;
  throw new Problem(400, "Invalid prediction id", "A prediction id is 8 to 64 lowercase letters and digits.", {
    extra: { invalid_fields: [{ field: "id", description: "is not a Replicate prediction id" }] },
  });
}
