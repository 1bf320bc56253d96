/** Server-Sent Events as this app's routes send them and its page reads them. */

export const EVENT_STREAM_TYPE = "text/event-stream";

/** The events of a prediction's live view, in the order a page may see them; `done` is always last. */
export const PREDICTION_EVENT_NAMES = ["status", "progress", "logs", "output", "done"] as const;
export type PredictionEventName = (typeof PREDICTION_EVENT_NAMES)[number];

/** A response whose body is an event stream (server: to hold its request open; page: to read events). */
export function isEventStream(response: Response): boolean {
  return response.body !== null && (response.headers.get("content-type") ?? "").includes(EVENT_STREAM_TYPE);
}
