import type { RunOutcome } from "./describe-outcome";
import type { Progress, RunEvent, RunRequestBody } from "./route-types";

/**
 * Everything the page shows about one run, built only from events, so any source of events
 * (the POST's stream today, re-attaching to a running prediction later) drives the same view.
 */
export type RunState = {
  phase: "idle" | "running" | "finished";
  body: RunRequestBody | null;
  startedAt: number | null;
  finishedAt: number | null;
  predictionId: string | null;
  status: string | null;
  progress: Progress | null;
  logs: string;
  output: unknown;
  outcome: RunOutcome | null;
};

export type RunAction =
  | { type: "start"; body: RunRequestBody; now: number }
  | { type: "event"; event: RunEvent }
  | { type: "finish"; outcome: RunOutcome; now: number }
  | { type: "reset" };

export const IDLE_RUN: RunState = {
  phase: "idle",
  body: null,
  startedAt: null,
  finishedAt: null,
  predictionId: null,
  status: null,
  progress: null,
  logs: "",
  output: null,
  outcome: null,
};

export function runReducer(state: RunState, action: RunAction): RunState {
  switch (action.type) {
    case "start":
      return { ...IDLE_RUN, phase: "running", body: action.body, startedAt: action.now };
    case "event":
      // A late event (after Cancel) must not reopen a finished run.
      return state.phase === "running" ? applyEvent(state, action.event) : state;
    case "finish":
      return state.phase === "running" ? finish(state, action.outcome, action.now) : state;
    case "reset":
      return IDLE_RUN;
  }
}

function applyEvent(state: RunState, event: RunEvent): RunState {
  switch (event.type) {
    case "status":
      return { ...state, status: event.status, predictionId: event.id || state.predictionId };
    case "progress":
      return { ...state, progress: event.progress };
    case "logs":
      return { ...state, logs: state.logs + event.text };
    case "output":
      return { ...state, output: event.output };
  }
}

function finish(state: RunState, outcome: RunOutcome, now: number): RunState {
  const prediction = "prediction" in outcome ? outcome.prediction : undefined;
  if (!prediction) return { ...state, phase: "finished", finishedAt: now, outcome, status: outcome.kind === "canceled" ? "canceled" : state.status };
  const succeeded = prediction.status === "succeeded";
  return {
    ...state,
    phase: "finished",
    finishedAt: now,
    outcome,
    predictionId: prediction.id,
    status: prediction.status,
    // The final prediction holds the whole log: it also covers runs answered as plain JSON.
    logs: typeof prediction.logs === "string" && prediction.logs.length >= state.logs.length ? prediction.logs : state.logs,
    output: prediction.output ?? state.output,
    progress: succeeded && state.progress ? { ...state.progress, percentage: 100, current: state.progress.total } : state.progress,
  };
}
