/**
 * What the browser sees of `POST /api/ai/replicate` and `/api/ai/replicate/{id}`. Kept apart from the server's own types so
 * that no server module (axios, the token's config) can end up in the client bundle.
 */

export type PredictionStatus = "starting" | "processing" | "succeeded" | "failed" | "canceled" | "aborted";

const TERMINAL_STATUSES: readonly string[] = ["succeeded", "failed", "canceled", "aborted"];

export function isTerminalStatus(status: string): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export type Prediction = {
  id: string;
  status: PredictionStatus | (string & {});
  output?: unknown;
  error?: unknown;
  logs?: string | null;
  metrics?: { predict_time?: number; total_time?: number } | null;
};

export type InvalidField = { field: string; description: string };

/** Replicate's error shape, also used by the route for its own errors. */
export type Problem = {
  title?: string;
  detail?: string;
  status: number;
  invalid_fields?: InvalidField[];
};

export type Progress = { percentage: number; current: number; total: number; pass: number };

/**
 * The SSE events before `done`, with their `data` already parsed, and `attached`: the page began
 * following the prediction again (a new stream or polling), whose first `logs` is the whole log.
 */
export type RunEvent =
  | { type: "attached"; id: string }
  | { type: "status"; id: string; status: string }
  | { type: "progress"; progress: Progress }
  | { type: "logs"; text: string }
  | { type: "output"; output: unknown };

/** The request body the route accepts. */
export type RunRequestBody = { prompt: string; seed?: number | string; style?: string; image?: string };

export function isPrediction(value: unknown): value is Prediction {
  return isRecord(value) && typeof value.id === "string" && typeof value.status === "string";
}

export function isProblem(value: unknown): value is Problem {
  return isRecord(value) && typeof value.status === "number";
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
