import type { FormValues } from "./form-schema";
import type { RunReport } from "./run-report";
import type { Progress, RunEvent, RunRequestBody } from "./route-types";

/**
 * Everything the page shows about one run, built only from events, so every source of them
 * (a stream, a stream re-attached after a reload or at the route's cap, polling) drives one view.
 */
export type RunState = {
  phase: "idle" | "running" | "finished";
  /** What was sent; null for a run re-attached after a reload (this page did not send it). */
  body: RunRequestBody | null;
  /** The form's values it was started with (for the history); null when re-attached. */
  values: FormValues | null;
  /** The prediction's handle, once the route has named it. */
  handle: string | null;
  /** The prediction's `created_at` (epoch ms), once an answer carried it. */
  createdAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  predictionId: string | null;
  status: string | null;
  progress: Progress | null;
  logs: string;
  /** Following began again: the next `logs` event is the whole log, to replace what is shown. */
  logsResent: boolean;
  output: unknown;
  /** Cancel was pressed; the cancel is on its way. */
  canceling: boolean;
  report: RunReport | null;
};

export type RunAction =
  | { type: "start"; body: RunRequestBody; values?: FormValues; now: number }
  /** `startedAt`: when the prediction began (its `created_at`), so the timer counts from there. */
  | { type: "attach"; now: number; startedAt?: number }
  | { type: "handle"; handle: string }
  | { type: "event"; event: RunEvent }
  | { type: "canceling" }
  | { type: "finish"; report: RunReport; now: number }
  | { type: "reset" };

export const IDLE_RUN: RunState = {
  phase: "idle",
  body: null,
  values: null,
  handle: null,
  createdAt: null,
  startedAt: null,
  finishedAt: null,
  predictionId: null,
  status: null,
  progress: null,
  logs: "",
  logsResent: false,
  output: null,
  canceling: false,
  report: null,
};

export function runReducer(state: RunState, action: RunAction): RunState {
  switch (action.type) {
    case "start":
      return { ...IDLE_RUN, phase: "running", body: action.body, values: action.values ?? null, startedAt: action.now };
    case "attach":
      return { ...IDLE_RUN, phase: "running", startedAt: Math.min(action.startedAt ?? action.now, action.now) };
    case "handle":
      return state.phase === "running" ? { ...state, handle: action.handle } : state;
    case "event":
      // A late event (after Cancel) must not reopen a finished run.
      return state.phase === "running" ? applyEvent(state, action.event) : state;
    case "canceling":
      return state.phase === "running" ? { ...state, canceling: true } : state;
    case "finish":
      return state.phase === "running" ? finish(state, action.report, action.now) : state;
    case "reset":
      return IDLE_RUN;
  }
}

function applyEvent(state: RunState, event: RunEvent): RunState {
  switch (event.type) {
    case "attached":
      return { ...state, logsResent: true };
    case "status":
      return {
        ...state,
        status: event.status,
        predictionId: event.id || state.predictionId,
        createdAt: timeOf(event.createdAt) ?? state.createdAt,
      };
    case "progress":
      return { ...state, progress: event.progress };
    case "logs":
      return { ...state, logs: state.logsResent ? event.text : state.logs + event.text, logsResent: false };
    case "output":
      return { ...state, output: event.output };
  }
}

function finish(state: RunState, report: RunReport, now: number): RunState {
  const finished = { ...state, phase: "finished" as const, finishedAt: now, report, canceling: false };
  const prediction = "prediction" in report ? report.prediction : undefined;
  if (!prediction) return { ...finished, status: report.kind === "canceled" ? "canceled" : state.status };
  const succeeded = prediction.status === "succeeded";
  // A run this page did not start (re-attached, or opened from the history) took what Replicate
  // says, not the time since it was opened.
  const created = timeOf(prediction.created_at);
  const completed = timeOf(prediction.completed_at);
  const span =
    state.body === null && created !== null && completed !== null && completed >= created
      ? { startedAt: created, finishedAt: completed }
      : {};
  return {
    ...finished,
    ...span,
    createdAt: state.createdAt ?? timeOf(prediction.created_at),
    predictionId: prediction.id,
    status: prediction.status,
    // The final prediction holds the whole log: it also repairs a log sent twice when Replicate's shrank.
    logs: typeof prediction.logs === "string" && prediction.logs !== "" ? prediction.logs : state.logs,
    output: prediction.output ?? state.output,
    progress:
      succeeded && state.progress ? { ...state.progress, percentage: 100, current: state.progress.total } : state.progress,
  };
}

function timeOf(iso: unknown): number | null {
  const time = typeof iso === "string" ? Date.parse(iso) : NaN;
  return Number.isFinite(time) ? time : null;
}
