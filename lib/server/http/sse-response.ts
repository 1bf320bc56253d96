import "server-only";
// A Server-Sent Events response that fits behind proxies: no caching or transforming, no
// buffering (nginx), and a comment line every 15 s so idle proxies keep the connection.
// No `Connection` header: it is hop-by-hop, the server's own to set, and forbidden in HTTP/2.
// The producer gets a signal that aborts when the client goes away.

import { EVENT_STREAM_TYPE } from "../../shared/event-stream";

export const EVENT_STREAM_HEADERS = {
  "Content-Type": `${EVENT_STREAM_TYPE}; charset=utf-8`,
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
} as const;

export const KEEP_ALIVE_MS = 15_000;

export type SendEvent = (event: string, data: unknown) => void;

/** `Accept` names `text/event-stream` with a weight above 0 (`;q=0` means "not acceptable"). */
export function wantsEventStream(request: Request): boolean {
  return acceptWeight(request.headers.get("accept") ?? "", EVENT_STREAM_TYPE) > 0;
}

/**
 * The q-value (RFC 9110 §12.5.1) `accept` gives the exact media type `type`: 0 when it is not
 * listed. Only an explicit listing counts (`*\/*` does not ask for a stream); a malformed q
 * counts as 1, as most servers read it.
 */
export function acceptWeight(accept: string, type: string): number {
  let weight = 0;
  for (const range of accept.split(",")) {
    const [mediaType, ...params] = range.split(";").map((part) => part.trim().toLowerCase());
    if (mediaType !== type) continue;
    const q = params.find((param) => /^q\s*=/.test(param));
    const value = q === undefined ? 1 : Number(q.slice(q.indexOf("=") + 1).trim());
    weight = Math.max(weight, Number.isFinite(value) && value >= 0 && value <= 1 ? value : 1);
  }
  return weight;
}

/** RFC 7240 `Prefer: respond-async`: answer 202 at once and let the client follow. */
export function prefersAsync(request: Request): boolean {
  return /(^|[,;\s])respond-async\b/i.test(request.headers.get("prefer") ?? "");
}

/** One event; the data is JSON, which has no raw newline, so one `data:` line always suffices. */
export function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function eventStreamResponse(
  produce: (send: SendEvent, signal: AbortSignal) => Promise<void>,
  options: { signal?: AbortSignal; keepAliveMs?: number } = {},
): Response {
  const encoder = new TextEncoder();
  const gone = new AbortController();
  const leave = () => gone.abort();
  // A client may be gone before the stream is made (it left while the create was on the wire).
  if (options.signal?.aborted) leave();
  options.signal?.addEventListener("abort", leave, { once: true });
  let timer: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          leave();
        }
      };
      const finish = () => {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        options.signal?.removeEventListener("abort", leave);
        try {
          controller.close();
        } catch {
          // already closed by a cancel
        }
      };
      write(": stream open\n\n");
      timer = setInterval(() => write(": keep-alive\n\n"), options.keepAliveMs ?? KEEP_ALIVE_MS);
      produce((event, data) => write(formatEvent(event, data)), gone.signal).then(finish, finish);
    },
    cancel() {
      closed = true;
      clearInterval(timer);
      leave();
    },
  });
  return new Response(stream, { status: 200, headers: EVENT_STREAM_HEADERS });
}
