import { isPrediction, type Prediction } from "./prediction";

/**
 * How the route reads Replicate's answers: only what it uses, and leniently. Replicate's answers
 * vary over time (answers recorded before November 2023 have no `model`, those of 2024 no
 * `urls.web`; `urls.stream`, `metrics` and `deployment` come and go; `source` and `status` may take
 * new values), so an answer is refused only when it has no readable `id` (and, but for a create,
 * `status`): nothing could be followed then. Every other field is read where a feature uses it,
 * and a field that feature cannot use turns the feature off for that prediction, never the
 * answer: the prediction is passed on as Replicate sent it. Plain functions, no schema library:
 * each answer of a crowd of waits passes through here, and server and browser both use it.
 *
 * The simulator's answers are checked against the spec's full shape instead
 * (dev/simulator/spec-objects.ts).
 */

export const KNOWN_STATUSES: ReadonlySet<string> = new Set([
  "starting",
  "processing",
  "succeeded",
  "failed",
  "canceled",
  "aborted",
]);

/** A prediction (create, GET, cancel or webhook answer, list entry): a readable `id` and `status`; else null. */
export function readPrediction(data: unknown): Prediction | null {
  return isPrediction(data) ? data : null;
}

/**
 * A create's answer: a readable `id` is enough to follow it (a billed prediction is never lost to
 * its other fields); its status is then read from the prediction's next answer.
 */
export function readCreatedPrediction(data: unknown): Prediction | null {
  if (!isObject(data) || typeof data.id !== "string" || data.id.length === 0) return null;
  return data as Prediction;
}

/** A status the route does not know: waited on like a running one, within the cap. */
export function isUnknownStatus(status: unknown): boolean {
  return !KNOWN_STATUSES.has(status as string);
}

export interface PredictionPage {
  /** The next page's full URL, or null. */
  next: string | null;
  /** The readable entries, each as sent. */
  results: Prediction[];
  /** Entries left out for want of a readable `id` or `status`. */
  dropped: number;
}

/** `GET /predictions`: a page is read if it has a `results` array; an unreadable entry drops alone. */
export function readPredictionPage(data: unknown): PredictionPage | null {
  if (!isObject(data) || !Array.isArray(data.results)) return null;
  const results = data.results.filter(isPrediction);
  return { next: urlOrNull(data.next), results, dropped: data.results.length - results.length };
}

/**
 * The prediction's `urls.stream` when it is an HTTP(S) URL; else undefined (no stream watch, no
 * live outputs from it: the prediction is polled instead).
 */
export function streamUrlOf(prediction: Prediction): string | undefined {
  const urls = prediction.urls as unknown;
  return isObject(urls) ? (urlOrNull(urls.stream) ?? undefined) : undefined;
}

/**
 * A file stream sends file URLs (or data URLs), one an `output` event; a text stream sends text.
 * Told by the stream URL as the official client does (replicate-javascript `lib/stream.js`): a path
 * under `/v1/files/` is a file stream. Never by the content, so a language model whose first token
 * starts with `https://` stays text.
 */
export function isFileStreamUrl(url: string): boolean {
  try {
    return new URL(url).pathname.startsWith("/v1/files/");
  } catch {
    return false;
  }
}

/** `POST /files`: what file inputs use, its `id` (to delete it) and `urls.get` (the input value); else null. */
export function readFile(data: unknown): ReplicateFile | null {
  if (!isObject(data) || typeof data.id !== "string" || data.id.length === 0 || !isObject(data.urls)) return null;
  return urlOrNull(data.urls.get) === null ? null : (data as unknown as ReplicateFile);
}

/** A file as the route reads it; every other field Replicate sends is kept, unread. */
export interface ReplicateFile {
  id: string;
  urls: { get: string } & Record<string, unknown>;
  [field: string]: unknown;
}

/** `GET /webhooks/default/secret`: its `key`; else null. */
export function readWebhookSecret(data: unknown): string | null {
  return isObject(data) && typeof data.key === "string" && data.key.length > 0 ? data.key : null;
}

function urlOrNull(value: unknown): string | null {
  return typeof value === "string" && /^https?:\/\/\S+$/i.test(value) ? value : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
