// EDIT THIS FILE to configure the Replicate routes of this app: it builds the one engine every
// route file under app/api/ai/replicate exports a handler of. By default every setting comes from
// the environment (docs/configuration.md); pass any option in code instead, e.g.
//   createReplicateRoutes({ ...replicateOptionsFromEnv(), replicate: { token, target: { kind: "model", owner, name } }, ... })
// The model's body and input mapping are in app/api/ai/replicate/schema.ts, what to do with each
// webhook delivery in app/api/ai/replicate/webhook/on-prediction.ts.
import "server-only";
import * as schema from "../app/api/ai/replicate/schema";
import { onPrediction } from "../app/api/ai/replicate/webhook/on-prediction";
import { replicateOptionsFromEnv } from "./server/env-options";
import { createReplicateRoutes } from "./server/replicate-routes";

export const replicate = createReplicateRoutes({
  ...replicateOptionsFromEnv(),
  schema: { ...schema, outputSchema: "outputSchema" in schema ? schema.outputSchema : undefined },
  onPrediction,
});
