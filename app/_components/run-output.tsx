import type { OutputFile, OutputView } from "@/lib/browser/output-view";

/** The model's files (images, audio, video; each a link to the full file), its text, streamed or final, or its JSON. */
export function RunOutput({ view, streaming }: { view: OutputView; streaming: boolean }) {
  const images = view.files.filter((file) => file.kind === "image");
  const others = view.files.filter((file) => file.kind !== "image");
  return (
    <>
      {images.length > 0 && (
        <div className={`output-images output-images-${Math.min(images.length, 2)}`}>
          {images.map(({ url }, index) => (
            <a key={`${index} ${url}`} href={url} target="_blank" rel="noreferrer" className="output-image-link">
              {/* A plain img: output URLs come from any host and expire, next/image would proxy them. */}
              <img src={url} alt={`Output ${index + 1} of ${images.length}`} data-testid="output-image" />
            </a>
          ))}
        </div>
      )}
      {others.map((file, index) => (
        <OutputMedia key={`${index} ${file.url}`} file={file} />
      ))}
      {view.text !== null && (
        <div className="output-text" data-testid="output-text">
          {view.text}
          {streaming && <span className="caret" aria-hidden="true" />}
        </div>
      )}
      {view.json !== null && (
        <pre className="output-json" data-testid="output-json">
          {view.json}
        </pre>
      )}
    </>
  );
}

function OutputMedia({ file }: { file: OutputFile }) {
  if (file.kind === "audio") return <audio className="output-media" controls src={file.url} data-testid="output-audio" />;
  if (file.kind === "video") return <video className="output-media" controls src={file.url} data-testid="output-video" />;
  return (
    <a className="output-file" href={file.url} target="_blank" rel="noreferrer" data-testid="output-file">
      {fileName(file.url)}
    </a>
  );
}

function fileName(url: string): string {
  if (url.startsWith("data:")) return "Download the output";
  try {
    return decodeURIComponent(new URL(url).pathname.split("/").pop() || url);
  } catch {
    return url;
  }
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
