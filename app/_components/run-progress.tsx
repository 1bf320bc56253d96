import { describeSteps } from "@/lib/browser/format";
import type { Progress } from "@/lib/browser/route-types";

/** A determinate bar once the model reports steps; an indeterminate one before that. */
export function RunProgress({ progress, running }: { progress: Progress | null; running: boolean }) {
  const percentage = progress ? Math.min(100, Math.max(0, Math.round(progress.percentage))) : null;
  return (
    <div className="progress-block">
      <div
        className={`progress${percentage === null ? " progress-indeterminate" : ""}${running ? "" : " progress-stopped"}`}
        role="progressbar"
        aria-label="Prediction progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percentage ?? undefined}
        aria-valuetext={progress ? `${percentage}%, step ${describeSteps(progress)}` : "Waiting for the model"}
        data-testid="progress"
      >
        <div className="progress-fill" style={percentage === null ? undefined : { width: `${percentage}%` }} />
      </div>
      {progress && (
        <div className="progress-caption">
          <span data-testid="progress-percentage">{percentage}%</span>
          <span className="muted" data-testid="progress-steps">
            step {describeSteps(progress)}
          </span>
        </div>
      )}
    </div>
  );
}
