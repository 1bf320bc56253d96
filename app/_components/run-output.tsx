import type { OutputFile, OutputKind, OutputView } from "@/lib/browser/output-view";
import { StrokeIcon } from "./stroke-icon";

type RunOutputProps = {
  view: OutputView;
  streaming: boolean;
  /** Saves file `index` of the output through the app; absent while the run is open or unknown. */
  onDownload?: (index: number) => void;
  onDownloadAll?: () => void;
  /** Files being saved, by index (their buttons wait). */
  downloading?: ReadonlySet<number>;
};

/**
 * The model's files (images in a grid, audio and video with their players, anything else a link),
 * each with a Download button, its text, streamed or final, or its JSON.
 */
export function RunOutput({ view, streaming, onDownload, onDownloadAll, downloading = new Set() }: RunOutputProps) {
  const indexed = view.files.map((file, index) => ({ ...file, index }));
  const images = indexed.filter((file) => file.kind === "image");
  const others = indexed.filter((file) => file.kind !== "image");
  const download = (file: { index: number }, label: string) =>
    onDownload && (
      <DownloadButton
        label={label}
        busy={downloading.has(file.index)}
        onClick={() => onDownload(file.index)}
        testId={`download-${file.index}`}
      />
    );
  return (
    <>
      {onDownloadAll && view.files.length > 1 && (
        <div className="output-toolbar">
          <span className="muted">{view.files.length} files</span>
          <button
            type="button"
            className="button button-ghost button-small"
            onClick={onDownloadAll}
            disabled={downloading.size > 0}
            data-testid="download-all"
          >
            <DownloadIcon />
            Download all
          </button>
        </div>
      )}
      {images.length > 0 && (
        <div className={`output-images${images.length > 1 ? " output-images-grid" : ""}`}>
          {images.map((file, position) => (
            <figure key={`${file.index} ${file.url}`} className="output-image">
              <a href={file.url} target="_blank" rel="noreferrer" className="output-image-link">
                {/* A plain img: output URLs come from any host and expire, next/image would proxy them. */}
                <img src={file.url} alt={`Output ${position + 1} of ${images.length}`} data-testid="output-image" />
              </a>
              {download(file, images.length > 1 ? `Download image ${position + 1}` : "Download image")}
            </figure>
          ))}
        </div>
      )}
      {others.map((file) => (
        <div key={`${file.index} ${file.url}`} className="output-media-row">
          <OutputMedia file={file} />
          {download(file, `Download ${fileNoun(file)}`)}
        </div>
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

function DownloadButton({ label, busy, onClick, testId }: { label: string; busy: boolean; onClick: () => void; testId: string }) {
  return (
    <button
      type="button"
      className="button button-ghost button-small output-download"
      onClick={onClick}
      disabled={busy}
      aria-label={label}
      title={label}
      data-testid={testId}
    >
      {busy ? <span className="spinner spinner-small" aria-hidden="true" /> : <DownloadIcon />}
      <span aria-hidden="true">Download</span>
    </button>
  );
}

function DownloadIcon() {
  return (
    <StrokeIcon>
      <path d="M12 4v11" />
      <path d="m7 10 5 5 5-5" />
      <path d="M5 20h14" />
    </StrokeIcon>
  );
}

function fileNoun(file: OutputFile): string {
  return file.kind === "file" ? "file" : file.kind;
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
  if (url.startsWith("data:")) return "The output file";
  try {
    return decodeURIComponent(new URL(url, "http://x").pathname.split("/").pop() || url);
  } catch {
    return url;
  }
}

const PLACEHOLDER_TEXT: Record<OutputKind, { idle: string; running: string }> = {
  text: { idle: "Run a prompt to see the model's reply here.", running: "The reply appears here as the model writes it." },
  files: { idle: "Run a prompt to see the output here.", running: "The output appears here as soon as the model sends it." },
  json: {
    idle: "Run a prompt to see the model's answer here.",
    running: "The answer appears here as soon as the model sends it.",
  },
  unknown: { idle: "Run a prompt to see the output here.", running: "The output appears here as soon as the model sends it." },
};

/** What the output area shows before anything arrives, drawn for the model's kind of output. */
export function OutputPlaceholder({ running, kind }: { running: boolean; kind: OutputKind }) {
  return (
    <div
      className={`output-placeholder output-placeholder-${kind}${running ? " output-placeholder-running" : ""}`}
      data-testid="output-placeholder"
      data-kind={kind}
    >
      <StrokeIcon size={28} strokeWidth={1.5}>
        {kind === "text" ? (
          <>
            <path d="M4 6h16" />
            <path d="M4 10h16" />
            <path d="M4 14h10" />
            <path d="M4 18h7" />
          </>
        ) : kind === "json" ? (
          <>
            <path d="M8 4c-2 0-2 1.5-2 3v2c0 1.5-1 3-2 3 1 0 2 1.5 2 3v2c0 1.5 0 3 2 3" />
            <path d="M16 4c2 0 2 1.5 2 3v2c0 1.5 1 3 2 3-1 0-2 1.5-2 3v2c0 1.5 0 3-2 3" />
          </>
        ) : (
          // Files of any kind (an image, audio, a video): a sparkle, not an image icon.
          <>
            <path d="M12 3v4M12 17v4M3 12h4M17 12h4" />
            <path d="m6.3 6.3 2.1 2.1M15.6 15.6l2.1 2.1M6.3 17.7l2.1-2.1M15.6 8.4l2.1-2.1" />
          </>
        )}
      </StrokeIcon>
      <span>{running ? PLACEHOLDER_TEXT[kind].running : PLACEHOLDER_TEXT[kind].idle}</span>
    </div>
  );
}
