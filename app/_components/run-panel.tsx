"use client";

import type { ReactNode, RefObject } from "react";
import { formatMetric, formatSeconds, toTerminalText } from "@/lib/browser/format";
import type { JsonSchema } from "@/lib/browser/form-schema";
import { expectedOutputKind, hasOutput, toOutputView } from "@/lib/browser/output-view";
import { replicatePageUrl, reportedSeed, shortVersion } from "@/lib/browser/run-facts";
import type { RunState } from "@/lib/browser/run-state";
import type { Prediction } from "@/lib/shared/prediction";
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
  /** The app talks to the simulated Replicate: its replicate.com links lead nowhere. */
  simulated?: boolean;
  onDownload?: (index: number) => void;
  onDownloadAll?: () => void;
  downloading?: ReadonlySet<number>;
  downloadError?: string | null;
  /** The panel's top, brought into view after Run on a phone. */
  panelRef?: RefObject<HTMLElement | null>;
};

/** Everything about the current run: status, time, progress, output, what ran, metrics and logs. */
export function RunPanel(props: RunPanelProps) {
  const { state, unplacedFields, accessKeyPrompt, outputSchema = null, simulated = false } = props;
  const elapsed = useElapsed(state.startedAt, state.finishedAt);
  const running = state.phase === "running";
  const { report } = state;
  const view = toOutputView(state.output, outputSchema);
  const prediction = report && "prediction" in report ? report.prediction : undefined;
  const succeeded = report?.kind === "succeeded";
  const status = describeStatus(state);
  const logs = toTerminalText(state.logs);
  // A cancel is what the person asked for (or another tab did): no error. An abort is said as one.
  const quietCancel = report?.kind === "canceled" && state.status !== "aborted";
  const canDownload = succeeded && state.handle !== null && view.files.length > 0 && props.onDownload;

  return (
    <section className="panel result" aria-labelledby="result-title" data-testid="result" ref={props.panelRef}>
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
      {quietCancel && <CanceledNote detail={report.detail} />}
      {report && report.kind !== "succeeded" && report.kind !== "unauthorized" && !quietCancel && (
        <RunError report={report} unplacedFields={unplacedFields} />
      )}
      {succeeded && report.notice && (
        <div className="callout callout-notice" role="status" data-testid="run-notice">
          <p className="callout-detail">{report.notice}</p>
        </div>
      )}
      {props.downloadError && (
        <div className="callout callout-danger" role="alert" data-testid="download-error">
          <p className="callout-title">The download failed</p>
          <p className="callout-detail">{props.downloadError}</p>
        </div>
      )}
      {hasOutput(view) ? (
        <RunOutput
          view={view}
          streaming={running}
          onDownload={canDownload ? props.onDownload : undefined}
          onDownloadAll={canDownload ? props.onDownloadAll : undefined}
          downloading={props.downloading}
        />
      ) : !report || running ? (
        <OutputPlaceholder running={running} kind={expectedOutputKind(outputSchema)} />
      ) : null}

      <WhatRan state={state} prediction={prediction} simulated={simulated} />
      {prediction?.input && Object.keys(prediction.input).length > 0 && <RunInputs input={prediction.input} />}
      {logs.trim() && <RunLogs logs={logs} />}
    </section>
  );
}

/** The person's own cancel: said quietly, it is not an error. */
function CanceledNote({ detail }: { detail?: string }) {
  return (
    <div className="callout callout-quiet" role="status" data-testid="canceled">
      <p className="callout-title" data-testid="canceled-message">
        Canceled
      </p>
      {detail && <p className="callout-detail">{detail}</p>}
    </div>
  );
}

/** The prediction, the model and version, the seed the model used, its times, its page on Replicate. */
function WhatRan({ state, prediction, simulated }: { state: RunState; prediction?: Prediction; simulated: boolean }) {
  const metrics = prediction?.metrics;
  const seed = prediction || state.logs ? reportedSeed(prediction?.logs ?? state.logs, state.output) : null;
  const version = shortVersion(prediction?.version);
  const page = prediction ? replicatePageUrl(prediction, simulated) : null;
  const facts: { label: string; value: ReactNode; testId?: string }[] = [];
  if (state.predictionId)
    facts.push({ label: "Prediction", value: <code data-testid="prediction-id">{state.predictionId}</code> });
  if (prediction?.model) {
    facts.push({
      label: "Model",
      value: (
        <>
          {prediction.model}
          {version && <span className="muted"> · {version}</span>}
        </>
      ),
      testId: "model",
    });
  }
  if (seed !== null) facts.push({ label: "Seed", value: seed, testId: "seed-used" });
  const predictTime = formatMetric(metrics?.predict_time);
  if (predictTime) facts.push({ label: "Predict time", value: predictTime, testId: "predict-time" });
  const totalTime = formatMetric(metrics?.total_time);
  if (totalTime) facts.push({ label: "Total time", value: totalTime, testId: "total-time" });
  if (facts.length === 0) return null;
  return (
    <dl className="meta" data-testid="metrics">
      {facts.map((fact) => (
        <div key={fact.label}>
          <dt>{fact.label}</dt>
          <dd data-testid={fact.testId}>{fact.value}</dd>
        </div>
      ))}
      {page && (
        <div>
          <dt>On Replicate</dt>
          <dd>
            <a href={page} target="_blank" rel="noreferrer" data-testid="replicate-link">
              View prediction ↗
            </a>
          </dd>
        </div>
      )}
    </dl>
  );
}

/** The input the prediction ran with, as Replicate has it (a file's data URL shortened). */
function RunInputs({ input }: { input: Record<string, unknown> }) {
  return (
    <details className="logs" data-testid="run-inputs">
      <summary>Inputs</summary>
      <dl className="inputs-list">
        {Object.entries(input).map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{shortValue(value)}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

function shortValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (typeof value === "string" && value.startsWith("data:"))
    return `${value.slice(0, value.indexOf(",") + 1)}… (${Math.round(value.length / 1.37 / 1024)} KB)`;
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
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
      return state.status === "aborted" ? { label: "Aborted", tone: "notice" } : { label: "Canceled", tone: "neutral" };
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
