import "server-only";
import { invalidFieldsProblem } from "@/lib/server/validation";
import { PREDICTION_ID } from "@/lib/shared/prediction";

/** A client-sent id, checked before it goes into any URL: nothing can steer a call elsewhere. */
export function parsePredictionId(id: string): string {
  if (PREDICTION_ID.test(id)) return id;
  throw invalidFieldsProblem("Invalid prediction id", "A prediction id is 8 to 64 lowercase letters and digits.", [
    { field: "id", description: "is not a Replicate prediction id" },
  ]);
}
