import { isAccessKeyChallenge } from "./access-key";
import type { RouteAnswer } from "./route-answer";
import { isPrediction, type Prediction } from "@/lib/shared/prediction";
import { isProblemBody, type InvalidField } from "@/lib/shared/problem-body";

/** How a run ended, in words a person can act on. */
export type RunReport =
  /** `notice`: something a person should know about a success (its output is gone, say). */
  | { kind: "succeeded"; prediction: Prediction; notice?: string }
  | { kind: "failed"; message: string; prediction: Prediction }
  | { kind: "canceled"; message: string; detail?: string; prediction?: Prediction }
  | { kind: "timed-out"; message: string; prediction: Prediction }
  | { kind: "invalid"; message: string; detail?: string; invalidFields: InvalidField[] }
  | { kind: "problem"; message: string; detail?: string; status?: number }
  /** The route asks for its access key; `keyRefused`: the one sent was wrong. */
  | { kind: "unauthorized"; message: string; detail?: string; keyRefused: boolean };

const TITLE_BY_STATUS: Record<number, string> = {
  400: "Invalid request",
  401: "Unauthenticated",
  402: "Insufficient credit",
  404: "Not found",
  413: "Request too large",
  422: "Replicate rejected the input",
  429: "Too many requests",
  500: "Server error",
  502: "Replicate is unreachable",
  503: "Service unavailable",
  504: "Gateway timeout",
};

/** Replicate's retention: `data_removed: true` on a prediction whose output, input and logs it deleted. */
export const DATA_REMOVED =
  "This prediction succeeded, but Replicate has deleted its output, input and logs: it keeps them for one hour after a prediction made through the API ends. Run it again to get a new output.";

/** The person pressed Cancel before the route had answered anything to cancel. */
export const CANCELED_BY_USER: RunReport = { kind: "canceled", message: "Canceled" };

/**
 * The route's answer, JSON or the SSE `done` event, turned into an report to show. `keySent`:
 * the request carried an access key, so a refusal means that key is wrong.
 */
export function describeAnswer(answer: RouteAnswer, context: { keySent?: boolean } = {}): RunReport {
  const { body, httpStatus } = answer;
  if (isPrediction(body)) return describePrediction(body);
  if (isAccessKeyChallenge(answer)) return describeKeyRequest(body, context.keySent ?? false);
  if (isProblemBody(body)) return describeProblem(body.status, body);
  return {
    kind: "problem",
    status: httpStatus,
    message: `${titleFor(httpStatus)} (HTTP ${httpStatus})`,
    detail:
      typeof body === "string" && body.trim() ? truncate(body.trim(), 300) : "The server sent an empty or unreadable answer.",
  };
}

/** The DELETE's answer: the prediction as the cancel left it (it may have ended just before). */
export function describeCancelAnswer(answer: RouteAnswer, context: { keySent?: boolean } = {}): RunReport {
  const report = describeAnswer(answer, context);
  if (report.kind !== "canceled" || !isPrediction(answer.body) || answer.body.status !== "canceled") return report;
  return { ...report, detail: "Canceled on Replicate: it stopped running." };
}

function describeKeyRequest(body: unknown, keySent: boolean): RunReport {
  const detail = isProblemBody(body) && typeof body.detail === "string" && body.detail ? body.detail : undefined;
  return keySent
    ? { kind: "unauthorized", message: "The access key was refused", detail, keyRefused: true }
    : { kind: "unauthorized", message: "This app's route needs an access key", detail, keyRefused: false };
}

export function describePrediction(prediction: Prediction): RunReport {
  const error = errorText(prediction.error);
  // The route puts its own deadline in `error` whatever status the cancel left behind.
  const timeout = error?.match(/timed out after (\d+(?:\.\d+)?)\s*s/i);
  if (timeout && prediction.status !== "succeeded") {
    return { kind: "timed-out", message: `Timed out after ${timeout[1]} s`, prediction };
  }
  switch (prediction.status) {
    case "succeeded":
      return prediction.data_removed === true
        ? { kind: "succeeded", prediction, notice: DATA_REMOVED }
        : { kind: "succeeded", prediction };
    case "failed":
      return {
        kind: "failed",
        message: error ? `The model failed: ${error}` : "The model failed without saying why.",
        prediction,
      };
    case "canceled":
      return { kind: "canceled", message: "Canceled", prediction };
    case "aborted":
      return {
        kind: "canceled",
        message: error ? `Aborted before it ran: ${error}` : "Aborted before it ran (not billed).",
        prediction,
      };
    default:
      return {
        kind: "problem",
        message: `The prediction stopped while still ${prediction.status}`,
        detail: error ?? undefined,
      };
  }
}

export function describeProblem(
  status: number,
  problem: { title?: unknown; detail?: unknown; invalid_fields?: unknown },
): RunReport {
  const message = typeof problem.title === "string" && problem.title ? problem.title : titleFor(status);
  const detail = typeof problem.detail === "string" && problem.detail ? problem.detail : undefined;
  const invalidFields = Array.isArray(problem.invalid_fields) ? problem.invalid_fields.filter(isInvalidField) : [];
  if (invalidFields.length > 0) return { kind: "invalid", message, detail, invalidFields };
  return { kind: "problem", message, detail, status };
}

/** What the browser itself reports when the request could not complete (not the route's answer). */
export function describeRequestFailure(error: unknown): RunReport {
  if (error instanceof DOMException && error.name === "AbortError") return CANCELED_BY_USER;
  const reason = error instanceof Error ? error.message : String(error);
  return { kind: "problem", message: "The request did not complete", detail: reason };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Invalid fields grouped by the form field they belong to (`input.seed` and `seed` both go to seed). */
export function invalidFieldsByName(fields: InvalidField[], formFields: readonly string[]) {
  const byField: Record<string, string[]> = {};
  const unplaced: string[] = [];
  for (const { field, description } of fields) {
    const name = formFields.find((candidate) => field.split(/[.[\]]/).includes(candidate));
    // Under its field, the field's label already names it; apart, the name is needed.
    if (name) (byField[name] ??= []).push(capitalize(description));
    else unplaced.push(`${field}: ${description}`);
  }
  return { byField, unplaced };
}

function isInvalidField(value: unknown): value is InvalidField {
  const candidate = value as InvalidField;
  return typeof candidate?.field === "string" && typeof candidate?.description === "string";
}

function errorText(error: unknown): string | null {
  if (error === null || error === undefined || error === "") return null;
  return typeof error === "string" ? error : JSON.stringify(error);
}

function titleFor(status: number): string {
  return TITLE_BY_STATUS[status] ?? (status >= 500 ? "Server error" : `Request failed with status ${status}`);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
