import type { RunOutcome } from "@/lib/browser/describe-outcome";

type FailedOutcome = Exclude<RunOutcome, { kind: "succeeded" | "unauthorized" }>;

/** The outcome of a run that did not succeed, in words. Field errors not shown next to a field land here. */
export function RunError({ outcome, unplacedFields }: { outcome: FailedOutcome; unplacedFields: string[] }) {
  const tone = outcome.kind === "canceled" ? "notice" : "danger";
  const detail = "detail" in outcome ? outcome.detail : undefined;
  return (
    <div className={`callout callout-${tone}`} role="alert" data-testid="error">
      <p className="callout-title" data-testid="error-message">
        {outcome.message}
        {outcome.kind === "problem" && outcome.status ? <span className="callout-status"> · HTTP {outcome.status}</span> : null}
      </p>
      {detail && <p className="callout-detail">{detail}</p>}
      {outcome.kind === "invalid" && (
        <p className="callout-detail">
          {unplacedFields.length > 0 ? "Fix these and run again:" : "Fix the fields marked in the form and run again."}
        </p>
      )}
      {unplacedFields.length > 0 && (
        <ul className="callout-list">
          {unplacedFields.map((text) => (
            <li key={text}>{text}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
