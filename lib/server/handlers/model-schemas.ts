import "server-only";
// `GET /api/ai/replicate/schema`: the route's contract as JSON Schema, for the page's form and
// output panel (and any client): `{ input, output }`, `input` the request body as
// `POST /api/ai/replicate` accepts it (zod's input side: before `image` becomes a data URL),
// `output` the model's output schema when the app gives one, else null, `simulator` the prompt
// directives when the app talks to the simulated Replicate (the page shows a banner), else null.
// Behind the same access check as the other routes.

import { z } from "zod";
import type { Handler } from "../route-handler";
import type { JsonSchema, ModelSchemas } from "../../shared/model-schemas";
import { simulatorInfo } from "../../shared/simulator";
import type { ModelSchema } from "./create-prediction";

export function modelSchemasHandler(schema: ModelSchema): Handler<Record<string, never>> {
  let schemas: ModelSchemas | undefined;
  return async (_request, { config }) => {
    schemas ??= {
      input: z.toJSONSchema(schema.requestBodySchema, { io: "input", unrepresentable: "any" }) as JsonSchema,
      output: (schema.outputSchema as JsonSchema | undefined) ?? null,
    };
    // Private: it sits behind the access key. A minute: it changes only with a deploy.
    return Response.json({ ...schemas, simulator: simulatorInfo(config) } satisfies ModelSchemas, {
      headers: { "Cache-Control": "private, max-age=60" },
    });
  };
}
