/**
 * What the app's route files import as lib/replicate.ts in the unit suite (vitest.config.ts): the
 * same handlers, each answered by the tests' current engine (tests/support/test-engine.ts).
 */
import { testRoutes } from "@/tests/support/test-engine";
import type { ReplicateRoutes } from "@/lib/server/replicate-routes";

type Handlers = Pick<ReplicateRoutes, "POST" | "GET" | "DELETE" | "webhook" | "schema" | "outputs" | "download">;

export const replicate: Handlers = {
  POST: (request, segment) => testRoutes().POST(request, segment),
  GET: (request, segment) => testRoutes().GET(request, segment),
  DELETE: (request, segment) => testRoutes().DELETE(request, segment),
  webhook: (request, segment) => testRoutes().webhook(request, segment),
  schema: (request, segment) => testRoutes().schema(request, segment),
  outputs: (request, segment) => testRoutes().outputs(request, segment),
  download: (request, segment) => testRoutes().download(request, segment),
};
