/** Server-Sent Events as this app's routes send them and its page reads them. */

export const EVENT_STREAM_TYPE = "text/event-stream";

/** A response whose body is an event stream (server: to hold its request open; page: to read events). */
export function isEventStream(response: Response): boolean {
  return response.body !== null && (response.headers.get("content-type") ?? "").includes(EVENT_STREAM_TYPE);
}
