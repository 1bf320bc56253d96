"use client";

import type { ReactNode } from "react";
import { formatMetric, formatSeconds, toTerminalText } from "@/lib/browser/format";
import type { JsonSchema } from "@/lib/browser/form-schema";
import { hasOutput, toOutputView } from "@/lib/browser/output-view";
import type { RunState } from "@/lib/browser/run-state";
import { RunError } from "./run-error";
import { BudgetLine } from "./budget-line";
import { RunLogs } from "./run-logs";
import { OutputPlaceholder, RunOutput } from "./run-output";
import { RunProgress } from "./run-progress";
import { useElapsed } from "./use-elapsed";

type RunPanelProps = {
  state: RunState;
  unplacedFields: string[];
  /** Shown instead of the error when the route asks for its access key. */
  accessKeyPrompt?: ReactNode;
  /** The model's output schema, from the schema route, when it gives one. */
  outputSchema?: JsonSchema | null;
};

/** Everything about the current run: status, time, progress, output, metrics and logs. */
export function RunPanel({ state, unplacedFields, accessKeyPrompt, outputSchema = null }: RunPanelProps) {
  const elapsed = useElapsed(state.startedAt, state.finishedAt);
  const running = state.phase === "running";
  const { report } = state;
  const view = toOutputView(state.output, outputSchema);
  const metrics = report?.kind === "succeeded" ? report.prediction.metrics : null;
  const status = describeStatus(state);
  const logs = toTerminalText(state.logs);

  return (
    <section className="panel result" aria-labelledby="result-title" data-testid="result">
      <div className="panel-header">
        <h2 id="result-title">Output</h2>
        <span className={`badge badge-${status.tone}`} data-testid="status" data-status={state.status ?? state.phase}>
          {running && <span className="badge-dot" aria-hidden="true" />}
          {status.label}
        </span>
        {state.startedAt !== null && (
          <span className="elapsed" data-testid="elapsed" title="Elapsed time">
            {formatSeconds(elapsed)}
          </span>
        )}
      </div>
      {/* Only phase changes are announced: progress ticks would flood a screen reader. */}
      <p className="visually-hidden" role="status" aria-live="polite">
        {status.label}
      </p>

      <BudgetLine />
      {(running || state.progress) && <RunProgress progress={state.progress} running={running} />}
      {report?.kind === "unauthorized" && accessKeyPrompt}
      {report && report.kind !== "succeeded" && report.kind !== "unauthorized" && <RunError report={report} unplacedFields={unplacedFields} />}
      {report?.kind === "succeeded" && report.notice && (
        <div className="callout callout-notice" role="status" data-testid="run-notice">
          <p className="callout-detail">{report.notice}</p>
        </div>
      )}
      {hasOutput(view) ? <RunOutput view={view} streaming={running} /> : !report || running ? <OutputPlaceholder running={running} /> : null}

      {(state.predictionId || metrics) && (
        <dl className="meta" data-testid="metrics">
          {state.predictionId && (
            <div>
              <dt>Prediction</dt>
              <dd>
                <code data-testid="prediction-id">{state.predictionId}</code>
              </dd>
            </div>
          )}
          {formatMetric(metrics?.predict_time) && (
            <div>
              <dt>Predict time</dt>
              <dd data-testid="predict-time">{formatMetric(metrics?.predict_time)}</dd>
            </div>
          )}
          {formatMetric(metrics?.total_time) && (
            <div>
              <dt>Total time</dt>
              <dd data-testid="total-time">{formatMetric(metrics?.total_time)}</dd>
            </div>
          )}
        </dl>
      )}

      {logs.trim() && <RunLogs logs={logs} />}
    </section>
  );
}

type Tone = "neutral" | "active" | "success" | "danger" | "notice";

function describeStatus(state: RunState): { label: string; tone: Tone } {
  if (state.phase === "idle") return { label: "Ready", tone: "neutral" };
  if (state.phase === "running") {
    if (state.canceling) return { label: "Canceling", tone: "notice" };
    if (state.status === "starting") return { label: "Starting", tone: "active" };
    if (state.status === "processing") return { label: "Processing", tone: "active" };
    return { label: state.status ? capitalize(state.status) : state.body ? "Sending" : "Re-attaching", tone: "active" };
  }
  switch (state.report?.kind) {
    case "succeeded":
      return { label: "Succeeded", tone: "success" };
    case "canceled":
      return { label: state.status === "aborted" ? "Aborted" : "Canceled", tone: "notice" };
    case "timed-out":
      return { label: "Timed out", tone: "danger" };
    case "invalid":
      return { label: "Invalid input", tone: "danger" };
    case "unauthorized":
      return { label: "Key needed", tone: "notice" };
    default:
      return { label: "Failed", tone: "danger" };
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
