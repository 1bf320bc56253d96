import "server-only";
// What every route of the project does around its own work: run the guards first (access, rate
// limit, in-flight cap; see lib/server/guard/admit.ts; the webhook and the output files get the
// caps only), set the body's rules (time limit, process budget: lib/server/http/read-json-body.ts),
// read the configuration, turn any error into problem JSON, write one log line when the answer
// has ended, and trace the request (a span, lib/server/telemetry.ts) whose id the log line
// carries. The handlers themselves (lib/server/handlers/) only parse, call into lib/ and answer.

import { unstable_rethrow } from "next/navigation";
import type { Config, GuardConfig } from "./config";
import type { Engine } from "./engine";
import type { Caller } from "./guard/access";
import { admitCapability, admitRequest, admitSigned } from "./guard/admit";
import { guardBody } from "./http/read-json-body";
import { isEventStream } from "../shared/event-stream";
import { flushLog, logRequest, logWarning } from "./log";
import { toProblem, Problem } from "./problem";
import type { CallStats } from "./replicate/transport";
import { budgetHeaders, type Reservation } from "./spend-guard/spend-guard";
import { failed, inSpan, noteRequestCounts, startRequestSpan, traceIdOf } from "./telemetry";
import type { Span } from "@opentelemetry/api";

/** What a handler is given about its request besides the request itself. */
export interface RequestContext {
  config: Config;
  /** The guards' settings (who may call, how much). */
  guard: GuardConfig;
  /** Epoch ms at which the request arrived: caps count from here. */
  receivedAt: number;
  /** Upstream calls of this request, for the log line. */
  stats: CallStats;
  /** The prediction this request is about, once known, for the log line. */
  predictionId?: string;
  /** Who is calling, as the access check decided (absent on signature-checked routes). */
  caller?: Caller;
  /** The model time this request reserved (lib/server/spend-guard), if it creates a prediction. */
  spend?: Reservation;
}

export type Handler<P> = (request: Request, context: RequestContext, params: P) => Promise<Response>;

/** What an engine gives its routes: its two settings (resolved at first use, a problem rethrown) and its state. */
export interface RouteHost {
  guard(): GuardConfig;
  config(): Config;
  engine: Engine;
}

/** A route handler as Next calls it: the request, and the dynamic segment's params when the route has one. */
export type RouteHandler<P = Record<string, never>> = (request: Request, segment?: { params: Promise<P> }) => Promise<Response>;

export interface RouteOptions {
  /**
   * "caller" (default): the guards run first. "signature": the webhook, whose handler verifies
   * Replicate's signature itself (caps only, the webhooks' own included). "capability": the URL is
   * its own key (kept output files; the process's in-flight cap only).
   */
  access?: "caller" | "signature" | "capability";
}

export function replicateRoute<P = Record<string, never>>(
  host: RouteHost,
  name: string,
  handler: Handler<P>,
  options: RouteOptions = {},
): RouteHandler<P> {
  const access = options.access ?? "caller";
  const { engine } = host;
  return async (request, segment) => {
    const context: Partial<RequestContext> & Pick<RequestContext, "receivedAt" | "stats"> = {
      receivedAt: engine.clock.now(),
      stats: { requests: 0, retries: 0, polls: 0 },
    };
    // The request's span (a child of Next's, when Next traces): every phase below is its child.
    const traced = startRequestSpan("replicate.request", { "replicate.route": name, "http.request.method": request.method });
    return traced.run(() => answer(request, segment, context, traced.span));
  };

  async function answer(
    request: Request,
    segment: { params: Promise<P> } | undefined,
    context: Partial<RequestContext> & Pick<RequestContext, "receivedAt" | "stats">,
    span: Span,
  ): Promise<Response> {
    let releaseSlot = () => {};
    let releaseBody = () => {};
    let response: Response;
    let failure: unknown;
    try {
      const guard = (context.guard = host.guard());
      const body = guardBody(request, {
        timeoutMs: guard.bodyTimeoutMs,
        budgetBytes: guard.bodyBudgetBytes,
        budget: engine.bodyBudget,
      });
      releaseBody = body.release;
      await inSpan("replicate.guard", {}, async () => {
        if (access === "caller") {
          const admission = await admitRequest(request, guard, engine);
          context.caller = admission.caller;
          releaseSlot = admission.release;
        } else {
          releaseSlot = access === "signature" ? admitSigned(guard, engine, body) : admitCapability(guard, engine);
        }
      });
      context.config = host.config();
      const params = segment ? await segment.params : ({} as P);
      response = await handler(request, context as RequestContext, params);
    } catch (error) {
      // Next's own signals go back to Next, not into a problem answer: in an app with Cache
      // Components, `next build` prerenders a GET route and stops it at its first read of the request.
      try {
        unstable_rethrow(error);
      } catch (signal) {
        releaseBody();
        releaseSlot();
        span.end();
        throw signal;
      }
      failure = error;
      response = toProblem(error).toResponse();
    }
    // An answer that starts or reads a prediction says what is left of the caller's budgets. The
    // answer stands without them if they cannot be read (the slot and body budget are released below).
    if (context.predictionId !== undefined && context.caller !== undefined) {
      try {
        await context.spend?.idle();
        for (const [name, value] of Object.entries(await budgetHeaders(request, context as RequestContext)))
          response.headers.set(name, value);
      } catch (error) {
        logWarning("budget_headers_failed", String(error));
      }
    }
    const streamed = isEventStream(response);
    const finish = () => {
      releaseBody();
      releaseSlot();
      noteRequestCounts(span, context.stats);
      span.setAttribute("http.response.status_code", response.status);
      if (context.predictionId) span.setAttribute("replicate.prediction.id", context.predictionId);
      if (response.status >= 500) failed(span, failure ?? new Error(`status ${response.status}`));
      span.end();
      logRequest({
        trace_id: traceIdOf(span),
        route: name,
        method: request.method,
        status: response.status,
        duration_ms: engine.clock.now() - context.receivedAt,
        prediction_id: context.predictionId,
        polls: context.stats.polls ?? 0,
        retries: context.stats.retries,
        upstream_requests: context.stats.requests,
        ...(context.stats.throttled ? { throttled: context.stats.throttled } : {}),
        ...(streamed ? { stream: true as const } : {}),
        ...(failure !== undefined && !(failure instanceof Problem) ? { error: describeError(failure) } : {}),
      });
    };
    // A streamed answer's line is written as its body ends: the host may freeze the function then.
    if (streamed)
      return onBodyEnd(response, () => {
        finish();
        flushLog();
      });
    finish();
    return response;
  }
}

/**
 * The same response, calling `done` once when its body has been read to the end, has failed, or
 * was canceled (the client left). A stream's request is in flight until then.
 */
function onBodyEnd(response: Response, done: () => void): Response {
  const reader = response.body!.getReader();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    done();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          end();
          controller.close();
        } else {
          controller.enqueue(chunk.value);
        }
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function describeError(error: unknown): string {
  if (error instanceof Error) return (error.stack ?? `${error.name}: ${error.message}`).slice(0, 4000);
  return String(error).slice(0, 4000);
}
