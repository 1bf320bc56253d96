import { replicateRoute } from "@/lib/server/route-handler";
import { serveKeptOutput } from "@/lib/server/storage/serve-output";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

type Params = { token: string };

/**
 * A kept output file (OUTPUT_STORAGE=fs). The URL is its own key: no route key needed, so
 * `<img src>` works; a URL this app never issued is a 404 problem.
 */
const serve = replicateRoute<Params>(
  "GET /api/ai/replicate/outputs/[token]",
  (request, _context, params) => serveKeptOutput(request, params.token),
  { access: "capability" },
);

export const GET = serve;
export const HEAD = serve;
