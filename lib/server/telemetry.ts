import "server-only";
// OpenTelemetry, through `@opentelemetry/api` only: the engine names its spans and metrics here and
// never picks a vendor. Without an SDK registered (instrumentation.ts registers one only when an
// OTLP endpoint is configured) every call below is the API's no-op and costs next to nothing.
//
// Spans (children of Next's own span for the route, when Next traces):
//   replicate.request (one per request, `replicate.route` names it), and under it replicate.guard,
//   replicate.body, replicate.upload, replicate.create (with the hold), replicate.wait (one per
//   wait: `replicate.wait.via` = poll, stream or webhook), replicate.cancel,
//   replicate.outputs.keep, replicate.webhook.verify, replicate.after (work after the answer).
// Attributes: the prediction's id, model, version, status and predict time, the request's upstream
//   calls, retries and 429s, and the bound that ended a wait (`replicate.bound`: "left" or "cap").
//   Never the token, the inputs or the outputs: only the helpers below set attributes.
// Metrics: see `instruments()`.

import {
  context,
  isSpanContextValid,
  metrics,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type Span,
  type UpDownCounter,
} from "@opentelemetry/api";
import type { Prediction } from "../shared/prediction";

export const INSTRUMENTATION_NAME = "replicate-next-route";

/** Runs `work` in a child span of the active one; an error ends the span as an error and is rethrown. */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return trace.getTracer(INSTRUMENTATION_NAME).startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A span started now and ended by the caller, with `run` executing inside it (the request span). */
export function startRequestSpan(name: string, attributes: Attributes): { span: Span; run: <T>(work: () => T) => T } {
  const span = trace.getTracer(INSTRUMENTATION_NAME).startSpan(name, { attributes });
  const active = trace.setSpan(context.active(), span);
  return { span, run: (work) => context.with(active, work) };
}

/** The span's trace id (32 hex) when a tracer records it; undefined without telemetry. */
export function traceIdOf(span: Span | undefined): string | undefined {
  const spanContext = span?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

export function failed(span: Span, error: unknown): void {
  // The class and title only: a message may quote what the caller sent.
  const title = (error as { title?: unknown } | null)?.title;
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: typeof title === "string" ? title : error instanceof Error ? error.name : "error",
  });
}

/** The prediction's identity and state, as span attributes (no input, no output). */
export function predictionAttributes(prediction: Prediction): Attributes {
  const predictTime = (prediction.metrics as { predict_time?: unknown } | undefined)?.predict_time;
  return {
    "replicate.prediction.id": prediction.id,
    "replicate.prediction.status": prediction.status,
    ...(typeof prediction.model === "string" ? { "replicate.model": prediction.model } : {}),
    ...(typeof prediction.version === "string" ? { "replicate.version": prediction.version } : {}),
    ...(typeof predictTime === "number" ? { "replicate.predict_time_s": predictTime } : {}),
  };
}

/** Sets the prediction's attributes on the active span (the phase's) and on `also` (the request's). */
export function notePrediction(prediction: Prediction, also?: Span): void {
  const attributes = predictionAttributes(prediction);
  trace.getActiveSpan()?.setAttributes(attributes);
  also?.setAttributes(attributes);
}

/** The request's counts, set on its span when it ends. */
export function noteRequestCounts(
  span: Span,
  counts: { requests: number; retries: number; throttled?: number; polls?: number },
): void {
  span.setAttributes({
    "replicate.upstream.calls": counts.requests,
    "replicate.upstream.retries": counts.retries,
    "replicate.upstream.throttled": counts.throttled ?? 0,
    "replicate.poll.rounds": counts.polls ?? 0,
  });
}

export type WaitOutcome = "terminal" | "timed-out" | "client-gone" | "detached";

/**
 * A wait ended: counted by outcome; the bound that ended it (the caller left: "left"; the cap:
 * "cap") on the active span; the lag from the prediction's end to now.
 */
export function noteWaitEnd(kind: WaitOutcome, prediction: Prediction, now = Date.now()): void {
  const bound = kind === "client-gone" ? "left" : kind === "timed-out" ? "cap" : undefined;
  const span = trace.getActiveSpan();
  span?.setAttributes({
    ...predictionAttributes(prediction),
    "replicate.outcome": kind,
    ...(bound ? { "replicate.bound": bound } : {}),
  });
  const outcome = kind === "terminal" ? prediction.status : kind;
  instruments().predictions.add(1, { outcome });
  const completedAt = typeof prediction.completed_at === "string" ? Date.parse(prediction.completed_at) : NaN;
  if (kind === "terminal" && Number.isFinite(completedAt)) instruments().answerLag.record(Math.max(0, now - completedAt));
}

/** An async create answered: counted as a prediction started for nobody waiting in-process. */
export function noteStarted(prediction: Prediction): void {
  notePrediction(prediction);
  instruments().predictions.add(1, { outcome: "started" });
}

/** The create, with its `Prefer: wait` hold (0: none), as a span carrying the created prediction. */
export function inCreate(holdSeconds: number, work: () => Promise<Prediction>): Promise<Prediction> {
  return inSpan("replicate.create", { "replicate.create.hold_s": holdSeconds }, async (span) => {
    const created = await work();
    span.setAttributes(predictionAttributes(created));
    return created;
  });
}

/** A cancel, as a span carrying the answer's status. */
export function inCancel(id: string, work: () => Promise<Prediction>): Promise<Prediction> {
  return inSpan("replicate.cancel", { "replicate.prediction.id": id }, async (span) => {
    const canceled = await work();
    span.setAttribute("replicate.prediction.status", canceled.status);
    return canceled;
  });
}

/** How a wait learns the next state: a webhook, the prediction's stream (end-watch) or a poll round. */
export function waitVia(
  config: { webhookUrl?: string | null },
  prediction: Prediction,
  needsLogs?: boolean,
): "poll" | "stream" | "webhook" {
  if (needsLogs) return "poll";
  if (config.webhookUrl) return "webhook";
  return prediction.urls?.stream ? "stream" : "poll";
}

/** One wait (`poller.next`): a span, and the in-flight waits gauge while it lasts. */
export async function inWait<T extends Prediction>(
  via: "poll" | "stream" | "webhook",
  round: number,
  work: () => Promise<T>,
): Promise<T> {
  const waits = instruments().waits;
  waits.add(1, { via });
  try {
    return await inSpan("replicate.wait", { "replicate.wait.via": via, "replicate.wait.round": round }, async (span) => {
      const prediction = await work();
      span.setAttribute("replicate.prediction.status", prediction.status);
      return prediction;
    });
  } finally {
    waits.add(-1, { via });
  }
}

/** One HTTP answer (or failure) from Replicate, by endpoint: upstream calls, 429s, poll budget used. */
export function noteUpstreamAnswer(method: string, url: string, baseUrl: string, status: number | undefined): void {
  const endpoint = endpointOf(method, url, baseUrl);
  const meters = instruments();
  meters.upstreamCalls.add(1, { endpoint, status: status === undefined ? "none" : String(status) });
  if (status === 429) meters.throttled.add(1, { endpoint });
  if (endpoint === "GET /predictions/{id}" || endpoint === "GET /predictions") meters.pollBudget.add(1, { endpoint });
}

/** Bytes written to the output store (a kept copy). */
export function noteBytesKept(bytes: number): void {
  if (bytes > 0) instruments().bytesKept.add(bytes);
}

/** `POST /predictions/{id}/cancel` from a URL: ids (and any other long path part) become `{id}`. */
export function endpointOf(method: string, url: string, baseUrl: string): string {
  if (!url.startsWith(baseUrl)) return `${method} stream`;
  const path = url.slice(baseUrl.length).split(/[?#]/, 1)[0];
  const parts = path.split("/").map((part, index, all) => {
    if (index === 0) return part;
    // /models/{owner}/{name}/predictions and /deployments/{owner}/{name}/predictions keep their shape.
    if ((all[1] === "models" || all[1] === "deployments") && (index === 2 || index === 3))
      return index === 2 ? "{owner}" : "{name}";
    const known = ["predictions", "files", "cancel", "models", "deployments", "webhooks", "default", "secret", "versions"];
    return known.includes(part) ? part : "{id}";
  });
  return `${method} ${parts.join("/")}`;
}

interface Instruments {
  /** replicate.predictions: ended waits by outcome (succeeded, failed, canceled, timed-out, client-gone, detached) and async starts. */
  predictions: Counter;
  /** replicate.upstream.calls: HTTP answers from Replicate by endpoint and status (retries included). */
  upstreamCalls: Counter;
  /** replicate.upstream.throttled: 429 answers by endpoint. */
  throttled: Counter;
  /** replicate.answer.lag: ms from the prediction's `completed_at` to the wait learning it. */
  answerLag: Histogram;
  /** replicate.waits.in_flight: waits in progress in this process. */
  waits: UpDownCounter;
  /** replicate.poll.budget.used: status reads (GET one, list) counted against the poll budget. */
  pollBudget: Counter;
  /** replicate.outputs.kept.bytes: bytes written to the output store. */
  bytesKept: Counter;
}

// Created once per meter provider: the global one may be registered after this module loads.
const byProvider = new WeakMap<MeterProvider, Instruments>();

function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  let found = byProvider.get(provider);
  if (!found) {
    const meter = provider.getMeter(INSTRUMENTATION_NAME);
    found = {
      predictions: meter.createCounter("replicate.predictions", { description: "Predictions by outcome" }),
      upstreamCalls: meter.createCounter("replicate.upstream.calls", { description: "HTTP answers from Replicate by endpoint" }),
      throttled: meter.createCounter("replicate.upstream.throttled", { description: "429 answers from Replicate by endpoint" }),
      answerLag: meter.createHistogram("replicate.answer.lag", {
        description: "From a prediction's end to its wait learning it",
        unit: "ms",
      }),
      waits: meter.createUpDownCounter("replicate.waits.in_flight", { description: "Waits in progress" }),
      pollBudget: meter.createCounter("replicate.poll.budget.used", {
        description: "Status reads counted against the poll budget",
      }),
      bytesKept: meter.createCounter("replicate.outputs.kept.bytes", { description: "Bytes of output files kept", unit: "By" }),
    };
    byProvider.set(provider, found);
  }
  return found;
}
