/**
 * The runs of this browser, newest first, kept in its local storage: each run's handle (to open it
 * again, or re-attach while it runs), what the form held when it was started (to run it again),
 * and enough to list it (status, time, model, output file URLs or a text excerpt). Nothing about it
 * lives on the server: the handle is the key to the prediction, Replicate (or the kept copy) has
 * the rest.
 */
import type { FormValues, JsonSchema } from "./form-schema";
import { toOutputView } from "./output-view";
import type { RunState } from "./run-state";

export const HISTORY_STORAGE_KEY = "replicate-run-history";
/** Runs listed; the oldest beyond go. */
export const HISTORY_MAX_ENTRIES = 50;
/** A form value longer than this (a picked file's data URL) is not kept: local storage holds ~5 MB. */
export const KEPT_VALUE_MAX_CHARS = 4096;
const EXCERPT_CHARS = 160;
const FILES_KEPT = 8;

export type HistoryEntry = {
  /** The prediction's handle (`{id}.{mac}`): what the route follows, cancels and downloads by. */
  handle: string;
  id: string;
  /** Epoch ms the run began: the prediction's `created_at` when known, else when this page started it. */
  createdAt: number;
  status: string;
  model: string | null;
  version: string | null;
  /** The form's values this page started it with; null for a run only re-attached here. */
  values: FormValues | null;
  /** Names of the file fields whose file was too large to keep (Run again asks for them). */
  droppedFiles: string[];
  /** Output file URLs (kept copies when the app keeps outputs), for the thumbnail. */
  files: string[];
  /** The start of a text or JSON output. */
  excerpt: string | null;
  /** A failed run's error, in words. */
  error: string | null;
};

export type HistoryStorage = Pick<Storage, "getItem" | "setItem">;

export function readHistory(storage: HistoryStorage | null): HistoryEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(storage?.getItem(HISTORY_STORAGE_KEY) ?? "[]");
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? parsed.filter(isEntry).slice(0, HISTORY_MAX_ENTRIES) : [];
}

/** False when the browser refuses (private mode, full): the list then lasts until a reload. */
export function writeHistory(storage: HistoryStorage | null, entries: HistoryEntry[]): boolean {
  if (!storage) return false;
  let kept = entries.slice(0, HISTORY_MAX_ENTRIES);
  for (;;) {
    try {
      storage.setItem(HISTORY_STORAGE_KEY, JSON.stringify(kept));
      return true;
    } catch {
      // Over quota: drop the older half and try again, down to nothing.
      if (kept.length === 0) return false;
      kept = kept.slice(0, Math.floor(kept.length / 2));
    }
  }
}

/** The list with `patch` merged into the entry of its handle; a new handle goes first. */
export function withEntry(entries: HistoryEntry[], patch: Partial<HistoryEntry> & Pick<HistoryEntry, "handle">): HistoryEntry[] {
  const index = entries.findIndex((entry) => entry.handle === patch.handle);
  if (index === -1)
    return [{ ...newEntry(patch.handle, patch.createdAt ?? Date.now()), ...defined(patch) }, ...entries].slice(
      0,
      HISTORY_MAX_ENTRIES,
    );
  const merged = { ...entries[index], ...defined(patch) };
  // Nothing new (a progress tick): the same list, so nothing is written or drawn again.
  if (JSON.stringify(merged) === JSON.stringify(entries[index])) return entries;
  return entries.map((entry, at) => (at === index ? merged : entry));
}

export function withoutEntry(entries: HistoryEntry[], handle: string): HistoryEntry[] {
  return entries.filter((entry) => entry.handle !== handle);
}

function newEntry(handle: string, createdAt: number): HistoryEntry {
  return {
    handle,
    id: handle.split(".")[0],
    createdAt,
    status: "starting",
    model: null,
    version: null,
    values: null,
    droppedFiles: [],
    files: [],
    excerpt: null,
    error: null,
  };
}

/** A patch's `undefined` means "not known here", never "forget it". */
function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The form's values as kept: large values (picked files) left out, their fields named. */
export function keptValues(values: FormValues): { values: FormValues; droppedFiles: string[] } {
  const kept: FormValues = {};
  const droppedFiles: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === "string" && value.length > KEPT_VALUE_MAX_CHARS) droppedFiles.push(name);
    else kept[name] = value;
  }
  return { values: kept, droppedFiles };
}

/** What a finished or running output shows in the list: its first files, or the start of its text. */
export function outputSummary(view: {
  files: { url: string }[];
  text: string | null;
  json: string | null;
}): Pick<HistoryEntry, "files" | "excerpt"> {
  const text = view.text ?? view.json;
  return {
    // data: URLs can be large; the list does without their thumbnail.
    files: view.files
      .map((file) => file.url)
      .filter((url) => !url.startsWith("data:"))
      .slice(0, FILES_KEPT),
    excerpt: text === null ? null : excerpt(text),
  };
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS - 1)}…` : flat;
}

/**
 * What the run on screen adds to its history entry, once the route has named its handle: what it
 * was started with (when this page started it), its status, model, output and error as they come.
 */
export function historyPatchOf(
  state: RunState,
  outputSchema: JsonSchema | null,
): (Partial<HistoryEntry> & Pick<HistoryEntry, "handle">) | null {
  if (!state.handle) return null;
  const { report } = state;
  const prediction = report && "prediction" in report ? report.prediction : undefined;
  const kept = state.values ? keptValues(state.values) : null;
  const failed = state.phase === "finished" && report && report.kind !== "succeeded" && report.kind !== "canceled";
  return {
    handle: state.handle,
    id: state.predictionId ?? undefined,
    // The prediction's own start, else (a run this page started) the moment it was started.
    createdAt: state.createdAt ?? (state.values ? (state.startedAt ?? undefined) : undefined),
    status: state.status ?? undefined,
    model: prediction?.model ?? undefined,
    version: prediction?.version ?? undefined,
    values: kept?.values,
    droppedFiles: kept?.droppedFiles,
    ...(state.output !== null && state.output !== undefined ? outputSummary(toOutputView(state.output, outputSchema)) : {}),
    error: state.phase === "finished" ? (failed ? report.message : null) : undefined,
  };
}

const STRING_FIELDS = ["handle", "id", "status"] as const;

function isEntry(value: unknown): value is HistoryEntry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    STRING_FIELDS.every((name) => typeof entry[name] === "string") &&
    typeof entry.createdAt === "number" &&
    Array.isArray(entry.files) &&
    Array.isArray(entry.droppedFiles) &&
    (entry.values === null || typeof entry.values === "object")
  );
}

/** "14:05" today, "Mar 3, 14:05" another day, in the reader's locale. */
export function formatRunTime(createdAt: number, now: number, locale?: string): string {
  const at = new Date(createdAt);
  const sameDay = new Date(now).toDateString() === at.toDateString();
  const time = at.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : `${at.toLocaleDateString(locale, { month: "short", day: "numeric" })}, ${time}`;
}
