"use client";

import { useEffect, useState } from "react";
import { formatRunTime, type HistoryEntry } from "@/lib/browser/run-history";
import { StrokeIcon } from "./stroke-icon";

type RunHistoryProps = {
  entries: HistoryEntry[];
  /** The entry the output panel shows. */
  openHandle: string | null;
  /** Opens the run: its output, inputs and logs; one still running is re-attached. */
  onOpen: (entry: HistoryEntry) => void;
  onRunAgain: (entry: HistoryEntry) => void;
  onCopyInputs: (entry: HistoryEntry) => void;
  onRemove: (entry: HistoryEntry) => void;
  /** A run is open in the form: Run again waits for it. */
  busy: boolean;
};

const STATUS_LABEL: Record<string, string> = {
  starting: "Starting",
  processing: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  canceled: "Canceled",
  aborted: "Aborted",
};
const STATUS_TONE: Record<string, string> = {
  starting: "active",
  processing: "active",
  succeeded: "success",
  failed: "danger",
  canceled: "neutral",
  aborted: "notice",
};

/** This browser's runs, newest first: open one, run it again, copy its inputs into the form, remove it. */
export function RunHistory({ entries, openHandle, onOpen, onRunAgain, onCopyInputs, onRemove, busy }: RunHistoryProps) {
  // The time is drawn after hydration: the server does not know the reader's clock or locale.
  const [now, setNow] = useState<number | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the relative times are redrawn whenever the list changes.
  useEffect(() => setNow(Date.now()), [entries]);

  return (
    <section className="panel history" aria-labelledby="history-title" data-testid="history">
      <div className="panel-header">
        <h2 id="history-title">History</h2>
        {entries.length > 0 && <span className="muted history-count">{entries.length} in this browser</span>}
      </div>
      {entries.length === 0 ? (
        <p className="hint" data-testid="history-empty">
          Your runs are listed here, kept in this browser.
        </p>
      ) : (
        <ol className="history-list">
          {entries.map((entry) => (
            <li
              key={entry.handle}
              className={`history-item${entry.handle === openHandle ? " history-item-open" : ""}`}
              data-testid="history-item"
              data-id={entry.id}
            >
              <button
                type="button"
                className="history-open"
                onClick={() => onOpen(entry)}
                aria-current={entry.handle === openHandle ? "true" : undefined}
                data-testid="history-open"
              >
                <Thumbnail entry={entry} />
                <span className="history-text">
                  <span className="history-title">{describe(entry)}</span>
                  {entry.excerpt && entry.excerpt !== describe(entry) && <span className="history-excerpt">{entry.excerpt}</span>}
                  {entry.error && <span className="history-excerpt history-error">{entry.error}</span>}
                  <span className="history-meta">
                    <span className={`badge badge-${STATUS_TONE[entry.status] ?? "neutral"}`} data-testid="history-status">
                      {STATUS_LABEL[entry.status] ?? entry.status}
                    </span>
                    {now !== null && (
                      <time dateTime={new Date(entry.createdAt).toISOString()}>{formatRunTime(entry.createdAt, now)}</time>
                    )}
                    {entry.model && <span className="history-model">{entry.model}</span>}
                  </span>
                </span>
              </button>
              <div className="history-actions">
                {entry.values && (
                  <>
                    <button
                      type="button"
                      className="button button-ghost button-small"
                      onClick={() => onRunAgain(entry)}
                      aria-disabled={busy}
                      data-testid="history-run-again"
                    >
                      Run again
                    </button>
                    <button
                      type="button"
                      className="button button-ghost button-small"
                      onClick={() => onCopyInputs(entry)}
                      data-testid="history-copy-inputs"
                    >
                      Copy inputs
                    </button>
                  </>
                )}
                <button
                  type="button"
                  className="button button-ghost button-small history-remove"
                  onClick={() => onRemove(entry)}
                  aria-label={`Remove ${entry.id} from the history`}
                  title="Remove from the history"
                  data-testid="history-remove"
                >
                  <StrokeIcon>
                    <path d="M6 6l12 12M18 6 6 18" />
                  </StrokeIcon>
                </button>
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Thumbnail({ entry }: { entry: HistoryEntry }) {
  const [broken, setBroken] = useState(false);
  const image = entry.files.find(
    (url) => !/\.(mp3|wav|ogg|oga|flac|m4a|aac|opus|mp4|webm|mov|mkv|ogv|m4v)$/i.test(url.split("?")[0]),
  );
  if (image && !broken) {
    // Replicate's URLs expire after an hour (kept copies do not): a broken one falls back to the icon.
    return <img className="history-thumb" src={image} alt="" loading="lazy" onError={() => setBroken(true)} />;
  }
  return (
    <span className="history-thumb history-thumb-icon" aria-hidden="true">
      {entry.status === "failed" ? "!" : entry.excerpt ? "Aa" : entry.files.length > 0 ? "♪" : "·"}
    </span>
  );
}

/** The run in a line: its prompt (or first text input), else its text output, else its id. */
function describe(entry: HistoryEntry): string {
  const values = entry.values ?? {};
  const text =
    (typeof values.prompt === "string" && values.prompt) ||
    Object.values(values).find(
      (value): value is string => typeof value === "string" && value.trim() !== "" && !value.startsWith("data:"),
    );
  if (text) return text;
  if (entry.excerpt) return entry.excerpt;
  return entry.id;
}
