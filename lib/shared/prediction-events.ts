/**
 * Turns the successive states of one prediction into the events a page wants: `status` when it
 * changes, `progress` when the tqdm bar moves, `logs` with only the new text, `output` when the
 * output changes. Each poll costs the same whatever is sent; the page gets only news.
 */
import { parseProgress, type Progress } from "./progress";
import { isTerminal, type Prediction } from "./prediction";

export interface PredictionEvent {
  event: "status" | "progress" | "logs" | "output";
  data: unknown;
}

export function predictionEventTracker(options: { outputStreamed?: () => boolean } = {}) {
  let status: string | undefined;
  let logs = "";
  let progress: Progress | null = null;
  let output = "null";

  return function eventsFor(prediction: Prediction): PredictionEvent[] {
    const events: PredictionEvent[] = [];
    const statusChanged = prediction.status !== status;
    status = prediction.status;
    const statusEvent: PredictionEvent = { event: "status", data: { id: prediction.id, status } };
    // A new running status comes first; a final one last, after the logs and output it ended with.
    if (statusChanged && !isTerminal(prediction)) events.push(statusEvent);
    const nextLogs = typeof prediction.logs === "string" ? prediction.logs : "";
    if (nextLogs !== logs) {
      // Logs are cumulative; if they ever shrink (data removed), send them whole again.
      const added = nextLogs.startsWith(logs) ? nextLogs.slice(logs.length) : nextLogs;
      logs = nextLogs;
      if (added) events.push({ event: "logs", data: added });
      const nextProgress = parseProgress(nextLogs);
      if (nextProgress && !sameProgress(nextProgress, progress)) events.push({ event: "progress", data: nextProgress });
      progress = nextProgress;
    }
    const nextOutput = JSON.stringify(prediction.output ?? null);
    if (nextOutput !== output && !options.outputStreamed?.()) {
      output = nextOutput;
      if (prediction.output != null) events.push({ event: "output", data: { output: prediction.output } });
    }
    if (statusChanged && isTerminal(prediction)) events.push(statusEvent);
    return events;
  };
}

function sameProgress(a: Progress, b: Progress | null): boolean {
  return b !== null && a.current === b.current && a.total === b.total && a.pass === b.pass;
}
