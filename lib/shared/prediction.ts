/**
 * Replicate's prediction as server and page both see it: the route answers Replicate's own object,
 * so the page reads the same type.
 */

/**
 * The statuses Replicate documents. An answer may carry another (a new one): the route reads it
 * as a running prediction (lib/shared/replicate-objects.ts), so code that switches on a status
 * treats any other value as not ended.
 */
export type PredictionStatus = "starting" | "processing" | "succeeded" | "failed" | "canceled" | "aborted";

export interface Prediction {
  id: string;
  model?: string;
  version?: string;
  status: PredictionStatus;
  input?: Record<string, unknown>;
  output?: unknown;
  error?: unknown;
  logs?: string | null;
  metrics?: ({ predict_time?: number; total_time?: number } & Record<string, unknown>) | null;
  created_at?: string;
  started_at?: string | null;
  completed_at?: string | null;
  urls?: { get?: string; cancel?: string; stream?: string; web?: string };
  [field: string]: unknown;
}

const TERMINAL: ReadonlySet<string> = new Set(["succeeded", "failed", "canceled", "aborted"]);

/** `aborted` is terminal too: several official clients forget it and poll forever. */
export function isTerminal(prediction: Pick<Prediction, "status">): boolean {
  return TERMINAL.has(prediction.status);
}

/**
 * A JSON value that reads as a prediction: a non-empty `id` and `status`, whatever else it has or
 * lacks. A status of another value than the documented ones is a running prediction to the route.
 */
export function isPrediction(value: unknown): value is Prediction {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { id, status } = value as Record<string, unknown>;
  return typeof id === "string" && id.length > 0 && typeof status === "string" && status.length > 0;
}

/** The status code every route of the project answers a prediction with. */
export function predictionStatusCode(prediction: Pick<Prediction, "status">): 200 | 202 | 500 {
  if (prediction.status === "succeeded") return 200;
  return isTerminal(prediction) ? 500 : 202;
}

/** Replicate's ids: lowercase base32-ish, no separators. Checked before an id goes into a URL. */
export const PREDICTION_ID = /^[a-z0-9]{8,64}$/;
