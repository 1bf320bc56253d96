import type { RunReport } from "@/lib/browser/run-report";

type FailedReport = Exclude<RunReport, { kind: "succeeded" | "unauthorized" }>;

/** The report of a run that did not succeed, in words. Field errors not shown next to a field land here. */
export function RunError({ report, unplacedFields }: { report: FailedReport; unplacedFields: string[] }) {
  const tone = report.kind === "canceled" ? "notice" : "danger";
  const detail = "detail" in report ? report.detail : undefined;
  return (
    <div className={`callout callout-${tone}`} role="alert" data-testid="error">
      <p className="callout-title" data-testid="error-message">
        {report.message}
        {report.kind === "problem" && report.status ? <span className="callout-status"> · HTTP {report.status}</span> : null}
      </p>
      {detail && <p className="callout-detail">{detail}</p>}
      {report.kind === "invalid" && (
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
