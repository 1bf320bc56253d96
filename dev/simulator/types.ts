/** Shapes shared by the simulated Replicate's modules (the wire shapes follow replicate-openapi.json). */

export type PredictionStatus = "starting" | "processing" | "succeeded" | "failed" | "canceled" | "aborted";
export type TerminalStatus = Exclude<PredictionStatus, "starting" | "processing">;

export const TERMINAL_STATUSES: ReadonlySet<PredictionStatus> = new Set<PredictionStatus>([
  "succeeded",
  "failed",
  "canceled",
  "aborted",
]);

export function isTerminalStatus(status: PredictionStatus): status is TerminalStatus {
  return TERMINAL_STATUSES.has(status);
}

/** An injected failure. `slow` delays a normal answer; the others replace it. */
export type Fault = "429" | "500" | "502" | "503" | "drop" | "slow" | "html200" | "truncated";
export const ALL_FAULTS: readonly Fault[] = ["429", "500", "502", "503", "drop", "slow", "html200", "truncated"];

/** `files`: the Files API (uploads, file objects, downloads, deletes); `model`: GET /models/{owner}/{name} and GET /models/{owner}/{name}/versions/{id}. */
export type EndpointKind =
  | "create"
  | "get"
  | "cancel"
  | "list"
  | "secret"
  | "file"
  | "stream"
  | "model"
  | "files"
  | "account"
  | "deployment";
export const ALL_ENDPOINT_KINDS: readonly EndpointKind[] = [
  "create",
  "get",
  "cancel",
  "list",
  "secret",
  "file",
  "stream",
  "model",
  "files",
  "account",
  "deployment",
];

export type WebhookEvent = "start" | "output" | "logs" | "completed";
export const ALL_WEBHOOK_EVENTS: readonly WebhookEvent[] = ["start", "output", "logs", "completed"];

/** How a prediction came to be canceled or aborted (null while it was not). */
export type CanceledVia = "cancel" | "deadline" | "simulator";

/** The prediction object exactly as the API answers it. */
export interface PredictionJson {
  id: string;
  model: string;
  version: string;
  /** null once the data was removed (retention). */
  input: Record<string, unknown> | null;
  output: unknown;
  data_removed: boolean;
  error: string | null;
  status: PredictionStatus;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  urls: { web: string; get: string; cancel: string; stream?: string };
  /** Absent from list entries; null in cancel answers and once the data was removed. */
  logs?: string | null;
  metrics?: { predict_time: number; total_time: number };
  deadline?: string;
  deployment?: string;
  /** "web": made on replicate.com (a foreign prediction of the same account). */
  source: "api" | "web";
}

/** RFC 7807 body as Replicate sends it (its 429 has no title). */
export interface ProblemBody {
  title?: string;
  detail: string;
  status: number;
  invalid_fields?: InvalidField[];
}

export interface InvalidField {
  type: string;
  field: string;
  description: string;
}
