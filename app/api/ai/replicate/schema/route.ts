import { z } from "zod";
import * as modelSchema from "@/app/api/ai/replicate/schema";
import type { JsonSchema, ModelSchemas } from "@/lib/browser/form-schema";
import { replicateRoute } from "@/lib/server/route-handler";
import { simulatorInfo } from "@/lib/shared/simulator";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * The route's contract as JSON Schema, for the page's form and output panel (and any client):
 * `{ input, output }`, `input` the request body as `POST /api/ai/replicate` accepts it (zod's
 * input side: before `image` becomes a data URL), `output` the model's output schema when
 * schema.ts exports `outputSchema`, else null. `simulator`: the prompt directives when the app
 * talks to the simulated Replicate (the page shows a banner), else null. Behind the same access
 * check as the other routes.
 */
export const GET = replicateRoute("GET /api/ai/replicate/schema", async (_request, { config }) => {
  schemas ??= {
    input: z.toJSONSchema(modelSchema.requestBodySchema, { io: "input", unrepresentable: "any" }) as JsonSchema,
    output: "outputSchema" in modelSchema ? (modelSchema.outputSchema as JsonSchema) : null,
  };
  // Private: it sits behind the access key. A minute: it changes only with a deploy.
  return Response.json({ ...schemas, simulator: simulatorInfo(config) } satisfies ModelSchemas, { headers: { "Cache-Control": "private, max-age=60" } });
});

let schemas: ModelSchemas | undefined;
