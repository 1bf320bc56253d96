import "server-only";
// `GET`/`HEAD /api/ai/replicate/outputs/{token}`: a kept output file (OUTPUT_STORAGE=fs). The URL
// is its own key: no route key needed, so `<img src>` works; a URL this app never issued is a 404
// problem.

import type { Handler } from "../route-handler";
import { serveKeptOutput } from "../storage/serve-output";

export type OutputParams = { token: string };

export const keptOutput: Handler<OutputParams> = (request, context, params) =>
  serveKeptOutput(request, params.token, context.config.engine.outputStorage());
