import type { OutputView } from "@/lib/browser/output-view";

/** The model's images (each a link to the full file) or its text, streamed or final. */
export function RunOutput({ view, streaming }: { view: OutputView; streaming: boolean }) {
  if (view.images.length > 0) {
    return (
      <div className={`output-images output-images-${Math.min(view.images.length, 2)}`}>
        {view.images.map((url, index) => (
          <a key={url} href={url} target="_blank" rel="noreferrer" className="output-image-link">
            {/* A plain img: output URLs come from any host and expire, next/image would proxy them. */}
            <img src={url} alt={`Output ${index + 1} of ${view.images.length}`} data-testid="output-image" />
          </a>
        ))}
      </div>
    );
  }
  if (view.text !== null) {
    return (
      <div className="output-text" data-testid="output-text">
        {view.text}
        {streaming && <span className="caret" aria-hidden="true" />}
      </div>
    );
  }
  return null;
}

/** What the output area shows before anything arrives. */
export function OutputPlaceholder({ running }: { running: boolean }) {
  return (
    <div className={`output-placeholder${running ? " output-placeholder-running" : ""}`} data-testid="output-placeholder">
      <svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
        <rect x="3" y="4" width="18" height="16" rx="2.5" />
        <circle cx="9" cy="10" r="1.8" />
        <path d="m21 16-5-5-9 9" />
      </svg>
      <span>{running ? "The output appears here as soon as the model sends it." : "Run a prompt to see the output here."}</span>
    </div>
  );
}
